//! `livecheck diff` and `check --baseline` through the real binary: a
//! regression exits 1 and shows the new counterexample, a fix exits 0 and
//! shows the old one, proofs are reused only when computed from the same
//! inputs, the markdown table's shape, bad input exits 2.
//!
//! The shipped policies violate every safety property in the shipped
//! environments, so these tests use a small Docker world (crashes read as
//! not running, no Docker restart, no health sweep, no TTL monitor, no
//! manual restart) where v1-2931's `dead_detected_within` holds, and a copy
//! of v1-2931 that needs 5 strikes, where it does not.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const V1: &str = "models/policies/v1-2931.toml";
const DOCKER: &str = "models/environments/docker.toml";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .args(args)
        .output()
        .expect("run livecheck")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    common::fresh_dir("diff", test)
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the model");
    text.replacen(from, to, 1)
}

/// The small world, written as `dir/small.toml`.
fn small_env(dir: &Path) -> PathBuf {
    let mut s = std::fs::read_to_string(DOCKER).unwrap();
    for (from, to) in [
        (
            "restart_policy = \"unless-stopped\"",
            "restart_policy = \"no\"",
        ),
        ("crash_reads = \"running\"", "crash_reads = \"not_running\""),
        ("health_sweep = true", "health_sweep = false"),
        ("ttl_monitor = true", "ttl_monitor = false"),
        ("manual_restarts = 1", "manual_restarts = 0"),
    ] {
        s = replace_once(&s, from, to);
    }
    let path = dir.join("small.toml");
    std::fs::write(&path, s).unwrap();
    path
}

/// v1-2931 under another name, with `threshold = 2` replaced by `strikes`.
fn v1_with_strikes(dir: &Path, name: &str, strikes: u8) -> PathBuf {
    let s = std::fs::read_to_string(V1).unwrap();
    let s = replace_once(&s, "threshold = 2\n", &format!("threshold = {strikes}\n"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, s).unwrap();
    path
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn row<'a>(v: &'a serde_json::Value, property: &str) -> &'a serde_json::Value {
    v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["property"] == property)
        .unwrap_or_else(|| panic!("no row for {property}"))
}

