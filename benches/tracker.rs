//! Decisions per second through the tracker, against the bare decision
//! machine run in the same bench as the baseline.
//!
//! One "decision" is the common production case: a forwarded request failed
//! and the probe says the container is running — `begin` (guards, pre-probe
//! basis, `Step::Probe`) then the probe answer (strike reset,
//! `NotDead(Running)`): two decision steps. Workspace ids are 36-character
//! UUID-like strings, as upstream.
//!
//! - `bare/one`: `Decision::step` twice on one local `Workspace` (no lock,
//!   no lookup): the machine's own cost.
//! - `bare/map/N`: the same plus a `HashMap<String, Workspace>` lookup over
//!   N workspaces: the single-threaded equivalent of the tracker.
//! - `bare/two_threads`: two threads, each running the bare machine on its
//!   own workspace: what two cores give at all on this machine.
//! - `tracker/one_thread/N`: `Tracker::begin(id)` + `Request::probe_answer`
//!   over N workspaces (shard lookup + two workspace locks).
//! - `tracker/cached_handle`: the same through a cached `WorkspaceRef` (no
//!   map lookup: what a proxy holding the handle per connection pays).
//! - `tracker/two_threads_distinct/N`: two threads, each on its own half of
//!   N workspaces (throughput counts both threads' decisions).
//! - `tracker/two_threads_hot`: two threads on one workspace.
//! - `tracker/restart_by_id_debounced`: `RestartByID` inside the debounce
//!   (dropped in its first lock section), through a cached handle.
//! - `tracker/restart_by_id_coalesced`: `RestartByID` into a cycle running
//!   past the debounce (both lock sections: check, then coalesce).
//!
//! Run: `cargo bench --bench tracker` (short runs are configured here:
//! 1 s warm-up, 3 s measurement).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use livecheck::decision::{Decision, Input, ProbeResult, Step};
use livecheck::restart::{DropReason, RestartOutcome, RestartSource};
use livecheck::tracker::Tracker;
use livecheck::{Ms, Policy, Workspace};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const NOW: Ms = 10_000_000;
const SIZES: [usize; 2] = [10, 100_000];

fn policy() -> Policy {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies/v2-2950.toml");
    Policy::load(&p).expect("shipped policy loads")
}

fn ids(n: usize) -> Vec<String> {
    (0..n as u64)
        .map(|i| {
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                i.wrapping_mul(2_654_435_761) & 0xffff_ffff,
                i & 0xffff,
                i & 0xfff,
                (i >> 12) & 0xfff,
                i.wrapping_mul(40_503)
            )
        })
        .collect()
}

/// The bare machine: one decision on `ws`.
#[inline(always)]
fn bare_decision(policy: &Policy, ws: &mut Workspace) -> Step {
    let (mut d, s) = Decision::start(policy, ws, NOW);
    debug_assert_eq!(s, Step::Probe);
    d.step(policy, ws, NOW, Input::Probe(ProbeResult::Running))
        .unwrap()
}

/// One decision through the tracker.
#[inline(always)]
fn tracked_decision(t: &Tracker, id: &str) -> Step {
    let (mut r, s) = t.begin(id, NOW);
    debug_assert_eq!(s, Step::Probe);
    r.probe_answer(NOW, ProbeResult::Running).unwrap()
}

fn tracker_with(n: usize) -> (Tracker, Vec<String>) {
    let t = Tracker::new(policy());
    let ids = ids(n);
    for id in &ids {
        t.heartbeat(id, NOW - 60_000);
    }
    (t, ids)
}

/// Two threads, each running `iters` decisions on its own id list;
/// returns the wall time from a common start to both finishing.
fn two_threads(iters: u64, t: &Tracker, a: &[&str], b: &[&str]) -> Duration {
    let barrier = Barrier::new(3);
    let run = |ids: &[&str]| {
        barrier.wait();
        let mut k = 0;
        for _ in 0..iters {
            black_box(tracked_decision(t, ids[k]));
            k += 1;
            if k == ids.len() {
                k = 0;
            }
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| run(a));
        s.spawn(|| run(b));
        barrier.wait();
        let start = Instant::now();
        // The scope joins both threads before returning.
        start
    })
    .elapsed()
}

