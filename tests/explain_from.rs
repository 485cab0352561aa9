//! `explain` without re-checking and into many formats at once:
//! `--from proofs/POLICY.ENV.json` rebuilds the recorded run from its model
//! actions (and refuses a proof that no longer describes the files),
//! `--out-dir` writes every format from one run, and policies and
//! environments are given by their shipped names.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn livecheck_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run livecheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn livecheck(args: &[&str]) -> (i32, String, String) {
    livecheck_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    common::fresh_dir("explain_from", test)
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A copy of the repository's `models/` and one proof under `root`, laid out
/// as the repository does (`root/proofs/X.json` beside `root/models/`).
fn copy_layout(root: &Path, proof: &str) -> PathBuf {
    for dir in ["policies", "environments"] {
        let to = root.join("models").join(dir);
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(repo("models").join(dir)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("proofs")).unwrap();
    let to = root.join("proofs").join(proof);
    std::fs::copy(repo("proofs").join(proof), &to).unwrap();
    to
}

#[test]
fn from_a_proof_is_the_explanation_a_fresh_check_gives_in_every_format() {
    // A violated property (counterexample), a `sometimes` property that
    // holds (example), and detection latency (lower bound when violated).
    for (proof, policy, env, property) in [
        (
            "v1-2931.docker.json",
            "v1-2931",
            "docker",
            "no_self_fire_on_lone_false",
        ),
        ("v2-2950.cloud.json", "v2-2950", "cloud", "no_restart_loop"),
        (
            "v3-proposed.docker.json",
            "v3-proposed",
            "docker",
            "reachable_dead",
        ),
        (
            "v0-pre-2931.cloud.json",
            "v0-pre-2931",
            "cloud",
            "dead_detected_within",
        ),
    ] {
        let from = format!("proofs/{proof}");
        for format in ["text", "json", "mermaid", "itf", "replay", "html"] {
            let (fresh_code, fresh, err) = livecheck(&[
                "explain",
                policy,
                "--env",
                env,
                "--property",
                property,
                "--format",
                format,
            ]);
            assert!(fresh_code == 0 || fresh_code == 1, "{err}");
            let (code, out, err) = livecheck(&[
                "explain",
                "--from",
                &from,
                "--property",
                property,
                "--format",
                format,
            ]);
            assert_eq!(code, fresh_code, "{proof} {property} {format}: {err}");
            // Byte for byte: the proof records the run, the verdict and
            // the state count a fresh (deterministic) check finds.
            assert_eq!(out, fresh, "{proof} {property} {format}");
        }
    }
}

#[test]
fn out_dir_writes_every_format_from_one_run_and_lists_the_files() {
    let dir = scratch("out_dir");
    let d = dir.to_str().unwrap();
    const PAIR: [&str; 6] = [
        "explain",
        "v2-2950",
        "--env",
        "cloud",
        "--property",
        "no_restart_loop",
    ];
    let (code, out, err) = livecheck(&[&PAIR[..], &["--out-dir", d]].concat());
    assert_eq!(code, 1, "{err}");
    let stem = "v2-2950.cloud.no_restart_loop";
    let listed: Vec<&str> = out.lines().collect();
    for (format, suffix) in [
        ("text", "txt"),
        ("mermaid", "mermaid.md"),
        ("html", "html"),
        ("itf", "itf.json"),
        ("replay", "replay.jsonl"),
        ("json", "json"),
    ] {
        let file = dir.join(format!("{stem}.{suffix}"));
        assert!(
            listed.contains(&file.to_str().unwrap()),
            "{file:?} not listed: {out}"
        );
        let written = std::fs::read_to_string(&file).expect("written");
        let (_, alone, _) = livecheck(&[&PAIR[..], &["--format", format]].concat());
        if format == "mermaid" {
            assert_eq!(written, format!("```mermaid\n{alone}```\n"));
        } else {
            assert_eq!(written, alone, "{format}");
        }
    }
    // The incident's stems.
    let (code, out, err) = livecheck(&["explain", "2929", "--out-dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2929.txt") && out.contains("2929.replay.jsonl"),
        "{out}"
    );
    let (code, out, err) = livecheck(&["explain", "2929", "--policy", "v2-2950", "--out-dir", d]);
    // v2 still shows #2929 in upstream's world (an unstamped manual restart).
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("2929.v2-2950.json"), "{out}");
    // --format beside --out-dir is a usage error, and nothing is written.
    let other = scratch("out_dir_usage");
    let (code, out, err) = livecheck(&[
        "explain",
        "2929",
        "--format",
        "mermaid",
        "--out-dir",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("--format") && err.contains("--out-dir"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
}

#[test]
fn shipped_names_work_from_a_directory_without_models() {
    let dir = scratch("names_anywhere");
    let (code, out, err) = livecheck_in(
        &dir,
        &[
            "explain",
            "v1-2931",
            "--env",
            "docker",
            "--property",
            "no_self_fire_on_lone_false",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("v1-2931 × docker"), "{out}");
    let (code, _, err) = livecheck_in(
        &dir,
        &[
            "explain",
            "v9-nope",
            "--env",
            "docker",
            "--property",
            "no_false_dead",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown policy name \"v9-nope\"") && err.contains("v2-2950"),
        "{err}"
    );
}

fn edit_proof(file: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn property<'a>(v: &'a mut Value, name: &str) -> &'a mut Value {
    v["properties"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["name"] == name)
        .unwrap()
}

const P: &str = "no_self_fire_on_lone_false";

/// `explain --from` run in `root` on its copy of v1-2931 × docker.
fn explain_in(root: &Path) -> (i32, String, String) {
    livecheck_in(
        root,
        &[
            "explain",
            "--from",
            "proofs/v1-2931.docker.json",
            "--property",
            P,
        ],
    )
}

/// The error `explain --from` gives (exit 2, nothing on stdout) once
/// `spoil` has changed a fresh copy of the layout (it gets the proof file).
fn refused_after(test: &str, spoil: impl FnOnce(&Path)) -> String {
    let root = scratch(test);
    let proof = copy_layout(&root, "v1-2931.docker.json");
    spoil(&proof);
    let (code, out, err) = explain_in(&root);
    assert_eq!(code, 2, "{test}: {out}{err}");
    assert!(out.is_empty(), "{test}: {out}");
    assert!(
        err.contains("v1-2931.docker.json"),
        "{test}: names the file: {err}"
    );
    err
}

#[test]
fn a_proof_that_no_longer_describes_its_inputs_is_refused_with_exit_2() {
    // The layout itself is trusted (the models beside the proof are read).
    let root = scratch("ok");
    copy_layout(&root, "v1-2931.docker.json");
    let (code, out, err) = explain_in(&root);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("DECLARES DEAD"), "{out}");

    // The policy changed since the proof was written.
    let err = refused_after("policy_changed", |proof| {
        let policy = proof
            .parent()
            .unwrap()
            .join("../models/policies/v1-2931.toml");
        let text = std::fs::read_to_string(&policy).unwrap();
        std::fs::write(&policy, format!("{text}\n# edited\n")).unwrap();
    });
    assert!(err.contains("the policy file changed"), "{err}");

    // A timeline edited by hand no longer matches its actions.
    let err = refused_after("timeline_edited", |proof| {
        edit_proof(proof, |v| {
            property(v, P)["counterexample"][1]["detail"] = "something else".into();
        })
    });
    assert!(err.contains("first difference at line 2"), "{err}");

    // An action the model does not allow there.
    let err = refused_after("action_impossible", |proof| {
        edit_proof(proof, |v| {
            property(v, P)["actions"][0] = serde_json::json!({"resume": 1});
        })
    });
    assert!(
        err.contains("step 1: the model does not allow Resume(1)"),
        "{err}"
    );

    // Not an action at all.
    let err = refused_after("action_malformed", |proof| {
        edit_proof(proof, |v| property(v, P)["actions"][0] = "teleport".into())
    });
    assert!(err.contains("malformed model actions"), "{err}");

    // Written before proofs recorded their actions.
    let err = refused_after("no_actions", |proof| {
        edit_proof(proof, |v| {
            property(v, P).as_object_mut().unwrap().remove("actions");
        })
    });
    assert!(err.contains("not its model actions"), "{err}");

    // Not JSON.
    let err = refused_after("not_json", |proof| {
        std::fs::write(proof, "{\n  \"policy\": \n").unwrap()
    });
    assert!(
        err.contains("malformed proof file") && err.contains("line"),
        "{err}"
    );

    // --from names the pair itself: --env beside it is a usage error.
    let (code, _, err) = livecheck(&[
        "explain",
        "--from",
        "proofs/v1-2931.docker.json",
        "--env",
        "docker",
        "--property",
        P,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--env"), "{err}");

    // Nothing is searched: the search bounds beside --from are usage
    // errors rather than silently ignored.
    for flag in [
        ["--threads", "2"],
        ["--timeout", "5"],
        ["--max-states", "10"],
    ] {
        let (code, out, err) = livecheck(&[
            "explain",
            "--from",
            "proofs/v1-2931.docker.json",
            "--property",
            P,
            flag[0],
            flag[1],
        ]);
        assert_eq!(code, 2, "{flag:?}: {out}{err}");
        assert!(err.contains(flag[0]) && err.contains("--from"), "{err}");
    }
}
