//! The visited set: every state the search has seen, stored exactly (its
//! packed words, never only a fingerprint), with the link back to the state
//! it was first reached from.
//!
//! The set is split into [`SHARDS`] shards by hash, each an open-addressing
//! table behind its own mutex, so search threads rarely wait for each other.
//! A table is an array of groups of eight slots with their eight tag bytes
//! in front; a key is probed group by group from its home group
//! (linear probing), keys are stored in the slots with the state's id in
//! their spare bits, and a probe compares the eight tags at once and loads
//! only the keys whose tag matches. [`Visited::prefetch`] starts loading the
//! home group early so the search can overlap that cache miss with other
//! work. A state's id is its position in its shard's link list and the shard
//! number; ids never move, so parent links stay valid while tables grow.
//!
//! # Budget dominance at insertion
//!
//! The set also decides which states a budget-richer state dominates (see
//! [`crate::engine::Packable::budgets`]). The hash leaves the budget fields
//! out, so a state and every variant of it that differs only in its budgets
//! share a shard and a home group, and with linear probing (no deletions)
//! all of them lie in the probe run that starts at that home group. Inserting a
//! new state scans that run to its first free slot anyway; the scan also
//! compares the new state with each variant found there: the new state is
//! marked dominated when a variant dominates it, and a variant inserted
//! during the current level is marked dominated when the new state dominates
//! it. At the end of a level every state of that level is therefore marked
//! exactly when some state of the set dominates it, whatever order the
//! threads inserted in — the same answer as looking every dominator up after
//! the level, at the price of a scan mostly paid for anyway (the runs are
//! longer, since variants share a home) instead of one cache miss per
//! dominator.

use super::pack::Field;
use std::hash::Hasher;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// log2 of the number of shards. Many small shards rather than a few large
/// ones: a shard is locked while its table doubles (rehashing it and
/// faulting in the new pages), and a thread that needs it waits. With 64
/// shards that waiting was 5.4 s of a 2-thread v4 × docker search
/// (266,699 waits; 0.7 s with 1,024). Each shard starts small, so small
/// searches do not pay for the count.
const SHARD_BITS: u32 = 10;
/// Number of shards.
pub const SHARDS: usize = 1 << SHARD_BITS;
/// The parent of an initial state.
pub const ROOT: u32 = u32::MAX;

/// Most states the set can hold (ids are 32 bits, one value is reserved).
pub const MAX_STATES: usize = (u32::MAX - 1) as usize;

/// Most states one shard can hold: an id is the shard's number and the
/// state's index in the shard, in 32 bits, [`ROOT`] excluded.
const MAX_LOCAL: usize = (1 << (32 - SHARD_BITS)) - 1;

/// How a state was first reached: its parent's id (while the parent's level
/// is being expanded: the parent's rank in that level) and the index of the
/// action in the parent's action list. For an initial state: [`ROOT`] and the
/// index of the initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// Parent id or rank (see above).
    pub parent: u32,
    /// Action index.
    pub action: u16,
}

/// How a set hashes its states and compares their budgets.
#[derive(Debug, Clone)]
struct Keys<const W: usize> {
    /// A state's bits: every bit of a slot but its id's.
    state: [u64; W],
    /// The bits the hash reads: a state's bits but the budgets'.
    keep: [u64; W],
    /// The budget fields.
    budgets: Vec<Field>,
}

impl<const W: usize> Keys<W> {
    fn new(budgets: &[Field]) -> Self {
        let mut state = [u64::MAX; W];
        state[W - 1] = u64::from(u32::MAX);
        let mut out = [0u64; W];
        for f in budgets {
            assert!(
                f.bits >= 1 && f.bits <= 64 && (f.at + f.bits) as usize <= 64 * W - 32,
                "budget field {f:?} outside a {W}-word state"
            );
            f.mask_into(&mut out);
        }
        let mut keep = state;
        for (k, o) in keep.iter_mut().zip(out) {
            *k &= !o;
        }
        Keys {
            state,
            keep,
            budgets: budgets.to_vec(),
        }
    }

