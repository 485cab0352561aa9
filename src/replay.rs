//! Replay: the one engine that feeds recorded events to the decision machine
//! and the restart coordinator. `livecheck replay` drives it with a JSON
//! Lines log (CONTRACT.md, "Replay log") and prints every finished decision;
//! the conformance vectors ([`crate::codegen::vectors`]) are built by driving
//! it and recording what it does.
//!
//! Streaming: the log is read line by line and a finished decision is handed
//! to the caller at once, so memory grows with the number of workspaces and
//! of decisions in flight, never with the length of the log.
//!
//! Time is per workspace: a line's `t_ms` must not go backwards for its
//! workspace; before a line is applied, the timers of that workspace's
//! decisions that are due by then fire at their own instants (a timer asked
//! for at `at` is due at `at` plus the replay's timer delay, 0 for
//! `livecheck replay`; the earliest due fires first, ties by position in the
//! workspace's list of live decisions, where a finished decision is replaced
//! by the last one); at the end of the log the remaining timers fire. A probe
//! a decision needs that the log does not hold, a probe line no decision is
//! waiting for, a malformed line or time going backwards is an
//! [`InputError`] naming the line.
//!
//! Nothing can run between two lock sections of one log line, so each is
//! run back to back: a decision's [`Step::Yield`] is resumed at once, and a
//! declaration's `RestartByID` runs right after it
//! ([`Workspace::restart_by_id_now`]).
//!
//! # Events beyond the contract's
//!
//! Besides the contract's events (`workspace`, `heartbeat`,
//! `restart_started`, `restart_finished`, `a2a_failed`, `probe`) a line may
//! carry:
//!
//! - `register` — the agent registers ([`Workspace::register`]). A
//!   `heartbeat` line while the row has no URL stands for the registration
//!   too (the agent registers before it heartbeats).
//! - `restart_requested` with `source` (`file_write`, `other` or
//!   `detector`) — `RestartByID` from outside the decision: a file write
//!   first passes the file-write drop, then the debounce check and the
//!   coalescing run back to back; a request that starts a cycle runs the
//!   drain loop's first top and marks the row `provisioning`.
//! - `cycle_finished` — the coordinator's running cycle returned: the top of
//!   its drain loop runs (a pending request loops: re-stamped, the row marked
//!   again), or else the loop's exit (`running` clears).
//! - `timer` with `req` — the timer input fed now to that request's
//!   decision, whether or not its instant has come (an early one gets the
//!   same wake back).
//!
//! A driver may also ask for inputs a decision cannot take (a `probe` line
//! while it sleeps, a `timer` while it probes) to be recorded instead of
//! refused ([`Replayer::recording_unexpected`]): they change nothing.
//!
//! # The container's truth (what-if replay)
//!
//! A `container` line (`{"t_ms": …, "ws": …, "event": "container", "state":
//! "running"|"not_running"|"crashed"}`) says what the container really was
//! from then on. Once a workspace has one, every probe its decisions ask for
//! is answered at once, at the probe's instant, from the last `container`
//! line applied (lines apply in log order, and the timers due by a line's
//! `t_ms` fire before it): `running` answers running, `not_running` and
//! `crashed` answer not-running. A workspace holds `probe` lines or
//! `container` lines, never both (an error naming the line). Such a log can
//! be replayed under any policy; [`what_if`] replays it under two and lists
//! every decision whose outcome or restart differs (`livecheck replay
//! --policy NEW --what-if-old OLD LOG`).
//!
//! Fields a logger adds to a line ([`LOGGER_FIELDS`]: `level`, `msg`,
//! `time`, …) are ignored on any line; any other unknown field is an error.

use crate::decision::{Awaiting, Decision, Input, ProbeResult, Step, UnexpectedInput, Verdict};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::Policy;
use crate::restart::{LoopTop, RestartOutcome, RestartSource};
use crate::workspace::{Facts, Workspace};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;

pub use crate::workspace::EXTERNAL_LIKE_RUNTIMES;

pub mod compare;
pub use compare::{what_if, what_if_file, Difference, Side, WhatIf};

/// What a log line says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Workspace facts (`runtime`, `provisioner`).
    Workspace,
    /// The platform started a restart cycle (observed).
    RestartStarted,
    /// The platform's restart cycle returned (observed); no loop follows.
    RestartFinished,
    /// The agent heartbeated (registering first if the row has no URL).
    Heartbeat,
    /// A request failed: a decision starts (`req`).
    A2aFailed,
    /// A probe answer (`req`, `result`).
    Probe,
    /// The agent registered (not in the contract's vocabulary).
    Register,
    /// `RestartByID` from `source` (not in the contract's vocabulary).
    RestartRequested,
    /// The coordinator's running cycle returned (not in the contract's
    /// vocabulary).
    CycleFinished,
    /// A timer input for `req`'s decision, fed now (not in the contract's
    /// vocabulary).
    Timer,
    /// What the container really was from now on (`state`): the
    /// workspace's probes are answered from it (CONTRACT.md, "Logs with the
    /// container's truth").
    Container,
}

