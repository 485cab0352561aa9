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
//! so other threads interleave between them) and, on a declaration, may
//! launch `RestartByID` on the same thread (upstream's `goAsync`: it runs
//! later, on its own goroutine); `RestartByID` and a config PUT that start a
//! cycle run its drain loop (top, one cycle per `Run`, exit); heartbeats and
//! other events are single calls.
//!
//! Besides its own invariant (in its doc comment), every test checks
//! **linearizability at lock-section granularity**: what every thread saw
//! and the workspace's final state (shared state, clock, counters) must equal
//! the result of *some* serial order of the same lock sections, computed
//! beforehand by driving the plain decision machine ([`Decision::step`] on a
//! bare [`Workspace`]) and the restart coordinator's sections through every
//! interleaving. The sections are upstream's (`reference/upstream-liveness.md`,
//! "The wider world", item 1): a decision step is one section, except a
//! strike at the threshold, whose declaration is a second section of the
//! same call; `RestartByID` is a debounce section and a coalescing section
//! (one with `restart.atomic_request`); a config PUT adds the file-write
//! gate before them; the drain loop's top and its exit are one section each.
//! A lost update, a lost heartbeat, a decision judged against a stale copy,
//! or a call whose sections the tracker merged or split differently from
//! upstream's would produce a result no serial order of these sections
//! produces. Tests that name interleavings (`find`) also demand that loom
//! reached them: the race is really there, not only allowed.

use livecheck::decision::{Decision, Input, NotDeadReason, ProbeResult, SkipReason, Step, Verdict};
use livecheck::restart::{DropReason, LoopTop, RestartOutcome, RestartSource};
use livecheck::tracker::{Counters, Tracker, WorkspaceRef, WorkspaceView};
use livecheck::workspace::Status;
use livecheck::{Ms, Policy, Workspace};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const WS: &str = "w";

/// How long each restart cycle takes in these tests (the drain loop's tops
/// are this far apart).
const CYCLE: Ms = 5_000;

fn shipped(name: &str) -> Policy {
    let p = format!("{}/models/policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Policy::load(Path::new(&p)).expect("shipped policy loads")
}

fn custom(name: &str, toml: &str) -> Policy {
    Policy::parse(name, Path::new(name), toml).expect("test policy is valid")
}

/// v2-2950 with one more line in its file.
fn v2_with(name: &str, after: &str, line: &str) -> Policy {
    let v2 = std::fs::read_to_string(format!(
        "{}/models/policies/v2-2950.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("v2 policy file");
    assert!(v2.contains(after), "the v2 file has {after:?}");
    custom(name, &v2.replacen(after, &format!("{after}\n{line}"), 1))
}

/// v2-2950 with `RestartByID` as one section (the proposal's atomic mode).
fn v2_atomic() -> Policy {
    v2_with(
        "v2-atomic",
        "file_write_drop = \"15s\"",
        "atomic_request = true",
    )
}

/// One thing a thread does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Task {
    /// A request fails at `at`; every probe answers `probe`, every wake is
    /// taken at its instant; driven until the decision is done. With
    /// `launch`, a declaration then runs `RestartByID` (source Detector) on
    /// this thread, and the drain loop if it starts a cycle.
    Fail {
        at: Ms,
        probe: ProbeResult,
        launch: bool,
    },
    /// A heartbeat at this instant.
    Heartbeat(Ms),
    /// `RestartByID` from `source` at `at`; with `drain`, this thread runs
    /// the drain loop of a cycle it starts (otherwise later tasks do).
    Restart {
        at: Ms,
        source: RestartSource,
        drain: bool,
    },
    /// A config PUT at `at` (file-write gate, then `RestartByID`), and the
    /// drain loop of a cycle it starts.
    ConfigPut(Ms),
    /// The drain loop's top (one section).
    LoopTop(Ms),
    /// The drain loop's exit (one section).
    LoopExit(Ms),
    /// The platform starts a cycle on its own.
    ObserveStart(Ms),
    /// The platform's own cycle ends.
    ObserveEnd(Ms),
}

/// What a thread saw from one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Out {
    Step(Step),
    Refused,
    Restart(RestartOutcome),
    Loop(LoopTop),
    Applied,
}

/// What passes from one section of a call to the next: the reference
/// carries nothing (`None`) and runs each section; the tracker runs the
/// whole call in its first section and carries the call's answer.
type Carry = Option<RestartOutcome>;

/// The sections a thread runs, on the tracker or on the reference.
trait World {
    type Req;
    fn begin(&mut self, now: Ms) -> (Self::Req, Step);
    /// One decision call's section (the tracker: the whole call, which
    /// never returns [`Step::Yield`]).
    fn feed(&mut self, req: &mut Self::Req, now: Ms, input: Input) -> Option<Step>;
    fn heartbeat(&mut self, now: Ms);
    /// The config PUT's file-write gate.
    fn gate(&mut self, now: Ms) -> Result<Carry, RestartOutcome>;
    /// `RestartByID`'s debounce section.
    fn check(
        &mut self,
        now: Ms,
        source: RestartSource,
        carry: Carry,
    ) -> Result<Carry, RestartOutcome>;
    /// `RestartByID`'s coalescing section.
    fn coalesce(&mut self, now: Ms, carry: Carry) -> RestartOutcome;
    fn loop_top(&mut self, now: Ms) -> LoopTop;
    fn loop_exit(&mut self, now: Ms);
    fn observe_start(&mut self, now: Ms);
    fn observe_end(&mut self, now: Ms);
}

/// The tracker under test, through a cached workspace handle.
struct Real(WorkspaceRef);

/// The answer of a whole `RestartByID` as a section result.
fn carried(o: RestartOutcome) -> Result<Carry, RestartOutcome> {
    if o.accepted() {
        Ok(Some(o))
    } else {
        Err(o)
    }
}

impl World for Real {
    type Req = livecheck::tracker::Request;
    fn begin(&mut self, now: Ms) -> (Self::Req, Step) {
        self.0.begin(now)
    }
    fn feed(&mut self, req: &mut Self::Req, now: Ms, input: Input) -> Option<Step> {
        req.step(now, input).ok()
    }
    fn heartbeat(&mut self, now: Ms) {
        self.0.heartbeat(now)
    }
    fn gate(&mut self, now: Ms) -> Result<Carry, RestartOutcome> {
        match self.0.config_put(now) {
            o @ RestartOutcome::Dropped(DropReason::FileWrite) => Err(o),
            o => Ok(Some(o)),
        }
    }
    fn check(
        &mut self,
        now: Ms,
        source: RestartSource,
        carry: Carry,
    ) -> Result<Carry, RestartOutcome> {
        carried(carry.unwrap_or_else(|| self.0.restart_by_id(now, source)))
    }
    fn coalesce(&mut self, _now: Ms, carry: Carry) -> RestartOutcome {
        carry.expect("the tracker answered in the first section")
    }
    fn loop_top(&mut self, now: Ms) -> LoopTop {
        self.0.loop_top(now)
    }
    fn loop_exit(&mut self, now: Ms) {
        self.0.loop_exit(now)
    }
    fn observe_start(&mut self, now: Ms) {
        self.0.observe_restart_started(now)
    }
    fn observe_end(&mut self, now: Ms) {
        self.0.observe_restart_finished(now)
    }
}

/// The reference: the plain decision machine and the restart coordinator's
/// sections on a bare `Workspace`, plus the tracker's documented rules
/// (each section clamped to the workspace clock, a drain-loop iteration
/// marks the row, counters).
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
    fn at(&mut self, now: Ms) -> Ms {
        self.clock = now.max(self.clock);
        self.clock
    }
    fn counted(&mut self, step: Step) {
        if step == Step::Done(Verdict::Dead) {
            self.counters.declarations += 1;
        }
    }
    fn started(&mut self, o: RestartOutcome) -> RestartOutcome {
        if o == RestartOutcome::Started {
            self.counters.restarts_started += 1;
        }
        o
    }
}

