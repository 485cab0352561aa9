//! Cost of one whole decision through `Decision::step`, per policy.
//!
//! Each iteration copies a prepared workspace (a plain `Copy` value) and
//! drives one decision to its verdict, answering probes, firing timers at
//! their instants and resuming a strike's declaration section, exactly as a
//! driver would; a declaration's `RestartByID` (debounce check, then
//! coalescing) is part of the measured path. Run with
//! `cargo bench --bench decision` (short measurement times are the default
//! here; criterion flags such as `--measurement-time 3` override them).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use livecheck::decision::{Decision, Input, NotDeadReason, ProbeResult, Step, Verdict};
use livecheck::policy::Policy;
use livecheck::restart::{RestartOutcome, RestartSource};
use livecheck::workspace::{Stored, StrikeRecord, Workspace};
use livecheck::Ms;
use std::path::Path;
use std::time::Duration;

const T0: Ms = 10_000_000;

fn load(name: &str) -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/policies")
        .join(format!("{name}.toml"));
    Policy::load(&path).expect("shipped policy loads")
}

/// How a driven decision ended: its verdict and, for a declaration, the
/// fate of the `RestartByID` it launched.
type End = (Verdict, Option<RestartOutcome>);

/// Drives one decision at `now` to its verdict; a declaration launches
/// `RestartByID` (its two sections back to back).
#[inline(never)]
fn drive(policy: &Policy, ws: &mut Workspace, mut now: Ms, answers: &[ProbeResult]) -> End {
    let (mut d, first) = Decision::start(policy, ws, now);
    let mut next = 0;
    let mut step = Ok(first);
    loop {
        match step {
            Ok(Step::Done(v)) => {
                let restart = (v == Verdict::Dead).then(|| {
                    let r = &policy.restart;
                    match ws
                        .restart_mut()
                        .debounce_check(r, now, RestartSource::Detector)
                    {
                        Err(reason) => RestartOutcome::Dropped(reason),
                        Ok(()) => ws.restart_mut().coalesce(now),
                    }
                });
                return (v, restart);
            }
            Ok(Step::Yield) => step = d.step(policy, ws, now, Input::Resume),
            Ok(Step::Probe) => {
                step = d.step(policy, ws, now, Input::Probe(answers[next]));
                next += 1;
            }
            Ok(Step::Wake { at: t, .. }) => {
                now = t;
                step = d.step(policy, ws, now, Input::Timer);
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let v0 = load("v0-pre-2931");
    let v1 = load("v1-2931");
    let v2 = load("v2-2950");
    let v3 = load("v3-proposed");
    let nr2 = [ProbeResult::NotRunning, ProbeResult::NotRunning];
    let nr1 = [ProbeResult::NotRunning];

    let mut recent = Workspace::default();
    recent.heartbeat(T0 - 1_000);

    let mut settling = Workspace::default();
    settling.observe_restart_started(T0 - 5_000);
    settling.observe_restart_finished(T0 - 1_000);

    // A recent heartbeat and one strike already counted: "not running" is
    // strike 2, declared in its own lock section.
    let mut struck = recent;
    struck = Workspace::restore(Stored {
        strikes: Some(StrikeRecord {
            count: 1,
            first: T0 - 2_000,
        }),
        ..struck.stored()
    });

    let mut g = c.benchmark_group("decision");

    // V2: recent heartbeat, first probe false, 500 ms sleep, re-probe false,
    // enqueue (the path of the reference's 202 scenario).
    // Each path is checked once before it is measured.
    let check = |p: &Policy, mut ws: Workspace, answers: &[ProbeResult], want: Verdict| {
        let restart = (want == Verdict::Dead).then_some(RestartOutcome::Started);
        assert_eq!(
            drive(p, &mut ws, T0, answers),
            (want, restart),
            "{}",
            p.name
        );
    };
    check(&v2, recent, &nr2, Verdict::Queued);
    check(
        &v2,
        settling,
        &nr2,
        Verdict::NotDead(NotDeadReason::Strike(1)),
    );
    check(&v2, Workspace::default(), &nr1, Verdict::Dead);
    check(
        &v1,
        recent,
        &nr1,
        Verdict::NotDead(NotDeadReason::Strike(1)),
    );
    check(&v0, Workspace::default(), &nr1, Verdict::Dead);
    check(
        &v3,
        recent,
        &nr2,
        Verdict::NotDead(NotDeadReason::Strike(1)),
    );
    check(
        &v3,
        settling,
        &nr2,
        Verdict::NotDead(NotDeadReason::Booting),
    );
    check(&v3, Workspace::default(), &nr2, Verdict::Dead);
    check(&v1, struck, &nr1, Verdict::Dead);
    g.bench_function("v2_probe_reprobe_queued", |b| {
        b.iter(|| {
            let mut ws = recent;
            drive(black_box(&v2), &mut ws, black_box(T0), &nr2)
        })
    });

    // V2 in the settle window, no heartbeat: four fresh-heartbeat polls,
    // first probe, re-probe, strike 1.
    g.bench_function("v2_settling_fresh_wait_probe_reprobe_strike", |b| {
        b.iter(|| {
            let mut ws = settling;
            drive(black_box(&v2), &mut ws, black_box(T0), &nr2)
        })
    });

    // V2, nothing recent: one probe, declare dead, restart request started.
    g.bench_function("v2_probe_declare_dead_restart", |b| {
        b.iter(|| {
            let mut ws = Workspace::default();
            drive(black_box(&v2), &mut ws, black_box(T0), &nr1)
        })
    });

    // V1: recent heartbeat, one probe, strike 1.
    g.bench_function("v1_probe_strike", |b| {
        b.iter(|| {
            let mut ws = recent;
            drive(black_box(&v1), &mut ws, black_box(T0), &nr1)
        })
    });

    // V1: recent heartbeat, one probe, strike 2, the declaration's own
    // section, restart request started.
    g.bench_function("v1_probe_strike_declare_dead_restart", |b| {
        b.iter(|| {
            let mut ws = struck;
            drive(black_box(&v1), &mut ws, black_box(T0), &nr1)
        })
    });

    // V0: one probe, declare dead, restart request started.
    g.bench_function("v0_probe_declare_dead_restart", |b| {
        b.iter(|| {
            let mut ws = Workspace::default();
            drive(black_box(&v0), &mut ws, black_box(T0), &nr1)
        })
    });
    // v3: recent heartbeat, probe false, re-probe false, strike 1.
    g.bench_function("v3_probe_reprobe_strike", |b| {
        b.iter(|| {
            let mut ws = recent;
            drive(black_box(&v3), &mut ws, black_box(T0), &nr2)
        })
    });

    // v3 settling, the new agent not heard from: four polls, two probes,
    // not dead (booting).
    g.bench_function("v3_settling_fresh_wait_probe_reprobe_booting", |b| {
        b.iter(|| {
            let mut ws = settling;
            drive(black_box(&v3), &mut ws, black_box(T0), &nr2)
        })
    });

    // v3, nothing recent: probe, re-probe, re-check, declare dead, restart started.
    g.bench_function("v3_probe_reprobe_declare_dead_restart", |b| {
        b.iter(|| {
            let mut ws = Workspace::default();
            drive(black_box(&v3), &mut ws, black_box(T0), &nr2)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
