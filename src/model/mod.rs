//! The world model: one workspace's proxy-side state (the real decision
//! machine and restart coordinator) plus the truth about its container,
//! driven by the stateright model checker.
//!
//! # Time
//!
//! The model has no absolute clock. `now` is the constant [`NOW`] and every
//! remembered instant is stored relative to it; a [`Action::Tick`] ages the
//! whole state by `dt` instead of advancing `now`. Each age saturates at the
//! largest threshold it is compared with ([`crate::policy::AgeCaps`] for the
//! proxy's stamps, the environment's ranges for the world's timers), so the
//! state space is finite and unbounded time is checked exactly.
//!
//! A tick is the environment's clock tick, shortened to land exactly on the
//! next decision wake-up or world threshold. Ticks are not allowed while
//! something is due at `now` (a probe answer, a timer, a heartbeat, the end
//! of a restart cycle, a request while crashed): due events happen first.
//!
//! # What the world does
//!
//! The container is [`Truth::Up`] (running, heartbeating every interval),
//! [`Truth::Crashed`], or in a restart: [`Truth::Cycling`] (the coordinator's
//! cycle is in flight), [`Truth::Pending`] (the cycle returned, the new
//! container/instance still reports not-running), [`Truth::Starting`]
//! (reports running; the agent has not yet registered). Requests fail (while
//! not running, or while running if the environment says so) and each runs
//! the real [`Decision`]; probes answer truthfully, or falsely / with a
//! transport error within the environment's budgets.

pub mod pack;
pub mod properties;
pub mod search;

use crate::decision::{Decision, Input, ProbeResult, Step, Verdict};
use crate::duration::Ms;
use crate::environment::Environment;
use crate::policy::{AgeCaps, Policy};
use crate::restart::{CycleEnd, RestartOutcome, RestartSource};
use crate::workspace::{Facts, Workspace};
use stateright::Model;

/// The model's constant "now" (milliseconds). Remembered instants are at or
/// before it (stamps) or after it (wake-ups).
pub const NOW: Ms = 1 << 40;

/// Most decisions in flight at once.
pub const MAX_SLOTS: usize = 2;

/// The truth about the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Truth {
    /// Running; the agent heartbeats.
    Up,
    /// Crashed: not running, no heartbeats, until something restarts it.
    Crashed,
    /// A restart cycle is in flight (`elapsed` since it started).
    Cycling {
        /// Time since the cycle (or its loop) started, capped.
        elapsed: Ms,
    },
    /// The cycle returned; the container/instance reports not-running.
    Pending {
        /// Time since the cycle returned, capped.
        elapsed: Ms,
    },
    /// Reports running; the agent has not registered yet.
    Starting {
        /// Time since it started reporting running, capped.
        elapsed: Ms,
    },
}

impl Truth {
    /// What a truthful `IsRunning` says.
    pub fn reports_running(self) -> bool {
        matches!(self, Truth::Up | Truth::Starting { .. })
    }
}

/// An unrepaired crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crash {
    /// Time since the crash, capped just above the detection bound.
    pub age: Ms,
    /// The detector has declared it dead since.
    pub declared: bool,
}

/// Bits of [`WorldState::events`]: what the last transition did.
pub mod event {
    /// The detector declared the container dead.
    pub const DECLARED: u8 = 1;
    /// ... while it had not crashed.
    pub const FALSE_DEAD: u8 = 2;
    /// ... inside a settle period on fewer than two not-running results.
    pub const LONE_FALSE: u8 = 4;
    /// ... and its restart was accepted inside a settle period.
    pub const LOOP: u8 = 8;
    /// ... and its restart was dropped with no cycle in flight.
    pub const ORPHAN: u8 = 16;
    /// ... while it had crashed.
    pub const DEAD_CRASHED: u8 = 32;
    /// The agent of a detector-started restart heartbeated.
    pub const RECOVERED: u8 = 64;
}

