//! End to end against real Docker containers: `scripts/e2e-docker`.
//!
//! `docker_preflight` always runs: it makes sure a Docker daemon answers
//! (installing docker.io and starting dockerd when it can), builds the agent
//! image from scratch and runs one container on host networking. Without
//! Docker, and without a way to get it, it FAILS with the script's reason; it
//! never skips.
//!
//! `e2e_docker_scenarios` runs every scenario (about two minutes, plus the
//! builds). It is ignored by default because CI runs `scripts/e2e-docker`
//! directly; run it with
//! `cargo test --release --test e2e_docker -- --ignored`.

use std::path::Path;
use std::process::Command;

fn run_script(args: &[&str]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/e2e-docker"))
        .args(args)
        .env("E2E_LIVECHECK_BIN", env!("CARGO_BIN_EXE_livecheck"))
        .current_dir(root)
        .output()
        .expect("bash runs scripts/e2e-docker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

#[test]
fn docker_preflight() {
    let (ok, text) = run_script(&["--preflight"]);
    assert!(
        ok && last_line(&text) == "1 passed, 0 failed",
        "scripts/e2e-docker --preflight failed: Docker is required for the end-to-end tests \
         and could not be installed or started here:\n{text}"
    );
}

#[test]
#[ignore = "runs every Docker scenario (minutes); CI runs scripts/e2e-docker itself"]
fn e2e_docker_scenarios() {
    let (ok, text) = run_script(&[]);
    let last = last_line(&text);
    assert!(
        ok && last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed"),
        "scripts/e2e-docker failed (last line {last:?}):\n{text}"
    );
}
