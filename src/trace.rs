//! Counterexamples as timelines a person can follow: model time, who acted,
//! what happened, what the proxy knew, and what it decided. One renderer for
//! every output (`check` text and JSON, `explain`).

use crate::decision::{
    self, Decision, Input, NotDeadReason, ProbeResult, SkipReason, Step, Verdict,
};
use crate::duration::{Human, Ms};
use crate::model::search::Trail;
use crate::model::{Action, Answer, Truth, World, WorldState, MAX_SLOTS, NOW};
use crate::restart::{DropReason, RestartOutcome};
use serde::Serialize;
use std::fmt::Write as _;

/// What the proxy knew at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Knew {
    /// Time since `restartStartedAt`; none before the first restart or
    /// once older than every window it is compared with (`restart_old`).
    pub restart_age_ms: Option<Ms>,
    /// The last restart is older than every window it is compared with.
    pub restart_old: bool,
    /// Time since `last_heartbeat_at`; none before the first heartbeat or
    /// once it can no longer count as recent or fresh (`heartbeat_old`).
    pub heartbeat_age_ms: Option<Ms>,
    /// The last heartbeat is too old to count as recent or fresh.
    pub heartbeat_old: bool,
    /// Strikes in the record.
    pub strikes: u8,
    /// Inside the settle window (step 4 of the rule).
    pub settling: bool,
    /// The heartbeat is recent (step 5 of the rule).
    pub recent_heartbeat: bool,
    /// A restart cycle is in flight (`isRestarting`).
    pub restarting: bool,
    /// The policy has a settle window at all (V2); without one `settling`
    /// is always false and is shown as `-`.
    #[serde(skip)]
    pub has_settle_window: bool,
}

/// One line of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Model time since the run began.
    pub t_ms: Ms,
    /// Who acted: client, proxy, probe, container, agent, operator, restart coordinator.
    pub actor: &'static str,
    /// What happened, as a stable snake_case word.
    pub action: &'static str,
    /// What happened, in words.
    pub detail: String,
    /// The failed request this line is about (`r1`, `r2`, …), numbered in
    /// the order the requests failed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_req"
    )]
    pub req: Option<u32>,
    /// `probe_answered` lines: the answer in the replay log's words
    /// (`running`, `not_running`, `error`, `error_not_running`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// `declared_dead` lines: what became of the restart request
    /// (`started`, `coalesced`, `dropped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<&'static str>,
    /// What the proxy knew right after.
    pub knew: Knew,
    /// The truth about the container right after.
    pub container: &'static str,
    /// This is the line that breaks the property (see [`mark_violation`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub violation: bool,
    /// The model step (1-based index into [`Trail::steps`]) this line
    /// comes from.
    #[serde(skip)]
    pub step: usize,
}

impl Entry {
    /// The request name (`r1`) when the line is about one.
    pub fn req_name(&self) -> Option<String> {
        self.req.map(|r| format!("r{r}"))
    }
}

fn serialize_req<S: serde::Serializer>(req: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match req {
        Some(r) => s.serialize_str(&format!("r{r}")),
        None => s.serialize_none(),
    }
}

fn knew(world: &World, s: &WorldState) -> Knew {
    let p = &world.policy;
    let caps = world.caps();
    let window = p.decision.strikes.map_or(0, |w| w.window);
    let restart = s.ws.restart.started_at().map(|t| NOW.saturating_sub(t));
    let restart_old = restart.is_some_and(|a| a >= caps.restart_stamp);
    let heartbeat = s.ws.last_heartbeat.map(|t| NOW.saturating_sub(t));
    let heartbeat_old = heartbeat.is_some_and(|a| a >= caps.heartbeat);
    Knew {
        restart_age_ms: restart.filter(|_| !restart_old),
        restart_old,
        heartbeat_age_ms: heartbeat.filter(|_| !heartbeat_old),
        heartbeat_old,
        strikes: s
            .ws
            .strikes
            .filter(|r| NOW.saturating_sub(r.first) <= window)
            .map_or(0, |r| r.count),
        settling: decision::settling(p, &s.ws, NOW),
        recent_heartbeat: decision::recent_heartbeat(p, &s.ws, NOW),
        restarting: s.ws.restart.is_running(),
        has_settle_window: p.decision.settle.is_some(),
    }
}

fn truth_word(t: Truth) -> &'static str {
    match t {
        Truth::Up => "running",
        Truth::Crashed => "crashed",
        Truth::Cycling { .. } => "restart cycle",
        Truth::Pending { .. } => "booting, reports not-running",
        Truth::Starting { .. } => "booting, reports running",
    }
}

