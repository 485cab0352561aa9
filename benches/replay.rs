//! Replay throughput (events/s) on a generated log of a million lines, and
//! the peak memory of `livecheck replay` on it.
//!
//! The log is generated deterministically into
//! `target/bench-data/replay-<lines>-v<GEN>.jsonl` (reused when present):
//! 5,000 workspaces under `v2-2950`, interleaved in time order, each living a
//! realistic mix of agent heartbeats (most lines), failed A2A requests with
//! the probe answers their decisions ask for (running, not running, transport
//! errors), platform restart cycles, the restarts the decisions themselves
//! start, and a few external-runtime workspaces. The generator knows which
//! probe answers to write by running the same decision on a mirror of each
//! workspace, through replay's own driver steps ([`livecheck::replay::begin`]
//! and [`livecheck::replay::advance`]: a strike's declaration section resumed
//! at once, a declaration's `RestartByID` run back to back), so the log is
//! valid by construction (the bench fails if replay reports an error).
//!
//! Criterion measures `livecheck::replay::run` into `io::sink()`
//! (`Throughput::Elements` = log lines). Afterwards the binary is run on the
//! 1 M-line log and on a 100 k-line log under `/usr/bin/time -v` (or, if GNU
//! time is not installed, by polling `VmHWM`, which the output says), and
//! the peak resident set sizes are printed (the two should be close: replay
//! streams, its memory grows with workspaces, not lines). The child process
//! is killed (with its process group: GNU time's own child too) if the
//! bench fails while it runs. Under `cargo test --all-targets` (no
//! `--bench` flag) it runs once on 100 k lines.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use livecheck::decision::{Input, ProbeResult, Verdict};
use livecheck::policy::Policy;
use livecheck::replay::{advance, begin};
use livecheck::restart::RestartOutcome;
use livecheck::workspace::{Facts, Workspace};
use livecheck::Ms;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bump when the generator changes, so stale files are not reused.
const GEN: u32 = 2;
const WORKSPACES: usize = 5_000;
const POLICY: &str = "v2-2950";

fn policy_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/policies")
        .join(format!("{POLICY}.toml"))
}

/// splitmix64: a small deterministic generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The generator's mirror of one workspace.
struct Gen {
    ws: Workspace,
    now: Ms,
    /// A platform restart cycle is running until this instant.
    cycle_until: Option<Ms>,
    next_req: u64,
}

