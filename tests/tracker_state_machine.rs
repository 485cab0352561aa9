//! State-machine property tests of the tracker (proptest-state-machine).
//!
//! Random sequences of failed requests, probe answers (also for requests not
//! awaiting one, finished ones and ones that do not exist), timer wakes
//! (early, on time, late), misplaced inputs, heartbeats, restart requests
//! from every source, cycle ends, cycles the platform starts and ends on its
//! own, fact changes, removals and views — with clock values that jump
//! forward, stand still and go backwards, on known and never-seen workspace
//! ids — are applied to a [`Tracker`] and to a plain reference: a
//! `HashMap<String, _>` of bare [`Workspace`]s plus the requests'
//! [`Decision`]s, driven directly through [`Decision::step`] and the
//! [`RestartCoordinator`](livecheck::restart::RestartCoordinator), with the
//! tracker's documented rules (per-workspace clock clamp, a cycle start
//! clears the URL, default facts for unknown ids, counters).
//!
//! After every step: the outputs are equal, every workspace's state, clock
//! and counters are equal (so no heartbeat, restart event or decision was
//! lost), every request's decision is equal, and the tracker knows exactly
//! the reference's workspaces. No step may panic.

use livecheck::decision::{Decision, Input, ProbeResult, Step, UnexpectedInput, Verdict};
use livecheck::restart::{CycleEnd, RestartOutcome, RestartSource};
use livecheck::tracker::{Counters, Request, Tracker, WorkspaceView};
use livecheck::workspace::Facts;
use livecheck::{Ms, Policy, Workspace};
use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// The policies a case may run: every file in `models/policies/` (so a new
/// policy is covered as soon as it ships) and v2 with the re-check guard.
fn policies() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("models/policies is readable")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut all: Vec<Policy> = files
            .iter()
            .map(|f| Policy::load(f).unwrap_or_else(|e| panic!("shipped policy: {e}")))
            .collect();
        assert!(all.len() >= 3, "the three upstream policies ship");
        let v2 = std::fs::read_to_string(dir.join("v2-2950.toml")).expect("v2 policy file");
        all.push(
            Policy::parse(
                "v2-recheck",
                Path::new("v2-recheck"),
                &format!("{v2}\n[guard]\nrecheck_restarting_before_declare = true\n"),
            )
            .expect("v2 with the re-check guard is valid"),
        );
        all
    })
}

/// One call.
#[derive(Clone, Debug)]
enum Op {
    Begin {
        ws: String,
        now: Ms,
    },
    Probe {
        req: usize,
        now: Ms,
        result: ProbeResult,
    },
    Timer {
        req: usize,
        now: Ms,
    },
    /// `Input::Start` on an existing request: always refused.
    Restart {
        req: usize,
        now: Ms,
    },
    Heartbeat {
        ws: String,
        now: Ms,
    },
    RequestRestart {
        ws: String,
        now: Ms,
        source: RestartSource,
    },
    CycleFinished {
        ws: String,
        now: Ms,
    },
    ObserveStart {
        ws: String,
        now: Ms,
    },
    ObserveEnd {
        ws: String,
        now: Ms,
    },
    SetFacts {
        ws: String,
        facts: Facts,
    },
    Remove {
        ws: String,
    },
    View {
        ws: String,
    },
}

/// What a call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    Nothing,
    Step(Result<Step, UnexpectedInput>),
    NoSuchRequest,
    Restart(RestartOutcome),
    Cycle(CycleEnd),
    Removed(bool),
    View(Option<WorkspaceView>),
}

/// A bare workspace and the tracker's bookkeeping around it.
#[derive(Clone, Debug)]
struct PlainWs {
    ws: Workspace,
    clock: Ms,
    counters: Counters,
}

impl PlainWs {
    fn new() -> Self {
        PlainWs {
            ws: Workspace::new(Facts::default()),
            clock: 0,
            counters: Counters::default(),
        }
    }
    fn view(&self) -> WorkspaceView {
        WorkspaceView {
            state: self.ws,
            clock: self.clock,
            counters: self.counters,
        }
    }
    fn tick(&mut self, now: Ms) -> Ms {
        self.clock = self.clock.max(now);
        self.clock
    }
    fn cycle_started(&mut self) {
        self.ws.url_registered = false;
        self.counters.restarts_started += 1;
    }
    fn counted(&mut self, step: Step) {
        if let Step::Done(Verdict::Dead(o)) = step {
            self.counters.declarations += 1;
            if o == RestartOutcome::Started {
                self.counters.restarts_started += 1;
            }
        }
    }
}

