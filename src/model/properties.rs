//! The contract's properties, written against the world's truth (never
//! against what the proxy believes). The worst-case detection latency is the
//! explorer's measure (the largest age an undeclared crash reaches), not a
//! property.
//!
//! Liveness is checked as bounded safety: "a crash is declared within the
//! detection bound" is an `always` property over a capped crash age, because
//! stateright's `eventually` misses violations on cycles.

use super::{event, World, WorldState};
use stateright::Property;

/// The seven contract properties, in contract order.
pub const CONTRACT: [&str; 7] = [
    "no_self_fire_on_lone_false",
    "no_false_dead",
    "dead_detected_within",
    "no_orphaned_offline",
    "no_restart_loop",
    "reachable_dead",
    "reachable_recovery",
];

/// Short column headers for the contract properties, in contract order (the
/// `check` matrix and the sweep tables).
pub const SHORT: [&str; 7] = [
    "self-fire",
    "false-dead",
    "detect",
    "orphan",
    "loop",
    "reach-dead",
    "reach-recov",
];

/// Contract properties checked with `sometimes` (an example must exist).
pub const SOMETIMES: [&str; 2] = ["reachable_dead", "reachable_recovery"];

/// One plain sentence per property: what a violation means.
pub fn why(name: &str) -> &'static str {
    match name {
        "no_self_fire_on_lone_false" => "the proxy declared the container dead inside a settle period on fewer than two not-running probe results since the restart started",
        "no_false_dead" => "the proxy declared a container dead that had not crashed",
        "dead_detected_within" => "a crashed container was still not declared dead when the detection bound ran out, although failed requests kept arriving",
        "no_orphaned_offline" => "the proxy declared the container dead but the restart debounce dropped its restart and no cycle is in flight: the workspace stays offline with nothing coming",
        "no_restart_loop" => "the detector fired a restart while the container of a previous restart was still in its settle period",
        "reachable_dead" => "no run declares a crashed container dead: the model is vacuous",
        "reachable_recovery" => "no run restarts a container that then heartbeats again: the model is vacuous",
        _ => "",
    }
}

fn has(s: &WorldState, bit: u8) -> bool {
    s.events & bit != 0
}

fn no_self_fire_on_lone_false(_: &World, s: &WorldState) -> bool {
    !has(s, event::LONE_FALSE)
}
fn no_false_dead(_: &World, s: &WorldState) -> bool {
    !has(s, event::FALSE_DEAD)
}
fn dead_detected_within(m: &World, s: &WorldState) -> bool {
    !s.crash
        .is_some_and(|c| c.open() && c.age > m.env.detection_bound)
}
fn no_orphaned_offline(_: &World, s: &WorldState) -> bool {
    !has(s, event::ORPHAN)
}
fn no_restart_loop(_: &World, s: &WorldState) -> bool {
    !has(s, event::LOOP)
}
fn reachable_dead(_: &World, s: &WorldState) -> bool {
    has(s, event::DEAD_CRASHED)
}
fn reachable_recovery(_: &World, s: &WorldState) -> bool {
    has(s, event::RECOVERED)
}

/// Every property of a world: the contract's seven, in contract order.
pub fn all(_: &World) -> Vec<Property<World>> {
    vec![
        Property::always("no_self_fire_on_lone_false", no_self_fire_on_lone_false),
        Property::always("no_false_dead", no_false_dead),
        Property::always("dead_detected_within", dead_detected_within),
        Property::always("no_orphaned_offline", no_orphaned_offline),
        Property::always("no_restart_loop", no_restart_loop),
        Property::sometimes("reachable_dead", reachable_dead),
        Property::sometimes("reachable_recovery", reachable_recovery),
    ]
}

/// The condition of the named contract property, for searches
/// outside stateright (shortest counterexamples). For `always` properties it
/// returns the *violation* predicate; for `sometimes`, the example predicate.
pub fn target(name: &str) -> Option<fn(&World, &WorldState) -> bool> {
    fn neg<const I: usize>(m: &World, s: &WorldState) -> bool {
        !ALWAYS[I](m, s)
    }
    const ALWAYS: [fn(&World, &WorldState) -> bool; 5] = [
        no_self_fire_on_lone_false,
        no_false_dead,
        dead_detected_within,
        no_orphaned_offline,
        no_restart_loop,
    ];
    Some(match name {
        "no_self_fire_on_lone_false" => neg::<0>,
        "no_false_dead" => neg::<1>,
        "dead_detected_within" => neg::<2>,
        "no_orphaned_offline" => neg::<3>,
        "no_restart_loop" => neg::<4>,
        "reachable_dead" => reachable_dead,
        "reachable_recovery" => reachable_recovery,
        _ => return None,
    })
}
