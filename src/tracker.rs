//! The thread-safe tracker: the decision machine and the restart coordinator
//! for a real, multi-threaded proxy.
//!
//! [`Tracker`] keeps one [`Workspace`] per workspace id behind its own mutex
//! (the mutex comes from [`crate::sync`]: std normally, loom under
//! `--cfg loom`). A failed request gets a [`Request`] handle that the caller
//! owns; it holds the request's [`Decision`] (a small `Copy` value) and a
//! reference to its workspace. Every call — begin, probe answer, timer,
//! heartbeat, restart event — locks that one workspace, feeds the one decision
//! machine ([`Decision::step`]) or the restart coordinator with the *current*
//! shared state, and unlocks. The caller performs the I/O (the `IsRunning`
//! probe, the sleep until a [`Step::Wake`], the restart cycle) outside any
//! lock and brings the answer back.
//!
//! ```
//! use livecheck::tracker::Tracker;
//! use livecheck::restart::{LoopTop, RestartOutcome, RestartSource};
//! use livecheck::{Policy, ProbeResult, Step, Verdict};
//! # let policy = Policy::load(std::path::Path::new(concat!(
//! #     env!("CARGO_MANIFEST_DIR"), "/models/policies/v0-pre-2931.toml"))).unwrap();
//! let tracker = Tracker::new(policy);
//! let (mut req, mut step) = tracker.begin("ws-1", 1_000);
//! let mut now = 1_000;
//! while let Step::Probe | Step::Wake { .. } = step {
//!     step = match step {
//!         Step::Probe => req.probe_answer(now, ProbeResult::NotRunning).unwrap(),
//!         Step::Wake { at, .. } => { now = at; req.timer(now).unwrap() }
//!         _ => unreachable!(),
//!     };
//! }
//! // v0: a lone "not running" declares dead; the declaration launches
//! // RestartByID, which the caller runs on its own thread (two lock sections).
//! assert_eq!(step, Step::Done(Verdict::Dead));
//! let ws = req.workspace();
//! assert_eq!(ws.restart_by_id(now, RestartSource::Detector), RestartOutcome::Started);
//! // The caller runs the drain loop: one cycle per `Run`, then `exit`.
//! while ws.loop_top(now) == LoopTop::Run { /* stop, provision */ }
//! ws.loop_exit(now);
//! assert_eq!(tracker.view("ws-1").unwrap().counters.restarts_started, 1);
//! ```

use crate::decision::{Awaiting, Decision, Input, ProbeResult, Step, UnexpectedInput, Verdict};
use crate::duration::Ms;
use crate::policy::Policy;
use crate::restart::{DropReason, LoopTop, RestartOutcome, RestartSource};
use crate::sync::{lock, Mutex};
use crate::workspace::{Facts, Workspace};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Counts of what the tracker applied to one workspace, for "no event was
/// lost" checks and for metrics. Every counter only grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Counters {
    /// Heartbeats applied.
    pub heartbeats: u64,
    /// Decisions begun (failed requests that ran the rule).
    pub decisions: u64,
    /// Decisions that ended in a declaration of death.
    pub declarations: u64,
    /// Restart cycles started: a [`WorkspaceRef::restart_by_id`] the
    /// coordinator answered [`RestartOutcome::Started`], a drain-loop
    /// iteration after the first ([`WorkspaceRef::loop_top`] answering
    /// [`LoopTop::Run`] again), and [`WorkspaceRef::observe_restart_started`].
    pub restarts_started: u64,
}

/// A copy of one workspace's tracked state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspaceView {
    /// The shared state every decision of the workspace reads.
    pub state: Workspace,
    /// The workspace clock: the largest `now` of any accepted call.
    pub clock: Ms,
    /// What was applied so far.
    pub counters: Counters,
}

/// What one workspace's mutex guards.
#[derive(Debug)]
struct Slot {
    ws: Workspace,
    clock: Ms,
    counters: Counters,
}

impl Slot {
    /// The clamped instant for a call carrying `now` (not yet recorded).
    fn at(&self, now: Ms) -> Ms {
        now.max(self.clock)
    }

    /// Counts a restart cycle that began (the workspace cleared its URL).
    fn cycle_started(&mut self) {
        self.counters.restarts_started += 1;
    }

    /// Records what a decision step did to the workspace.
    fn after_step(&mut self, step: Step) {
        if step == Step::Done(Verdict::Dead) {
            self.counters.declarations += 1;
        }
    }

