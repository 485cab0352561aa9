//! The command layer behind the argument parser (`src/main.rs` only parses
//! and dispatches): `check` here (which files, which output, which exit
//! status), the smaller subcommands in [`commands`].

pub mod commands;

use crate::check::{CheckOptions, PairResult, Verdict};
use crate::environment::Environment;
use crate::error::InputError;
use crate::limits;
use crate::policy::Policy;
use crate::report;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Output format of `check` (the one [`crate::format::Format`]).
pub use crate::format::Format;

/// Pairs checked at once when `--jobs` is not given: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(limits::MAX_THREADS)
}

/// Arguments of `livecheck check` (the command line's own definition).
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Policy files or shipped names (default: every file in models/policies/,
    /// or the built-in ones outside the repository).
    pub policies: Vec<PathBuf>,
    /// An environment file or shipped name; one per flag, repeatable
    /// (default: every file in models/environments/, or the built-in ones
    /// outside the repository).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Checker threads per pair (1 to 256).
    #[arg(long, default_value_t = 1, value_parser = limits::parse_threads)]
    pub threads: usize,
    /// Pairs checked at once (default: the machine's cores; 1 to 256).
    #[arg(long, default_value_t = default_jobs(), hide_default_value = true, value_parser = limits::parse_jobs)]
    pub jobs: usize,
    /// Stop after this many generated states (verdicts become inconclusive; at least 1).
    #[arg(long, value_parser = limits::parse_max_states)]
    pub max_states: Option<usize>,
    /// Stop after this many seconds (verdicts become inconclusive; 1 to 31536000).
    #[arg(long, value_name = "SECONDS", value_parser = limits::parse_timeout)]
    pub timeout: Option<u64>,
    /// Write proofs/POLICY.ENVIRONMENT.json for every pair into this directory.
    #[arg(long, num_args = 0..=1, default_missing_value = "proofs")]
    pub write_proofs: Option<PathBuf>,
    /// Visit every reachable state even once every verdict is decided:
    /// the exact worst-case detection latency instead of a lower bound.
    #[arg(long)]
    pub exhaustive: bool,
    /// Compare with the proofs recorded in DIR (e.g. the base branch's
    /// proofs/): exit 1 only when a recorded verdict regresses (see
    /// `livecheck::baseline`).
    #[arg(long, value_name = "DIR")]
    pub baseline: Option<PathBuf>,
}

/// The files named by `args`: a bare name that is not a file here (no `/`,
/// no `.toml`, e.g. `v2-2950` or `cloud`) is the shipped model
/// `models/DIR/NAME.toml` ([`crate::diff::resolve`]); anything else is
/// taken as the path it is, and loading it reports what is wrong.
fn shipped_names(args: &[PathBuf], dir: &str, what: &str) -> Result<Vec<PathBuf>, InputError> {
    args.iter().map(|a| shipped_name(a, dir, what)).collect()
}

/// A policy or environment argument as a file: a bare name that is not a
/// file here (no `/`, no `.toml`) is the shipped model `models/DIR/NAME.toml`
/// ([`crate::diff::resolve`]: `what` names it in errors); anything else is
/// the path it is.
pub fn shipped_name(arg: &Path, dir: &str, what: &str) -> Result<PathBuf, InputError> {
    match arg.to_str() {
        Some(s) if !arg.exists() && !s.contains('/') && !s.ends_with(".toml") => {
            crate::diff::resolve(s, dir, what)
        }
        _ => Ok(arg.to_path_buf()),
    }
}

/// Loads a policy; an environment file given in its place is said to be one
/// (instead of the policy format's complaint about its first key).
pub fn load_policy(path: &Path) -> Result<Policy, InputError> {
    Policy::load(path).map_err(|e| {
        if Environment::load(path).is_ok() {
            InputError::new(
                "this is an environment file, not a policy: give it with --env, and a policy as a positional argument",
            )
            .in_file(path)
        } else {
            e
        }
    })
}

/// Loads an environment; a policy file given in its place is said to be one.
pub fn load_environment(path: &Path) -> Result<Environment, InputError> {
    Environment::load(path).map_err(|e| {
        if Policy::load(path).is_ok() {
            InputError::new(
                "this is a policy file, not an environment: give it as a positional argument, and an environment with --env",
            )
            .in_file(path)
        } else {
            e
        }
    })
}

/// Writes a report to stdout. A closed pipe (`livecheck … | head`) is not
/// bad input: write errors on stdout are ignored.
pub fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
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

