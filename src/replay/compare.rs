//! What-if replay: one log that carries the container's truth (`container`
//! lines, CONTRACT.md "Logs with the container's truth") replayed under two
//! policies, and every decision whose outcome or restart differs.
//!
//! Both replays run the one engine ([`Replayer`], in its
//! [`truth_only`](super::Replayer::truth_only) mode: every probe is answered
//! from the last `container` line, a `probe` line is an error), fed the same
//! lines in the same order. A decision is named by the `a2a_failed` line that
//! started it, so the two runs' decisions pair up even when they end at
//! different times.
//!
//! ```no_run
//! use livecheck::replay::what_if_file;
//! use livecheck::Policy;
//! use std::path::Path;
//!
//! let old = Policy::load(Path::new("models/policies/v1-2931.toml"))?;
//! let new = Policy::load(Path::new("models/policies/v2-2950.toml"))?;
//! let report = what_if_file(&old, &new, Path::new("docs/what-if/sample.jsonl"))?;
//! for d in &report.differ {
//!     println!("{} {}: {} -> {}", d.ws, d.req, d.old.outcome, d.new.outcome);
//! }
//! // The contract's `log` object of `livecheck diff --log`:
//! let json = serde_json::to_value(&report).expect("plain data");
//! # let _ = json;
//! # Ok::<(), livecheck::InputError>(())
//! ```
//!
//! What the replay cannot know: the platform's side of the log (restart
//! cycles, heartbeats, the container's states) is replayed as it was
//! recorded, under the policy that ran then. A restart that only the other
//! policy would have asked for is fed to the restart coordinator (so its
//! debounce and its settle window count), but the container's states that
//! follow are still the recorded ones.

use super::{Fed, Finished, Observer, Replayer};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::Policy;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// How one policy's decision ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// `dead`, `not_dead`, `queued` or `skipped`.
    pub outcome: String,
    /// `started`, `dropped` or `none` (as `livecheck replay` prints it).
    pub restart: String,
    /// When the decision ended, in milliseconds.
    pub t_ms: Ms,
    /// Probes the decision made.
    pub probes: u8,
    /// Why, in one word (`running`, `strike_1`, `debounce`, …).
    pub reason: String,
}

impl From<&Finished> for Side {
    fn from(f: &Finished) -> Self {
        Side {
            outcome: f.outcome.clone(),
            restart: f.restart.clone(),
            t_ms: f.t_ms,
            probes: f.probes,
            reason: f.reason.clone(),
        }
    }
}

/// One decision whose outcome or restart differs between the two policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The workspace.
    pub ws: String,
    /// The request whose failure started the decision.
    pub req: String,
    /// When the request failed (the `a2a_failed` line's `t_ms`).
    pub t_ms: Ms,
    /// The log's line that started the decision (1-based).
    pub line: usize,
    /// Under the old policy.
    pub old: Side,
    /// Under the new policy.
    pub new: Side,
}

/// The result of a what-if replay: the contract's `log` object of
/// `livecheck diff --log` (`decisions`, `differ`), with the policies' names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIf {
    /// The old policy's name.
    pub old: String,
    /// The new policy's name.
    pub new: String,
    /// Decisions replayed (each under both policies).
    pub decisions: usize,
    /// Decisions whose outcome or restart differs, in log order.
    pub differ: Vec<Difference>,
}

/// Output of `livecheck replay --what-if-old` ([`WhatIf::render`]): the
/// one [`crate::format::Format`].
pub use crate::format::Format;

/// Collects one replay's finished decisions, each named by its starting line.
#[derive(Default)]
struct Collect {
    /// The line being fed.
    line: usize,
    /// Live decisions: (ws, req) → (starting line, failure time).
    started: HashMap<(String, String), (usize, Ms)>,
    /// Finished since last drained: (starting line, failure time, decision).
    done: Vec<(usize, Ms, Finished)>,
}

impl Observer for Collect {
    fn decision(&mut self, i: &super::DecisionInput<'_>) {
        if i.input == Fed::Start {
            let key = (i.ws.to_owned(), i.req.to_owned());
            self.started.insert(key, (self.line, i.now));
        }
    }

