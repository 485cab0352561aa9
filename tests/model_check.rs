//! The model checker on the shipped models: recorded proofs agree with a
//! fresh check, unique-state counts are pinned, the `sometimes` properties
//! hold everywhere (no model is vacuous), #2929 is found where it must be, and
//! counterexamples are shortest.

use livecheck::check::{CheckOptions, PairResult, Verdict};
use livecheck::cli::{check_pairs, toml_files};
use livecheck::environment::Environment;
use livecheck::model::properties::{self, CONTRACT, SOMETIMES};
use livecheck::model::search;
use livecheck::model::{Action, Answer, World, WorldState};
use livecheck::policy::Policy;
use livecheck::report;
use stateright::Model;
use std::path::Path;
use std::sync::OnceLock;

/// Unique states of each shipped pair. A change to the model, a policy or an
/// environment shows here (update deliberately, with the proofs).
const PINNED: &[(&str, &str, usize)] = &[
    ("v0-pre-2931", "cloud", 76_973),
    ("v0-pre-2931", "docker", 32_551),
    ("v1-2931", "cloud", 1_301_916),
    ("v1-2931", "docker", 822_796),
    ("v2-2950", "cloud", 6_514_773),
    ("v2-2950", "docker", 940_256),
    ("v3-proposed", "cloud", 7_177_149),
    ("v3-proposed", "docker", 4_382_535),
];

fn load(policy: &str, env: &str) -> (Policy, Environment) {
    (
        Policy::load(Path::new(&format!("models/policies/{policy}.toml"))).unwrap(),
        Environment::load(Path::new(&format!("models/environments/{env}.toml"))).unwrap(),
    )
}

/// Every shipped pair, checked once for all tests of this file.
fn shipped() -> &'static [PairResult] {
    static RESULTS: OnceLock<Vec<PairResult>> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let policies: Vec<Policy> = toml_files(Path::new("models/policies"))
            .unwrap()
            .iter()
            .map(|p| Policy::load(p).unwrap())
            .collect();
        let envs: Vec<Environment> = toml_files(Path::new("models/environments"))
            .unwrap()
            .iter()
            .map(|e| Environment::load(e).unwrap())
            .collect();
        let pairs: Vec<(&Policy, &Environment)> = policies
            .iter()
            .flat_map(|p| envs.iter().map(move |e| (p, e)))
            .collect();
        check_pairs(&pairs, &CheckOptions::default(), 2)
    })
}

fn result(policy: &str, env: &str) -> &'static PairResult {
    shipped()
        .iter()
        .find(|r| r.world.policy.name == policy && r.world.env.name == env)
        .unwrap_or_else(|| panic!("{policy} × {env} is not a shipped pair"))
}

#[test]
fn every_shipped_pair_is_complete_and_pinned() {
    let results = shipped();
    assert_eq!(results.len(), PINNED.len(), "a shipped pair is not pinned");
    for &(p, e, unique) in PINNED {
        let r = result(p, e);
        assert!(r.complete, "{p} × {e}: search incomplete");
        assert_eq!(
            r.unique_states, unique,
            "{p} × {e}: unique states changed; if the model change is deliberate, update PINNED and the proofs"
        );
    }
}

