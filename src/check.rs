//! `livecheck check`: runs the stateright model checker over policy ×
//! environment pairs and turns what it found into verdicts, counts, shortest
//! counterexamples and the worst-case detection latency.
//!
//! Verdict rules: an `always` property with a discovery is `violated`; one
//! without is `holds` only when the search visited every reachable state,
//! and `inconclusive` otherwise. A `sometimes` property with a discovery
//! `holds`; without one it is `violated` after a complete search and
//! `inconclusive` otherwise. A search stopped by `--max-states` or
//! `--timeout` is never complete.
//!
//! A search stops once every verdict is decided (every `always` property
//! violated and every `sometimes` property witnessed, each at its shortest
//! depth, since the search is breadth-first) unless
//! [`CheckOptions::exhaustive`] asks for every reachable state: the
//! worst-case detection latency is then the largest over the whole space
//! rather than a lower bound. Such a pair reports `stopped_by:
//! "all-decided"` and `complete: false`.

use crate::duration::Ms;
use crate::engine::{self, Target};
use crate::environment::Environment;
use crate::model::properties::CONTRACT;
use crate::model::search::Trail;
use crate::model::World;
use crate::policy::Policy;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a property came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Proven over every reachable state.
    Holds,
    /// A counterexample exists (or, for `sometimes`, no example exists).
    Violated,
    /// The search stopped before it could tell.
    Inconclusive,
}

impl Verdict {
    /// The contract's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// The verdict a contract word names (`holds`, `violated`,
    /// `inconclusive`), as a proof records it.
    pub fn from_word(word: &str) -> Option<Verdict> {
        [Verdict::Holds, Verdict::Violated, Verdict::Inconclusive]
            .into_iter()
            .find(|v| v.word() == word)
    }
}

/// One property's outcome.
#[derive(Debug, Clone)]
pub struct PropertyResult {
    /// Contract name.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// For a violated `always` property: a shortest counterexample. For a
    /// `sometimes` property that holds: a shortest example.
    pub trail: Option<Trail>,
    /// `dead_detected_within` only: the worst detection latency seen (to the
    /// clock tick; at least this when violated), if the model can crash.
    pub worst_case_ms: Option<Ms>,
    /// `dead_detected_within` only: a shortest path reaching that worst case.
    pub worst_case_trail: Option<Trail>,
}

/// One pair's outcome.
#[derive(Debug, Clone)]
pub struct PairResult {
    /// The checked model (policy and environment).
    pub world: World,
    /// Every reachable state was visited.
    pub complete: bool,
    /// States generated, with repeats.
    pub states: usize,
    /// Distinct states.
    pub unique_states: usize,
    /// Deepest BFS level reached.
    pub max_depth: usize,
    /// Wall time of the check (search and counterexamples).
    pub elapsed: Duration,
    /// Why the search stopped early, if it did.
    pub stopped_by: Option<&'static str>,
    /// The contract's properties, in contract order.
    pub properties: Vec<PropertyResult>,
    /// Heap bytes of the explorer's visited set at the end.
    pub visited_bytes: usize,
    /// The bounds the search ran under.
    pub options: CheckOptions,
}

impl PairResult {
    /// The named property's result.
    pub fn property(&self, name: &str) -> Option<&PropertyResult> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// Limits and knobs of a check.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Checker threads.
    pub threads: usize,
    /// Stop after this many generated states (inconclusive beyond).
    pub max_states: Option<usize>,
    /// Stop after this long (inconclusive beyond).
    pub timeout: Option<Duration>,
    /// Print progress on stderr while a check runs longer than a few seconds.
    pub progress: bool,
    /// Visit every reachable state even when every verdict is decided
    /// earlier (for the exact worst-case detection latency).
    pub exhaustive: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 1,
            max_states: None,
            timeout: None,
            progress: false,
            exhaustive: false,
        }
    }
}

/// Checks one policy in one environment.
pub fn check_pair(policy: &Policy, env: &Environment, opts: &CheckOptions) -> PairResult {
    check_pair_lent(policy, env, opts, None)
}

