//! A run as an ITF trace: the Informal Trace Format of Apalache and Quint
//! (ADR-015, <https://apalache-mc.org/docs/adr/015adr-trace.html>), so that
//! other tools (Quint's trace viewers, the `itf` crate, model-based testing
//! drivers) can load our counterexamples.
//!
//! Shape: `{"#meta": {...}, "vars": [...], "states": [{"#meta": {"index":
//! i}, VAR: VALUE, ...}, ...]}` with one state for the initial state and one
//! per model step. Values use the ITF encodings: integers as JSON numbers
//! when `|n| < 2^53` and `{"#bigint": "n"}` beyond; strings; booleans; lists
//! as arrays; records as objects; an optional value as the Quint `Option`
//! variant `{"tag": "Some", "value": v}` / `{"tag": "None", "value":
//! {"#tup": []}}`.
//!
//! Variables (every state has every one):
//!
//! | var | meaning |
//! |---|---|
//! | `mbt::actionTaken` | the model action that led here (`init` first), Quint's name for it |
//! | `t_ms` | model time since the run began |
//! | `container` | the truth: `running`, `crashed`, `cycling`, `pending` (reports not-running), `starting` (reports running, agent not registered) |
//! | `container_elapsed_ms` | time in a restart phase (0 otherwise) |
//! | `restart_running`, `restart_pending` | the restart coordinator's flags |
//! | `restart_age_ms` | time since `restartStartedAt` (Option; saturates at the model's cap) |
//! | `heartbeat_age_ms` | time since `last_heartbeat_at` (Option; saturates at the model's cap) |
//! | `url_registered` | the agent's URL is registered |
//! | `strikes` | strikes in the record |
//! | `settling`, `recent_heartbeat` | steps 4 and 5 of the rule at this moment |
//! | `settle_not_running` | in a settle period: not-running results seen since the restart started (Option) |
//! | `decisions` | decisions in flight: `{req, phase, probes}` |
//! | `crash` | an unrepaired crash: `{age_ms, declared}` (Option) |
//! | `spurious_left`, `errors_left`, `config_puts_left` | the environment's budgets left |
//! | `events` | what the step did: `declared`, `false_dead`, `lone_false`, `loop`, `orphan`, `dead_crashed`, `recovered` |
//! | `violation` | this state breaks the property explained |

use super::Explanation;
use crate::decision::{Decision, Phase};
use crate::model::{event, Action, Truth, WorldState, NOW};
use serde_json::{json, Map, Value};

/// The ITF variable names, in order.
pub const VARS: [&str; 20] = [
    "mbt::actionTaken",
    "t_ms",
    "container",
    "container_elapsed_ms",
    "restart_running",
    "restart_pending",
    "restart_age_ms",
    "heartbeat_age_ms",
    "url_registered",
    "strikes",
    "settling",
    "recent_heartbeat",
    "settle_not_running",
    "decisions",
    "crash",
    "spurious_left",
    "errors_left",
    "config_puts_left",
    "events",
    "violation",
];

/// Largest integer ITF writes as a plain JSON number (`2^53 - 1`).
pub const MAX_SAFE: i128 = (1 << 53) - 1;

/// An ITF integer: a JSON number when it is safe in every JSON reader,
/// `{"#bigint": "n"}` otherwise.
pub fn int(n: i128) -> Value {
    if (-MAX_SAFE..=MAX_SAFE).contains(&n) {
        json!(n as i64)
    } else {
        json!({ "#bigint": n.to_string() })
    }
}

/// The Quint `Option` variant.
pub fn option(v: Option<Value>) -> Value {
    match v {
        Some(v) => json!({ "tag": "Some", "value": v }),
        None => json!({ "tag": "None", "value": { "#tup": [] } }),
    }
}

/// A unit variant's serde word (the model's enums are snake_case: the
/// words proofs record).
fn word(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn action_name(a: &Action) -> String {
    match a {
        Action::Tick => "tick".into(),
        Action::Request(_) => "request".into(),
        Action::Forward(_, true) => "forward_fails".into(),
        Action::Forward(_, false) => "forward_succeeds".into(),
        Action::Probe(_, a) => format!("probe_{}", word(a)),
        Action::Timer(_) => "timer".into(),
        Action::Resume(_) => "declare_section".into(),
        Action::Heartbeat => "heartbeat".into(),
        Action::Register => "agent_registers".into(),
        Action::ReportsRunning => "reports_running".into(),
        Action::Crash => "crash".into(),
        Action::DockerRestarts => "docker_restarts".into(),
        Action::ConfigPut => "config_put".into(),
        Action::ManualRestart => "manual_restart".into(),
        Action::DetectorDecides(_) => "detector_decides".into(),
        Action::Sweep(a) => format!("health_sweep_{}", word(a)),
        Action::Reconcile(a) => format!("reconcile_{}", word(a)),
        Action::KeyExpires => "liveness_key_expires".into(),
        Action::CacheExpires => "url_cache_expires".into(),
        Action::Check(c) => format!("restart_debounce_check_{}", word(c)),
        Action::Coalesce(c) => format!("restart_coalesce_{}", word(c)),
        Action::LoopTop => "restart_loop_top".into(),
        Action::LoopExit => "restart_loop_exit".into(),
        Action::JobStep => "restart_job_step".into(),
    }
}

fn phase_name(d: &Decision) -> &'static str {
    match d.phase() {
        Phase::WaitFresh { .. } => "waiting_for_fresh_heartbeat",
        Phase::Probing { .. } => "probing",
        Phase::Sleeping { .. } => "sleeping_before_reprobe",
        Phase::Declaring { .. } => "declaring",
        Phase::Done(_) => "done",
    }
}

