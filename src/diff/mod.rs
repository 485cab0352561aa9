//! `livecheck diff OLD NEW`: what a policy change did. The knobs that
//! differ ([`knobs`]), and per environment and property the old and new
//! verdict and the change (`fixed`, `regressed`, `same`, `inconclusive`),
//! the worst-case detection latency of each, the new shortest
//! counterexample of every regression and the old one of every fix
//! ([`render`]).
//!
//! A side whose recorded proof (`proofs/POLICY.ENV.json`) was computed from
//! the same policy and environment bytes, the same model
//! ([`crate::model::MODEL_VERSION`]) and the same livecheck version is read
//! from the proof instead of re-checked ([`outcome`]); a stale proof is said
//! so on stderr and re-checked, never trusted.
//!
//! Exit status: 1 when a property regressed, else 3 when a verdict is
//! inconclusive, else 0; 2 on bad input.

pub mod knobs;
pub mod outcome;
pub mod render;

use crate::check::{CheckOptions, Verdict};
use crate::cli::{check_pairs, toml_files};
use crate::environment::Environment;
use crate::error::InputError;
use crate::policy::Policy;
use knobs::KnobChange;
use outcome::Outcome;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Output format of `diff` (the one [`crate::format::Format`]).
pub use crate::format::Format;

/// Arguments of `livecheck diff` (the command line's own definition).
///
/// Exit status: 1 some property regressed; 3 nothing regressed but a
/// verdict is inconclusive; 0 otherwise; 2 bad input.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The old policy (a file, or a shipped name such as v2-2950).
    pub old: String,
    /// The new policy (a file, or a shipped name).
    pub new: String,
    /// An environment (a file or a shipped name; one per flag, repeatable;
    /// default: every shipped one).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Output format (markdown: a PR comment or a CI job summary).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Where recorded proofs are reused from (default: ./proofs and the
    /// proofs/ beside models/).
    #[arg(long, value_name = "DIR")]
    pub proofs: Option<PathBuf>,
    /// Re-check both policies even when a proof of the same inputs exists.
    #[arg(long)]
    pub no_proofs: bool,
    /// A log with the container's truth (`container` lines): both policies
    /// replay it ([`crate::replay::what_if_file`]) and every decision that
    /// differs is listed.
    #[arg(long, value_name = "LOG")]
    pub log: Option<PathBuf>,
    /// Pairs checked at once (default: the machine's cores; 1 to 256).
    #[arg(long, default_value_t = crate::cli::default_jobs(), hide_default_value = true, value_parser = crate::limits::parse_jobs)]
    pub jobs: usize,
    /// Stop each check after this many generated states (no proof is reused).
    #[arg(long, value_parser = crate::limits::parse_max_states)]
    pub max_states: Option<usize>,
    /// Stop each check after this many seconds (no proof is reused).
    #[arg(long, value_name = "SECONDS", value_parser = crate::limits::parse_timeout)]
    pub timeout: Option<u64>,
}

/// How a property's verdict changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// violated → holds.
    Fixed,
    /// holds → violated (for a `sometimes` property: no run reaches it any
    /// more).
    Regressed,
    /// The same verdict.
    Same,
    /// Either side could not tell.
    Inconclusive,
}

impl Change {
    /// Of an old and a new verdict.
    pub fn of(old: Verdict, new: Verdict) -> Change {
        match (old, new) {
            (Verdict::Inconclusive, _) | (_, Verdict::Inconclusive) => Change::Inconclusive,
            (a, b) if a == b => Change::Same,
            (Verdict::Violated, Verdict::Holds) => Change::Fixed,
            _ => Change::Regressed,
        }
    }

    /// The contract's word.
    pub fn word(self) -> &'static str {
        match self {
            Change::Fixed => "fixed",
            Change::Regressed => "regressed",
            Change::Same => "same",
            Change::Inconclusive => "inconclusive",
        }
    }
}

/// Both policies in one environment.
#[derive(Debug, Clone)]
pub struct EnvDiff {
    /// The environment.
    pub env: Environment,
    /// The old policy's outcome.
    pub old: Outcome,
    /// The new policy's outcome.
    pub new: Outcome,
}

/// One property in one environment.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The property.
    pub property: &'static str,
    /// Old verdict.
    pub old: Verdict,
    /// New verdict.
    pub new: Verdict,
    /// The change.
    pub change: Change,
    /// Old and new shortest timeline (lines), if any.
    pub lengths: (Option<usize>, Option<usize>),
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The old policy.
    pub old: Policy,
    /// The new policy.
    pub new: Policy,
    /// The knobs that differ.
    pub knobs: Vec<KnobChange>,
    /// One entry per environment.
    pub envs: Vec<EnvDiff>,
}

