//! `docs/scale-out/` (issue 11 part 4): a sweep split over many machines
//! with an existing engine, run here on one machine as those engines run it.
//!
//! * Kubernetes: the Indexed Job's pods are `docs/scale-out/shard-entrypoint.sh`
//!   with `JOB_COMPLETION_INDEX` = 0..N-1 and the Job's env; the test runs the
//!   script once per index with exactly that env (the volumes mapped to
//!   scratch directories), then the merge Job's own shell command, and
//!   compares its `sweep.json` with an unsharded sweep, timings aside. The
//!   manifests are read as YAML and the facts that make them work are
//!   asserted: `completionMode: Indexed`, completions = parallelism = the
//!   entrypoint's N, the command runs the entrypoint from the ConfigMap, the
//!   output directory is the claim both Jobs mount.
//! * GitHub Actions: the workflow's jobs run in `needs` order, each matrix
//!   entry in its own directory, every `run` step under bash as Actions runs
//!   it, artifacts passed between jobs as upload/download-artifact do; only
//!   the toolchain steps (checkout, rustup, `cargo build`, `apt-get`) are
//!   replaced by the test's own binary and inputs.
//!
//! Both run a small sweep (`v0-pre-2931` × a cut-down docker world, 6 points,
//! about a second) in place of the documented one; the documented sweeps are
//! validated by running them with `--max-states 1`. A missing `sh` or `bash`
//! fails the test, saying so; the GitHub merge draws a plot, which needs a
//! TrueType font (`fonts-dejavu-core` or `LIVECHECK_FONT`).

use livecheck::sweep::output::{PointResult, SweepOutput};
use serde::Deserialize as _;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    common::fresh_dir("scale_out", name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `program` (which must exist: a missing shell fails the test).
fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}): this test needs it, as the Job or the runner has it")
    })
}

/// The small sweep: `v0-pre-2931` × docker cut down as in tests/sweep.rs
/// (1 s tick, crashes `IsRunning` sees, no health sweep, no TTL monitor, no
/// manual restarts, 5 s `cycle_max`), 3 detection bounds × 2 minimum cycle
/// lengths (the three `cycle_min = 6s` points are invalid). Absolute paths,
/// so it runs from any directory.
fn small_sweep(dir: &Path) -> Vec<String> {
    let env = common::docker_with(&common::small_sweep_edits(), &dir.join("docker.toml"));
    let args = vec![
        root()
            .join("models/policies/v0-pre-2931.toml")
            .display()
            .to_string(),
        "--env".into(),
        env.display().to_string(),
        "--vary".into(),
        "env.check.detection_bound=5s..15s/5s".into(),
        "--vary".into(),
        "env.restart.cycle_min=4s..6s/2s".into(),
    ];
    for a in &args {
        assert!(
            !a.contains(char::is_whitespace),
            "{a:?}: the workflow splits the sweep on spaces; run the test from a path without them"
        );
    }
    args
}

fn livecheck(args: &[String], cwd: &Path) -> Output {
    run(
        Command::new(env!("CARGO_BIN_EXE_livecheck"))
            .current_dir(cwd)
            .args(args),
        "the livecheck binary",
    )
}

fn parse_output(bytes: &[u8], what: &str) -> SweepOutput {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what} is not a sweep output: {e}"))
}

/// The sweep run whole, on this machine, in one process.
fn unsharded(sweep: &[String]) -> SweepOutput {
    let mut args = vec!["sweep".to_owned()];
    args.extend_from_slice(sweep);
    args.extend(["--format".into(), "json".into()]);
    let o = livecheck(&args, &root());
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    parse_output(&o.stdout, "the unsharded sweep")
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

/// The merge equals the whole sweep run in one piece, timings aside, and
/// came from `shards` runs.
fn assert_same_sweep(merged: &SweepOutput, whole: &SweepOutput, shards: usize) {
    assert_eq!(merged.sweep, whole.sweep);
    assert_eq!(merged.shard, None, "the merge is the whole sweep");
    assert_eq!(timeless(&merged.points), timeless(&whole.points));
    assert_eq!(merged.runs.len(), shards, "one run per shard");
    assert!(
        merged.points.len() >= shards,
        "every shard should hold a point"
    );
}

/// A directory holding `livecheck` (a link to the binary under test), to
/// put first on `PATH` as the image's `livecheck` is.
fn path_with_livecheck(dir: &Path) -> String {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).expect("bin dir");
    let link = bin.join("livecheck");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_livecheck"), &link).expect("link livecheck");
    match std::env::var("PATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", bin.display()),
        _ => bin.display().to_string(),
    }
}

