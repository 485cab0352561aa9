//! The restart coordinator (`RestartByID` / `coalesceRestart` and its drain
//! loop) as a sans-IO machine, one method per upstream lock section.
//!
//! Upstream (`handlers/workspace_restart.go@96ef5515`) a restart request runs
//! on its own goroutine and takes the coordinator's lock several times; other
//! events can run between any two of these sections, and the model checker
//! interleaves them exactly there:
//!
//! 1. [`RestartCoordinator::file_write_gate`] (config/file PUTs only, before
//!    the goroutine is launched: the 15 s drop, `:134-223`);
//! 2. [`RestartCoordinator::debounce_check`] (`shouldDebounceRestart`,
//!    `:674-686`): reads the stamp; a request within the debounce is dropped;
//! 3. [`RestartCoordinator::coalesce`] (`coalesceRestart`, `:699-713`): sets
//!    `pending`; a running cycle absorbs it ([`RestartOutcome::Coalesced`]),
//!    otherwise this request starts one: `running`, stamped
//!    ([`RestartOutcome::Started`]);
//! 4. the starter's drain loop: [`RestartCoordinator::loop_top`] at the top of
//!    each iteration (`:760-777`: `pending` taken, later iterations
//!    re-stamped), the cycle itself (driver I/O), and when nothing is pending
//!    [`RestartCoordinator::exit`] (the deferred `running = false`,
//!    `:726-734`). A request that coalesces between the last `loop_top` and
//!    `exit` is lost, as upstream.
//!
//! [`RestartCoordinator::request`] runs 2 and 3 as one section: not
//! upstream, the proposal's atomic mode (`restart.atomic_request`).
//! Nothing here reads a clock: every section takes `now`.

use crate::duration::Ms;
use crate::policy::{AgeCaps, RestartPolicy};

/// Who asked for the restart (words: `detector`, `file_write`, `other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl std::fmt::Display for RestartSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestartSource::Detector => "detector",
            RestartSource::FileWrite => "file_write",
            RestartSource::Other => "other",
        })
    }
}

impl std::fmt::Display for DropReason {
    /// `debounce`, `file_write`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DropReason::Debounce => "debounce",
            DropReason::FileWrite => "file_write",
        })
    }
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
    /// The outcome's kind in one word: `started`, `coalesced`, `dropped`
    /// (its [`Display`](std::fmt::Display) adds the drop's reason).
    pub fn kind(self) -> &'static str {
        match self {
            RestartOutcome::Started => "started",
            RestartOutcome::Coalesced => "coalesced",
            RestartOutcome::Dropped(_) => "dropped",
        }
    }

    /// True when the request was accepted (a cycle will run because of it).
    pub fn accepted(self) -> bool {
        !matches!(self, RestartOutcome::Dropped(_))
    }
}

impl std::fmt::Display for RestartOutcome {
    /// `started`, `coalesced`, `dropped_debounce`, `dropped_file_write`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartOutcome::Dropped(r) => write!(f, "dropped_{r}"),
            _ => f.write_str(self.kind()),
        }
    }
}

/// What the drain loop does at the top of an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LoopTop {
    /// A request is pending: run one cycle now (re-stamped unless it is the
    /// first iteration).
    Run,
    /// Nothing is pending: the loop ends; [`RestartCoordinator::exit`] follows.
    Done,
}

