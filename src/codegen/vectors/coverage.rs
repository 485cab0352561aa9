//! Coverage of a vector set, measured by running it: transitions and
//! boundary sides (see [`CoverageReport`]). Nothing in the machine is
//! instrumented: the observer sees each input, the state before it and the
//! step after it, and replays the same input on a copy of the state a
//! millisecond (or one strike) across a boundary.

use super::{run_observed, Vector};
use crate::decision::{
    Awaiting, Basis, Decision, Input, Phase, ProbeNo, SkipReason, Step, UnexpectedInput, Verdict,
};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::{Policy, SettleFrom};
use crate::replay::{
    restart_requested_now, CoordinatorCall, DecisionInput, Fed, Observer, RestartCall,
};
use crate::restart::{RestartCoordinator, RestartSource};
use crate::workspace::StrikeRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which side of a boundary a comparison was decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Side {
    Inside,
    Outside,
}

#[derive(Clone, Copy)]
enum Perturb {
    NowPlus,
    NowMinus,
    HeartbeatMinus,
    HeartbeatPlus,
    CountMinus,
    CountPlus,
}

/// Phase with instants made relative to `now`, for comparing a step with the
/// same step fed a millisecond earlier or later.
#[derive(Debug, PartialEq, Eq)]
struct Rel {
    step: Option<(u8, i128, Option<Verdict>)>,
    tag: u8,
    basis: Option<(bool, bool, bool)>,
    which: Option<ProbeNo>,
    since: Option<Ms>,
    deadline: Option<i128>,
    wake: Option<i128>,
    verdict: Option<Verdict>,
}

fn rel(result: &Result<Step, UnexpectedInput>, after: &Decision, now: Ms) -> Rel {
    let n = now as i128;
    let step = match result {
        Err(_) => None,
        Ok(Step::Probe) => Some((0, 0, None)),
        Ok(Step::Wake { at, .. }) => Some((1, *at as i128 - n, None)),
        Ok(Step::Yield) => Some((3, 0, None)),
        Ok(Step::Done(v)) => Some((2, 0, Some(*v))),
    };
    let mut r = Rel {
        step,
        tag: 0,
        basis: None,
        which: None,
        since: None,
        deadline: None,
        wake: None,
        verdict: None,
    };
    let b = |b: Basis| Some((b.settling, b.recent, b.fresh));
    match after.phase() {
        Phase::WaitFresh {
            basis,
            since,
            deadline,
            wake,
        } => {
            r.tag = 1;
            r.basis = b(basis);
            r.since = Some(since);
            r.deadline = Some(deadline as i128 - n);
            r.wake = Some(wake as i128 - n);
        }
        Phase::Probing { basis, which } => {
            r.tag = 2;
            r.basis = b(basis);
            r.which = Some(which);
        }
        Phase::Sleeping { basis, wake } => {
            r.tag = 3;
            r.basis = b(basis);
            r.wake = Some(wake as i128 - n);
        }
        Phase::Declaring { basis } => {
            r.tag = 5;
            r.basis = b(basis);
        }
        Phase::Done(v) => {
            r.tag = 4;
            r.verdict = Some(v);
        }
    }
    r
}

/// The phase's word (`idle` before the decision started).
fn phase_word(d: Option<&Decision>) -> &'static str {
    let Some(d) = d else { return "idle" };
    match d.phase() {
        Phase::WaitFresh { .. } => "wait_fresh",
        Phase::Probing {
            which: ProbeNo::First,
            ..
        } => "probing_first",
        Phase::Probing {
            which: ProbeNo::Second,
            ..
        } => "probing_second",
        Phase::Sleeping { .. } => "sleeping",
        Phase::Declaring { .. } => "declaring",
        Phase::Done(_) => "done",
    }
}

fn coordinator_word(c: &RestartCoordinator) -> &'static str {
    match (c.is_running(), c.is_pending()) {
        (false, _) => "idle",
        (true, false) => "running",
        (true, true) => "running_pending",
    }
}

