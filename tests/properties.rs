//! Property tests of the decision machine (proptest), over every policy in
//! `models/policies/` (read from the directory: a policy is covered as soon
//! as it ships) and [`SHORT_WINDOWS`], a synthetic policy whose windows are
//! shorter than its decisions.
//!
//! (a) `no_input_sequence_panics`: random inputs at random instants (going
//!     backwards, near `u64::MAX`), random workspace mutations between steps
//!     (heartbeats, registrations, declarations, every restart-coordinator
//!     section), several interleaved decisions: nothing panics, a refused
//!     input changes nothing, every step agrees with [`Decision::awaiting`] /
//!     [`Decision::verdict`], and a step changes the shared state only as
//!     the rule says (the strike record; a declaration's effects).
//! (b) `capped_ages_change_no_decision`: the model checker's time
//!     abstraction. The checker keeps `now` fixed and lets time pass by
//!     ageing every stamp with [`Workspace::age`] / [`Decision::age`], each
//!     age saturating at [`Policy::age_caps`]. Two runs of the same random
//!     multi-step script (ticks interleaved with heartbeats, registrations,
//!     the restart coordinator's lock sections, URL clears, decision starts,
//!     timers, probe answers and resumed declarations, two decisions in
//!     flight) — one with the policy's caps, one with caps so large nothing
//!     saturates — must produce the same step, verdict and restart section
//!     result at every point, and the same untimed state. Time passes as the
//!     caps' contract says (see [`Policy::age_caps_for`]): freely for a
//!     policy without the restart re-check; for one with it, as in the
//!     checker (no time while a decision waits for a probe answer or its
//!     declaration's section, a tick never passes a wake-up).

mod common;

use livecheck::decision::{
    Awaiting, Decision, Input, ProbeResult, SkipReason, Step, Timer, Verdict,
};
use livecheck::policy::{AgeCaps, Policy};
use livecheck::restart::{DropReason, LoopTop, RestartOutcome, RestartSource};
use livecheck::workspace::{Facts, Status, Stored, StrikeRecord, Workspace};
use livecheck::Ms;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// A policy whose windows are shorter than its own decisions: a 100 ms
/// restart debounce, no settle window, and a 500 ms re-probe before the
/// re-check. Before the restart stamp's cap covered the decision's own
/// timers, its capped stamps saturated while a decision still held one
/// (see `caps_cover_a_decision_that_outlives_every_window`).
const SHORT_WINDOWS: &str = r#"
[probe]
on_error = "assume_alive"
[heartbeat]
recent_window = "15s"
on_recent = "strike"
[strikes]
threshold = 1
window = "30s"
[reprobe]
delay = "500ms"
always = true
[guard]
recheck_restarting_before_declare = true
[restart]
debounce = "100ms"
file_write_drop = "15s"
"#;

/// Every shipped policy (sorted by file name), then [`SHORT_WINDOWS`].
fn policies() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| {
        let mut all = common::shipped_policies();
        all.push(short_windows());
        all
    })
}

fn short_windows() -> Policy {
    Policy::parse("short-windows", Path::new("short-windows"), SHORT_WINDOWS)
        .expect("the short-windows policy is valid")
}

fn policy(name: &str) -> &'static Policy {
    policies()
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no policy {name}"))
}

#[test]
fn every_policy_file_is_covered() {
    let files = common::shipped_policy_files().len();
    assert_eq!(policies().len(), files + 1);
    for name in ["v0-pre-2931", "v1-2931", "v2-2950", "v3-proposed"] {
        policy(name);
    }
}

fn probe_result() -> impl Strategy<Value = ProbeResult> {
    prop_oneof![
        3 => Just(ProbeResult::NotRunning),
        2 => Just(ProbeResult::Running),
        1 => Just(ProbeResult::Error),
        1 => Just(ProbeResult::ErrorNotRunning),
    ]
}

fn source() -> impl Strategy<Value = RestartSource> {
    prop_oneof![
        Just(RestartSource::Detector),
        Just(RestartSource::FileWrite),
        Just(RestartSource::Other),
    ]
}

// ---------------------------------------------------------------------------
// (a) no input sequence panics
// ---------------------------------------------------------------------------

/// Any instant, biased towards the interesting ones.
fn instant() -> impl Strategy<Value = Ms> {
    prop_oneof![
        4 => 0..200_000u64,
        1 => any::<u64>(),
        1 => Just(u64::MAX),
        1 => (u64::MAX - 100_000)..=u64::MAX,
        1 => Just(0u64),
    ]
}

