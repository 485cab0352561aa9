//! Shortest paths to a target state, by breadth-first search over the same
//! [`World`] model stateright checks.
//!
//! stateright 0.31 may overwrite a recorded discovery with a later, longer
//! path while its search goes on, so the counterexamples it hands back are
//! not always the shortest. This search stops at the first state (in BFS
//! order) that meets the target, which makes its path a shortest one.

use super::{Action, World, WorldState};
use stateright::Model;
use std::collections::{HashMap, VecDeque};

/// A path: the initial state, then each action with the state it leads to.
#[derive(Debug, Clone)]
pub struct Trail {
    /// The initial state.
    pub init: WorldState,
    /// Each step's action and resulting state.
    pub steps: Vec<(Action, WorldState)>,
}

/// Why a search gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchEnd {
    /// Every reachable state was seen; no state meets the target.
    Exhausted,
    /// More than the allowed number of states were needed.
    Limit,
}

/// Finds a shortest path from the initial state to a state meeting `target`,
/// visiting at most `max_states` states.
pub fn shortest(
    world: &World,
    target: impl Fn(&World, &WorldState) -> bool,
    max_states: usize,
) -> Result<Trail, SearchEnd> {
    let init = world.initial();
    // Arena of states with their parent index and the action that led there.
    let mut arena: Vec<(WorldState, usize, Option<Action>)> = vec![(init.clone(), 0, None)];
    let mut seen: HashMap<WorldState, ()> = HashMap::new();
    seen.insert(init, ());
    let mut queue = VecDeque::from([0usize]);
    let mut actions = Vec::new();
    while let Some(idx) = queue.pop_front() {
        if target(world, &arena[idx].0) {
            return Ok(unwind(&arena, idx));
        }
        actions.clear();
        world.actions(&arena[idx].0, &mut actions);
        for &a in &actions {
            let Some(next) = world.next_state(&arena[idx].0, a) else {
                continue;
            };
            if seen.contains_key(&next) {
                continue;
            }
            if arena.len() >= max_states {
                return Err(SearchEnd::Limit);
            }
            seen.insert(next.clone(), ());
            arena.push((next, idx, Some(a)));
            queue.push_back(arena.len() - 1);
        }
    }
    Err(SearchEnd::Exhausted)
}

fn unwind(arena: &[(WorldState, usize, Option<Action>)], mut idx: usize) -> Trail {
    let mut steps = Vec::new();
    while let (state, parent, Some(action)) = &arena[idx] {
        steps.push((*action, state.clone()));
        idx = *parent;
    }
    steps.reverse();
    Trail {
        init: arena[0].0.clone(),
        steps,
    }
}
