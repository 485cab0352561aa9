//! livecheck's explorer: a parallel, level-by-level breadth-first search over
//! any stateright [`Model`] whose states pack into a few machine words.
//!
//! # Why not stateright's own checker
//!
//! The model stays a stateright [`Model`] (its `actions`, `next_state` and
//! `properties`; stateright's Explorer serves it, and its `BfsChecker` gives
//! the same verdicts, which a test checks). What this module replaces is the
//! search loop, for four measured reasons (`README`, "Performance"):
//! stateright 0.31's BFS clones the whole action path into every queued state,
//! looks every property up by name in a concurrent map at every state, only
//! notices `--timeout` between job batches (never with one thread), and can
//! overwrite a discovery with a longer path, so a second search was needed
//! for shortest counterexamples.
//!
//! # What it guarantees
//!
//! - **Exact visited set**: states are stored as their packed words
//!   ([`Packable`]), compared in full, never by fingerprint alone.
//! - **Shortest paths in one pass**: levels are expanded in order, so the
//!   first level at which a target is hit gives a shortest path to it.
//! - **Deterministic results whatever the thread count**: a level is
//!   expanded in the order its states were first reached (the initial
//!   states in the model's order; then by parent, in its level's order, then
//!   by action index), and when several states of a level reach the same new
//!   state (or hit the same target), the one that comes first in that order
//!   (then the lowest action index) is recorded. That is a plain
//!   breadth-first search's order, so counts, verdicts and paths are the
//!   same with 1 or N threads and do not depend on how states are packed:
//!   a counterexample is the first shortest one in the model's action
//!   order. (The states are inserted shard by shard; each thread's batch
//!   lists its new states back in the order they were generated, which is
//!   the order of the links they were inserted with, and the level end
//!   merges those runs, sorting apart only the few whose link another
//!   thread's insert lowered.)
//! - **Bounds honoured**: `max_states` and the deadline are checked after
//!   every small chunk of work, by every thread; a stopped search is never
//!   `complete`.
//! - **Targets on transitions**: a target is evaluated on every generated
//!   state, including states already seen, so a property that looks at what
//!   the last transition did (an "event" the packed key leaves out) is never
//!   missed; the path to it is the parent's path plus that action.

mod batch;
pub mod pack;
pub mod table;

use batch::{Batch, Keyed, Pending};
use stateright::{Expectation, Model};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use table::{Insert, Link, Visited, ROOT};

/// A model whose states pack into a few words and back.
///
/// Packing may merge states, but only equivalent ones: `unpack(pack(s))`
/// must enable the same actions as `s`, in the same order (paths are
/// replayed by action index from the real initial state), and each action
/// must lead from both to states that pack alike, hit the same targets and
/// have the same measure. The simplest packing is exact (`unpack(pack(s))`
/// equals `s` but for what no transition reads, such as what the last
/// transition did: targets see it on the generated state); a canonical one
/// also packs alike values that no step can tell apart.
pub trait Packable: Model<State: Clone + std::fmt::Debug, Action: Clone + std::fmt::Debug> {
    /// Words every packed state of this model takes (1 to
    /// [`pack::MAX_WORDS`]).
    fn words(&self) -> usize;
    /// Bits of those words a packed state may use (the rest are 0); at most
    /// `64 * words()`, the default. The explorer stores a state's id in 32
    /// bits after them, in a word more when they do not fit in the last one.
    fn bits(&self) -> u32 {
        64 * self.words() as u32
    }
    /// Packs a state into `out` (`words()` long).
    fn pack(&self, state: &Self::State, out: &mut [u64]);
    /// Unpacks a state.
    fn unpack(&self, words: &[u64]) -> Self::State;
    /// [`Model::next_state`] written into `next` (which holds any state of
    /// the model): true when there is one. The default calls `next_state`;
    /// a model with a large state can spare a copy of it a transition.
    fn next_state_into(
        &self,
        last: &Self::State,
        action: Self::Action,
        next: &mut Self::State,
    ) -> bool {
        match self.next_state(last, action) {
            Some(s) => {
                *next = s;
                true
            }
            None => false,
        }
    }
    /// A quantity whose largest reachable value the search reports, with a
    /// shortest path to it (livecheck: an undeclared crash's age). `None`
    /// where it does not apply.
    fn measure(&self, _state: &Self::State) -> Option<u64> {
        None
    }

    /// The budget fields of the packed states (disjoint, each 1 to 64 bits,
    /// inside the first [`Packable::bits`] bits). Contract: a packed state equal to
    /// `s` but for exactly one of these fields, where it holds a larger
    /// value, *simulates* `s` (it dominates `s`): from it, every action
    /// sequence possible from `s` is possible too, hits the same targets and
    /// reaches states with the same measure (livecheck: more of a budget
    /// left — a budget only ever adds choices). The explorer takes a state
    /// with several budgets larger (none smaller) as dominating too: it
    /// simulates through the single raises one after another. A state that a
    /// state seen on the same or an earlier level dominates is not expanded:
    /// whatever it leads to, its dominator leads to, as soon or sooner. The
    /// default is none.
    fn budgets(&self) -> Vec<pack::Field> {
        Vec::new()
    }
}

/// What a target asks of the state space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The condition holds in every reachable state; a hit is a violation.
    Always,
    /// The condition holds in some reachable state; a hit is an example.
    Sometimes,
}

/// A condition the search looks for.
pub struct Target<M: Model> {
    /// Its name.
    pub name: &'static str,
    /// Always or sometimes.
    pub expect: Expect,
    /// The condition.
    pub condition: fn(&M, &M::State) -> bool,
}