fn restart_words(r: RestartOutcome) -> &'static str {
    match r {
        RestartOutcome::Started => "restart started",
        RestartOutcome::Coalesced => "restart coalesced into the running cycle",
        RestartOutcome::Dropped(DropReason::Debounce) => "restart DROPPED by the 60 s debounce",
        RestartOutcome::Dropped(DropReason::FileWrite) => {
            "restart dropped by the file-write window"
        }
    }
}

fn probe_words(r: ProbeResult) -> &'static str {
    match r {
        ProbeResult::Running => "running",
        ProbeResult::NotRunning => "not running",
        ProbeResult::Error => "transport error (true, err)",
        ProbeResult::ErrorNotRunning => "error (false, err)",
    }
}

/// What a decision step means, in words.
fn step_words(step: Step, wake_from: Ms) -> (&'static str, String) {
    match step {
        Step::Probe => ("probe_requested", "asks IsRunning".into()),
        Step::Wake(at) => (
            "waits",
            format!("waits until +{}", Human(at.saturating_sub(wake_from))),
        ),
        Step::Done(v) => match v {
            Verdict::Skipped(r) => (
                "skipped",
                match r {
                    SkipReason::ExternalRuntime => "skipped: external runtime".into(),
                    SkipReason::NoProvisioner => "skipped: no provisioner".into(),
                    SkipReason::Restarting => "skipped: a restart is in flight".into(),
                },
            ),
            Verdict::NotDead(NotDeadReason::Running) => {
                ("not_dead", "not dead: running (strikes reset)".into())
            }
            Verdict::NotDead(NotDeadReason::ProbeError) => {
                ("not_dead", "not dead: probe error, assume alive".into())
            }
            Verdict::NotDead(NotDeadReason::Strike(n)) => {
                ("not_dead", format!("not dead: strike {n} recorded"))
            }
            Verdict::NotDead(NotDeadReason::Booting) => (
                "not_dead",
                "not dead: settling, the new agent has not heartbeated yet".into(),
            ),
            Verdict::Queued => ("queued", "not dead: request queued (202)".into()),
            Verdict::Dead(r) => (
                "declared_dead",
                format!("DECLARES DEAD: offline, URL cleared, {}", restart_words(r)),
            ),
        },
    }
}

/// Request numbers of the decisions in `next.slots`, following them from
/// `prev` (slots are kept sorted, so a decision may change slot). `before`
/// are the previous decisions as they would look after this step's aging.
fn follow(
    prev_ids: [Option<u32>; MAX_SLOTS],
    before: [Option<Decision>; MAX_SLOTS],
    next: &WorldState,
    acted: Option<usize>,
    fresh_id: u32,
) -> [Option<u32>; MAX_SLOTS] {
    let mut ids = [None; MAX_SLOTS];
    let mut used = [false; MAX_SLOTS];
    // Decisions not acted upon are unchanged: match them by value.
    for (i, d) in before.iter().enumerate() {
        if Some(i) == acted || d.is_none() {
            continue;
        }
        if let Some(j) = (0..MAX_SLOTS).find(|&j| !used[j] && next.slots[j] == *d) {
            used[j] = true;
            ids[j] = prev_ids[i];
        }
    }
    // The acted-upon decision, if still running, is the remaining one.
    if let Some(a) = acted {
        if let Some(j) = (0..MAX_SLOTS).find(|&j| !used[j] && next.slots[j].is_some()) {
            ids[j] = prev_ids[a].or(Some(fresh_id));
        }
    }
    ids
}

/// One model step of a walk: when it happened, which request each decision
/// slot held after it, and which timeline lines it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInfo {
    /// Model time of the step since the run began.
    pub t_ms: Ms,
    /// The request number held by each decision slot after the step.
    pub reqs: [Option<u32>; MAX_SLOTS],
    /// The lines of [`Walk::entries`] this step produced (may be empty: a
    /// tick that is not the last step shows no line).
    pub entries: std::ops::Range<usize>,
}

/// A trail walked for people: the timeline lines and, per model step, the
/// time and request numbers (used by the ITF, HTML and replay renderers).
#[derive(Debug, Clone)]
pub struct Walk {
    /// Every line, in order.
    pub entries: Vec<Entry>,
    /// One per [`Trail::steps`] element, in order.
    pub steps: Vec<StepInfo>,
}

/// The probe result the model's `answer` gives in state `s`.
pub fn probe_result(s: &WorldState, answer: Answer) -> ProbeResult {
    match answer {
        Answer::Truthful if s.truth.reports_running() => ProbeResult::Running,
        Answer::Truthful => ProbeResult::NotRunning,
        Answer::Spurious => ProbeResult::NotRunning,
        Answer::TransportError => ProbeResult::Error,
    }
}

/// The replay log's word for a probe result.
pub fn probe_word(r: ProbeResult) -> &'static str {
    match r {
        ProbeResult::Running => "running",
        ProbeResult::NotRunning => "not_running",
        ProbeResult::Error => "error",
        ProbeResult::ErrorNotRunning => "error_not_running",
    }
}

