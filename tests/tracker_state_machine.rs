//! State-machine property tests of the tracker (proptest-state-machine).
//!
//! Random sequences of failed requests, probe answers (also for requests not
//! awaiting one, finished ones and ones that do not exist), timer wakes
//! (early, on time, late), misplaced inputs (Start, Resume), heartbeats,
//! registrations, `RestartByID` from every source, config PUTs, the drain
//! loop's top and exit, cycles the platform starts and ends on its own, fact
//! changes, removals and views — with clock values that jump forward, stand
//! still and go backwards, on known and never-seen workspace ids — are
//! applied to a [`Tracker`] and to a plain reference: a `HashMap<String, _>`
//! of bare [`Workspace`]s plus the requests' [`Decision`]s, driven directly
//! through [`Decision::step`] and the
//! [`RestartCoordinator`](livecheck::restart::RestartCoordinator)'s lock
//! sections, with the tracker's documented rules (per-workspace clock clamp
//! in every section, a yield resumed at once in a second section,
//! `RestartByID` as a debounce section then a coalescing section — one with
//! `restart.atomic_request` —, a drain-loop iteration marks the row, default
//! facts for unknown ids, counters). The calls run one at a time here, so
//! the sections of one call follow each other; `tests/loom_tracker.rs`
//! checks what runs between them.
//!
//! After every step: the outputs are equal, every workspace's state, clock
//! and counters are equal (so no heartbeat, restart event or decision was
//! lost), every request's decision is equal, and the tracker knows exactly
//! the reference's workspaces. No step may panic.

mod common;