impl World for Plain<'_> {
    type Req = Decision;
    fn begin(&mut self, now: Ms) -> (Decision, Step) {
        let now = self.at(now);
        let (d, step) = Decision::start(self.policy, &mut self.ws, now);
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
        let now = self.at(now);
        self.ws.heartbeat(now);
        self.counters.heartbeats += 1;
    }
    fn gate(&mut self, now: Ms) -> Result<Carry, RestartOutcome> {
        let now = self.at(now);
        match self
            .ws
            .restart_mut()
            .file_write_gate(&self.policy.restart, now)
        {
            Err(r) => Err(RestartOutcome::Dropped(r)),
            Ok(()) => Ok(None),
        }
    }
    fn check(&mut self, now: Ms, source: RestartSource, _: Carry) -> Result<Carry, RestartOutcome> {
        let now = self.at(now);
        let r = &self.policy.restart;
        if r.atomic_request {
            // One section: the coalescing section that follows is empty.
            let o = self.ws.restart_mut().request(r, now, source);
            return carried(self.started(o));
        }
        match self.ws.restart_mut().debounce_check(r, now, source) {
            Err(reason) => Err(RestartOutcome::Dropped(reason)),
            Ok(()) => Ok(None),
        }
    }
    fn coalesce(&mut self, now: Ms, carry: Carry) -> RestartOutcome {
        if let Some(o) = carry {
            return o;
        }
        let now = self.at(now);
        let o = self.ws.restart_mut().coalesce(now);
        self.started(o)
    }
    fn loop_top(&mut self, now: Ms) -> LoopTop {
        let now = self.at(now);
        let first = self.ws.restart().is_first_iteration();
        let top = self.ws.restart_mut().loop_top(now);
        if top == LoopTop::Run {
            self.ws.mark_provisioning();
            if !first {
                self.counters.restarts_started += 1;
            }
        }
        top
    }
    fn loop_exit(&mut self, now: Ms) {
        let now = self.at(now);
        self.ws.restart_mut().exit(now);
    }
    fn observe_start(&mut self, now: Ms) {
        let now = self.at(now);
        self.ws.observe_restart_started(now);
        self.counters.restarts_started += 1;
    }
    fn observe_end(&mut self, now: Ms) {
        let now = self.at(now);
        self.ws.observe_restart_finished(now);
    }
}

/// Where a thread is in its current task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pc<R> {
    /// Take the next task.
    Next,
    /// A decision in flight: its last step, the time it was taken, its
    /// probe answer and whether a declaration launches a restart.
    Decide {
        req: R,
        step: Step,
        t: Ms,
        probe: ProbeResult,
        launch: bool,
    },
    /// `RestartByID`'s debounce section next.
    Check {
        at: Ms,
        source: RestartSource,
        drain: bool,
        carry: Carry,
    },
    /// `RestartByID`'s coalescing section next.
    Coalesce { at: Ms, drain: bool, carry: Carry },
    /// The drain loop's top next, at `t`.
    Top(Ms),
    /// The drain loop's exit next, at `t`.
    Exit(Ms),
}

/// One thread's progress through its tasks: one section per `advance`.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Run<R> {
    tasks: Vec<Task>,
    next: usize,
    pc: Pc<R>,
    outs: Vec<Out>,
}