/// The reference machine.
#[derive(Clone, Debug)]
struct Model {
    policy: usize,
    /// Live workspace ids → index into `arena` (removed ones stay in the
    /// arena: their requests still run on them).
    names: HashMap<String, usize>,
    arena: Vec<PlainWs>,
    /// Every request begun: its workspace (arena index) and its decision.
    reqs: Vec<(usize, Decision)>,
    /// The generator's clock (what the next call's `now` is drawn around).
    clock: Ms,
    /// The last call's output.
    last: Out,
}

impl Model {
    fn policy(&self) -> &'static Policy {
        &policies()[self.policy]
    }

    fn ws(&mut self, name: &str) -> usize {
        if let Some(&i) = self.names.get(name) {
            return i;
        }
        self.arena.push(PlainWs::new());
        let i = self.arena.len() - 1;
        self.names.insert(name.to_owned(), i);
        i
    }

    fn feed(&mut self, req: usize, now: Ms, input: Input) -> Out {
        let policy = self.policy();
        let Some((w, d)) = self.reqs.get_mut(req) else {
            return Out::NoSuchRequest;
        };
        let p = &mut self.arena[*w];
        let at = now.max(p.clock);
        let r = d.step(policy, &mut p.ws, at, input);
        if let Ok(step) = r {
            p.clock = at;
            p.counted(step);
        }
        Out::Step(r)
    }

    fn apply(&mut self, op: &Op) {
        let policy = self.policy();
        self.last = match op {
            Op::Begin { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                let mut d = Decision::new();
                let r = d.step(policy, &mut p.ws, at, Input::Start);
                if let Ok(step) = r {
                    p.counters.decisions += 1;
                    p.counted(step);
                }
                self.reqs.push((i, d));
                Out::Step(r)
            }
            Op::Probe { req, now, result } => self.feed(*req, *now, Input::Probe(*result)),
            Op::Timer { req, now } => self.feed(*req, *now, Input::Timer),
            Op::Restart { req, now } => self.feed(*req, *now, Input::Start),
            Op::Heartbeat { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.heartbeat(at);
                p.counters.heartbeats += 1;
                Out::Nothing
            }
            Op::RequestRestart { ws, now, source } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                let o = p.ws.restart.request(&policy.restart, at, *source);
                if o == RestartOutcome::Started {
                    p.cycle_started();
                }
                Out::Restart(o)
            }
            Op::CycleFinished { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                let e = p.ws.restart.cycle_finished(at);
                if e == CycleEnd::Looped {
                    p.cycle_started();
                }
                Out::Cycle(e)
            }
            Op::ObserveStart { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.restart.observe_cycle_start(at);
                p.cycle_started();
                Out::Nothing
            }
            Op::ObserveEnd { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.restart.observe_cycle_end(at);
                Out::Nothing
            }
            Op::SetFacts { ws, facts } => {
                let i = self.ws(ws);
                self.arena[i].ws.facts = *facts;
                Out::Nothing
            }
            Op::Remove { ws } => Out::Removed(self.names.remove(ws).is_some()),
            Op::View { ws } => Out::View(self.names.get(ws).map(|&i| self.arena[i].view())),
        };
        if let Some(now) = op_now(op) {
            self.clock = now;
        }
    }
}

fn op_now(op: &Op) -> Option<Ms> {
    match op {
        Op::Begin { now, .. }
        | Op::Probe { now, .. }
        | Op::Timer { now, .. }
        | Op::Restart { now, .. }
        | Op::Heartbeat { now, .. }
        | Op::RequestRestart { now, .. }
        | Op::CycleFinished { now, .. }
        | Op::ObserveStart { now, .. }
        | Op::ObserveEnd { now, .. } => Some(*now),
        Op::SetFacts { .. } | Op::Remove { .. } | Op::View { .. } => None,
    }
}

struct TrackerMachine;

