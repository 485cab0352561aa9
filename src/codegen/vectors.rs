//! Conformance vectors: timed event sequences for one workspace and what
//! livecheck's decision machine ([`Decision`]) and restart coordinator
//! ([`RestartCoordinator`]) do with them, so that another implementation of a
//! policy (the generated Go package, or the upstream handler through an
//! adapter) can be checked against the machine the model checker verified.
//!
//! # Format (`livecheck-vectors/1`)
//!
//! A JSON object: `format`, `generator`, `policy`, `summary`, `semantics`
//! (the driver rules below, as text), `coverage` (see [`CoverageReport`]) and
//! `vectors`, one per line. A [`Vector`] holds `events` in the vocabulary of
//! the replay log (CONTRACT.md, "Replay log": `workspace`, `heartbeat`,
//! `restart_started`, `restart_finished`, `a2a_failed`, `probe`) without the
//! `ws` field (a vector is one workspace), plus three events replay does not
//! know: `restart_requested` (`source`: `file_write` or `other`, a
//! `RestartByID` call from outside the detector), `cycle_finished` (the
//! running restart cycle returned; it loops if a request is pending) and
//! `timer` (feed the request's decision a timer input now, early or not).
//! The expected behaviour is `steps` (one [`StepRecord`] per input given to a
//! decision or to the coordinator, in order), `results` (one line per
//! finished decision, exactly as `livecheck replay` prints them, minus `ws`)
//! and `final` (the workspace's shared state after the log).
//!
//! # Driver rules (what an implementation's test driver must do)
//!
//! Time never goes backwards. Live decisions are kept in a list: a failed
//! request appends one, a finished one is replaced by the list's last entry
//! (swap-remove). Before an event at `t` is applied, every timer due by then
//! fires: a decision waiting for its instant `at` is due at
//! `at + timer_delay_ms`; the earliest due fires first (ties: lowest list
//! position), with `now` = its due instant. At the end of the log the
//! remaining timers fire the same way. `restart_started` is
//! `ObserveCycleStart` plus clearing the URL; `restart_finished` is
//! `ObserveCycleEnd`; `restart_requested` is `Request(now, source)` and
//! `cycle_finished` is `CycleFinished(now)`, and a cycle that starts through
//! either (`started`, `looped`) clears the URL as `restart_started` does.
//! `heartbeat` sets the last heartbeat to `now` and registers the URL.
//! A `probe` or `timer` event goes to the live decision of that request; an
//! input the decision cannot take is recorded as `unexpected` and changes
//! nothing. Vectors marked `"replay": true` use only the replay vocabulary,
//! no unexpected input and no timer delay: `livecheck replay` gives the same
//! `results` for them.

use crate::decision::{Awaiting, Decision, Input, ProbeResult, Step, UnexpectedInput};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::Policy;
use crate::replay::{describe, EXTERNAL_LIKE_RUNTIMES};
use crate::restart::{DropReason, LoopTop, RestartCoordinator, RestartOutcome, RestartSource};
use crate::workspace::Workspace;
use serde::{Deserialize, Serialize};

mod build;
mod coverage;

pub use build::{generate_random, generate_with, RandomParams, SHIPPED_RANDOM};
pub use coverage::{coverage, BoundaryCount, CoverageReport, SetCoverage};

/// The format tag written in every vector file.
pub const FORMAT: &str = "livecheck-vectors/1";

// ---- the vector format -----------------------------------------------------

/// What happened, in a vector's event list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Workspace facts (`runtime`, `provisioner`).
    Workspace,
    /// The agent heartbeated (URL registered, last heartbeat = now).
    Heartbeat,
    /// The platform started a restart cycle (observed).
    RestartStarted,
    /// The platform's restart cycle returned (observed).
    RestartFinished,
    /// `RestartByID` from outside the detector (`source`). Not replay.
    RestartRequested,
    /// The coordinator's running cycle returned. Not replay.
    CycleFinished,
    /// A request failed: a decision starts (`req`).
    A2aFailed,
    /// A probe answer (`req`, `result`).
    Probe,
    /// A timer input fed now to the decision of `req`. Not replay.
    Timer,
}

