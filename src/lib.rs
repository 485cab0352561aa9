//! # livecheck
//!
//! A container-liveness policy ("is this container dead?") as an explicit,
//! sans-IO state machine, and the drivers around it: replay of recorded
//! events, and (see the README) the model checker, the thread-safe tracker and
//! the Go code generator.
//!
//! There is one implementation of the rule: [`decision::Decision`]. Every
//! driver feeds it inputs carrying `now` and acts on the steps it returns.
//!
//! # Embedding the decision
//!
//! With `default-features = false` the crate is the core alone (the decision,
//! policies, environments, the restart coordinator, replay and the
//! thread-safe [`tracker`]) on serde, serde_json and toml. The caller owns
//! the clock and the probe:
//!
//! ```
//! use livecheck::{Decision, Input, Policy, ProbeResult, Step, Verdict, Workspace};
//! use std::path::Path;
//!
//! // V0's rule: one probe, a not-running answer declares the container dead.
//! let toml = r#"
//! [probe]
//! on_error = "use_running_flag"
//! [restart]
//! debounce = "60s"
//! file_write_drop = "15s"
//! "#;
//! let policy = Policy::parse("v0", Path::new("v0.toml"), toml).expect("a valid policy");
//! let mut ws = Workspace::default();
//! let now = 1_000_000;
//! // The request failed: the decision starts and asks for a probe.
//! let (mut d, step) = Decision::start(&policy, &mut ws, now);
//! assert_eq!(step, Step::Probe);
//! // The caller runs IsRunning and feeds the answer back.
//! let step = d.step(&policy, &mut ws, now, Input::Probe(ProbeResult::NotRunning));
//! assert_eq!(step, Ok(Step::Done(Verdict::Dead)));
//! ```
#![warn(missing_docs)]

#[cfg(feature = "checker")]
pub mod baseline;
#[cfg(feature = "checker")]
pub mod calibrate;
#[cfg(feature = "checker")]
pub mod check;
#[cfg(feature = "checker")]
pub mod cli;
#[cfg(feature = "checker")]
pub mod codegen;
pub mod decision;
#[cfg(feature = "checker")]
pub mod diff;
pub mod duration;
#[cfg(feature = "checker")]
pub mod engine;
pub mod environment;
pub mod error;
#[cfg(feature = "checker")]
pub mod explain;
pub mod format;
pub mod input;
pub mod limits;
#[cfg(feature = "checker")]
pub mod model;
pub mod policy;
#[cfg(feature = "checker")]
pub mod provenance;
pub mod replay;
#[cfg(feature = "checker")]
pub mod report;
pub mod restart;
pub mod sha256;
pub mod shipped;
#[cfg(feature = "checker")]
pub mod sweep;
pub mod sync;
#[cfg(feature = "checker")]
pub mod trace;
pub mod tracker;
#[cfg(feature = "checker")]
pub mod validate;
pub mod workspace;

pub use decision::{Decision, Input, ProbeResult, Step, Verdict};
pub use duration::Ms;
pub use error::InputError;
pub use policy::Policy;
pub use workspace::Workspace;
