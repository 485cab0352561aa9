//! Conformance vectors: timed event logs for one workspace and what
//! livecheck's machines (the decision, the restart coordinator, the
//! workspace's shared state) do with them, so that another implementation of
//! a policy (the generated Go package, or the upstream handler through an
//! adapter) can be checked against the machine the model checker verified.
//!
//! A vector is built by driving the replay engine ([`crate::replay`]) and
//! recording everything it does; nothing here decides anything.
//!
//! # Format (`livecheck-vectors/2`)
//!
//! A JSON object: `format`, `generator`, `policy`, `summary`, `semantics`
//! (the driver rules below, as text), `coverage` (see [`CoverageReport`]) and
//! `vectors`, one per line. A [`Vector`] holds:
//!
//! - `events`: replay log lines ([`LogLine`]), every one for workspace
//!   `w1`: the contract's `workspace`, `heartbeat`, `restart_started`,
//!   `restart_finished`, `a2a_failed`, `probe`, and replay's further
//!   `register`, `restart_requested` (`source`: `file_write`, `other`,
//!   `detector`), `cycle_finished` and `timer` (see [`crate::replay`]);
//! - `steps`: one [`StepRecord`] per input given to a decision or to the
//!   coordinator by an event, in order;
//! - `results`: one line per finished decision, exactly as `livecheck
//!   replay` prints them ([`Finished`]);
//! - `final`: the workspace's shared state after the log ([`FinalState`]).
//!
//! Changes from `livecheck-vectors/1`: events and results carry `ws` (they
//! are replay's lines); a strike that reaches the threshold answers `yield`
//! and the declaration follows as a `resume` input (two lock sections);
//! a declaration no longer carries its restart in the decision: the driver
//! runs `RestartByID` (source detector) right after it and the `done` step
//! and the result say what became of it; `restart_requested` goes through
//! the file-write drop (file writes), then the debounce check and the
//! coalescing back to back, and a request that starts a cycle runs the drain
//! loop's first top at once; `cycle_finished` is the drain loop's top
//! (`looped`: a pending request runs another cycle) or its exit (`idle`);
//! `heartbeat` no longer registers a URL by itself (one while the row has no
//! URL stands for the agent's registration), and `register` is new; the
//! skip at the declaration's re-check is `restart_recheck`; `final` adds
//! the row's `status`, the Redis URL cache and liveness key.
//!
//! # Driver rules (what an implementation's test driver must do)
//!
//! The rules of [`crate::replay`], with one workspace, the timer delay of
//! the vector (`timer_delay_ms`) and inputs a decision cannot take recorded
//! (`unexpected`) instead of refused; [`SEMANTICS`] states them as the file
//! does. Vectors marked `"replay": true` have no unexpected input and no
//! timer delay: `livecheck replay` prints exactly their `results`.

use crate::decision::{Input, ProbeResult, Step};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::Policy;
use crate::replay::{CoordinatorCall, DecisionInput, Fed, Observer, Replayer, RestartCall};
use crate::restart::RestartSource;
use crate::workspace::{Status, Workspace};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

mod boundaries;
mod coverage;
mod exhaustive;
mod random;
mod scenarios;
mod world;

pub use crate::replay::{EventKind, Finished, LogLine};
pub use coverage::{coverage, BoundaryCount, CoverageReport, SetCoverage};
pub use random::{RandomParams, SHIPPED_RANDOM};

/// The format tag written in every vector file.
pub const FORMAT: &str = "livecheck-vectors/2";

/// The workspace every vector's events name.
pub const WS: &str = "w1";