/// Counts, per vector set, the transitions and boundary sides exercised.
#[derive(Debug, Clone)]
struct Counter<'p> {
    policy: &'p Policy,
    vectors: usize,
    events: usize,
    inputs: usize,
    transitions: BTreeMap<String, u64>,
    sides: BTreeMap<(&'static str, Side), u64>,
}

impl Counter<'_> {
    fn hit(&mut self, name: &'static str, side: Side) {
        *self.sides.entry((name, side)).or_insert(0) += 1;
    }

    fn transition(&mut self, name: String) {
        *self.transitions.entry(name).or_insert(0) += 1;
    }
}

impl Observer for Counter<'_> {
    fn decision(&mut self, d: &DecisionInput<'_>) {
        let policy = self.policy;
        let (ws, now) = (&d.ws_before, d.now);
        let (before, input) = match d.input {
            Fed::Start => (None, None),
            Fed::Input { input, before } => (Some(before), Some(input)),
        };
        let (result, after) = (&d.result, &d.after);
        self.inputs += 1;
        let phase = before.map(|b| b.phase());
        let awaiting = before.map(|b| b.awaiting());
        let input_word = match input {
            Some(Input::Timer) => match awaiting {
                Some(Awaiting::Timer(at)) if now < at => "timer_early".to_owned(),
                _ => "timer".to_owned(),
            },
            Some(Input::Probe(p)) => format!("probe_{p}"),
            None => "start".to_owned(),
            Some(Input::Resume) => "resume".to_owned(),
        };
        // Steps that only a v3 knob explains are told apart: a re-probe with
        // no heartbeat or settle reason (reprobe.always), and the
        // declaration's re-check with no cycle running (the restart stamp
        // moved).
        let probing = match phase {
            Some(Phase::Probing { basis, .. }) => Some(basis),
            _ => None,
        };
        let result_word = match result {
            Err(_) => "unexpected".to_owned(),
            Ok(Step::Probe) => "probe".to_owned(),
            Ok(Step::Wake { .. }) => match probing {
                Some(b) if !(b.recent || b.fresh || b.settling) => "wake_reprobe_always".to_owned(),
                _ => "wake".to_owned(),
            },
            Ok(Step::Yield) => "yield".to_owned(),
            // A declaration's restart fate is the coordinator's transition.
            Ok(Step::Done(Verdict::Dead)) => "done_dead".to_owned(),
            Ok(Step::Done(v)) => {
                let reason = d
                    .finished
                    .map_or_else(|| v.outcome().to_owned(), |f| f.reason.clone());
                if *v == Verdict::Skipped(SkipReason::RestartRecheck) && !ws.restart.is_running() {
                    format!("done_{reason}_stamp_moved")
                } else {
                    format!("done_{reason}")
                }
            }
        };
        self.transition(format!(
            "decision:{}:{input_word}->{result_word}",
            phase_word(before.as_ref())
        ));
        // Boundary sides: the compared quantity sits at the boundary and the
        // same step a millisecond across it gives a different result.
        let d = &policy.decision;
        let mut cands: Vec<(&'static str, Side, Perturb)> = Vec::new();
        let age = |t: Ms| now.saturating_sub(t);
        let mut at_edge = |name: &'static str, a: Ms, inside: Ms, outside: Ms| {
            if a == inside {
                cands.push((name, Side::Inside, Perturb::NowPlus));
            }
            if a == outside && outside > 0 {
                cands.push((name, Side::Outside, Perturb::NowMinus));
            }
        };
        if let (Some(h), Some(hb)) = (d.recent_heartbeat, ws.last_heartbeat) {
            at_edge("recent_window", age(hb), h.window, h.window + 1);
        }
        if let Some(s) = d.settle {
            let stamp = match s.measured_from {
                SettleFrom::RestartStarted => ws.restart.started_at(),
                SettleFrom::RestartFinished => ws.restart.finished_at(),
            };
            if let Some(t) = stamp {
                at_edge("settle_window", age(t), s.window - 1, s.window);
            }
        }
        if let (Some(s), Some(r)) = (d.strikes, ws.strikes) {
            at_edge("strike_window", age(r.first), s.window, s.window + 1);
        }
        if let Some(t) = ws.restart.started_at() {
            let db = policy.restart.debounce;
            if db > 0 {
                at_edge("debounce", age(t), db - 1, db);
            }
        }
        if input == Some(Input::Timer) {
            if let Some(Awaiting::Timer(at)) = awaiting {
                let name = match phase {
                    Some(Phase::WaitFresh { .. }) => "fresh_poll_timer",
                    _ => "reprobe_timer",
                };
                if now + 1 == at {
                    cands.push((name, Side::Inside, Perturb::NowPlus));
                }
                if now == at && now > 0 {
                    cands.push((name, Side::Outside, Perturb::NowMinus));
                }
            }
            if let Some(Phase::WaitFresh { deadline, .. }) = phase {
                if now + 1 == deadline {
                    cands.push(("fresh_deadline", Side::Inside, Perturb::NowPlus));
                }
                if now == deadline && now > 0 {
                    cands.push(("fresh_deadline", Side::Outside, Perturb::NowMinus));
                }
            }
        }
        let since = match (phase, input) {
            (Some(Phase::WaitFresh { since, .. }), Some(Input::Timer)) => Some(since),
            (None, _) => ws.restart.started_at(),
            _ => None,
        };
        if let (Some(since), Some(hb), Some(_)) = (
            since,
            ws.last_heartbeat,
            d.settle.and_then(|s| s.fresh_wait),
        ) {
            if hb == since + 1 {
                cands.push(("fresh_since", Side::Inside, Perturb::HeartbeatMinus));
            }
            if hb == since {
                cands.push(("fresh_since", Side::Outside, Perturb::HeartbeatPlus));
            }
        }
        if let (Some(s), Some(Input::Probe(_))) = (d.strikes, input) {
            let count = ws.strikes.map_or(0, |r| r.count);
            if count > 0 && count.saturating_add(1) == s.threshold {
                cands.push(("strike_threshold", Side::Inside, Perturb::CountMinus));
            }
            if count.saturating_add(2) == s.threshold {
                cands.push(("strike_threshold", Side::Outside, Perturb::CountPlus));
            }
        }
        if cands.is_empty() {
            return;
        }
        let base = rel(result, after, now);
        for (name, side, perturb) in cands {
            let mut w = *ws;
            let mut n = now;
            match perturb {
                Perturb::NowPlus => n += 1,
                Perturb::NowMinus => n -= 1,
                Perturb::HeartbeatMinus => w.last_heartbeat = w.last_heartbeat.map(|h| h - 1),
                Perturb::HeartbeatPlus => w.last_heartbeat = w.last_heartbeat.map(|h| h + 1),
                Perturb::CountMinus => {
                    if let Some(s) = &mut w.strikes {
                        s.count -= 1;
                    }
                }
                Perturb::CountPlus => {
                    w.strikes = Some(match w.strikes {
                        Some(s) => StrikeRecord {
                            count: s.count.saturating_add(1),
                            first: s.first,
                        },
                        None => StrikeRecord {
                            count: 1,
                            first: now,
                        },
                    });
                }
            }
            let (dec, r2) = match (before, input) {
                (Some(mut dec), Some(input)) => {
                    let r2 = dec.step(policy, &mut w, n, input);
                    (dec, r2)
                }
                _ => {
                    let (dec, step) = Decision::start(policy, &mut w, n);
                    (dec, Ok(step))
                }
            };
            if rel(&r2, &dec, n) != base {
                self.hit(name, side);
            }
        }
    }

    fn restart(&mut self, c: &RestartCall<'_>) {
        let policy = self.policy;
        let before = &c.ws_before.restart;
        let state = coordinator_word(before);
        let (source, outcome) = match c.call {
            CoordinatorCall::CycleFinished { looped } => {
                let end = if looped { "looped" } else { "idle" };
                self.transition(format!("cycle:{state}->{end}"));
                return;
            }
            CoordinatorCall::Request { source, outcome } => (source, outcome),
        };
        let rp = &policy.restart;
        let now = c.now;
        let age = |t: Ms| now.saturating_sub(t);
        // A detector request the policy exempts from the debounce, made
        // inside it, is named apart.
        let exempt_inside = source == RestartSource::Detector
            && rp.detector_bypasses_debounce
            && before.started_at().is_some_and(|t| age(t) < rp.debounce);
        let sname = if exempt_inside {
            "detector_inside_debounce".to_owned()
        } else {
            source.to_string()
        };
        self.transition(format!("restart:{state}:{sname}->{outcome}"));
        let mut cands: Vec<(&'static str, Side, Ms)> = Vec::new();
        if source == RestartSource::FileWrite {
            if let Some(t) = before.last_file_write() {
                if rp.file_write_drop > 0 && age(t) == rp.file_write_drop - 1 {
                    cands.push(("file_write", Side::Inside, now + 1));
                }
                if rp.file_write_drop > 0 && age(t) == rp.file_write_drop {
                    cands.push(("file_write", Side::Outside, now - 1));
                }
            }
        }
        if let Some(t) = before.started_at() {
            if rp.debounce > 0 && age(t) == rp.debounce - 1 {
                cands.push(("debounce", Side::Inside, now + 1));
            }
            if rp.debounce > 0 && age(t) == rp.debounce && now > 0 {
                cands.push(("debounce", Side::Outside, now - 1));
            }
        }
        for (name, side, n) in cands {
            let mut w = c.ws_before;
            if restart_requested_now(policy, &mut w, n, source) != outcome {
                self.hit(name, side);
            }
        }
    }
}

