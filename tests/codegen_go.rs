//! The Go generator (issues 5 and 13): for every shipped policy, and for
//! synthetic policies that take the template's other branches, the generated
//! package is gofmt- and vet-clean and passes its conformance vectors and
//! its tracker tests under `go test -race`; flipping a comparison, a
//! constant or a section's effect in it makes `go test` fail; the vectors
//! agree with `livecheck replay`, reach everything a wider random search
//! reaches, and `livecheck vectors` prints the same bytes as the package's
//! `vectors.json`; the header states the policy file's SHA-256 and its
//! recorded verdicts, and a policy with a violated recorded property is
//! refused unless `--allow-violations`; bad input exits 2 naming the file
//! and leaves the output directory as it was.
//!
//! Go is required: without it these tests fail and say how to install it.

mod common;

use livecheck::codegen::vectors::{self, RandomParams, Vector};
use livecheck::policy::Policy;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    common::fresh_dir("codegen_go", name)
}

fn shipped_policies() -> Vec<PathBuf> {
    common::shipped_policy_files()
}

/// Policies that take the template branches no shipped policy takes: the
/// settle window from the end of the cycle, "declare" while settling, the
/// recheck guard without v3's other knobs, the running flag trusted with a
/// heartbeat rule, a re-probe with no settle window, three strikes, a poll
/// that does not divide the wait; and v3's knobs in other company: waiting
/// for the agent with the window from the cycle's end, the detector exempt
/// from the debounce with no recheck (so its requests coalesce into running
/// cycles), re-probing always with an enqueue rule.
const SYNTHETIC: [(&str, &str); 4] = [
    (
        "finished-declare-recheck",
        r#"summary = "synthetic: settle from the cycle end, declare while settling, recheck"
[probe]
on_error = "assume_alive"
[heartbeat]
recent_window = "10s"
on_recent = "strike"
[strikes]
threshold = 2
window = "20s"
[settle]
window = "25s"
measured_from = "restart_finished"
on_not_running = "declare"
[reprobe]
delay = "750ms"
[guard]
recheck_restarting_before_declare = true
[restart]
debounce = "45s"
file_write_drop = "10s"
"#,
    ),
    (
        "running-flag-enqueue",
        r#"summary = "synthetic: trust the running flag, enqueue on a recent heartbeat"
[probe]
on_error = "use_running_flag"
[heartbeat]
recent_window = "5s"
on_recent = "enqueue"
[reprobe]
delay = "300ms"
[restart]
debounce = "20s"
file_write_drop = "7s"
"#,
    ),
    (
        "settle-strikes-3",
        r#"summary = "synthetic: settle window only, uneven fresh-wait poll, three strikes"
[probe]
on_error = "use_running_flag"
[strikes]
threshold = 3
window = "40s"
[settle]
window = "35s"
measured_from = "restart_started"
fresh_heartbeat_wait = "1700ms"
fresh_heartbeat_poll = "400ms"
on_not_running = "strike"
[guard]
recheck_restarting_before_declare = true
[restart]
debounce = "60s"
file_write_drop = "15s"
"#,
    ),
    (
        "always-agent-bypass",
        r#"summary = "synthetic: re-probe always, wait for the agent from the cycle end, detector not debounced, no recheck"
[probe]
on_error = "use_running_flag"
[heartbeat]
recent_window = "8s"
on_recent = "enqueue"
[settle]
window = "20s"
measured_from = "restart_finished"
fresh_heartbeat_wait = "1500ms"
fresh_heartbeat_poll = "600ms"
on_not_running = "wait_for_agent"
[reprobe]
delay = "400ms"
always = true
[restart]
debounce = "30s"
file_write_drop = "10s"
detector_bypasses_debounce = true
"#,
    ),
];

/// Writes the synthetic policies into `test`'s own directory (tests run in
/// parallel; none reads a file another is writing).
fn synthetic_policies(test: &str) -> Vec<PathBuf> {
    let dir = common::scratch_dir("codegen_go", &format!("synthetic-policies/{test}"));
    SYNTHETIC
        .iter()
        .map(|(name, text)| {
            let p = dir.join(format!("{name}.toml"));
            fs::write(&p, text).expect("write synthetic policy");
            p
        })
        .collect()
}

fn livecheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .args(args)
        .output()
        .expect("run livecheck")
}

