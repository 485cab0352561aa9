//! A policy's knobs as the policy file's keys (`settle.window = "30s"`),
//! and the knobs two policies differ in. One list for every reader: `diff`
//! shows it, and the keys are the ones a user edits.

use crate::duration::Human;
use crate::policy::Policy;

/// Value shown for a knob whose section is absent from the file.
pub const ABSENT: &str = "(none)";

fn dur(ms: Option<u64>) -> String {
    ms.map_or(ABSENT.into(), |v| Human(v).to_string())
}

/// Every knob of `p` as `(file key, value)`, in the file's section order;
/// a knob of an absent section reads [`ABSENT`].
pub fn keys(p: &Policy) -> Vec<(&'static str, String)> {
    let d = &p.decision;
    let hb = d.recent_heartbeat;
    let st = d.strikes;
    let se = d.settle;
    let fw = se.and_then(|s| s.fresh_wait);
    let opt = |v: Option<String>| v.unwrap_or_else(|| ABSENT.to_string());
    vec![
        ("probe.on_error", d.probe_error.to_string()),
        (
            "probe.docker_restarting",
            if p.probe.restarting_is_not_running {
                "not_running"
            } else {
                "running"
            }
            .into(),
        ),
        ("heartbeat.recent_window", dur(hb.map(|h| h.window))),
        (
            "heartbeat.on_recent",
            opt(hb.map(|h| h.on_recent.to_string())),
        ),
        (
            "strikes.threshold",
            st.map_or(ABSENT.into(), |s| s.threshold.to_string()),
        ),
        ("strikes.window", dur(st.map(|s| s.window))),
        ("settle.window", dur(se.map(|s| s.window))),
        (
            "settle.measured_from",
            opt(se.map(|s| s.measured_from.to_string())),
        ),
        ("settle.fresh_heartbeat_wait", dur(fw.map(|w| w.wait))),
        ("settle.fresh_heartbeat_poll", dur(fw.map(|w| w.poll))),
        (
            "settle.on_not_running",
            opt(se.map(|s| s.on_not_running.to_string())),
        ),
        ("reprobe.delay", dur(d.reprobe_delay)),
        ("reprobe.always", d.reprobe_always.to_string()),
        (
            "guard.recheck_restarting_before_declare",
            d.recheck_restarting.to_string(),
        ),
        ("restart.debounce", Human(p.restart.debounce).to_string()),
        (
            "restart.file_write_drop",
            Human(p.restart.file_write_drop).to_string(),
        ),
        (
            "restart.detector_bypasses_debounce",
            p.restart.detector_bypasses_debounce.to_string(),
        ),
        (
            "restart.atomic_request",
            p.restart.atomic_request.to_string(),
        ),
    ]
}

/// One knob that differs: its key and both values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnobChange {
    /// The policy file's key (`settle.window`).
    pub key: &'static str,
    /// The old policy's value.
    pub old: String,
    /// The new policy's value.
    pub new: String,
}

/// The knobs `old` and `new` differ in, in the file's order.
pub fn changes(old: &Policy, new: &Policy) -> Vec<KnobChange> {
    keys(old)
        .into_iter()
        .zip(keys(new))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((key, old), (_, new))| KnobChange { key, old, new })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(name: &str) -> Policy {
        Policy::load(Path::new(&format!("models/policies/{name}.toml"))).unwrap()
    }

    #[test]
    fn a_policy_does_not_differ_from_itself() {
        assert!(changes(&load("v2-2950"), &load("v2-2950")).is_empty());
    }

    #[test]
    fn v1_to_v2_shows_the_settle_window_and_the_enqueue() {
        let c = changes(&load("v1-2931"), &load("v2-2950"));
        let settle = c.iter().find(|c| c.key == "settle.window").unwrap();
        assert_eq!((settle.old.as_str(), settle.new.as_str()), (ABSENT, "30s"));
        assert!(c
            .iter()
            .any(|c| c.key == "heartbeat.on_recent" && c.new == "enqueue"));
    }
}
