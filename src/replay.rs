//! Replay: feeds a recorded JSON Lines log (CONTRACT.md, "Replay log") to the
//! decision machine and reports every finished decision.
//!
//! Streaming: the log is read line by line and a finished decision is handed
//! to the caller at once, so memory grows with the number of workspaces and
//! of decisions in flight, never with the length of the log.
//!
//! Time is per workspace: a line's `t_ms` must not go backwards for its
//! workspace; before a line is applied, the timers of that workspace's
//! decisions that are due by then fire at their own instants; at the end of
//! the log the remaining timers fire. A probe a decision needs that the log
//! does not hold, a probe line no decision is waiting for, a malformed line
//! or time going backwards is an [`InputError`] naming the line.

use crate::decision::{Awaiting, Decision, Input, NotDeadReason, ProbeResult, SkipReason, Step, Verdict};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::Policy;
use crate::restart::{DropReason, RestartOutcome, RestartSource};
use crate::workspace::{Facts, Workspace};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;

/// Runtimes that are never probed (`isExternalLikeRuntime`).
pub const EXTERNAL_LIKE_RUNTIMES: [&str; 3] = ["external", "kimi", "kimi-cli"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    t_ms: u64,
    #[serde(borrow)]
    ws: std::borrow::Cow<'a, str>,
    event: Event,
    #[serde(borrow, default)]
    req: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    result: Option<ProbeText>,
    #[serde(borrow, default)]
    runtime: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    provisioner: Option<bool>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Event {
    Workspace,
    RestartStarted,
    RestartFinished,
    Heartbeat,
    A2aFailed,
    Probe,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ProbeText {
    Running,
    NotRunning,
    Error,
    ErrorNotRunning,
}

impl From<ProbeText> for ProbeResult {
    fn from(p: ProbeText) -> Self {
        match p {
            ProbeText::Running => ProbeResult::Running,
            ProbeText::NotRunning => ProbeResult::NotRunning,
            ProbeText::Error => ProbeResult::Error,
            ProbeText::ErrorNotRunning => ProbeResult::ErrorNotRunning,
        }
    }
}

/// One finished decision, as printed by `livecheck replay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    fn new(t_ms: Ms, ws: &str, req: String, decision: &Decision, end: End) -> Self {
        let (outcome, restart, reason) = describe(end.verdict, end.restart);
        Finished {
            t_ms,
            ws: ws.to_owned(),
            req,
            outcome: outcome.to_owned(),
            probes: decision.probes(),
            restart: restart.to_owned(),
            reason,
        }
    }
}