/// Who asks for a restart in a `restart_requested` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A config/file PUT (subject to the file-write drop).
    FileWrite,
    /// Anything else (health sweep, reconciler, admin).
    Other,
}

impl From<Source> for RestartSource {
    fn from(s: Source) -> Self {
        match s {
            Source::FileWrite => RestartSource::FileWrite,
            Source::Other => RestartSource::Other,
        }
    }
}

/// A probe answer as written in vectors (and replay logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// `(true, nil)`.
    Running,
    /// `(false, nil)`.
    NotRunning,
    /// `(true, err)`.
    Error,
    /// `(false, err)`.
    ErrorNotRunning,
}

impl Answer {
    /// All four answers.
    pub const ALL: [Answer; 4] = [
        Answer::Running,
        Answer::NotRunning,
        Answer::Error,
        Answer::ErrorNotRunning,
    ];

    /// The word used in JSON.
    pub fn word(self) -> &'static str {
        match self {
            Answer::Running => "running",
            Answer::NotRunning => "not_running",
            Answer::Error => "error",
            Answer::ErrorNotRunning => "error_not_running",
        }
    }
}

impl From<Answer> for ProbeResult {
    fn from(a: Answer) -> Self {
        match a {
            Answer::Running => ProbeResult::Running,
            Answer::NotRunning => ProbeResult::NotRunning,
            Answer::Error => ProbeResult::Error,
            Answer::ErrorNotRunning => ProbeResult::ErrorNotRunning,
        }
    }
}

impl From<ProbeResult> for Answer {
    fn from(p: ProbeResult) -> Self {
        match p {
            ProbeResult::Running => Answer::Running,
            ProbeResult::NotRunning => Answer::NotRunning,
            ProbeResult::Error => Answer::Error,
            ProbeResult::ErrorNotRunning => Answer::ErrorNotRunning,
        }
    }
}

/// One timed event of a vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When, in milliseconds.
    pub t_ms: Ms,
    /// What.
    pub event: EventKind,
    /// The request (`a2a_failed`, `probe`, `timer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<String>,
    /// The probe answer (`probe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Answer>,
    /// Who asks (`restart_requested`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The runtime (`workspace`): `external`, `kimi`, `kimi-cli` are
    /// external-like, anything else ordinary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Whether a provisioner is configured (`workspace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioner: Option<bool>,
}

impl Event {
    /// An event with only a time and a kind.
    pub fn new(t_ms: Ms, event: EventKind) -> Self {
        Event {
            t_ms,
            event,
            req: None,
            result: None,
            source: None,
            runtime: None,
            provisioner: None,
        }
    }

    fn with_req(mut self, req: &str) -> Self {
        self.req = Some(req.to_owned());
        self
    }

    /// True for the kinds `livecheck replay` understands.
    pub fn is_replay_vocabulary(&self) -> bool {
        !matches!(
            self.event,
            EventKind::RestartRequested | EventKind::CycleFinished | EventKind::Timer
        )
    }
}

/// The expected effect of one input, in order.
///
/// Decision inputs (`input` = `start`, `timer`, `probe`) carry `req`, the
/// probe's `result`, and `step`: `probe`, `wake` (with `at`), `done` (with
/// `outcome`, `restart`, `reason` as in replay) or `unexpected` (with
/// `awaiting`: `start`, `probe`, `timer` or `nothing`). Coordinator inputs
/// carry `outcome`: for `restart_requested` (with `source`) one of `started`,
/// `coalesced`, `dropped_debounce`, `dropped_file_write`; for
/// `cycle_finished` `idle` or `looped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// The input's `now`.
    pub t_ms: Ms,
    /// The request whose decision got the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<String>,
    /// `start`, `timer`, `probe`, `restart_requested` or `cycle_finished`.
    pub input: String,
    /// The probe answer fed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Answer>,
    /// The restart request's source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
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

