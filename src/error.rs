//! Errors about bad input: they name the file, the line or key, and the reason.
//!
//! Every error a user can cause (a malformed policy, environment or log, a bad
//! flag) becomes an [`InputError`]; the binary prints it on stderr and exits
//! with status 2. Nothing in the library panics on bad input.

use std::fmt;
use std::path::Path;

/// A problem with something the user gave us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file at fault, if any (as the user named it).
    pub file: Option<String>,
    /// 1-based line number within `file`, when known.
    pub line: Option<usize>,
    /// The dotted key at fault (`settle.window`), when known.
    pub key: Option<String>,
    /// What is wrong, in words meant for the person who wrote the input.
    pub reason: String,
}

impl InputError {
    /// An error with only a reason (usage errors, for instance).
    pub fn new(reason: impl Into<String>) -> Self {
        InputError {
            file: None,
            line: None,
            key: None,
            reason: reason.into(),
        }
    }

    /// Names the file this error is about.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.display().to_string());
        self
    }

    /// Names the line this error is about.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Names the key this error is about.
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Turns a TOML parse/deserialize error into an error naming the file,
    /// the line, the key (found from the source text around the error) and
    /// the reason.
    pub fn from_toml(file: &Path, source: &str, err: &toml::de::Error) -> Self {
        let mut e = InputError::new(err.message().to_owned()).in_file(file);
        if let Some(span) = err.span() {
            let line = source[..span.start.min(source.len())]
                .bytes()
                .filter(|&b| b == b'\n')
                .count()
                + 1;
            e = e.at_line(line);
            if let Some(key) = key_at_line(source, line) {
                e = e.at_key(key);
            }
        }
        e
    }
}

/// Best-effort dotted key for the assignment on `line` (1-based): the nearest
/// `[table]` header above it, joined with the key left of `=`.
fn key_at_line(source: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let text = lines.get(line.checked_sub(1)?)?.trim();
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']'))
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    });
    if text.starts_with('[') {
        return Some(
            text.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned(),
        );
    }
    let key = text.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        write!(f, "{}", self.reason)
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_key_reason() {
        let e = InputError::new("must be at least 1")
            .in_file(Path::new("p.toml"))
            .at_line(7)
            .at_key("strikes.threshold");
        assert_eq!(
            e.to_string(),
            "p.toml:7: key `strikes.threshold`: must be at least 1"
        );
    }

    #[test]
    fn key_is_found_under_its_table() {
        let src = "name = \"x\"\n[settle]\n# c\nwindow = \"5x\"\n";
        assert_eq!(key_at_line(src, 4).as_deref(), Some("settle.window"));
        assert_eq!(key_at_line(src, 1).as_deref(), Some("name"));
    }
}
