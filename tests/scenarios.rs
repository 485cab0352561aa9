//! The upstream scenarios and one test per numbered branch of each version
//! (V0 1–6, V1 1–8, V2 1–12 of `reference/upstream-liveness.md`), driven
//! through [`Decision::step`] with the shipped policies
//! (`models/policies/*.toml`), plus the lock sections of "The wider world"
//! (item 1: a strike at the threshold and its declaration are two sections;
//! `RestartByID` runs after the declaration, in sections of its own) and
//! what a declaration leaves behind (item 6).
//!
//! The harness ([`World`]) is a deterministic simulation: virtual time jumps
//! to the instant the decision asks to be woken, scheduled world events
//! (heartbeats, registrations, restart cycles, URL changes) due by an
//! instant happen before the decision's step at that instant, and a decision
//! that does not finish within a step budget fails the test. A
//! [`Step::Yield`] is resumed at once, and a declaration's `RestartByID`
//! (which upstream launches with `goAsync`) runs right after the verdict
//! with its sections back to back ([`Workspace::restart_by_id_now`]), so
//! each scenario reads the verdict together with its restart's fate, as the
//! old `Verdict::Dead(RestartOutcome)` did. Tests are named after the branch
//! they pin: `v2_b9_...` pins V2 step 9.

use livecheck::decision::{
    Awaiting, Decision, Input, NotDeadReason, Phase, ProbeResult, SkipReason, Step, Timer, Verdict,
};
use livecheck::policy::Policy;
use livecheck::restart::{DropReason, LoopTop, RestartOutcome, RestartSource};
use livecheck::workspace::{Facts, Status, Stored, StrikeRecord, Workspace};
use livecheck::Ms;
use std::path::Path;

use ProbeResult::{
    Error as ERR, ErrorNotRunning as ERR_FALSE, NotRunning as FALSE, Running as TRUE,
};

const V0: &str = "v0-pre-2931";
const V1: &str = "v1-2931";
const V2: &str = "v2-2950";
const V3: &str = "v3-proposed";
const ALL: [&str; 3] = [V0, V1, V2];

/// A base instant far from zero, so no age saturates at the clock's origin.
const T0: Ms = 10_000_000;

/// `ws` with a strike record of `count` strikes, the first at `first`, as a
/// decision's earlier strikes left it.
fn with_strikes(ws: Workspace, count: u8, first: Ms) -> Workspace {
    Workspace::restore(Stored {
        strikes: Some(StrikeRecord { count, first }),
        ..ws.stored()
    })
}

fn load(name: &str) -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/policies")
        .join(format!("{name}.toml"));
    Policy::load(&path).unwrap_or_else(|e| panic!("shipped policy {name} must load: {e}"))
}

/// Something that happens in the world at a scheduled instant.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The heartbeat handler ran (`last_heartbeat_at = now`, row online, the
    /// liveness key refreshed if it exists). It does not touch the URL.
    Heartbeat,
    /// The agent registered (URL set, row online, `last_heartbeat_at = now`,
    /// liveness key created, URL cached: `registry.go@V2:603-660`).
    Register,
    /// The row's URL was blanked without a heartbeat.
    ClearUrl,
    /// The platform started a restart cycle (stamp = now, running, row
    /// `provisioning` with a blank URL).
    RestartStart,
    /// The running restart cycle returned.
    RestartEnd,
}

/// A finished decision as the harness saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    verdict: Verdict,
    /// For a declaration: what the coordinator did with the `RestartByID`
    /// the declaration launched.
    restart: Option<RestartOutcome>,
    probes: u8,
    /// Instants at which the decision asked for a probe.
    probe_times: Vec<Ms>,
    /// Instants the decision asked to be woken at, in order.
    wakes: Vec<Ms>,
    /// Lock sections the decision left with [`Step::Yield`] (a strike at
    /// the threshold, then the declaration in a section of its own).
    yields: usize,
    /// The workspace just before the step that ended the decision (the
    /// state a declaration's lock section found).
    before_verdict: Workspace,
    /// The workspace right after the verdict, before the declaration's
    /// restart request ran.
    at_verdict: Workspace,
    /// When the decision ended.
    end: Ms,
}

/// A verdict with its restart's fate (for a declaration).
type Fate = (Verdict, Option<RestartOutcome>);

impl Outcome {
    fn fate(&self) -> Fate {
        (self.verdict, self.restart)
    }
}

/// The deterministic driver: one workspace, a clock, a schedule.
struct World {
    policy: Policy,
    ws: Workspace,
    now: Ms,
    schedule: Vec<(Ms, Ev)>,
    /// Time between a probe request and its answer.
    latency: Ms,
}

impl World {
    fn new(policy: &str) -> World {
        World {
            policy: load(policy),
            ws: Workspace::new(Facts::default()),
            now: T0,
            schedule: Vec::new(),
            latency: 0,
        }
    }

    /// The row holds a URL, the proxy's Redis URL cache and the liveness key
    /// exist, and `last_heartbeat_at` is left as it is (the upstream
    /// fixtures' "hb NULL" rows that still route).
    fn routable(&mut self) -> &mut Self {
        self.ws = Workspace::restore(Stored {
            url_registered: true,
            url_cached: true,
            liveness_key: Some(self.now),
            ..self.ws.stored()
        });
        self
    }

    /// Schedules `ev` at instant `t` (applied when the clock reaches `t`).
    fn at(&mut self, t: Ms, ev: Ev) -> &mut Self {
        self.schedule.push((t, ev));
        self.schedule.sort_by_key(|&(t, _)| t);
        self
    }

    /// Moves the clock to `t` (never backwards), applying due events.
    fn advance(&mut self, t: Ms) {
        assert!(t >= self.now, "harness clock must not go backwards");
        self.now = t;
        while let Some(&(at, ev)) = self.schedule.first() {
            if at > t {
                break;
            }
            self.schedule.remove(0);
            match ev {
                Ev::Heartbeat => self.ws.heartbeat(at),
                Ev::Register => self.ws.register(at),
                Ev::ClearUrl => {
                    self.ws = Workspace::restore(Stored {
                        url_registered: false,
                        ..self.ws.stored()
                    })
                }
                Ev::RestartStart => self.ws.observe_restart_started(at),
                Ev::RestartEnd => self.ws.observe_restart_finished(at),
            }
        }
    }

    /// A restart cycle that ran from `start` to `end` (both applied now if due).
    fn restart_cycle(&mut self, start: Ms, end: Ms) -> &mut Self {
        self.at(start, Ev::RestartStart).at(end, Ev::RestartEnd);
        let now = self.now;
        self.advance(now);
        self
    }

