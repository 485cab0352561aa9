//! `docs/lessons/2929.md`, produced by the tool (`livecheck explain 2929
//! --format lesson`): the incident as its record tells it (a lone
//! `IsRunning=false` right after a restart, and the restart it fired), the
//! checker's shortest such run on `v1-2931` (timeline and sequence diagram),
//! which restart path makes it possible (and that config-PUT restarts alone
//! cannot: they stamp the coordinator, and the debounce drops the lone
//! false's restart), why V1's heartbeat rule did not help, what V2 changed
//! and what it did not (the same search on `v2-2950`, and the properties it
//! still breaks in upstream's world), and the run replayed through
//! `livecheck replay`.
//!
//! Every sentence that states a fact about a run is computed from that run,
//! so a change to a policy, an environment or the model changes the lesson,
//! and the staleness test (`tests/explain_lesson.rs`) notices. The output is
//! deterministic: no timings, no dates.

use super::{
    incident_in, mermaid, only_restart_answers, replay_log, Explanation, Shown, FIX_POLICY,
    INCIDENT_ENV, INCIDENT_POLICY,
};
use crate::check::{check_pair, CheckOptions, PairResult, Verdict};
use crate::duration::Human;
use crate::environment::Environment;
use crate::error::InputError;
use crate::model::properties::CONTRACT;
use crate::model::{Action, World};
use crate::policy::{OnRecent, OnSettling, Policy, ProbeErrorMeaning, SettleFrom};
use crate::trace;
use std::fmt::Write as _;
use std::path::Path;

/// Where the lesson lives in the repository.
pub const LESSON_FILE: &str = "docs/lessons/2929.md";

/// The command that regenerates the lesson.
pub const REGENERATE: &str =
    "cargo run --release -- explain 2929 --format lesson > docs/lessons/2929.md";

/// Everything the lesson is computed from.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The incident on the incident policy (normally `v1-2931` × docker
    /// with only the restart's own not-running answers).
    pub v1: Explanation,
    /// The same search when every restart stamps the coordinator (no manual
    /// restarts in the world).
    pub v1_stamped: Explanation,
    /// The incident search on the fixed policy (normally `v2-2950`).
    pub v2: Explanation,
    /// The check of the incident pair in the full environment.
    pub v1_pair: PairResult,
    /// The check of the fixed pair in the full environment.
    pub v2_pair: PairResult,
}

/// Computes the lesson's facts for `v1` (the incident policy) and `v2` (the
/// fix) in `env`.
pub fn facts(v1: &Policy, v2: &Policy, env: &Environment) -> Facts {
    let opts = CheckOptions::default();
    let single = only_restart_answers(env);
    let stamped = Environment {
        manual_restarts: 0,
        ..single.clone()
    };
    Facts {
        v1: incident_in(World::new(v1.clone(), single.clone())),
        v1_stamped: incident_in(World::new(v1.clone(), stamped)),
        v2: incident_in(World::new(v2.clone(), single)),
        v1_pair: check_pair(v1, env, &opts),
        v2_pair: check_pair(v2, env, &opts),
    }
}

/// Loads the shipped models and renders the lesson.
pub fn generate() -> Result<String, InputError> {
    let (v1_file, v2_file, env_file) = (INCIDENT_POLICY, FIX_POLICY, INCIDENT_ENV);
    let hint = |mut e: InputError| {
        e.reason
            .push_str(" (the lesson reads the shipped models: run from the repository root)");
        e
    };
    let v1 = Policy::load(Path::new(v1_file)).map_err(hint)?;
    let v2 = Policy::load(Path::new(v2_file)).map_err(hint)?;
    let env = Environment::load(Path::new(env_file)).map_err(hint)?;
    Ok(render(&facts(&v1, &v2, &env)))
}

// ---- rendering ----------------------------------------------------------------

fn code_block(s: &mut String, lang: &str, body: &str) {
    let _ = writeln!(s, "```{lang}");
    s.push_str(body);
    if !body.ends_with('\n') {
        s.push('\n');
    }
    s.push_str("```\n\n");
}

fn timeline_text(e: &Explanation) -> String {
    let why = match e.shown {
        Shown::Counterexample => Some(e.summary.trim_end_matches('.')),
        _ => None,
    };
    trace::render_text(e.entries(), why, false)
}

fn run_summary(e: &Explanation) -> String {
    match (&e.trail, &e.walk) {
        (Some(trail), Some(walk)) => format!(
            "{} model steps, {} of model time",
            trail.steps.len(),
            Human(walk.steps.last().map_or(0, |st| st.t_ms))
        ),
        _ => "no run".into(),
    }
}

fn ms(v: u64) -> String {
    Human(v).to_string()
}

