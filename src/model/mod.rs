//! The world model: one workspace as upstream runs it — the proxy's shared
//! state (the real decision machine, restart coordinator and workspace
//! state), the truth about its container, and every actor upstream runs
//! beside the decision — explored by livecheck's engine ([`crate::engine`])
//! through stateright's [`Model`] interface.
//!
//! # The world (`reference/upstream-liveness.md`, "The wider world")
//!
//! - **Requests** arrive while a URL resolves (Redis cache, else the row's
//!   URL): with the preflight switched on, each is probed first (V0's rule,
//!   the same [`Decision`] machine with the preflight's policy); a failed
//!   forward runs the policy's decision. While the container is crashed a
//!   request arrives every `requests.interval`, otherwise at any tick (at most
//!   `max_in_flight` in flight).
//! - **Declarations** (a decision, the preflight, the health sweep, the TTL
//!   monitor) apply their effects ([`Workspace::declare_dead`]) and launch
//!   `RestartByID` on a goroutine: the debounce check and the coalescing are
//!   separate steps ([`Action::Check`], [`Action::Coalesce`]) that any other
//!   same-instant event may come between (a policy with
//!   `restart.atomic_request` makes them one). The reconciler only launches
//!   the restart. A strike at the threshold and the declaration are separate
//!   steps too ([`Action::Resume`]).
//! - **The coordinator's drain loop** ([`Coord`]): its top and its exit are
//!   steps of their own; each iteration runs a **restart job** ([`Job`]):
//!   the provision gate (one job at a time, shared with manual restarts),
//!   a 10 s sleep when the row is `provisioning`, the stop (the old
//!   container reports not-running), the row marked `provisioning` with no
//!   URL, the provision (Docker writes the new URL when the container
//!   starts). **Manual restarts** (Restart, Resume, provider switch) mark the
//!   row first and run a job without touching the coordinator: no stamp, no
//!   `running`.
//! - **The container** ([`Truth`]) is up, down (stopped or being
//!   provisioned), pending (a cloud instance), booting (reports running, the
//!   agent not registered) or crashed. A crash reads as the environment says
//!   (Docker's `unless-stopped` reports it running); Docker may restart it.
//!   The agent heartbeats every `heartbeat.interval`..`interval_max` (row
//!   online, liveness key refreshed if it exists) and registers after boot
//!   (URL, online, liveness key created).
//! - **Periodic detectors** (health sweep, reconciler) may run at any tick
//!   (an over-approximation of their period: more runs than upstream, never
//!   fewer); the **TTL monitor** fires when the liveness key expires.
//! - Goroutine steps, probe answers and a strike's declaration happen in the
//!   instant they become possible (no time passes before them), in any order
//!   among themselves and with other events of that instant.
//!
//! # Time
//!
//! The model has no absolute clock. `now` is the constant [`NOW`] and every
//! remembered instant is stored relative to it; an [`Action::Tick`] ages the
//! whole state by `dt` instead of advancing `now`. Each age saturates at the
//! largest threshold it is compared with ([`crate::policy::AgeCaps`] for the
//! proxy's stamps, the environment's ranges for the world's timers), so the
//! state space is finite and unbounded time is checked exactly.
//!
//! A tick is the environment's clock tick, shortened to land exactly on the
//! next decision wake-up or world threshold. Ticks are not allowed while
//! something is due at `now` ([`World::urgent`]).

pub mod note;
pub mod pack;
pub mod properties;
pub mod search;
mod step;

/// The model's fingerprint, recorded in every proof: bump it whenever a
/// change to the model (its actors, steps, properties or time) can change a
/// verdict, a counterexample or a state count, so a proof computed by an
/// older model is seen as stale and never reused (`livecheck diff`,
/// `check --baseline`).
pub const MODEL_VERSION: u32 = 3;
mod time;

use crate::decision::{Awaiting, Decision, ProbeResult};
use crate::duration::Ms;
use crate::environment::{CrashReads, Environment, Platform};
use crate::policy::{AgeCaps, Policy, ProbeErrorMeaning};
use crate::workspace::{Facts, Workspace};
use note::Narrate;
use serde::{Deserialize, Serialize};
use stateright::Model;

/// The model's constant "now" (milliseconds). Remembered instants are at or
/// before it (stamps) or after it (wake-ups).
pub const NOW: Ms = 1 << 40;

