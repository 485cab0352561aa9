//! The Go package for one policy: `liveness.go` (the decision, the restart
//! coordinator and the workspace state, standard library only, the policy's
//! knobs baked in as commented `time.Duration` constants, a header with the
//! policy file's hash and its recorded verdicts), `tracker.go` (the
//! mutex-guarded per-workspace Tracker with a Prober, a Restarter and a
//! Clock), `liveness_test.go` (runs the conformance vectors, checks a
//! decision allocates nothing, benchmarks one), `tracker_test.go` (the
//! Tracker against the machines and across its lock sections, for `go test
//! -race`) and `vectors.json`.
//!
//! The Go code is a template (`templates/*.tmpl`) with line directives
//! `{{if FLAG}}`, `{{if !FLAG}}`, `{{else}}`, `{{end}}` selecting the branches
//! the policy's knobs need and `{{NAME}}` placeholders for values. The
//! template mirrors [`crate::decision`] step for step; the vectors, not
//! inspection, are what show the two agree.

use super::{proofs, sha256, vectors};
use crate::duration::{Human, Ms};
use crate::error::line_of_key;
use crate::error::InputError;
use crate::policy::{OnRecent, OnSettling, Policy, ProbeErrorMeaning, SettleFrom};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The templates, by the file each renders.
const TEMPLATES: [(&str, &str); 4] = [
    ("liveness.go", include_str!("templates/liveness.go.tmpl")),
    ("tracker.go", include_str!("templates/tracker.go.tmpl")),
    (
        "liveness_test.go",
        include_str!("templates/liveness_test.go.tmpl"),
    ),
    (
        "tracker_test.go",
        include_str!("templates/tracker_test.go.tmpl"),
    ),
];

/// The files the generator writes; an existing output directory may hold
/// only these (or the files of an earlier version: `liveness.go`,
/// `liveness_test.go`, `vectors.json`).
pub const GENERATED_FILES: [&str; 5] = [
    "liveness.go",
    "tracker.go",
    "liveness_test.go",
    "tracker_test.go",
    "vectors.json",
];

/// Durations are `time.Duration` (int64 nanoseconds) in Go and the caller's
/// clock may read up to 2^62 ns, so every knob stays below 2^62 ns (about
/// 146 years): `now + knob` never overflows. This is that bound in
/// milliseconds.
pub const MAX_GO_DURATION: Ms = (1 << 62) / 1_000_000;

/// How `livecheck codegen go` treats the policy's recorded proofs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Generate a policy whose recorded proofs hold a violated property
    /// (the header says which).
    pub allow_violations: bool,
    /// Where to look for `POLICY.ENVIRONMENT.json` (first holding any wins);
    /// empty: [`proofs::default_dirs`].
    pub proof_dirs: Vec<PathBuf>,
}

/// `ms` as a Go `time.Duration` constant expression (`15 * time.Second`).
fn go_duration(ms: Ms) -> String {
    let unit = [
        (3_600_000, "time.Hour"),
        (60_000, "time.Minute"),
        (1_000, "time.Second"),
    ]
    .into_iter()
    .find(|(u, _)| ms != 0 && ms.is_multiple_of(*u));
    match unit {
        Some((u, name)) => format!("{} * {name}", ms / u),
        None => format!("{ms} * time.Millisecond"),
    }
}

const GO_KEYWORDS: [&str; 25] = [
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// Checks `--package`: a Go identifier (ASCII), not a keyword, not `_` and
/// not `main` (the package is a library).
pub fn check_package_name(name: &str) -> Result<(), InputError> {
    let bad = |why: &str| {
        InputError::new(format!("{name:?} cannot be the Go package name: {why}"))
            .at_key("--package")
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(bad("it is empty")),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err(bad("it must start with a letter or _"))
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad("use only letters, digits and _"));
    }
    if GO_KEYWORDS.contains(&name) {
        return Err(bad("it is a Go keyword"));
    }
    if name == "_" {
        return Err(bad("the blank identifier names no package"));
    }
    if name == "main" {
        return Err(bad(
            "package main is a program; the generated code is a library",
        ));
    }
    Ok(())
}

