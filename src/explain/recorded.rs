//! `explain --from proofs/POLICY.ENV.json`: an explanation from a recorded
//! proof instead of a new search.
//!
//! A proof records, beside each run's narrated timeline, the model actions
//! of that run (`actions`, `worst_case_actions`: see [`crate::report`]).
//! The run is rebuilt by replaying those actions from the model's initial
//! state, the way the checker itself rebuilds a path from its parent links;
//! nothing is searched. The proof is trusted only when it still describes
//! the files and the model: the policy and environment it names are found
//! (beside the proof's directory in `models/`, else as shipped names), their
//! SHA-256, the model version and livecheck's version must match what the
//! proof records ([`crate::provenance::stale_reason`]), every action must be
//! one the model allows at that point, and the replayed timeline must equal
//! the recorded one line for line. Anything else is an error naming the
//! file and the reason (exit 2): a stale proof is never rendered as if it
//! were current.

use crate::check::{CheckOptions, PairResult, PropertyResult, Verdict};
use crate::environment::Environment;
use crate::error::InputError;
use crate::model::properties::CONTRACT;
use crate::model::search::Trail;
use crate::model::{Action, World};
use crate::policy::Policy;
use serde_json::Value;
use stateright::Model;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The pair a proof file records, rebuilt as a finished check (every
/// property's verdict, run and worst case as recorded). See the module docs
/// for what is checked before it is trusted.
pub fn pair_from_proof(file: &Path) -> Result<PairResult, InputError> {
    let proof = crate::provenance::read_proof(file)?;
    let fail = |reason: String| InputError::new(reason).in_file(file);
    let name = |key: &str| {
        proof[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| fail(format!("no \"{key}\" name")).at_key(key))
    };
    let policy_file = model_file(file, &name("policy")?, "policies", "policy")?;
    let env_file = model_file(file, &name("environment")?, "environments", "environment")?;
    let policy = Policy::load(&policy_file)?;
    let env = Environment::load(&env_file)?;
    if let Some(why) =
        crate::provenance::stale_reason(&proof, &policy.source_sha256.0, &env.source_sha256.0)
    {
        return Err(fail(format!(
            "this proof no longer describes {} × {} ({} and {}): {why}; \
             re-check with `livecheck check {} --env {} --write-proofs DIR`",
            policy.name,
            env.name,
            policy_file.display(),
            env_file.display(),
            policy_file.display(),
            env_file.display(),
        )));
    }
    let world = World::new(policy, env);
    let mut properties = Vec::with_capacity(CONTRACT.len());
    for (name, p, verdict) in crate::diff::outcome::recorded_verdicts(&proof, file)? {
        let violated = verdict == Verdict::Violated;
        let timeline_key = if violated {
            "counterexample"
        } else {
            "example"
        };
        let trail =
            run(&world, p, name, "actions", timeline_key, violated).map_err(|e| e.in_file(file))?;
        let worst_case_trail = run(
            &world,
            p,
            name,
            "worst_case_actions",
            "worst_case_path",
            false,
        )
        .map_err(|e| e.in_file(file))?;
        properties.push(PropertyResult {
            name,
            verdict,
            trail,
            worst_case_ms: p["worst_case_ms"].as_u64(),
            worst_case_trail,
        });
    }
    let count = |key: &str| {
        proof[key]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| fail(format!("no \"{key}\" count")).at_key(key))
    };
    Ok(PairResult {
        complete: proof["complete"] == true,
        states: count("states")?,
        unique_states: count("unique_states")?,
        max_depth: count("max_depth")?,
        elapsed: Duration::ZERO,
        stopped_by: proof["stopped_by"].as_str().map(stop_word),
        properties,
        visited_bytes: 0,
        options: CheckOptions::default(),
        world,
    })
}

/// The policy or environment file a proof names: `models/DIR/NAME.toml`
/// beside the proof's directory (`proofs/` sits beside `models/`), else the
/// shipped name `NAME` as every command resolves it.
fn model_file(proof: &Path, name: &str, dir: &str, what: &str) -> Result<PathBuf, InputError> {
    let beside = proof
        .parent()
        .and_then(Path::parent)
        .map(|root| root.join("models").join(dir).join(format!("{name}.toml")));
    if let Some(f) = beside.filter(|f| f.is_file()) {
        return Ok(f);
    }
    crate::diff::resolve(name, dir, what).map_err(|e| {
        InputError::new(format!(
            "the proof names {what} {name:?}, which is neither beside it (models/{dir}/) nor shipped: {e}"
        ))
        .in_file(proof)
    })
}

/// The run recorded under `actions_key` of property `p`, rebuilt from the
/// model's initial state and checked against the timeline under
/// `timeline_key`; `None` when the proof records no run there.
fn run(
    world: &World,
    p: &Value,
    name: &str,
    actions_key: &str,
    timeline_key: &str,
    violation: bool,
) -> Result<Option<Trail>, InputError> {
    let key = format!("{name}.{actions_key}");
    let recorded = p.get(timeline_key).filter(|v| !v.is_null());
    let Some(actions) = p.get(actions_key).filter(|v| !v.is_null()) else {
        return match recorded {
            None => Ok(None),
            Some(_) => Err(InputError::new(format!(
                "property {name} records a run ({timeline_key}) but not its model actions \
                 ({actions_key}): the proof was written by a livecheck that did not record them; \
                 re-check with --write-proofs"
            ))
            .at_key(key)),
        };
    };
    let actions: Vec<Action> = serde_json::from_value(actions.clone()).map_err(|e| {
        InputError::new(format!("property {name}: malformed model actions: {e}")).at_key(&key)
    })?;
    let trail = replay(world, &actions).map_err(|e| e.at_key(&key))?;
    let timeline = crate::trace::timeline(world, &trail, violation);
    let rebuilt = serde_json::to_value(&timeline).unwrap_or(Value::Null);
    if recorded != Some(&rebuilt) {
        let at = match (recorded.and_then(Value::as_array), rebuilt.as_array()) {
            (Some(old), Some(new)) => old
                .iter()
                .zip(new)
                .position(|(a, b)| a != b)
                .unwrap_or(old.len().min(new.len())),
            _ => 0,
        };
        return Err(InputError::new(format!(
            "property {name}: the recorded timeline ({timeline_key}) is not the one its model \
             actions replay to (first difference at line {}); the proof was edited or written \
             from another model",
            at + 1
        ))
        .at_key(format!("{name}.{timeline_key}")));
    }
    Ok(Some(trail))
}

/// Replays `actions` from the initial state; an action the model does not
/// allow where it stands is an error naming the step.
pub fn replay(world: &World, actions: &[Action]) -> Result<Trail, InputError> {
    let init = world.initial();
    let mut state = init;
    let mut steps = Vec::with_capacity(actions.len());
    let mut enabled = Vec::new();
    for (i, &action) in actions.iter().enumerate() {
        enabled.clear();
        world.actions(&state, &mut enabled);
        let next = enabled
            .contains(&action)
            .then(|| world.next_state(&state, action))
            .flatten()
            .ok_or_else(|| {
                InputError::new(format!(
                    "step {}: the model does not allow {action:?} there (allowed: {enabled:?})",
                    i + 1
                ))
            })?;
        steps.push((action, next));
        state = next;
    }
    Ok(Trail { init, steps })
}

/// A recorded `stopped_by` word as the checker's own (`'static`) word.
fn stop_word(s: &str) -> &'static str {
    crate::engine::Stop::ALL
        .into_iter()
        .map(crate::engine::Stop::word)
        .find(|w| *w == s)
        .unwrap_or("bound")
}