    fn view(&self) -> WorkspaceView {
        WorkspaceView {
            state: self.ws,
            clock: self.clock,
            counters: self.counters,
        }
    }
}

/// One workspace: its id, the policy, and its mutex-guarded state. Aligned
/// to two cache lines so threads on different workspaces never share one.
#[derive(Debug)]
#[repr(align(128))]
struct Cell {
    id: Box<str>,
    policy: Arc<Policy>,
    slot: Mutex<Slot>,
}

impl Cell {
    fn new(id: &str, policy: Arc<Policy>) -> Self {
        Cell {
            id: id.into(),
            policy,
            slot: Mutex::new(Slot {
                ws: Workspace::new(Facts::default()),
                clock: 0,
                counters: Counters::default(),
            }),
        }
    }
}

/// Hasher for workspace ids. Keyed per tracker normally; fixed under loom,
/// where every execution of a model must take the same locks.
#[cfg(not(loom))]
type IdHasher = std::collections::hash_map::RandomState;
#[cfg(loom)]
type IdHasher = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

/// The shard maps are keyed by the id's 64-bit hash, computed once per
/// lookup; this hasher passes it through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The cells whose ids hash to one value (almost always exactly one).
#[derive(Debug)]
enum Bucket {
    One(Arc<Cell>),
    Many(Vec<Arc<Cell>>),
}

impl Bucket {
    fn find(&self, id: &str) -> Option<&Arc<Cell>> {
        match self {
            Bucket::One(c) => (*c.id == *id).then_some(c),
            Bucket::Many(cs) => cs.iter().find(|c| *c.id == *id),
        }
    }
}

type ShardMap = HashMap<u64, Bucket, BuildHasherDefault<PassThrough>>;

/// One shard's lock and map, on cache lines of its own (neighbouring shards
/// used by different threads never share one).
#[derive(Debug)]
#[repr(align(128))]
struct Shard(Mutex<ShardMap>);

/// The largest shard count [`Tracker::with_shards`] uses.
pub const MAX_SHARDS: usize = 1 << 16;

/// Shard count of [`Tracker::new`].
pub const DEFAULT_SHARDS: usize = 64;

