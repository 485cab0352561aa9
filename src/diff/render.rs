//! `diff`'s three outputs: text for a terminal, the contract's JSON, and
//! markdown for a pull-request comment or a CI job summary. Timelines are
//! the checker's own ([`crate::trace::render_text`]).

use super::outcome::{Outcome, Source};
use super::{Change, Diff, EnvDiff, Row};
use crate::check::Verdict;
use crate::duration::Human;
use crate::model::properties;
use crate::trace::{self, Entry};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The timeline that shows a change: for a regression the new policy's
/// shortest counterexample, for a fix the old one's; when the property is
/// a `sometimes` one (nothing to counter), the example of the side that
/// has one. Returns (which side, its timeline, a sentence saying what it is).
pub fn evidence<'a>(e: &'a EnvDiff, row: &Row<'_>) -> Option<(&'static str, &'a [Entry], String)> {
    let get = |o: &'a Outcome| o.property(row.property).and_then(|p| p.timeline.as_deref());
    let sometimes = properties::SOMETIMES.contains(&row.property);
    match (row.change, sometimes) {
        (Change::Regressed, false) => get(&e.new).map(|t| {
            (
                "new",
                t,
                "the new policy's shortest counterexample".to_string(),
            )
        }),
        (Change::Regressed, true) => get(&e.old).map(|t| {
            (
                "old",
                t,
                "no run of the new policy reaches this any more; the old policy's shortest example"
                    .to_string(),
            )
        }),
        (Change::Fixed, false) => get(&e.old).map(|t| {
            (
                "old",
                t,
                "the old policy's shortest counterexample, which the new policy rules out"
                    .to_string(),
            )
        }),
        (Change::Fixed, true) => {
            get(&e.new).map(|t| ("new", t, "the new policy's shortest example".to_string()))
        }
        _ => None,
    }
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "✓ holds",
        Verdict::Violated => "✗ violated",
        Verdict::Inconclusive => "? inconclusive",
    }
}

fn worst(w: Option<(u64, bool)>) -> String {
    match w {
        None => "–".into(),
        Some((ms, true)) => format!("≥ {}", Human(ms)),
        Some((ms, false)) => Human(ms).to_string(),
    }
}

fn lengths(r: &Row<'_>) -> String {
    match r.lengths {
        (Some(a), Some(b)) if a != b && r.change == Change::Same => {
            format!("shortest run {a} → {b} lines")
        }
        _ => String::new(),
    }
}

fn source(o: &Outcome) -> String {
    match &o.source {
        Source::Checked => "checked".into(),
        Source::Proof(f) => format!("proof {}", f.display()),
    }
}

fn summary(d: &Diff) -> String {
    let (regressed, fixed, same, inconclusive) = d.counts();
    format!("{regressed} regressed, {fixed} fixed, {same} same, {inconclusive} inconclusive")
}

/// The text report.
pub fn text(d: &Diff, colour: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "livecheck diff {} → {}\n", d.old.name, d.new.name);
    if d.knobs.is_empty() {
        let _ = writeln!(s, "knobs: none differ");
    } else {
        let _ = writeln!(s, "knobs:");
        let w = d.knobs.iter().map(|k| k.key.len()).max().unwrap_or(0);
        for k in &d.knobs {
            let _ = writeln!(s, "  {:<w$}  {} → {}", k.key, k.old, k.new);
        }
    }
    let rows = d.rows();
    let _ = writeln!(
        s,
        "\n{:<12} {:<28} {:<15} {:<15} change",
        "environment", "property", "old", "new"
    );
    for r in &rows {
        let change = match r.change {
            Change::Regressed => "REGRESSED",
            Change::Fixed => "FIXED",
            c => c.word(),
        };
        let _ = writeln!(
            s,
            "{:<12} {:<28} {:<15} {:<15} {change}{}",
            r.environment,
            r.property,
            mark(r.old),
            mark(r.new),
            match lengths(r) {
                l if l.is_empty() => l,
                l => format!("  ({l})"),
            }
        );
    }
    let _ = writeln!(s, "\n{}", summary(d));
    let _ = writeln!(s, "\nworst-case detection latency (old → new):");
    for e in &d.envs {
        let _ = writeln!(
            s,
            "  {}: {} → {} (bound {}; old {}, new {})",
            e.env.name,
            worst(e.old.worst_case),
            worst(e.new.worst_case),
            Human(e.env.detection_bound),
            source(&e.old),
            source(&e.new),
        );
    }
    for e in &d.envs {
        let _ = writeln!(s, "{}", crate::provenance::assumptions_text(&e.env));
    }
    for r in &rows {
        let env = d.envs.iter().find(|e| e.env.name == r.environment);
        let Some((_, timeline, what)) = env.and_then(|e| evidence(e, r)) else {
            continue;
        };
        let _ = writeln!(
            s,
            "\n{} {} × {}: {} ({} → {}): {what}",
            if r.change == Change::Regressed {
                "REGRESSED"
            } else {
                "FIXED"
            },
            r.environment,
            r.property,
            r.property,
            r.old.word(),
            r.new.word(),
        );
        let why =
            (!properties::SOMETIMES.contains(&r.property)).then(|| properties::why(r.property));
        let _ = write!(s, "{}", trace::render_text(timeline, why, colour));
    }
    s
}