/// `--write-proofs` writes `POLICY.ENVIRONMENT.json` per pair: two pairs
/// that would write the same file (two policies or environments with the
/// same file name in different directories, the same file given twice, or
/// names whose dots line up: `a.b` × `c` and `a` × `b.c`) are refused
/// before anything runs, naming both files, instead of one proof silently
/// overwriting the other.
fn refuse_clashing_proofs(
    policy_files: &[PathBuf],
    policies: &[Policy],
    env_files: &[PathBuf],
    envs: &[Environment],
) -> Result<(), InputError> {
    let mut seen: std::collections::BTreeMap<String, (&Path, &Path)> = Default::default();
    for (pf, p) in policy_files.iter().zip(policies) {
        for (ef, e) in env_files.iter().zip(envs) {
            let name = format!("{}.{}.json", p.name, e.name);
            if let Some((pf0, ef0)) = seen.get(&name) {
                let show =
                    |p: &Path| crate::input::printable(&p.display().to_string()).into_owned();
                return Err(InputError::new(format!(
                    "--write-proofs: {} × {} and {} × {} would both write {name}; one proof would overwrite the other (rename a file, or write the proofs of each in its own run)",
                    show(pf0),
                    show(ef0),
                    show(pf),
                    show(ef),
                )));
            }
            seen.insert(name, (pf, ef));
        }
    }
    Ok(())
}

/// Checks `pairs` on up to `jobs` worker threads (each pair's search is
/// itself single-threaded unless `opts.threads` says otherwise, so its counts
/// are deterministic); results come back in the order of `pairs`.
pub fn check_pairs(
    pairs: &[(&Policy, &Environment)],
    opts: &CheckOptions,
    jobs: usize,
) -> Vec<PairResult> {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let next = AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<PairResult>>> =
        pairs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    // A worker that runs out of pairs lends its core to the searches still
    // running, shared evenly, from their next level on (the last big pair
    // then runs on every core instead of one).
    let workers = jobs.clamp(1, pairs.len().max(1));
    let lender = crate::check::Lender::new(workers, workers);
    let lent = || lender.lent();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    let Some((p, e)) = pairs.get(i) else { break };
                    let r = crate::check::check_pair_lent(p, e, opts, Some(&lent));
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
                lender.retire();
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
/// 1 something violated, 3 inconclusive and nothing violated. With
/// `--baseline DIR` the status is the gate's ([`crate::baseline::Gate::exit_code`]):
/// 1 only when a recorded verdict regressed.
pub fn check(args: &CheckArgs) -> Result<u8, InputError> {
    limits::check_threads("--threads", args.threads as u64)?;
    limits::check_threads("--jobs", args.jobs as u64)?;
    if let Some(m) = args.max_states {
        limits::check_max_states(m)?;
    }
    if let Some(t) = args.timeout {
        limits::check_timeout(t)?;
    }
    let policy_files = if args.policies.is_empty() {
        crate::shipped::files_or_builtin("policies")?
    } else {
        shipped_names(&args.policies, "policies", "policy")?
    };
    let env_files = if args.envs.is_empty() {
        crate::shipped::files_or_builtin("environments")?
    } else {
        shipped_names(&args.envs, "environments", "environment")?
    };
    let policies = policy_files
        .iter()
        .map(|p| load_policy(p))
        .collect::<Result<Vec<_>, _>>()?;
    let envs = env_files
        .iter()
        .map(|e| load_environment(e))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dir) = &args.baseline {
        if !dir.is_dir() {
            return Err(InputError::new("--baseline: not a directory").in_file(dir));
        }
    }
    if let Some(dir) = &args.write_proofs {
        if !dir.is_dir() {
            return Err(InputError::new(format!(
                "--write-proofs: {} is not a directory",
                crate::input::printable(&dir.display().to_string())
            )));
        }
        refuse_clashing_proofs(&policy_files, &policies, &env_files, &envs)?;
    }
    let opts = CheckOptions {
        threads: args.threads,
        max_states: args.max_states,
        timeout: args.timeout.map(Duration::from_secs),
        progress: std::io::stderr().is_terminal()
            || std::env::var_os("LIVECHECK_PROGRESS").is_some(),
        exhaustive: args.exhaustive,
    };
    let pairs: Vec<(&Policy, &Environment)> = policies
        .iter()
        .flat_map(|p| envs.iter().map(move |e| (p, e)))
        .collect();
    let results = check_pairs(&pairs, &opts, args.jobs);
    // Read before the proofs of this run are written: `--baseline proofs
    // --write-proofs proofs` compares with what was there.
    let gate = match &args.baseline {
        Some(dir) => Some(crate::baseline::compare(dir, &results)?),
        None => None,
    };
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
            let mut v = report::results_json(&results);
            if let Some(g) = &gate {
                v["baseline"] = g.json();
            }
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        Format::Text => {
            report::render_text(&results, std::io::stdout().is_terminal())
                + &gate.as_ref().map(|g| g.text()).unwrap_or_default()
        }
        Format::Markdown => {
            report::render_markdown(&results)
                + &gate.as_ref().map(|g| g.markdown()).unwrap_or_default()
        }
    };
    print_stdout(&out);
    if let Some(g) = &gate {
        return Ok(g.exit_code());
    }
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
/// and blocks until the process is stopped.
///
/// livecheck holds the listening socket itself: a busy port is an error,
/// not a panic; `--port 0` gets a free port and the URL printed on stderr
/// (as soon as it listens) names it; an address that is not loopback gets
/// a warning, since the Explorer has no authentication. Each connection is
/// relayed to stateright's server on a loopback port of its own, and the
/// relay always reads that server's answer to the end: a client that
/// hangs up early cannot make the server's threads panic (they `unwrap`
/// their writes).
pub fn explore(policy: &Path, env: &Path, addr: std::net::SocketAddr) -> Result<(), InputError> {
    let policy = Policy::load(policy)?;
    let env = Environment::load(env)?;
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| InputError::new(format!("cannot listen on {addr}: {e} (try --port)")))?;
    let local = listener
        .local_addr()
        .map_err(|e| InputError::new(format!("cannot listen on {addr}: {e}")))?;
    let inner = explorer::start(crate::model::World::new(policy, env))?;
    if local.ip().is_unspecified() {
        let here: std::net::IpAddr = if local.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        let here = std::net::SocketAddr::new(here, local.port());
        eprintln!(
            "livecheck: Explorer on http://{local}/, on this machine http://{here}/ (Ctrl-C to stop)"
        );
    } else {
        eprintln!("livecheck: Explorer on http://{local}/ (Ctrl-C to stop)");
    }
    if let Some(warning) = explorer::exposure_warning(local.ip()) {
        eprintln!("livecheck: warning: {warning}");
    }
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let _ = std::thread::Builder::new()
            .name("explore-relay".into())
            .spawn(move || explorer::relay(client, inner));
    }
    Ok(())
}

