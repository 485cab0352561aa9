//! The upstream scenarios as replay logs, run through the real binary
//! (`livecheck replay --policy POLICY LOG`), and the binary's handling of bad
//! logs.
//!
//! Layout of `tests/replay/`: each `NAME.jsonl` is a log (CONTRACT.md,
//! "Replay log"); each `NAME.POLICY.out` beside it holds the exact output
//! expected when replaying it under `models/policies/POLICY.toml`. A log is
//! replayed under exactly the policies it has an `.out` file for (a log
//! written for V2's re-probe, say, holds a second probe answer that V0 and V1
//! never ask for, which is an error for them).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const POLICIES: [&str; 3] = ["v0-pre-2931", "v1-2931", "v2-2950"];

/// Every log the suite must hold, with the policies it must be checked
/// under: deleting a file or an expectation fails the test.
const EXPECTED: &[(&str, &[&str])] = &[
    // Reference table, "Scenarios from the upstream test-suite".
    ("no_provisioner", &POLICIES),
    ("runtime_external", &POLICIES),
    ("probe_false_hb_null", &POLICIES),
    ("probe_true_hb_null", &POLICIES),
    ("v2_hb_now_false_false_queued", &["v2-2950"]),
    ("probe_error_hb_null", &POLICIES),
    ("restart_running", &POLICIES),
    ("v1_hb_now_two_calls", &["v1-2931"]),
    ("v1_false_true_false", &["v1-2931"]),
    ("restart_stamped_now_x5", &["v0-pre-2931", "v1-2931"]),
    ("restart_debounce_after_settle", &POLICIES),
    // V2's suspension points as replay sees them.
    ("v2_settle_recent_reprobe_running", &["v2-2950"]),
    ("v2_settle_lone_false_strikes", &["v2-2950"]),
    ("v2_heartbeat_during_fresh_wait", &["v2-2950"]),
    // Replay's events beyond the contract's (register, restart_requested
    // through the file-write drop, cycle_finished, an early timer).
    ("extension_events", &["v2-2950"]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy_path(name: &str) -> PathBuf {
    root().join("models/policies").join(format!("{name}.toml"))
}

fn replay(policy: &Path, log: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .arg("replay")
        .arg("--policy")
        .arg(policy)
        .arg(log)
        .output()
        .expect("run the livecheck binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_scenario_log_replays_to_its_expected_output() {
    let dir = root().join("tests/replay");
    let mut checked = Vec::new();
    let mut logs: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/replay exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    logs.sort();
    assert!(!logs.is_empty(), "no logs in {}", dir.display());
    for log in &logs {
        let name = log.file_stem().unwrap().to_string_lossy().into_owned();
        let mut any = false;
        for policy in POLICIES {
            let want_path = dir.join(format!("{name}.{policy}.out"));
            let Ok(want) = fs::read_to_string(&want_path) else {
                continue;
            };
            any = true;
            let out = replay(&policy_path(policy), log);
            assert!(
                out.status.success(),
                "{name} under {policy}: exit {:?}, stderr: {}",
                out.status.code(),
                text(&out.stderr)
            );
            assert_eq!(text(&out.stderr), "", "{name} under {policy}: stderr");
            assert_eq!(
                text(&out.stdout),
                want,
                "{name} under {policy}: output differs from {}",
                want_path.display()
            );
            checked.push((name.clone(), policy));
        }
        assert!(any, "{} has no NAME.POLICY.out expectation", log.display());
    }
    for (name, policies) in EXPECTED {
        for policy in *policies {
            assert!(
                checked.iter().any(|(n, p)| n == name && p == policy),
                "missing scenario log {name}.jsonl with {name}.{policy}.out"
            );
        }
    }
}

#[test]
fn every_expected_line_has_the_contract_fields() {
    // The outputs are JSON objects with the contract's fields and values.
    for entry in fs::read_dir(root().join("tests/replay")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "out") {
            continue;
        }
        for line in fs::read_to_string(&p).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["t_ms"].is_u64() && v["ws"].is_string() && v["req"].is_string());
            assert!(v["probes"].as_u64().is_some_and(|n| n <= 2), "{line}");
            let outcome = v["outcome"].as_str().unwrap();
            assert!(["dead", "not_dead", "queued", "skipped"].contains(&outcome));
            let restart = v["restart"].as_str().unwrap();
            assert!(["started", "dropped", "none"].contains(&restart));
            assert_eq!(
                outcome == "dead",
                restart != "none",
                "{}: {line}",
                p.display()
            );
        }
    }
}

