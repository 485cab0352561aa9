//! `livecheck check` and `livecheck explore` through the real binary: exit
//! codes, JSON shape, bounded searches and bad input.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_livecheck"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run livecheck")
}

fn scratch(name: &str, text: &str) -> PathBuf {
    common::scratch_file("check_cli", name, text)
}

const V0: &str = "models/policies/v0-pre-2931.toml";
const DOCKER: &str = "models/environments/docker.toml";

#[test]
fn json_has_the_contract_shape_and_violations_exit_1() {
    let out = run(&["check", V0, "--env", DOCKER, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "v0 violates properties");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["policy"], "v0-pre-2931");
    assert_eq!(r["environment"], "docker");
    // Every verdict of v0 is decided before the space is exhausted: the
    // search stops there unless --exhaustive asks for the rest.
    assert_eq!(r["complete"], false);
    assert_eq!(r["stopped_by"], "all-decided");
    for key in ["states", "unique_states", "elapsed_ms"] {
        assert!(r[key].as_u64().is_some(), "{key}");
    }
    let props = r["properties"].as_array().unwrap();
    let names: Vec<&str> = props.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, livecheck::model::properties::CONTRACT);
    let fire = &props[0];
    assert_eq!(fire["verdict"], "violated");
    let steps = fire["counterexample"].as_array().unwrap();
    assert!(steps
        .iter()
        .all(|s| s["t_ms"].is_u64() && s["action"].is_string()));
    assert_eq!(steps.last().unwrap()["violation"], true);
    let detect = &props[2];
    assert_eq!(detect["verdict"], "violated");
    assert!(detect["worst_case_ms"].as_u64().is_some());
    assert_eq!(detect["worst_case_at_least"], true);
}

#[test]
fn exhaustive_visits_every_state_with_the_same_verdicts() {
    let fast = run(&["check", V0, "--env", DOCKER, "--format", "json"]);
    let full = run(&[
        "check",
        V0,
        "--env",
        DOCKER,
        "--format",
        "json",
        "--exhaustive",
    ]);
    assert_eq!(full.status.code(), Some(1));
    let fast: serde_json::Value = serde_json::from_slice(&fast.stdout).unwrap();
    let full: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    let (fast, full) = (&fast["results"][0], &full["results"][0]);
    assert_eq!(full["complete"], true);
    assert!(full["stopped_by"].is_null());
    assert!(full["unique_states"].as_u64() > fast["unique_states"].as_u64());
    for (a, b) in fast["properties"]
        .as_array()
        .unwrap()
        .iter()
        .zip(full["properties"].as_array().unwrap())
    {
        assert_eq!(a["verdict"], b["verdict"], "{}", a["name"]);
        // Breadth-first: the counterexample found before stopping is the
        // shortest either way.
        assert_eq!(
            a["counterexample"].as_array().map(Vec::len),
            b["counterexample"].as_array().map(Vec::len),
            "{}",
            a["name"]
        );
    }
    let worst = |r: &serde_json::Value| r["properties"][2]["worst_case_ms"].as_u64().unwrap();
    assert!(
        worst(full) >= worst(fast),
        "the full search sees at least as far"
    );
}