/// The expected effect of one input, in order.
///
/// Decision inputs (`input` = `start`, `timer`, `probe`, `resume`) carry
/// `req`, the probe's `result`, and `step`: `probe`, `wake` (with `at`),
/// `yield` (feed `resume`: the strike section ended, the declaration's
/// section follows), `done` (with `outcome`, `restart`, `reason` as replay
/// prints them) or `unexpected` (with `awaiting`: `start`, `probe`, `timer`,
/// `resume` or `nothing`). Coordinator inputs from events carry `outcome`:
/// for `restart_requested` (with `source`) one of `started`, `coalesced`,
/// `dropped_debounce`, `dropped_file_write`; for `cycle_finished` `idle` or
/// `looped`. A declaration's own restart request has no record: its fate is
/// in the `done` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// The input's `now`.
    pub t_ms: Ms,
    /// The request whose decision got the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<String>,
    /// `start`, `timer`, `probe`, `resume`, `restart_requested` or
    /// `cycle_finished`.
    pub input: String,
    /// The probe answer fed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ProbeResult>,
    /// The restart request's source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RestartSource>,
    /// What the decision asks next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The instant of a `wake`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Ms>,
    /// Decision `done`: `dead`, `not_dead`, `queued`, `skipped`; coordinator:
    /// see the type docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Decision `done`: `started`, `dropped` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// Decision `done`: replay's reason word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `unexpected`: what the decision was waiting for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<String>,
}

impl StepRecord {
    fn input(t_ms: Ms, input: &str) -> Self {
        StepRecord {
            t_ms,
            req: None,
            input: input.to_owned(),
            result: None,
            source: None,
            step: None,
            at: None,
            outcome: None,
            restart: None,
            reason: None,
            awaiting: None,
        }
    }
}

/// A strike record in [`FinalState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrikesState {
    /// Strikes counted.
    pub count: u8,
    /// When the first of them was added.
    pub first: Ms,
}

/// The workspace's shared state after a vector's log (timers all fired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalState {
    /// The last heartbeat, if any.
    pub last_heartbeat: Option<Ms>,
    /// The row's URL is set.
    pub url_registered: bool,
    /// The row's status.
    pub status: Status,
    /// The Redis URL cache holds the URL.
    pub url_cached: bool,
    /// The Redis liveness key exists, last set or refreshed then.
    pub liveness_key: Option<Ms>,
    /// The strike record, if any.
    pub strikes: Option<StrikesState>,
    /// A restart cycle is running.
    pub restart_running: bool,
    /// A restart request is pending behind it.
    pub restart_pending: bool,
    /// `restartStartedAt`, if any.
    pub restart_started_at: Option<Ms>,
    /// When the last cycle loop exited, if any did.
    pub restart_finished_at: Option<Ms>,
    /// When the last file-write restart fired, if any.
    pub last_file_write: Option<Ms>,
}

impl FinalState {
    fn of(ws: &Workspace) -> Self {
        FinalState {
            last_heartbeat: ws.last_heartbeat,
            url_registered: ws.url_registered,
            status: ws.status,
            url_cached: ws.url_cached,
            liveness_key: ws.liveness_key,
            strikes: ws.strikes.map(|s| StrikesState {
                count: s.count,
                first: s.first,
            }),
            restart_running: ws.restart.is_running(),
            restart_pending: ws.restart.is_pending(),
            restart_started_at: ws.restart.started_at(),
            restart_finished_at: ws.restart.finished_at(),
            last_file_write: ws.restart.last_file_write(),
        }
    }
}

fn owned_lines<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<LogLine<'static>>, D::Error> {
    let lines = Vec::<LogLine<'de>>::deserialize(d)?;
    Ok(lines.into_iter().map(LogLine::into_owned).collect())
}

/// One conformance vector: a log for one workspace and what the machine did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// A unique, descriptive name (`boundary/recent_window/+1ms`).
    pub name: String,
    /// The set it belongs to: `scenario`, `boundary`, `exhaustive`, `random`.
    pub set: String,
    /// No unexpected input, no timer delay: `livecheck replay` prints
    /// exactly `results`.
    pub replay: bool,
    /// Timers are fed this many milliseconds after their instant.
    pub timer_delay_ms: Ms,
    /// The log.
    #[serde(deserialize_with = "owned_lines")]
    pub events: Vec<LogLine<'static>>,
    /// Expected effect of every input, in order.
    pub steps: Vec<StepRecord>,
    /// Expected finished decisions, in order.
    pub results: Vec<Finished>,
    /// Expected shared state at the end.
    #[serde(rename = "final")]
    pub final_state: FinalState,
}

