//! Shortest paths to target states of a [`World`], for searches outside the
//! contract's properties (`explain`'s #2929 shape): the explorer
//! ([`crate::engine`]) with one target, stopped at the first level that hits
//! it.

use super::{Action, World, WorldState};

/// A path: the initial state, then each action with the state it leads to.
#[derive(Debug, Clone)]
pub struct Trail {
    /// The initial state.
    pub init: WorldState,
    /// Each step's action and resulting state.
    pub steps: Vec<(Action, WorldState)>,
}

impl From<crate::engine::Path<World>> for Trail {
    fn from(p: crate::engine::Path<World>) -> Trail {
        Trail {
            init: p.init,
            steps: p.steps,
        }
    }
}

/// Why a search gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchEnd {
    /// Every reachable state was seen; no state meets the target.
    Exhausted,
    /// More than the allowed number of states were needed.
    Limit,
}

/// A target predicate over states.
pub type Target = fn(&World, &WorldState) -> bool;

/// Finds a shortest path from the initial state to a state meeting `target`,
/// generating at most `max_states` states.
pub fn shortest(world: &World, target: Target, max_states: usize) -> Result<Trail, SearchEnd> {
    let targets = [crate::engine::Target {
        name: "target",
        expect: crate::engine::Expect::Sometimes,
        condition: target,
    }];
    let out = crate::engine::explore(
        world,
        &targets,
        &crate::engine::Options {
            max_states: Some(max_states),
            stop_when_all_hit: true,
            ..crate::engine::Options::default()
        },
    );
    match out.hits.into_iter().next().flatten() {
        Some(path) => Ok(path.into()),
        None if out.complete => Err(SearchEnd::Exhausted),
        None => Err(SearchEnd::Limit),
    }
}