fn restart_word(r: RestartOutcome) -> &'static str {
    match r {
        RestartOutcome::Started => "started",
        RestartOutcome::Coalesced => "coalesced",
        RestartOutcome::Dropped(_) => "dropped",
    }
}

/// Walks `trail`: the timeline lines (none marked as a violation) and what
/// each model step was.
pub fn walk(world: &World, trail: &Trail) -> Walk {
    let mut out: Vec<Entry> = Vec::new();
    let mut steps = Vec::with_capacity(trail.steps.len());
    let mut t: Ms = 0;
    let mut prev = &trail.init;
    let mut ids: [Option<u32>; MAX_SLOTS] = [None; MAX_SLOTS];
    let mut next_id = 1u32;
    for (i, (action, next)) in trail.steps.iter().enumerate() {
        let last = i + 1 == trail.steps.len();
        let first_line = out.len();
        if *action == Action::Tick {
            t += world.tick_len(prev);
        }
        // Events show what the proxy knew when they happened; the proxy's
        // own lines show what it knew after acting.
        let k_before = knew(world, prev);
        let k_after = knew(world, next);
        let container = truth_word(next.truth);
        let at = t;
        let step_no = i + 1;
        let line = |actor: &'static str, action: &'static str, detail: String| {
            let after = matches!(actor, "proxy" | "restart coordinator" | "clock");
            Entry {
                t_ms: at,
                actor,
                action,
                detail,
                req: None,
                result: None,
                restart: None,
                knew: if after { k_after } else { k_before },
                // The probe and the client saw the container as it was; other
                // events show what they made of it.
                container: if matches!(actor, "probe" | "client") {
                    truth_word(prev.truth)
                } else {
                    container
                },
                violation: false,
                step: step_no,
            }
        };
        let mut acted = None;
        match *action {
            Action::Tick => {
                if last {
                    out.push(line("clock", "time_passes", "time passes".into()));
                }
            }
            Action::RequestFails(slot) | Action::Probe(slot, _) | Action::Timer(slot) => {
                let slot = usize::from(slot);
                acted = Some(slot);
                let (input, req) = match *action {
                    Action::RequestFails(_) => (Input::Start, next_id),
                    Action::Probe(_, a) => {
                        (Input::Probe(probe_result(prev, a)), ids[slot].unwrap_or(0))
                    }
                    _ => (Input::Timer, ids[slot].unwrap_or(0)),
                };
                match input {
                    Input::Start => out.push(Entry {
                        req: Some(req),
                        ..line(
                            "client",
                            "request_failed",
                            format!("request r{req} fails; the proxy asks: is the container dead?"),
                        )
                    }),
                    Input::Probe(r) => {
                        let how = match *action {
                            Action::Probe(_, Answer::Spurious) => " (spurious: it is running)",
                            _ => "",
                        };
                        out.push(Entry {
                            req: Some(req),
                            result: Some(probe_word(r)),
                            ..line(
                                "probe",
                                "probe_answered",
                                format!("IsRunning for r{req} → {}{how}", probe_words(r)),
                            )
                        });
                    }
                    Input::Timer => out.push(Entry {
                        req: Some(req),
                        ..line("proxy", "timer_fired", format!("r{req}: timer fires"))
                    }),
                }
                // Re-run the step on the previous state to learn what the
                // decision did (the model keeps no verdicts).
                let mut d = prev
                    .slots
                    .get(slot)
                    .copied()
                    .flatten()
                    .unwrap_or_else(Decision::new);
                let mut ws = prev.ws;
                if let Ok(step) = d.step(&world.policy, &mut ws, NOW, input) {
                    let (word, text) = step_words(step, NOW);
                    let restart = match step {
                        Step::Done(Verdict::Dead(r)) => Some(restart_word(r)),
                        _ => None,
                    };
                    out.push(Entry {
                        req: Some(req),
                        restart,
                        ..line("proxy", word, format!("r{req}: {text}"))
                    });
                    if let Step::Done(Verdict::Dead(RestartOutcome::Started)) = step {
                        out.push(line(
                            "restart coordinator",
                            "restart_started",
                            "RestartByID: cycle starts (container stopped, URL cleared)".into(),
                        ));
                    }
                }
                if matches!(*action, Action::RequestFails(_)) {
                    next_id += 1;
                }
            }
            Action::Heartbeat => out.push(line("agent", "heartbeat", "heartbeat".into())),
            Action::CycleReturns => {
                if matches!(next.truth, Truth::Cycling { .. }) {
                    out.push(line(
                        "restart coordinator",
                        "restart_looped",
                        "cycle returns; a pending request makes it loop: new cycle, re-stamped"
                            .into(),
                    ))
                } else {
                    out.push(line(
                        "restart coordinator",
                        "restart_finished",
                        "cycle returns (running=false); the new container reports not-running"
                            .into(),
                    ))
                }
            }
            Action::ReportsRunning => out.push(line(
                "container",
                "reports_running",
                "the new container/instance reports running; the agent boots".into(),
            )),
            Action::AgentRegisters => out.push(line(
                "agent",
                "agent_registered",
                "the new agent registers: URL set, first heartbeat".into(),
            )),
            Action::Crash => out.push(line(
                "container",
                "container_crashed",
                "the container crashes".into(),
            )),
            Action::ConfigPut => {
                let started = matches!(next.truth, Truth::Cycling { elapsed: 0 })
                    && !matches!(prev.truth, Truth::Cycling { elapsed: 0 });
                out.push(line(
                    "operator",
                    "config_put",
                    if started {
                        "config PUT → RestartByID: restart started".into()
                    } else {
                        "config PUT → RestartByID: dropped or coalesced".into()
                    },
                ));
                if started {
                    out.push(line(
                        "restart coordinator",
                        "restart_started",
                        "cycle starts (container stopped, URL cleared)".into(),
                    ));
                }
            }
        }
        let mut before = prev.slots;
        if *action == Action::Tick {
            let dt = world.tick_len(prev);
            for d in before.iter_mut().flatten() {
                d.age(NOW, dt, world.caps().restart_stamp);
            }
        }
        let fresh = next_id - u32::from(matches!(action, Action::RequestFails(_)));
        ids = follow(ids, before, next, acted, fresh);
        steps.push(StepInfo {
            t_ms: t,
            reqs: ids,
            entries: first_line..out.len(),
        });
        prev = next;
    }
    Walk {
        entries: out,
        steps,
    }
}

