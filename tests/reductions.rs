//! The checker's state-space reductions are exact, checked one step at a
//! time on the states the shipped models reach.
//!
//! - **Packing merges only equivalent states.** The packed form of a state
//!   is canonical: heartbeats that no rule can tell apart pack alike
//!   (`src/model/pack.rs`; the model itself forgets a decision's stale
//!   remembered stamp, checked in `src/model/time.rs`). For every state checked,
//!   the state and its canonical form (`unpack(pack(s))`) must enable the
//!   same actions in the same order (paths are replayed by action index),
//!   and each action must lead to states that pack alike, with the same
//!   events (which the properties read) and the same measure. That is the
//!   inductive step of a bisimulation, so searching canonical forms finds
//!   exactly what searching the states themselves would.
//! - **A raised budget simulates.** A state with one more of a budget left
//!   (or, in a settle period, one not-running result fewer) can take every
//!   action the other can, into a state that is equal or again dominates,
//!   with at least the same events: the contract of
//!   [`livecheck::engine::Packable::budgets`].
//!
//! The smaller pairs are checked on every reachable state; the v3 and v4
//! pairs, whose spaces are millions of states, on seeded random runs that
//! reach deep states (restarts, heartbeats long past, settle periods).

use livecheck::engine::pack::Field;
use livecheck::engine::Packable;
use livecheck::environment::Environment;
use livecheck::model::{Action, World, WorldState};
use livecheck::policy::Policy;
use stateright::Model;
use std::collections::{HashSet, VecDeque};
use std::path::Path;

fn world(policy: &str, env: &str) -> World {
    World::new(
        Policy::load(Path::new(&format!("models/policies/{policy}.toml"))).unwrap(),
        Environment::load(Path::new(&format!("models/environments/{env}.toml"))).unwrap(),
    )
}

fn pack(w: &World, s: &WorldState) -> Vec<u64> {
    let mut words = vec![0; w.words()];
    w.pack(s, &mut words);
    words
}

/// The canonical form of `s`, with `s`'s events (which are not packed).
fn canonical(w: &World, s: &WorldState) -> WorldState {
    let mut c = w.unpack(&pack(w, s));
    c.events = s.events;
    c
}

fn actions(w: &World, s: &WorldState) -> Vec<Action> {
    let mut v = Vec::new();
    w.actions(s, &mut v);
    v
}

/// What the checks saw.
#[derive(Default)]
struct Seen {
    states: usize,
    /// States whose canonical form differs (in the heartbeat).
    heartbeat: usize,
    /// Budget raises checked.
    raises: usize,
}

/// One step of the bisimulation between `s` and its canonical form.
fn check_canonical(w: &World, s: &WorldState, seen: &mut Seen) {
    let c = canonical(w, s);
    seen.states += 1;
    if c != *s {
        assert_ne!(
            c.ws.last_heartbeat(),
            s.ws.last_heartbeat(),
            "only the heartbeat packs canonically: {s:?}"
        );
        seen.heartbeat += 1;
    }
    assert_eq!(pack(w, &c), pack(w, s), "packing is not idempotent: {s:?}");
    let acts = actions(w, s);
    assert_eq!(acts, actions(w, &c), "actions differ: {s:?} vs {c:?}");
    assert_eq!(w.measure(s), w.measure(&c), "measure differs: {s:?}");
    for &a in &acts {
        match (w.next_state(s, a), w.next_state(&c, a)) {
            (None, None) => {}
            (Some(x), Some(y)) => {
                assert_eq!(x.events, y.events, "{a:?} sets other events from {s:?}");
                assert_eq!(
                    pack(w, &x),
                    pack(w, &y),
                    "{a:?} leads apart from {s:?} and {c:?}"
                );
            }
            (x, y) => panic!("{a:?} is possible from only one of {s:?} ({x:?}) and {c:?} ({y:?})"),
        }
    }
}

/// `a` equals `b` outside `fields` and is at least `b` in each of them.
fn dominates_or_equals(a: &[u64], b: &[u64], fields: &[Field]) -> bool {
    let mut mask = vec![0u64; a.len()];
    for f in fields {
        f.mask_into(&mut mask);
        if f.get(a) < f.get(b) {
            return false;
        }
    }
    a.iter()
        .zip(b)
        .zip(&mask)
        .all(|((x, y), m)| x & !m == y & !m)
}

