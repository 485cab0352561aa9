//! The smaller subcommands behind the argument parser: each one's
//! arguments (a `clap::Args` struct, written once) and what it does. Every
//! policy or environment argument is a file or a shipped name
//! ([`super::shipped_name`]); every error is an [`InputError`] (exit 2).

use crate::error::InputError;
use crate::policy::Policy;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

/// A policy argument: a file, or a shipped name (`v2-2950`).
fn policy_arg(arg: &Path) -> Result<PathBuf, InputError> {
    super::shipped_name(arg, "policies", "policy")
}

/// An environment argument: a file, or a shipped name (`cloud`).
fn env_arg(arg: &Path) -> Result<PathBuf, InputError> {
    super::shipped_name(arg, "environments", "environment")
}

/// Arguments of `livecheck explore`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExploreArgs {
    /// The policy (a file or a shipped name such as `v2-2950`).
    pub policy: PathBuf,
    /// The environment (a file or a shipped name such as `docker`).
    #[arg(long = "env")]
    pub env: PathBuf,
    /// The port to listen on.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// The address to listen on (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
}

/// `livecheck explore`: serves stateright's Explorer ([`super::explore`]).
pub fn explore(args: &ExploreArgs) -> Result<u8, InputError> {
    super::explore(
        &policy_arg(&args.policy)?,
        &env_arg(&args.env)?,
        std::net::SocketAddr::new(args.host, args.port),
    )?;
    Ok(0)
}

/// Arguments of `livecheck replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The policy (a file or a shipped name); with --what-if-old, the new policy.
    #[arg(long)]
    pub policy: PathBuf,
    /// The log (JSON Lines; `-` for standard input).
    pub log: PathBuf,
    /// What-if replay: the old policy (a file or a shipped name) to compare
    /// --policy with on this log.
    #[arg(long, value_name = "OLD_POLICY")]
    pub what_if_old: Option<PathBuf>,
    /// Output format of a what-if replay.
    #[arg(long, value_enum, default_value = "text", requires = "what_if_old")]
    pub format: crate::replay::compare::Format,
}

/// `livecheck replay`: one JSON line per finished decision on stdout, or
/// with `--what-if-old` the decisions the two policies take differently.
pub fn replay(args: &ReplayArgs) -> Result<u8, InputError> {
    let policy = Policy::load(&policy_arg(&args.policy)?)?;
    let log = args.log.as_path();
    if let Some(old) = &args.what_if_old {
        let old = Policy::load(&policy_arg(old)?)?;
        let report = crate::replay::what_if_file(&old, &policy, log)?;
        super::print_stdout(&report.render(args.format, &log.display().to_string()));
        return Ok(0);
    }
    use crate::input::LineCapped;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Lines are capped (`limits::MAX_LINE_BYTES`): `/dev/zero` or a
    // 100 MB line is an error naming the line, not a memory blow-up.
    if log.as_os_str() == "-" {
        let stdin = std::io::stdin();
        crate::replay::run(&policy, log, LineCapped::new(stdin.lock()), &mut out)?;
    } else {
        let file = std::fs::File::open(log)
            .map_err(|e| InputError::new(format!("cannot open log: {e}")).in_file(log))?;
        crate::replay::run(
            &policy,
            log,
            LineCapped::new(BufReader::with_capacity(1 << 16, file)),
            &mut out,
        )?;
    }
    Ok(0)
}

/// Arguments of `livecheck validate-trace`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateTraceArgs {
    /// The policy the run used (a file or a shipped name).
    #[arg(long)]
    pub policy: PathBuf,
    /// The environment whose model the run must fit (a file or a shipped name).
    #[arg(long)]
    pub env: PathBuf,
    /// How far a line's model time may be from its real time (default: one clock tick).
    #[arg(long)]
    pub tolerance: Option<String>,
    /// Most model states consistent with a prefix of the log.
    #[arg(long, default_value_t = 200_000)]
    pub max_frontier: usize,
    /// The log (JSON Lines: the proxy's events.jsonl, or explain --format replay).
    pub log: PathBuf,
}

