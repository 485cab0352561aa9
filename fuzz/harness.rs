//! What every fuzz target checks, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, coverage-guided, nightly) and the stable
//! fallback in the normal test suite (`tests/fuzz_corpus.rs`: replays the
//! committed corpus and runs proptest over arbitrary bytes).
//!
//! Each function takes arbitrary bytes and panics only on a real finding:
//! a panic inside livecheck, an overflow (cargo fuzz builds with overflow
//! checks), a broken invariant, or an error message that would not be
//! clear (no reason, raw control characters).

#![allow(dead_code)]

use livecheck::decision::{Awaiting, Decision, Input, ProbeResult, Step, Verdict};
use livecheck::environment::Environment;
use livecheck::error::InputError;
use livecheck::input::LineCapped;
use livecheck::limits::MAX_DURATION_MS;
use livecheck::model::NOW;
use livecheck::policy::Policy;
use livecheck::restart::RestartSource;
use livecheck::workspace::{Facts, Stored, Workspace};
use std::path::Path;
use std::sync::OnceLock;

/// The shipped policies, as text.
pub const POLICIES: [(&str, &str); 4] = [
    (
        "v0-pre-2931",
        include_str!("../models/policies/v0-pre-2931.toml"),
    ),
    ("v1-2931", include_str!("../models/policies/v1-2931.toml")),
    ("v2-2950", include_str!("../models/policies/v2-2950.toml")),
    (
        "v3-proposed",
        include_str!("../models/policies/v3-proposed.toml"),
    ),
];

/// The shipped environments, as text.
pub const ENVIRONMENTS: [(&str, &str); 2] = [
    ("docker", include_str!("../models/environments/docker.toml")),
    ("cloud", include_str!("../models/environments/cloud.toml")),
];

fn shipped_policy(i: usize) -> Policy {
    static PARSED: OnceLock<Vec<Policy>> = OnceLock::new();
    let all = PARSED.get_or_init(|| {
        POLICIES
            .iter()
            .map(|(name, text)| Policy::parse(name, Path::new(name), text).expect("shipped policy"))
            .collect()
    });
    all[i % all.len()].clone()
}

fn shipped_env(i: usize) -> Environment {
    static PARSED: OnceLock<Vec<Environment>> = OnceLock::new();
    let all = PARSED.get_or_init(|| {
        ENVIRONMENTS
            .iter()
            .map(|(name, text)| {
                Environment::parse(name, Path::new(name), text).expect("shipped environment")
            })
            .collect()
    });
    all[i % all.len()].clone()
}

/// An error a person can act on: it has a reason, and shows no raw control
/// character (the file's own text may hold any).
fn assert_clear(e: &InputError) {
    let shown = e.to_string();
    assert!(
        !e.reason.trim().is_empty(),
        "an error without a reason: {e:?}"
    );
    assert!(
        !shown.chars().any(char::is_control),
        "raw control characters in an error: {shown:?}"
    );
}

/// Every age cap is at least the threshold it serves (a cap below it would
/// change decisions: what a wrapped sum did) and far below the model's
/// constant "now" (instants are `NOW - age`); the model's crash cap
/// (detection bound + tick) fits.
fn assert_caps_sound(policy: &Policy, env: &Environment) {
    let caps = policy.age_caps_for(env.restart_cycle.max);
    for (what, cap) in [
        ("heartbeat", caps.heartbeat),
        ("restart_stamp", caps.restart_stamp),
        ("restart_finished", caps.restart_finished),
        ("strike_first", caps.strike_first),
        ("file_write", caps.file_write),
    ] {
        assert!(cap < NOW / 4, "{what} cap {cap} is not far below NOW");
    }
    let d = &policy.decision;
    if let Some(h) = d.recent_heartbeat {
        assert!(caps.heartbeat > h.window, "heartbeat cap below its window");
    }
    if let Some(s) = d.strikes {
        assert!(caps.strike_first > s.window, "strike cap below its window");
    }
    if let Some(s) = d.settle {
        assert!(
            caps.restart_stamp >= s.window,
            "restart cap below the settle window"
        );
        if let Some(w) = s.fresh_wait {
            assert!(caps.heartbeat > s.window.saturating_add(w.wait));
        }
    }
    assert!(caps.restart_stamp >= policy.restart.debounce);
    assert!(env.detection_bound.checked_add(env.tick).is_some());
}