    /// Runs one decision starting at the current instant, answering its
    /// probes with `answers` in order. Fails the test if the decision asks
    /// for more probes than given, leaves answers unused, asks to be woken
    /// in the past, or does not finish. A declaration's restart request runs
    /// right after the verdict.
    fn decide(&mut self, answers: &[ProbeResult]) -> Outcome {
        let now = self.now;
        self.advance(now);
        let (mut d, mut step) = Decision::start(&self.policy, &mut self.ws, self.now);
        let mut used = 0;
        let mut probe_times = Vec::new();
        let mut wakes = Vec::new();
        let mut yields = 0;
        let mut before_verdict = self.ws;
        for _ in 0..64 {
            match step {
                Step::Done(verdict) => {
                    assert_eq!(
                        used,
                        answers.len(),
                        "scenario gave {} probe answers, the decision used {used}",
                        answers.len()
                    );
                    assert_eq!(d.verdict(), Some(verdict));
                    assert_eq!(d.awaiting(), Awaiting::Nothing);
                    let at_verdict = self.ws;
                    // Upstream's `goAsync(RestartByID)` after the declaration.
                    let restart = (verdict == Verdict::Dead).then(|| {
                        self.ws.restart_by_id_now(
                            &self.policy.restart,
                            self.now,
                            RestartSource::Detector,
                        )
                    });
                    return Outcome {
                        verdict,
                        restart,
                        probes: d.probes(),
                        probe_times,
                        wakes,
                        yields,
                        before_verdict,
                        at_verdict,
                        end: self.now,
                    };
                }
                Step::Probe => {
                    assert_eq!(d.awaiting(), Awaiting::Probe);
                    probe_times.push(self.now);
                    let answer = *answers.get(used).unwrap_or_else(|| {
                        panic!(
                            "decision asked for probe #{} but the scenario gives {}",
                            used + 1,
                            answers.len()
                        )
                    });
                    used += 1;
                    let t = self.now + self.latency;
                    self.advance(t);
                    before_verdict = self.ws;
                    step = d
                        .step(&self.policy, &mut self.ws, self.now, Input::Probe(answer))
                        .expect("a probing decision takes a probe answer");
                }
                Step::Wake { at: t, .. } => {
                    assert!(t > self.now, "wake at {t} is not after now {}", self.now);
                    assert_eq!(d.awaiting(), Awaiting::Timer(t));
                    wakes.push(t);
                    self.advance(t);
                    before_verdict = self.ws;
                    step = d
                        .step(&self.policy, &mut self.ws, self.now, Input::Timer)
                        .expect("a sleeping decision takes a timer");
                }
                Step::Yield => {
                    assert_eq!(d.awaiting(), Awaiting::Resume);
                    assert!(
                        matches!(d.phase(), Phase::Declaring { .. }),
                        "{:?}",
                        d.phase()
                    );
                    yields += 1;
                    before_verdict = self.ws;
                    step = d
                        .step(&self.policy, &mut self.ws, self.now, Input::Resume)
                        .expect("a declaring decision takes Resume");
                }
            }
        }
        panic!(
            "scenario never finished: still {:?} after 64 steps",
            d.phase()
        );
    }

    /// Advances to `t` and runs a decision there.
    fn decide_at(&mut self, t: Ms, answers: &[ProbeResult]) -> Outcome {
        self.advance(t);
        self.decide(answers)
    }
}

const STARTED: Fate = (Verdict::Dead, Some(RestartOutcome::Started));
const DROPPED: Fate = (
    Verdict::Dead,
    Some(RestartOutcome::Dropped(DropReason::Debounce)),
);
const RUNNING: Fate = (Verdict::NotDead(NotDeadReason::Running), None);
const PROBE_ERROR: Fate = (Verdict::NotDead(NotDeadReason::ProbeError), None);
const QUEUED: Fate = (Verdict::Queued, None);
fn strike(n: u8) -> Fate {
    (Verdict::NotDead(NotDeadReason::Strike(n)), None)
}
fn skipped(r: SkipReason) -> Fate {
    (Verdict::Skipped(r), None)
}

/// Checks what a declaration itself did (`declareContainerDead`,
/// reference "What a declaration really leaves behind"): strike record
/// reset, the row `offline` unless it was `provisioning`, the Redis liveness
/// key and URL cache deleted, and the row's URL exactly as it was before
/// (upstream never blanks it at a declaration).
fn assert_declaration_effects(o: &Outcome) {
    let (before, ws) = (&o.before_verdict, &o.at_verdict);
    assert_eq!(o.verdict, Verdict::Dead);
    assert_eq!(
        ws.strikes(),
        None,
        "declaring dead resets the strike record"
    );
    let want = if before.status() == Status::Provisioning {
        Status::Provisioning
    } else {
        Status::Offline
    };
    assert_eq!(ws.status(), want, "offline unless provisioning");
    assert_eq!(ws.liveness_key(), None, "the liveness key is deleted");
    assert!(!ws.url_cached(), "the Redis URL cache is deleted");
    assert_eq!(
        ws.url_registered(),
        before.url_registered(),
        "a declaration never touches the row's URL"
    );
}

/// Checks a declaration whose `RestartByID` started a cycle at `when`: the
/// declaration's own effects, then the cycle's: stamped, running, and the
/// row `provisioning` with its URL blanked by the cycle
/// (`workspace_restart.go@V2:976-979`), not by the declaration.
fn assert_declared(w: &World, o: &Outcome, when: Ms) {
    assert_declaration_effects(o);
    assert_eq!(o.restart, Some(RestartOutcome::Started));
    assert_eq!(
        w.ws.restart().started_at(),
        Some(when),
        "an accepted restart request stamps restartStartedAt"
    );
    assert!(w.ws.restart().is_running());
    assert_eq!(
        w.ws.status(),
        Status::Provisioning,
        "the cycle marks the row"
    );
    assert!(!w.ws.url_registered(), "the cycle blanks the row's URL");
}

// ===================================================================
// Scenarios from the upstream test-suite (reference table), per version.
// ===================================================================

#[test]
fn scenario_no_provisioner_not_dead_no_probe() {
    for p in ALL {
        let mut w = World::new(p);
        w.ws.set_facts(Facts {
            provisioner: false,
            ..w.ws.facts()
        });
        let o = w.decide(&[]);
        assert_eq!(o.fate(), skipped(SkipReason::NoProvisioner), "{p}");
        assert_eq!(o.probes, 0, "{p}");
    }
}

#[test]
fn scenario_runtime_external_not_dead_no_probe() {
    for p in ALL {
        let mut w = World::new(p);
        w.ws.set_facts(Facts {
            external_runtime: true,
            ..w.ws.facts()
        });
        let o = w.decide(&[]);
        assert_eq!(o.fate(), skipped(SkipReason::ExternalRuntime), "{p}");
        assert_eq!(o.probes, 0, "{p}");
    }
}

#[test]
fn scenario_probe_false_hb_null_dead_after_one_probe_offline() {
    for p in ALL {
        let mut w = World::new(p);
        w.routable();
        let o = w.decide(&[FALSE]);
        assert_eq!(o.fate(), STARTED, "{p}");
        assert_eq!(o.probes, 1, "{p}");
        assert_eq!(o.end, T0, "{p}: no sleep before declaring");
        assert_eq!(o.at_verdict.status(), Status::Offline, "{p}: offline");
        assert_declared(&w, &o, T0);
    }
}

#[test]
fn scenario_probe_true_hb_null_not_dead_one_probe() {
    for p in ALL {
        let mut w = World::new(p);
        let o = w.decide(&[TRUE]);
        assert_eq!(o.fate(), RUNNING, "{p}");
        assert_eq!(o.probes, 1, "{p}");
        assert_eq!(w.ws.restart().started_at(), None, "{p}: no restart");
    }
}