#[test]
fn a_regression_exits_1_and_shows_the_new_counterexample() {
    let dir = scratch("regression");
    let env = small_env(&dir);
    let slow = v1_with_strikes(&dir, "v1-slow", 5);
    let out = run(&["diff", V1, p(&slow), "--env", p(&env)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("strikes.threshold  2 → 5"), "{text}");
    assert!(
        text.contains("REGRESSED small × dead_detected_within"),
        "{text}"
    );
    assert!(
        text.contains("the new policy's shortest counterexample"),
        "{text}"
    );
    // The timeline itself, its breaking line marked.
    assert!(text.contains("  ✗ "), "{text}");
    assert!(text.contains("why: a crashed container"), "{text}");

    let out = run(&["diff", V1, p(&slow), "--env", p(&env), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["old"], "v1-2931");
    assert_eq!(v["new"], "v1-slow");
    assert_eq!(
        v["knobs"],
        serde_json::json!([{"key": "strikes.threshold", "old": "2", "new": "5"}])
    );
    let r = row(&v, "dead_detected_within");
    assert_eq!(
        (&r["old"], &r["new"], &r["change"]),
        (&"holds".into(), &"violated".into(), &"regressed".into())
    );
    assert_eq!(v["summary"]["regressed"], 1);
    let ce = &v["counterexamples"][0];
    assert_eq!(ce["side"], "new");
    assert_eq!(ce["property"], "dead_detected_within");
    let steps = ce["timeline"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["violation"], true);
    let lat = &v["latency"][0];
    assert_eq!(lat["old_at_least"], false, "v1 holds: an exact worst case");
    assert!(lat["new_worst_case_ms"].as_u64() > lat["old_worst_case_ms"].as_u64());
}

#[test]
fn a_fix_exits_0_and_shows_the_old_counterexample() {
    let dir = scratch("fix");
    let env = small_env(&dir);
    let slow = v1_with_strikes(&dir, "v1-slow", 5);
    let out = run(&["diff", p(&slow), V1, "--env", p(&env)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains("FIXED small × dead_detected_within"),
        "{text}"
    );
    assert!(
        text.contains("the old policy's shortest counterexample, which the new policy rules out"),
        "{text}"
    );
    assert!(text.contains("1 fixed"), "{text}");
    assert!(!text.contains("REGRESSED"), "{text}");
}

#[test]
fn a_diff_of_shipped_names_reads_the_recorded_proofs() {
    let out = run(&[
        "diff",
        "v2-2950",
        "v3-proposed",
        "--env",
        "docker",
        "--format",
        "json",
    ]);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    let v = json(&out);
    assert!(!v["knobs"].as_array().unwrap().is_empty());
    // Both sides come from proofs/ (recorded from these very files).
    for s in v["sources"].as_array().unwrap() {
        assert_eq!(s["from"], "proof", "{s}");
    }
    assert!(stderr(&out).contains("reusing"), "{}", stderr(&out));
}

#[test]
fn proofs_are_reused_when_current_and_rechecked_when_stale() {
    let dir = scratch("proofs");
    let env = small_env(&dir);
    let pa = v1_with_strikes(&dir, "pa", 2);
    let pb = v1_with_strikes(&dir, "pb", 2);
    let proofs = dir.join("proofs");
    std::fs::create_dir_all(&proofs).unwrap();
    let out = run(&[
        "check",
        p(&pa),
        "--env",
        p(&env),
        "--write-proofs",
        p(&proofs),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let proof_file = proofs.join("pa.small.json");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof_file).unwrap()).unwrap();

    let diff = || {
        run(&[
            "diff",
            p(&pa),
            p(&pb),
            "--env",
            p(&env),
            "--proofs",
            p(&proofs),
            "--format",
            "json",
        ])
    };
    // Current: read from the proof, not re-checked.
    let out = diff();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("reusing"), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["sources"][0]["from"], "proof");
    assert_eq!(v["sources"][1]["from"], "check");
    assert_eq!(v["summary"]["same"], 7);

    // Proof that it is the proof that is read: record a (false) violation
    // in it and the diff reports a fix.
    let mut doctored = recorded.clone();
    for prop in doctored["properties"].as_array_mut().unwrap() {
        if prop["name"] == "dead_detected_within" {
            prop["verdict"] = "violated".into();
        }
    }
    std::fs::write(&proof_file, doctored.to_string()).unwrap();
    let v = json(&diff());
    assert_eq!(row(&v, "dead_detected_within")["change"], "fixed");

    // A proof from another model version is stale: re-checked, said so.
    let mut old_model = doctored.clone();
    old_model["model_version"] = 0.into();
    std::fs::write(&proof_file, old_model.to_string()).unwrap();
    let out = diff();
    assert!(
        stderr(&out).contains("is stale (model version 0"),
        "{}",
        stderr(&out)
    );
    let v = json(&out);
    assert_eq!(v["sources"][0]["from"], "check");
    assert_eq!(row(&v, "dead_detected_within")["change"], "same");

    // The policy file edited since (a comment is enough): stale.
    std::fs::write(&proof_file, doctored.to_string()).unwrap();
    let mut text = std::fs::read_to_string(&pa).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&pa, text).unwrap();
    let out = diff();
    assert!(
        stderr(&out).contains("is stale (the policy file changed since"),
        "{}",
        stderr(&out)
    );
    assert_eq!(row(&json(&out), "dead_detected_within")["change"], "same");

    // A proof without provenance (written before schema 2): stale.
    let mut legacy = recorded.clone();
    legacy.as_object_mut().unwrap().remove("schema_version");
    std::fs::write(&proof_file, legacy.to_string()).unwrap();
    let out = diff();
    assert!(
        stderr(&out).contains("records no schema_version"),
        "{}",
        stderr(&out)
    );

    // --no-proofs never reads them.
    let out = run(&[
        "diff",
        p(&pa),
        p(&pb),
        "--env",
        p(&env),
        "--proofs",
        p(&proofs),
        "--no-proofs",
        "--format",
        "json",
    ]);
    assert_eq!(json(&out)["sources"][0]["from"], "check");
}

#[test]
fn markdown_is_a_summary_and_tables_fit_for_a_job_summary() {
    let dir = scratch("markdown");
    let env = small_env(&dir);
    let slow = v1_with_strikes(&dir, "v1-slow", 5);
    let out = run(&[
        "diff",
        V1,
        p(&slow),
        "--env",
        p(&env),
        "--format",
        "markdown",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let md = stdout(&out);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "### livecheck diff: `v1-2931` → `v1-slow`");
    assert!(lines[2].starts_with("❌ 1 regressed"), "{md}");
    assert!(md.contains("| knob | old | new |\n|---|---|---|\n| `strikes.threshold` | 2 | 5 |\n"));
    // The verdict table: its header, then the regression first.
    let header = lines
        .iter()
        .position(|l| *l == "| environment | property | old | new | change |")
        .expect(&md);
    assert_eq!(lines[header + 1], "|---|---|---|---|---|");
    assert_eq!(
        lines[header + 2],
        "| small | `dead_detected_within` | ✓ holds | ✗ violated | **regressed** |"
    );
    // Every table row has as many cells as its header.
    for l in lines.iter().filter(|l| l.starts_with('|')) {
        assert!(l.ends_with('|'), "{l}");
    }
    assert_eq!(
        lines[header + 2..]
            .iter()
            .take_while(|l| l.starts_with('|'))
            .count(),
        7
    );
    assert!(md.contains("| environment | worst-case detection, old | new | bound |"));
    assert!(md.contains("<details><summary>small × <code>dead_detected_within</code> regressed"));
    assert!(md.contains("```text\n"));
    assert!(md.trim_end().ends_with("</details>"));
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let bad = |out: &Output, needles: &[&str]| {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
        assert!(out.stdout.is_empty(), "{}", stdout(out));
        let err = stderr(out);
        assert!(!err.contains("panicked"), "{err}");
        for n in needles {
            assert!(err.contains(n), "{n:?} not in {err}");
        }
    };
    bad(
        &run(&["diff", "v9-nope", "v2-2950"]),
        &["unknown policy name \"v9-nope\"", "v2-2950"],
    );
    bad(
        &run(&["diff", "v1-2931", "v2-2950", "--env", "mars"]),
        &["unknown environment name \"mars\"", "docker"],
    );
    bad(
        &run(&["diff", "v1-2931", "nowhere/x.toml"]),
        &["nowhere/x.toml", "no such file"],
    );
    let dir = scratch("bad");
    let env = small_env(&dir);
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[probe]\non_error = \"shrug\"\n").unwrap();
    bad(
        &run(&["diff", V1, p(&broken), "--env", p(&env)]),
        &["broken.toml", "on_error"],
    );

    // A malformed proof, and a proof recording another pair.
    let pa = v1_with_strikes(&dir, "pa", 2);
    let proofs = dir.join("proofs");
    std::fs::create_dir_all(&proofs).unwrap();
    std::fs::write(proofs.join("pa.small.json"), "{\"policy\": ").unwrap();
    let diff = || run(&["diff", p(&pa), V1, "--env", p(&env), "--proofs", p(&proofs)]);
    bad(&diff(), &["pa.small.json", "malformed proof"]);
    std::fs::write(
        proofs.join("pa.small.json"),
        r#"{"policy": "v2-2950", "environment": "small", "properties": []}"#,
    )
    .unwrap();
    bad(
        &diff(),
        &["pa.small.json", "records \"v2-2950\" × \"small\""],
    );
    bad(
        &run(&["diff", V1, V1, "--env", p(&env), "--proofs", "no/such/dir"]),
        &["--proofs", "no/such/dir"],
    );
}

#[test]
fn a_bounded_search_is_inconclusive_and_exits_3() {
    let dir = scratch("bounded");
    let env = small_env(&dir);
    let out = run(&[
        "diff",
        V1,
        V1,
        "--env",
        p(&env),
        "--max-states",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v = json(&out);
    assert!(v["summary"]["inconclusive"].as_u64() > Some(0));
    assert_eq!(v["summary"]["regressed"], 0);
}

#[test]
fn check_json_records_its_inputs_kinds_bounds_and_assumptions() {
    let dir = scratch("check-json");
    let env = small_env(&dir);
    let out = run(&["check", V1, "--env", p(&env), "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["livecheck_version"], env!("CARGO_PKG_VERSION"));
    let r = &v["results"][0];
    assert_eq!(r["schema_version"], 2);
    assert_eq!(r["model_version"], livecheck::model::MODEL_VERSION);
    let sha = |path: &Path| livecheck::provenance::sha256_hex(&std::fs::read(path).unwrap());
    assert_eq!(r["policy_sha256"], sha(Path::new(V1)));
    assert_eq!(r["environment_sha256"], sha(&env));
    assert_eq!(
        r["assumptions"],
        serde_json::json!({"spurious_not_running": 1, "transport_errors": 1, "config_puts": 1,
            "manual_restarts": 0, "max_in_flight": 2, "tick_ms": 2000, "may_crash": true})
    );
    assert_eq!(
        r["search"],
        serde_json::json!({"max_states": null, "timeout_s": null, "exhaustive": false})
    );
    for prop in r["properties"].as_array().unwrap() {
        let sometimes = prop["name"].as_str().unwrap().starts_with("reachable_");
        assert_eq!(prop["kind"], if sometimes { "sometimes" } else { "always" });
    }
    assert_eq!(r["properties"][2]["bound_ms"], 20_000);
    // The text matrix says what a ✓ rests on.
    let text = stdout(&run(&["check", V1, "--env", p(&env)]));
    assert!(
        text.contains("small: a ✓ assumes at most 1 spurious not-running answer, 1 probe transport error, 1 config PUT and 0 manual restarts per run, at most 2 requests in flight, world events on a 2s grid"),
        "{text}"
    );
}

#[test]
fn check_baseline_fails_only_on_a_regression() {
    let dir = scratch("baseline");
    let env = small_env(&dir);
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    // The baseline: v1-2931 under the name `gate` (violates 4 properties,
    // holds dead_detected_within).
    let gate = v1_with_strikes(&dir, "gate", 2);
    let out = run(&[
        "check",
        p(&gate),
        "--env",
        p(&env),
        "--write-proofs",
        p(&base),
    ]);
    assert_eq!(out.status.code(), Some(1), "plain check: violations exit 1");

    // Unchanged: the recorded violations are not regressions.
    let out = run(&["check", p(&gate), "--env", p(&env), "--baseline", p(&base)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("no regression"), "{}", stdout(&out));

    // 5 strikes: dead_detected_within regresses.
    v1_with_strikes(&dir, "gate", 5);
    let out = run(&[
        "check",
        p(&gate),
        "--env",
        p(&env),
        "--baseline",
        p(&base),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(v["baseline"]["regressed"], 1);
    assert_eq!(
        v["baseline"]["changes"][0],
        serde_json::json!({"policy": "gate", "environment": "small",
            "property": "dead_detected_within", "old": "holds", "new": "violated",
            "change": "regressed"})
    );
    let md = stdout(&run(&[
        "check",
        p(&gate),
        "--env",
        p(&env),
        "--baseline",
        p(&base),
        "--format",
        "markdown",
    ]));
    assert!(md.starts_with("| policy × environment |"), "{md}");
    assert!(md.contains("❌ 1 regressed"), "{md}");
    assert!(
        md.contains("| gate × small | `dead_detected_within` | holds | violated | **regressed** |"),
        "{md}"
    );

    // No baseline for a pair: not gated, said so.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&["check", p(&gate), "--env", p(&env), "--baseline", p(&empty)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no baseline for gate × small"),
        "{}",
        stderr(&out)
    );

    // A malformed baseline, a missing directory: exit 2.
    std::fs::write(empty.join("gate.small.json"), "not json").unwrap();
    let out = run(&["check", p(&gate), "--env", p(&env), "--baseline", p(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gate.small.json"), "{}", stderr(&out));
    let out = run(&[
        "check",
        p(&gate),
        "--env",
        p(&env),
        "--baseline",
        "no/such/dir",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_fix_read_from_a_proof_shows_the_same_timeline_as_a_fresh_check() {
    let dir = scratch("proof-timeline");
    let env = small_env(&dir);
    let slow = v1_with_strikes(&dir, "pslow", 5);
    let proofs = dir.join("proofs");
    std::fs::create_dir_all(&proofs).unwrap();
    let out = run(&[
        "check",
        p(&slow),
        "--env",
        p(&env),
        "--write-proofs",
        p(&proofs),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let diff = |extra: &str| {
        let mut args = vec![
            "diff",
            p(&slow),
            V1,
            "--env",
            p(&env),
            "--proofs",
            p(&proofs),
        ];
        if !extra.is_empty() {
            args.push(extra);
        }
        run(&args)
    };
    let from_proof = diff("");
    assert!(
        stderr(&from_proof).contains("reusing"),
        "{}",
        stderr(&from_proof)
    );
    let fresh = diff("--no-proofs");
    assert_eq!(from_proof.status.code(), Some(0));
    // Only the sources line differs.
    let strip = |o: &Output| {
        stdout(o)
            .lines()
            .filter(|l| !l.contains("bound 20s; old"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(stdout(&fresh).contains("FIXED small × dead_detected_within"));
    assert_eq!(strip(&from_proof), strip(&fresh));
}

/// `git` in `dir`, with an identity of its own.
fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("run git")
}

#[test]
fn the_pre_commit_hook_refuses_only_a_regression() {
    assert!(
        Command::new("git").arg("--version").output().is_ok(),
        "this test needs git on PATH: `apt-get install git` (scripts/test-all installs it when run as root)"
    );
    let dir = scratch("pre-commit");
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci/pre-commit");
    for d in ["models/policies", "models/environments", "proofs"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    small_env(&dir.join("models/environments"));
    let policy = v1_with_strikes(&dir.join("models/policies"), "gate", 2);
    assert!(git(&dir, &["init", "-q"]).status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .current_dir(&dir)
        .args(["check", "--write-proofs", "proofs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(git(&dir, &["add", "."]).status.success());
    assert!(git(&dir, &["commit", "-qm", "baseline"]).status.success());
    let hook_run = || {
        Command::new("sh")
            .arg(&hook)
            .current_dir(&dir)
            .env("LIVECHECK", env!("CARGO_BIN_EXE_livecheck"))
            .output()
            .unwrap()
    };
    // A comment: verdicts unchanged, the commit goes through.
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, format!("{text}# a comment\n")).unwrap();
    assert!(git(&dir, &["add", "."]).status.success());
    let out = hook_run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 5 strikes: dead_detected_within regresses, even with the proofs
    // regenerated in the same commit.
    v1_with_strikes(&dir.join("models/policies"), "gate", 5);
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .current_dir(&dir)
        .args(["check", "--write-proofs", "proofs"])
        .output()
        .unwrap();
    assert!(git(&dir, &["add", "."]).status.success());
    let out = hook_run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("gate × small: dead_detected_within holds → violated (regressed)"),
        "{err}"
    );
}

/// `diff --log`: both policies replay a log with the container's truth; the
/// JSON's `log` is exactly what `replay --what-if-old` reports for the same
/// pair, and a missing log is bad input that prints nothing on stdout.
#[test]
fn diff_with_a_log_lists_the_decisions_that_differ() {
    let out = run(&[
        "diff",
        "v1-2931",
        "v2-2950",
        "--env",
        "docker",
        "--log",
        "docs/what-if/sample.jsonl",
        "--format",
        "json",
    ]);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let log = &v["log"];
    assert!(log["decisions"].as_u64().is_some_and(|n| n > 0), "{log}");
    let differ = log["differ"].as_array().expect("differ");
    assert!(!differ.is_empty(), "v1 and v2 disagree on the sample");
    let alone = run(&[
        "replay",
        "--policy",
        "models/policies/v2-2950.toml",
        "--what-if-old",
        "models/policies/v1-2931.toml",
        "docs/what-if/sample.jsonl",
        "--format",
        "json",
    ]);
    assert_eq!(alone.status.code(), Some(0));
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).expect("json");
    assert_eq!(&alone["differ"], &log["differ"]);

    let bad = run(&[
        "diff",
        "v1-2931",
        "v2-2950",
        "--env",
        "docker",
        "--log",
        "no/such.jsonl",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no/such.jsonl"));
}
