//! The contract's properties, written against the world's truth (never
//! against what the proxy believes), plus the hidden `latency_ge_*` marks
//! that find the worst-case detection latency.
//!
//! Liveness is checked as bounded safety: "a crash is declared within the
//! detection bound" is an `always` property over a capped crash age, because
//! stateright's `eventually` misses violations on cycles.

use super::{event, World, WorldState};
use crate::duration::Ms;
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
        .is_some_and(|c| !c.declared && c.age > m.env.detection_bound)
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

/// The undeclared crash of `s` has lasted at least mark `k`.
fn latency_reaches(m: &World, s: &WorldState, k: usize) -> bool {
    match (s.crash, m.latency_marks.get(k)) {
        (Some(c), Some(&mark)) => !c.declared && c.age >= mark,
        _ => false,
    }
}

/// Most latency marks a model carries.
pub const MAX_MARKS: usize = 48;

/// Marks at multiples of `grain` (coarser when there would be more than
/// [`MAX_MARKS`]) up to `cap`. A crash's age only ever takes values that are
/// sums of the clock tick and the policy's delays, so their greatest common
/// divisor is the finest grain worth marking.
pub fn latency_marks(grain: Ms, cap: Ms) -> Vec<Ms> {
    let grain = grain.max(1);
    let steps = cap.div_ceil(grain).max(1);
    let stride = steps.div_ceil(MAX_MARKS as u64).max(1) * grain;
    (1..=MAX_MARKS as u64)
        .map(|k| k * stride)
        .take_while(|&m| m <= cap)
        .collect()
}

macro_rules! marks {
    ($($k:literal),* $(,)?) => {
        /// Names and conditions of the latency marks, by index.
        const MARKS: &[(&str, fn(&World, &WorldState) -> bool)] = &[
            $((concat!("latency_ge_", $k), {
                fn f(m: &World, s: &WorldState) -> bool { latency_reaches(m, s, $k) }
                f
            })),*
        ];
    };
}
marks!(
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
);

/// Name of latency mark `k` (`latency_ge_K`).
pub fn mark_name(k: usize) -> &'static str {
    MARKS[k].0
}

/// Every property of `world`: the contract's seven, then one hidden
/// `sometimes` per latency mark.
pub fn all(world: &World) -> Vec<Property<World>> {
    let mut v = vec![
        Property::always("no_self_fire_on_lone_false", no_self_fire_on_lone_false),
        Property::always("no_false_dead", no_false_dead),
        Property::always("dead_detected_within", dead_detected_within),
        Property::always("no_orphaned_offline", no_orphaned_offline),
        Property::always("no_restart_loop", no_restart_loop),
        Property::sometimes("reachable_dead", reachable_dead),
        Property::sometimes("reachable_recovery", reachable_recovery),
    ];
    for &(name, f) in MARKS.iter().take(world.latency_marks.len()) {
        v.push(Property::sometimes(name, f));
    }
    v
}

/// The condition of the named property (contract or mark), for searches
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
        _ => return MARKS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f),
    })
}