#[test]
fn scenario_v2_probe_false_false_hb_now_not_settling_queued_two_probes() {
    let mut w = World::new(V2);
    w.at(T0, Ev::Register);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.fate(), QUEUED);
    assert_eq!(o.probes, 2);
    assert_eq!(w.ws.strikes(), None, "enqueueing adds no strike");
    assert!(
        w.ws.url_registered() && w.ws.url_cached() && w.ws.liveness_key().is_some(),
        "enqueueing clears nothing"
    );
    assert_eq!(w.ws.status(), Status::Online);
    assert_eq!(w.ws.restart().started_at(), None, "no restart");
}

#[test]
fn scenario_probe_false_error_hb_null_not_dead_v1_v2_dead_v0() {
    for (p, want) in [(V0, STARTED), (V1, PROBE_ERROR), (V2, PROBE_ERROR)] {
        let mut w = World::new(p);
        let o = w.decide(&[ERR_FALSE]);
        assert_eq!(o.fate(), want, "{p}");
        assert_eq!(o.probes, 1, "{p}");
    }
}

#[test]
fn scenario_restart_cycle_running_not_dead_zero_probes() {
    for p in ALL {
        let mut w = World::new(p);
        w.at(T0 - 1_000, Ev::RestartStart);
        let o = w.decide(&[]);
        assert_eq!(o.fate(), skipped(SkipReason::Restarting), "{p}");
        assert_eq!(o.probes, 0, "{p}");
    }
}

#[test]
fn scenario_v1_hb_now_probe_false_two_calls_second_dead() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    let first = w.decide(&[FALSE]);
    assert_eq!(first.fate(), strike(1));
    assert_eq!(first.probes, 1);
    let second = w.decide_at(T0 + 100, &[FALSE]);
    assert_eq!(second.fate(), STARTED);
    assert_eq!(second.probes, 1);
    assert_eq!(second.yields, 1, "strike 2, then the declaration's section");
    assert_declared(&w, &second, T0 + 100);
}

#[test]
fn scenario_v1_hb_now_false_true_false_third_call_is_strike_one_again() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).fate(), strike(1));
    assert_eq!(w.decide_at(T0 + 100, &[TRUE]).fate(), RUNNING);
    assert_eq!(w.ws.strikes(), None, "running resets the record");
    let third = w.decide_at(T0 + 200, &[FALSE]);
    assert_eq!(third.fate(), strike(1));
    assert_eq!(
        w.ws.strikes(),
        Some(StrikeRecord {
            count: 1,
            first: T0 + 200
        })
    );
}

#[test]
fn scenario_restart_stamped_now_not_running_restart_by_id_five_times_all_dropped() {
    for p in ALL {
        let policy = load(p);
        let mut w = World::new(p);
        w.restart_cycle(T0, T0);
        assert!(!w.ws.restart().is_running());
        for i in 0..5 {
            // Dropped in `shouldDebounceRestart`, RestartByID's first lock
            // section: coalescing never runs.
            assert_eq!(
                w.ws.restart()
                    .debounce_check(&policy.restart, T0 + i, RestartSource::Other),
                Err(DropReason::Debounce),
                "{p}: call {i}"
            );
            assert_eq!(
                w.ws.restart_by_id_now(&policy.restart, T0 + i, RestartSource::Other),
                RestartOutcome::Dropped(DropReason::Debounce),
                "{p}: call {i}"
            );
        }
        assert_eq!(
            w.ws.restart().started_at(),
            Some(T0),
            "{p}: nothing stamped"
        );
        assert!(!w.ws.restart().is_running(), "{p}");
    }
}

#[test]
fn scenario_restart_stamped_now_five_declarations_all_dropped_v0_v1() {
    // The same through the decision: every declaration's RestartByID drops.
    for p in [V0, V1] {
        let mut w = World::new(p);
        w.restart_cycle(T0, T0);
        for i in 0..5 {
            let o = w.decide_at(T0 + i, &[FALSE]);
            assert_eq!(o.fate(), DROPPED, "{p}: call {i}");
        }
        assert_eq!(w.ws.restart().started_at(), Some(T0), "{p}");
        assert!(!w.ws.restart().is_running(), "{p}: nothing is coming");
    }
}

// ===================================================================
// V0 (before #2931), branches 1–6.
// ===================================================================

#[test]
fn v0_b1_external_runtime_not_dead() {
    let mut w = World::new(V0);
    w.ws.set_facts(Facts {
        external_runtime: true,
        provisioner: false,
    });
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::ExternalRuntime));
    assert_eq!(o.probes, 0);
}

#[test]
fn v0_b2_no_provisioner_not_dead() {
    let mut w = World::new(V0);
    w.ws.set_facts(Facts {
        provisioner: false,
        ..w.ws.facts()
    });
    w.at(T0 - 100_000, Ev::RestartStart);
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::NoProvisioner));
    assert_eq!(o.probes, 0);
}

#[test]
fn v0_b3_restarting_not_dead_no_probe() {
    let mut w = World::new(V0);
    w.at(T0 - 100_000, Ev::RestartStart);
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::Restarting));
    assert_eq!(o.probes, 0);
    // Once the cycle returns, the guard no longer holds.
    w.at(T0 + 1, Ev::RestartEnd);
    assert_eq!(w.decide_at(T0 + 1, &[TRUE]).fate(), RUNNING);
}

#[test]
fn v0_b4_probe_error_only_logged_true_err_is_running() {
    let mut w = World::new(V0);
    w.routable();
    let before = w.ws;
    let o = w.decide(&[ERR]);
    assert_eq!(
        o.fate(),
        RUNNING,
        "(true, err): the running flag is trusted"
    );
    assert_eq!(w.ws, before, "nothing declared, nothing changed");
}

#[test]
fn v0_b4_probe_error_only_logged_false_err_is_dead() {
    let mut w = World::new(V0);
    w.routable();
    let o = w.decide(&[ERR_FALSE]);
    assert_eq!(o.fate(), STARTED, "(false, err) e.g. ErrNoBackend is dead");
    assert_eq!(o.probes, 1);
    assert_declared(&w, &o, T0);
}

#[test]
fn v0_b4_probes_exactly_once_and_ignores_heartbeat_and_settling() {
    // No recent-heartbeat rule, no settle window, no re-probe in V0.
    let mut w = World::new(V0);
    w.restart_cycle(T0 - 10_000, T0 - 9_000);
    w.at(T0, Ev::Heartbeat);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), DROPPED);
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty(), "V0 never sleeps");
}

#[test]
fn v0_b5_running_not_dead() {
    let mut w = World::new(V0);
    let o = w.decide(&[TRUE]);
    assert_eq!(o.fate(), RUNNING);
    assert_eq!(o.probes, 1);
    assert_eq!(w.ws.restart().started_at(), None);
}

#[test]
fn v0_b6_not_running_declares_dead_restart_started() {
    let mut w = World::new(V0);
    w.at(T0 - 5_000, Ev::Register);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(
        o.yields, 0,
        "no strike record: declared in the probe's section"
    );
    assert_declared(&w, &o, T0);
}

