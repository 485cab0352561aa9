//! A sweep's results as data (the JSON every output is rendered from, and
//! that `sweep-merge` reads back), the text table and the CSV, and merging
//! shards.

use super::grid::{Base, Grid, Kind, Shard};
use crate::error::InputError;
use crate::model::properties::CONTRACT;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// What a sweep is, independent of how it was split or run: two shard
/// outputs belong to the same sweep exactly when their headers are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepHeader {
    /// The policy's name (file stem).
    pub policy: String,
    /// FNV-1a 64 of the policy file's text, hex.
    pub policy_fingerprint: String,
    /// The environment's name (file stem).
    pub environment: String,
    /// FNV-1a 64 of the environment file's text, hex.
    pub environment_fingerprint: String,
    /// The varied knobs, in command-line order (the first changes slowest).
    pub vary: Vec<VaryHeader>,
    /// Points in the whole grid (all shards).
    pub points: usize,
    /// `--max-states` of every check, if given.
    pub max_states: Option<usize>,
    /// `--timeout` (seconds) of every check, if given.
    pub timeout_s: Option<u64>,
    /// The properties each checked point reports, in contract order.
    pub properties: Vec<String>,
}

/// One varied knob in a [`SweepHeader`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaryHeader {
    /// Canonical key (`policy.settle.window`).
    pub key: String,
    /// `ms` (durations) or `count` (integers): the unit of every value.
    pub unit: String,
    /// First value.
    pub from: i64,
    /// Last value (included).
    pub to: i64,
    /// Step.
    pub step: i64,
}

impl VaryHeader {
    /// The kind of the values.
    pub fn kind(&self) -> Kind {
        Kind::from_unit(&self.unit).unwrap_or(Kind::Integer)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        if self.step <= 0 || self.to < self.from {
            return 0;
        }
        ((self.to - self.from) / self.step + 1) as usize
    }

    /// True when the header describes no value (only in a corrupt file).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of `value` among the values, if it is one.
    pub fn index_of(&self, value: i64) -> Option<usize> {
        if value < self.from || value > self.to || self.step <= 0 {
            return None;
        }
        let d = value - self.from;
        (d % self.step == 0).then_some((d / self.step) as usize)
    }

    /// A value as a person writes it.
    pub fn label(&self, value: i64) -> String {
        self.kind().label(value)
    }
}

/// How a point came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The checker ran; see the properties.
    Checked,
    /// The point's policy or environment failed validation (`reason`).
    Invalid,
    /// The checker failed at this point (a bug; `reason`).
    Error,
}

/// One property's verdict at a point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyVerdict {
    /// Contract name.
    pub name: String,
    /// `holds`, `violated` or `inconclusive`.
    pub verdict: String,
}

/// One grid point's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointResult {
    /// Index in the whole grid.
    pub index: usize,
    /// Canonical key → value (milliseconds for durations).
    pub values: BTreeMap<String, i64>,
    /// Checked, invalid or error.
    pub status: Status,
    /// Why the point is invalid or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every property, in contract order (empty unless checked).
    #[serde(default)]
    pub properties: Vec<PropertyVerdict>,
    /// `dead_detected_within`'s worst-case detection latency (ms), when the
    /// environment lets the container crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_case_ms: Option<u64>,
    /// True when `dead_detected_within` is violated: the worst case is at
    /// least `worst_case_ms`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub worst_case_at_least: bool,
    /// The search visited every reachable state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
    /// Why the search stopped early (`max-states`, `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// Distinct states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_states: Option<usize>,
    /// Wall time of this point's check (not compared by merges or tests:
    /// it depends on the machine).
    #[serde(default)]
    pub elapsed_ms: u64,
}

impl PointResult {
    /// The verdict of the named property, if checked.
    pub fn verdict(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.verdict.as_str())
    }

    /// Some property is violated.
    pub fn any_violated(&self) -> bool {
        self.properties.iter().any(|p| p.verdict == "violated")
    }

    /// Some property is inconclusive.
    pub fn any_inconclusive(&self) -> bool {
        self.properties.iter().any(|p| p.verdict == "inconclusive")
    }
}

/// How a run went (machine dependent; ignored by merges' equality).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Which shard, if the run was one.
    pub shard: Option<Shard>,
    /// Worker threads.
    pub threads: usize,
    /// Points this run checked (including invalid ones).
    pub points: usize,
    /// Wall time of the run.
    pub elapsed_ms: u64,
    /// Points per second of wall time.
    pub points_per_second: f64,
}

