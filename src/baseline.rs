//! `check --baseline DIR`: a CI gate that fails only on a regression. Each
//! checked pair's fresh verdicts are compared with the ones recorded in
//! `DIR/POLICY.ENVIRONMENT.json` (the proofs of the base branch): a
//! property recorded as `holds` that is now `violated` regressed (for a
//! `sometimes` property: a run that reached it no longer exists). A
//! violation the baseline already recorded is not a regression.

use crate::check::{PairResult, Verdict};
use crate::diff::Change;
use crate::error::InputError;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One property of one pair against its baseline.
#[derive(Debug, Clone)]
pub struct Compared {
    /// The policy's name.
    pub policy: String,
    /// The environment's name.
    pub environment: String,
    /// The property.
    pub property: String,
    /// The recorded verdict.
    pub old: Verdict,
    /// The fresh verdict.
    pub new: Verdict,
    /// The change.
    pub change: Change,
}

/// Every pair against the baseline.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// The baseline directory.
    pub dir: PathBuf,
    /// Every compared property.
    pub compared: Vec<Compared>,
    /// Pairs with no recorded proof (not gated).
    pub missing: Vec<String>,
}

fn verdict(word: Option<&str>) -> Option<Verdict> {
    match word? {
        "holds" => Some(Verdict::Holds),
        "violated" => Some(Verdict::Violated),
        "inconclusive" => Some(Verdict::Inconclusive),
        _ => None,
    }
}

/// Reads the baseline of every pair in `results` from `dir` and compares.
/// A baseline file that cannot be read, is malformed or records another
/// pair is an error naming it; one from another model version or another
/// livecheck is compared all the same, with a warning on stderr (its
/// changes may come from the model rather than the policy).
pub fn compare(dir: &Path, results: &[PairResult]) -> Result<Gate, InputError> {
    if !dir.is_dir() {
        return Err(InputError::new("--baseline: not a directory").in_file(dir));
    }
    let mut gate = Gate {
        dir: dir.to_owned(),
        ..Gate::default()
    };
    for r in results {
        let (p, e) = (&r.world.policy.name, &r.world.env.name);
        let file = dir.join(format!("{p}.{e}.json"));
        if !file.is_file() {
            eprintln!(
                "livecheck: no baseline for {p} × {e} in {} (not gated)",
                dir.display()
            );
            gate.missing.push(format!("{p} × {e}"));
            continue;
        }
        let text = crate::input::read_text_file(&file, "baseline proof", 1 << 28)?;
        let proof: Value = serde_json::from_str(&text).map_err(|e| {
            InputError::new(format!("malformed baseline proof: {e}"))
                .in_file(&file)
                .at_line(e.line())
        })?;
        if proof["policy"] != p.as_str() || proof["environment"] != e.as_str() {
            return Err(InputError::new(format!(
                "this baseline records {} × {}, not {p} × {e}",
                proof["policy"], proof["environment"]
            ))
            .in_file(&file));
        }
        if proof["model_version"].as_u64() != Some(u64::from(crate::model::MODEL_VERSION))
            || proof["livecheck_version"].as_str() != Some(crate::provenance::TOOL_VERSION)
        {
            eprintln!(
                "livecheck: warning: {} was recorded by livecheck {} (model {}), this is {} (model {}): a change may come from the checker, not the policy",
                file.display(),
                proof["livecheck_version"].as_str().unwrap_or("(unknown)"),
                proof["model_version"].as_u64().map_or("unknown".into(), |v| v.to_string()),
                crate::provenance::TOOL_VERSION,
                crate::model::MODEL_VERSION
            );
        }
        let props = proof["properties"]
            .as_array()
            .ok_or_else(|| InputError::new("no \"properties\" array").in_file(&file))?;
        for fresh in &r.properties {
            let Some(rec) = props.iter().find(|x| x["name"] == fresh.name) else {
                continue;
            };
            let old = verdict(rec["verdict"].as_str()).ok_or_else(|| {
                InputError::new(format!(
                    "property {}: verdict {} is not holds, violated or inconclusive",
                    fresh.name, rec["verdict"]
                ))
                .in_file(&file)
                .at_key(format!("{}.verdict", fresh.name))
            })?;
            gate.compared.push(Compared {
                policy: p.clone(),
                environment: e.clone(),
                property: fresh.name.to_owned(),
                old,
                new: fresh.verdict,
                change: Change::of(old, fresh.verdict),
            });
        }
    }
    Ok(gate)
}

impl Gate {
    /// The regressions.
    pub fn regressions(&self) -> impl Iterator<Item = &Compared> {
        self.compared
            .iter()
            .filter(|c| c.change == Change::Regressed)
    }

    /// A recorded `holds` that can no longer be confirmed.
    pub fn unconfirmed(&self) -> impl Iterator<Item = &Compared> {
        self.compared
            .iter()
            .filter(|c| c.old == Verdict::Holds && c.new == Verdict::Inconclusive)
    }

    /// 1 on a regression; else 3 when a recorded `holds` is now
    /// inconclusive; else 0 (violations the baseline already had pass).
    pub fn exit_code(&self) -> u8 {
        if self.regressions().next().is_some() {
            1
        } else if self.unconfirmed().next().is_some() {
            3
        } else {
            0
        }
    }

    fn changed(&self) -> impl Iterator<Item = &Compared> {
        self.compared.iter().filter(|c| c.change != Change::Same)
    }

    /// The gate as JSON (`"baseline"` in `check`'s output).
    pub fn json(&self) -> Value {
        let row = |c: &Compared| {
            json!({"policy": c.policy, "environment": c.environment, "property": c.property,
                   "old": c.old.word(), "new": c.new.word(), "change": c.change.word()})
        };
        json!({
            "dir": self.dir.display().to_string(),
            "regressed": self.regressions().count(),
            "changes": self.changed().map(row).collect::<Vec<_>>(),
            "missing": self.missing,
        })
    }

    /// The gate's verdict and every change, one line each.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let n = self.regressions().count();
        let _ = writeln!(
            s,
            "\nbaseline {}: {}",
            self.dir.display(),
            if n == 0 {
                "no regression".to_string()
            } else {
                format!("{n} REGRESSED")
            }
        );
        for c in self.changed() {
            let _ = writeln!(
                s,
                "  {} × {}: {} {} → {} ({})",
                c.policy,
                c.environment,
                c.property,
                c.old.word(),
                c.new.word(),
                c.change.word()
            );
        }
        for m in &self.missing {
            let _ = writeln!(s, "  {m}: no baseline (not gated)");
        }
        s
    }

    /// The changes as a markdown table.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let n = self.regressions().count();
        let _ = writeln!(
            s,
            "\n#### Against the baseline `{}`: {}\n",
            self.dir.display(),
            if n == 0 {
                "no regression".to_string()
            } else {
                format!("❌ {n} regressed")
            }
        );
        if self.changed().next().is_none() {
            s.push_str("No verdict changed.\n");
        } else {
            s.push_str("| policy × environment | property | baseline | now | change |\n|---|---|---|---|---|\n");
            for c in self.changed() {
                let _ = writeln!(
                    s,
                    "| {} × {} | `{}` | {} | {} | {} |",
                    c.policy,
                    c.environment,
                    c.property,
                    c.old.word(),
                    c.new.word(),
                    if c.change == Change::Regressed {
                        "**regressed**"
                    } else {
                        c.change.word()
                    }
                );
            }
        }
        for m in &self.missing {
            let _ = writeln!(s, "\n- {m}: no baseline (not gated)");
        }
        s
    }
}
