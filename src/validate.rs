//! Trace validation: is a recorded run a behaviour the model allows?
//!
//! `livecheck validate-trace --policy P --env ENV LOG` reads a replay log
//! (the proxy's probe log, `events.jsonl`, or a log `livecheck explain
//! --format replay` wrote) and searches whether the world model
//! ([`crate::model::World`] for `P` × `ENV`) can take the same steps: a
//! simulation check. It keeps the set of every model state consistent with
//! the lines read so far (a frontier); for each line it lets the model take
//! any number of *silent* steps (steps no log line records), then the step
//! the line records. A line no state of the frontier can take is a **gap**:
//! the first step of the real run the model could not take, reported with
//! the steps the model could have taken there and the lines before it.
//!
//! # Lines and model steps
//!
//! | log line | model step ([`Action`]) |
//! |---|---|
//! | the first `register` or `heartbeat` | the initial state (the agent has just registered); its `t_ms` is time 0 |
//! | `a2a_failed` (`req`) | [`Action::Request`]: a slot's decision starts; the slot is labelled with `req` |
//! | `probe` (`req`, `result`) | [`Action::Probe`] of `req`'s slot, with an answer whose result is `result` (truthful, spurious or a transport error, within the environment's budgets) |
//! | `timer` (`req`) | [`Action::Timer`] of `req`'s slot |
//! | `heartbeat` | [`Action::Heartbeat`], or [`Action::Register`] of a booting agent; when the model does not track heartbeats (the policy does not read them), the agent must be up |
//! | `register` | [`Action::Register`] |
//! | `restart_requested` with `source: file_write` | [`Action::ConfigPut`] |
//! | `cycle_finished`, `restart_finished` | [`Action::JobStep`] ending a coordinator's provision |
//! | `restart_started` | [`Action::ConfigPut`], or nothing when the coordinator already runs a restart (a declaration's own) |
//! | `workspace` with default facts | nothing |
//! | `container` (`state`, the truth log's) | nothing; the container's truth must read so (`running`, `not_running`, `crashed`) |
//!
//! Silent steps: time passing ([`Action::Tick`]), a decision's own timers
//! and lock sections, `RestartByID`'s sections, the drain loop, the restart
//! job's other phases, a crash and Docker restarting it, a pending instance
//! starting to report running. The model's actors the proxy does not run
//! (health sweep, reconciler, TTL monitor, manual restarts, URL-cache
//! expiry, the preflight) are never taken silently: an environment that
//! switches them on may leave the frontier stuck behind them.
//!
//! # Time
//!
//! Model time advances by ticks on the environment's grid; real times are
//! not on it. A line at real time `r` (milliseconds since the first
//! registration) may be taken by a model state at model time `m` when
//! `|m - r| <= tolerance` (default: one clock tick). The bound is absolute
//! per line, so it never accumulates over a long run; the order of lines is
//! kept exactly.
//!
//! # Gap kinds
//!
//! A gap carries a kind ([`GapKind`]) so a driver can tell known
//! abstractions of the model from unknown behaviour: `in-flight` (a request
//! arrived while every request slot of the model was busy: the model bounds
//! requests in flight at `requests.max_in_flight`, at most
//! [`MAX_SLOTS`]), `unsupported` (a line the model has no step for),
//! `search-limit` (the frontier outgrew its bound) and `behaviour`
//! (anything else: a modelling gap to explain).

use crate::decision::ProbeResult;
use crate::duration::Ms;
use crate::environment::Environment;
use crate::error::InputError;
use crate::model::note::Note;
use crate::model::{truthful, Action, Coord, JobPhase, Owner, Truth, World, WorldState, MAX_SLOTS};
use crate::policy::Policy;
use serde::Deserialize;
use stateright::Model;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

/// Settings of a validation.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How far a line's model time may be from its real time (ms); `None`:
    /// one clock tick of the environment.
    pub tolerance: Option<Ms>,
    /// Most states in the frontier (a larger one is a `search-limit` gap).
    pub max_frontier: usize,
    /// Lines of the trace shown before a gap.
    pub context: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tolerance: None,
            max_frontier: 200_000,
            context: 12,
        }
    }
}