impl<M: Model> Clone for Target<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: Model> Copy for Target<M> {}

impl<M: Model> Target<M> {
    /// True when `state` is a hit: a violation of an `always` condition or an
    /// example of a `sometimes` one.
    #[inline]
    pub fn hit(&self, model: &M, state: &M::State) -> bool {
        match self.expect {
            Expect::Always => !(self.condition)(model, state),
            Expect::Sometimes => (self.condition)(model, state),
        }
    }

    /// The model's own properties as targets. `eventually` properties are
    /// not supported (stateright's `eventually` is unsound on cycles;
    /// livecheck states liveness as bounded safety instead).
    ///
    /// # Panics
    ///
    /// On an `eventually` property: a bug in the model.
    pub fn of_model(model: &M) -> Vec<Target<M>> {
        model
            .properties()
            .into_iter()
            .map(|p| Target {
                name: p.name,
                expect: match p.expectation {
                    Expectation::Always => Expect::Always,
                    Expectation::Sometimes => Expect::Sometimes,
                    Expectation::Eventually => {
                        panic!("property {}: eventually is not supported", p.name)
                    }
                },
                condition: p.condition,
            })
            .collect()
    }
}

/// A path: an initial state, then each action with the state it leads to.
#[derive(Debug, Clone)]
pub struct Path<M: Model>
where
    M::State: Clone + std::fmt::Debug,
    M::Action: Clone + std::fmt::Debug,
{
    /// The initial state.
    pub init: M::State,
    /// Each step's action and resulting state.
    pub steps: Vec<(M::Action, M::State)>,
}

impl<M: Model> Path<M>
where
    M::State: Clone + std::fmt::Debug,
    M::Action: Clone + std::fmt::Debug,
{
    /// The last state of the path.
    pub fn last(&self) -> &M::State {
        self.steps.last().map_or(&self.init, |(_, s)| s)
    }
}

/// Why a search stopped before visiting every reachable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `max_states` generated states were reached.
    MaxStates,
    /// The deadline passed.
    Timeout,
    /// Every target was hit and the caller asked to stop then.
    AllHit,
    /// The visited set is full ([`table::MAX_STATES`], or one of its
    /// shards: [`table::Insert::Full`]).
    Capacity,
}

impl Stop {
    /// Every reason.
    pub const ALL: [Stop; 4] = [Stop::MaxStates, Stop::Timeout, Stop::AllHit, Stop::Capacity];

    /// The report's word for it (`stopped_by` in the JSON and proofs).
    pub fn word(self) -> &'static str {
        match self {
            Stop::MaxStates => "max-states",
            Stop::Timeout => "timeout",
            Stop::AllHit => "all-decided",
            Stop::Capacity => "capacity",
        }
    }
}

/// A snapshot for progress reports.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Distinct states so far.
    pub unique: usize,
    /// Generated states so far (with repeats).
    pub generated: usize,
    /// The level being expanded.
    pub depth: usize,
    /// States in that level.
    pub level_size: usize,
    /// Of them, expanded so far.
    pub level_done: usize,
    /// Time since the search began.
    pub elapsed: Duration,
}

/// Limits and knobs of a search.
pub struct Options<'a> {
    /// Threads (at least 1).
    pub threads: usize,
    /// Stop once this many states were generated.
    pub max_states: Option<usize>,
    /// Stop at this instant.
    pub deadline: Option<Instant>,
    /// Stop as soon as every target is hit (the measure is then a lower bound).
    pub stop_when_all_hit: bool,
    /// Called about once a second from one search thread.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Threads a driver lends the search beyond `threads`, asked at the
    /// start of every level (a driver checking several pairs lends the
    /// cores of its workers that ran out of pairs). Results do not depend
    /// on it: they are the same with any thread count.
    pub lent_threads: Option<&'a (dyn Fn() -> usize + Sync)>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            threads: 1,
            max_states: None,
            deadline: None,
            stop_when_all_hit: false,
            progress: None,
            lent_threads: None,
        }
    }
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct Outcome<M: Model>
where
    M::State: Clone + std::fmt::Debug,
    M::Action: Clone + std::fmt::Debug,
{
    /// Every reachable state was visited.
    pub complete: bool,
    /// Why it stopped early, if it did.
    pub stopped: Option<Stop>,
    /// Distinct states visited (including [`Outcome::subsumed`] ones).
    pub unique: usize,
    /// Of them, states not expanded because a state seen earlier dominates
    /// them ([`Packable::budgets`]).
    pub subsumed: usize,
    /// States generated, with repeats (initial states not counted).
    pub generated: usize,
    /// Levels expanded (the depth of the deepest state, plus one).
    pub depth: usize,
    /// Per target, in the order given: a shortest path to a hit, if any.
    pub hits: Vec<Option<Path<M>>>,
    /// The largest measure seen and a shortest path to a state with it.
    pub worst: Option<(u64, Path<M>)>,
    /// Heap bytes of the visited set at the end.
    pub visited_bytes: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Where a hit was seen during a level: on the state reached from the
/// level's state of this rank by the action of this index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Loc {
    rank: u32,
    action: u16,
}

/// Where a hit was seen once its level is over: the parent's id.
#[derive(Debug, Clone, Copy)]
enum Found {
    Init(u32),
    Edge { parent: u32, action: u16 },
}

/// Work a thread did on one level.
struct Local<const W: usize> {
    /// The new states of this thread's batches, with the links they were
    /// inserted by, in the order of those links (the last batch's are
    /// added once the level's last inserts are done).
    found: Vec<Keyed<W>>,
    /// The states it generated last, in shard order, not inserted yet.
    batch: Batch<W>,
    hits: Vec<Option<Loc>>,
    worst: Option<(u64, Loc)>,
    generated: usize,
}

