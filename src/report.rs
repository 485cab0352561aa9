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

fn property_json(pair: &PairResult, p: &PropertyResult) -> Value {
    let mut v = json!({ "name": p.name, "verdict": p.verdict.word() });
    let world = &pair.world;
    if let Some(trail) = &p.trail {
        let key = if p.verdict == Verdict::Violated {
            "counterexample"
        } else {
            "example"
        };
        let steps = trace::timeline(world, trail, p.verdict == Verdict::Violated);
        v[key] = serde_json::to_value(steps).unwrap_or(Value::Null);
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
    }
    v
}

/// One pair as the contract's JSON object. `with_time` includes
/// `elapsed_ms` (left out of proofs files so they are reproducible).
pub fn pair_json(pair: &PairResult, with_time: bool) -> Value {
    let mut v = json!({
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

/// Every pair as `{"results": [...]}`.
pub fn results_json(pairs: &[PairResult]) -> Value {
    json!({ "results": pairs.iter().map(|p| pair_json(p, true)).collect::<Vec<_>>() })
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
