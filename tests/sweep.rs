//! `livecheck sweep` / `sweep-merge` (issue 6): every bad input exits 2
//! naming the key and the reason before any point runs; a small sweep's
//! verdicts equal direct `check_pair` runs on hand-edited files; shards
//! merged equal the unsharded sweep; merging shards of different sweeps,
//! a missing or a doubled shard is refused; the plot is a valid SVG with one
//! panel per property (and a PNG when asked).
//!
//! The sweeps use `v0-pre-2931` × `docker` (about 0.1 s a point in release).
//! The plot tests need a TrueType font (Debian: `apt-get install
//! fonts-dejavu-core`, or set `LIVECHECK_FONT`); without one they fail
//! saying so.

use livecheck::check::{check_pair, CheckOptions};
use livecheck::environment::Environment;
use livecheck::model::properties::CONTRACT;
use livecheck::policy::Policy;
use livecheck::sweep::output::{PointResult, Status, SweepOutput};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    common::fresh_dir("sweep", name)
}

const V0: &str = "models/policies/v0-pre-2931.toml";
const V1: &str = "models/policies/v1-2931.toml";

/// A small docker world for sweeps, written under `target/` from the
/// shipped `docker.toml`: a 1 s tick (so 1 s sweep steps are valid), crashes
/// that `IsRunning` sees (`crash_reads = "not_running"`, no `unless-stopped`
/// restart), no health sweep, no TTL monitor, no manual restarts and a 5 s
/// `cycle_max`: about a thousand states a point, and a detection bound the
/// sweep crosses (v0 detects within 12 s here).
fn docker() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = common::scratch_dir("sweep", "world").join("docker.toml");
        common::docker_with(&common::small_sweep_edits(), &path);
        path.to_string_lossy().into_owned()
    })
}

/// The small sweep most tests use: 3 detection bounds × 2 minimum cycle
/// lengths; `cycle_min = 6s` is longer than docker's `cycle_max = 5s`, so
/// those three points are invalid.
const SMALL: [&str; 4] = [
    "--vary",
    "env.check.detection_bound=5s..15s/5s",
    "--vary",
    "env.restart.cycle_min=4s..6s/2s",
];

fn livecheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run the livecheck binary")
}