/// Thread-safe, per-workspace liveness tracking for a proxy.
///
/// # Use
///
/// - A forwarded request failed: [`Tracker::begin`] (or
///   [`WorkspaceRef::begin`] on a cached handle) returns the caller's
///   [`Request`] and the first [`Step`]. On [`Step::Probe`] run `IsRunning`
///   outside any lock and hand the answer to [`Request::probe_answer`]; on
///   [`Step::Wake`] sleep until that instant and call [`Request::timer`]; on
///   [`Step::Done`] act on the [`Verdict`]. On [`Verdict::Dead`] the
///   declaration's effects on the shared state are done (strike record
///   reset, row offline unless provisioning, Redis keys deleted); launch
///   `RestartByID` on a thread of its own, as upstream's `goAsync` does:
///   [`WorkspaceRef::restart_by_id`] with [`RestartSource::Detector`].
/// - `RestartByID` (from a declaration, a config PUT through
///   [`WorkspaceRef::config_put`], or any other source): on
///   [`RestartOutcome::Started`] the same thread runs the drain loop:
///   [`WorkspaceRef::loop_top`], one restart cycle per [`LoopTop::Run`],
///   then [`WorkspaceRef::loop_exit`]. Cycles the platform runs on its own
///   (not handed out by this tracker): [`Tracker::observe_restart_started`] /
///   [`Tracker::observe_restart_finished`]. Heartbeats: [`Tracker::heartbeat`];
///   registrations: [`WorkspaceRef::register`].
/// - Every call carries `now` in milliseconds on the caller's monotonic clock.
///
/// # The same steps as upstream
///
/// Each upstream lock section is one call under the workspace lock, and
/// nothing more: a strike that reaches the threshold and the declaration it
/// leads to are two sections (between them another request can strike and
/// declare too, as upstream's `incrementDeadProbe` / `resetDeadProbe`
/// allow); `RestartByID`'s debounce check and its coalescing are two
/// sections (two requests can both pass the debounce; the second coalesces
/// into a second full cycle); the drain loop's top and its exit are two
/// sections (a request that coalesces between them is lost). The model
/// checker explores exactly these interleavings; loom tests check this code
/// takes them. A policy with `restart.atomic_request` (a proposed fix, not
/// upstream) makes the debounce check and coalescing one section.
///
/// # Guarantees
///
/// - **A probe answer that arrives after the world changed under it** (a
///   restart started, a heartbeat arrived, another decision declared or added
///   a strike) **is judged against the current state, never a stale
///   snapshot**: [`Request::probe_answer`] and [`Request::timer`] lock the
///   workspace and run the step on its state as it is at that moment — the
///   strike record, the URL, the restart coordinator and the re-check guard
///   are read there, not copied at [`Tracker::begin`].
///
///   What is *not* re-read, by design: the decision's own pre-probe basis.
///   `settling` and `recent` are read when the decision begins and `fresh`
///   while it waits for a fresh heartbeat, before the first probe, exactly
///   as upstream reads them; a heartbeat that lands while a probe is in
///   flight does not retroactively make that decision's heartbeat "recent".
/// - **Heartbeats and restart events from other threads are never lost**:
///   each is applied under the workspace lock, in the order the lock is
///   taken, and shows in [`WorkspaceView::counters`].
///
/// The workspace map is sharded ([`DEFAULT_SHARDS`] shards): a lookup holds
/// one shard's lock only to find (or create) the workspace and never while
/// the workspace is locked, so workspaces never wait for each other. No call
/// holds two locks at once and no lock is held across caller I/O.
///
/// # Time
///
/// Each workspace has a clock: the largest `now` any accepted call for it
/// carried. A call whose `now` is older (two threads read the clock, the
/// later reader locks first) is applied at the workspace clock instead:
/// time never goes backwards for a workspace, so the decision machine's
/// "`now` is non-decreasing" contract holds whatever order threads arrive
/// in. A call the decision refuses does not move the clock.
///
/// # Unknown workspaces
///
/// A workspace is created on first use of its id by any call, with
/// [`Facts::default`] (an ordinary runtime with a provisioner: the replay
/// log's default), no heartbeat, no restart history. Set its facts with
/// [`Tracker::set_facts`]. [`Tracker::remove`] forgets a workspace; handles
/// still holding it keep working on the forgotten state, and the id's next
/// use creates a fresh one.
///
/// # Errors
///
/// Input the decision cannot take now (a probe answer for a request that is
/// not awaiting one, a timer for one that is not sleeping, anything after
/// [`Step::Done`]) returns [`UnexpectedInput`] and changes nothing. No call
/// panics.
#[derive(Debug)]
pub struct Tracker {
    policy: Arc<Policy>,
    hasher: IdHasher,
    shard_bits: u32,
    shards: Box<[Shard]>,
}

impl Tracker {
    /// A tracker with no workspaces, deciding by `policy`, with
    /// [`DEFAULT_SHARDS`] shards.
    pub fn new(policy: Policy) -> Self {
        Tracker::with_shards(policy, DEFAULT_SHARDS)
    }

    /// A tracker with `shards` shards (rounded up to a power of two, between
    /// 1 and [`MAX_SHARDS`]).
    pub fn with_shards(policy: Policy, shards: usize) -> Self {
        let n = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        Tracker {
            policy: Arc::new(policy),
            hasher: IdHasher::default(),
            shard_bits: n.trailing_zeros(),
            shards: (0..n)
                .map(|_| Shard(Mutex::new(ShardMap::default())))
                .collect(),
        }
    }