/// Marks the line that breaks the property: the proxy's declaration of
/// death if the run's last step made one (its probe answer and the restart
/// it started are lines of the same step), else the run's last line.
pub fn mark_violation(walk: &mut Walk) {
    let Some(last) = walk.steps.last() else {
        return;
    };
    let range = last.entries.clone();
    let idx = range
        .clone()
        .rev()
        .find(|&i| walk.entries[i].action == "declared_dead")
        .or_else(|| walk.entries.len().checked_sub(1));
    if let Some(i) = idx {
        walk.entries[i].violation = true;
    }
}

/// The timeline of `trail`; the line that breaks the property is marked
/// (see [`mark_violation`]) when `violation` is true.
pub fn timeline(world: &World, trail: &Trail, violation: bool) -> Vec<Entry> {
    let mut w = walk(world, trail);
    if violation {
        mark_violation(&mut w);
    }
    w.entries
}

/// Formats an age for a person: `-` when there is none, `old` beyond
/// every window it is compared with.
fn age(v: Option<Ms>, old: bool) -> String {
    if old {
        "old".into()
    } else {
        v.map_or_else(|| "-".into(), |v| Human(v).to_string())
    }
}

/// Header of the knowledge column.
const HEADER_KNEW: &str =
    "proxy knew (restart age, heartbeat age, strikes, settle window) · container";

/// A timeline as a table a person reads top to bottom, the line that breaks
/// the property marked `✗`; `colour` adds ANSI colour (red violation line,
/// dim knowledge column).
pub fn render_text(entries: &[Entry], why: Option<&str>, colour: bool) -> String {
    let mut s = String::new();
    let (red, dim, reset) = if colour {
        ("\x1b[31;1m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    // The "what" column is as wide as its longest line (within reason), so
    // the knowledge column lines up.
    let what = entries
        .iter()
        .map(|e| e.detail.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(40, 90);
    let _ = writeln!(
        s,
        "     {:>7}  {:<19}  {:<what$}  {}",
        "t", "who", "what", HEADER_KNEW
    );
    for e in entries {
        let k = &e.knew;
        let mark = if e.violation { "  ✗ " } else { "    " };
        let line = format!(
            "{mark} {:>7}  {:<19}  {:<what$}  {dim}restart {}, hb {}, strikes {}, settle {}{} · {}{reset}",
            Human(e.t_ms).to_string(),
            e.actor,
            e.detail,
            age(k.restart_age_ms, k.restart_old),
            age(k.heartbeat_age_ms, k.heartbeat_old),
            k.strikes,
            match (k.has_settle_window, k.settling) {
                (false, _) => "-",
                (true, true) => "open",
                (true, false) => "closed",
            },
            if k.restarting { ", restarting" } else { "" },
            e.container,
        );
        if e.violation {
            let _ = writeln!(s, "{red}{line}{reset}");
        } else {
            let _ = writeln!(s, "{line}");
        }
    }
    if let Some(why) = why {
        let _ = writeln!(s, "     why: {why}.");
    }
    s
}
