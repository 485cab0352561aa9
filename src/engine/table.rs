//! The visited set: every state the search has seen, stored exactly (its
//! packed words, never only a fingerprint), with the link back to the state
//! it was first reached from.
//!
//! The set is split into [`SHARDS`] shards by hash, each an open-addressing
//! table (linear probing, keys stored in the slots) behind its own mutex, so
//! search threads rarely wait for each other. Looking a state up costs one
//! cache miss on a large table; [`Visited::prefetch`] starts that miss early
//! so the search can overlap it with other work. A state's id is its
//! position in its shard's link list and the shard number; ids never move,
//! so parent links stay valid while tables grow.

use std::hash::Hasher;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// log2 of the number of shards.
const SHARD_BITS: u32 = 6;
/// Number of shards.
pub const SHARDS: usize = 1 << SHARD_BITS;
/// The parent of an initial state.
pub const ROOT: u32 = u32::MAX;
/// An empty slot.
const EMPTY: u32 = u32::MAX;

/// Most states the set can hold (ids are 32 bits, one value is reserved).
pub const MAX_STATES: usize = (u32::MAX - 1) as usize;

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

/// The hash of a packed state (FxHash over its words).
#[inline]
pub fn hash<const W: usize>(words: &[u64; W]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    for &w in words {
        h.write_u64(w);
    }
    h.finish()
}

/// Word-by-word equality (the slice `==` calls `memcmp`, which is slower for
/// a few words).
#[inline(always)]
fn same<const W: usize>(a: &[u64; W], b: &[u64; W]) -> bool {
    let mut diff = 0;
    for i in 0..W {
        diff |= a[i] ^ b[i];
    }
    diff == 0
}

#[inline]
fn shard_of(h: u64) -> usize {
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

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot<const W: usize> {
    key: [u64; W],
    id: u32,
}

struct Inner<const W: usize> {
    slots: Vec<Slot<W>>,
    len: usize,
    links: Vec<Link>,
    /// Links at or after this index were created while expanding the current
    /// level (their `parent` is still a rank).
    level_start: usize,
}

struct Shard<const W: usize> {
    inner: Mutex<Inner<W>>,
    /// The slots' address and mask, read without the lock only to prefetch
    /// (a stale value prefetches the wrong line, which is harmless).
    hint_ptr: AtomicPtr<Slot<W>>,
    hint_mask: AtomicUsize,
}

/// What [`Visited::insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// A new state with this id.
    New(u32),
    /// Seen before.
    Seen,
}

/// The sharded visited set of `W`-word states.
pub struct Visited<const W: usize> {
    shards: Vec<Shard<W>>,
}

fn lock<const W: usize>(m: &Mutex<Inner<W>>) -> MutexGuard<'_, Inner<W>> {
    // A poisoned shard means a search thread panicked; the panic itself is
    // reported by the join, and the set is not used after that.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

const INITIAL_SLOTS: usize = 1 << 10;

