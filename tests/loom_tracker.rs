#![cfg(loom)]
//! loom tests of the tracker's lock discipline.
//!
//! Run (scripts/test-all does):
//! `LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom
//!  cargo test --release --test loom_tracker`
//!
//! Every test runs 2–3 threads against one [`Tracker`] under every schedule
//! loom explores (preemptions bounded by `LOOM_MAX_PREEMPTIONS`). Each thread
//! runs a list of [`Task`]s the way a proxy would: a failed request is driven
//! to its verdict (probe answers and timer wakes fed back one call at a time,
//! so other threads interleave between them), heartbeats and restart events
//! are single calls.
//!
//! Besides its own invariant (in its doc comment), every test checks
//! **linearizability at call granularity**: what every thread saw and the
//! workspace's final state (shared state, clock, counters) must equal the
//! result of *some* serial order of the same calls, computed beforehand by
//! driving the plain decision machine ([`Decision::step`] on a bare
//! [`Workspace`]) through every interleaving. A lost update, a lost
//! heartbeat, a decision judged against a stale copy or a restart claimed
//! outside the declaration's critical section would produce a result no
//! serial order produces.

use livecheck::decision::{Decision, Input, NotDeadReason, ProbeResult, SkipReason, Step, Verdict};
use livecheck::restart::{CycleEnd, DropReason, RestartOutcome, RestartSource};
use livecheck::tracker::{Counters, Tracker, WorkspaceView};
use livecheck::{Ms, Policy, Workspace};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

const WS: &str = "w";

fn shipped(name: &str) -> Policy {
    let p = format!("{}/models/policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Policy::load(Path::new(&p)).expect("shipped policy loads")
}

fn custom(name: &str, toml: &str) -> Policy {
    Policy::parse(name, Path::new(name), toml).expect("test policy is valid")
}

/// One thing a thread does.
#[derive(Clone, Copy, Debug)]
enum Task {
    /// A request fails at `at`; every probe answers `probe`, every wake is
    /// taken at its instant; driven until the decision is done.
    Fail { at: Ms, probe: ProbeResult },
    /// A heartbeat at this instant.
    Heartbeat(Ms),
    /// A restart request from elsewhere.
    Restart(Ms, RestartSource),
    /// The platform starts a cycle on its own.
    ObserveStart(Ms),
    /// The platform's own cycle ends.
    ObserveEnd(Ms),
    /// The cycle this tracker handed out returns.
    CycleFinished(Ms),
}

/// What a thread saw from one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Out {
    Step(Step),
    Refused,
    Restart(RestartOutcome),
    Cycle(CycleEnd),
    Applied,
}

/// The calls a thread makes, on the tracker or on the reference.
trait World {
    type Req;
    fn begin(&mut self, now: Ms) -> (Self::Req, Step);
    fn feed(&mut self, req: &mut Self::Req, now: Ms, input: Input) -> Option<Step>;
    fn heartbeat(&mut self, now: Ms);
    fn restart(&mut self, now: Ms, source: RestartSource) -> RestartOutcome;
    fn observe_start(&mut self, now: Ms);
    fn observe_end(&mut self, now: Ms);
    fn finished(&mut self, now: Ms) -> CycleEnd;
}

/// The tracker under test.
struct Real(Arc<Tracker>);

impl World for Real {
    type Req = livecheck::tracker::Request;
    fn begin(&mut self, now: Ms) -> (Self::Req, Step) {
        self.0.begin(WS, now)
    }
    fn feed(&mut self, req: &mut Self::Req, now: Ms, input: Input) -> Option<Step> {
        req.step(now, input).ok()
    }
    fn heartbeat(&mut self, now: Ms) {
        self.0.heartbeat(WS, now)
    }
    fn restart(&mut self, now: Ms, source: RestartSource) -> RestartOutcome {
        self.0.request_restart(WS, now, source)
    }
    fn observe_start(&mut self, now: Ms) {
        self.0.observe_restart_started(WS, now)
    }
    fn observe_end(&mut self, now: Ms) {
        self.0.observe_restart_finished(WS, now)
    }
    fn finished(&mut self, now: Ms) -> CycleEnd {
        self.0.restart_finished(WS, now)
    }
}

