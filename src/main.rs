//! The `livecheck` command line. See CONTRACT.md and the README.

use clap::{Parser, Subcommand};
use livecheck::error::InputError;
use livecheck::policy::Policy;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "livecheck",
    version,
    about = "Model-check container-liveness policies before they ship"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Model-check policies against environments (every pair).
    Check(livecheck::cli::CheckArgs),
    /// What a policy change did: knobs, verdict changes, latency, counterexamples.
    ///
    /// Exit status: 1 some property regressed; 3 nothing regressed but a
    /// verdict is inconclusive; 0 otherwise; 2 bad input.
    Diff(livecheck::diff::DiffArgs),
    /// Serve stateright's Explorer for one policy × environment on localhost.
    Explore {
        /// The policy (a file or a shipped name such as `v2-2950`).
        policy: PathBuf,
        /// The environment (a file or a shipped name such as `docker`).
        #[arg(long = "env")]
        env: PathBuf,
        /// The port to listen on.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The address to listen on (loopback unless you say otherwise).
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
    },
    /// Check one policy in one environment over a grid of settings (see `sweep --help`).
    ///
    /// Exit status: 0 the sweep ran, whatever the verdicts; 1 the checker failed at some
    /// point; 2 bad input (before any point runs).
    Sweep(livecheck::sweep::SweepArgs),
    /// Join the JSON outputs of `sweep --shard I/N` runs into the whole sweep.
    SweepMerge {
        /// Every shard's JSON output, in any order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value = "text")]
        format: livecheck::sweep::Format,
        /// Draw one heatmap per property into this file (.svg or .png).
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Explain one property of a policy in an environment (its shortest
    /// counterexample, or the figure showing it holds), or `explain 2929`.
    Explain(livecheck::explain::ExplainArgs),
    /// Replay a JSON Lines event log through a policy's decision machine.
    ///
    /// With --what-if-old OLD: replay a log that carries the container's truth
    /// (`container` lines) under OLD and under --policy (the new one) and list
    /// every decision whose outcome or restart differs. Exit status: 0 replayed
    /// (whatever differs); 2 bad input.
    Replay {
        /// The policy (a file or a shipped name); with --what-if-old, the new policy.
        #[arg(long)]
        policy: PathBuf,
        /// The log (JSON Lines; `-` for standard input).
        log: PathBuf,
        /// What-if replay: the old policy (a file or a shipped name) to compare --policy with on this log.
        #[arg(long, value_name = "OLD_POLICY")]
        what_if_old: Option<PathBuf>,
        /// Output format of a what-if replay.
        #[arg(long, value_enum, default_value = "text", requires = "what_if_old")]
        format: livecheck::replay::compare::Format,
    },
    /// Check that a recorded run (a replay log) is a behaviour the model allows.
    ///
    /// Prints `ok: N events followed` per workspace, or the first line the
    /// model could not follow, what it could have done instead and the lines
    /// before it. Exit status: 0 every workspace followed; 1 a gap; 2 bad input.
    ValidateTrace {
        /// The policy the run used (a file or a shipped name).
        #[arg(long)]
        policy: PathBuf,
        /// The environment whose model the run must fit (a file or a shipped name).
        #[arg(long)]
        env: PathBuf,
        /// How far a line's model time may be from its real time (default: one clock tick).
        #[arg(long)]
        tolerance: Option<String>,
        /// Most model states consistent with a prefix of the log.
        #[arg(long, default_value_t = 200_000)]
        max_frontier: usize,
        /// The log (JSON Lines: the proxy's events.jsonl, or explain --format replay).
        log: PathBuf,
    },
    /// Measure an environment on this machine and write it as an environment file.
    ///
    /// Exit status: 0 written; 2 bad input (no Docker daemon reachable, no agent
    /// image, a file that cannot be written).
    Calibrate {
        #[command(subcommand)]
        target: CalibrateTarget,
    },
    /// Generate the decision as source code for another language.
    Codegen {
        #[command(subcommand)]
        lang: CodegenLang,
    },
    /// Print the conformance vectors of a policy (JSON) on stdout.
    Vectors {
        /// The policy (a file or a shipped name).
        #[arg(long)]
        policy: PathBuf,
    },
}

#[derive(Subcommand)]
enum CalibrateTarget {
    /// The local Docker daemon: the restart cycle's stop and provision, how
    /// long a restarted container reports not-running, time to the agent's
    /// first heartbeat, what a crash under unless-stopped reads as. Writes
    /// every key of the environment format on the base's clock tick.
    Docker {
        /// Restart cycles to measure.
        #[arg(long, default_value_t = 10)]
        samples: usize,
        /// The environment file to write.
        #[arg(long)]
        out: PathBuf,
        /// The agent image (scripts/e2e-docker --preflight builds it).
        #[arg(long, default_value = "livecheck-agent:e2e")]
        image: String,
        /// The Docker daemon's unix socket (default: DOCKER_HOST's unix:// path,
        /// else /var/run/docker.sock).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// The environment whose unmeasured keys are kept (default: the shipped
        /// docker.toml, built in).
        #[arg(long)]
        base: Option<PathBuf>,
        /// The agent's boot time before it listens and registers.
        #[arg(long, default_value = "0s")]
        agent_boot_delay: String,
    },
}

#[derive(Subcommand)]
enum CodegenLang {
    /// Go: liveness.go, liveness_test.go and vectors.json in one package.
    Go {
        /// The policy (a file or a shipped name).
        #[arg(long)]
        policy: PathBuf,
        /// The Go package name.
        #[arg(long, default_value = "liveness")]
        package: String,
        /// The output directory (written atomically).
        #[arg(long)]
        out: PathBuf,
        /// Generate a policy whose recorded proofs (proofs/POLICY.ENV.json)
        /// hold a violated property; the header says which.
        #[arg(long)]
        allow_violations: bool,
        /// Where the recorded proofs are (default: ./proofs, then the
        /// proofs/ beside models/ when the policy is in models/policies/).
        #[arg(long)]
        proofs: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("livecheck: {e}");
            ExitCode::from(2)
        }
    }
}

