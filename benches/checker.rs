//! The model checker's speed on shipped pairs: a full stateright BFS plus the
//! shortest-path pass, reported as unique states per second
//! (criterion's throughput in elements = unique states of the model).
//!
//! `cargo bench --bench checker`. Under `cargo test --all-targets` each
//! benchmark runs once, as a smoke test.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use livecheck::check::{check_pair, CheckOptions};
use livecheck::environment::Environment;
use livecheck::policy::Policy;
use std::path::Path;
use std::time::Duration;

fn load(policy: &str, env: &str) -> (Policy, Environment) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    (
        Policy::load(&root.join(format!("models/policies/{policy}.toml"))).expect("policy"),
        Environment::load(&root.join(format!("models/environments/{env}.toml"))).expect("env"),
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("check");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (p, e) in [("v0-pre-2931", "cloud"), ("v1-2931", "docker")] {
        let (policy, env) = load(p, e);
        let opts = CheckOptions::default();
        let unique = check_pair(&policy, &env, &opts).unique_states;
        g.throughput(Throughput::Elements(unique as u64));
        g.bench_function(format!("{p} × {e} ({unique} unique states)"), |b| {
            b.iter(|| check_pair(&policy, &env, &opts).unique_states)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