/// The reference: the plain decision machine and restart coordinator on a
/// bare `Workspace`, plus the tracker's documented rules (clock clamped to
/// the largest accepted `now`, a cycle start clears the URL, counters).
#[derive(Clone)]
struct Plain<'p> {
    policy: &'p Policy,
    ws: Workspace,
    clock: Ms,
    counters: Counters,
}

impl Plain<'_> {
    fn view(&self) -> WorkspaceView {
        WorkspaceView {
            state: self.ws,
            clock: self.clock,
            counters: self.counters,
        }
    }
    fn counted(&mut self, step: Step) {
        if let Step::Done(Verdict::Dead(o)) = step {
            self.counters.declarations += 1;
            if o == RestartOutcome::Started {
                self.counters.restarts_started += 1;
            }
        }
    }
    fn cycle_started(&mut self) {
        self.ws.url_registered = false;
        self.counters.restarts_started += 1;
    }
}

impl World for Plain<'_> {
    type Req = Decision;
    fn begin(&mut self, now: Ms) -> (Decision, Step) {
        let now = now.max(self.clock);
        self.clock = now;
        let mut d = Decision::new();
        let step = d
            .step(self.policy, &mut self.ws, now, Input::Start)
            .expect("a new decision takes Start");
        self.counters.decisions += 1;
        self.counted(step);
        (d, step)
    }
    fn feed(&mut self, d: &mut Decision, now: Ms, input: Input) -> Option<Step> {
        let now = now.max(self.clock);
        let step = d.step(self.policy, &mut self.ws, now, input).ok()?;
        self.clock = now;
        self.counted(step);
        Some(step)
    }
    fn heartbeat(&mut self, now: Ms) {
        self.clock = now.max(self.clock);
        self.ws.heartbeat(self.clock);
        self.counters.heartbeats += 1;
    }
    fn restart(&mut self, now: Ms, source: RestartSource) -> RestartOutcome {
        self.clock = now.max(self.clock);
        let o = self
            .ws
            .restart
            .request(&self.policy.restart, self.clock, source);
        if o == RestartOutcome::Started {
            self.cycle_started();
        }
        o
    }
    fn observe_start(&mut self, now: Ms) {
        self.clock = now.max(self.clock);
        self.ws.restart.observe_cycle_start(self.clock);
        self.cycle_started();
    }
    fn observe_end(&mut self, now: Ms) {
        self.clock = now.max(self.clock);
        self.ws.restart.observe_cycle_end(self.clock);
    }
    fn finished(&mut self, now: Ms) -> CycleEnd {
        self.clock = now.max(self.clock);
        let e = self.ws.restart.cycle_finished(self.clock);
        if e == CycleEnd::Looped {
            self.cycle_started();
        }
        e
    }
}

/// One thread's progress through its tasks: one call per `advance`.
struct Run<R> {
    tasks: Vec<Task>,
    next: usize,
    /// The decision in flight, its last step and the time it was taken.
    inflight: Option<(R, Step, Ms)>,
    outs: Vec<Out>,
}

impl<R: Clone> Clone for Run<R> {
    fn clone(&self) -> Self {
        Run {
            tasks: self.tasks.clone(),
            next: self.next,
            inflight: self.inflight.clone(),
            outs: self.outs.clone(),
        }
    }
}

impl<R> Run<R> {
    fn new(tasks: Vec<Task>) -> Self {
        Run {
            tasks,
            next: 0,
            inflight: None,
            outs: Vec::new(),
        }
    }

    fn done(&self) -> bool {
        self.inflight.is_none() && self.next >= self.tasks.len()
    }

