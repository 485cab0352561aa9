//! The liveness decision (`maybeMarkContainerDead`) as a sans-IO machine: the
//! one implementation of the rule, for every policy version.
//!
//! # Contract
//!
//! A [`Decision`] is one failed request's run of the rule. The driver owns
//! the clock, the probes and the shared [`Workspace`]:
//!
//! 1. when the request fails, start it with [`Decision::start`], which runs
//!    the rule's first steps at once and returns the decision with its first
//!    [`Step`] (there is no decision that has not started);
//! 2. act on each returned [`Step`]: on [`Step::Probe`] run `IsRunning` and
//!    feed the answer as [`Input::Probe`]; on [`Step::Wake`] feed
//!    [`Input::Timer`] once the clock reaches that instant (an early wake is
//!    harmless: the same `Wake` comes back); on [`Step::Yield`] feed
//!    [`Input::Resume`] (the decision left a lock section and takes the next
//!    one: other events may run in between); on [`Step::Done`] the decision
//!    is over and the [`Verdict`] says what it did; on [`Verdict::Dead`] the
//!    driver launches `RestartByID` (source [`RestartSource::Detector`]) on
//!    its own, as upstream's `goAsync` does;
//! 3. every call passes `now` (milliseconds on the driver's monotonic clock,
//!    non-decreasing) and the workspace's current shared state, which may have
//!    changed between calls (heartbeats, restarts, other decisions): each step
//!    reads it at the moment upstream reads it.
//!
//! The machine never reads a clock, performs I/O or allocates. Effects are
//! values: shared-state updates the rule owns (strike record, the row marked
//! offline, the Redis liveness key and URL cache deleted) are applied to the
//! `Workspace` it is given; the broadcast and the restart request are implied
//! by [`Verdict::Dead`]. Inputs that make no sense in the current phase are
//! refused with [`UnexpectedInput`] and change nothing; no input panics.
//!
//! # The rule (policy knobs in brackets; V0/V1/V2 are settings of them)
//!
//! 1. external-like runtime → skipped. 2. no provisioner → skipped.
//! 3. a restart cycle is running → skipped, no probe [guard.skip_while_restarting].
//! 4. `settling` = now − stamp < [settle.window] (stamp per [settle.measured_from]).
//! 5. `recent` = now − last heartbeat ≤ [heartbeat.recent_window].
//! 6. `fresh` = settling and, polling every [fresh poll] for up to [fresh
//!    wait], a heartbeat newer than `restartStartedAt` with a URL registered.
//! 7. probe; an error → not dead [probe.on_error = assume_alive] or its
//!    running flag is used (`use_running_flag`).
//! 8. running → reset strikes, not dead.
//! 9. if recent ∨ fresh ∨ settling (or always, with [reprobe.always]) and
//!    [reprobe.delay]: wait, probe again;
//!    error / running as in 7–8.
//! 10. settling ∧ ¬fresh with [settle.on_not_running = wait_for_agent] →
//!     not dead (the new agent has not heartbeated yet; not upstream).
//! 11. recent ∨ fresh → [heartbeat.on_recent]: enqueue, or add a strike.
//! 12. settling → [settle.on_not_running]: add a strike, or declare.
//! 13. otherwise → declare dead.
//!
//! A strike at the threshold declares dead, in a lock section of its own
//! (upstream `incrementDeadProbe` and the declaration's `resetDeadProbe` are
//! separate sections, so two decisions can both declare): the strike returns
//! [`Step::Yield`]. Declaring resets the strike record (where there is one),
//! marks the row offline unless it is provisioning and deletes the Redis
//! liveness key and URL cache ([`Workspace::declare_dead`]); the driver then
//! launches the restart request. With
//! [guard.recheck_restarting_before_declare] a cycle in flight, or one that
//! started since the decision began, turns the declaration into a skip
//! ([`SkipReason::RestartRecheck`]).