impl Diff {
    /// Every (environment, property) row, environments in order, properties
    /// in contract order.
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut rows = Vec::new();
        for e in &self.envs {
            for (o, n) in e.old.properties.iter().zip(&e.new.properties) {
                rows.push(Row {
                    environment: &e.env.name,
                    property: o.name,
                    old: o.verdict,
                    new: n.verdict,
                    change: Change::of(o.verdict, n.verdict),
                    lengths: (
                        o.timeline.as_ref().map(Vec::len),
                        n.timeline.as_ref().map(Vec::len),
                    ),
                });
            }
        }
        rows
    }

    /// How many rows have each change: (regressed, fixed, same, inconclusive).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let rows = self.rows();
        let n = |c: Change| rows.iter().filter(|r| r.change == c).count();
        (
            n(Change::Regressed),
            n(Change::Fixed),
            n(Change::Same),
            n(Change::Inconclusive),
        )
    }

    /// 1 regressed, else 3 inconclusive, else 0.
    pub fn exit_code(&self) -> u8 {
        let (regressed, _, _, inconclusive) = self.counts();
        if regressed > 0 {
            1
        } else if inconclusive > 0 {
            3
        } else {
            0
        }
    }
}

/// A policy or environment argument as a file: a path that exists is that
/// file; otherwise a bare name (no `/`, no `.toml`) is the shipped model
/// `models/DIR/NAME.toml`. Anything else is an error naming it.
pub fn resolve(arg: &str, dir: &str, what: &str) -> Result<PathBuf, InputError> {
    let path = PathBuf::from(arg);
    if path.exists() {
        return Ok(path);
    }
    let bare =
        !arg.is_empty() && !arg.contains('/') && !arg.contains('\\') && !arg.ends_with(".toml");
    if bare {
        let shipped = crate::shipped::path(dir, arg);
        if shipped.is_file() || crate::shipped::text_at(&shipped).is_some() {
            return Ok(shipped);
        }
        let mut names: Vec<String> = toml_files(&Path::new("models").join(dir))
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        names.extend(crate::shipped::names(dir).into_iter().map(String::from));
        names.sort();
        names.dedup();
        let known = names.join(", ");
        return Err(InputError::new(format!(
            "unknown {what} name {:?}: no such file, and no shipped {what} of that name (shipped: {known})",
            crate::input::printable(arg)
        )));
    }
    Err(InputError::new(format!("cannot read {what}: no such file")).in_file(&path))
}

/// The recorded proof of `policy` × `env` in the first of `dirs` that has
/// one, if it can be trusted: read, named for this pair, computed from the
/// same inputs, every verdict decided. A stale or undecided proof is said
/// so on stderr and `None` returned (re-check); an unreadable or malformed
/// one, or one that records another pair, is an error naming it.
pub fn recorded(
    policy: &Policy,
    env: &Environment,
    dirs: &[PathBuf],
) -> Result<Option<Outcome>, InputError> {
    let name = format!("{}.{}.json", policy.name, env.name);
    let Some(file) = dirs.iter().map(|d| d.join(&name)).find(|f| f.is_file()) else {
        return Ok(None);
    };
    let proof = crate::provenance::read_proof(&file)?;
    if proof["policy"] != policy.name.as_str() || proof["environment"] != env.name.as_str() {
        return Err(InputError::new(format!(
            "this proof records {} × {}, not {} × {} (a proof recorded from a different model)",
            proof["policy"], proof["environment"], policy.name, env.name
        ))
        .in_file(&file));
    }
    if let Some(why) =
        crate::provenance::stale_reason(&proof, &policy.source_sha256.0, &env.source_sha256.0)
    {
        eprintln!(
            "livecheck: {} is stale ({why}); re-checking {} × {}",
            file.display(),
            policy.name,
            env.name
        );
        return Ok(None);
    }
    let outcome = Outcome::from_proof(
        &proof,
        file.clone(),
        policy.decision.settle.is_some(),
        env.detection_bound,
    )?;
    if outcome
        .properties
        .iter()
        .any(|p| p.verdict == Verdict::Inconclusive)
    {
        eprintln!(
            "livecheck: {} holds an inconclusive verdict; re-checking {} × {}",
            file.display(),
            policy.name,
            env.name
        );
        return Ok(None);
    }
    eprintln!(
        "livecheck: {} × {}: reusing {} (same policy, environment, model and livecheck version)",
        policy.name,
        env.name,
        file.display()
    );
    Ok(Some(outcome))
}