impl ReferenceStateMachine for TrackerMachine {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        (0..policies().len())
            .prop_map(|policy| Model {
                policy,
                names: HashMap::new(),
                arena: Vec::new(),
                reqs: Vec::new(),
                clock: 0,
                last: Out::Nothing,
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let c = state.clock;
        // Mostly small steps forward; sometimes past every window; sometimes
        // standing still or going backwards.
        let now = prop_oneof![
            6 => (0..=1_500u64).prop_map(move |d| c + d),
            2 => (1_500..=40_000u64).prop_map(move |d| c + d),
            1 => (40_000..=130_000u64).prop_map(move |d| c + d),
            2 => (0..=20_000u64).prop_map(move |d| c.saturating_sub(d)),
        ];
        let mut known: Vec<String> = state.names.keys().cloned().collect();
        known.sort();
        let ws = prop_oneof![
            6 => prop::sample::select(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]),
            1 => (0..1_000u32).prop_map(|n| format!("unknown-{n}")),
        ];
        let ws = if known.is_empty() {
            ws.boxed()
        } else {
            prop_oneof![3 => ws, 1 => prop::sample::select(known)].boxed()
        };
        let result = prop_oneof![
            3 => Just(ProbeResult::NotRunning),
            2 => Just(ProbeResult::Running),
            1 => Just(ProbeResult::Error),
            1 => Just(ProbeResult::ErrorNotRunning),
        ];
        let source = prop_oneof![
            Just(RestartSource::Detector),
            Just(RestartSource::FileWrite),
            Just(RestartSource::Other),
        ];
        let facts = prop_oneof![
            2 => Just(Facts::default()),
            1 => (any::<bool>(), any::<bool>()).prop_map(|(e, p)| Facts {
                external_runtime: e,
                provisioner: p,
            }),
        ];
        let n = state.reqs.len();
        // Requests awaiting something, and when their timers are due.
        let open: Vec<(usize, Option<Ms>)> = state
            .reqs
            .iter()
            .enumerate()
            .filter_map(|(i, (_, d))| match d.awaiting() {
                livecheck::decision::Awaiting::Probe => Some((i, None)),
                livecheck::decision::Awaiting::Timer(at) => Some((i, Some(at))),
                _ => None,
            })
            .collect();
        let any_req = 0..n + 2; // includes requests that do not exist
        let base = prop_oneof![
            4 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Begin { ws, now }),
            3 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Heartbeat { ws, now }),
            1 => (ws.clone(), now.clone(), source)
                .prop_map(|(ws, now, source)| Op::RequestRestart { ws, now, source }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::CycleFinished { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::ObserveStart { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::ObserveEnd { ws, now }),
            1 => (ws.clone(), facts).prop_map(|(ws, facts)| Op::SetFacts { ws, facts }),
            1 => ws.clone().prop_map(|ws| Op::Remove { ws }),
            1 => ws.prop_map(|ws| Op::View { ws }),
            1 => (any_req.clone(), now.clone(), result.clone())
                .prop_map(|(req, now, result)| Op::Probe { req, now, result }),
            1 => (any_req.clone(), now.clone()).prop_map(|(req, now)| Op::Timer { req, now }),
            1 => (any_req, now.clone()).prop_map(|(req, now)| Op::Restart { req, now }),
        ];
        if open.is_empty() {
            return base.boxed();
        }
        // Drive open decisions: answer probes, fire timers early/on time/late.
        let drive = prop::sample::select(open).prop_flat_map(move |(req, wake)| {
            let now = now.clone();
            match wake {
                None => (now, result.clone())
                    .prop_map(move |(now, result)| Op::Probe { req, now, result })
                    .boxed(),
                Some(at) => prop_oneof![
                    3 => Just(at),
                    1 => (0..=1_000u64).prop_map(move |d| at + d),
                    1 => (1..=600u64).prop_map(move |d| at.saturating_sub(d)),
                    1 => now,
                ]
                .prop_map(move |now| Op::Timer { req, now })
                .boxed(),
            }
        });
        prop_oneof![3 => drive, 4 => base].boxed()
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.apply(op);
        state
    }
}

/// The tracker and the caller's request handles.
struct Sut {
    tracker: Tracker,
    reqs: Vec<Request>,
    last: Out,
}

impl StateMachineTest for TrackerMachine {
    type SystemUnderTest = Sut;
    type Reference = TrackerMachine;

    fn init_test(model: &Model) -> Sut {
        Sut {
            // Few shards so workspaces share them.
            tracker: Tracker::with_shards(model.policy().clone(), 2),
            reqs: Vec::new(),
            last: Out::Nothing,
        }
    }

