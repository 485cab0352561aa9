//! The `livecheck` command line. See docs/CONTRACT.md and the README.
//!
//! Only the parser lives here: each subcommand's arguments are a
//! `clap::Args` struct beside the code that runs it (`livecheck::cli`,
//! `livecheck::diff`, `livecheck::explain`, `livecheck::sweep`), and every
//! subcommand returns its exit status or an input error (exit 2).

use clap::{Parser, Subcommand};
use livecheck::cli::commands;
use livecheck::error::InputError;
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
    Explore(commands::ExploreArgs),
    /// Check one policy in one environment over a grid of settings (see `sweep --help`).
    ///
    /// Exit status: 0 the sweep ran, whatever the verdicts; 1 the checker failed at some
    /// point; 2 bad input (before any point runs).
    Sweep(livecheck::sweep::SweepArgs),
    /// Join the JSON outputs of `sweep --shard I/N` runs into the whole sweep.
    SweepMerge(livecheck::sweep::MergeArgs),
    /// Explain one property of a policy in an environment (its shortest
    /// counterexample, or the figure showing it holds), or `explain 2929`.
    Explain(livecheck::explain::ExplainArgs),
    /// Replay a JSON Lines event log through a policy's decision machine.
    ///
    /// With --what-if-old OLD: replay a log that carries the container's truth
    /// (`container` lines) under OLD and under --policy (the new one) and list
    /// every decision whose outcome or restart differs. Exit status: 0 replayed
    /// (whatever differs); 2 bad input.
    Replay(commands::ReplayArgs),
    /// Check that a recorded run (a replay log) is a behaviour the model allows.
    ///
    /// Prints `ok: N events followed` per workspace, or the first line the
    /// model could not follow, what it could have done instead and the lines
    /// before it. Exit status: 0 every workspace followed; 1 a gap; 2 bad input.
    ValidateTrace(commands::ValidateTraceArgs),
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
    Vectors(commands::VectorsArgs),
}

#[derive(Subcommand)]
enum CalibrateTarget {
    /// The local Docker daemon: the restart cycle's stop and provision, how
    /// long a restarted container reports not-running, time to the agent's
    /// first heartbeat, what a crash under unless-stopped reads as. Writes
    /// every key of the environment format on the base's clock tick.
    Docker(commands::CalibrateDockerArgs),
}

#[derive(Subcommand)]
enum CodegenLang {
    /// Go: liveness.go, liveness_test.go and vectors.json in one package.
    Go(commands::CodegenGoArgs),
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("livecheck: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs one subcommand: its exit status, or the bad input (exit 2).
fn run(command: Command) -> Result<u8, InputError> {
    match command {
        Command::Check(args) => livecheck::cli::check(&args),
        Command::Diff(args) => livecheck::diff::run(&args),
        Command::Explore(args) => commands::explore(&args),
        Command::Sweep(args) => livecheck::sweep::sweep(&args),
        Command::SweepMerge(args) => livecheck::sweep::sweep_merge(&args),
        Command::Explain(args) => livecheck::explain::run(&args),
        Command::Replay(args) => commands::replay(&args),
        Command::ValidateTrace(args) => commands::validate_trace(&args),
        Command::Calibrate {
            target: CalibrateTarget::Docker(args),
        } => commands::calibrate_docker(&args),
        Command::Codegen {
            lang: CodegenLang::Go(args),
        } => commands::codegen_go(&args),
        Command::Vectors(args) => commands::vectors(&args),
    }
}
