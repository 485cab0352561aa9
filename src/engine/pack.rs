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
        let (word, shift) = ((self.at / 64) as usize, self.at % 64);
        if shift + self.bits <= 64 {
            // In one word (the common case): a shift and a mask.
            let v = words[word] >> shift;
            return if self.bits == 64 {
                v
            } else {
                v & ((1 << self.bits) - 1)
            };
        }
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

/// A field whose values lie on a grid: multiples of `step` up to `max`, and
/// `max` itself (a cap, which need not be a multiple: ages are often capped
/// at a threshold plus one). It packs `ceil(value / step)` and unpacks
/// `min(units * step, max)`, so every value on the grid round-trips and a
/// field of milliseconds on a 500 ms grid takes 9 bits fewer than the
/// milliseconds would. A value off the grid is a bug in the model (its
/// grid step does not divide a duration it uses): [`Writer::put_grid`]
/// refuses it as it refuses a value wider than its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridField {
    bits: u32,
    step: u64,
    /// `ceil(2^64 / step)`: `ceil(v / step)` is then one multiplication
    /// (exact for every numerator below 2^32: Lemire, Kaser and Kurz,
    /// "Faster remainder by direct computation", 2019). Unused for step 1.
    magic: u64,
    max: u64,
}

impl Default for GridField {
    /// A field that holds only 0 (no bits).
    fn default() -> Self {
        GridField::new(1, 0)
    }
}

impl GridField {
    /// Largest `max` (and step) a grid field takes: the division is exact
    /// for numerators below 2^32.
    pub const LIMIT: u64 = 1 << 31;

    /// A field for values on the grid of `step` up to `max`.
    ///
    /// # Panics
    ///
    /// When `step` is 0 or `step` or `max` is [`GridField::LIMIT`] or more
    /// (24 days of milliseconds).
    pub fn new(step: u64, max: u64) -> GridField {
        assert!(
            (1..Self::LIMIT).contains(&step) && max < Self::LIMIT,
            "a grid field of step {step} up to {max}"
        );
        let magic = if step == 1 { 0 } else { u64::MAX / step + 1 };
        let mut f = GridField {
            bits: 0,
            step,
            magic,
            max,
        };
        f.bits = bits_for(f.units(max));
        f
    }

    /// Its width in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Its largest value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// `ceil(value / step)`, for `value` below [`GridField::LIMIT`].
    #[inline(always)]
    fn units(&self, value: u64) -> u64 {
        if self.step == 1 {
            value
        } else {
            ((u128::from(value + self.step - 1) * u128::from(self.magic)) >> 64) as u64
        }
    }

    /// The value `units` stands for.
    #[inline(always)]
    fn value(&self, units: u64) -> u64 {
        (units * self.step).min(self.max)
    }
}