use livecheck::decision::{Decision, Input, ProbeResult, Step, UnexpectedInput, Verdict};
use livecheck::restart::{DropReason, LoopTop, RestartOutcome, RestartSource};
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
/// policy is covered as soon as it ships), v2 with the re-check guard, and
/// v2 with `RestartByID` as one section (`restart.atomic_request`).
fn policies() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| {
        let mut all = common::shipped_policies();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies");
        let v2 = std::fs::read_to_string(dir.join("v2-2950.toml")).expect("v2 policy file");
        all.push(
            Policy::parse(
                "v2-recheck",
                Path::new("v2-recheck"),
                &format!("{v2}\n[guard]\nrecheck_restarting_before_declare = true\n"),
            )
            .expect("v2 with the re-check guard is valid"),
        );
        let atomic = v2.replace(
            "file_write_drop = \"15s\"",
            "file_write_drop = \"15s\"\natomic_request = true",
        );
        assert_ne!(atomic, v2, "the v2 file has the line this test edits");
        all.push(
            Policy::parse("v2-atomic", Path::new("v2-atomic"), &atomic)
                .expect("v2 with atomic RestartByID is valid"),
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
    /// `Input::Resume` from the caller: always refused (the tracker takes
    /// a declaration's section itself, in the same call as the strike).
    Resume {
        req: usize,
        now: Ms,
    },
    Heartbeat {
        ws: String,
        now: Ms,
    },
    Register {
        ws: String,
        now: Ms,
    },
    RestartById {
        ws: String,
        now: Ms,
        source: RestartSource,
    },
    ConfigPut {
        ws: String,
        now: Ms,
    },
    LoopTop {
        ws: String,
        now: Ms,
    },
    LoopExit {
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
    Loop(LoopTop),
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
    /// One lock section's clamp: the section runs at the workspace clock
    /// if `now` is older, and the clock becomes that instant.
    fn tick(&mut self, now: Ms) -> Ms {
        self.clock = self.clock.max(now);
        self.clock
    }
    fn counted(&mut self, step: Step) {
        if step == Step::Done(Verdict::Dead) {
            self.counters.declarations += 1;
        }
    }
    /// `RestartByID`: the debounce check in one section, coalescing in the
    /// next (both in one with `restart.atomic_request`).
    fn restart_by_id(&mut self, policy: &Policy, now: Ms, source: RestartSource) -> RestartOutcome {
        let r = &policy.restart;
        let outcome = if r.atomic_request {
            let at = self.tick(now);
            self.ws.restart_mut().request(r, at, source)
        } else {
            let at = self.tick(now);
            if let Err(reason) = self.ws.restart_mut().debounce_check(r, at, source) {
                return RestartOutcome::Dropped(reason);
            }
            let at = self.tick(now);
            self.ws.restart_mut().coalesce(at)
        };
        if outcome == RestartOutcome::Started {
            self.counters.restarts_started += 1;
        }
        outcome
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
    /// A quiet case: no restarts are asked for and facts never change, so
    /// decisions run their whole rule (strikes up to a declaration in its
    /// own section) instead of being skipped by a running cycle.
    quiet: bool,
    /// Declarations taken in a section of their own after a strike, and
    /// drain-loop iterations after the first (for the coverage test).
    yields: u64,
    later_cycles: u64,
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
            if step == Step::Yield {
                self.yields += 1;
                // The declaration's own section, taken at once.
                let at = p.tick(now);
                let r = d.step(policy, &mut p.ws, at, Input::Resume);
                if let Ok(step) = r {
                    p.counted(step);
                }
                return Out::Step(r);
            }
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
                let (d, step) = Decision::start(policy, &mut p.ws, at);
                p.counters.decisions += 1;
                p.counted(step);
                self.reqs.push((i, d));
                Out::Step(Ok(step))
            }
            Op::Probe { req, now, result } => self.feed(*req, *now, Input::Probe(*result)),
            Op::Timer { req, now } => self.feed(*req, *now, Input::Timer),
            Op::Resume { req, now } => self.feed(*req, *now, Input::Resume),
            Op::Heartbeat { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.heartbeat(at);
                p.counters.heartbeats += 1;
                Out::Nothing
            }
            Op::Register { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.register(at);
                Out::Nothing
            }
            Op::RestartById { ws, now, source } => {
                let i = self.ws(ws);
                Out::Restart(self.arena[i].restart_by_id(policy, *now, *source))
            }
            Op::ConfigPut { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                if p.ws
                    .restart_mut()
                    .file_write_gate(&policy.restart, at)
                    .is_err()
                {
                    Out::Restart(RestartOutcome::Dropped(DropReason::FileWrite))
                } else {
                    Out::Restart(p.restart_by_id(policy, *now, RestartSource::FileWrite))
                }
            }
            Op::LoopTop { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                let first = p.ws.restart().is_first_iteration();
                let top = p.ws.restart_mut().loop_top(at);
                if top == LoopTop::Run {
                    p.ws.mark_provisioning();
                    if !first {
                        p.counters.restarts_started += 1;
                        self.later_cycles += 1;
                    }
                }
                Out::Loop(top)
            }
            Op::LoopExit { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.restart_mut().exit(at);
                Out::Nothing
            }
            Op::ObserveStart { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.observe_restart_started(at);
                p.counters.restarts_started += 1;
                Out::Nothing
            }
            Op::ObserveEnd { ws, now } => {
                let i = self.ws(ws);
                let p = &mut self.arena[i];
                let at = p.tick(*now);
                p.ws.observe_restart_finished(at);
                Out::Nothing
            }
            Op::SetFacts { ws, facts } => {
                let i = self.ws(ws);
                self.arena[i].ws.set_facts(*facts);
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
        | Op::Resume { now, .. }
        | Op::Heartbeat { now, .. }
        | Op::Register { now, .. }
        | Op::RestartById { now, .. }
        | Op::ConfigPut { now, .. }
        | Op::LoopTop { now, .. }
        | Op::LoopExit { now, .. }
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
        (0..policies().len(), prop::bool::weighted(0.3))
            .prop_map(|(policy, quiet)| Model {
                policy,
                quiet,
                names: HashMap::new(),
                arena: Vec::new(),
                reqs: Vec::new(),
                clock: 0,
                last: Out::Nothing,
                yields: 0,
                later_cycles: 0,
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
        // Mostly one busy workspace, so decisions, heartbeats and restarts
        // meet there (two strikes in a window, a cycle to coalesce into).
        let ws = prop_oneof![
            6 => Just("a".to_owned()),
            3 => prop::sample::select(vec!["b".to_owned(), "c".to_owned()]),
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
        let quiet = prop_oneof![
            4 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Begin { ws, now }),
            3 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Heartbeat { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Register { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::LoopTop { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::LoopExit { ws, now }),
            1 => ws.clone().prop_map(|ws| Op::View { ws }),
            1 => (any_req.clone(), now.clone()).prop_map(|(req, now)| Op::Resume { req, now }),
        ];
        let base = prop_oneof![
            4 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Begin { ws, now }),
            3 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Heartbeat { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::Register { ws, now }),
            1 => (ws.clone(), now.clone(), source)
                .prop_map(|(ws, now, source)| Op::RestartById { ws, now, source }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::ConfigPut { ws, now }),
            2 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::LoopTop { ws, now }),
            2 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::LoopExit { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::ObserveStart { ws, now }),
            1 => (ws.clone(), now.clone()).prop_map(|(ws, now)| Op::ObserveEnd { ws, now }),
            1 => (ws.clone(), facts).prop_map(|(ws, facts)| Op::SetFacts { ws, facts }),
            1 => ws.clone().prop_map(|ws| Op::Remove { ws }),
            1 => ws.prop_map(|ws| Op::View { ws }),
            1 => (any_req.clone(), now.clone(), result.clone())
                .prop_map(|(req, now, result)| Op::Probe { req, now, result }),
            1 => (any_req.clone(), now.clone()).prop_map(|(req, now)| Op::Timer { req, now }),
            1 => (any_req, now.clone()).prop_map(|(req, now)| Op::Resume { req, now }),
        ];
        let base = if state.quiet {
            quiet.boxed()
        } else {
            base.boxed()
        };
        if open.is_empty() {
            return base;
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
                    input => r.step(now, input),
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
            Op::Resume { req, now } => feed(&mut sut.reqs, req, now, Input::Resume),
            Op::Heartbeat { ws, now } => {
                t.heartbeat(&ws, now);
                Out::Nothing
            }
            Op::Register { ws, now } => {
                t.workspace(&ws).register(now);
                Out::Nothing
            }
            Op::RestartById { ws, now, source } => Out::Restart(t.restart_by_id(&ws, now, source)),
            Op::ConfigPut { ws, now } => Out::Restart(t.config_put(&ws, now)),
            Op::LoopTop { ws, now } => Out::Loop(t.workspace(&ws).loop_top(now)),
            Op::LoopExit { ws, now } => {
                t.workspace(&ws).loop_exit(now);
                Out::Nothing
            }
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
/// reach every kind of verdict (a declaration also in its own section after
/// a strike, and v3's re-check skip), `RestartByID` starts, coalesces and is
/// dropped by the debounce and by the file-write gate, drain loops run a
/// second cycle, time goes backwards and unknown workspaces are used.
#[test]
fn generated_sequences_cover_the_interesting_cases() {
    use livecheck::decision::{NotDeadReason, SkipReason};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = TrackerMachine::sequential_strategy(1..80);
    let mut n = std::collections::BTreeMap::<&str, u64>::new();
    let mut count = |what: &'static str| *n.entry(what).or_default() += 1;
    let (mut yields, mut later_cycles) = (0, 0);
    for _ in 0..1_000 {
        let (init, ops, _) = strategy.new_tree(&mut runner).unwrap().current();
        let mut m = init;
        for op in &ops {
            let before = m.clock;
            if op_now(op).is_some_and(|n| n < before) {
                count("backward clocks");
            }
            if let Op::Begin { ws, .. } | Op::Heartbeat { ws, .. } = op {
                if ws.starts_with("unknown-") {
                    count("unknown workspaces");
                }
            }
            m.apply(op);
            match &m.last {
                Out::Step(Ok(Step::Done(Verdict::Dead))) => count("declarations"),
                Out::Step(Ok(Step::Done(Verdict::Queued))) => count("enqueued"),
                Out::Step(Ok(Step::Done(Verdict::NotDead(NotDeadReason::Strike(_))))) => {
                    count("strikes")
                }
                Out::Step(Ok(Step::Done(Verdict::Skipped(SkipReason::RestartRecheck)))) => {
                    count("re-check skips")
                }
                Out::Step(Ok(Step::Done(Verdict::Skipped(_)))) => count("skips"),
                Out::Step(Err(_)) => count("refused inputs"),
                Out::Restart(RestartOutcome::Started) => count("restarts started"),
                Out::Restart(RestartOutcome::Coalesced) => count("restarts coalesced"),
                Out::Restart(RestartOutcome::Dropped(DropReason::Debounce)) => {
                    count("restarts debounced")
                }
                Out::Restart(RestartOutcome::Dropped(DropReason::FileWrite)) => {
                    count("config PUTs dropped")
                }
                _ => {}
            }
        }
        yields += m.yields;
        later_cycles += m.later_cycles;
    }
    n.insert("declarations in their own section", yields);
    n.insert("second cycles of a drain loop", later_cycles);
    for what in [
        "declarations",
        "declarations in their own section",
        "enqueued",
        "strikes",
        "skips",
        "re-check skips",
        "refused inputs",
        "restarts started",
        "restarts coalesced",
        "restarts debounced",
        "config PUTs dropped",
        "second cycles of a drain loop",
        "backward clocks",
        "unknown workspaces",
    ] {
        let k = n.get(what).copied().unwrap_or(0);
        eprintln!("{what}: {k}");
        assert!(k > 0, "no {what} in 1000 generated sequences");
    }
}

/// Runs `ops` on the reference and the tracker under policy `name` and
/// checks the invariants after each, as the property test does; returns the
/// outputs.
fn replay_ops(name: &str, ops: &[Op]) -> Vec<Out> {
    let policy = policies()
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("no policy {name}"));
    let mut model = Model {
        policy,
        quiet: false,
        names: HashMap::new(),
        arena: Vec::new(),
        reqs: Vec::new(),
        clock: 0,
        last: Out::Nothing,
        yields: 0,
        later_cycles: 0,
    };
    let mut sut = <TrackerMachine as StateMachineTest>::init_test(&model);
    let mut outs = Vec::new();
    for op in ops {
        model.apply(op);
        sut = <TrackerMachine as StateMachineTest>::apply(sut, &model, op.clone());
        <TrackerMachine as StateMachineTest>::check_invariants(&sut, &model);
        outs.push(model.last.clone());
    }
    outs
}

/// The paths the random sequences reach only now and then, pinned: a
/// strike at the threshold declares in a second lock section of the same
/// call, and a caller's Resume is refused.
#[test]
fn a_strike_at_the_threshold_declares_in_the_same_call() {
    let a = || "a".to_owned();
    let outs = replay_ops(
        "v1-2931",
        &[
            Op::Heartbeat {
                ws: a(),
                now: 1_000,
            },
            Op::Begin {
                ws: a(),
                now: 1_100,
            },
            Op::Begin {
                ws: a(),
                now: 1_100,
            },
            Op::Probe {
                req: 0,
                now: 1_200,
                result: ProbeResult::NotRunning,
            },
            Op::Resume { req: 1, now: 1_250 },
            Op::Probe {
                req: 1,
                now: 1_300,
                result: ProbeResult::NotRunning,
            },
            Op::Resume { req: 1, now: 1_400 },
        ],
    );
    use livecheck::decision::{Awaiting, NotDeadReason};
    assert_eq!(
        outs[3],
        Out::Step(Ok(Step::Done(Verdict::NotDead(NotDeadReason::Strike(1)))))
    );
    assert!(matches!(
        &outs[4],
        Out::Step(Err(e)) if e.got == Input::Resume && e.awaiting == Awaiting::Probe
    ));
    assert_eq!(outs[5], Out::Step(Ok(Step::Done(Verdict::Dead))));
    assert!(matches!(
        &outs[6],
        Out::Step(Err(e)) if e.got == Input::Resume && e.awaiting == Awaiting::Nothing
    ));
}

/// Pinned: inside the debounce `RestartByID` is dropped and a second
/// config PUT inside the file-write window too; a cycle that runs past the
/// debounce absorbs a request (coalesced) and its drain loop runs a second,
/// re-stamped cycle (counted). With `restart.atomic_request` the same calls
/// give the same results one at a time.
#[test]
fn restart_by_id_coalesces_into_a_second_cycle() {
    let a = || "a".to_owned();
    let ops = [
        Op::ConfigPut {
            ws: a(),
            now: 1_000,
        },
        Op::LoopTop {
            ws: a(),
            now: 1_000,
        },
        Op::RestartById {
            ws: a(),
            now: 1_500,
            source: RestartSource::Other,
        },
        Op::ConfigPut {
            ws: a(),
            now: 2_000,
        },
        Op::RestartById {
            ws: a(),
            now: 80_001,
            source: RestartSource::Detector,
        },
        Op::LoopTop {
            ws: a(),
            now: 90_000,
        },
        Op::LoopTop {
            ws: a(),
            now: 95_000,
        },
        Op::LoopExit {
            ws: a(),
            now: 95_000,
        },
        Op::View { ws: a() },
    ];
    for policy in ["v2-2950", "v2-atomic"] {
        let outs = replay_ops(policy, &ops);
        assert_eq!(outs[0], Out::Restart(RestartOutcome::Started), "{policy}");
        assert_eq!(outs[1], Out::Loop(LoopTop::Run));
        assert_eq!(
            outs[2],
            Out::Restart(RestartOutcome::Dropped(DropReason::Debounce))
        );
        assert_eq!(
            outs[3],
            Out::Restart(RestartOutcome::Dropped(DropReason::FileWrite))
        );
        assert_eq!(outs[4], Out::Restart(RestartOutcome::Coalesced));
        assert_eq!(outs[5], Out::Loop(LoopTop::Run), "a second cycle");
        assert_eq!(outs[6], Out::Loop(LoopTop::Done));
        let Out::View(Some(v)) = &outs[8] else {
            panic!("{:?}", outs[8])
        };
        assert_eq!(v.counters.restarts_started, 2);
        assert_eq!(v.state.restart().started_at(), Some(90_000), "re-stamped");
        assert!(!v.state.restart().is_running() && !v.state.restart().is_pending());
    }
}