/// The policy's knobs in words, one `(knob, value)` per row.
pub fn knobs(p: &Policy) -> Vec<(&'static str, String)> {
    let d = &p.decision;
    vec![
        (
            "probe error",
            match d.probe_error {
                ProbeErrorMeaning::UseRunningFlag => "trust the running flag".into(),
                ProbeErrorMeaning::AssumeAlive => "not dead (assume alive)".into(),
            },
        ),
        (
            "recent heartbeat",
            d.recent_heartbeat.map_or("not read".into(), |h| {
                format!(
                    "within {} → {}",
                    ms(h.window),
                    match h.on_recent {
                        OnRecent::Strike => "add a strike",
                        OnRecent::Enqueue => "enqueue the request (202), never dead",
                    }
                )
            }),
        ),
        (
            "strikes",
            d.strikes.map_or("none".into(), |s| {
                format!("{} within {} declare dead", s.threshold, ms(s.window))
            }),
        ),
        (
            "settle window",
            d.settle.map_or("none".into(), |s| {
                format!(
                    "{} from {} → not running {}",
                    ms(s.window),
                    match s.measured_from {
                        SettleFrom::RestartStarted => "the restart's start",
                        SettleFrom::RestartFinished => "the restart cycle's end",
                    },
                    match s.on_not_running {
                        OnSettling::Strike => "adds a strike",
                        OnSettling::Declare => "declares dead",
                        OnSettling::WaitForAgent => "is not dead until the new agent heartbeats",
                    }
                )
            }),
        ),
        (
            "fresh-heartbeat wait",
            d.settle
                .and_then(|s| s.fresh_wait)
                .map_or("none".into(), |w| {
                    format!("up to {}, polled every {}", ms(w.wait), ms(w.poll))
                }),
        ),
        (
            "re-probe",
            d.reprobe_delay.map_or("none".into(), |r| {
                format!(
                    "after {} when a heartbeat is recent/fresh or settling",
                    ms(r)
                )
            }),
        ),
        ("restart debounce", ms(p.restart.debounce)),
        ("config-PUT restart drop", ms(p.restart.file_write_drop)),
    ]
}

fn symbol(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "✓ holds",
        Verdict::Violated => "✗ violated",
        Verdict::Inconclusive => "? inconclusive",
    }
}

fn search_result(e: &Explanation) -> String {
    match e.shown {
        Shown::Counterexample => format!("**finds one** ({})", run_summary(e)),
        _ => match e.verdict {
            Verdict::Holds => "finds **no such run**: it visits every reachable state".into(),
            _ => format!("cannot tell: {}", e.summary),
        },
    }
}

