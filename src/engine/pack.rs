//! Fixed-width bit packing: how a model writes a state into the few machine
//! words the explorer stores and hashes.
//!
//! A model decides each field's width once (from the largest value the field
//! can take in that model) and then writes fields in a fixed order with
//! [`Writer`] and reads them back in the same order with [`Reader`]. A value
//! wider than its field is a bug in the model's bounds: [`Writer::put`]
//! panics rather than store a different state (a silent truncation would
//! merge states the rule tells apart and make a verdict unsound).

/// Most words a packed state may take.
pub const MAX_WORDS: usize = 8;

/// Words a state of `bits` bits takes.
pub const fn words_for(bits: u32) -> usize {
    (bits as usize).div_ceil(64)
}

/// Bits needed to store every value in `0..=max`.
pub const fn bits_for(max: u64) -> u32 {
    u64::BITS - max.leading_zeros()
}

/// Where a field lies in a packed state: its first bit and its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The field's first bit (bit 0 is word 0's lowest).
    pub at: u32,
    /// Its width in bits (1 to 64).
    pub bits: u32,
}

impl Field {
    /// The field's value in `words`.
    #[inline]
    pub fn get(self, words: &[u64]) -> u64 {
        let mut r = Reader::new(words);
        r.skip(self.at);
        r.get(self.bits)
    }

    /// Sets this field's bits in `words`, leaving the other bits as they
    /// are (on zeroed words: the field's mask).
    pub fn mask_into(self, words: &mut [u64]) {
        for b in self.at..self.at + self.bits {
            words[(b / 64) as usize] |= 1 << (b % 64);
        }
    }
}

/// Writes fields into up to [`MAX_WORDS`] words.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    words: [u64; MAX_WORDS],
    pos: u32,
    /// The bits of every value written that lie past its field's width
    /// (checked once, in [`Writer::finish_into`]).
    overflow: u64,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// Appends `value` in `bits` bits.
    ///
    /// A value wider than its field is a bug in the model's layout: a debug
    /// build panics here, naming it; every build panics in
    /// [`Writer::finish_into`] (one check a state instead of one a field:
    /// packing is on the search's hot path).
    ///
    /// # Panics
    ///
    /// In a debug build, when `value` does not fit in `bits` bits, or the
    /// state outgrows [`MAX_WORDS`] words (checked once, when the model is
    /// built).
    #[inline(always)]
    #[track_caller]
    pub fn put(&mut self, value: u64, bits: u32) {
        debug_assert!(
            bits == 64 || value >> bits == 0,
            "packing {value} into a {bits}-bit field: wider than its field"
        );
        if bits == 0 {
            self.overflow |= value;
            return;
        }
        self.overflow |= if bits >= 64 { 0 } else { value >> bits };
        let end = self.pos + bits;
        // A model checks its layout fits once, when it is built.
        debug_assert!(
            end as usize <= MAX_WORDS * 64,
            "a packed state needs more than {} bits",
            MAX_WORDS * 64
        );
        let word = (self.pos / 64) as usize;
        let shift = self.pos % 64;
        self.words[word] |= value << shift;
        if shift + bits > 64 {
            self.words[word + 1] |= value >> (64 - shift);
        }
        self.pos = end;
    }

    /// Appends one bit.
    #[inline]
    pub fn flag(&mut self, b: bool) {
        self.put(u64::from(b), 1);
    }

    /// Appends an optional value: a presence bit, then the value (0 when absent).
    #[inline]
    pub fn opt(&mut self, value: Option<u64>, bits: u32) {
        self.flag(value.is_some());
        self.put(value.unwrap_or(0), bits);
    }

    /// Bits written so far.
    pub fn len(&self) -> u32 {
        self.pos
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Copies the packed words into `out` (which must hold every bit
    /// written).
    ///
    /// # Panics
    ///
    /// When a value written was wider than its field (see [`Writer::put`]):
    /// its bits would have merged distinct states.
    #[inline]
    pub fn finish_into(&self, out: &mut [u64]) {
        assert!(
            self.overflow == 0,
            "a packed value is wider than its field (a debug build names it)"
        );
        debug_assert!(out.len() * 64 >= self.pos as usize);
        let n = out.len();
        out.copy_from_slice(&self.words[..n]);
    }
}

/// Reads fields back, in the order they were written.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    words: &'a [u64],
    pos: u32,
}

impl<'a> Reader<'a> {
    /// A reader at the first bit.
    pub fn new(words: &'a [u64]) -> Self {
        Reader { words, pos: 0 }
    }

    /// The next `bits` bits as a value.
    #[inline]
    pub fn get(&mut self, bits: u32) -> u64 {
        if bits == 0 {
            return 0;
        }
        let word = (self.pos / 64) as usize;
        let shift = self.pos % 64;
        let mut v = self.words[word] >> shift;
        if shift + bits > 64 {
            v |= self.words[word + 1] << (64 - shift);
        }
        self.pos += bits;
        if bits == 64 {
            v
        } else {
            v & ((1u64 << bits) - 1)
        }
    }

    /// Skips `bits` bits.
    #[inline]
    pub fn skip(&mut self, bits: u32) {
        self.pos += bits;
    }

    /// The next bit.
    #[inline]
    pub fn flag(&mut self) -> bool {
        self.get(1) == 1
    }

    /// The next optional value (see [`Writer::opt`]).
    #[inline]
    pub fn opt(&mut self, bits: u32) -> Option<u64> {
        let present = self.flag();
        let v = self.get(bits);
        present.then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_across_word_boundaries() {
        let fields: Vec<(u64, u32)> = (0..40)
            .map(|i| {
                let bits = (i * 7 % 13) + 1;
                (
                    (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1)) >> (64 - bits),
                    bits as u32,
                )
            })
            .collect();
        let mut w = Writer::new();
        for &(v, b) in &fields {
            w.put(v, b);
        }
        let mut words = [0; MAX_WORDS];
        w.finish_into(&mut words);
        let mut r = Reader::new(&words);
        for &(v, b) in &fields {
            assert_eq!(r.get(b), v);
        }
    }

    #[test]
    fn full_width_and_options() {
        let mut w = Writer::new();
        w.put(3, 2);
        w.put(u64::MAX, 64);
        w.opt(Some(5), 3);
        w.opt(None, 3);
        w.flag(true);
        let mut words = [0; 2];
        w.finish_into(&mut words);
        let mut r = Reader::new(&words);
        assert_eq!(r.get(2), 3);
        assert_eq!(r.get(64), u64::MAX);
        assert_eq!(r.opt(3), Some(5));
        assert_eq!(r.opt(3), None);
        assert!(r.flag());
    }

    #[test]
    #[should_panic(expected = "wider than its field")]
    fn a_value_wider_than_its_field_is_refused() {
        let mut w = Writer::new();
        w.put(1, 2);
        w.put(8, 3);
        w.put(1, 2);
        // A debug build panics in `put`, naming the field; every build here.
        w.finish_into(&mut [0; 1]);
    }

    #[test]
    fn bits_for_covers_the_maximum() {
        assert_eq!(bits_for(0), 0);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(2), 2);
        assert_eq!(bits_for(255), 8);
        assert_eq!(bits_for(256), 9);
    }
}