/// Writes one workspace's next action (a heartbeat, a whole decision, a
/// restart edge) at `g.now`; returns the lines written.
fn act(
    policy: &Policy,
    id: usize,
    g: &mut Gen,
    rng: &mut Rng,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    let t = g.now;
    if let Some(end) = g.cycle_until {
        if t >= end {
            // The cycle returns; the new agent registers and heartbeats soon.
            g.cycle_until = None;
            g.ws.observe_restart_finished(end);
            writeln!(
                out,
                r#"{{"t_ms":{end},"ws":"ws{id}","event":"restart_finished"}}"#
            )?;
            return Ok(1);
        }
    }
    let roll = rng.range(0, 1000);
    if roll < 8 && g.cycle_until.is_none() {
        // A platform restart (config PUT, health sweep, reconciler...).
        g.ws.observe_restart_started(t);
        g.cycle_until = Some(t + rng.range(2_000, 30_000));
        writeln!(
            out,
            r#"{{"t_ms":{t},"ws":"ws{id}","event":"restart_started"}}"#
        )?;
        return Ok(1);
    }
    if roll < 800 {
        if g.cycle_until.is_some() {
            return Ok(0); // the agent is down during the cycle
        }
        // As replay reads a heartbeat line: the first after the row lost
        // its URL stands for the new agent's registration.
        if g.ws.url_registered() {
            g.ws.heartbeat(t);
        } else {
            g.ws.register(t);
        }
        writeln!(out, r#"{{"t_ms":{t},"ws":"ws{id}","event":"heartbeat"}}"#)?;
        return Ok(1);
    }
    // A failed A2A request and its decision, answered as it asks.
    g.next_req += 1;
    let req = g.next_req;
    writeln!(
        out,
        r#"{{"t_ms":{t},"ws":"ws{id}","event":"a2a_failed","req":"r{req}"}}"#
    )?;
    let mut lines = 1;
    let mut now = t;
    let (mut d, first) = begin(policy, &mut g.ws, now);
    let mut step = Ok(first);
    let end = loop {
        match step.expect("generator drives the decision correctly") {
            Err(end) => break end,
            Ok(livecheck::Step::Wake { at: w, .. }) => {
                now = w;
                step = advance(policy, &mut g.ws, &mut d, now, Input::Timer);
            }
            Ok(livecheck::Step::Probe) => {
                now += rng.range(1, 60);
                let r = rng.range(0, 100);
                let (result, text) = if r < 55 {
                    (ProbeResult::Running, "running")
                } else if r < 90 {
                    (ProbeResult::NotRunning, "not_running")
                } else {
                    (ProbeResult::Error, "error")
                };
                writeln!(
                    out,
                    r#"{{"t_ms":{now},"ws":"ws{id}","event":"probe","req":"r{req}","result":"{text}"}}"#
                )?;
                lines += 1;
                step = advance(policy, &mut g.ws, &mut d, now, Input::Probe(result));
            }
            Ok(other) => unreachable!("advance hands back only probes and wakes: {other:?}"),
        }
    };
    g.now = now;
    if end.verdict == Verdict::Dead && end.restart == Some(RestartOutcome::Started) {
        // The detector's restart: the platform runs the cycle.
        g.cycle_until = Some(now + rng.range(2_000, 30_000));
    }
    Ok(lines)
}

/// Generates (or reuses) a log of at least `target` lines; returns its path
/// and exact line count.
fn generate(target: u64) -> (PathBuf, u64) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("create target/bench-data");
    let path = dir.join(format!("replay-{target}-v{GEN}.jsonl"));
    if let Ok(f) = File::open(&path) {
        let n = BufReader::new(f).lines().count() as u64;
        if n >= target {
            return (path, n);
        }
    }
    let policy = Policy::load(&policy_path()).expect("policy loads");
    let tmp = path.with_extension("tmp");
    let mut out = BufWriter::new(File::create(&tmp).expect("create log"));
    let mut rng = Rng(0x5EED_2950);
    let mut gens: Vec<Gen> = (0..WORKSPACES)
        .map(|_| Gen {
            ws: Workspace::default(),
            now: 0,
            cycle_until: None,
            next_req: 0,
        })
        .collect();
    let mut lines = 0u64;
    for (id, g) in gens.iter_mut().enumerate() {
        if id % 100 == 7 {
            g.ws.set_facts(Facts {
                external_runtime: true,
                ..g.ws.facts()
            });
            writeln!(
                out,
                r#"{{"t_ms":0,"ws":"ws{id}","event":"workspace","runtime":"external"}}"#
            )
            .unwrap();
            lines += 1;
        }
    }
    // Interleave workspaces in time order of their next action.
    let mut heap: BinaryHeap<Reverse<(Ms, usize)>> = (0..WORKSPACES)
        .map(|id| Reverse((rng.range(0, 10_000), id)))
        .collect();
    while lines < target {
        let Reverse((t, id)) = heap.pop().expect("never empty");
        let g = &mut gens[id];
        g.now = g.now.max(t);
        lines += act(&policy, id, g, &mut rng, &mut out).expect("write log");
        // Heartbeats every ~10 s; requests fail now and then.
        let next = g.now + rng.range(500, 12_000);
        heap.push(Reverse((next, id)));
    }
    out.flush().unwrap();
    drop(out);
    std::fs::rename(&tmp, &path).expect("rename log");
    (path, lines)
}

/// How the peak RSS was measured.
enum Meter {
    /// GNU time's "Maximum resident set size" (exact).
    GnuTime,
    /// The last `VmHWM` read from /proc while the process ran (GNU time is
    /// not installed: `apt-get install time` for the exact figure).
    ProcPoll,
}

