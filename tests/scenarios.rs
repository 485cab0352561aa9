//! The upstream scenarios and one test per numbered branch of each version
//! (V0 1–6, V1 1–8, V2 1–12 of `reference/upstream-liveness.md`), driven
//! through [`Decision::step`] with the shipped policies
//! (`models/policies/*.toml`).
//!
//! The harness ([`World`]) is a deterministic simulation: virtual time jumps
//! to the instant the decision asks to be woken, scheduled world events
//! (heartbeats, restart cycles, URL changes) due by an instant happen before
//! the decision's step at that instant, and a decision that does not finish
//! within a step budget fails the test. Tests are named after the branch
//! they pin: `v2_b9_...` pins V2 step 9.

use livecheck::decision::{
    Awaiting, Decision, Input, NotDeadReason, Phase, ProbeResult, SkipReason, Step, Verdict,
};
use livecheck::policy::Policy;
use livecheck::restart::{CycleEnd, DropReason, RestartOutcome, RestartSource};
use livecheck::workspace::{Facts, StrikeRecord, Workspace};
use livecheck::Ms;
use std::path::Path;

use ProbeResult::{
    Error as ERR, ErrorNotRunning as ERR_FALSE, NotRunning as FALSE, Running as TRUE,
};

const V0: &str = "v0-pre-2931";
const V1: &str = "v1-2931";
const V2: &str = "v2-2950";
const ALL: [&str; 3] = [V0, V1, V2];

/// A base instant far from zero, so no age saturates at the clock's origin.
const T0: Ms = 10_000_000;

fn load(name: &str) -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/policies")
        .join(format!("{name}.toml"));
    Policy::load(&path).unwrap_or_else(|e| panic!("shipped policy {name} must load: {e}"))
}

/// Something that happens in the world at a scheduled instant.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The heartbeat handler ran (`last_heartbeat_at = now`, URL registered).
    Heartbeat,
    /// The URL was cleared (e.g. by a restart cycle) without a heartbeat.
    ClearUrl,
    /// The platform started a restart cycle (stamp = now, running, URL cleared).
    RestartStart,
    /// The running restart cycle returned.
    RestartEnd,
}