#[test]
fn recorded_proofs_agree_with_a_fresh_check() {
    for r in shipped() {
        let name = format!("proofs/{}.{}.json", r.world.policy.name, r.world.env.name);
        let recorded = std::fs::read_to_string(&name).unwrap_or_else(|e| {
            panic!("{name}: {e}; run `cargo run --release -- check --write-proofs`")
        });
        let recorded: serde_json::Value = serde_json::from_str(&recorded).unwrap();
        let fresh = report::pair_json(r, false);
        if recorded != fresh {
            let props = |v: &serde_json::Value| {
                v["properties"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|p| format!("{}={}", p["name"], p["verdict"]))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            panic!(
                "{name} disagrees with a fresh check (recorded {:?}, fresh {:?}; unique states {} vs {}); \
                 regenerate with `cargo run --release -- check --write-proofs` and review the diff",
                props(&recorded),
                props(&fresh),
                recorded["unique_states"],
                fresh["unique_states"]
            );
        }
    }
}

#[test]
fn no_shipped_model_is_vacuous() {
    for r in shipped() {
        for name in SOMETIMES {
            let p = r.property(name).unwrap();
            assert_eq!(
                p.verdict,
                Verdict::Holds,
                "{} × {}: {name} does not hold: the model is vacuous",
                r.world.policy.name,
                r.world.env.name
            );
            assert!(p.trail.is_some(), "{name}: an example path is expected");
        }
    }
}

#[test]
fn issue_2929_is_found_on_v0_and_v1_in_docker() {
    for p in ["v0-pre-2931", "v1-2931"] {
        let r = result(p, "docker")
            .property("no_self_fire_on_lone_false")
            .unwrap();
        assert_eq!(r.verdict, Verdict::Violated, "{p}");
        let trail = r.trail.as_ref().expect("a counterexample");
        let last = &trail.steps.last().unwrap().1;
        assert!(
            last.events & livecheck::model::event::LONE_FALSE != 0,
            "{p}: the counterexample ends in the lone-false declaration"
        );
    }
}

#[test]
fn the_proposed_policy_holds_everything_everywhere() {
    for env in ["docker", "cloud"] {
        let r = result("v3-proposed", env);
        for p in &r.properties {
            assert_eq!(p.verdict, Verdict::Holds, "v3-proposed × {env}: {}", p.name);
        }
    }
}

#[test]
fn every_verdict_has_its_evidence() {
    for r in shipped() {
        for p in &r.properties {
            let always = !SOMETIMES.contains(&p.name);
            if always && p.verdict == Verdict::Violated {
                let trail = p.trail.as_ref().unwrap_or_else(|| {
                    panic!(
                        "{} × {}: {} has no counterexample",
                        r.world.policy.name, r.world.env.name, p.name
                    )
                });
                let last = &trail.steps.last().unwrap().1;
                let violates = properties::target(p.name).unwrap();
                assert!(
                    violates(&r.world, last),
                    "{}: the counterexample's last state violates it",
                    p.name
                );
            }
        }
        let d = r.property("dead_detected_within").unwrap();
        let worst = d
            .worst_case_ms
            .expect("the shipped environments let containers crash");
        match d.verdict {
            Verdict::Holds => assert!(worst <= r.world.env.detection_bound),
            Verdict::Violated => assert!(worst > r.world.env.detection_bound),
            Verdict::Inconclusive => panic!("complete searches are never inconclusive"),
        }
    }
}

/// Minimal depth at which `target` holds, by iterative-deepening DFS: an
/// independent way to know the shortest counterexample's length.
fn min_depth(world: &World, target: search::Target, max: usize) -> Option<usize> {
    fn dfs(world: &World, s: &WorldState, target: search::Target, left: usize) -> bool {
        if target(world, s) {
            return true;
        }
        if left == 0 {
            return false;
        }
        let mut actions = Vec::new();
        world.actions(s, &mut actions);
        actions
            .into_iter()
            .filter_map(|a| world.next_state(s, a))
            .any(|n| dfs(world, &n, target, left - 1))
    }
    (0..=max).find(|&d| dfs(world, &world.initial(), target, d))
}

#[test]
fn counterexamples_are_shortest() {
    // A model whose shortest path is known by hand: V0 in docker declares a
    // running container dead after one failed request and one spurious
    // "not running" answer: two steps, no fewer.
    let (p, e) = load("v0-pre-2931", "docker");
    let world = World::new(p, e);
    let target = properties::target("no_false_dead").unwrap();
    let trail = search::shortest(&world, target, 1_000_000).unwrap();
    let actions: Vec<Action> = trail.steps.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        actions,
        vec![Action::RequestFails(0), Action::Probe(0, Answer::Spurious)]
    );
    // And for every violated property of a small model, the BFS path is as
    // short as the iterative-deepening search says is possible.
    let r = result("v0-pre-2931", "docker");
    for name in CONTRACT {
        let p = r.property(name).unwrap();
        if p.verdict != Verdict::Violated || SOMETIMES.contains(&name) {
            continue;
        }
        let len = p.trail.as_ref().unwrap().steps.len();
        let best = min_depth(&r.world, properties::target(name).unwrap(), len).unwrap();
        assert_eq!(
            len, best,
            "{name}: counterexample of {len} steps, shortest is {best}"
        );
    }
}