/// The estimates a progress line can honestly give. A breadth-first search
/// does not know how many states lie ahead, so there is no ETA for the
/// search; there is one for the level being expanded (from its own rate so
/// far) and, when a bound was given, for the bound (`--max-states` at the
/// generation rate so far, `--timeout` on the clock), whichever comes first.
struct Eta {
    max_states: Option<usize>,
    timeout: Option<Duration>,
    /// The level being timed: its depth, when it was first seen and how
    /// much of it was done then.
    level: std::sync::Mutex<Option<(usize, Instant, usize)>>,
}

impl Eta {
    fn new(max_states: Option<usize>, timeout: Option<Duration>) -> Self {
        Eta {
            max_states,
            timeout,
            level: std::sync::Mutex::new(None),
        }
    }

    /// `, level done in ~Xs` and `, the bound stops it in ≤ Ys` where they
    /// can be told, for a snapshot taken at `now`.
    fn say(&self, p: &engine::Progress, now: Instant) -> String {
        let mut out = String::new();
        let mut level = self.level.lock().unwrap_or_else(|e| e.into_inner());
        match *level {
            Some((depth, since, done_then)) if depth == p.depth => {
                let done = p.level_done.saturating_sub(done_then);
                let left = p.level_size.saturating_sub(p.level_done);
                if done > 0 && left > 0 {
                    let per = now.duration_since(since).as_secs_f64() / done as f64;
                    let secs = (per * left as f64).round();
                    out.push_str(&format!(", level done in ~{secs}s"));
                }
            }
            _ => *level = Some((p.depth, now, p.level_done)),
        }
        let elapsed = p.elapsed.as_secs_f64().max(1e-9);
        let by_states = self.max_states.map(|m| {
            let rate = p.generated as f64 / elapsed;
            m.saturating_sub(p.generated) as f64 / rate.max(1e-9)
        });
        let by_clock = self
            .timeout
            .map(|t| t.as_secs_f64() - p.elapsed.as_secs_f64());
        let bound = match (by_states, by_clock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(secs) = bound {
            out.push_str(&format!(", the bound stops it in ≤ {:.0}s", secs.max(0.0)));
        }
        out
    }
}

/// The threads a driver running several searches at once (`check` over its
/// pairs, `sweep` over its points) lends to the searches still running
/// ([`engine::Options::lent_threads`]): a thread with no search left to
/// start is shared evenly among those running, from their next level on.
#[derive(Debug)]
pub struct Lender {
    idle: AtomicUsize,
    busy: AtomicUsize,
}

impl Lender {
    /// `threads` threads of which `workers` start a search each; the rest
    /// are lent from the start.
    pub fn new(threads: usize, workers: usize) -> Self {
        Lender {
            idle: AtomicUsize::new(threads.saturating_sub(workers)),
            busy: AtomicUsize::new(workers),
        }
    }

    /// Threads each running search may add now: the idle ones shared evenly
    /// (rounded down).
    pub fn lent(&self) -> usize {
        self.idle.load(Ordering::Relaxed) / self.busy.load(Ordering::Relaxed).max(1)
    }

