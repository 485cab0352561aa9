//! What-if replay (issue 11, part 2): logs that carry the container's truth
//! (`container` lines) answer each policy's own probes, so one log replays
//! under any policy; `livecheck replay --policy NEW --what-if-old OLD LOG`
//! and [`livecheck::replay::what_if`] list every decision that differs.
//!
//! The sample log in `docs/what-if/` and its expected what-if outputs are
//! checked here: the test regenerates them and fails when a committed one is
//! stale, printing the command that regenerates it.

mod common;

use livecheck::replay::{what_if, what_if_file, Difference, WhatIf};
use livecheck::Policy;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLE: &str = "docs/what-if/sample.jsonl";

/// The pairs the sample's expected outputs are kept for: (old, new).
const PAIRS: [(&str, &str); 2] = [("v1-2931", "v2-2950"), ("v2-2950", "v3-proposed")];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy_path(name: &str) -> String {
    format!("models/policies/{name}.toml")
}

fn policy(name: &str) -> Policy {
    Policy::load(&root().join(policy_path(name))).expect("shipped policy loads")
}

/// `livecheck ARGS` run in the repository root.
fn livecheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run the livecheck binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The committed expected output of the sample's what-if for `old` → `new`.
fn expected_file(old: &str, new: &str, ext: &str) -> String {
    format!("docs/what-if/sample.{old}-vs-{new}.{ext}")
}

fn what_if_args(old: &str, new: &str, format: &str, log: &str) -> Vec<String> {
    vec![
        "replay".into(),
        "--policy".into(),
        policy_path(new),
        "--what-if-old".into(),
        policy_path(old),
        "--format".into(),
        format.into(),
        log.into(),
    ]
}

/// The shell command that regenerates one expected output.
fn regenerate(old: &str, new: &str, format: &str, ext: &str) -> String {
    format!(
        "cargo run --release -- {} > {}",
        what_if_args(old, new, format, SAMPLE).join(" "),
        expected_file(old, new, ext)
    )
}