/// What the container really was, as a `container` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Running (a probe answers running).
    Running,
    /// Not running: stopped, or booting and not yet reported running (a
    /// probe answers not-running).
    NotRunning,
    /// Crashed (a probe answers not-running).
    Crashed,
}

impl ContainerState {
    /// What a probe of a container in this state answers: `crashed` and
    /// `not_running` answer not-running.
    pub fn probe_answer(self) -> ProbeResult {
        match self {
            ContainerState::Running => ProbeResult::Running,
            ContainerState::NotRunning | ContainerState::Crashed => ProbeResult::NotRunning,
        }
    }
}

/// Fields a logger adds to a line (`level`, `msg`, a timestamp, …): a line
/// may carry them and they are ignored (CONTRACT.md, "Logs with the
/// container's truth"). Any other field the replay does not know is still an
/// error, so a misspelt field is not silently dropped. (A `source` that is
/// an object, the caller Go's slog writes with `AddSource`, is ignored too.)
pub const LOGGER_FIELDS: &[&str] = &[
    "level",
    "lvl",
    "severity",
    "msg",
    "message",
    "time",
    "ts",
    "timestamp",
    "@timestamp",
    "caller",
    "logger",
];

/// One line of a replay log, and one event of a conformance vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine<'a> {
    /// When, in milliseconds.
    pub t_ms: Ms,
    /// The workspace.
    #[serde(borrow)]
    pub ws: Cow<'a, str>,
    /// What happened.
    pub event: EventKind,
    /// The request (`a2a_failed`, `probe`, `timer`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub req: Option<Cow<'a, str>>,
    /// The probe answer (`probe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ProbeResult>,
    /// Who asks for the restart (`restart_requested`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RestartSource>,
    /// The runtime (`workspace`): `external`, `kimi`, `kimi-cli` are
    /// external-like, anything else ordinary.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Cow<'a, str>>,
    /// Whether a provisioner is configured (`workspace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioner: Option<bool>,
    /// What the container really was (`container`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ContainerState>,
}

impl<'a> LogLine<'a> {
    /// A line with only a time, a workspace and an event.
    pub fn new(t_ms: Ms, ws: impl Into<Cow<'a, str>>, event: EventKind) -> Self {
        LogLine {
            t_ms,
            ws: ws.into(),
            event,
            req: None,
            result: None,
            source: None,
            runtime: None,
            provisioner: None,
            state: None,
        }
    }

    /// The same line, owning its text.
    pub fn into_owned(self) -> LogLine<'static> {
        LogLine {
            t_ms: self.t_ms,
            ws: Cow::Owned(self.ws.into_owned()),
            event: self.event,
            req: self.req.map(|r| Cow::Owned(r.into_owned())),
            result: self.result,
            source: self.source,
            runtime: self.runtime.map(|r| Cow::Owned(r.into_owned())),
            provisioner: self.provisioner,
            state: self.state,
        }
    }
}

/// One finished decision, as printed by `livecheck replay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finished {
    /// When the decision ended.
    pub t_ms: Ms,
    /// Workspace id.
    pub ws: String,
    /// Request id.
    pub req: String,
    /// `dead`, `not_dead`, `queued` or `skipped`.
    pub outcome: String,
    /// Probes the decision made.
    pub probes: u8,
    /// `started` (the restart coordinator accepted the request: it started
    /// a cycle or coalesced into the running one), `dropped` (the debounce
    /// swallowed it) or `none`.
    pub restart: String,
    /// Why, in one word (`running`, `probe_error`, `strike_1`, `restarting`,
    /// `debounce`, …).
    pub reason: String,
}

impl Finished {
    fn new(t_ms: Ms, ws: &str, req: &str, decision: &Decision, end: End) -> Self {
        let (outcome, restart, reason) = describe(end.verdict, end.restart);
        Finished {
            t_ms,
            ws: ws.to_owned(),
            req: req.to_owned(),
            outcome: outcome.to_owned(),
            probes: decision.probes(),
            restart: restart.to_owned(),
            reason,
        }
    }
}

