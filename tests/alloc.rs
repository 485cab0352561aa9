//! Zero heap allocations on the decision path.
//!
//! A counting global allocator counts allocations (and reallocations) made
//! by the current thread while counting is switched on; each test switches
//! it on only around `Decision::step` calls, after the policy is loaded.
//! The paths cover every suspension point of V2 (start, fresh-heartbeat
//! polls, first probe, re-probe sleep, re-probe, verdict), a strike's
//! declaration in its own lock section (yield, resume), v3's re-check, and
//! every kind of verdict, including a declaration of death with the
//! `RestartByID` it launches (both sections) and the drain loop's sections.

use livecheck::decision::{
    Decision, Input, NotDeadReason, ProbeResult, SkipReason, Step, Timer, Verdict,
};
use livecheck::policy::Policy;
use livecheck::restart::{DropReason, LoopTop, RestartOutcome, RestartSource};
use livecheck::workspace::Workspace;
use livecheck::Ms;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while thread-locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let r = std::hint::black_box(f());
    COUNTING.with(|on| on.set(false));
    (r, COUNT.with(|c| c.get()))
}

fn load(name: &str) -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/policies")
        .join(format!("{name}.toml"));
    Policy::load(&path).unwrap()
}

const T0: Ms = 10_000_000;

/// How a driven decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct End {
    verdict: Verdict,
    /// The fate of the `RestartByID` a declaration launched.
    restart: Option<RestartOutcome>,
    probes: u8,
    wakes: usize,
    yields: usize,
}

