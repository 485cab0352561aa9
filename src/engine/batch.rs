//! A thread's batch of generated states on its way into the visited set:
//! kept in the order it was generated (the order of its links), copied
//! once into shard order for inserting, and read back in generation order
//! for the new states, so that no list of new states is ever sorted by
//! link.
//!
//! Before, the states were moved into shard order, inserted, and the new
//! ones collected in shard order were then sorted back by link: a bucket
//! pass and a comparison sort of each bucket. On a one-thread v4 × cloud
//! search (perf, this 2-core VM) the sorts were 9–10 % of the samples, and
//! the two passes here are 5 % (`docs/model.md`). The shard order here is
//! a stable counting sort, so a state's place in it is known from its place
//! in the generation order: replaying the counting sort's cursors over the
//! generated states finds each one's insert result without a search and
//! without a sort.

use super::table::{self, Link};
use std::sync::atomic::{AtomicU32, Ordering};

/// A state's id slot before (or without) an insert that made it new.
const NOT_NEW: u32 = u32::MAX;

/// A generated state waiting in its thread's batch.
#[derive(Clone, Copy)]
pub(super) struct Pending<const W: usize> {
    pub(super) words: [u64; W],
    pub(super) hash: u64,
    pub(super) link: Link,
}

impl<const W: usize> Pending<W> {
    /// Its shard in the visited set.
    #[inline]
    pub(super) fn shard(&self) -> usize {
        table::shard_of(self.hash)
    }
}

/// A state of the next level with the link it was first reached by (its
/// parent's rank), which orders the level.
pub(super) type Keyed<const W: usize> = (Link, [u64; W], u32);

/// A batch of generated states (one thread's; see the module docs). An
/// empty one ([`Default`]) allocates nothing.
///
/// Its life: [`Batch::push`] in generation order, [`Batch::by_shard`],
/// inserts of [`Batch::run`]s that [`Batch::record`] each new state's id
/// (possibly from several threads, each over its own shards), then
/// [`Batch::new_states`] once every insert is done, and [`Batch::clear`].
#[derive(Default)]
pub(super) struct Batch<const W: usize> {
    /// In generation order: increasing links, since a thread expands its
    /// chunks of the level in increasing rank and each parent's actions in
    /// increasing index.
    generated: Vec<Pending<W>>,
    /// The same states in shard order (stable: within a shard, in
    /// generation order), once [`Batch::by_shard`] has run.
    sorted: Vec<Pending<W>>,
    /// Where each shard's states start in `sorted` (one more than the
    /// shards: the last is the batch's length), once [`Batch::by_shard`]
    /// has run.
    start: Vec<usize>,
    /// For each state of `sorted`: its id when its insert made it new, else
    /// [`NOT_NEW`]. Atomic because the level's last inserts write the ids
    /// of one batch from several threads (each a disjoint set of shards);
    /// the threads' join orders those writes before any read.
    ids: Vec<AtomicU32>,
}

impl<const W: usize> Batch<W> {
    /// States generated so far.
    pub(super) fn len(&self) -> usize {
        self.generated.len()
    }

    /// Adds a state, generated after every state already in the batch.
    #[inline]
    pub(super) fn push(&mut self, p: Pending<W>) {
        self.generated.push(p);
    }

    /// Copies the states into shard order (a counting sort: two passes)
    /// and marks every state not new.
    pub(super) fn by_shard(&mut self) {
        let n = self.generated.len();
        self.start.clear();
        self.start.resize(table::SHARDS + 1, 0);
        for p in &self.generated {
            self.start[p.shard() + 1] += 1;
        }
        for s in 0..table::SHARDS {
            self.start[s + 1] += self.start[s];
        }
        self.sorted.clear();
        self.sorted.reserve(n);
        let out = &mut self.sorted.spare_capacity_mut()[..n];
        let mut places = Places::new(&self.generated, &self.start);
        for (at, p) in &mut places {
            out[at].write(*p);
        }
        assert!(
            places.at[..table::SHARDS] == self.start[1..],
            "a state's shard changed between the two passes"
        );
        // SAFETY: shard `s`'s states were written from `start[s]` on, one
        // slot each, up to the cursor `places.at[s]`, which is
        // `start[s + 1]` (asserted): the shards tile `0..n`, so every one of
        // the first `n` slots is initialized.
        unsafe { self.sorted.set_len(n) };
        self.ids.clear();
        self.ids.resize_with(n, || AtomicU32::new(NOT_NEW));
    }