/// Most requests in flight at once.
pub const MAX_SLOTS: usize = 2;

/// The truth about the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Truth {
    /// Running; the agent is registered and heartbeats.
    Up,
    /// Stopped, removed, or being provisioned: `IsRunning` says not running.
    Down,
    /// Provisioned, still reporting not-running (a pending cloud instance).
    Pending {
        /// Time since it was provisioned, capped.
        elapsed: Ms,
    },
    /// Reports running; the agent has not registered yet.
    Booting {
        /// Time since it started reporting running, capped.
        elapsed: Ms,
    },
    /// Crashed: no agent. `IsRunning` answers as the environment says.
    Crashed,
}

/// What a truthful `IsRunning` says of a container, given what a crash reads
/// as.
pub fn truthful(t: Truth, crash_reads: CrashReads) -> ProbeResult {
    match t {
        Truth::Up | Truth::Booting { .. } => ProbeResult::Running,
        Truth::Down | Truth::Pending { .. } => ProbeResult::NotRunning,
        Truth::Crashed => match crash_reads {
            CrashReads::Running => ProbeResult::Running,
            CrashReads::NotRunning => ProbeResult::NotRunning,
        },
    }
}

/// A crash whose container has not been replaced by a restart cycle nor
/// registered again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Crash {
    /// Time since the crash, capped at the latency horizon.
    pub age: Ms,
    /// A detector has declared it dead since.
    pub declared: bool,
    /// Docker restarted the process itself since (`unless-stopped`): its
    /// detection clock stops there, as a restart cycle's stop stops it (what
    /// follows is a restart, not an undetected crash), but a declaration
    /// of the rebooting container still counts as one of a crashed
    /// container.
    pub repaired: bool,
}

impl Crash {
    /// Nobody has dealt with it yet: neither declared dead nor repaired by
    /// the platform (the detection property's and the latency measure's
    /// subject).
    pub fn open(&self) -> bool {
        !self.declared && !self.repaired
    }
}

/// What a request slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// The preflight check (the preflight's policy on the decision machine).
    Preflight(Decision),
    /// The preflight let the request through; its forward is under way.
    Forwarding,
    /// The failed forward's decision (`maybeMarkContainerDead`).
    Decision(Decision),
}

impl Slot {
    /// The decision machine in the slot, if any.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Slot::Preflight(d) | Slot::Decision(d) => Some(d),
            Slot::Forwarding => None,
        }
    }
}

/// Who launched a restart request: the coordinator treats the decision's
/// own requests apart (`restart.detector_bypasses_debounce`), and the
/// properties treat every detector's apart from a config PUT's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A request's decision.
    Decision = 0,
    /// Another detector: preflight, health sweep, reconciler, TTL monitor.
    Detector = 1,
    /// A config/file PUT.
    Config = 2,
}

impl Class {
    /// All classes, by index.
    pub const ALL: [Class; 3] = [Class::Decision, Class::Detector, Class::Config];

    /// A detector path (the properties' "the detector").
    pub fn is_detector(self) -> bool {
        self != Class::Config
    }

    /// The coordinator's source.
    pub fn source(self) -> crate::restart::RestartSource {
        match self {
            Class::Decision => crate::restart::RestartSource::Detector,
            Class::Detector => crate::restart::RestartSource::Other,
            Class::Config => crate::restart::RestartSource::FileWrite,
        }
    }
}

/// `RestartByID` goroutines in flight, counted by class: launched (before
/// their debounce check) and passed (checked, before coalescing). Requests of
/// one class in one phase are interchangeable, so counts lose nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct InFlight {
    /// Before the debounce check, by [`Class`].
    pub launched: [u8; 3],
    /// After it, before coalescing, by [`Class`].
    pub passed: [u8; 3],
}

impl InFlight {
    /// No request in flight.
    pub fn is_empty(&self) -> bool {
        *self == InFlight::default()
    }
}

/// Whose restart job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// The coordinator's drain loop (stamped).
    Coordinator,
    /// A manual restart (no stamp, no `running`).
    Manual,
}

/// Where a restart job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobPhase {
    /// It has the provision gate and starts now.
    Start,
    /// Sleeping because the row was `provisioning`.
    Sleep,
    /// Stopping the old container.
    Stop,
    /// Provisioning the new one.
    Provision,
}

