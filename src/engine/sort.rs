//! Sorting the search's large buffers (a thread's batch of generated
//! states by shard, the new states it found by link) by an integer key: a
//! count of each bucket's items, one pass copying each item to its
//! bucket's place in a second buffer, then each bucket sorted where it
//! lies, small enough for the processor's caches. With few keys (a
//! batch's 1,024 shards) a bucket holds one key and nothing is sorted
//! after the copy.
//!
//! A comparison sort of a batch of a million 48-byte states went over the
//! whole batch about twenty times, most of them out of the caches; the two
//! sorts of a search were 12.7 % of a one-thread v4 × docker search (perf,
//! this 2-core VM), about 6 % since (`docs/model.md`).

/// Items a bucket holds on average: its sort stays in the first-level
/// cache (256 new states of 40 bytes: 10 KB).
const PER_BUCKET: usize = 256;

/// Most buckets: the scatter writes to one place a bucket at a time, which
/// stays cheap while their lines fit in the second-level cache.
const MAX_BUCKETS: usize = 1 << 14;

/// Below this many items a plain sort is as fast.
const SMALL: usize = 1 << 12;

/// Sorts `items` by `key` (not stably), every key below `bound`; `key`
/// must give an item the same key each time. Uses `scratch` as the second
/// buffer (its contents are dropped): on return `items` holds the sorted
/// items, in what may be `scratch`'s buffer, and `scratch` is an empty
/// buffer, to be reused.
pub(super) fn sort_by_key<T: Copy>(
    items: &mut Vec<T>,
    scratch: &mut Vec<T>,
    bound: u64,
    key: impl Fn(&T) -> u64,
) {
    let n = items.len();
    if n <= SMALL {
        items.sort_unstable_by_key(|t| key(t));
        scratch.clear();
        return;
    }
    debug_assert!(items.iter().all(|t| key(t) < bound));
    // A bucket a key when there are few keys (then no bucket needs a
    // sort), else about `PER_BUCKET` items a bucket.
    let buckets = if bound <= MAX_BUCKETS as u64 {
        (bound as usize).next_power_of_two()
    } else {
        (n / PER_BUCKET).next_power_of_two().min(MAX_BUCKETS)
    };
    // The key's top bits pick the bucket: keys below `bound` fit in
    // `bits` bits.
    let bits = u64::BITS - bound.saturating_sub(1).leading_zeros();
    let shift = bits.saturating_sub(buckets.trailing_zeros());
    let bucket = |t: &T| (key(t) >> shift) as usize;
    // Where each bucket starts in the sorted order (one more than the
    // buckets: the last is `n`).
    let mut start = vec![0usize; buckets + 1];
    for t in items.iter() {
        start[bucket(t) + 1] += 1;
    }
    for b in 0..buckets {
        start[b + 1] += start[b];
    }
    scratch.clear();
    scratch.reserve(n);
    let out = &mut scratch.spare_capacity_mut()[..n];
    let mut at = start.clone();
    for t in items.iter() {
        let b = bucket(t);
        out[at[b]].write(*t);
        at[b] += 1;
    }
    assert!(
        at[..buckets] == start[1..],
        "a key changed between the two passes"
    );
    // SAFETY: bucket `b` was written from `start[b]` on, one slot an item,
    // up to `at[b]`, which is `start[b + 1]` (asserted): the buckets tile
    // `0..n` and every one of the first `n` slots is initialized.
    unsafe { scratch.set_len(n) };
    if shift > 0 {
        for b in 0..buckets {
            scratch[start[b]..start[b + 1]].sort_unstable_by_key(|t| key(t));
        }
    }
    std::mem::swap(items, scratch);
    scratch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A xorshift stream of keys below `bound`, with their positions.
    fn items(n: usize, bound: u64, seed: u64) -> Vec<(u64, u32)> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % bound, i as u32)
            })
            .collect()
    }

    #[test]
    fn sorts_like_a_comparison_sort_at_every_size_and_bound() {
        for &(n, bound) in &[
            (0, 1),
            (5, 10),
            (SMALL, 1 << 20),
            (SMALL + 1, 1 << 20),
            (100_000, 1 << 58),
            (100_000, 3),
            (100_000, u64::MAX),
            (300_000, 1_000_003),
            (1_000_000, 1 << 40),
            (100_000, 1024),
            (100_000, MAX_BUCKETS as u64),
            (100_000, MAX_BUCKETS as u64 + 1),
        ] {
            let mut v = items(n, bound, 0x9E37_79B9_7F4A_7C15 ^ n as u64);
            let mut expected = v.clone();
            expected.sort_unstable_by_key(|t| t.0);
            let mut scratch = vec![(7, 7); 3];
            sort_by_key(&mut v, &mut scratch, bound, |t| t.0);
            assert_eq!(
                v.iter().map(|t| t.0).collect::<Vec<_>>(),
                expected.iter().map(|t| t.0).collect::<Vec<_>>(),
                "n {n}, bound {bound}"
            );
            // The same items: every position once.
            let mut seen: Vec<u32> = v.iter().map(|t| t.1).collect();
            seen.sort_unstable();
            assert!(seen.iter().enumerate().all(|(i, &p)| p == i as u32));
            assert!(scratch.is_empty());
        }
    }
}
