//! The restart coordinator (`RestartByID` / `coalesceRestart`) as a sans-IO
//! machine: running/pending coalescing, the restart debounce that silently
//! drops calls, and the file-write (config PUT) drop.
//!
//! Contract: the driver calls [`RestartCoordinator::request`] whenever
//! something asks for a restart, and [`RestartCoordinator::cycle_finished`]
//! when the cycle it was told to run returns. Both take `now`; neither reads
//! a clock. A [`RestartOutcome::Started`] obliges the driver to run one
//! restart cycle; [`CycleEnd::Looped`] obliges it to run one more.

use crate::duration::Ms;
use crate::policy::{AgeCaps, RestartPolicy};

/// Who asked for the restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartSource {
    /// The liveness decision declared the container dead.
    Detector,
    /// A config/file PUT (subject to the file-write drop first).
    FileWrite,
    /// Anything else (health sweep, reconciler, admin).
    Other,
}

/// Why a restart request was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Within the restart debounce of the last `restartStartedAt`.
    Debounce,
    /// Another file-write restart fired within the file-write drop window.
    FileWrite,
}

/// What became of a restart request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RestartOutcome {
    /// A cycle starts now (`running` set, stamp = now).
    Started,
    /// A cycle is running; it will loop once more when it ends.
    Coalesced,
    /// Silently dropped; nothing was stamped.
    Dropped(DropReason),
}

impl RestartOutcome {
    /// True when the request was accepted (a cycle will run because of it).
    pub fn accepted(self) -> bool {
        !matches!(self, RestartOutcome::Dropped(_))
    }
}

/// What happens when a cycle returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CycleEnd {
    /// No pending request: `running` is now false (the stamp stays).
    Idle,
    /// A request was pending: a new cycle starts now, re-stamped.
    Looped,
}

/// Per-workspace restart state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RestartCoordinator {
    running: bool,
    pending: bool,
    started_at: Option<Ms>,
    finished_at: Option<Ms>,
    last_file_write: Option<Ms>,
}

impl RestartCoordinator {
    /// A workspace that has never restarted.
    pub const fn new() -> Self {
        RestartCoordinator {
            running: false,
            pending: false,
            started_at: None,
            finished_at: None,
            last_file_write: None,
        }
    }

    /// A coordinator with exactly these fields (drivers that store it in
    /// another form, like the model checker's packed states, rebuild it with
    /// this).
    pub(crate) fn from_parts(
        running: bool,
        pending: bool,
        started_at: Option<Ms>,
        finished_at: Option<Ms>,
        last_file_write: Option<Ms>,
    ) -> Self {
        RestartCoordinator {
            running,
            pending,
            started_at,
            finished_at,
            last_file_write,
        }
    }

    /// `RestartByID(ws)` at `now`, from `source`.
    pub fn request(
        &mut self,
        policy: &RestartPolicy,
        now: Ms,
        source: RestartSource,
    ) -> RestartOutcome {
        if source == RestartSource::FileWrite {
            if let Some(t) = self.last_file_write {
                if now.saturating_sub(t) < policy.file_write_drop {
                    return RestartOutcome::Dropped(DropReason::FileWrite);
                }
            }
            // The file-write path fired; whether RestartByID then drops it
            // is the debounce's business.
            self.last_file_write = Some(now);
        }
        let exempt = source == RestartSource::Detector && policy.detector_bypasses_debounce;
        if let Some(t) = self.started_at {
            if !exempt && now.saturating_sub(t) < policy.debounce {
                return RestartOutcome::Dropped(DropReason::Debounce);
            }
        }
        if self.running {
            self.pending = true;
            RestartOutcome::Coalesced
        } else {
            self.running = true;
            self.started_at = Some(now);
            RestartOutcome::Started
        }
    }

    /// The running cycle returned at `now`. Ignored (returns `Idle`) when no
    /// cycle is running.
    pub fn cycle_finished(&mut self, now: Ms) -> CycleEnd {
        if !self.running {
            return CycleEnd::Idle;
        }
        if self.pending {
            self.pending = false;
            self.started_at = Some(now);
            CycleEnd::Looped
        } else {
            self.running = false;
            self.finished_at = Some(now);
            CycleEnd::Idle
        }
    }

    /// Records a cycle start observed from outside (a replay log's
    /// `restart_started`): `running` set, stamp = now.
    pub fn observe_cycle_start(&mut self, now: Ms) {
        self.running = true;
        self.started_at = Some(now);
    }