/// A policy file's text: parses or is refused with a clear error; an
/// accepted policy has durations within the tool's limit and exact caps in
/// each shipped environment.
pub fn policy(data: &[u8]) {
    let text = match livecheck::input::utf8(data.to_vec()) {
        Ok(t) => t,
        Err((line, col, _)) => {
            assert!(line >= 1 && col >= 1);
            return;
        }
    };
    match Policy::parse("fuzz", Path::new("fuzz.toml"), &text) {
        Err(e) => assert_clear(&e),
        Ok(p) => {
            let d = &p.decision;
            let durations = [
                d.recent_heartbeat.map(|h| h.window),
                d.strikes.map(|s| s.window),
                d.settle.map(|s| s.window),
                d.settle.and_then(|s| s.fresh_wait).map(|w| w.wait),
                d.settle.and_then(|s| s.fresh_wait).map(|w| w.poll),
                d.reprobe_delay,
                Some(p.restart.debounce),
                Some(p.restart.file_write_drop),
            ];
            for v in durations.into_iter().flatten() {
                assert!(v <= MAX_DURATION_MS, "accepted a duration of {v} ms");
            }
            for i in 0..ENVIRONMENTS.len() {
                assert_caps_sound(&p, &shipped_env(i));
            }
        }
    }
}

/// An environment file's text, as [`policy`].
pub fn environment(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Environment::parse("fuzz", Path::new("fuzz.toml"), text) {
        Err(e) => assert_clear(&e),
        Ok(env) => {
            for v in [
                env.tick,
                env.restart_cycle.max,
                env.boot_not_running.max,
                env.boot_to_heartbeat.max,
                env.heartbeat_interval,
                env.request_interval,
                env.detection_bound,
            ] {
                assert!(v <= MAX_DURATION_MS, "accepted a duration of {v} ms");
            }
            assert!(env.restart_cycle.min <= env.restart_cycle.max);
            assert!((1..=2).contains(&env.max_in_flight));
            for i in 0..POLICIES.len() {
                assert_caps_sound(&shipped_policy(i), &env);
            }
        }
    }
}

/// A replay log: the first byte picks a shipped policy, the rest is the
/// log, read through the line cap (small here, so long lines are reached).
/// Replay ends (the fuzzer's timeout catches a hang) with output or a clear
/// error naming a line.
pub fn replay_log(data: &[u8]) {
    let Some((&pick, log)) = data.split_first() else {
        return;
    };
    let policy = shipped_policy(pick as usize);
    let reader = LineCapped::with_limit(std::io::Cursor::new(log), 4096);
    let mut out = Vec::new();
    match livecheck::replay::run(&policy, Path::new("fuzz.jsonl"), reader, &mut out) {
        Ok(_) => {
            for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value =
                    serde_json::from_slice(line).expect("replay prints JSON lines");
                assert!(v["outcome"].is_string(), "{v}");
            }
        }
        Err(e) => {
            assert_clear(&e);
            assert!(e.line.is_some() || e.file.is_some(), "unplaced: {e}");
        }
    }
}

/// Bytes read one value at a time; zeros when they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
    /// A duration as a policy writes one: mostly small round values, some
    /// odd, some huge (up to the limit and past it).
    fn duration(&mut self) -> u64 {
        match self.u8() % 8 {
            0 => 0,
            1 => u64::from(self.u8()) * 500,
            2 => u64::from(self.u8()) * 1000,
            3 => u64::from(self.u32() % 10_000),
            4 => MAX_DURATION_MS - u64::from(self.u8()),
            5 => MAX_DURATION_MS + u64::from(self.u8()),
            6 => u64::from(self.u32()) * 1000,
            _ => u64::from(self.u8()) * 60_000,
        }
    }
}

/// Knobs the decision fuzzer may change in a shipped policy.
const KNOBS: [(&str, &str); 9] = [
    ("heartbeat", "recent_window"),
    ("strikes", "window"),
    ("settle", "window"),
    ("settle", "fresh_heartbeat_wait"),
    ("settle", "fresh_heartbeat_poll"),
    ("reprobe", "delay"),
    ("restart", "debounce"),
    ("restart", "file_write_drop"),
    ("strikes", "threshold"),
];