/// `go`, with caches under target/ and nothing downloaded. Fails the test,
/// saying how to install Go, when it is missing.
fn go(dir: &Path, args: &[&str]) -> Output {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| match Command::new("go").arg("version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "the Go conformance tests need the Go toolchain (`go` on PATH). \
                 Install it: `apt-get install golang-go` (Debian/Ubuntu; .ci/run does this in CI)"
        ),
    });
    let cache = common::scratch_dir("codegen_go", "go");
    Command::new("go")
        .args(args)
        .current_dir(dir)
        .env("GOCACHE", cache.join("gocache"))
        .env("GOPATH", cache.join("gopath"))
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GO111MODULE", "on")
        .env("GOTELEMETRY", "off")
        .output()
        .expect("run go")
}

fn gofmt_list(dir: &Path) -> Output {
    let gofmt = Command::new("gofmt")
        .arg("-l")
        .arg(".")
        .current_dir(dir)
        .output();
    match gofmt {
        Ok(o) => o,
        // Not on PATH: use the one in the Go installation ($GOROOT/bin).
        Err(_) => {
            let goroot = go(dir, &["env", "GOROOT"]);
            let bin = PathBuf::from(String::from_utf8_lossy(&goroot.stdout).trim())
                .join("bin")
                .join("gofmt");
            Command::new(bin)
                .arg("-l")
                .arg(".")
                .current_dir(dir)
                .output()
                .expect("run gofmt")
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Generates the package of `policy` into `dir` (violations allowed: the
/// shipped upstream policies have them) and adds a go.mod so it can be
/// tested on its own.
fn generate(policy: &Path, dir: &Path) {
    let out = livecheck(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        policy.to_str().expect("utf-8 path"),
        "--out",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "codegen failed: {}", text(&out));
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("generated dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "liveness.go",
            "liveness_test.go",
            "tracker.go",
            "tracker_test.go",
            "vectors.json"
        ]
    );
    fs::write(
        dir.join("go.mod"),
        "module example.com/liveness\n\ngo 1.19\n",
    )
    .expect("go.mod");
}

#[test]
#[ignore = "full tier: scripts/test-all runs it (cargo test -- --include-ignored)"]
fn generated_go_is_gofmt_and_vet_clean_and_passes_its_vectors() {
    let base = scratch("all-policies");
    for policy in shipped_policies()
        .into_iter()
        .chain(synthetic_policies("all-policies"))
    {
        let name = policy
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let dir = base.join(&name);
        generate(&policy, &dir);
        let fmt = gofmt_list(&dir);
        assert!(
            fmt.status.success() && fmt.stdout.is_empty(),
            "{name}: gofmt -l lists files: {}",
            text(&fmt)
        );
        let vet = go(&dir, &["vet", "."]);
        assert!(vet.status.success(), "{name}: go vet: {}", text(&vet));
        let test = go(&dir, &["test", "-race", "-count=1", "-timeout=600s", "."]);
        assert!(
            test.status.success(),
            "{name}: go test -race: {}",
            text(&test)
        );
        let go_src = fs::read_to_string(dir.join("liveness.go")).expect("liveness.go");
        assert!(
            go_src.contains(&format!("const PolicyName = \"{name}\"")),
            "{name}: PolicyName"
        );
        assert!(
            !go_src.contains("{{"),
            "{name}: a template directive or placeholder was left in"
        );
    }
}

/// A mutant: replace the `nth` occurrence of `from` with `to`.
struct Mutant {
    what: &'static str,
    from: String,
    to: String,
    nth: usize,
}

fn mutants(go_src: &str) -> Vec<Mutant> {
    let mut v = Vec::new();
    // (what, from, to, present only when the source holds this).
    let sites: [(&str, &str, &str, &str); 35] = [
        (
            "recent window <= to <",
            "elapsed(now, ws.LastHeartbeat.At) <= RecentWindow",
            "elapsed(now, ws.LastHeartbeat.At) < RecentWindow",
            "RecentWindow",
        ),
        (
            "settle window < to <=",
            "elapsed(now, stamp.At) < SettleWindow",
            "elapsed(now, stamp.At) <= SettleWindow",
            "SettleWindow",
        ),
        (
            "strike window <= to <",
            "elapsed(now, rec.First) <= StrikeWindow",
            "elapsed(now, rec.First) < StrikeWindow",
            "StrikeWindow",
        ),
        (
            "strike threshold >= to >",
            "rec.Count >= StrikeThreshold",
            "rec.Count > StrikeThreshold",
            "StrikeThreshold",
        ),
        (
            "debounce < to <=",
            "elapsed(now, c.startedAt.At) < Debounce",
            "elapsed(now, c.startedAt.At) <= Debounce",
            "Debounce",
        ),
        (
            "file-write drop < to <=",
            "elapsed(now, c.lastFileWrite.At) < FileWriteDrop",
            "elapsed(now, c.lastFileWrite.At) <= FileWriteDrop",
            "FileWriteDrop",
        ),
        (
            "fresh heartbeat > to >=",
            "ws.LastHeartbeat.At > d.since",
            "ws.LastHeartbeat.At >= d.since",
            "FreshWait",
        ),
        (
            "fresh-wait deadline < to <=",
            "if now < d.deadline {",
            "if now <= d.deadline {",
            "FreshWait",
        ),
        (
            "re-probe decision !second to second",
            "if !d.second",
            "if d.second",
            "ReprobeDelay",
        ),
        // reprobe.always: re-probe only for a reason again (the knob off).
        (
            "reprobe.always dropped",
            "if !d.second {",
            "if !d.second && (d.basis.recent || d.basis.fresh || d.basis.settling) {",
            "reprobe.always:",
        ),
        // settle.on_not_running = "wait_for_agent".
        (
            "wait_for_agent: !fresh to fresh",
            "if d.basis.settling && !d.basis.fresh {",
            "if d.basis.settling && d.basis.fresh {",
            "ReasonBooting})",
        ),
        (
            "wait_for_agent: settling to !settling",
            "if d.basis.settling && !d.basis.fresh {",
            "if !d.basis.settling && !d.basis.fresh {",
            "ReasonBooting})",
        ),
        (
            "wait_for_agent dropped",
            "if d.basis.settling && !d.basis.fresh {",
            "if false {",
            "ReasonBooting})",
        ),
        // guard.recheck_restarting_before_declare.
        (
            "recheck: restart moved != to ==",
            "ws.Restart.startedAt != d.basis.restartSeen",
            "ws.Restart.startedAt == d.basis.restartSeen",
            "restartSeen",
        ),
        (
            "recheck: only a running cycle (the knob's earlier meaning)",
            "if ws.Restart.running || ws.Restart.startedAt != d.basis.restartSeen {",
            "if ws.Restart.running {",
            "restartSeen",
        ),
        (
            "recheck: only a moved restart stamp",
            "if ws.Restart.running || ws.Restart.startedAt != d.basis.restartSeen {",
            "if ws.Restart.startedAt != d.basis.restartSeen {",
            "restartSeen",
        ),
        (
            "recheck: the stamp read at the start forgotten",
            "d.basis.restartSeen = ws.Restart.startedAt",
            "d.basis.restartSeen = Stamp{}",
            "restartSeen",
        ),
        // restart.detector_bypasses_debounce.
        (
            "detector bypass: != to ==",
            "if source != SourceDetector && ",
            "if source == SourceDetector && ",
            "source != SourceDetector",
        ),
        (
            "detector bypass dropped",
            "if source != SourceDetector && ",
            "if ",
            "source != SourceDetector",
        ),
        // The strike and the declaration are two sections.
        (
            "no yield: the strike declares in its own section",
            "return Step{Kind: StepYield}",
            "return d.declare(ws)",
            "phaseDeclaring\n",
        ),
        (
            "a running answer keeps the strike record",
            "ws.Strikes = StrikeRecord{}\n\t\treturn d.finish(Verdict{Outcome: NotDead, Reason: ReasonRunning})",
            "return d.finish(Verdict{Outcome: NotDead, Reason: ReasonRunning})",
            "StrikeThreshold",
        ),
        (
            "a declaration keeps the strike record",
            "ws.Strikes = StrikeRecord{}\n\tws.DeclareDead()",
            "ws.DeclareDead()",
            "StrikeThreshold",
        ),
        // What a declaration and the other events do to the row and Redis.
        (
            "a declaration marks a provisioning row offline",
            "if w.Status != StatusProvisioning {",
            "if true {",
            "",
        ),
        (
            "a declaration keeps the liveness key",
            "w.LivenessKey = Stamp{}",
            "_ = Stamp{}",
            "",
        ),
        (
            "a declaration keeps the URL cache",
            "w.URLCached = false",
            "w.URLCached = true",
            "",
        ),
        (
            "a heartbeat recreates the liveness key",
            "if w.LivenessKey.Valid {",
            "if true {",
            "",
        ),
        (
            "a heartbeat leaves the row's status",
            "w.Status = StatusOnline\n\tif w.LivenessKey.Valid {",
            "if w.LivenessKey.Valid {",
            "",
        ),
        (
            "a restart leaves the URL",
            "w.Status = StatusProvisioning\n\tw.URLRegistered = false",
            "w.Status = StatusProvisioning",
            "",
        ),
        // The coordinator's sections.
        (
            "file-write gate: the fired PUT is not stamped",
            "c.lastFileWrite = StampAt(now)\n\treturn true",
            "return true",
            "",
        ),
        (
            "coalesce: the request is not pending",
            "c.pending = true\n\tif c.running {",
            "if c.running {",
            "",
        ),
        (
            "loop top: later iterations not re-stamped",
            "if !c.first {",
            "if c.first {",
            "",
        ),
        (
            "loop top: runs without a pending request",
            "if !c.running || !c.pending {",
            "if !c.running {",
            "",
        ),
        (
            "exit: the loop's end not stamped",
            "c.first = false\n\t\tc.finishedAt = StampAt(now)\n\t}\n}",
            "c.first = false\n\t}\n}",
            "",
        ),
        (
            "RestartByIDNow: no first loop top",
            "w.Restart.LoopTop(now)\n\t\tw.MarkProvisioning()",
            "w.MarkProvisioning()",
            "",
        ),
        (
            "RestartByIDNow: the row not marked",
            "w.Restart.LoopTop(now)\n\t\tw.MarkProvisioning()",
            "w.Restart.LoopTop(now)",
            "",
        ),
    ];
    for (what, from, to, needs) in sites {
        if go_src.contains(needs) {
            assert_eq!(
                go_src.matches(from).count(),
                1,
                "mutation site {what:?} should occur once in the generated Go"
            );
            v.push(Mutant {
                what,
                from: from.into(),
                to: to.into(),
                nth: 0,
            });
        }
    }
    // The early-timer checks (`now < d.wake`), one per timer phase.
    for nth in 0..go_src.matches("if now < d.wake {").count() {
        v.push(Mutant {
            what: "early timer < to <=",
            from: "if now < d.wake {".into(),
            to: "if now <= d.wake {".into(),
            nth,
        });
    }
    // Every knob constant, one millisecond (or one strike) either side.
    for line in go_src.lines() {
        let Some((name, value)) = line.strip_prefix('\t').and_then(|l| l.split_once(" = ")) else {
            continue;
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let what: &'static str = Box::leak(format!("constant {name}").into_boxed_str());
        let tos: Vec<String> = if let Ok(n) = value.parse::<u64>() {
            [n + 1, n.saturating_sub(1)]
                .into_iter()
                .filter(|&to| to != n && !(name == "StrikeThreshold" && to == 0))
                .map(|to| to.to_string())
                .collect()
        } else if value.contains(" * time.") {
            vec![
                format!("{value} + time.Millisecond"),
                format!("{value} - time.Millisecond"),
            ]
        } else {
            continue;
        };
        for to in tos {
            v.push(Mutant {
                what,
                from: line.trim().to_owned(),
                to: format!("{name} = {to}"),
                nth: 0,
            });
        }
    }
    v
}

fn apply(src: &str, m: &Mutant) -> String {
    let (i, _) = src
        .match_indices(&m.from)
        .nth(m.nth)
        .unwrap_or_else(|| panic!("mutation site {:?} not found", m.from));
    format!("{}{}{}", &src[..i], m.to, &src[i + m.from.len()..])
}

#[test]
#[ignore = "full tier: scripts/test-all runs it (cargo test -- --include-ignored)"]
fn flipping_a_comparison_or_a_constant_makes_go_test_fail() {
    let base = scratch("mutants");
    // The shipped policies, and the synthetic one that takes v3's knobs in
    // other company (the detector's requests coalescing into running cycles).
    let synthetic = synthetic_policies("mutants")
        .into_iter()
        .filter(|p| p.ends_with("always-agent-bypass.toml"));
    for policy in shipped_policies().into_iter().chain(synthetic) {
        let name = policy
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let dir = base.join(&name);
        generate(&policy, &dir);
        let original = fs::read_to_string(dir.join("liveness.go")).expect("liveness.go");
        let ms = mutants(&original);
        if name == "v2-2950" {
            // The two the issue names, at least: the recent window's
            // comparison and a constant.
            assert!(ms.iter().any(|m| m.what == "recent window <= to <"));
            assert!(ms.iter().any(|m| m.what == "constant RecentWindow"));
            assert!(
                ms.iter()
                    .any(|m| m.what == "no yield: the strike declares in its own section"),
                "v2 strikes"
            );
            assert!(ms.len() >= 40, "{} mutants for v2", ms.len());
        }
        if name == "v3-proposed" {
            // Every knob v3 adds has its mutants.
            for what in [
                "reprobe.always dropped",
                "wait_for_agent dropped",
                "recheck: restart moved != to ==",
                "recheck: only a running cycle (the knob's earlier meaning)",
                "detector bypass dropped",
            ] {
                assert!(ms.iter().any(|m| m.what == what), "v3: no mutant {what:?}");
            }
        }
        let mut survivors = Vec::new();
        for m in &ms {
            let mutated = apply(&original, m);
            assert_ne!(mutated, original);
            fs::write(dir.join("liveness.go"), &mutated).expect("write mutant");
            let out = go(
                &dir,
                &[
                    "test",
                    "-count=1",
                    "-timeout=120s",
                    "-run",
                    "TestVectors|TestWorkspaceWrites",
                    ".",
                ],
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            if out.status.success() {
                survivors.push(format!("{} ({} -> {})", m.what, m.from, m.to));
            } else {
                assert!(
                    stdout.contains("disagree with livecheck's machine")
                        || stdout.contains("--- FAIL: TestWorkspaceWrites"),
                    "{name}: mutant {} failed for another reason: {}",
                    m.what,
                    text(&out)
                );
            }
        }
        fs::write(dir.join("liveness.go"), &original).expect("restore");
        assert!(
            survivors.is_empty(),
            "{name}: the vectors did not catch these mutants: {survivors:#?}"
        );
        println!("{name}: {} mutants, all killed", ms.len());
        let clean = go(
            &dir,
            &[
                "test",
                "-count=1",
                "-timeout=120s",
                "-run",
                "TestVectors",
                ".",
            ],
        );
        assert!(
            clean.status.success(),
            "{name}: restored package: {}",
            text(&clean)
        );
    }
}

#[test]
fn vectors_command_prints_the_package_vectors_json() {
    let base = scratch("vectors-cli");
    for policy in shipped_policies() {
        let name = policy
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let dir = base.join(&name);
        generate(&policy, &dir);
        let out = livecheck(&["vectors", "--policy", policy.to_str().expect("utf-8")]);
        assert!(out.status.success(), "{}", text(&out));
        let file = fs::read(dir.join("vectors.json")).expect("vectors.json");
        assert!(
            out.stdout == file,
            "{name}: `livecheck vectors` differs from vectors.json"
        );
        let parsed: vectors::VectorFile =
            serde_json::from_slice(&out.stdout).expect("vectors parse as VectorFile");
        assert_eq!(parsed.format, vectors::FORMAT);
        assert_eq!(parsed.policy, name);
    }
}

fn load(policy: &Path) -> Policy {
    Policy::load(policy).expect("policy loads")
}

/// Every vector in replay's vocabulary gives, through `livecheck replay`'s
/// library, exactly the results the vector expects.
#[test]
fn replay_gives_the_results_of_every_replay_vector() {
    for path in shipped_policies()
        .into_iter()
        .chain(synthetic_policies("replay"))
    {
        let policy = load(&path);
        let file = vectors::generate(&policy).expect("vectors");
        let mut checked = 0;
        for v in file.vectors.iter().filter(|v| v.replay) {
            let mut log = String::new();
            for ev in &v.events {
                log.push_str(&serde_json::to_string(ev).expect("event json"));
                log.push('\n');
            }
            let mut out = Vec::new();
            livecheck::replay::run(&policy, Path::new(&v.name), log.as_bytes(), &mut out)
                .unwrap_or_else(|e| {
                    panic!("{}: replay refused vector {}: {e}", policy.name, v.name)
                });
            let got: Vec<vectors::Finished> = String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .map(|l| serde_json::from_str(l).expect("replay line as a finished decision"))
                .collect();
            assert_eq!(got, v.results, "{}: vector {}", policy.name, v.name);
            checked += 1;
        }
        assert!(
            checked > 100,
            "{}: only {checked} replay vectors",
            policy.name
        );
    }
}

/// The shipped vectors exercise every transition and every boundary side
/// that a random search four times the size, with another seed, exercises;
/// and every boundary side on both sides.
#[test]
fn vectors_reach_all_that_a_wider_search_reaches() {
    for path in shipped_policies()
        .into_iter()
        .chain(synthetic_policies("wider"))
    {
        let policy = load(&path);
        let shipped = vectors::generate(&policy).expect("vectors");
        let reference: Vec<Vector> = vectors::generate_random(
            &policy,
            RandomParams {
                seed: 0xDEC1_510E,
                count: 600,
                min_events: 40,
                max_events: 200,
            },
        )
        .expect("reference vectors");
        let wide = vectors::coverage(&policy, &reference).expect("coverage");
        let have: BTreeSet<&String> = shipped.coverage.transitions.keys().collect();
        let missing: Vec<&String> = wide
            .transitions
            .keys()
            .filter(|t| !have.contains(t))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: the wider search reaches transitions the shipped vectors miss: {missing:#?}",
            policy.name
        );
        for (name, b) in &shipped.coverage.boundaries {
            assert!(
                b.inside > 0 && b.outside > 0,
                "{}: boundary {name} ({}) not exercised on both sides: {b:?}",
                policy.name,
                b.compares
            );
        }
        let all = shipped.coverage.sets.last().expect("all");
        assert_eq!(all.set, "all");
        assert_eq!(all.boundary_sides, all.boundary_sides_total);
        assert_eq!(all.vectors, shipped.vectors.len());
    }
}

#[test]
fn vectors_are_deterministic_and_self_consistent() {
    for path in shipped_policies() {
        let policy = load(&path);
        let a = vectors::to_json(&vectors::generate(&policy).expect("a")).expect("json a");
        let b = vectors::to_json(&vectors::generate(&policy).expect("b")).expect("json b");
        assert!(a == b, "{}: two generations differ", policy.name);
        let file: vectors::VectorFile = serde_json::from_str(&a).expect("parse");
        let mut names = BTreeSet::new();
        let mut sets = BTreeSet::new();
        for v in &file.vectors {
            assert!(names.insert(&v.name), "duplicate vector name {}", v.name);
            sets.insert(v.set.as_str());
            let exp = vectors::run(&policy, &v.events, v.timer_delay_ms)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(exp.steps, v.steps, "{}", v.name);
            assert_eq!(exp.results, v.results, "{}", v.name);
            assert_eq!(exp.final_state, v.final_state, "{}", v.name);
            assert!(
                v.events.windows(2).all(|w| w[0].t_ms <= w[1].t_ms),
                "{}: time goes backwards",
                v.name
            );
        }
        assert_eq!(
            sets,
            BTreeSet::from(["boundary", "exhaustive", "random", "scenario"]),
            "{}",
            policy.name
        );
    }
}

/// Lists `dir`'s entries with their contents, to show nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .expect("snapshot dir")
        .map(|e| {
            let e = e.expect("entry");
            let content = fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), content)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn bad_input_exits_2_naming_the_file_and_leaves_the_output_alone() {
    let base = scratch("bad-input");
    let v2 = root().join("models/policies/v2-2950.toml");
    let out_dir = base.join("pkg");
    // A good package first: every failure below must leave it as it is.
    let ok = livecheck(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        v2.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    let before = snapshot(&out_dir);
    let run = |args: &[&str]| {
        let o = livecheck(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(o.stdout.is_empty(), "{args:?}: wrote to stdout");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let out_s = out_dir.to_str().unwrap();

    let missing = base.join("no-such-policy.toml");
    let missing_s = missing.to_str().unwrap();
    let e = run(&["codegen", "go", "--policy", missing_s, "--out", out_s]);
    assert!(
        e.contains(missing_s) && e.contains("cannot read policy file"),
        "{e}"
    );
    let e = run(&["vectors", "--policy", missing_s]);
    assert!(e.contains(missing_s), "{e}");

    let malformed = base.join("malformed.toml");
    fs::write(
        &malformed,
        "[probe]\non_error = \"assume_alive\"\n[restart\ndebounce = \"60s\"\n",
    )
    .unwrap();
    let malformed_s = malformed.to_str().unwrap();
    let e = run(&["codegen", "go", "--policy", malformed_s, "--out", out_s]);
    assert!(
        e.contains(&format!("{malformed_s}:3")),
        "names file and line: {e}"
    );
    let e = run(&["vectors", "--policy", malformed_s]);
    assert!(e.contains(&format!("{malformed_s}:3")), "{e}");

    let invalid = base.join("invalid.toml");
    let v2_text = fs::read_to_string(&v2).unwrap();
    fs::write(&invalid, v2_text.replace("threshold = 2", "threshold = 0")).unwrap();
    let e = run(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        invalid.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    assert!(
        e.contains("strikes.threshold") && e.contains("invalid.toml"),
        "{e}"
    );

    // A knob Go cannot express (a duration beyond int64 milliseconds) is
    // refused when the policy loads: the tool-wide limit of 365 days
    // (src/limits.rs) is far below Go's 2^62 ms.
    let huge = base.join("huge.toml");
    fs::write(
        &huge,
        v2_text.replace("debounce = \"60s\"", "debounce = \"3000000000000h\""),
    )
    .unwrap();
    let e = run(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        huge.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    assert!(
        e.contains("huge.toml") && e.contains("restart.debounce") && e.contains("at most 8760h"),
        "names the knob: {e}"
    );

    for bad in ["main", "func", "9lives", "live-ness", ""] {
        let e = run(&[
            "codegen",
            "go",
            "--allow-violations",
            "--policy",
            v2.to_str().unwrap(),
            "--package",
            bad,
            "--out",
            out_s,
        ]);
        assert!(e.contains("--package"), "{bad:?}: {e}");
    }

    // An output path that is a file, or a directory holding other files.
    let file_out = base.join("a-file");
    fs::write(&file_out, "keep me").unwrap();
    let e = run(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        v2.to_str().unwrap(),
        "--out",
        file_out.to_str().unwrap(),
    ]);
    assert!(e.contains("not a directory"), "{e}");
    assert_eq!(fs::read_to_string(&file_out).unwrap(), "keep me");
    let foreign = base.join("foreign");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("proxy.go"), "package proxy\n").unwrap();
    let e = run(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        v2.to_str().unwrap(),
        "--out",
        foreign.to_str().unwrap(),
    ]);
    assert!(e.contains("proxy.go") && e.contains("refusing"), "{e}");
    assert_eq!(
        fs::read_to_string(foreign.join("proxy.go")).unwrap(),
        "package proxy\n"
    );

    assert!(
        snapshot(&out_dir) == before,
        "a failed run changed the package"
    );
    let leftovers: Vec<String> = fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".livecheck-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary directories left: {leftovers:?}"
    );
}

#[test]
fn regenerating_replaces_the_package_in_one_piece() {
    let base = scratch("regenerate");
    let out_dir = base.join("pkg");
    let out_s = out_dir.to_str().unwrap();
    let v1 = root().join("models/policies/v1-2931.toml");
    let v2 = root().join("models/policies/v2-2950.toml");
    let a = livecheck(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        v1.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    assert!(a.status.success(), "{}", text(&a));
    assert!(fs::read_to_string(out_dir.join("liveness.go"))
        .unwrap()
        .contains("\"v1-2931\""));
    let b = livecheck(&[
        "codegen",
        "go",
        "--allow-violations",
        "--policy",
        v2.to_str().unwrap(),
        "--package",
        "proxyliveness",
        "--out",
        out_s,
    ]);
    assert!(b.status.success(), "{}", text(&b));
    let go_src = fs::read_to_string(out_dir.join("liveness.go")).unwrap();
    assert!(go_src.contains("\"v2-2950\"") && go_src.contains("package proxyliveness"));
    let test_src = fs::read_to_string(out_dir.join("liveness_test.go")).unwrap();
    assert!(test_src.contains("package proxyliveness"));
    let json = fs::read_to_string(out_dir.join("vectors.json")).unwrap();
    assert!(json.contains("\"policy\": \"v2-2950\""));
    let names: Vec<String> = fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["pkg"], "only the package is left beside it");
}

/// `sha256sum FILE`'s hash.
fn sha256_of(file: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("run sha256sum (coreutils)");
    assert!(out.status.success(), "sha256sum: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a hash")
        .to_owned()
}

/// A policy with a violated recorded property is refused without
/// `--allow-violations` (exit 2, naming the proof files and the properties)
/// and generated with it, its header saying what is violated; a policy whose
/// recorded properties hold is generated as is; one with no recorded proof
/// says so. Every header carries the policy file's SHA-256.
#[test]
fn recorded_violations_are_refused_unless_allowed_and_stated_in_the_header() {
    let base = scratch("proofs");
    let proofs_dir = root().join("proofs");
    for policy in shipped_policies() {
        let name = policy.file_stem().unwrap().to_string_lossy().into_owned();
        let recorded = livecheck::codegen::proofs::find(&name, std::slice::from_ref(&proofs_dir))
            .expect("recorded proofs parse");
        assert!(
            !recorded.is_empty(),
            "{name}: the shipped policies have proofs"
        );
        let violated: BTreeSet<&str> = recorded.iter().flat_map(|r| r.violated()).collect();
        let out_dir = base.join(&name);
        let plain = livecheck(&[
            "codegen",
            "go",
            "--policy",
            policy.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        if violated.is_empty() {
            assert!(plain.status.success(), "{name}: {}", text(&plain));
        } else {
            assert_eq!(plain.status.code(), Some(2), "{name}: {}", text(&plain));
            let err = String::from_utf8_lossy(&plain.stderr);
            assert!(
                err.contains("refusing") && err.contains("--allow-violations"),
                "{name}: {err}"
            );
            for p in &violated {
                assert!(err.contains(p), "{name}: the refusal names {p}: {err}");
            }
            for r in &recorded {
                if !r.violated().is_empty() {
                    let f = r.file.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(err.contains(&f), "{name}: names {f}: {err}");
                }
            }
            assert!(
                !out_dir.exists(),
                "{name}: a refused policy wrote its package"
            );
            generate(&policy, &out_dir);
        }
        let src = fs::read_to_string(out_dir.join("liveness.go")).unwrap();
        let sha = sha256_of(&policy);
        assert!(
            src.contains(&format!("const PolicySHA256 = \"{sha}\"")) && src.contains(&sha),
            "{name}: the header carries the policy's SHA-256"
        );
        // The header's prose is wrapped at 78 columns: compare its words.
        let words = src
            .lines()
            .take_while(|l| !l.starts_with("package "))
            .map(|l| l.trim_start_matches("//").trim())
            .collect::<Vec<_>>()
            .join(" ");
        for r in &recorded {
            assert!(
                words.contains(&format!("In {}", r.environment)),
                "{name}: {words}"
            );
        }
        if violated.is_empty() {
            assert!(words.contains("every property holds"), "{name}: {words}");
            assert!(!words.contains("--allow-violations"), "{name}");
        } else {
            assert!(words.contains("VIOLATED:"), "{name}: {words}");
            for p in &violated {
                assert!(words.contains(p), "{name}: the header names {p}");
            }
            assert!(
                words.contains("Generated with --allow-violations"),
                "{name}"
            );
        }
    }
    // No recorded proof: said, and generated without the flag.
    let synthetic = synthetic_policies("proofs");
    let first = &synthetic[0];
    let sname = first.file_stem().unwrap().to_string_lossy().into_owned();
    let out_dir = base.join("synthetic");
    let o = livecheck(&[
        "codegen",
        "go",
        "--policy",
        first.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let src = fs::read_to_string(out_dir.join("liveness.go")).unwrap();
    assert!(
        src.contains(&format!("// No recorded proof for policy {sname}")),
        "{src}"
    );
    // --proofs names the directory: a recorded violation there is refused,
    // a recorded hold generates.
    let pdir = base.join("my-proofs");
    fs::create_dir_all(&pdir).unwrap();
    // The proof records the hash of the policy file it was computed from.
    let sha = livecheck::sha256::hex(&fs::read(first).unwrap());
    let proof = |verdict: &str| {
        format!(
            r#"{{"policy": "{sname}", "environment": "lab", "complete": true,
                "policy_sha256": "{sha}",
                "properties": [{{"name": "no_false_dead", "verdict": "{verdict}"}}]}}"#
        )
    };
    let with_proofs = |dir: &Path| {
        livecheck(&[
            "codegen",
            "go",
            "--proofs",
            pdir.to_str().unwrap(),
            "--policy",
            first.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
    };
    fs::write(pdir.join(format!("{sname}.lab.json")), proof("violated")).unwrap();
    let o = with_proofs(&base.join("refused"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no_false_dead"));
    fs::write(pdir.join(format!("{sname}.lab.json")), proof("holds")).unwrap();
    let ok_dir = base.join("accepted");
    let o = with_proofs(&ok_dir);
    assert!(o.status.success(), "{}", text(&o));
    let src = fs::read_to_string(ok_dir.join("liveness.go")).unwrap();
    assert!(src.contains("// In lab: every property holds."), "{src}");
    // A malformed proof file is an error naming it.
    fs::write(pdir.join(format!("{sname}.lab.json")), "{").unwrap();
    let o = with_proofs(&base.join("malformed"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{sname}.lab.json")));
}