use crate::duration::Ms;
use crate::policy::{OnRecent, OnSettling, Policy, ProbeErrorMeaning, SettleFrom};
#[allow(unused_imports)] // named in the docs
use crate::restart::RestartSource;
use crate::workspace::{StrikeRecord, Workspace};

/// An `IsRunning` answer. Its words (serde, [`ProbeResult::as_str`]) are
/// the replay log's and the conformance vectors': `running`, `not_running`,
/// `error`, `error_not_running`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// `(true, nil)`.
    Running,
    /// `(false, nil)`: definitively not running.
    NotRunning,
    /// `(true, err)`: transient/transport error.
    Error,
    /// `(false, err)`, e.g. `ErrNoBackend`.
    ErrorNotRunning,
}

impl ProbeResult {
    /// The four answers.
    pub const ALL: [ProbeResult; 4] = [
        ProbeResult::Running,
        ProbeResult::NotRunning,
        ProbeResult::Error,
        ProbeResult::ErrorNotRunning,
    ];

    /// The answer's word.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeResult::Running => "running",
            ProbeResult::NotRunning => "not_running",
            ProbeResult::Error => "error",
            ProbeResult::ErrorNotRunning => "error_not_running",
        }
    }
}

impl std::fmt::Display for ProbeResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the driver feeds a running decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Input {
    /// The answer to the probe the decision asked for.
    Probe(ProbeResult),
    /// The instant asked for by [`Step::Wake`] has come.
    Timer,
    /// Take the next lock section after a [`Step::Yield`].
    Resume,
}

/// Which of the decision's timers a [`Step::Wake`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Step 6 (`decision.fresh_heartbeat`): the next look for a heartbeat
    /// newer than the restart, every `poll` until the deadline.
    HeartbeatPoll,
    /// The re-probe delay before the second `IsRunning`
    /// (`decision.reprobe_delay`).
    Reprobe,
}

/// What the decision asks of the driver next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Run `IsRunning` now and feed the answer.
    Probe,
    /// Feed [`Input::Timer`] at instant `at`, when `timer` is due.
    Wake {
        /// The instant the timer is due.
        at: Ms,
        /// Which of the decision's timers it is.
        timer: Timer,
    },
    /// Feed [`Input::Resume`]: the decision left one lock section and takes
    /// the next (after a strike at the threshold, before declaring).
    Yield,
    /// The decision is over.
    Done(Verdict),
}

/// Why the decision ended without acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// External-like runtime (no probe).
    ExternalRuntime,
    /// No provisioner configured (no probe).
    NoProvisioner,
    /// A restart cycle is running (the self-fire guard; no probe).
    Restarting,
    /// About to declare after its probes, the decision saw a restart in
    /// flight or begun since it started, and stood down
    /// ([guard.recheck_restarting_before_declare]; not upstream).
    RestartRecheck,
    /// About to declare, the decision found the row already `offline`:
    /// another declaration got there first and its restart request is on
    /// its way ([guard.skip_when_offline]; not upstream).
    AlreadyOffline,
}

impl std::fmt::Display for SkipReason {
    /// `external_runtime`, `no_provisioner`, `restarting`, `restart_recheck`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::ExternalRuntime => "external_runtime",
            SkipReason::NoProvisioner => "no_provisioner",
            SkipReason::Restarting => "restarting",
            SkipReason::RestartRecheck => "restart_recheck",
            SkipReason::AlreadyOffline => "already_offline",
        })
    }
}

/// Why the decision ended "not dead".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotDeadReason {
    /// A probe failed and the policy assumes alive.
    ProbeError,
    /// A probe said running (strikes were reset).
    Running,
    /// A strike was added below the threshold (the new count).
    Strike(u8),
    /// Inside the settle window and the new agent has not heartbeated yet
    /// (`settle.on_not_running = "wait_for_agent"`).
    Booting,
}

