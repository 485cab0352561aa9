//! From model back to implementation: every counterexample the checker
//! records (in `proofs/*.json`, or — when no proofs are recorded yet — found
//! by checking every shipped policy × environment), written as a replay log
//! by `explain --format replay` and replayed through the replay driver with
//! the same policy, reproduces the fatal decision and every other decision
//! of the run.

use livecheck::check::{check_pair, CheckOptions, PairResult, Verdict};
use livecheck::environment::Environment;
use livecheck::explain::{self, replay_log, Explanation, Shown};
use livecheck::policy::Policy;
use livecheck::replay::{Finished, Replayer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn replay(policy: &Policy, log: &str) -> Vec<Finished> {
    let mut got = Vec::new();
    let mut r = Replayer::new(policy, Path::new("explain.jsonl"));
    for (i, line) in log.lines().enumerate() {
        r.feed(i + 1, line, &mut |f| got.push(f))
            .unwrap_or_else(|e| panic!("replay refused line {}: {e}\n{log}", i + 1));
    }
    r.finish(&mut |f| got.push(f))
        .unwrap_or_else(|e| panic!("replay refused the log's end: {e}\n{log}"));
    got
}

/// Replays `e`'s run and checks every decision against the timeline; returns
/// whether the run had a fatal decision (a declaration of death).
fn check_round_trip(e: &Explanation, label: &str) -> bool {
    let log = replay_log::render(e);
    let got = replay(&e.world.policy, &log);
    let want = replay_log::expected(e.entries());
    let key = |req: &str, t: u64| (req.to_owned(), t);
    let got_by: BTreeMap<(String, u64), &Finished> =
        got.iter().map(|f| (key(&f.req, f.t_ms), f)).collect();
    assert_eq!(
        got.len(),
        want.len(),
        "{label}: replay finished {} decisions, the timeline {}\n{log}",
        got.len(),
        want.len()
    );
    for w in &want {
        let f = got_by
            .get(&key(&w.req, w.t_ms))
            .unwrap_or_else(|| panic!("{label}: {} at {} ms not replayed\n{log}", w.req, w.t_ms));
        assert_eq!(f.outcome, w.outcome, "{label}: {} outcome\n{log}", w.req);
        if w.restart != "pending" {
            assert_eq!(f.restart, w.restart, "{label}: {} restart\n{log}", w.req);
        }
    }
    let fatal: Vec<_> = want.iter().filter(|w| w.fatal).collect();
    if e.shown == Shown::Counterexample {
        let marked = e.entries().iter().find(|x| x.violation).expect("marked");
        if marked.action == livecheck::trace::What::DeclaredDead
            && marked.actor != livecheck::trace::Actor::Proxy
        {
            // Another detector (health sweep, reconciler, TTL monitor,
            // preflight) declared: a replay log holds the proxy's request
            // decisions only, which all replay as checked above.
            assert!(fatal.is_empty(), "{label}");
            return false;
        }
        if marked.action == livecheck::trace::What::DeclaredDead {
            assert_eq!(fatal.len(), 1, "{label}: one fatal decision");
            assert_eq!(fatal[0].outcome, "dead", "{label}");
            let f = got_by[&key(&fatal[0].req, fatal[0].t_ms)];
            assert_eq!(f.outcome, "dead", "{label}: replay declares dead too");
            return true;
        }
        if marked.actor != livecheck::trace::Actor::Clock {
            // The restart coordinator's step (an orphaned or a looping
            // restart): every decision of the run agreed above.
            return false;
        }
        // A detection-bound violation: time ran out with nobody declaring.
        assert!(fatal.is_empty(), "{label}");
        assert!(
            got.iter().all(|f| f.outcome != "dead"),
            "{label}: the crash is never declared in the replay either"
        );
    }
    false
}

/// `(policy, environment, property)` of every violation with a recorded
/// counterexample in `proofs/`.
fn recorded_violations() -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("proofs") else {
        return out;
    };
    let mut files: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read proof");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", f.display()));
        let policy = v["policy"].as_str().expect("policy").to_owned();
        let env = v["environment"].as_str().expect("environment").to_owned();
        for p in v["properties"].as_array().expect("properties") {
            if p["verdict"] == "violated" && p.get("counterexample").is_some() {
                out.push((
                    policy.clone(),
                    env.clone(),
                    p["name"].as_str().expect("name").to_owned(),
                    p["counterexample"].clone(),
                ));
            }
        }
    }
    out
}