/// A finished decision as the harness saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    verdict: Verdict,
    probes: u8,
    /// Instants at which the decision asked for a probe.
    probe_times: Vec<Ms>,
    /// Instants the decision asked to be woken at, in order.
    wakes: Vec<Ms>,
    /// When the decision ended.
    end: Ms,
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
                Ev::ClearUrl => self.ws.url_registered = false,
                Ev::RestartStart => {
                    self.ws.restart.observe_cycle_start(at);
                    self.ws.url_registered = false;
                }
                Ev::RestartEnd => self.ws.restart.observe_cycle_end(at),
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
    /// in the past, or does not finish.
    fn decide(&mut self, answers: &[ProbeResult]) -> Outcome {
        let now = self.now;
        self.advance(now);
        let mut d = Decision::new();
        let mut step = d
            .step(&self.policy, &mut self.ws, self.now, Input::Start)
            .expect("a new decision takes Start");
        let mut used = 0;
        let mut probe_times = Vec::new();
        let mut wakes = Vec::new();
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
                    return Outcome {
                        verdict,
                        probes: d.probes(),
                        probe_times,
                        wakes,
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
                    step = d
                        .step(&self.policy, &mut self.ws, self.now, Input::Probe(answer))
                        .expect("a probing decision takes a probe answer");
                }
                Step::Wake(t) => {
                    assert!(t > self.now, "wake at {t} is not after now {}", self.now);
                    assert_eq!(d.awaiting(), Awaiting::Timer(t));
                    wakes.push(t);
                    self.advance(t);
                    step = d
                        .step(&self.policy, &mut self.ws, self.now, Input::Timer)
                        .expect("a sleeping decision takes a timer");
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

fn dead(o: RestartOutcome) -> Verdict {
    Verdict::Dead(o)
}
const STARTED: Verdict = Verdict::Dead(RestartOutcome::Started);
const DROPPED: Verdict = Verdict::Dead(RestartOutcome::Dropped(DropReason::Debounce));
const RUNNING: Verdict = Verdict::NotDead(NotDeadReason::Running);
const PROBE_ERROR: Verdict = Verdict::NotDead(NotDeadReason::ProbeError);
fn strike(n: u8) -> Verdict {
    Verdict::NotDead(NotDeadReason::Strike(n))
}

/// Checks the effects a declaration of death has on the workspace.
fn assert_declared(w: &World, when: Ms) {
    assert_eq!(
        w.ws.strikes, None,
        "declaring dead resets the strike record"
    );
    assert!(!w.ws.url_registered, "declaring dead clears the URL");
    assert_eq!(
        w.ws.restart.started_at(),
        Some(when),
        "an accepted restart request stamps restartStartedAt"
    );
    assert!(w.ws.restart.is_running());
}

// ===================================================================
// Scenarios from the upstream test-suite (reference table), per version.
// ===================================================================

#[test]
fn scenario_no_provisioner_not_dead_no_probe() {
    for p in ALL {
        let mut w = World::new(p);
        w.ws.facts.provisioner = false;
        let o = w.decide(&[]);
        assert_eq!(
            o.verdict,
            Verdict::Skipped(SkipReason::NoProvisioner),
            "{p}"
        );
        assert_eq!(o.probes, 0, "{p}");
    }
}

#[test]
fn scenario_runtime_external_not_dead_no_probe() {
    for p in ALL {
        let mut w = World::new(p);
        w.ws.facts.external_runtime = true;
        let o = w.decide(&[]);
        assert_eq!(
            o.verdict,
            Verdict::Skipped(SkipReason::ExternalRuntime),
            "{p}"
        );
        assert_eq!(o.probes, 0, "{p}");
    }
}

#[test]
fn scenario_probe_false_hb_null_dead_after_one_probe_offline() {
    for p in ALL {
        let mut w = World::new(p);
        w.ws.url_registered = true;
        let o = w.decide(&[FALSE]);
        assert_eq!(o.verdict, STARTED, "{p}");
        assert_eq!(o.probes, 1, "{p}");
        assert_eq!(o.end, T0, "{p}: no sleep before declaring");
        assert_declared(&w, T0);
    }
}

#[test]
fn scenario_probe_true_hb_null_not_dead_one_probe() {
    for p in ALL {
        let mut w = World::new(p);
        let o = w.decide(&[TRUE]);
        assert_eq!(o.verdict, RUNNING, "{p}");
        assert_eq!(o.probes, 1, "{p}");
        assert_eq!(w.ws.restart.started_at(), None, "{p}: no restart");
    }
}

#[test]
fn scenario_v2_probe_false_false_hb_now_not_settling_queued_two_probes() {
    let mut w = World::new(V2);
    w.at(T0, Ev::Heartbeat);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.verdict, Verdict::Queued);
    assert_eq!(o.probes, 2);
    assert_eq!(w.ws.strikes, None, "enqueueing adds no strike");
    assert!(w.ws.url_registered, "enqueueing clears nothing");
    assert_eq!(w.ws.restart.started_at(), None, "no restart");
}

#[test]
fn scenario_probe_false_error_hb_null_not_dead_v1_v2_dead_v0() {
    for (p, want) in [(V0, STARTED), (V1, PROBE_ERROR), (V2, PROBE_ERROR)] {
        let mut w = World::new(p);
        let o = w.decide(&[ERR_FALSE]);
        assert_eq!(o.verdict, want, "{p}");
        assert_eq!(o.probes, 1, "{p}");
    }
}

#[test]
fn scenario_restart_cycle_running_not_dead_zero_probes() {
    for p in ALL {
        let mut w = World::new(p);
        w.at(T0 - 1_000, Ev::RestartStart);
        let o = w.decide(&[]);
        assert_eq!(o.verdict, Verdict::Skipped(SkipReason::Restarting), "{p}");
        assert_eq!(o.probes, 0, "{p}");
    }
}

#[test]
fn scenario_v1_hb_now_probe_false_two_calls_second_dead() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    let first = w.decide(&[FALSE]);
    assert_eq!(first.verdict, strike(1));
    assert_eq!(first.probes, 1);
    let second = w.decide_at(T0 + 100, &[FALSE]);
    assert_eq!(second.verdict, STARTED);
    assert_eq!(second.probes, 1);
    assert_declared(&w, T0 + 100);
}