impl std::fmt::Display for NotDeadReason {
    /// `probe_error`, `running`, `strike_N`, `booting`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotDeadReason::ProbeError => f.write_str("probe_error"),
            NotDeadReason::Running => f.write_str("running"),
            NotDeadReason::Strike(n) => write!(f, "strike_{n}"),
            NotDeadReason::Booting => f.write_str("booting"),
        }
    }
}

/// How a decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// No probe was made.
    Skipped(SkipReason),
    /// Not dead.
    NotDead(NotDeadReason),
    /// Not dead: the request is enqueued (HTTP 202).
    Queued,
    /// Declared dead: the row offline (unless provisioning), the Redis
    /// liveness key and URL cache deleted, broadcast; the driver launches
    /// `RestartByID` on its own.
    Dead,
}

impl Verdict {
    /// The verdict's kind in one word: `skipped`, `not_dead`, `queued`, `dead`.
    pub fn outcome(self) -> &'static str {
        match self {
            Verdict::Skipped(_) => "skipped",
            Verdict::NotDead(_) => "not_dead",
            Verdict::Queued => "queued",
            Verdict::Dead => "dead",
        }
    }
}

/// What a decision is waiting for; returned by [`Decision::awaiting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Awaiting {
    /// [`Input::Probe`].
    Probe,
    /// [`Input::Timer`] at this instant.
    Timer(Ms),
    /// [`Input::Resume`].
    Resume,
    /// Nothing: the decision is over.
    Nothing,
}

impl std::fmt::Display for Awaiting {
    /// `probe`, `timer`, `resume`, `nothing`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Awaiting::Probe => "probe",
            Awaiting::Timer(_) => "timer",
            Awaiting::Resume => "resume",
            Awaiting::Nothing => "nothing",
        })
    }
}

/// An input the decision cannot take now; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnexpectedInput {
    /// What was given.
    pub got: Input,
    /// What the decision was waiting for.
    pub awaiting: Awaiting,
}

impl std::fmt::Display for UnexpectedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decision got {:?} while awaiting {:?}",
            self.got, self.awaiting
        )
    }
}

/// What the decision learned before probing (steps 4–6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Basis {
    /// Inside the settle window.
    pub settling: bool,
    /// A heartbeat within the recent window.
    pub recent: bool,
    /// A fresh post-restart heartbeat was seen during the wait.
    pub fresh: bool,
    /// `restartStartedAt` as the decision read it when it started (used by
    /// `guard.recheck_restarting_before_declare` to notice a restart that
    /// began while the decision was probing).
    pub restart_seen: Option<Ms>,
}

/// Which probe an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeNo {
    /// The first probe (step 7).
    First,
    /// The re-probe (step 9).
    Second,
}

/// Where a decision is; public so drivers can show what the proxy knew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Polling for a fresh heartbeat (step 6).
    WaitFresh {
        /// `settling` and `recent`, read before the wait.
        basis: Basis,
        /// `restartStartedAt` as read before the wait.
        since: Ms,
        /// The wait gives up at this instant.
        deadline: Ms,
        /// The next poll.
        wake: Ms,
    },
    /// Waiting for a probe answer.
    Probing {
        /// What the decision knows.
        basis: Basis,
        /// Which probe.
        which: ProbeNo,
    },
    /// Sleeping before the re-probe.
    Sleeping {
        /// What the decision knows.
        basis: Basis,
        /// The re-probe happens at this instant.
        wake: Ms,
    },
    /// Between the strike that reached the threshold and the declaration.
    Declaring {
        /// What the decision knows.
        basis: Basis,
    },
    /// Over.
    Done(Verdict),
}

impl Phase {
    /// What the decision knows, while it is not done.
    pub fn basis_mut(&mut self) -> Option<&mut Basis> {
        match self {
            Phase::WaitFresh { basis, .. }
            | Phase::Probing { basis, .. }
            | Phase::Sleeping { basis, .. }
            | Phase::Declaring { basis } => Some(basis),
            Phase::Done(_) => None,
        }
    }
}