    fn apply(mut sut: Sut, _model: &Model, op: Op) -> Sut {
        let t = &sut.tracker;
        let feed =
            |reqs: &mut Vec<Request>, req: usize, now: Ms, input: Input| match reqs.get_mut(req) {
                None => Out::NoSuchRequest,
                Some(r) => Out::Step(match input {
                    Input::Probe(p) => r.probe_answer(now, p),
                    Input::Timer => r.timer(now),
                    Input::Start => r.step(now, Input::Start),
                }),
            };
        sut.last = match op {
            Op::Begin { ws, now } => {
                let (r, step) = t.begin(&ws, now);
                sut.reqs.push(r);
                Out::Step(Ok(step))
            }
            Op::Probe { req, now, result } => feed(&mut sut.reqs, req, now, Input::Probe(result)),
            Op::Timer { req, now } => feed(&mut sut.reqs, req, now, Input::Timer),
            Op::Restart { req, now } => feed(&mut sut.reqs, req, now, Input::Start),
            Op::Heartbeat { ws, now } => {
                t.heartbeat(&ws, now);
                Out::Nothing
            }
            Op::RequestRestart { ws, now, source } => {
                Out::Restart(t.request_restart(&ws, now, source))
            }
            Op::CycleFinished { ws, now } => Out::Cycle(t.restart_finished(&ws, now)),
            Op::ObserveStart { ws, now } => {
                t.observe_restart_started(&ws, now);
                Out::Nothing
            }
            Op::ObserveEnd { ws, now } => {
                t.observe_restart_finished(&ws, now);
                Out::Nothing
            }
            Op::SetFacts { ws, facts } => {
                t.set_facts(&ws, facts);
                Out::Nothing
            }
            Op::Remove { ws } => Out::Removed(t.remove(&ws)),
            Op::View { ws } => Out::View(t.view(&ws)),
        };
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        assert_eq!(sut.last, model.last, "same output");
        assert_eq!(sut.tracker.len(), model.names.len(), "same workspaces");
        for (name, &i) in &model.names {
            assert_eq!(
                sut.tracker.view(name),
                Some(model.arena[i].view()),
                "workspace {name:?}: same state, clock and counters"
            );
        }
        assert_eq!(sut.reqs.len(), model.reqs.len());
        for (k, (r, (w, d))) in sut.reqs.iter().zip(&model.reqs).enumerate() {
            assert_eq!(r.decision(), *d, "request {k}: same decision");
            // Removed workspaces keep running for their requests.
            assert_eq!(r.workspace().view(), model.arena[*w].view(), "request {k}");
        }
    }
}

prop_state_machine! {
    #![proptest_config(Config {
        cases: 1_000,
        max_shrink_iters: 20_000,
        .. Config::default()
    })]

    #[test]
    fn tracker_agrees_with_the_plain_decision_machine(sequential 1..80 => TrackerMachine);
}

/// The generator is not vacuous: over many random sequences, decisions
/// reach every kind of verdict, declarations start restarts, time goes
/// backwards and unknown workspaces are used.
#[test]
fn generated_sequences_cover_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = TrackerMachine::sequential_strategy(1..80);
    let (mut dead, mut queued, mut strike, mut skipped, mut refused, mut backwards, mut unknown) =
        (0, 0, 0, 0, 0, 0, 0);
    for _ in 0..400 {
        let (init, ops, _) = strategy.new_tree(&mut runner).unwrap().current();
        let mut m = init;
        for op in &ops {
            let before = m.clock;
            if op_now(op).is_some_and(|n| n < before) {
                backwards += 1;
            }
            if let Op::Begin { ws, .. } | Op::Heartbeat { ws, .. } = op {
                if ws.starts_with("unknown-") {
                    unknown += 1;
                }
            }
            m.apply(op);
            match &m.last {
                Out::Step(Ok(Step::Done(Verdict::Dead(_)))) => dead += 1,
                Out::Step(Ok(Step::Done(Verdict::Queued))) => queued += 1,
                Out::Step(Ok(Step::Done(Verdict::NotDead(
                    livecheck::decision::NotDeadReason::Strike(_),
                )))) => strike += 1,
                Out::Step(Ok(Step::Done(Verdict::Skipped(_)))) => skipped += 1,
                Out::Step(Err(_)) => refused += 1,
                _ => {}
            }
        }
    }
    for (what, n) in [
        ("declarations", dead),
        ("enqueued", queued),
        ("strikes", strike),
        ("skips", skipped),
        ("refused inputs", refused),
        ("backward clocks", backwards),
        ("unknown workspaces", unknown),
    ] {
        eprintln!("{what}: {n}");
        assert!(n > 0, "no {what} in 400 generated sequences");
    }
}