fn run_what_if(old: &str, new: &str, format: &str, log: &str) -> Output {
    let args = what_if_args(old, new, format, log);
    livecheck(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn sample_what_if_outputs_are_up_to_date() {
    let mut stale = Vec::new();
    for (old, new) in PAIRS {
        for (format, ext) in [("text", "txt"), ("json", "json"), ("markdown", "md")] {
            let out = run_what_if(old, new, format, SAMPLE);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{old} vs {new} ({format}): {}",
                text(&out.stderr)
            );
            let fresh = text(&out.stdout);
            let file = expected_file(old, new, ext);
            match std::fs::read_to_string(root().join(&file)) {
                Ok(committed) if committed == fresh => {}
                Ok(committed) => {
                    let line = fresh
                        .lines()
                        .zip(committed.lines())
                        .position(|(a, b)| a != b)
                        .map_or_else(
                            || fresh.lines().count().min(committed.lines().count()) + 1,
                            |i| i + 1,
                        );
                    stale.push(format!(
                        "{file} is stale (first difference at line {line}); regenerate it with\n  {}",
                        regenerate(old, new, format, ext)
                    ));
                }
                Err(e) => stale.push(format!(
                    "cannot read {file} ({e}); generate it with\n  {}",
                    regenerate(old, new, format, ext)
                )),
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

#[test]
fn library_answer_is_the_cli_json() {
    for (old, new) in PAIRS {
        let lib = what_if_file(&policy(old), &policy(new), &root().join(SAMPLE))
            .expect("the sample replays");
        let out = run_what_if(old, new, "json", SAMPLE);
        let cli: WhatIf = serde_json::from_slice(&out.stdout).expect("the CLI prints a WhatIf");
        assert_eq!(lib, cli, "{old} vs {new}");
        // The contract's `log` object: decisions and differ.
        let v = serde_json::to_value(&lib).expect("plain data");
        assert!(v["decisions"].as_u64().is_some_and(|n| n > 0));
        assert!(v["differ"].is_array());
        for d in v["differ"].as_array().expect("array") {
            for key in ["ws", "req", "t_ms"] {
                assert!(!d[key].is_null(), "{key} missing in {d}");
            }
            for side in ["old", "new"] {
                assert!(d[side]["outcome"].is_string() && d[side]["restart"].is_string());
            }
        }
    }
}

/// Every decision `livecheck replay` prints for the sample under `p`.
fn plain_replay(p: &str) -> Vec<serde_json::Value> {
    let out = livecheck(&["replay", "--policy", &policy_path(p), SAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{p}: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn find<'a>(w: &'a WhatIf, ws: &str, req: &str) -> Option<&'a Difference> {
    w.differ.iter().find(|d| d.ws == ws && d.req == req)
}

#[test]
fn sample_tells_the_story_it_is_shipped_for() {
    let lib = |old: &str, new: &str| {
        what_if_file(&policy(old), &policy(new), &root().join(SAMPLE)).expect("replays")
    };
    let v1_v2 = lib("v1-2931", "v2-2950");
    let v2_v3 = lib("v2-2950", "v3-proposed");
    // Every a2a_failed line is one decision, under both policies.
    let failures = std::fs::read_to_string(root().join(SAMPLE))
        .expect("sample")
        .lines()
        .filter(|l| l.contains("\"a2a_failed\""))
        .count();
    assert_eq!(v1_v2.decisions, failures);
    assert_eq!(v2_v3.decisions, failures);

    // The config-PUT restart whose booting container reads not running: V1
    // declares it dead at once (its restart swallowed by the debounce: the
    // #2929 shape), V2 only at its second strike, V3 waits for the agent.
    let a3 = find(&v1_v2, "ws-7f3a", "a-3").expect("a-3 differs between v1 and v2");
    assert_eq!(
        (a3.old.outcome.as_str(), a3.old.restart.as_str()),
        ("dead", "dropped")
    );
    assert_eq!(a3.new.outcome, "not_dead");
    assert!(
        find(&v1_v2, "ws-7f3a", "a-4").is_none(),
        "v1 and v2 both declare a-4"
    );
    let a4 = find(&v2_v3, "ws-7f3a", "a-4").expect("a-4 differs between v2 and v3");
    assert_eq!(
        (a4.old.outcome.as_str(), a4.old.restart.as_str()),
        ("dead", "dropped")
    );
    assert_eq!(
        (a4.new.outcome.as_str(), a4.new.reason.as_str()),
        ("not_dead", "booting")
    );
    assert_eq!(a4.line, 25);
    assert_eq!(a4.t_ms, 86_000);

    // The crash: V2 queues while the last heartbeat is recent and declares
    // 11 s later than V1; V3 declares at the second failure.
    let c2 = find(&v1_v2, "ws-c21d", "c-2").expect("c-2 differs");
    assert_eq!(
        (c2.old.outcome.as_str(), c2.old.restart.as_str()),
        ("dead", "started")
    );
    assert_eq!(c2.new.outcome, "queued");
    let c4 = find(&v1_v2, "ws-c21d", "c-4").expect("c-4 differs");
    assert_eq!(c4.new.outcome, "dead");
    assert_eq!(
        find(&v2_v3, "ws-c21d", "c-2").map(|d| d.new.outcome.as_str()),
        Some("dead")
    );
    for p in ["v1-2931", "v2-2950", "v3-proposed"] {
        let decisions = plain_replay(p);
        assert!(
            decisions.iter().any(|d| d["ws"] == "ws-c21d"
                && d["outcome"] == "dead"
                && d["restart"] == "started"),
            "{p} never restarts the crashed workspace"
        );
        // The healthy workspace with failures: every decision sees it running.
        let healthy: Vec<_> = decisions.iter().filter(|d| d["ws"] == "ws-90be").collect();
        assert_eq!(healthy.len(), 5, "{p}");
        assert!(healthy.iter().all(|d| d["outcome"] == "not_dead"), "{p}");
    }
    for w in [&v1_v2, &v2_v3] {
        assert!(w
            .differ
            .iter()
            .all(|d| d.ws != "ws-90be" && d.ws != "ws-e004"));
        // Listed in log order.
        assert!(w.differ.windows(2).all(|p| p[0].line < p[1].line));
    }
}

/// Writes `lines` to a fresh file named `name` under the test's scratch
/// directory and returns its path.
fn log_file(name: &str, lines: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("livecheck-what-if-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").expect("write log");
    path
}

fn what_if_lines(old: &str, new: &str, lines: &[&str]) -> Result<WhatIf, livecheck::InputError> {
    let log = lines.join("\n");
    what_if(
        &policy(old),
        &policy(new),
        Path::new("mem.jsonl"),
        log.as_bytes(),
    )
}

/// A bad log: exit 2, stderr names the file and line; a what-if prints
/// nothing on stdout (plain replay streams the decisions before the line).
fn assert_bad(args: &[&str], path: &Path, line: usize, needle: &str) {
    let out = livecheck(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    if args.contains(&"--what-if-old") {
        assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
    }
    let at = format!("{}:{line}: ", path.display());
    assert!(err.contains(&at), "{args:?}: stderr lacks {at:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: stderr lacks {needle:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

const REG: &str = r#"{"t_ms": 0, "ws": "w1", "event": "register"}"#;
const UP: &str = r#"{"t_ms": 0, "ws": "w1", "event": "container", "state": "running"}"#;

#[test]
fn probe_and_container_lines_for_one_workspace_exit_2_naming_file_and_line() {
    let probe_first = log_file(
        "probe_then_container",
        &[
            REG,
            r#"{"t_ms": 20000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 20010, "ws": "w1", "event": "probe", "req": "r1", "result": "running"}"#,
            r#"{"t_ms": 21000, "ws": "w1", "event": "container", "state": "running"}"#,
        ],
    );
    let container_first = log_file(
        "container_then_probe",
        &[
            UP,
            REG,
            r#"{"t_ms": 20000, "ws": "w1", "event": "heartbeat"}"#,
            r#"{"t_ms": 20010, "ws": "w1", "event": "probe", "req": "r1", "result": "running"}"#,
        ],
    );
    let p = |f: &Path| f.display().to_string();
    for policy in ["v0-pre-2931", "v1-2931", "v2-2950", "v3-proposed"] {
        let pp = policy_path(policy);
        // Plain replay: the mix is refused whichever comes first.
        assert_bad(
            &["replay", "--policy", &pp, &p(&probe_first)],
            &probe_first,
            4,
            "both probe lines (the first at line 3) and container lines",
        );
        assert_bad(
            &["replay", "--policy", &pp, &p(&container_first)],
            &container_first,
            4,
            "which has container lines (the first at line 1)",
        );
        // What-if replay too (which needs a container line before the
        // first probing decision, so the probe-first log fails sooner).
        for (f, line, needle) in [
            (
                &probe_first,
                2,
                "no container line for the workspace comes before it",
            ),
            (
                &container_first,
                4,
                "which has container lines (the first at line 1)",
            ),
        ] {
            assert_bad(
                &[
                    "replay",
                    "--policy",
                    &pp,
                    "--what-if-old",
                    &policy_path("v1-2931"),
                    &p(f),
                ],
                f,
                line,
                needle,
            );
        }
    }
}

#[test]
fn what_if_needs_the_containers_truth() {
    // A probe line: recorded answers fit only the policy that asked.
    let err = what_if_lines(
        "v1-2931",
        "v2-2950",
        &[
            REG,
            r#"{"t_ms": 20010, "ws": "w1", "event": "probe", "req": "r1", "result": "running"}"#,
        ],
    )
    .expect_err("probe lines in a what-if");
    assert_eq!(
        (err.file.as_deref(), err.line),
        (Some("mem.jsonl"), Some(2))
    );
    assert!(
        err.reason
            .contains("answers every probe from the container's truth"),
        "{}",
        err.reason
    );
    // A log recorded with probe lines fails at its first probing decision.
    let err = what_if_lines(
        "v1-2931",
        "v2-2950",
        &[
            REG,
            r#"{"t_ms": 20000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 20010, "ws": "w1", "event": "probe", "req": "r1", "result": "running"}"#,
        ],
    )
    .expect_err("probe lines in a what-if");
    assert_eq!(
        (err.file.as_deref(), err.line),
        (Some("mem.jsonl"), Some(2))
    );
    // A decision that probes before the workspace's first container line:
    // the error names the request's line, at once.
    let err = what_if_lines(
        "v1-2931",
        "v2-2950",
        &[
            REG,
            r#"{"t_ms": 20000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 20500, "ws": "w1", "event": "container", "state": "running"}"#,
        ],
    )
    .expect_err("no truth before the probe");
    assert_eq!(err.line, Some(2));
    assert!(
        err.reason
            .contains("no container line for the workspace comes before it"),
        "{}",
        err.reason
    );
    // Plain replay of the same log: the decision waits for a probe answer,
    // and the container line cannot give one after the fact.
    let path = log_file(
        "late_truth",
        &[
            REG,
            r#"{"t_ms": 20000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 20500, "ws": "w1", "event": "container", "state": "running"}"#,
        ],
    );
    assert_bad(
        &[
            "replay",
            "--policy",
            &policy_path("v2-2950"),
            &path.display().to_string(),
        ],
        &path,
        3,
        "waits for a probe answer from before the workspace's first container line",
    );
}

#[test]
fn probes_read_the_last_container_state_at_their_instant() {
    // V2 with a recent heartbeat re-probes 500 ms after a not-running
    // answer; the container is running again by then, so V2 finds it
    // running while V1 (one probe, a strike) does not.
    let log = [
        UP,
        REG,
        r#"{"t_ms": 10000, "ws": "w1", "event": "container", "state": "not_running"}"#,
        r#"{"t_ms": 10000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
        r#"{"t_ms": 10300, "ws": "w1", "event": "container", "state": "running"}"#,
        r#"{"t_ms": 12000, "ws": "w1", "event": "a2a_failed", "req": "r2"}"#,
    ];
    let path = log_file("reprobe_sees_new_truth", &log);
    let out = livecheck(&[
        "replay",
        "--policy",
        &policy_path("v2-2950"),
        &path.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().expect("a decision")).expect("json");
    assert_eq!(
        (
            &first["req"],
            &first["probes"],
            &first["reason"],
            &first["t_ms"]
        ),
        (
            &serde_json::json!("r1"),
            &serde_json::json!(2),
            &serde_json::json!("running"),
            &serde_json::json!(10_500)
        ),
        "{first}"
    );
    // V1 strikes instead: the same outcome and restart (not dead, none), so
    // not a difference, though the reason and the probes differ.
    let w = what_if_lines("v1-2931", "v2-2950", &log).expect("replays");
    assert_eq!((w.decisions, w.differ.len()), (2, 0));
    // A crashed container reads not running: with an old heartbeat V1
    // declares at the first probe, V0 as well; both restart it.
    let crash = [
        UP,
        REG,
        r#"{"t_ms": 40000, "ws": "w1", "event": "container", "state": "crashed"}"#,
        r#"{"t_ms": 41000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
    ];
    let w = what_if_lines("v0-pre-2931", "v1-2931", &crash).expect("replays");
    assert_eq!((w.decisions, w.differ.len()), (1, 0));
    // V2 queues the same failure while the heartbeat is recent; V1 strikes.
    let recent = [
        UP,
        REG,
        r#"{"t_ms": 5000, "ws": "w1", "event": "container", "state": "crashed"}"#,
        r#"{"t_ms": 6000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
        r#"{"t_ms": 8000, "ws": "w1", "event": "a2a_failed", "req": "r2"}"#,
    ];
    let w = what_if_lines("v1-2931", "v2-2950", &recent).expect("replays");
    assert_eq!(w.decisions, 2);
    let r2 = w.differ.iter().find(|d| d.req == "r2").expect("r2 differs");
    assert_eq!(
        (r2.old.outcome.as_str(), r2.old.restart.as_str()),
        ("dead", "started")
    );
    assert_eq!(r2.new.outcome, "queued");
    assert_eq!((r2.line, r2.t_ms), (5, 8000));
}

#[test]
fn a_policy_replayed_against_itself_differs_nowhere() {
    for p in ["v0-pre-2931", "v1-2931", "v2-2950", "v3-proposed"] {
        let w = what_if_file(&policy(p), &policy(p), &root().join(SAMPLE)).expect("replays");
        assert!(w.differ.is_empty(), "{p}: {:?}", w.differ);
        assert!(w.decisions > 0);
    }
}

#[test]
fn logger_fields_are_ignored_other_unknown_fields_are_not() {
    let plain = [
        UP,
        REG,
        r#"{"t_ms": 40000, "ws": "w1", "event": "container", "state": "crashed"}"#,
        r#"{"t_ms": 41000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
    ];
    let logged = [
        r#"{"time": "2026-11-30T14:00:00Z", "level": "INFO", "msg": "docker start", "t_ms": 0, "ws": "w1", "event": "container", "state": "running"}"#,
        r#"{"ts": 1764511200.0, "lvl": "info", "caller": "registry.go:603", "logger": "proxy", "t_ms": 0, "ws": "w1", "event": "register"}"#,
        r#"{"@timestamp": "2026-11-30T14:00:40Z", "severity": "WARNING", "message": "die", "t_ms": 40000, "ws": "w1", "event": "container", "state": "crashed"}"#,
        r#"{"timestamp": "2026-11-30T14:00:41Z", "level": "WARN", "msg": "a2a failed", "t_ms": 41000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
    ];
    let a = what_if_lines("v1-2931", "v3-proposed", &plain).expect("plain");
    let b = what_if_lines("v1-2931", "v3-proposed", &logged).expect("with logger fields");
    assert_eq!(a, b);
    // Plain replay ignores them too, byte for byte the same output.
    let pa = log_file("plain", &plain);
    let pb = log_file("logged", &logged);
    let run = |f: &Path| {
        let out = livecheck(&[
            "replay",
            "--policy",
            &policy_path("v2-2950"),
            &f.display().to_string(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    assert_eq!(run(&pa), run(&pb));
    assert!(!run(&pa).is_empty());
    // Go's slog with AddSource writes the caller as an object under
    // `source`; restart_requested's `source` still reads.
    let slog = [
        r#"{"time":"2026-11-30T14:00:00Z","level":"INFO","source":{"function":"main.log","file":"proxy.go","line":42},"msg":"x","t_ms":0,"ws":"w1","event":"container","state":"running"}"#,
        r#"{"time":"2026-11-30T14:00:00Z","level":"INFO","source":{"function":"main.log","file":"proxy.go","line":42},"msg":"x","t_ms":0,"ws":"w1","event":"register"}"#,
        r#"{"time":"2026-11-30T14:00:40Z","level":"INFO","msg":"x","t_ms":40000,"ws":"w1","event":"container","state":"crashed"}"#,
        r#"{"time":"2026-11-30T14:00:41Z","level":"INFO","msg":"x","t_ms":41000,"ws":"w1","event":"a2a_failed","req":"r1"}"#,
    ];
    let c = what_if_lines("v1-2931", "v3-proposed", &slog).expect("slog with AddSource");
    assert_eq!(a, c);
    let err = what_if_lines(
        "v1-2931",
        "v2-2950",
        &[
            UP,
            r#"{"t_ms": 1, "ws": "w1", "event": "restart_requested", "source": "cron", "level": "INFO"}"#,
        ],
    )
    .expect_err("a bad source word");
    assert!(err.reason.contains("malformed"), "{}", err.reason);
    // A field no logger writes is still a mistake worth an error.
    let err = what_if_lines(
        "v1-2931",
        "v2-2950",
        &[
            UP,
            r#"{"t_ms": 1, "ws": "w1", "event": "heartbeat", "level": "INFO", "colour": "red"}"#,
        ],
    )
    .expect_err("unknown field");
    assert_eq!(err.line, Some(2));
    assert!(err.reason.contains("colour"), "{}", err.reason);
}

#[test]
fn malformed_container_lines_exit_2() {
    for (i, (line, needle)) in [
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "container"}"#,
            "a container line needs a \"state\"",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "container", "state": "zombie"}"#,
            "malformed",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "heartbeat", "state": "running"}"#,
            "\"state\" belongs on container lines only",
        ),
        (
            r#"{"t_ms": 1, "ws": "w1", "event": "container", "state": "running", "req": "r1"}"#,
            "\"req\" belongs on",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let path = log_file(&format!("bad_container_{i}"), &[UP, line]);
        let p = path.display().to_string();
        assert_bad(
            &["replay", "--policy", &policy_path("v2-2950"), &p],
            &path,
            2,
            needle,
        );
        assert_bad(
            &[
                "replay",
                "--policy",
                &policy_path("v2-2950"),
                "--what-if-old",
                &policy_path("v1-2931"),
                &p,
            ],
            &path,
            2,
            needle,
        );
    }
}

#[test]
fn an_error_only_one_policy_meets_names_that_policy() {
    // V2 re-probes r1 500 ms later (a recent heartbeat); the same request
    // failing again at 100 ms finds V2's decision still running, V1's over.
    let err = what_if_lines(
        "v1-2931",
        "v2-2950",
        &[
            UP,
            REG,
            r#"{"t_ms": 1000, "ws": "w1", "event": "container", "state": "not_running"}"#,
            r#"{"t_ms": 2000, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
            r#"{"t_ms": 2100, "ws": "w1", "event": "a2a_failed", "req": "r1"}"#,
        ],
    )
    .expect_err("v2's decision still runs");
    assert_eq!(err.line, Some(5));
    assert!(
        err.reason.starts_with("under policy v2-2950: "),
        "{}",
        err.reason
    );
    // An error both meet is not blamed on either.
    let err = what_if_lines("v1-2931", "v2-2950", &[UP, "{\"t_ms\": 1"]).expect_err("malformed");
    assert!(err.reason.starts_with("malformed"), "{}", err.reason);
}

#[test]
fn what_if_flags_and_usage() {
    // --format needs --what-if-old.
    let out = livecheck(&[
        "replay",
        "--policy",
        &policy_path("v2-2950"),
        "--format",
        "json",
        SAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A missing old policy: exit 2 naming it.
    let out = livecheck(&[
        "replay",
        "--policy",
        &policy_path("v2-2950"),
        "--what-if-old",
        "models/policies/nope.toml",
        SAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope.toml"));
    assert!(out.stdout.is_empty());
    // Standard input works for the log.
    // Killed when dropped, also when a write below fails.
    let mut child = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_livecheck"))
            .current_dir(root())
            .args(what_if_args("v1-2931", "v2-2950", "json", "-"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let stdout = {
        use std::io::{Read, Write};
        let sample = std::fs::read(root().join(SAMPLE)).expect("sample");
        child
            .0
            .stdin
            .take()
            .expect("stdin")
            .write_all(&sample)
            .expect("write");
        let mut stdout = Vec::new();
        child
            .0
            .stdout
            .take()
            .expect("stdout")
            .read_to_end(&mut stdout)
            .expect("read");
        let status = child.0.wait().expect("wait");
        assert_eq!(status.code(), Some(0));
        stdout
    };
    let from_stdin: WhatIf = serde_json::from_slice(&stdout).expect("json");
    let from_file: WhatIf =
        serde_json::from_slice(&run_what_if("v1-2931", "v2-2950", "json", SAMPLE).stdout)
            .expect("json");
    assert_eq!(from_stdin, from_file);
}

/// `python3`, which the converter's tests need: a machine without it fails
/// them, saying how to install it (`scripts/test-all` and CI install it).
fn python() -> &'static str {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the converter's tests need python3 on PATH: `apt-get install python3` \
         (scripts/test-all installs it when run as root)"
    );
    "python3"
}

const CONVERTER: &str = "docs/what-if/to-truth-log.py";

fn convert(args: &[&str]) -> Output {
    Command::new(python())
        .current_dir(root())
        .arg(CONVERTER)
        .args(args)
        .output()
        .expect("run the converter")
}

#[test]
fn converter_turns_the_example_proxys_logs_into_the_committed_truth_log() {
    let args = [
        "--docker-events",
        "docs/what-if/example-proxy/docker-events.jsonl",
        "--ws-label",
        "livecheck.workspace",
        "--t0",
        "2026-11-30T14:00:00Z",
        "docs/what-if/example-proxy/events.jsonl",
    ];
    let out = convert(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The failed probe is left out, and said so.
    assert!(text(&out.stderr).contains("1 probe answer(s)"));
    let committed = std::fs::read_to_string(root().join("docs/what-if/example-proxy/truth.jsonl"))
        .expect("committed truth log");
    assert_eq!(
        text(&out.stdout),
        committed,
        "docs/what-if/example-proxy/truth.jsonl is stale; regenerate it with\n  python3 {CONVERTER} {} > docs/what-if/example-proxy/truth.jsonl",
        args.join(" ")
    );
    // Replayed under the policy that ran (v2-2950), the truth log gives the
    // recorded decisions (outcome and restart), but for the failed probe,
    // which the truth answers from the container's state instead.
    let decisions = |log: &str| -> Vec<(String, String, String)> {
        let out = livecheck(&["replay", "--policy", &policy_path("v2-2950"), log]);
        assert_eq!(out.status.code(), Some(0), "{log}: {}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                (s("req"), s("outcome"), s("reason"))
            })
            .collect()
    };
    let recorded = decisions("docs/what-if/example-proxy/events.jsonl");
    let truth = decisions("docs/what-if/example-proxy/truth.jsonl");
    assert_eq!(recorded.len(), truth.len());
    for (r, t) in recorded.iter().zip(&truth) {
        if r.2 == "probe_error" {
            assert_eq!((r.1.as_str(), t.2.as_str()), ("not_dead", "running"));
        } else {
            assert_eq!(r, t);
        }
    }
}

#[test]
fn converted_upstream_scenarios_replay_to_the_recorded_decisions() {
    // Every probe log of tests/replay/ whose probes a single container state
    // can answer: converted to a truth log, it must replay to the same
    // outcomes and restarts under each policy it was recorded for. (Left
    // out: a transport-error probe, which no container state answers, and a
    // log whose concurrent probes saw different states at once.)
    let skip = ["probe_error_hb_null", "v2_heartbeat_during_fresh_wait"];
    let dir = root().join("tests/replay");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/replay")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "out"))
        .collect();
    entries.sort();
    for out_file in entries {
        let name = out_file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (base, rest) = name.split_once('.').expect("NAME.POLICY.out");
        let pol = rest.trim_end_matches(".out");
        if skip.contains(&base) {
            continue;
        }
        let log = format!("tests/replay/{base}.jsonl");
        let conv = convert(&[&log]);
        assert_eq!(conv.status.code(), Some(0), "{log}: {}", text(&conv.stderr));
        let truth = log_file(&format!("conv_{base}"), &[text(&conv.stdout).trim_end()]);
        let out = livecheck(&[
            "replay",
            "--policy",
            &policy_path(pol),
            &truth.display().to_string(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{base} under {pol}: {}",
            text(&out.stderr)
        );
        let key = |s: &str| -> Vec<String> {
            let mut v: Vec<String> = s
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("json");
                    format!("{} {} {} {}", v["ws"], v["req"], v["outcome"], v["restart"])
                })
                .collect();
            v.sort();
            v
        };
        let expected = std::fs::read_to_string(&out_file).expect("expected output");
        assert_eq!(
            key(&text(&out.stdout)),
            key(&expected),
            "{base} under {pol}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} scenarios checked");
}

#[test]
fn converter_maps_a_structured_loggers_words() {
    // A proxy logging with Go's slog in its own words and field names.
    let log = log_file(
        "slog",
        &[
            r#"{"time":"2026-11-30T14:00:00.000Z","level":"INFO","msg":"proxy started","addr":":8080"}"#,
            r#"{"time":"2026-11-30T14:00:01.500Z","level":"INFO","msg":"agent registered","workspace_id":"w1"}"#,
            r#"{"time":"2026-11-30T14:00:40.000Z","level":"WARN","msg":"container state changed","workspace_id":"w1","running":false}"#,
            r#"{"time":"2026-11-30T14:00:41.250Z","level":"WARN","msg":"a2a forward failed","workspace_id":"w1","request_id":"q7","err":"EOF"}"#,
        ],
    );
    let out = convert(&[
        "--map",
        "register=agent registered",
        "--map",
        "container=container state changed",
        "--map",
        "a2a_failed=a2a forward failed",
        "--ws-field",
        "workspace_id",
        "--req-field",
        "request_id",
        "--state-field",
        "running",
        &log.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        concat!(
            "{\"t_ms\": 1500, \"ws\": \"w1\", \"event\": \"register\"}\n",
            "{\"t_ms\": 40000, \"ws\": \"w1\", \"event\": \"container\", \"state\": \"not_running\"}\n",
            "{\"t_ms\": 41250, \"ws\": \"w1\", \"event\": \"a2a_failed\", \"req\": \"q7\"}\n",
        )
    );
}
