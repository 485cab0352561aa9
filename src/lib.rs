//! # livecheck
//!
//! A container-liveness policy ("is this container dead?") as an explicit,
//! sans-IO state machine, and the drivers around it: replay of recorded
//! events, and (see the README) the model checker, the thread-safe tracker and
//! the Go code generator.
//!
//! There is one implementation of the rule: [`decision::Decision`]. Every
//! driver feeds it inputs carrying `now` and acts on the steps it returns.
#![warn(missing_docs)]

pub mod baseline;
pub mod calibrate;
pub mod check;
pub mod cli;
pub mod codegen;
pub mod decision;
pub mod diff;
pub mod duration;
pub mod engine;
pub mod environment;
pub mod error;
pub mod explain;
pub mod input;
pub mod limits;
pub mod model;
pub mod policy;
pub mod provenance;
pub mod replay;
pub mod report;
pub mod restart;
pub mod sweep;
pub mod sync;
pub mod trace;
pub mod tracker;
pub mod workspace;

pub use decision::{Decision, Input, ProbeResult, Step, Verdict};
pub use duration::Ms;
pub use error::InputError;
pub use policy::Policy;
pub use workspace::Workspace;