/// The physical restart work holding the provision gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Job {
    /// Whose.
    pub owner: Owner,
    /// Where.
    pub phase: JobPhase,
    /// Time in this phase, capped.
    pub elapsed: Ms,
}

/// Where the coordinator's drain loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coord {
    /// No loop runs.
    Idle,
    /// At the top of an iteration ([`Action::LoopTop`] is due).
    Top,
    /// Its restart job is queued or running.
    Cycle,
    /// Nothing was pending: its exit is due ([`Action::LoopExit`]).
    Exit,
}

/// Bits of [`WorldState::events`]: what the last transition did.
pub mod event {
    /// A detector declared the container dead.
    pub const DECLARED: u8 = 1;
    /// ... while it had not crashed.
    pub const FALSE_DEAD: u8 = 2;
    /// ... inside a settle period on fewer than two not-running results.
    pub const LONE_FALSE: u8 = 4;
    /// A detector's restart was accepted inside a settle period.
    pub const LOOP: u8 = 8;
    /// A detector's restart was dropped (or lost) with no cycle coming for
    /// a container that is crashed, or running without its liveness key.
    pub const ORPHAN: u8 = 16;
    /// A detector declared a crashed container dead.
    pub const DEAD_CRASHED: u8 = 32;
    /// The agent of a detector-started restart registered.
    pub const RECOVERED: u8 = 64;
    /// A request decision's own restart request started a cycle inside a
    /// settle period that had seen fewer than two not-running results: the
    /// declaration that sent it was a lone-false one, and it really fires a
    /// restart (the #2929 record). Not a contract property: `explain
    /// 2929`'s target.
    pub const LONE_FIRE: u8 = 128;
}

/// One state of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorldState {
    /// The proxy's shared state for the workspace (heartbeat, row, Redis
    /// keys, strikes, restart coordinator), as the real machines keep it.
    pub ws: Workspace,
    /// Requests in flight, by slot (kept sorted).
    pub slots: [Option<Slot>; MAX_SLOTS],
    /// The container's truth.
    pub truth: Truth,
    /// The restart job holding the provision gate.
    pub job: Option<Job>,
    /// A job waiting for the gate.
    pub queued: Option<Owner>,
    /// The coordinator's drain loop.
    pub coord: Coord,
    /// `RestartByID` goroutines in flight.
    pub inflight: InFlight,
    /// Time since the agent's last heartbeat (world side), capped.
    pub hb_timer: Ms,
    /// While crashed: time since the last failed request (or the crash),
    /// capped at the request interval; 0 otherwise.
    pub req_timer: Ms,
    /// Spurious not-running answers left.
    pub spurious_left: u8,
    /// Transport errors left.
    pub errors_left: u8,
    /// Config PUTs left.
    pub config_left: u8,
    /// Manual restarts left.
    pub manual_left: u8,
    /// In a settle period (restart start to the new agent's registration):
    /// not-running probe results seen since that restart started (capped at 2).
    pub settle: Option<u8>,
    /// The running (or last) restart was started by a detector's request.
    pub cycle_by_detector: bool,
    /// An unrepaired crash, if any.
    pub crash: Option<Crash>,
    /// Time since the last multiple of the clock tick.
    pub offset: Ms,
    /// What the last transition did ([`event`] bits).
    pub events: u8,
}

/// How a probe is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The truth.
    Truthful,
    /// "Not running" although it runs (spends the spurious budget).
    Spurious,
    /// A transport error `(true, err)` (spends the error budget).
    TransportError,
}

