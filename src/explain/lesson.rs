//! `docs/lessons/2929.md`, produced by the tool (`livecheck explain 2929
//! --format lesson`): the incident, the checker's counterexample on
//! `v1-2931` (timeline and sequence diagram), why V1's heartbeat debounce did
//! not help, what V2 changed (the same search on `v2-2950`) and what it did
//! not (the properties `v2-2950` still breaks, with the race the checker
//! finds there), and the counterexample replayed through `livecheck replay`.
//!
//! Every sentence that states a fact about a run is computed from that run,
//! so a change to a policy, an environment or the model changes the lesson,
//! and the staleness test (`tests/explain_lesson.rs`) notices. The output is
//! deterministic: no timings, no dates.

use super::{
    from_check, incident_in, mermaid, only_restart_answers, replay_log, Explanation, Shown,
    FIX_POLICY, INCIDENT_ENV, INCIDENT_POLICY,
};
use crate::check::{check_pair, CheckOptions, PairResult, Verdict};
use crate::duration::Human;
use crate::environment::Environment;
use crate::error::InputError;
use crate::model::properties::{self, CONTRACT};
use crate::model::World;
use crate::policy::{OnRecent, OnSettling, Policy, ProbeErrorMeaning, SettleFrom};
use crate::trace::{self, Entry};
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
    /// The incident on the incident policy (normally `v1-2931` × docker).
    pub v1: Explanation,
    /// The same search when the container neither crashes nor answers
    /// falsely.
    pub v1_single: Explanation,
    /// The incident search on the fixed policy (normally `v2-2950` × docker).
    pub v2: Explanation,
    /// The same search on the fixed policy with no spurious answer.
    pub v2_single: Explanation,
    /// The full check of the incident pair.
    pub v1_pair: PairResult,
    /// The full check of the fixed pair.
    pub v2_pair: PairResult,
}

/// Computes the lesson's facts for `v1` (the incident policy) and `v2` (the
/// fix) in `env`.
pub fn facts(v1: &Policy, v2: &Policy, env: &Environment) -> Facts {
    let opts = CheckOptions::default();
    let single = only_restart_answers(env);
    Facts {
        v1: incident_in(World::new(v1.clone(), env.clone())),
        v1_single: incident_in(World::new(v1.clone(), single.clone())),
        v2: incident_in(World::new(v2.clone(), env.clone())),
        v2_single: incident_in(World::new(v2.clone(), single)),
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

// ---- facts read off a run ---------------------------------------------------

/// The line that breaks the property (the fatal declaration, for a
/// declaration of death).
fn fatal(e: &Explanation) -> Option<&Entry> {
    e.entries().iter().find(|x| x.violation)
}

/// The `request_failed` line of `req`.
fn started(e: &Explanation, req: u32) -> Option<&Entry> {
    e.entries()
        .iter()
        .find(|x| x.action == "request_failed" && x.req == Some(req))
}

/// The probe answers of `req`.
fn probes(e: &Explanation, req: u32) -> Vec<&Entry> {
    e.entries()
        .iter()
        .filter(|x| x.action == "probe_answered" && x.req == Some(req))
        .collect()
}

fn first<'a>(e: &'a Explanation, action: &str) -> Option<&'a Entry> {
    e.entries().iter().find(|x| x.action == action)
}

fn t(x: &Entry) -> String {
    Human(x.t_ms).to_string()
}

fn age(v: Option<u64>, old: bool) -> String {
    if old {
        "too old to count".into()
    } else {
        v.map_or_else(|| "none".into(), |v| Human(v).to_string())
    }
}

