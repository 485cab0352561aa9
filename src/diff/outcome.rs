//! One policy's outcome in one environment, as `diff` compares it: the
//! verdicts, the worst-case detection latency and the shortest timelines,
//! taken from a fresh check or from a recorded proof (`proofs/*.json`)
//! that was computed from the same inputs.

use crate::check::{PairResult, Verdict};
use crate::duration::Ms;
use crate::error::InputError;
use crate::model::properties::CONTRACT;
use crate::trace::{self, Entry, Knew};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where an outcome comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Checked in this run.
    Checked,
    /// Read from this proof file (same policy, environment, model and
    /// livecheck version).
    Proof(PathBuf),
}

/// One property's verdict and its shortest timeline, if any.
#[derive(Debug, Clone)]
pub struct PropertyOutcome {
    /// Contract name.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// The shortest counterexample (a violated `always` property) or
    /// example (a `sometimes` property that holds).
    pub timeline: Option<Vec<Entry>>,
}

/// A policy's outcome in one environment.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every contract property, in contract order.
    pub properties: Vec<PropertyOutcome>,
    /// Worst-case detection latency and whether it is only a lower bound.
    pub worst_case: Option<(Ms, bool)>,
    /// The environment's detection bound.
    pub bound: Ms,
    /// Where it comes from.
    pub source: Source,
}

impl Outcome {
    /// The named property.
    pub fn property(&self, name: &str) -> Option<&PropertyOutcome> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// From a fresh check.
    pub fn from_check(pair: &PairResult) -> Outcome {
        let properties = pair
            .properties
            .iter()
            .map(|p| PropertyOutcome {
                name: p.name,
                verdict: p.verdict,
                timeline: p
                    .trail
                    .as_ref()
                    .map(|t| trace::timeline(&pair.world, t, p.verdict == Verdict::Violated)),
            })
            .collect();
        let worst_case = pair
            .property("dead_detected_within")
            .and_then(|p| p.worst_case_ms.map(|ms| (ms, p.verdict != Verdict::Holds)));
        Outcome {
            properties,
            worst_case,
            bound: pair.world.env.detection_bound,
            source: Source::Checked,
        }
    }

    /// From a proof's JSON (`report::pair_json`); `has_settle_window` says
    /// how the knowledge column shows the settle window. An error names
    /// what is missing.
    pub fn from_proof(
        proof: &Value,
        file: PathBuf,
        has_settle_window: bool,
        bound: Ms,
    ) -> Result<Outcome, InputError> {
        let fail = |reason: String| InputError::new(reason).in_file(&file);
        let mut properties = Vec::new();
        let mut worst_case = None;
        for (name, p, verdict) in recorded_verdicts(proof, &file)? {
            let steps = p
                .get("counterexample")
                .or_else(|| p.get("example"))
                .and_then(Value::as_array);
            let timeline = match steps {
                None => None,
                Some(steps) => Some(
                    steps
                        .iter()
                        .map(|s| entry(s, has_settle_window))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            fail(format!("property {name}: a malformed timeline step"))
                        })?,
                ),
            };
            if let Some(ms) = p["worst_case_ms"].as_u64() {
                worst_case = Some((ms, p["worst_case_at_least"] == true));
            }
            properties.push(PropertyOutcome {
                name,
                verdict,
                timeline,
            });
        }
        Ok(Outcome {
            properties,
            worst_case,
            bound,
            source: Source::Proof(file),
        })
    }
}

/// Every contract property's entry in a proof's JSON and its verdict, in
/// contract order; an error naming `file` and what is missing or malformed.
pub fn recorded_verdicts<'a>(
    proof: &'a Value,
    file: &Path,
) -> Result<Vec<(&'static str, &'a Value, Verdict)>, InputError> {
    let fail = |reason: String| InputError::new(reason).in_file(file);
    let props = proof["properties"]
        .as_array()
        .ok_or_else(|| fail("no \"properties\" array".into()))?;
    CONTRACT
        .iter()
        .map(|&name| {
            let p = props
                .iter()
                .find(|p| p["name"] == name)
                .ok_or_else(|| fail(format!("no verdict for property {name}")))?;
            let verdict = p["verdict"]
                .as_str()
                .and_then(Verdict::from_word)
                .ok_or_else(|| {
                    fail(format!(
                        "property {name}: verdict {} is not holds, violated or inconclusive",
                        p["verdict"]
                    ))
                    .at_key(format!("{name}.verdict"))
                })?;
            Ok((name, p, verdict))
        })
        .collect()
}

/// A recorded word as the `'static` one the timeline holds. Timelines keep
/// `&'static str` words; a proof's few dozen distinct words are leaked once
/// per run, which a command-line run can afford.
fn word(v: &Value) -> Option<&'static str> {
    v.as_str()
        .map(|s| &*Box::leak(s.to_owned().into_boxed_str()))
}

/// One timeline line from its JSON (`trace::Entry` as serialized).
fn entry(v: &Value, has_settle_window: bool) -> Option<Entry> {
    let k = &v["knew"];
    let knew = Knew {
        restart_age_ms: k["restart_age_ms"].as_u64(),
        restart_old: k["restart_old"].as_bool()?,
        heartbeat_age_ms: k["heartbeat_age_ms"].as_u64(),
        heartbeat_old: k["heartbeat_old"].as_bool()?,
        strikes: u8::try_from(k["strikes"].as_u64()?).ok()?,
        settling: k["settling"].as_bool()?,
        recent_heartbeat: k["recent_heartbeat"].as_bool()?,
        restarting: k["restarting"].as_bool()?,
        has_settle_window,
    };
    Some(Entry {
        t_ms: v["t_ms"].as_u64()?,
        actor: trace::Actor::from_word(v["actor"].as_str()?)?,
        action: trace::What::from_word(v["action"].as_str()?)?,
        detail: v["detail"].as_str()?.to_owned(),
        req: match v.get("req") {
            None | Some(Value::Null) => None,
            Some(r) => Some(r.as_str()?.strip_prefix('r')?.parse().ok()?),
        },
        result: v.get("result").and_then(word),
        restart: v.get("restart").and_then(word),
        knew,
        container: word(&v["container"])?,
        violation: v["violation"] == true,
        step: 0,
    })
}