    /// Makes this thread's next call. Panics only on a finished run.
    fn advance<W: World<Req = R>>(&mut self, w: &mut W) {
        if let Some((mut req, step, t)) = self.inflight.take() {
            let Task::Fail { probe, .. } = self.tasks[self.next - 1] else {
                unreachable!("only Fail tasks leave a decision in flight")
            };
            let (now, input) = match step {
                Step::Probe => (t, Input::Probe(probe)),
                Step::Wake(at) => (at, Input::Timer),
                Step::Done(_) => unreachable!("a done decision is not kept"),
            };
            match w.feed(&mut req, now, input) {
                None => self.outs.push(Out::Refused),
                Some(s) => {
                    self.outs.push(Out::Step(s));
                    if !matches!(s, Step::Done(_)) {
                        self.inflight = Some((req, s, now));
                    }
                }
            }
            return;
        }
        let task = self.tasks[self.next];
        self.next += 1;
        let out = match task {
            Task::Fail { at, .. } => {
                let (req, s) = w.begin(at);
                if !matches!(s, Step::Done(_)) {
                    self.inflight = Some((req, s, at));
                }
                Out::Step(s)
            }
            Task::Heartbeat(t) => {
                w.heartbeat(t);
                Out::Applied
            }
            Task::Restart(t, src) => Out::Restart(w.restart(t, src)),
            Task::ObserveStart(t) => {
                w.observe_start(t);
                Out::Applied
            }
            Task::ObserveEnd(t) => {
                w.observe_end(t);
                Out::Applied
            }
            Task::CycleFinished(t) => Out::Cycle(w.finished(t)),
        };
        self.outs.push(out);
    }

    fn run_to_end<W: World<Req = R>>(&mut self, w: &mut W) {
        while !self.done() {
            self.advance(w);
        }
    }
}

type Outcome = (Vec<Vec<Out>>, WorkspaceView);

/// Every outcome some serial interleaving of `threads` (after `setup`)
/// produces on the plain decision machine.
fn serial_outcomes(policy: &Policy, setup: &[Task], threads: &[Vec<Task>]) -> HashSet<Outcome> {
    let mut w = Plain {
        policy,
        ws: Workspace::default(),
        clock: 0,
        counters: Counters::default(),
    };
    Run::new(setup.to_vec()).run_to_end(&mut w);
    let runs: Vec<Run<Decision>> = threads.iter().map(|t| Run::new(t.clone())).collect();
    let mut set = HashSet::new();
    fn explore(w: &Plain<'_>, runs: &[Run<Decision>], set: &mut HashSet<Outcome>) {
        if runs.iter().all(Run::done) {
            set.insert((runs.iter().map(|r| r.outs.clone()).collect(), w.view()));
            return;
        }
        for i in 0..runs.len() {
            if runs[i].done() {
                continue;
            }
            let mut w2 = w.clone();
            let mut runs2 = runs.to_vec();
            runs2[i].advance(&mut w2);
            explore(&w2, &runs2, set);
        }
    }
    explore(&w, &runs, &mut set);
    set
}

/// Runs `threads` concurrently on a tracker under loom (the last list on the
/// model's main thread), checks the result against every serial order, then
/// checks `invariant` on it. With `reach_all`, loom must also have produced
/// every serial outcome (the test is not vacuous); without, at least two.
fn check(
    reach_all: bool,
    policy: Policy,
    setup: Vec<Task>,
    threads: Vec<Vec<Task>>,
    invariant: impl Fn(&[Vec<Out>], &WorkspaceView) + Sync + Send + 'static,
) {
    let allowed = Arc::new(serial_outcomes(&policy, &setup, &threads));
    assert!(!allowed.is_empty());
    let invariant = Arc::new(invariant);
    let seen = Arc::new(std::sync::Mutex::new(HashSet::<Outcome>::new()));
    let seen_in_model = Arc::clone(&seen);
    let total = allowed.len();
    loom::model(move || {
        let tracker = Arc::new(Tracker::with_shards(policy.clone(), 4));
        Run::<livecheck::tracker::Request>::new(setup.clone())
            .run_to_end(&mut Real(Arc::clone(&tracker)));
        let (last, spawned) = threads.split_last().expect("at least one thread");
        let handles: Vec<_> = spawned
            .iter()
            .map(|tasks| {
                let tracker = Arc::clone(&tracker);
                let tasks = tasks.clone();
                loom::thread::spawn(move || {
                    let mut run = Run::new(tasks);
                    run.run_to_end(&mut Real(tracker));
                    run.outs
                })
            })
            .collect();
        let mut run = Run::new(last.clone());
        run.run_to_end(&mut Real(Arc::clone(&tracker)));
        let mut outs: Vec<Vec<Out>> = handles
            .into_iter()
            .map(|h| h.join().expect("thread ran"))
            .collect();
        outs.push(run.outs);
        let view = tracker.view(WS).expect("the workspace was used");
        let outcome = (outs, view);
        assert!(
            allowed.contains(&outcome),
            "no serial order of these calls gives {outcome:#?}"
        );
        invariant(&outcome.0, &outcome.1);
        seen_in_model.lock().unwrap().insert(outcome);
    });
    let seen = seen.lock().unwrap().len();
    eprintln!("loom reached {seen} of the {total} serial outcomes");
    if reach_all {
        assert_eq!(seen, total, "loom missed some serial outcomes");
    } else {
        assert!(seen >= 2, "loom reached only {seen} outcome(s)");
    }
}