#[test]
fn scenario_v1_hb_now_false_true_false_third_call_is_strike_one_again() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).verdict, strike(1));
    assert_eq!(w.decide_at(T0 + 100, &[TRUE]).verdict, RUNNING);
    assert_eq!(w.ws.strikes, None, "running resets the record");
    let third = w.decide_at(T0 + 200, &[FALSE]);
    assert_eq!(third.verdict, strike(1));
    assert_eq!(
        w.ws.strikes,
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
        assert!(!w.ws.restart.is_running());
        for i in 0..5 {
            assert_eq!(
                w.ws.restart
                    .request(&policy.restart, T0 + i, RestartSource::Other),
                RestartOutcome::Dropped(DropReason::Debounce),
                "{p}: call {i}"
            );
        }
        assert_eq!(w.ws.restart.started_at(), Some(T0), "{p}: nothing stamped");
        assert!(!w.ws.restart.is_running(), "{p}");
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
            assert_eq!(o.verdict, DROPPED, "{p}: call {i}");
        }
        assert_eq!(w.ws.restart.started_at(), Some(T0), "{p}");
        assert!(!w.ws.restart.is_running(), "{p}: nothing is coming");
    }
}

// ===================================================================
// V0 (before #2931), branches 1–6.
// ===================================================================

#[test]
fn v0_b1_external_runtime_not_dead() {
    let mut w = World::new(V0);
    w.ws.facts.external_runtime = true;
    w.ws.facts.provisioner = false;
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::ExternalRuntime));
    assert_eq!(o.probes, 0);
}

#[test]
fn v0_b2_no_provisioner_not_dead() {
    let mut w = World::new(V0);
    w.ws.facts.provisioner = false;
    w.at(T0 - 100_000, Ev::RestartStart);
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::NoProvisioner));
    assert_eq!(o.probes, 0);
}

#[test]
fn v0_b3_restarting_not_dead_no_probe() {
    let mut w = World::new(V0);
    w.at(T0 - 100_000, Ev::RestartStart);
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::Restarting));
    assert_eq!(o.probes, 0);
    // Once the cycle returns, the guard no longer holds.
    w.at(T0 + 1, Ev::RestartEnd);
    assert_eq!(w.decide_at(T0 + 1, &[TRUE]).verdict, RUNNING);
}

#[test]
fn v0_b4_probe_error_only_logged_true_err_is_running() {
    let mut w = World::new(V0);
    w.ws.url_registered = true;
    let o = w.decide(&[ERR]);
    assert_eq!(
        o.verdict, RUNNING,
        "(true, err): the running flag is trusted"
    );
    assert!(w.ws.url_registered);
}

#[test]
fn v0_b4_probe_error_only_logged_false_err_is_dead() {
    let mut w = World::new(V0);
    w.ws.url_registered = true;
    let o = w.decide(&[ERR_FALSE]);
    assert_eq!(o.verdict, STARTED, "(false, err) e.g. ErrNoBackend is dead");
    assert_eq!(o.probes, 1);
    assert_declared(&w, T0);
}

#[test]
fn v0_b4_probes_exactly_once_and_ignores_heartbeat_and_settling() {
    // No recent-heartbeat rule, no settle window, no re-probe in V0.
    let mut w = World::new(V0);
    w.restart_cycle(T0 - 10_000, T0 - 9_000);
    w.at(T0, Ev::Heartbeat);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, DROPPED);
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty(), "V0 never sleeps");
}

#[test]
fn v0_b5_running_not_dead() {
    let mut w = World::new(V0);
    let o = w.decide(&[TRUE]);
    assert_eq!(o.verdict, RUNNING);
    assert_eq!(o.probes, 1);
    assert_eq!(w.ws.restart.started_at(), None);
}

#[test]
fn v0_b6_not_running_declares_dead_restart_started() {
    let mut w = World::new(V0);
    w.at(T0 - 5_000, Ev::Heartbeat);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, STARTED);
    assert_declared(&w, T0);
}

#[test]
fn v0_b6_declare_dead_restart_dropped_inside_debounce_59999() {
    let mut w = World::new(V0);
    w.restart_cycle(T0, T0 + 4_000);
    let o = w.decide_at(T0 + 59_999, &[FALSE]);
    assert_eq!(o.verdict, DROPPED);
    assert!(!w.ws.url_registered, "the URL is cleared even when dropped");
    assert_eq!(
        w.ws.restart.started_at(),
        Some(T0),
        "a dropped call stamps nothing"
    );
    assert!(
        !w.ws.restart.is_running(),
        "orphaned offline: nothing coming"
    );
}