/// Drives one decision from `now`, answering probes with `answers`, timers
/// at their instants, a yield with Resume; a declaration launches
/// `RestartByID` (debounce check, then coalescing). A cycle it starts is
/// left running (see [`drain`]). All without allocating.
fn drive(policy: &Policy, ws: &mut Workspace, mut now: Ms, answers: &[ProbeResult]) -> End {
    let (mut d, first) = Decision::start(policy, ws, now);
    let mut next = 0;
    let (mut wakes, mut yields) = (0, 0);
    let mut step = Ok(first);
    loop {
        match step {
            Ok(Step::Done(verdict)) => {
                let restart = (verdict == Verdict::Dead).then(|| {
                    let r = &policy.restart;
                    match ws
                        .restart_mut()
                        .debounce_check(r, now, RestartSource::Detector)
                    {
                        Err(reason) => RestartOutcome::Dropped(reason),
                        Ok(()) => ws.restart_mut().coalesce(now),
                    }
                });
                return End {
                    verdict,
                    restart,
                    probes: d.probes(),
                    wakes,
                    yields,
                };
            }
            Ok(Step::Probe) => {
                step = d.step(policy, ws, now, Input::Probe(answers[next]));
                next += 1;
            }
            Ok(Step::Wake { at: t, .. }) => {
                wakes += 1;
                now = t;
                step = d.step(policy, ws, now, Input::Timer);
            }
            Ok(Step::Yield) => {
                yields += 1;
                step = d.step(policy, ws, now, Input::Resume);
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// The drain loop of a started cycle at `now`: its top until nothing is
/// pending (each iteration marks the row), then its exit. Returns the
/// cycles run.
fn drain(ws: &mut Workspace, now: Ms) -> usize {
    let mut cycles = 0;
    while ws.loop_top(now) == LoopTop::Run {
        ws.mark_provisioning();
        cycles += 1;
    }
    ws.restart_mut().exit(now);
    cycles
}

#[test]
fn counting_allocator_sees_allocations() {
    // The instrument works: a Vec allocates under counting.
    let (v, n) = allocations(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1, "the counting allocator counted nothing");
}

#[test]
fn v2_full_decision_with_fresh_wait_and_declare_dead_allocates_nothing() {
    let v2 = load("v2-2950");
    // Settling, no heartbeat: four fresh polls, give up at 2 s, first
    // probe, re-probe sleep, re-probe, strike 1; then again: strike 2 ->
    // yield, declare dead in its own section, RestartByID launched
    // (dropped by the debounce).
    let mut ws = Workspace::default();
    ws.observe_restart_started(T0 - 1_000);
    ws.observe_restart_finished(T0 - 500);
    let nr = [ProbeResult::NotRunning, ProbeResult::NotRunning];
    let ((first, second), n) = allocations(|| {
        let a = drive(&v2, &mut ws, T0, &nr);
        let b = drive(&v2, &mut ws, T0 + 3_000, &nr);
        (a, b)
    });
    assert_eq!(n, 0, "allocations on the V2 settling path");
    assert_eq!(first.probes, 2);
    assert_eq!(first.wakes, 5, "4 polls + re-probe sleep");
    assert_eq!(first.verdict, Verdict::NotDead(NotDeadReason::Strike(1)));
    assert_eq!(second.verdict, Verdict::Dead);
    assert_eq!(second.yields, 1, "the declaration's own section");
    assert_eq!(
        second.restart,
        Some(RestartOutcome::Dropped(DropReason::Debounce))
    );
}

#[test]
fn v2_recent_heartbeat_reprobe_and_queue_allocates_nothing() {
    let v2 = load("v2-2950");
    let mut ws = Workspace::default();
    ws.heartbeat(T0);
    let nr = [ProbeResult::NotRunning, ProbeResult::NotRunning];
    let (r, n) = allocations(|| drive(&v2, &mut ws, T0, &nr));
    assert_eq!(n, 0);
    assert_eq!((r.verdict, r.probes, r.wakes), (Verdict::Queued, 2, 1));
}

#[test]
fn v2_declare_dead_with_restart_started_allocates_nothing() {
    let v2 = load("v2-2950");
    let mut ws = Workspace::default();
    ws.heartbeat(T0 - 20_000);
    let ((r, cycles), n) = allocations(|| {
        let r = drive(&v2, &mut ws, T0, &[ProbeResult::NotRunning]);
        assert!(ws.restart().is_running());
        (r, drain(&mut ws, T0 + 4_000))
    });
    assert_eq!(n, 0);
    assert_eq!(r.verdict, Verdict::Dead);
    assert_eq!(r.restart, Some(RestartOutcome::Started));
    assert_eq!(cycles, 1);
    assert_eq!(ws.restart().started_at(), Some(T0));
    assert!(!ws.restart().is_running(), "the drain loop exited");
}

#[test]
fn v0_and_v1_decisions_allocate_nothing() {
    for name in ["v0-pre-2931", "v1-2931"] {
        let p = load(name);
        let mut ws = Workspace::default();
        ws.heartbeat(T0);
        let (r, n) = allocations(|| {
            let a = drive(&p, &mut ws, T0, &[ProbeResult::Running]);
            let b = drive(&p, &mut ws, T0 + 1, &[ProbeResult::ErrorNotRunning]);
            // V0: skipped (its own restart runs); V1: strike 1.
            let c = drive(&p, &mut ws, T0 + 2, &[ProbeResult::NotRunning]);
            (a, b, c)
        });
        assert_eq!(n, 0, "{name}");
        assert_eq!(r.0.verdict, Verdict::NotDead(NotDeadReason::Running));
        if name == "v0-pre-2931" {
            assert_eq!(r.1.verdict, Verdict::Dead);
            assert_eq!(r.1.restart, Some(RestartOutcome::Started));
            assert_eq!(r.2.verdict, Verdict::Skipped(SkipReason::Restarting));
        } else {
            assert_eq!(r.1.verdict, Verdict::NotDead(NotDeadReason::ProbeError));
            assert_eq!(r.2.verdict, Verdict::NotDead(NotDeadReason::Strike(1)));
        }
    }
}

#[test]
fn v3_strikes_declaration_section_and_recheck_allocate_nothing() {
    let v3 = load("v3-proposed");
    let nr = [ProbeResult::NotRunning, ProbeResult::NotRunning];
    // Settling with the new agent registered (fresh): two double
    // "not running" strike twice; the second yields, the re-check finds no
    // restart and declares; the detector's restart bypasses the debounce.
    let mut ws = Workspace::default();
    ws.observe_restart_started(T0 - 30_000);
    ws.observe_restart_finished(T0 - 29_500);
    ws.register(T0 - 29_000);
    let ((a, b), n) = allocations(|| {
        let a = drive(&v3, &mut ws, T0, &nr);
        let b = drive(&v3, &mut ws, T0 + 1_000, &nr);
        (a, b)
    });
    assert_eq!(n, 0, "allocations on the v3 strike path");
    assert_eq!(a.verdict, Verdict::NotDead(NotDeadReason::Strike(1)));
    assert_eq!((b.verdict, b.yields), (Verdict::Dead, 1));
    assert_eq!(b.restart, Some(RestartOutcome::Started));

    // A restart begins while the decision sleeps before its re-probe: the
    // re-check stands down.
    let mut ws = Workspace::default();
    let (steps, n) = allocations(|| {
        let (mut d, s1) = Decision::start(&v3, &mut ws, T0);
        let s1 = Ok(s1);
        let s2 = d.step(&v3, &mut ws, T0, Input::Probe(ProbeResult::NotRunning));
        ws.observe_restart_started(T0 + 100);
        ws.observe_restart_finished(T0 + 300);
        let s3 = d.step(&v3, &mut ws, T0 + 500, Input::Timer);
        let s4 = d.step(
            &v3,
            &mut ws,
            T0 + 500,
            Input::Probe(ProbeResult::NotRunning),
        );
        [s1, s2, s3, s4]
    });
    assert_eq!(n, 0);
    assert_eq!(
        steps,
        [
            Ok(Step::Probe),
            Ok(Step::Wake {
                at: T0 + 500,
                timer: Timer::Reprobe
            }),
            Ok(Step::Probe),
            Ok(Step::Done(Verdict::Skipped(SkipReason::RestartRecheck))),
        ]
    );
}
