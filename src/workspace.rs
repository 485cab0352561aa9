//! The per-workspace state every decision for that workspace shares: facts,
//! the last heartbeat, the registered URL, the strike record and the restart
//! coordinator.
//!
//! Upstream these live in the database (`last_heartbeat_at`, `url`), Redis,
//! a handler-wide strike map and per-workspace restart state. Here they are
//! one plain value so a driver decides how to share it: the model checker
//! keeps one in its state, the tracker keeps one behind a mutex, replay keeps
//! one per workspace of the log.

use crate::duration::Ms;
use crate::policy::{AgeCaps, RestartPolicy};
use crate::restart::{CycleEnd, RestartCoordinator, RestartOutcome, RestartSource};

/// Facts about a workspace that the decision's first two guards read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facts {
    /// The runtime is external-like (`external`, `kimi`, `kimi-cli`): never probed.
    pub external_runtime: bool,
    /// A provisioner is configured: without one nothing is probed.
    pub provisioner: bool,
}

impl Default for Facts {
    /// An ordinary runtime with a provisioner.
    fn default() -> Self {
        Facts {
            external_runtime: false,
            provisioner: true,
        }
    }
}

/// The dead-probe (strike) record: `{count, first}` (upstream also keeps
/// `last`, which no rule reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StrikeRecord {
    /// Strikes counted since `first`.
    pub count: u8,
    /// When the first strike of this record was added.
    pub first: Ms,
}

/// Everything the decisions of one workspace share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Workspace {
    /// Runtime and provisioner facts.
    pub facts: Facts,
    /// `last_heartbeat_at`; `None` before the first heartbeat.
    pub last_heartbeat: Option<Ms>,
    /// The agent's URL is registered (cleared by a declaration of death and
    /// by a restart cycle; set again when the agent registers).
    pub url_registered: bool,
    /// The strike record, if any strike is counted.
    pub strikes: Option<StrikeRecord>,
    /// The restart coordinator's state.
    pub restart: RestartCoordinator,
}

impl Workspace {
    /// A workspace with these facts, no heartbeat, no restart history.
    pub fn new(facts: Facts) -> Self {
        Workspace {
            facts,
            ..Workspace::default()
        }
    }

    /// The heartbeat handler at `now`: the agent is registered and alive.
    pub fn heartbeat(&mut self, now: Ms) {
        self.last_heartbeat = Some(now);
        self.url_registered = true;
    }

    /// `RestartByID` at `now` from `source`, through the restart
    /// coordinator. A cycle that starts stops the container and sets
    /// `url=''`: the URL is cleared here, the one place that knows it.
    pub fn request_restart(
        &mut self,
        policy: &RestartPolicy,
        now: Ms,
        source: RestartSource,
    ) -> RestartOutcome {
        let outcome = self.restart.request(policy, now, source);
        if outcome == RestartOutcome::Started {
            self.url_registered = false;
        }
        outcome
    }

    /// The running restart cycle returned at `now`; when a request was
    /// pending it loops, and the new cycle clears the URL again.
    pub fn restart_cycle_finished(&mut self, now: Ms) -> CycleEnd {
        let end = self.restart.cycle_finished(now);
        if end == CycleEnd::Looped {
            self.url_registered = false;
        }
        end
    }

    /// The platform started a restart cycle on its own at `now` (a replay
    /// log's `restart_started`): stamped, running, URL cleared.
    pub fn observe_restart_started(&mut self, now: Ms) {
        self.restart.observe_cycle_start(now);
        self.url_registered = false;
    }

    /// Shifts every stamp `dt` into the past while `now` stays put, each
    /// saturating at its cap (see [`AgeCaps`]). Used by the model checker,
    /// which keeps `now` constant and ages the state instead.
    pub fn age(&mut self, now: Ms, dt: Ms, caps: &AgeCaps) {
        let floor = |cap: Ms| now.saturating_sub(cap);
        self.restart.age(now, dt, caps);
        if let Some(h) = &mut self.last_heartbeat {
            *h = h.saturating_sub(dt).max(floor(caps.heartbeat));
            // Older than the recent window and not newer than the restart
            // stamp: no rule can ever read it differently from a heartbeat at
            // the cap (recent stays false as it ages; "newer than the stamp"
            // stays false as stamps only move forward).
            if now.saturating_sub(*h) > caps.recent_window
                && self.restart.started_at().is_none_or(|t| *h <= t)
            {
                *h = floor(caps.heartbeat);
            }
        }
        if let Some(s) = &mut self.strikes {
            s.first = s.first.saturating_sub(dt).max(floor(caps.strike_first));
            // A record older than the strike window restarts at 1 on the next
            // strike, exactly as no record does.
            if now.saturating_sub(s.first) >= caps.strike_first {
                self.strikes = None;
            }
        }
    }
}