/// One finished decision, as `livecheck replay` prints it (without `ws`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRecord {
    /// When the decision ended.
    pub t_ms: Ms,
    /// Request id.
    pub req: String,
    /// `dead`, `not_dead`, `queued` or `skipped`.
    pub outcome: String,
    /// Probes the decision asked for.
    pub probes: u8,
    /// `started`, `dropped` or `none`.
    pub restart: String,
    /// Why, in one word.
    pub reason: String,
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
    /// The URL is registered.
    pub url_registered: bool,
    /// The strike record, if any.
    pub strikes: Option<StrikesState>,
    /// A restart cycle is running.
    pub restart_running: bool,
    /// A restart request is pending behind it.
    pub restart_pending: bool,
    /// `restartStartedAt`, if any.
    pub restart_started_at: Option<Ms>,
    /// When the last cycle returned, if any.
    pub restart_finished_at: Option<Ms>,
    /// When the last file-write restart fired, if any.
    pub last_file_write: Option<Ms>,
}

impl FinalState {
    fn of(ws: &Workspace) -> Self {
        FinalState {
            last_heartbeat: ws.last_heartbeat,
            url_registered: ws.url_registered,
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

/// One conformance vector: a log for one workspace and what the machine did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// A unique, descriptive name (`boundary/recent_window/+1ms`).
    pub name: String,
    /// The set it belongs to: `scenario`, `boundary`, `exhaustive`, `random`.
    pub set: String,
    /// Uses only replay's vocabulary, no unexpected input, no timer delay.
    pub replay: bool,
    /// Timers are fed this many milliseconds after their instant.
    pub timer_delay_ms: Ms,
    /// The log.
    pub events: Vec<Event>,
    /// Expected effect of every input, in order.
    pub steps: Vec<StepRecord>,
    /// Expected finished decisions, in order.
    pub results: Vec<ResultRecord>,
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
    pub results: Vec<ResultRecord>,
    /// The shared state at the end.
    pub final_state: FinalState,
    /// Some input was refused as unexpected.
    pub unexpected: bool,
}

// ---- the driver ------------------------------------------------------------

/// Watches every input the driver feeds (coverage measurement).
trait Observer {
    #[allow(clippy::too_many_arguments)]
    fn decision(
        &mut self,
        _policy: &Policy,
        _before: &Decision,
        _ws: &Workspace,
        _now: Ms,
        _input: Input,
        _result: &Result<Step, UnexpectedInput>,
        _after: &Decision,
    ) {
    }
    fn coordinator(
        &mut self,
        _policy: &Policy,
        _before: &RestartCoordinator,
        _now: Ms,
        _call: Option<RestartSource>,
        _outcome: &'static str,
    ) {
    }
}

struct NoObs;
impl Observer for NoObs {}

#[derive(Clone)]
struct Live {
    req: String,
    decision: Decision,
    /// When the decision last asked for a probe.
    asked_at: Ms,
}

/// The vector driver: replay's semantics plus the extension events.
#[derive(Clone)]
struct Driver<'p> {
    policy: &'p Policy,
    ws: Workspace,
    t: Ms,
    delay: Ms,
    live: Vec<Live>,
    steps: Vec<StepRecord>,
    results: Vec<ResultRecord>,
    unexpected: bool,
}

fn awaiting_word(a: Awaiting) -> &'static str {
    match a {
        Awaiting::Start => "start",
        Awaiting::Probe => "probe",
        Awaiting::Timer(_) => "timer",
        Awaiting::Resume => "resume",
        Awaiting::Nothing => "nothing",
    }
}

fn restart_outcome_word(o: RestartOutcome) -> &'static str {
    match o {
        RestartOutcome::Started => "started",
        RestartOutcome::Coalesced => "coalesced",
        RestartOutcome::Dropped(DropReason::Debounce) => "dropped_debounce",
        RestartOutcome::Dropped(DropReason::FileWrite) => "dropped_file_write",
    }
}

