//! `livecheck sweep` and `livecheck sweep-merge`: check one policy in one
//! environment over a grid of settings, and say which settings are safe.
//!
//! ```text
//! livecheck sweep models/policies/v2-2950.toml --env models/environments/cloud.toml \
//!     --vary policy.settle.window=10s..60s/10s --vary env.boot.not_running_max=20s..40s/5s \
//!     --plot settle.svg
//! ```
//!
//! * A key ([`grid::resolve_key`]) names a knob of the policy (`policy.…`)
//!   or environment (`env.…`) file by its TOML path; each grid point is the
//!   base files with the knobs set, validated exactly as a file is, so a
//!   point whose settings cannot be right is reported `invalid: reason`.
//! * Points run in parallel ([`run::run_points`]), one
//!   [`crate::check::check_pair`] each on a thread of its own, plus the
//!   threads no point is left for (the sweep's tail); verdicts follow its
//!   rules.
//! * Output: a text table, CSV or JSON ([`output`]); `--plot` draws one
//!   heatmap per property ([`plot`]).
//! * `--shard I/N` runs every N-th point starting at point I-1; the shards'
//!   JSON outputs joined by `sweep-merge` equal the whole sweep's (apart
//!   from the machine-dependent timings).
//!
//! Exit status: 0 the sweep ran (whatever the verdicts: a sweep is expected
//! to find unsafe settings); 1 the checker failed at some point (a bug,
//! reported per point); 2 bad input or usage, found before any point runs
//! (or a `--plot` file that could not be written after all: the results
//! are printed first, so a long sweep is never lost to it).

pub mod grid;
pub mod output;
pub mod plot;
pub mod run;

use crate::error::InputError;
use grid::{Base, Grid, Shard};
use output::{Counts, RunStats, SweepOutput};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Output format of `sweep` and `sweep-merge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// One line per point.
    Csv,
    /// Everything, for `sweep-merge` and scripts.
    Json,
}

/// Arguments of `livecheck sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct SweepArgs {
    /// The policy (a file or a shipped name such as `v2-2950`).
    pub policy: PathBuf,
    /// The environment (a file or a shipped name such as `cloud`).
    #[arg(long = "env")]
    pub env: PathBuf,
    /// KEY=FROM..TO/STEP, e.g. policy.settle.window=10s..60s/10s or
    /// env.boot.not_running_max=20s..40s/5s (repeatable; the first changes slowest).
    #[arg(long, required = true)]
    pub vary: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Draw one heatmap per property into this file (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Run only the I-th of N disjoint parts (I/N); join the JSON outputs with sweep-merge.
    #[arg(long)]
    pub shard: Option<String>,
    /// Threads: one point each; a thread with no point left helps those still running (default: every core; 1 to 256).
    #[arg(long, value_parser = crate::limits::parse_threads)]
    pub threads: Option<usize>,
    /// Allow a grid of more than 100 000 points.
    #[arg(long)]
    pub yes: bool,
    /// Stop each check after this many generated states (verdicts become inconclusive; at least 1).
    #[arg(long, value_parser = crate::limits::parse_max_states)]
    pub max_states: Option<usize>,
    /// Stop each check after this many seconds (verdicts become inconclusive; 1 to 31536000).
    #[arg(long, value_name = "SECONDS", value_parser = crate::limits::parse_timeout)]
    pub timeout: Option<u64>,
}

/// Everything `sweep` needs, validated: nothing here can fail later
/// because of the command line.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The base files.
    pub base: Base,
    /// The grid.
    pub grid: Grid,
    /// The part to run, if sharded.
    pub shard: Option<Shard>,
    /// How to run.
    pub run: run::RunOptions,
}

/// Validates the command line: files, keys, ranges, grid size, shard,
/// threads, plot target. Every error is an [`InputError`] (exit 2).
pub fn plan(args: &SweepArgs) -> Result<Plan, InputError> {
    let policy = crate::cli::shipped_name(&args.policy, "policies", "policy")?;
    let env = crate::cli::shipped_name(&args.env, "environments", "environment")?;
    let base = Base::load(&policy, &env)?;
    let varies = args
        .vary
        .iter()
        .map(|v| grid::parse_vary(&base, v))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = Grid::new(varies, args.yes)?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let threads = match args.threads {
        Some(n) => crate::limits::check_threads("--threads", n as u64)?,
        None => std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(crate::limits::MAX_THREADS),
    };
    if let Some(t) = args.timeout {
        crate::limits::check_timeout(t)?;
    }
    if let Some(path) = &args.plot {
        plot::preflight(path, grid.varies.len())?;
    }
    if let Some(m) = args.max_states {
        crate::limits::check_max_states(m)?;
    }
    Ok(Plan {
        base,
        grid,
        shard,
        run: run::RunOptions {
            threads,
            max_states: args.max_states,
            timeout: args.timeout.map(Duration::from_secs),
            progress: run::Progress::Off,
        },
    })
}