/// Per-workspace restart state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct RestartCoordinator {
    running: bool,
    pending: bool,
    /// The next `loop_top` is the first of the loop (no re-stamp).
    first: bool,
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
            first: false,
            started_at: None,
            finished_at: None,
            last_file_write: None,
        }
    }

    /// A coordinator with exactly these fields (drivers that store it in
    /// another form, like the model checker's packed states, rebuild it with
    /// this).
    #[cfg_attr(not(feature = "checker"), allow(dead_code))]
    pub(crate) fn from_parts(
        (running, pending, first): (bool, bool, bool),
        started_at: Option<Ms>,
        finished_at: Option<Ms>,
        last_file_write: Option<Ms>,
    ) -> Self {
        RestartCoordinator {
            running,
            pending,
            first,
            started_at,
            finished_at,
            last_file_write,
        }
    }

    /// The file-write path's own drop (`maybeRestartAfterFileWrite`): a
    /// config/file PUT within `file_write_drop` of the last one that fired is
    /// dropped; otherwise it fires (and is stamped) and its `RestartByID`
    /// follows on its own goroutine.
    pub fn file_write_gate(&mut self, policy: &RestartPolicy, now: Ms) -> Result<(), DropReason> {
        if let Some(t) = self.last_file_write {
            if now.saturating_sub(t) < policy.file_write_drop {
                return Err(DropReason::FileWrite);
            }
        }
        self.last_file_write = Some(now);
        Ok(())
    }

    /// `shouldDebounceRestart`: the request is dropped while
    /// `now − restartStartedAt < debounce` (a dropped request stamps
    /// nothing). Reads only the stamp, never `running`.
    pub fn debounce_check(
        &self,
        policy: &RestartPolicy,
        now: Ms,
        source: RestartSource,
    ) -> Result<(), DropReason> {
        let exempt = source == RestartSource::Detector && policy.detector_bypasses_debounce;
        match self.started_at {
            Some(t) if !exempt && now.saturating_sub(t) < policy.debounce => {
                Err(DropReason::Debounce)
            }
            _ => Ok(()),
        }
    }

    /// `coalesceRestart`'s first section: `pending` is set; a running cycle
    /// absorbs the request, otherwise it starts one (`running`, stamped now).
    pub fn coalesce(&mut self, now: Ms) -> RestartOutcome {
        self.pending = true;
        if self.running {
            RestartOutcome::Coalesced
        } else {
            self.running = true;
            self.first = true;
            self.started_at = Some(now);
            RestartOutcome::Started
        }
    }

    /// `RestartByID` with its two sections as one (the proposal's atomic
    /// mode; not upstream): the debounce check, then coalescing.
    pub fn request(
        &mut self,
        policy: &RestartPolicy,
        now: Ms,
        source: RestartSource,
    ) -> RestartOutcome {
        match self.debounce_check(policy, now, source) {
            Err(reason) => RestartOutcome::Dropped(reason),
            Ok(()) => self.coalesce(now),
        }
    }

    /// The top of the drain loop: a pending request is taken and one cycle
    /// runs ([`LoopTop::Run`]; every iteration but the first re-stamps
    /// `restartStartedAt`), or the loop ends ([`LoopTop::Done`]). Ignored
    /// (`Done`) when no cycle is running.
    pub fn loop_top(&mut self, now: Ms) -> LoopTop {
        if !self.running || !self.pending {
            return LoopTop::Done;
        }
        self.pending = false;
        if !self.first {
            self.started_at = Some(now);
        }
        self.first = false;
        LoopTop::Run
    }

    /// The loop's deferred exit: `running = false` (the stamp stays). A
    /// request that coalesced since the last [`RestartCoordinator::loop_top`]
    /// stays pending with nothing running it (lost, as upstream).
    pub fn exit(&mut self, now: Ms) {
        if self.running {
            self.running = false;
            self.first = false;
            self.finished_at = Some(now);
        }
    }

    /// Records a cycle start observed from outside (a replay log's
    /// `restart_started`): `running` set, stamp = now.
    pub(crate) fn observe_cycle_start(&mut self, now: Ms) {
        self.running = true;
        self.first = false;
        self.started_at = Some(now);
    }

    /// Records a cycle end observed from outside (a replay log's
    /// `restart_finished`): the platform says the cycle returned and no loop
    /// follows, so `running` and `pending` clear.
    pub(crate) fn observe_cycle_end(&mut self, now: Ms) {
        self.running = false;
        self.pending = false;
        self.first = false;
        self.finished_at = Some(now);
    }

    /// Forgets the last file-write restart (a driver that knows no further
    /// file-write request can come uses this to merge equivalent states).
    #[cfg_attr(not(feature = "checker"), allow(dead_code))]
    pub(crate) fn forget_file_write(&mut self) {
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

    /// The next [`RestartCoordinator::loop_top`] is the loop's first.
    pub fn is_first_iteration(&self) -> bool {
        self.first
    }

    /// `restartStartedAt`, if any cycle ever started.
    pub fn started_at(&self) -> Option<Ms> {
        self.started_at
    }

    /// When the last cycle loop exited, if any did.
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
        atomic_request: false,
        manual_via_coordinator: false,
    };

    /// Runs a whole cycle loop the way upstream's goroutine does.
    fn drain(c: &mut RestartCoordinator, now: Ms) -> u32 {
        let mut cycles = 0;
        while c.loop_top(now) == LoopTop::Run {
            cycles += 1;
        }
        c.exit(now);
        cycles
    }

    #[test]
    fn debounce_drops_five_calls_after_a_fresh_stamp() {
        // Reference table: restart stamped now, not running; RestartByID x5
        // -> all 5 dropped by the 60 s debounce.
        let mut c = RestartCoordinator::new();
        assert_eq!(
            c.request(&P, 0, RestartSource::Other),
            RestartOutcome::Started
        );
        assert_eq!(drain(&mut c, 4_000), 1);
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
        drain(&mut c, 1);
        assert!(!c.request(&P, 59_999, RestartSource::Other).accepted());
        assert_eq!(
            c.request(&P, 60_000, RestartSource::Other),
            RestartOutcome::Started
        );
    }

    #[test]
    fn two_requests_that_both_pass_the_debounce_run_two_cycles() {
        // The two-section race: both check before either stamps.
        let mut c = RestartCoordinator::new();
        assert!(c.debounce_check(&P, 0, RestartSource::Detector).is_ok());
        assert!(c.debounce_check(&P, 0, RestartSource::FileWrite).is_ok());
        assert_eq!(c.coalesce(0), RestartOutcome::Started);
        assert_eq!(c.loop_top(0), LoopTop::Run, "the starter's first iteration");
        assert_eq!(c.coalesce(0), RestartOutcome::Coalesced);
        assert_eq!(c.started_at(), Some(0));
        assert_eq!(c.loop_top(9_000), LoopTop::Run, "a second full cycle");
        assert_eq!(c.started_at(), Some(9_000), "re-stamped");
        assert_eq!(c.loop_top(15_000), LoopTop::Done);
        c.exit(15_000);
        assert!(!c.is_running());
    }

    #[test]
    fn a_request_before_the_first_iteration_is_absorbed_by_it() {
        let mut c = RestartCoordinator::new();
        assert_eq!(c.coalesce(0), RestartOutcome::Started);
        assert_eq!(c.coalesce(0), RestartOutcome::Coalesced);
        assert_eq!(drain(&mut c, 5_000), 1, "pending was already set");
    }

    #[test]
    fn a_request_between_the_last_loop_top_and_exit_is_lost() {
        let mut c = RestartCoordinator::new();
        c.coalesce(0);
        assert_eq!(c.loop_top(0), LoopTop::Run);
        assert_eq!(c.loop_top(5_000), LoopTop::Done);
        assert_eq!(c.coalesce(5_000), RestartOutcome::Coalesced);
        c.exit(5_000);
        assert!(!c.is_running() && c.is_pending(), "nothing runs it");
    }

    #[test]
    fn file_write_drop_is_separate_from_debounce() {
        let mut c = RestartCoordinator::new();
        assert_eq!(c.file_write_gate(&P, 0), Ok(()));
        assert_eq!(
            c.request(&P, 0, RestartSource::FileWrite),
            RestartOutcome::Started
        );
        drain(&mut c, 5_000);
        assert_eq!(c.file_write_gate(&P, 14_999), Err(DropReason::FileWrite));
        assert_eq!(c.file_write_gate(&P, 15_000), Ok(()));
        assert_eq!(
            c.request(&P, 15_000, RestartSource::FileWrite),
            RestartOutcome::Dropped(DropReason::Debounce)
        );
        assert_eq!(c.last_file_write(), Some(15_000));
    }
}