impl<const W: usize> Local<W> {
    fn new(targets: usize) -> Self {
        Local {
            found: Vec::new(),
            batch: Batch::default(),
            hits: vec![None; targets],
            worst: None,
            generated: 0,
        }
    }

    fn see(&mut self, i: usize, loc: Loc) {
        if self.hits[i].is_none_or(|h| loc < h) {
            self.hits[i] = Some(loc);
        }
    }

    fn measure(&mut self, v: u64, loc: Loc) {
        let better = match self.worst {
            None => true,
            Some((w, l)) => v > w || (v == w && loc < l),
        };
        if better {
            self.worst = Some((v, loc));
        }
    }
}

/// States expanded between two looks at the bounds.
const CHUNK: usize = 256;

/// Most generated states a thread holds before inserting them
/// ([`Shared::flush`]): 48 MB a thread of 3-word states. Tests use small
/// batches, so that small models flush in the middle of their levels too.
const BATCH: usize = if cfg!(test) { 1 << 10 } else { 1 << 20 };

/// Blocks of shards the level's last inserts are shared out in
/// ([`Shared::insert_share`]): 16 shards a block.
const INSERT_BLOCKS: usize = table::SHARDS / 16;

/// Generated states a batch inserts ahead of the one being inserted: their
/// groups are prefetched.
const AHEAD: usize = 8;

/// Slots of each thread's cache of the states it generated last, by hash.
/// A state generated again shortly after (by a sibling action, or a nearby
/// parent of the same chunk) is found there and not looked up in the visited
/// set, whose tables are far larger than the processor's caches: on v4 ×
/// docker 29 % of all generated states (18.4 M of 63.7 M) are caught so,
/// more than half of the repeats. Skipping them changes nothing the search
/// records: the state is in the set, or in the thread's batch on its way
/// there, first reached by the same thread through a smaller (rank, action)
/// link; a repeat is never new, never dominated anew, and never the smaller
/// link.
const RECENT: usize = 1 << 12;

/// True when two packed states are equal (a loop the compiler unrolls,
/// not a call to `memcmp`).
#[inline(always)]
fn same<const W: usize>(a: &[u64; W], b: &[u64; W]) -> bool {
    let mut diff = 0;
    for i in 0..W {
        diff |= a[i] ^ b[i];
    }
    diff == 0
}

/// `f` of each item, each in a thread of its own (one item: in this
/// thread); a thread's panic is resumed here.
fn each_in_thread<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() == 1 {
        return items.into_iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let threads: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// An emptied buffer of an earlier level from `pool`, or a new one.
fn reuse<T: Default>(pool: &std::sync::Mutex<Vec<T>>) -> T {
    pool.lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default()
}

/// `buffers`, emptied, into `pool` for a later level ([`reuse`]).
fn give_back<T: Buffer>(pool: &std::sync::Mutex<Vec<T>>, buffers: Vec<T>) {
    let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
    for mut b in buffers {
        b.empty();
        pool.push(b);
    }
}

/// A buffer a pool keeps between levels: emptied, it keeps its memory.
trait Buffer: Default {
    /// Drops the contents, keeping the memory.
    fn empty(&mut self);
}

impl<T> Buffer for Vec<T> {
    fn empty(&mut self) {
        self.clear();
    }
}

impl<const W: usize> Buffer for Batch<W> {
    fn empty(&mut self) {
        self.clear();
    }
}

/// A level's states with their ids.
type Level<const W: usize> = Vec<([u64; W], u32)>;

/// The lists (each sorted by link; no state in two) merged into `out`
/// (emptied first), without their links, by `parts` threads: each merges
/// the links of a range of parents into its stretch of `out`.
fn merge_by_link<const W: usize>(lists: &[&[Keyed<W>]], parts: usize, out: &mut Level<W>) {
    let total: usize = lists.iter().map(|l| l.len()).sum();
    out.clear();
    out.reserve(total);
    let parents = lists
        .iter()
        .filter_map(|l| l.last())
        .map(|k| u64::from(k.0.parent) + 1)
        .max()
        .unwrap_or(0);
    let cut = |l: &[Keyed<W>], part: usize| {
        let bound = parents * part as u64 / parts as u64;
        l.partition_point(|k| u64::from(k.0.parent) < bound)
    };
    let mut rest = &mut out.spare_capacity_mut()[..total];
    let mut jobs = Vec::with_capacity(parts);
    for part in 0..parts {
        let pieces: Vec<&[Keyed<W>]> = lists
            .iter()
            .map(|l| &l[cut(l, part)..cut(l, part + 1)])
            .collect();
        let (stretch, tail) = rest.split_at_mut(pieces.iter().map(|p| p.len()).sum());
        rest = tail;
        jobs.push((pieces, stretch));
    }
    let written: usize = each_in_thread(jobs, |(pieces, stretch)| merge_into(&pieces, stretch))
        .into_iter()
        .sum();
    assert_eq!(written, total, "a merge left part of the level unwritten");
    // SAFETY: the stretches tile `out`'s first `total` spare slots, each
    // written from its start by `merge_into`, which writes at most its
    // stretch's length (indexing) and in all `total` (asserted): every
    // one of the first `total` slots is initialized.
    unsafe { out.set_len(total) }
}

/// The lists (each sorted by link) merged into `out`, from its start,
/// without their links; returns how many were written. Copies a list's
/// states while its head is below the other lists' smallest head: lists
/// come in blocks (a thread's chunk of parents).
fn merge_into<const W: usize>(
    lists: &[&[Keyed<W>]],
    out: &mut [std::mem::MaybeUninit<([u64; W], u32)>],
) -> usize {
    let mut at = 0;
    let mut copy = |from: &[Keyed<W>]| {
        for (slot, &(_, w, id)) in out[at..at + from.len()].iter_mut().zip(from) {
            slot.write((w, id));
        }
        at += from.len();
    };
    let mut heads: Vec<&[Keyed<W>]> = lists.iter().copied().filter(|l| !l.is_empty()).collect();
    while heads.len() > 1 {
        let mut best = 0;
        for i in 1..heads.len() {
            if heads[i][0].0 < heads[best][0].0 {
                best = i;
            }
        }
        let bound = (0..heads.len())
            .filter(|&i| i != best)
            .map(|i| heads[i][0].0)
            .min()
            .expect("two lists or more");
        let list = heads[best];
        let take = list.iter().take_while(|k| k.0 < bound).count();
        copy(&list[..take]);
        if take == list.len() {
            heads.swap_remove(best);
        } else {
            heads[best] = &list[take..];
        }
    }
    for list in heads {
        copy(list);
    }
    at
}

struct Shared<'a, M: Model, const W: usize> {
    model: &'a M,
    /// The model's [`Packable::words`] (the first of the `W`).
    words: usize,
    /// Emptied batches of earlier levels: reusing them spares the kernel
    /// zeroing fresh pages at every level.
    batch_pool: &'a std::sync::Mutex<Vec<Batch<W>>>,
    /// Emptied found lists ([`Local::found`]) of earlier levels, for the
    /// same reason.
    found_pool: &'a std::sync::Mutex<Vec<Vec<Keyed<W>>>>,
    targets: &'a [Target<M>],
    /// The targets not hit yet, by index into `targets`: only they are
    /// evaluated on the level's states.
    open: &'a [usize],
    visited: &'a Visited<W>,
    level: &'a [([u64; W], u32)],
    cursor: AtomicUsize,
    /// The next block of shards for the level's last inserts
    /// ([`Shared::insert_share`]).
    next_block: AtomicUsize,
    generated: &'a AtomicUsize,
    unique: &'a AtomicUsize,
    stop: &'a AtomicBool,
    stop_why: &'a std::sync::Mutex<Option<Stop>>,
    opts: &'a Options<'a>,
    start: Instant,
    depth: usize,
}