/// The verdict a thread's first decision ended with.
fn verdict(outs: &[Out]) -> Verdict {
    outs.iter()
        .find_map(|o| match o {
            Out::Step(Step::Done(v)) => Some(*v),
            _ => None,
        })
        .expect("the decision finished")
}

fn fail(at: Ms, probe: ProbeResult) -> Task {
    Task::Fail { at, probe }
}

/// Invariant: three requests fail at once and every probe says "not
/// running" (v2-2950, no heartbeat, no restart history: each would declare
/// alone). Exactly one restart starts; every other decision either declared
/// with its claim dropped by the debounce (the first claim was already
/// recorded when it looked) or was skipped because the cycle was running.
#[test]
fn concurrent_declarations_start_one_restart() {
    let nr = ProbeResult::NotRunning;
    check(
        true,
        shipped("v2-2950"),
        vec![],
        vec![
            vec![fail(1_000, nr)],
            vec![fail(1_000, nr)],
            vec![fail(1_001, nr)],
        ],
        |outs, view| {
            let started = outs
                .iter()
                .filter(|o| verdict(o) == Verdict::Dead(RestartOutcome::Started))
                .count();
            assert_eq!(started, 1, "{outs:?}");
            assert_eq!(view.counters.restarts_started, 1);
            for o in outs {
                assert!(matches!(
                    verdict(o),
                    Verdict::Dead(RestartOutcome::Started)
                        | Verdict::Dead(RestartOutcome::Dropped(DropReason::Debounce))
                        | Verdict::Skipped(SkipReason::Restarting)
                ));
            }
            assert!(view.state.restart.is_running());
            assert_eq!(
                view.state.restart.started_at().map(|t| t >= 1_000),
                Some(true)
            );
        },
    );
}

/// Invariant: a decision races a heartbeat (v2-2950). The heartbeat is
/// never lost (counted once, `last_heartbeat` set, URL registered unless a
/// later declaration cleared it), and the decision sees it or not as a
/// whole: heartbeat before the decision begins → "recent" → re-probe and
/// enqueue, never dead; after → declared dead with one restart.
#[test]
fn declaration_races_a_heartbeat() {
    let nr = ProbeResult::NotRunning;
    check(
        true,
        shipped("v2-2950"),
        vec![],
        vec![vec![fail(20_000, nr)], vec![Task::Heartbeat(20_000)]],
        |outs, view| {
            assert_eq!(view.counters.heartbeats, 1);
            assert_eq!(view.state.last_heartbeat, Some(20_000));
            match verdict(&outs[0]) {
                Verdict::Queued => assert_eq!(view.counters.restarts_started, 0),
                Verdict::Dead(RestartOutcome::Started) => {
                    assert_eq!(view.counters.restarts_started, 1)
                }
                v => panic!("unexpected verdict {v:?}"),
            }
            if view.counters.declarations == 0 {
                assert!(
                    view.state.url_registered,
                    "the heartbeat registered the URL"
                );
            }
        },
    );
}