/// The boundary comparisons a policy makes, each with its two sides.
fn boundary_names(p: &Policy) -> Vec<(&'static str, &'static str)> {
    let d = &p.decision;
    let mut v = Vec::new();
    if d.recent_heartbeat.is_some() {
        v.push(("recent_window", "now - heartbeat <= recent window"));
    }
    if d.settle.is_some() {
        v.push(("settle_window", "now - stamp < settle window"));
    }
    if d.strikes.is_some() {
        v.push(("strike_window", "now - first strike <= strike window"));
        v.push(("strike_threshold", "strikes >= threshold"));
    }
    v.push(("debounce", "now - restartStartedAt < debounce"));
    v.push(("file_write", "now - last file write < file-write drop"));
    if d.reprobe_delay.is_some() {
        v.push(("reprobe_timer", "timer at now < wake is early"));
    }
    if d.settle.and_then(|s| s.fresh_wait).is_some() {
        v.push(("fresh_poll_timer", "timer at now < wake is early"));
        v.push(("fresh_deadline", "poll while now < deadline"));
        v.push(("fresh_since", "heartbeat > restartStartedAt"));
    }
    v
}

/// Coverage of one vector set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetCoverage {
    /// `scenario`, `boundary`, `exhaustive`, `random` or `all`.
    pub set: String,
    /// Vectors in the set.
    pub vectors: usize,
    /// Events in their logs.
    pub events: usize,
    /// Inputs fed to decisions.
    pub decision_inputs: usize,
    /// Distinct transitions exercised (see [`CoverageReport::transitions`]).
    pub transitions: usize,
    /// Boundary sides exercised, out of `boundary_sides_total`.
    pub boundary_sides: usize,
    /// Two per boundary comparison the policy makes.
    pub boundary_sides_total: usize,
}

