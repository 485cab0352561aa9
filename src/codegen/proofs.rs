//! The recorded verdicts of a policy (`proofs/POLICY.ENVIRONMENT.json`, as
//! `livecheck check --write-proofs` writes them), read for the generated
//! code's header and for refusing a policy with a violated property.
//! Nothing here runs the checker.

use crate::duration::Human;
use crate::error::InputError;
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct ProofFile {
    policy: String,
    environment: String,
    complete: bool,
    properties: Vec<PropertyEntry>,
    /// Absent in proofs written before schema version 2.
    #[serde(default)]
    policy_sha256: Option<String>,
}

#[derive(Deserialize)]
struct PropertyEntry {
    name: String,
    verdict: String,
    #[serde(default)]
    worst_case_ms: Option<u64>,
    #[serde(default)]
    worst_case_at_least: bool,
}

/// One recorded pair: the policy checked in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The proof file, as found.
    pub file: PathBuf,
    /// The environment's name.
    pub environment: String,
    /// The search covered every state.
    pub complete: bool,
    /// `(property, verdict)` in the file's order; verdict is `holds`,
    /// `violated` or `inconclusive`.
    pub verdicts: Vec<(String, String)>,
    /// The worst-case detection latency, and whether it is only a lower
    /// bound.
    pub worst_case: Option<(u64, bool)>,
    /// SHA-256 of the policy file the proof was computed from (`None` in
    /// proofs written before it was recorded).
    pub policy_sha256: Option<String>,
}

impl Recorded {
    /// The properties recorded as violated.
    pub fn violated(&self) -> Vec<&str> {
        self.with_verdict("violated")
    }

    fn with_verdict(&self, verdict: &str) -> Vec<&str> {
        self.verdicts
            .iter()
            .filter(|(_, v)| v == verdict)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// Where to look for a policy's proofs when no directory is given: a
/// `proofs` directory in the current directory (where `livecheck check
/// --write-proofs` writes by default), and the one beside `models/` when the
/// policy file sits in a `models/policies/` directory (the repository's
/// layout). The first of them holding a proof of the policy is used.
pub fn default_dirs(policy: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("proofs")];
    let parent = policy.parent();
    let in_models = parent.is_some_and(|p| {
        p.file_name().is_some_and(|n| n == "policies")
            && p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "models")
    });
    if let Some(root) = parent.and_then(Path::parent).and_then(Path::parent) {
        if in_models {
            let d = root.join("proofs");
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs
}

/// The proofs of policy `name` in the first of `dirs` that holds any
/// (`NAME.ENV.json`, sorted by environment). An unreadable or malformed
/// proof file, or one recorded for another policy, is an error naming it.
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<Vec<Recorded>, InputError> {
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        let prefix = format!("{name}.");
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .and_then(|f| f.strip_prefix(&prefix))
                    .and_then(|rest| rest.strip_suffix(".json"))
                    .is_some_and(|env| !env.is_empty() && !env.contains('.'))
            })
            .collect();
        if files.is_empty() {
            continue;
        }
        files.sort();
        return files.iter().map(|f| read(name, f)).collect();
    }
    Ok(Vec::new())
}

fn read(name: &str, file: &Path) -> Result<Recorded, InputError> {
    let text = fs::read_to_string(file)
        .map_err(|e| InputError::new(format!("cannot read the proof file: {e}")).in_file(file))?;
    let proof: ProofFile = serde_json::from_str(&text).map_err(|e| {
        InputError::new(format!("malformed proof file: {e}"))
            .in_file(file)
            .at_line(e.line())
    })?;
    if proof.policy != name {
        return Err(InputError::new(format!(
            "this proof is for policy {:?}, not {name:?}",
            proof.policy
        ))
        .in_file(file));
    }
    let worst_case = proof
        .properties
        .iter()
        .find_map(|p| p.worst_case_ms.map(|ms| (ms, p.worst_case_at_least)));
    Ok(Recorded {
        file: file.to_owned(),
        environment: proof.environment,
        complete: proof.complete,
        verdicts: proof
            .properties
            .into_iter()
            .map(|p| (p.name, p.verdict))
            .collect(),
        worst_case,
        policy_sha256: proof.policy_sha256,
    })
}

