//! The model checker's speed on shipped pairs: a full stateright BFS plus the
//! shortest-path pass, reported as unique states per second
//! (criterion's throughput in elements = unique states of the model).
//!
//! The `threads` group runs the same bounded search of the largest cloud
//! pair (`v4-proposed × cloud`, its first 12 M generated states) on one and
//! on two threads, in the same run: the ratio of the two times is the
//! 2-thread speed-up (issue 10 asks for 1.8×).
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

    let mut g = c.benchmark_group("threads");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    let (policy, env) = load("v4-proposed", "cloud");
    for threads in [1, 2] {
        let opts = CheckOptions {
            threads,
            max_states: Some(12_000_000),
            ..CheckOptions::default()
        };
        // About 7.2 M unique states (the bound is looked at every 256
        // states expanded, so two threads may go a little further).
        let unique = check_pair(&policy, &env, &opts).unique_states;
        g.throughput(Throughput::Elements(unique as u64));
        g.bench_function(
            format!("v4-proposed × cloud, 12 M generated states, {threads} thread(s)"),
            |b| b.iter(|| check_pair(&policy, &env, &opts).unique_states),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