/// A child process that is killed and reaped when dropped, so a bench that
/// fails while it runs never leaves it behind. It leads its own process
/// group, which is killed too (GNU time's child is the replay itself).
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            #[cfg(target_os = "linux")]
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill(2) with a negative pid signals the process
                // group this child leads (spawned with `process_group(0)`);
                // no memory is shared with the callee.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Peak RSS (KiB) and wall time of `livecheck replay` on `log`.
fn peak_rss(log: &Path) -> (u64, Duration, Meter) {
    // LIVECHECK_BENCH_POLL_RSS=1 forces the /proc fallback (to check it).
    let time = Path::new(match std::env::var_os("LIVECHECK_BENCH_POLL_RSS") {
        Some(_) => "/nonexistent/time",
        None => "/usr/bin/time",
    });
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(env!("CARGO_BIN_EXE_livecheck"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_livecheck"))
    };
    cmd.arg("replay")
        .arg("--policy")
        .arg(policy_path())
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let start = Instant::now();
    let mut guard = Reaped(Some(cmd.spawn().expect("run livecheck replay")));
    let child = guard.0.as_mut().expect("spawned");
    let mut hwm = 0u64;
    if !time.exists() {
        let status = format!("/proc/{}/status", child.id());
        while child.try_wait().expect("wait").is_none() {
            if let Ok(s) = std::fs::read_to_string(&status) {
                if let Some(v) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                    let kib = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    hwm = hwm.max(kib);
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let child = guard.0.take().expect("not yet reaped");
    let out = child.wait_with_output().expect("wait for livecheck");
    let wall = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "livecheck replay failed: {err}");
    if !time.exists() {
        assert!(hwm > 0, "could not read VmHWM from /proc");
        return (hwm, wall, Meter::ProcPoll);
    }
    let kib = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no max RSS in /usr/bin/time output: {err}"));
    (kib, wall, Meter::GnuTime)
}

fn bench(c: &mut Criterion) {
    let policy = Policy::load(&policy_path()).expect("policy loads");
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // once as a smoke test, on a tenth of the log.
    let benching = std::env::args().any(|a| a == "--bench");
    let full = if benching { 1_000_000 } else { 100_000 };
    if !benching {
        println!("replay bench in test mode: {full}-line log (cargo bench uses 1,000,000)");
    }
    let (log, lines) = generate(full);
    let (small, small_lines) = generate(full / 10);

    // The log is valid, and says something: count the outcomes once.
    let mut outcomes = Vec::new();
    livecheck::replay::run(
        &policy,
        &log,
        BufReader::new(File::open(&log).unwrap()),
        &mut outcomes,
    )
    .unwrap_or_else(|e| panic!("generated log must replay cleanly: {e}"));
    let text = String::from_utf8(outcomes).unwrap();
    let count = |w: &str| text.matches(w).count();
    println!(
        "replay log: {} lines, {} decisions: {} dead, {} not_dead, {} queued, {} skipped",
        lines,
        text.lines().count(),
        count(r#""outcome":"dead""#),
        count(r#""outcome":"not_dead""#),
        count(r#""outcome":"queued""#),
        count(r#""outcome":"skipped""#),
    );

    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(lines));
    g.sample_size(10);
    g.bench_function("v2_log_to_sink", |b| {
        b.iter(|| {
            let f = File::open(&log).unwrap();
            livecheck::replay::run(
                &policy,
                &log,
                BufReader::with_capacity(1 << 16, f),
                &mut std::io::sink(),
            )
            .unwrap()
        })
    });
    g.finish();

    for (path, n) in [(&small, small_lines), (&log, lines)] {
        let (kib, wall, meter) = peak_rss(path);
        let how = match meter {
            Meter::GnuTime => "/usr/bin/time -v",
            Meter::ProcPoll => "VmHWM polled; apt-get install time for the exact figure",
        };
        println!(
            "livecheck replay on {n} lines: peak RSS {kib} KiB ({:.1} MiB, {how}), wall {:.2} s, {:.2} M lines/s",
            kib as f64 / 1024.0,
            wall.as_secs_f64(),
            n as f64 / wall.as_secs_f64() / 1e6
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