/// One state of the world.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorldState {
    /// The proxy's shared state for the workspace (heartbeat, URL, strikes,
    /// restart coordinator), as the real machines keep it.
    pub ws: Workspace,
    /// Decisions in flight, by slot.
    pub slots: [Option<Decision>; MAX_SLOTS],
    /// The container's truth.
    pub truth: Truth,
    /// Time since the agent's last heartbeat (world side), capped at the interval.
    pub hb_timer: Ms,
    /// While crashed: time since the last failed request (or the crash),
    /// capped at the request interval. Outside a crash requests arrive
    /// freely (at most `max_in_flight` at once) and this stays 0.
    pub req_timer: Ms,
    /// Spurious not-running answers left.
    pub spurious_left: u8,
    /// Transport errors left.
    pub errors_left: u8,
    /// Config PUTs left.
    pub config_left: u8,
    /// In a settle period (restart start to the new agent's first heartbeat):
    /// not-running probe results seen since that restart started (capped at 2).
    pub settle: Option<u8>,
    /// The running (or last) restart cycle was started by the detector.
    pub cycle_by_detector: bool,
    /// An unrepaired crash, if any.
    pub crash: Option<Crash>,
    /// Time since the last multiple of the clock tick (decision timers can
    /// fall between ticks; the world's own optional events happen on them).
    pub offset: Ms,
    /// What the last transition did ([`event`] bits).
    pub events: u8,
}

/// How a probe is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The truth.
    Truthful,
    /// "Not running" although it runs (spends the spurious budget).
    Spurious,
    /// A transport error `(true, err)` (spends the error budget).
    TransportError,
}

/// A world transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Time passes (see the module docs).
    Tick,
    /// A request fails; its decision starts in this slot.
    RequestFails(u8),
    /// The probe a decision asked for is answered.
    Probe(u8, Answer),
    /// A decision's timer fires.
    Timer(u8),
    /// The running agent heartbeats.
    Heartbeat,
    /// The restart cycle returns.
    CycleReturns,
    /// The new container/instance starts reporting running.
    ReportsRunning,
    /// The new agent registers (first heartbeat, URL set).
    AgentRegisters,
    /// The container crashes.
    Crash,
    /// A config PUT asks for a restart (file-write path).
    ConfigPut,
}

/// A policy checked against an environment: the stateright [`Model`].
#[derive(Debug, Clone)]
pub struct World {
    /// The policy under check.
    pub policy: Policy,
    /// The environment it runs in.
    pub env: Environment,
    caps: AgeCaps,
    /// Crash ages saturate here (just above the detection bound).
    pub crash_cap: Ms,
    /// Field widths of packed states.
    layout: pack::Layout,
    /// The policy reads heartbeats (recent window or fresh wait): only then
    /// are periodic heartbeats modelled.
    heartbeats_matter: bool,
}

impl World {
    /// The model of `policy` in `env`.
    pub fn new(policy: Policy, env: Environment) -> World {
        let caps = policy.age_caps_for(env.restart_cycle.max);
        let crash_cap = env.detection_bound + env.tick;
        let d = &policy.decision;
        let heartbeats_matter =
            d.recent_heartbeat.is_some() || d.settle.is_some_and(|s| s.fresh_wait.is_some());
        let mut world = World {
            heartbeats_matter,
            policy,
            env,
            caps,
            crash_cap,
            layout: pack::Layout::empty(),
        };
        world.layout = pack::Layout::of(&world);
        assert!(
            world.layout.bits() as usize <= crate::engine::pack::MAX_WORDS * 64,
            "a state of {} × {} needs {} bits",
            world.policy.name,
            world.env.name,
            world.layout.bits()
        );
        world
    }

    /// Bits a packed state of this model takes.
    pub fn packed_bits(&self) -> u32 {
        self.layout.bits()
    }

    /// The single initial state: the agent is up and has just heartbeated, no
    /// restart ever happened, budgets are full.
    pub fn initial(&self) -> WorldState {
        let mut ws = Workspace::new(Facts::default());
        ws.heartbeat(NOW);
        WorldState {
            ws,
            slots: [None; MAX_SLOTS],
            truth: Truth::Up,
            hb_timer: 0,
            req_timer: 0,
            spurious_left: self.env.spurious_not_running,
            errors_left: self.env.transport_errors,
            config_left: self.env.config_puts,
            settle: None,
            cycle_by_detector: false,
            crash: None,
            offset: 0,
            events: 0,
        }
    }