/// What kind of gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// A request arrived while every model slot was busy.
    InFlight,
    /// A line the model has no step for.
    Unsupported,
    /// The frontier outgrew [`Options::max_frontier`].
    SearchLimit,
    /// The model cannot take the line's step.
    Behaviour,
}

impl GapKind {
    /// The kind's word, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            GapKind::InFlight => "in-flight",
            GapKind::Unsupported => "unsupported",
            GapKind::SearchLimit => "search-limit",
            GapKind::Behaviour => "behaviour",
        }
    }
}

/// The first line the model could not follow.
#[derive(Debug, Clone)]
pub struct Gap {
    /// 1-based line number in the log.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// The kind.
    pub kind: GapKind,
    /// Why, in a sentence.
    pub why: String,
    /// The lines the model could have taken instead (log words), in order.
    pub could: Vec<String>,
    /// The lines before the gap (line number, text), oldest first.
    pub prefix: Vec<(usize, String)>,
    /// Lines followed before the gap.
    pub followed: usize,
}

/// What validation found for one workspace.
#[derive(Debug, Clone)]
pub struct WsResult {
    /// The workspace.
    pub ws: String,
    /// Lines of this workspace followed (all of them when there is no gap).
    pub followed: usize,
    /// The first gap, if any.
    pub gap: Option<Gap>,
    /// Most states in the frontier at once.
    pub widest: usize,
}

/// One parsed log line (both the probe log's and the truth log's words).
#[derive(Debug, Deserialize)]
struct RawLine {
    t_ms: Ms,
    ws: String,
    event: String,
    #[serde(default)]
    req: Option<String>,
    #[serde(default)]
    result: Option<ProbeResult>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    provisioner: Option<bool>,
}

/// What a line asks of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Obs {
    Request(u32),
    Probe(u32, ProbeResult),
    Timer(u32),
    Heartbeat,
    Register,
    ConfigPut,
    CycleFinished,
    RestartStarted,
    Container(ContainerState),
    Nothing,
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainerState {
    Running,
    NotRunning,
    Crashed,
}

struct Line {
    number: usize,
    text: String,
    t: Ms,
    obs: Obs,
}

/// A state of the frontier: the model's state, which request each slot's
/// decision serves, and the model time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Node {
    s: WorldState,
    labels: [Option<u32>; MAX_SLOTS],
    m: Ms,
}

/// Validates every workspace of the log at `path`.
pub fn validate_file(
    policy: &Policy,
    env: &Environment,
    path: &std::path::Path,
    opts: &Options,
) -> Result<Vec<WsResult>, InputError> {
    let text = crate::input::read_text_file(path, "log", 1 << 30)?;
    validate_str(policy, env, &text, opts).map_err(|e| e.in_file(path))
}