#[test]
fn a_search_stopped_by_max_states_is_inconclusive_never_holds() {
    // Docker without spurious answers: nothing is violated in the first
    // 256-state chunk, after which the bound stops the search.
    let env = common::truthful_docker("check_cli");
    let out = run(&[
        "check",
        "models/policies/v3-proposed.toml",
        "--env",
        env.to_str().unwrap(),
        "--format",
        "json",
        "--max-states",
        "1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["complete"], false);
    assert_eq!(r["stopped_by"], "max-states");
    let sometimes = livecheck::model::properties::SOMETIMES;
    for p in r["properties"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if sometimes.contains(&name) {
            // An example found early is proof enough for a `sometimes`.
            if p["verdict"] == "holds" {
                assert!(p["example"].is_array(), "{name}: holds with an example");
            }
        } else {
            assert_ne!(
                p["verdict"], "holds",
                "{name}: an incomplete search proves nothing"
            );
        }
    }
    let detect = &r["properties"][2];
    assert_eq!(
        detect["worst_case_at_least"], true,
        "an incomplete worst case is a lower bound"
    );
}

#[test]
fn text_output_has_the_matrix_and_timelines() {
    let out = run(&["check", V0, "--env", DOCKER]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("v0-pre-2931 × docker"));
    assert!(text.contains("✗") && text.contains("✓"));
    assert!(text.contains("no_self_fire_on_lone_false VIOLATED"));
    assert!(text.contains("why: "));
    assert!(
        !text.contains("\x1b["),
        "no colour when stdout is not a terminal"
    );
}

fn assert_bad_input(out: &Output, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing on stdout for bad input");
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "stderr should mention {n:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_policy_names_file_line_key_and_reason() {
    let src = std::fs::read_to_string(V0)
        .unwrap()
        .replace("debounce = \"60s\"", "debounce = \"60 seconds\"");
    let p = scratch("bad-policy.toml", &src);
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_bad_input(
        &out,
        &["bad-policy.toml", "restart.debounce", "unknown unit"],
    );
}

#[test]
fn bad_environment_names_file_key_and_reason() {
    let src = std::fs::read_to_string(DOCKER)
        .unwrap()
        .replace("interval = \"30s\"", "interval = \"30.5s\"");
    let e = scratch("bad-env.toml", &src);
    let out = run(&["check", V0, "--env", e.to_str().unwrap()]);
    assert_bad_input(
        &out,
        &[
            "bad-env.toml",
            "heartbeat.interval",
            "multiple of the clock tick",
        ],
    );
    let e = scratch("unknown-key.toml", &format!("{src}\n[extra]\nx = 1\n"));
    let out = run(&["check", V0, "--env", e.to_str().unwrap()]);
    assert_bad_input(&out, &["unknown-key.toml", "unknown field `extra`"]);
    let out = run(&["check", V0, "--env", "no/such/env.toml"]);
    assert_bad_input(&out, &["no/such/env.toml", "cannot read"]);
}

#[test]
fn explorer_serves_a_page_on_loopback() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Killed when dropped: a failed assertion below does not leave the
    // server running.
    let mut child = common::KillOnDrop(
        bin()
            .args(["explore", V0, "--env", DOCKER, "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if !buf.is_empty() {
                break buf;
            }
        }
        assert!(Instant::now() < deadline, "the Explorer did not answer");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.0.kill().unwrap();
    let _ = child.0.wait();
    assert!(
        page.starts_with("HTTP/1.") && page.contains(" 200 "),
        "{page}"
    );
    assert!(page.to_lowercase().contains("<html"), "an HTML page");
}

#[test]
fn explorer_refuses_a_busy_port_without_panicking() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let out = run(&["explore", V0, "--env", DOCKER, "--port", &port]);
    assert_bad_input(&out, &["cannot listen"]);
}

#[test]
fn shipped_names_work_for_policies_and_environments() {
    let by_name = run(&[
        "check",
        "v0-pre-2931",
        "--env",
        "docker",
        "--format",
        "json",
    ]);
    let by_path = run(&["check", V0, "--env", DOCKER, "--format", "json"]);
    assert_eq!(by_name.status.code(), Some(1));
    let a: serde_json::Value = serde_json::from_slice(&by_name.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&by_path.stdout).unwrap();
    assert_eq!(a["results"][0]["policy"], "v0-pre-2931");
    assert_eq!(
        a["results"][0]["unique_states"],
        b["results"][0]["unique_states"]
    );
    let out = run(&["check", "v9-nope", "--env", "docker"]);
    assert_bad_input(&out, &["v9-nope", "v2-2950", "v3-proposed"]);
}

/// The shipped models are built into the binary: from a directory with no
/// `models/`, shipped names still work (and a file of the same name there
/// would win).
#[test]
fn shipped_names_work_from_any_directory() {
    let elsewhere = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check_cli-elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    assert!(!elsewhere.join("models").exists());
    let out = bin()
        .current_dir(&elsewhere)
        .args([
            "check",
            "v0-pre-2931",
            "--env",
            "docker",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let here = run(&["check", V0, "--env", DOCKER, "--format", "json"]);
    let json = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let (a, b) = (json(&out), json(&here));
    assert_eq!(
        a["results"][0]["policy_sha256"],
        b["results"][0]["policy_sha256"]
    );
    assert_eq!(a["results"][0]["properties"], b["results"][0]["properties"]);
    // An unknown name lists the built-in ones.
    let out = bin()
        .current_dir(&elsewhere)
        .args(["check", "v9-nope", "--env", "docker"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("v4-proposed") && err.contains("v0-pre-2931"),
        "{err}"
    );
}

/// `--env` takes one value per flag: what follows it is a policy again; a
/// policy given as an environment (or the reverse) is said to be one.
#[test]
fn env_takes_one_value_and_a_swapped_file_is_named() {
    let out = run(&["check", "--env", DOCKER, V0, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["results"].as_array().unwrap().len(),
        1,
        "one policy × one environment"
    );
    let out = run(&["check", DOCKER, "--env", V0]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this is an environment file, not a policy") && err.contains("docker.toml"),
        "{err}"
    );
    let out = run(&["check", "models/policies/v1-2931.toml", "--env", V0]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this is a policy file, not an environment"),
        "{err}"
    );
}