/// A sweep's output: the header, the shard it covers (none for a whole
/// sweep or a merge), the points in index order, and how the run(s) went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepOutput {
    /// What sweep this is.
    pub sweep: SweepHeader,
    /// The part of the grid these points are (`None`: all of it).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// The points, in index order.
    pub points: Vec<PointResult>,
    /// One entry per run that produced these points.
    #[serde(default)]
    pub runs: Vec<RunStats>,
}

/// FNV-1a 64, hex: a stable fingerprint of a file's text.
pub fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The header of a sweep of `grid` over `base`.
pub fn header(
    base: &Base,
    grid: &Grid,
    max_states: Option<usize>,
    timeout_s: Option<u64>,
) -> SweepHeader {
    SweepHeader {
        policy: base.policy_name.clone(),
        policy_fingerprint: fingerprint(&base.policy_source),
        environment: base.env_name.clone(),
        environment_fingerprint: fingerprint(&base.env_source),
        vary: grid
            .varies
            .iter()
            .map(|v| VaryHeader {
                key: v.knob.name(),
                unit: v.knob.kind.unit().to_owned(),
                from: v.from,
                to: v.to,
                step: v.step,
            })
            .collect(),
        points: grid.len(),
        max_states,
        timeout_s,
        properties: CONTRACT.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Short column headers, in contract order (shared with `check`'s matrix).
pub use crate::model::properties::SHORT;

/// ✓ / ✗ / ? for a verdict word.
pub fn symbol(verdict: &str) -> &'static str {
    match verdict {
        "holds" => "✓",
        "violated" => "✗",
        _ => "?",
    }
}

/// Counts of a set of points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Points in the set.
    pub points: usize,
    /// Checked points with some property violated.
    pub violated: usize,
    /// Checked points with some property inconclusive.
    pub inconclusive: usize,
    /// Points whose policy/environment failed validation.
    pub invalid: usize,
    /// Points where the checker failed.
    pub errors: usize,
}

impl Counts {
    /// Adds one point.
    pub fn add(&mut self, p: &PointResult) {
        self.points += 1;
        match p.status {
            Status::Checked => {
                self.violated += usize::from(p.any_violated());
                self.inconclusive += usize::from(p.any_inconclusive());
            }
            Status::Invalid => self.invalid += 1,
            Status::Error => self.errors += 1,
        }
    }

    /// Counts every point of `points`.
    pub fn of(points: &[PointResult]) -> Counts {
        let mut c = Counts::default();
        for p in points {
            c.add(p);
        }
        c
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} points: {} with a property violated, {} inconclusive, {} invalid",
            self.points, self.violated, self.inconclusive, self.invalid
        )?;
        if self.errors > 0 {
            write!(f, ", {} where the checker failed", self.errors)?;
        }
        Ok(())
    }
}

fn value_labels(h: &SweepHeader, p: &PointResult) -> Vec<String> {
    h.vary
        .iter()
        .map(|v| match p.values.get(&v.key) {
            Some(&x) => v.label(x),
            None => "-".into(),
        })
        .collect()
}

fn worst_label(p: &PointResult) -> String {
    match p.worst_case_ms {
        Some(ms) if p.worst_case_at_least => format!("≥{}", crate::duration::Human(ms)),
        Some(ms) => crate::duration::Human(ms).to_string(),
        None => "-".into(),
    }
}