/// Validates every workspace of a log given as text (JSON Lines).
pub fn validate_str(
    policy: &Policy,
    env: &Environment,
    text: &str,
    opts: &Options,
) -> Result<Vec<WsResult>, InputError> {
    let mut by_ws: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let l: RawLine = serde_json::from_str(raw)
            .map_err(|e| InputError::new(format!("not a log line: {e}")).at_line(number))?;
        let mut req = |what: &str| -> Result<u32, InputError> {
            let r = l.req.as_deref().ok_or_else(|| {
                InputError::new(format!("a {what} line needs \"req\"")).at_line(number)
            })?;
            let key = format!("{}\u{0}{r}", l.ws);
            let n = names.len() as u32;
            Ok(*names.entry(key).or_insert(n))
        };
        let obs = match l.event.as_str() {
            "a2a_failed" => Obs::Request(req("a2a_failed")?),
            "probe" => {
                let r = l.result.ok_or_else(|| {
                    InputError::new("a probe line needs \"result\"").at_line(number)
                })?;
                Obs::Probe(req("probe")?, r)
            }
            "timer" => Obs::Timer(req("timer")?),
            "heartbeat" => Obs::Heartbeat,
            "register" => Obs::Register,
            "cycle_finished" | "restart_finished" => Obs::CycleFinished,
            "restart_started" => Obs::RestartStarted,
            "restart_requested" => match l.source.as_deref() {
                Some("file_write") => Obs::ConfigPut,
                other => Obs::Unsupported(format!(
                    "restart_requested from {}: the proxy makes none, the model has no step for it",
                    other.unwrap_or("no source")
                )),
            },
            "workspace" => {
                let external = l
                    .runtime
                    .as_deref()
                    .is_some_and(|r| crate::replay::EXTERNAL_LIKE_RUNTIMES.contains(&r));
                if external || l.provisioner == Some(false) {
                    Obs::Unsupported(
                        "workspace facts other than the model's (an ordinary runtime with a provisioner)"
                            .into(),
                    )
                } else {
                    Obs::Nothing
                }
            }
            "container" => match l.state.as_deref() {
                Some("running") => Obs::Container(ContainerState::Running),
                Some("not_running") => Obs::Container(ContainerState::NotRunning),
                Some("crashed") => Obs::Container(ContainerState::Crashed),
                other => {
                    return Err(InputError::new(format!(
                        "a container line's state is running, not_running or crashed, not {other:?}"
                    ))
                    .at_line(number))
                }
            },
            other => {
                return Err(InputError::new(format!("unknown event {other:?}")).at_line(number))
            }
        };
        if !by_ws.contains_key(&l.ws) {
            order.push(l.ws.clone());
        }
        by_ws.entry(l.ws.clone()).or_default().push(Line {
            number,
            text: raw.to_owned(),
            t: l.t_ms,
            obs,
        });
    }
    let mut req_names: Vec<String> = vec![String::new(); names.len()];
    for (k, v) in names {
        req_names[v as usize] = k.split('\u{0}').nth(1).unwrap_or("").to_owned();
    }
    let world = World::new(policy.clone(), env.clone());
    let mut out = Vec::new();
    for ws in order {
        let lines = &by_ws[&ws];
        out.push(validate_ws(&world, &ws, lines, &req_names, opts)?);
    }
    Ok(out)
}

fn validate_ws(
    w: &World,
    ws: &str,
    lines: &[Line],
    req_names: &[String],
    opts: &Options,
) -> Result<WsResult, InputError> {
    let tol = opts.tolerance.unwrap_or(w.env.tick);
    // The first registration (or heartbeat) is the initial state.
    let start = lines
        .iter()
        .position(|l| matches!(l.obs, Obs::Register | Obs::Heartbeat));
    let mut result = WsResult {
        ws: ws.to_owned(),
        followed: 0,
        gap: None,
        widest: 1,
    };
    let Some(start) = start else {
        if let Some(l) = lines
            .iter()
            .find(|l| !matches!(l.obs, Obs::Container(_) | Obs::Nothing))
        {
            result.gap = Some(Gap {
                line: l.number,
                text: l.text.clone(),
                kind: GapKind::Behaviour,
                why: "the model starts with a registered agent; this line comes before any registration or heartbeat".into(),
                could: vec!["register".into(), "heartbeat".into()],
                prefix: Vec::new(),
                followed: 0,
            });
        } else {
            result.followed = lines.len();
        }
        return Ok(result);
    };
    for l in &lines[..start] {
        if !matches!(l.obs, Obs::Container(_) | Obs::Nothing) {
            result.gap = Some(gap_at(
                lines,
                l,
                GapKind::Behaviour,
                "the model starts with a registered agent; this line comes before the first registration".into(),
                vec!["register".into(), "heartbeat".into()],
                opts,
                result.followed,
            ));
            return Ok(result);
        }
        result.followed += 1;
    }
    let t0 = lines[start].t;
    result.followed += 1;
    let mut frontier: HashSet<Node> = HashSet::new();
    frontier.insert(Node {
        s: w.initial(),
        labels: [None; MAX_SLOTS],
        m: 0,
    });
    for l in &lines[start + 1..] {
        if l.t < t0 {
            return Err(
                InputError::new("time goes backwards (before the first registration)")
                    .at_line(l.number),
            );
        }
        let r = l.t - t0;
        if let Obs::Unsupported(why) = &l.obs {
            result.gap = Some(gap_at(
                lines,
                l,
                GapKind::Unsupported,
                why.clone(),
                Vec::new(),
                opts,
                result.followed,
            ));
            return Ok(result);
        }
        let closed = match closure(w, &frontier, r + tol, opts.max_frontier) {
            Some(c) => c,
            None => {
                result.gap = Some(gap_at(
                    lines,
                    l,
                    GapKind::SearchLimit,
                    format!(
                        "more than {} model states are consistent with the lines before",
                        opts.max_frontier
                    ),
                    Vec::new(),
                    opts,
                    result.followed,
                ));
                return Ok(result);
            }
        };
        result.widest = result.widest.max(closed.len());
        let lo = r.saturating_sub(tol);
        let mut next: HashSet<Node> = HashSet::new();
        for n in closed.iter().filter(|n| n.m >= lo) {
            observe(w, n, &l.obs, &mut |x| {
                next.insert(x);
            });
        }
        if next.is_empty() {
            let (kind, why, could) = explain_gap(w, &closed, lo, r, tol, &l.obs, req_names);
            result.gap = Some(gap_at(lines, l, kind, why, could, opts, result.followed));
            return Ok(result);
        }
        frontier = next;
        result.followed += 1;
    }
    Ok(result)
}