/// What running a log through the machine gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Every input's effect.
    pub steps: Vec<StepRecord>,
    /// Every finished decision.
    pub results: Vec<Finished>,
    /// The shared state at the end.
    pub final_state: FinalState,
    /// Some input was refused as unexpected.
    pub unexpected: bool,
}

/// Records what the engine does as [`StepRecord`]s and results.
#[derive(Debug, Clone, Default)]
struct Recorder {
    steps: Vec<StepRecord>,
    results: Vec<Finished>,
    unexpected: bool,
}

impl Observer for Recorder {
    fn decision(&mut self, d: &DecisionInput<'_>) {
        let (word, result) = match d.input {
            Fed::Start => ("start", None),
            Fed::Input { input, .. } => match input {
                Input::Timer => ("timer", None),
                Input::Resume => ("resume", None),
                Input::Probe(p) => ("probe", Some(p)),
            },
        };
        let mut rec = StepRecord::input(d.now, word);
        rec.req = Some(d.req.to_owned());
        rec.result = result;
        let step = match d.result {
            Err(e) => {
                self.unexpected = true;
                rec.awaiting = Some(e.awaiting.to_string());
                "unexpected"
            }
            Ok(Step::Probe) => "probe",
            Ok(Step::Wake { at, .. }) => {
                rec.at = Some(at);
                "wake"
            }
            Ok(Step::Yield) => "yield",
            Ok(Step::Done(_)) => {
                if let Some(f) = d.finished {
                    rec.outcome = Some(f.outcome.clone());
                    rec.restart = Some(f.restart.clone());
                    rec.reason = Some(f.reason.clone());
                }
                "done"
            }
        };
        rec.step = Some(step.into());
        self.steps.push(rec);
    }

    fn restart(&mut self, c: &RestartCall<'_>) {
        if c.req.is_some() {
            // A declaration's request: its fate is in the `done` step.
            return;
        }
        let rec = match c.call {
            CoordinatorCall::Request { source, outcome } => {
                let mut rec = StepRecord::input(c.now, "restart_requested");
                rec.source = Some(source);
                rec.outcome = Some(outcome.to_string());
                rec
            }
            CoordinatorCall::CycleFinished { looped } => {
                let mut rec = StepRecord::input(c.now, "cycle_finished");
                rec.outcome = Some(if looped { "looped" } else { "idle" }.into());
                rec
            }
        };
        self.steps.push(rec);
    }

    fn finished(&mut self, f: Finished) {
        self.results.push(f);
    }
}

/// The engine as vectors drive it: one workspace, `delay`, unexpected
/// inputs recorded.
fn engine(policy: &Policy, delay: Ms) -> Replayer<'_> {
    Replayer::new(policy, Path::new("vector"))
        .with_timer_delay(delay)
        .recording_unexpected()
}