impl<R> Run<R> {
    fn new(tasks: Vec<Task>) -> Self {
        Run {
            tasks,
            next: 0,
            pc: Pc::Next,
            outs: Vec::new(),
        }
    }

    fn done(&self) -> bool {
        matches!(self.pc, Pc::Next) && self.next >= self.tasks.len()
    }

    /// A decision step's answer: output it (a yield is not an answer: the
    /// declaration's section follows), then go on.
    fn decided(&mut self, req: R, step: Step, t: Ms, probe: ProbeResult, launch: bool) -> Pc<R> {
        if step != Step::Yield {
            self.outs.push(Out::Step(step));
        }
        match step {
            Step::Done(Verdict::Dead) if launch => Pc::Check {
                at: t,
                source: RestartSource::Detector,
                drain: true,
                carry: None,
            },
            Step::Done(_) => Pc::Next,
            _ => Pc::Decide {
                req,
                step,
                t,
                probe,
                launch,
            },
        }
    }

    /// Makes this thread's next section. Panics only on a finished run.
    fn advance<W: World<Req = R>>(&mut self, w: &mut W) {
        let pc = std::mem::replace(&mut self.pc, Pc::Next);
        self.pc = match pc {
            Pc::Decide {
                mut req,
                step,
                t,
                probe,
                launch,
            } => {
                let (now, input) = match step {
                    Step::Probe => (t, Input::Probe(probe)),
                    Step::Wake { at, .. } => (at, Input::Timer),
                    Step::Yield => (t, Input::Resume),
                    Step::Done(_) => unreachable!("a done decision is not kept"),
                };
                match w.feed(&mut req, now, input) {
                    None => {
                        self.outs.push(Out::Refused);
                        Pc::Next
                    }
                    Some(s) => self.decided(req, s, now, probe, launch),
                }
            }
            Pc::Check {
                at,
                source,
                drain,
                carry,
            } => match w.check(at, source, carry) {
                Err(o) => {
                    self.outs.push(Out::Restart(o));
                    Pc::Next
                }
                Ok(carry) => Pc::Coalesce { at, drain, carry },
            },
            Pc::Coalesce { at, drain, carry } => {
                let o = w.coalesce(at, carry);
                self.outs.push(Out::Restart(o));
                if o == RestartOutcome::Started && drain {
                    Pc::Top(at)
                } else {
                    Pc::Next
                }
            }
            Pc::Top(t) => {
                let top = w.loop_top(t);
                self.outs.push(Out::Loop(top));
                match top {
                    LoopTop::Run => Pc::Top(t + CYCLE),
                    LoopTop::Done => Pc::Exit(t),
                }
            }
            Pc::Exit(t) => {
                w.loop_exit(t);
                self.outs.push(Out::Applied);
                Pc::Next
            }
            Pc::Next => {
                let task = self.tasks[self.next];
                self.next += 1;
                match task {
                    Task::Fail { at, probe, launch } => {
                        let (req, s) = w.begin(at);
                        self.decided(req, s, at, probe, launch)
                    }
                    Task::Heartbeat(t) => {
                        w.heartbeat(t);
                        self.outs.push(Out::Applied);
                        Pc::Next
                    }
                    Task::Restart { at, source, drain } => {
                        // The first section runs now, as the others do.
                        self.pc = Pc::Check {
                            at,
                            source,
                            drain,
                            carry: None,
                        };
                        return self.advance(w);
                    }
                    Task::ConfigPut(at) => match w.gate(at) {
                        Err(o) => {
                            self.outs.push(Out::Restart(o));
                            Pc::Next
                        }
                        Ok(carry) => Pc::Check {
                            at,
                            source: RestartSource::FileWrite,
                            drain: true,
                            carry,
                        },
                    },
                    Task::LoopTop(t) => {
                        let top = w.loop_top(t);
                        self.outs.push(Out::Loop(top));
                        Pc::Next
                    }
                    Task::LoopExit(t) => {
                        w.loop_exit(t);
                        self.outs.push(Out::Applied);
                        Pc::Next
                    }
                    Task::ObserveStart(t) => {
                        w.observe_start(t);
                        self.outs.push(Out::Applied);
                        Pc::Next
                    }
                    Task::ObserveEnd(t) => {
                        w.observe_end(t);
                        self.outs.push(Out::Applied);
                        Pc::Next
                    }
                }
            }
        };
    }

    fn run_to_end<W: World<Req = R>>(&mut self, w: &mut W) {
        while !self.done() {
            self.advance(w);
        }
    }
}

type Outcome = (Vec<Vec<Out>>, WorkspaceView);

/// Every outcome some serial interleaving of the threads' lock sections
/// (after `setup`) produces on the plain machines. Depth-first over
/// (shared state, every thread's progress), each state visited once.
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
    let mut seen = HashSet::new();
    let mut stack = vec![(w, runs)];
    while let Some((w, runs)) = stack.pop() {
        if !seen.insert((w.ws, w.clock, w.counters, runs.clone())) {
            continue;
        }
        if runs.iter().all(Run::done) {
            set.insert((runs.iter().map(|r| r.outs.clone()).collect(), w.view()));
            continue;
        }
        for i in 0..runs.len() {
            if runs[i].done() {
                continue;
            }
            let mut w2 = w.clone();
            let mut runs2 = runs.clone();
            runs2[i].advance(&mut w2);
            stack.push((w2, runs2));
        }
    }
    set
}

