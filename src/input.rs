//! Bounded reading of what the user hands us: whole files with a size cap
//! (policies, environments, sweep outputs) and line-by-line readers with a
//! line-length cap (replay logs). Nothing here reads without a limit, waits
//! on a FIFO nobody writes to, or turns bytes that are not UTF-8 into an
//! error without a line number.

use crate::error::InputError;
use crate::limits::{human_bytes, MAX_LINE_BYTES};
use std::io::{self, BufRead, Read};
use std::path::Path;

/// What kind of file something that is not a regular file is, in words.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// A model file's text: the built-in copy when `path` is a shipped model's
/// `models/DIR/NAME.toml` that is not on disk here ([`crate::shipped`]),
/// else the file as [`read_text_file`] reads it.
pub fn read_model_file(path: &Path, what: &str, limit: u64) -> Result<String, InputError> {
    match crate::shipped::text_at(path) {
        Some(text) => Ok(text.to_owned()),
        None => read_text_file(path, what, limit),
    }
}

/// Reads a whole text file of at most `limit` bytes. `what` names it in
/// errors ("policy file"). Refused with an error naming the file: anything
/// but a regular file (a directory, a FIFO, `/dev/zero`: these are checked
/// before opening, so a FIFO without a writer cannot block), a file larger
/// than `limit` (checked while reading too, in case it grows), and bytes
/// that are not UTF-8 (naming the line and column of the first bad byte).
pub fn read_text_file(path: &Path, what: &str, limit: u64) -> Result<String, InputError> {
    let fail = |reason: String| InputError::new(reason).in_file(path);
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    if !meta.is_file() {
        return Err(fail(format!(
            "cannot read {what}: it is {}, not a regular file",
            kind_of(&meta)
        )));
    }
    let too_big = || {
        fail(format!(
            "{what} is larger than {} (the largest livecheck reads): is this the right file?",
            human_bytes(limit)
        ))
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    utf8(bytes).map_err(|(line, col, byte)| {
        fail(format!(
            "{what} is not UTF-8 text: byte 0x{byte:02x} at column {col} cannot be read (save the file as UTF-8)"
        ))
        .at_line(line)
    })
}

/// The bytes as a `String`, or the 1-based line and column (in bytes) and
/// the value of the first byte that is not UTF-8.
pub fn utf8(bytes: Vec<u8>) -> Result<String, (usize, usize, u8)> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = &bytes[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        (line, col, bytes[at])
    })
}

/// The name of a policy or environment: its file stem. A name with control
/// characters (an escape sequence would reach the terminal in every report)
/// is refused, naming the file with those characters shown escaped.
pub fn model_name(path: &Path) -> Result<String, InputError> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.chars().any(char::is_control) {
        return Err(InputError::new(
            "the file name has control characters (shown escaped here); it names the model in every report: rename the file",
        )
        .in_file(path));
    }
    Ok(name)
}

/// Text safe to print on a terminal: control characters (escape sequences,
/// carriage returns, bells, newlines) are shown escaped (`\u{1b}`, `\n`).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control()) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A [`BufRead`] that refuses lines longer than a limit: once a line has
/// `limit` bytes without its newline, reading fails with an
/// [`io::ErrorKind::InvalidData`] error whose message names the limit.
/// Memory stays bounded whatever the input (`/dev/zero`, a 100 MB line),
/// and callers that number lines keep their numbering.
#[derive(Debug)]
pub struct LineCapped<R> {
    inner: R,
    limit: usize,
    /// Bytes of the current line consumed so far.
    in_line: usize,
    /// The slice last returned by `fill_buf` ends with a newline.
    ends_line: bool,
    /// Bytes of that slice not consumed yet.
    last_len: usize,
}

impl<R: BufRead> LineCapped<R> {
    /// Wraps `inner` with the log line limit ([`MAX_LINE_BYTES`]).
    pub fn new(inner: R) -> Self {
        LineCapped::with_limit(inner, MAX_LINE_BYTES)
    }

    /// Wraps `inner`, refusing lines longer than `limit` bytes (newline
    /// not counted).
    pub fn with_limit(inner: R, limit: usize) -> Self {
        LineCapped {
            inner,
            limit,
            in_line: 0,
            ends_line: false,
            last_len: 0,
        }
    }
}

impl<R: BufRead> Read for LineCapped<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCapped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let limit = self.limit;
        let allowance = limit.saturating_sub(self.in_line);
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.ends_line = false;
            self.last_len = 0;
            return Ok(buf);
        }
        // Look at most one byte past what the line may still hold: a
        // newline there ends the line in time.
        let window = &buf[..buf.len().min(allowance.saturating_add(1))];
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.ends_line = true;
                self.last_len = i + 1;
                Ok(&buf[..=i])
            }
            None if window.len() <= allowance => {
                self.ends_line = false;
                self.last_len = window.len();
                Ok(window)
            }
            None if allowance > 0 => {
                self.ends_line = false;
                self.last_len = allowance;
                Ok(&buf[..allowance])
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the line is longer than {} (the longest line livecheck reads): is this a JSON Lines log?",
                    human_bytes(limit as u64)
                ),
            )),
        }
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        // `fill_buf` never returns bytes past a newline: consuming the whole
        // of a slice that ends with one ends the line.
        let n = n.min(self.last_len);
        if self.ends_line && n == self.last_len {
            self.in_line = 0;
            self.ends_line = false;
        } else {
            self.in_line = self.in_line.saturating_add(n);
        }
        self.last_len -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: usize) -> Vec<Result<String, String>> {
        let mut r = LineCapped::with_limit(io::BufReader::with_capacity(3, input), limit);
        let mut out = Vec::new();
        loop {
            let mut s = String::new();
            match r.read_line(&mut s) {
                Ok(0) => break,
                Ok(_) => out.push(Ok(s)),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn lines_up_to_the_limit_pass_longer_ones_fail() {
        assert_eq!(
            lines(b"abcd\nab\nabcd", 4),
            vec![Ok("abcd\n".into()), Ok("ab\n".into()), Ok("abcd".into())]
        );
        let got = lines(b"ab\nabcde\nx\n", 4);
        assert_eq!(got[0], Ok("ab\n".into()));
        assert!(got[1].as_ref().unwrap_err().contains("longer than 4 bytes"));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn endless_input_without_newlines_stops_at_the_limit() {
        let mut r = LineCapped::with_limit(io::BufReader::new(io::repeat(0)), 1 << 16);
        let mut s = Vec::new();
        let e = r.read_until(b'\n', &mut s).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(s.len() <= 1 << 16);
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("a\u{1b}[31mb\n\tc\r"), "a\\u{1b}[31mb\\n\\tc\\r");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
        let e = model_name(Path::new("dir/\u{1b}]0;pwned\u{7}.toml")).unwrap_err();
        assert!(e.to_string().contains("\\u{1b}]0;pwned\\u{7}.toml"), "{e}");
        assert_eq!(model_name(Path::new("models/v1.toml")).unwrap(), "v1");
    }

    #[test]
    fn bad_utf8_names_line_and_column() {
        assert_eq!(utf8(b"ab\ncd\xffe".to_vec()), Err((2, 3, 0xff)));
        assert_eq!(utf8(b"\xfe".to_vec()), Err((1, 1, 0xfe)));
        assert_eq!(utf8(b"ok\n".to_vec()), Ok("ok\n".into()));
    }
}