impl<'p> Driver<'p> {
    fn new(policy: &'p Policy, delay: Ms) -> Self {
        Driver {
            policy,
            ws: Workspace::default(),
            t: 0,
            delay,
            live: Vec::new(),
            steps: Vec::new(),
            results: Vec::new(),
            unexpected: false,
        }
    }

    fn feed(&mut self, idx: usize, now: Ms, input: Input, obs: &mut dyn Observer) {
        let before = self.live[idx].decision;
        let ws_before = self.ws;
        let result = self.live[idx]
            .decision
            .step(self.policy, &mut self.ws, now, input);
        let after = self.live[idx].decision;
        obs.decision(
            self.policy,
            &before,
            &ws_before,
            now,
            input,
            &result,
            &after,
        );
        let (word, answer) = match input {
            Input::Start => ("start", None),
            Input::Timer => ("timer", None),
            Input::Resume => ("resume", None),
            Input::Probe(p) => ("probe", Some(Answer::from(p))),
        };
        let mut rec = StepRecord::input(now, word);
        rec.req = Some(self.live[idx].req.clone());
        rec.result = answer;
        match result {
            Err(e) => {
                self.unexpected = true;
                rec.step = Some("unexpected".into());
                rec.awaiting = Some(awaiting_word(e.awaiting).into());
                self.steps.push(rec);
            }
            Ok(Step::Probe) => {
                self.live[idx].asked_at = now;
                rec.step = Some("probe".into());
                self.steps.push(rec);
            }
            Ok(Step::Wake(at)) => {
                rec.step = Some("wake".into());
                rec.at = Some(at);
                self.steps.push(rec);
            }
            Ok(Step::Yield) => {
                // Nothing in a vector runs between the two sections.
                rec.step = Some("yield".into());
                self.steps.push(rec);
                self.feed(idx, now, Input::Resume, obs);
            }
            Ok(Step::Done(v)) => {
                let restart = (v == crate::decision::Verdict::Dead).then(|| {
                    let before = self.ws.restart;
                    let o = self.ws.restart_by_id_now(
                        &self.policy.restart,
                        now,
                        RestartSource::Detector,
                    );
                    obs.coordinator(
                        self.policy,
                        &before,
                        now,
                        Some(RestartSource::Detector),
                        restart_outcome_word(o),
                    );
                    o
                });
                let (outcome, restart, reason) = describe(v, restart);
                rec.step = Some("done".into());
                rec.outcome = Some(outcome.into());
                rec.restart = Some(restart.into());
                rec.reason = Some(reason.clone());
                self.steps.push(rec);
                let l = self.live.swap_remove(idx);
                self.results.push(ResultRecord {
                    t_ms: now,
                    req: l.req,
                    outcome: outcome.into(),
                    probes: l.decision.probes(),
                    restart: restart.into(),
                    reason,
                });
            }
        }
    }