/// A shipped policy with some knobs set from the bytes, validated as a
/// file is; the shipped policy itself when the result is refused.
fn fuzzed_policy(b: &mut Bytes) -> Policy {
    let pick = b.u8() as usize;
    let name = POLICIES[pick % POLICIES.len()].0;
    let changes = b.u8() % 4;
    if changes == 0 {
        return shipped_policy(pick);
    }
    static TABLES: OnceLock<Vec<toml::Table>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        POLICIES
            .iter()
            .map(|(_, text)| text.parse().expect("shipped policy is TOML"))
            .collect()
    });
    let mut table = tables[pick % tables.len()].clone();
    for _ in 0..changes {
        let (t, k) = KNOBS[b.u8() as usize % KNOBS.len()];
        let Some(section) = table.get_mut(t).and_then(|v| v.as_table_mut()) else {
            continue;
        };
        if !section.contains_key(k) {
            continue;
        }
        let value = if k == "threshold" {
            toml::Value::Integer(i64::from(b.u8() % 8))
        } else {
            toml::Value::String(format!("{}ms", b.duration()))
        };
        section.insert(k.to_owned(), value);
    }
    let text = toml::to_string(&table).expect("TOML");
    match Policy::parse(name, Path::new(name), &text) {
        Ok(p) if polls(&p) <= MAX_POLLS => p,
        Ok(_) => shipped_policy(pick),
        Err(e) => {
            assert_clear(&e);
            shipped_policy(pick)
        }
    }
}

fn probe_result(b: u8) -> ProbeResult {
    match b % 4 {
        0 => ProbeResult::Running,
        1 => ProbeResult::NotRunning,
        2 => ProbeResult::Error,
        _ => ProbeResult::ErrorNotRunning,
    }
}

/// Polls of the fresh-heartbeat wait a decision may make.
fn polls(policy: &Policy) -> u64 {
    policy
        .decision
        .settle
        .and_then(|s| s.fresh_wait)
        .map_or(0, |w| w.wait / w.poll.max(1) + 1)
}

/// The fuzzer keeps to policies whose fresh-heartbeat wait polls at most
/// this often per decision. The policy file itself allows any ratio (a
/// year's wait polled every millisecond is 3·10^10 polls, which a driver
/// such as replay walks one by one): reported in docs/hardening.md.
const MAX_POLLS: u64 = 4096;

/// Drives a decision to its end the way a driver does (started now when the
/// slot has none, timers at their instants, probes answered `answer`): it
/// must end within its polls and a few steps more.
fn run_to_end(
    policy: &Policy,
    ws: &mut Workspace,
    slot: &mut Option<Decision>,
    now: &mut u64,
    answer: ProbeResult,
) {
    let d = *slot.get_or_insert_with(|| start_checked(policy, ws, *now));
    let mut awaiting = d.awaiting();
    for _ in 0..polls(policy) + 16 {
        let input = match awaiting {
            Awaiting::Nothing => return,
            Awaiting::Probe => Input::Probe(answer),
            Awaiting::Timer(t) => {
                *now = (*now).max(t);
                Input::Timer
            }
            Awaiting::Resume => Input::Resume,
        };
        step_checked(policy, ws, slot, *now, input);
        awaiting = slot.map_or(Awaiting::Nothing, |d| d.awaiting());
    }
    if awaiting == Awaiting::Nothing {
        return;
    }
    panic!(
        "a decision did not end within {} steps: {:?}",
        polls(policy) + 16,
        slot.map(|d| d.phase())
    );
}

/// A decision started at `now`, with the machine's contract checked after it.
fn start_checked(policy: &Policy, ws: &mut Workspace, now: u64) -> Decision {
    let (d, step) = Decision::start(policy, ws, now);
    check_step(policy, ws, &d, now, step);
    d
}

/// One step of a running decision (nothing when the slot has none), with
/// the machine's contract checked around it.
fn step_checked(
    policy: &Policy,
    ws: &mut Workspace,
    slot: &mut Option<Decision>,
    now: u64,
    input: Input,
) {
    let Some(d) = slot else { return };
    let (before_d, before_ws) = (*d, *ws);
    match d.step(policy, ws, now, input) {
        Err(e) => {
            assert_eq!(*d, before_d, "a refused input changed the decision");
            assert_eq!(*ws, before_ws, "a refused input changed the workspace");
            assert_eq!(e.awaiting, before_d.awaiting());
            assert!(!e.to_string().is_empty());
        }
        Ok(step) => check_step(policy, ws, d, now, step),
    }
}

