//! Go code generation and conformance vectors (issue 5). Placeholder.

use crate::error::InputError;
use std::path::Path;

/// `livecheck codegen go --policy FILE [--package NAME] --out DIR`.
pub fn cli_codegen_go(_policy: &Path, _package: &str, _out: &Path) -> Result<(), InputError> {
    Err(InputError::new("codegen is not implemented yet"))
}

/// `livecheck vectors --policy FILE`: writes the vectors to `out`.
pub fn cli_vectors(_policy: &Path, _out: &mut dyn std::io::Write) -> Result<(), InputError> {
    Err(InputError::new("vectors are not implemented yet"))
}