    /// The earliest due timer `(due, index)`, optionally only those due by `until`.
    fn next_timer(&self, until: Option<Ms>) -> Option<(Ms, usize)> {
        self.live
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l.decision.awaiting() {
                Awaiting::Timer(at) => {
                    let due = at.saturating_add(self.delay);
                    until.is_none_or(|u| due <= u).then_some((due, i))
                }
                _ => None,
            })
            .min()
    }

    fn fire_due(&mut self, until: Option<Ms>, obs: &mut dyn Observer) {
        while let Some((due, idx)) = self.next_timer(until) {
            let now = due.max(self.t);
            self.t = now;
            self.feed(idx, now, Input::Timer, obs);
        }
    }

    fn advance_to(&mut self, t: Ms, obs: &mut dyn Observer) {
        self.fire_due(Some(t), obs);
        self.t = self.t.max(t);
    }

    fn find(&self, req: Option<&str>, line: usize) -> Result<usize, String> {
        let req = req.ok_or_else(|| format!("event {line}: needs a \"req\""))?;
        self.live
            .iter()
            .position(|l| l.req == req)
            .ok_or_else(|| format!("event {line}: no live decision for request {req:?}"))
    }

    fn apply(&mut self, line: usize, ev: &Event, obs: &mut dyn Observer) -> Result<(), String> {
        if ev.t_ms < self.t {
            return Err(format!(
                "event {line}: time goes backwards (t_ms {} after {})",
                ev.t_ms, self.t
            ));
        }
        self.advance_to(ev.t_ms, obs);
        let t = ev.t_ms;
        match ev.event {
            EventKind::Workspace => {
                if let Some(rt) = &ev.runtime {
                    self.ws.facts.external_runtime = EXTERNAL_LIKE_RUNTIMES.contains(&rt.as_str());
                }
                if let Some(p) = ev.provisioner {
                    self.ws.facts.provisioner = p;
                }
            }
            EventKind::Heartbeat if !self.ws.url_registered => self.ws.register(t),
            EventKind::Heartbeat => self.ws.heartbeat(t),
            EventKind::RestartStarted => self.ws.observe_restart_started(t),
            EventKind::RestartFinished => self.ws.restart.observe_cycle_end(t),
            EventKind::RestartRequested => {
                let source = ev
                    .source
                    .ok_or_else(|| format!("event {line}: needs a \"source\""))?;
                let before = self.ws.restart;
                let gate = if source == Source::FileWrite {
                    self.ws.restart.file_write_gate(&self.policy.restart, t)
                } else {
                    Ok(())
                };
                let o = match gate {
                    Err(reason) => RestartOutcome::Dropped(reason),
                    Ok(()) => self
                        .ws
                        .restart_by_id_now(&self.policy.restart, t, source.into()),
                };
                let word = restart_outcome_word(o);
                obs.coordinator(self.policy, &before, t, Some(source.into()), word);
                let mut rec = StepRecord::input(t, "restart_requested");
                rec.source = Some(source);
                rec.outcome = Some(word.into());
                self.steps.push(rec);
            }
            EventKind::CycleFinished => {
                let before = self.ws.restart;
                // The cycle returned: the drain loop's top, then (nothing
                // pending) its exit, back to back.
                let word = if !self.ws.restart.is_running() {
                    "idle"
                } else {
                    // The first iteration's own top came when it started.
                    if self.ws.restart.is_first_iteration() {
                        self.ws.loop_top(t);
                    }
                    match self.ws.loop_top(t) {
                        LoopTop::Run => {
                            self.ws.mark_provisioning();
                            "looped"
                        }
                        LoopTop::Done => {
                            self.ws.restart.exit(t);
                            "idle"
                        }
                    }
                };
                obs.coordinator(self.policy, &before, t, None, word);
                let mut rec = StepRecord::input(t, "cycle_finished");
                rec.outcome = Some(word.into());
                self.steps.push(rec);
            }
            EventKind::A2aFailed => {
                let req = ev
                    .req
                    .clone()
                    .ok_or_else(|| format!("event {line}: needs a \"req\""))?;
                if self.live.iter().any(|l| l.req == req) {
                    return Err(format!(
                        "event {line}: request {req:?} failed again while its decision runs"
                    ));
                }
                self.live.push(Live {
                    req,
                    decision: Decision::new(),
                    asked_at: t,
                });
                let idx = self.live.len() - 1;
                self.feed(idx, t, Input::Start, obs);
            }
            EventKind::Probe => {
                let idx = self.find(ev.req.as_deref(), line)?;
                let r = ev
                    .result
                    .ok_or_else(|| format!("event {line}: needs a \"result\""))?;
                self.feed(idx, t, Input::Probe(r.into()), obs);
            }
            EventKind::Timer => {
                let idx = self.find(ev.req.as_deref(), line)?;
                self.feed(idx, t, Input::Timer, obs);
            }
        }
        Ok(())
    }

    fn finish(&mut self, obs: &mut dyn Observer) -> Result<(), String> {
        self.fire_due(None, obs);
        match self.live.first() {
            Some(l) => Err(format!(
                "the decision of request {:?} still needs a probe answer at the end of the log",
                l.req
            )),
            None => Ok(()),
        }
    }
}