type Check = dyn Fn(&[Vec<Out>], &WorkspaceView) + Sync + Send;
type Find = (&'static str, fn(&[Vec<Out>], &WorkspaceView) -> bool);

/// One loom test.
struct Spec {
    policy: Policy,
    setup: Vec<Task>,
    threads: Vec<Vec<Task>>,
    /// Loom must reach every serial outcome (otherwise at least two).
    reach_all: bool,
    /// Interleavings loom must reach (each also a serial outcome).
    find: Vec<Find>,
    /// Interleavings no schedule may produce (each checked on every serial
    /// outcome, so the reference agrees it cannot happen).
    never: Vec<Find>,
    invariant: Box<Check>,
}

/// Runs the threads concurrently on a tracker under loom (the last list on
/// the model's main thread), checks every result against the serial
/// orders, `invariant` and `never`, then checks what was reached.
fn check(spec: Spec) {
    let started = Instant::now();
    let Spec {
        policy,
        setup,
        threads,
        reach_all,
        find,
        never,
        invariant,
    } = spec;
    let allowed = Arc::new(serial_outcomes(&policy, &setup, &threads));
    assert!(!allowed.is_empty());
    for (name, f) in &find {
        assert!(
            allowed.iter().any(|(o, v)| f(o, v)),
            "no serial order gives {name}: the test is wrong"
        );
    }
    for (name, f) in &never {
        if let Some(o) = allowed.iter().find(|(o, v)| f(o, v)) {
            panic!("a serial order gives {name}: {o:#?}");
        }
    }
    let invariant: Arc<Check> = Arc::from(invariant);
    let never = Arc::new(never);
    let seen = Arc::new(std::sync::Mutex::new(HashSet::<Outcome>::new()));
    let executions = Arc::new(AtomicUsize::new(0));
    let total = allowed.len();
    {
        let (seen, executions) = (Arc::clone(&seen), Arc::clone(&executions));
        loom::model(move || {
            executions.fetch_add(1, Ordering::Relaxed);
            let tracker = Tracker::with_shards(policy.clone(), 4);
            let ws = tracker.workspace(WS);
            Run::new(setup.clone()).run_to_end(&mut Real(ws.clone()));
            let (last, spawned) = threads.split_last().expect("at least one thread");
            let handles: Vec<_> = spawned
                .iter()
                .map(|tasks| {
                    let ws = ws.clone();
                    let tasks = tasks.clone();
                    loom::thread::spawn(move || {
                        let mut run = Run::new(tasks);
                        run.run_to_end(&mut Real(ws));
                        run.outs
                    })
                })
                .collect();
            let mut run = Run::new(last.clone());
            run.run_to_end(&mut Real(ws.clone()));
            let mut outs: Vec<Vec<Out>> = handles
                .into_iter()
                .map(|h| h.join().expect("thread ran"))
                .collect();
            outs.push(run.outs);
            let view = tracker.view(WS).expect("the workspace was used");
            let outcome = (outs, view);
            assert!(
                allowed.contains(&outcome),
                "no serial order of these lock sections gives {outcome:#?}"
            );
            invariant(&outcome.0, &outcome.1);
            for (name, f) in never.iter() {
                assert!(!f(&outcome.0, &outcome.1), "{name}: {outcome:#?}");
            }
            seen.lock().unwrap().insert(outcome);
        });
    }
    let seen = seen.lock().unwrap();
    eprintln!(
        "loom: {} executions, {} of the {total} serial outcomes, {:.1} s",
        executions.load(Ordering::Relaxed),
        seen.len(),
        started.elapsed().as_secs_f64()
    );
    for (name, f) in &find {
        let n = seen.iter().filter(|(o, v)| f(o, v)).count();
        eprintln!("  found {name}: {n} outcome(s)");
        assert!(n > 0, "loom never reached {name}");
    }
    if reach_all {
        assert_eq!(seen.len(), total, "loom missed some serial outcomes");
    } else {
        assert!(
            seen.len() >= 2,
            "loom reached only {} outcome(s)",
            seen.len()
        );
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

/// What the thread's `RestartByID` (its first one) came to.
fn restart(outs: &[Out]) -> Option<RestartOutcome> {
    outs.iter().find_map(|o| match o {
        Out::Restart(r) => Some(*r),
        _ => None,
    })
}

/// Drain-loop iterations this thread ran.
fn cycles_run(outs: &[Out]) -> usize {
    outs.iter()
        .filter(|o| **o == Out::Loop(LoopTop::Run))
        .count()
}

fn fail(at: Ms, probe: ProbeResult) -> Task {
    Task::Fail {
        at,
        probe,
        launch: false,
    }
}

/// A failed request whose declaration launches `RestartByID` on the thread.
fn fail_and_launch(at: Ms, probe: ProbeResult) -> Task {
    Task::Fail {
        at,
        probe,
        launch: true,
    }
}

fn restart_by_id(at: Ms, source: RestartSource) -> Task {
    Task::Restart {
        at,
        source,
        drain: true,
    }
}

/// Two requests both passed the debounce and the second coalesced into a
/// second full cycle of the first one's drain loop.
fn second_cycle(outs: &[Vec<Out>], view: &WorkspaceView) -> bool {
    view.counters.restarts_started == 2
        && outs
            .iter()
            .any(|o| restart(o) == Some(RestartOutcome::Coalesced))
        && outs.iter().any(|o| cycles_run(o) == 2)
}

/// Two cycles ran, whoever started them.
fn two_cycles(_: &[Vec<Out>], view: &WorkspaceView) -> bool {
    view.counters.restarts_started >= 2
}

/// A request coalesced after the drain loop's last top, before its exit:
/// pending with nothing running it.
fn lost(_: &[Vec<Out>], view: &WorkspaceView) -> bool {
    view.state.restart().is_pending() && !view.state.restart().is_running()
}

/// Every cycle started ran its drain loop to the exit, and no more cycles
/// ran than requests passed the debounce (started or coalesced).
fn cycles_are_accounted_for(outs: &[Vec<Out>], view: &WorkspaceView) {
    let runs: usize = outs.iter().map(|o| cycles_run(o)).sum();
    assert_eq!(runs as u64, view.counters.restarts_started, "{outs:?}");
    let accepted = outs
        .iter()
        .flatten()
        .filter(|o| matches!(o, Out::Restart(r) if r.accepted()))
        .count();
    assert!(runs <= accepted, "{outs:?}");
    assert!(!view.state.restart().is_running(), "every loop exited");
}

// ---------------------------------------------------------------------------
// RestartByID's two sections (reference, "The wider world", item 1)
// ---------------------------------------------------------------------------

/// Invariant: two threads run `RestartByID` at the same instant (the
/// detector's and a health sweep's). Upstream takes the coordinator's lock
/// twice: both can pass the debounce before either stamps, and the second
/// then coalesces into a second full cycle of the first one's drain loop
/// (found), or is lost between the loop's last top and its exit (found).
/// Every cycle is accounted for and at most two run.
#[test]
fn two_restart_by_id_calls_can_both_pass_the_debounce() {
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![],
        threads: vec![
            vec![restart_by_id(1_000, RestartSource::Detector)],
            vec![restart_by_id(1_000, RestartSource::Other)],
        ],
        reach_all: true,
        find: vec![
            ("a second cycle after a coalesced request", second_cycle),
            ("a request lost before the loop's exit", lost),
        ],
        never: vec![],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            let accepted = outs
                .iter()
                .filter(|o| restart(o).is_some_and(RestartOutcome::accepted))
                .count();
            assert!(accepted >= 1);
            if accepted == 1 {
                assert!(outs
                    .iter()
                    .any(|o| restart(o) == Some(RestartOutcome::Dropped(DropReason::Debounce))));
            }
        }),
    });
}