    /// The policy every decision of this tracker runs.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn shard(&self, h: u64) -> &Mutex<ShardMap> {
        // Bits 32.. pick the shard; the shard's table uses the low bits for
        // its buckets and the top 7 as tags, so the three stay independent.
        let mask = (1u64 << self.shard_bits) - 1;
        &self.shards[((h >> 32) & mask) as usize].0
    }

    fn cell(&self, id: &str) -> Arc<Cell> {
        self.cell_hashed(self.hash(id), id)
    }

    fn cell_hashed(&self, h: u64, id: &str) -> Arc<Cell> {
        let mut map = lock(self.shard(h));
        if let Some(c) = map.get(&h).and_then(|b| b.find(id)) {
            return Arc::clone(c);
        }
        let cell = Arc::new(Cell::new(id, Arc::clone(&self.policy)));
        let bucket = match map.remove(&h) {
            None => Bucket::One(Arc::clone(&cell)),
            Some(Bucket::One(other)) => Bucket::Many(vec![other, Arc::clone(&cell)]),
            Some(Bucket::Many(mut v)) => {
                v.push(Arc::clone(&cell));
                Bucket::Many(v)
            }
        };
        map.insert(h, bucket);
        cell
    }

    fn get_hashed(&self, h: u64, id: &str) -> Option<WorkspaceRef> {
        let map = lock(self.shard(h));
        map.get(&h)
            .and_then(|b| b.find(id))
            .map(|c| WorkspaceRef(Arc::clone(c)))
    }

    fn remove_hashed(&self, h: u64, id: &str) -> bool {
        let mut map = lock(self.shard(h));
        let Some(bucket) = map.remove(&h) else {
            return false;
        };
        let mut cells = match bucket {
            Bucket::One(c) => vec![c],
            Bucket::Many(v) => v,
        };
        let before = cells.len();
        cells.retain(|c| *c.id != *id);
        let removed = cells.len() < before;
        match cells.len() {
            0 => {}
            1 => {
                map.insert(h, Bucket::One(cells.remove(0)));
            }
            _ => {
                map.insert(h, Bucket::Many(cells));
            }
        }
        removed
    }

    /// The workspace `id`, created with default facts if unknown. The handle
    /// can be cached to skip the map lookup on later calls.
    pub fn workspace(&self, id: &str) -> WorkspaceRef {
        WorkspaceRef(self.cell(id))
    }

    /// The workspace `id` if it is known (never creates one).
    pub fn get(&self, id: &str) -> Option<WorkspaceRef> {
        self.get_hashed(self.hash(id), id)
    }

    /// Forgets workspace `id`; true if it was known. Requests in flight for
    /// it finish against the forgotten state.
    pub fn remove(&self, id: &str) -> bool {
        self.remove_hashed(self.hash(id), id)
    }

    /// Number of known workspaces (locks each shard in turn: a moment's
    /// count, not a snapshot).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                lock(&s.0)
                    .values()
                    .map(|b| match b {
                        Bucket::One(_) => 1,
                        Bucket::Many(v) => v.len(),
                    })
                    .sum::<usize>()
            })
            .sum()
    }

    /// True when no workspace is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of workspace `id`'s state, if known (never creates one).
    pub fn view(&self, id: &str) -> Option<WorkspaceView> {
        self.get(id).map(|w| w.view())
    }

    /// A request to workspace `id` failed at `now`: begins its decision.
    /// See [`WorkspaceRef::begin`].
    pub fn begin(&self, id: &str, now: Ms) -> (Request, Step) {
        WorkspaceRef::begin_on(self.cell(id), now)
    }

    /// The agent of workspace `id` heartbeated at `now`. See
    /// [`WorkspaceRef::heartbeat`].
    pub fn heartbeat(&self, id: &str, now: Ms) {
        self.cell(id).heartbeat(now)
    }

    /// Sets workspace `id`'s facts (runtime, provisioner).
    pub fn set_facts(&self, id: &str, facts: Facts) {
        self.workspace(id).set_facts(facts)
    }

    /// `RestartByID` for workspace `id` at `now` from `source`. See
    /// [`WorkspaceRef::restart_by_id`].
    pub fn restart_by_id(&self, id: &str, now: Ms, source: RestartSource) -> RestartOutcome {
        self.workspace(id).restart_by_id(now, source)
    }

    /// A config/file PUT to workspace `id` at `now`. See
    /// [`WorkspaceRef::config_put`].
    pub fn config_put(&self, id: &str, now: Ms) -> RestartOutcome {
        self.workspace(id).config_put(now)
    }

    /// The platform started a restart cycle of workspace `id` on its own at
    /// `now`. See [`WorkspaceRef::observe_restart_started`].
    pub fn observe_restart_started(&self, id: &str, now: Ms) {
        self.workspace(id).observe_restart_started(now)
    }

    /// The platform's own restart cycle of workspace `id` returned at `now`.
    /// See [`WorkspaceRef::observe_restart_finished`].
    pub fn observe_restart_finished(&self, id: &str, now: Ms) {
        self.workspace(id).observe_restart_finished(now)
    }
}

/// A handle on one workspace of a [`Tracker`]: cache it to skip the map
/// lookup. Cloning is cheap (one reference count). Every method locks the
/// workspace once, for the duration of one state-machine call.
#[derive(Debug, Clone)]
pub struct WorkspaceRef(Arc<Cell>);

impl Cell {
    fn heartbeat(&self, now: Ms) {
        let mut s = lock(&self.slot);
        let now = s.at(now);
        s.clock = now;
        s.ws.heartbeat(now);
        s.counters.heartbeats += 1;
    }
}