    fn finished(&mut self, f: Finished) {
        let key = (f.ws.clone(), f.req.clone());
        let (line, t) = self.started.remove(&key).unwrap_or((self.line, f.t_ms));
        self.done.push((line, t, f));
    }
}

/// Pairs the two runs' finished decisions by starting line.
#[derive(Default)]
struct Pairing {
    old: HashMap<usize, (Ms, Finished)>,
    new: HashMap<usize, (Ms, Finished)>,
    decisions: usize,
    differ: Vec<Difference>,
}

impl Pairing {
    fn drain(&mut self, old: &mut Collect, new: &mut Collect) {
        for (line, t, f) in old.done.drain(..) {
            match self.new.remove(&line) {
                Some((_, n)) => self.pair(line, t, f, n),
                None => {
                    self.old.insert(line, (t, f));
                }
            }
        }
        for (line, t, n) in new.done.drain(..) {
            match self.old.remove(&line) {
                Some((_, f)) => self.pair(line, t, f, n),
                None => {
                    self.new.insert(line, (t, n));
                }
            }
        }
    }

    fn pair(&mut self, line: usize, t_ms: Ms, old: Finished, new: Finished) {
        self.decisions += 1;
        if old.outcome != new.outcome || old.restart != new.restart {
            self.differ.push(Difference {
                ws: old.ws.clone(),
                req: old.req.clone(),
                t_ms,
                line,
                old: Side::from(&old),
                new: Side::from(&new),
            });
        }
    }
}

/// Replays `log` (named `file` in errors) under `old` and under `new`,
/// answering every probe from the log's `container` lines, and lists every
/// decision whose outcome or restart differs.
///
/// The log must carry the container's truth: a `probe` line, or a decision
/// that probes a workspace before its first `container` line, is an error
/// naming `file` and the line; so is anything `livecheck replay` refuses.
/// An error that only one policy meets (a request failing again while that
/// policy's decision for it still runs) names that policy.
pub fn what_if(
    old: &Policy,
    new: &Policy,
    file: &Path,
    log: impl BufRead,
) -> Result<WhatIf, InputError> {
    let mut old_run = Replayer::new(old, file).truth_only();
    let mut new_run = Replayer::new(new, file).truth_only();
    let (mut old_obs, mut new_obs) = (Collect::default(), Collect::default());
    let mut pairing = Pairing::default();
    let named = |policy: &Policy, mut e: InputError| {
        e.reason = format!("under policy {}: {}", policy.name, e.reason);
        e
    };
    let both = |a: Result<(), InputError>, b: Result<(), InputError>| match (a, b) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Err(_)) => Err(e),
        (Err(e), Ok(())) => Err(named(old, e)),
        (Ok(()), Err(e)) => Err(named(new, e)),
    };
    let mut log = log;
    let mut buf = String::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = log.read_line(&mut buf).map_err(|e| {
            InputError::new(format!("cannot read log: {e}"))
                .at_line(line_no + 1)
                .in_file(file)
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        old_obs.line = line_no;
        new_obs.line = line_no;
        both(
            old_run.feed_observed(line_no, &buf, &mut old_obs),
            new_run.feed_observed(line_no, &buf, &mut new_obs),
        )?;
        pairing.drain(&mut old_obs, &mut new_obs);
    }
    both(
        old_run.finish_observed(&mut old_obs),
        new_run.finish_observed(&mut new_obs),
    )?;
    pairing.drain(&mut old_obs, &mut new_obs);
    // Both runs start a decision on every `a2a_failed` line and finish every
    // one (or fail above), so nothing is left unpaired.
    debug_assert!(pairing.old.is_empty() && pairing.new.is_empty());
    let mut differ = pairing.differ;
    differ.sort_by_key(|d| d.line);
    Ok(WhatIf {
        old: old.name.clone(),
        new: new.name.clone(),
        decisions: pairing.decisions,
        differ,
    })
}