    /// A worker found no search left to start: its thread is lent from now on.
    pub fn retire(&self) {
        self.busy.fetch_sub(1, Ordering::Relaxed);
        self.idle.fetch_add(1, Ordering::Relaxed);
    }
}

/// [`check_pair`], with threads lent by a driver checking several pairs
/// (see [`engine::Options::lent_threads`] and [`Lender`]).
pub fn check_pair_lent(
    policy: &Policy,
    env: &Environment,
    opts: &CheckOptions,
    lent_threads: Option<&(dyn Fn() -> usize + Sync)>,
) -> PairResult {
    let world = World::new(policy.clone(), env.clone());
    let start = Instant::now();
    let label = format!("{} × {}", policy.name, env.name);
    let eta = Eta::new(opts.max_states, opts.timeout);
    let report = |p: &engine::Progress| {
        eprintln!(
            "livecheck: {label}: {} unique states ({:.2} M/s), depth {}, level {}/{}, {:.0?}{}…",
            p.unique,
            p.unique as f64 / p.elapsed.as_secs_f64().max(1e-9) / 1e6,
            p.depth,
            p.level_done,
            p.level_size,
            p.elapsed,
            eta.say(p, Instant::now())
        )
    };
    let targets = Target::of_model(&world);
    let out = engine::explore(
        &world,
        &targets,
        &engine::Options {
            threads: opts.threads.max(1),
            max_states: opts.max_states,
            deadline: opts.timeout.map(|t| start + t),
            stop_when_all_hit: !opts.exhaustive,
            progress: if opts.progress { Some(&report) } else { None },
            lent_threads,
        },
    );
    let stopped_by = out.stopped.map(engine::Stop::word);
    let complete = out.complete;
    let mut trails = out.hits.into_iter();
    let mut results = Vec::new();
    for (t, name) in targets.iter().zip(CONTRACT) {
        debug_assert_eq!(
            t.name, name,
            "the model's properties are the contract's, in order"
        );
        let trail = trails.next().flatten().map(Trail::from);
        let sometimes = t.expect == engine::Expect::Sometimes;
        let verdict = match (sometimes, trail.is_some()) {
            (false, true) => Verdict::Violated,
            (true, true) => Verdict::Holds,
            (_, false) if complete => {
                if sometimes {
                    Verdict::Violated
                } else {
                    Verdict::Holds
                }
            }
            _ => Verdict::Inconclusive,
        };
        results.push(PropertyResult {
            name,
            verdict,
            trail,
            worst_case_ms: None,
            worst_case_trail: None,
        });
    }
    if let Some(r) = results
        .iter_mut()
        .find(|r| r.name == "dead_detected_within")
    {
        if world.env.may_crash {
            r.worst_case_ms = Some(out.worst.as_ref().map_or(0, |(v, _)| *v));
            if r.verdict != Verdict::Inconclusive {
                r.worst_case_trail = out.worst.map(|(_, p)| Trail::from(p));
            }
        }
    }
    PairResult {
        complete,
        states: out.generated,
        unique_states: out.unique,
        max_depth: out.depth,
        elapsed: start.elapsed(),
        stopped_by,
        properties: results,
        visited_bytes: out.visited_bytes,
        options: *opts,
        world,
    }
}

#[cfg(test)]
mod eta_tests {
    use super::*;

    fn snapshot(generated: usize, level_done: usize, secs: u64) -> engine::Progress {
        engine::Progress {
            unique: generated,
            generated,
            depth: 7,
            level_size: 1_000,
            level_done,
            elapsed: Duration::from_secs(secs),
        }
    }

    #[test]
    fn a_level_is_timed_from_its_own_rate_and_a_bound_from_the_whole_search() {
        let t0 = Instant::now();
        let eta = Eta::new(Some(1_000), Some(Duration::from_secs(60)));
        // First sight of the level: nothing to time it by yet; the state
        // bound (500 of 1000 generated in 5 s) comes before the clock's.
        assert_eq!(
            eta.say(&snapshot(500, 100, 5), t0),
            ", the bound stops it in ≤ 5s"
        );
        // A second later 100 more of the level's 1000 are done: 800 left.
        assert_eq!(
            eta.say(&snapshot(600, 200, 6), t0 + Duration::from_secs(1)),
            ", level done in ~8s, the bound stops it in ≤ 4s"
        );
        // No bound, a new level: nothing can be told.
        let open = Eta::new(None, None);
        let mut p = snapshot(600, 0, 6);
        p.depth = 8;
        assert_eq!(open.say(&p, t0), "");
    }
}

#[cfg(test)]
mod lender_tests {
    use super::Lender;

    #[test]
    fn a_lender_shares_idle_threads_evenly_among_running_searches() {
        // Two threads, two searches: nothing to lend until one is done.
        let l = Lender::new(2, 2);
        assert_eq!(l.lent(), 0);
        l.retire();
        assert_eq!(l.lent(), 1);
        // Five threads, two points: three idle from the start, one each
        // (rounded down), then four for the last search.
        let l = Lender::new(5, 2);
        assert_eq!(l.lent(), 1);
        l.retire();
        assert_eq!(l.lent(), 4);
        // More workers than threads never underflows.
        assert_eq!(Lender::new(1, 3).lent(), 0);
    }
}
