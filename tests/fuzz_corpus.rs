//! The fuzz targets on the stable toolchain (the coverage-guided runs need
//! nightly and cargo-fuzz: `fuzz/`, `docs/hardening.md`).
//!
//! 1. Every input of the committed, minimized corpus (`fuzz/corpus/TARGET/`)
//!    goes through its target's checks again: what the fuzzer once reached
//!    stays reached, on every `cargo test`.
//! 2. proptest feeds each target arbitrary bytes and, since random bytes
//!    rarely get past a TOML or JSON parser, mutations of valid inputs
//!    (the shipped files and log lines with bytes flipped, lines dropped,
//!    doubled or swapped, values replaced by hostile ones), 10 000 cases
//!    per property.

#[path = "../fuzz/harness.rs"]
mod harness;

use proptest::prelude::*;
use std::path::Path;

fn corpus(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(
            result.is_ok(),
            "{target}: corpus input {} fails its checks",
            path.display()
        );
        n += 1;
    }
    assert!(n > 0, "{target}: empty corpus in {}", dir.display());
    n
}

#[test]
fn corpus_policy() {
    corpus("policy", harness::policy);
}

#[test]
fn corpus_environment() {
    corpus("environment", harness::environment);
}

#[test]
fn corpus_replay_log() {
    corpus("replay_log", harness::replay_log);
}

#[test]
fn corpus_decision() {
    corpus("decision", harness::decision);
}

/// Values a hostile file puts where a value goes.
const HOSTILE: &[&str] = &[
    "\"18446744073709551615ms\"",
    "\"8760h\"",
    "\"8761h\"",
    "\"-1s\"",
    "\"0.0001s\"",
    "\"1e9s\"",
    "18446744073709551615",
    "-9223372036854775808",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "nan",
    "inf",
    "[]",
    "{}",
    "{ a = 1 }",
    "\"\\u001b[31m\"",
    "\"\"",
    "true",
    "\"strike\"",
    "0",
    "3",
    "100",
    "101",
];

/// A valid text, mutated: lines dropped, doubled or swapped, a value
/// replaced by a hostile one, bytes flipped or cut.
fn mutated(texts: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (
        0..texts.len(),
        prop::collection::vec((0u8..6, any::<u16>(), any::<u16>()), 0..6),
    )
        .prop_map(move |(pick, edits)| {
            let mut lines: Vec<String> = texts[pick].lines().map(str::to_owned).collect();
            let mut bytes_edits = Vec::new();
            for (kind, a, b) in edits {
                if lines.is_empty() {
                    break;
                }
                let i = a as usize % lines.len();
                let j = b as usize % lines.len();
                match kind {
                    0 => {
                        lines.remove(i);
                    }
                    1 => {
                        let l = lines[i].clone();
                        lines.insert(j, l);
                    }
                    2 => lines.swap(i, j),
                    3 => {
                        if let Some((k, _)) = lines[i].split_once('=') {
                            lines[i] = format!("{k}= {}", HOSTILE[b as usize % HOSTILE.len()]);
                        }
                    }
                    _ => bytes_edits.push((kind, a, b)),
                }
            }
            let mut bytes = lines.join("\n").into_bytes();
            for (kind, a, b) in bytes_edits {
                if bytes.is_empty() {
                    break;
                }
                let i = a as usize % bytes.len();
                if kind == 4 {
                    bytes[i] ^= (b as u8) | 1;
                } else {
                    bytes.truncate(i);
                }
            }
            bytes
        })
}

const POLICY_TEXTS: &[&str] = &[
    harness::POLICIES[0].1,
    harness::POLICIES[1].1,
    harness::POLICIES[2].1,
    harness::POLICIES[3].1,
];

const ENV_TEXTS: &[&str] = &[harness::ENVIRONMENTS[0].1, harness::ENVIRONMENTS[1].1];

const LOGS: &[&str] = &[
    include_str!("replay/v1_false_true_false.jsonl"),
    include_str!("replay/v2_settle_lone_false_strikes.jsonl"),
    include_str!("replay/restart_debounce_after_settle.jsonl"),
    include_str!("replay/v2_heartbeat_during_fresh_wait.jsonl"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn policy_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        harness::policy(&data);
    }

    #[test]
    fn policy_mutated_files(data in mutated(POLICY_TEXTS)) {
        harness::policy(&data);
    }

    #[test]
    fn environment_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        harness::environment(&data);
    }

    #[test]
    fn environment_mutated_files(data in mutated(ENV_TEXTS)) {
        harness::environment(&data);
    }

    #[test]
    fn replay_log_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        harness::replay_log(&data);
    }

    #[test]
    fn replay_log_mutated_logs(pick in any::<u8>(), log in mutated(LOGS)) {
        let mut data = vec![pick];
        data.extend(log);
        harness::replay_log(&data);
    }

    #[test]
    fn decision_arbitrary_inputs(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        harness::decision(&data);
    }
}