/// The contract after a step: the decision awaits what the step says, a
/// declaration did what declaring does, and no decision probes thrice.
fn check_step(policy: &Policy, ws: &Workspace, d: &Decision, now: u64, step: Step) {
    match step {
        Step::Probe => assert_eq!(d.awaiting(), Awaiting::Probe),
        Step::Yield => assert_eq!(d.awaiting(), Awaiting::Resume),
        Step::Wake { at: t, .. } => {
            // A wake at `now` (a zero re-probe delay) is due at once; the
            // run_to_end bound catches a wake that never makes progress.
            assert!(t >= now, "a wake at {t}, before now ({now})");
            assert_eq!(d.awaiting(), Awaiting::Timer(t));
        }
        Step::Done(v) => {
            assert_eq!(d.verdict(), Some(v));
            assert_eq!(d.awaiting(), Awaiting::Nothing);
            if v == Verdict::Dead {
                assert!(!ws.url_cached(), "a declaration deletes the URL cache");
                assert!(
                    ws.liveness_key().is_none(),
                    "a declaration deletes the liveness key"
                );
                assert!(
                    ws.status() != livecheck::workspace::Status::Online,
                    "a declaration marks the row offline (or leaves it provisioning)"
                );
                if policy.decision.strikes.is_some() {
                    assert!(ws.strikes().is_none(), "a declaration resets strikes");
                }
            }
        }
    }
    assert!(d.probes() <= 2, "{} probes", d.probes());
}

/// `Decision::step` with arbitrary inputs: a (possibly re-tuned) shipped
/// policy, one workspace, two decisions, and a stream of operations
/// (inputs, time passing by any amount, heartbeats, restarts from every
/// source, cycle ends, facts changing). Time never goes backwards (the
/// contract); everything else is allowed.
pub fn decision(data: &[u8]) {
    let mut b = Bytes(data);
    let policy = fuzzed_policy(&mut b);
    let mut ws = Workspace::new(Facts::default());
    let mut ds: [Option<Decision>; 2] = [None, None];
    let mut now: u64 = u64::from(b.u32());
    let mut ops = 0;
    while !b.done() && ops < 4096 {
        ops += 1;
        let op = b.u8();
        let k = usize::from(op >> 7);
        match op % 16 {
            0 => {
                // A request of a slot with no decision fails.
                if ds[k].is_none() {
                    ds[k] = Some(start_checked(&policy, &mut ws, now));
                }
            }
            1 | 2 => {
                let r = probe_result(b.u8());
                step_checked(&policy, &mut ws, &mut ds[k], now, Input::Probe(r));
            }
            3 => {
                let input = if op & 64 != 0 {
                    Input::Resume
                } else {
                    Input::Timer
                };
                step_checked(&policy, &mut ws, &mut ds[k], now, input)
            }
            4 => now = now.saturating_add(u64::from(b.u8()) * 100),
            5 => now = now.saturating_add(u64::from(b.u32())),
            6 => {
                // Far into the future, up to the end of the clock.
                now = now.saturating_add(u64::MAX >> (b.u8() % 64));
            }
            7 => ws.heartbeat(now),
            8 => {
                let source = match b.u8() % 3 {
                    0 => RestartSource::Detector,
                    1 => RestartSource::FileWrite,
                    _ => RestartSource::Other,
                };
                match b.u8() % 3 {
                    0 => {
                        let _ = ws.restart_mut().request(&policy.restart, now, source);
                    }
                    1 => {
                        let _ = ws
                            .restart_mut()
                            .debounce_check(&policy.restart, now, source);
                    }
                    _ => {
                        let _ = ws.restart_mut().coalesce(now);
                    }
                }
            }
            9 => {
                if ws.restart_mut().loop_top(now) == livecheck::restart::LoopTop::Done {
                    ws.restart_mut().exit(now);
                }
            }
            10 => ws.observe_restart_started(now),
            11 => {
                let f = b.u8();
                ws.set_facts(Facts {
                    external_runtime: f & 1 != 0,
                    provisioner: f & 2 == 0,
                });
            }
            12 => {
                if ds[k].is_some_and(|d| d.awaiting() == Awaiting::Nothing) {
                    ds[k] = None;
                }
            }
            13 => {
                let answer = probe_result(b.u8());
                run_to_end(&policy, &mut ws, &mut ds[k], &mut now, answer);
            }
            14 => {
                // A timer fed early: the same wake comes back, nothing moves.
                if let Some(d) = &mut ds[k] {
                    if let Awaiting::Timer(t) = d.awaiting() {
                        if t > now {
                            let before = *d;
                            let got = d.step(&policy, &mut ws, now, Input::Timer);
                            assert!(
                                matches!(got, Ok(Step::Wake { at, .. }) if at == t),
                                "{got:?}"
                            );
                            assert_eq!(*d, before);
                        }
                    }
                }
            }
            _ => {
                ws = Workspace::restore(Stored {
                    url_registered: b.u8() % 2 == 0,
                    ..ws.stored()
                })
            }
        }
    }
    for (i, d) in ds.iter_mut().enumerate() {
        run_to_end(&policy, &mut ws, d, &mut now, probe_result(i as u8));
    }
}