/// How much of the machine the vectors exercise, measured by running them
/// (nothing in the machine is instrumented).
///
/// A *transition* is `decision:PHASE:INPUT->RESULT` (the decision's phase
/// before the input, the input, and the step it returned, with the verdict's
/// reason word; a declaration is `done_dead`), `restart:STATE:SOURCE->OUTCOME`
/// (a restart request, including the detector's after a declaration) or
/// `cycle:STATE->END`. Three results only a v3 knob explains are named apart:
/// `wake_reprobe_always` (a re-probe with no recent or fresh heartbeat and no
/// settle window), `done_restart_recheck_stamp_moved` (a skip at the
/// declaration with no cycle running: `restartStartedAt` moved since the
/// decision started) and the source `detector_inside_debounce` (a detector
/// request the policy exempts from the debounce, made inside it). A
/// *boundary side* of a comparison is
/// exercised when some input was fed with the compared quantity exactly at
/// the boundary on that side (for `now - t <= W`: age `W` inside, `W + 1`
/// outside; for `< W`: `W - 1` and `W`; for the threshold, the strike that
/// reaches it and the one before) and the same input on a copy of the state,
/// a millisecond (or one strike) across the boundary, gives a different
/// step, phase or outcome: the comparison decided that input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageReport {
    /// How it is measured, in words.
    pub method: String,
    /// Per set, then `all`.
    pub sets: Vec<SetCoverage>,
    /// Per boundary comparison: what it compares, and how many inputs
    /// exercised each side (all sets).
    pub boundaries: BTreeMap<String, BoundaryCount>,
    /// Every transition exercised and how often (all sets).
    pub transitions: BTreeMap<String, u64>,
}

