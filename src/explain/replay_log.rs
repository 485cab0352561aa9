//! From model back to implementation: a timeline as a replay log
//! (CONTRACT.md, "Replay log") that `livecheck replay` with the same policy
//! turns back into the same decisions — the fatal one included.
//!
//! # Mapping
//!
//! Model time becomes absolute milliseconds from the timeline's `t_ms` (the
//! run starts at 0; the model's own clock is relative, and its restart
//! coordinator starts with no stamp, as a fresh replay workspace does). One
//! workspace, `w1`. Lines, in the timeline's order:
//!
//! | timeline line | log line |
//! |---|---|
//! | the run's initial heartbeat (the agent is up at 0) | `heartbeat` |
//! | `request_failed` | `a2a_failed` with the request's id (`r1`, …) |
//! | `probe_answered` | `probe` with the same id and the result |
//! | `heartbeat`, `agent_registered` | `heartbeat` |
//! | `restart_started` (config PUT or the detector's own restart) | `restart_started` |
//! | `restart_finished` | `restart_finished` |
//! | `restart_looped` | `restart_finished` then `restart_started` |
//!
//! Everything else (the decision's own timers, the container's truth) needs
//! no line: replay fires a decision's timers as the log's time passes them.
//! A restart the detector started is written too: replay's coordinator has
//! already started it when the decision declared, and observing the start
//! again at the same instant changes nothing.
//!
//! A decision still in flight when the run ends is left out (its request
//! and probe lines): until it finishes it has changed nothing the others
//! read, and replay would ask for a probe answer the run never gave.

use super::Explanation;
use crate::duration::Ms;
use crate::model::NOW;
use crate::trace::{Actor, Entry, What};
use serde::Serialize;
use std::collections::BTreeSet;

/// The workspace id the log uses.
pub const WS: &str = "w1";

/// One line of a replay log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Absolute time in milliseconds.
    pub t_ms: Ms,
    /// Workspace id ([`WS`]).
    pub ws: &'static str,
    /// `heartbeat`, `a2a_failed`, `probe`, `restart_started`, `restart_finished`.
    pub event: &'static str,
    /// The request (on `a2a_failed` and `probe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<String>,
    /// The probe's answer (on `probe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
}

/// A decision as the timeline says it ended, in replay's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// When it ended.
    pub t_ms: Ms,
    /// The request.
    pub req: String,
    /// `dead`, `not_dead`, `queued` or `skipped`.
    pub outcome: &'static str,
    /// `started`, `dropped` or `none`; `pending` for a declaration whose
    /// asynchronous restart request the run ended before checking (replay,
    /// which has no later events, reports what it would do at once).
    pub restart: &'static str,
    /// This is the declaration of death that breaks the property.
    pub fatal: bool,
}

/// The decisions the timeline shows ending, in order, as replay reports
/// them.
pub fn expected(entries: &[Entry]) -> Vec<Expected> {
    entries
        .iter()
        .filter(|e| e.actor == Actor::Proxy)
        .filter_map(|e| {
            let outcome = match e.action {
                What::DeclaredDead => "dead",
                What::NotDead => "not_dead",
                What::Queued => "queued",
                What::Skipped => "skipped",
                _ => return None,
            };
            let restart = match e.restart {
                Some("started" | "coalesced") => "started",
                Some(_) => "dropped",
                None if outcome == "dead" => "pending",
                None => "none",
            };
            Some(Expected {
                t_ms: e.t_ms,
                req: e.req_name()?,
                outcome,
                restart,
                fatal: outcome == "dead" && e.violation,
            })
        })
        .collect()
}

/// The log lines for `entries`, with the run's initial heartbeat `age_ms`
/// before time 0 (`None`: no heartbeat before the run). Times are shifted so
/// that the earliest line is at 0 or later.
pub fn lines(entries: &[Entry], initial_heartbeat_age: Option<Ms>) -> Vec<LogLine> {
    let finished: BTreeSet<u32> = expected_reqs(entries);
    let shift = initial_heartbeat_age.unwrap_or(0);
    let line = |t: Ms, event: &'static str| LogLine {
        t_ms: t + shift,
        ws: WS,
        event,
        req: None,
        result: None,
    };
    let mut out = Vec::new();
    if initial_heartbeat_age.is_some() {
        out.push(line(0, "heartbeat"));
        // `shift` moved the run so the heartbeat is at 0.
        out[0].t_ms = 0;
    }
    for e in entries {
        let t = e.t_ms;
        match e.action {
            What::RequestFailed | What::ProbeAnswered => {
                let Some(r) = e.req.filter(|r| finished.contains(r)) else {
                    continue;
                };
                let mut l = line(
                    t,
                    if e.action == What::RequestFailed {
                        "a2a_failed"
                    } else {
                        "probe"
                    },
                );
                l.req = Some(format!("r{r}"));
                l.result = e.result;
                out.push(l);
            }
            What::Heartbeat | What::AgentRegistered => out.push(line(t, "heartbeat")),
            What::RestartStarted => out.push(line(t, "restart_started")),
            What::RestartFinished => out.push(line(t, "restart_finished")),
            What::RestartLooped => {
                out.push(line(t, "restart_finished"));
                out.push(line(t, "restart_started"));
            }
            _ => {}
        }
    }
    out
}

fn expected_reqs(entries: &[Entry]) -> BTreeSet<u32> {
    entries
        .iter()
        .filter(|e| {
            e.actor == Actor::Proxy
                && matches!(
                    e.action,
                    What::DeclaredDead | What::NotDead | What::Queued | What::Skipped
                )
        })
        .filter_map(|e| e.req)
        .collect()
}

/// The age of the initial state's last heartbeat, if it has one.
pub fn initial_heartbeat_age(e: &Explanation) -> Option<Ms> {
    let trail = e.trail.as_ref()?;
    trail
        .init
        .ws
        .last_heartbeat
        .map(|hb| NOW.saturating_sub(hb))
}

/// JSON Lines text of `lines`.
pub fn to_jsonl(lines: &[LogLine]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&serde_json::to_string(l).unwrap_or_default());
        s.push('\n');
    }
    s
}

/// The explanation's run as a replay log (empty when no run is shown).
pub fn render(e: &Explanation) -> String {
    to_jsonl(&lines(e.entries(), initial_heartbeat_age(e)))
}
