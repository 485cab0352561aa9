//! Time in the world: what is due now (no tick may pass it), how far the
//! next tick goes, how a tick ages the state, and the normal form that
//! merges states no future transition can tell apart.

use super::{Coord, Job, JobPhase, Slot, Truth, World, WorldState, NOW};
use crate::decision::{Awaiting, Decision};
use crate::duration::Ms;

impl World {
    /// How long a job's current phase lasts at most and at least.
    fn phase_range(&self, phase: JobPhase) -> (Ms, Ms) {
        let e = &self.env;
        match phase {
            JobPhase::Start => (0, 0),
            JobPhase::Sleep => (e.provisioning_sleep, e.provisioning_sleep),
            JobPhase::Stop => (e.stop.min, e.stop.max),
            JobPhase::Provision => (e.restart_cycle.min, e.restart_cycle.max),
        }
    }

    /// The job may move on now.
    pub(super) fn job_step_enabled(&self, j: Job) -> bool {
        j.elapsed >= self.phase_range(j.phase).0
    }

    /// The liveness key has lived its TTL (only tracked with the TTL monitor
    /// on; without it no rule reads the key's age).
    pub(super) fn key_expired(&self, s: &WorldState) -> bool {
        self.ttl_declares()
            && s.ws
                .liveness_key
                .is_some_and(|k| NOW.saturating_sub(k) >= self.env.liveness_ttl)
    }

    /// Docker's restart of a crashed container is due: its delay reached
    /// `container.restart_delay_max` (only while the crash is open: a
    /// declared crash's age is erased, and Docker's restart of it is then
    /// left free, an over-approximation).
    pub(super) fn docker_restart_due(&self, s: &WorldState) -> bool {
        let e = &self.env;
        e.restarted_by_docker
            && s.truth == Truth::Crashed
            && matches!((s.crash, e.restart_delay_max), (Some(c), Some(d)) if c.open() && c.age >= d)
    }

    /// Something must happen at `now` before time may pass: a probe answer,
    /// a due timer, a decision's next lock section, a goroutine's step, the
    /// drain loop's top or exit, a job phase at its longest, the container or
    /// agent at the end of its range, a heartbeat at its longest interval, a
    /// key at its TTL, a request while crashed.
    pub fn urgent(&self, s: &WorldState) -> bool {
        let e = &self.env;
        let slot_due = s.slots.iter().flatten().any(|slot| match slot {
            Slot::Forwarding => true,
            Slot::Preflight(d) | Slot::Decision(d) => match d.awaiting() {
                Awaiting::Probe | Awaiting::Resume => true,
                Awaiting::Timer(at) => at <= NOW,
                _ => false,
            },
        });
        let job_due = s
            .job
            .is_some_and(|j| j.elapsed >= self.phase_range(j.phase).1);
        slot_due
            || job_due
            || !s.inflight.is_empty()
            || matches!(s.coord, Coord::Top | Coord::Exit)
            || self.key_expired(s)
            || match s.truth {
                Truth::Up => self.heartbeats_matter && s.hb_timer >= e.heartbeat_interval_max,
                Truth::Crashed => {
                    (s.req_timer >= e.request_interval && self.request_enabled(s).is_some())
                        || self.docker_restart_due(s)
                }
                Truth::Pending { elapsed } => elapsed >= e.boot_not_running.max,
                Truth::Booting { elapsed } => elapsed >= e.boot_to_heartbeat.max,
                Truth::Down => false,
            }
    }

    /// How far the next tick goes: the clock tick, shortened to the next
    /// decision wake-up or world threshold.
    pub fn tick_len(&self, s: &WorldState) -> Ms {
        let e = &self.env;
        let mut dt = e.tick - s.offset;
        let mut upto = |elapsed: Ms, mark: Ms| {
            if mark > elapsed {
                dt = dt.min(mark - elapsed);
            }
        };
        match s.truth {
            Truth::Up if self.heartbeats_matter => {
                upto(s.hb_timer, e.heartbeat_interval);
                upto(s.hb_timer, e.heartbeat_interval_max);
            }
            Truth::Crashed => {
                upto(s.req_timer, e.request_interval);
                if let (Some(c), Some(d)) = (s.crash, e.restart_delay_max) {
                    if c.open() && e.restarted_by_docker {
                        upto(c.age, d);
                    }
                }
            }
            Truth::Pending { elapsed } => {
                upto(elapsed, e.boot_not_running.min);
                upto(elapsed, e.boot_not_running.max);
            }
            Truth::Booting { elapsed } => {
                upto(elapsed, e.boot_to_heartbeat.min);
                upto(elapsed, e.boot_to_heartbeat.max);
            }
            _ => {}
        }
        if let Some(j) = s.job {
            let (min, max) = self.phase_range(j.phase);
            upto(j.elapsed, min);
            upto(j.elapsed, max);
        }
        if self.ttl_declares() {
            if let Some(k) = s.ws.liveness_key {
                upto(NOW.saturating_sub(k), e.liveness_ttl);
            }
        }
        for slot in s.slots.iter().flatten() {
            if let Some(Awaiting::Timer(at)) = slot.decision().map(|d| d.awaiting()) {
                if at > NOW {
                    dt = dt.min(at - NOW);
                }
            }
        }
        dt
    }