/// Inputs that exercised each side of one boundary comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryCount {
    /// The comparison.
    pub compares: String,
    /// Inputs decided on the inside of the boundary.
    pub inside: u64,
    /// Inputs decided on the outside.
    pub outside: u64,
}

fn count<'p>(policy: &'p Policy, vectors: &[&Vector]) -> Result<Counter<'p>, InputError> {
    let mut c = Counter {
        policy,
        vectors: 0,
        events: 0,
        inputs: 0,
        transitions: BTreeMap::new(),
        sides: BTreeMap::new(),
    };
    for v in vectors {
        c.vectors += 1;
        c.events += v.events.len();
        run_observed(policy, &v.events, v.timer_delay_ms, &mut c)
            .map_err(|e| InputError::new(format!("vector {}: {e}", v.name)))?;
    }
    Ok(c)
}

/// Measures the coverage of `vectors` (see [`CoverageReport`]).
pub fn coverage(policy: &Policy, vectors: &[Vector]) -> Result<CoverageReport, InputError> {
    let names = boundary_names(policy);
    let total = names.len() * 2;
    let mut sets = Vec::new();
    let mut set_names: Vec<&str> = Vec::new();
    for v in vectors {
        if !set_names.contains(&v.set.as_str()) {
            set_names.push(&v.set);
        }
    }
    let summarize = |name: &str, c: &Counter<'_>| SetCoverage {
        set: name.to_owned(),
        vectors: c.vectors,
        events: c.events,
        decision_inputs: c.inputs,
        transitions: c.transitions.len(),
        boundary_sides: c.sides.len(),
        boundary_sides_total: total,
    };
    for s in &set_names {
        let subset: Vec<&Vector> = vectors.iter().filter(|v| v.set == *s).collect();
        sets.push(summarize(s, &count(policy, &subset)?));
    }
    let all = count(policy, &vectors.iter().collect::<Vec<_>>())?;
    sets.push(summarize("all", &all));
    let boundaries = names
        .iter()
        .map(|(n, what)| {
            (
                (*n).to_owned(),
                BoundaryCount {
                    compares: (*what).to_owned(),
                    inside: all.sides.get(&(*n, Side::Inside)).copied().unwrap_or(0),
                    outside: all.sides.get(&(*n, Side::Outside)).copied().unwrap_or(0),
                },
            )
        })
        .collect();
    Ok(CoverageReport {
        method: "Each vector is run through the machine (nothing in it is instrumented). \
                 A transition is decision:PHASE:INPUT->RESULT, restart:STATE:SOURCE->OUTCOME \
                 or cycle:STATE->END (a re-probe only reprobe.always explains is \
                 wake_reprobe_always, a declaration skipped because restartStartedAt moved \
                 is done_restart_recheck_stamp_moved, an exempt detector request inside the \
                 debounce has source detector_inside_debounce). A boundary side counts when \
                 an input was fed with the compared quantity exactly at the boundary on that \
                 side and the same input, \
                 a millisecond (or one strike) across it, gives a different step, phase or \
                 outcome."
            .into(),
        sets,
        boundaries,
        transitions: all.transitions,
    })
}