/// Step 4 of the rule: is the workspace inside its settle window at `now`?
/// (Exported so drivers can show what the proxy knew; the decision itself
/// reads it only when it starts.)
pub fn settling(policy: &Policy, ws: &Workspace, now: Ms) -> bool {
    policy.decision.settle.is_some_and(|s| {
        let stamp = match s.measured_from {
            SettleFrom::RestartStarted => ws.restart.started_at(),
            SettleFrom::RestartFinished => ws.restart.finished_at(),
        };
        stamp.is_some_and(|t| now.saturating_sub(t) < s.window)
    })
}

/// Step 5 of the rule: is the last heartbeat recent at `now`?
pub fn recent_heartbeat(policy: &Policy, ws: &Workspace, now: Ms) -> bool {
    policy.decision.recent_heartbeat.is_some_and(|h| {
        ws.last_heartbeat
            .is_some_and(|t| now.saturating_sub(t) <= h.window)
    })
}

/// One failed request's run of the rule. See the module docs for the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Decision {
    phase: Phase,
    probes: u8,
}

impl Decision {
    /// The request failed at `now`: runs the rule's first steps (1–6: the
    /// guards, the pre-probe basis, the first look for a fresh heartbeat)
    /// against `ws` and returns the decision with what it asks of the
    /// driver first. A guard that skips returns a decision already over
    /// (`Step::Done`).
    pub fn start(policy: &Policy, ws: &mut Workspace, now: Ms) -> (Decision, Step) {
        let mut d = Decision {
            // Overwritten by every path of `begin`.
            phase: Phase::Done(Verdict::Skipped(SkipReason::Restarting)),
            probes: 0,
        };
        let step = d.begin(policy, ws, now);
        (d, step)
    }

    /// A decision in `phase` after `probes` probes (drivers that store
    /// decisions in another form, like the model checker's packed states,
    /// rebuild them with this).
    #[cfg_attr(not(feature = "checker"), allow(dead_code))]
    pub(crate) fn from_parts(phase: Phase, probes: u8) -> Self {
        Decision { phase, probes }
    }

    /// Where the decision is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Probes asked for so far.
    pub fn probes(&self) -> u8 {
        self.probes
    }

    /// The verdict, once over.
    pub fn verdict(&self) -> Option<Verdict> {
        match self.phase {
            Phase::Done(v) => Some(v),
            _ => None,
        }
    }

    /// What input the decision takes next.
    pub fn awaiting(&self) -> Awaiting {
        match self.phase {
            Phase::WaitFresh { wake, .. } | Phase::Sleeping { wake, .. } => Awaiting::Timer(wake),
            Phase::Probing { .. } => Awaiting::Probe,
            Phase::Declaring { .. } => Awaiting::Resume,
            Phase::Done(_) => Awaiting::Nothing,
        }
    }

    /// Feeds one input at `now`; see the module docs.
    pub fn step(
        &mut self,
        policy: &Policy,
        ws: &mut Workspace,
        now: Ms,
        input: Input,
    ) -> Result<Step, UnexpectedInput> {
        let unexpected = UnexpectedInput {
            got: input,
            awaiting: self.awaiting(),
        };
        let step = match (self.phase, input) {
            (
                Phase::WaitFresh {
                    basis,
                    since,
                    deadline,
                    wake,
                },
                Input::Timer,
            ) => {
                if now < wake {
                    Step::Wake {
                        at: wake,
                        timer: Timer::HeartbeatPoll,
                    }
                } else {
                    self.poll_fresh(policy, ws, now, basis, since, deadline)
                }
            }
            (Phase::Sleeping { basis, wake }, Input::Timer) => {
                if now < wake {
                    Step::Wake {
                        at: wake,
                        timer: Timer::Reprobe,
                    }
                } else {
                    self.probe(basis, ProbeNo::Second)
                }
            }
            (Phase::Probing { basis, which }, Input::Probe(result)) => {
                self.answer(policy, ws, now, basis, which, result)
            }
            (Phase::Declaring { basis }, Input::Resume) => self.declare(policy, ws, basis),
            _ => return Err(unexpected),
        };
        Ok(step)
    }