/// Invariant: the same two calls with `restart.atomic_request` (the
/// debounce check and coalescing in one section): exactly one cycle runs in
/// every schedule, the other request is dropped by the debounce; nothing
/// coalesces, nothing is lost.
#[test]
fn atomic_restart_by_id_runs_one_cycle() {
    check(Spec {
        policy: v2_atomic(),
        setup: vec![],
        threads: vec![
            vec![restart_by_id(1_000, RestartSource::Detector)],
            vec![restart_by_id(1_000, RestartSource::Other)],
        ],
        reach_all: true,
        find: vec![],
        never: vec![("two cycles", two_cycles), ("a lost request", lost)],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            assert_eq!(view.counters.restarts_started, 1);
            let mut fates: Vec<_> = outs.iter().filter_map(|o| restart(o)).collect();
            fates.sort();
            assert_eq!(
                fates,
                vec![
                    RestartOutcome::Started,
                    RestartOutcome::Dropped(DropReason::Debounce)
                ]
            );
        }),
    });
}

/// Invariant: a declaration (v2-2950, no heartbeat: one "not running"
/// declares) races a config PUT. The declaration launches `RestartByID`;
/// the PUT passes its file-write gate and runs `RestartByID` too. Both can
/// pass the debounce, and the second coalesces into a second cycle (found);
/// a request that begins after the PUT's cycle started is skipped. Every
/// cycle is accounted for.
#[test]
fn a_declaration_races_a_config_put() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![],
        threads: vec![
            vec![fail_and_launch(1_000, nr)],
            vec![Task::ConfigPut(1_000)],
        ],
        reach_all: true,
        find: vec![
            ("a second cycle after a coalesced request", second_cycle),
            ("the declaration's request debounced", |outs, _| {
                verdict(&outs[0]) == Verdict::Dead
                    && restart(&outs[0]) == Some(RestartOutcome::Dropped(DropReason::Debounce))
            }),
        ],
        never: vec![],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            assert!(matches!(
                restart(&outs[1]),
                Some(
                    RestartOutcome::Started
                        | RestartOutcome::Coalesced
                        | RestartOutcome::Dropped(DropReason::Debounce)
                )
            ));
            assert!(matches!(
                verdict(&outs[0]),
                Verdict::Dead
                    | Verdict::Skipped(SkipReason::Restarting)
                    | Verdict::NotDead(NotDeadReason::Strike(1))
            ));
        }),
    });
}

/// Invariant: the same race with `restart.atomic_request`: never two
/// cycles.
#[test]
fn a_declaration_races_a_config_put_atomic() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: v2_atomic(),
        setup: vec![],
        threads: vec![
            vec![fail_and_launch(1_000, nr)],
            vec![Task::ConfigPut(1_000)],
        ],
        reach_all: true,
        find: vec![],
        never: vec![("two cycles", two_cycles), ("a lost request", lost)],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            assert_eq!(view.counters.restarts_started, 1);
        }),
    });
}