// ---- YAML helpers ----------------------------------------------------------

fn yaml_docs(path: &str) -> Vec<Value> {
    let text = fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{path} is not YAML: {e}")))
        .collect()
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(key),
        }
        .unwrap_or_else(|| panic!("no {path} (at {key}) in {v:?}"));
    }
    cur
}

fn string(v: &Value, path: &str) -> String {
    get(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"))
        .to_owned()
}

fn strings(v: &Value, path: &str) -> Vec<String> {
    get(v, path)
        .as_sequence()
        .unwrap_or_else(|| panic!("{path} is not a list"))
        .iter()
        .map(|s| match s {
            Value::String(s) => s.clone(),
            other => panic!("{path}: {other:?} is not a string"),
        })
        .collect()
}

fn int(v: &Value, path: &str) -> u64 {
    get(v, path)
        .as_u64()
        .unwrap_or_else(|| panic!("{path} is not a whole number"))
}

fn kind_named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| {
            d.get("kind").and_then(Value::as_str) == Some(kind)
                && d.get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(Value::as_str)
                    == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind} named {name}"))
}

/// The container's env as a map (`value:` entries only).
fn container_env(c: &Value) -> BTreeMap<String, String> {
    get(c, "env")
        .as_sequence()
        .expect("env is a list")
        .iter()
        .map(|e| (string(e, "name"), string(e, "value")))
        .collect()
}

/// mountPath → the volume's definition, for one container of a pod spec.
fn mounts<'a>(pod: &'a Value, c: &Value) -> BTreeMap<String, &'a Value> {
    let volumes = get(pod, "volumes").as_sequence().expect("volumes");
    get(c, "volumeMounts")
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .map(|m| {
            let name = string(m, "name");
            let vol = volumes
                .iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name.as_str()))
                .unwrap_or_else(|| panic!("volumeMount {name} has no volume"));
            (string(m, "mountPath"), vol)
        })
        .collect()
}

fn only_container(pod: &Value) -> &Value {
    let cs = get(pod, "containers").as_sequence().expect("containers");
    assert_eq!(cs.len(), 1, "one container per pod");
    &cs[0]
}

// ---- the entrypoint ----------------------------------------------------------

const ENTRYPOINT: &str = "docs/scale-out/shard-entrypoint.sh";

/// Runs the entrypoint under `shell` with exactly `env` (plus `PATH`).
fn entrypoint(shell: &str, env: &BTreeMap<String, String>, path: &str, args: &[String]) -> Output {
    run(
        Command::new(shell)
            .arg(root().join(ENTRYPOINT))
            .args(args)
            .env_clear()
            .env("PATH", path)
            .envs(env),
        shell,
    )
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
        })
        .unwrap_or_default()
}