/// `n` empty slots. Large tables ask Linux for transparent huge pages: a
/// multi-gigabyte table otherwise spends much of its time in page faults
/// (measured: 12 % of a search) and TLB misses.
fn empty_slots<const W: usize>(n: usize) -> Vec<Slot<W>> {
    let mut v: Vec<Slot<W>> = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = n * std::mem::size_of::<Slot<W>>();
        if bytes >= 2 * HUGE {
            let start = (v.as_mut_ptr() as usize).next_multiple_of(HUGE);
            let end = (v.as_mut_ptr() as usize + bytes) / HUGE * HUGE;
            if end > start {
                // SAFETY: the range lies inside the vector's own allocation;
                // madvise only changes how the kernel backs it (and may fail,
                // which changes nothing).
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v.resize(
        n,
        Slot {
            key: [0; W],
            id: EMPTY,
        },
    );
    v
}

impl<const W: usize> Inner<W> {
    fn new() -> Self {
        Inner {
            slots: empty_slots(INITIAL_SLOTS),
            len: 0,
            links: Vec::new(),
            level_start: 0,
        }
    }

    fn grow(&mut self) {
        let mut bigger = empty_slots::<W>(self.slots.len() * 2);
        let mask = bigger.len() - 1;
        for s in &self.slots {
            if s.id != EMPTY {
                let mut i = hash(&s.key) as usize & mask;
                while bigger[i].id != EMPTY {
                    i = (i + 1) & mask;
                }
                bigger[i] = *s;
            }
        }
        self.slots = bigger;
    }
}

impl<const W: usize> Default for Visited<W> {
    fn default() -> Self {
        Visited::new()
    }
}

impl<const W: usize> Visited<W> {
    /// An empty set.
    pub fn new() -> Self {
        Visited {
            shards: (0..SHARDS)
                .map(|_| {
                    let mut inner = Inner::new();
                    Shard {
                        hint_ptr: AtomicPtr::new(inner.slots.as_mut_ptr()),
                        hint_mask: AtomicUsize::new(inner.slots.len() - 1),
                        inner: Mutex::new(inner),
                    }
                })
                .collect(),
        }
    }

    /// Starts loading the slot a state with hash `h` will be looked up in.
    #[inline]
    pub fn prefetch(&self, h: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let shard = &self.shards[shard_of(h)];
            let base = shard.hint_ptr.load(Ordering::Relaxed);
            let i = h as usize & shard.hint_mask.load(Ordering::Relaxed);
            // SAFETY: a prefetch never faults and never reads into the
            // program; the address is only a hint (possibly stale).
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(i) as *const i8);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
    }

    /// Inserts `words` (whose [`hash`] is `h`) reached by `link` unless
    /// present. When it is present and was first reached during the level
    /// being expanded, its link becomes the smaller of the two, so that the
    /// recorded parent does not depend on which thread got there first.
    #[inline]
    pub fn insert(&self, words: &[u64; W], h: u64, link: Link) -> Insert {
        let s = shard_of(h);
        let shard = &self.shards[s];
        let mut guard = lock(&shard.inner);
        let inner = &mut *guard;
        let mask = inner.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &inner.slots[i];
            if slot.id == EMPTY {
                break;
            }
            if same(&slot.key, words) {
                let (_, local) = split(slot.id);
                if local >= inner.level_start && link < inner.links[local] {
                    inner.links[local] = link;
                }
                return Insert::Seen;
            }
            i = (i + 1) & mask;
        }
        let local = inner.links.len();
        let new = id(s, local);
        inner.links.push(link);
        inner.slots[i] = Slot {
            key: *words,
            id: new,
        };
        inner.len += 1;
        // Keep the load at most 3/4: short probe runs.
        if inner.len * 4 > inner.slots.len() * 3 {
            inner.grow();
            shard
                .hint_ptr
                .store(inner.slots.as_mut_ptr(), Ordering::Relaxed);
            shard
                .hint_mask
                .store(inner.slots.len() - 1, Ordering::Relaxed);
        }
        Insert::New(new)
    }

    /// True when `words` (hash `h`) is in the set.
    pub fn contains(&self, words: &[u64; W], h: u64) -> bool {
        let shard = &self.shards[shard_of(h)];
        let inner = lock(&shard.inner);
        let mask = inner.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &inner.slots[i];
            if slot.id == EMPTY {
                return false;
            }
            if same(&slot.key, words) {
                return true;
            }
            i = (i + 1) & mask;
        }
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

    /// The link of state `id`.
    pub fn link(&mut self, id: u32) -> Link {
        let (s, local) = split(id);
        self.inner(s).links[local]
    }

    /// Replaces the link of state `id`.
    pub fn set_link(&mut self, id: u32, link: Link) {
        let (s, local) = split(id);
        self.inner(s).links[local] = link;
    }

    /// Bytes the set holds on the heap (slots and links).
    pub fn heap_bytes(&mut self) -> usize {
        (0..SHARDS)
            .map(|s| {
                let inner = self.inner(s);
                inner.slots.capacity() * std::mem::size_of::<Slot<W>>()
                    + inner.links.capacity() * std::mem::size_of::<Link>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(v: &Visited<3>, w: [u64; 3], parent: u32, action: u16) -> Insert {
        v.insert(&w, hash(&w), Link { parent, action })
    }

    #[test]
    fn ids_are_stable_and_duplicates_keep_the_smaller_link() {
        let mut v = Visited::<3>::new();
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
}