fn events(bits: u8) -> Value {
    let names = [
        (event::DECLARED, "declared"),
        (event::FALSE_DEAD, "false_dead"),
        (event::LONE_FALSE, "lone_false"),
        (event::LOOP, "loop"),
        (event::ORPHAN, "orphan"),
        (event::DEAD_CRASHED, "dead_crashed"),
        (event::RECOVERED, "recovered"),
        (event::LONE_FIRE, "lone_fire"),
    ];
    Value::Array(
        names
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, n)| json!(n))
            .collect(),
    )
}

fn state(
    e: &Explanation,
    s: &WorldState,
    index: usize,
    action: &str,
    t_ms: u64,
    reqs: &[Option<u32>],
    violation: bool,
) -> Value {
    let world = &e.world;
    let age = |t: Option<u64>| t.map(|t| int(i128::from(NOW.saturating_sub(t))));
    let (container, elapsed) = match s.truth {
        Truth::Up => ("running", 0),
        Truth::Crashed => ("crashed", 0),
        Truth::Down => ("down", 0),
        Truth::Pending { elapsed } => ("pending", elapsed),
        Truth::Booting { elapsed } => ("starting", elapsed),
    };
    let window = world.policy.decision.strikes.map_or(0, |w| w.window);
    let strikes =
        s.ws.strikes
            .filter(|r| NOW.saturating_sub(r.first) <= window)
            .map_or(0, |r| r.count);
    let decisions: Vec<Value> = s
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let slot = d.as_ref()?;
            let req = reqs.get(i).copied().flatten().unwrap_or(0);
            Some(match slot.decision() {
                Some(d) => json!({
                    "req": format!("r{req}"),
                    "phase": phase_name(d),
                    "probes": int(i128::from(d.probes())),
                }),
                None => json!({
                    "req": format!("r{req}"),
                    "phase": "forwarding",
                    "probes": int(0),
                }),
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("#meta".into(), json!({ "index": index }));
    m.insert("mbt::actionTaken".into(), json!(action));
    m.insert("t_ms".into(), int(i128::from(t_ms)));
    m.insert("container".into(), json!(container));
    m.insert("container_elapsed_ms".into(), int(i128::from(elapsed)));
    m.insert("restart_running".into(), json!(s.ws.restart.is_running()));
    m.insert("restart_pending".into(), json!(s.ws.restart.is_pending()));
    m.insert(
        "restart_age_ms".into(),
        option(age(s.ws.restart.started_at())),
    );
    m.insert("heartbeat_age_ms".into(), option(age(s.ws.last_heartbeat)));
    m.insert("url_registered".into(), json!(s.ws.url_registered));
    m.insert("strikes".into(), int(i128::from(strikes)));
    m.insert(
        "settling".into(),
        json!(crate::decision::settling(&world.policy, &s.ws, NOW)),
    );
    m.insert(
        "recent_heartbeat".into(),
        json!(crate::decision::recent_heartbeat(&world.policy, &s.ws, NOW)),
    );
    m.insert(
        "settle_not_running".into(),
        option(s.settle.map(|n| int(i128::from(n)))),
    );
    m.insert("decisions".into(), Value::Array(decisions));
    m.insert(
        "crash".into(),
        option(s.crash.map(|c| {
            json!({
                "age_ms": int(i128::from(c.age.min(world.crash_cap))),
                "declared": c.declared,
                "repaired": c.repaired,
            })
        })),
    );
    m.insert("spurious_left".into(), int(i128::from(s.spurious_left)));
    m.insert("errors_left".into(), int(i128::from(s.errors_left)));
    m.insert("config_puts_left".into(), int(i128::from(s.config_left)));
    m.insert("events".into(), events(s.events));
    m.insert("violation".into(), json!(violation));
    Value::Object(m)
}

/// The explanation's run as an ITF trace (only the initial state when no
/// run is shown).
pub fn render(e: &Explanation) -> Value {
    let mut states = Vec::new();
    let init = e
        .trail
        .as_ref()
        .map_or_else(|| e.world.initial(), |t| t.init);
    states.push(state(e, &init, 0, "init", 0, &[None, None], false));
    if let (Some(trail), Some(walk)) = (&e.trail, &e.walk) {
        let last = trail.steps.len();
        for (i, ((action, s), info)) in trail.steps.iter().zip(&walk.steps).enumerate() {
            let violation = i + 1 == last && e.shown == super::Shown::Counterexample;
            states.push(state(
                e,
                s,
                i + 1,
                &action_name(action),
                info.t_ms,
                &info.reqs,
                violation,
            ));
        }
    }
    json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": format!("livecheck {}: {}", env!("CARGO_PKG_VERSION"), e.pair_label()),
            "description": format!("{} — {}", e.title, e.summary),
            "policy": e.world.policy.name,
            "environment": e.world.env.name,
            "property": e.property,
            "verdict": e.verdict.word(),
        },
        "vars": VARS,
        "states": states,
    })
}