/// [`what_if`] on the log at `path` (`-`: standard input), lines capped as
/// `livecheck replay` caps them.
pub fn what_if_file(old: &Policy, new: &Policy, path: &Path) -> Result<WhatIf, InputError> {
    use crate::input::LineCapped;
    use std::io::BufReader;
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        what_if(old, new, path, LineCapped::new(stdin.lock()))
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| InputError::new(format!("cannot open log: {e}")).in_file(path))?;
        what_if(
            old,
            new,
            path,
            LineCapped::new(BufReader::with_capacity(1 << 16, file)),
        )
    }
}

/// `12.345 s`.
fn secs(ms: Ms) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

/// One side of a difference as a line of text.
fn side_text(policy: &str, width: usize, s: &Side) -> String {
    let restart = match s.restart.as_str() {
        "none" => "no restart".to_owned(),
        r => format!("restart {r}"),
    };
    let probes = if s.probes == 1 { "probe" } else { "probes" };
    format!(
        "  {policy:<width$}  {:<8}  {restart:<15}  ({}; {} {probes}; ended at {})\n",
        s.outcome,
        s.reason,
        s.probes,
        secs(s.t_ms)
    )
}

impl WhatIf {
    /// The report as text: a summary, a tally of the changes, then one block
    /// per differing decision.
    pub fn render_text(&self, log: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "what-if replay of {}: old {}, new {}",
            crate::input::printable(log),
            self.old,
            self.new
        );
        let _ = writeln!(
            out,
            "{} decisions, {} differ",
            self.decisions,
            self.differ.len()
        );
        if self.differ.is_empty() {
            return out;
        }
        let mut tally: Vec<((String, String), usize)> = Vec::new();
        for d in &self.differ {
            let key = (
                format!("{}/{}", d.old.outcome, d.old.restart),
                format!("{}/{}", d.new.outcome, d.new.restart),
            );
            match tally.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => tally.push((key, 1)),
            }
        }
        out.push_str("\noutcome/restart, old -> new:\n");
        for ((o, n), count) in &tally {
            let _ = writeln!(out, "  {count:>4} x  {o} -> {n}");
        }
        let width = self.old.len().max(self.new.len()) + 4;
        for d in &self.differ {
            let _ = writeln!(
                out,
                "\nline {}: workspace {}, request {} failed at {}",
                d.line,
                crate::input::printable(&d.ws),
                crate::input::printable(&d.req),
                secs(d.t_ms)
            );
            out.push_str(&side_text(&format!("old {}", self.old), width, &d.old));
            out.push_str(&side_text(&format!("new {}", self.new), width, &d.new));
        }
        out
    }

    /// The report as markdown: a summary line, then a table with one row
    /// per differing decision (for a pull-request comment or a CI job
    /// summary; `diff --log` can embed it).
    pub fn render_markdown(&self, log: &str) -> String {
        use std::fmt::Write;
        // Text from the log in a cell: no pipe, backtick or newline may
        // break the table.
        let cell = |s: &str| {
            crate::input::printable(s)
                .replace('|', "\\|")
                .replace('`', "'")
        };
        let when = |ms: Ms| secs(ms).replace(' ', "\u{a0}");
        let side = |s: &Side| {
            let restart = match s.restart.as_str() {
                "none" => String::new(),
                r => format!(", restart {r}"),
            };
            format!(
                "{}{restart} ({}; ended {})",
                s.outcome,
                s.reason,
                when(s.t_ms)
            )
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "**What-if replay** of `{}`: `{}` → `{}`, {} decisions, {} differ.",
            cell(log),
            cell(&self.old),
            cell(&self.new),
            self.decisions,
            self.differ.len()
        );
        if self.differ.is_empty() {
            return out;
        }
        out.push_str("\n| line | workspace | request | failed at | old | new |\n");
        out.push_str("|---:|---|---|---:|---|---|\n");
        for d in &self.differ {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                d.line,
                cell(&d.ws),
                cell(&d.req),
                when(d.t_ms),
                side(&d.old),
                side(&d.new)
            );
        }
        out
    }

    /// The report as pretty-printed JSON (with a final newline).
    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The report in `format`.
    pub fn render(&self, format: Format, log: &str) -> String {
        match format {
            Format::Text => self.render_text(log),
            Format::Json => self.render_json(),
            Format::Markdown => self.render_markdown(log),
        }
    }
}
