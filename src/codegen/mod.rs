//! Code generation: the checked policy as Go source for the proxy's hot path,
//! and the conformance vectors that prove the generated code (or any other
//! implementation) agrees with livecheck's decision machine.
//!
//! - [`vectors`]: the vector format, the vectors built by driving the replay
//!   engine ([`crate::replay`]) with a harness that plays the outside world,
//!   one generator per set (scenarios, boundaries, a bounded exhaustive
//!   space, seeded random logs) and the coverage measurement.
//! - [`go`]: `liveness.go`, `tracker.go`, their tests and `vectors.json` for
//!   one policy, written atomically; [`proofs`] reads the policy's recorded
//!   verdicts for the header (and the refusal of a violated policy).
//!
//! Nothing here decides anything: expected results always come from running
//! the machine.

pub mod go;
pub mod proofs;
pub(crate) use crate::sha256;
pub mod vectors;

use crate::error::InputError;
use crate::policy::Policy;
use std::path::Path;

/// `livecheck codegen go --policy FILE [--package NAME] [--allow-violations]
/// [--proofs DIR] --out DIR`: writes the Go package for the policy in
/// `policy` into `out` (atomically; see [`go::write_package`]). A policy
/// whose recorded proofs hold a violated property is refused unless
/// `opts.allow_violations`.
pub fn cli_codegen_go(
    policy: &Path,
    package: &str,
    out: &Path,
    opts: &go::Options,
) -> Result<(), InputError> {
    go::check_package_name(package)?;
    let p = Policy::load(policy)?;
    let file_name = policy
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files = go::render(&p, policy, &file_name, package, opts)?;
    go::write_package(out, &files)
}

/// `livecheck vectors --policy FILE`: writes the policy's conformance vectors
/// (the same bytes as the generated package's `vectors.json`) to `out`.
pub fn cli_vectors(policy: &Path, out: &mut dyn std::io::Write) -> Result<(), InputError> {
    let p = Policy::load(policy)?;
    let text = vectors::to_json(&vectors::generate(&p)?)?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| InputError::new(format!("cannot write the vectors: {e}")))
}