    /// Shard `s`'s states (in generation order) and their offset in shard
    /// order, for [`Batch::record`]. Only after [`Batch::by_shard`].
    #[inline]
    pub(super) fn run(&self, s: usize) -> (usize, &[Pending<W>]) {
        let (from, to) = (self.start[s], self.start[s + 1]);
        (from, &self.sorted[from..to])
    }

    /// Records that the state at `at` in shard order was new, with `id`.
    #[inline]
    pub(super) fn record(&self, at: usize, id: u32) {
        self.ids[at].store(id, Ordering::Relaxed);
    }

    /// Appends the states whose insert made them new to `found`, in
    /// generation order (so by link), with the links they were inserted by;
    /// returns how many. Only once every insert of the batch is done (after
    /// [`Batch::by_shard`]).
    pub(super) fn new_states(&self, found: &mut Vec<Keyed<W>>) -> usize {
        let before = found.len();
        for (at, p) in Places::new(&self.generated, &self.start) {
            let id = self.ids[at].load(Ordering::Relaxed);
            if id != NOT_NEW {
                found.push((p.link, p.words, id));
            }
        }
        found.len() - before
    }

    /// Empties the batch, keeping its buffers.
    pub(super) fn clear(&mut self) {
        self.generated.clear();
        self.sorted.clear();
        self.ids.clear();
    }
}

/// The generated states, in generation order, each with its place in
/// shard order: the counting sort's cursors, from the shard starts on. The
/// one walk both [`Batch::by_shard`] (to copy each state there) and
/// [`Batch::new_states`] (to read its insert result there) take, so the two
/// always agree.
struct Places<'a, const W: usize> {
    states: std::slice::Iter<'a, Pending<W>>,
    /// Each shard's next place in shard order.
    at: Vec<usize>,
}

impl<'a, const W: usize> Places<'a, W> {
    fn new(generated: &'a [Pending<W>], start: &[usize]) -> Self {
        Places {
            states: generated.iter(),
            at: start.to_vec(),
        }
    }
}

impl<'a, const W: usize> Iterator for Places<'a, W> {
    type Item = (usize, &'a Pending<W>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let p = self.states.next()?;
        let s = p.shard();
        let at = self.at[s];
        self.at[s] += 1;
        Some((at, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of `n` states whose hashes spread over the shards, with
    /// links in generation order.
    fn batch(n: usize, seed: u64) -> Batch<2> {
        let mut b = Batch::default();
        let mut x = seed;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(Pending {
                words: [i as u64, 0],
                hash: x,
                link: Link {
                    parent: (i / 3) as u32,
                    action: (i % 3) as u16,
                },
            });
        }
        b
    }

    #[test]
    fn shard_order_is_stable_and_complete() {
        let mut b = batch(5_000, 0x9e37_79b9_7f4a_7c15);
        b.by_shard();
        let mut seen = 0;
        for s in 0..table::SHARDS {
            let (_, run) = b.run(s);
            assert!(run.iter().all(|p| p.shard() == s));
            // Stable: generation order (the words hold the index) within
            // a shard.
            assert!(run.windows(2).all(|w| w[0].words[0] < w[1].words[0]));
            seen += run.len();
        }
        assert_eq!(seen, 5_000);
    }

    #[test]
    fn new_states_come_back_in_generation_order_with_their_ids() {
        let mut b = batch(5_000, 0x2545_f491_4f6c_dd1d);
        b.by_shard();
        // Every third state (by its index in generation order) is new,
        // with an id derived from that index.
        for s in 0..table::SHARDS {
            let (from, run) = b.run(s);
            for (k, p) in run.iter().enumerate() {
                let i = p.words[0];
                if i % 3 == 0 {
                    b.record(from + k, (i * 7) as u32);
                }
            }
        }
        let mut found = Vec::new();
        assert_eq!(b.new_states(&mut found), 1_667);
        let expected: Vec<(u64, u32)> = (0..5_000u64)
            .filter(|i| i % 3 == 0)
            .map(|i| (i, (i * 7) as u32))
            .collect();
        let got: Vec<(u64, u32)> = found.iter().map(|k| (k.1[0], k.2)).collect();
        assert_eq!(got, expected);
        assert!(found.windows(2).all(|w| w[0].0 < w[1].0));
        // Cleared and reused: nothing is new until recorded again.
        b.clear();
        b.push(Pending {
            words: [1, 0],
            hash: 3,
            link: Link {
                parent: 0,
                action: 0,
            },
        });
        b.by_shard();
        found.clear();
        assert_eq!(b.new_states(&mut found), 0);
    }
}