/// A world transition. Proofs record their runs as these actions (serde's
/// snake_case form, e.g. `"tick"`, `{"probe": [0, "spurious"]}`) so
/// `explain --from` can rebuild a run without a search; renaming a variant
/// changes the model ([`MODEL_VERSION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Time passes (see the module docs).
    Tick,
    /// A request arrives and resolves a URL: its preflight (or its failed
    /// forward's decision) starts in this slot.
    Request(u8),
    /// A forward the preflight let through fails (`true`) or succeeds.
    Forward(u8, bool),
    /// The probe a slot's decision asked for is answered.
    Probe(u8, Answer),
    /// A slot's decision timer fires.
    Timer(u8),
    /// A slot's decision takes its next lock section.
    Resume(u8),
    /// The running agent heartbeats.
    Heartbeat,
    /// The booting agent registers.
    Register,
    /// The pending instance starts reporting running.
    ReportsRunning,
    /// The container crashes.
    Crash,
    /// Docker restarts the crashed container.
    DockerRestarts,
    /// A config PUT.
    ConfigPut,
    /// A manual restart (Restart, Resume, provider switch).
    ManualRestart,
    /// With `detectors.use_decision`: a detector runs the policy's decision
    /// in this free slot (no URL needed): the health sweep (Docker) or the
    /// reconciler (cloud) on an online row, the TTL monitor's key expiry at
    /// any status.
    DetectorDecides(u8),
    /// The health sweep looks at the workspace (its probe answered so).
    Sweep(Answer),
    /// The reconciler looks at the workspace (its probe answered so).
    Reconcile(Answer),
    /// The liveness key expires (the TTL monitor acts if switched on).
    KeyExpires,
    /// The URL cache's entry expires.
    CacheExpires,
    /// A `RestartByID` goroutine of this class takes its debounce check.
    Check(Class),
    /// A `RestartByID` goroutine of this class coalesces.
    Coalesce(Class),
    /// The drain loop's top.
    LoopTop,
    /// The drain loop's exit.
    LoopExit,
    /// The restart job moves on (starts, wakes, its stop or provision returns).
    JobStep,
}

/// A policy checked against an environment: the stateright [`Model`].
#[derive(Debug, Clone)]
pub struct World {
    /// The policy under check.
    pub policy: Policy,
    /// The environment it runs in.
    pub env: Environment,
    /// The preflight's rule, as a policy for the decision machine.
    preflight: Policy,
    /// The health sweep's rule, as a policy for the decision machine.
    sweep: Policy,
    caps: AgeCaps,
    /// Crash ages saturate here: the latency horizon.
    pub crash_cap: Ms,
    /// Field widths of packed states.
    layout: pack::Layout,
    /// Heartbeat timing can change an outcome: the policy reads heartbeats
    /// or the TTL monitor counts from them. Otherwise periodic heartbeats
    /// are not modelled.
    heartbeats_matter: bool,
    /// External events wait while an internal step of the instant is due
    /// (see [`World::internal_due`]); `false` interleaves them everywhere.
    pub settle_instants: bool,
    /// Outside a crash, the longest a container can go from any moment of a
    /// restart to its agent's registration (`None`: no bound; see
    /// [`World::new`]). A liveness key younger than the TTL minus this
    /// cannot expire before the registration renews it.
    outage_left_max: Option<Ms>,
}

/// The V0-style rule of the preflight and the health sweep as a policy for
/// the decision machine: one probe, an error lets the request through, a
/// not-running answer declares; the sweep has no `isRestarting` guard.
fn one_probe_rule(base: &Policy, name: &str, skip_while_restarting: bool) -> Policy {
    let mut p = base.clone();
    p.name = format!("{}:{name}", base.name);
    p.decision = crate::policy::DecisionPolicy {
        probe_error: ProbeErrorMeaning::AssumeAlive,
        recent_heartbeat: None,
        strikes: None,
        settle: None,
        reprobe_delay: None,
        reprobe_always: false,
        recheck_restarting: false,
        skip_while_restarting,
        skip_when_offline: false,
    };
    p
}

