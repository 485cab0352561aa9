//! Time in the world: what is due now (no tick may pass it), how far the
//! next tick goes, how a tick ages the state, and the normal form that
//! merges states no future transition can tell apart.

use super::{Coord, Job, JobPhase, Slot, Truth, World, WorldState, NOW};
use crate::decision::Awaiting;
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
    /// over, strike counts past the threshold, and the order of the request
    /// slots (interchangeable).
    pub(super) fn normalize(&self, s: &mut WorldState) {
        if s.truth != Truth::Crashed {
            s.req_timer = 0;
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