#[test]
fn v0_b6_declare_dead_restart_dropped_inside_debounce_59999() {
    let mut w = World::new(V0);
    w.restart_cycle(T0, T0 + 4_000);
    w.at(T0 + 10_000, Ev::Register); // the new agent is up
    let o = w.decide_at(T0 + 59_999, &[FALSE]);
    assert_eq!(o.fate(), DROPPED);
    assert_declaration_effects(&o);
    // Changed with the world model: this test used to assert that the URL
    // is cleared even when the restart is dropped. Upstream's declaration
    // deletes the Redis URL cache and liveness key and marks the row
    // offline, but never blanks the row's `url` (reference, "What a
    // declaration really leaves behind"): the row keeps its URL, so the
    // next request still resolves it from the database.
    assert!(w.ws.url_registered(), "the row's URL stays");
    assert!(!w.ws.url_cached() && w.ws.liveness_key().is_none());
    assert_eq!(w.ws.status(), Status::Offline);
    assert_eq!(
        w.ws.restart().started_at(),
        Some(T0),
        "a dropped call stamps nothing"
    );
    assert!(
        !w.ws.restart().is_running(),
        "orphaned offline: nothing coming"
    );
}

#[test]
fn v0_b6_declare_dead_restart_started_at_debounce_60000() {
    let mut w = World::new(V0);
    w.restart_cycle(T0, T0 + 4_000);
    let o = w.decide_at(T0 + 60_000, &[FALSE]);
    assert_eq!(o.fate(), STARTED, "the 60 s debounce is exclusive");
    assert_declared(&w, &o, T0 + 60_000);
}

#[test]
fn v0_b6_declare_dead_restart_coalesced_into_long_running_cycle() {
    // A cycle that started while this decision was probing and has run for
    // the whole debounce: the declaration's request passes the debounce and
    // is coalesced (pending); the running drain loop runs once more.
    let policy = load(V0);
    let mut ws = Workspace::default();
    let (mut d, first) = Decision::start(&policy, &mut ws, T0);
    assert_eq!(first, Step::Probe);
    assert_eq!(
        ws.restart_by_id_now(&policy.restart, T0 + 1, RestartSource::Other),
        RestartOutcome::Started
    );
    // restart_by_id_now ran the loop's first top: the first iteration runs.
    assert!(ws.restart().is_running() && !ws.restart().is_pending());
    assert_eq!(ws.restart().started_at(), Some(T0 + 1));
    let step = d.step(&policy, &mut ws, T0 + 60_001, Input::Probe(FALSE));
    assert_eq!(step, Ok(Step::Done(Verdict::Dead)));
    // The declaration launches RestartByID: both its sections.
    assert_eq!(
        ws.restart()
            .debounce_check(&policy.restart, T0 + 60_001, RestartSource::Detector),
        Ok(())
    );
    assert_eq!(
        ws.restart_mut().coalesce(T0 + 60_001),
        RestartOutcome::Coalesced
    );
    assert!(ws.restart().is_pending());
    assert_eq!(
        ws.restart_mut().loop_top(T0 + 70_000),
        LoopTop::Run,
        "one more cycle"
    );
    assert_eq!(
        ws.restart().started_at(),
        Some(T0 + 70_000),
        "loop re-stamps"
    );
    assert_eq!(ws.restart_mut().loop_top(T0 + 75_000), LoopTop::Done);
    ws.restart_mut().exit(T0 + 75_000);
    assert!(!ws.restart().is_running() && !ws.restart().is_pending());
}

// ===================================================================
// V1 (#2931), branches 1–8.
// ===================================================================

#[test]
fn v1_b1_external_runtime_not_dead() {
    let mut w = World::new(V1);
    w.ws.set_facts(Facts {
        external_runtime: true,
        ..w.ws.facts()
    });
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::ExternalRuntime));
}

#[test]
fn v1_b2_no_provisioner_not_dead() {
    let mut w = World::new(V1);
    w.ws.set_facts(Facts {
        provisioner: false,
        ..w.ws.facts()
    });
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::NoProvisioner));
}

#[test]
fn v1_b3_restarting_not_dead_no_probe() {
    let mut w = World::new(V1);
    w.at(T0 - 100_000, Ev::RestartStart);
    w.at(T0, Ev::Heartbeat);
    w.ws = with_strikes(w.ws, 1, T0 - 1);
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::Restarting));
    assert_eq!(o.probes, 0);
    assert_eq!(
        w.ws.strikes().map(|s| s.count),
        Some(1),
        "no strike touched"
    );
}

#[test]
fn v1_b4_recent_heartbeat_15000_is_recent_inclusive() {
    let mut w = World::new(V1);
    w.at(T0 - 15_000, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).fate(), strike(1));
}

#[test]
fn v1_b4_recent_heartbeat_15001_is_not_recent() {
    let mut w = World::new(V1);
    w.at(T0 - 15_001, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).fate(), STARTED);
}

#[test]
fn v1_b4_recent_is_read_before_probing() {
    // Old heartbeat at Start; a heartbeat lands while the probe is out: the
    // decision still uses "not recent".
    let mut w = World::new(V1);
    w.latency = 100;
    w.at(T0 - 20_000, Ev::Heartbeat).at(T0 + 50, Ev::Heartbeat);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(o.end, T0 + 100);
}

#[test]
fn v1_b5_probe_error_assumes_alive() {
    for e in [ERR, ERR_FALSE] {
        let mut w = World::new(V1);
        w.at(T0, Ev::Heartbeat);
        w.ws = with_strikes(w.ws, 1, T0 - 10);
        let o = w.decide(&[e]);
        assert_eq!(o.fate(), PROBE_ERROR, "{e:?}");
        assert_eq!(o.probes, 1);
        assert_eq!(
            w.ws.strikes().map(|s| s.count),
            Some(1),
            "an error neither adds nor resets strikes"
        );
    }
}

#[test]
fn v1_b6_running_resets_strike_record() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    w.ws = with_strikes(w.ws, 1, T0 - 10);
    let o = w.decide(&[TRUE]);
    assert_eq!(o.fate(), RUNNING);
    assert_eq!(w.ws.strikes(), None);
}

#[test]
fn v1_b7_not_recent_declares_dead_after_one_probe() {
    let mut w = World::new(V1);
    w.routable();
    w.ws = with_strikes(w.ws, 1, T0 - 10);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty(), "V1 has no re-probe");
    assert_eq!(o.yields, 0, "declared without a strike");
    assert_declared(&w, &o, T0);
}

#[test]
fn v1_b8_recent_first_strike_not_dead_second_dead() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).fate(), strike(1));
    assert_eq!(
        w.ws.strikes(),
        Some(StrikeRecord {
            count: 1,
            first: T0
        })
    );
    assert_eq!(w.ws.restart().started_at(), None);
    w.at(T0 + 10_000, Ev::Heartbeat);
    let o = w.decide_at(T0 + 10_000, &[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(
        o.before_verdict.strikes().map(|s| s.count),
        Some(2),
        "strike 2 counted in `incrementDeadProbe`'s section"
    );
    assert_eq!(
        o.yields, 1,
        "the declaration takes a lock section of its own"
    );
    assert_declared(&w, &o, T0 + 10_000);
}

#[test]
fn v1_b8_strike_window_30000_still_counts() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).fate(), strike(1));
    w.at(T0 + 30_000, Ev::Heartbeat);
    assert_eq!(w.decide_at(T0 + 30_000, &[FALSE]).fate(), STARTED);
}

#[test]
fn v1_b8_strike_window_30001_restarts_at_one() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).fate(), strike(1));
    w.at(T0 + 30_001, Ev::Heartbeat);
    assert_eq!(w.decide_at(T0 + 30_001, &[FALSE]).fate(), strike(1));
    assert_eq!(
        w.ws.strikes(),
        Some(StrikeRecord {
            count: 1,
            first: T0 + 30_001
        })
    );
}

