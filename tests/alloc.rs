//! Zero heap allocations on the decision path.
//!
//! A counting global allocator counts allocations (and reallocations) made
//! by the current thread while counting is switched on; each test switches
//! it on only around `Decision::step` calls, after the policy is loaded.
//! The paths cover every suspension point of V2 (start, fresh-heartbeat
//! polls, first probe, re-probe sleep, re-probe, verdict) and every kind of
//! verdict, including a declaration of death with its restart request.

use livecheck::decision::{Decision, Input, ProbeResult, Step, Verdict};
use livecheck::policy::Policy;
use livecheck::restart::{DropReason, RestartOutcome, RestartSource};
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

/// Drives one decision from `now`, answering probes with `answers`, timers
/// at their instants; returns the verdict, the probe count and the number of
/// wakes, all without allocating.
fn drive(
    policy: &Policy,
    ws: &mut Workspace,
    mut now: Ms,
    answers: &[ProbeResult],
) -> (Verdict, u8, usize) {
    let mut d = Decision::new();
    let mut next = 0;
    let mut wakes = 0;
    let mut step = d.step(policy, ws, now, Input::Start);
    loop {
        match step {
            Ok(Step::Done(v)) => return (v, d.probes(), wakes),
            Ok(Step::Probe) => {
                step = d.step(policy, ws, now, Input::Probe(answers[next]));
                next += 1;
            }
            Ok(Step::Wake(t)) => {
                wakes += 1;
                now = t;
                step = d.step(policy, ws, now, Input::Timer);
            }
            Err(e) => panic!("{e}"),
        }
    }
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
    // declare dead, restart requested (dropped by the debounce).
    let mut ws = Workspace::default();
    ws.restart
        .request(&v2.restart, T0 - 1_000, RestartSource::Other);
    ws.restart.cycle_finished(T0 - 500);
    let nr = [ProbeResult::NotRunning, ProbeResult::NotRunning];
    let ((first, second), n) = allocations(|| {
        let a = drive(&v2, &mut ws, T0, &nr);
        let b = drive(&v2, &mut ws, T0 + 3_000, &nr);
        (a, b)
    });
    assert_eq!(n, 0, "allocations on the V2 settling path");
    assert_eq!(first.1, 2);
    assert_eq!(first.2, 5, "4 polls + re-probe sleep");
    assert_eq!(
        second.0,
        Verdict::Dead(RestartOutcome::Dropped(DropReason::Debounce))
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
    assert_eq!(r, (Verdict::Queued, 2, 1));
}

#[test]
fn v2_declare_dead_with_restart_started_allocates_nothing() {
    let v2 = load("v2-2950");
    let mut ws = Workspace::default();
    ws.heartbeat(T0 - 20_000);
    let (r, n) = allocations(|| drive(&v2, &mut ws, T0, &[ProbeResult::NotRunning]));
    assert_eq!(n, 0);
    assert_eq!(r.0, Verdict::Dead(RestartOutcome::Started));
    assert!(ws.restart.is_running());
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
        let dead_or_error = if name == "v0-pre-2931" {
            Verdict::Dead(RestartOutcome::Started)
        } else {
            Verdict::NotDead(livecheck::decision::NotDeadReason::ProbeError)
        };
        assert_eq!(r.1 .0, dead_or_error, "{name}");
        assert_eq!(
            r.0 .0,
            Verdict::NotDead(livecheck::decision::NotDeadReason::Running)
        );
    }
}