    /// FxHash over the words with the budget bits cleared, then mixed by a
    /// folded multiplication: FxHash's output leaves the words' high bits
    /// out of most of its own bits (it multiplies, and a product's low bits
    /// see only the factors' low bits), and the set reads the slot, the
    /// shard and the tag from three different parts of the hash.
    #[inline]
    fn hash(&self, words: &[u64; W]) -> u64 {
        let mut h = rustc_hash::FxHasher::default();
        for (w, k) in words.iter().zip(&self.keep) {
            h.write_u64(w & k);
        }
        let m = u128::from(h.finish()) * 0x9E37_79B9_7F4A_7C15;
        (m as u64) ^ ((m >> 64) as u64)
    }

    /// Which of `a` and `b`, two states equal outside the budget fields,
    /// dominates the other: `Some(true)` when `a` dominates `b` (every
    /// budget of `a` is at least `b`'s and one is larger), `Some(false)`
    /// when `b` dominates `a`, `None` when neither does. One pass over the
    /// fields for both questions. (The model's contract is about one raised
    /// budget at a time; raising several is those raises one after
    /// another, and simulation composes.)
    #[inline]
    fn dominance(&self, a: &[u64; W], b: &[u64; W]) -> Option<bool> {
        let (mut at_least, mut at_most) = (true, true);
        for f in &self.budgets {
            let (x, y) = (f.get(a), f.get(b));
            at_least &= x >= y;
            at_most &= x <= y;
        }
        match (at_least, at_most) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            // Equal budgets, or each larger in one.
            _ => None,
        }
    }
}

/// How two keys compare, word by word (the slice `==` calls `memcmp`,
/// which is slower for a few words).
#[derive(PartialEq, Eq)]
enum Likeness {
    /// Equal.
    Same,
    /// Equal but for budget bits.
    Kin,
    /// Different outside the budgets.
    Other,
}

#[inline(always)]
fn likeness<const W: usize>(a: &[u64; W], b: &[u64; W], keys: &Keys<W>) -> Likeness {
    let (mut all, mut kept) = (0, 0);
    for i in 0..W {
        let x = a[i] ^ b[i];
        all |= x & keys.state[i];
        kept |= x & keys.keep[i];
    }
    if all == 0 {
        Likeness::Same
    } else if kept == 0 {
        Likeness::Kin
    } else {
        Likeness::Other
    }
}

/// A state's link and whether a state of the set dominates it (only kept
/// up to date for the level being expanded; see the module docs). The link's
/// fields are flattened so that the flag fits in its padding: 8 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    parent: u32,
    action: u16,
    dominated: bool,
}

impl Entry {
    fn link(self) -> Link {
        Link {
            parent: self.parent,
            action: self.action,
        }
    }

    /// The entry in a link list's cell. A cell is atomic so that threads
    /// can settle the entries of different states without locking
    /// ([`Settler`]); relaxed loads and stores are plain moves.
    #[inline]
    fn load(cell: &AtomicU64) -> Entry {
        let v = cell.load(Ordering::Relaxed);
        Entry {
            parent: v as u32,
            action: (v >> 32) as u16,
            dominated: v >> 48 != 0,
        }
    }

    #[inline]
    fn bits(self) -> u64 {
        u64::from(self.parent) | u64::from(self.action) << 32 | u64::from(self.dominated) << 48
    }

    #[inline]
    fn store(self, cell: &AtomicU64) {
        cell.store(self.bits(), Ordering::Relaxed);
    }
}

/// The shard of a state with hash `h` ([`Visited::hash`]), below
/// [`SHARDS`].
#[inline]
pub fn shard_of(h: u64) -> usize {
    // The slot comes from the low bits; take the shard from the top.
    (h >> (64 - SHARD_BITS)) as usize
}

/// An id: local index in the shard, shard number in the low bits.
#[inline]
fn id(shard: usize, local: usize) -> u32 {
    ((local << SHARD_BITS) | shard) as u32
}