/// The text table: one row per point (values, ✓/✗/? per property, the
/// worst-case detection latency, states, time), invalid points with their
/// reason, then a legend and the counts.
pub fn render_text(out: &SweepOutput) -> String {
    let h = &out.sweep;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sweep {} × {}: {}{}",
        h.policy,
        h.environment,
        h.vary
            .iter()
            .map(|v| format!(
                "{}={}..{}/{}",
                v.key,
                v.label(v.from),
                v.label(v.to),
                v.label(v.step)
            ))
            .collect::<Vec<_>>()
            .join("  "),
        match out.shard {
            Some(sh) => format!("  (shard {}/{})", sh.index, sh.count),
            None => String::new(),
        }
    );
    let widths: Vec<usize> = h.vary.iter().map(|v| v.key.len().max(6)).collect();
    for (v, w) in h.vary.iter().zip(&widths) {
        let _ = write!(s, "{:<w$}  ", v.key);
    }
    for c in SHORT {
        let _ = write!(s, "{c:^11}");
    }
    let _ = writeln!(s, "  {:<12} {:<10} time", "worst-detect", "states");
    for p in &out.points {
        for (label, w) in value_labels(h, p).iter().zip(&widths) {
            let _ = write!(s, "{label:<w$}  ");
        }
        match p.status {
            Status::Checked => {
                for name in CONTRACT {
                    let _ = write!(s, "{:^11}", symbol(p.verdict(name).unwrap_or("")));
                }
                let _ = writeln!(
                    s,
                    "  {:<12} {:<10} {:.1}s{}",
                    worst_label(p),
                    p.unique_states.map_or("-".into(), |n| n.to_string()),
                    p.elapsed_ms as f64 / 1000.0,
                    match &p.stopped_by {
                        Some(why) => format!(" (stopped by {why})"),
                        None => String::new(),
                    }
                );
            }
            Status::Invalid => {
                let _ = writeln!(s, "invalid: {}", p.reason.as_deref().unwrap_or(""));
            }
            Status::Error => {
                let _ = writeln!(
                    s,
                    "ERROR (checker failed): {}",
                    p.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n✓ holds   ✗ violated   ? inconclusive   worst-detect: worst-case detection latency (≥: dead_detected_within is violated or the search stopped early, the worst case is at least that)\ncolumns: {}",
        CONTRACT.join(", ")
    );
    let _ = writeln!(s, "{}", Counts::of(&out.points));
    s
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// CSV: one header line, one line per point. Duration columns are named
/// `KEY_ms` and hold milliseconds; property columns hold the verdict word
/// (empty for invalid points).
pub fn render_csv(out: &SweepOutput) -> String {
    let h = &out.sweep;
    let mut s = String::new();
    let mut cols: Vec<String> = vec!["index".into()];
    for v in &h.vary {
        cols.push(match v.kind() {
            Kind::Duration => format!("{}_ms", v.key),
            Kind::Integer => v.key.clone(),
        });
    }
    cols.push("status".into());
    cols.extend(h.properties.iter().cloned());
    for c in [
        "worst_case_ms",
        "worst_case_at_least",
        "complete",
        "unique_states",
        "elapsed_ms",
        "reason",
    ] {
        cols.push(c.into());
    }
    let _ = writeln!(
        s,
        "{}",
        cols.iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
    );
    for p in &out.points {
        let mut row: Vec<String> = vec![p.index.to_string()];
        for v in &h.vary {
            row.push(p.values.get(&v.key).map_or(String::new(), i64::to_string));
        }
        row.push(
            match p.status {
                Status::Checked => "checked",
                Status::Invalid => "invalid",
                Status::Error => "error",
            }
            .into(),
        );
        for name in &h.properties {
            row.push(p.verdict(name).unwrap_or("").to_owned());
        }
        row.push(p.worst_case_ms.map_or(String::new(), |m| m.to_string()));
        row.push(if p.worst_case_ms.is_some() {
            p.worst_case_at_least.to_string()
        } else {
            String::new()
        });
        row.push(p.complete.map_or(String::new(), |c| c.to_string()));
        row.push(p.unique_states.map_or(String::new(), |n| n.to_string()));
        row.push(p.elapsed_ms.to_string());
        row.push(csv_field(p.reason.as_deref().unwrap_or("")));
        let _ = writeln!(s, "{}", row.join(","));
    }
    s
}

/// Pretty JSON of the whole output, newline-terminated.
pub fn render_json(out: &SweepOutput) -> String {
    serde_json::to_string_pretty(out).unwrap_or_default() + "\n"
}

/// Reads a sweep JSON output.
pub fn read_json(path: &Path) -> Result<SweepOutput, InputError> {
    let text =
        crate::input::read_text_file(path, "sweep output", crate::limits::MAX_SWEEP_JSON_BYTES)?;
    let out: SweepOutput = serde_json::from_str(&text).map_err(|e| {
        let mut err = InputError::new(format!("not a `livecheck sweep --format json` output: {e}"))
            .in_file(path);
        if e.line() > 0 {
            err = err.at_line(e.line());
        }
        err
    })?;
    Ok(out)
}

/// The first field in which two headers differ, as words.
fn header_difference(a: &SweepHeader, b: &SweepHeader) -> String {
    let pair = |what: &str, x: String, y: String| format!("{what}: {x} vs {y}");
    if a.policy != b.policy || a.policy_fingerprint != b.policy_fingerprint {
        return pair(
            "the policy differs",
            format!("{} ({})", a.policy, a.policy_fingerprint),
            format!("{} ({})", b.policy, b.policy_fingerprint),
        );
    }
    if a.environment != b.environment || a.environment_fingerprint != b.environment_fingerprint {
        return pair(
            "the environment differs",
            format!("{} ({})", a.environment, a.environment_fingerprint),
            format!("{} ({})", b.environment, b.environment_fingerprint),
        );
    }
    if a.vary != b.vary {
        let show = |h: &SweepHeader| {
            h.vary
                .iter()
                .map(|v| {
                    format!(
                        "{}={}..{}/{}",
                        v.key,
                        v.label(v.from),
                        v.label(v.to),
                        v.label(v.step)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        return pair("the varied keys or ranges differ", show(a), show(b));
    }
    if a.max_states != b.max_states || a.timeout_s != b.timeout_s {
        return pair(
            "the search bounds differ (--max-states/--timeout)",
            format!("{:?}/{:?}", a.max_states, a.timeout_s),
            format!("{:?}/{:?}", b.max_states, b.timeout_s),
        );
    }
    "the headers differ".into()
}

/// Joins shard outputs (`files[k]` names `parts[k]` in errors) into one
/// output covering the whole grid. Refused, exit 2: outputs of different
/// sweeps (naming what differs), shards of different splits, a shard given
/// twice, a missing shard, or a shard whose points are not the ones its
/// index owns. A single unsharded output is returned as it is.
pub fn merge(files: &[&Path], parts: Vec<SweepOutput>) -> Result<SweepOutput, InputError> {
    let Some(first) = parts.first() else {
        return Err(InputError::new("sweep-merge needs at least one JSON file"));
    };
    let header = first.sweep.clone();
    for (k, part) in parts.iter().enumerate().skip(1) {
        if part.sweep != header {
            return Err(InputError::new(format!(
                "{} and {} come from different sweeps: {}",
                files[0].display(),
                files[k].display(),
                header_difference(&header, &part.sweep)
            )));
        }
    }
    let whole = parts.iter().position(|p| p.shard.is_none());
    if let Some(k) = whole {
        if parts.len() > 1 {
            return Err(InputError::new(
                "is a whole sweep, not a shard: merge either shards or one whole output",
            )
            .in_file(files[k]));
        }
    }
    let count = first.shard.map_or(1, |s| s.count);
    let mut seen = vec![None::<usize>; count];
    for (k, part) in parts.iter().enumerate() {
        let Some(sh) = part.shard else { continue };
        if sh.count != count {
            return Err(InputError::new(format!(
                "is shard {}/{} but {} is shard {}/{}: shards of different splits",
                sh.index,
                sh.count,
                files[0].display(),
                first.shard.map_or(0, |s| s.index),
                count
            ))
            .in_file(files[k]));
        }
        if sh.index == 0 || sh.index > count {
            return Err(InputError::new(format!(
                "shard {}/{} is out of range",
                sh.index, sh.count
            ))
            .in_file(files[k]));
        }
        if let Some(other) = seen[sh.index - 1] {
            return Err(InputError::new(format!(
                "shard {}/{count} is given twice (also {})",
                sh.index,
                files[other].display()
            ))
            .in_file(files[k]));
        }
        seen[sh.index - 1] = Some(k);
        let expected = sh.points(header.points);
        let got: Vec<usize> = part.points.iter().map(|p| p.index).collect();
        if got != expected {
            return Err(InputError::new(format!(
                "shard {}/{count} should hold points {:?} but holds {:?}: the file was edited or truncated",
                sh.index,
                abbreviate(&expected),
                abbreviate(&got)
            ))
            .in_file(files[k]));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{}/{count}", i + 1))
        .collect();
    if whole.is_none() && !missing.is_empty() {
        return Err(InputError::new(format!(
            "missing shard(s) {} of this sweep: pass every shard's JSON",
            missing.join(", ")
        )));
    }
    let mut points: Vec<PointResult> = Vec::with_capacity(header.points);
    let mut runs = Vec::new();
    for part in parts {
        points.extend(part.points);
        runs.extend(part.runs);
    }
    points.sort_by_key(|p| p.index);
    if points.len() != header.points || points.iter().enumerate().any(|(i, p)| p.index != i) {
        return Err(InputError::new(format!(
            "the outputs hold {} points, the sweep has {}: a file was edited or truncated",
            points.len(),
            header.points
        )));
    }
    Ok(SweepOutput {
        sweep: header,
        shard: None,
        points,
        runs,
    })
}

fn abbreviate(v: &[usize]) -> Vec<usize> {
    v.iter().copied().take(8).collect()
}