    fn finish(&mut self, verdict: Verdict) -> Step {
        self.phase = Phase::Done(verdict);
        Step::Done(verdict)
    }

    fn probe(&mut self, basis: Basis, which: ProbeNo) -> Step {
        self.probes = self.probes.saturating_add(1);
        self.phase = Phase::Probing { basis, which };
        Step::Probe
    }

    /// Steps 1–6; sets the phase on every path.
    fn begin(&mut self, policy: &Policy, ws: &mut Workspace, now: Ms) -> Step {
        let d = &policy.decision;
        if ws.facts.external_runtime {
            return self.finish(Verdict::Skipped(SkipReason::ExternalRuntime));
        }
        if !ws.facts.provisioner {
            return self.finish(Verdict::Skipped(SkipReason::NoProvisioner));
        }
        if d.skip_while_restarting && ws.restart.is_running() {
            return self.finish(Verdict::Skipped(SkipReason::Restarting));
        }
        let settling = settling(policy, ws, now);
        let recent = recent_heartbeat(policy, ws, now);
        let basis = Basis {
            settling,
            recent,
            fresh: false,
            restart_seen: ws.restart.started_at(),
        };
        let fresh_wait = d.settle.and_then(|s| s.fresh_wait);
        match (settling, fresh_wait, ws.restart.started_at()) {
            (true, Some(w), Some(since)) => {
                self.poll_fresh(policy, ws, now, basis, since, now.saturating_add(w.wait))
            }
            _ => self.probe(basis, ProbeNo::First),
        }
    }

    /// Step 6, one poll: `for now < deadline { query; sleep(poll) }`.
    fn poll_fresh(
        &mut self,
        policy: &Policy,
        ws: &Workspace,
        now: Ms,
        mut basis: Basis,
        since: Ms,
        deadline: Ms,
    ) -> Step {
        let poll = policy
            .decision
            .settle
            .and_then(|s| s.fresh_wait)
            .map_or(deadline, |w| w.poll);
        if now < deadline {
            let fresh = ws.url_registered && ws.last_heartbeat.is_some_and(|hb| hb > since);
            if !fresh {
                let wake = now.saturating_add(poll);
                self.phase = Phase::WaitFresh {
                    basis,
                    since,
                    deadline,
                    wake,
                };
                return Step::Wake {
                    at: wake,
                    timer: Timer::HeartbeatPoll,
                };
            }
            basis.fresh = true;
        }
        self.probe(basis, ProbeNo::First)
    }

    /// Steps 7–12 for one probe answer.
    fn answer(
        &mut self,
        policy: &Policy,
        ws: &mut Workspace,
        now: Ms,
        basis: Basis,
        which: ProbeNo,
        result: ProbeResult,
    ) -> Step {
        let d = &policy.decision;
        let running = match (result, d.probe_error) {
            (ProbeResult::Running, _) => true,
            (ProbeResult::NotRunning, _) => false,
            (ProbeResult::Error | ProbeResult::ErrorNotRunning, ProbeErrorMeaning::AssumeAlive) => {
                return self.finish(Verdict::NotDead(NotDeadReason::ProbeError))
            }
            (ProbeResult::Error, ProbeErrorMeaning::UseRunningFlag) => true,
            (ProbeResult::ErrorNotRunning, ProbeErrorMeaning::UseRunningFlag) => false,
        };
        if running {
            if d.strikes.is_some() {
                ws.strikes = None;
            }
            return self.finish(Verdict::NotDead(NotDeadReason::Running));
        }
        let heartbeat_green = basis.recent || basis.fresh;
        if which == ProbeNo::First && (heartbeat_green || basis.settling || d.reprobe_always) {
            if let Some(delay) = d.reprobe_delay {
                let wake = now.saturating_add(delay);
                self.phase = Phase::Sleeping { basis, wake };
                return Step::Wake {
                    at: wake,
                    timer: Timer::Reprobe,
                };
            }
        }
        if basis.settling && !basis.fresh {
            if let Some(s) = d.settle {
                if s.on_not_running == OnSettling::WaitForAgent {
                    return self.finish(Verdict::NotDead(NotDeadReason::Booting));
                }
            }
        }
        if heartbeat_green {
            if let Some(h) = d.recent_heartbeat {
                return match h.on_recent {
                    OnRecent::Enqueue => self.finish(Verdict::Queued),
                    OnRecent::Strike => self.strike(policy, ws, now, basis),
                };
            }
        }
        if basis.settling {
            if let Some(s) = d.settle {
                if s.on_not_running == OnSettling::Strike {
                    return self.strike(policy, ws, now, basis);
                }
            }
        }
        self.declare(policy, ws, basis)
    }

