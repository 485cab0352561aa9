//! Shortest paths to target states, by breadth-first search over the same
//! [`World`] model stateright checks.
//!
//! stateright 0.31 may overwrite a recorded discovery with a later, longer
//! path while its search goes on, so the counterexamples it hands back are
//! not always the shortest. This search visits states in BFS order and
//! records, for each target, the first state that meets it: that state's path
//! is a shortest one. One pass serves every target.

use super::{Action, World, WorldState};
use stateright::Model;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

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

/// A target predicate over states.
pub type Target = fn(&World, &WorldState) -> bool;

/// Finds a shortest path from the initial state to a state meeting `target`,
/// visiting at most `max_states` states.
pub fn shortest(world: &World, target: Target, max_states: usize) -> Result<Trail, SearchEnd> {
    shortest_many(world, &[target], max_states)
        .pop()
        .unwrap_or(Err(SearchEnd::Exhausted))
}

/// [`shortest`] for several targets in one breadth-first pass: the result
/// for each target, in order.
pub fn shortest_many(
    world: &World,
    targets: &[Target],
    max_states: usize,
) -> Vec<Result<Trail, SearchEnd>> {
    let mut found: Vec<Option<usize>> = vec![None; targets.len()];
    let init = world.initial();
    // Arena of states with their parent index and the action that led there.
    let mut arena: Vec<(WorldState, usize, Option<Action>)> = vec![(init.clone(), 0, None)];
    let mut seen: HashSet<WorldState, BuildHasherDefault<FxHasher>> = HashSet::default();
    seen.insert(init);
    let mut queue = VecDeque::from([0usize]);
    let mut actions = Vec::new();
    let mut limited = false;
    'search: while let Some(idx) = queue.pop_front() {
        let mut open = false;
        for (t, f) in targets.iter().zip(found.iter_mut()) {
            if f.is_none() {
                if t(world, &arena[idx].0) {
                    *f = Some(idx);
                } else {
                    open = true;
                }
            }
        }
        if !open {
            break;
        }
        actions.clear();
        world.actions(&arena[idx].0, &mut actions);
        for &a in &actions {
            let Some(next) = world.next_state(&arena[idx].0, a) else {
                continue;
            };
            if seen.contains(&next) {
                continue;
            }
            if arena.len() >= max_states {
                limited = true;
                break 'search;
            }
            seen.insert(next.clone());
            arena.push((next, idx, Some(a)));
            queue.push_back(arena.len() - 1);
        }
    }
    found
        .into_iter()
        .map(|f| match f {
            Some(idx) => Ok(unwind(&arena, idx)),
            None if limited => Err(SearchEnd::Limit),
            None => Err(SearchEnd::Exhausted),
        })
        .collect()
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

/// A small, fast, non-cryptographic hasher (the Fx multiply-rotate scheme)
/// for the search's visited set; states are not attacker-controlled.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}