    /// Records a cycle end observed from outside (a replay log's
    /// `restart_finished`): the platform says the cycle returned and no loop
    /// follows, so `running` and `pending` clear.
    pub fn observe_cycle_end(&mut self, now: Ms) {
        self.running = false;
        self.pending = false;
        self.finished_at = Some(now);
    }

    /// Forgets the last file-write restart (a driver that knows no further
    /// file-write request can come uses this to merge equivalent states).
    pub fn forget_file_write(&mut self) {
        self.last_file_write = None;
    }

    /// `isRestarting`: a cycle is in flight.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// A request is pending behind the running cycle.
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// `restartStartedAt`, if any cycle ever started.
    pub fn started_at(&self) -> Option<Ms> {
        self.started_at
    }

    /// When the last cycle returned, if any did.
    pub fn finished_at(&self) -> Option<Ms> {
        self.finished_at
    }

    /// When the last file-write restart fired, if any did.
    pub fn last_file_write(&self) -> Option<Ms> {
        self.last_file_write
    }

    /// Shifts every stamp `dt` into the past, never older than `cap` before
    /// `now` (used by drivers that keep `now` fixed and age the state; a stamp
    /// at or beyond its cap decides exactly like one at the cap).
    pub fn age(&mut self, now: Ms, dt: Ms, caps: &AgeCaps) {
        let age = |t: &mut Option<Ms>, cap: Ms| {
            if let Some(v) = t {
                *v = v.saturating_sub(dt).max(now.saturating_sub(cap));
            }
        };
        age(&mut self.started_at, caps.restart_stamp);
        age(&mut self.finished_at, caps.restart_finished);
        age(&mut self.last_file_write, caps.file_write);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RestartPolicy = RestartPolicy {
        debounce: 60_000,
        file_write_drop: 15_000,
        detector_bypasses_debounce: false,
    };

    #[test]
    fn debounce_drops_five_calls_after_a_fresh_stamp() {
        // Reference table: restart stamped now, not running; RestartByID x5
        // -> all 5 dropped by the 60 s debounce.
        let mut c = RestartCoordinator::new();
        assert_eq!(
            c.request(&P, 0, RestartSource::Other),
            RestartOutcome::Started
        );
        assert_eq!(c.cycle_finished(4_000), CycleEnd::Idle);
        for i in 0..5 {
            assert_eq!(
                c.request(&P, 4_000 + i, RestartSource::Detector),
                RestartOutcome::Dropped(DropReason::Debounce)
            );
        }
        assert_eq!(c.started_at(), Some(0), "a dropped call stamps nothing");
    }

    #[test]
    fn debounce_boundary_is_exclusive() {
        let mut c = RestartCoordinator::new();
        c.request(&P, 0, RestartSource::Other);
        c.cycle_finished(1);
        assert!(!c.request(&P, 59_999, RestartSource::Other).accepted());
        assert_eq!(
            c.request(&P, 60_000, RestartSource::Other),
            RestartOutcome::Started
        );
    }

    #[test]
    fn running_cycle_coalesces_and_loops_restamped() {
        let mut c = RestartCoordinator::new();
        c.request(&P, 0, RestartSource::Other);
        assert_eq!(
            c.request(&P, 70_000, RestartSource::Other),
            RestartOutcome::Coalesced
        );
        assert!(c.is_pending());
        assert_eq!(c.cycle_finished(80_000), CycleEnd::Looped);
        assert_eq!(c.started_at(), Some(80_000));
        assert!(c.is_running());
        assert_eq!(c.cycle_finished(90_000), CycleEnd::Idle);
        assert!(!c.is_running());
        assert_eq!(c.finished_at(), Some(90_000));
    }

    #[test]
    fn file_write_drop_is_separate_from_debounce() {
        let mut c = RestartCoordinator::new();
        assert_eq!(
            c.request(&P, 0, RestartSource::FileWrite),
            RestartOutcome::Started
        );
        c.cycle_finished(5_000);
        assert_eq!(
            c.request(&P, 14_999, RestartSource::FileWrite),
            RestartOutcome::Dropped(DropReason::FileWrite)
        );
        assert_eq!(
            c.request(&P, 15_000, RestartSource::FileWrite),
            RestartOutcome::Dropped(DropReason::Debounce)
        );
        assert_eq!(c.last_file_write(), Some(15_000));
    }
}