impl<M, const W: usize> Shared<'_, M, W>
where
    M: Packable + Sync,
    M::State: Send,
{
    fn halt(&self, why: Stop) {
        let mut w = self.stop_why.lock().unwrap_or_else(|e| e.into_inner());
        w.get_or_insert(why);
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Inserts a thread's full batch of generated states into the visited
    /// set shard by shard, from shard `first` round to the one before it
    /// (threads start apart), in the order they were generated within a
    /// shard, and appends the new ones to `found` in the order they were
    /// generated; returns how many are new. (A level's last states go in by
    /// [`Shared::insert_share`].)
    ///
    /// Inserting in generation order touched a random line of tables of
    /// hundreds of megabytes for each state: nearly every insert missed the
    /// TLB, and its page walk (two-dimensional on a virtual machine) was the
    /// largest single cost of a search (its prefetch waited for it). Shard
    /// by shard, consecutive inserts stay in one shard's table (a megabyte
    /// or two on the largest searches), whose pages stay in the TLB.
    /// Measured, v4 × docker on one thread, this 2-core VM: 25.9–27.7 s
    /// against 35.0 s alone (`docs/model.md`). Sorting within a shard too,
    /// by home group, gained nothing measurable and cost a comparison sort
    /// (the sorts were then 12.7 % of a one-thread search); a counting sort
    /// by shard ([`Batch::by_shard`]) is two passes over the batch. The
    /// order of insertion changes nothing recorded: the smallest link wins
    /// whatever the order, and dominance is marked whichever comes first
    /// (`table`'s module docs).
    fn flush(&self, batch: &mut Batch<W>, found: &mut Vec<Keyed<W>>, first: usize) -> usize {
        batch.by_shard();
        let runs: Vec<(&Batch<W>, usize)> = (first..table::SHARDS)
            .chain(0..first)
            .map(|s| (&*batch, s))
            .collect();
        let new = self.insert_runs(&runs);
        let listed = batch.new_states(found);
        debug_assert_eq!(new, listed, "a new state missing from the batch's ids");
        batch.clear();
        new
    }

    /// The level's last inserts, shared out by shard once every thread is
    /// done generating: each thread takes the next of [`INSERT_BLOCKS`]
    /// blocks of shards until none is left and inserts the states of every
    /// thread's batch (each in shard order) that lie in the block. Shard by
    /// shard, within a shard batch after batch (a shard's table is small: a
    /// second sweep finds its pages in the TLB). The new states are listed
    /// afterwards, by their own batch ([`Batch::new_states`]).
    ///
    /// Most levels fit in one batch a thread, so this is most of a
    /// search's inserting. Each thread inserting its own batch over every
    /// shard instead left the threads waiting for each other's shards and
    /// for the one with the longer last batch. Measured on a 2-thread
    /// v4 × docker search (this 2-core VM): inserting 7.2–7.5 s of CPU
    /// against 7.9–8.4 s so. Per-thread CPU clocks later showed the two
    /// threads' CPU only 4–5 % above one thread's; the rest of their wall
    /// is time blocked on the process's memory-map lock while the other
    /// thread maps or unmaps a growing table (`docs/model.md`). A fixed
    /// half of the shards a thread left the one done first waiting
    /// 0.37–0.46 s in all (of 5.1–5.4 s of these inserts); blocks taken in
    /// turn balance the parts to within a block.
    fn insert_share(&self, batches: &[Batch<W>]) {
        let mut runs: Vec<(&Batch<W>, usize)> = Vec::new();
        let mut new = 0;
        loop {
            let block = self.next_block.fetch_add(1, Ordering::Relaxed);
            if block >= INSERT_BLOCKS {
                break;
            }
            let (lo, hi) = (
                block * table::SHARDS / INSERT_BLOCKS,
                (block + 1) * table::SHARDS / INSERT_BLOCKS,
            );
            runs.clear();
            for s in lo..hi {
                runs.extend(batches.iter().map(|b| (b, s)));
            }
            new += self.insert_runs(&runs);
        }
        self.unique.fetch_add(new, Ordering::Relaxed);
    }

    /// Inserts each batch's run of states of one shard in turn,
    /// prefetching the groups of the states [`AHEAD`] ahead, and records
    /// the new states' ids in their batch; returns how many are new. A run
    /// whose shard another thread holds waits for the end (then its lock).
    fn insert_runs(&self, runs: &[(&Batch<W>, usize)]) -> usize {
        let mut ahead = runs.iter().flat_map(|&(b, s)| b.run(s).1).skip(AHEAD);
        let insert = |locked: &mut table::Locked<'_, W>,
                      (batch, s): (&Batch<W>, usize),
                      ahead: &mut dyn Iterator<Item = &Pending<W>>|
         -> Option<usize> {
            let (from, run) = batch.run(s);
            let mut new = 0;
            for (k, p) in run.iter().enumerate() {
                if let Some(a) = ahead.next() {
                    self.visited.prefetch(a.hash);
                }
                match locked.insert(&p.words, p.hash, p.link) {
                    Insert::New(id) => {
                        batch.record(from + k, id);
                        new += 1;
                    }
                    Insert::Seen => {}
                    Insert::Full => return None,
                }
            }
            Some(new)
        };
        let mut busy = Vec::new();
        let mut new = 0;
        let mut room = true;
        for &(batch, s) in runs {
            let len = batch.run(s).1.len();
            if len == 0 {
                continue;
            }
            match self.visited.try_lock(s) {
                Some(mut locked) => match insert(&mut locked, (batch, s), &mut ahead) {
                    Some(n) => new += n,
                    None => room = false,
                },
                None => {
                    busy.push((batch, s));
                    ahead.by_ref().take(len).for_each(drop);
                }
            }
            if !room {
                break;
            }
        }
        for run in busy {
            if !room {
                break;
            }
            let mut locked = self.visited.lock(run.1);
            match insert(&mut locked, run, &mut std::iter::empty()) {
                Some(n) => new += n,
                None => room = false,
            }
        }
        if !room {
            self.halt(Stop::Capacity);
        }
        new
    }

    /// Thread `index` of `threads`: expands chunks of the level until none
    /// is left or the search stops, flushing its batch whenever it is
    /// full; returns what it found and its last batch, sorted, for
    /// [`Shared::insert_share`].
    fn work(&self, index: usize, threads: usize) -> Local<W> {
        let reporter = index == 0;
        let first = index * table::SHARDS / threads;
        let mut local = Local::new(self.targets.len());
        let mut batch = reuse(self.batch_pool);
        let mut found: Vec<Keyed<W>> = reuse(self.found_pool);
        let mut actions = Vec::new();
        // No state has every bit of its last word set (its top 32 bits are
        // clear): the cache starts empty.
        let mut recent: Vec<[u64; W]> = std::iter::repeat_n([u64::MAX; W], RECENT).collect();
        let mut last_report = Instant::now();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let from = self.cursor.fetch_add(CHUNK, Ordering::Relaxed);
            if from >= self.level.len() {
                break;
            }
            let to = (from + CHUNK).min(self.level.len());
            let gen_before = local.generated;
            let mut new_here = 0usize;
            for rank in from..to {
                let state = self.model.unpack(&self.level[rank].0[..self.words]);
                // Each action's next state is written over it.
                let mut next = state.clone();
                actions.clear();
                self.model.actions(&state, &mut actions);
                for (ai, action) in actions.drain(..).enumerate() {
                    if !self.model.next_state_into(&state, action, &mut next) {
                        continue;
                    }
                    if !self.model.within_boundary(&next) {
                        continue;
                    }
                    local.generated += 1;
                    let loc = Loc {
                        rank: rank as u32,
                        action: ai as u16,
                    };
                    for &i in self.open {
                        if self.targets[i].hit(self.model, &next) {
                            local.see(i, loc);
                        }
                    }
                    if let Some(v) = self.model.measure(&next) {
                        local.measure(v, loc);
                    }
                    let mut words = [0u64; W];
                    self.model.pack(&next, &mut words[..self.words]);
                    let h = self.visited.hash(&words);
                    // Generated a moment ago by this thread: in the set
                    // already (or in the batch, on its way there) with a
                    // smaller link, since a thread generates in increasing
                    // (rank, action) order — inserting it would change
                    // nothing (see `RECENT`).
                    let seen = &mut recent[h as usize % RECENT];
                    if same(seen, &words) {
                        continue;
                    }
                    *seen = words;
                    batch.push(Pending {
                        words,
                        hash: h,
                        link: Link {
                            parent: rank as u32,
                            action: ai as u16,
                        },
                    });
                    if batch.len() >= BATCH {
                        new_here += self.flush(&mut batch, &mut found, first);
                    }
                }
            }
            let generated = self
                .generated
                .fetch_add(local.generated - gen_before, Ordering::Relaxed)
                + (local.generated - gen_before);
            let unique = self.unique.fetch_add(new_here, Ordering::Relaxed) + new_here;
            if self.opts.max_states.is_some_and(|m| generated >= m) {
                self.halt(Stop::MaxStates);
            }
            if self.opts.deadline.is_some_and(|d| Instant::now() >= d) {
                self.halt(Stop::Timeout);
            }
            if unique >= table::MAX_STATES {
                self.halt(Stop::Capacity);
            }
            if reporter && last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                if let Some(p) = self.opts.progress {
                    p(&Progress {
                        unique,
                        generated,
                        depth: self.depth,
                        level_size: self.level.len(),
                        level_done: to,
                        elapsed: self.start.elapsed(),
                    });
                }
            }
        }
        // The rest of the batch waits for the other threads' (see
        // `Shared::insert_share`).
        batch.by_shard();
        local.found = found;
        local.batch = batch;
        local
    }
}