#[test]
fn entrypoint_refuses_a_missing_or_out_of_range_index_with_exit_2() {
    let dir = scratch("refusals");
    let sweep = small_sweep(&dir);
    let out = dir.join("out");
    let path = path_with_livecheck(&dir);
    let base = |index: Option<&str>, shards: Option<&str>| {
        let mut env = BTreeMap::new();
        if let Some(i) = index {
            env.insert("JOB_COMPLETION_INDEX".to_owned(), i.to_owned());
        }
        if let Some(n) = shards {
            env.insert("LIVECHECK_SHARDS".to_owned(), n.to_owned());
        }
        env.insert("LIVECHECK_OUT_DIR".to_owned(), out.display().to_string());
        env
    };
    let cases: [(Option<&str>, Option<&str>, &str); 9] = [
        (None, Some("3"), "JOB_COMPLETION_INDEX is not set"),
        (Some(""), Some("3"), "JOB_COMPLETION_INDEX is not set"),
        (Some("3"), Some("3"), "out of range"),
        (Some("7"), Some("3"), "out of range"),
        (Some("-1"), Some("3"), "not a whole number"),
        (Some("one"), Some("3"), "not a whole number"),
        (Some("08"), Some("9"), "not a whole number"),
        (Some("0"), None, "LIVECHECK_SHARDS is not set"),
        (Some("0"), Some("0"), "LIVECHECK_SHARDS=\"0\""),
    ];
    for (index, shards, says) in cases {
        let o = entrypoint("sh", &base(index, shards), &path, &sweep);
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(2),
            "index {index:?} of {shards:?}: stderr {err}"
        );
        assert!(err.contains("shard-entrypoint: "), "{err}");
        assert!(err.contains(says), "index {index:?} of {shards:?}: {err}");
        assert!(o.stdout.is_empty());
        assert!(
            files_in(&out).is_empty(),
            "refused but wrote {:?}",
            files_in(&out)
        );
    }
    // A valid index whose sweep livecheck refuses: livecheck's exit 2, and
    // no shard file (not even a partial one) for the merge to pick up.
    let mut bad = sweep.clone();
    bad[4] = "no.such.key=1s..2s/1s".into();
    let o = entrypoint("sh", &base(Some("0"), Some("2")), &path, &bad);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no.such.key"), "{}", stderr(&o));
    assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));
    // --shard and --format are the entrypoint's to set.
    let mut twice = sweep.clone();
    twice.extend(["--shard".into(), "1/2".into()]);
    let o = entrypoint("sh", &base(Some("0"), Some("2")), &path, &twice);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("do not pass --shard"), "{}", stderr(&o));
}