/// `(outcome, restart, reason)` words for a verdict and, for a declaration,
/// the fate of its restart request, as replay prints them.
pub fn describe(
    v: Verdict,
    restart: Option<RestartOutcome>,
) -> (&'static str, &'static str, String) {
    match v {
        Verdict::Skipped(r) => (v.outcome(), "none", r.to_string()),
        Verdict::NotDead(r) => (v.outcome(), "none", r.to_string()),
        Verdict::Queued => (v.outcome(), "none", "recent_heartbeat".into()),
        Verdict::Dead => match restart.unwrap_or(RestartOutcome::Started) {
            o @ (RestartOutcome::Started | RestartOutcome::Coalesced) => {
                (v.outcome(), "started", o.to_string())
            }
            RestartOutcome::Dropped(r) => (v.outcome(), "dropped", r.to_string()),
        },
    }
}

/// How a decision ended, with its restart request's fate when it declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// The verdict.
    pub verdict: Verdict,
    /// For [`Verdict::Dead`]: what the coordinator did with the restart
    /// request the declaration launched.
    pub restart: Option<RestartOutcome>,
}

/// Starts a decision at `now` the way a log driver does, outside a
/// [`Replayer`]; what follows its first step is as in [`advance`].
pub fn begin(policy: &Policy, ws: &mut Workspace, now: Ms) -> (Decision, Result<Step, End>) {
    let (mut decision, step) = Decision::start(policy, ws, now);
    let next = follow(policy, ws, &mut decision, now, step);
    // A started decision is never refused the resume its yield asks for.
    (decision, next.unwrap_or(Ok(step)))
}

/// Feeds `input` to `decision` the way a log driver does, outside a
/// [`Replayer`] (benchmarks and tests that drive one decision by hand): a
/// [`Step::Yield`] is resumed at once and a declaration's `RestartByID` runs
/// back to back ([`Workspace::restart_by_id_now`]). Returns the next step
/// that needs the driver (a probe or a wake) or how the decision ended.
pub fn advance(
    policy: &Policy,
    ws: &mut Workspace,
    decision: &mut Decision,
    now: Ms,
    input: Input,
) -> Result<Result<Step, End>, UnexpectedInput> {
    let step = decision.step(policy, ws, now, input)?;
    follow(policy, ws, decision, now, step)
}

/// What [`begin`] and [`advance`] do after a step.
fn follow(
    policy: &Policy,
    ws: &mut Workspace,
    decision: &mut Decision,
    now: Ms,
    mut step: Step,
) -> Result<Result<Step, End>, UnexpectedInput> {
    while step == Step::Yield {
        step = decision.step(policy, ws, now, Input::Resume)?;
    }
    Ok(match step {
        Step::Done(verdict) => Err(End {
            verdict,
            restart: (verdict == Verdict::Dead)
                .then(|| ws.restart_by_id_now(&policy.restart, now, RestartSource::Detector)),
        }),
        other => Ok(other),
    })
}

/// What a replay gave a decision: its start or one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// The request failed: the decision started ([`Decision::start`]).
    Start,
    /// One input to the running decision ([`Decision::step`]).
    Input {
        /// The input.
        input: Input,
        /// The decision before it.
        before: Decision,
    },
}

/// One step of a decision (its start or an input), shown to an [`Observer`].
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// The workspace.
    pub ws: &'a str,
    /// The request whose decision got the input.
    pub req: &'a str,
    /// The input's `now`.
    pub now: Ms,
    /// What was given: the start, or an input and the decision before it.
    pub input: Fed,
    /// The workspace's shared state before the input.
    pub ws_before: Workspace,
    /// What the decision answered (an error: the input was refused and
    /// changed nothing).
    pub result: Result<Step, UnexpectedInput>,
    /// The decision after the input.
    pub after: Decision,
    /// When the input finished the decision: what replay prints for it
    /// (after the declaration's restart request, if it declared).
    pub finished: Option<&'a Finished>,
}

/// A restart-coordinator call, shown to an [`Observer`].
#[derive(Debug, Clone, Copy)]
pub struct RestartCall<'a> {
    /// The workspace.
    pub ws: &'a str,
    /// The call's `now`.
    pub now: Ms,
    /// The request whose declaration made the call, if one did.
    pub req: Option<&'a str>,
    /// The workspace's shared state before the call.
    pub ws_before: Workspace,
    /// What was called and what came of it.
    pub call: CoordinatorCall,
}

/// What an observed coordinator call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorCall {
    /// `RestartByID` from `source` ([`restart_requested_now`]).
    Request {
        /// Who asked.
        source: RestartSource,
        /// What became of it.
        outcome: RestartOutcome,
    },
    /// The running cycle returned ([`cycle_finished_now`]); `looped` when a
    /// pending request ran another cycle.
    CycleFinished {
        /// Another cycle runs.
        looped: bool,
    },
}

