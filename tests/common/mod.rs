//! Helpers shared by several test crates (`mod common;`). Each test crate
//! uses only some of them, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Edits that turn the shipped `docker.toml` into Docker where `IsRunning`
/// sees a crash (no `unless-stopped` restart, a crashed container reads
/// not-running) and only requests detect it (no health sweep, no TTL
/// monitor, no manual restarts).
pub const VISIBLE_CRASH: [(&str, &str); 5] = [
    ("crash_reads = \"running\"", "crash_reads = \"not_running\""),
    (
        "restart_policy = \"unless-stopped\"",
        "restart_policy = \"no\"",
    ),
    ("health_sweep = true", "health_sweep = false"),
    ("ttl_monitor = true", "ttl_monitor = false"),
    ("manual_restarts = 1", "manual_restarts = 0"),
];

/// [`VISIBLE_CRASH`] on a 1 s tick (so 1 s sweep steps are valid) with a
/// 5 s `cycle_max`: about a thousand states a point for `v0-pre-2931`, and
/// a detection bound a sweep crosses (v0 detects within 12 s there).
pub fn small_sweep_edits() -> Vec<(&'static str, &'static str)> {
    let mut edits = VISIBLE_CRASH.to_vec();
    edits.push(("tick = \"2s\"", "tick = \"1s\""));
    edits.push(("cycle_max = \"6s\"", "cycle_max = \"5s\""));
    edits
}

/// Writes the shipped `docker.toml` with `edits` (each `from` must be in
/// the file: a test fails when the shipped model no longer says it) as
/// `out`, and returns `out`.
pub fn docker_with(edits: &[(&str, &str)], out: &Path) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/environments/docker.toml");
    let mut text = std::fs::read_to_string(&shipped).expect("models/environments/docker.toml");
    for (from, to) in edits {
        assert!(text.contains(from), "docker.toml no longer says {from}");
        text = text.replacen(from, to, 1);
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("the environment's directory");
    }
    std::fs::write(out, text).expect("write the environment");
    out.to_path_buf()
}

/// Docker without spurious not-running answers (nothing is violated early,
/// so a small `--max-states` stops a search before any verdict), written
/// as `CARGO_TARGET_TMPDIR/<area>/truthful/docker.toml`.
pub fn truthful_docker(area: &str) -> PathBuf {
    let out = scratch_dir(area, "truthful").join("docker.toml");
    docker_with(
        &[("spurious_not_running = 1", "spurious_not_running = 0")],
        &out,
    )
}

/// `CARGO_TARGET_TMPDIR/<area>/<sub>`, created if missing and kept if it
/// exists (several tests of one crate may share it).
pub fn scratch_dir(area: &str, sub: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(area).join(sub);
    std::fs::create_dir_all(&dir).expect("create a scratch directory under target/");
    dir
}

/// A fresh, empty `CARGO_TARGET_TMPDIR/<area>/<test>` for one test (what an
/// earlier run left there is removed first).
pub fn fresh_dir(area: &str, test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(area).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory under target/");
    dir
}

/// Writes `text` as `CARGO_TARGET_TMPDIR/<area>/files/<name>` and returns
/// its path.
pub fn scratch_file(area: &str, name: &str, text: &str) -> PathBuf {
    let path = scratch_dir(area, "files").join(name);
    std::fs::write(&path, text).expect("write a scratch file under target/");
    path
}

/// A child process killed (and reaped) when dropped, also while a failed
/// assertion unwinds: no test leaves a process running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `.toml` files of `models/policies/`, sorted by name: a test that
/// takes its policies from here covers a new policy as soon as it ships.
pub fn shipped_policy_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("models/policies is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "v0, v1, v2, v3 and v4 ship in models/policies: {files:?}"
    );
    files
}

/// Every shipped policy, loaded, in [`shipped_policy_files`]' order.
pub fn shipped_policies() -> Vec<livecheck::policy::Policy> {
    shipped_policy_files()
        .iter()
        .map(|f| {
            livecheck::policy::Policy::load(f).unwrap_or_else(|e| panic!("shipped policy: {e}"))
        })
        .collect()
}