fn load(policy: &str, env: &str) -> (Policy, Environment) {
    (
        Policy::load(Path::new(&format!("models/policies/{policy}.toml"))).expect("policy"),
        Environment::load(Path::new(&format!("models/environments/{env}.toml"))).expect("env"),
    )
}

fn stems(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("models dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    v.sort();
    v
}

/// The recorded counterexample's `(t_ms, actor, action)` sequence.
fn shape(steps: &Value) -> Vec<(u64, String, String)> {
    steps
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["t_ms"].as_u64().expect("t_ms"),
                s["actor"].as_str().expect("actor").to_owned(),
                s["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_counterexample_replays_to_its_fatal_decision() {
    let recorded = recorded_violations();
    let mut pairs: BTreeMap<(String, String), PairResult> = BTreeMap::new();
    let mut check = |policy: &str, env: &str| -> PairResult {
        pairs
            .entry((policy.to_owned(), env.to_owned()))
            .or_insert_with(|| {
                let (p, e) = load(policy, env);
                check_pair(&p, &e, &CheckOptions::default())
            })
            .clone()
    };
    let mut fatal_replayed = 0;
    let mut total = 0;
    if recorded.is_empty() {
        // No proofs recorded yet: check every shipped pair instead.
        eprintln!("proofs/ holds no counterexamples: checking every shipped pair");
        for policy in stems("models/policies") {
            for env in stems("models/environments") {
                let pair = check(&policy, &env);
                for p in &pair.properties {
                    if p.verdict == Verdict::Violated && p.trail.is_some() {
                        let e = explain::from_check(&pair, p.name);
                        total += 1;
                        if check_round_trip(&e, &format!("{policy} × {env}: {}", p.name)) {
                            fatal_replayed += 1;
                        }
                    }
                }
            }
        }
    } else {
        for (policy, env, property, steps) in &recorded {
            let label = format!("proofs/{policy}.{env}.json: {property}");
            // The proof's own run, rebuilt from its recorded model actions
            // (no search; refused if it no longer matches the files: the
            // fresh-check comparison is tests/model_check.rs's).
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("proofs")
                .join(format!("{policy}.{env}.json"));
            let pair = explain::recorded::pair_from_proof(&file)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let name = explain::property_name(property).expect("a contract property");
            let e = explain::from_check(&pair, name);
            assert_eq!(
                e.shown,
                Shown::Counterexample,
                "{label}: no longer violated"
            );
            let rebuilt = serde_json::to_value(e.entries()).expect("json");
            assert_eq!(
                shape(&rebuilt),
                shape(steps),
                "{label}: the rebuilt run is not the recorded one"
            );
            total += 1;
            if check_round_trip(&e, &label) {
                fatal_replayed += 1;
            }
        }
    }
    assert!(total > 0, "some counterexample to replay");
    assert!(fatal_replayed > 0, "some fatal declaration replayed");
}

#[test]
fn examples_and_worst_case_paths_replay_too() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs/v1-2931.docker.json");
    let pair = explain::recorded::pair_from_proof(&file).expect("a current proof");
    let mut shown = 0;
    for name in [
        "dead_detected_within",
        "reachable_dead",
        "reachable_recovery",
    ] {
        let x = explain::from_check(&pair, name);
        if x.walk.is_some() {
            shown += 1;
            check_round_trip(&x, name);
        }
    }
    assert_eq!(shown, 3, "worst case and both examples shown");
}

#[test]
fn cli_replay_of_the_2929_log_declares_dead() {
    let bin = env!("CARGO_BIN_EXE_livecheck");
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(bin)
        .args(["explain", "2929", "--format", "replay"])
        .current_dir(root)
        .output()
        .expect("explain");
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8(out.stdout).expect("utf-8");
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["ws"], "w1");
        assert!(v["t_ms"].is_u64());
    }
    let dir = std::env::temp_dir().join(format!("livecheck-explain-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("2929.jsonl");
    std::fs::write(&file, &log).expect("write log");
    let out = Command::new(bin)
        .args(["replay", "--policy", explain::INCIDENT_POLICY])
        .arg(&file)
        .current_dir(root)
        .output()
        .expect("replay");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let last: Value = serde_json::from_str(text.lines().last().expect("a decision")).expect("json");
    let e = explain::incident().expect("incident");
    let fatal = e
        .entries()
        .iter()
        .find(|x| x.action == livecheck::trace::What::DeclaredDead)
        .expect("the declaration");
    assert_eq!(last["outcome"], "dead");
    assert_eq!(last["req"], fatal.req_name().expect("req").as_str());
    assert_eq!(last["t_ms"], fatal.t_ms);
}