#[test]
fn v0_b6_declare_dead_restart_started_at_debounce_60000() {
    let mut w = World::new(V0);
    w.restart_cycle(T0, T0 + 4_000);
    let o = w.decide_at(T0 + 60_000, &[FALSE]);
    assert_eq!(o.verdict, STARTED, "the 60 s debounce is exclusive");
    assert_declared(&w, T0 + 60_000);
}

#[test]
fn v0_b6_declare_dead_restart_coalesced_into_long_running_cycle() {
    // A cycle that started while this decision was probing and has run for
    // the whole debounce: the request is coalesced (pending).
    let policy = load(V0);
    let mut ws = Workspace::default();
    let mut d = Decision::new();
    assert_eq!(d.step(&policy, &mut ws, T0, Input::Start), Ok(Step::Probe));
    assert_eq!(
        ws.restart
            .request(&policy.restart, T0 + 1, RestartSource::Other),
        RestartOutcome::Started
    );
    let step = d.step(&policy, &mut ws, T0 + 60_001, Input::Probe(FALSE));
    assert_eq!(step, Ok(Step::Done(dead(RestartOutcome::Coalesced))));
    assert!(ws.restart.is_pending());
    assert_eq!(ws.restart.cycle_finished(T0 + 70_000), CycleEnd::Looped);
    assert_eq!(ws.restart.started_at(), Some(T0 + 70_000), "loop re-stamps");
}

// ===================================================================
// V1 (#2931), branches 1–8.
// ===================================================================

#[test]
fn v1_b1_external_runtime_not_dead() {
    let mut w = World::new(V1);
    w.ws.facts.external_runtime = true;
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::ExternalRuntime));
}

#[test]
fn v1_b2_no_provisioner_not_dead() {
    let mut w = World::new(V1);
    w.ws.facts.provisioner = false;
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::NoProvisioner));
}

#[test]
fn v1_b3_restarting_not_dead_no_probe() {
    let mut w = World::new(V1);
    w.at(T0 - 100_000, Ev::RestartStart);
    w.at(T0, Ev::Heartbeat);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 1,
    });
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::Restarting));
    assert_eq!(o.probes, 0);
    assert_eq!(w.ws.strikes.map(|s| s.count), Some(1), "no strike touched");
}

#[test]
fn v1_b4_recent_heartbeat_15000_is_recent_inclusive() {
    let mut w = World::new(V1);
    w.at(T0 - 15_000, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).verdict, strike(1));
}

#[test]
fn v1_b4_recent_heartbeat_15001_is_not_recent() {
    let mut w = World::new(V1);
    w.at(T0 - 15_001, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).verdict, STARTED);
}

#[test]
fn v1_b4_recent_is_read_before_probing() {
    // Old heartbeat at Start; a heartbeat lands while the probe is out: the
    // decision still uses "not recent".
    let mut w = World::new(V1);
    w.latency = 100;
    w.at(T0 - 20_000, Ev::Heartbeat).at(T0 + 50, Ev::Heartbeat);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, STARTED);
    assert_eq!(o.end, T0 + 100);
}

#[test]
fn v1_b5_probe_error_assumes_alive() {
    for e in [ERR, ERR_FALSE] {
        let mut w = World::new(V1);
        w.at(T0, Ev::Heartbeat);
        w.ws.strikes = Some(StrikeRecord {
            count: 1,
            first: T0 - 10,
        });
        let o = w.decide(&[e]);
        assert_eq!(o.verdict, PROBE_ERROR, "{e:?}");
        assert_eq!(o.probes, 1);
        assert_eq!(
            w.ws.strikes.map(|s| s.count),
            Some(1),
            "an error neither adds nor resets strikes"
        );
    }
}

#[test]
fn v1_b6_running_resets_strike_record() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 10,
    });
    let o = w.decide(&[TRUE]);
    assert_eq!(o.verdict, RUNNING);
    assert_eq!(w.ws.strikes, None);
}

#[test]
fn v1_b7_not_recent_declares_dead_after_one_probe() {
    let mut w = World::new(V1);
    w.ws.url_registered = true;
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 10,
    });
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, STARTED);
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty(), "V1 has no re-probe");
    assert_declared(&w, T0);
}