// ---- bad logs: exit 2, the line named on stderr, no panic -----------------

/// Writes `lines` to a log file under the target's temp dir.
fn log_file(name: &str, lines: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay_logs");
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.jsonl"));
    let mut s = lines.join("\n");
    s.push('\n');
    fs::write(&p, s).unwrap();
    p
}

/// Replays `lines` under `policy` and checks it fails cleanly at `line`,
/// with `needle` in the reason. Returns stderr.
fn assert_bad_log(name: &str, policy: &str, lines: &[&str], line: usize, needle: &str) -> String {
    let log = log_file(name, lines);
    let out = replay(&policy_path(policy), &log);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: want exit 2, stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{name}: panicked: {err}");
    let at = format!("{}:{line}:", log.display());
    assert!(
        err.contains(&at),
        "{name}: stderr does not name {at}: {err}"
    );
    assert!(
        err.contains(needle),
        "{name}: stderr lacks {needle:?}: {err}"
    );
    err
}

#[test]
fn malformed_line_exits_2_naming_the_line() {
    for policy in POLICIES {
        assert_bad_log(
            "malformed",
            policy,
            &[
                r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#,
                r#"{"t_ms": 5, "ws": "w1", "event": "heartbeat""#,
                r#"{"t_ms": 9, "ws": "w1", "event": "heartbeat"}"#,
            ],
            2,
            "malformed",
        );
    }
}

#[test]
fn unknown_event_result_field_or_negative_time_exit_2() {
    let hb = r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#;
    let bad = [
        r#"{"t_ms": 1, "ws": "w1", "event": "reboot"}"#,
        r#"{"t_ms": -1, "ws": "w1", "event": "heartbeat"}"#,
        r#"{"t_ms": 1, "ws": "w1", "event": "heartbeat", "colour": "red"}"#,
        r#"{"t_ms": 1, "ws": "w1", "event": "a2a_failed"}"#,
        r#"{"t_ms": 1, "ws": "w1", "event": "heartbeat", "result": "running"}"#,
        r#"[1, 2, 3]"#,
        r#"not json at all"#,
    ];
    for (i, b) in bad.iter().enumerate() {
        assert_bad_log(&format!("bad_{i}"), "v2-2950", &[hb, b], 2, "");
    }
    // A probe result outside the contract's words.
    assert_bad_log(
        "bad_result",
        "v1-2931",
        &[
            r#"{"t_ms": 0, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 0, "ws": "w1", "event": "probe", "req": "r1", "result": "maybe"}"#,
        ],
        2,
        "malformed",
    );
}

#[test]
fn misused_extension_events_exit_2_naming_the_line() {
    let hb = r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#;
    for (i, (line, needle)) in [
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "restart_requested"}"#,
            "needs a \"source\"",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "restart_requested", "source": "cron"}"#,
            "malformed",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "heartbeat", "source": "other"}"#,
            "\"source\" belongs on restart_requested lines only",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "timer"}"#,
            "needs a \"req\"",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "timer", "req": "r9"}"#,
            "no decision is waiting for a timer",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        assert_bad_log(
            &format!("bad_extension_{i}"),
            "v2-2950",
            &[hb, line],
            2,
            needle,
        );
    }
    // A timer for a decision that waits for a probe answer is refused.
    assert_bad_log(
        "timer_while_probing",
        "v0-pre-2931",
        &[
            r#"{"t_ms": 0, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 5, "ws": "w1", "event": "timer", "req": "r1"}"#,
        ],
        2,
        "no decision is waiting for a timer",
    );
}

