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

use crate::duration::Ms;
use crate::environment::Environment;
use crate::model::properties::{self, CONTRACT, SOMETIMES};
use crate::model::search::{self, Trail};
use crate::model::World;
use crate::policy::Policy;
use stateright::{Checker, Model};
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
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 1,
            max_states: None,
            timeout: None,
            progress: false,
        }
    }
}

/// States the shortest-path search may visit for one counterexample.
const SHORTEST_LIMIT: usize = 60_000_000;

/// Checks one policy in one environment.
pub fn check_pair(policy: &Policy, env: &Environment, opts: &CheckOptions) -> PairResult {
    let world = World::new(policy.clone(), env.clone());
    let start = Instant::now();
    let mut builder = world.clone().checker().threads(opts.threads.max(1));
    if let Some(m) = opts.max_states {
        builder = builder.target_state_count(m.max(1));
    }
    if let Some(t) = opts.timeout {
        builder = builder.timeout(t);
    }
    let mut checker = builder.spawn_bfs();
    let handles = checker.handles();
    let mut last_report = Instant::now();
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        if opts.progress && last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            eprintln!(
                "livecheck: {} × {}: {} unique states, depth {}, {:.0?}…",
                policy.name,
                env.name,
                checker.unique_state_count(),
                checker.max_depth(),
                start.elapsed()
            );
        }
    }
    for h in handles {
        // A panicking checker thread is a bug in the model: surface it.
        if let Err(p) = h.join() {
            std::panic::resume_unwind(p);
        }
    }
    let search_time = start.elapsed();
    let states = checker.state_count();
    let discovered: std::collections::BTreeSet<&'static str> =
        checker.discoveries().into_keys().collect();
    let all_props = world.properties().len();
    let stopped_by = if opts.max_states.is_some_and(|m| states >= m) {
        Some("max-states")
    } else if opts.timeout.is_some_and(|t| search_time >= t) {
        Some("timeout")
    } else {
        None
    };
    let all_found = discovered.len() == all_props;
    let complete = stopped_by.is_none() && !all_found;
    let decided = complete || stopped_by.is_none();

    let limit = SHORTEST_LIMIT.max(checker.unique_state_count() + 1);
    let shortest = |name: &str| -> Option<Trail> {
        let target = properties::target(name)?;
        search::shortest(&world, target, limit).ok()
    };
    let mut results = Vec::new();
    for name in CONTRACT {
        let sometimes = SOMETIMES.contains(&name);
        let found = discovered.contains(name);
        let verdict = match (sometimes, found) {
            (false, true) => Verdict::Violated,
            (true, true) => Verdict::Holds,
            (_, false) if decided => {
                if sometimes {
                    Verdict::Violated
                } else {
                    Verdict::Holds
                }
            }
            _ => Verdict::Inconclusive,
        };
        let trail = if found { shortest(name) } else { None };
        let (worst_case_ms, worst_case_trail) = if name == "dead_detected_within" {
            worst_case(&world, &discovered, verdict, limit)
        } else {
            (None, None)
        };
        results.push(PropertyResult {
            name,
            verdict,
            trail,
            worst_case_ms,
            worst_case_trail,
        });
    }
    PairResult {
        complete,
        states,
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        elapsed: start.elapsed(),
        stopped_by,
        properties: results,
        world,
    }
}

/// The largest latency mark some run reaches, with a shortest path to it.
fn worst_case(
    world: &World,
    discovered: &std::collections::BTreeSet<&'static str>,
    verdict: Verdict,
    limit: usize,
) -> (Option<Ms>, Option<Trail>) {
    if !world.env.may_crash {
        return (None, None);
    }
    let reached = (0..world.latency_marks.len())
        .rev()
        .find(|&k| discovered.contains(properties::mark_name(k)));
    let ms = match reached {
        Some(k) => world.latency_marks[k],
        None => 0,
    };
    if verdict == Verdict::Inconclusive {
        return (Some(ms), None);
    }
    let trail = reached.and_then(|k| {
        let target = properties::target(properties::mark_name(k))?;
        search::shortest(world, target, limit).ok()
    });
    (Some(ms), trail)
}