fn gap_at(
    lines: &[Line],
    l: &Line,
    kind: GapKind,
    why: String,
    could: Vec<String>,
    opts: &Options,
    followed: usize,
) -> Gap {
    let i = lines.iter().position(|x| x.number == l.number).unwrap_or(0);
    let from = i.saturating_sub(opts.context);
    Gap {
        line: l.number,
        text: l.text.clone(),
        kind,
        why,
        could,
        prefix: lines[from..i]
            .iter()
            .map(|x| (x.number, x.text.clone()))
            .collect(),
        followed,
    }
}

/// Steps no log line records.
fn silent(s: &WorldState, a: Action) -> bool {
    match a {
        Action::Tick
        | Action::Timer(_)
        | Action::Resume(_)
        | Action::Check(_)
        | Action::Coalesce(_)
        | Action::LoopTop
        | Action::LoopExit
        | Action::Crash
        | Action::DockerRestarts
        | Action::ReportsRunning => true,
        Action::JobStep => !ends_coordinator_cycle(s),
        // A heartbeat the model tracks is a logged line.
        Action::Heartbeat => false,
        Action::Request(_)
        | Action::Forward(..)
        | Action::Probe(..)
        | Action::Register
        | Action::ConfigPut
        | Action::ManualRestart
        | Action::DetectorDecides(_)
        | Action::Sweep(_)
        | Action::Reconcile(_)
        | Action::KeyExpires
        | Action::CacheExpires => false,
    }
}

/// The job step about to run ends a provision the coordinator started: the
/// cycle returns.
fn ends_coordinator_cycle(s: &WorldState) -> bool {
    s.job
        .is_some_and(|j| j.owner == Owner::Coordinator && j.phase == JobPhase::Provision)
}

/// Takes `a` from `n`, keeping the request labels with their slots.
/// `new_label` labels the slot a [`Action::Request`] fills. `None`: not
/// possible.
fn take(w: &World, n: &Node, a: Action, new_label: Option<u32>) -> Option<Node> {
    let mut notes: Vec<Note> = Vec::new();
    let dt = if a == Action::Tick {
        w.tick_len(&n.s)
    } else {
        0
    };
    let Some(next) = w.transition(&n.s, a, &mut notes) else {
        // Offered by `actions` but changing nothing (a request whose
        // decision skips at once while nothing else moves).
        let mut same = *n;
        same.s.events = 0;
        if let Action::Request(_) = a {
            return Some(same);
        }
        return None;
    };
    let mut pre = n.labels;
    if let (Action::Request(k), Some(label)) = (a, new_label) {
        pre[usize::from(k)] = Some(label);
    }
    let from = notes.iter().rev().find_map(|x| match x {
        Note::Slots { from } => Some(*from),
        _ => None,
    });
    let mut labels = [None; MAX_SLOTS];
    for j in 0..MAX_SLOTS {
        if next.slots[j].is_some() {
            labels[j] = pre[from.map_or(j, |f| f[j])];
        }
    }
    let mut s = next;
    s.events = 0;
    Some(Node {
        s,
        labels,
        m: n.m + dt,
    })
}

