//! The per-workspace state every decision for that workspace shares: facts,
//! the last heartbeat, the database row's status and URL, the Redis keys the
//! proxy reads, the strike record and the restart coordinator.
//!
//! Upstream these live in the database (`last_heartbeat_at`, `status`,
//! `url`), Redis (the liveness key `ws:{id}` and the URL cache
//! `ws:{id}:url`), a handler-wide strike map and per-workspace restart state.
//! Here they are one plain value so a driver decides how to share it: the
//! model checker keeps one in its state, the tracker keeps one behind a
//! mutex, replay keeps one per workspace of the log. Each method is one
//! upstream write, with the file and line it follows.

use crate::duration::Ms;
use crate::policy::{AgeCaps, RestartPolicy};
use crate::restart::{LoopTop, RestartCoordinator, RestartOutcome, RestartSource};

/// The database row's `status`, as far as the liveness rules read it
/// (words: `online`, `offline`, `provisioning`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `online` (or `degraded`: every rule here treats them alike).
    #[default]
    Online,
    /// `offline`: declared dead (by any detector) or expired.
    Offline,
    /// `provisioning`: a restart cycle or a manual restart marked the row.
    Provisioning,
}

/// Runtimes that are never probed (`isExternalLikeRuntime`).
pub const EXTERNAL_LIKE_RUNTIMES: [&str; 3] = ["external", "kimi", "kimi-cli"];

/// Facts about a workspace that the decision's first two guards read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Facts {
    /// The runtime is external-like (`external`, `kimi`, `kimi-cli`): never probed.
    pub external_runtime: bool,
    /// A provisioner is configured: without one nothing is probed.
    pub provisioner: bool,
}

impl Facts {
    /// Whether `runtime` is external-like ([`EXTERNAL_LIKE_RUNTIMES`]).
    pub fn is_external_like(runtime: &str) -> bool {
        EXTERNAL_LIKE_RUNTIMES.contains(&runtime)
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrikeRecord {
    /// Strikes counted since `first`.
    pub count: u8,
    /// When the first strike of this record was added.
    pub first: Ms,
}

/// Everything the decisions of one workspace share. Its fields are read
/// through its accessors and changed only through its methods, one upstream
/// write each (the rule's own effects are applied by the decision); a
/// workspace in any other state is built from plain data with
/// [`Workspace::restore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Workspace {
    pub(crate) facts: Facts,
    pub(crate) last_heartbeat: Option<Ms>,
    pub(crate) url_registered: bool,
    pub(crate) status: Status,
    pub(crate) url_cached: bool,
    pub(crate) liveness_key: Option<Ms>,
    pub(crate) strikes: Option<StrikeRecord>,
    pub(crate) restart: RestartCoordinator,
}

/// A workspace's shared state as plain data: what storage holds for it (the
/// database row, the Redis keys, the strike map's entry, the restart state).
/// Any combination is allowed, as storage may hold after any history. A
/// driver that reads a workspace back from storage, or a test that starts
/// from a given state, builds the [`Workspace`] with [`Workspace::restore`];
/// [`Workspace::stored`] gives it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Stored {
    /// Runtime and provisioner facts.
    pub facts: Facts,
    /// `last_heartbeat_at`; `None` before the first heartbeat. A restart
    /// cycle never resets it (`workspace_restart.go@96ef5515:976-979`).
    pub last_heartbeat: Option<Ms>,
    /// The row's `url` column is not empty. A restart cycle blanks it; the
    /// agent's registration (and, on Docker, the provisioner right after the
    /// container starts) sets it. A declaration of death never touches it.
    pub url_registered: bool,
    /// The row's `status`.
    pub status: Status,
    /// The Redis URL cache `ws:{id}:url` holds a URL (set by registration,
    /// the Docker provisioner and the proxy's own database fallback; deleted
    /// by a declaration; expires after 5 minutes).
    pub url_cached: bool,
    /// The Redis liveness key `ws:{id}` exists, last set or refreshed at this
    /// instant (`SET … EX 180` at registration, `EXPIRE` on each heartbeat,
    /// which cannot recreate a deleted key; deleted by a declaration).
    pub liveness_key: Option<Ms>,
    /// The strike record, if any strike is counted.
    pub strikes: Option<StrikeRecord>,
    /// The restart coordinator's state.
    pub restart: RestartCoordinator,
}

impl Workspace {
    /// A workspace with these facts, no heartbeat, no restart history, its
    /// row `online` with no URL and no Redis keys.
    pub fn new(facts: Facts) -> Self {
        Workspace {
            facts,
            ..Workspace::default()
        }
    }

    /// A workspace in the state `s` (see [`Stored`]).
    pub fn restore(s: Stored) -> Self {
        Workspace {
            facts: s.facts,
            last_heartbeat: s.last_heartbeat,
            url_registered: s.url_registered,
            status: s.status,
            url_cached: s.url_cached,
            liveness_key: s.liveness_key,
            strikes: s.strikes,
            restart: s.restart,
        }
    }

    /// The workspace's state as plain data (see [`Stored`]).
    pub fn stored(&self) -> Stored {
        Stored {
            facts: self.facts,
            last_heartbeat: self.last_heartbeat,
            url_registered: self.url_registered,
            status: self.status,
            url_cached: self.url_cached,
            liveness_key: self.liveness_key,
            strikes: self.strikes,
            restart: self.restart,
        }
    }

    /// Runtime and provisioner facts.
    pub fn facts(&self) -> Facts {
        self.facts
    }

    /// The workspace's runtime or provisioner changed: decisions begun
    /// afterwards read the new facts.
    pub fn set_facts(&mut self, facts: Facts) {
        self.facts = facts;
    }