#[test]
fn k8s_indexed_job_shards_merged_by_the_merge_job_equal_an_unsharded_sweep() {
    let docs = yaml_docs("docs/scale-out/k8s-indexed-job.yaml");
    let job = kind_named(&docs, "Job", "livecheck-sweep");
    assert_eq!(string(job, "apiVersion"), "batch/v1");
    assert_eq!(string(job, "spec.completionMode"), "Indexed");
    let completions = int(job, "spec.completions");
    assert_eq!(int(job, "spec.parallelism"), completions);
    let pod = get(job, "spec.template.spec");
    assert_eq!(string(pod, "restartPolicy"), "Never");
    let c = only_container(pod);
    let env = container_env(c);
    let n: u64 = env
        .get("LIVECHECK_SHARDS")
        .expect("the Job sets LIVECHECK_SHARDS")
        .parse()
        .expect("LIVECHECK_SHARDS is a number");
    assert_eq!(
        n, completions,
        "LIVECHECK_SHARDS must be the Job's completions"
    );
    assert!(n >= 2, "a sharded sweep");

    // The command runs the entrypoint, mounted from a ConfigMap.
    let command = strings(c, "command");
    assert_eq!(command.len(), 2, "{command:?}");
    assert_eq!(command[0], "/bin/sh");
    let (script_dir, script) = command[1].rsplit_once('/').expect("an absolute path");
    assert_eq!(script, "shard-entrypoint.sh");
    let mounted = mounts(pod, c);
    let config = mounted
        .get(script_dir)
        .unwrap_or_else(|| panic!("nothing is mounted at {script_dir}"));
    let config_map = string(config, "configMap.name");
    // Its output directory is a claim.
    let out_dir = env.get("LIVECHECK_OUT_DIR").expect("LIVECHECK_OUT_DIR");
    let claim = string(
        mounted
            .get(out_dir.as_str())
            .unwrap_or_else(|| panic!("nothing is mounted at LIVECHECK_OUT_DIR={out_dir}")),
        "persistentVolumeClaim.claimName",
    );
    let pvc = kind_named(&docs, "PersistentVolumeClaim", &claim);
    assert!(
        strings(pvc, "spec.accessModes").contains(&"ReadWriteMany".to_owned()),
        "pods on different nodes write the claim at once"
    );

    // The Job's own sweep is valid input: its files (the ConfigMap's keys)
    // are shipped models, and livecheck accepts it (one state a point).
    let mut job_sweep = strings(c, "args");
    for a in &mut job_sweep {
        assert!(
            !a.starts_with("--shard") && !a.starts_with("--format"),
            "{a}"
        );
        if let Some(file) = a.strip_prefix(&format!("{script_dir}/")) {
            let shipped = ["models/policies", "models/environments"]
                .iter()
                .map(|d| root().join(d).join(file))
                .find(|p| p.is_file())
                .unwrap_or_else(|| {
                    panic!("{a}: the ConfigMap {config_map} holds no shipped {file}")
                });
            *a = shipped.display().to_string();
        }
    }
    let mut check = vec!["sweep".to_owned()];
    check.extend(job_sweep);
    check.extend(
        [
            "--shard",
            &format!("1/{n}"),
            "--format",
            "json",
            "--max-states",
            "1",
        ]
        .map(String::from),
    );
    let o = livecheck(&check, &root());
    assert_eq!(o.status.code(), Some(0), "the Job's sweep: {}", stderr(&o));

    // Every pod, as Kubernetes starts it: the Job's env, JOB_COMPLETION_INDEX
    // set to the pod's index, the claim mounted (here: a scratch directory).
    let dir = scratch("k8s");
    let sweep = small_sweep(&dir);
    let volume = dir.join("claim");
    fs::create_dir_all(&volume).expect("claim dir");
    let path = path_with_livecheck(&dir);
    let mut pod_env = env.clone();
    pod_env.insert("LIVECHECK_OUT_DIR".into(), volume.display().to_string());
    for index in 0..n {
        pod_env.insert("JOB_COMPLETION_INDEX".into(), index.to_string());
        let o = entrypoint(&command[0], &pod_env, &path, &sweep);
        assert_eq!(o.status.code(), Some(0), "pod {index}: {}", stderr(&o));
    }
    let written = files_in(&volume);
    let expected: BTreeSet<String> = (1..=n).map(|i| format!("shard-{i}-of-{n}.json")).collect();
    assert_eq!(written, expected, "one file per shard, nothing else");

    // The merge Job: the same claim at its LIVECHECK_OUT_DIR, the same N, and
    // its own shell command run as written.
    let merge_docs = yaml_docs("docs/scale-out/k8s-merge-job.yaml");
    let merge = kind_named(&merge_docs, "Job", "livecheck-sweep-merge");
    assert!(
        merge
            .get("spec")
            .and_then(|s| s.get("completionMode"))
            .is_none(),
        "the merge is one pod"
    );
    let mpod = get(merge, "spec.template.spec");
    let mc = only_container(mpod);
    let menv = container_env(mc);
    assert_eq!(menv.get("LIVECHECK_SHARDS"), Some(&n.to_string()), "same N");
    let mout = menv.get("LIVECHECK_OUT_DIR").expect("LIVECHECK_OUT_DIR");
    let mmounts = mounts(mpod, mc);
    assert_eq!(
        string(
            mmounts
                .get(mout.as_str())
                .expect("a claim at LIVECHECK_OUT_DIR"),
            "persistentVolumeClaim.claimName"
        ),
        claim,
        "the merge reads the claim the shards wrote"
    );
    let mcommand = strings(mc, "command");
    assert_eq!(mcommand[..2], ["/bin/sh", "-c"], "{mcommand:?}");
    assert!(mcommand[2].contains("sweep-merge"), "{}", mcommand[2]);
    let mut merge_env = menv.clone();
    merge_env.insert("LIVECHECK_OUT_DIR".into(), volume.display().to_string());
    let o = run(
        Command::new(&mcommand[0])
            .args(&mcommand[1..])
            .env_clear()
            .env("PATH", &path)
            .envs(&merge_env),
        &mcommand[0],
    );
    assert_eq!(o.status.code(), Some(0), "merge Job: {}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no_false_dead"),
        "the log shows the table: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let merged = parse_output(
        &fs::read(volume.join("sweep.json")).expect("the merge Job writes sweep.json"),
        "sweep.json",
    );
    assert_same_sweep(&merged, &unsharded(&sweep), n as usize);
}

