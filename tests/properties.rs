//! Property tests of the decision machine (proptest).
//!
//! (a) `no_input_sequence_panics`: random inputs at random instants (going
//!     backwards, near `u64::MAX`), random workspace mutations between steps,
//!     several interleaved decisions, all three shipped policies: nothing
//!     panics, a refused input changes nothing, and every step agrees with
//!     [`Decision::awaiting`] / [`Decision::verdict`].
//! (b) `capped_ages_change_no_decision`: the model checker's time
//!     abstraction. The checker keeps `now` fixed and lets time pass by
//!     ageing every stamp with [`Workspace::age`] / [`Decision::age`], each
//!     age saturating at [`Policy::age_caps`]. Two runs of the same random
//!     multi-step script (ticks interleaved with heartbeats, restart requests
//!     and cycles, URL clears, decision starts, timers and probe answers, two
//!     decisions in flight) — one with the policy's caps, one with caps so
//!     large nothing saturates — must produce the same step, verdict, restart
//!     outcome and cycle end at every point, and the same untimed state.

use livecheck::decision::{Awaiting, Decision, Input, ProbeResult, Step, Verdict};
use livecheck::policy::{AgeCaps, Policy};
use livecheck::restart::{RestartOutcome, RestartSource};
use livecheck::workspace::{Facts, StrikeRecord, Workspace};
use livecheck::Ms;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const NAMES: [&str; 3] = ["v0-pre-2931", "v1-2931", "v2-2950"];

fn policies() -> &'static [Policy; 3] {
    static P: OnceLock<[Policy; 3]> = OnceLock::new();
    P.get_or_init(|| {
        NAMES.map(|n| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models/policies")
                .join(format!("{n}.toml"));
            Policy::load(&path).unwrap_or_else(|e| panic!("{n}: {e}"))
        })
    })
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
    Step {
        slot: usize,
        now: Ms,
        input: Input,
    },
    Heartbeat(Ms),
    Url(bool),
    Strikes(Option<(u8, Ms)>),
    Facts(bool, bool),
    Restart(Ms, RestartSource),
    CycleFinished(Ms),
    ObserveStart(Ms),
    ObserveEnd(Ms),
    AgeWorkspace {
        now: Ms,
        dt: Ms,
        caps: (Ms, Ms, Ms, Ms),
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
        Just(Input::Start),
        Just(Input::Timer),
        probe_result().prop_map(Input::Probe),
    ];
    prop_oneof![
        8 => (0..3usize, instant(), input).prop_map(|(slot, now, input)| Chaos::Step { slot, now, input }),
        1 => instant().prop_map(Chaos::Heartbeat),
        1 => any::<bool>().prop_map(Chaos::Url),
        1 => proptest::option::of((any::<u8>(), instant())).prop_map(Chaos::Strikes),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(e, p)| Chaos::Facts(e, p)),
        1 => (instant(), source()).prop_map(|(t, s)| Chaos::Restart(t, s)),
        1 => instant().prop_map(Chaos::CycleFinished),
        1 => instant().prop_map(Chaos::ObserveStart),
        1 => instant().prop_map(Chaos::ObserveEnd),
        1 => (instant(), instant(), (instant(), instant(), instant(), instant()))
            .prop_map(|(now, dt, caps)| Chaos::AgeWorkspace { now, dt, caps }),
        1 => (0..3usize, instant(), instant(), instant())
            .prop_map(|(slot, now, dt, cap)| Chaos::AgeDecision { slot, now, dt, cap }),
        1 => (0..3usize).prop_map(Chaos::Fresh),
    ]
}

