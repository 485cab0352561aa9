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
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
    /// Checker threads per pair.
    pub threads: usize,
    /// Pairs checked at once.
    pub jobs: usize,
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

/// Checks `pairs` on up to `jobs` worker threads (each pair's search is
/// itself single-threaded unless `opts.threads` says otherwise, so its counts
/// are deterministic); results come back in the order of `pairs`.
pub fn check_pairs(
    pairs: &[(&Policy, &Environment)],
    opts: &CheckOptions,
    jobs: usize,
) -> Vec<PairResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<PairResult>>> =
        pairs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, pairs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((p, e)) = pairs.get(i) else { break };
                let r = check_pair(p, e, opts);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
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
    let pairs: Vec<(&Policy, &Environment)> = policies
        .iter()
        .flat_map(|p| envs.iter().map(move |e| (p, e)))
        .collect();
    let results = check_pairs(&pairs, &opts, args.jobs);
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

/// `livecheck explore`: serves stateright's Explorer for one pair at `addr`
/// and blocks until the process is stopped. A port already in use is an
/// error, not a panic.
pub fn explore(policy: &Path, env: &Path, addr: std::net::SocketAddr) -> Result<(), InputError> {
    use stateright::Model;
    let policy = Policy::load(policy)?;
    let env = Environment::load(env)?;
    // Bind once ourselves first: the Explorer panics when it cannot bind.
    drop(
        std::net::TcpListener::bind(addr)
            .map_err(|e| InputError::new(format!("cannot listen on {addr}: {e} (try --port)")))?,
    );
    let world = crate::model::World::new(policy, env);
    let _checker = world.checker().serve(addr);
    eprintln!("livecheck: Explorer on http://{addr}/ (Ctrl-C to stop)");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
