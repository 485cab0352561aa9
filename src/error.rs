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
    /// the reason, in the words of the file rather than of the parser: a
    /// missing table or key is named as such (not blamed on whatever the
    /// first line holds), a date/time is called one, a table or key given
    /// twice says where it first was, and parser type names (`i64`,
    /// `struct ProbeSection`) read as what they mean.
    pub fn from_toml(file: &Path, source: &str, err: &toml::de::Error) -> Self {
        let message = err.message().trim();
        let span = err
            .span()
            .map(|s| s.start.min(source.len())..s.end.min(source.len()));
        let line_at = |offset: usize| {
            source.as_bytes()[..offset.min(source.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        };
        let text_at = span
            .clone()
            .and_then(|s| source.get(s))
            .map_or("", str::trim);
        let base = InputError::new(String::new()).in_file(file);

        // A required table or key is missing.
        if let Some(field) = between(message, "missing field `", "`") {
            let in_table = text_at.starts_with('[') || text_at.starts_with('{');
            if let (true, Some(span)) = (in_table, span.clone()) {
                let line = line_at(span.start);
                let table = key_at_line(source, line).unwrap_or_default();
                let (reason, key) = if table.is_empty() {
                    (format!("missing key `{field}`"), field.to_owned())
                } else {
                    (
                        format!("missing key `{field}` in [{table}]"),
                        format!("{table}.{field}"),
                    )
                };
                let mut e = base.at_line(line).at_key(key);
                e.reason = reason;
                return e;
            }
            let mut e = base.at_key(field);
            e.reason = format!(
                "missing table [{field}]: every file of this kind needs one (see the shipped files in models/)"
            );
            return e;
        }

        let mut e = base;
        let mut line = None;
        if let Some(span) = &span {
            let l = line_at(span.start);
            line = Some(l);
            e = e.at_line(l);
            if let Some(key) = key_at_line(source, l) {
                e = e.at_key(key);
            }
        }

        // A table or key given twice: say where it first was.
        if let Some(dup) = between(message, "duplicate key `", "`") {
            let header = text_at.starts_with('[')
                || line.is_some_and(|l| {
                    source
                        .lines()
                        .nth(l - 1)
                        .is_some_and(|t| t.trim_start().starts_with('['))
                });
            let dotted = e.key.clone().unwrap_or_else(|| dup.to_owned());
            let first = line_of_key(source, &dotted).filter(|&f| Some(f) != line);
            let at = first.map_or(String::new(), |f| format!(" (first at line {f})"));
            e.reason = if header {
                format!("table [{dotted}] is defined twice{at}: merge the two")
            } else {
                format!("key `{dup}` is given twice{at}: keep one")
            };
            return e;
        }

        let datetime = looks_like_datetime(text_at);
        let mut reason = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if reason.starts_with("invalid type: map") && datetime {
            let expected = reason
                .split_once("expected ")
                .map_or("a different value", |(_, x)| x)
                .to_owned();
            reason = format!(
                "{text_at} is a TOML date/time, which no key takes: expected {}",
                plain_expected(&expected)
            );
        } else if reason == "wanted string or table" {
            let what = if datetime {
                format!("{text_at} is a TOML date/time")
            } else {
                format!("{text_at} is not a quoted word")
            };
            reason = format!("{what}: expected one of this key's words, in quotes");
        } else if let Some((head, expected)) = reason.split_once(", expected ") {
            reason = format!("{head}, expected {}", plain_expected(expected));
        }
        // The parser says nothing (or little) about a stray control
        // character: name it.
        let bad = span
            .as_ref()
            .and_then(|s| source.get(s.start..))
            .and_then(|rest| rest.chars().next())
            .filter(|c| c.is_control() && *c != '\n');
        if let Some(c) = bad {
            let what = format!(
                "the control character U+{:04X} is not allowed here in TOML",
                u32::from(c)
            );
            reason = if reason.is_empty() {
                what
            } else {
                format!("{reason} ({what})")
            };
        }
        if reason.is_empty() {
            reason = "this is not valid TOML".into();
        }
        e.reason = reason;
        e
    }
}

/// Deserializes TOML text into `T`, turning an error into an [`InputError`]
/// ([`InputError::from_toml`]). Where a key takes one of a few words and
/// the file gives something else (a number, a date), the error lists the
/// words, as it does for a misspelt one.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &Path,
    source: &str,
) -> Result<T, InputError> {
    toml::from_str(source).map_err(|err| {
        let mut e = InputError::from_toml(file, source, &err);
        if err.message().trim() == "wanted string or table" {
            if let Some(span) = err.span().filter(|s| source.get(s.clone()).is_some()) {
                // Ask the parser which words it wants: put an impossible word
                // where the bad value was.
                let probe = format!("{}\"?\"{}", &source[..span.start], &source[span.end..]);
                if let Err(again) = toml::from_str::<T>(&probe) {
                    let msg = again.message();
                    if msg.starts_with("unknown variant") {
                        if let Some((_, words)) = msg.split_once("expected ") {
                            e.reason = format!(
                                "{}, expected {words}",
                                e.reason
                                    .split_once(": expected")
                                    .map_or(e.reason.as_str(), |(head, _)| head)
                            );
                        }
                    }
                }
            }
        }
        e
    })
}

/// The text between `open` and the next `close` in `text`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = &text[text.find(open)? + open.len()..];
    Some(&rest[..rest.find(close)?])
}

/// Whether a TOML value as written is a date, a time or a date-time.
fn looks_like_datetime(text: &str) -> bool {
    text.parse::<toml::value::Datetime>().is_ok()
}

/// Parser type names as a person says them.
fn plain_expected(expected: &str) -> String {
    match expected.trim() {
        "i64" | "u64" | "u8" | "i32" | "u32" | "usize" => "a whole number".into(),
        "a boolean" | "bool" => "true or false".into(),
        x if x.starts_with("struct ") => "a table".into(),
        x => x.to_owned(),
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
        // Whatever came from the user (file names, keys, parser messages
        // quoting the file) is shown with control characters escaped.
        use crate::input::printable;
        if let Some(file) = &self.file {
            write!(f, "{}", printable(file))?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{}`: ", printable(key))?;
        }
        write!(f, "{}", printable(&self.reason))
    }
}

impl std::error::Error for InputError {}

/// 1-based line of a dotted key's assignment (or table header) in TOML text:
/// the TOML helper every model file's errors use to name a line.
pub(crate) fn line_of_key(source: &str, key: &str) -> Option<usize> {
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, l)) => (t, l),
        None => ("", key),
    };
    let mut current = String::new();
    for (i, raw) in source.lines().enumerate() {
        let l = raw.trim();
        if l.starts_with('[') && l.ends_with(']') {
            current = l.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
            if current == key {
                return Some(i + 1);
            }
            continue;
        }
        if current == table {
            if let Some((k, _)) = l.split_once('=') {
                if k.trim() == leaf {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}

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