/// Checks that a step's answer agrees with the decision's own view.
fn check_step(d: &Decision, ws: &Workspace, now: Ms, step: Step) -> Result<(), TestCaseError> {
    prop_assert!(d.probes() <= 2, "more than two probes: {d:?}");
    match step {
        Step::Probe => prop_assert_eq!(d.awaiting(), Awaiting::Probe),
        Step::Wake(t) => prop_assert_eq!(d.awaiting(), Awaiting::Timer(t)),
        Step::Done(v) => {
            prop_assert_eq!(d.verdict(), Some(v));
            prop_assert_eq!(d.awaiting(), Awaiting::Nothing);
            match v {
                Verdict::Skipped(_) => prop_assert_eq!(d.probes(), 0),
                Verdict::Dead(o) => {
                    prop_assert!(d.probes() >= 1);
                    prop_assert!(!ws.url_registered, "dead must clear the URL");
                    prop_assert_eq!(ws.strikes, None, "dead must reset strikes");
                    if o == RestartOutcome::Started {
                        prop_assert!(ws.restart.is_running());
                        prop_assert_eq!(ws.restart.started_at(), Some(now));
                    }
                }
                Verdict::NotDead(_) | Verdict::Queued => prop_assert!(d.probes() >= 1),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn no_input_sequence_panics(pi in 0..3usize, script in prop::collection::vec(chaos(), 0..80)) {
        let policy = &policies()[pi];
        let mut ws = Workspace::default();
        let mut slots = [Decision::new(); 3];
        for op in script {
            match op {
                Chaos::Step { slot, now, input } => {
                    let before = (slots[slot], ws);
                    let d = &mut slots[slot];
                    match d.step(policy, &mut ws, now, input) {
                        Ok(step) => check_step(d, &ws, now, step)?,
                        Err(e) => {
                            prop_assert_eq!((slots[slot], ws), before, "refused input changed state");
                            prop_assert_eq!(e.got, input);
                            prop_assert_eq!(e.awaiting, slots[slot].awaiting());
                        }
                    }
                }
                Chaos::Heartbeat(t) => ws.heartbeat(t),
                Chaos::Url(u) => ws.url_registered = u,
                Chaos::Strikes(s) => ws.strikes = s.map(|(count, first)| StrikeRecord { count, first }),
                Chaos::Facts(e, p) => ws.facts = Facts { external_runtime: e, provisioner: p },
                Chaos::Restart(t, s) => { ws.restart.request(&policy.restart, t, s); }
                Chaos::CycleFinished(t) => { ws.restart.cycle_finished(t); }
                Chaos::ObserveStart(t) => ws.restart.observe_cycle_start(t),
                Chaos::ObserveEnd(t) => ws.restart.observe_cycle_end(t),
                Chaos::AgeWorkspace { now, dt, caps } => ws.age(now, dt, &AgeCaps {
                    heartbeat: caps.0, restart_stamp: caps.1, strike_first: caps.2, file_write: caps.3,
                    restart_finished: caps.1, recent_window: caps.0,
                }),
                Chaos::AgeDecision { slot, now, dt, cap } => slots[slot].age(now, dt, cap),
                Chaos::Fresh(slot) => slots[slot] = Decision::new(),
            }
        }
    }
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
};

/// One step of a script; both runs apply it.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Time passes: every stamp ages by `dt`.
    Tick(Ms),
    /// Time passes exactly to the slot's wake (if it waits for a timer in
    /// the future), then its timer fires.
    TickToWake(usize),
    Heartbeat,
    ClearUrl,
    Restart(RestartSource),
    CycleFinished,
    ObserveStart,
    ObserveEnd,
    /// A new decision in the slot (if it is idle or done), fed Start.
    Start(usize),
    Timer(usize),
    Probe(usize, ProbeResult),
}

fn tick() -> impl Strategy<Value = Ms> {
    prop_oneof![
        3 => prop::sample::select(vec![
            1u64, 2, 499, 500, 501, 1_000, 1_500, 1_999, 2_000, 2_001, 2_500, 14_999, 15_000,
            15_001, 28_000, 29_499, 29_999, 30_000, 30_001, 30_500, 32_000, 32_001, 59_999,
            60_000, 60_001, 100_000,
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
        1 => Just(Op::ClearUrl),
        1 => source().prop_map(Op::Restart),
        1 => Just(Op::CycleFinished),
        1 => Just(Op::ObserveStart),
        1 => Just(Op::ObserveEnd),
        3 => (0..2usize).prop_map(Op::Start),
        1 => (0..2usize).prop_map(Op::Timer),
        4 => (0..2usize, probe_result()).prop_map(|(s, r)| Op::Probe(s, r)),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Nothing,
    Step(Result<Step, livecheck::decision::UnexpectedInput>),
    Restart(RestartOutcome),
    Cycle(livecheck::restart::CycleEnd),
}

/// The parts of the state that hold no time: equal between the runs. The
/// strike count is the one the rule would build on (a record older than the
/// strike window counts as none: the next strike restarts at 1 either way,
/// and aging may drop such a record).
fn untimed(policy: &Policy, ws: &Workspace, d: &[Decision; 2]) -> impl PartialEq + std::fmt::Debug {
    let window = policy.decision.strikes.map_or(0, |s| s.window);
    (
        ws.facts,
        ws.url_registered,
        ws.last_heartbeat.is_some(),
        ws.strikes
            .filter(|s| NOW.saturating_sub(s.first) <= window)
            .map(|s| s.count),
        ws.restart.is_running(),
        ws.restart.is_pending(),
        ws.restart.started_at().is_some(),
        d.map(|d| (d.awaiting(), d.verdict(), d.probes())),
    )
}

struct Run<'p> {
    policy: &'p Policy,
    caps: AgeCaps,
    ws: Workspace,
    d: [Decision; 2],
}

impl Run<'_> {
    fn age(&mut self, dt: Ms) {
        self.ws.age(NOW, dt, &self.caps);
        for d in &mut self.d {
            d.age(NOW, dt, self.caps.restart_stamp);
        }
    }

    fn apply(&mut self, op: Op) -> Seen {
        let (p, ws) = (self.policy, &mut self.ws);
        match op {
            Op::Tick(dt) => {
                self.age(dt);
                Seen::Nothing
            }
            Op::TickToWake(s) => {
                if let Awaiting::Timer(t) = self.d[s].awaiting() {
                    if t > NOW {
                        self.age(t - NOW);
                    }
                    let ws = &mut self.ws;
                    return Seen::Step(self.d[s].step(p, ws, NOW, Input::Timer));
                }
                Seen::Nothing
            }
            Op::Heartbeat => {
                ws.heartbeat(NOW);
                Seen::Nothing
            }
            Op::ClearUrl => {
                ws.url_registered = false;
                Seen::Nothing
            }
            Op::Restart(src) => Seen::Restart(ws.restart.request(&p.restart, NOW, src)),
            Op::CycleFinished => Seen::Cycle(ws.restart.cycle_finished(NOW)),
            Op::ObserveStart => {
                ws.restart.observe_cycle_start(NOW);
                ws.url_registered = false;
                Seen::Nothing
            }
            Op::ObserveEnd => {
                ws.restart.observe_cycle_end(NOW);
                Seen::Nothing
            }
            Op::Start(s) => {
                if matches!(self.d[s].awaiting(), Awaiting::Nothing) {
                    self.d[s] = Decision::new();
                }
                Seen::Step(self.d[s].step(p, ws, NOW, Input::Start))
            }
            Op::Timer(s) => Seen::Step(self.d[s].step(p, ws, NOW, Input::Timer)),
            Op::Probe(s, r) => Seen::Step(self.d[s].step(p, ws, NOW, Input::Probe(r))),
        }
    }
}

fn start_state(init: Init) -> Workspace {
    Workspace {
        last_heartbeat: init.heartbeat_age.map(|a| NOW - a),
        url_registered: init.url,
        strikes: init.strikes.map(|(count, age)| StrikeRecord {
            count,
            first: NOW - age,
        }),
        ..Workspace::default()
    }
}

/// Runs `ops` twice (capped with `caps`, and uncapped) and compares every
/// observation; the error names the first op where they differ.
fn compare(policy: &Policy, caps: AgeCaps, init: Init, ops: &[Op]) -> Result<(), String> {
    let ws = start_state(init);
    let mut capped = Run {
        policy,
        caps,
        ws,
        d: [Decision::new(); 2],
    };
    let mut exact = Run {
        policy,
        caps: UNCAPPED,
        ws,
        d: [Decision::new(); 2],
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
        pi in 0..3usize,
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

/// The caps of the shipped policies: every threshold a stamp is compared
/// with fits under its cap (the fresh-heartbeat comparison needs the settle
/// window plus the whole wait, see the regression below).
#[test]
fn shipped_caps_cover_every_threshold() {
    for p in policies() {
        let c = p.age_caps();
        let d = &p.decision;
        if let Some(h) = d.recent_heartbeat {
            assert!(c.heartbeat > h.window, "{}: recent window", p.name);
        }
        if let Some(s) = d.settle {
            let wait = s.fresh_wait.map_or(0, |w| w.wait);
            assert!(c.heartbeat >= s.window + wait, "{}: fresh wait", p.name);
            assert!(c.restart_stamp >= s.window + wait, "{}: since", p.name);
            assert!(c.restart_stamp >= s.window, "{}: settle", p.name);
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
    let v2 = &policies()[2];
    let init = Init {
        heartbeat_age: Some(100_000),
        url: true,
        strikes: None,
    };
    let ops = [
        Op::Restart(RestartSource::Other),
        Op::CycleFinished,
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
    assert!(e.contains("op #4"), "{e}");
}
