//! Reports of a check: the contract's JSON, the text matrix, and the proofs
//! files (`proofs/POLICY.ENVIRONMENT.json`).

use crate::check::{PairResult, PropertyResult, Verdict};
use crate::model::properties::{self, CONTRACT, SHORT};
use crate::trace;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Bytes the checker holds per distinct state at the end of a search: the
/// visited set (packed states, parent links and the table's free slots)
/// divided by the unique states. The unpacked `WorldState` is larger, but
/// only a level's worth of them exists at a time.
pub fn stored_bytes_per_state(pair: &PairResult) -> usize {
    pair.visited_bytes / pair.unique_states.max(1)
}

/// `always` or `sometimes`: how a property is checked.
pub fn kind(name: &str) -> &'static str {
    if properties::SOMETIMES.contains(&name) {
        "sometimes"
    } else {
        "always"
    }
}

/// The model actions of a run, in order, from the initial state: what
/// `explain --from` replays to rebuild the run exactly
/// ([`crate::explain::recorded`]).
fn actions_json(trail: &crate::model::search::Trail) -> Value {
    serde_json::to_value(trail.steps.iter().map(|(a, _)| a).collect::<Vec<_>>())
        .unwrap_or(Value::Null)
}

fn property_json(pair: &PairResult, p: &PropertyResult) -> Value {
    let mut v = json!({ "name": p.name, "verdict": p.verdict.word(), "kind": kind(p.name) });
    let world = &pair.world;
    if p.name == "dead_detected_within" {
        // The bound this property was checked with, and how far past a
        // crash the worst case is measured.
        v["bound_ms"] = json!(world.env.detection_bound);
        v["horizon_ms"] = json!(world.env.latency_horizon);
    }
    if let Some(trail) = &p.trail {
        let key = if p.verdict == Verdict::Violated {
            "counterexample"
        } else {
            "example"
        };
        let steps = trace::timeline(world, trail, p.verdict == Verdict::Violated);
        v[key] = serde_json::to_value(steps).unwrap_or(Value::Null);
        v["actions"] = actions_json(trail);
    }
    if p.verdict == Verdict::Violated {
        v["why"] = json!(properties::why(p.name));
    }
    if let Some(ms) = p.worst_case_ms {
        v["worst_case_ms"] = json!(ms);
        if p.verdict != Verdict::Holds {
            // Over the bound, or the search stopped: a lower bound.
            v["worst_case_at_least"] = json!(true);
        }
    }
    if let Some(trail) = &p.worst_case_trail {
        v["worst_case_path"] =
            serde_json::to_value(trace::timeline(world, trail, false)).unwrap_or(Value::Null);
        v["worst_case_actions"] = actions_json(trail);
    }
    v
}

/// The bounds a pair's search ran under (`null`: none).
pub fn search_json(pair: &PairResult) -> Value {
    json!({
        "max_states": pair.options.max_states,
        "timeout_s": pair.options.timeout.map(|t| t.as_secs()),
        "exhaustive": pair.options.exhaustive,
    })
}

/// One pair as the contract's JSON object. `with_time` includes
/// `elapsed_ms` (left out of proofs files so they are reproducible).
///
/// Besides the contract's fields it records what the verdicts were
/// computed from ([`crate::provenance`]): `schema_version`,
/// `livecheck_version`, `model_version`, `policy_sha256`,
/// `environment_sha256`; the search bounds (`search`) and the environment's
/// budgets a ✓ rests on (`assumptions`).
pub fn pair_json(pair: &PairResult, with_time: bool) -> Value {
    use crate::provenance;
    let mut v = json!({
        "schema_version": provenance::SCHEMA_VERSION,
        "livecheck_version": provenance::TOOL_VERSION,
        "model_version": crate::model::MODEL_VERSION,
        "policy_sha256": pair.world.policy.source_sha256.0,
        "environment_sha256": pair.world.env.source_sha256.0,
        "search": search_json(pair),
        "assumptions": provenance::assumptions(&pair.world.env),
        "policy": pair.world.policy.name,
        "environment": pair.world.env.name,
        "complete": pair.complete,
        "states": pair.states,
        "unique_states": pair.unique_states,
        "max_depth": pair.max_depth,
        "properties": pair.properties.iter().map(|p| property_json(pair, p)).collect::<Vec<_>>(),
    });
    if with_time {
        v["elapsed_ms"] = json!(pair.elapsed.as_millis() as u64);
        v["bytes_per_state"] = json!(stored_bytes_per_state(pair));
        v["packed_words"] = json!(crate::engine::Packable::words(&pair.world));
    }
    if let Some(why) = pair.stopped_by {
        v["stopped_by"] = json!(why);
    }
    v
}