#[derive(Debug, Clone)]
enum Chaos {
    /// A request fails: a decision starts in the slot unless it holds one.
    Start {
        slot: usize,
        now: Ms,
    },
    Step {
        slot: usize,
        now: Ms,
        input: Input,
    },
    Heartbeat(Ms),
    Register(Ms),
    Url(bool),
    Cached(bool),
    Status(Status),
    DeclareDead,
    MarkProvisioning,
    ContainerStarted,
    ResolveUrl,
    Strikes(Option<(u8, Ms)>),
    Facts(bool, bool),
    FileWriteGate(Ms),
    DebounceCheck(Ms, RestartSource),
    Coalesce(Ms),
    Request(Ms, RestartSource),
    RestartByIdNow(Ms, RestartSource),
    LoopTop(Ms),
    Exit(Ms),
    ObserveStart(Ms),
    ObserveEnd(Ms),
    AgeWorkspace {
        now: Ms,
        dt: Ms,
        caps: (Ms, Ms, Ms, Ms, Ms),
    },
    AgeDecision {
        slot: usize,
        now: Ms,
        dt: Ms,
        cap: Ms,
    },
    Fresh(usize),
}

fn chaos() -> impl Strategy<Value = Chaos> {
    let input = prop_oneof![
        Just(Input::Timer),
        Just(Input::Resume),
        probe_result().prop_map(Input::Probe),
    ];
    let status = prop_oneof![
        Just(Status::Online),
        Just(Status::Offline),
        Just(Status::Provisioning),
    ];
    prop_oneof![
        3 => (0..3usize, instant()).prop_map(|(slot, now)| Chaos::Start { slot, now }),
        9 => (0..3usize, instant(), input).prop_map(|(slot, now, input)| Chaos::Step { slot, now, input }),
        1 => instant().prop_map(Chaos::Heartbeat),
        1 => instant().prop_map(Chaos::Register),
        1 => any::<bool>().prop_map(Chaos::Url),
        1 => any::<bool>().prop_map(Chaos::Cached),
        1 => status.prop_map(Chaos::Status),
        1 => Just(Chaos::DeclareDead),
        1 => Just(Chaos::MarkProvisioning),
        1 => Just(Chaos::ContainerStarted),
        1 => Just(Chaos::ResolveUrl),
        1 => proptest::option::of((any::<u8>(), instant())).prop_map(Chaos::Strikes),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(e, p)| Chaos::Facts(e, p)),
        1 => instant().prop_map(Chaos::FileWriteGate),
        1 => (instant(), source()).prop_map(|(t, s)| Chaos::DebounceCheck(t, s)),
        1 => instant().prop_map(Chaos::Coalesce),
        1 => (instant(), source()).prop_map(|(t, s)| Chaos::Request(t, s)),
        1 => (instant(), source()).prop_map(|(t, s)| Chaos::RestartByIdNow(t, s)),
        1 => instant().prop_map(Chaos::LoopTop),
        1 => instant().prop_map(Chaos::Exit),
        1 => instant().prop_map(Chaos::ObserveStart),
        1 => instant().prop_map(Chaos::ObserveEnd),
        1 => (instant(), instant(), (instant(), instant(), instant(), instant(), instant()))
            .prop_map(|(now, dt, caps)| Chaos::AgeWorkspace { now, dt, caps }),
        1 => (0..3usize, instant(), instant(), instant())
            .prop_map(|(slot, now, dt, cap)| Chaos::AgeDecision { slot, now, dt, cap }),
        1 => (0..3usize).prop_map(Chaos::Fresh),
    ]
}