#[test]
fn time_going_backwards_exits_2_naming_the_line() {
    for policy in POLICIES {
        assert_bad_log(
            "backwards",
            policy,
            &[
                r#"{"t_ms": 1000, "ws": "w1", "event": "heartbeat"}"#,
                r#"{"t_ms": 0, "ws": "w2", "event": "heartbeat"}"#,
                r#"{"t_ms": 999, "ws": "w1", "event": "heartbeat"}"#,
            ],
            3,
            "backwards",
        );
    }
}

#[test]
fn probe_line_nobody_waits_for_exits_2_naming_the_line() {
    for policy in POLICIES {
        assert_bad_log(
            "orphan_probe",
            policy,
            &[
                r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#,
                r#"{"t_ms": 10, "ws": "w1", "event": "probe", "req": "r1", "result": "running"}"#,
            ],
            2,
            "no decision is waiting",
        );
    }
    // V1 asks for one probe only: a second answer is nobody's.
    assert_bad_log(
        "extra_probe_v1",
        "v1-2931",
        &[
            r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#,
            r#"{"t_ms": 0, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 0, "ws": "w1", "event": "probe", "req": "r1", "result": "not_running"}"#,
            r#"{"t_ms": 500, "ws": "w1", "event": "probe", "req": "r1", "result": "not_running"}"#,
        ],
        4,
        "no decision is waiting",
    );
    // V2 is still in its fresh-heartbeat wait at 1000: the probe is early.
    assert_bad_log(
        "early_probe_v2",
        "v2-2950",
        &[
            r#"{"t_ms": 0, "ws": "w1", "event": "restart_started"}"#,
            r#"{"t_ms": 100, "ws": "w1", "event": "restart_finished"}"#,
            r#"{"t_ms": 200, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 1000, "ws": "w1", "event": "probe", "req": "r1", "result": "not_running"}"#,
        ],
        4,
        "no decision is waiting",
    );
}

#[test]
fn missing_probe_at_end_of_log_exits_2_naming_the_decision_line() {
    for policy in POLICIES {
        assert_bad_log(
            "missing_probe",
            policy,
            &[
                r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#,
                r#"{"t_ms": 10, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
                r#"{"t_ms": 20, "ws": "w1", "event": "heartbeat"}"#,
            ],
            2,
            "needs a probe answer",
        );
    }
    // V2's re-probe is asked for by a timer that fires at the end of the log.
    assert_bad_log(
        "missing_reprobe_v2",
        "v2-2950",
        &[
            r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#,
            r#"{"t_ms": 10, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 10, "ws": "w1", "event": "probe", "req": "r1", "result": "not_running"}"#,
        ],
        2,
        "needs a probe answer",
    );
}

#[test]
fn output_before_an_error_is_the_decisions_finished_so_far() {
    // Streaming: decisions finished before the bad line are printed.
    let log = log_file(
        "partial",
        &[
            r#"{"t_ms": 0, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 0, "ws": "w1", "event": "probe", "req": "r1", "result": "running"}"#,
            r#"{"t_ms": 1, "ws": "w1", "event": "oops"}"#,
        ],
    );
    let out = replay(&policy_path("v0-pre-2931"), &log);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "{\"t_ms\":0,\"ws\":\"w1\",\"req\":\"r1\",\"outcome\":\"not_dead\",\"probes\":1,\"restart\":\"none\",\"reason\":\"running\"}\n"
    );
}

#[test]
fn missing_log_or_bad_policy_exits_2() {
    let out = replay(&policy_path("v2-2950"), Path::new("/nonexistent/log.jsonl"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/log.jsonl"));
    let log = log_file("ok", &[r#"{"t_ms": 0, "ws": "w1", "event": "heartbeat"}"#]);
    let out = replay(Path::new("/nonexistent/p.toml"), &log);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/p.toml"));
    assert!(out.stdout.is_empty());
}