/// Runs a validated plan and returns its output (no printing).
pub fn execute(plan: &Plan) -> SweepOutput {
    let indices = match plan.shard {
        Some(s) => s.points(plan.grid.len()),
        None => (0..plan.grid.len()).collect(),
    };
    let (points, elapsed) = run::run_points(&plan.base, &plan.grid, &indices, &plan.run);
    let secs = elapsed.as_secs_f64();
    SweepOutput {
        sweep: output::header(
            &plan.base,
            &plan.grid,
            plan.run.max_states,
            plan.run.timeout.map(|t| t.as_secs()),
        ),
        shard: plan.shard,
        runs: vec![RunStats {
            shard: plan.shard,
            threads: plan.run.threads,
            points: points.len(),
            elapsed_ms: elapsed.as_millis() as u64,
            points_per_second: if secs > 0.0 {
                points.len() as f64 / secs
            } else {
                0.0
            },
        }],
        points,
    }
}

fn emit(out: &SweepOutput, format: Format, plot_path: Option<&PathBuf>) -> Result<u8, InputError> {
    let text = match format {
        Format::Text => output::render_text(out),
        Format::Csv => output::render_csv(out),
        Format::Json => output::render_json(out),
    };
    crate::cli::print_stdout(&text);
    // After the results are out: a picture that cannot be written must not
    // cost the sweep's results.
    if let Some(path) = plot_path {
        plot::plot(out, path)?;
    }
    let counts = Counts::of(&out.points);
    if counts.errors > 0 {
        eprintln!(
            "livecheck: the checker failed at {} point(s) (status \"error\"): that is a bug in livecheck, please report it with the sweep's command line",
            counts.errors
        );
        return Ok(1);
    }
    Ok(0)
}

/// `livecheck sweep`: validates everything, runs the points (progress on
/// stderr), prints the table/CSV/JSON on stdout, draws `--plot`, prints a
/// summary line (points, counts, points per second) on stderr, and returns
/// the exit status (see the module docs).
pub fn sweep(args: &SweepArgs) -> Result<u8, InputError> {
    let mut plan = plan(args)?;
    plan.run.progress = if std::io::stderr().is_terminal() {
        run::Progress::Bar
    } else {
        run::Progress::Lines
    };
    let out = execute(&plan);
    if let Some(run) = out.runs.first() {
        eprintln!(
            "livecheck sweep: {}{} in {:.1}s on {} thread(s): {:.2} points/s",
            Counts::of(&out.points),
            match plan.shard {
                Some(s) => format!(" (shard {}/{} of {})", s.index, s.count, plan.grid.len()),
                None => String::new(),
            },
            run.elapsed_ms as f64 / 1000.0,
            run.threads,
            run.points_per_second
        );
    }
    emit(&out, args.format, args.plot.as_ref())
}

/// Arguments of `livecheck sweep-merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// Every shard's JSON output, in any order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Draw one heatmap per property into this file (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `livecheck sweep-merge`: joins shard outputs ([`output::merge`]) and
/// prints/draws the whole sweep as `sweep` would.
pub fn sweep_merge(args: &MergeArgs) -> Result<u8, InputError> {
    if let Some(path) = &args.plot {
        plot::PlotFormat::of(path)?;
    }
    let parts = args
        .files
        .iter()
        .map(|f| output::read_json(f))
        .collect::<Result<Vec<_>, _>>()?;
    let files: Vec<&std::path::Path> = args.files.iter().map(PathBuf::as_path).collect();
    let merged = output::merge(&files, parts)?;
    if let Some(path) = &args.plot {
        plot::preflight(path, merged.sweep.vary.len())?;
    }
    emit(&merged, args.format, args.plot.as_ref())
}