/// The relay in front of stateright's Explorer (see [`explore`]).
pub mod explorer {
    use crate::error::InputError;
    use std::io::{Read, Write};
    use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    /// The warning for a listening address other people can reach, if any.
    pub fn exposure_warning(ip: IpAddr) -> Option<String> {
        if ip.is_loopback() {
            None
        } else if ip.is_unspecified() {
            Some(format!(
                "listening on every network interface ({ip}): anyone who can reach this machine can use the Explorer, which has no authentication; use --host 127.0.0.1 to keep it local"
            ))
        } else {
            Some(format!(
                "{ip} is not a loopback address: anyone who can reach it can use the Explorer, which has no authentication"
            ))
        }
    }

    /// Starts stateright's Explorer for `world` on a free loopback port and
    /// waits until it answers; returns its address.
    pub fn start(world: crate::model::World) -> Result<SocketAddr, InputError> {
        use stateright::Model;
        let fail = |e: String| InputError::new(format!("cannot start the Explorer: {e}"));
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(e.to_string()))?
            .port();
        let inner = SocketAddr::from(([127, 0, 0, 1], port));
        let server = std::thread::Builder::new()
            .name("explorer".into())
            .spawn(move || {
                let _checker = world.checker().serve(inner);
            })
            .map_err(|e| fail(e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(inner).is_ok() {
                return Ok(inner);
            }
            if server.is_finished() || Instant::now() > deadline {
                return Err(fail(format!("its server did not start on {inner}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Relays one client connection to the Explorer at `inner`. Whatever the
    /// client does, the Explorer's side is closed cleanly: requests end with
    /// a half-close and every byte of the answers is read.
    pub fn relay(client: TcpStream, inner: SocketAddr) {
        let Ok(upstream) = TcpStream::connect(inner) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone())
        else {
            return;
        };
        let requests = std::thread::Builder::new()
            .name("explore-requests".into())
            .spawn(move || {
                let _ = std::io::copy(&mut client_r, &mut upstream_w);
                // The client is done (or gone): tell the Explorer, which
                // then finishes its answer and closes.
                let _ = upstream_w.shutdown(Shutdown::Write);
            });
        let mut client_w = client;
        let mut upstream_r = upstream;
        // A stuck server must not keep relay threads forever.
        let _ = upstream_r.set_read_timeout(Some(Duration::from_secs(3600)));
        let mut buf = [0u8; 16 * 1024];
        let mut client_gone = false;
        loop {
            match upstream_r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !client_gone && client_w.write_all(&buf[..n]).is_err() {
                        // Keep reading (and dropping) the answer so the
                        // Explorer's write succeeds; stop sending it.
                        client_gone = true;
                        let _ = upstream_r.shutdown(Shutdown::Write);
                    }
                }
            }
        }
        let _ = client_w.shutdown(Shutdown::Both);
        if let Ok(t) = requests {
            let _ = t.join();
        }
    }
}