/// A policy argument: a file, or a shipped name (`v2-2950`).
fn policy_arg(arg: &std::path::Path) -> Result<PathBuf, InputError> {
    livecheck::cli::shipped_name(arg, "policies", "policy")
}

/// An environment argument: a file, or a shipped name (`cloud`).
fn env_arg(arg: &std::path::Path) -> Result<PathBuf, InputError> {
    livecheck::cli::shipped_name(arg, "environments", "environment")
}

/// Runs one subcommand; its exit status, or the bad input (exit 2).
fn run(command: Command) -> Result<ExitCode, InputError> {
    match command {
        Command::Check(args) => livecheck::cli::check(&args).map(ExitCode::from),
        Command::Diff(args) => livecheck::diff::run(&args).map(ExitCode::from),
        Command::Explore {
            policy,
            env,
            port,
            host,
        } => livecheck::cli::explore(
            &policy_arg(&policy)?,
            &env_arg(&env)?,
            std::net::SocketAddr::new(host, port),
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Sweep(args) => livecheck::sweep::sweep(&args).map(ExitCode::from),
        Command::SweepMerge {
            files,
            format,
            plot,
        } => livecheck::sweep::sweep_merge(&livecheck::sweep::MergeArgs {
            files,
            format,
            plot,
        })
        .map(ExitCode::from),
        Command::Explain(args) => livecheck::explain::run(&args).map(ExitCode::from),
        Command::Replay {
            policy,
            log,
            what_if_old: None,
            format: _,
        } => replay(&policy_arg(&policy)?, &log),
        Command::Replay {
            policy,
            log,
            what_if_old: Some(old),
            format,
        } => what_if(&policy_arg(&old)?, &policy_arg(&policy)?, &log, format),
        Command::ValidateTrace {
            policy,
            env,
            tolerance,
            max_frontier,
            log,
        } => validate_trace(
            &policy_arg(&policy)?,
            &env_arg(&env)?,
            tolerance.as_deref(),
            max_frontier,
            &log,
        ),
        Command::Calibrate {
            target:
                CalibrateTarget::Docker {
                    samples,
                    out,
                    image,
                    socket,
                    base,
                    agent_boot_delay,
                },
        } => livecheck::duration::parse(&agent_boot_delay)
            .map_err(|e| InputError::new(e).at_key("--agent-boot-delay"))
            .and_then(|agent_boot_delay| {
                livecheck::calibrate::docker(&livecheck::calibrate::DockerArgs {
                    samples,
                    out,
                    image,
                    socket: socket.unwrap_or_else(livecheck::calibrate::default_socket),
                    base,
                    agent_boot_delay,
                })
            })
            .map(|()| ExitCode::SUCCESS),
        Command::Codegen {
            lang:
                CodegenLang::Go {
                    policy,
                    package,
                    out,
                    allow_violations,
                    proofs,
                },
        } => livecheck::codegen::cli_codegen_go(
            &policy_arg(&policy)?,
            &package,
            &out,
            &livecheck::codegen::go::Options {
                allow_violations,
                proof_dirs: proofs.into_iter().collect(),
            },
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Vectors { policy } => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            livecheck::codegen::cli_vectors(&policy_arg(&policy)?, &mut out)
                .map(|()| ExitCode::SUCCESS)
        }
    }
}

fn what_if(
    old: &std::path::Path,
    new: &std::path::Path,
    log: &std::path::Path,
    format: livecheck::replay::compare::Format,
) -> Result<ExitCode, InputError> {
    let old = Policy::load(old)?;
    let new = Policy::load(new)?;
    let report = livecheck::replay::what_if_file(&old, &new, log)?;
    let text = report.render(format, &log.display().to_string());
    use std::io::Write;
    // A closed pipe is not bad input: ignore write errors on stdout.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}

fn replay(policy: &std::path::Path, log: &std::path::Path) -> Result<ExitCode, InputError> {
    use livecheck::input::LineCapped;
    let policy = Policy::load(policy)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Lines are capped (`limits::MAX_LINE_BYTES`): `/dev/zero` or a
    // 100 MB line is an error naming the line, not a memory blow-up.
    if log.as_os_str() == "-" {
        let stdin = std::io::stdin();
        livecheck::replay::run(&policy, log, LineCapped::new(stdin.lock()), &mut out)?;
    } else {
        let file = std::fs::File::open(log)
            .map_err(|e| InputError::new(format!("cannot open log: {e}")).in_file(log))?;
        livecheck::replay::run(
            &policy,
            log,
            LineCapped::new(BufReader::with_capacity(1 << 16, file)),
            &mut out,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn validate_trace(
    policy: &std::path::Path,
    env: &std::path::Path,
    tolerance: Option<&str>,
    max_frontier: usize,
    log: &std::path::Path,
) -> Result<ExitCode, InputError> {
    let policy = Policy::load(policy)?;
    let env = livecheck::environment::Environment::load(env)?;
    let tolerance = tolerance
        .map(|t| {
            livecheck::duration::parse(t).map_err(|e| InputError::new(e).at_key("--tolerance"))
        })
        .transpose()?;
    let opts = livecheck::validate::Options {
        tolerance,
        max_frontier: max_frontier.max(1),
        ..Default::default()
    };
    let results = livecheck::validate::validate_file(&policy, &env, log, &opts)?;
    print!(
        "{}",
        livecheck::validate::render(&results, &log.display().to_string())
    );
    Ok(if results.iter().all(|r| r.gap.is_none()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