/// Writes fields into up to [`MAX_WORDS`] words.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    /// The words filled so far.
    words: [u64; MAX_WORDS],
    /// The word being filled (`words[pos / 64]` once full): kept apart so
    /// that writing a field is register work, not a read-modify-write of
    /// memory at a computed index (a chain of store-to-load forwards that
    /// made packing a fifth of a search).
    current: u64,
    pos: u32,
    /// Not 0 once a value did not fit its field (checked once, in
    /// [`Writer::finish_into`]): the bits that did not fit, OR-ed in
    /// without a branch. (A branch a field to an out-of-line call that set
    /// a flag, as before, made a whole search about 10 % slower: v4 ×
    /// cloud on one thread, seven alternating pairs of runs, 8.08–9.80 s
    /// (mean 8.77 s) against 8.21–11.25 s (mean 9.79 s).)
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
        if bits < 64 {
            self.overflow |= value >> bits;
        }
        self.put_fitting(value, bits);
    }

    /// [`Writer::put`] for a value known to fit its field (0 bits: the
    /// value is 0).
    #[inline(always)]
    fn put_fitting(&mut self, value: u64, bits: u32) {
        let end = self.pos + bits;
        // A model checks its layout fits once, when it is built.
        debug_assert!(
            end as usize <= MAX_WORDS * 64,
            "a packed state needs more than {} bits",
            MAX_WORDS * 64
        );
        let shift = self.pos % 64;
        self.current |= value << shift;
        if shift + bits >= 64 {
            self.words[(self.pos / 64) as usize] = self.current;
            // `value >> (64 - shift)`, 0 for a shift of 0.
            self.current = (value >> 1) >> (63 - shift);
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

    /// Appends `value`, a value on `field`'s grid (see [`GridField`]).
    /// A value off the grid, or past its largest, is refused in
    /// [`Writer::finish_into`] (a debug build panics here, naming it).
    #[inline(always)]
    #[track_caller]
    pub fn put_grid(&mut self, value: u64, field: GridField) {
        let units = self.grid_units(value, field);
        self.put_fitting(units, field.bits);
    }

    /// `value`'s units on `field`'s grid, which fit the field's bits; a
    /// value off the grid or past its largest is noted as an overflow.
    #[inline(always)]
    #[track_caller]
    fn grid_units(&mut self, value: u64, field: GridField) -> u64 {
        let units = field.units(value);
        let off = (value >> 31) | u64::from(field.value(units) != value);
        debug_assert!(off == 0, "packing {value} into {field:?}: off its grid");
        self.overflow |= off;
        units
    }

    /// Appends an optional value on a grid: a presence bit, then the value
    /// (0 when absent).
    #[inline]
    #[track_caller]
    pub fn opt_grid(&mut self, value: Option<u64>, field: GridField) {
        // One write of the presence bit and the value above it: the same
        // bits as two (a grid field has at most 31 bits).
        let units = self.grid_units(value.unwrap_or(0), field);
        self.put_fitting(u64::from(value.is_some()) | (units << 1), field.bits + 1);
    }

    /// Appends fields gathered with [`Fields`]: the same bits as writing
    /// each of them in turn.
    #[inline(always)]
    #[track_caller]
    pub fn put_fields(&mut self, fields: Fields) {
        // Each field was checked as it was gathered: a value too wide is in
        // `fields.overflow` already.
        self.overflow |= fields.overflow;
        self.put_fitting(fields.value, fields.bits);
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
    /// When a value written was wider than its field (see [`Writer::put`])
    /// or off its grid ([`Writer::put_grid`]): its bits would have merged
    /// distinct states.
    #[inline]
    pub fn finish_into(&self, out: &mut [u64]) {
        assert!(
            self.overflow == 0,
            "a packed value is wider than its field or off its grid (a debug build names it)"
        );
        debug_assert!(out.len() * 64 >= self.pos as usize);
        let n = out.len();
        out.copy_from_slice(&self.words[..n]);
        let last = (self.pos / 64) as usize;
        if last < n {
            out[last] = self.current;
        }
    }
}

/// Short fields gathered into one value, written with one
/// [`Writer::put_fields`] and read back with one [`Reader::fields`]: the
/// same bits as writing and reading each in turn (the first field in the
/// lowest bits), at a fraction of the cost when the widths are constants
/// (flags, codes), as the compiler then folds every shift. Gathering the
/// model's short fields (and writing an optional grid value as one field)
/// took packing a `v4-proposed × cloud` state from 1,424 to 994
/// instructions and unpacking from 1,603 to 1,097 (cachegrind,
/// `examples/pack_instructions.rs`), and the whole search on one thread
/// from 9.17–10.37 s to 7.90–9.50 s (four alternating pairs of runs).
///
/// At most 63 bits in all; a value wider than its field is refused as
/// [`Writer::put`] refuses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Fields {
    value: u64,
    bits: u32,
    overflow: u64,
}

impl Fields {
    /// No fields yet.
    #[inline(always)]
    pub fn new() -> Self {
        Fields::default()
    }

    /// These fields, then `value` in `bits` bits (fewer than 64).
    #[inline(always)]
    #[track_caller]
    pub fn put(self, value: u64, bits: u32) -> Self {
        debug_assert!(
            bits < 64 && value >> bits == 0,
            "packing {value} into a {bits}-bit field: wider than its field"
        );
        // Past 63 bits in all the shifts would wrap: refused too (in
        // `finish_into`, as a value wider than its field).
        let past = u64::from(self.bits + bits > 63);
        Fields {
            value: self.value | (value << (self.bits & 63)),
            bits: self.bits + bits,
            overflow: self.overflow | (value >> (bits & 63)) | past,
        }
    }

    /// These fields, then one bit.
    #[inline(always)]
    pub fn flag(self, b: bool) -> Self {
        self.put(u64::from(b), 1)
    }

    /// The next `bits` bits of fields read with [`Reader::fields`].
    #[inline(always)]
    pub fn take(&mut self, bits: u32) -> u64 {
        debug_assert!(bits <= self.bits, "taking {bits} of {} bits", self.bits);
        let v = self.value & ((1u64 << bits) - 1);
        self.value >>= bits;
        self.bits -= bits;
        v
    }

    /// The next bit of fields read with [`Reader::fields`].
    #[inline(always)]
    pub fn take_flag(&mut self) -> bool {
        self.take(1) == 1
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
        // The low `bits` bits (all 64 for 64: `2 << 63` is 0).
        v & (2u64 << (bits - 1)).wrapping_sub(1)
    }

    /// The next value on `field`'s grid (see [`Writer::put_grid`]).
    #[inline]
    pub fn get_grid(&mut self, field: GridField) -> u64 {
        let units = self.get(field.bits);
        field.value(units)
    }

    /// The next optional value on a grid (see [`Writer::opt_grid`]).
    #[inline]
    pub fn opt_grid(&mut self, field: GridField) -> Option<u64> {
        let v = self.get(field.bits + 1);
        (v & 1 == 1).then(|| field.value(v >> 1))
    }

    /// The next `bits` bits (at most 63), to be taken apart with
    /// [`Fields::take`] and [`Fields::take_flag`] in the order they were
    /// gathered.
    #[inline]
    pub fn fields(&mut self, bits: u32) -> Fields {
        debug_assert!(bits < 64, "{bits} bits of fields");
        Fields {
            value: self.get(bits),
            bits,
            overflow: 0,
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

    /// Every value on a grid round-trips, in the fewest bits; the cap
    /// (off the grid or on it) too.
    #[test]
    fn grid_values_round_trip_in_units() {
        for (step, max) in [
            (1, 0),
            (1, 62_001),
            (500, 62_001),
            (500, 60_000),
            (3, 10),
            (7, 7),
        ] {
            let f = GridField::new(step, max);
            assert_eq!(f.bits(), bits_for(max.div_ceil(step)), "{step} {max}");
            let values = (0..=max / step).map(|k| k * step).chain([max]);
            for v in values {
                // Behind 60 bits, so that the field crosses a word boundary.
                let mut w = Writer::new();
                w.put(0, 60);
                w.put_grid(v, f);
                w.opt_grid(Some(v), f);
                w.opt_grid(None, f);
                let mut words = [0; 2];
                w.finish_into(&mut words);
                let mut r = Reader::new(&words);
                r.skip(60);
                assert_eq!(r.get_grid(f), v);
                assert_eq!(r.opt_grid(f), Some(v));
                assert_eq!(r.opt_grid(f), None);
            }
        }
        // The division by multiplication is exact up to the limit.
        let f = GridField::new(12_345, GridField::LIMIT - 1);
        for v in (0..GridField::LIMIT - 12_345).step_by(999_983) {
            assert_eq!(f.units(v), v.div_ceil(12_345), "{v}");
        }
    }

    #[test]
    #[should_panic(expected = "off its grid")]
    fn a_value_off_its_grid_is_refused() {
        let mut w = Writer::new();
        w.put_grid(1_000, GridField::new(500, 60_001));
        w.put_grid(1_200, GridField::new(500, 60_001));
        w.finish_into(&mut [0; 1]);
    }

    #[test]
    #[should_panic(expected = "off its grid")]
    fn a_value_past_its_grid_is_refused() {
        let mut w = Writer::new();
        w.put_grid(60_500, GridField::new(500, 60_001));
        w.finish_into(&mut [0; 1]);
    }

    /// Gathered fields and a present or absent grid value are the same
    /// bits as writing each field in turn, wherever they fall, and read
    /// back field by field.
    #[test]
    fn gathered_fields_are_the_same_bits_as_one_field_a_time() {
        let grid = GridField::new(500, 60_001);
        let pad = |w: &mut Writer, bits: u32| {
            for _ in 0..bits / 32 {
                w.put(0, 32);
            }
            w.put(0, bits % 32);
        };
        for before in [0, 1, 50, 60, 63, 64, 100] {
            let mut one = Writer::new();
            pad(&mut one, before);
            one.flag(true);
            one.put(2, 2);
            one.put(0, 0);
            one.flag(false);
            one.put(5, 3);
            one.flag(true);
            one.put_grid(1_500, grid);
            one.flag(false);
            one.put_grid(0, grid);
            let mut gathered = Writer::new();
            pad(&mut gathered, before);
            gathered.put_fields(
                Fields::new()
                    .flag(true)
                    .put(2, 2)
                    .put(0, 0)
                    .flag(false)
                    .put(5, 3),
            );
            gathered.opt_grid(Some(1_500), grid);
            gathered.opt_grid(None, grid);
            let (mut a, mut b) = ([0; 4], [0; 4]);
            one.finish_into(&mut a);
            gathered.finish_into(&mut b);
            assert_eq!(a, b, "{before} bits before");
            let mut r = Reader::new(&b);
            r.skip(before);
            let mut f = r.fields(7);
            assert!(f.take_flag());
            assert_eq!(f.take(2), 2);
            assert_eq!(f.take(0), 0);
            assert!(!f.take_flag());
            assert_eq!(f.take(3), 5);
            assert_eq!(r.opt_grid(grid), Some(1_500));
            assert_eq!(r.opt_grid(grid), None);
        }
    }

    #[test]
    #[should_panic(expected = "wider than its field")]
    fn a_gathered_value_wider_than_its_field_is_refused() {
        let mut w = Writer::new();
        w.put_fields(Fields::new().flag(true).put(4, 2).flag(true));
        w.finish_into(&mut [0; 1]);
    }

    #[test]
    #[should_panic(expected = "wider than its field")]
    fn more_than_63_gathered_bits_are_refused() {
        let mut w = Writer::new();
        w.put_fields(Fields::new().put(0, 40).put(0, 20).put(1, 4));
        w.finish_into(&mut [0; 2]);
    }

    #[test]
    #[should_panic(expected = "off its grid")]
    fn an_optional_value_off_its_grid_is_refused() {
        let mut w = Writer::new();
        w.opt_grid(Some(1_200), GridField::new(500, 60_001));
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
