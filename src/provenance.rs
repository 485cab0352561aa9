//! What a verdict was computed from: the SHA-256 of the policy and
//! environment files, livecheck's version and the model's fingerprint
//! ([`crate::model::MODEL_VERSION`]). Every proof (`proofs/*.json`) records
//! them, so a reader (`livecheck diff`, `check --baseline`) can tell a proof
//! that still describes these inputs from a stale one, and the assumptions
//! a ✓ rests on (the environment's budgets).

use crate::environment::Environment;
use crate::model::MODEL_VERSION;
use serde_json::{json, Value};

/// Version of the JSON that `check` prints and `proofs/` hold. Version 2
/// added the provenance (`livecheck_version`, `model_version`, the
/// hashes), each property's `kind`, the search bounds and the assumptions.
pub const SCHEMA_VERSION: u64 = 2;

/// livecheck's own version (`Cargo.toml`).
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

pub use crate::sha256::SourceHash;

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::sha256::hex(bytes)
}

/// The environment's budgets a ✓ rests on: a property that holds holds
/// for runs within them, not beyond.
pub fn assumptions(env: &Environment) -> Value {
    json!({
        "spurious_not_running": env.spurious_not_running,
        "transport_errors": env.transport_errors,
        "config_puts": env.config_puts,
        "manual_restarts": env.manual_restarts,
        "max_in_flight": env.max_in_flight,
        "tick_ms": env.tick,
        "may_crash": env.may_crash,
    })
}

/// The assumptions in one sentence, for the text report.
pub fn assumptions_text(env: &Environment) -> String {
    let n = |k: u8, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    format!(
        "{}: a ✓ assumes at most {}, {}, {} and {} per run, at most {} in flight, world events on a {} grid{}",
        env.name,
        n(env.spurious_not_running, "spurious not-running answer", "spurious not-running answers"),
        n(env.transport_errors, "probe transport error", "probe transport errors"),
        n(env.config_puts, "config PUT", "config PUTs"),
        n(env.manual_restarts, "manual restart", "manual restarts"),
        n(env.max_in_flight, "request", "requests"),
        crate::duration::Human(env.tick),
        if env.may_crash { "" } else { ", no crash" },
    )
}

/// Reads and parses a proof file (`proofs/POLICY.ENV.json`); an unreadable
/// or malformed one is an error naming the file (and the line).
pub fn read_proof(file: &std::path::Path) -> Result<Value, crate::error::InputError> {
    let text = crate::input::read_text_file(file, "proof file", 1 << 28)?;
    serde_json::from_str(&text).map_err(|e| {
        crate::error::InputError::new(format!("malformed proof file: {e}"))
            .in_file(file)
            .at_line(e.line())
    })
}

/// Why a recorded proof (the JSON of one pair) does not describe checking
/// a policy whose file hashes to `policy_sha256` in an environment whose
/// file hashes to `env_sha256` with this livecheck; `None` when it does.
pub fn stale_reason(proof: &Value, policy_sha256: &str, env_sha256: &str) -> Option<String> {
    let schema = proof["schema_version"].as_u64();
    if schema != Some(SCHEMA_VERSION) {
        return Some(match schema {
            None => {
                "it records no schema_version (written before proofs recorded their inputs)".into()
            }
            Some(v) => format!("schema version {v}, this livecheck writes {SCHEMA_VERSION}"),
        });
    }
    let model = proof["model_version"].as_u64();
    if model != Some(u64::from(MODEL_VERSION)) {
        return Some(format!(
            "model version {}, this livecheck checks model version {MODEL_VERSION}",
            model.map_or("missing".into(), |v| v.to_string())
        ));
    }
    let tool = proof["livecheck_version"].as_str();
    if tool != Some(TOOL_VERSION) {
        return Some(format!(
            "computed by livecheck {}, this is {TOOL_VERSION}",
            tool.unwrap_or("(unknown)")
        ));
    }
    if proof["policy_sha256"].as_str() != Some(policy_sha256) {
        return Some("the policy file changed since (its SHA-256 differs)".into());
    }
    if proof["environment_sha256"].as_str() != Some(env_sha256) {
        return Some("the environment file changed since (its SHA-256 differs)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_hashes_are_provenance_not_meaning() {
        assert_eq!(SourceHash::of(b"a"), SourceHash::of(b"b"));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_proof_without_provenance_is_stale() {
        let why = stale_reason(&json!({"policy": "x"}), "a", "b").unwrap();
        assert!(why.contains("schema_version"), "{why}");
        let good = json!({
            "schema_version": SCHEMA_VERSION,
            "model_version": MODEL_VERSION,
            "livecheck_version": TOOL_VERSION,
            "policy_sha256": "a",
            "environment_sha256": "b",
        });
        assert_eq!(stale_reason(&good, "a", "b"), None);
        assert!(stale_reason(&good, "c", "b")
            .unwrap()
            .contains("policy file"));
        assert!(stale_reason(&good, "a", "c")
            .unwrap()
            .contains("environment file"));
    }
}