#[inline]
fn split(id: u32) -> (usize, usize) {
    (id as usize & (SHARDS - 1), (id >> SHARD_BITS) as usize)
}

/// A stored state: its packed words, with its id in the top 32 bits of the
/// last word (which a state leaves clear: see [`Visited`]). With the id in
/// the key, a slot takes `8 W` bytes, not `8 W + 8` (the id's 4 bytes and
/// padding).
type Slot<const W: usize> = [u64; W];

/// The id stored in a slot.
#[inline]
fn slot_id<const W: usize>(slot: &Slot<W>) -> u32 {
    (slot[W - 1] >> 32) as u32
}

/// A slot's tag: 0 for a free slot, else 7 bits of its key's hash (bits the
/// group index and the shard do not use) with the top bit set. A probe
/// compares a group's eight tags at once and only looks at the keys whose
/// tag matches: the states equal to the one looked up but for their budgets
/// (which share its hash) and one other key in 128.
#[inline]
fn tag_of(h: u64) -> u8 {
    0x80 | ((h >> (64 - SHARD_BITS - 7)) as u8 & 0x7f)
}

/// Slots in a group.
const GROUP: usize = 8;

/// Every byte's low bit.
const LOW: u64 = 0x0101_0101_0101_0101;

/// Every byte's top bit.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Eight slots and their tags, side by side: a probe reads the tags and the
/// keys they point at from one stretch of memory (one page, but for the few
/// groups that straddle two), where separate tag and key arrays cost two
/// address translations a probe (tables of hundreds of megabytes in 4 KB
/// pages: nearly every probe misses the TLB). Slots fill
/// in order (there are no deletions), so a group's free slots are the last
/// ones and its tags a run of non-zero bytes, from the lowest, then zeros.
#[derive(Clone, Copy)]
#[repr(C)]
struct Group<const W: usize> {
    /// Slot `k`'s tag in byte `k` ([`tag_of`]; 0: free).
    tags: u64,
    /// The keys and ids; a slot whose tag is 0 holds nothing.
    slots: [Slot<W>; GROUP],
}

impl<const W: usize> Group<W> {
    /// The slots whose tag is `tag`, as the top bit of their byte.
    #[inline]
    fn matching(&self, tag: u8) -> u64 {
        let x = self.tags ^ (LOW * u64::from(tag));
        // A byte's top bit is set when the byte is 0 (exact, no carries
        // between bytes: each byte's low seven bits plus 0x7f stay below 256).
        !(((x & !HIGH).wrapping_add(!HIGH)) | x) & HIGH
    }

    /// The first free slot, if any.
    #[inline]
    fn free(&self) -> Option<usize> {
        let free = !self.tags & HIGH;
        (free != 0).then(|| free.trailing_zeros() as usize / 8)
    }

    /// Fills free slot `k`.
    #[inline]
    fn set(&mut self, k: usize, tag: u8, slot: Slot<W>) {
        self.tags |= u64::from(tag) << (8 * k);
        self.slots[k] = slot;
    }
}

/// The slot indices (0 to 7) of the bytes whose top bit `bits` sets.
#[inline]
fn each(mut bits: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (bits != 0).then(|| {
            let k = bits.trailing_zeros() as usize / 8;
            bits &= bits - 1;
            k
        })
    })
}

struct Inner<const W: usize> {
    /// The table: a power of two of groups; a key's probe starts at the
    /// group its hash's low bits name and goes on group by group.
    groups: Vec<Group<W>>,
    len: usize,
    /// Each state's [`Entry`] ([`Entry::load`]), by its index in the shard.
    links: Vec<AtomicU64>,
    /// Links at or after this index were created while expanding the current
    /// level (their `parent` is still a rank).
    level_start: usize,
}

struct Shard<const W: usize> {
    inner: Mutex<Inner<W>>,
    /// The groups' address and the mask, read without the lock only to
    /// prefetch (a stale value prefetches the wrong line, which is harmless).
    hint_groups: AtomicPtr<Group<W>>,
    hint_mask: AtomicUsize,
}

