//! Packs (or unpacks) 4,000 reachable `v4-proposed × cloud` states a given
//! number of times, for counting the instructions a state takes under
//! cachegrind — deterministic, where this VM's wall times drift by 20 % and
//! it has no hardware counters (the figures in docs/model.md, "Packing with
//! fewer instructions"):
//!
//! ```text
//! cargo build --release --example pack_instructions
//! valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//!     target/release/examples/pack_instructions pack 10   # and: pack 0, unpack 10
//! ```
//!
//! (I refs of `pack 10` − I refs of `pack 0`) / 40,000 is the instructions a
//! pack; likewise for `unpack`. Timing is `cargo bench --bench pack`.

use livecheck::engine::Packable;
use livecheck::environment::Environment;
use livecheck::model::{World, WorldState};
use livecheck::policy::Policy;
use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

#[path = "../benches/support/reachable.rs"]
mod reachable;
use reachable::reachable;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "pack".into());
    let rounds = args.next().map_or(Ok(10), |s| s.parse::<usize>());
    let (Ok(rounds), "pack" | "unpack") = (rounds, mode.as_str()) else {
        eprintln!("usage: pack_instructions [pack|unpack] [ROUNDS]");
        return ExitCode::from(2);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |e: String| {
        eprintln!("pack_instructions: {e}");
        ExitCode::from(2)
    };
    let policy = match Policy::load(&root.join("models/policies/v4-proposed.toml")) {
        Ok(p) => p,
        Err(e) => return load(e.to_string()),
    };
    let env = match Environment::load(&root.join("models/environments/cloud.toml")) {
        Ok(e) => e,
        Err(e) => return load(e.to_string()),
    };
    let world = World::new(policy, env);
    let words = world.words();
    let pack = |s: &WorldState| {
        let mut w = vec![0; words];
        world.pack(s, &mut w);
        w
    };
    // The first 20,000 states a breadth-first search reaches, every 5th.
    let reached = reachable(&world, 20_000);
    let states: Vec<WorldState> = reached.into_iter().step_by(5).collect();
    let packed: Vec<Vec<u64>> = states.iter().map(pack).collect();
    let mut out = vec![0u64; words];
    for _ in 0..rounds {
        if mode == "unpack" {
            for w in &packed {
                black_box(world.unpack(black_box(w)));
            }
        } else {
            for s in &states {
                world.pack(black_box(s), &mut out);
                black_box(&out);
            }
        }
    }
    eprintln!("{mode}: {} states, {rounds} rounds", states.len());
    ExitCode::SUCCESS
}