impl WorkspaceRef {
    /// The workspace id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    fn begin_on(cell: Arc<Cell>, now: Ms) -> (Request, Step) {
        let (decision, step) = {
            let mut s = lock(&cell.slot);
            let now = s.at(now);
            let (decision, step) = Decision::start(&cell.policy, &mut s.ws, now);
            s.clock = now;
            s.counters.decisions += 1;
            s.after_step(step);
            (decision, step)
        };
        (Request { cell, decision }, step)
    }

    /// A request to this workspace failed at `now`: runs the rule's first
    /// step (guards, pre-probe basis) under the lock. Returns the caller's
    /// handle on the decision and what to do next.
    pub fn begin(&self, now: Ms) -> (Request, Step) {
        WorkspaceRef::begin_on(Arc::clone(&self.0), now)
    }

    /// The agent heartbeated at `now` (`last_heartbeat = now`, URL
    /// registered). Never lost: applied under the lock and counted.
    pub fn heartbeat(&self, now: Ms) {
        self.0.heartbeat(now)
    }

    /// Sets the workspace's facts (runtime, provisioner); decisions begun
    /// afterwards read them.
    pub fn set_facts(&self, facts: Facts) {
        lock(&self.0.slot).ws.facts = facts;
    }

    /// The agent registered at `now`: URL set, row online, heartbeat now,
    /// liveness key created, URL cached.
    pub fn register(&self, now: Ms) {
        let mut s = lock(&self.0.slot);
        let now = s.at(now);
        s.clock = now;
        s.ws.register(now);
    }

    /// `RestartByID` at `now` on behalf of `source`, in upstream's lock
    /// sections: the debounce check under the lock, the lock released, then
    /// coalescing under the lock again (one section when the policy says
    /// `restart.atomic_request`). Call it on the thread that would run the
    /// cycle. On [`RestartOutcome::Started`] that thread must run the drain
    /// loop ([`WorkspaceRef::loop_top`], [`WorkspaceRef::loop_exit`]).
    pub fn restart_by_id(&self, now: Ms, source: RestartSource) -> RestartOutcome {
        let policy = &self.0.policy.restart;
        if policy.atomic_request {
            let mut s = lock(&self.0.slot);
            let now = s.at(now);
            s.clock = now;
            let outcome = s.ws.restart.request(policy, now, source);
            if outcome == RestartOutcome::Started {
                s.counters.restarts_started += 1;
            }
            return outcome;
        }
        {
            let mut s = lock(&self.0.slot);
            let now = s.at(now);
            s.clock = now;
            if let Err(reason) = s.ws.restart.debounce_check(policy, now, source) {
                return RestartOutcome::Dropped(reason);
            }
        }
        // Upstream releases the lock here (`shouldDebounceRestart` returns);
        // anything can run before coalescing.
        self.coalesce_section(now)
    }

    /// `coalesceRestart` as one lock section at `now`, counting a started
    /// cycle.
    fn coalesce_section(&self, now: Ms) -> RestartOutcome {
        let mut s = lock(&self.0.slot);
        let now = s.at(now);
        s.clock = now;
        let outcome = s.ws.restart.coalesce(now);
        if outcome == RestartOutcome::Started {
            s.counters.restarts_started += 1;
        }
        outcome
    }

    /// A config/file PUT at `now`: the file-write drop (one section), then
    /// [`WorkspaceRef::restart_by_id`] with [`RestartSource::FileWrite`] (a
    /// goroutine upstream: call it from the thread that would run it).
    pub fn config_put(&self, now: Ms) -> RestartOutcome {
        {
            let mut s = lock(&self.0.slot);
            let now = s.at(now);
            s.clock = now;
            let policy = &self.0.policy.restart;
            if s.ws.restart.file_write_gate(policy, now).is_err() {
                return RestartOutcome::Dropped(DropReason::FileWrite);
            }
        }
        self.restart_by_id(now, RestartSource::FileWrite)
    }

    /// A manual restart (the HTTP Restart, Resume, a provider switch) at
    /// `now` through the coordinator, the proposal's
    /// `restart.manual_via_coordinator` (one section: coalesced, never
    /// dropped by the debounce). On [`RestartOutcome::Started`] the caller
    /// runs the drain loop ([`WorkspaceRef::loop_top`]) as after
    /// [`WorkspaceRef::restart_by_id`]. `None` when the policy does not route
    /// manual restarts through the coordinator: upstream's handlers mark the
    /// row and run a cycle of their own, which the tracker does not see.
    pub fn manual_restart(&self, now: Ms) -> Option<RestartOutcome> {
        if !self.0.policy.restart.manual_via_coordinator {
            return None;
        }
        Some(self.coalesce_section(now))
    }

    /// The top of the drain loop at `now` (one section): on [`LoopTop::Run`]
    /// run one restart cycle (its start marks the row `provisioning` with no
    /// URL), then call this again; on [`LoopTop::Done`] call
    /// [`WorkspaceRef::loop_exit`].
    pub fn loop_top(&self, now: Ms) -> LoopTop {
        let mut s = lock(&self.0.slot);
        let now = s.at(now);
        s.clock = now;
        let first = s.ws.restart.is_first_iteration();
        let top = s.ws.loop_top(now);
        if top == LoopTop::Run {
            s.ws.mark_provisioning();
            if !first {
                s.counters.restarts_started += 1;
            }
        }
        top
    }

    /// The drain loop's exit at `now` (one section): `running` clears. A
    /// request that coalesced since the last [`WorkspaceRef::loop_top`] is
    /// lost, as upstream.
    pub fn loop_exit(&self, now: Ms) {
        let mut s = lock(&self.0.slot);
        let now = s.at(now);
        s.clock = now;
        s.ws.restart.exit(now);
    }

    /// The platform started a restart cycle on its own (not one this tracker
    /// handed out) at `now`: `running` set, stamp = now, URL cleared.
    pub fn observe_restart_started(&self, now: Ms) {
        let mut s = lock(&self.0.slot);
        let now = s.at(now);
        s.clock = now;
        s.ws.observe_restart_started(now);
        s.cycle_started();
    }

    /// The platform's own restart cycle returned at `now` and no loop
    /// follows: `running` and `pending` clear.
    pub fn observe_restart_finished(&self, now: Ms) {
        let mut s = lock(&self.0.slot);
        let now = s.at(now);
        s.clock = now;
        s.ws.restart.observe_cycle_end(now);
    }

    /// A copy of the workspace's state now.
    pub fn view(&self) -> WorkspaceView {
        lock(&self.0.slot).view()
    }
}