/// Sees everything a [`Replayer`] does. Every method defaults to nothing.
pub trait Observer {
    /// An input fed to a decision.
    fn decision(&mut self, _input: &DecisionInput<'_>) {}
    /// A call to the restart coordinator (a `restart_requested` or
    /// `cycle_finished` line, or a declaration's restart request).
    fn restart(&mut self, _call: &RestartCall<'_>) {}
    /// A finished decision (what `livecheck replay` prints).
    fn finished(&mut self, _f: Finished) {}
}

/// An [`Observer`] that hands finished decisions to a closure.
struct Out<'a>(&'a mut dyn FnMut(Finished));

impl Observer for Out<'_> {
    fn finished(&mut self, f: Finished) {
        (self.0)(f)
    }
}

/// A `restart_requested` event's `RestartByID` at `now` from `source`, its
/// sections back to back: a file write's drop first, then
/// [`Workspace::restart_by_id_now`].
pub fn restart_requested_now(
    policy: &Policy,
    ws: &mut Workspace,
    now: Ms,
    source: RestartSource,
) -> RestartOutcome {
    if source == RestartSource::FileWrite {
        if let Err(reason) = ws.restart.file_write_gate(&policy.restart, now) {
            return RestartOutcome::Dropped(reason);
        }
    }
    ws.restart_by_id_now(&policy.restart, now, source)
}

/// A `cycle_finished` event at `now`: nothing when no cycle runs; else the
/// drain loop's top (a pending request runs another cycle, which marks the
/// row: true) or its exit (false).
pub fn cycle_finished_now(ws: &mut Workspace, now: Ms) -> bool {
    if !ws.restart.is_running() {
        return false;
    }
    match ws.loop_top(now) {
        LoopTop::Run => {
            ws.mark_provisioning();
            true
        }
        LoopTop::Done => {
            ws.restart.exit(now);
            false
        }
    }
}

/// A decision in flight.
#[derive(Debug, Clone)]
struct Live {
    req: String,
    decision: Decision,
    /// The line that started it.
    line: usize,
}

/// One workspace of a replay.
#[derive(Debug, Clone)]
struct WsState {
    ws: Workspace,
    last_t: Ms,
    live: Vec<Live>,
    /// The container's state from the last `container` line, if any.
    truth: Option<ContainerState>,
    /// The workspace's first `container` line.
    first_container: Option<usize>,
    /// The workspace's first `probe` line.
    first_probe: Option<usize>,
}

/// An error about one line: its number and the reason.
type LineError = (usize, String);

/// The engine's rules for one workspace.
struct Engine<'a> {
    policy: &'a Policy,
    delay: Ms,
    record_unexpected: bool,
    truth_only: bool,
    id: &'a str,
}