    /// Ages the whole state by `dt` (`now` stays [`NOW`]).
    pub(super) fn age(&self, s: &mut WorldState, dt: Ms) {
        let e = &self.env;
        s.ws.age(NOW, dt, &self.caps);
        for slot in s.slots.iter_mut().flatten() {
            if let Slot::Preflight(d) | Slot::Decision(d) = slot {
                d.age(NOW, dt, self.caps.restart_stamp);
            }
        }
        s.offset = (s.offset + dt) % e.tick;
        let add = |v: Ms, cap: Ms| v.saturating_add(dt).min(cap);
        s.hb_timer = add(s.hb_timer, e.heartbeat_interval_max);
        s.req_timer = add(s.req_timer, e.request_interval);
        s.truth = match s.truth {
            Truth::Pending { elapsed } => Truth::Pending {
                elapsed: add(elapsed, e.boot_not_running.max),
            },
            Truth::Booting { elapsed } => Truth::Booting {
                elapsed: add(elapsed, e.boot_to_heartbeat.max),
            },
            t => t,
        };
        if let Some(j) = &mut s.job {
            j.elapsed = add(j.elapsed, self.phase_range(j.phase).1);
        }
        if let Some(c) = &mut s.crash {
            c.age = add(c.age, self.crash_cap);
        }
    }

    /// Erases what no future transition can read, so states that differ
    /// only there are one state: the request timer outside a crash (requests
    /// arrive freely then), the world's heartbeat timer when heartbeats do
    /// not matter or the agent is not up, the file-write stamp once no config
    /// PUT is left, who started the last cycle once its settle period is
    /// over, strike counts past the threshold, a decision's remembered
    /// restart stamp once it is not the workspace's (see
    /// [`forget_stale_stamp`]), and the order of the request slots
    /// (interchangeable).
    pub(super) fn normalize(&self, s: &mut WorldState) {
        if s.truth != Truth::Crashed {
            s.req_timer = 0;
        }
        let stamp = s.ws.restart.started_at();
        for slot in s.slots.iter_mut().flatten() {
            match slot {
                Slot::Decision(d) if self.policy.decision.recheck_restarting => {
                    forget_stale_stamp(d, stamp)
                }
                // The preflight's rule, or a policy, without the re-check.
                Slot::Decision(d) | Slot::Preflight(d) => forget_stale_stamp(d, None),
                Slot::Forwarding => {}
            }
        }
        if s.slots[1..].iter().any(Option::is_some) {
            s.slots.sort_unstable_by_key(|d| (d.is_none(), *d));
        }
        if !self.heartbeats_matter || s.truth != Truth::Up {
            s.hb_timer = 0;
        }
        if s.config_left == 0 {
            s.ws.restart.forget_file_write();
        }
        if s.settle.is_none() {
            s.cycle_by_detector = false;
        }
        if let (Some(r), Some(t)) = (&mut s.ws.strikes, self.policy.decision.strikes) {
            // A strike count at or past the threshold is only ever compared
            // with it (`count >= threshold` declares, and a skipped
            // declaration keeps the record): every count past it behaves as
            // the threshold itself.
            r.count = r.count.min(t.threshold);
        }
        if let Some(c) = &mut s.crash {
            // Once declared or repaired, a crash's age is read by nothing:
            // not the detection property, not the worst-case measure.
            if !c.open() {
                c.age = 0;
            }
        }
        if let Some(k) = &mut s.ws.liveness_key {
            if !self.ttl_declares() {
                // Nothing reads the key's age: only whether it exists.
                *k = NOW;
            } else if let Some(left) = self.outage_left_max {
                // In a restart the key is renewed by the new agent's
                // registration before it can expire when it is younger than
                // the TTL minus the longest time to that registration: its
                // age then changes nothing (a crash, which could make an
                // outage longer, only ever starts from a running agent).
                let restarting = !matches!(s.truth, Truth::Up | Truth::Crashed);
                if restarting && NOW - *k + left < self.env.liveness_ttl {
                    *k = NOW;
                }
            }
        }
    }
}