/// Invariant: three requests fail at once and every probe says "not
/// running" (v2-2950, no heartbeat, no restart history: each declares
/// alone), each launching `RestartByID`. Changed with the world model: this
/// test used to demand that exactly one restart starts, because a
/// declaration claimed the restart inside its own lock section. Upstream
/// launches `RestartByID` on its own goroutine after the declaration, and
/// its debounce check and coalescing are separate sections (reference, "The
/// wider world", item 1): every request that checks before the first stamp
/// passes the debounce, and each then coalesces into a second cycle or, once
/// the first loop exited, starts a cycle of its own — three declarations
/// can run three full cycles (found). Still: every decision declared or was
/// skipped because a cycle was already running; no more cycles than
/// requests that passed the debounce; every cycle accounted for.
#[test]
fn concurrent_declarations_can_run_two_cycles() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![],
        threads: vec![
            vec![fail_and_launch(1_000, nr)],
            vec![fail_and_launch(1_000, nr)],
            vec![fail_and_launch(1_001, nr)],
        ],
        reach_all: false,
        find: vec![
            ("a second cycle after a coalesced request", second_cycle),
            ("three cycles", |_, view| {
                view.counters.restarts_started == 3
            }),
            ("all declared, one cycle", |_, view| {
                view.counters.declarations == 3 && view.counters.restarts_started == 1
            }),
            ("one skipped behind the other's cycle", |outs, _| {
                outs.iter()
                    .any(|o| verdict(o) == Verdict::Skipped(SkipReason::Restarting))
            }),
        ],
        never: vec![],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            assert!(view.counters.restarts_started >= 1);
            for o in outs {
                assert!(
                    matches!(
                        verdict(o),
                        Verdict::Dead
                            | Verdict::Skipped(SkipReason::Restarting)
                            | Verdict::NotDead(NotDeadReason::Strike(1))
                    ),
                    "{outs:?}"
                );
            }
            assert_eq!(
                view.state.restart().started_at().map(|t| t >= 1_000),
                Some(true)
            );
        }),
    });
}

/// Invariant: two decisions race a restart started elsewhere (a health
/// sweep's `RestartByID`, `RestartSource::Other`), each decision launching
/// its own on a declaration. Changed with the world model: this test used to
/// demand exactly one restart in every schedule, whoever claimed first.
/// With upstream's two-section `RestartByID` (reference, "The wider world",
/// item 1) a declaration's request and the sweep's can both pass the
/// debounce, so a second cycle can follow (found); the sweep's request is
/// then either the one that started the cycle or one that coalesced. Still:
/// no more cycles than requests that passed the debounce, every cycle
/// accounted for, and every decision declared or was skipped by a running
/// cycle.
#[test]
fn declarations_race_a_restart_start() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![],
        threads: vec![
            vec![fail_and_launch(1_000, nr)],
            vec![fail_and_launch(1_000, nr)],
            vec![restart_by_id(1_000, RestartSource::Other)],
        ],
        reach_all: false,
        find: vec![
            ("a second cycle after a coalesced request", second_cycle),
            (
                "the sweep's restart alone, both decisions skipped",
                |outs, view| {
                    view.counters.restarts_started == 1
                        && outs[..2]
                            .iter()
                            .all(|o| verdict(o) == Verdict::Skipped(SkipReason::Restarting))
                },
            ),
            (
                "the sweep debounced after a declaration's restart",
                |outs, _| restart(&outs[2]) == Some(RestartOutcome::Dropped(DropReason::Debounce)),
            ),
        ],
        never: vec![],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            assert!(view.counters.restarts_started >= 1);
            for o in &outs[..2] {
                assert!(
                    matches!(
                        verdict(o),
                        Verdict::Dead
                            | Verdict::Skipped(SkipReason::Restarting)
                            | Verdict::NotDead(NotDeadReason::Strike(1))
                    ),
                    "{outs:?}"
                );
            }
        }),
    });
}

/// Invariant: the same three with `restart.atomic_request`: exactly one
/// cycle in every schedule.
#[test]
fn concurrent_declarations_atomic_run_one_cycle() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: v2_atomic(),
        setup: vec![],
        threads: vec![
            vec![fail_and_launch(1_000, nr)],
            vec![fail_and_launch(1_000, nr)],
            vec![fail_and_launch(1_001, nr)],
        ],
        reach_all: false,
        find: vec![],
        never: vec![("two cycles", two_cycles), ("a lost request", lost)],
        invariant: Box::new(|outs, view| {
            cycles_are_accounted_for(outs, view);
            assert_eq!(view.counters.restarts_started, 1);
        }),
    });
}

// ---------------------------------------------------------------------------
// The strike and the declaration are two sections (item 1)
// ---------------------------------------------------------------------------

/// Invariant: v1-2931 with a recent heartbeat and one strike counted; two
/// requests fail and their probes say "not running". `incrementDeadProbe`
/// and the declaration's `resetDeadProbe` are separate sections
/// (`a2a_proxy_helpers.go@V2:407-426`): both decisions can count their
/// strike (2 and 3) before either declares, and then both declare (found).
/// Otherwise the first declares and resets the record, and the second is
/// strike 1 of a new record. The record ends empty exactly when both
/// declared.
#[test]
fn two_decisions_at_strikes_2_and_3_both_declare() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v1-2931"),
        setup: vec![Task::Heartbeat(1_000), fail(1_000, nr)],
        threads: vec![vec![fail(2_000, nr)], vec![fail(2_000, nr)]],
        reach_all: true,
        find: vec![("both declared", |_, view| view.counters.declarations == 2)],
        never: vec![],
        invariant: Box::new(|outs, view| {
            let mut vs: Vec<Verdict> = outs.iter().map(|o| verdict(o)).collect();
            vs.sort();
            let both = vec![Verdict::Dead, Verdict::Dead];
            let one = vec![Verdict::NotDead(NotDeadReason::Strike(1)), Verdict::Dead];
            assert!(vs == both || vs == one, "{vs:?}");
            assert_eq!(
                view.counters.declarations as usize,
                vs.iter().filter(|v| **v == Verdict::Dead).count()
            );
            if vs == both {
                assert_eq!(view.state.strikes(), None);
            } else {
                assert_eq!(view.state.strikes().map(|s| s.count), Some(1));
            }
            assert_eq!(view.state.status(), Status::Offline, "declared");
        }),
    });
}

