//! The `check` command's behaviour behind the argument parser: which files,
//! which output, which exit status.

use crate::check::{check_pair, CheckOptions, PairResult, Verdict};
use crate::environment::Environment;
use crate::error::InputError;
use crate::policy::Policy;
use crate::report;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The matrix and timelines, for people.
    Text,
    /// The contract's JSON.
    Json,
}

/// Arguments of `livecheck check`.
#[derive(Debug, Clone)]
pub struct CheckArgs {
    /// Policy files; empty: every file in `models/policies/`.
    pub policies: Vec<PathBuf>,
    /// Environment files; empty: every file in `models/environments/`.
    pub envs: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// Checker threads.
    pub threads: usize,
    /// Generated-state bound.
    pub max_states: Option<usize>,
    /// Time bound in seconds.
    pub timeout: Option<u64>,
    /// Also write `proofs/POLICY.ENVIRONMENT.json` for each pair.
    pub write_proofs: Option<PathBuf>,
}

/// Every `*.toml` in `dir`, sorted; an error naming the directory when it is
/// missing or empty.
pub fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        InputError::new(format!(
            "cannot list {} ({e}); run from the repository root or name the files",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(InputError::new(format!(
            "no .toml files in {}",
            dir.display()
        )));
    }
    Ok(files)
}

/// Loads every file first (so bad input fails before any work), checks every
/// pair, prints the report on stdout and returns the exit status: 0 all hold,
/// 1 something violated, 3 inconclusive and nothing violated.
pub fn check(args: &CheckArgs) -> Result<u8, InputError> {
    let policy_files = if args.policies.is_empty() {
        toml_files(Path::new("models/policies"))?
    } else {
        args.policies.clone()
    };
    let env_files = if args.envs.is_empty() {
        toml_files(Path::new("models/environments"))?
    } else {
        args.envs.clone()
    };
    let policies = policy_files
        .iter()
        .map(|p| Policy::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let envs = env_files
        .iter()
        .map(|e| Environment::load(e))
        .collect::<Result<Vec<_>, _>>()?;
    if args.threads == 0 {
        return Err(InputError::new("--threads must be at least 1"));
    }
    if let Some(dir) = &args.write_proofs {
        if !dir.is_dir() {
            return Err(InputError::new(format!(
                "--write-proofs: {} is not a directory",
                dir.display()
            )));
        }
    }
    let opts = CheckOptions {
        threads: args.threads,
        max_states: args.max_states,
        timeout: args.timeout.map(Duration::from_secs),
        progress: std::io::stderr().is_terminal()
            || std::env::var_os("LIVECHECK_PROGRESS").is_some(),
    };
    let mut results: Vec<PairResult> = Vec::new();
    for p in &policies {
        for e in &envs {
            results.push(check_pair(p, e, &opts));
        }
    }
    if let Some(dir) = &args.write_proofs {
        for r in &results {
            let path = dir.join(format!("{}.{}.json", r.world.policy.name, r.world.env.name));
            let text = serde_json::to_string_pretty(&report::pair_json(r, false))
                .map_err(|e| InputError::new(format!("cannot encode proofs: {e}")))?;
            std::fs::write(&path, text + "\n")
                .map_err(|e| InputError::new(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    let out = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&report::results_json(&results)).unwrap_or_default() + "\n"
        }
        Format::Text => report::render_text(&results, std::io::stdout().is_terminal()),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe is not bad input: ignore write errors on stdout.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    let verdicts = results
        .iter()
        .flat_map(|r| r.properties.iter().map(|p| p.verdict));
    let mut code = 0;
    for v in verdicts {
        match v {
            Verdict::Violated => return Ok(1),
            Verdict::Inconclusive => code = 3,
            Verdict::Holds => {}
        }
    }
    Ok(code)
}