/// Explores `model` from its initial states, looking for every target.
///
/// # Panics
///
/// When the model's states take more than [`pack::MAX_WORDS`] words (a
/// model checks that when it is built), or a search thread panics.
pub fn explore<M>(model: &M, targets: &[Target<M>], opts: &Options<'_>) -> Outcome<M>
where
    M: Packable + Sync,
    M::State: Send,
{
    let words = model.words();
    assert!(
        words <= pack::MAX_WORDS && model.bits() as usize <= 64 * words,
        "a packed state of {words} words is more than the explorer stores"
    );
    // The state's words and its id (see `table::Visited`).
    match pack::words_for(model.bits() + 32) {
        0..=2 => explore_in::<M, 2>(model, targets, opts),
        3 => explore_in::<M, 3>(model, targets, opts),
        4 => explore_in::<M, 4>(model, targets, opts),
        5 => explore_in::<M, 5>(model, targets, opts),
        6 => explore_in::<M, 6>(model, targets, opts),
        7 | 8 => explore_in::<M, 8>(model, targets, opts),
        _ => explore_in::<M, 9>(model, targets, opts),
    }
}

fn explore_in<M, const W: usize>(model: &M, targets: &[Target<M>], opts: &Options<'_>) -> Outcome<M>
where
    M: Packable + Sync,
    M::State: Send,
{
    let start = Instant::now();
    let mut visited = Visited::<W>::new(&model.budgets());
    let inits: Vec<M::State> = model
        .init_states()
        .into_iter()
        .filter(|s| model.within_boundary(s))
        .collect();
    let mut found: Vec<Option<Found>> = vec![None; targets.len()];
    let mut worst: Option<(u64, Found)> = None;
    let mut level: Vec<([u64; W], u32)> = Vec::new();
    for (i, s) in inits.iter().enumerate() {
        for (t, f) in targets.iter().zip(found.iter_mut()) {
            if f.is_none() && t.hit(model, s) {
                *f = Some(Found::Init(i as u32));
            }
        }
        if let Some(v) = model.measure(s) {
            if worst.as_ref().is_none_or(|(w, _)| v > *w) {
                worst = Some((v, Found::Init(i as u32)));
            }
        }
        let link = Link {
            parent: ROOT,
            action: i as u16,
        };
        let mut words = [0u64; W];
        model.pack(s, &mut words[..model.words()]);
        if let Insert::New(id) = visited.insert(&words, visited.hash(&words), link) {
            level.push((words, id));
        }
    }
    let generated = AtomicUsize::new(0);
    let unique = AtomicUsize::new(level.len());
    let stop = AtomicBool::new(false);
    let stop_why = std::sync::Mutex::new(None);
    let mut depth = 0;
    let mut subsumed = 0;
    let batch_pool = std::sync::Mutex::new(Vec::new());
    let found_pool = std::sync::Mutex::new(Vec::new());
    let mut spare: Level<W> = Vec::new();
    while !level.is_empty() {
        let threads = opts.threads.max(1) + opts.lent_threads.map_or(0, |lent| lent());
        if opts.stop_when_all_hit && found.iter().all(Option::is_some) {
            let mut w = stop_why.lock().unwrap_or_else(|e| e.into_inner());
            w.get_or_insert(Stop::AllHit);
            stop.store(true, Ordering::Relaxed);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        visited.next_level();
        depth += 1;
        let open: Vec<usize> = (0..targets.len()).filter(|&i| found[i].is_none()).collect();
        let shared = Shared {
            model,
            words: model.words(),
            batch_pool: &batch_pool,
            found_pool: &found_pool,
            targets,
            open: &open,
            visited: &visited,
            level: &level,
            cursor: AtomicUsize::new(0),
            next_block: AtomicUsize::new(0),
            generated: &generated,
            unique: &unique,
            stop: &stop,
            stop_why: &stop_why,
            opts,
            start,
            depth,
        };
        let mut locals = each_in_thread((0..threads).collect(), |i| shared.work(i, threads));
        // The batches' last states, inserted shard by shard: a thread a
        // share of the shards.
        let batches: Vec<Batch<W>> = locals
            .iter_mut()
            .map(|l| std::mem::take(&mut l.batch))
            .collect();
        each_in_thread(vec![(); locals.len()], |()| shared.insert_share(&batches));
        // Merge: the smallest location wins, whichever thread saw it.
        let mut hits: Vec<Option<Loc>> = vec![None; targets.len()];
        let mut level_worst: Option<(u64, Loc)> = None;
        let mut runs: Vec<Vec<Keyed<W>>> = Vec::with_capacity(locals.len());
        for l in locals {
            for (h, lh) in hits.iter_mut().zip(&l.hits) {
                if let Some(x) = lh {
                    if h.is_none_or(|y| *x < y) {
                        *h = Some(*x);
                    }
                }
            }
            if let Some((v, loc)) = l.worst {
                let better = match level_worst {
                    None => true,
                    Some((w, wl)) => v > w || (v == w && loc < wl),
                };
                if better {
                    level_worst = Some((v, loc));
                }
            }
            runs.push(l.found);
        }
        // The next level, in the order its states were first reached: by
        // their links (parent rank, then action index), which no longer
        // change. Each thread's run is in the order of the links its
        // states were inserted by, and most are final. The others were
        // lowered after (`Visited::insert` keeps the smallest) by another
        // thread's insert: within a shard a batch goes in generation order,
        // and a thread's links only grow from one batch to its next. Those
        // move to a list of their own, sorted by link (few:
        // 0.27 M of 28 M states on a 2-thread v4 × docker search), and the
        // runs and those lists are merged; a run is not sorted again.
        //
        // On the way, each state's link is made to name its parent's id
        // instead of its rank, and the states another seen state dominates
        // (on this level or an earlier one) are dropped: they stay in the
        // visited set but are not expanded. The set marked them as the
        // level's states came in (`table`'s module docs), so which are
        // dropped does not depend on threads.
        let parent_id = |rank: u32| level[rank as usize].1;
        let mut next = std::mem::take(&mut spare);
        // Several threads settle a run each (a serial pass here was 2.3 s
        // of a 20 s two-thread v4 × docker search), without locking, after
        // adding its last batch's new states (every insert is done).
        let settler = visited.settler();
        let settle = |(run, batch): (&mut Vec<Keyed<W>>, &Batch<W>)| {
            batch.new_states(run);
            let listed = run.len();
            let mut moved = Vec::new();
            run.retain_mut(|k| {
                let inserted = k.0;
                let (link, dominated) = settler.settle(k.2, parent_id);
                k.0 = link;
                if !dominated && link != inserted {
                    moved.push(*k);
                    return false;
                }
                !dominated
            });
            moved.sort_unstable_by_key(|k| k.0);
            (moved, listed)
        };
        let settled = each_in_thread(runs.iter_mut().zip(&batches).collect(), settle);
        let before: usize = settled.iter().map(|(_, listed)| listed).sum();
        let moved: Vec<Vec<Keyed<W>>> = settled.into_iter().map(|(m, _)| m).collect();
        give_back(&batch_pool, batches);
        let lists: Vec<&[Keyed<W>]> = runs.iter().chain(&moved).map(Vec::as_slice).collect();
        merge_by_link(&lists, runs.len(), &mut next);
        subsumed += before - next.len();
        give_back(&found_pool, runs);
        let to_found = |loc: Loc| Found::Edge {
            parent: level[loc.rank as usize].1,
            action: loc.action,
        };
        for (f, h) in found.iter_mut().zip(hits) {
            if f.is_none() {
                *f = h.map(to_found);
            }
        }
        if let Some((v, loc)) = level_worst {
            if worst.as_ref().is_none_or(|(w, _)| v > *w) {
                worst = Some((v, to_found(loc)));
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        spare = std::mem::replace(&mut level, next);
    }
    let stopped = *stop_why.lock().unwrap_or_else(|e| e.into_inner());
    let rebuild = |visited: &mut Visited<W>, f: Found| path(model, &inits, visited, f);
    let hits = found
        .iter()
        .map(|f| f.map(|f| rebuild(&mut visited, f)))
        .collect();
    let worst = worst.map(|(v, f)| (v, rebuild(&mut visited, f)));
    Outcome {
        complete: stopped.is_none(),
        stopped,
        unique: unique.load(Ordering::Relaxed),
        subsumed,
        generated: generated.load(Ordering::Relaxed),
        depth,
        hits,
        worst,
        visited_bytes: visited.heap_bytes(),
        elapsed: start.elapsed(),
    }
}

/// Rebuilds the path to a hit by following links back to an initial state
/// and replaying the recorded action indices forward.
fn path<M: Packable, const W: usize>(
    model: &M,
    inits: &[M::State],
    visited: &mut Visited<W>,
    f: Found,
) -> Path<M> {
    let mut indices = Vec::new();
    let mut init = match f {
        Found::Init(i) => i,
        Found::Edge { parent, action } => {
            indices.push(action);
            let mut id = parent;
            loop {
                let link = visited.link(id);
                if link.parent == ROOT {
                    break u32::from(link.action);
                }
                indices.push(link.action);
                id = link.parent;
            }
        }
    } as usize;
    init = init.min(inits.len().saturating_sub(1));
    indices.reverse();
    let mut state = inits[init].clone();
    let start = state.clone();
    let mut steps = Vec::with_capacity(indices.len());
    let mut actions = Vec::new();
    for ai in indices {
        actions.clear();
        model.actions(&state, &mut actions);
        let action = actions.swap_remove(usize::from(ai));
        let next = model
            .next_state(&state, action.clone())
            .expect("a recorded step replays: the model is deterministic");
        steps.push((action, next.clone()));
        state = next;
    }
    Path { init: start, steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid walk from (0, 0): action 0 steps right, action 1 steps up, up
    /// to 3. Packed so that the packed words sort in the *opposite* order of
    /// breadth-first discovery.
    struct Walk;

    impl Model for Walk {
        type State = (u8, u8);
        type Action = u8;

        fn init_states(&self) -> Vec<(u8, u8)> {
            vec![(0, 0)]
        }

        fn actions(&self, _: &(u8, u8), actions: &mut Vec<u8>) {
            actions.extend([0, 1]);
        }

        fn next_state(&self, &(x, y): &(u8, u8), action: u8) -> Option<(u8, u8)> {
            match action {
                0 if x < 3 => Some((x + 1, y)),
                1 if y < 3 => Some((x, y + 1)),
                _ => None,
            }
        }
    }

    impl Packable for Walk {
        fn words(&self) -> usize {
            1
        }

        fn bits(&self) -> u32 {
            16
        }

        fn pack(&self, &(x, y): &(u8, u8), out: &mut [u64]) {
            out[0] = u64::from(255 - x) | u64::from(255 - y) << 8;
        }

        fn unpack(&self, words: &[u64]) -> (u8, u8) {
            (255 - words[0] as u8, 255 - (words[0] >> 8) as u8)
        }
    }

    #[test]
    fn a_counterexample_is_the_first_shortest_in_action_order_with_any_threads() {
        let targets = [Target {
            name: "not at (1, 1)",
            expect: Expect::Always,
            condition: |_: &Walk, s: &(u8, u8)| *s != (1, 1),
        }];
        for threads in [1, 2, 3] {
            let opts = Options {
                threads,
                ..Options::default()
            };
            let out = explore(&Walk, &targets, &opts);
            assert!(out.complete);
            assert_eq!(out.unique, 16, "{threads} threads");
            let path = out.hits[0].as_ref().expect("(1, 1) is reachable");
            let actions: Vec<u8> = path.steps.iter().map(|(a, _)| *a).collect();
            // Right then up, not up then right (which the packed order would
            // give: (0, 1) packs below (1, 0)).
            assert_eq!(actions, [0, 1], "{threads} threads");
        }
    }

    /// A walk in a cube of side 41 (68,921 states), with five actions —
    /// three unit steps, a double step and a diagonal — so that most states
    /// are reached from several parents, often expanded by different
    /// threads, and a level spans many chunks and (in tests) batches.
    /// Packed with its coordinates reversed and scrambled.
    struct Cube;

    const SIDE: u8 = 40;

    impl Model for Cube {
        type State = (u8, u8, u8);
        type Action = u8;

        fn init_states(&self) -> Vec<(u8, u8, u8)> {
            vec![(0, 0, 0)]
        }

        fn actions(&self, _: &(u8, u8, u8), actions: &mut Vec<u8>) {
            actions.extend(0..5);
        }

        fn next_state(&self, &(x, y, z): &(u8, u8, u8), action: u8) -> Option<(u8, u8, u8)> {
            let next = match action {
                0 => (x + 1, y, z),
                1 => (x, y + 1, z),
                2 => (x, y, z + 1),
                3 => (x + 2, y, z),
                _ => (x, y + 1, z + 1),
            };
            (next.0 <= SIDE && next.1 <= SIDE && next.2 <= SIDE).then_some(next)
        }
    }

    impl Packable for Cube {
        fn words(&self) -> usize {
            1
        }

        fn bits(&self) -> u32 {
            24
        }

        fn pack(&self, &(x, y, z): &(u8, u8, u8), out: &mut [u64]) {
            out[0] = u64::from(SIDE - z) | u64::from(y ^ 0x15) << 8 | u64::from(SIDE - x) << 16;
        }

        fn unpack(&self, words: &[u64]) -> (u8, u8, u8) {
            let w = words[0];
            (
                SIDE - (w >> 16) as u8,
                (w >> 8) as u8 ^ 0x15,
                SIDE - w as u8,
            )
        }
    }

    fn not_at<const X: u8, const Y: u8, const Z: u8>(_: &Cube, s: &(u8, u8, u8)) -> bool {
        *s != (X, Y, Z)
    }

    /// The first shortest path's actions to every state of `model`, by a
    /// plain breadth-first search that expands each level in the order its
    /// states were first reached and tries actions in order — the order
    /// the explorer promises, computed independently of it.
    fn reference_paths(model: &Cube) -> std::collections::HashMap<(u8, u8, u8), Vec<u8>> {
        let init = model.init_states()[0];
        let mut paths = std::collections::HashMap::from([(init, Vec::new())]);
        let mut level = vec![init];
        while !level.is_empty() {
            let mut next = Vec::new();
            for s in &level {
                let mut actions = Vec::new();
                model.actions(s, &mut actions);
                for a in actions {
                    if let Some(n) = model.next_state(s, a) {
                        if !paths.contains_key(&n) {
                            let mut p = paths[s].clone();
                            p.push(a);
                            paths.insert(n, p);
                            next.push(n);
                        }
                    }
                }
            }
            level = next;
        }
        paths
    }

    #[test]
    fn every_level_is_in_first_discovery_order_with_any_threads() {
        let targets = [
            not_at::<1, 1, 1>,
            not_at::<7, 3, 2>,
            not_at::<20, 20, 20>,
            not_at::<0, 31, 17>,
            not_at::<33, 2, 39>,
            not_at::<40, 40, 40>,
            not_at::<39, 40, 40>,
        ]
        .map(|condition| Target {
            name: "not at a point",
            expect: Expect::Always,
            condition,
        });
        let reference = reference_paths(&Cube);
        for threads in [1, 2, 3, 4] {
            let opts = Options {
                threads,
                ..Options::default()
            };
            let out = explore(&Cube, &targets, &opts);
            assert!(out.complete);
            assert_eq!(out.unique, reference.len(), "{threads} threads");
            for (t, hit) in targets.iter().zip(&out.hits) {
                let path = hit.as_ref().expect("every point is reachable");
                let last = *path.last();
                assert!(t.hit(&Cube, &last), "{threads} threads: a path to {last:?}");
                let actions: Vec<u8> = path.steps.iter().map(|(a, _)| *a).collect();
                assert_eq!(actions, reference[&last], "{threads} threads: to {last:?}");
            }
        }
    }
}