/// Invariant: the same race under `v4-proposed` (`guard.skip_when_offline`):
/// exactly one decision declares. The other either reaches its declaration
/// after the row went offline and stands down, or, coming after the
/// declaration reset the record, is strike 1 of a new one.
#[test]
fn v4_two_decisions_at_strikes_2_and_3_declare_once() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v4-proposed"),
        setup: vec![Task::Heartbeat(1_000), fail(1_000, nr)],
        threads: vec![vec![fail(2_000, nr)], vec![fail(2_000, nr)]],
        reach_all: true,
        find: vec![("the second stands down", |outs, _| {
            outs.iter()
                .any(|o| verdict(o) == Verdict::Skipped(SkipReason::AlreadyOffline))
        })],
        never: vec![("both declared", |_, view| view.counters.declarations == 2)],
        invariant: Box::new(|outs, view| {
            let vs: Vec<Verdict> = outs.iter().map(|o| verdict(o)).collect();
            assert_eq!(
                vs.iter().filter(|v| **v == Verdict::Dead).count(),
                1,
                "{vs:?}"
            );
            let other = vs.iter().find(|v| **v != Verdict::Dead).unwrap();
            assert!(
                *other == Verdict::Skipped(SkipReason::AlreadyOffline)
                    || *other == Verdict::NotDead(NotDeadReason::Strike(1)),
                "{vs:?}"
            );
            assert_eq!(view.counters.declarations, 1);
            assert_eq!(view.state.status(), Status::Offline, "declared");
        }),
    });
}

// ---------------------------------------------------------------------------
// The decision against the world's other events
// ---------------------------------------------------------------------------

/// Invariant: a decision races a heartbeat (v2-2950); the decision's
/// declaration launches its restart. The heartbeat is never lost (counted
/// once, `last_heartbeat` set), and the decision sees it or not as a whole:
/// heartbeat before the decision begins → "recent" → re-probe and enqueue,
/// never dead, no restart; after → declared dead and one cycle. A heartbeat
/// after the declaration brings the row back online (changed with the world
/// model: the heartbeat used to register the URL; it only flips the row's
/// status and refreshes an existing liveness key, `registry.go@V2:1101-1109`).
#[test]
fn declaration_races_a_heartbeat() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![],
        threads: vec![
            vec![fail_and_launch(20_000, nr)],
            vec![Task::Heartbeat(20_000)],
        ],
        reach_all: true,
        find: vec![],
        never: vec![],
        invariant: Box::new(|outs, view| {
            assert_eq!(view.counters.heartbeats, 1);
            // At 20 000, or at the workspace clock when the heartbeat came
            // after the declaration's drain loop moved it (its second top,
            // one cycle later): the tracker clamps a late call.
            let late = Some(20_000 + CYCLE);
            assert!(
                view.state.last_heartbeat() == Some(20_000)
                    || (view.state.last_heartbeat() == late && view.counters.declarations == 1),
                "{:?}",
                view.state.last_heartbeat()
            );
            assert!(!view.state.url_registered(), "nothing registered a URL");
            match verdict(&outs[0]) {
                Verdict::Queued => {
                    assert_eq!(view.counters.restarts_started, 0);
                    assert_eq!(view.state.status(), Status::Online);
                }
                Verdict::Dead => {
                    assert_eq!(view.counters.restarts_started, 1);
                    assert_eq!(restart(&outs[0]), Some(RestartOutcome::Started));
                    assert_eq!(cycles_run(&outs[0]), 1);
                }
                v => panic!("unexpected verdict {v:?}"),
            }
        }),
    });
}

/// Invariant: with `guard.recheck_restarting_before_declare` a decision
/// whose probe answer arrives after a restart started elsewhere (a health
/// sweep's `RestartByID` and its drain loop) is judged against that current
/// state at its declaration: it stands down (`RestartRecheck`, found). It
/// declares only when no restart began since it started (found), and is
/// skipped outright when the cycle was running as it began (found). The
/// sweep's restart always starts (the decision launches none here).
#[test]
fn probe_answer_after_a_restart_start_is_judged_on_current_state() {
    let policy = v2_with(
        "v2-recheck",
        "file_write_drop = \"15s\"",
        "[guard]\nrecheck_restarting_before_declare = true",
    );
    check(Spec {
        policy,
        setup: vec![],
        threads: vec![
            vec![fail(1_000, ProbeResult::NotRunning)],
            vec![restart_by_id(1_000, RestartSource::Other)],
        ],
        reach_all: true,
        find: vec![
            ("a re-check skip", |outs, _| {
                verdict(&outs[0]) == Verdict::Skipped(SkipReason::RestartRecheck)
            }),
            ("a declaration", |outs, _| {
                verdict(&outs[0]) == Verdict::Dead
            }),
            ("a skip while restarting", |outs, _| {
                verdict(&outs[0]) == Verdict::Skipped(SkipReason::Restarting)
            }),
        ],
        never: vec![],
        invariant: Box::new(|outs, view| {
            assert_eq!(view.counters.restarts_started, 1);
            assert_eq!(restart(&outs[1]), Some(RestartOutcome::Started));
            cycles_are_accounted_for(outs, view);
            match verdict(&outs[0]) {
                Verdict::Dead => assert_eq!(view.counters.declarations, 1),
                Verdict::Skipped(SkipReason::RestartRecheck) => {
                    assert_eq!(view.counters.declarations, 0)
                }
                Verdict::Skipped(SkipReason::Restarting) => {}
                // Begun after the cycle's exit: settling (fresh wait, two
                // probes), one strike.
                Verdict::NotDead(NotDeadReason::Strike(1)) => {}
                v => panic!("unexpected verdict {v:?}"),
            }
        }),
    });
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
    check(Spec {
        policy: custom("settle-strike3", SETTLE_STRIKE3),
        setup: vec![Task::ObserveStart(0), Task::ObserveEnd(4_000)],
        threads: vec![vec![fail(10_000, nr)], vec![fail(10_000, nr)]],
        reach_all: true,
        find: vec![],
        never: vec![],
        invariant: Box::new(|outs, view| {
            assert_eq!(view.state.strikes().map(|s| s.count), Some(2));
            let mut seen: Vec<Verdict> = outs.iter().map(|o| verdict(o)).collect();
            seen.sort();
            assert_eq!(
                seen,
                vec![
                    Verdict::NotDead(NotDeadReason::Strike(1)),
                    Verdict::NotDead(NotDeadReason::Strike(2)),
                ]
            );
        }),
    });
}

