//! The one place the tracker's mutex comes from: `std::sync::Mutex` in normal
//! builds, loom's model of it when built with `RUSTFLAGS="--cfg loom"` (the
//! loom tests, `tests/loom_*.rs`). Only shared mutable state goes through
//! here; nothing else in the crate synchronizes.
//!
//! Under loom every value holding one of these mutexes (a
//! [`Tracker`](crate::tracker::Tracker)) must be created inside
//! `loom::model`.

#[cfg(loom)]
pub use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::sync::{Mutex, MutexGuard};

/// Locks `m`, recovering the data if a previous holder panicked.
///
/// Recovery is sound for the tracker: every critical section it runs is a
/// call into the decision machine or the restart coordinator, which never
/// panic and apply their updates as plain field writes, so a poisoned lock
/// can only mean a panic outside the data's update (e.g. a caller's
/// allocation failure) and the data is still a state those machines made.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