#[test]
fn v1_b8_recent_first_strike_not_dead_second_dead() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).verdict, strike(1));
    assert_eq!(
        w.ws.strikes,
        Some(StrikeRecord {
            count: 1,
            first: T0
        })
    );
    assert_eq!(w.ws.restart.started_at(), None);
    w.at(T0 + 10_000, Ev::Heartbeat);
    let o = w.decide_at(T0 + 10_000, &[FALSE]);
    assert_eq!(o.verdict, STARTED);
    assert_declared(&w, T0 + 10_000);
}

#[test]
fn v1_b8_strike_window_30000_still_counts() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).verdict, strike(1));
    w.at(T0 + 30_000, Ev::Heartbeat);
    assert_eq!(w.decide_at(T0 + 30_000, &[FALSE]).verdict, STARTED);
}

#[test]
fn v1_b8_strike_window_30001_restarts_at_one() {
    let mut w = World::new(V1);
    w.at(T0, Ev::Heartbeat);
    assert_eq!(w.decide(&[FALSE]).verdict, strike(1));
    w.at(T0 + 30_001, Ev::Heartbeat);
    assert_eq!(w.decide_at(T0 + 30_001, &[FALSE]).verdict, strike(1));
    assert_eq!(
        w.ws.strikes,
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
    w.ws.facts.external_runtime = true;
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::ExternalRuntime));
    assert_eq!(o.probes, 0);
}

#[test]
fn v2_b2_no_provisioner_not_dead() {
    let mut w = World::new(V2);
    w.ws.facts.provisioner = false;
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::NoProvisioner));
    assert_eq!(o.probes, 0);
}

#[test]
fn v2_b3_restarting_not_dead_no_probe_no_wait() {
    let mut w = World::new(V2);
    w.at(T0 - 1, Ev::RestartStart);
    let o = w.decide(&[]);
    assert_eq!(o.verdict, Verdict::Skipped(SkipReason::Restarting));
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
        o.verdict,
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
    let o = w.decide(&[FALSE]);
    assert_eq!(
        o.verdict, DROPPED,
        "30 s settle is exclusive; 60 s debounce drops"
    );
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty(), "no fresh wait, no re-probe");
    assert!(!w.ws.url_registered);
    assert_eq!(w.ws.restart.started_at(), Some(T0 - 30_000));
}

#[test]
fn v2_b4_settle_is_measured_from_restart_started_not_finished() {
    // Cycle started 31 s ago and finished 1 s ago: not settling.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 31_000, T0 - 1_000);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, DROPPED);
    assert_eq!(o.probes, 1);
}

#[test]
fn v2_b5_recent_heartbeat_15000_is_recent_and_queues() {
    let mut w = World::new(V2);
    w.at(T0 - 15_000, Ev::Heartbeat);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.verdict, Verdict::Queued);
    assert_eq!(o.probes, 2);
}

#[test]
fn v2_b5_recent_heartbeat_15001_is_not_recent_and_declares() {
    let mut w = World::new(V2);
    w.at(T0 - 15_001, Ev::Heartbeat);
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, STARTED);
    assert_eq!(o.probes, 1);
    assert_declared(&w, T0);
}

#[test]
fn v2_b6_fresh_wait_polls_at_0_500_1000_1500_and_gives_up_at_2000() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    let mut ws = w.ws;
    let policy = load(V2);
    let mut d = Decision::new();
    // Poll at +0 happens inside Start.
    assert_eq!(
        d.step(&policy, &mut ws, T0, Input::Start),
        Ok(Step::Wake(T0 + 500))
    );
    // An early timer is harmless: the same wake comes back.
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 499, Input::Timer),
        Ok(Step::Wake(T0 + 500))
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 500, Input::Timer),
        Ok(Step::Wake(T0 + 1_000))
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 1_000, Input::Timer),
        Ok(Step::Wake(T0 + 1_500))
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 1_500, Input::Timer),
        Ok(Step::Wake(T0 + 2_000))
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
        Ok(Step::Wake(T0 + 2_500))
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 2_500, Input::Timer),
        Ok(Step::Probe)
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 2_500, Input::Probe(FALSE)),
        Ok(Step::Done(strike(1))),
        "not fresh (timed out), not recent (read before the wait): settling strike"
    );
}

#[test]
fn v2_b6_fresh_heartbeat_seen_at_the_1500_poll_queues() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    w.at(T0 + 1_400, Ev::Heartbeat);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0 + 1_500, T0 + 2_000]);
    assert_eq!(o.verdict, Verdict::Queued, "fresh -> enqueue");
    assert_eq!(w.ws.strikes, None);
}