// ===================================================================
// V2 (#2950), branches 1–12.
// ===================================================================

#[test]
fn v2_b1_external_runtime_not_dead() {
    let mut w = World::new(V2);
    w.ws.set_facts(Facts {
        external_runtime: true,
        ..w.ws.facts()
    });
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::ExternalRuntime));
    assert_eq!(o.probes, 0);
}

#[test]
fn v2_b2_no_provisioner_not_dead() {
    let mut w = World::new(V2);
    w.ws.set_facts(Facts {
        provisioner: false,
        ..w.ws.facts()
    });
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::NoProvisioner));
    assert_eq!(o.probes, 0);
}

#[test]
fn v2_b3_restarting_not_dead_no_probe_no_wait() {
    let mut w = World::new(V2);
    w.at(T0 - 1, Ev::RestartStart);
    let o = w.decide(&[]);
    assert_eq!(o.fate(), skipped(SkipReason::Restarting));
    assert_eq!(o.probes, 0);
    assert!(o.wakes.is_empty());
    assert_eq!(o.end, T0);
}

#[test]
fn v2_b4_settling_at_29999_waits_reprobes_and_strikes() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 29_999, T0 - 25_000);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(
        o.fate(),
        strike(1),
        "settling: a lone double false is a strike"
    );
    assert_eq!(o.probes, 2);
    assert_eq!(
        o.wakes,
        vec![T0 + 500, T0 + 1_000, T0 + 1_500, T0 + 2_000, T0 + 2_500]
    );
}

#[test]
fn v2_b4_not_settling_at_30000_declares_after_one_probe() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 30_000, T0 - 25_000);
    w.at(T0 - 25_000, Ev::Register); // the new agent (not recent at T0)
    let o = w.decide(&[FALSE]);
    assert_eq!(
        o.fate(),
        DROPPED,
        "30 s settle is exclusive; 60 s debounce drops"
    );
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty(), "no fresh wait, no re-probe");
    // Changed with the world model: this used to assert the URL cleared.
    // The declaration deletes the Redis keys and marks the row offline; the
    // row's URL stays (reference, "What a declaration really leaves
    // behind").
    assert_declaration_effects(&o);
    assert!(w.ws.url_registered() && !w.ws.url_cached());
    assert_eq!(w.ws.status(), Status::Offline);
    assert_eq!(w.ws.restart().started_at(), Some(T0 - 30_000));
}

#[test]
fn v2_b4_settle_is_measured_from_restart_started_not_finished() {
    // Cycle started 31 s ago and finished 1 s ago: not settling.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 31_000, T0 - 1_000);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), DROPPED);
    assert_eq!(o.probes, 1);
}

#[test]
fn v2_b5_recent_heartbeat_15000_is_recent_and_queues() {
    let mut w = World::new(V2);
    w.at(T0 - 15_000, Ev::Heartbeat);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.fate(), QUEUED);
    assert_eq!(o.probes, 2);
}

#[test]
fn v2_b5_recent_heartbeat_15001_is_not_recent_and_declares() {
    let mut w = World::new(V2);
    w.at(T0 - 15_001, Ev::Register);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(o.probes, 1);
    assert_declared(&w, &o, T0);
}

#[test]
fn v2_b6_fresh_wait_polls_at_0_500_1000_1500_and_gives_up_at_2000() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    let mut ws = w.ws;
    let policy = load(V2);
    // Poll at +0 happens inside the start.
    let (mut d, first) = Decision::start(&policy, &mut ws, T0);
    assert_eq!(
        first,
        Step::Wake {
            at: T0 + 500,
            timer: Timer::HeartbeatPoll
        }
    );
    // An early timer is harmless: the same wake comes back.
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 499, Input::Timer),
        Ok(Step::Wake {
            at: T0 + 500,
            timer: Timer::HeartbeatPoll
        })
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 500, Input::Timer),
        Ok(Step::Wake {
            at: T0 + 1_000,
            timer: Timer::HeartbeatPoll
        })
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 1_000, Input::Timer),
        Ok(Step::Wake {
            at: T0 + 1_500,
            timer: Timer::HeartbeatPoll
        })
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 1_500, Input::Timer),
        Ok(Step::Wake {
            at: T0 + 2_000,
            timer: Timer::HeartbeatPoll
        })
    );
    // At the deadline the wait gives up without looking: a heartbeat at
    // +1999 is not seen.
    ws.heartbeat(T0 + 1_999);
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 2_000, Input::Timer),
        Ok(Step::Probe)
    );
    assert_eq!(d.probes(), 1);
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 2_000, Input::Probe(FALSE)),
        Ok(Step::Wake {
            at: T0 + 2_500,
            timer: Timer::Reprobe
        })
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 2_500, Input::Timer),
        Ok(Step::Probe)
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 2_500, Input::Probe(FALSE)),
        Ok(Step::Done(strike(1).0)),
        "not fresh (timed out), not recent (read before the wait): settling strike"
    );
}

#[test]
fn v2_b6_fresh_heartbeat_seen_at_the_1500_poll_queues() {
    // The new agent registers during the wait (URL set and a heartbeat
    // newer than the stamp: `registry.go@V2:603-660`).
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    w.at(T0 + 1_400, Ev::Register);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0 + 1_500, T0 + 2_000]);
    assert_eq!(o.fate(), QUEUED, "fresh -> enqueue");
    assert_eq!(w.ws.strikes(), None);
}

#[test]
fn v2_b6_a_heartbeat_without_a_registration_is_not_fresh() {
    // The heartbeat handler leaves the row's URL alone
    // (`registry.go@V2:1101-1109`): after a cycle blanked it, a heartbeat
    // newer than the stamp is not fresh until the agent registers.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    w.at(T0 + 1_400, Ev::Heartbeat);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0 + 2_000, T0 + 2_500], "waited 2 s");
    assert_eq!(
        o.fate(),
        strike(1),
        "not fresh, not recent (read at Start, before the heartbeat): settling strike"
    );
}

#[test]
fn v2_b6_fresh_heartbeat_already_there_probes_at_once() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    w.at(T0 - 20_000, Ev::Heartbeat); // before the restart: not fresh
    w.at(T0 - 4_000, Ev::Register); // the new agent: fresh (and recent)
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0, T0 + 500]);
    assert_eq!(o.fate(), QUEUED);
}

#[test]
fn v2_b6_fresh_needs_a_registered_url() {
    // A heartbeat newer than the stamp but the URL is cleared: not fresh.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 20_000, T0 - 19_000);
    w.at(T0 - 16_000, Ev::Register)
        .at(T0 - 16_000, Ev::ClearUrl);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(
        o.probe_times,
        vec![T0 + 2_000, T0 + 2_500],
        "waited the full 2 s"
    );
    assert_eq!(o.fate(), strike(1));
}

#[test]
fn v2_b6_fresh_needs_a_heartbeat_strictly_newer_than_the_stamp() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 20_000, T0 - 19_000);
    w.at(T0 - 20_000, Ev::Register); // same instant as restartStartedAt
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0 + 2_000, T0 + 2_500]);
    assert_eq!(o.fate(), strike(1));
}