/// The lesson's markdown.
pub fn render(f: &Facts) -> String {
    let v1 = &f.v1.world.policy;
    let v2 = &f.v2.world.policy;
    let env = &f.v1_pair.world.env;
    let pair = |p: &Policy| format!("`{}` × `{}`", p.name, env.name);
    let mut s = String::new();
    s.push_str(
        "# Lesson #2929: a lone `IsRunning=false` right after a restart fires another restart\n\n",
    );
    let _ = writeln!(
        s,
        "_Generated by `livecheck explain 2929 --format lesson`; do not edit by hand \
         (`{REGENERATE}`)._\n"
    );

    s.push_str("## The incident\n\n");
    s.push_str(
        "CI job 506813 (upstream issue #2929): right after a config-PUT restart the agent \
         answered PONG 0.7 s before a single `IsRunning=false`; the proxy marked the workspace \
         offline, cleared its URL and **fired another restart**. PR #2931 (V1) was the first, \
         partial fix; PR #2950 (V2) the fix.\n\n",
    );
    s.push_str(
        "The checker looks for that shape in upstream's world, where the only not-running \
         answers are the restarted container's own (no spurious answer, no crash): a request's \
         decision declares the container dead on fewer than two not-running results since a \
         restart started, **and the restart it asks for really starts** (it is not dropped by \
         the debounce).\n\n",
    );

    let _ = writeln!(s, "## The counterexample on {}\n", pair(v1));
    let _ = writeln!(s, "The search {}.\n", search_result(&f.v1));
    if f.v1.shown == Shown::Counterexample {
        code_block(&mut s, "text", &timeline_text(&f.v1));
        code_block(&mut s, "mermaid", &mermaid::render(&f.v1));
        let _ = writeln!(s, "Why: {}\n", f.v1.summary);
    }

    s.push_str("## Which restart path makes it possible\n\n");
    let manual = |e: &Explanation| {
        e.trail
            .as_ref()
            .is_some_and(|t| t.steps.iter().any(|(a, _)| *a == Action::ManualRestart))
    };
    let put = |e: &Explanation| {
        e.trail
            .as_ref()
            .is_some_and(|t| t.steps.iter().any(|(a, _)| *a == Action::ConfigPut))
    };
    if manual(&f.v1) {
        s.push_str(
            "The restart before the lone false in the run above is a **manual restart** \
             (the HTTP Restart, Resume or a provider switch): it marks the row provisioning, \
             blanks the URL and runs the cycle, but never touches the restart coordinator, so \
             there is no stamp for the debounce to drop the declaration's restart by.",
        );
        if put(&f.v1) {
            s.push_str(" A config PUT takes part too.");
        }
        s.push_str("\n\n");
    }
    let _ = writeln!(
        s,
        "With config-PUT restarts only (they stamp the coordinator before the container stops), \
         the same search on {} {}.\n",
        pair(v1),
        search_result(&f.v1_stamped)
    );
    if f.v1_stamped.shown != Shown::Counterexample {
        let _ = writeln!(
            s,
            "A lone false after a config-PUT restart still declares the container dead on V1, \
             but its restart request is dropped: the {} debounce counts from the config PUT's \
             stamp. That run breaks `no_self_fire_on_lone_false` (and leaves the workspace \
             offline until a heartbeat); it does not fire a restart.\n",
            ms(v1.restart.debounce)
        );
    }

    s.push_str("## Why V1's heartbeat debounce did not help\n\n");
    let declared =
        f.v1.entries()
            .iter()
            .find(|x| x.action == crate::trace::What::DeclaredDead)
            .map(|x| x.knew);
    match (v1.decision.recent_heartbeat, declared) {
        (Some(h), Some(knew)) if !knew.recent_heartbeat => {
            let _ = writeln!(
                s,
                "V1 asks for a second strike only when the last heartbeat is younger than {}. \
                 In the run the last heartbeat was {} when the lone false came: the old \
                 agent's, from before the restart; the new agent had not registered yet. One \
                 not-running answer declared.\n",
                ms(h.window),
                match (knew.heartbeat_age_ms, knew.heartbeat_old) {
                    (Some(a), false) => format!("{} old", Human(a)),
                    (_, true) => format!("older than {}", ms(h.window)),
                    (None, false) => "missing".to_string(),
                }
            );
        }
        (Some(h), Some(_)) => {
            let _ = writeln!(
                s,
                "The heartbeat was younger than {} when the lone false came, so V1 needed a \
                 second strike; the run shows where it came from.\n",
                ms(h.window)
            );
        }
        _ => s.push_str("The run has no declaration to discuss.\n\n"),
    }

    s.push_str("## What V2 changed\n\n");
    s.push_str("| knob | V1 | V2 |\n|---|---|---|\n");
    for ((k, a), (_, b)) in knobs(v1).into_iter().zip(knobs(v2)) {
        let _ = writeln!(s, "| {k} | {a} | {b} |");
    }
    let _ = writeln!(
        s,
        "\nThe same search on {} {}.\n",
        pair(v2),
        search_result(&f.v2)
    );
    if f.v2.shown == Shown::Counterexample {
        if manual(&f.v2) {
            s.push_str(
                "V2's settle window is measured from the restart coordinator's stamp; a manual \
                 restart sets none, so V2 does not know it is settling and **the #2929 shape \
                 survives the fix** on that path:\n\n",
            );
        }
        code_block(&mut s, "text", &timeline_text(&f.v2));
    }

    s.push_str("## What V2 did not change\n\n");
    let _ = writeln!(
        s,
        "Every property on {} and {} in upstream's world (the full environment: spurious \
         answers, crashes, the health sweep, the TTL monitor, manual restarts):\n",
        pair(v1),
        pair(v2)
    );
    s.push_str("| property | V1 | V2 |\n|---|---|---|\n");
    let verdict = |r: &PairResult, n: &str| r.property(n).map(|p| p.verdict);
    for n in CONTRACT {
        let _ = writeln!(
            s,
            "| `{n}` | {} | {} |",
            verdict(&f.v1_pair, n).map_or("-", symbol),
            verdict(&f.v2_pair, n).map_or("-", symbol)
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "`livecheck explain {} --env {} --property NAME` shows each one's shortest \
         counterexample.\n",
        FIX_POLICY, INCIDENT_ENV
    );

    if f.v1.shown == Shown::Counterexample {
        s.push_str("## Replay it against the implementation\n\n");
        s.push_str(
            "The counterexample as a replay log (`livecheck explain 2929 --format replay`), with \
             the times of the run in milliseconds:\n\n",
        );
        let log = replay_log::render(&f.v1);
        code_block(&mut s, "json", &log);
        let _ = writeln!(
            s,
            "`livecheck replay --policy {INCIDENT_POLICY} 2929.jsonl` feeds it to the same \
             decision machine and prints one line per decision; the last one is the \
             declaration:\n"
        );
        let mut out = Vec::new();
        match crate::replay::run(v1, Path::new("2929.jsonl"), log.as_bytes(), &mut out) {
            Ok(_) => code_block(&mut s, "json", &String::from_utf8_lossy(&out)),
            Err(e) => {
                let _ = writeln!(s, "**Replay failed**: {e}\n");
            }
        }
    }

    s.push_str("## Reproduce\n\n");
    let mut cmds = String::new();
    let _ = writeln!(
        cmds,
        "livecheck explain 2929                   # the timeline"
    );
    let _ = writeln!(
        cmds,
        "livecheck explain 2929 --format mermaid  # the diagram"
    );
    let _ = writeln!(cmds, "livecheck explain 2929 --format html > 2929.html");
    let _ = writeln!(cmds, "livecheck explain 2929 --format replay > 2929.jsonl");
    let _ = writeln!(
        cmds,
        "livecheck replay --policy {INCIDENT_POLICY} 2929.jsonl"
    );
    let _ = writeln!(cmds, "{REGENERATE}");
    code_block(&mut s, "sh", &cmds);
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}