    fn slots(&self) -> usize {
        usize::from(self.env.max_in_flight).min(MAX_SLOTS)
    }

    fn free_slot(&self, s: &WorldState) -> Option<usize> {
        s.slots[..self.slots()].iter().position(Option::is_none)
    }

    /// Something must happen at `now` before time may pass.
    pub fn urgent(&self, s: &WorldState) -> bool {
        let e = &self.env;
        let decision_due = s.slots.iter().flatten().any(|d| match d.awaiting() {
            crate::decision::Awaiting::Probe => true,
            crate::decision::Awaiting::Timer(at) => at <= NOW,
            _ => false,
        });
        decision_due
            || match s.truth {
                Truth::Up => self.heartbeats_matter && s.hb_timer >= e.heartbeat_interval,
                Truth::Crashed => s.req_timer >= e.request_interval && self.free_slot(s).is_some(),
                Truth::Cycling { elapsed } => elapsed >= e.restart_cycle.max,
                Truth::Pending { elapsed } => elapsed >= e.boot_not_running.max,
                Truth::Starting { elapsed } => elapsed >= e.boot_to_heartbeat.max,
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
            Truth::Up if self.heartbeats_matter => upto(s.hb_timer, e.heartbeat_interval),
            Truth::Up => {}
            Truth::Crashed => {}
            Truth::Cycling { elapsed } => {
                upto(elapsed, e.restart_cycle.min);
                upto(elapsed, e.restart_cycle.max);
            }
            Truth::Pending { elapsed } => {
                upto(elapsed, e.boot_not_running.min);
                upto(elapsed, e.boot_not_running.max);
            }
            Truth::Starting { elapsed } => {
                upto(elapsed, e.boot_to_heartbeat.min);
                upto(elapsed, e.boot_to_heartbeat.max);
            }
        }
        if s.truth == Truth::Crashed {
            upto(s.req_timer, e.request_interval);
        }
        for d in s.slots.iter().flatten() {
            if let crate::decision::Awaiting::Timer(at) = d.awaiting() {
                if at > NOW {
                    dt = dt.min(at - NOW);
                }
            }
        }
        dt
    }

    /// The age caps the model uses for the proxy's stamps.
    pub fn caps(&self) -> &AgeCaps {
        &self.caps
    }

    fn age(&self, s: &mut WorldState, dt: Ms) {
        let e = &self.env;
        s.ws.age(NOW, dt, &self.caps);
        for d in s.slots.iter_mut().flatten() {
            d.age(NOW, dt, self.caps.restart_stamp);
        }
        s.offset = (s.offset + dt) % e.tick;
        let add = |v: Ms, cap: Ms| v.saturating_add(dt).min(cap);
        s.hb_timer = add(s.hb_timer, e.heartbeat_interval);
        s.req_timer = add(s.req_timer, e.request_interval);
        s.truth = match s.truth {
            Truth::Cycling { elapsed } => Truth::Cycling {
                elapsed: add(elapsed, e.restart_cycle.max),
            },
            Truth::Pending { elapsed } => Truth::Pending {
                elapsed: add(elapsed, e.boot_not_running.max),
            },
            Truth::Starting { elapsed } => Truth::Starting {
                elapsed: add(elapsed, e.boot_to_heartbeat.max),
            },
            t => t,
        };
        if let Some(c) = &mut s.crash {
            c.age = add(c.age, self.crash_cap);
        }
        if s.truth != Truth::Up {
            s.hb_timer = 0;
        }
    }