    fn strike(&mut self, policy: &Policy, ws: &mut Workspace, now: Ms, basis: Basis) -> Step {
        let Some(s) = policy.decision.strikes else {
            // Validation guarantees a [strikes] table wherever a rule strikes.
            return self.declare(policy, ws, basis);
        };
        let record = match ws.strikes {
            Some(r) if now.saturating_sub(r.first) <= s.window => StrikeRecord {
                count: r.count.saturating_add(1),
                first: r.first,
            },
            _ => StrikeRecord {
                count: 1,
                first: now,
            },
        };
        ws.strikes = Some(record);
        if record.count >= s.threshold {
            // `incrementDeadProbe` returns; the declaration takes its own lock.
            self.phase = Phase::Declaring { basis };
            Step::Yield
        } else {
            self.finish(Verdict::NotDead(NotDeadReason::Strike(record.count)))
        }
    }

    fn declare(&mut self, policy: &Policy, ws: &mut Workspace, basis: Basis) -> Step {
        if policy.decision.recheck_restarting
            && (ws.restart.is_running() || ws.restart.started_at() != basis.restart_seen)
        {
            return self.finish(Verdict::Skipped(SkipReason::RestartRecheck));
        }
        if policy.decision.skip_when_offline && ws.status == crate::workspace::Status::Offline {
            return self.finish(Verdict::Skipped(SkipReason::AlreadyOffline));
        }
        if policy.decision.strikes.is_some() {
            ws.strikes = None;
        }
        ws.declare_dead();
        self.finish(Verdict::Dead)
    }

    /// Shifts the decision's instants `dt` into the past while `now` stays
    /// put (the model checker's way of letting time pass). Future instants
    /// (wakes, deadlines) move closer; the remembered restart stamp saturates
    /// at `stamp_cap`.
    ///
    /// `stamp_cap` must be the workspace's own restart-stamp cap
    /// ([`crate::policy::AgeCaps::restart_stamp`]): `restart_seen` and
    /// `since` are past values of that stamp, so saturating them at the same
    /// floor keeps "equal to the workspace's stamp" exact for the re-check
    /// (equal stamps age into equal values) and "older than the workspace's
    /// stamp" exact as long as the newer stamp is younger than the cap, which
    /// [`crate::policy::Policy::age_caps_for`] guarantees for a decision whose
    /// time passes only on its own timers (its argument states the bound).
    pub fn age(&mut self, now: Ms, dt: Ms, stamp_cap: Ms) {
        let past = |t: &mut Ms| *t = t.saturating_sub(dt).max(now.saturating_sub(stamp_cap));
        if let Some(t) = self.phase.basis_mut().and_then(|b| b.restart_seen.as_mut()) {
            past(t);
        }
        match &mut self.phase {
            Phase::WaitFresh {
                since,
                deadline,
                wake,
                ..
            } => {
                past(since);
                *deadline = deadline.saturating_sub(dt);
                *wake = wake.saturating_sub(dt);
            }
            Phase::Sleeping { wake, .. } => *wake = wake.saturating_sub(dt),
            Phase::Probing { .. } | Phase::Declaring { .. } | Phase::Done(_) => {}
        }
    }
}
