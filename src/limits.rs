//! The bounds livecheck puts on what it is given: the longest duration a
//! file may hold, the largest file and line it reads, and the range of every
//! numeric command-line flag. One place, so the messages and the README
//! agree (see `docs/hardening.md`).
//!
//! # One duration limit for the whole tool: 365 days
//!
//! Every duration in a policy or environment file (and every `--vary` value
//! of a sweep, and `--timeout`) must be at most [`MAX_DURATION_MS`], one
//! year. Why a year:
//!
//! * no liveness knob of any real platform comes near it (the shipped files
//!   top out at a minute), so nothing meaningful is refused;
//! * the arithmetic stays exact with room to spare. The model checker keeps
//!   a constant "now" of 2^40 ms (about 34.8 years, [`crate::model::NOW`])
//!   and stores instants as `NOW - age`; its largest age caps add a handful
//!   of knobs (settle window, longest restart cycle and fresh-heartbeat
//!   wait, plus 1; detection bound plus tick), so every sum stays below about
//!   three years: far below `NOW`, and below 2^62 ms, where the generated Go
//!   code (`int64` milliseconds) would overflow `now + duration`. Before this
//!   limit, `strikes.window = "18446744073709551615ms"` wrapped `window + 1`
//!   to 0 and a complete search reported a wrong verdict;
//! * a year is still a plain number to read in a message (`8760h`).
//!
//! A year is not a promise that the check of such a model terminates in
//! reasonable time: the state space grows with the ratio of the longest
//! knob to the clock tick (the checker's own estimate deals with that).

use crate::duration::Ms;
use crate::error::InputError;

/// The longest duration livecheck accepts anywhere: 365 days (`8760h`).
pub const MAX_DURATION_MS: Ms = 365 * 24 * 3_600_000;

/// The longest duration, as written in messages.
pub const MAX_DURATION_TEXT: &str = "8760h (365 days)";

/// Largest policy or environment file read: 1 MiB (the shipped ones are a
/// few kilobytes).
pub const MAX_MODEL_FILE_BYTES: u64 = 1 << 20;

/// Longest line of a JSON Lines replay log: 1 MiB (an event is about a
/// hundred bytes).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Largest `sweep --format json` output `sweep-merge` reads: 1 GiB.
pub const MAX_SWEEP_JSON_BYTES: u64 = 1 << 30;

/// `--timeout`: whole seconds, 1 to one year (the duration limit).
pub const MAX_TIMEOUT_SECS: u64 = MAX_DURATION_MS / 1000;

/// `--threads` and `--jobs`: at most this many (each is an OS thread; more
/// than the machine's cores only adds contention).
pub const MAX_THREADS: usize = 256;

/// Human size: `1 MiB`, `1 GiB`, `512 bytes`.
pub fn human_bytes(n: u64) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

fn whole(flag: &str, text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!("{flag} takes a whole number, not a negative one"));
    }
    t.parse::<u64>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => format!("{flag} {t} is far too large"),
        std::num::IntErrorKind::Empty => format!("{flag} needs a whole number"),
        _ => format!("{flag} takes a whole number (got {t:?})"),
    })
}

/// `--timeout SECONDS`: 1 ..= [`MAX_TIMEOUT_SECS`].
pub fn parse_timeout(text: &str) -> Result<u64, String> {
    let v = whole("--timeout", text)?;
    check_timeout(v).map_err(|e| e.reason)?;
    Ok(v)
}

/// `--threads N`: 1 ..= [`MAX_THREADS`].
pub fn parse_threads(text: &str) -> Result<usize, String> {
    let v = whole("--threads", text)?;
    check_threads("--threads", v).map_err(|e| e.reason)
}

/// `--jobs N`: 1 ..= [`MAX_THREADS`].
pub fn parse_jobs(text: &str) -> Result<usize, String> {
    let v = whole("--jobs", text)?;
    check_threads("--jobs", v).map_err(|e| e.reason)
}

/// `--max-states N`: at least 1.
pub fn parse_max_states(text: &str) -> Result<usize, String> {
    let v = whole("--max-states", text)?;
    check_max_states(usize::try_from(v).unwrap_or(usize::MAX)).map_err(|e| e.reason)
}

/// `--timeout` as the library takes it (seconds).
pub fn check_timeout(secs: u64) -> Result<u64, InputError> {
    if secs == 0 {
        return Err(InputError::new(
            "--timeout must be at least 1 second (leave it out for no time limit)",
        ));
    }
    if secs > MAX_TIMEOUT_SECS {
        return Err(InputError::new(format!(
            "--timeout {secs} is longer than livecheck allows: at most {MAX_TIMEOUT_SECS} seconds (365 days, its longest duration); leave it out for no time limit"
        )));
    }
    Ok(secs)
}

/// `--threads`/`--jobs` as the library takes them.
pub fn check_threads(flag: &str, n: u64) -> Result<usize, InputError> {
    if n == 0 {
        return Err(InputError::new(format!("{flag} must be at least 1")));
    }
    if n > MAX_THREADS as u64 {
        return Err(InputError::new(format!(
            "{flag} {n} is too many: at most {MAX_THREADS} (this machine has {} core(s))",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )));
    }
    Ok(n as usize)
}

/// `--max-states` as the library takes it.
pub fn check_max_states(n: usize) -> Result<usize, InputError> {
    if n == 0 {
        return Err(InputError::new(
            "--max-states must be at least 1 (leave it out for no state limit)",
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_ranges_with_reasons() {
        assert_eq!(parse_timeout("60"), Ok(60));
        assert!(parse_timeout("0").unwrap_err().contains("at least 1"));
        assert!(parse_timeout("18446744073709551615")
            .unwrap_err()
            .contains("at most 31536000 seconds"));
        assert!(parse_timeout("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_timeout("-1").unwrap_err().contains("negative"));
        assert!(parse_timeout("1.5").unwrap_err().contains("whole number"));
        assert_eq!(parse_threads("2"), Ok(2));
        assert!(parse_threads("100000").unwrap_err().contains("at most 256"));
        assert!(parse_jobs("0").unwrap_err().contains("at least 1"));
        assert!(parse_max_states("0").unwrap_err().contains("at least 1"));
        assert_eq!(parse_max_states("18446744073709551615"), Ok(usize::MAX));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(MAX_MODEL_FILE_BYTES), "1 MiB");
        assert_eq!(human_bytes(MAX_SWEEP_JSON_BYTES), "1 GiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}