    /// Erases what no future transition can read, so states that differ
    /// only there are one state: the request timer outside a crash (requests
    /// arrive freely then), the world's heartbeat timer when the policy never
    /// reads heartbeats, the file-write stamp once no config PUT is left, and
    /// who started the last cycle once its settle period is over.
    fn normalize(&self, s: &mut WorldState) {
        if s.truth != Truth::Crashed {
            s.req_timer = 0;
        }
        // Decisions are interchangeable: keep them sorted so that two states
        // differing only in which slot holds which decision are one.
        if s.slots[1..].iter().any(Option::is_some) {
            s.slots.sort_unstable_by_key(slot_key);
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
    }

    fn begin_cycle(&self, s: &mut WorldState, by_detector: bool) {
        s.truth = Truth::Cycling { elapsed: 0 };
        s.settle = Some(0);
        s.crash = None;
        s.cycle_by_detector = by_detector;
    }

    /// Applies a decision's step; a finished decision frees its slot and its
    /// verdict acts on the world.
    fn after_step(&self, s: &mut WorldState, slot: usize, step: Step) {
        let Step::Done(verdict) = step else { return };
        s.slots[slot] = None;
        let Verdict::Dead(restart) = verdict else {
            return;
        };
        s.events |= event::DECLARED;
        if s.truth == Truth::Crashed {
            s.events |= event::DEAD_CRASHED;
        } else {
            s.events |= event::FALSE_DEAD;
        }
        if s.settle.is_some_and(|n| n < 2) {
            s.events |= event::LONE_FALSE;
        }
        if restart.accepted() && s.settle.is_some() {
            s.events |= event::LOOP;
        }
        if let Some(c) = &mut s.crash {
            c.declared = true;
        }
        match restart {
            RestartOutcome::Started => self.begin_cycle(s, true),
            RestartOutcome::Coalesced => s.cycle_by_detector = true,
            RestartOutcome::Dropped(_) => {
                if !s.ws.restart.is_running() {
                    s.events |= event::ORPHAN;
                }
            }
        }
    }

    fn step_slot(&self, s: &mut WorldState, slot: usize, input: Input) -> Option<()> {
        let mut d = s.slots.get(slot).copied().flatten()?;
        let step = d.step(&self.policy, &mut s.ws, NOW, input).ok()?;
        s.slots[slot] = Some(d);
        self.after_step(s, slot, step);
        Some(())
    }
}

/// Sort key for decision slots: empty slots last, then by content.
fn slot_key(d: &Option<Decision>) -> (bool, Option<Decision>) {
    (d.is_none(), *d)
}

impl Model for World {
    type State = WorldState;
    type Action = Action;

    fn init_states(&self) -> Vec<WorldState> {
        vec![self.initial()]
    }

    fn actions(&self, s: &WorldState, actions: &mut Vec<Action>) {
        let e = &self.env;
        for (i, d) in s.slots.iter().enumerate() {
            let Some(d) = d else { continue };
            match d.awaiting() {
                crate::decision::Awaiting::Probe => {
                    actions.push(Action::Probe(i as u8, Answer::Truthful));
                    if s.truth.reports_running() && s.spurious_left > 0 {
                        actions.push(Action::Probe(i as u8, Answer::Spurious));
                    }
                    if s.errors_left > 0 {
                        actions.push(Action::Probe(i as u8, Answer::TransportError));
                    }
                }
                crate::decision::Awaiting::Timer(at) if at <= NOW => {
                    actions.push(Action::Timer(i as u8))
                }
                _ => {}
            }
        }
        // The world's optional events happen on clock ticks.
        let on_tick = s.offset == 0;
        if let Some(i) = self.free_slot(s) {
            let arrives = match s.truth {
                // While crashed, failed requests arrive every interval.
                Truth::Crashed => s.req_timer >= e.request_interval,
                Truth::Up => on_tick && e.failures_while_running,
                _ => on_tick,
            };
            if arrives {
                actions.push(Action::RequestFails(i as u8));
            }
        }
        match s.truth {
            Truth::Up => {
                if self.heartbeats_matter && s.hb_timer >= e.heartbeat_interval {
                    actions.push(Action::Heartbeat);
                }
                if e.may_crash && on_tick {
                    actions.push(Action::Crash);
                }
            }
            Truth::Crashed => {}
            Truth::Cycling { elapsed } => {
                if elapsed >= e.restart_cycle.min {
                    actions.push(Action::CycleReturns);
                }
            }
            Truth::Pending { elapsed } => {
                if elapsed >= e.boot_not_running.min {
                    actions.push(Action::ReportsRunning);
                }
            }
            Truth::Starting { elapsed } => {
                if elapsed >= e.boot_to_heartbeat.min {
                    actions.push(Action::AgentRegisters);
                }
            }
        }
        if s.config_left > 0 && on_tick {
            actions.push(Action::ConfigPut);
        }
        if !self.urgent(s) {
            actions.push(Action::Tick);
        }
    }

