//! Reachable states of a model, for the packing benchmark
//! (`benches/pack.rs`) and the instruction count
//! (`examples/pack_instructions.rs`), which include this file.

use livecheck::engine::Packable;
use livecheck::model::{World, WorldState};
use stateright::Model;
use std::collections::{HashSet, VecDeque};

/// The first `n` states a breadth-first search of `world` reaches (by
/// their packed words, so equivalent states count once).
pub fn reachable(world: &World, n: usize) -> Vec<WorldState> {
    let pack = |s: &WorldState| {
        let mut words = vec![0; world.words()];
        world.pack(s, &mut words);
        words
    };
    let mut seen = HashSet::new();
    let mut queue: VecDeque<WorldState> = world.init_states().into();
    let mut out = Vec::new();
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        if out.len() >= n {
            break;
        }
        if !seen.insert(pack(&s)) {
            continue;
        }
        actions.clear();
        world.actions(&s, &mut actions);
        queue.extend(actions.drain(..).filter_map(|a| world.next_state(&s, a)));
        out.push(s);
    }
    out
}
