//! What a model transition did, as values: the world's transition function
//! reports each thing that happens ([`Note`]) to a [`Narrate`] sink. The
//! checker passes `()`, which drops them at no cost; the timeline renderer
//! ([`crate::trace`]) collects them, so a counterexample is told from the
//! same code that was checked, never from a re-enactment.

use super::{Class, Owner};
use crate::decision::{ProbeResult, Step};
use crate::duration::Ms;
use crate::restart::{DropReason, RestartOutcome};

/// Who probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prober {
    /// A request's decision (`maybeMarkContainerDead`).
    Decision,
    /// The preflight check before a forward.
    Preflight,
    /// The Docker health sweep.
    Sweep,
    /// The cloud instance reconciler.
    Reconciler,
}

/// One thing a transition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Model time passed.
    Time(Ms),
    /// A request resolved a URL; its preflight (or, without one, its failed
    /// forward's decision) starts in this slot.
    RequestArrived {
        /// The slot.
        slot: usize,
        /// A preflight check runs first.
        preflight: bool,
        /// The URL came from the database (the cache was empty and is now
        /// filled again).
        from_db: bool,
    },
    /// After a preflight that let it through, the forward fails (a decision
    /// starts) or succeeds.
    Forward {
        /// The slot.
        slot: usize,
        /// It failed.
        fails: bool,
    },
    /// A probe was answered.
    Probe {
        /// The slot (decision, preflight) or `None` (sweep, reconciler).
        slot: Option<usize>,
        /// Who asked.
        by: Prober,
        /// The answer.
        result: ProbeResult,
        /// A not-running answer from a running container.
        spurious: bool,
    },
    /// A decision or preflight timer fired.
    Timer {
        /// The slot.
        slot: usize,
    },
    /// A decision took its next lock section after a strike at the threshold.
    Resume {
        /// The slot.
        slot: usize,
    },
    /// A decision's or preflight's step (what it asks next, or its verdict).
    Step {
        /// The slot.
        slot: usize,
        /// Who.
        by: Prober,
        /// The step.
        step: Step,
    },
    /// A detector other than a request's decision declared the container
    /// dead (health sweep: offline, keys deleted; TTL monitor: offline;
    /// reconciler: only its restart request).
    Declared {
        /// Who.
        by: Detector,
    },
    /// The running agent heartbeated.
    Heartbeat,
    /// The new agent registered (URL, online, heartbeat, liveness key).
    Registered,
    /// The new container/instance reports running; the agent boots.
    ReportsRunning,
    /// The container crashed.
    Crash,
    /// Docker restarted the crashed container (`unless-stopped`).
    DockerRestarts,
    /// A config PUT; `fired` unless the file-write drop took it.
    ConfigPut {
        /// Its `RestartByID` was launched.
        fired: bool,
    },
    /// A manual restart (Restart/Resume/provider switch). Upstream
    /// (`outcome` `None`): the row marked `provisioning` with no URL; its own
    /// stop and provision follow. Through the coordinator
    /// (`restart.manual_via_coordinator`): what coalescing did.
    ManualRestart {
        /// The coordinator's answer, when the manual path asks it.
        outcome: Option<RestartOutcome>,
    },
    /// A detector (health sweep, reconciler, TTL monitor) runs the policy's
    /// decision in this slot (`detectors.use_decision`).
    DetectorDecides {
        /// The slot.
        slot: usize,
        /// Which detector.
        by: Detector,
    },
    /// The liveness key expired.
    KeyExpired,
    /// The URL cache's entry expired.
    CacheExpired,
    /// A `RestartByID` goroutine took its debounce check.
    Check {
        /// Whose request.
        class: Class,
        /// `None`: passed; else why it was dropped.
        dropped: Option<DropReason>,
    },
    /// A `RestartByID` goroutine coalesced (or, atomic mode, both sections).
    Coalesce {
        /// Whose request.
        class: Class,
        /// What the coordinator did.
        outcome: RestartOutcome,
    },
    /// The drain loop's top: `true` runs a cycle (`restamped` when it is not
    /// the loop's first), `false` ends the loop.
    LoopTop {
        /// A cycle runs.
        run: bool,
        /// The stamp moved.
        restamped: bool,
    },
    /// The drain loop exited (`running = false`); `lost` when a request
    /// coalesced after its last top.
    LoopExit {
        /// A pending request is left with nothing to run it.
        lost: bool,
    },
    /// A restart job (the physical cycle) moved on.
    Job {
        /// Whose job.
        owner: Owner,
        /// What happened.
        what: JobEvent,
    },
    /// The request slots were put back in their canonical order: slot `j`
    /// now holds what slot `from[j]` held during the transition.
    Slots {
        /// Where each slot's content came from.
        from: [usize; super::MAX_SLOTS],
    },
}

/// Detectors besides a request's decision and the preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// The Docker health sweep.
    Sweep,
    /// The cloud instance reconciler.
    Reconciler,
    /// The Redis-TTL liveness monitor.
    TtlMonitor,
}

/// Steps of a restart job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    /// It got the provision gate and sleeps first (the row was `provisioning`).
    Sleeps,
    /// The old container is being stopped (it reports not-running).
    Stops,
    /// The stop returned; the row is `provisioning` with no URL.
    Stopped,
    /// The new container/instance is provisioned and the cycle's work returns.
    Provisioned,
}

/// A sink for [`Note`]s.
pub trait Narrate {
    /// Takes one note.
    fn note(&mut self, n: Note);
    /// Whether notes that cost work to make are wanted.
    fn listening(&self) -> bool;
}

impl Narrate for () {
    #[inline(always)]
    fn note(&mut self, _: Note) {}
    #[inline(always)]
    fn listening(&self) -> bool {
        false
    }
}

impl Narrate for Vec<Note> {
    fn note(&mut self, n: Note) {
        self.push(n);
    }
    fn listening(&self) -> bool {
        true
    }
}