#[test]
fn v2_b6_no_fresh_wait_when_not_settling() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 40_000, T0 - 39_000);
    let (_, step) = Decision::start(&w.policy, &mut w.ws, T0);
    assert_eq!(step, Step::Probe);
}

#[test]
fn v2_b7_first_probe_error_not_dead() {
    for e in [ERR, ERR_FALSE] {
        let mut w = World::new(V2);
        w.restart_cycle(T0 - 10_000, T0 - 5_000);
        w.at(T0 - 1_000, Ev::Register);
        let o = w.decide(&[e]);
        assert_eq!(o.fate(), PROBE_ERROR, "{e:?}");
        assert_eq!(o.probes, 1);
    }
}

#[test]
fn v2_b8_first_probe_running_resets_strikes() {
    let mut w = World::new(V2);
    w.ws = with_strikes(w.ws, 1, T0 - 5);
    let o = w.decide(&[TRUE]);
    assert_eq!(o.fate(), RUNNING);
    assert_eq!(o.probes, 1);
    assert_eq!(w.ws.strikes(), None);
}

#[test]
fn v2_b9_reprobe_after_exactly_500ms() {
    let policy = load(V2);
    let mut ws = Workspace::default();
    ws.heartbeat(T0);
    let (mut d, first) = Decision::start(&policy, &mut ws, T0);
    assert_eq!(first, Step::Probe);
    assert_eq!(
        d.step(&policy, &mut ws, T0, Input::Probe(FALSE)),
        Ok(Step::Wake {
            at: T0 + 500,
            timer: Timer::Reprobe
        })
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 499, Input::Timer),
        Ok(Step::Wake {
            at: T0 + 500,
            timer: Timer::Reprobe
        })
    );
    assert_eq!(d.probes(), 1);
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 500, Input::Timer),
        Ok(Step::Probe)
    );
    assert_eq!(d.probes(), 2);
}

#[test]
fn v2_b9_reprobe_happens_for_recent_fresh_and_settling() {
    // recent
    let mut w = World::new(V2);
    w.at(T0 - 1, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE, FALSE]).probes, 2);
    // settling, no heartbeat
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    assert_eq!(w.decide(&[FALSE, FALSE]).probes, 2);
    // fresh but not recent: a heartbeat 16 s old (not recent: > 15 s) that is
    // newer than a restart stamped 20 s ago (fresh):
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 20_000, T0 - 19_000);
    w.at(T0 - 16_000, Ev::Register);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0, T0 + 500]);
    assert_eq!(o.fate(), QUEUED, "fresh alone enqueues");
}

#[test]
fn v2_b9_reprobe_error_not_dead() {
    for e in [ERR, ERR_FALSE] {
        let mut w = World::new(V2);
        w.restart_cycle(T0 - 1_000, T0 - 500);
        let o = w.decide(&[FALSE, e]);
        assert_eq!(o.fate(), PROBE_ERROR, "{e:?}");
        assert_eq!(o.probes, 2);
        assert_eq!(w.ws.strikes(), None, "no strike added");
    }
}

#[test]
fn v2_b9_reprobe_running_resets_strikes_not_dead() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    w.ws = with_strikes(w.ws, 1, T0 - 100);
    let o = w.decide(&[FALSE, TRUE]);
    assert_eq!(o.fate(), RUNNING);
    assert_eq!(o.probes, 2);
    assert_eq!(w.ws.strikes(), None);
}

#[test]
fn v2_b10_recent_enqueues_even_while_settling_and_adds_no_strike() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 9_000);
    w.at(T0 - 100, Ev::Register);
    w.ws = with_strikes(w.ws, 1, T0 - 100);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.fate(), QUEUED);
    assert_eq!(
        w.ws.strikes().map(|s| s.count),
        Some(1),
        "strikes untouched"
    );
    assert_eq!(w.ws.restart().started_at(), Some(T0 - 10_000), "no restart");
}

#[test]
fn v2_b11_not_settling_declares_immediately_without_reprobe() {
    let mut w = World::new(V2);
    w.routable();
    w.ws = with_strikes(w.ws, 1, T0 - 100);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty());
    assert_eq!(o.end, T0);
    assert_declared(&w, &o, T0);
}

#[test]
fn v2_b11_declare_restart_started_after_debounce() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 60_000, T0 - 55_000);
    w.at(T0 - 50_000, Ev::Register);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_declared(&w, &o, T0);
}

#[test]
fn v2_b11_declare_restart_dropped_inside_debounce() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 59_999, T0 - 55_000);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.fate(), DROPPED);
    // Changed with the world model: this used to assert the URL cleared by
    // the declaration. Here the new agent never registered, so the row is
    // still `provisioning` with the URL the cycle blanked; the declaration's
    // offline UPDATE skips provisioning rows and only the Redis keys go
    // (reference, "What a declaration really leaves behind").
    assert_declaration_effects(&o);
    assert_eq!(w.ws.status(), Status::Provisioning, "no status change");
    assert!(!w.ws.url_registered() && !w.ws.url_cached());
    assert!(!w.ws.restart().is_running());
}

#[test]
fn v2_b12_settling_first_strike_not_dead_second_dead() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 5_000, T0 - 1_000);
    let first = w.decide(&[FALSE, FALSE]);
    assert_eq!(first.fate(), strike(1));
    assert_eq!(first.end, T0 + 2_500);
    assert_eq!(
        w.ws.strikes(),
        Some(StrikeRecord {
            count: 1,
            first: T0 + 2_500
        })
    );
    let second = w.decide_at(T0 + 3_000, &[FALSE, FALSE]);
    assert_eq!(
        second.fate(),
        DROPPED,
        "2nd strike declares; debounce drops"
    );
    assert_eq!(second.end, T0 + 5_500);
    assert_eq!(second.yields, 1, "the declaration's own lock section");
    assert_eq!(w.ws.strikes(), None);
    // Changed with the world model: this used to assert the URL cleared;
    // the booting row stays `provisioning` (see the test above).
    assert_declaration_effects(&second);
    assert_eq!(w.ws.status(), Status::Provisioning);
}

#[test]
fn v2_b12_strike_window_30000_still_counts() {
    // A strike record whose first strike is exactly 30 s old, and a fresh
    // restart so the decision is settling.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    w.ws = with_strikes(w.ws, 1, T0 + 2_500 - 30_000);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.end, T0 + 2_500);
    assert_eq!(o.fate(), DROPPED);
}

#[test]
fn v2_b12_strike_window_30001_restarts_at_one() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    w.ws = with_strikes(w.ws, 1, T0 + 2_500 - 30_001);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.fate(), strike(1));
    assert_eq!(
        w.ws.strikes(),
        Some(StrikeRecord {
            count: 1,
            first: T0 + 2_500
        })
    );
}

#[test]
fn v2_b12_strikes_across_two_restarts_count_within_30s() {
    // First strike settling after restart A; restart B 25 s later; the second
    // strike 30 s after the first (settling after B) still counts.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    assert_eq!(w.decide(&[FALSE, FALSE]).fate(), strike(1)); // ends T0+2500
    w.restart_cycle(T0 + 26_000, T0 + 27_000);
    let o = w.decide_at(T0 + 30_000, &[FALSE, FALSE]); // ends T0+32500
    assert_eq!(o.end, T0 + 32_500);
    assert_eq!(o.fate(), DROPPED);
}

// ===================================================================
// The machine's own contract.
// ===================================================================

