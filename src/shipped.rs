//! The shipped models, built into the binary (`build.rs`): a shipped name
//! (`v2-2950`, `cloud`) works from any directory. A file on disk always wins:
//! inside the repository `models/DIR/NAME.toml` is read as it is now;
//! elsewhere the path `models/DIR/NAME.toml` of a shipped name reads the
//! built-in copy of the file as it was when the binary was built.

use std::path::{Path, PathBuf};

mod table {
    include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
}

/// The models directory a kind of model lives in (`policies`,
/// `environments`) and its built-in files.
fn files(dir: &str) -> &'static [(&'static str, &'static str)] {
    match dir {
        "policies" => table::POLICIES,
        "environments" => table::ENVIRONMENTS,
        _ => &[],
    }
}

/// The names built in for `dir` (`policies` or `environments`), sorted.
pub fn names(dir: &str) -> Vec<&'static str> {
    files(dir).iter().map(|(n, _)| *n).collect()
}

/// The relative path a shipped name stands for: `models/DIR/NAME.toml`.
pub fn path(dir: &str, name: &str) -> PathBuf {
    Path::new("models").join(dir).join(format!("{name}.toml"))
}

/// The built-in text of `path` when it is exactly `models/DIR/NAME.toml`
/// (relative) for a shipped `NAME` and no such file exists on disk.
pub fn text_at(path: &Path) -> Option<&'static str> {
    if path.exists() {
        return None;
    }
    let mut parts = path.components().map(|c| c.as_os_str().to_str());
    let (Some(Some("models")), Some(Some(dir)), Some(Some(file)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let name = file.strip_suffix(".toml")?;
    files(dir)
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The shipped files of `dir` (`policies` or `environments`) as paths:
/// those in `models/DIR/` when that directory exists here, else the
/// built-in ones (read through [`text_at`]).
#[cfg(feature = "checker")]
pub fn files_or_builtin(dir: &str) -> Result<Vec<PathBuf>, crate::error::InputError> {
    let on_disk = Path::new("models").join(dir);
    if on_disk.is_dir() {
        return crate::cli::toml_files(&on_disk);
    }
    Ok(names(dir).into_iter().map(|n| path(dir, n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_file_is_built_in_as_it_is() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["policies", "environments"] {
            let mut on_disk: Vec<String> = std::fs::read_dir(root.join("models").join(dir))
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            assert_eq!(names(dir), on_disk, "{dir}");
            for (name, text) in files(dir) {
                let file = root.join(path(dir, name));
                assert_eq!(*text, std::fs::read_to_string(&file).unwrap(), "{name}");
            }
        }
        // Only the exact relative shipped path of a missing file reads a
        // built-in copy.
        assert!(text_at(Path::new("models/nope/v2-2950.toml")).is_none());
        assert!(text_at(Path::new("x/models/policies/v2-2950.toml")).is_none());
        assert!(text_at(Path::new("models/policies/v9.toml")).is_none());
    }
}