/// Loads both policies and every environment, reads what proofs can be
/// trusted, checks the rest and compares.
pub fn compute(args: &DiffArgs) -> Result<Diff, InputError> {
    if let Some(m) = args.max_states {
        crate::limits::check_max_states(m)?;
    }
    if let Some(t) = args.timeout {
        crate::limits::check_timeout(t)?;
    }
    let old_file = resolve(&args.old, "policies", "policy")?;
    let new_file = resolve(&args.new, "policies", "policy")?;
    let old = crate::cli::load_policy(&old_file)?;
    let new = crate::cli::load_policy(&new_file)?;
    let env_files = if args.envs.is_empty() {
        crate::shipped::files_or_builtin("environments")?
    } else {
        args.envs
            .iter()
            .map(|e| resolve(e, "environments", "environment"))
            .collect::<Result<_, _>>()?
    };
    let envs = env_files
        .iter()
        .map(|e| crate::cli::load_environment(e))
        .collect::<Result<Vec<_>, _>>()?;
    let dirs: Vec<PathBuf> = if args.no_proofs {
        Vec::new()
    } else if let Some(d) = &args.proofs {
        if !d.is_dir() {
            return Err(InputError::new("--proofs: not a directory").in_file(d));
        }
        vec![d.clone()]
    } else {
        let mut d = crate::codegen::proofs::default_dirs(&old_file);
        for x in crate::codegen::proofs::default_dirs(&new_file) {
            if !d.contains(&x) {
                d.push(x);
            }
        }
        d
    };
    // Bounded checks are not what proofs record: check both sides.
    let bounded = args.max_states.is_some() || args.timeout.is_some();
    let mut sides: Vec<Option<Outcome>> = Vec::new();
    for env in &envs {
        for p in [&old, &new] {
            sides.push(if bounded {
                None
            } else {
                recorded(p, env, &dirs)?
            });
        }
    }
    let todo: Vec<(&Policy, &Environment)> = envs
        .iter()
        .flat_map(|e| [(&old, e), (&new, e)])
        .zip(&sides)
        .filter(|(_, s)| s.is_none())
        .map(|(pair, _)| pair)
        .collect();
    let opts = CheckOptions {
        max_states: args.max_states,
        timeout: args.timeout.map(Duration::from_secs),
        ..CheckOptions::default()
    };
    let mut checked = check_pairs(&todo, &opts, args.jobs).into_iter();
    let mut filled = sides.into_iter().map(|s| {
        s.unwrap_or_else(|| {
            checked
                .next()
                .map(|r| Outcome::from_check(&r))
                .expect("one check per missing side")
        })
    });
    let mut env_diffs = Vec::new();
    for env in envs {
        let (Some(o), Some(n)) = (filled.next(), filled.next()) else {
            break;
        };
        env_diffs.push(EnvDiff {
            env,
            old: o,
            new: n,
        });
    }
    Ok(Diff {
        knobs: knobs::changes(&old, &new),
        old,
        new,
        envs: env_diffs,
    })
}

/// `livecheck diff`: computes, prints on stdout, returns the exit status.
pub fn run(args: &DiffArgs) -> Result<u8, InputError> {
    let diff = compute(args)?;
    // The log is replayed before anything is printed: bad input loses
    // nothing and prints nothing on stdout.
    let what_if = match &args.log {
        Some(log) => Some((
            crate::replay::what_if_file(&diff.old, &diff.new, log)?,
            log.display().to_string(),
        )),
        None => None,
    };
    use crate::replay::compare::Format as LogFormat;
    let out = match args.format {
        Format::Text => {
            let mut s = render::text(&diff, std::io::IsTerminal::is_terminal(&std::io::stdout()));
            if let Some((w, name)) = &what_if {
                s.push('\n');
                s.push_str(&w.render(LogFormat::Text, name));
            }
            s
        }
        Format::Json => {
            let mut v = render::json(&diff);
            if let Some((w, _)) = &what_if {
                v["log"] = serde_json::to_value(w).unwrap_or_default();
            }
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        Format::Markdown => {
            let mut s = render::markdown(&diff);
            if let Some((w, name)) = &what_if {
                s.push('\n');
                s.push_str(&w.render(LogFormat::Markdown, name));
            }
            s
        }
    };
    crate::cli::print_stdout(&out);
    Ok(diff.exit_code())
}