#[test]
fn v2_b6_fresh_heartbeat_already_there_probes_at_once() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 5_000);
    w.at(T0 - 20_000, Ev::Heartbeat); // before the restart: not fresh
    w.at(T0 - 4_000, Ev::Heartbeat); // after it: fresh (and recent)
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0, T0 + 500]);
    assert_eq!(o.verdict, Verdict::Queued);
}

#[test]
fn v2_b6_fresh_needs_a_registered_url() {
    // A heartbeat newer than the stamp but the URL is cleared: not fresh.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 20_000, T0 - 19_000);
    w.at(T0 - 16_000, Ev::Heartbeat)
        .at(T0 - 16_000, Ev::ClearUrl);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(
        o.probe_times,
        vec![T0 + 2_000, T0 + 2_500],
        "waited the full 2 s"
    );
    assert_eq!(o.verdict, strike(1));
}

#[test]
fn v2_b6_fresh_needs_a_heartbeat_strictly_newer_than_the_stamp() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 20_000, T0 - 19_000);
    w.at(T0 - 20_000, Ev::Heartbeat); // same instant as restartStartedAt
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0 + 2_000, T0 + 2_500]);
    assert_eq!(o.verdict, strike(1));
}

#[test]
fn v2_b6_no_fresh_wait_when_not_settling() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 40_000, T0 - 39_000);
    let mut d = Decision::new();
    let step = d.step(&w.policy, &mut w.ws, T0, Input::Start);
    assert_eq!(step, Ok(Step::Probe));
}

#[test]
fn v2_b7_first_probe_error_not_dead() {
    for e in [ERR, ERR_FALSE] {
        let mut w = World::new(V2);
        w.restart_cycle(T0 - 10_000, T0 - 5_000);
        w.at(T0 - 1_000, Ev::Heartbeat);
        let o = w.decide(&[e]);
        assert_eq!(o.verdict, PROBE_ERROR, "{e:?}");
        assert_eq!(o.probes, 1);
    }
}

#[test]
fn v2_b8_first_probe_running_resets_strikes() {
    let mut w = World::new(V2);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 5,
    });
    let o = w.decide(&[TRUE]);
    assert_eq!(o.verdict, RUNNING);
    assert_eq!(o.probes, 1);
    assert_eq!(w.ws.strikes, None);
}

#[test]
fn v2_b9_reprobe_after_exactly_500ms() {
    let policy = load(V2);
    let mut ws = Workspace::default();
    ws.heartbeat(T0);
    let mut d = Decision::new();
    assert_eq!(d.step(&policy, &mut ws, T0, Input::Start), Ok(Step::Probe));
    assert_eq!(
        d.step(&policy, &mut ws, T0, Input::Probe(FALSE)),
        Ok(Step::Wake(T0 + 500))
    );
    assert_eq!(
        d.step(&policy, &mut ws, T0 + 499, Input::Timer),
        Ok(Step::Wake(T0 + 500))
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
    w.at(T0 - 16_000, Ev::Heartbeat);
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.probe_times, vec![T0, T0 + 500]);
    assert_eq!(o.verdict, Verdict::Queued, "fresh alone enqueues");
}

#[test]
fn v2_b9_reprobe_error_not_dead() {
    for e in [ERR, ERR_FALSE] {
        let mut w = World::new(V2);
        w.restart_cycle(T0 - 1_000, T0 - 500);
        let o = w.decide(&[FALSE, e]);
        assert_eq!(o.verdict, PROBE_ERROR, "{e:?}");
        assert_eq!(o.probes, 2);
        assert_eq!(w.ws.strikes, None, "no strike added");
    }
}

#[test]
fn v2_b9_reprobe_running_resets_strikes_not_dead() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 100,
    });
    let o = w.decide(&[FALSE, TRUE]);
    assert_eq!(o.verdict, RUNNING);
    assert_eq!(o.probes, 2);
    assert_eq!(w.ws.strikes, None);
}

#[test]
fn v2_b10_recent_enqueues_even_while_settling_and_adds_no_strike() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 10_000, T0 - 9_000);
    w.at(T0 - 100, Ev::Heartbeat);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 100,
    });
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.verdict, Verdict::Queued);
    assert_eq!(w.ws.strikes.map(|s| s.count), Some(1), "strikes untouched");
    assert_eq!(w.ws.restart.started_at(), Some(T0 - 10_000), "no restart");
}