/// What [`Visited::insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// A new state with this id.
    New(u32),
    /// Seen before.
    Seen,
    /// New, but its shard holds as many states as its ids can number
    /// (`2^22 - 1`; the set holds about 4 billion states before one does):
    /// not inserted, the search must stop.
    Full,
}

/// The sharded visited set of `W`-word states. A state leaves the top 32
/// bits of its last word clear: the set keeps the state's id there.
pub struct Visited<const W: usize> {
    shards: Vec<Shard<W>>,
    keys: Keys<W>,
}

fn lock<const W: usize>(m: &Mutex<Inner<W>>) -> MutexGuard<'_, Inner<W>> {
    // A poisoned shard means a search thread panicked; the panic itself is
    // reported by the join, and the set is not used after that.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Groups a shard's table starts with.
const INITIAL_GROUPS: usize = 1 << 3;

/// Prepares a fresh zeroed allocation `[ptr, ptr + bytes)` for a table
/// (Linux; elsewhere nothing):
///
/// - asks for transparent huge pages when it spans at least two: a
///   multi-gigabyte table otherwise spends much of its time in page faults
///   (measured: 12 % of a search) and TLB misses;
/// - maps its pages writable now, in one call (`MADV_POPULATE_WRITE`,
///   Linux 5.14; refused by older kernels, which changes nothing). A large
///   zeroed allocation comes from the kernel unmapped; a probe *reads* it
///   first, which maps the shared zero page, and the insert's write then
///   replaces that page and must flush the old mapping from the TLB of
///   every processor running the search — an interrupt to each other
///   thread's processor, a trip through the hypervisor on a virtual
///   machine. Measured on v4 × docker with 2 threads: 8.8 % of the search
///   in those flushes, and 8.5-8.9 s of system time against 2.3-2.6 s on
///   one thread;
/// - writes a zero byte first into each page that call leaves out: the
///   allocation's first and last pages (partly another allocation's, so
///   outside the call's whole pages), and every page of a table too small
///   for the call (fewer than 16 pages), which the allocator hands out
///   from untouched heap just as often. Before, those pages still met the
///   zero page: 7,072–7,536 TLB shootdowns a 2-thread v4 × docker search,
///   7,254 of 9,868 sampled ones from a table's growth replacing a zero
///   page; 2,439–2,562 after (nearly all `munmap` of a grown table's old
///   groups).
fn prepare(ptr: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    if bytes > 0 {
        const HUGE: usize = 2 << 20;
        const PAGE: usize = 4 << 10;
        let advise = |align: usize, advice: libc::c_int| {
            let start = (ptr as usize).next_multiple_of(align);
            let end = (ptr as usize + bytes) / align * align;
            if end > start {
                // SAFETY: the range lies inside the caller's allocation;
                // madvise only changes how the kernel backs it (and may fail,
                // which changes nothing): with these advices the contents
                // stay zero.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, advice);
                }
            }
        };
        if bytes >= 2 * HUGE {
            advise(HUGE, libc::MADV_HUGEPAGE);
        }
        let populated = bytes >= 16 * PAGE;
        if populated {
            advise(PAGE, libc::MADV_POPULATE_WRITE);
        }
        // The pages the call above leaves out: one zero byte each, which
        // keeps the contents.
        let first = ptr as usize / PAGE;
        let last = (ptr as usize + bytes - 1) / PAGE;
        let touch = |page: usize| {
            let at = (page * PAGE).max(ptr as usize);
            // SAFETY: `at` lies inside the caller's allocation (its first
            // byte, or a page start before its end), which holds zeros.
            unsafe { std::ptr::write_volatile(at as *mut u8, 0) }
        };
        if populated {
            touch(first);
            touch(last);
        } else {
            (first..=last).for_each(touch);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, bytes);
}