/// Every node reachable from `frontier` by silent steps, time staying at or
/// below `until`. `None`: more than `limit` nodes.
fn closure(w: &World, frontier: &HashSet<Node>, until: Ms, limit: usize) -> Option<Vec<Node>> {
    let mut seen: HashSet<Node> = frontier.clone();
    let mut todo: Vec<Node> = frontier.iter().copied().collect();
    let mut actions = Vec::new();
    while let Some(n) = todo.pop() {
        actions.clear();
        w.actions(&n.s, &mut actions);
        for &a in &actions {
            if !silent(&n.s, a) {
                continue;
            }
            if a == Action::Tick && n.m + w.tick_len(&n.s) > until {
                continue;
            }
            if let Some(x) = take(w, &n, a, None) {
                if seen.insert(x) {
                    if seen.len() > limit {
                        return None;
                    }
                    todo.push(x);
                }
            }
        }
    }
    Some(seen.into_iter().collect())
}

fn slot_of(n: &Node, req: u32) -> Option<u8> {
    n.labels
        .iter()
        .position(|l| *l == Some(req))
        .map(|i| i as u8)
}

fn reads(w: &World, t: Truth, c: ContainerState) -> bool {
    match c {
        ContainerState::Crashed => t == Truth::Crashed,
        ContainerState::Running => {
            matches!(t, Truth::Up | Truth::Booting { .. })
                || (t == Truth::Crashed && truthful(t, w.crash_reads()) == ProbeResult::Running)
        }
        ContainerState::NotRunning => {
            matches!(t, Truth::Down | Truth::Pending { .. })
                || (t == Truth::Crashed && truthful(t, w.crash_reads()) == ProbeResult::NotRunning)
        }
    }
}

/// Every node `n` becomes by the step `obs` records.
fn observe(w: &World, n: &Node, obs: &Obs, out: &mut impl FnMut(Node)) {
    let mut actions = Vec::new();
    w.actions(&n.s, &mut actions);
    match *obs {
        Obs::Request(req) => {
            if slot_of(n, req).is_some() {
                return;
            }
            for &a in &actions {
                if let Action::Request(_) = a {
                    if let Some(x) = take(w, n, a, Some(req)) {
                        out(x);
                    }
                }
            }
        }
        Obs::Probe(req, result) => {
            let Some(slot) = slot_of(n, req) else { return };
            for &a in &actions {
                if let Action::Probe(k, answer) = a {
                    if k == slot && w.probe_result(&n.s, answer) == result {
                        if let Some(x) = take(w, n, a, None) {
                            out(x);
                        }
                    }
                }
            }
        }
        Obs::Timer(req) => {
            let Some(slot) = slot_of(n, req) else { return };
            if actions.contains(&Action::Timer(slot)) {
                if let Some(x) = take(w, n, Action::Timer(slot), None) {
                    out(x);
                }
            }
        }
        Obs::Heartbeat => {
            let mut any = false;
            for a in [Action::Heartbeat, Action::Register] {
                if actions.contains(&a) {
                    if let Some(x) = take(w, n, a, None) {
                        any = true;
                        out(x);
                    }
                }
            }
            if !any && !w.heartbeats_modelled() && n.s.truth == Truth::Up {
                out(*n);
            }
        }
        Obs::Register => {
            if actions.contains(&Action::Register) {
                if let Some(x) = take(w, n, Action::Register, None) {
                    out(x);
                }
            }
        }
        Obs::ConfigPut => {
            if actions.contains(&Action::ConfigPut) {
                if let Some(x) = take(w, n, Action::ConfigPut, None) {
                    out(x);
                }
            }
        }
        Obs::RestartStarted => {
            if n.s.ws.restart.is_running() || n.s.coord != Coord::Idle {
                out(*n);
            } else if actions.contains(&Action::ConfigPut) {
                if let Some(x) = take(w, n, Action::ConfigPut, None) {
                    out(x);
                }
            }
        }
        Obs::CycleFinished => {
            if ends_coordinator_cycle(&n.s) && actions.contains(&Action::JobStep) {
                if let Some(x) = take(w, n, Action::JobStep, None) {
                    out(x);
                }
            }
        }
        Obs::Container(c) => {
            if reads(w, n.s.truth, c) {
                out(*n);
            }
        }
        Obs::Nothing => out(*n),
        Obs::Unsupported(_) => {}
    }
}