fn bench(c: &mut Criterion) {
    let policy = policy();

    let mut g = c.benchmark_group("bare");
    g.throughput(Throughput::Elements(1));
    let mut ws = Workspace::default();
    ws.heartbeat(NOW - 60_000);
    g.bench_function("one", |b| {
        b.iter(|| black_box(bare_decision(&policy, black_box(&mut ws))))
    });
    for n in SIZES {
        let ids = ids(n);
        let mut map: HashMap<String, Workspace> = ids.iter().map(|id| (id.clone(), ws)).collect();
        let mut k = 0;
        g.bench_with_input(BenchmarkId::new("map", n), &n, |b, _| {
            b.iter(|| {
                let w = map.get_mut(ids[k].as_str()).expect("known");
                k += 1;
                if k == ids.len() {
                    k = 0;
                }
                black_box(bare_decision(&policy, w))
            })
        });
    }
    // What two cores give at all: each thread runs the bare machine on its
    // own workspace (no sharing), so the tracker's two-thread numbers can be
    // read against the machine's own scaling.
    g.throughput(Throughput::Elements(2));
    g.bench_function("two_threads", |b| {
        b.iter_custom(|iters| {
            let barrier = Barrier::new(3);
            let run = || {
                let mut ws = ws;
                barrier.wait();
                for _ in 0..iters {
                    black_box(bare_decision(&policy, black_box(&mut ws)));
                }
            };
            std::thread::scope(|s| {
                s.spawn(run);
                s.spawn(run);
                barrier.wait();
                Instant::now()
            })
            .elapsed()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tracker");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let (t, ids) = tracker_with(n);
        let mut k = 0;
        g.bench_with_input(BenchmarkId::new("one_thread", n), &n, |b, _| {
            b.iter(|| {
                let s = tracked_decision(&t, &ids[k]);
                k += 1;
                if k == ids.len() {
                    k = 0;
                }
                black_box(s)
            })
        });
    }
    {
        let (t, _) = tracker_with(1);
        let w = t.workspace(&ids(1)[0]);
        g.bench_function("cached_handle", |b| {
            b.iter(|| {
                let (mut r, _) = w.begin(NOW);
                black_box(r.probe_answer(NOW, ProbeResult::Running).unwrap())
            })
        });
    }
    g.throughput(Throughput::Elements(2));
    for n in SIZES {
        let (t, ids) = tracker_with(n);
        let a: Vec<&str> = ids.iter().step_by(2).map(String::as_str).collect();
        let b_: Vec<&str> = ids.iter().skip(1).step_by(2).map(String::as_str).collect();
        g.bench_with_input(BenchmarkId::new("two_threads_distinct", n), &n, |b, _| {
            b.iter_custom(|iters| two_threads(iters, &t, &a, &b_))
        });
    }
    {
        let (t, ids) = tracker_with(1);
        let hot = [ids[0].as_str()];
        g.bench_function("two_threads_hot", |b| {
            b.iter_custom(|iters| two_threads(iters, &t, &hot, &hot))
        });
    }
    g.throughput(Throughput::Elements(1));
    {
        let (t, ids) = tracker_with(1);
        let w = t.workspace(&ids[0]);
        w.observe_restart_started(NOW - 1_000);
        w.observe_restart_finished(NOW - 500);
        let dropped = RestartOutcome::Dropped(DropReason::Debounce);
        assert_eq!(w.restart_by_id(NOW, RestartSource::Detector), dropped);
        g.bench_function("restart_by_id_debounced", |b| {
            b.iter(|| black_box(w.restart_by_id(black_box(NOW), RestartSource::Detector)))
        });
    }
    {
        let (t, ids) = tracker_with(1);
        let w = t.workspace(&ids[0]);
        // A cycle still running 70 s after its stamp: every request passes
        // the debounce and coalesces.
        w.observe_restart_started(NOW - 70_000);
        assert_eq!(
            w.restart_by_id(NOW, RestartSource::Other),
            RestartOutcome::Coalesced
        );
        g.bench_function("restart_by_id_coalesced", |b| {
            b.iter(|| black_box(w.restart_by_id(black_box(NOW), RestartSource::Other)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