/// `(outcome, restart, reason)` words for a verdict and, for a declaration,
/// the fate of its restart request, as replay prints them.
pub fn describe(v: Verdict, restart: Option<RestartOutcome>) -> (&'static str, &'static str, String) {
    match v {
        Verdict::Skipped(r) => (
            "skipped",
            "none",
            match r {
                SkipReason::ExternalRuntime => "external_runtime",
                SkipReason::NoProvisioner => "no_provisioner",
                SkipReason::Restarting => "restarting",
                SkipReason::RestartRecheck => "restart_recheck",
            }
            .to_owned(),
        ),
        Verdict::NotDead(NotDeadReason::Running) => ("not_dead", "none", "running".into()),
        Verdict::NotDead(NotDeadReason::ProbeError) => ("not_dead", "none", "probe_error".into()),
        Verdict::NotDead(NotDeadReason::Strike(n)) => ("not_dead", "none", format!("strike_{n}")),
        Verdict::NotDead(NotDeadReason::Booting) => ("not_dead", "none", "booting".into()),
        Verdict::Queued => ("queued", "none", "recent_heartbeat".into()),
        Verdict::Dead => match restart {
            Some(RestartOutcome::Started) | None => ("dead", "started", "started".into()),
            Some(RestartOutcome::Coalesced) => ("dead", "started", "coalesced".into()),
            Some(RestartOutcome::Dropped(DropReason::Debounce)) => {
                ("dead", "dropped", "debounce".into())
            }
            Some(RestartOutcome::Dropped(DropReason::FileWrite)) => {
                ("dead", "dropped", "file_write".into())
            }
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

/// Feeds `input` to `decision` the way a driver in which nothing can run
/// between two lock sections does: a [`Step::Yield`] is resumed at once, and
/// a declaration's `RestartByID` runs its sections back to back at `now`
/// ([`Workspace::restart_by_id_now`]). Returns the next step that needs the
/// driver (a probe or a wake) or how the decision ended.
pub fn advance(
    policy: &Policy,
    ws: &mut Workspace,
    decision: &mut Decision,
    now: Ms,
    input: Input,
) -> Result<Result<Step, End>, crate::decision::UnexpectedInput> {
    let mut step = decision.step(policy, ws, now, input)?;
    while step == Step::Yield {
        step = decision.step(policy, ws, now, Input::Resume)?;
    }
    Ok(match step {
        Step::Done(verdict) => Err(End {
            verdict,
            restart: (verdict == Verdict::Dead).then(|| {
                ws.restart_by_id_now(&policy.restart, now, RestartSource::Detector)
            }),
        }),
        other => Ok(other),
    })
}

struct Pending {
    req: String,
    decision: Decision,
    line: usize,
}

struct WsState {
    ws: Workspace,
    last_t: Ms,
    pending: Vec<Pending>,
}

/// A streaming replay of one log against one policy.
pub struct Replayer<'p> {
    policy: &'p Policy,
    file: String,
    workspaces: HashMap<String, WsState>,
    /// Workspace ids in order of first appearance (deterministic end of log).
    order: Vec<String>,
}

impl<'p> Replayer<'p> {
    /// A replay of the log named `file` (used in errors) under `policy`.
    pub fn new(policy: &'p Policy, file: &Path) -> Self {
        Replayer {
            policy,
            file: file.display().to_string(),
            workspaces: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn err(&self, line: usize, reason: impl Into<String>) -> InputError {
        let mut e = InputError::new(reason).at_line(line);
        e.file = Some(self.file.clone());
        e
    }

    /// Applies one log line (1-based `line_no`); finished decisions go to `out`.
    pub fn feed(
        &mut self,
        line_no: usize,
        text: &str,
        out: &mut dyn FnMut(Finished),
    ) -> Result<(), InputError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let line: Line<'_> = serde_json::from_str(text)
            .map_err(|e| self.err(line_no, format!("malformed line: {e}")))?;
        let policy = self.policy;
        if !self.workspaces.contains_key(line.ws.as_ref()) {
            self.order.push(line.ws.to_string());
            self.workspaces.insert(
                line.ws.to_string(),
                WsState {
                    ws: Workspace::new(Facts::default()),
                    last_t: 0,
                    pending: Vec::new(),
                },
            );
        }
        let file = &self.file;
        let err = |reason: String| {
            let mut e = InputError::new(reason).at_line(line_no);
            e.file = Some(file.clone());
            e
        };
        let ws_id: &str = line.ws.as_ref();
        let state = self.workspaces.get_mut(ws_id).expect("inserted above");
        if line.t_ms < state.last_t {
            return Err(err(format!(
                "time goes backwards for workspace {ws_id:?}: t_ms {} after {}",
                line.t_ms, state.last_t
            )));
        }
        let ev = line.event;
        if line.result.is_some() && ev != Event::Probe {
            return Err(err("\"result\" belongs on probe lines only".into()));
        }
        if line.req.is_some() && !matches!(ev, Event::Probe | Event::A2aFailed) {
            return Err(err(
                "\"req\" belongs on a2a_failed and probe lines only".into()
            ));
        }
        if (line.runtime.is_some() || line.provisioner.is_some()) && ev != Event::Workspace {
            return Err(err(
                "\"runtime\" and \"provisioner\" belong on workspace lines only".into(),
            ));
        }
        // Timers due by this line fire first, each at its own instant (so
        // `last_t` moves to the line's time only after them).
        fire_timers(policy, ws_id, state, Some(line.t_ms), out)
            .map_err(|(l, r)| err_at(file, l, r))?;
        state.last_t = line.t_ms;
        let t = line.t_ms;
        let need_req = |what: &str| -> Result<String, InputError> {
            line.req
                .as_deref()
                .map(str::to_owned)
                .ok_or_else(|| err(format!("a {what} line needs a \"req\" field")))
        };
        match line.event {
            Event::Workspace => {
                if let Some(rt) = &line.runtime {
                    state.ws.facts.external_runtime = EXTERNAL_LIKE_RUNTIMES.contains(&rt.as_ref());
                }
                if let Some(p) = line.provisioner {
                    state.ws.facts.provisioner = p;
                }
            }
            // A heartbeat line is a registered agent's: the first one after
            // the row lost its URL stands for the agent's registration.
            Event::Heartbeat if !state.ws.url_registered => state.ws.register(t),
            Event::Heartbeat => state.ws.heartbeat(t),
            Event::RestartStarted => {
                state.ws.observe_restart_started(t);
            }
            Event::RestartFinished => state.ws.restart.observe_cycle_end(t),
            Event::A2aFailed => {
                let req = need_req("a2a_failed")?;
                if let Some(p) = state.pending.iter().find(|p| p.req == req) {
                    return Err(err(format!(
                        "request {req:?} of workspace {ws_id:?} failed again while its decision from line {} is still running",
                        p.line
                    )));
                }
                let mut decision = Decision::new();
                match advance(policy, &mut state.ws, &mut decision, t, Input::Start)
                    .map_err(|e| err(e.to_string()))?
                {
                    Err(end) => out(Finished::new(t, ws_id, req, &decision, end)),
                    Ok(_) => state.pending.push(Pending {
                        req,
                        decision,
                        line: line_no,
                    }),
                }
            }
            Event::Probe => {
                let req = line
                    .req
                    .as_deref()
                    .ok_or_else(|| err("a probe line needs a \"req\" field".into()))?;
                let result = line.result.ok_or_else(|| {
                    err("a probe line needs a \"result\": running, not_running, error or error_not_running".into())
                })?;
                let idx = state
                    .pending
                    .iter()
                    .position(|p| p.req == req && p.decision.awaiting() == Awaiting::Probe)
                    .ok_or_else(|| {
                        err(format!(
                            "probe for request {req:?} of workspace {ws_id:?}, but no decision is waiting for a probe"
                        ))
                    })?;
                let p = &mut state.pending[idx];
                let step = advance(
                    policy,
                    &mut state.ws,
                    &mut p.decision,
                    t,
                    Input::Probe(result.into()),
                )
                .map_err(|e| err(e.to_string()))?;
                if let Err(end) = step {
                    let p = state.pending.swap_remove(idx);
                    out(Finished::new(t, ws_id, p.req, &p.decision, end));
                }
            }
        }
        Ok(())
    }

    /// End of log: fires every remaining timer, in time order per workspace.
    /// A decision still needing a probe is an error naming the line that
    /// started it.
    pub fn finish(mut self, out: &mut dyn FnMut(Finished)) -> Result<(), InputError> {
        let policy = self.policy;
        for id in &self.order {
            let state = self.workspaces.get_mut(id).expect("listed");
            fire_timers(policy, id, state, None, out).map_err(|(l, r)| err_at(&self.file, l, r))?;
            if let Some(p) = state.pending.first() {
                return Err(err_at(
                    &self.file,
                    p.line,
                    format!(
                        "the decision for request {:?} of workspace {id:?} needs a probe answer that the log does not hold (log ended)",
                        p.req
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn err_at(file: &str, line: usize, reason: String) -> InputError {
    let mut e = InputError::new(reason).at_line(line);
    e.file = Some(file.to_owned());
    e
}

/// Fires, in order, every timer of `state`'s decisions due by `until`
/// (`None`: all of them). Errors carry the line that started the decision.
fn fire_timers(
    policy: &Policy,
    ws_id: &str,
    state: &mut WsState,
    until: Option<Ms>,
    out: &mut dyn FnMut(Finished),
) -> Result<(), (usize, String)> {
    loop {
        let due = state
            .pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p.decision.awaiting() {
                Awaiting::Timer(at) if until.is_none_or(|u| at <= u) => Some((at, i)),
                _ => None,
            })
            .min();
        let Some((at, idx)) = due else { return Ok(()) };
        let at = at.max(state.last_t);
        state.last_t = at;
        let p = &mut state.pending[idx];
        let step = advance(policy, &mut state.ws, &mut p.decision, at, Input::Timer)
            .map_err(|e| (p.line, e.to_string()))?;
        if let Err(end) = step {
            let p = state.pending.swap_remove(idx);
            out(Finished::new(at, ws_id, p.req, &p.decision, end));
        }
    }
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
            err_at(
                &file.display().to_string(),
                lines + 1,
                format!("cannot read log: {e}"),
            )
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