/// Forgets the restart stamp `d` remembered for its re-check
/// (`restart_seen`) unless it is `keep` (the workspace's stamp; `None`: the
/// slot's rule has no re-check, so it is never read).
///
/// The re-check reads it only as "equal to the workspace's stamp or not". A
/// stamp, once set, only moves forward and is never cleared, so a
/// remembered stamp that differs from it differs for the rest of the
/// decision's life (the caps keep the newer stamp from saturating onto it
/// while the decision lives, see [`crate::policy::Policy::age_caps_for`]):
/// every such value behaves as none, which differs from a set stamp just as
/// well. Done here, before the slots are sorted (the stamp is part of a
/// slot's order), and not only when packing, so that a path replayed from
/// the real initial state sorts its slots as the search did.
fn forget_stale_stamp(d: &mut Decision, keep: Option<Ms>) {
    let mut phase = d.phase();
    if let Some(b) = phase.basis_mut() {
        if b.restart_seen.is_some() && b.restart_seen != keep {
            b.restart_seen = None;
            *d = Decision::from_parts(phase, d.probes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::MAX_SLOTS;
    use super::*;
    use crate::engine::Packable;
    use crate::environment::Environment;
    use crate::policy::Policy;
    use stateright::Model;
    use std::path::Path;

    fn world(policy: &str, env: &str) -> World {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        World::new(
            Policy::load(&root.join(format!("policies/{policy}.toml"))).unwrap(),
            Environment::load(&root.join(format!("environments/{env}.toml"))).unwrap(),
        )
    }

    fn pack(w: &World, s: &WorldState) -> Vec<u64> {
        let mut words = vec![0; w.words()];
        w.pack(s, &mut words);
        words
    }

    /// A decision that remembers a stale restart stamp behaves, for one step
    /// of every action, exactly as one that remembers none (which is what
    /// [`forget_stale_stamp`] makes of it): checked on seeded random runs
    /// through both v4 pairs (whose rule re-checks), at every state where a
    /// decision remembers none while the workspace has a stamp.
    #[test]
    fn a_stale_remembered_stamp_is_never_read_differently_from_none() {
        let mut checked = 0;
        let mut steps = 0;
        for env in ["cloud", "docker"] {
            let w = world("v4-proposed", env);
            assert!(w.policy.decision.recheck_restarting);
            let mut rng = 0x2545_f491_4f6c_dd1d_u64;
            for _ in 0..100 {
                let mut s = w.initial();
                for _ in 0..300 {
                    steps += 1;
                    let mut acts = Vec::new();
                    w.actions(&s, &mut acts);
                    let stamp = s.ws.restart.started_at();
                    for i in 0..MAX_SLOTS {
                        let (Some(Slot::Decision(d)), Some(at)) = (s.slots[i], stamp) else {
                            continue;
                        };
                        let mut phase = d.phase();
                        let Some(basis) = phase.basis_mut() else {
                            continue;
                        };
                        if basis.restart_seen.is_some() {
                            continue;
                        }
                        // An older stamp, on the model's time grid as
                        // every stamp is.
                        basis.restart_seen = Some(at - w.time_step());
                        let mut stale = s;
                        stale.slots[i] =
                            Some(Slot::Decision(Decision::from_parts(phase, d.probes())));
                        checked += 1;
                        let mut theirs = Vec::new();
                        w.actions(&stale, &mut theirs);
                        assert_eq!(acts, theirs);
                        for &a in &acts {
                            // `None`: nothing changed. From the stale state
                            // that is a step to the state without it.
                            let x = w.next_state(&s, a).unwrap_or(s);
                            let y = w.next_state(&stale, a);
                            assert!(y.is_some() || x == s, "{a:?} from {stale:?}");
                            let y = y.unwrap_or(s);
                            assert_eq!(x.events, y.events, "{a:?} from {stale:?}");
                            assert_eq!(pack(&w, &x), pack(&w, &y), "{a:?} from {stale:?}");
                        }
                    }
                    let next: Vec<WorldState> =
                        acts.iter().filter_map(|&a| w.next_state(&s, a)).collect();
                    if next.is_empty() {
                        break;
                    }
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    s = next[rng as usize % next.len()];
                }
            }
        }
        eprintln!("stale stamps checked: {checked} in {steps} states");
        assert!(checked > 100, "the runs met {checked} such decisions");
    }
}