/// The header's account of what was proven: the policy file's hash, and per
/// environment the recorded verdicts (or that there is no recorded proof);
/// with `allowed` violations, that the code was generated despite them.
pub fn verification_text(
    file_name: &str,
    sha256: &str,
    name: &str,
    recorded: &[Recorded],
    dirs: &[PathBuf],
) -> Vec<String> {
    let mut paras = vec![format!("Policy file {file_name}, SHA-256 {sha256}.")];
    if recorded.is_empty() {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        paras.push(format!(
            "No recorded proof for policy {name} (no {name}.ENVIRONMENT.json in {}): it has not been model-checked. Run livecheck check on the policy with --write-proofs to record its verdicts.",
            looked.join(" or ")
        ));
        return paras;
    }
    let files: Vec<String> = recorded
        .iter()
        .map(|r| r.file.display().to_string())
        .collect();
    let all_this_file = recorded
        .iter()
        .all(|r| r.policy_sha256.as_deref() == Some(sha256));
    paras.push(if all_this_file {
        format!(
            "Recorded verdicts of livecheck check ({}), each computed from this very policy file (the proof records the same SHA-256):",
            files.join(", ")
        )
    } else {
        format!(
            "Recorded verdicts of livecheck check ({}); not every proof records this file's SHA-256, so a verdict below speaks for this file only where noted:",
            files.join(", ")
        )
    });
    for r in recorded {
        let mut s = format!("In {}", r.environment);
        match r.policy_sha256.as_deref() {
            Some(h) if h == sha256 => {}
            Some(h) => s.push_str(&format!(
                " (computed from ANOTHER version of the policy file, SHA-256 {h}: it does not speak for this file; re-run livecheck check --write-proofs)"
            )),
            None => s.push_str(" (the proof does not record which policy file it was computed from)"),
        }
        if !r.complete {
            s.push_str(" (incomplete search)");
        }
        let violated = r.violated();
        let inconclusive = r.with_verdict("inconclusive");
        let holds = r.with_verdict("holds");
        if violated.is_empty() && inconclusive.is_empty() {
            s.push_str(": every property holds");
        } else {
            let mut parts = Vec::new();
            if !violated.is_empty() {
                parts.push(format!("VIOLATED: {}", violated.join(", ")));
            }
            if !inconclusive.is_empty() {
                parts.push(format!("inconclusive: {}", inconclusive.join(", ")));
            }
            if !holds.is_empty() {
                parts.push(format!("holds: {}", holds.join(", ")));
            }
            s.push_str(": ");
            s.push_str(&parts.join("; "));
        }
        if let Some((ms, at_least)) = r.worst_case {
            let bound = if at_least { "at least " } else { "" };
            s.push_str(&format!(" (worst-case detection {bound}{})", Human(ms)));
        }
        s.push('.');
        paras.push(s);
    }
    if recorded.iter().any(|r| !r.violated().is_empty()) {
        paras.push(
            "Generated with --allow-violations: this code behaves as the recorded counterexamples show (livecheck check prints them as timelines).".into(),
        );
    }
    paras
}

/// The refusal of a policy with violated recorded properties.
pub fn refusal(name: &str, recorded: &[Recorded]) -> Option<InputError> {
    let bad: Vec<String> = recorded
        .iter()
        .filter(|r| !r.violated().is_empty())
        .map(|r| {
            format!(
                "{} ({}: {})",
                r.environment,
                r.file.display(),
                r.violated().join(", ")
            )
        })
        .collect();
    (!bad.is_empty()).then(|| {
        InputError::new(format!(
            "policy {name} has recorded violations in {}; refusing to generate code for it (pass --allow-violations to generate it anyway, with the violations stated in its header)",
            bad.join("; ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("livecheck-proofs-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn recorded_verdicts_are_read_and_summarized() {
        let d = dir("read");
        fs::write(
            d.join("p.cloud.json"),
            r#"{"policy": "p", "environment": "cloud", "complete": true, "states": 1,
               "properties": [{"name": "a", "verdict": "violated", "counterexample": []},
                              {"name": "dead_detected_within", "verdict": "violated", "worst_case_ms": 21000, "worst_case_at_least": true},
                              {"name": "b", "verdict": "holds"}]}"#,
        )
        .unwrap();
        fs::write(
            d.join("p.docker.json"),
            r#"{"policy": "p", "environment": "docker", "complete": true,
               "policy_sha256": "00",
               "properties": [{"name": "a", "verdict": "holds"}]}"#,
        )
        .unwrap();
        fs::write(d.join("other.docker.json"), "not read").unwrap();
        let found = find("p", &[d.join("missing"), d.clone()]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].environment, "cloud");
        assert_eq!(found[0].violated(), ["a", "dead_detected_within"]);
        assert_eq!(found[0].worst_case, Some((21_000, true)));
        let text = verification_text("p.toml", "00", "p", &found, &[]).join("\n");
        assert!(
            text.contains("VIOLATED: a, dead_detected_within; holds: b"),
            "{text}"
        );
        assert!(text.contains("at least 21s"), "{text}");
        assert!(text.contains("In docker: every property holds."), "{text}");
        assert!(
            text.contains("In cloud (the proof does not record which policy file"),
            "{text}"
        );
        assert!(
            text.contains("not every proof records this file's SHA-256"),
            "{text}"
        );
        let other = verification_text("p.toml", "ff", "p", &found[1..], &[]).join("\n");
        assert!(
            other.contains("ANOTHER version of the policy file, SHA-256 00"),
            "{other}"
        );
        let same = verification_text("p.toml", "00", "p", &found[1..], &[]).join("\n");
        assert!(
            same.contains("each computed from this very policy file"),
            "{same}"
        );
        assert!(text.contains("--allow-violations"), "{text}");
        let e = refusal("p", &found).unwrap();
        assert!(
            e.reason.contains("cloud") && !e.reason.contains("docker ("),
            "{e}"
        );
        assert!(refusal("p", &found[1..]).is_none());
        let dirs = std::slice::from_ref(&d);
        assert!(find("q", dirs).unwrap().is_empty());
        let none = verification_text("q.toml", "00", "q", &[], dirs).join("\n");
        assert!(none.contains("No recorded proof"), "{none}");
        fs::write(d.join("q.docker.json"), r#"{"policy": "p"}"#).unwrap();
        assert!(find("q", dirs).is_err());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn default_dirs_follow_the_repository_layout() {
        let dirs = default_dirs(Path::new("/x/models/policies/v2.toml"));
        assert_eq!(dirs, [PathBuf::from("proofs"), PathBuf::from("/x/proofs")]);
        assert_eq!(
            default_dirs(Path::new("/tmp/v2.toml")),
            [PathBuf::from("proofs")]
        );
    }
}