/// Checks that a step's answer agrees with the decision's own view, and
/// that the step changed the shared state only as the rule says: nothing
/// but the strike record, except a declaration, which applies exactly
/// [`Workspace::declare_dead`] and resets the record where the policy has
/// one.
fn check_step(
    policy: &Policy,
    d: &Decision,
    before: &Workspace,
    ws: &Workspace,
    step: Step,
) -> Result<(), TestCaseError> {
    prop_assert!(d.probes() <= 2, "more than two probes: {d:?}");
    let has_record = policy.decision.strikes.is_some();
    if !has_record {
        prop_assert_eq!(ws.strikes(), before.strikes(), "no strike record to touch");
    }
    let untouched = |ws: &Workspace| Stored {
        strikes: None,
        ..ws.stored()
    };
    match step {
        Step::Probe => prop_assert_eq!(d.awaiting(), Awaiting::Probe),
        Step::Wake { at: t, .. } => prop_assert_eq!(d.awaiting(), Awaiting::Timer(t)),
        Step::Yield => {
            prop_assert_eq!(d.awaiting(), Awaiting::Resume);
            prop_assert!(has_record, "only a strike yields");
            prop_assert!(d.probes() >= 1);
        }
        Step::Done(v) => {
            prop_assert_eq!(d.verdict(), Some(v));
            prop_assert_eq!(d.awaiting(), Awaiting::Nothing);
            match v {
                // v3's re-check stands down after its probes; every other
                // skip but v4's stand-down happens before any probe.
                Verdict::Skipped(SkipReason::RestartRecheck) => {
                    prop_assert!(policy.decision.recheck_restarting);
                    prop_assert!(d.probes() >= 1);
                }
                // v4's stand-down too: the row was already offline when it
                // came to declare.
                Verdict::Skipped(SkipReason::AlreadyOffline) => {
                    prop_assert!(policy.decision.skip_when_offline);
                    prop_assert!(d.probes() >= 1);
                    prop_assert_eq!(before.status(), Status::Offline);
                }
                Verdict::Skipped(_) => prop_assert_eq!(d.probes(), 0),
                Verdict::Dead => {
                    prop_assert!(d.probes() >= 1);
                    let mut want = *before;
                    if has_record {
                        want = Workspace::restore(Stored {
                            strikes: None,
                            ..want.stored()
                        });
                    }
                    want.declare_dead();
                    prop_assert_eq!(*ws, want, "exactly the declaration's effects");
                    return Ok(());
                }
                Verdict::NotDead(_) | Verdict::Queued => prop_assert!(d.probes() >= 1),
            }
        }
    }
    prop_assert_eq!(
        untouched(ws),
        untouched(before),
        "a step that does not declare changes only the strike record"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn no_input_sequence_panics(
        pi in 0..policies().len(),
        script in prop::collection::vec(chaos(), 0..80),
    ) {
        let policy = &policies()[pi];
        let r = &policy.restart;
        let mut ws = Workspace::default();
        let mut slots: [Option<Decision>; 3] = [None; 3];
        for op in script {
            match op {
                Chaos::Start { slot, now } => {
                    if slots[slot].is_none() {
                        let before = ws;
                        let (d, step) = Decision::start(policy, &mut ws, now);
                        check_step(policy, &d, &before, &ws, step)?;
                        slots[slot] = Some(d);
                    }
                }
                Chaos::Step { slot, now, input } => {
                    let Some(d) = &mut slots[slot] else { continue };
                    let before = (*d, ws);
                    match d.step(policy, &mut ws, now, input) {
                        Ok(step) => check_step(policy, d, &before.1, &ws, step)?,
                        Err(e) => {
                            prop_assert_eq!((*d, ws), before, "refused input changed state");
                            prop_assert_eq!(e.got, input);
                            prop_assert_eq!(e.awaiting, d.awaiting());
                        }
                    }
                }
                Chaos::Heartbeat(t) => ws.heartbeat(t),
                Chaos::Register(t) => ws.register(t),
                Chaos::Url(u) => ws = Workspace::restore(Stored { url_registered: u, ..ws.stored() }),
                Chaos::Cached(c) => ws = Workspace::restore(Stored { url_cached: c, ..ws.stored() }),
                Chaos::Status(s) => ws = Workspace::restore(Stored { status: s, ..ws.stored() }),
                Chaos::DeclareDead => ws.declare_dead(),
                Chaos::MarkProvisioning => ws.mark_provisioning(),
                Chaos::ContainerStarted => ws.container_started(),
                Chaos::ResolveUrl => { ws.resolve_url(); }
                Chaos::Strikes(s) => ws = Workspace::restore(Stored { strikes: s.map(|(count, first)| StrikeRecord { count, first }), ..ws.stored() }),
                Chaos::Facts(e, p) => ws.set_facts(Facts { external_runtime: e, provisioner: p }),
                Chaos::FileWriteGate(t) => { let _ = ws.restart_mut().file_write_gate(r, t); }
                Chaos::DebounceCheck(t, s) => { let _ = ws.restart_mut().debounce_check(r, t, s); }
                Chaos::Coalesce(t) => { ws.restart_mut().coalesce(t); }
                Chaos::Request(t, s) => { ws.restart_mut().request(r, t, s); }
                Chaos::RestartByIdNow(t, s) => { ws.restart_by_id_now(r, t, s); }
                Chaos::LoopTop(t) => { ws.restart_mut().loop_top(t); }
                Chaos::Exit(t) => ws.restart_mut().exit(t),
                Chaos::ObserveStart(t) => ws.observe_restart_started(t),
                Chaos::ObserveEnd(t) => ws.observe_restart_finished(t),
                Chaos::AgeWorkspace { now, dt, caps } => ws.age(now, dt, &AgeCaps {
                    heartbeat: caps.0, restart_stamp: caps.1, strike_first: caps.2, file_write: caps.3,
                    restart_finished: caps.1, recent_window: caps.0, liveness_key: caps.4,
                }),
                Chaos::AgeDecision { slot, now, dt, cap } => {
                    if let Some(d) = &mut slots[slot] {
                        d.age(now, dt, cap);
                    }
                }
                Chaos::Fresh(slot) => slots[slot] = None,
            }
        }
    }
}

/// Regression (issue 15 item 3): with v3 in the list, a re-check skip after
/// two probes failed the old "a skip never probes" assertion.
#[test]
fn v3_skips_after_its_probes_when_a_restart_began_meanwhile() {
    let v3 = policy("v3-proposed");
    let mut ws = Workspace::default();
    let (mut d, first) = Decision::start(v3, &mut ws, 1_000);
    assert_eq!(first, Step::Probe);
    let before = ws;
    let step = d.step(v3, &mut ws, 1_000, Input::Probe(ProbeResult::NotRunning));
    assert_eq!(
        step,
        Ok(Step::Wake {
            at: 1_500,
            timer: Timer::Reprobe
        })
    );
    check_step(v3, &d, &before, &ws, step.unwrap()).unwrap();
    ws.observe_restart_started(1_200);
    ws.observe_restart_finished(1_300);
    assert_eq!(d.step(v3, &mut ws, 1_500, Input::Timer), Ok(Step::Probe));
    let before = ws;
    let step = d
        .step(v3, &mut ws, 1_500, Input::Probe(ProbeResult::NotRunning))
        .unwrap();
    assert_eq!(
        step,
        Step::Done(Verdict::Skipped(SkipReason::RestartRecheck))
    );
    assert_eq!(d.probes(), 2);
    check_step(v3, &d, &before, &ws, step).unwrap();
}

// ---------------------------------------------------------------------------
// (b) capped ages change no decision
// ---------------------------------------------------------------------------

/// The checker's fixed "now": far from both ends of the clock, so the
/// uncapped run never saturates at 0.
const NOW: Ms = 1 << 40;

/// Caps so large that no age ever saturates.
const UNCAPPED: AgeCaps = AgeCaps {
    heartbeat: u64::MAX,
    restart_stamp: u64::MAX,
    restart_finished: u64::MAX,
    recent_window: u64::MAX,
    strike_first: u64::MAX,
    file_write: u64::MAX,
    liveness_key: u64::MAX,
};

/// One step of a script; both runs apply it.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Time passes: every stamp ages by `dt` (or less, or not at all, where
    /// the policy's time contract says so: [`Run::may_pass`]).
    Tick(Ms),
    /// Time passes exactly to the slot's wake (if it waits for a timer in
    /// the future), then its timer fires.
    TickToWake(usize),
    Heartbeat,
    Register,
    ClearUrl,
    DeclareDead,
    /// `maybeRestartAfterFileWrite`'s gate.
    FileWriteGate,
    /// `RestartByID`'s first section.
    Check(RestartSource),
    /// `RestartByID`'s second section.
    Coalesce,
    /// Both as one section (`restart.atomic_request`).
    Request(RestartSource),
    LoopTop,
    Exit,
    ObserveStart,
    ObserveEnd,
    /// A new decision in the slot (if it is idle or done), fed Start.
    Start(usize),
    Timer(usize),
    Probe(usize, ProbeResult),
    /// The slot's declaration section after a [`Step::Yield`].
    Resume(usize),
    /// Up to [`DRIVE`] of the above in a row for the slot: Start when it is
    /// idle or done, every probe answered with the result, every timer
    /// taken at its wake; stops at a Yield (its Resume is an op of its own)
    /// and where time may not pass (so a deep decision — v2's settling
    /// strike after four polls and a re-probe — is a few ops, not twenty).
    Drive(usize, ProbeResult),
}