impl World {
    /// The model of `policy` in `env`.
    ///
    /// # Panics
    ///
    /// When a state of this model does not fit the explorer's words (only
    /// with windows of days: the layout needs more than 512 bits).
    pub fn new(policy: Policy, env: Environment) -> World {
        let mut caps = policy.age_caps_for(env.restart_cycle.max + env.stop.max);
        let ttl_declares = env.actors.ttl_monitor && !policy.detectors.use_decision;
        caps.liveness_key = if ttl_declares { env.liveness_ttl } else { 0 };
        // A crash's age also counts Docker's restart delay to its bound.
        let crash_cap = env.latency_horizon.max(env.restart_delay_max.unwrap_or(0));
        let d = &policy.decision;
        let heartbeats_matter = d.recent_heartbeat.is_some()
            || d.settle.is_some_and(|s| s.fresh_wait.is_some())
            || ttl_declares;
        // Restart jobs chain at most: two coordinator iterations (a second
        // only through requests that passed the debounce before the first's
        // stamp: once stamped, every request within the debounce is dropped,
        // and a job ends before the debounce does) and the manual restarts.
        // A detector exempt from the debounce can chain without end.
        let job_max = env.provisioning_sleep + env.stop.max + env.restart_cycle.max;
        let outage_left_max = (!policy.restart.detector_bypasses_debounce
            && job_max < policy.restart.debounce)
            .then(|| {
                (2 + Ms::from(env.manual_restarts)) * job_max
                    + env.boot_not_running.max
                    + env.boot_to_heartbeat.max
            });
        let mut world = World {
            settle_instants: false,
            outage_left_max,
            preflight: one_probe_rule(&policy, "preflight", true),
            sweep: one_probe_rule(&policy, "health-sweep", false),
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

    /// The Redis-TTL monitor declares on its own rule when the liveness key
    /// expires (the key's age is then tracked). With
    /// `detectors.use_decision` it runs the policy's decision instead, which
    /// the model's detector decisions at any tick cover
    /// ([`Action::DetectorDecides`]), so only the key's existence is kept.
    pub fn ttl_declares(&self) -> bool {
        self.env.actors.ttl_monitor && !self.policy.detectors.use_decision
    }

    /// Periodic heartbeats are modelled ([`Action::Heartbeat`]): the policy
    /// reads heartbeats or the TTL monitor counts from them.
    pub fn heartbeats_modelled(&self) -> bool {
        self.heartbeats_matter
    }

    /// Bits a packed state of this model takes.
    pub fn packed_bits(&self) -> u32 {
        self.layout.bits()
    }

    /// The single initial state: the agent is up and has just registered, no
    /// restart ever happened, budgets are full.
    pub fn initial(&self) -> WorldState {
        let mut ws = Workspace::new(Facts::default());
        ws.register(NOW);
        WorldState {
            ws,
            slots: [None; MAX_SLOTS],
            truth: Truth::Up,
            job: None,
            queued: None,
            coord: Coord::Idle,
            inflight: InFlight::default(),
            hb_timer: 0,
            req_timer: 0,
            spurious_left: self.env.spurious_not_running,
            errors_left: self.env.transport_errors,
            config_left: self.env.config_puts,
            manual_left: self.env.manual_restarts,
            settle: None,
            cycle_by_detector: false,
            crash: None,
            offset: 0,
            events: 0,
        }
    }

    /// The age caps the model uses for the proxy's stamps.
    pub fn caps(&self) -> &AgeCaps {
        &self.caps
    }

    /// The grid every time of this model lies on: the greatest common
    /// divisor of the policy's and the environment's durations (the clock
    /// only moves by differences of them, and every stamp, timer and
    /// deadline starts at one). Ages capped at a threshold plus one are off
    /// it, and the packing keeps caps exactly
    /// ([`crate::engine::pack::GridField`]); any other time off the grid is
    /// refused when a state is packed, never merged with another. 500 ms
    /// for the shipped models.
    pub fn time_step(&self) -> Ms {
        fn gcd(a: Ms, b: Ms) -> Ms {
            if b == 0 {
                a
            } else {
                gcd(b, a % b)
            }
        }
        let e = &self.env;
        let mut all = vec![
            e.tick,
            e.stop.min,
            e.stop.max,
            e.restart_cycle.min,
            e.restart_cycle.max,
            e.provisioning_sleep,
            e.boot_not_running.min,
            e.boot_not_running.max,
            e.boot_to_heartbeat.min,
            e.boot_to_heartbeat.max,
            e.heartbeat_interval,
            e.heartbeat_interval_max,
            e.restart_delay_max.unwrap_or(0),
            e.liveness_ttl,
            e.request_interval,
            e.detection_bound,
            e.latency_horizon,
        ];
        for p in [&self.policy, &self.preflight, &self.sweep] {
            let d = &p.decision;
            let fresh = d.settle.and_then(|s| s.fresh_wait);
            all.extend([
                d.recent_heartbeat.map_or(0, |h| h.window),
                d.strikes.map_or(0, |s| s.window),
                d.settle.map_or(0, |s| s.window),
                fresh.map_or(0, |w| w.wait),
                fresh.map_or(0, |w| w.poll),
                d.reprobe_delay.unwrap_or(0),
                p.restart.debounce,
                p.restart.file_write_drop,
            ]);
        }
        all.into_iter().fold(0, gcd).max(1)
    }

    /// The policy a slot's machine runs.
    pub fn slot_policy(&self, slot: &Slot) -> &Policy {
        match slot {
            Slot::Preflight(_) => &self.preflight,
            _ => &self.policy,
        }
    }

    /// The health sweep's rule as a policy.
    pub fn sweep_policy(&self) -> &Policy {
        &self.sweep
    }

    fn slots(&self) -> usize {
        usize::from(self.env.max_in_flight).min(MAX_SLOTS)
    }

    fn free_slot(&self, s: &WorldState) -> Option<usize> {
        s.slots[..self.slots()].iter().position(Option::is_none)
    }

    /// What a crashed container reads as, under this policy's probe: Docker's
    /// `restarting` state is running upstream; a policy may read it as not
    /// running (a proposed `IsRunning` change).
    pub fn crash_reads(&self) -> CrashReads {
        if self.policy.probe.restarting_is_not_running && self.env.platform == Platform::Docker {
            CrashReads::NotRunning
        } else {
            self.env.crash_reads
        }
    }

    /// The answers a probe may get in `s`.
    pub fn answers(&self, s: &WorldState) -> impl Iterator<Item = Answer> {
        let runs = truthful(s.truth, self.crash_reads()) == ProbeResult::Running;
        let spurious = runs && s.spurious_left > 0;
        let error = s.errors_left > 0;
        [
            Some(Answer::Truthful),
            spurious.then_some(Answer::Spurious),
            error.then_some(Answer::TransportError),
        ]
        .into_iter()
        .flatten()
    }

    /// The result of a probe answered `answer` in `s`.
    pub fn probe_result(&self, s: &WorldState, answer: Answer) -> ProbeResult {
        match answer {
            Answer::Truthful => truthful(s.truth, self.crash_reads()),
            Answer::Spurious => ProbeResult::NotRunning,
            Answer::TransportError => ProbeResult::Error,
        }
    }

    /// The transition function, telling what it does to `narrator` (the
    /// checker passes `()`; [`crate::trace`] collects the notes). `None`:
    /// the action changes nothing or is not possible.
    pub fn transition(
        &self,
        last: &WorldState,
        action: Action,
        narrator: &mut impl Narrate,
    ) -> Option<WorldState> {
        let mut s = *last;
        self.transition_into(last, action, narrator, &mut s)
            .then_some(s)
    }

    /// [`World::transition`] written into `s` (whatever it held): true when
    /// the action changes something. The search's hot path: a transition
    /// returned by value was copied once more (the state is 336 bytes).
    pub fn transition_into(
        &self,
        last: &WorldState,
        action: Action,
        narrator: &mut impl Narrate,
        s: &mut WorldState,
    ) -> bool {
        *s = *last;
        s.events = 0;
        if step::apply(self, s, action, narrator).is_none() {
            return false;
        }
        let before = s.slots;
        self.normalize(s);
        if narrator.listening() {
            let mut from = [0; MAX_SLOTS];
            let mut used = [false; MAX_SLOTS];
            for (j, slot) in s.slots.iter().enumerate() {
                if let Some(i) = (0..MAX_SLOTS).find(|&i| !used[i] && before[i] == *slot) {
                    used[i] = true;
                    from[j] = i;
                }
            }
            narrator.note(note::Note::Slots { from });
        }
        // Changed but for what the transition did (compared in place: a
        // copy of the whole state per transition showed in profiles).
        let events = s.events;
        s.events = last.events;
        let changed = *s != *last;
        s.events = events;
        changed
    }

    /// Requests may arrive now (the container is not crashed: on a clock
    /// tick; crashed: every request interval), a URL resolves and a slot is
    /// free. Without a preflight only failing requests matter.
    ///
    /// Nothing that launches a `RestartByID` (a request, a config PUT, the
    /// sweep, the reconciler) starts while such a goroutine is in flight:
    /// the goroutines of an instant run before its next launch. This loses
    /// no behaviour: launches in one instant commute with each other's
    /// sections (their order of launch changes nothing their sections read),
    /// and what a request, the sweep or the reconciler reads when it starts
    /// (the restart state, the heartbeat, the row's status for the sweep and
    /// reconciler) is the same just before a declaration as just after it,
    /// except that a declaration can take the row out of their view
    /// (offline, URL cache gone), which only removes what they would do.
    /// Without this rule one instant could launch requests without end.
    /// An internal step of this instant is due: a goroutine's next section
    /// (`RestartByID`'s check or coalescing, the drain loop's top or exit, a
    /// restart job taking the gate), a decision's next lock section, or a
    /// forward after a preflight.
    pub fn internal_due(&self, s: &WorldState) -> bool {
        !s.inflight.is_empty()
            || matches!(s.coord, Coord::Top | Coord::Exit)
            || s.job.is_some_and(|j| j.phase == JobPhase::Start)
            || s.slots.iter().flatten().any(|slot| match slot {
                Slot::Forwarding => true,
                Slot::Preflight(d) | Slot::Decision(d) => d.awaiting() == Awaiting::Resume,
            })
    }

    /// External events (a request arriving, a config PUT, a manual restart,
    /// a crash, Docker restarting a crashed container, the sweep, the
    /// reconciler, the URL cache expiring) may happen now.
    ///
    /// They never start while an internal step of the instant is due: the
    /// goroutines and lock sections an event sets off run to their next
    /// wait before the next external event of the same instant. That is a
    /// timing assumption (goroutine steps take microseconds; two external
    /// events within one clock tick are still apart), not a reduction;
    /// `tests/model_check.rs` checks on the smaller pairs that no verdict
    /// depends on it by exploring the full interleaving as well. Probe
    /// answers, timers, heartbeats and the container's own transitions
    /// interleave with internal steps freely. Without it, too, one instant
    /// could launch `RestartByID` goroutines without end (each request
    /// declaring and freeing its slot at once); the full interleaving keeps
    /// the one rule needed against that: nothing that launches a goroutine
    /// starts while one is in flight.
    fn external_allowed(&self, s: &WorldState) -> bool {
        if self.settle_instants {
            !self.internal_due(s)
        } else {
            s.inflight.is_empty()
        }
    }

    fn request_enabled(&self, s: &WorldState) -> Option<usize> {
        if !self.external_allowed(s) {
            return None;
        }
        let slot = self.free_slot(s)?;
        if !(s.ws.url_cached || s.ws.url_registered) {
            return None;
        }
        let arrives = match s.truth {
            Truth::Crashed => s.req_timer >= self.env.request_interval,
            Truth::Up => {
                s.offset == 0 && (self.env.failures_while_running || self.env.actors.preflight)
            }
            _ => s.offset == 0,
        };
        arrives.then_some(slot)
    }
}

impl Model for World {
    type State = WorldState;
    type Action = Action;

    fn init_states(&self) -> Vec<WorldState> {
        vec![self.initial()]
    }

    fn actions(&self, s: &WorldState, actions: &mut Vec<Action>) {
        let e = &self.env;
        for (i, slot) in s.slots.iter().enumerate() {
            let i = i as u8;
            match slot {
                None => {}
                Some(Slot::Forwarding) => {
                    if s.truth != Truth::Up || e.failures_while_running {
                        actions.push(Action::Forward(i, true));
                    }
                    if s.truth == Truth::Up {
                        actions.push(Action::Forward(i, false));
                    }
                }
                Some(Slot::Preflight(d) | Slot::Decision(d)) => match d.awaiting() {
                    Awaiting::Probe => {
                        actions.extend(self.answers(s).map(|a| Action::Probe(i, a)));
                    }
                    Awaiting::Timer(at) if at <= NOW => actions.push(Action::Timer(i)),
                    Awaiting::Resume => actions.push(Action::Resume(i)),
                    _ => {}
                },
            }
        }
        for c in Class::ALL {
            if s.inflight.launched[c as usize] > 0 {
                actions.push(Action::Check(c));
            }
            if s.inflight.passed[c as usize] > 0 {
                actions.push(Action::Coalesce(c));
            }
        }
        match s.coord {
            Coord::Top => actions.push(Action::LoopTop),
            Coord::Exit => actions.push(Action::LoopExit),
            _ => {}
        }
        if let Some(j) = s.job {
            if self.job_step_enabled(j) {
                actions.push(Action::JobStep);
            }
        }
        if let Some(slot) = self.request_enabled(s) {
            actions.push(Action::Request(slot as u8));
        }
        // The world's optional events happen on clock ticks.
        let on_tick = s.offset == 0;
        let external = on_tick && self.external_allowed(s);
        match s.truth {
            Truth::Up => {
                if self.heartbeats_matter && s.hb_timer >= e.heartbeat_interval {
                    actions.push(Action::Heartbeat);
                }
                if e.may_crash && external {
                    actions.push(Action::Crash);
                }
            }
            Truth::Crashed => {
                if e.restarted_by_docker && external {
                    actions.push(Action::DockerRestarts);
                }
            }
            Truth::Pending { elapsed } => {
                if elapsed >= e.boot_not_running.min {
                    actions.push(Action::ReportsRunning);
                }
            }
            Truth::Booting { elapsed } => {
                if elapsed >= e.boot_to_heartbeat.min {
                    actions.push(Action::Register);
                }
            }
            Truth::Down => {}
        }
        if external && s.config_left > 0 {
            actions.push(Action::ConfigPut);
        }
        if external && s.manual_left > 0 {
            actions.push(Action::ManualRestart);
        }
        let online = s.ws.status == crate::workspace::Status::Online;
        let own_rule = !self.policy.detectors.use_decision;
        if external && own_rule && e.actors.health_sweep && online {
            actions.extend(self.answers(s).map(Action::Sweep));
        }
        if external && own_rule && e.actors.reconciler && online {
            actions.extend(self.answers(s).map(Action::Reconcile));
        }
        // A detector that runs the policy's decision takes a free slot, as a
        // failed request's decision does (the model's slots bound the
        // decisions in flight, detectors' included): the health sweep and
        // the reconciler on an online row, the TTL monitor's key expiry at
        // any status (any tick: an over-approximation of the expiry's
        // instant, so the key's age need not be tracked).
        let periodic = (e.actors.health_sweep || e.actors.reconciler) && online;
        if external && !own_rule && (periodic || e.actors.ttl_monitor) {
            if let Some(slot) = self.free_slot(s) {
                actions.push(Action::DetectorDecides(slot as u8));
            }
        }
        if self.key_expired(s) {
            actions.push(Action::KeyExpires);
        }
        if external && s.ws.url_cached && !s.ws.url_registered {
            actions.push(Action::CacheExpires);
        }
        if !self.urgent(s) {
            actions.push(Action::Tick);
        }
    }

    fn next_state(&self, last: &WorldState, action: Action) -> Option<WorldState> {
        self.transition(last, action, &mut ())
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

    fn next_state_into(&self, last: &WorldState, action: Action, next: &mut WorldState) -> bool {
        self.transition_into(last, action, &mut (), next)
    }

    fn bits(&self) -> u32 {
        self.layout.bits()
    }

    fn pack(&self, s: &WorldState, out: &mut [u64]) {
        self.pack_state(s, out)
    }

    fn unpack(&self, words: &[u64]) -> WorldState {
        self.unpack_state(words)
    }

    /// The age of an undeclared crash: its largest value is the worst-case
    /// detection latency (up to the latency horizon).
    fn measure(&self, s: &WorldState) -> Option<u64> {
        s.crash.filter(Crash::open).map(|c| c.age)
    }

    /// The fields in which a larger value dominates.
    ///
    /// - The budgets: spurious answers, transport errors, config PUTs and
    ///   manual restarts left; a state with more of one left dominates.
    ///   Exact: a budget is read only to allow one more choice (an answer, a
    ///   PUT, a restart; never whether time may pass), and the one
    ///   normalisation that looks at a budget (the file-write stamp
    ///   forgotten once no config PUT is left) only removes what a config
    ///   PUT would read; so the richer state can do every step the poorer
    ///   one can, with the same events, into a state that again has at least
    ///   its budgets.
    /// - In a settle period, the complement of its count of not-running
    ///   results (`2 - count`): a state that has seen fewer dominates. The
    ///   count is read only as `count < 2`, which marks a declaration or a
    ///   restart as lone-false ([`event::LONE_FALSE`], [`event::LONE_FIRE`]),
    ///   never by a step's enabling or effect; a not-running result raises
    ///   both counts by one (capped), a new restart or a registration sets
    ///   both alike. So the state with the smaller count does every step the
    ///   other does, sets every event the other sets (and perhaps a
    ///   lone-false one more), into a state that again has the smaller count.
    ///
    /// Not a dominance field: the URL cache, although a cached URL only adds
    /// requests, because a crashed container's request is due
    /// ([`World::urgent`]): the cached state cannot let time pass where the
    /// other can. `tests/reductions.rs` checks every raise one step at a
    /// time on reachable states.
    fn budgets(&self) -> Vec<crate::engine::pack::Field> {
        self.layout.budget_fields()
    }
}