/// Invariant: two decisions race a restart started elsewhere (a health
/// sweep: `RestartSource::Other`). Exactly one restart starts in every
/// schedule, whoever claims first; the losers are debounced or skipped.
#[test]
fn declaration_races_a_restart_start() {
    let nr = ProbeResult::NotRunning;
    check(
        true,
        shipped("v2-2950"),
        vec![],
        vec![
            vec![fail(1_000, nr)],
            vec![fail(1_000, nr)],
            vec![Task::Restart(1_000, RestartSource::Other)],
        ],
        |outs, view| {
            assert_eq!(view.counters.restarts_started, 1, "{outs:?}");
            let sweep = outs[2][0];
            let detector_started = outs[..2]
                .iter()
                .filter(|o| verdict(o) == Verdict::Dead(RestartOutcome::Started))
                .count();
            let sweep_started = usize::from(sweep == Out::Restart(RestartOutcome::Started));
            assert_eq!(detector_started + sweep_started, 1);
        },
    );
}

/// Invariant: with `guard.recheck_restarting_before_declare` a decision
/// whose probe answer arrives after a restart started elsewhere is judged
/// against that current state: it skips instead of declaring. A declaration
/// therefore only happens when it claimed the one restart itself.
#[test]
fn probe_answer_after_a_restart_start_is_judged_on_current_state() {
    let v2 = std::fs::read_to_string(format!(
        "{}/models/policies/v2-2950.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("v2 policy file");
    let policy = custom(
        "v2-recheck",
        &format!("{v2}\n[guard]\nrecheck_restarting_before_declare = true\n"),
    );
    check(
        true,
        policy,
        vec![],
        vec![
            vec![fail(1_000, ProbeResult::NotRunning)],
            vec![Task::Restart(1_000, RestartSource::Other)],
        ],
        |outs, view| {
            assert_eq!(view.counters.restarts_started, 1);
            match verdict(&outs[0]) {
                Verdict::Dead(o) => {
                    assert_eq!(o, RestartOutcome::Started);
                    assert_eq!(
                        outs[1][0],
                        Out::Restart(RestartOutcome::Dropped(DropReason::Debounce))
                    );
                }
                Verdict::Skipped(SkipReason::Restarting) => {
                    assert_eq!(outs[1][0], Out::Restart(RestartOutcome::Started))
                }
                v => panic!("unexpected verdict {v:?}"),
            }
        },
    );
}

/// A settle-window policy that strikes and needs three strikes, with no
/// waits, so two strikes can be counted exactly.
const SETTLE_STRIKE3: &str = r#"
[probe]
on_error = "assume_alive"
[strikes]
threshold = 3
window = "30s"
[settle]
window = "30s"
measured_from = "restart_started"
on_not_running = "strike"
[restart]
debounce = "60s"
file_write_drop = "15s"
"#;

/// Invariant: two requests fail in the settle window of a restart and both
/// probes say "not running" (threshold 3): the strike record ends at exactly
/// 2 — no lost update — and the two decisions saw strike 1 and strike 2, one
/// each.
#[test]
fn two_failures_in_the_settle_window_add_two_strikes() {
    let nr = ProbeResult::NotRunning;
    check(
        true,
        custom("settle-strike3", SETTLE_STRIKE3),
        vec![Task::ObserveStart(0), Task::ObserveEnd(4_000)],
        vec![vec![fail(10_000, nr)], vec![fail(10_000, nr)]],
        |outs, view| {
            assert_eq!(view.state.strikes.map(|s| s.count), Some(2));
            let mut seen: Vec<Verdict> = outs.iter().map(|o| verdict(o)).collect();
            seen.sort_by_key(|v| format!("{v:?}"));
            assert_eq!(
                seen,
                vec![
                    Verdict::NotDead(NotDeadReason::Strike(1)),
                    Verdict::NotDead(NotDeadReason::Strike(2)),
                ]
            );
        },
    );
}

/// Invariant: the shipped v2-2950 rule in its settle window (fresh-heartbeat
/// wait polled four times, re-probe after 500 ms: nine calls per decision,
/// each a separate critical section): two concurrent failures with no
/// heartbeat add two strikes, so exactly one of them reaches the threshold
/// and declares; the other ends at strike 1. No schedule loses a strike or
/// declares twice.
#[test]
fn two_failures_in_the_v2_settle_window_declare_exactly_once() {
    let nr = ProbeResult::NotRunning;
    check(
        false,
        shipped("v2-2950"),
        vec![Task::ObserveStart(0), Task::ObserveEnd(4_000)],
        vec![vec![fail(10_000, nr)], vec![fail(10_000, nr)]],
        |outs, view| {
            assert_eq!(view.counters.declarations, 1, "{outs:?}");
            assert_eq!(view.state.strikes, None, "declaring resets the record");
            let strike1 = outs
                .iter()
                .filter(|o| verdict(o) == Verdict::NotDead(NotDeadReason::Strike(1)))
                .count();
            assert_eq!(strike1, 1);
        },
    );
}

/// Invariant: a heartbeat races a strike reset (v1-2931: a recent heartbeat
/// makes "not running" a strike; "running" resets the record), with a third
/// request adding a strike. Heartbeats never touch the strike record, and
/// the heartbeat is never lost: counted twice in all (setup + race), latest
/// at 2 000. The record ends empty or at one strike (the reset either wiped
/// both strikes or ran before the new one), never at two without a
/// declaration; the "running" request resets it unless the declaration's
/// restart was already running when it began (then it is skipped).
#[test]
fn heartbeat_races_a_strike_reset() {
    check(
        true,
        shipped("v1-2931"),
        vec![
            Task::Heartbeat(1_000),
            fail(1_000, ProbeResult::NotRunning), // strike 1
        ],
        vec![
            vec![fail(2_000, ProbeResult::Running)],
            vec![Task::Heartbeat(2_000)],
            vec![fail(2_000, ProbeResult::NotRunning)],
        ],
        |outs, view| {
            assert_eq!(view.counters.heartbeats, 2);
            assert_eq!(view.state.last_heartbeat, Some(2_000));
            // The "running" request resets the record, or is skipped when
            // the third request declared first and its restart is running.
            assert!(matches!(
                verdict(&outs[0]),
                Verdict::NotDead(NotDeadReason::Running) | Verdict::Skipped(SkipReason::Restarting)
            ));
            match verdict(&outs[2]) {
                Verdict::NotDead(NotDeadReason::Strike(1)) => {
                    assert_eq!(view.state.strikes.map(|s| s.count), Some(1))
                }
                Verdict::Dead(_) => assert_eq!(view.state.strikes, None),
                v => panic!("unexpected verdict {v:?}"),
            }
        },
    );
}

/// Invariant: a request fails while the restart cycle it would otherwise
/// trigger is ending (v2-2950; the cycle started at 0 from a health sweep).
/// Whether the decision sees the cycle running (skipped) or finished
/// (settling: fresh-heartbeat wait, two probes, one strike), no second
/// restart starts and the cycle end is applied exactly once.
#[test]
fn failure_races_the_end_of_a_restart_cycle() {
    check(
        true,
        shipped("v2-2950"),
        vec![Task::Restart(0, RestartSource::Other)],
        vec![
            vec![fail(1_000, ProbeResult::NotRunning)],
            vec![Task::CycleFinished(1_000)],
        ],
        |outs, view| {
            assert_eq!(view.counters.restarts_started, 1);
            assert_eq!(outs[1][0], Out::Cycle(CycleEnd::Idle));
            assert!(!view.state.restart.is_running());
            assert!(view.state.restart.finished_at().is_some());
            assert!(matches!(
                verdict(&outs[0]),
                Verdict::Skipped(SkipReason::Restarting)
                    | Verdict::NotDead(NotDeadReason::Strike(1))
            ));
        },
    );
}

/// Invariant: two threads use a workspace id nobody has seen, at once (one
/// heartbeats, the other's request fails). Both land in one workspace: the
/// map creates it once, and neither event is lost.
#[test]
fn first_use_of_an_unknown_workspace_from_two_threads() {
    loom::model(|| {
        let tracker = Arc::new(Tracker::with_shards(shipped("v1-2931"), 4));
        let t2 = Arc::clone(&tracker);
        let h = loom::thread::spawn(move || t2.heartbeat("new", 5));
        let (_req, step) = tracker.begin("new", 5);
        h.join().unwrap();
        assert_eq!(step, Step::Probe);
        assert_eq!(tracker.len(), 1);
        let v = tracker.view("new").unwrap();
        assert_eq!(v.counters.heartbeats, 1);
        assert_eq!(v.counters.decisions, 1);
    });
}