/// Most sub-steps of one [`Op::Drive`].
const DRIVE: usize = 10;

fn tick() -> impl Strategy<Value = Ms> {
    prop_oneof![
        3 => prop::sample::select(vec![
            1u64, 2, 99, 100, 101, 499, 500, 501, 1_000, 1_500, 1_999, 2_000, 2_001, 2_500,
            14_999, 15_000, 15_001, 28_000, 29_499, 29_999, 30_000, 30_001, 30_500, 32_000,
            32_001, 59_999, 60_000, 60_001, 62_000, 62_001, 62_500, 100_000,
        ]),
        2 => 1..3_000u64,
        1 => 1..120_000u64,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => tick().prop_map(Op::Tick),
        3 => (0..2usize).prop_map(Op::TickToWake),
        2 => Just(Op::Heartbeat),
        1 => Just(Op::Register),
        1 => Just(Op::ClearUrl),
        1 => Just(Op::DeclareDead),
        1 => Just(Op::FileWriteGate),
        1 => source().prop_map(Op::Check),
        1 => Just(Op::Coalesce),
        1 => source().prop_map(Op::Request),
        1 => Just(Op::LoopTop),
        1 => Just(Op::Exit),
        1 => Just(Op::ObserveStart),
        1 => Just(Op::ObserveEnd),
        3 => (0..2usize).prop_map(Op::Start),
        1 => (0..2usize).prop_map(Op::Timer),
        4 => (0..2usize, probe_result()).prop_map(|(s, r)| Op::Probe(s, r)),
        2 => (0..2usize).prop_map(Op::Resume),
        2 => (0..2usize, probe_result()).prop_map(|(s, r)| Op::Drive(s, r)),
    ]
}