fn sweep(extra: &[&str]) -> Output {
    let mut args = vec!["sweep", V0, "--env", docker(), "--threads", "2"];
    args.extend_from_slice(&SMALL);
    args.extend_from_slice(extra);
    livecheck(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> SweepOutput {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("sweep --format json prints a sweep output")
}

/// Points without the machine-dependent wall time.
fn timeless(points: &[PointResult]) -> Vec<PointResult> {
    points
        .iter()
        .map(|p| PointResult {
            elapsed_ms: 0,
            ..p.clone()
        })
        .collect()
}

/// Asserts exit 2, nothing on stdout, and every fragment on stderr.
fn refused(o: &Output, fragments: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2; stderr: {err}");
    assert!(
        o.stdout.is_empty(),
        "stdout not empty: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    for f in fragments {
        assert!(err.contains(f), "stderr lacks {f:?}: {err}");
    }
}

#[test]
fn bad_keys_and_ranges_exit_2_naming_key_and_reason() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--vary", "policy.settle.window=10s..60s/10s"],
            &[
                "policy.settle.window",
                "unknown key",
                // v0 has no [settle]: the list shows what there is.
                "policy.restart.debounce",
                "env.boot.not_running_max",
                "env.check.detection_bound",
            ],
        ),
        (
            &["--vary", "env.bogus=1s..2s/1s"],
            &["env.bogus", "unknown key", "env.restart.cycle_max"],
        ),
        (
            &["--vary", "policy.probe.on_error=1..2/1"],
            &["policy.probe.on_error", "not a duration or an integer"],
        ),
        (
            &["--vary", "env.boot.not_running_max="],
            &["env.boot.not_running_max", "empty range"],
        ),
        (
            &["--vary", "env.boot.not_running_max=..5s/1s"],
            &["env.boot.not_running_max", "empty range"],
        ),
        (
            &["--vary", "env.boot.not_running_max=5s..1s/1s"],
            &["env.boot.not_running_max", "inverted range"],
        ),
        (
            &["--vary", "env.boot.not_running_max=1s..5s/0s"],
            &["env.boot.not_running_max", "zero step"],
        ),
        (
            &["--vary", "env.boot.not_running_max=1s..5s/-1s"],
            &["env.boot.not_running_max", "negative step"],
        ),
        (
            &["--vary", "env.boot.not_running_max=1s..5s"],
            &["env.boot.not_running_max", "no step"],
        ),
        (
            &["--vary", "env.boot.not_running_max=1..5/1"],
            &["env.boot.not_running_max", "no unit"],
        ),
        (
            &["--vary", "env.boot.not_running_max=1s..6s/2s"],
            &["env.boot.not_running_max", "last point would be 5s"],
        ),
        (
            &["--vary", "env.probe.transport_errors=0s..1s/1s"],
            &["env.probe.transport_errors", "not an integer"],
        ),
        (
            &["--vary", "env.boot.not_running_max"],
            &["no '='", "KEY=FROM..TO/STEP"],
        ),
        (
            &[
                "--vary",
                "env.boot.not_running_max=1s..2s/1s",
                "--vary",
                "env.pending_max=1s..2s/1s",
            ],
            &["env.boot.not_running_max", "varied twice"],
        ),
        (
            &[
                "--vary",
                "env.restart.cycle_max=1ms..1000ms/1ms",
                "--vary",
                "env.boot.first_heartbeat_max=1ms..101ms/1ms",
            ],
            &["101000 points", "--yes"],
        ),
        (
            &[
                "--vary",
                "env.boot.not_running_max=1s..2s/1s",
                "--shard",
                "3/2",
            ],
            &["--shard", "between 1 and N"],
        ),
        (
            &[
                "--vary",
                "env.boot.not_running_max=1s..2s/1s",
                "--shard",
                "1",
            ],
            &["--shard", "I/N"],
        ),
        (
            &[
                "--vary",
                "env.boot.not_running_max=1s..2s/1s",
                "--threads",
                "0",
            ],
            &["--threads must be at least 1"],
        ),
        (
            &[
                "--vary",
                "env.boot.not_running_max=1s..2s/1s",
                "--plot",
                "x.txt",
            ],
            &["--plot", ".svg or .png"],
        ),
        (
            &[
                "--vary",
                "env.boot.not_running_max=1s..2s/1s",
                "--vary",
                "env.restart.cycle_max=5s..6s/1s",
                "--vary",
                "env.requests.interval=5s..6s/1s",
                "--plot",
                "x.svg",
            ],
            &["--plot", "one or two varied keys", "varies 3"],
        ),
    ];
    for (extra, fragments) in cases {
        let mut args = vec!["sweep", V0, "--env", docker()];
        args.extend_from_slice(extra);
        let o = livecheck(&args);
        refused(&o, fragments);
    }
    // No --vary at all: clap's usage error, also exit 2.
    let o = livecheck(&["sweep", V0, "--env", docker()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--vary"), "{}", stderr(&o));
    // A broken base file names its file.
    let o = livecheck(&[
        "sweep",
        "models/policies/nope.toml",
        "--env",
        docker(),
        "--vary",
        "env.boot.not_running_max=1s..2s/1s",
    ]);
    refused(&o, &["nope.toml", "cannot read policy file"]);
}

#[test]
fn friendly_aliases_resolve_to_the_toml_keys() {
    // `--vary env.pending_max` is `env.boot.not_running_max`, and
    // `policy.strikes_threshold` is `policy.strikes.threshold`.
    let o = livecheck(&[
        "sweep",
        V1,
        "--env",
        docker(),
        "--vary",
        "env.pending_max=1s..1s/1s",
        "--vary",
        "policy.strikes_threshold=1..1/1",
        "--format",
        "json",
        "--max-states",
        "1000",
    ]);
    let out = json_of(&o);
    let keys: Vec<&str> = out.sweep.vary.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        keys,
        ["env.boot.not_running_max", "policy.strikes.threshold"]
    );
    // Bounded by --max-states: nothing may be claimed to hold that needs a
    // complete search.
    let p = &out.points[0];
    assert_eq!(p.complete, Some(false));
    assert_eq!(p.stopped_by.as_deref(), Some("max-states"));
    assert!(
        p.properties.iter().all(|v| v.verdict != "holds"
            || ["reachable_dead", "reachable_recovery"].contains(&v.name.as_str())),
        "{p:?}"
    );
}