/// `livecheck validate-trace`: 0 every workspace followed, 1 a gap.
pub fn validate_trace(args: &ValidateTraceArgs) -> Result<u8, InputError> {
    let policy = Policy::load(&policy_arg(&args.policy)?)?;
    let env = crate::environment::Environment::load(&env_arg(&args.env)?)?;
    let tolerance = args
        .tolerance
        .as_deref()
        .map(|t| crate::duration::parse(t).map_err(|e| InputError::new(e).at_key("--tolerance")))
        .transpose()?;
    let opts = crate::validate::Options {
        tolerance,
        max_frontier: args.max_frontier.max(1),
        ..Default::default()
    };
    let results = crate::validate::validate_file(&policy, &env, &args.log, &opts)?;
    super::print_stdout(&crate::validate::render(
        &results,
        &args.log.display().to_string(),
    ));
    Ok(u8::from(results.iter().any(|r| r.gap.is_some())))
}

/// Arguments of `livecheck calibrate docker`.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrateDockerArgs {
    /// Restart cycles to measure.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// The environment file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The agent image (scripts/e2e-docker --preflight builds it).
    #[arg(long, default_value = "livecheck-agent:e2e")]
    pub image: String,
    /// The Docker daemon's unix socket (default: DOCKER_HOST's unix:// path,
    /// else /var/run/docker.sock).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// The environment whose unmeasured keys are kept (default: the shipped
    /// docker.toml, built in).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// The agent's boot time before it listens and registers.
    #[arg(long, default_value = "0s")]
    pub agent_boot_delay: String,
}

/// `livecheck calibrate docker` ([`crate::calibrate::docker`]).
pub fn calibrate_docker(args: &CalibrateDockerArgs) -> Result<u8, InputError> {
    let agent_boot_delay = crate::duration::parse(&args.agent_boot_delay)
        .map_err(|e| InputError::new(e).at_key("--agent-boot-delay"))?;
    crate::calibrate::docker(&crate::calibrate::DockerArgs {
        samples: args.samples,
        out: args.out.clone(),
        image: args.image.clone(),
        socket: args
            .socket
            .clone()
            .unwrap_or_else(crate::calibrate::default_socket),
        base: args.base.clone(),
        agent_boot_delay,
    })?;
    Ok(0)
}

/// Arguments of `livecheck codegen go`.
#[derive(Debug, Clone, clap::Args)]
pub struct CodegenGoArgs {
    /// The policy (a file or a shipped name).
    #[arg(long)]
    pub policy: PathBuf,
    /// The Go package name.
    #[arg(long, default_value = "liveness")]
    pub package: String,
    /// The output directory (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Generate a policy whose recorded proofs (proofs/POLICY.ENV.json)
    /// hold a violated property; the header says which.
    #[arg(long)]
    pub allow_violations: bool,
    /// Where the recorded proofs are (default: ./proofs, then the
    /// proofs/ beside models/ when the policy is in models/policies/).
    #[arg(long)]
    pub proofs: Option<PathBuf>,
}

/// `livecheck codegen go` ([`crate::codegen::cli_codegen_go`]).
pub fn codegen_go(args: &CodegenGoArgs) -> Result<u8, InputError> {
    crate::codegen::cli_codegen_go(
        &policy_arg(&args.policy)?,
        &args.package,
        &args.out,
        &crate::codegen::go::Options {
            allow_violations: args.allow_violations,
            proof_dirs: args.proofs.iter().cloned().collect(),
        },
    )?;
    Ok(0)
}

/// Arguments of `livecheck vectors`.
#[derive(Debug, Clone, clap::Args)]
pub struct VectorsArgs {
    /// The policy (a file or a shipped name).
    #[arg(long)]
    pub policy: PathBuf,
}

/// `livecheck vectors`: the conformance vectors of a policy on stdout.
pub fn vectors(args: &VectorsArgs) -> Result<u8, InputError> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    crate::codegen::cli_vectors(&policy_arg(&args.policy)?, &mut out)?;
    Ok(0)
}