/// The contract's JSON (with the sources, the assumptions and the
/// timelines of every change besides).
pub fn json(d: &Diff) -> Value {
    let rows = d.rows();
    let verdicts: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = json!({
                "environment": r.environment,
                "property": r.property,
                "kind": crate::report::kind(r.property),
                "old": r.old.word(),
                "new": r.new.word(),
                "change": r.change.word(),
            });
            if let (Some(a), Some(b)) = r.lengths {
                v["old_shortest_lines"] = json!(a);
                v["new_shortest_lines"] = json!(b);
            }
            v
        })
        .collect();
    let latency: Vec<Value> = d
        .envs
        .iter()
        .map(|e| {
            json!({
                "environment": e.env.name,
                "old_worst_case_ms": e.old.worst_case.map(|w| w.0),
                "old_at_least": e.old.worst_case.is_some_and(|w| w.1),
                "new_worst_case_ms": e.new.worst_case.map(|w| w.0),
                "new_at_least": e.new.worst_case.is_some_and(|w| w.1),
                "bound_ms": e.env.detection_bound,
            })
        })
        .collect();
    let mut evidence_json = Vec::new();
    for r in &rows {
        let Some(e) = d.envs.iter().find(|e| e.env.name == r.environment) else {
            continue;
        };
        if let Some((side, timeline, what)) = evidence(e, r) {
            evidence_json.push(json!({
                "environment": r.environment,
                "property": r.property,
                "change": r.change.word(),
                "side": side,
                "what": what,
                "timeline": timeline,
            }));
        }
    }
    let sources: Vec<Value> = d
        .envs
        .iter()
        .flat_map(|e| {
            [("old", &e.old), ("new", &e.new)].map(|(side, o)| {
                json!({
                    "environment": e.env.name,
                    "side": side,
                    "from": match &o.source { Source::Checked => "check", Source::Proof(_) => "proof" },
                    "file": match &o.source { Source::Proof(f) => Some(f.display().to_string()), Source::Checked => None },
                })
            })
        })
        .collect();
    let (regressed, fixed, same, inconclusive) = d.counts();
    json!({
        "schema_version": crate::provenance::SCHEMA_VERSION,
        "livecheck_version": crate::provenance::TOOL_VERSION,
        "old": d.old.name,
        "new": d.new.name,
        "old_sha256": d.old.source_sha256.0,
        "new_sha256": d.new.source_sha256.0,
        "knobs": d.knobs.iter().map(|k| json!({"key": k.key, "old": k.old, "new": k.new})).collect::<Vec<_>>(),
        "verdicts": verdicts,
        "latency": latency,
        "counterexamples": evidence_json,
        "summary": {"regressed": regressed, "fixed": fixed, "same": same, "inconclusive": inconclusive},
        "sources": sources,
        "assumptions": d.envs.iter().map(|e| json!({
            "environment": e.env.name,
            "budgets": crate::provenance::assumptions(&e.env),
        })).collect::<Vec<_>>(),
    })
}

/// Markdown: a summary line, the knob table, the verdict table (changes
/// first), the latency table, the assumptions, and each change's timeline
/// in a collapsed block.
pub fn markdown(d: &Diff) -> String {
    let mut s = String::new();
    let (regressed, ..) = d.counts();
    let _ = writeln!(
        s,
        "### livecheck diff: `{}` → `{}`\n\n{}{}\n",
        d.old.name,
        d.new.name,
        if regressed > 0 { "❌ " } else { "" },
        summary(d)
    );
    if d.knobs.is_empty() {
        s.push_str("No knob differs.\n\n");
    } else {
        s.push_str("| knob | old | new |\n|---|---|---|\n");
        for k in &d.knobs {
            let _ = writeln!(s, "| `{}` | {} | {} |", k.key, k.old, k.new);
        }
        s.push('\n');
    }
    let mut rows = d.rows();
    let rank = |c: Change| match c {
        Change::Regressed => 0,
        Change::Fixed => 1,
        Change::Inconclusive => 2,
        Change::Same => 3,
    };
    rows.sort_by_key(|r| rank(r.change));
    s.push_str("| environment | property | old | new | change |\n|---|---|---|---|---|\n");
    for r in &rows {
        let change = match r.change {
            Change::Regressed => "**regressed**".to_string(),
            Change::Fixed => "**fixed**".to_string(),
            c => match lengths(r) {
                l if l.is_empty() => c.word().to_string(),
                l => format!("{} ({l})", c.word()),
            },
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {change} |",
            r.environment,
            r.property,
            mark(r.old),
            mark(r.new)
        );
    }
    s.push_str("\n| environment | worst-case detection, old | new | bound |\n|---|---|---|---|\n");
    for e in &d.envs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            e.env.name,
            worst(e.old.worst_case),
            worst(e.new.worst_case),
            Human(e.env.detection_bound)
        );
    }
    s.push('\n');
    for e in &d.envs {
        let _ = writeln!(s, "- {}", crate::provenance::assumptions_text(&e.env));
    }
    for r in &rows {
        let Some(e) = d.envs.iter().find(|e| e.env.name == r.environment) else {
            continue;
        };
        let Some((_, timeline, what)) = evidence(e, r) else {
            continue;
        };
        let why =
            (!properties::SOMETIMES.contains(&r.property)).then(|| properties::why(r.property));
        let _ = writeln!(
            s,
            "\n<details><summary>{} × <code>{}</code> {}: {what}</summary>\n\n```text\n{}```\n\n</details>",
            r.environment,
            r.property,
            r.change.word(),
            trace::render_text(timeline, why, false)
        );
    }
    s
}