/// The `#` comment lines right above `key` in table `table` of the policy
/// source, without the `#`.
fn key_comment(source: &str, table: &str, key: &str) -> Vec<String> {
    crate::policy::comments_above(source, table, key)
        .into_iter()
        .map(|c| c.strip_prefix('#').unwrap_or(c).trim().to_owned())
        .collect()
}

/// Wraps `text` into lines of at most `width` characters (words are never
/// split), each starting with `prefix`.
fn wrap(text: &str, prefix: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && prefix.len() + line.len() + 1 + word.len() > width {
            out.push_str(prefix);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(prefix);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

struct Knob {
    name: &'static str,
    key: &'static str,
    value: u64,
    duration: bool,
    meaning: String,
}

/// The policy's knobs as Go constants, checked to be expressible in Go.
fn knobs(p: &Policy, path: &Path, source: &str) -> Result<Vec<Knob>, InputError> {
    let d = &p.decision;
    let mut v = Vec::new();
    let mut dur = |name, key, value, meaning: &str| {
        v.push(Knob {
            name,
            key,
            value,
            duration: true,
            meaning: meaning.to_owned(),
        })
    };
    if let Some(h) = d.recent_heartbeat {
        dur(
            "RecentWindow",
            "heartbeat.recent_window",
            h.window,
            "a heartbeat is recent when now - heartbeat <= RecentWindow (inclusive).",
        );
    }
    if let Some(s) = d.strikes {
        dur(
            "StrikeWindow",
            "strikes.window",
            s.window,
            "a strike record whose first strike is older than this (now - first > StrikeWindow) starts again at one strike.",
        );
    }
    if let Some(s) = d.settle {
        let from = match s.measured_from {
            SettleFrom::RestartStarted => "restartStartedAt",
            SettleFrom::RestartFinished => "the end of the last restart cycle",
        };
        dur(
            "SettleWindow",
            "settle.window",
            s.window,
            &format!("a decision is settling while now - {from} < SettleWindow (exclusive)."),
        );
        if let Some(w) = s.fresh_wait {
            dur(
                "FreshWait",
                "settle.fresh_heartbeat_wait",
                w.wait,
                "how long a settling decision waits for a heartbeat newer than restartStartedAt.",
            );
            dur(
                "FreshPoll",
                "settle.fresh_heartbeat_poll",
                w.poll,
                "the wait's poll interval: polls happen at 0, FreshPoll, 2*FreshPoll, ... while before FreshWait.",
            );
        }
    }
    if let Some(r) = d.reprobe_delay {
        dur(
            "ReprobeDelay",
            "reprobe.delay",
            r,
            "the sleep before probing a lone \"not running\" again.",
        );
    }
    dur(
        "Debounce",
        "restart.debounce",
        p.restart.debounce,
        if p.restart.detector_bypasses_debounce {
            "RestartByID silently drops requests while now - restartStartedAt < Debounce, except the detector's own (restart.detector_bypasses_debounce = true)."
        } else {
            "RestartByID silently drops requests while now - restartStartedAt < Debounce."
        },
    );
    dur(
        "FileWriteDrop",
        "restart.file_write_drop",
        p.restart.file_write_drop,
        "a file-write restart is dropped when another one fired less than FileWriteDrop before.",
    );
    if let Some(s) = d.strikes {
        v.push(Knob {
            name: "StrikeThreshold",
            key: "strikes.threshold",
            value: s.threshold as u64,
            duration: false,
            meaning: "strikes within the strike window that declare the container dead.".into(),
        });
    }
    let unsupported = |key: &str, reason: String| {
        let mut e = InputError::new(reason).in_file(path).at_key(key);
        if let Some(line) = line_of_key(source, key) {
            e = e.at_line(line);
        }
        e
    };
    for k in &v {
        if k.duration && k.value >= MAX_GO_DURATION {
            return Err(unsupported(
                k.key,
                format!(
                    "{} cannot be generated as Go: durations are time.Duration (int64 nanoseconds) there and must stay below 2^62 ns (about 146 years) so that now + duration cannot overflow",
                    Human(k.value)
                ),
            ));
        }
        if !k.duration && k.value > u8::MAX as u64 {
            return Err(unsupported(
                k.key,
                format!(
                    "{} cannot be generated as Go: the strike count is a uint8",
                    k.value
                ),
            ));
        }
    }
    let strikes_needed = d
        .recent_heartbeat
        .is_some_and(|h| h.on_recent == OnRecent::Strike)
        || d.settle
            .is_some_and(|s| s.on_not_running == OnSettling::Strike);
    if strikes_needed && d.strikes.is_none() {
        return Err(unsupported(
            "strikes",
            "a rule adds strikes but there is no [strikes] table; the Go generator cannot express that".into(),
        ));
    }
    Ok(v)
}

fn constants(p: &Policy, path: &Path, source: &str) -> Result<String, InputError> {
    let mut out = String::new();
    for (i, k) in knobs(p, path, source)?.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (table, key) = k.key.split_once('.').unwrap_or(("", k.key));
        let value_text = if k.duration {
            format!(" ({})", Human(k.value))
        } else {
            String::new()
        };
        out.push_str(&wrap(
            &format!("{} is {}{}: {}", k.name, k.key, value_text, k.meaning),
            "\t// ",
            78,
        ));
        let comment = key_comment(source, table, key);
        if !comment.is_empty() {
            out.push_str("\t//\n");
            out.push_str(&wrap(
                &format!("Policy file: {}", comment.join(" ")),
                "\t// ",
                78,
            ));
        }
        let value = if k.duration {
            go_duration(k.value)
        } else {
            k.value.to_string()
        };
        out.push_str(&format!("\t{} = {value}\n", k.name));
    }
    Ok(out.trim_end_matches('\n').to_owned())
}

/// Paragraphs as the body of a `//` comment whose first line's `// ` the
/// template holds.
fn paragraphs(paras: &[String]) -> String {
    paras
        .iter()
        .map(|p| wrap(p, "// ", 78))
        .collect::<Vec<_>>()
        .join("//\n")
        .trim_start_matches("// ")
        .trim_end_matches('\n')
        .to_owned()
}

/// The rule as the generated package documentation states it.
fn rule_text(p: &Policy) -> String {
    let d = &p.decision;
    let mut paras: Vec<String> = vec![
        if d.skip_while_restarting {
            "A decision is skipped, with no probe, for an external-like runtime, for a workspace without a provisioner, and while a restart cycle runs."
        } else {
            "A decision is skipped, with no probe, for an external-like runtime and for a workspace without a provisioner."
        }
        .into(),
    ];
    if let Some(s) = d.settle {
        let from = match s.measured_from {
            SettleFrom::RestartStarted => "restartStartedAt",
            SettleFrom::RestartFinished => "the end of the last restart cycle",
        };
        paras.push(format!("It is settling while now - {from} < SettleWindow."));
    }
    if d.recent_heartbeat.is_some() {
        paras.push("A heartbeat is recent while now - last heartbeat <= RecentWindow.".into());
    }
    if d.settle.and_then(|s| s.fresh_wait).is_some() {
        paras.push("While settling, the decision waits up to FreshWait, polling every FreshPoll, for a fresh heartbeat: one newer than restartStartedAt, with the URL registered.".into());
    }
    paras.push(match d.probe_error {
        ProbeErrorMeaning::AssumeAlive => "Then it probes. An error means not dead (assume alive); running resets the strike record and means not dead.".into(),
        ProbeErrorMeaning::UseRunningFlag => "Then it probes. An error is only logged and its running flag is trusted: (true, err) is running, (false, err) is not running. Running resets the strike record and means not dead.".into(),
    });
    if d.reprobe_delay.is_some() && d.reprobe_always {
        paras.push("A first probe saying not running, whatever the heartbeat and the settle window say, sleeps ReprobeDelay and probes again, with the same handling (reprobe.always).".into());
    } else if d.reprobe_delay.is_some() {
        let mut why = Vec::new();
        if d.recent_heartbeat.is_some() {
            why.push("recent");
        }
        if d.settle.and_then(|s| s.fresh_wait).is_some() {
            why.push("fresh");
        }
        if d.settle.is_some() {
            why.push("settling");
        }
        paras.push(format!(
            "Not running while {} sleeps ReprobeDelay and probes again, with the same handling.",
            why.join(" or ")
        ));
    }
    let wait_for_agent = d
        .settle
        .is_some_and(|s| s.on_not_running == OnSettling::WaitForAgent);
    if wait_for_agent {
        paras.push("Not running while settling without a fresh heartbeat is not dead (Booting): the new agent has not heartbeated yet (settle.on_not_running = \"wait_for_agent\"). This comes before the heartbeat rule.".into());
    }
    if let Some(h) = d.recent_heartbeat {
        let who = if d.settle.and_then(|s| s.fresh_wait).is_some() {
            "recent or fresh"
        } else {
            "recent"
        };
        paras.push(match h.on_recent {
            OnRecent::Enqueue => {
                format!("Not running with a {who} heartbeat enqueues the request (Queued).")
            }
            OnRecent::Strike => format!("Not running with a {who} heartbeat adds a strike."),
        });
    }
    if let Some(s) = d.settle {
        paras.push(match s.on_not_running {
            OnSettling::Strike => "Otherwise not running while settling adds a strike.".into(),
            OnSettling::Declare => "Otherwise not running while settling declares dead.".into(),
            // Said above: it is checked before the heartbeat rule.
            OnSettling::WaitForAgent => String::new(),
        });
    }
    paras.retain(|p| !p.is_empty());
    paras.push("Otherwise not running declares the container dead.".into());
    if d.strikes.is_some() {
        paras.push("A strike joins the record if its first strike is at most StrikeWindow old, else starts a new one; StrikeThreshold strikes declare dead.".into());
    }
    let strikes = if d.strikes.is_some() {
        "resets the strike record, "
    } else {
        ""
    };
    let mut declare = format!(
        "Declaring dead {strikes}marks the row offline unless it is provisioning and deletes the Redis liveness key and URL cache; the caller then launches RestartByID with SourceDetector, {}",
        if p.restart.detector_bypasses_debounce {
            "which does not debounce the detector's requests (restart.detector_bypasses_debounce) but coalesces them into a running cycle."
        } else {
            "which may drop it within Debounce of the last cycle start."
        }
    );
    if d.strikes.is_some() {
        declare.insert_str(0, "The strike that reaches the threshold and the declaration are two lock sections (StepYield between them). ");
    }
    if d.recheck_restarting {
        declare.insert_str(0, "Before declaring, a restart cycle in flight, or one that started since the decision began (restartStartedAt is no longer what the decision read when it started), turns the declaration into a skip (ReasonRestartRecheck, guard.recheck_restarting_before_declare). ");
    }
    if d.skip_when_offline {
        declare.insert_str(0, "A declaration that finds the row already offline (another declaration got there first) turns into a skip (ReasonAlreadyOffline, guard.skip_when_offline). ");
    }
    paras.push(declare);
    if p.restart.manual_via_coordinator {
        paras.push("Manual restarts (the HTTP Restart, Resume, a provider switch) go through the coordinator: call Tracker.ManualRestart instead of marking the row and running a cycle beside it (restart.manual_via_coordinator).".into());
    }
    if p.detectors.use_decision {
        paras.push("The health sweep, the reconciler and the Redis-TTL monitor ask this decision (Tracker.DetectorDecide) instead of declaring on one IsRunning=false or an expired key (detectors.use_decision).".into());
    }
    paragraphs(&paras)
}

/// Renders a template: line directives select branches by `flags`, then
/// `{{NAME}}` placeholders are replaced from `values`. Unknown flags or
/// placeholders and unbalanced directives are errors.
fn render_template(
    name: &str,
    template: &str,
    flags: &BTreeMap<&str, bool>,
    values: &BTreeMap<&str, String>,
) -> Result<String, InputError> {
    let internal =
        |why: String| InputError::new(format!("internal error in template {name}: {why}"));
    // Each entry: (this branch is taken, the enclosing region is active).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut out = String::new();
    for (no, line) in template.lines().enumerate() {
        let t = line.trim();
        let active = stack.last().is_none_or(|&(taken, outer)| taken && outer);
        if let Some(cond) = t.strip_prefix("{{if ").and_then(|r| r.strip_suffix("}}")) {
            let (neg, flag) = match cond.strip_prefix('!') {
                Some(f) => (true, f),
                None => (false, cond),
            };
            let v = *flags
                .get(flag)
                .ok_or_else(|| internal(format!("line {}: unknown flag {flag}", no + 1)))?;
            stack.push((v != neg, active));
            continue;
        }
        if t == "{{else}}" {
            let top = stack
                .last_mut()
                .ok_or_else(|| internal(format!("line {}: else without if", no + 1)))?;
            top.0 = !top.0;
            continue;
        }
        if t == "{{end}}" {
            stack
                .pop()
                .ok_or_else(|| internal(format!("line {}: end without if", no + 1)))?;
            continue;
        }
        if !active {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("{{") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let j = after
                .find("}}")
                .ok_or_else(|| internal(format!("line {}: unclosed placeholder", no + 1)))?;
            let key = &after[..j];
            let v = values
                .get(key)
                .ok_or_else(|| internal(format!("line {}: unknown placeholder {key}", no + 1)))?;
            out.push_str(v);
            rest = &after[j + 2..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    if !stack.is_empty() {
        return Err(internal("an if without end".into()));
    }
    Ok(out)
}

/// Renders the files of the Go package for policy `p`, read from `path`
/// (its comments become the constants' documentation; `file_name` is how the
/// header names it), with the recorded verdicts `opts` finds. A policy with
/// a violated recorded property is refused unless `opts.allow_violations`.
/// Returns `(file name, contents)` pairs.
pub fn render(
    p: &Policy,
    path: &Path,
    file_name: &str,
    package: &str,
    opts: &Options,
) -> Result<Vec<(String, String)>, InputError> {
    check_package_name(package)?;
    let bytes = fs::read(path)
        .map_err(|e| InputError::new(format!("cannot read policy file: {e}")).in_file(path))?;
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let sha = sha256::hex(&bytes);
    let dirs = if opts.proof_dirs.is_empty() {
        proofs::default_dirs(path)
    } else {
        opts.proof_dirs.clone()
    };
    let recorded = proofs::find(&p.name, &dirs)?;
    if !opts.allow_violations {
        if let Some(e) = proofs::refusal(&p.name, &recorded) {
            return Err(e.in_file(path));
        }
    }
    let verification = proofs::verification_text(file_name, &sha, &p.name, &recorded, &dirs);
    let d = &p.decision;
    let fresh_wait = d.settle.and_then(|s| s.fresh_wait).is_some();
    let recent = d.recent_heartbeat.is_some();
    let settle = d.settle.is_some();
    let flags: BTreeMap<&str, bool> = BTreeMap::from([
        (
            "assume_alive",
            d.probe_error == ProbeErrorMeaning::AssumeAlive,
        ),
        ("recent", recent),
        (
            "recent_enqueue",
            d.recent_heartbeat
                .is_some_and(|h| h.on_recent == OnRecent::Enqueue),
        ),
        ("strikes", d.strikes.is_some()),
        ("settle", settle),
        ("fresh_wait", fresh_wait),
        (
            "settle_strike",
            d.settle
                .is_some_and(|s| s.on_not_running == OnSettling::Strike),
        ),
        ("reprobe", d.reprobe_delay.is_some()),
        ("recheck", d.recheck_restarting),
        ("reprobe_always", d.reprobe_always),
        (
            "wait_for_agent",
            d.settle
                .is_some_and(|s| s.on_not_running == OnSettling::WaitForAgent),
        ),
        ("bypass", p.restart.detector_bypasses_debounce),
        ("skip_restarting", d.skip_while_restarting),
        ("atomic", p.restart.atomic_request),
        ("skip_offline", d.skip_when_offline),
        ("manual_coordinated", p.restart.manual_via_coordinator),
        ("detectors_decide", p.detectors.use_decision),
        ("timers", fresh_wait || d.reprobe_delay.is_some()),
    ]);
    let join = |parts: &[(bool, &str)]| {
        parts
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
            .join(" || ")
    };
    let green = join(&[(recent, "d.basis.recent"), (fresh_wait, "d.basis.fresh")]);
    let reprobe_when = join(&[
        (recent, "d.basis.recent"),
        (fresh_wait, "d.basis.fresh"),
        (settle, "d.basis.settling"),
    ]);
    let (stamp, stamp_text) = match d.settle.map(|s| s.measured_from) {
        Some(SettleFrom::RestartFinished) => ("finishedAt", "the end of the last cycle"),
        _ => ("startedAt", "restartStartedAt"),
    };
    let summary = p.summary.split_whitespace().collect::<Vec<_>>().join(" ");
    let values: BTreeMap<&str, String> = BTreeMap::from([
        ("VERSION", env!("CARGO_PKG_VERSION").to_owned()),
        ("POLICY", p.name.clone()),
        ("POLICY_FILE", file_name.to_owned()),
        ("PACKAGE", package.to_owned()),
        (
            "SUMMARY",
            wrap(
                &format!(
                    "Policy summary: {}",
                    if summary.is_empty() {
                        "(none given)"
                    } else {
                        &summary
                    }
                ),
                "// ",
                78,
            )
            .trim_start_matches("// ")
            .trim_end_matches('\n')
            .to_owned(),
        ),
        ("RULE", rule_text(p)),
        ("POLICY_SHA256", sha),
        ("VERIFICATION", paragraphs(&verification)),
        ("CONSTANTS", constants(p, path, &source)?),
        ("GREEN", green),
        ("REPROBE_WHEN", reprobe_when),
        ("SETTLE_STAMP", stamp.to_owned()),
        ("SETTLE_FROM_TEXT", stamp_text.to_owned()),
    ]);
    let mut files = TEMPLATES
        .iter()
        .map(|(name, t)| {
            Ok((
                (*name).to_owned(),
                render_template(name, t, &flags, &values)?,
            ))
        })
        .collect::<Result<Vec<_>, InputError>>()?;
    let json = vectors::to_json(&vectors::generate(p)?)?;
    files.push(("vectors.json".to_owned(), json));
    Ok(files)
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> InputError {
    InputError::new(format!("cannot {what}: {e}")).in_file(path)
}

/// Writes `files` as the directory `out`, atomically: everything is written
/// and synced into a temporary directory beside `out`, which then replaces
/// it in one rename. On any failure `out` is left as it was and the
/// temporary directory is removed.
///
/// An existing `out` must be a directory holding only [`GENERATED_FILES`]
/// (a previous generation): anything else in it is refused, never deleted.
/// Missing parent directories are created.
pub fn write_package(out: &Path, files: &[(String, String)]) -> Result<(), InputError> {
    let name = out
        .file_name()
        .ok_or_else(|| InputError::new("--out needs a directory name (not / or ..)").in_file(out))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .map_err(|e| io_err("create the output's parent directory", &parent, e))?;
    let exists = match fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => {
            let entries =
                fs::read_dir(out).map_err(|e| io_err("read the output directory", out, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_err("read the output directory", out, e))?;
                let f = entry.file_name().to_string_lossy().into_owned();
                if !GENERATED_FILES.contains(&f.as_str()) {
                    return Err(InputError::new(format!(
                        "holds {f:?}, which livecheck did not generate; refusing to replace the directory (choose a new or a generated one)"
                    ))
                    .in_file(out));
                }
            }
            true
        }
        Ok(_) => {
            return Err(InputError::new("exists and is not a directory").in_file(out));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_err("inspect the output directory", out, e)),
    };
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let tmp = parent.join(format!(".{name}.livecheck-tmp-{unique}"));
    fs::create_dir(&tmp).map_err(|e| io_err("create a temporary directory", &tmp, e))?;
    let written = (|| {
        for (file, text) in files {
            let path = tmp.join(file);
            let mut f = fs::File::create(&path).map_err(|e| io_err("create", &path, e))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| io_err("write", &path, e))?;
        }
        Ok::<(), InputError>(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if exists {
        let old = parent.join(format!(".{name}.livecheck-old-{unique}"));
        if let Err(e) = fs::rename(out, &old) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(io_err("move the previous package aside", out, e));
        }
        if let Err(e) = fs::rename(&tmp, out) {
            let _ = fs::rename(&old, out);
            let _ = fs::remove_dir_all(&tmp);
            return Err(io_err("move the new package into place", out, e));
        }
        let _ = fs::remove_dir_all(&old);
    } else if let Err(e) = fs::rename(&tmp, out) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(io_err("move the new package into place", out, e));
    }
    if let Ok(dir) = fs::File::open(&parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(pairs: &[(&'static str, bool)]) -> BTreeMap<&'static str, bool> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn template_selects_branches_and_fills_placeholders() {
        let t = "a {{X}}\n{{if f}}\nf on\n{{if !g}}\ng off\n{{else}}\ng on\n{{end}}\n{{else}}\nf off\n{{end}}\nz\n";
        let values = BTreeMap::from([("X", "1".to_owned())]);
        let r = |f, g| render_template("t", t, &flags(&[("f", f), ("g", g)]), &values).unwrap();
        assert_eq!(r(true, false), "a 1\nf on\ng off\nz\n");
        assert_eq!(r(true, true), "a 1\nf on\ng on\nz\n");
        assert_eq!(r(false, true), "a 1\nf off\nz\n");
        assert_eq!(r(false, false), "a 1\nf off\nz\n");
    }

    #[test]
    fn template_errors_are_reported_not_panicked() {
        let none = BTreeMap::new();
        let f = flags(&[("f", true)]);
        for (t, why) in [
            ("{{if nope}}\n{{end}}\n", "unknown flag"),
            ("{{end}}\n", "end without if"),
            ("{{else}}\n", "else without if"),
            ("{{if f}}\n", "without end"),
            ("x {{Y}}\n", "unknown placeholder"),
            ("x {{Y\n", "unclosed"),
        ] {
            let e = render_template("t", t, &f, &none).unwrap_err();
            assert!(e.reason.contains(why), "{t:?}: {e}");
        }
    }

    #[test]
    fn both_templates_render_for_every_flag_combination() {
        // Every flag combination renders (no unknown placeholder, balanced
        // directives) and leaves no directive behind.
        let names = [
            "assume_alive",
            "recent",
            "recent_enqueue",
            "strikes",
            "settle",
            "fresh_wait",
            "settle_strike",
            "reprobe",
            "recheck",
            "reprobe_always",
            "wait_for_agent",
            "bypass",
            "timers",
            "skip_restarting",
            "atomic",
        ];
        // The v4 knobs' blocks nest in no other directive: every combination
        // of them is rendered with the flags above all off and all on
        // (rendering every combination of all flags takes 8 times longer).
        let v4 = ["skip_offline", "manual_coordinated", "detectors_decide"];
        let values: BTreeMap<&str, String> = [
            "VERSION",
            "POLICY",
            "POLICY_FILE",
            "PACKAGE",
            "SUMMARY",
            "RULE",
            "CONSTANTS",
            "GREEN",
            "REPROBE_WHEN",
            "SETTLE_STAMP",
            "SETTLE_FROM_TEXT",
            "POLICY_SHA256",
            "VERIFICATION",
        ]
        .into_iter()
        .map(|k| (k, "v".to_owned()))
        .collect();
        let all = (1u32 << names.len()) - 1;
        let combos = (0..=all)
            .map(|bits| (bits, 0))
            .chain((0..1u32 << v4.len()).flat_map(|v| [(0, v), (all, v)]));
        for (bits, v) in combos {
            let f: BTreeMap<&str, bool> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (*n, bits & (1 << i) != 0))
                .chain(v4.iter().enumerate().map(|(i, n)| (*n, v & (1 << i) != 0)))
                .collect();
            for (n, t) in TEMPLATES {
                let out = render_template(n, t, &f, &values).unwrap();
                assert!(!out.contains("{{"), "{n} {bits:b} {v:b}");
            }
        }
    }

    #[test]
    fn package_names_are_go_identifiers() {
        for ok in ["liveness", "proxy_liveness", "_x", "L2"] {
            assert!(check_package_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "main", "func", "_", "9a", "a-b", "é"] {
            let e = check_package_name(bad).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("--package"), "{bad}");
        }
    }

    #[test]
    fn key_comments_come_from_the_lines_above_the_key() {
        let src = "# top\n[a]\n# one\n# two\nx = 1\n\n# orphan\n\ny = 2\n[b]\n# bee\nx = 3\n";
        assert_eq!(key_comment(src, "a", "x"), ["one", "two"]);
        assert!(key_comment(src, "a", "y").is_empty());
        assert_eq!(key_comment(src, "b", "x"), ["bee"]);
        assert!(key_comment(src, "c", "x").is_empty());
    }

    #[test]
    fn wrap_keeps_words_and_width() {
        let w = wrap("aaa bbb ccc ddd", "// ", 10);
        assert_eq!(w, "// aaa bbb\n// ccc ddd\n");
        assert_eq!(
            wrap("averyveryverylongword x", "// ", 10),
            "// averyveryverylongword\n// x\n"
        );
        assert_eq!(wrap("", "// ", 10), "");
    }
}