/// Every single raise of `s`'s budgets that stays within what the model
/// can hold: one more spurious answer, transport error, config PUT or
/// manual restart left (up to the environment's), or one not-running
/// result fewer in a settle period.
fn raises(w: &World, s: &WorldState) -> Vec<WorldState> {
    let full = w.initial();
    let mut out = Vec::new();
    let mut raise = |f: fn(&mut WorldState) -> &mut u8, max: u8| {
        let mut r = *s;
        if *f(&mut r) < max {
            *f(&mut r) += 1;
            out.push(r);
        }
    };
    raise(|s| &mut s.spurious_left, full.spurious_left);
    raise(|s| &mut s.errors_left, full.errors_left);
    raise(|s| &mut s.config_left, full.config_left);
    raise(|s| &mut s.manual_left, full.manual_left);
    if let Some(k @ 1..) = s.settle {
        let mut r = *s;
        r.settle = Some(k - 1);
        out.push(r);
    }
    out
}

/// One step of the simulation of `s` by each raise of its budgets.
fn check_raises(w: &World, s: &WorldState, seen: &mut Seen) {
    let fields = w.budgets();
    let s = canonical(w, s);
    for r in raises(w, &s) {
        seen.raises += 1;
        assert!(
            dominates_or_equals(&pack(w, &r), &pack(w, &s), &fields) && pack(w, &r) != pack(w, &s),
            "a raise is not a larger budget field: {r:?}"
        );
        let theirs = actions(w, &r);
        for a in actions(w, &s) {
            assert!(theirs.contains(&a), "{a:?} is lost by raising {s:?}");
            let Some(x) = w.next_state(&s, a) else {
                continue;
            };
            // No change from the raised state means it is where `x` is,
            // but for the raise.
            let y = w.next_state(&r, a).unwrap_or(r);
            assert_eq!(
                x.events & !y.events,
                0,
                "{a:?} sets events from {s:?} that it does not from {r:?}"
            );
            assert!(
                dominates_or_equals(&pack(w, &y), &pack(w, &x), &fields),
                "{a:?} from the raised {r:?} leads to {y:?}, which does not dominate {x:?}"
            );
            assert_eq!(w.measure(&x), w.measure(&y));
        }
    }
}

/// Every reachable state of a small pair (the search's own way: canonical
/// forms expanded, every generated state checked).
fn every_state(policy: &str, env: &str) -> Seen {
    let w = world(policy, env);
    let mut seen = Seen::default();
    let mut visited = HashSet::new();
    let mut queue = VecDeque::from([w.initial()]);
    while let Some(s) = queue.pop_front() {
        for a in actions(&w, &s) {
            let Some(n) = w.next_state(&s, a) else {
                continue;
            };
            check_canonical(&w, &n, &mut seen);
            check_raises(&w, &n, &mut seen);
            if visited.insert(pack(&w, &n)) {
                queue.push_back(canonical(&w, &n));
            }
        }
    }
    seen
}

/// Seeded random runs through a pair's real (uncanonical) states.
fn random_runs(policy: &str, env: &str, runs: usize, steps: usize) -> Seen {
    let w = world(policy, env);
    let mut seen = Seen::default();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..runs {
        let mut s = w.initial();
        for _ in 0..steps {
            check_canonical(&w, &s, &mut seen);
            check_raises(&w, &s, &mut seen);
            let acts = actions(&w, &s);
            let successors: Vec<WorldState> =
                acts.iter().filter_map(|&a| w.next_state(&s, a)).collect();
            if successors.is_empty() {
                break;
            }
            s = successors[next() as usize % successors.len()];
        }
    }
    seen
}

/// Runs a pair's random runs and checks the canonical form was met where
/// `heartbeat_met` says the runs reach it (v4 × cloud's rarely do: a
/// restart, the new agent's registration, then 15 s without a heartbeat).
fn runs(policy: &str, env: &str, heartbeat_met: bool) {
    let seen = random_runs(policy, env, 200, 300);
    eprintln!(
        "{policy} × {env}: {} states, {} canonicalised in the heartbeat, {} raises",
        seen.states, seen.heartbeat, seen.raises
    );
    // The runs reach the states the canonical form is about (else this
    // test checks nothing about it).
    assert!(
        seen.heartbeat > 0 || !heartbeat_met,
        "no run reached a heartbeat the packing merges"
    );
    assert!(seen.raises > 0);
}

#[test]
fn every_state_of_v0_docker() {
    let seen = every_state("v0-pre-2931", "docker");
    assert!(seen.states > 30_000 && seen.raises > 0);
}

#[test]
fn random_runs_of_v3_cloud() {
    runs("v3-proposed", "cloud", true);
}

#[test]
fn random_runs_of_v4_cloud() {
    runs("v4-proposed", "cloud", false);
}

#[test]
fn random_runs_of_v4_docker() {
    runs("v4-proposed", "docker", true);
}