/// Every pair as `{"results": [...]}`, with the schema and tool version.
pub fn results_json(pairs: &[PairResult]) -> Value {
    json!({
        "schema_version": crate::provenance::SCHEMA_VERSION,
        "livecheck_version": crate::provenance::TOOL_VERSION,
        "results": pairs.iter().map(|p| pair_json(p, true)).collect::<Vec<_>>(),
    })
}

/// The assumptions of every environment in `pairs` (once each), one line
/// each, for under the matrix.
pub fn assumptions_lines(pairs: &[PairResult]) -> String {
    let mut s = String::new();
    let mut seen = Vec::new();
    for p in pairs {
        if seen.contains(&&p.world.env.name) {
            continue;
        }
        seen.push(&p.world.env.name);
        let _ = writeln!(s, "{}", crate::provenance::assumptions_text(&p.world.env));
    }
    s
}

/// The matrix as a markdown table (for a CI job summary or a PR comment).
pub fn render_markdown(pairs: &[PairResult]) -> String {
    let mut s = String::from("| policy × environment |");
    for name in CONTRACT {
        let _ = write!(s, " `{name}` |");
    }
    s.push_str(" worst-case detection |\n|---|");
    for _ in CONTRACT {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for p in pairs {
        let _ = write!(s, "| {} × {} |", p.world.policy.name, p.world.env.name);
        for r in &p.properties {
            let _ = write!(s, " {} |", symbol(r.verdict));
        }
        let worst = p
            .property("dead_detected_within")
            .and_then(|r| r.worst_case_ms.map(|ms| (ms, r.verdict != Verdict::Holds)));
        match worst {
            Some((ms, at_least)) => {
                let _ = writeln!(
                    s,
                    " {}{} |",
                    if at_least { "≥ " } else { "" },
                    crate::duration::Human(ms)
                );
            }
            None => s.push_str(" – |\n"),
        }
    }
    s.push_str("\n✓ holds · ✗ violated · ? inconclusive\n\n");
    for line in assumptions_lines(pairs).lines() {
        let _ = writeln!(s, "- {line}");
    }
    s
}

fn symbol(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "✓",
        Verdict::Violated => "✗",
        Verdict::Inconclusive => "?",
    }
}

/// The text report: the matrix (pairs × properties), then each violation's
/// shortest counterexample as a timeline.
pub fn render_text(pairs: &[PairResult], colour: bool) -> String {
    let mut s = String::new();
    let width = pairs
        .iter()
        .map(|p| p.world.policy.name.len() + p.world.env.name.len() + 3)
        .max()
        .unwrap_or(10)
        .max(12);
    let _ = write!(s, "{:<width$}", "policy × env");
    for h in SHORT {
        let _ = write!(s, " {h:^11}");
    }
    let _ = writeln!(s, "  states     time");
    for p in pairs {
        let label = format!("{} × {}", p.world.policy.name, p.world.env.name);
        let _ = write!(s, "{label:<width$}");
        for r in &p.properties {
            let _ = write!(s, " {:^11}", symbol(r.verdict));
        }
        let _ = writeln!(
            s,
            "  {:<9}  {:.1}s{}",
            p.unique_states,
            p.elapsed.as_secs_f64(),
            match (p.complete, p.stopped_by) {
                (true, _) => "",
                (false, Some("all-decided")) => " (every verdict decided)",
                (false, _) => " (incomplete)",
            }
        );
    }
    let _ = writeln!(
        s,
        "\n✓ holds   ✗ violated   ? inconclusive (search stopped by a bound)   columns: {}",
        CONTRACT.join(", ")
    );
    s.push_str(&assumptions_lines(pairs));
    for p in pairs {
        if let Some(r) = p.property("dead_detected_within") {
            if let Some(ms) = r.worst_case_ms {
                // Only a complete search that found the bound kept gives
                // the worst case itself; otherwise the mark is a lower bound.
                let _ = writeln!(
                    s,
                    "{} × {}: worst-case detection latency {}{} (bound {}){}",
                    p.world.policy.name,
                    p.world.env.name,
                    if r.verdict == Verdict::Holds {
                        ""
                    } else {
                        "at least "
                    },
                    crate::duration::Human(ms),
                    crate::duration::Human(p.world.env.detection_bound),
                    if r.verdict == Verdict::Inconclusive {
                        ", search incomplete"
                    } else {
                        ""
                    },
                );
            }
        }
    }
    for p in pairs {
        for r in &p.properties {
            if r.verdict != Verdict::Violated {
                continue;
            }
            let _ = writeln!(
                s,
                "\n{} × {}: {} VIOLATED",
                p.world.policy.name, p.world.env.name, r.name
            );
            match &r.trail {
                Some(trail) => {
                    let steps = trace::timeline(&p.world, trail, true);
                    let _ = write!(
                        s,
                        "{}",
                        trace::render_text(&steps, Some(properties::why(r.name)), colour)
                    );
                }
                None => {
                    let _ = writeln!(s, "     {}.", properties::why(r.name));
                }
            }
        }
    }
    s
}