fn run_observed(
    policy: &Policy,
    events: &[Event],
    delay: Ms,
    obs: &mut dyn Observer,
) -> Result<Expected, String> {
    let mut d = Driver::new(policy, delay);
    for (i, ev) in events.iter().enumerate() {
        d.apply(i + 1, ev, obs)?;
    }
    d.finish(obs)?;
    Ok(Expected {
        final_state: FinalState::of(&d.ws),
        steps: d.steps,
        results: d.results,
        unexpected: d.unexpected,
    })
}

/// Runs a vector's events through the machine under the driver rules (module
/// docs) and returns what it did. An ill-formed log (time going backwards, a
/// probe for no live decision, a decision left needing a probe) is an error
/// naming the event (1-based).
pub fn run(policy: &Policy, events: &[Event], timer_delay_ms: Ms) -> Result<Expected, String> {
    run_observed(policy, events, timer_delay_ms, &mut NoObs)
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

const SEMANTICS: [&str; 8] = [
    "One workspace per vector; time (t_ms, milliseconds) never goes backwards.",
    "Live decisions form a list: a2a_failed appends one, a finished one is replaced by the last (swap-remove).",
    "Before an event at t is applied, every timer due by t fires: a decision waiting for instant `at` is due at at + timer_delay_ms; earliest due first, ties by list position, with now = its due instant. At the end of the log the remaining timers fire.",
    "heartbeat: last heartbeat = now, URL registered. restart_started: ObserveCycleStart(now), URL cleared. restart_finished: ObserveCycleEnd(now).",
    "restart_requested: Request(now, source); cycle_finished: CycleFinished(now); a cycle that starts through either (started, looped) clears the URL.",
    "workspace: runtime external|kimi|kimi-cli is external-like, anything else ordinary; provisioner true|false. Defaults: ordinary runtime, a provisioner.",
    "probe / timer: the input goes to the live decision of `req`; an input it cannot take is recorded as step=unexpected and changes nothing.",
    "steps: one record per input to a decision or the coordinator, in order; results: one per finished decision (as livecheck replay prints them); final: the shared state at the end.",
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

    fn ev(t: Ms, kind: EventKind, req: Option<&str>, result: Option<Answer>) -> Event {
        let mut e = Event::new(t, kind);
        e.req = req.map(str::to_owned);
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
            ev(9_000, EventKind::Probe, Some("r"), Some(Answer::Running)),
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
            ev(1, EventKind::Probe, Some("r"), Some(Answer::Running)),
        ];
        let e = run(&p, &events, 0).unwrap();
        assert!(e.unexpected);
        assert_eq!(e.steps[1].step.as_deref(), Some("unexpected"));
        assert_eq!(e.steps[1].awaiting.as_deref(), Some("probe"));
        assert_eq!(e.results.len(), 1);
    }

    #[test]
    fn ill_formed_logs_are_errors_naming_the_event() {
        let p = v2();
        let back = [
            ev(5, EventKind::Heartbeat, None, None),
            ev(4, EventKind::Heartbeat, None, None),
        ];
        assert!(run(&p, &back, 0).unwrap_err().contains("event 2"));
        let unknown = [ev(0, EventKind::Probe, Some("x"), Some(Answer::Running))];
        assert!(run(&p, &unknown, 0)
            .unwrap_err()
            .contains("no live decision"));
        let open = [ev(0, EventKind::A2aFailed, Some("r"), None)];
        assert!(run(&p, &open, 0)
            .unwrap_err()
            .contains("needs a probe answer"));
    }
}