impl Engine<'_> {
    /// Starts the decision of request `req` at `now` (its request failed at
    /// line `line`) and reports it like [`Engine::feed`].
    fn start(
        &self,
        st: &mut WsState,
        req: &str,
        line: usize,
        now: Ms,
        obs: &mut dyn Observer,
    ) -> bool {
        let ws_before = st.ws;
        let (decision, step) = Decision::start(self.policy, &mut st.ws, now);
        st.live.push(Live {
            req: req.to_owned(),
            decision,
            line,
        });
        let idx = st.live.len() - 1;
        self.report(st, idx, now, Fed::Start, ws_before, Ok(step), obs)
    }

    /// Feeds `input` at `now` to the live decision at `idx`, reporting it;
    /// a [`Step::Yield`] is resumed at once and a declaration's restart
    /// request follows it. Returns false when the input was refused.
    fn feed(
        &self,
        st: &mut WsState,
        idx: usize,
        now: Ms,
        input: Input,
        obs: &mut dyn Observer,
    ) -> bool {
        let ws_before = st.ws;
        let live = &mut st.live[idx];
        let before = live.decision;
        let result = live.decision.step(self.policy, &mut st.ws, now, input);
        let fed = Fed::Input { input, before };
        self.report(st, idx, now, fed, ws_before, result, obs)
    }

    /// What follows a step of the live decision at `idx`: the observer is
    /// told; a finished decision is removed (a declaration's restart request
    /// runs first); a yield is resumed and a probe answered from the
    /// container's truth at once. Returns false when the input was refused.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        st: &mut WsState,
        idx: usize,
        now: Ms,
        fed: Fed,
        ws_before: Workspace,
        result: Result<Step, UnexpectedInput>,
        obs: &mut dyn Observer,
    ) -> bool {
        let after = st.live[idx].decision;
        let req = &st.live[idx].req;
        // A declaration launches `RestartByID` at once; what became of it
        // is part of what replay prints for the decision.
        let finished = match result {
            Ok(Step::Done(verdict)) => {
                let restart = (verdict == Verdict::Dead).then(|| {
                    let ws_before = st.ws;
                    let source = RestartSource::Detector;
                    let outcome = st.ws.restart_by_id_now(&self.policy.restart, now, source);
                    obs.restart(&RestartCall {
                        ws: self.id,
                        now,
                        req: Some(req),
                        ws_before,
                        call: CoordinatorCall::Request { source, outcome },
                    });
                    outcome
                });
                Some(Finished::new(
                    now,
                    self.id,
                    req,
                    &after,
                    End { verdict, restart },
                ))
            }
            _ => None,
        };
        obs.decision(&DecisionInput {
            ws: self.id,
            req,
            now,
            input: fed,
            ws_before,
            result,
            after,
            finished: finished.as_ref(),
        });
        if let Some(f) = finished {
            st.live.swap_remove(idx);
            obs.finished(f);
        }
        match result {
            Err(_) => false,
            Ok(Step::Yield) => self.feed(st, idx, now, Input::Resume, obs),
            // A workspace with the container's truth answers its probes
            // itself, at once, from the last `container` line.
            Ok(Step::Probe) => match st.truth {
                Some(state) => self.feed(st, idx, now, Input::Probe(state.probe_answer()), obs),
                None => true,
            },
            Ok(_) => true,
        }
    }

    /// In a replay that answers every probe from the container's truth: an
    /// error naming the line that started a decision waiting for a probe
    /// answer no `container` line can give yet.
    fn unanswered(&self, st: &WsState) -> Result<(), LineError> {
        if !self.truth_only || st.truth.is_some() {
            return Ok(());
        }
        match st.live.iter().find(|l| l.decision.awaiting() == Awaiting::Probe) {
            Some(l) => Err((
                l.line,
                format!(
                    "the decision for request {:?} of workspace {:?} probes the container at t_ms {}, but no container line for the workspace comes before it (a what-if replay answers every probe from the container's truth)",
                    l.req, self.id, st.last_t
                ),
            )),
            None => Ok(()),
        }
    }

    /// The earliest due timer `(due, index)`, only those due by `until`
    /// unless it is `None`.
    fn next_timer(&self, st: &WsState, until: Option<Ms>) -> Option<(Ms, usize)> {
        st.live
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

    /// Fires, in order, every timer due by `until` (`None`: all of them),
    /// each at its own instant.
    fn fire_timers(
        &self,
        st: &mut WsState,
        until: Option<Ms>,
        obs: &mut dyn Observer,
    ) -> Result<(), LineError> {
        while let Some((due, idx)) = self.next_timer(st, until) {
            let now = due.max(st.last_t);
            st.last_t = now;
            if !self.feed(st, idx, now, Input::Timer, obs) {
                // A decision awaiting a timer always takes one.
                return Err((st.live[idx].line, "a due timer was refused".into()));
            }
            self.unanswered(st)?;
        }
        Ok(())
    }

    /// The live decision of `req` (an error naming the line when there is
    /// none, or when it does not await `kind` and unexpected inputs are
    /// refused).
    fn target(
        &self,
        st: &WsState,
        req: &str,
        kind: &str,
        takes: impl Fn(Awaiting) -> bool,
    ) -> Result<usize, String> {
        let ws = self.id;
        let found = st.live.iter().position(|l| l.req == req);
        match found {
            Some(i) if self.record_unexpected || takes(st.live[i].decision.awaiting()) => Ok(i),
            _ => Err(format!(
                "{kind} for request {req:?} of workspace {ws:?}, but no decision is waiting for a {kind}"
            )),
        }
    }

    /// Applies one line (already checked to belong to this workspace and not
    /// to go back in time).
    fn apply(
        &self,
        st: &mut WsState,
        line_no: usize,
        line: &LogLine<'_>,
        obs: &mut dyn Observer,
    ) -> Result<(), LineError> {
        let at_line = |reason: String| (line_no, reason);
        let ev = line.event;
        let misplaced = |what: &str| at_line(format!("{what} only"));
        if line.result.is_some() && ev != EventKind::Probe {
            return Err(misplaced("\"result\" belongs on probe lines"));
        }
        if line.req.is_some()
            && !matches!(
                ev,
                EventKind::Probe | EventKind::A2aFailed | EventKind::Timer
            )
        {
            return Err(misplaced(
                "\"req\" belongs on a2a_failed, probe and timer lines",
            ));
        }
        if (line.runtime.is_some() || line.provisioner.is_some()) && ev != EventKind::Workspace {
            return Err(misplaced(
                "\"runtime\" and \"provisioner\" belong on workspace lines",
            ));
        }
        if line.source.is_some() && ev != EventKind::RestartRequested {
            return Err(misplaced("\"source\" belongs on restart_requested lines"));
        }
        if line.state.is_some() && ev != EventKind::Container {
            return Err(misplaced("\"state\" belongs on container lines"));
        }
        // Timers due by this line fire first, each at its own instant (so
        // `last_t` moves to the line's time only after them).
        self.fire_timers(st, Some(line.t_ms), obs)?;
        st.last_t = line.t_ms;
        let t = line.t_ms;
        let ws_id = self.id;
        let need_req = |what: &str| -> Result<&str, LineError> {
            line.req
                .as_deref()
                .ok_or_else(|| at_line(format!("a {what} line needs a \"req\" field")))
        };
        match ev {
            EventKind::Workspace => {
                if let Some(rt) = &line.runtime {
                    st.ws.facts.external_runtime = Facts::is_external_like(rt);
                }
                if let Some(p) = line.provisioner {
                    st.ws.facts.provisioner = p;
                }
            }
            EventKind::Register => st.ws.register(t),
            // A heartbeat line is a registered agent's: the first one after
            // the row lost its URL stands for the agent's registration.
            EventKind::Heartbeat if !st.ws.url_registered => st.ws.register(t),
            EventKind::Heartbeat => st.ws.heartbeat(t),
            EventKind::RestartStarted => st.ws.observe_restart_started(t),
            EventKind::RestartFinished => st.ws.observe_restart_finished(t),
            EventKind::RestartRequested => {
                let source = line.source.ok_or_else(|| {
                    at_line(
                        "a restart_requested line needs a \"source\": file_write, other or detector"
                            .into(),
                    )
                })?;
                let ws_before = st.ws;
                let outcome = restart_requested_now(self.policy, &mut st.ws, t, source);
                obs.restart(&RestartCall {
                    ws: ws_id,
                    now: t,
                    req: None,
                    ws_before,
                    call: CoordinatorCall::Request { source, outcome },
                });
            }
            EventKind::CycleFinished => {
                let ws_before = st.ws;
                let looped = cycle_finished_now(&mut st.ws, t);
                obs.restart(&RestartCall {
                    ws: ws_id,
                    now: t,
                    req: None,
                    ws_before,
                    call: CoordinatorCall::CycleFinished { looped },
                });
            }
            EventKind::A2aFailed => {
                let req = need_req("a2a_failed")?;
                if let Some(p) = st.live.iter().find(|p| p.req == req) {
                    return Err(at_line(format!(
                        "request {req:?} of workspace {ws_id:?} failed again while its decision from line {} is still running",
                        p.line
                    )));
                }
                self.start(st, req, line_no, t, obs);
                self.unanswered(st)?;
            }
            EventKind::Container => {
                let state = line.state.ok_or_else(|| {
                    at_line(
                        "a container line needs a \"state\": running, not_running or crashed"
                            .into(),
                    )
                })?;
                if let Some(p) = st.first_probe {
                    return Err(at_line(format!(
                        "workspace {ws_id:?} has both probe lines (the first at line {p}) and container lines: a workspace's probes are either recorded (probe lines) or answered from the container's truth (container lines), not both"
                    )));
                }
                if st.truth.is_none() {
                    if let Some(l) = st
                        .live
                        .iter()
                        .find(|l| l.decision.awaiting() == Awaiting::Probe)
                    {
                        return Err(at_line(format!(
                            "the decision for request {:?} (line {}) of workspace {ws_id:?} waits for a probe answer from before the workspace's first container line: put a container line before the request's failure",
                            l.req, l.line
                        )));
                    }
                }
                st.first_container.get_or_insert(line_no);
                st.truth = Some(state);
            }
            EventKind::Probe => {
                let req = need_req("probe")?;
                if let Some(c) = st.first_container {
                    return Err(at_line(format!(
                        "a probe line for workspace {ws_id:?}, which has container lines (the first at line {c}): a workspace's probes are either recorded (probe lines) or answered from the container's truth (container lines), not both"
                    )));
                }
                if self.truth_only {
                    return Err(at_line(format!(
                        "a probe line for workspace {ws_id:?}: a what-if replay answers every probe from the container's truth (container lines), since recorded answers fit only the policy that asked for them"
                    )));
                }
                st.first_probe.get_or_insert(line_no);
                let result = line.result.ok_or_else(|| {
                    at_line("a probe line needs a \"result\": running, not_running, error or error_not_running".into())
                })?;
                let idx = self
                    .target(st, req, "probe", |a| a == Awaiting::Probe)
                    .map_err(at_line)?;
                self.feed(st, idx, t, Input::Probe(result), obs);
            }
            EventKind::Timer => {
                let req = need_req("timer")?;
                let idx = self
                    .target(st, req, "timer", |a| matches!(a, Awaiting::Timer(_)))
                    .map_err(at_line)?;
                self.feed(st, idx, t, Input::Timer, obs);
                self.unanswered(st)?;
            }
        }
        Ok(())
    }

    /// End of log for this workspace: fires every remaining timer; a
    /// decision still needing a probe is an error naming the line that
    /// started it.
    fn finish(&self, st: &mut WsState, obs: &mut dyn Observer) -> Result<(), LineError> {
        self.fire_timers(st, None, obs)?;
        match st.live.first() {
            Some(p) => Err((
                p.line,
                format!(
                    "the decision for request {:?} of workspace {:?} needs a probe answer that the log does not hold (log ended)",
                    p.req, self.id
                ),
            )),
            None => Ok(()),
        }
    }
}