/// The steps a node could take that a line would record, in log words.
fn could_take(w: &World, n: &Node, req_names: &[String], out: &mut BTreeSet<String>) {
    let mut actions = Vec::new();
    w.actions(&n.s, &mut actions);
    let name = |slot: u8| {
        n.labels[usize::from(slot)]
            .map(|r| req_names[r as usize].clone())
            .unwrap_or_else(|| "?".into())
    };
    for &a in &actions {
        let word = match a {
            Action::Request(_) => "a2a_failed".to_owned(),
            Action::Probe(k, answer) => format!(
                "probe {} {}",
                name(k),
                w.probe_result(&n.s, answer).as_str()
            ),
            Action::Heartbeat => "heartbeat".into(),
            Action::Register => "register".into(),
            Action::ConfigPut => "restart_requested file_write".into(),
            Action::JobStep if ends_coordinator_cycle(&n.s) => "cycle_finished".into(),
            _ => continue,
        };
        out.insert(word);
    }
    if !w.heartbeats_modelled() && n.s.truth == Truth::Up {
        out.insert("heartbeat".into());
    }
}

fn explain_gap(
    w: &World,
    closed: &[Node],
    lo: Ms,
    r: Ms,
    tol: Ms,
    obs: &Obs,
    req_names: &[String],
) -> (GapKind, String, Vec<String>) {
    let in_time: Vec<&Node> = closed.iter().filter(|n| n.m >= lo).collect();
    let mut could = BTreeSet::new();
    for n in &in_time {
        could_take(w, n, req_names, &mut could);
    }
    let slots = usize::from(w.env.max_in_flight).min(MAX_SLOTS);
    let m_max = closed.iter().map(|n| n.m).max().unwrap_or(0);
    let kind_why = match obs {
        Obs::Request(_)
            if !in_time.is_empty()
                && in_time
                    .iter()
                    .all(|n| n.s.slots[..slots].iter().all(Option::is_some)) =>
        {
            (
                GapKind::InFlight,
                format!(
                    "a request failed while {slots} requests were already in flight, the most the model holds (requests.max_in_flight, at most {MAX_SLOTS})"
                ),
            )
        }
        Obs::Probe(req, _) | Obs::Timer(req)
            if in_time.iter().all(|n| slot_of(n, *req).is_none()) =>
        {
            (
                GapKind::Behaviour,
                format!(
                    "no decision for request {} is waiting in any model state (it never started, or has already finished)",
                    req_names[*req as usize]
                ),
            )
        }
        _ if in_time.is_empty() => (
            GapKind::Behaviour,
            format!(
                "no model state reaches {r} ms (±{tol} ms): time cannot pass (something is due that no line records); the model gets to {m_max} ms"
            ),
        ),
        _ => (
            GapKind::Behaviour,
            format!(
                "none of the {} model states consistent with the lines before (model time {lo}..{} ms) can take this step",
                in_time.len(),
                r + tol
            ),
        ),
    };
    (kind_why.0, kind_why.1, could.into_iter().collect())
}

/// The report of a validation, as printed: `ok: N events followed` per
/// workspace, or the gap with the trace before it.
pub fn render(results: &[WsResult], log: &str) -> String {
    let mut s = String::new();
    for r in results {
        match &r.gap {
            None => {
                let _ = writeln!(
                    s,
                    "ok: {} events followed ({log}, workspace {}; at most {} model states at once)",
                    r.followed, r.ws, r.widest
                );
            }
            Some(g) => {
                let _ = writeln!(
                    s,
                    "gap at line {}: {} [{}] ({log}, workspace {}; {} events followed before it)",
                    g.line,
                    g.text,
                    g.kind.as_str(),
                    r.ws,
                    g.followed
                );
                let _ = writeln!(s, "  why: {}", g.why);
                if g.could.is_empty() {
                    let _ = writeln!(s, "  the model could take: nothing a log line records");
                } else {
                    let _ = writeln!(s, "  the model could take: {}", g.could.join(", "));
                }
                let _ = writeln!(s, "  the trace before it:");
                for (n, t) in &g.prefix {
                    let _ = writeln!(s, "    {n:>6}  {t}");
                }
                let _ = writeln!(s, "  > {:>4}  {}", g.line, g.text);
            }
        }
    }
    s
}