/// `n` empty groups, allocated zeroed: a large allocation comes straight
/// from the kernel as zero pages, so nothing is written here and each page
/// is zeroed once, by the kernel ([`prepare`]).
fn empty_groups<const W: usize>(n: usize) -> Vec<Group<W>> {
    let layout = std::alloc::Layout::array::<Group<W>>(n).expect("a table fits in memory");
    // SAFETY: the layout is not empty (`n` > 0, a group is not zero-sized);
    // an all-zero group is a valid, empty one (tags 0, keys 0); the vector
    // takes the allocation with the layout it was made with.
    let mut v = unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<Group<W>>();
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(ptr, n, n)
    };
    prepare(v.as_mut_ptr().cast(), n * std::mem::size_of::<Group<W>>());
    v
}

impl<const W: usize> Inner<W> {
    fn new() -> Self {
        Inner {
            groups: empty_groups(INITIAL_GROUPS),
            len: 0,
            links: Vec::new(),
            level_start: 0,
        }
    }

    fn grow(&mut self, keys: &Keys<W>) {
        let n = self.groups.len() * 2;
        let mut groups = empty_groups::<W>(n);
        let mask = n - 1;
        for g in &self.groups {
            for k in each(g.tags & HIGH) {
                let s = &g.slots[k];
                let mut i = keys.hash(s) as usize & mask;
                loop {
                    if let Some(free) = groups[i].free() {
                        groups[i].set(free, (g.tags >> (8 * k)) as u8, *s);
                        break;
                    }
                    i = (i + 1) & mask;
                }
            }
        }
        self.groups = groups;
    }
}

/// See [`Settler::settle`].
fn settle_cell(cell: &AtomicU64, parent_id: impl Fn(u32) -> u32) -> (Link, bool) {
    let mut e = Entry::load(cell);
    let link = e.link();
    e.parent = parent_id(link.parent);
    e.store(cell);
    (link, e.dominated)
}

impl<const W: usize> Visited<W> {
    /// An empty set of states whose budgets lie in `budgets` (see the
    /// module docs; none: no state dominates another).
    ///
    /// # Panics
    ///
    /// When a budget field is empty or lies outside `W` words.
    pub fn new(budgets: &[Field]) -> Self {
        Visited {
            keys: Keys::new(budgets),
            shards: (0..SHARDS)
                .map(|_| {
                    let mut inner = Inner::new();
                    Shard {
                        hint_groups: AtomicPtr::new(inner.groups.as_mut_ptr()),
                        hint_mask: AtomicUsize::new(inner.groups.len() - 1),
                        inner: Mutex::new(inner),
                    }
                })
                .collect(),
        }
    }

    /// The hash of a packed state, as [`Visited::prefetch`] and
    /// [`Visited::insert`] take it (the budget fields left out).
    #[inline]
    pub fn hash(&self, words: &[u64; W]) -> u64 {
        self.keys.hash(words)
    }