/// A random starting workspace: stamps are ages before NOW.
#[derive(Debug, Clone, Copy)]
struct Init {
    heartbeat_age: Option<Ms>,
    url: bool,
    strikes: Option<(u8, Ms)>,
}

fn init() -> impl Strategy<Value = Init> {
    let age = prop_oneof![0..40_000u64, 0..200_000u64];
    (
        proptest::option::of(age.clone()),
        any::<bool>(),
        proptest::option::of((1..3u8, age)),
    )
        .prop_map(|(heartbeat_age, url, strikes)| Init {
            heartbeat_age,
            url,
            strikes,
        })
}

/// What one op produced in one run (equal between the runs, or the
/// abstraction is unsound).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Nothing,
    Step(Result<Step, livecheck::decision::UnexpectedInput>),
    Gate(Result<(), DropReason>),
    Check(Result<(), DropReason>),
    Restart(RestartOutcome),
    Loop(LoopTop),
    /// Every sub-step of an [`Op::Drive`], in order.
    Drive(Box<[Option<Result<Step, livecheck::decision::UnexpectedInput>>; DRIVE]>),
}

/// The parts of the state that hold no time: equal between the runs. The
/// strike count is the one the rule would build on (a record older than the
/// strike window counts as none: the next strike restarts at 1 either way,
/// and aging may drop such a record).
fn untimed(
    policy: &Policy,
    ws: &Workspace,
    d: &[Option<Decision>; 2],
) -> impl PartialEq + std::fmt::Debug {
    let window = policy.decision.strikes.map_or(0, |s| s.window);
    (
        (
            ws.facts(),
            ws.url_registered(),
            ws.url_cached(),
            ws.status(),
        ),
        ws.last_heartbeat().is_some(),
        ws.liveness_key().is_some(),
        ws.strikes()
            .filter(|s| NOW.saturating_sub(s.first) <= window)
            .map(|s| s.count),
        (
            ws.restart().is_running(),
            ws.restart().is_pending(),
            ws.restart().is_first_iteration(),
        ),
        ws.restart().started_at().is_some(),
        d.map(|d| d.map(|d| (d.awaiting(), d.verdict(), d.probes()))),
    )
}

struct Run<'p> {
    policy: &'p Policy,
    caps: AgeCaps,
    ws: Workspace,
    /// The two decision slots (`None`: no request has failed there yet).
    d: [Option<Decision>; 2],
}