/// A streaming replay of one log against one policy.
#[derive(Debug, Clone)]
pub struct Replayer<'p> {
    policy: &'p Policy,
    file: String,
    delay: Ms,
    record_unexpected: bool,
    truth_only: bool,
    workspaces: HashMap<String, WsState>,
    /// Workspace ids in order of first appearance (deterministic end of log).
    order: Vec<String>,
}

impl<'p> Replayer<'p> {
    /// A replay of the log named `file` (used in errors) under `policy`, as
    /// `livecheck replay` runs it: timers fed at their instants, inputs no
    /// decision can take refused.
    pub fn new(policy: &'p Policy, file: &Path) -> Self {
        Replayer {
            policy,
            file: file.display().to_string(),
            delay: 0,
            record_unexpected: false,
            truth_only: false,
            workspaces: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Timers are fed `delay` milliseconds after their instant.
    pub fn with_timer_delay(mut self, delay: Ms) -> Self {
        self.delay = delay;
        self
    }

    /// A `probe` or `timer` line for a live decision that cannot take it is
    /// fed anyway: the decision refuses it, the observer sees the refusal,
    /// and nothing changes (instead of an error).
    pub fn recording_unexpected(mut self) -> Self {
        self.record_unexpected = true;
        self
    }

    /// Every probe must be answered from the container's truth: a `probe`
    /// line is an error, and so is a decision that probes a workspace before
    /// its first `container` line (what-if replay, [`what_if`]).
    pub fn truth_only(mut self) -> Self {
        self.truth_only = true;
        self
    }

    /// The policy replayed.
    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    fn err(&self, (line, reason): LineError) -> InputError {
        let mut e = InputError::new(reason).at_line(line);
        e.file = Some(self.file.clone());
        e
    }

    /// The engine's rules for workspace `id`.
    fn engine<'a>(&self, id: &'a str) -> Engine<'a>
    where
        'p: 'a,
    {
        Engine {
            policy: self.policy,
            delay: self.delay,
            record_unexpected: self.record_unexpected,
            truth_only: self.truth_only,
            id,
        }
    }

    fn parts<'s>(&'s mut self, id: &'s str) -> (Engine<'s>, &'s mut WsState) {
        if !self.workspaces.contains_key(id) {
            self.order.push(id.to_owned());
            self.workspaces.insert(
                id.to_owned(),
                WsState {
                    ws: Workspace::default(),
                    last_t: 0,
                    live: Vec::new(),
                    truth: None,
                    first_container: None,
                    first_probe: None,
                },
            );
        }
        let engine = self.engine(id);
        (engine, self.workspaces.get_mut(id).expect("inserted above"))
    }