fn plural(n: u8, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What became of the fatal decision's restart request; `restart_age` is
/// the age of the restart stamp when the decision read it.
fn restart_fate(x: &Entry, restart_age: Option<u64>, debounce: u64) -> String {
    match x.restart {
        Some("started") => "its restart request started a new cycle".into(),
        Some("coalesced") => "its restart request was coalesced into the running cycle".into(),
        Some(_) if x.detail.contains("debounce") => format!(
            "its own restart request was dropped by the {} restart debounce: the config PUT's restart was stamped only {} earlier",
            Human(debounce),
            restart_age.map_or_else(|| "moments".into(), |a| Human(a).to_string())
        ),
        Some(_) => "its restart request was dropped".into(),
        None => String::new(),
    }
}

fn times(n: usize) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

fn index_of(e: &Explanation, x: &Entry) -> usize {
    e.entries()
        .iter()
        .position(|y| std::ptr::eq(x, y))
        .unwrap_or(usize::MAX)
}

/// A walk-through of the run up to the fatal decision of `e`, one sentence
/// per event that matters, in the order they happened.
fn walkthrough(e: &Explanation) -> String {
    let Some(f) = fatal(e) else {
        return String::new();
    };
    let Some(req) = f.req else {
        return String::new();
    };
    let policy = &e.world.policy;
    let window = policy
        .decision
        .recent_heartbeat
        .map(|h| Human(h.window).to_string());
    let mut said: Vec<(usize, String)> = Vec::new();
    if let Some(put) = first(e, "config_put") {
        said.push((
            index_of(e, put),
            format!("At {} a config PUT restarts the workspace.", t(put)),
        ));
    }
    if let Some(done) = first(e, "restart_finished") {
        said.push((
            index_of(e, done),
            format!(
                "At {} the restart cycle returns and the new container boots ({}).",
                t(done),
                done.container
            ),
        ));
    }
    if let Some(crash) = first(e, "container_crashed") {
        said.push((
            index_of(e, crash),
            format!("At {} the container crashes.", t(crash)),
        ));
    }
    // Strikes other decisions left in the record.
    for x in e
        .entries()
        .iter()
        .filter(|x| x.action == "not_dead" && x.detail.contains("strike") && x.req != Some(req))
    {
        let name = x.req_name().unwrap_or_default();
        let answer = probes(e, x.req.unwrap_or(0))
            .last()
            .map(|p| {
                if p.detail.contains("spurious") {
                    "a spurious not-running answer while the agent runs"
                } else if p.container == "crashed" {
                    "a not-running answer from the crashed container"
                } else {
                    "a not-running answer"
                }
            })
            .unwrap_or("a not-running answer");
        said.push((
            index_of(e, x),
            format!(
                "At {} request {name} gets {answer}; its heartbeat is recent, so V1 records a strike instead of declaring ({}).",
                t(x),
                x.detail.trim_start_matches(&format!("{name}: "))
            ),
        ));
    }
    if let Some(st) = started(e, req) {
        let k = &st.knew;
        let ps = probes(e, req);
        let answers: Vec<String> = ps
            .iter()
            .map(|p| {
                let what = p.result.unwrap_or("?").replace('_', " ");
                if p.detail.contains("spurious") {
                    format!("{what} (spurious: the container runs)")
                } else if p.container.starts_with("booting") {
                    format!("{what} (true: the new container is booting)")
                } else if p.container == "restart cycle" {
                    format!("{what} (true: the restart cycle stopped the container)")
                } else {
                    what
                }
            })
            .collect();
        // The heartbeat the proxy reads came from the old container when it
        // is older than the restart.
        let whose = match (k.heartbeat_age_ms, k.restart_age_ms) {
            (Some(h), Some(r)) if h >= r => "the old agent's, from before the restart; ",
            (None, Some(_)) if k.heartbeat_old => "the old agent's; ",
            _ => "",
        };
        let recent = if k.recent_heartbeat {
            format!(
                "recent: within the {} window",
                window.clone().unwrap_or_default()
            )
        } else {
            match &window {
                Some(w) => format!("not recent: older than the {w} window"),
                None => "not read by this policy".into(),
            }
        };
        said.push((
            index_of(e, st),
            format!(
                "At {} request {} fails. The proxy reads: heartbeat age {} ({whose}{recent}), {} in the record, restart age {}{}. It probes {}: {}.",
                t(st),
                st.req_name().unwrap_or_default(),
                age(k.heartbeat_age_ms, k.heartbeat_old),
                plural(k.strikes, "strike", "strikes"),
                age(k.restart_age_ms, k.restart_old),
                if k.settling { ", settle window open" } else { "" },
                times(ps.len()),
                answers.join(", then ")
            ),
        ));
        let strike_rule = k.recent_heartbeat
            && policy
                .decision
                .recent_heartbeat
                .is_some_and(|h| h.on_recent == OnRecent::Strike);
        let because = if strike_rule {
            let threshold = policy.decision.strikes.map_or(0, |s| s.threshold);
            format!(
                "With a recent heartbeat V1 adds a strike; with the {} already in the record that makes {} of {threshold}",
                plural(k.strikes, "strike", "strikes"),
                k.strikes + 1
            )
        } else if !k.recent_heartbeat && !k.settling {
            "With no recent heartbeat and no settle window, one not-running answer is enough".into()
        } else {
            "The rule reaches its declaring branch".into()
        };
        said.push((
            index_of(e, f),
            format!(
                "{because}: **the proxy declares the container dead** on {} after the restart: workspace offline, URL cleared, and {}.",
                if ps.len() == 1 { "one answer" } else { "these answers" },
                restart_fate(f, k.restart_age_ms, policy.restart.debounce)
            ),
        ));
    }
    said.sort_by_key(|(i, _)| *i);
    let mut s = String::new();
    for (_, line) in said {
        s.push_str("- ");
        s.push_str(&line);
        s.push('\n');
    }
    s
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
        Shown::Counterexample => Some(properties::why(e.property)),
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
    let env = &f.v1.world.env;
    let pair = |p: &Policy| format!("`{}` × `{}`", p.name, env.name);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Lesson #2929: a lone `IsRunning=false` right after a config-PUT restart\n"
    );
    let _ = writeln!(
        s,
        "<!-- Generated by `livecheck explain 2929 --format lesson`; do not edit by hand.\n     tests/explain_lesson.rs regenerates it and fails when this file differs:\n     {REGENERATE} -->\n"
    );

    // The incident.
    s.push_str("## The incident\n\n");
    s.push_str(
        "CI job 506813 (upstream issue #2929): right after a config-PUT restart the agent \
         answered PONG 0.7 s before a single `IsRunning=false`; the proxy marked the workspace \
         offline, cleared its URL and fired another restart. PR #2931 (`v1-2931`) was the first, \
         partial fix; PR #2950 (`v2-2950`) is the fix.\n\n",
    );
    let _ = writeln!(
        s,
        "The checker reproduces it on {} ({}). `livecheck explain 2929` asks for the shortest run in which:\n",
        pair(v1),
        env.summary
    );
    let _ = writeln!(
        s,
        "- the proxy declares the container dead inside a settle period on fewer than two not-running probe results since the restart started (property `{}`),",
        super::INCIDENT_PROPERTY
    );
    s.push_str(
        "- after the restart cycle that a **config PUT** started has returned: the new container is booting, and\n",
    );
    s.push_str("- the detector's own restart request did not start a new cycle.\n\n");

    // The counterexample.
    let _ = writeln!(s, "## The counterexample on {}\n", pair(v1));
    if f.v1.shown == Shown::Counterexample {
        let _ = writeln!(
            s,
            "{} (`livecheck explain 2929`; the fatal step is marked ✗):\n",
            run_summary(&f.v1)
        );
        code_block(&mut s, "text", &timeline_text(&f.v1));
        s.push_str(&walkthrough(&f.v1));
        s.push('\n');
        s.push_str(
            "The same run as a sequence diagram (`livecheck explain 2929 --format mermaid`):\n\n",
        );
        code_block(&mut s, "mermaid", &mermaid::render(&f.v1));
    } else {
        let _ = writeln!(
            s,
            "**The checker no longer finds the incident on {}**: {}. This lesson is out of date with the model.\n",
            pair(v1),
            f.v1.summary
        );
    }

    // The single-answer variant.
    s.push_str("### With one not-running answer in the whole run\n\n");
    let _ = writeln!(
        s,
        "The shortest run above needs a not-running answer before the restart. The incident saw a \
         single `IsRunning=false`. The same search in `{}` where the container neither crashes nor \
         answers falsely (`may_crash = false`, `spurious_not_running = 0`), so that the only \
         not-running answers are those of the restart itself, {}.\n",
        env.name,
        search_result(&f.v1_single)
    );
    if f.v1_single.shown == Shown::Counterexample {
        code_block(&mut s, "text", &timeline_text(&f.v1_single));
        s.push_str(&walkthrough(&f.v1_single));
        s.push('\n');
    }

    // Why V1's debounce did not help.
    s.push_str("## Why V1's heartbeat debounce did not help\n\n");
    let window = v1
        .decision
        .recent_heartbeat
        .map_or("its".into(), |h| ms(h.window));
    let threshold = v1.decision.strikes.map_or(0, |s| s.threshold);
    let strike_window = v1.decision.strikes.map_or(0, |s| s.window);
    let _ = writeln!(
        s,
        "PR #2931 asks for {threshold} strikes before declaring, but only when the last heartbeat is \
         recent (within {window}); otherwise one not-running answer declares at once. Nothing in V1 \
         knows that a restart just happened, so a container that is *booting* reads exactly like one \
         that *crashed*:\n"
    );
    let carried = fatal(&f.v1)
        .and_then(|x| x.req)
        .and_then(|r| started(&f.v1, r))
        .is_some_and(|st| st.knew.strikes > 0);
    let _ = writeln!(
        s,
        "1. **The strike record outlives the restart.** Strikes count for {} from the first one, across \
         any restart in between. {}",
        ms(strike_window),
        if carried {
            "In the counterexample the first strike came from the old container's life, before the \
             config PUT; the booting container's first not-running answer completed the pair."
        } else {
            "(The counterexample above does not need this.)"
        }
    );
    let single_not_recent = fatal(&f.v1_single)
        .and_then(|x| x.req)
        .and_then(|r| started(&f.v1_single, r))
        .is_some_and(|st| !st.knew.recent_heartbeat);
    let _ = writeln!(
        s,
        "2. **A restart does not make the heartbeat recent.** The agent heartbeats every {} in `{}`, but a \
         heartbeat counts as recent for only {window}: for about half of every interval the last \
         heartbeat is too old, and V1 declares on the first not-running answer. {}",
        ms(env.heartbeat_interval),
        env.name,
        if single_not_recent {
            "That is the single-answer run above."
        } else {
            "(The single-answer run above does not need this.)"
        }
    );
    let _ = writeln!(
        s,
        "3. **The booting container really reports not-running.** In `{}` it does for up to {} after \
         the cycle returns: a probe in that window is a true answer that says nothing about a crash.\n",
        env.name,
        ms(env.boot_not_running.max)
    );

    // What V2 changed.
    s.push_str("## What V2 changed\n\n");
    let _ = writeln!(s, "| knob | `{}` | `{}` |", v1.name, v2.name);
    s.push_str("|---|---|---|\n");
    for ((k, a), (_, b)) in knobs(v1).into_iter().zip(knobs(v2)) {
        let mark = if a != b { " **(changed)**" } else { "" };
        let _ = writeln!(s, "| {k}{mark} | {a} | {b} |");
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "The same #2929 search on {}: {}. With one not-running answer in the whole run it {}. \
         Inside the settle window a not-running answer is re-probed and then only adds a strike, and a \
         strike from the old container's life does not declare a booting one dead on one answer.\n",
        pair(v2),
        search_result(&f.v2),
        search_result(&f.v2_single)
    );
    if f.v2.shown == Shown::Counterexample {
        code_block(&mut s, "text", &timeline_text(&f.v2));
    }

    // What V2 did not change.
    s.push_str("## What V2 did not change\n\n");
    let _ = writeln!(
        s,
        "Every contract property, checked exhaustively (`livecheck check`) on both policies in `{}`:\n",
        env.name
    );
    let _ = writeln!(s, "| property | `{}` | `{}` |", v1.name, v2.name);
    s.push_str("|---|---|---|\n");
    for name in CONTRACT {
        let a = f.v1_pair.property(name).map(|p| p.verdict);
        let b = f.v2_pair.property(name).map(|p| p.verdict);
        let _ = writeln!(
            s,
            "| `{name}` | {} | {} |",
            a.map_or("-", symbol),
            b.map_or("-", symbol)
        );
    }
    s.push('\n');
    let race = from_check(&f.v2_pair, super::INCIDENT_PROPERTY);
    if race.shown == Shown::Counterexample {
        let _ = writeln!(
            s,
            "`{}` is still violated on {}. Its shortest counterexample ({}):\n",
            super::INCIDENT_PROPERTY,
            pair(v2),
            run_summary(&race)
        );
        code_block(&mut s, "text", &timeline_text(&race));
        // Is it the race: the fatal decision started before the restart?
        let raced = fatal(&race).and_then(|x| x.req).and_then(|r| {
            let st = started(&race, r)?;
            let lines = race.entries();
            let begin = lines.iter().position(|x| std::ptr::eq(x, st))?;
            let end = lines.iter().position(|x| x.violation)?;
            let restart = lines[begin..end]
                .iter()
                .find(|x| x.action == "restart_started")?;
            Some((st, restart))
        });
        if let Some((st, restart)) = raced.filter(|(st, _)| !st.knew.restarting) {
            let _ = writeln!(
                s,
                "This is a race, not #2929: request {} started at {} with the settle window {} and no \
                 restart in flight, so it read `settling = false`; the restart began at {} while its probe \
                 was in flight, and the probe then saw the stopped container. V2 reads the settle window \
                 once, when the decision starts (step 4 of the rule), and never looks again before \
                 declaring.\n",
                st.req_name().unwrap_or_default(),
                t(st),
                if st.knew.settling { "open" } else { "closed" },
                t(restart)
            );
        }
    }
    let verdict = |pair: &PairResult, n: &str| pair.property(n).map(|p| p.verdict);
    let listed = |s: &mut String, names: &[&str]| {
        for n in names {
            let _ = writeln!(
                s,
                "- `{n}`: {} (`livecheck explain {} --env {} --property {n}`)",
                properties::why(n),
                FIX_POLICY,
                INCIDENT_ENV
            );
        }
        s.push('\n');
    };
    let still: Vec<&str> = CONTRACT
        .iter()
        .copied()
        .filter(|n| *n != super::INCIDENT_PROPERTY)
        .filter(|n| verdict(&f.v2_pair, n) == Some(Verdict::Violated))
        .filter(|n| verdict(&f.v1_pair, n) == Some(Verdict::Violated))
        .collect();
    let new: Vec<&str> = CONTRACT
        .iter()
        .copied()
        .filter(|n| verdict(&f.v2_pair, n) == Some(Verdict::Violated))
        .filter(|n| verdict(&f.v1_pair, n) == Some(Verdict::Holds))
        .collect();
    if !still.is_empty() {
        let _ = writeln!(s, "Still violated on {}, as on {}:\n", pair(v2), pair(v1));
        listed(&mut s, &still);
    }
    if !new.is_empty() {
        let _ = writeln!(
            s,
            "Violated on {} but holding on {}: what V2 made worse.\n",
            pair(v2),
            pair(v1)
        );
        listed(&mut s, &new);
    }

    // Replay.
    if f.v1.shown == Shown::Counterexample {
        s.push_str("## Replay it against the implementation\n\n");
        s.push_str(
            "The counterexample as a replay log (`livecheck explain 2929 --format replay`), with the \
             times of the run in milliseconds:\n\n",
        );
        let log = replay_log::render(&f.v1);
        code_block(&mut s, "json", &log);
        let _ = writeln!(
            s,
            "`livecheck replay --policy {} 2929.jsonl` feeds it to the same decision machine and prints \
             one line per decision; the last one is the fatal decision:\n",
            super::INCIDENT_POLICY
        );
        let mut out = Vec::new();
        let replayed = crate::replay::run(v1, Path::new("2929.jsonl"), log.as_bytes(), &mut out);
        match replayed {
            Ok(_) => code_block(&mut s, "json", &String::from_utf8_lossy(&out)),
            Err(e) => {
                let _ = writeln!(s, "**Replay failed**: {e}\n");
            }
        }
    }

    // Reproduce.
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
        "livecheck replay --policy {} 2929.jsonl",
        super::INCIDENT_POLICY
    );
    let _ = writeln!(
        cmds,
        "livecheck explain {} --env {} --property {}",
        super::FIX_POLICY,
        super::INCIDENT_ENV,
        super::INCIDENT_PROPERTY
    );
    let _ = writeln!(cmds, "{REGENERATE}");
    code_block(&mut s, "sh", &cmds);
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}