impl Run<'_> {
    /// How much of `dt` may pass now. Without the re-check, any: no rule
    /// compares a stamp a decision remembered with a later one. With it, as
    /// in the checker (`src/model/time.rs`), the contract
    /// [`Policy::age_caps_for`] states: probe answers and a declaration's
    /// section take no time (nothing passes while one is due), and a tick
    /// lands on the next wake-up instead of passing it (nothing passes
    /// while a timer is due), so a decision lives at most its own timers.
    fn may_pass(&self, dt: Ms) -> Ms {
        if !self.policy.decision.recheck_restarting {
            return dt;
        }
        let mut dt = dt;
        for d in self.d.iter().flatten() {
            match d.awaiting() {
                Awaiting::Probe | Awaiting::Resume => return 0,
                Awaiting::Timer(at) if at <= NOW => return 0,
                Awaiting::Timer(at) => dt = dt.min(at - NOW),
                Awaiting::Nothing => {}
            }
        }
        dt
    }

    fn age(&mut self, dt: Ms) {
        self.ws.age(NOW, dt, &self.caps);
        for d in self.d.iter_mut().flatten() {
            d.age(NOW, dt, self.caps.restart_stamp);
        }
    }

    /// Feeds `input` to slot `s`'s decision (nothing when it has none).
    fn feed(&mut self, s: usize, input: Input) -> Seen {
        match &mut self.d[s] {
            Some(d) => Seen::Step(d.step(self.policy, &mut self.ws, NOW, input)),
            None => Seen::Nothing,
        }
    }

    fn apply(&mut self, op: Op) -> Seen {
        let (p, ws) = (self.policy, &mut self.ws);
        let r = &p.restart;
        match op {
            Op::Tick(dt) => {
                let dt = self.may_pass(dt);
                self.age(dt);
                Seen::Nothing
            }
            Op::TickToWake(s) => {
                if let Some(Awaiting::Timer(t)) = self.d[s].map(|d| d.awaiting()) {
                    if t > NOW {
                        let dt = t - NOW;
                        if self.may_pass(dt) < dt {
                            return Seen::Nothing;
                        }
                        self.age(dt);
                    }
                    return self.feed(s, Input::Timer);
                }
                Seen::Nothing
            }
            Op::Heartbeat => {
                ws.heartbeat(NOW);
                Seen::Nothing
            }
            Op::Register => {
                ws.register(NOW);
                Seen::Nothing
            }
            Op::ClearUrl => {
                *ws = Workspace::restore(Stored {
                    url_registered: false,
                    ..ws.stored()
                });
                Seen::Nothing
            }
            Op::DeclareDead => {
                ws.declare_dead();
                Seen::Nothing
            }
            Op::FileWriteGate => Seen::Gate(ws.restart_mut().file_write_gate(r, NOW)),
            Op::Check(src) => Seen::Check(ws.restart_mut().debounce_check(r, NOW, src)),
            Op::Coalesce => Seen::Restart(ws.restart_mut().coalesce(NOW)),
            Op::Request(src) => Seen::Restart(ws.restart_mut().request(r, NOW, src)),
            Op::LoopTop => {
                let top = ws.restart_mut().loop_top(NOW);
                if top == LoopTop::Run {
                    ws.mark_provisioning();
                }
                Seen::Loop(top)
            }
            Op::Exit => {
                ws.restart_mut().exit(NOW);
                Seen::Nothing
            }
            Op::ObserveStart => {
                ws.observe_restart_started(NOW);
                Seen::Nothing
            }
            Op::ObserveEnd => {
                ws.observe_restart_finished(NOW);
                Seen::Nothing
            }
            Op::Start(s) => match self.d[s] {
                // A request of this slot fails while its decision runs: no
                // second decision for the same request.
                Some(d) if d.awaiting() != Awaiting::Nothing => Seen::Nothing,
                _ => {
                    let (d, step) = Decision::start(p, ws, NOW);
                    self.d[s] = Some(d);
                    Seen::Step(Ok(step))
                }
            },
            Op::Timer(s) => self.feed(s, Input::Timer),
            Op::Probe(s, r) => self.feed(s, Input::Probe(r)),
            Op::Resume(s) => self.feed(s, Input::Resume),
            Op::Drive(s, r) => {
                let mut seen = [None; DRIVE];
                for out in &mut seen {
                    let op = match self.d[s].map_or(Awaiting::Nothing, |d| d.awaiting()) {
                        Awaiting::Nothing => Op::Start(s),
                        Awaiting::Probe => Op::Probe(s, r),
                        Awaiting::Timer(t) if t <= NOW => Op::Timer(s),
                        Awaiting::Timer(t) if self.may_pass(t - NOW) == t - NOW => {
                            Op::TickToWake(s)
                        }
                        Awaiting::Timer(_) | Awaiting::Resume => break,
                    };
                    let Seen::Step(step) = self.apply(op) else {
                        unreachable!("{op:?} is a decision step")
                    };
                    *out = Some(step);
                    if matches!(step, Ok(Step::Done(_) | Step::Yield)) {
                        break;
                    }
                }
                Seen::Drive(Box::new(seen))
            }
        }
    }
}

fn start_state(init: Init) -> Workspace {
    Workspace::restore(Stored {
        last_heartbeat: init.heartbeat_age.map(|a| NOW - a),
        url_registered: init.url,
        url_cached: init.url,
        strikes: init.strikes.map(|(count, age)| StrikeRecord {
            count,
            first: NOW - age,
        }),
        ..Stored::default()
    })
}