#[test]
fn v2_b11_not_settling_declares_immediately_without_reprobe() {
    let mut w = World::new(V2);
    w.ws.url_registered = true;
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 - 100,
    });
    let o = w.decide(&[FALSE]);
    assert_eq!(o.verdict, STARTED);
    assert_eq!(o.probes, 1);
    assert!(o.wakes.is_empty());
    assert_eq!(o.end, T0);
    assert_declared(&w, T0);
}

#[test]
fn v2_b11_declare_restart_started_after_debounce() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 60_000, T0 - 55_000);
    assert_eq!(w.decide(&[FALSE]).verdict, STARTED);
    assert_declared(&w, T0);
}

#[test]
fn v2_b11_declare_restart_dropped_inside_debounce() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 59_999, T0 - 55_000);
    assert_eq!(w.decide(&[FALSE]).verdict, DROPPED);
    assert!(!w.ws.url_registered);
    assert!(!w.ws.restart.is_running());
}

#[test]
fn v2_b12_settling_first_strike_not_dead_second_dead() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 5_000, T0 - 1_000);
    let first = w.decide(&[FALSE, FALSE]);
    assert_eq!(first.verdict, strike(1));
    assert_eq!(first.end, T0 + 2_500);
    assert_eq!(
        w.ws.strikes,
        Some(StrikeRecord {
            count: 1,
            first: T0 + 2_500
        })
    );
    let second = w.decide_at(T0 + 3_000, &[FALSE, FALSE]);
    assert_eq!(
        second.verdict, DROPPED,
        "2nd strike declares; debounce drops"
    );
    assert_eq!(second.end, T0 + 5_500);
    assert_eq!(w.ws.strikes, None);
    assert!(!w.ws.url_registered);
}

#[test]
fn v2_b12_strike_window_30000_still_counts() {
    // A strike record whose first strike is exactly 30 s old, and a fresh
    // restart so the decision is settling.
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 + 2_500 - 30_000,
    });
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.end, T0 + 2_500);
    assert_eq!(o.verdict, DROPPED);
}

#[test]
fn v2_b12_strike_window_30001_restarts_at_one() {
    let mut w = World::new(V2);
    w.restart_cycle(T0 - 1_000, T0 - 500);
    w.ws.strikes = Some(StrikeRecord {
        count: 1,
        first: T0 + 2_500 - 30_001,
    });
    let o = w.decide(&[FALSE, FALSE]);
    assert_eq!(o.verdict, strike(1));
    assert_eq!(
        w.ws.strikes,
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
    assert_eq!(w.decide(&[FALSE, FALSE]).verdict, strike(1)); // ends T0+2500
    w.restart_cycle(T0 + 26_000, T0 + 27_000);
    let o = w.decide_at(T0 + 30_000, &[FALSE, FALSE]); // ends T0+32500
    assert_eq!(o.end, T0 + 32_500);
    assert_eq!(o.verdict, DROPPED);
}

// ===================================================================
// The machine's own contract.
// ===================================================================

#[test]
fn unexpected_inputs_are_refused_and_change_nothing() {
    for p in ALL {
        let policy = load(p);
        let mut ws = Workspace::default();
        let mut d = Decision::new();
        for bad in [Input::Timer, Input::Probe(FALSE)] {
            let before = (d, ws);
            let e = d.step(&policy, &mut ws, T0, bad).unwrap_err();
            assert_eq!(e.awaiting, Awaiting::Start, "{p}");
            assert_eq!((d, ws), before, "{p}: refused input changed state");
        }
        assert_eq!(d.step(&policy, &mut ws, T0, Input::Start), Ok(Step::Probe));
        for bad in [Input::Start, Input::Timer] {
            let e = d.step(&policy, &mut ws, T0, bad).unwrap_err();
            assert_eq!(e.awaiting, Awaiting::Probe, "{p}");
        }
        let done = d.step(&policy, &mut ws, T0, Input::Probe(TRUE));
        assert_eq!(done, Ok(Step::Done(RUNNING)));
        for bad in [Input::Start, Input::Timer, Input::Probe(TRUE)] {
            let before = (d, ws);
            let e = d.step(&policy, &mut ws, T0, bad).unwrap_err();
            assert_eq!(e.awaiting, Awaiting::Nothing, "{p}");
            assert_eq!((d, ws), before);
        }
        assert!(matches!(d.phase(), Phase::Done(_)));
    }
}