    /// Starts loading the group a state with hash `h` will be looked up at.
    #[inline]
    pub fn prefetch(&self, h: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let shard = &self.shards[shard_of(h)];
            let groups = shard.hint_groups.load(Ordering::Relaxed);
            let i = h as usize & shard.hint_mask.load(Ordering::Relaxed);
            let at = groups.wrapping_add(i) as *const i8;
            // SAFETY: a prefetch never faults and never reads into the
            // program; the addresses are only hints (possibly stale).
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                let mut off = 0;
                while off < std::mem::size_of::<Group<W>>() {
                    _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(off));
                    off += 64;
                }
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(std::mem::size_of::<Group<W>>() - 1));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
    }

    /// Shard `s`, locked for a run of inserts (waits for another thread
    /// holding it).
    #[inline]
    pub fn lock(&self, s: usize) -> Locked<'_, W> {
        self.locked(s, lock(&self.shards[s].inner))
    }

    /// Shard `s`, locked for a run of inserts, unless another thread holds
    /// it.
    #[inline]
    pub fn try_lock(&self, s: usize) -> Option<Locked<'_, W>> {
        let inner = match self.shards[s].inner.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(self.locked(s, inner))
    }

    /// Shard `s` with its lock held.
    fn locked<'a>(&'a self, s: usize, inner: MutexGuard<'a, Inner<W>>) -> Locked<'a, W> {
        Locked {
            keys: &self.keys,
            shard: &self.shards[s],
            s,
            inner,
        }
    }

    /// Inserts `words` (whose [`Visited::hash`] is `h`) reached by `link`
    /// unless present: [`Locked::insert`] on its shard, locked for this one
    /// insert.
    ///
    /// # Panics
    ///
    /// When `words` uses the top 32 bits of its last word (the id's).
    #[inline]
    pub fn insert(&self, words: &[u64; W], h: u64, link: Link) -> Insert {
        self.lock(shard_of(h)).insert(words, h, link)
    }

    fn inner(&mut self, shard: usize) -> &mut Inner<W> {
        self.shards[shard]
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a new level: links created from now on belong to it.
    pub fn next_level(&mut self) {
        for s in 0..SHARDS {
            let inner = self.inner(s);
            inner.level_start = inner.links.len();
        }
    }

    /// The set's links, for settling the level just expanded from several
    /// threads without locking (nothing inserts while it lives).
    pub fn settler(&mut self) -> Settler<'_> {
        Settler {
            links: self
                .shards
                .iter_mut()
                .map(|s| {
                    let inner = s.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
                    &inner.links[..]
                })
                .collect(),
        }
    }

    /// The link of state `id`.
    pub fn link(&mut self, id: u32) -> Link {
        self.entry(id).0
    }

    /// The link of state `id`, and whether a state of the set dominates it.
    /// The second is exact for the states of the level expanded last (see
    /// [`Visited::insert`]); for earlier levels' states, a state inserted
    /// after their level may dominate them unmarked.
    pub fn entry(&mut self, id: u32) -> (Link, bool) {
        let (s, local) = split(id);
        let e = Entry::load(&self.inner(s).links[local]);
        (e.link(), e.dominated)
    }

    /// Bytes the set holds on the heap (slots and links).
    pub fn heap_bytes(&mut self) -> usize {
        (0..SHARDS)
            .map(|s| {
                let inner = self.inner(s);
                inner.groups.capacity() * std::mem::size_of::<Group<W>>()
                    + inner.links.capacity() * std::mem::size_of::<AtomicU64>()
            })
            .sum()
    }
}

/// The links of a [`Visited`] into which nothing is inserting
/// ([`Visited::settler`]), shared by the threads that settle the level just
/// expanded: each state's entry is settled by one thread.
pub struct Settler<'a> {
    /// Each shard's link list.
    links: Vec<&'a [AtomicU64]>,
}

impl Settler<'_> {
    /// For a state first reached during the level just expanded: its link
    /// as recorded (the parent's rank in that level) and whether a state of
    /// the set dominates it; its recorded parent becomes `parent_id(rank)`.
    /// Call it once a state: a second call would map the id again.
    #[inline]
    pub fn settle(&self, id: u32, parent_id: impl Fn(u32) -> u32) -> (Link, bool) {
        let (s, local) = split(id);
        settle_cell(&self.links[s][local], parent_id)
    }
}

/// One shard of a [`Visited`], locked: consecutive inserts into the same
/// shard (a batch sorted by [`shard_of`]) take its lock once.
pub struct Locked<'a, const W: usize> {
    keys: &'a Keys<W>,
    shard: &'a Shard<W>,
    s: usize,
    inner: MutexGuard<'a, Inner<W>>,
}