    /// `last_heartbeat_at`; `None` before the first heartbeat.
    pub fn last_heartbeat(&self) -> Option<Ms> {
        self.last_heartbeat
    }

    /// The row's `url` column is not empty.
    pub fn url_registered(&self) -> bool {
        self.url_registered
    }

    /// The row's `status`.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The Redis URL cache holds a URL.
    pub fn url_cached(&self) -> bool {
        self.url_cached
    }

    /// When the Redis liveness key was last set or refreshed; `None` when it
    /// does not exist.
    pub fn liveness_key(&self) -> Option<Ms> {
        self.liveness_key
    }

    /// The strike record, if any strike is counted.
    pub fn strikes(&self) -> Option<StrikeRecord> {
        self.strikes
    }

    /// The restart coordinator's state.
    pub fn restart(&self) -> &RestartCoordinator {
        &self.restart
    }

    /// The restart coordinator, for drivers that run `RestartByID`'s
    /// sections themselves (its methods are the upstream sections and keep
    /// its invariants; see [`Workspace::restart_by_id_now`] for the sections
    /// back to back).
    pub fn restart_mut(&mut self) -> &mut RestartCoordinator {
        &mut self.restart
    }

    /// The heartbeat handler at `now` (`registry.go@96ef5515:834-863,
    /// 921, 1104-1109`): `last_heartbeat_at = now`, a `provisioning` or
    /// `offline` row becomes `online`, the liveness key's TTL is refreshed if
    /// the key exists. The URL is not touched.
    pub fn heartbeat(&mut self, now: Ms) {
        self.last_heartbeat = Some(now);
        self.status = Status::Online;
        if self.liveness_key.is_some() {
            self.liveness_key = Some(now);
        }
    }

    /// The agent registers at `now` (`registry.go@96ef5515:603-688`): URL
    /// set, row `online`, `last_heartbeat_at = now`, the liveness key created
    /// and the URL cached.
    pub fn register(&mut self, now: Ms) {
        self.url_registered = true;
        self.status = Status::Online;
        self.last_heartbeat = Some(now);
        self.liveness_key = Some(now);
        self.url_cached = true;
    }

    /// The effects of a declaration of death on the shared state
    /// (`declareContainerDead`, `a2a_proxy_helpers.go@96ef5515:391-394`, the
    /// same in the preflight and the health sweep): the row becomes `offline`
    /// unless it is `provisioning`; the liveness key and the URL cache are
    /// deleted. The row's URL is not touched. (The strike record is the
    /// decision's business; the restart request is launched by the driver.)
    pub fn declare_dead(&mut self) {
        if self.status != Status::Provisioning {
            self.status = Status::Offline;
        }
        self.liveness_key = None;
        self.url_cached = false;
    }

    /// A request resolves the agent's URL (`resolveAgentURL`,
    /// `a2a_proxy.go@96ef5515:838-883`): from the cache, else from the row
    /// (which caches it again). False when neither holds one: the proxy
    /// answers 503 "workspace has no URL" and no decision runs.
    pub fn resolve_url(&mut self) -> bool {
        if self.url_cached {
            return true;
        }
        if self.url_registered {
            self.url_cached = true;
            return true;
        }
        false
    }

    /// A restart marks the row (`workspace_restart.go@96ef5515:976-979` in
    /// the cycle, `:410-411` for the manual restart): `provisioning`, URL
    /// blank. Redis keys are left as they are.
    pub fn mark_provisioning(&mut self) {
        self.status = Status::Provisioning;
        self.url_registered = false;
    }

    /// The Docker provisioner started the new container
    /// (`workspace_provision.go@96ef5515:182-187`): the row's URL and the URL
    /// cache hold the new address before the agent registers.
    pub fn container_started(&mut self) {
        self.url_registered = true;
        self.url_cached = true;
    }

    /// `RestartByID` with its sections run back to back, for drivers in which
    /// nothing can run between them (replay of a log, conformance vectors):
    /// the debounce check, then coalescing; a request that starts a cycle
    /// runs the drain loop's first top at once, as its goroutine does, and
    /// the cycle marks the row (its stop and `provisioning` write follow in
    /// the same goroutine). A request made while that cycle runs is pending
    /// for the next iteration. Drivers with real concurrency call the
    /// sections themselves ([`RestartCoordinator::debounce_check`],
    /// [`RestartCoordinator::coalesce`], [`RestartCoordinator::loop_top`]).
    pub fn restart_by_id_now(
        &mut self,
        policy: &RestartPolicy,
        now: Ms,
        source: RestartSource,
    ) -> RestartOutcome {
        let outcome = self.restart.request(policy, now, source);
        if outcome == RestartOutcome::Started {
            self.restart.loop_top(now);
            self.mark_provisioning();
        }
        outcome
    }

    /// The platform started a restart cycle on its own at `now` (a replay
    /// log's `restart_started`): stamped, running, the row marked.
    pub fn observe_restart_started(&mut self, now: Ms) {
        self.restart.observe_cycle_start(now);
        self.mark_provisioning();
    }

    /// The platform's own restart cycle returned at `now` and no loop follows
    /// (a replay log's `restart_finished`): `running` and `pending` clear.
    /// The row stays as the cycle left it until the agent registers.
    pub fn observe_restart_finished(&mut self, now: Ms) {
        self.restart.observe_cycle_end(now);
    }

    /// Runs the drain loop's top: see [`RestartCoordinator::loop_top`].
    pub fn loop_top(&mut self, now: Ms) -> LoopTop {
        self.restart.loop_top(now)
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
        if let Some(k) = &mut self.liveness_key {
            *k = k.saturating_sub(dt).max(floor(caps.liveness_key));
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