#[test]
fn unexpected_inputs_are_refused_and_change_nothing() {
    for p in ALL {
        let policy = load(p);
        let mut ws = Workspace::default();
        let (mut d, first) = Decision::start(&policy, &mut ws, T0);
        assert_eq!(first, Step::Probe);
        for bad in [Input::Timer, Input::Resume] {
            let before = (d, ws);
            let e = d.step(&policy, &mut ws, T0, bad).unwrap_err();
            assert_eq!(e.awaiting, Awaiting::Probe, "{p}");
            assert_eq!((d, ws), before, "{p}: refused input changed state");
        }
        let done = d.step(&policy, &mut ws, T0, Input::Probe(TRUE));
        assert_eq!(done, Ok(Step::Done(RUNNING.0)));
        for bad in [Input::Timer, Input::Probe(TRUE), Input::Resume] {
            let before = (d, ws);
            let e = d.step(&policy, &mut ws, T0, bad).unwrap_err();
            assert_eq!(e.awaiting, Awaiting::Nothing, "{p}");
            assert_eq!((d, ws), before);
        }
        assert!(matches!(d.phase(), Phase::Done(_)));
    }
}

#[test]
fn a_declaring_decision_takes_only_resume() {
    // V1: a recent heartbeat and one strike counted; "not running" is strike
    // 2, the decision yields, and only Resume takes the declaration.
    let policy = load(V1);
    let mut ws = Workspace::default();
    ws.register(T0);
    ws = with_strikes(ws, 1, T0);
    let (mut d, first) = Decision::start(&policy, &mut ws, T0);
    assert_eq!(first, Step::Probe);
    assert_eq!(
        d.step(&policy, &mut ws, T0, Input::Probe(FALSE)),
        Ok(Step::Yield)
    );
    assert_eq!(d.awaiting(), Awaiting::Resume);
    assert_eq!(ws.strikes().map(|s| s.count), Some(2));
    assert_eq!(ws.status(), Status::Online, "nothing declared yet");
    for bad in [Input::Timer, Input::Probe(FALSE)] {
        let before = (d, ws);
        let e = d.step(&policy, &mut ws, T0, bad).unwrap_err();
        assert_eq!(e.awaiting, Awaiting::Resume);
        assert_eq!((d, ws), before, "refused input changed state");
    }
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 1, Input::Resume),
        Ok(Step::Done(Verdict::Dead))
    );
    assert_eq!(ws.strikes(), None);
    assert_eq!(ws.status(), Status::Offline);
    assert_eq!(
        ws.restart().started_at(),
        None,
        "the driver launches the restart"
    );
}

// ===================================================================
// The lock sections of "The wider world" (item 1) and what a declaration
// leaves behind (item 6).
// ===================================================================

/// Starts a decision at `now` and drives it until it yields or finishes,
/// answering every probe with "not running".
fn until_yield_or_done(policy: &Policy, ws: &mut Workspace, now: Ms) -> (Decision, Step) {
    let (mut d, mut step) = Decision::start(policy, ws, now);
    while step == Step::Probe {
        step = d.step(policy, ws, now, Input::Probe(FALSE)).unwrap();
    }
    (d, step)
}

#[test]
fn two_decisions_at_strikes_2_and_3_both_declare() {
    // `incrementDeadProbe` and the declaration's `resetDeadProbe` take
    // `deadProbeMu` separately (a2a_proxy_helpers.go@V2:407-426): two V1
    // decisions that count strikes 2 and 3 before either declares both
    // declare, and each launches its own RestartByID.
    let policy = load(V1);
    let mut ws = Workspace::default();
    ws.register(T0);
    ws = with_strikes(ws, 1, T0);
    let (mut a, step_a) = until_yield_or_done(&policy, &mut ws, T0 + 10);
    assert_eq!(step_a, Step::Yield);
    let (mut b, step_b) = until_yield_or_done(&policy, &mut ws, T0 + 10);
    assert_eq!(step_b, Step::Yield);
    assert_eq!(ws.strikes().map(|s| s.count), Some(3), "strikes 2 and 3");
    assert_eq!(
        a.step(&policy, &mut ws, T0 + 10, Input::Resume),
        Ok(Step::Done(Verdict::Dead))
    );
    assert_eq!(
        ws.strikes(),
        None,
        "the first declaration resets the record"
    );
    assert_eq!(
        b.step(&policy, &mut ws, T0 + 10, Input::Resume),
        Ok(Step::Done(Verdict::Dead)),
        "the second declares too: its strike was counted before the reset"
    );
    // The two restart requests, back to back: the second is debounced.
    assert_eq!(
        ws.restart_by_id_now(&policy.restart, T0 + 10, RestartSource::Detector),
        RestartOutcome::Started
    );
    assert_eq!(
        ws.restart_by_id_now(&policy.restart, T0 + 10, RestartSource::Detector),
        RestartOutcome::Dropped(DropReason::Debounce)
    );
}

#[test]
fn a_declaration_in_its_own_section_reads_the_record_as_it_is_then() {
    // Between strike 2 and the declaration, a "running" answer resets the
    // record: the declaration still happens (it was decided under the
    // strike's lock) and resets the record again.
    let policy = load(V1);
    let mut ws = Workspace::default();
    ws.register(T0);
    ws = with_strikes(ws, 1, T0);
    let (mut a, step_a) = until_yield_or_done(&policy, &mut ws, T0 + 10);
    assert_eq!(step_a, Step::Yield);
    let (mut b, first) = Decision::start(&policy, &mut ws, T0 + 10);
    assert_eq!(first, Step::Probe);
    assert_eq!(
        b.step(&policy, &mut ws, T0 + 10, Input::Probe(TRUE)),
        Ok(Step::Done(RUNNING.0))
    );
    assert_eq!(ws.strikes(), None);
    assert_eq!(
        a.step(&policy, &mut ws, T0 + 10, Input::Resume),
        Ok(Step::Done(Verdict::Dead))
    );
    assert_eq!(ws.strikes(), None);
}

#[test]
fn two_declarations_whose_restart_requests_both_pass_the_debounce_run_two_cycles() {
    // RestartByID's debounce check and coalescing are two lock sections
    // (`workspace_restart.go@V2:674-713`): two V0 declarations whose
    // requests both check before either coalesces give one Started and one
    // Coalesced, and the drain loop runs a second full cycle, re-stamped
    // (`:761-777`).
    let policy = load(V0);
    let mut ws = Workspace::default();
    ws.register(T0 - 100_000);
    let dead = Step::Done(Verdict::Dead);
    assert_eq!(until_yield_or_done(&policy, &mut ws, T0).1, dead);
    assert_eq!(until_yield_or_done(&policy, &mut ws, T0).1, dead);
    let r = &policy.restart;
    assert_eq!(
        ws.restart_mut()
            .debounce_check(r, T0, RestartSource::Detector),
        Ok(())
    );
    assert_eq!(
        ws.restart_mut()
            .debounce_check(r, T0, RestartSource::Detector),
        Ok(())
    );
    assert_eq!(ws.restart_mut().coalesce(T0), RestartOutcome::Started);
    assert_eq!(
        ws.restart_mut().loop_top(T0),
        LoopTop::Run,
        "the first cycle"
    );
    ws.mark_provisioning();
    assert_eq!(ws.restart_mut().coalesce(T0 + 1), RestartOutcome::Coalesced);
    assert_eq!(
        ws.restart_mut().loop_top(T0 + 8_000),
        LoopTop::Run,
        "a second full cycle"
    );
    assert_eq!(ws.restart().started_at(), Some(T0 + 8_000), "re-stamped");
    assert_eq!(ws.restart_mut().loop_top(T0 + 16_000), LoopTop::Done);
    ws.restart_mut().exit(T0 + 16_000);
    assert!(!ws.restart().is_running());

    // The proposal's atomic mode (`restart.atomic_request`): one section,
    // so the second request sees the first one's stamp and is dropped.
    let mut ws = Workspace::default();
    assert_eq!(
        ws.restart_mut().request(r, T0, RestartSource::Detector),
        RestartOutcome::Started
    );
    assert_eq!(
        ws.restart_mut().request(r, T0, RestartSource::Detector),
        RestartOutcome::Dropped(DropReason::Debounce)
    );
}