    fn next_state(&self, last: &WorldState, action: Action) -> Option<WorldState> {
        let mut s = last.clone();
        s.events = 0;
        match action {
            Action::Tick => {
                let dt = self.tick_len(&s);
                self.age(&mut s, dt);
            }
            Action::RequestFails(slot) => {
                let slot = usize::from(slot);
                if s.slots.get(slot)?.is_some() {
                    return None;
                }
                s.req_timer = 0;
                s.slots[slot] = Some(Decision::new());
                self.step_slot(&mut s, slot, Input::Start)?;
            }
            Action::Probe(slot, answer) => {
                let result = match answer {
                    Answer::Truthful if s.truth.reports_running() => ProbeResult::Running,
                    Answer::Truthful => ProbeResult::NotRunning,
                    Answer::Spurious => {
                        s.spurious_left = s.spurious_left.checked_sub(1)?;
                        ProbeResult::NotRunning
                    }
                    Answer::TransportError => {
                        s.errors_left = s.errors_left.checked_sub(1)?;
                        ProbeResult::Error
                    }
                };
                if result == ProbeResult::NotRunning {
                    if let Some(n) = &mut s.settle {
                        *n = (*n + 1).min(2);
                    }
                }
                self.step_slot(&mut s, usize::from(slot), Input::Probe(result))?;
            }
            Action::Timer(slot) => self.step_slot(&mut s, usize::from(slot), Input::Timer)?,
            Action::Heartbeat => {
                s.ws.heartbeat(NOW);
                s.hb_timer = 0;
            }
            Action::CycleReturns => match s.ws.restart_cycle_finished(NOW) {
                CycleEnd::Idle => s.truth = Truth::Pending { elapsed: 0 },
                CycleEnd::Looped => {
                    let by_detector = s.cycle_by_detector;
                    self.begin_cycle(&mut s, by_detector);
                }
            },
            Action::ReportsRunning => s.truth = Truth::Starting { elapsed: 0 },
            Action::AgentRegisters => {
                s.truth = Truth::Up;
                s.ws.heartbeat(NOW);
                s.hb_timer = 0;
                if s.settle.take().is_some() && s.cycle_by_detector {
                    s.events |= event::RECOVERED;
                }
            }
            Action::Crash => {
                s.truth = Truth::Crashed;
                s.req_timer = 0;
                s.crash = Some(Crash {
                    age: 0,
                    declared: false,
                });
            }
            Action::ConfigPut => {
                s.config_left = s.config_left.checked_sub(1)?;
                match s
                    .ws
                    .request_restart(&self.policy.restart, NOW, RestartSource::FileWrite)
                {
                    RestartOutcome::Started => self.begin_cycle(&mut s, false),
                    RestartOutcome::Coalesced => s.cycle_by_detector = false,
                    RestartOutcome::Dropped(_) => {}
                }
            }
        }
        self.normalize(&mut s);
        let mut unchanged = last.clone();
        unchanged.events = 0;
        if s == unchanged {
            return None;
        }
        Some(s)
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        properties::all(self)
    }

    fn format_action(&self, action: &Action) -> String {
        format!("{action:?}")
    }
}

impl crate::engine::Packable for World {
    fn words(&self) -> usize {
        crate::engine::pack::words_for(self.layout.bits())
    }

    fn pack(&self, s: &WorldState, out: &mut [u64]) {
        self.pack_state(s, out)
    }

    fn unpack(&self, words: &[u64]) -> WorldState {
        self.unpack_state(words)
    }

    /// The age of an undeclared crash: its largest value is the worst-case
    /// detection latency (up to the cap just above the bound).
    fn measure(&self, s: &WorldState) -> Option<u64> {
        s.crash.filter(|c| !c.declared).map(|c| c.age)
    }
}