// ---- GitHub Actions ----------------------------------------------------------

/// `${{ matrix.shard }}` replaced; any other expression is one this test
/// cannot evaluate, so it fails rather than guess.
fn expand(s: &str, shard: Option<u64>) -> String {
    let mut out = s.to_owned();
    if let Some(k) = shard {
        out = out.replace("${{ matrix.shard }}", &k.to_string());
    }
    assert!(
        !out.contains("${{"),
        "an expression this test cannot evaluate: {s}"
    );
    out
}

/// `*` globs (artifact patterns).
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((pre, rest)) => {
            assert!(!rest.contains('*'), "one * per pattern: {pattern}");
            name.len() >= pre.len() + rest.len() && name.starts_with(pre) && name.ends_with(rest)
        }
    }
}

fn copy_into(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for f in files_in(from) {
        fs::copy(from.join(&f), to.join(&f)).expect("copy artifact file");
    }
}

/// One job instance's steps, in a directory of its own (a fresh runner).
/// Artifacts live in `artifacts/NAME/`.
fn run_job(
    job_name: &str,
    job: &Value,
    shard: Option<u64>,
    env: &BTreeMap<String, String>,
    workspace: &Path,
    artifacts: &Path,
    skipped: &mut BTreeSet<String>,
) {
    fs::create_dir_all(workspace).expect("workspace");
    let summary = workspace.join("summary.md");
    let temp = workspace.join("runner-temp");
    fs::create_dir_all(&temp).expect("runner temp");
    for step in get(job, "steps").as_sequence().expect("steps") {
        assert!(step.get("env").is_none(), "step env is not emulated");
        if let Some(script) = step.get("run").and_then(Value::as_str) {
            let script = expand(script, shard);
            let first = script.trim_start();
            if first.starts_with("cargo build") {
                // The toolchain: the binary under test is what it builds.
                assert!(first.contains("--release"), "{first}");
                let target = workspace.join("target/release");
                fs::create_dir_all(&target).expect("target/release");
                fs::copy(env!("CARGO_BIN_EXE_livecheck"), target.join("livecheck"))
                    .expect("place the binary");
                skipped.insert(first.to_owned());
                continue;
            }
            if first.contains("apt-get") {
                skipped.insert(first.to_owned());
                continue;
            }
            let file = temp.join("step.sh");
            fs::write(&file, &script).expect("write step");
            // What `shell: bash` runs.
            let o = run(
                Command::new("bash")
                    .args(["--noprofile", "--norc", "-eo", "pipefail"])
                    .arg(&file)
                    .current_dir(workspace)
                    .envs(env)
                    .env("GITHUB_WORKSPACE", workspace)
                    .env("GITHUB_STEP_SUMMARY", &summary)
                    .env("RUNNER_TEMP", &temp),
                "bash",
            );
            assert_eq!(
                o.status.code(),
                Some(0),
                "{job_name} ({shard:?}) step {script}: {}",
                stderr(&o)
            );
            continue;
        }
        let uses = string(step, "uses");
        let with = |k: &str| {
            step.get("with").and_then(|w| w.get(k)).map(|v| match v {
                Value::String(s) => expand(s, shard),
                Value::Bool(b) => b.to_string(),
                other => panic!("{uses} with.{k}: {other:?}"),
            })
        };
        if uses.starts_with("actions/checkout@") || uses.starts_with("dtolnay/rust-toolchain@") {
            // The test's inputs are absolute paths and its binary is built.
            skipped.insert(uses);
        } else if uses == "actions/upload-artifact@v4" {
            let name = with("name").expect("upload name");
            let into = artifacts.join(&name);
            assert!(!into.exists(), "artifact {name} uploaded twice");
            fs::create_dir_all(&into).expect("artifact dir");
            for p in with("path")
                .expect("upload path")
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                let p = p.trim();
                assert!(!p.contains('*'), "upload globs are not emulated: {p}");
                let src = workspace.join(p);
                assert!(src.is_file(), "{job_name}: upload {name}: no file {p}");
                let base = Path::new(p).file_name().expect("a file name");
                fs::copy(&src, into.join(base)).expect("upload");
            }
        } else if uses == "actions/download-artifact@v4" {
            let dest = workspace.join(with("path").unwrap_or_else(|| ".".into()));
            match (with("name"), with("pattern")) {
                (Some(name), None) => {
                    let from = artifacts.join(&name);
                    assert!(from.is_dir(), "{job_name}: no artifact {name} (needs?)");
                    copy_into(&from, &dest);
                }
                (None, Some(pattern)) => {
                    let merge = with("merge-multiple").as_deref() == Some("true");
                    let found: Vec<String> = files_in(artifacts)
                        .into_iter()
                        .filter(|a| glob(&pattern, a))
                        .collect();
                    assert!(
                        !found.is_empty(),
                        "{job_name}: no artifact matches {pattern}"
                    );
                    for a in found {
                        let to = if merge { dest.clone() } else { dest.join(&a) };
                        copy_into(&artifacts.join(&a), &to);
                    }
                }
                other => panic!("download-artifact with {other:?}"),
            }
        } else {
            panic!("{job_name}: a step this test does not know: {uses}");
        }
    }
}