    /// Applies one log line (1-based `line_no`); finished decisions go to `out`.
    pub fn feed(
        &mut self,
        line_no: usize,
        text: &str,
        out: &mut dyn FnMut(Finished),
    ) -> Result<(), InputError> {
        self.feed_observed(line_no, text, &mut Out(out))
    }

    /// [`Replayer::feed`], showing everything to `obs`.
    pub fn feed_observed(
        &mut self,
        line_no: usize,
        text: &str,
        obs: &mut dyn Observer,
    ) -> Result<(), InputError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        match serde_json::from_str::<LogLine<'_>>(text) {
            Ok(line) => self.apply(line_no, &line, obs),
            Err(e) => match without_logger_fields(text, &e) {
                Some(clean) => {
                    let line: LogLine<'_> = serde_json::from_str(&clean)
                        .map_err(|e| self.err((line_no, format!("malformed line: {e}"))))?;
                    self.apply(line_no, &line, obs)
                }
                None => Err(self.err((line_no, format!("malformed line: {e}")))),
            },
        }
    }

    /// Applies one parsed line (1-based `line_no`), showing everything to `obs`.
    pub fn apply(
        &mut self,
        line_no: usize,
        line: &LogLine<'_>,
        obs: &mut dyn Observer,
    ) -> Result<(), InputError> {
        let (engine, st) = self.parts(line.ws.as_ref());
        let result = if line.t_ms < st.last_t {
            Err((
                line_no,
                format!(
                    "time goes backwards for workspace {:?}: t_ms {} after {}",
                    engine.id, line.t_ms, st.last_t
                ),
            ))
        } else {
            engine.apply(st, line_no, line, obs)
        };
        result.map_err(|e| self.err(e))
    }

    /// Lets time pass for workspace `id` up to `t` without an event: every
    /// timer due by then fires (as it would before a line at `t`).
    pub fn advance_to(
        &mut self,
        id: &str,
        t: Ms,
        obs: &mut dyn Observer,
    ) -> Result<(), InputError> {
        let (engine, st) = self.parts(id);
        let result = engine.fire_timers(st, Some(t), obs);
        st.last_t = st.last_t.max(t);
        result.map_err(|e| self.err(e))
    }

    /// End of log: fires every remaining timer, in time order per workspace.
    /// A decision still needing a probe is an error naming the line that
    /// started it.
    pub fn finish(mut self, out: &mut dyn FnMut(Finished)) -> Result<(), InputError> {
        self.finish_observed(&mut Out(out))
    }

    /// [`Replayer::finish`], showing everything to `obs`; the replayer's
    /// state stays readable.
    pub fn finish_observed(&mut self, obs: &mut dyn Observer) -> Result<(), InputError> {
        for i in 0..self.order.len() {
            let id = self.order[i].clone();
            let (engine, st) = self.parts(&id);
            let result = engine.finish(st, obs);
            result.map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Workspace `id`'s shared state, if the log named it.
    pub fn workspace(&self, id: &str) -> Option<&Workspace> {
        self.workspaces.get(id).map(|s| &s.ws)
    }

    /// Workspace `id`'s clock: the time of its last line or fired timer.
    pub fn clock(&self, id: &str) -> Option<Ms> {
        self.workspaces.get(id).map(|s| s.last_t)
    }

    /// The live decisions of workspace `id`, in list order, with their
    /// request ids.
    pub fn live(&self, id: &str) -> impl Iterator<Item = (&str, &Decision)> {
        self.workspaces
            .get(id)
            .into_iter()
            .flat_map(|s| s.live.iter().map(|l| (l.req.as_str(), &l.decision)))
    }

    /// When workspace `id`'s next timer is due (its instant plus the timer
    /// delay), if any decision waits for one.
    pub fn next_timer(&self, id: &str) -> Option<Ms> {
        let st = self.workspaces.get(id)?;
        self.engine(id).next_timer(st, None).map(|(due, _)| due)
    }
}

/// The line without what a logger added to it, when `err` (from parsing
/// it) is about that: the [`LOGGER_FIELDS`], and a `source` that is an
/// object (Go's slog with `AddSource` writes the caller there), not one of
/// `restart_requested`'s words. `None` when the error is about something
/// else (it stands).
fn without_logger_fields(text: &str, err: &serde_json::Error) -> Option<String> {
    let msg = err.to_string();
    let about_logger = match msg.strip_prefix("unknown field `") {
        Some(rest) => LOGGER_FIELDS.contains(&rest.split('`').next()?),
        None => msg.starts_with("invalid type: map"),
    };
    if !about_logger {
        return None;
    }
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    let before = map.len();
    map.retain(|k, v| {
        !(LOGGER_FIELDS.contains(&k.as_str()) || (k.as_str() == "source" && v.is_object()))
    });
    (map.len() < before).then(|| serde_json::to_string(&map).ok())?
}

/// Replays `log` (named `file` in errors) under `policy`, writing one JSON
/// line per finished decision to `out`. Returns the number of lines read.
pub fn run(
    policy: &Policy,
    file: &Path,
    log: impl BufRead,
    out: &mut impl Write,
) -> Result<usize, InputError> {
    let mut replayer = Replayer::new(policy, file);
    let mut write_err: Option<std::io::Error> = None;
    let mut emit = |f: Finished| {
        if write_err.is_none() {
            if let Err(e) = serde_json::to_writer(&mut *out, &f).map_err(std::io::Error::from) {
                write_err = Some(e);
            } else if let Err(e) = out.write_all(b"\n") {
                write_err = Some(e);
            }
        }
    };
    let mut lines = 0;
    let mut log = log;
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = log.read_line(&mut buf).map_err(|e| {
            let mut err = InputError::new(format!("cannot read log: {e}")).at_line(lines + 1);
            err.file = Some(file.display().to_string());
            err
        })?;
        if n == 0 {
            break;
        }
        lines += 1;
        replayer.feed(lines, &buf, &mut emit)?;
    }
    replayer.finish(&mut emit)?;
    if let Some(e) = write_err {
        return Err(InputError::new(format!("cannot write output: {e}")));
    }
    out.flush()
        .map_err(|e| InputError::new(format!("cannot write output: {e}")))?;
    Ok(lines)
}