impl<const W: usize> Locked<'_, W> {
    /// Inserts `words` (whose [`Visited::hash`] is `h`) reached by `link`
    /// unless present. When it is present and was first reached during the
    /// level being expanded, its link becomes the smaller of the two, so that
    /// the recorded parent does not depend on which thread got there first.
    /// A new state is marked dominated when a state of the set dominates it,
    /// and the states of the level being expanded that it dominates are
    /// marked ([`Visited::entry`]; see the module docs).
    ///
    /// # Panics
    ///
    /// When `words` uses the top 32 bits of its last word (the id's).
    #[inline]
    pub fn insert(&mut self, words: &[u64; W], h: u64, link: Link) -> Insert {
        // A model whose states use more bits than `Packable::bits` says
        // would have them overwritten by ids: refuse rather than merge states.
        assert_eq!(
            words[W - 1] >> 32,
            0,
            "a packed state uses more bits than it declares"
        );
        assert_eq!(shard_of(h), self.s, "a state inserted into another shard");
        let (s, shard) = (self.s, self.shard);
        let inner = &mut *self.inner;
        let mask = inner.groups.len() - 1;
        let home = h as usize & mask;
        let tag = tag_of(h);
        let mut i = home;
        let mut kin = false;
        // The probe: the keys with this hash lie in the groups from `home`
        // to the first one with a free slot.
        let free = loop {
            let g = &inner.groups[i];
            for k in each(g.matching(tag)) {
                let slot = &g.slots[k];
                match likeness(slot, words, self.keys) {
                    Likeness::Same => {
                        let (_, local) = split(slot_id(slot));
                        // Only a state of this level can take a smaller
                        // link (and only its entry is worth a cache miss).
                        if local >= inner.level_start {
                            let cell = &inner.links[local];
                            let entry = Entry::load(cell);
                            if link < entry.link() {
                                let (parent, action) = (link.parent, link.action);
                                Entry {
                                    parent,
                                    action,
                                    ..entry
                                }
                                .store(cell);
                            }
                        }
                        return Insert::Seen;
                    }
                    Likeness::Kin => kin = true,
                    Likeness::Other => {}
                }
            }
            if let Some(k) = g.free() {
                break k;
            }
            i = (i + 1) & mask;
        };
        // New: compare it with its budget variants, all in groups `home..=i`.
        let mut dominated = false;
        if kin {
            let mut j = home;
            loop {
                let g = &inner.groups[j];
                for k in each(g.matching(tag)) {
                    let slot = &g.slots[k];
                    if likeness(slot, words, self.keys) == Likeness::Kin {
                        let better = self.keys.dominance(slot, words);
                        if better == Some(true) {
                            dominated = true;
                        } else if better == Some(false) {
                            let (_, local) = split(slot_id(slot));
                            if local >= inner.level_start {
                                let cell = &inner.links[local];
                                let entry = Entry::load(cell);
                                Entry {
                                    dominated: true,
                                    ..entry
                                }
                                .store(cell);
                            }
                        }
                    }
                }
                if j == i {
                    break;
                }
                j = (j + 1) & mask;
            }
        }
        let local = inner.links.len();
        if local >= MAX_LOCAL {
            return Insert::Full;
        }
        let new = id(s, local);
        inner.links.push(AtomicU64::new(
            Entry {
                parent: link.parent,
                action: link.action,
                dominated,
            }
            .bits(),
        ));
        let mut slot = *words;
        slot[W - 1] |= u64::from(new) << 32;
        inner.groups[i].set(free, tag, slot);
        inner.len += 1;
        // Keep the load at most 3/4: short probe runs.
        if inner.len * 4 > inner.groups.len() * GROUP * 3 {
            inner.grow(self.keys);
            shard
                .hint_groups
                .store(inner.groups.as_mut_ptr(), Ordering::Relaxed);
            shard
                .hint_mask
                .store(inner.groups.len() - 1, Ordering::Relaxed);
        }
        Insert::New(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(v: &Visited<3>, w: [u64; 3], parent: u32, action: u16) -> Insert {
        v.insert(&w, v.hash(&w), Link { parent, action })
    }

    #[test]
    fn ids_are_stable_and_duplicates_keep_the_smaller_link() {
        let mut v = Visited::<3>::new(&[]);
        let a = [1, 2, 3];
        let Insert::New(ia) = ins(&v, a, 7, 3) else {
            panic!("new state not inserted")
        };
        assert_eq!(ins(&v, a, 7, 1), Insert::Seen);
        assert_eq!(v.link(ia).action, 1, "same level: the smaller link wins");
        v.next_level();
        ins(&v, a, 0, 0);
        assert_eq!(v.link(ia).action, 1, "an earlier level's link never moves");
        for i in 0..100_000u64 {
            assert!(matches!(ins(&v, [i, 9, 9], 0, 0), Insert::New(_)));
        }
        for i in 0..100_000u64 {
            assert_eq!(ins(&v, [i, 9, 9], 0, 0), Insert::Seen, "{i} after growing");
        }
        assert_eq!(v.link(ia).parent, 7);
    }

    #[test]
    fn dominance_is_marked_whichever_comes_first() {
        // Two 2-bit budgets in bits 0..4 of word 0; the rest is the state.
        let budgets = [Field { at: 0, bits: 2 }, Field { at: 2, bits: 2 }];
        let mut v = Visited::<3>::new(&budgets);
        let dominated = |v: &mut Visited<3>, i: Insert| match i {
            Insert::New(id) => v.entry(id).1,
            Insert::Seen | Insert::Full => panic!("not new"),
        };
        let old = ins(&v, [0b0110 | 0x10, 1, 1], 0, 0);
        v.next_level();
        // Budget 0 raised from 2 to 3: `old` does not dominate it, it
        // dominates `old` but `old` belongs to an earlier level.
        let a = ins(&v, [0b0111 | 0x10, 1, 1], 0, 0);
        // Budget 0 lower than `old`'s: dominated by an earlier level's state.
        let b = ins(&v, [0b0101 | 0x10, 1, 1], 0, 1);
        // Both budgets lower than `old`'s: dominated too.
        let c = ins(&v, [0x10, 1, 1], 0, 2);
        // One budget higher, one lower than `old`'s and `a`'s: neither
        // dominates the other.
        let g = ins(&v, [0b1001 | 0x10, 1, 1], 0, 6);
        // Dominated later in the level by `e`; `e` by no one.
        let d = ins(&v, [0b1000 | 0x10, 2, 1], 0, 3);
        let e = ins(&v, [0b1100 | 0x10, 2, 1], 0, 4);
        // Another state entirely.
        let f = ins(&v, [0b1000 | 0x20, 2, 1], 0, 5);
        assert!(!dominated(&mut v, a));
        assert!(dominated(&mut v, b));
        assert!(dominated(&mut v, c));
        assert!(!dominated(&mut v, g));
        assert!(dominated(&mut v, d));
        assert!(!dominated(&mut v, e));
        assert!(!dominated(&mut v, f));
        let Insert::New(old) = old else { panic!() };
        assert!(!v.entry(old).1, "an earlier level's state is never marked");
    }

    #[test]
    fn a_group_matches_exactly_its_tags_and_fills_in_order() {
        let mut g = Group::<2> {
            tags: 0,
            slots: [[0; 2]; GROUP],
        };
        // Tags that differ from each other in one bit, and repeats.
        let tags = [0x80u8, 0x81, 0xff, 0x80, 0xfe, 0x81, 0xc0];
        for (k, &t) in tags.iter().enumerate() {
            assert_eq!(g.free(), Some(k));
            g.set(k, t, [k as u64, 0]);
        }
        assert_eq!(g.free(), Some(tags.len()));
        for probe in 0x80..=0xffu8 {
            let found: Vec<usize> = each(g.matching(probe)).collect();
            let expected: Vec<usize> = (0..tags.len()).filter(|&k| tags[k] == probe).collect();
            assert_eq!(found, expected, "tag {probe:#x}");
        }
        g.set(tags.len(), 0x90, [9, 9]);
        assert_eq!(g.free(), None, "a full group has no free slot");
    }

    #[test]
    #[should_panic(expected = "more bits than it declares")]
    fn a_state_in_the_ids_bits_is_refused() {
        let v = Visited::<3>::new(&[]);
        ins(&v, [0, 0, 1 << 32], 0, 0);
    }
}