fn needs(job: &Value) -> Vec<String> {
    match job.get("needs") {
        None => vec![],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(_)) => strings(job, "needs"),
        Some(other) => panic!("needs: {other:?}"),
    }
}

/// The N of every `--shard ${{ matrix.shard }}/N` in a script.
fn shard_counts(script: &str) -> Vec<u64> {
    let tag = "--shard ${{ matrix.shard }}/";
    script
        .match_indices(tag)
        .map(|(at, _)| {
            let rest = &script[at + tag.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("--shard …/{rest}"))
        })
        .collect()
}

#[test]
fn github_matrix_shards_merged_by_the_merge_job_equal_an_unsharded_sweep() {
    let docs = yaml_docs("docs/scale-out/github-actions-sweep.yml");
    assert_eq!(docs.len(), 1);
    let wf = &docs[0];
    let jobs = get(wf, "jobs").as_mapping().expect("jobs");
    let job_names: Vec<String> = jobs
        .keys()
        .map(|k| k.as_str().expect("job name").to_owned())
        .collect();
    assert_eq!(
        string(wf, "defaults.run.shell"),
        "bash",
        "the test runs steps as `shell: bash` does"
    );

    // The matrix job: shards 1..N, and every sweep step says /N.
    let matrix_jobs: Vec<&String> = job_names
        .iter()
        .filter(|j| {
            get(wf, "jobs")
                .get(j.as_str())
                .unwrap()
                .get("strategy")
                .is_some()
        })
        .collect();
    assert_eq!(matrix_jobs.len(), 1, "one matrix job: {matrix_jobs:?}");
    let sweep_name = matrix_jobs[0].clone();
    let sweep_job = &jobs[sweep_name.as_str()];
    let matrix = get(sweep_job, "strategy.matrix")
        .as_mapping()
        .expect("matrix");
    assert_eq!(matrix.len(), 1, "the matrix varies shard alone");
    let listed: Vec<u64> = get(sweep_job, "strategy.matrix.shard")
        .as_sequence()
        .expect("matrix.shard is a list")
        .iter()
        .map(|v| v.as_u64().expect("shard numbers"))
        .collect();
    let n = listed.len() as u64;
    assert!(n >= 2, "a sharded sweep");
    assert_eq!(listed, (1..=n).collect::<Vec<_>>(), "matrix.shard is 1..N");
    let runs: Vec<String> = get(sweep_job, "steps")
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s.get("run").and_then(Value::as_str).map(String::from))
        .collect();
    let counts: Vec<u64> = runs.iter().flat_map(|r| shard_counts(r)).collect();
    assert!(
        !counts.is_empty(),
        "no step runs --shard ${{{{ matrix.shard }}}}/N"
    );
    assert!(
        counts.iter().all(|&c| c == n),
        "--shard …/{counts:?} but the matrix has {n} shards"
    );
    assert!(runs
        .iter()
        .any(|r| r.contains("\"$LIVECHECK\" sweep $SWEEP")));

    // The merge job waits for the matrix and runs sweep-merge.
    let merge_names: Vec<&String> = job_names
        .iter()
        .filter(|j| {
            get(&jobs[j.as_str()], "steps")
                .as_sequence()
                .unwrap()
                .iter()
                .any(|s| {
                    s.get("run")
                        .and_then(Value::as_str)
                        .is_some_and(|r| r.contains("sweep-merge"))
                })
        })
        .collect();
    assert_eq!(merge_names.len(), 1, "one merge job");
    let merge_name = merge_names[0].clone();
    assert!(
        needs(&jobs[merge_name.as_str()]).contains(&sweep_name),
        "merge needs {sweep_name}"
    );

    // The workflow's own sweep is valid input (one state a point).
    let mut wf_env: BTreeMap<String, String> = get(wf, "env")
        .as_mapping()
        .expect("env")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().expect("env string").to_owned(),
            )
        })
        .collect();
    let documented: Vec<String> = wf_env["SWEEP"]
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut check = vec!["sweep".to_owned()];
    check.extend(documented);
    check.extend(
        [
            "--shard",
            &format!("1/{n}"),
            "--format",
            "json",
            "--max-states",
            "1",
        ]
        .map(String::from),
    );
    let o = livecheck(&check, &root());
    assert_eq!(
        o.status.code(),
        Some(0),
        "the workflow's SWEEP: {}",
        stderr(&o)
    );

    // Run it: jobs in `needs` order, each matrix entry on its own "runner".
    let dir = scratch("github");
    let sweep = small_sweep(&dir);
    wf_env.insert("SWEEP".into(), sweep.join(" "));
    let artifacts = dir.join("artifacts");
    fs::create_dir_all(&artifacts).unwrap();
    let mut done: Vec<String> = Vec::new();
    let mut skipped = BTreeSet::new();
    while done.len() < job_names.len() {
        let next = job_names
            .iter()
            .find(|j| {
                !done.contains(j) && needs(&jobs[j.as_str()]).iter().all(|d| done.contains(d))
            })
            .unwrap_or_else(|| panic!("jobs wait on each other: {job_names:?}"))
            .clone();
        let job = &jobs[next.as_str()];
        if next == sweep_name {
            for k in 1..=n {
                let ws = dir.join(format!("{next}-{k}"));
                run_job(&next, job, Some(k), &wf_env, &ws, &artifacts, &mut skipped);
            }
        } else {
            let ws = dir.join(&next);
            run_job(&next, job, None, &wf_env, &ws, &artifacts, &mut skipped);
        }
        done.push(next);
    }
    eprintln!("replaced by the test's own toolchain: {skipped:?}");

    let ws = dir.join(&merge_name);
    let merged = parse_output(
        &fs::read(ws.join("sweep.json")).expect("the merge job writes sweep.json"),
        "sweep.json",
    );
    assert_same_sweep(&merged, &unsharded(&sweep), n as usize);
    let svg = fs::read_to_string(ws.join("sweep.svg")).expect("the merge draws sweep.svg");
    assert!(svg.contains("<svg"), "{}", &svg[..svg.len().min(200)]);
    let summary = fs::read_to_string(ws.join("summary.md")).expect("a job summary");
    assert!(summary.contains("no_false_dead"), "{summary}");
}