/// The small sweep's verdicts, point by point, equal `check_pair` on
/// environment texts edited by hand (not through the sweep's TOML rewrite).
#[test]
fn verdicts_equal_direct_check_pair_runs() {
    let out = json_of(&sweep(&["--format", "json"]));
    assert_eq!(out.sweep.points, 6);
    assert_eq!(out.points.len(), 6);
    let policy = Policy::load(&root().join(V0)).expect("v0 loads");
    let env_text = fs::read_to_string(docker()).expect("docker.toml");
    assert!(env_text.contains("detection_bound = \"20s\""));
    assert!(env_text.contains("cycle_min = \"2s\""));
    assert!(env_text.contains("tick = \"1s\""));
    let mut seen_violated = false;
    let mut seen_holds = false;
    for (i, p) in out.points.iter().enumerate() {
        assert_eq!(p.index, i);
        let bound = p.values["env.check.detection_bound"];
        let cycle_min = p.values["env.restart.cycle_min"];
        // First key slowest: 5s,5s,10s,10s,15s,15s × 4s,6s,4s,…
        assert_eq!(bound, 5_000 * (1 + i as i64 / 2));
        assert_eq!(cycle_min, if i % 2 == 0 { 4_000 } else { 6_000 });
        let text = env_text
            .replace(
                "detection_bound = \"20s\"",
                &format!("detection_bound = \"{}ms\"", bound),
            )
            .replace(
                "cycle_min = \"2s\"",
                &format!("cycle_min = \"{}ms\"", cycle_min),
            );
        match Environment::parse("docker", Path::new(docker()), &text) {
            Err(e) => {
                assert_eq!(p.status, Status::Invalid, "point {i}: {p:?}");
                let reason = p.reason.as_deref().unwrap_or("");
                assert!(reason.contains("env.restart.cycle_min"), "{reason}");
                assert!(reason.contains(&e.reason), "{reason} vs {e}");
                assert!(p.properties.is_empty());
            }
            Ok(env) => {
                assert_eq!(p.status, Status::Checked, "point {i}: {p:?}");
                let direct = check_pair(&policy, &env, &CheckOptions::default());
                assert_eq!(p.complete, Some(direct.complete));
                assert_eq!(p.unique_states, Some(direct.unique_states));
                let names: Vec<&str> = p.properties.iter().map(|v| v.name.as_str()).collect();
                assert_eq!(names, CONTRACT);
                for d in &direct.properties {
                    assert_eq!(
                        p.verdict(d.name),
                        Some(d.verdict.word()),
                        "point {i} {}",
                        d.name
                    );
                    if d.name == "dead_detected_within" {
                        assert_eq!(p.worst_case_ms, d.worst_case_ms, "point {i}");
                        match d.verdict.word() {
                            "violated" => seen_violated = true,
                            "holds" => seen_holds = true,
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    // The grid crosses the detection bound: both outcomes occur, so the
    // comparison above covered a verdict change.
    assert!(seen_violated && seen_holds, "{out:?}");
}

/// Threads with no point left to start are lent to the points still
/// running (`check::Lender`); a search's results do not depend on its
/// threads, so the sweep's points are the same on 1 thread and on 5 (whose
/// workers meet the grid's 3 invalid points, end them at once and lend
/// their threads to the 3 checks).
#[test]
fn lent_threads_change_no_point() {
    let run = |threads: &str| {
        let mut args = vec!["sweep", V0, "--env", docker(), "--threads", threads];
        args.extend_from_slice(&SMALL);
        args.extend_from_slice(&["--format", "json"]);
        json_of(&livecheck(&args))
    };
    let (one, many) = (run("1"), run("5"));
    assert_eq!(one.points.len(), 6);
    assert_eq!(timeless(&one.points), timeless(&many.points));
}

#[test]
fn text_and_csv_show_every_point() {
    let o = sweep(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("env.check.detection_bound"), "{text}");
    assert_eq!(
        text.matches("invalid: env.restart.cycle_min").count(),
        3,
        "{text}"
    );
    assert!(text.contains("6 points: "), "{text}");
    // The summary line on stderr counts the points.
    assert!(stderr(&o).contains("points/s"), "{}", stderr(&o));

    let o = sweep(&["--format", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].starts_with(
        "index,env.check.detection_bound_ms,env.restart.cycle_min_ms,status,no_self_fire_on_lone_false"
    ));
    assert!(lines[1].starts_with("0,5000,4000,checked,"), "{}", lines[1]);
    assert!(lines[2].starts_with("1,5000,6000,invalid,"), "{}", lines[2]);
}

#[test]
fn shards_merged_equal_the_whole_sweep() {
    let dir = scratch("merge");
    let whole = json_of(&sweep(&["--format", "json"]));
    for n in [2usize, 4] {
        let mut files = Vec::new();
        for i in 1..=n {
            let o = sweep(&["--format", "json", "--shard", &format!("{i}/{n}")]);
            let part = json_of(&o);
            assert_eq!(part.shard.map(|s| (s.index, s.count)), Some((i, n)));
            let f = dir.join(format!("shard-{i}-of-{n}.json"));
            fs::write(&f, &o.stdout).expect("write shard");
            files.push(f);
        }
        // Merge in reverse order: order of the files does not matter.
        files.reverse();
        let mut args = vec!["sweep-merge".to_owned(), "--format".into(), "json".into()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let merged = json_of(&livecheck(&args));
        assert_eq!(merged.sweep, whole.sweep);
        assert_eq!(merged.shard, None);
        assert_eq!(
            timeless(&merged.points),
            timeless(&whole.points),
            "{n} shards"
        );
        assert_eq!(merged.runs.len(), n);
    }
}

#[test]
fn merge_refuses_mixed_missing_and_doubled_shards() {
    let dir = scratch("merge-bad");
    let write = |name: &str, o: Output| -> String {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let f = dir.join(name);
        fs::write(&f, &o.stdout).expect("write");
        f.display().to_string()
    };
    let a1 = write("a1.json", sweep(&["--format", "json", "--shard", "1/2"]));
    let a2 = write("a2.json", sweep(&["--format", "json", "--shard", "2/2"]));
    let a3 = write("a3.json", sweep(&["--format", "json", "--shard", "1/3"]));
    let other = write(
        "b2.json",
        livecheck(&[
            "sweep",
            V0,
            "--env",
            docker(),
            "--vary",
            "env.check.detection_bound=5s..10s/5s",
            "--vary",
            "env.restart.cycle_min=4s..6s/2s",
            "--format",
            "json",
            "--shard",
            "2/2",
        ]),
    );
    refused(
        &livecheck(&["sweep-merge", &a1, &other]),
        &[
            "different sweeps",
            "varied keys or ranges differ",
            "b2.json",
        ],
    );
    refused(&livecheck(&["sweep-merge", &a1]), &["missing shard(s) 2/2"]);
    refused(
        &livecheck(&["sweep-merge", &a1, &a1, &a2]),
        &["given twice"],
    );
    refused(
        &livecheck(&["sweep-merge", &a1, &a3]),
        &["different splits"],
    );
    let junk = dir.join("junk.json");
    fs::write(&junk, "{\"results\": []}").expect("write");
    refused(
        &livecheck(&["sweep-merge", &junk.display().to_string()]),
        &["junk.json", "not a `livecheck sweep --format json` output"],
    );
    // A shard whose points were tampered with.
    let mut part: SweepOutput = serde_json::from_str(&fs::read_to_string(&a2).unwrap()).unwrap();
    part.points.pop();
    let cut = dir.join("cut.json");
    fs::write(&cut, serde_json::to_string(&part).unwrap()).unwrap();
    refused(
        &livecheck(&["sweep-merge", &a1, &cut.display().to_string()]),
        &["should hold points", "cut.json"],
    );
    // And the good pair merges.
    let o = livecheck(&["sweep-merge", &a1, &a2]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn font_hint(o: &Output) -> String {
    format!(
        "stderr: {} (the plot needs a TrueType font: apt-get install fonts-dejavu-core, or set LIVECHECK_FONT)",
        stderr(o)
    )
}

#[test]
fn plot_is_an_svg_with_one_panel_per_property() {
    let dir = scratch("plot");
    let svg = dir.join("small.svg");
    let o = sweep(&["--plot", &svg.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", font_hint(&o));
    let text = fs::read_to_string(&svg).expect("the plot file exists");
    let doc = roxmltree::Document::parse(&text).expect("the plot is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect();
    for name in CONTRACT {
        let captions = texts
            .iter()
            .filter(|t| t.starts_with(&format!("{name} (")))
            .count();
        assert_eq!(captions, 1, "panel caption of {name}: {texts:?}");
    }
    // Every panel labels both axes with the varied keys.
    for key in ["env.check.detection_bound", "env.restart.cycle_min"] {
        assert_eq!(
            texts.iter().filter(|t| t.as_str() == key).count(),
            CONTRACT.len(),
            "{key}"
        );
    }
    // Each of the 7 panels has 6 cells; invalid ones say so.
    assert_eq!(
        texts.iter().filter(|t| t.as_str() == "invalid").count(),
        3 * CONTRACT.len()
    );
    // The detection panel shows the worst case where it holds (v0 in the
    // sweep world: 12s at bound 15s, also the legend's latency scale, one
    // value here) and "✗ ≥" the latency over the bound where it is violated
    // (bounds 5s and 10s); "10s" is only each panel's axis tick.
    assert_eq!(
        texts.iter().filter(|t| t.as_str() == "10s").count(),
        CONTRACT.len(),
        "{texts:?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.as_str() == "12s").count(),
        2,
        "{texts:?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.starts_with("✗ ≥")).count(),
        2,
        "{texts:?}"
    );

    // One key: a strip, still one panel per property; PNG works too.
    let png = dir.join("strip.png");
    let o = livecheck(&[
        "sweep",
        V0,
        "--env",
        docker(),
        "--vary",
        "env.check.detection_bound=5s..15s/5s",
        "--plot",
        &png.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", font_hint(&o));
    let bytes = fs::read(&png).expect("the PNG exists");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");

    // sweep-merge draws the same picture from the JSON.
    let json = dir.join("small.json");
    let o = sweep(&["--format", "json"]);
    fs::write(&json, &o.stdout).unwrap();
    let svg2 = dir.join("merged.svg");
    let o = livecheck(&[
        "sweep-merge",
        &json.display().to_string(),
        "--plot",
        &svg2.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", font_hint(&o));
    let merged_texts = fs::read_to_string(&svg2).unwrap();
    assert!(roxmltree::Document::parse(&merged_texts).is_ok());
    for name in CONTRACT {
        assert!(merged_texts.contains(&format!("{name} (")));
    }
}

#[test]
fn shipped_names_sweep_from_a_directory_without_models() {
    let dir = scratch("names_anywhere");
    let args = |policy: &str, env: &str| {
        [
            "sweep",
            policy,
            "--env",
            env,
            "--vary",
            "policy.restart.debounce=30s..40s/10s",
            "--max-states",
            "1000",
            "--format",
            "json",
        ]
        .map(str::to_owned)
    };
    let run = |policy: &str| {
        Command::new(env!("CARGO_BIN_EXE_livecheck"))
            .args(args(policy, "docker"))
            .current_dir(&dir)
            .output()
            .expect("run livecheck")
    };
    let o = run("v0-pre-2931");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = json_of(&o);
    assert_eq!(out.points.len(), 2);
    // The same sweep as the repository's file, named by its path.
    let by_path = args(V0, "models/environments/docker.toml");
    let by_path = livecheck(&by_path.each_ref().map(String::as_str));
    assert_eq!(json_of(&by_path).sweep, out.sweep);
    assert_eq!(timeless(&json_of(&by_path).points), timeless(&out.points));
    let o = run("v0-nope");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown policy name \"v0-nope\""),
        "{}",
        stderr(&o)
    );
}
