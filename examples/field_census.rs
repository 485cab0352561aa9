//! Where a pair's states come from: how much each field of the world's state
//! splits them. A plain breadth-first search (no budget dominance, so it
//! reaches more states than the checker stores) collects every reachable
//! packed state; then, field by field, the states are counted again with that
//! field erased. `split ×k` means the reachable states are k times as many
//! as they would be if that field held one value: the most a reduction that
//! merges that field's values could win, before what it does to the others.
//! States are counted by 64-bit hashes of their fields (two of 47.6 M colliding
//! has a chance of about 10⁻⁴). The figures in docs/model.md ("Where a sweep
//! point's states come from") are this tool's:
//!
//! ```text
//! cargo run --release --example field_census -- v4-proposed cloud
//! ```
//!
//! v4-proposed × cloud: 47.6 M states, 7.3 GB peak and 24 minutes on one
//! thread of the 2-core VM (each field is a pass over every state). A
//! measurement, not a test.

use livecheck::engine::Packable;
use livecheck::environment::Environment;
use livecheck::model::{World, WorldState};
use livecheck::policy::Policy;
use livecheck::workspace::Stored;
use stateright::Model;
use std::collections::HashSet;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};
use std::path::Path;
use std::process::ExitCode;

/// Most packed words a state of a shipped pair takes.
const WORDS: usize = 8;

/// A field's name and its hash in a state (the workspace's fields read
/// through [`Stored`]).
type Field = (&'static str, fn(&WorldState, &Stored, &mut DefaultHasher));

/// Every field of [`WorldState`] but `events` (not stored), the workspace's
/// one by one.
const FIELDS: [Field; 25] = [
    ("ws.facts", |_, w, h| w.facts.hash(h)),
    ("ws.last_heartbeat", |_, w, h| w.last_heartbeat.hash(h)),
    ("ws.url_registered", |_, w, h| w.url_registered.hash(h)),
    ("ws.status", |_, w, h| w.status.hash(h)),
    ("ws.url_cached", |_, w, h| w.url_cached.hash(h)),
    ("ws.liveness_key", |_, w, h| w.liveness_key.hash(h)),
    ("ws.strikes", |_, w, h| w.strikes.hash(h)),
    ("ws.restart", |_, w, h| w.restart.hash(h)),
    ("slots[0]", |s, _, h| s.slots[0].hash(h)),
    ("slots[1]", |s, _, h| s.slots[1].hash(h)),
    ("truth", |s, _, h| s.truth.hash(h)),
    ("job", |s, _, h| s.job.hash(h)),
    ("queued", |s, _, h| s.queued.hash(h)),
    ("coord", |s, _, h| s.coord.hash(h)),
    ("inflight", |s, _, h| s.inflight.hash(h)),
    ("hb_timer", |s, _, h| s.hb_timer.hash(h)),
    ("req_timer", |s, _, h| s.req_timer.hash(h)),
    ("spurious_left", |s, _, h| s.spurious_left.hash(h)),
    ("errors_left", |s, _, h| s.errors_left.hash(h)),
    ("config_left", |s, _, h| s.config_left.hash(h)),
    ("manual_left", |s, _, h| s.manual_left.hash(h)),
    ("settle", |s, _, h| s.settle.hash(h)),
    ("cycle_by_detector", |s, _, h| s.cycle_by_detector.hash(h)),
    ("crash", |s, _, h| s.crash.hash(h)),
    ("offset", |s, _, h| s.offset.hash(h)),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let policy = args.next().unwrap_or_else(|| "v4-proposed".into());
    let env = args.next().unwrap_or_else(|| "cloud".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let policy = match Policy::load(&root.join(format!("policies/{policy}.toml"))) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let env = match Environment::load(&root.join(format!("environments/{env}.toml"))) {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string()),
    };
    let world = World::new(policy, env);
    if world.words() > WORDS {
        return fail(&format!("a state takes {} words", world.words()));
    }
    let states = reachable(&world);
    let total = states.len();
    println!("{total} reachable states (no budget dominance)");
    let hasher = RandomState::new();
    for (f, (name, _)) in FIELDS.iter().enumerate() {
        let mut values = HashSet::new();
        let mut erased: Vec<u64> = states
            .iter()
            .map(|p| {
                let s = world.unpack(&p[..world.words()]);
                let w = s.ws.stored();
                let mut key = 0u64;
                for (i, (_, hash)) in FIELDS.iter().enumerate() {
                    let mut h = hasher.build_hasher();
                    hash(&s, &w, &mut h);
                    let h = h.finish();
                    key = key.rotate_left(5);
                    if i == f {
                        values.insert(h);
                    } else {
                        key ^= h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    }
                }
                key
            })
            .collect();
        erased.sort_unstable();
        erased.dedup();
        println!(
            "{name:20} {:6} values  {:10} states without it  split ×{:.2}",
            values.len(),
            erased.len(),
            total as f64 / erased.len() as f64
        );
    }
    ExitCode::SUCCESS
}

/// Every reachable state of `world`, packed (equivalent states once).
///
/// Not the packing benchmarks' `benches/support/reachable.rs`: that one
/// keeps every state unpacked and queues successors before deduplicating
/// them, for a few hundred thousand states; on v4 × cloud's 47.6 M it held
/// 18.8 GB after four minutes, still growing, where this one peaks at 7.3 GB.
fn reachable(world: &World) -> Vec<[u64; WORDS]> {
    let n = world.words();
    let pack = |s: &WorldState| {
        let mut w = [0u64; WORDS];
        world.pack(s, &mut w[..n]);
        w
    };
    let mut seen = HashSet::new();
    let mut level: Vec<[u64; WORDS]> = world
        .init_states()
        .iter()
        .map(pack)
        .filter(|p| seen.insert(*p))
        .collect();
    let mut actions = Vec::new();
    let mut depth = 0;
    while !level.is_empty() {
        let mut next = Vec::new();
        for p in &level {
            let s = world.unpack(&p[..n]);
            world.actions(&s, &mut actions);
            for a in actions.drain(..) {
                if let Some(t) = world.next_state(&s, a) {
                    let q = pack(&t);
                    if seen.insert(q) {
                        next.push(q);
                    }
                }
            }
        }
        level = next;
        depth += 1;
        if depth % 25 == 0 {
            eprintln!("depth {depth}: {} states", seen.len());
        }
    }
    seen.into_iter().collect()
}

fn fail(why: &str) -> ExitCode {
    eprintln!("field_census: {why}");
    ExitCode::from(2)
}
