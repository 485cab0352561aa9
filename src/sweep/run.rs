//! Running a sweep: one [`check_pair_lent`] per grid point, on a pool of
//! worker threads pulling point indices from a shared counter, with a
//! progress bar on stderr. A point's search runs on one thread; threads with
//! no point left to start (more threads than points, or the sweep's tail)
//! are lent to the points still running, shared evenly, from their searches'
//! next level on — as `check` does with its pairs. A search's results do not
//! depend on its threads, so neither does the sweep's output.

use super::grid::{Base, Grid};
use super::output::{Counts, PointResult, PropertyVerdict, Status};
use crate::check::{check_pair_lent, CheckOptions, Lender, Verdict};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to run the points.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Threads: a worker each (one point at a time), and lent to the
    /// points still running once there is no point left to start.
    pub threads: usize,
    /// `--max-states` of every check.
    pub max_states: Option<usize>,
    /// `--timeout` of every check.
    pub timeout: Option<Duration>,
    /// How to show progress on stderr.
    pub progress: Progress,
}

/// Progress reporting on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing.
    Off,
    /// An `indicatif` bar (for a terminal).
    Bar,
    /// A plain line at most every [`LINE_EVERY`] (for logs: CI, batch jobs).
    Lines,
}

/// Least time between two plain progress lines.
pub const LINE_EVERY: Duration = Duration::from_secs(30);

/// Checks one grid point: builds its policy and environment (an invalid
/// point is reported, not checked), runs [`check_pair_lent`] on one thread
/// plus the threads `lent` says are free, and keeps the verdicts and the
/// worst-case detection latency. A panic in the checker becomes a point
/// with status `error`.
pub fn run_point(
    base: &Base,
    grid: &Grid,
    index: usize,
    opts: &RunOptions,
    lent: Option<&(dyn Fn() -> usize + Sync)>,
) -> PointResult {
    let values = grid.values(index);
    let knobs = grid.knobs();
    let named: BTreeMap<String, i64> = knobs
        .iter()
        .map(|k| k.name())
        .zip(values.iter().copied())
        .collect();
    let mut point = PointResult {
        index,
        values: named,
        status: Status::Checked,
        reason: None,
        properties: Vec::new(),
        worst_case_ms: None,
        worst_case_at_least: false,
        complete: None,
        stopped_by: None,
        unique_states: None,
        elapsed_ms: 0,
    };
    let (policy, env) = match base.apply(&knobs, &values) {
        Ok(pe) => pe,
        Err(reason) => {
            point.status = Status::Invalid;
            point.reason = Some(reason);
            return point;
        }
    };
    let check_opts = CheckOptions {
        threads: 1,
        max_states: opts.max_states,
        timeout: opts.timeout,
        progress: false,
        exhaustive: false,
    };
    let start = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_pair_lent(&policy, &env, &check_opts, lent)
    }));
    point.elapsed_ms = start.elapsed().as_millis() as u64;
    let r = match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            point.status = Status::Error;
            point.reason = Some(format!("the checker panicked: {msg}"));
            return point;
        }
    };
    point.complete = Some(r.complete);
    point.stopped_by = r.stopped_by.map(str::to_owned);
    point.unique_states = Some(r.unique_states);
    for p in &r.properties {
        point.properties.push(PropertyVerdict {
            name: p.name.to_owned(),
            verdict: p.verdict.word().to_owned(),
        });
        if p.name == "dead_detected_within" {
            point.worst_case_ms = p.worst_case_ms;
            // Violated, or a search stopped by a bound: the mark is a lower bound.
            point.worst_case_at_least = p.worst_case_ms.is_some() && p.verdict != Verdict::Holds;
        }
    }
    point
}

/// Runs the given points of the grid on `opts.threads` workers and returns
/// their results in index order, with the run's wall time.
pub fn run_points(
    base: &Base,
    grid: &Grid,
    indices: &[usize],
    opts: &RunOptions,
) -> (Vec<PointResult>, Duration) {
    let start = Instant::now();
    let bar = progress_bar(indices.len(), opts.progress);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<PointResult>();
    let mut results: Vec<PointResult> = Vec::with_capacity(indices.len());
    let threads = opts.threads.max(1);
    let workers = threads.min(indices.len().max(1));
    // Threads with no point to start, shared among the points running.
    let lender = Lender::new(threads, workers);
    let lent = || lender.lent();
    let lent: &(dyn Fn() -> usize + Sync) = &lent;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, lender) = (&next, &lender);
            scope.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = indices.get(k) else { break };
                    if tx
                        .send(run_point(base, grid, index, opts, Some(lent)))
                        .is_err()
                    {
                        break;
                    }
                }
                lender.retire();
            });
        }
        drop(tx);
        let mut counts = Counts::default();
        let mut last_line = Instant::now();
        for point in rx {
            counts.add(&point);
            let summary = format!(
                "violated {}  inconclusive {}  invalid {}{}",
                counts.violated,
                counts.inconclusive,
                counts.invalid,
                if counts.errors > 0 {
                    format!("  CHECKER FAILED {}", counts.errors)
                } else {
                    String::new()
                }
            );
            if let Some(bar) = &bar {
                bar.set_message(summary);
                bar.inc(1);
            } else if opts.progress == Progress::Lines && last_line.elapsed() >= LINE_EVERY {
                last_line = Instant::now();
                eprintln!(
                    "livecheck sweep: {}/{} points done in {:.0?}: {summary}",
                    counts.points,
                    indices.len(),
                    start.elapsed()
                );
            }
            results.push(point);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    results.sort_by_key(|p| p.index);
    (results, start.elapsed())
}

fn progress_bar(len: usize, progress: Progress) -> Option<indicatif::ProgressBar> {
    if progress != Progress::Bar {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} points done  {msg}  (eta {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message("violated 0  inconclusive 0  invalid 0");
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}