/// Runs `ops` twice (capped with `caps`, and uncapped) and compares every
/// observation; the error names the first op where they differ.
fn compare(policy: &Policy, caps: AgeCaps, init: Init, ops: &[Op]) -> Result<(), String> {
    let ws = start_state(init);
    let mut capped = Run {
        policy,
        caps,
        ws,
        d: [None; 2],
    };
    let mut exact = Run {
        policy,
        caps: UNCAPPED,
        ws,
        d: [None; 2],
    };
    for (i, &op) in ops.iter().enumerate() {
        let a = capped.apply(op);
        let b = exact.apply(op);
        if a != b {
            return Err(format!(
                "{}: op #{i} {op:?}: capped run saw {a:?}, uncapped run saw {b:?}",
                policy.name
            ));
        }
        let (ua, ub) = (
            untimed(policy, &capped.ws, &capped.d),
            untimed(policy, &exact.ws, &exact.d),
        );
        if ua != ub {
            return Err(format!(
                "{}: after op #{i} {op:?}: untimed state differs: capped {ua:?}, uncapped {ub:?}",
                policy.name
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn capped_ages_change_no_decision(
        pi in 0..policies().len(),
        init in init(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let policy = &policies()[pi];
        if let Err(e) = compare(policy, policy.age_caps(), init, &ops) {
            return Err(TestCaseError::fail(e));
        }
    }
}

/// The uncapped run really is uncapped: the script's total time cannot
/// reach the clock's origin from NOW.
#[test]
fn uncapped_run_never_saturates() {
    let max_total: Ms = 80 * 120_000 + 200_000;
    assert!(max_total < NOW / 2);
}

/// The caps of every policy: every threshold a stamp is compared with fits
/// under its cap (the fresh-heartbeat comparison needs the settle window
/// plus the whole wait; the re-check needs the decision's own timers).
#[test]
fn caps_cover_every_threshold() {
    for p in policies() {
        let c = p.age_caps();
        let d = &p.decision;
        if let Some(h) = d.recent_heartbeat {
            assert!(c.heartbeat > h.window, "{}: recent window", p.name);
        }
        let wait = d.settle.and_then(|s| s.fresh_wait).map_or(0, |w| w.wait);
        if let Some(s) = d.settle {
            assert!(c.heartbeat >= s.window + wait, "{}: fresh wait", p.name);
            assert!(c.restart_stamp >= s.window + wait, "{}: since", p.name);
            assert!(c.restart_stamp >= s.window, "{}: settle", p.name);
        }
        if d.recheck_restarting {
            let held = wait + d.reprobe_delay.unwrap_or(0);
            assert!(c.restart_stamp > held, "{}: re-check", p.name);
        }
        if let Some(s) = d.strikes {
            assert!(c.strike_first > s.window, "{}: strike window", p.name);
        }
        assert!(
            c.restart_stamp >= p.restart.debounce,
            "{}: debounce",
            p.name
        );
        assert!(c.file_write >= p.restart.file_write_drop, "{}", p.name);
    }
}

/// Regression: the counterexample that the first version of
/// `Policy::age_caps` (heartbeat cap = max(recent, settle) + 1 = 30001 ms for
/// V2) failed. A URL is registered with a heartbeat older than the restart
/// (the agent re-registered but has not heartbeaten yet); a decision starts
/// 29.999 s into the settle window and polls for a fresh heartbeat. While it
/// waits, the restart stamp it remembered ages past 30001 ms, but the capped
/// heartbeat stays at 30001 ms and so looks *newer* than the restart: the
/// capped run saw "fresh" and enqueued, the real run saw no fresh heartbeat
/// and struck.
#[test]
fn caps_keep_a_pre_restart_heartbeat_older_than_the_restart_during_the_fresh_wait() {
    let v2 = policy("v2-2950");
    let init = Init {
        heartbeat_age: Some(100_000),
        url: true,
        strikes: None,
    };
    let ops = [
        Op::Check(RestartSource::Other),
        Op::Coalesce,
        Op::Exit, // the cycle returns (the row's URL left as it was)
        Op::Tick(29_999),
        Op::Start(0),
        Op::TickToWake(0), // poll at +500: the stamp is now 30.499 s old
        Op::TickToWake(0),
        Op::TickToWake(0),
        Op::TickToWake(0), // gives up at +2000
        Op::Probe(0, ProbeResult::NotRunning),
        Op::TickToWake(0),
        Op::Probe(0, ProbeResult::NotRunning),
    ];
    compare(v2, v2.age_caps(), init, &ops).unwrap();
    // The caps as first written fail on exactly this script.
    let old = AgeCaps {
        heartbeat: 30_001,
        ..v2.age_caps()
    };
    let e = compare(v2, old, init, &ops).unwrap_err();
    assert!(e.contains("op #5"), "{e}");
}

/// Regression (issue 15 item 3): the restart stamp's cap must cover how
/// long a decision holds the stamp it read at Start before the re-check
/// compares it, whatever the policy's windows. Under [`SHORT_WINDOWS`] the
/// old cap (the largest window: the 100 ms debounce) let a restart that
/// began while the decision slept before its re-probe age to the same
/// capped value as the stamp the decision remembered: the capped run
/// declared, the real one stood down.
#[test]
fn caps_cover_a_decision_that_outlives_every_window() {
    let p = policy("short-windows");
    let init = Init {
        heartbeat_age: None,
        url: true,
        strikes: None,
    };
    let ops = [
        // A restart long ago: the stamp the decision will remember.
        Op::Request(RestartSource::Other),
        Op::LoopTop,
        Op::LoopTop,
        Op::Exit,
        Op::Tick(10_000),
        Op::Start(0),
        Op::Probe(0, ProbeResult::NotRunning), // re-probe in 500 ms
        // A new restart while the decision sleeps.
        Op::Check(RestartSource::Other),
        Op::Coalesce,
        Op::LoopTop,
        Op::LoopTop,
        Op::Exit,
        Op::TickToWake(0),
        Op::Probe(0, ProbeResult::NotRunning), // not recent: declare
    ];
    compare(p, p.age_caps(), init, &ops).unwrap();
    let mut exact = Run {
        policy: p,
        caps: UNCAPPED,
        ws: start_state(init),
        d: [None; 2],
    };
    let seen: Vec<Seen> = ops.iter().map(|&op| exact.apply(op)).collect();
    assert_eq!(
        seen.last(),
        Some(&Seen::Step(Ok(Step::Done(Verdict::Skipped(
            SkipReason::RestartRecheck
        ))))),
        "the script exercises the re-check"
    );
    // The cap as it was before (the largest window and the fresh horizon).
    let old = AgeCaps {
        restart_stamp: p.restart.debounce,
        ..p.age_caps()
    };
    assert!(p.age_caps().restart_stamp > 500);
    let e = compare(p, old, init, &ops).unwrap_err();
    assert!(e.contains("op #13"), "{e}");
}

/// What the caps cannot do, and why the re-check's policies are checked
/// with the checker's time rule: a probe answer that takes longer than any
/// finite cap lets a restart begun during the decision age to the same
/// capped value as the stamp the decision remembered. (The checker answers
/// probes in the instant they are asked for; real drivers keep exact time
/// and never cap.)
#[test]
fn no_finite_cap_covers_a_probe_answer_slower_than_it() {
    let v3 = policy("v3-proposed");
    let caps = v3.age_caps();
    let mut run = Run {
        policy: v3,
        caps,
        ws: start_state(Init {
            heartbeat_age: None,
            url: true,
            strikes: None,
        }),
        d: [None; 2],
    };
    let mut exact = Run {
        caps: UNCAPPED,
        ..run
    };
    for r in [&mut run, &mut exact] {
        r.apply(Op::Request(RestartSource::Other));
        r.apply(Op::Exit);
        r.age(caps.restart_stamp); // the old restart, at its cap
        r.apply(Op::Start(0));
        r.apply(Op::Probe(0, ProbeResult::NotRunning));
        r.apply(Op::TickToWake(0)); // the re-probe is asked for
        r.apply(Op::Request(RestartSource::Other));
        r.apply(Op::Exit);
        r.age(caps.restart_stamp); // the answer takes as long as the cap
    }
    let a = run.apply(Op::Probe(0, ProbeResult::NotRunning));
    let b = exact.apply(Op::Probe(0, ProbeResult::NotRunning));
    assert_eq!(
        b,
        Seen::Step(Ok(Step::Done(Verdict::Skipped(SkipReason::RestartRecheck))))
    );
    assert_eq!(a, Seen::Step(Ok(Step::Done(Verdict::Dead))));
}

/// The scripts of (b) are not vacuous: over many generated scripts, the
/// exact run of each policy with the re-check reaches a re-check skip, a
/// declaration, a declaration's own section (Yield then Resume) and both
/// restart sections; every policy reaches a declaration.
#[test]
fn capped_scripts_reach_the_recheck_and_the_declaration_section() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (init(), prop::collection::vec(op(), 1..80));
    for p in policies() {
        let (mut recheck, mut dead, mut yields, mut coalesced, mut dropped) = (0, 0, 0, 0, 0);
        for _ in 0..4_000 {
            let (init, ops) = strategy.new_tree(&mut runner).unwrap().current();
            let mut run = Run {
                policy: p,
                caps: UNCAPPED,
                ws: start_state(init),
                d: [None; 2],
            };
            for op in ops {
                let seen = run.apply(op);
                let steps: Vec<_> = match seen {
                    Seen::Step(s) => vec![s],
                    Seen::Drive(d) => d.iter().flatten().copied().collect(),
                    Seen::Restart(RestartOutcome::Coalesced) => {
                        coalesced += 1;
                        vec![]
                    }
                    Seen::Check(Err(DropReason::Debounce)) => {
                        dropped += 1;
                        vec![]
                    }
                    _ => vec![],
                };
                for s in steps {
                    match s {
                        Ok(Step::Done(Verdict::Skipped(SkipReason::RestartRecheck))) => {
                            recheck += 1
                        }
                        Ok(Step::Done(Verdict::Dead)) => dead += 1,
                        Ok(Step::Yield) => yields += 1,
                        _ => {}
                    }
                }
            }
        }
        eprintln!(
            "{}: {recheck} re-check skips, {dead} declarations, {yields} yields, \
             {coalesced} coalesced, {dropped} debounced",
            p.name
        );
        assert!(dead > 0 && coalesced > 0, "{}", p.name);
        if p.decision.strikes.is_some() {
            assert!(yields > 0, "{}: no declaration section", p.name);
        }
        if p.decision.recheck_restarting {
            assert!(recheck > 0, "{}: no re-check skip", p.name);
        }
        if !p.restart.detector_bypasses_debounce && p.restart.debounce > 1_000 {
            assert!(dropped > 0, "{}: nothing debounced", p.name);
        }
    }
}