/// One failed request's decision, owned by the caller (see [`Tracker`]).
///
/// Not `Clone`: one handle answers each probe once. Dropping it abandons the
/// decision; nothing is left behind in the tracker.
#[derive(Debug)]
pub struct Request {
    cell: Arc<Cell>,
    decision: Decision,
}

impl Request {
    /// Feeds `input` at `now` under the workspace lock, judged against the
    /// workspace's current state ([`Tracker::begin`] started the decision).
    /// A [`Step::Yield`] (a strike at the threshold) is
    /// followed at once by the declaration's own lock section: the lock is
    /// released and taken again in between, as upstream.
    pub fn step(&mut self, now: Ms, input: Input) -> Result<Step, UnexpectedInput> {
        let step = self.section(now, input)?;
        if step == Step::Yield {
            return self.section(now, Input::Resume);
        }
        Ok(step)
    }

    fn section(&mut self, now: Ms, input: Input) -> Result<Step, UnexpectedInput> {
        let mut s = lock(&self.cell.slot);
        let now = s.at(now);
        let step = self
            .decision
            .step(&self.cell.policy, &mut s.ws, now, input)?;
        s.clock = now;
        s.after_step(step);
        Ok(step)
    }

    /// The answer to the probe the last [`Step::Probe`] asked for, as of
    /// `now` (when it came back). An error, changing nothing, when the
    /// decision is not awaiting a probe.
    pub fn probe_answer(&mut self, now: Ms, result: ProbeResult) -> Result<Step, UnexpectedInput> {
        self.step(now, Input::Probe(result))
    }

    /// The instant of the last [`Step::Wake`] has come (`now`; an early call
    /// returns the same `Wake`). An error, changing nothing, when the
    /// decision is not sleeping.
    pub fn timer(&mut self, now: Ms) -> Result<Step, UnexpectedInput> {
        self.step(now, Input::Timer)
    }

    /// The decision as it stands (phase, probes made, verdict once over).
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// What the decision takes next.
    pub fn awaiting(&self) -> Awaiting {
        self.decision.awaiting()
    }

