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
    // Poll only to print progress; otherwise just join.
    while opts.progress && handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        if last_report.elapsed() >= Duration::from_secs(2) {
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
    // Stopped early because every property has a discovery: each verdict is
    // known although not every state was visited.
    let all_found = discovered.len() == all_props;
    let complete = stopped_by.is_none() && !all_found;
    let decided = stopped_by.is_none();

    let limit = SHORTEST_LIMIT.max(checker.unique_state_count() + 1);
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
        results.push(PropertyResult {
            name,
            verdict,
            trail: None,
            worst_case_ms: None,
            worst_case_trail: None,
        });
    }
    // The worst detection latency: the largest mark some run reaches.
    let worst_mark = if world.env.may_crash {
        (0..world.latency_marks.len())
            .rev()
            .find(|&k| discovered.contains(properties::mark_name(k)))
    } else {
        None
    };
    // One breadth-first pass finds a shortest path to every discovery worth
    // showing: each counterexample or example, and the worst case.
    let mut wanted: Vec<(usize, search::Target)> = Vec::new();
    for (i, name) in CONTRACT.iter().enumerate() {
        if discovered.contains(name) {
            if let Some(t) = properties::target(name) {
                wanted.push((i, t));
            }
        }
    }
    let worst_target = worst_mark.and_then(|k| properties::target(properties::mark_name(k)));
    let mut targets: Vec<search::Target> = wanted.iter().map(|(_, t)| *t).collect();
    targets.extend(worst_target);
    let mut trails = search::shortest_many(&world, &targets, limit).into_iter();
    for (i, _) in &wanted {
        results[*i].trail = trails.next().and_then(Result::ok);
    }
    if let Some(r) = results
        .iter_mut()
        .find(|r| r.name == "dead_detected_within")
    {
        if world.env.may_crash {
            r.worst_case_ms = Some(worst_mark.map_or(0, |k| world.latency_marks[k]));
            if r.verdict != Verdict::Inconclusive {
                r.worst_case_trail = trails.next().and_then(Result::ok);
            }
        }
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
