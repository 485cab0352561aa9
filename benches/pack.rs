//! Packing speed: how fast the model writes a state into the explorer's
//! words and reads it back. The explorer packs every state it generates and
//! unpacks every state it expands: on `v4-proposed × cloud` that is 21.5 M
//! packs and 12.1 M unpacks a search.
//!
//! Both benchmarks run over 4,000 states of `v4-proposed × cloud` (every
//! 50th of the first 200,000 a breadth-first search reaches): few enough to
//! stay in the processor's caches, as the state the explorer packs right
//! after generating it is. Throughput is in states.
//!
//! `cargo bench --bench pack`. Under `cargo test --all-targets` each
//! benchmark runs once, as a smoke test.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use livecheck::engine::Packable;
use livecheck::environment::Environment;
use livecheck::model::{World, WorldState};
use livecheck::policy::Policy;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

#[path = "support/reachable.rs"]
mod reachable;
use reachable::reachable;

fn world(policy: &str, env: &str) -> World {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    World::new(
        Policy::load(&root.join(format!("models/policies/{policy}.toml"))).expect("policy"),
        Environment::load(&root.join(format!("models/environments/{env}.toml"))).expect("env"),
    )
}

fn bench(c: &mut Criterion) {
    let world = world("v4-proposed", "cloud");
    let states: Vec<WorldState> = reachable(&world, 200_000).into_iter().step_by(50).collect();
    let words = world.words();
    let packed: Vec<u64> = states
        .iter()
        .flat_map(|s| {
            let mut w = vec![0; words];
            world.pack(s, &mut w);
            w
        })
        .collect();
    let mut g = c.benchmark_group("pack");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(states.len() as u64));
    g.bench_function("pack_state, v4-proposed × cloud states", |b| {
        let mut out = vec![0u64; words];
        b.iter(|| {
            for s in &states {
                world.pack(black_box(s), &mut out);
                black_box(&out);
            }
        })
    });
    g.bench_function("unpack_state, v4-proposed × cloud states", |b| {
        b.iter(|| {
            for w in packed.chunks(words) {
                black_box(world.unpack(black_box(w)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