    /// The workspace this request belongs to.
    pub fn workspace(&self) -> WorkspaceRef {
        WorkspaceRef(Arc::clone(&self.cell))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::decision::{NotDeadReason, SkipReason};
    use crate::restart::DropReason;
    use std::path::Path;

    fn policy(name: &str) -> Policy {
        let p = format!("{}/models/policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        Policy::load(Path::new(&p)).expect("shipped policy loads")
    }

    #[test]
    fn unknown_workspace_is_created_with_default_facts() {
        let t = Tracker::new(policy("v0-pre-2931"));
        assert!(t.view("w").is_none(), "view never creates");
        assert!(t.is_empty());
        t.heartbeat("w", 5);
        let v = t.view("w").expect("created by the heartbeat");
        assert_eq!(v.state.facts, Facts::default());
        assert_eq!(v.state.last_heartbeat, Some(5));
        assert_eq!(v.counters.heartbeats, 1);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn time_going_backwards_is_clamped_to_the_workspace_clock() {
        let t = Tracker::new(policy("v1-2931"));
        t.heartbeat("w", 10_000);
        // An older heartbeat (a thread that read the clock earlier and locked
        // later) lands at the workspace clock, never moving it back.
        t.heartbeat("w", 4_000);
        let v = t.view("w").unwrap();
        assert_eq!(v.state.last_heartbeat, Some(10_000));
        assert_eq!(v.clock, 10_000);
        assert_eq!(v.counters.heartbeats, 2);
        // A decision begun "at 1 000" is judged at 10 000: the heartbeat is
        // recent, so a not-running probe adds a strike (v1) instead of
        // declaring.
        let (mut r, step) = t.begin("w", 1_000);
        assert_eq!(step, Step::Probe);
        let step = r.probe_answer(2_000, ProbeResult::NotRunning).unwrap();
        assert_eq!(step, Step::Done(Verdict::NotDead(NotDeadReason::Strike(1))));
        let s = t.view("w").unwrap().state.strikes.unwrap();
        assert_eq!(s.first, 10_000);
        // Other workspaces have their own clocks.
        t.heartbeat("other", 3);
        assert_eq!(t.view("other").unwrap().clock, 3);
    }

    #[test]
    fn manual_restarts_go_through_the_coordinator_only_when_the_policy_says_so() {
        // v4: a manual restart starts a stamped cycle (isRestarting covers
        // it); one during that cycle joins it; upstream's policies leave
        // manual restarts outside the tracker.
        let t = Tracker::new(policy("v4-proposed"));
        let w = t.workspace("w");
        assert_eq!(w.manual_restart(1_000), Some(RestartOutcome::Started));
        assert!(t.view("w").unwrap().state.restart.is_running());
        assert_eq!(t.view("w").unwrap().state.restart.started_at(), Some(1_000));
        assert_eq!(w.manual_restart(2_000), Some(RestartOutcome::Coalesced));
        let up = Tracker::new(policy("v2-2950"));
        assert_eq!(up.workspace("w").manual_restart(1_000), None);
        assert!(!up.view("w").unwrap().state.restart.is_running());
    }

    #[test]
    fn misplaced_inputs_are_errors_that_change_nothing() {
        let t = Tracker::new(policy("v2-2950"));
        let (mut r, step) = t.begin("w", 100);
        assert_eq!(step, Step::Probe);
        let before = t.view("w").unwrap();
        let e = r.timer(200).unwrap_err();
        assert_eq!(e.awaiting, Awaiting::Probe);
        assert_eq!(r.step(300, Input::Resume).unwrap_err().got, Input::Resume);
        assert_eq!(
            t.view("w").unwrap(),
            before,
            "refused input changes nothing"
        );
        let done = r.probe_answer(400, ProbeResult::Running).unwrap();
        assert_eq!(done, Step::Done(Verdict::NotDead(NotDeadReason::Running)));
        let e = r.probe_answer(500, ProbeResult::Running).unwrap_err();
        assert_eq!(e.awaiting, Awaiting::Nothing);
        assert_eq!(t.view("w").unwrap().clock, 400);
    }

    #[test]
    fn two_declarations_launch_two_requests_and_the_debounce_takes_the_second() {
        let t = Tracker::new(policy("v0-pre-2931"));
        let (mut a, _) = t.begin("w", 1_000);
        let (mut b, _) = t.begin("w", 1_000);
        let va = a.probe_answer(1_100, ProbeResult::NotRunning).unwrap();
        let vb = b.probe_answer(1_200, ProbeResult::NotRunning).unwrap();
        assert_eq!(va, Step::Done(Verdict::Dead));
        assert_eq!(vb, Step::Done(Verdict::Dead));
        let ws = t.workspace("w");
        assert_eq!(
            ws.restart_by_id(1_100, RestartSource::Detector),
            RestartOutcome::Started
        );
        assert_eq!(
            ws.restart_by_id(1_200, RestartSource::Detector),
            RestartOutcome::Dropped(DropReason::Debounce)
        );
        let v = t.view("w").unwrap();
        assert_eq!(v.counters.restarts_started, 1);
        assert_eq!(v.counters.declarations, 2);
        assert!(v.state.restart.is_running());
        // A request failing now is skipped by the running cycle.
        let (_, s) = t.begin("w", 1_300);
        assert_eq!(s, Step::Done(Verdict::Skipped(SkipReason::Restarting)));
        assert_eq!(ws.loop_top(1_300), LoopTop::Run);
        assert_eq!(ws.loop_top(5_000), LoopTop::Done);
        ws.loop_exit(5_000);
        assert!(!t.view("w").unwrap().state.restart.is_running());
    }

    #[test]
    fn restart_events_mark_the_row_and_are_counted() {
        let t = Tracker::new(policy("v2-2950"));
        let ws = t.workspace("w");
        ws.register(1);
        assert!(t.view("w").unwrap().state.url_registered);
        assert_eq!(t.config_put("w", 2), RestartOutcome::Started);
        assert_eq!(ws.loop_top(2), LoopTop::Run);
        let v = t.view("w").unwrap().state;
        assert!(!v.url_registered);
        assert_eq!(v.status, crate::workspace::Status::Provisioning);
        assert_eq!(
            t.config_put("w", 3),
            RestartOutcome::Dropped(DropReason::FileWrite)
        );
        assert_eq!(ws.loop_top(4_000), LoopTop::Done);
        ws.loop_exit(4_000);
        t.observe_restart_started("w", 100_000);
        let v = t.view("w").unwrap();
        assert_eq!(v.counters.restarts_started, 2);
        assert_eq!(v.state.restart.started_at(), Some(100_000));
    }

    #[test]
    fn remove_forgets_but_handles_keep_working() {
        let t = Tracker::new(policy("v0-pre-2931"));
        let (mut r, _) = t.begin("w", 1);
        assert!(t.remove("w"));
        assert!(!t.remove("w"));
        assert!(t.get("w").is_none());
        let step = r.probe_answer(2, ProbeResult::NotRunning).unwrap();
        assert_eq!(step, Step::Done(Verdict::Dead));
        assert_eq!(
            r.workspace().restart_by_id(2, RestartSource::Detector),
            RestartOutcome::Started
        );
        assert_eq!(r.workspace().view().counters.restarts_started, 1);
        // The id's next use is a fresh workspace.
        t.heartbeat("w", 3);
        assert_eq!(t.view("w").unwrap().counters.restarts_started, 0);
    }

    #[test]
    fn many_workspaces_in_few_shards_stay_distinct() {
        let t = Tracker::with_shards(policy("v0-pre-2931"), 2);
        for i in 0..500u64 {
            t.heartbeat(&format!("w{i}"), i);
        }
        assert_eq!(t.len(), 500);
        for i in 0..500u64 {
            assert_eq!(
                t.view(&format!("w{i}")).unwrap().state.last_heartbeat,
                Some(i)
            );
        }
        for i in (0..500u64).step_by(2) {
            assert!(t.remove(&format!("w{i}")));
        }
        assert_eq!(t.len(), 250);
        assert!(t.get("w1").is_some() && t.get("w0").is_none());
    }

    #[test]
    fn hash_collisions_keep_workspaces_apart() {
        // Force three ids onto one hash value.
        let t = Tracker::with_shards(policy("v0-pre-2931"), 4);
        let h = 0x1234_5678_9abc_def0;
        let a = t.cell_hashed(h, "a");
        let b = t.cell_hashed(h, "b");
        let c = t.cell_hashed(h, "c");
        assert!(!Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&b, &c));
        assert!(
            Arc::ptr_eq(&t.cell_hashed(h, "b"), &b),
            "found, not re-created"
        );
        assert_eq!(t.len(), 3);
        assert!(t.get_hashed(h, "d").is_none());
        assert!(t.remove_hashed(h, "b"));
        assert!(!t.remove_hashed(h, "b"));
        assert!(!t.remove_hashed(h, "d"));
        assert!(Arc::ptr_eq(&t.get_hashed(h, "c").unwrap().0, &c));
        assert!(t.remove_hashed(h, "a"));
        assert!(Arc::ptr_eq(&t.get_hashed(h, "c").unwrap().0, &c));
        assert!(t.remove_hashed(h, "c"));
        assert!(t.is_empty());
    }

    #[test]
    fn tracker_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Tracker>();
        check::<Request>();
        check::<WorkspaceRef>();
    }
}