/// Runs `events` through the engine under the driver rules, showing
/// everything to `obs`; returns the final shared state.
fn run_observed(
    policy: &Policy,
    events: &[LogLine<'_>],
    delay: Ms,
    obs: &mut dyn Observer,
) -> Result<Workspace, InputError> {
    let mut r = engine(policy, delay);
    for (i, ev) in events.iter().enumerate() {
        if ev.ws != WS {
            return Err(InputError::new(format!(
                "a vector's events are all for workspace {WS:?}, not {:?}",
                ev.ws
            ))
            .at_line(i + 1));
        }
        r.apply(i + 1, ev, obs)?;
    }
    r.finish_observed(obs)?;
    Ok(r.workspace(WS).copied().unwrap_or_default())
}

/// Runs a vector's events through the machine under the driver rules (module
/// docs) and returns what it did. An ill-formed log (time going backwards, a
/// probe for no live decision, a decision left needing a probe) is an error
/// naming the event (its 1-based line).
pub fn run(
    policy: &Policy,
    events: &[LogLine<'_>],
    timer_delay_ms: Ms,
) -> Result<Expected, InputError> {
    let mut rec = Recorder::default();
    let ws = run_observed(policy, events, timer_delay_ms, &mut rec)?;
    Ok(Expected {
        final_state: FinalState::of(&ws),
        steps: rec.steps,
        results: rec.results,
        unexpected: rec.unexpected,
    })
}

/// The full vector file of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// [`FORMAT`].
    pub format: String,
    /// `livecheck VERSION`.
    pub generator: String,
    /// The policy name.
    pub policy: String,
    /// The policy's summary line.
    pub summary: String,
    /// The driver rules, as text.
    pub semantics: Vec<String>,
    /// What the vectors exercise.
    pub coverage: CoverageReport,
    /// The vectors.
    pub vectors: Vec<Vector>,
}

/// The driver rules, as the vector file states them.
pub const SEMANTICS: [&str; 11] = [
    "One workspace per vector (every event names ws w1); time (t_ms, milliseconds) never goes backwards.",
    "Live decisions form a list: a2a_failed appends one, a finished one is replaced by the last (swap-remove).",
    "Before an event at t is applied, every timer due by t fires: a decision waiting for instant `at` is due at at + timer_delay_ms; earliest due first, ties by list position, with now = its due instant. At the end of the log the remaining timers fire.",
    "A decision's step yield is followed at once by the input resume (the declaration's own lock section). A decision that ends dead is followed at once by RestartByID(now, detector): the debounce check and the coalescing back to back, then, if a cycle started, the drain loop's first top and the row marked provisioning; the done step and the result name its fate.",
    "heartbeat: if the row has no URL, the agent registers (url set, status online, last heartbeat = now, liveness key set at now, URL cached); otherwise last heartbeat = now, status online, the liveness key (if it exists) refreshed to now. register: the agent registers.",
    "restart_started: ObserveCycleStart(now) (running, stamped, not the loop's first iteration), then the row marked provisioning (status provisioning, no URL). restart_finished: ObserveCycleEnd(now) (running and pending clear).",
    "restart_requested: for source file_write the file-write drop first (dropped_file_write); then as a declaration's request (debounce check, coalescing, first loop top and the row marked when a cycle starts).",
    "cycle_finished: nothing (idle) when no cycle runs; else the drain loop's top: a pending request runs another cycle, re-stamped, the row marked provisioning (looped); otherwise the loop's exit (idle: running clears, finished at now).",
    "workspace: runtime external|kimi|kimi-cli is external-like, anything else ordinary; provisioner true|false. Defaults: ordinary runtime, a provisioner; the row online with no URL, no Redis keys.",
    "probe / timer: the input goes to the live decision of `req`; an input it cannot take is recorded as step=unexpected and changes nothing.",
    "steps: one record per input to a decision or per coordinator event, in order; results: one per finished decision (as livecheck replay prints them); final: the shared state at the end.",
];

/// Generates the shipped vector file of `policy`.
pub fn generate(policy: &Policy) -> Result<VectorFile, InputError> {
    let vectors = generate_with(policy, SHIPPED_RANDOM)?;
    let coverage = coverage(policy, &vectors)?;
    Ok(VectorFile {
        format: FORMAT.into(),
        generator: format!("livecheck {}", env!("CARGO_PKG_VERSION")),
        policy: policy.name.clone(),
        summary: policy.summary.clone(),
        semantics: SEMANTICS.iter().map(|s| (*s).to_owned()).collect(),
        coverage,
        vectors,
    })
}

/// Builds the vectors of `policy`: named scenarios, boundaries, the bounded
/// exhaustive space and `random` (use [`SHIPPED_RANDOM`] for the shipped
/// set). Duplicate logs are kept once.
///
/// The exhaustive space is the product of (a) a workspace history (restart:
/// none, running, settling, settled, past the debounce × heartbeat: none,
/// 500 ms old, recent, old; plus an external runtime and no provisioner)
/// with (b) every pair of probe answers, with or without a follow-up request
/// right after, and with (c) for the answer pairs `not_running,not_running`
/// and `not_running,running`, one interfering event (heartbeat,
/// registration, restart started, restart finished, cycle finished, a
/// restart request from a file write or elsewhere, a concurrent failed
/// request) at each instant the decision suspends (asks for a probe or a
/// wake); and (d) a whole restart cycle (observed start and end, or an
/// outside request and the cycle's return; or only a start) right after each
/// suspension of a decision that would declare (nothing recent; a strike
/// pending with a recent heartbeat; settling with a fresh heartbeat and a
/// strike pending).
pub fn generate_with(
    policy: &Policy,
    random_params: RandomParams,
) -> Result<Vec<Vector>, InputError> {
    let mut sets = world::Sets::new(policy);
    scenarios::scenarios(&mut sets)?;
    boundaries::boundaries(&mut sets)?;
    exhaustive::exhaustive(&mut sets)?;
    random::random(&mut sets, random_params)?;
    Ok(sets.into_vectors())
}

/// Only the seeded random set (for a reference search wider than the shipped
/// set).
pub fn generate_random(policy: &Policy, params: RandomParams) -> Result<Vec<Vector>, InputError> {
    let mut sets = world::Sets::new(policy);
    random::random(&mut sets, params)?;
    Ok(sets.into_vectors())
}

/// The vector file as JSON text: a readable header, then one vector a line.
pub fn to_json(file: &VectorFile) -> Result<String, InputError> {
    fn ser<T: Serialize + ?Sized>(v: &T) -> Result<String, InputError> {
        serde_json::to_string(v)
            .map_err(|e| InputError::new(format!("cannot serialize vectors: {e}")))
    }
    let cov = serde_json::to_string_pretty(&file.coverage)
        .map_err(|e| InputError::new(format!("cannot serialize coverage: {e}")))?;
    let mut s = String::from("{\n");
    s.push_str(&format!("\"format\": {},\n", ser(&file.format)?));
    s.push_str(&format!("\"generator\": {},\n", ser(&file.generator)?));
    s.push_str(&format!("\"policy\": {},\n", ser(&file.policy)?));
    s.push_str(&format!("\"summary\": {},\n", ser(&file.summary)?));
    s.push_str(&format!("\"semantics\": {},\n", ser(&file.semantics)?));
    s.push_str(&format!("\"coverage\": {cov},\n"));
    s.push_str("\"vectors\": [\n");
    for (i, v) in file.vectors.iter().enumerate() {
        s.push_str(&ser(v)?);
        s.push_str(if i + 1 < file.vectors.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    s.push_str("]\n}\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2() -> Policy {
        Policy::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/policies/v2-2950.toml"
        )))
        .unwrap()
    }

    fn ev(t: Ms, kind: EventKind, req: Option<&str>, result: Option<ProbeResult>) -> LogLine<'_> {
        let mut e = LogLine::new(t, WS, kind);
        e.req = req.map(Into::into);
        e.result = result;
        e
    }

    #[test]
    fn timers_fire_at_their_own_instant_before_a_later_event() {
        // Settling and no heartbeat: polls at 1000, 1500, ..., probe at 3000.
        let p = v2();
        let events = [
            ev(0, EventKind::RestartStarted, None, None),
            ev(100, EventKind::RestartFinished, None, None),
            ev(1_000, EventKind::A2aFailed, Some("r"), None),
            ev(
                9_000,
                EventKind::Probe,
                Some("r"),
                Some(ProbeResult::Running),
            ),
        ];
        let e = run(&p, &events, 0).unwrap();
        let timers: Vec<Ms> = e
            .steps
            .iter()
            .filter(|s| s.input == "timer")
            .map(|s| s.t_ms)
            .collect();
        assert_eq!(timers, [1_500, 2_000, 2_500, 3_000]);
        assert_eq!(e.results[0].reason, "running");
        // With a delay every timer is fed that much later, and the next poll
        // is scheduled from there.
        let late = run(&p, &events, 7).unwrap();
        let timers: Vec<Ms> = late
            .steps
            .iter()
            .filter(|s| s.input == "timer")
            .map(|s| s.t_ms)
            .collect();
        assert_eq!(timers, [1_507, 2_014, 2_521, 3_028]);
    }

    #[test]
    fn misplaced_inputs_are_recorded_not_applied() {
        let p = v2();
        let events = [
            ev(0, EventKind::A2aFailed, Some("r"), None),
            ev(0, EventKind::Timer, Some("r"), None),
            ev(1, EventKind::Probe, Some("r"), Some(ProbeResult::Running)),
        ];
        let e = run(&p, &events, 0).unwrap();
        assert!(e.unexpected);
        assert_eq!(e.steps[1].step.as_deref(), Some("unexpected"));
        assert_eq!(e.steps[1].awaiting.as_deref(), Some("probe"));
        assert_eq!(e.results.len(), 1);
    }

    #[test]
    fn a_strike_at_the_threshold_yields_then_declares_and_restarts() {
        let p = v2();
        // Settling without a fresh heartbeat: each decision waits 2 s, both
        // probes say not running, each adds a strike; the second declares.
        let events = [
            ev(0, EventKind::RestartStarted, None, None),
            ev(100, EventKind::RestartFinished, None, None),
            ev(1_000, EventKind::A2aFailed, Some("a"), None),
            ev(1_000, EventKind::A2aFailed, Some("b"), None),
            ev(
                3_000,
                EventKind::Probe,
                Some("a"),
                Some(ProbeResult::NotRunning),
            ),
            ev(
                3_000,
                EventKind::Probe,
                Some("b"),
                Some(ProbeResult::NotRunning),
            ),
            ev(
                3_500,
                EventKind::Probe,
                Some("a"),
                Some(ProbeResult::NotRunning),
            ),
            ev(
                3_500,
                EventKind::Probe,
                Some("b"),
                Some(ProbeResult::NotRunning),
            ),
        ];
        let e = run(&p, &events, 0).unwrap();
        let words: Vec<(&str, &str)> = e
            .steps
            .iter()
            .filter(|s| s.req.as_deref() == Some("b"))
            .map(|s| (s.input.as_str(), s.step.as_deref().unwrap_or("")))
            .skip_while(|(i, _)| *i != "probe")
            .collect();
        assert_eq!(
            words,
            [
                ("probe", "wake"),
                ("timer", "probe"),
                ("probe", "yield"),
                ("resume", "done")
            ]
        );
        let last = e.results.last().unwrap();
        assert_eq!(
            (last.outcome.as_str(), last.restart.as_str()),
            ("dead", "dropped")
        );
        assert_eq!(last.reason, "debounce");
        assert_eq!(e.final_state.status, Status::Provisioning);
        assert!(!e.final_state.url_cached);
    }

    #[test]
    fn a_request_during_a_started_cycle_loops_it_once() {
        let p = v2();
        let req = |t, source| {
            let mut e = LogLine::new(t, WS, EventKind::RestartRequested);
            e.source = Some(source);
            e
        };
        let events = [
            req(0, RestartSource::Other),
            // Past the debounce, while the first cycle still runs.
            req(70_000, RestartSource::Other),
            LogLine::new(71_000, WS, EventKind::CycleFinished),
            LogLine::new(72_000, WS, EventKind::CycleFinished),
            LogLine::new(73_000, WS, EventKind::CycleFinished),
        ];
        let e = run(&p, &events, 0).unwrap();
        let outcomes: Vec<&str> = e
            .steps
            .iter()
            .filter_map(|s| s.outcome.as_deref())
            .collect();
        assert_eq!(outcomes, ["started", "coalesced", "looped", "idle", "idle"]);
        assert_eq!(e.final_state.restart_started_at, Some(71_000));
        assert_eq!(e.final_state.restart_finished_at, Some(72_000));
    }

    #[test]
    fn ill_formed_logs_are_errors_naming_the_event() {
        let p = v2();
        let back = [
            ev(5, EventKind::Heartbeat, None, None),
            ev(4, EventKind::Heartbeat, None, None),
        ];
        assert_eq!(run(&p, &back, 0).unwrap_err().line, Some(2));
        let unknown = [ev(
            0,
            EventKind::Probe,
            Some("x"),
            Some(ProbeResult::Running),
        )];
        assert!(run(&p, &unknown, 0)
            .unwrap_err()
            .reason
            .contains("no decision is waiting"));
        let open = [ev(0, EventKind::A2aFailed, Some("r"), None)];
        assert!(run(&p, &open, 0)
            .unwrap_err()
            .reason
            .contains("needs a probe answer"));
        let other = [LogLine::new(0, "w2", EventKind::Heartbeat)];
        assert!(run(&p, &other, 0).unwrap_err().reason.contains("w1"));
    }
}
