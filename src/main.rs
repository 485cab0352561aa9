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
    Check {
        /// Policy files (default: every file in models/policies/).
        policies: Vec<PathBuf>,
        /// Environment files (default: every file in models/environments/).
        #[arg(long = "env", num_args = 1..)]
        envs: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// Checker threads per pair.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Pairs checked at once (default: the machine's cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Stop after this many generated states (verdicts become inconclusive).
        #[arg(long)]
        max_states: Option<usize>,
        /// Stop after this many seconds (verdicts become inconclusive).
        #[arg(long)]
        timeout: Option<u64>,
        /// Write proofs/POLICY.ENVIRONMENT.json for every pair into this directory.
        #[arg(long, num_args = 0..=1, default_missing_value = "proofs")]
        write_proofs: Option<PathBuf>,
    },
    /// Serve stateright's Explorer for one policy × environment on localhost.
    Explore {
        /// The policy file.
        policy: PathBuf,
        /// The environment file.
        #[arg(long = "env")]
        env: PathBuf,
        /// The port to listen on.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The address to listen on (loopback unless you say otherwise).
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
    },
    /// Replay a JSON Lines event log through a policy's decision machine.
    Replay {
        /// The policy file (models/policies/NAME.toml).
        #[arg(long)]
        policy: PathBuf,
        /// The log (JSON Lines; `-` for standard input).
        log: PathBuf,
    },
    /// Generate the decision as source code for another language.
    Codegen {
        #[command(subcommand)]
        lang: CodegenLang,
    },
    /// Print the conformance vectors of a policy (JSON) on stdout.
    Vectors {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum CodegenLang {
    /// Go: liveness.go, liveness_test.go and vectors.json in one package.
    Go {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
        /// The Go package name.
        #[arg(long, default_value = "liveness")]
        package: String,
        /// The output directory (written atomically).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            policies,
            envs,
            format,
            threads,
            jobs,
            max_states,
            timeout,
            write_proofs,
        } => livecheck::cli::check(&livecheck::cli::CheckArgs {
            policies,
            envs,
            format: match format {
                CheckFormat::Text => livecheck::cli::Format::Text,
                CheckFormat::Json => livecheck::cli::Format::Json,
            },
            threads,
            jobs: jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            }),
            max_states,
            timeout,
            write_proofs,
        })
        .map(ExitCode::from),
        Command::Explore {
            policy,
            env,
            port,
            host,
        } => livecheck::cli::explore(&policy, &env, std::net::SocketAddr::new(host, port))
            .map(|()| ExitCode::SUCCESS),
        Command::Replay { policy, log } => replay(&policy, &log),
        Command::Codegen {
            lang:
                CodegenLang::Go {
                    policy,
                    package,
                    out,
                },
        } => {
            livecheck::codegen::cli_codegen_go(&policy, &package, &out).map(|()| ExitCode::SUCCESS)
        }
        Command::Vectors { policy } => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            livecheck::codegen::cli_vectors(&policy, &mut out).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("livecheck: {e}");
            ExitCode::from(2)
        }
    }
}

fn replay(policy: &std::path::Path, log: &std::path::Path) -> Result<ExitCode, InputError> {
    let policy = Policy::load(policy)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    if log.as_os_str() == "-" {
        let stdin = std::io::stdin();
        livecheck::replay::run(&policy, log, stdin.lock(), &mut out)?;
    } else {
        let file = std::fs::File::open(log)
            .map_err(|e| InputError::new(format!("cannot open log: {e}")).in_file(log))?;
        livecheck::replay::run(
            &policy,
            log,
            BufReader::with_capacity(1 << 16, file),
            &mut out,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