#[test]
fn a_healthy_agent_declared_dead_comes_back_online_but_its_liveness_key_does_not() {
    // Reference, "What a declaration really leaves behind": the next
    // heartbeat flips the row back online, but `EXPIRE` cannot recreate the
    // deleted liveness key; only a new registration does.
    let mut w = World::new(V0);
    w.restart_cycle(T0 - 30_000, T0 - 25_000);
    w.at(T0 - 20_000, Ev::Register);
    let o = w.decide(&[FALSE]); // a spurious "not running"; restart debounced
    assert_eq!(o.fate(), DROPPED);
    assert_eq!(w.ws.status(), Status::Offline);
    assert_eq!(w.ws.liveness_key(), None);
    assert!(w.ws.url_registered(), "the row's URL stays");
    assert!(w.ws.resolve_url(), "so a request still resolves it");
    assert!(w.ws.url_cached(), "and caches it again");
    w.at(T0 + 10_000, Ev::Heartbeat);
    w.advance(T0 + 10_000);
    assert_eq!(
        w.ws.status(),
        Status::Online,
        "back online at its heartbeat"
    );
    assert_eq!(
        w.ws.liveness_key(),
        None,
        "the heartbeat cannot recreate the key"
    );
    w.at(T0 + 20_000, Ev::Register);
    w.advance(T0 + 20_000);
    assert_eq!(w.ws.liveness_key(), Some(T0 + 20_000));
}

#[test]
fn no_url_anywhere_means_no_decision() {
    // `resolveAgentURL` (a2a_proxy.go@V2:838-883): neither the Redis cache
    // nor the row holds a URL (a cycle blanked it, the agent has not come
    // back): the proxy answers 503 and no decision runs.
    let mut w = World::new(V2);
    w.at(T0 - 100_000, Ev::Register);
    w.restart_cycle(T0 - 5_000, T0 - 1_000);
    w.ws = Workspace::restore(Stored {
        url_cached: false,
        ..w.ws.stored()
    }); // expired or deleted
    assert!(!w.ws.resolve_url());
    w.ws.container_started(); // the Docker provisioner writes the new URL
    assert!(w.ws.resolve_url());
}

// ===================================================================
// v3-proposed: the re-check before declaring.
// ===================================================================

#[test]
fn v3_a_restart_begun_during_the_reprobe_sleep_turns_the_declaration_into_a_skip() {
    let mut w = World::new(V3);
    w.routable();
    // Not settling, not recent: re-probe always; a restart starts and
    // returns while the decision sleeps.
    w.at(T0 + 100, Ev::RestartStart)
        .at(T0 + 300, Ev::RestartEnd);
    let before = w.ws;
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.fate(), skipped(SkipReason::RestartRecheck));
    assert_eq!(o.probes, 2, "a re-check skip comes after the probes");
    assert_eq!(o.wakes, vec![T0 + 500]);
    assert_eq!(
        w.ws.liveness_key(),
        before.liveness_key(),
        "nothing declared"
    );
    assert!(w.ws.url_cached());
}

#[test]
fn v3_two_strikes_after_the_new_agent_registered_declare_and_bypass_the_debounce() {
    // Inside the settle window with the new agent's heartbeat seen (fresh),
    // two double "not running" answers strike twice; the second declares in
    // its own section, the re-check finds no restart since the decision
    // began, and the detector's RestartByID is not dropped although the last
    // stamp is 30 s old (`restart.detector_bypasses_debounce`).
    let mut w = World::new(V3);
    w.restart_cycle(T0 - 30_000, T0 - 29_500);
    w.at(T0 - 29_000, Ev::Register);
    let first = w.decide(&[FALSE, FALSE]);
    assert_eq!(first.fate(), strike(1));
    assert_eq!(first.probe_times, vec![T0, T0 + 500], "fresh: no wait");
    let o = w.decide_at(T0 + 1_000, &[FALSE, FALSE]);
    assert_eq!(o.fate(), STARTED);
    assert_eq!(o.yields, 1);
    assert_eq!(o.end, T0 + 1_500);
    assert_declared(&w, &o, T0 + 1_500);
}

// ===================================================================
// v4-proposed: one declaration at a time (guard.skip_when_offline).
// ===================================================================

const V4: &str = "v4-proposed";

/// Starts a decision at `now` and drives it, answering every probe "not
/// running", up to the yield between the strike that reaches the threshold
/// and the declaration's own lock section; returns it and that instant.
fn to_declaring(policy: &Policy, ws: &mut Workspace, now: Ms) -> (Decision, Ms) {
    let mut now = now;
    let (mut d, mut step) = Decision::start(policy, ws, now);
    for _ in 0..16 {
        step = match step {
            Step::Probe => d.step(policy, ws, now, Input::Probe(FALSE)).unwrap(),
            Step::Wake { at, .. } => {
                now = at;
                d.step(policy, ws, now, Input::Timer).unwrap()
            }
            Step::Yield => return (d, now),
            Step::Done(v) => panic!("{}: finished with {v:?} before declaring", policy.name),
        };
    }
    panic!("{}: no yield", policy.name)
}

#[test]
fn v4_two_decisions_past_the_threshold_declare_once() {
    // Two decisions probe one crash; each adds a strike that reaches the
    // threshold (the increment and the declaration are two sections, so
    // both get there). v3 declares twice (two RestartByID: the second
    // loops the first's cycle); v4's second finds the row offline and
    // stands down.
    for (name, second) in [
        (V3, Verdict::Dead),
        (V4, Verdict::Skipped(SkipReason::AlreadyOffline)),
    ] {
        let policy = load(name);
        let mut ws = Workspace::new(Facts::default());
        ws.register(T0 - 60_000);
        // A recent heartbeat: a not-running answer strikes (on_recent).
        ws.heartbeat(T0 - 1_000);
        ws = with_strikes(ws, 1, T0 - 1_000);
        let (mut a, ta) = to_declaring(&policy, &mut ws, T0);
        let (mut b, tb) = to_declaring(&policy, &mut ws, T0);
        assert_eq!(
            a.step(&policy, &mut ws, ta, Input::Resume).unwrap(),
            Step::Done(Verdict::Dead),
            "{name}: the first declares"
        );
        assert_eq!(ws.status(), Status::Offline);
        assert_eq!(
            b.step(&policy, &mut ws, tb, Input::Resume).unwrap(),
            Step::Done(second),
            "{name}: the second"
        );
    }
}