/// Invariant: the shipped v2-2950 rule in its settle window (fresh-heartbeat
/// wait polled four times, re-probe after 500 ms: nine calls per decision,
/// each a separate critical section, and the declaration's own section):
/// two concurrent failures with no heartbeat add two strikes, so exactly one
/// of them reaches the threshold and declares; the other ends at strike 1.
/// No schedule loses a strike or declares twice.
#[test]
fn two_failures_in_the_v2_settle_window_declare_exactly_once() {
    let nr = ProbeResult::NotRunning;
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![Task::ObserveStart(0), Task::ObserveEnd(4_000)],
        threads: vec![vec![fail(10_000, nr)], vec![fail(10_000, nr)]],
        reach_all: false,
        find: vec![],
        never: vec![],
        invariant: Box::new(|outs, view| {
            assert_eq!(view.counters.declarations, 1, "{outs:?}");
            assert_eq!(view.state.strikes(), None, "declaring resets the record");
            let strike1 = outs
                .iter()
                .filter(|o| verdict(o) == Verdict::NotDead(NotDeadReason::Strike(1)))
                .count();
            assert_eq!(strike1, 1);
        }),
    });
}

/// Invariant: a heartbeat races a strike reset (v1-2931: a recent heartbeat
/// makes "not running" a strike; "running" resets the record), with a third
/// request adding a strike. Heartbeats never touch the strike record, and
/// the heartbeat is never lost: counted twice in all (setup + race), latest
/// at 2 000. The record ends empty or at one strike (the reset either wiped
/// both strikes or ran before the new one), never at two without a
/// declaration. Changed with the world model: the "running" request used to
/// be skipped in some schedules, because the third request's declaration
/// started its restart inside its own section; a declaration no longer
/// touches the coordinator (the driver launches `RestartByID` afterwards,
/// and these requests launch none), so the "running" request always runs
/// and resets the record.
#[test]
fn heartbeat_races_a_strike_reset() {
    check(Spec {
        policy: shipped("v1-2931"),
        setup: vec![
            Task::Heartbeat(1_000),
            fail(1_000, ProbeResult::NotRunning), // strike 1
        ],
        threads: vec![
            vec![fail(2_000, ProbeResult::Running)],
            vec![Task::Heartbeat(2_000)],
            vec![fail(2_000, ProbeResult::NotRunning)],
        ],
        reach_all: true,
        find: vec![],
        never: vec![],
        invariant: Box::new(|outs, view| {
            assert_eq!(view.counters.heartbeats, 2);
            assert_eq!(view.state.last_heartbeat(), Some(2_000));
            assert_eq!(verdict(&outs[0]), Verdict::NotDead(NotDeadReason::Running));
            match verdict(&outs[2]) {
                Verdict::NotDead(NotDeadReason::Strike(1)) => {
                    assert_eq!(view.state.strikes().map(|s| s.count), Some(1))
                }
                Verdict::Dead => assert_eq!(view.state.strikes(), None),
                v => panic!("unexpected verdict {v:?}"),
            }
        }),
    });
}

/// Invariant: a request fails while the restart cycle it would otherwise
/// trigger is ending (v2-2950; the cycle started at 0 from a health sweep,
/// its drain loop in its first iteration). Whether the decision sees the
/// cycle running (skipped: before the loop's exit) or finished (settling:
/// fresh-heartbeat wait, two probes, one strike), no second restart starts,
/// the loop's top and exit are applied exactly once.
#[test]
fn failure_races_the_end_of_a_restart_cycle() {
    check(Spec {
        policy: shipped("v2-2950"),
        setup: vec![
            Task::Restart {
                at: 0,
                source: RestartSource::Other,
                drain: false,
            },
            Task::LoopTop(0),
        ],
        threads: vec![
            vec![fail(1_000, ProbeResult::NotRunning)],
            vec![Task::LoopTop(1_000), Task::LoopExit(1_000)],
        ],
        reach_all: true,
        find: vec![],
        never: vec![],
        invariant: Box::new(|outs, view| {
            assert_eq!(view.counters.restarts_started, 1);
            assert_eq!(outs[1], vec![Out::Loop(LoopTop::Done), Out::Applied]);
            assert!(!view.state.restart().is_running());
            assert_eq!(view.state.restart().finished_at(), Some(1_000));
            assert!(matches!(
                verdict(&outs[0]),
                Verdict::Skipped(SkipReason::Restarting)
                    | Verdict::NotDead(NotDeadReason::Strike(1))
            ));
        }),
    });
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
