//! The `scenario` set: the upstream test table, one vector per branch, and
//! situations aimed at the v3 knobs (named by the situation, generated for
//! every policy).

use super::world::{off, Knobs, Sets};
use super::EventKind::{CycleFinished, Heartbeat, Register, RestartFinished, RestartStarted};
use crate::decision::ProbeResult::{self, Error, NotRunning, Running};
use crate::duration::Ms;
use crate::error::InputError;
use crate::restart::RestartSource::{self, FileWrite, Other};
use crate::workspace::EXTERNAL_LIKE_RUNTIMES;

/// Named scenarios: the upstream test table and one per branch.
pub(super) fn scenarios(out: &mut Sets<'_>) -> Result<(), InputError> {
    out.set("scenario");
    let k = Knobs::of(out.policy);
    let base = k.horizon() * 2 + 10_000;
    for rt in EXTERNAL_LIKE_RUNTIMES {
        out.scripted(format!("scenario/skip/runtime_{rt}"), |w| {
            w.facts(Some(rt), None)?;
            w.fail(&[NotRunning])?;
            Ok(())
        })?;
    }
    out.scripted("scenario/skip/no_provisioner", |w| {
        w.facts(Some("docker"), Some(false))?;
        w.fail(&[NotRunning])?;
        Ok(())
    })?;
    out.scripted("scenario/facts/back_to_ordinary", |w| {
        w.facts(Some("external"), None)?;
        w.at(10)?.facts(Some("docker"), Some(true))?;
        w.at(20)?.fail(&[NotRunning])?;
        Ok(())
    })?;
    out.scripted("scenario/skip/restart_running", |w| {
        w.at(base)?.emit(RestartStarted)?;
        w.at(base + 1_000)?.fail(&[NotRunning])?;
        Ok(())
    })?;
    for a in ProbeResult::ALL {
        for b in ProbeResult::ALL {
            out.scripted(format!("scenario/answers/no_heartbeat/{a}_{b}"), |w| {
                w.at(base)?.fail(&[a, b])?;
                Ok(())
            })?;
            out.scripted(format!("scenario/answers/heartbeat_now/{a}_{b}"), |w| {
                w.at(base)?.emit(Heartbeat)?;
                w.fail(&[a, b])?;
                Ok(())
            })?;
        }
    }
    // Upstream: "V1: hb = now, probe false, two calls" and "calls see false,
    // true, false".
    out.scripted("scenario/upstream/two_calls_recent_heartbeat", |w| {
        w.at(base)?.emit(Heartbeat)?;
        w.fail(&[NotRunning, NotRunning])?;
        w.drain()?;
        w.at(base + 1_000)?.fail(&[NotRunning, NotRunning])?;
        Ok(())
    })?;
    out.scripted("scenario/upstream/false_true_false", |w| {
        for (i, a) in [NotRunning, Running, NotRunning].into_iter().enumerate() {
            w.at(base + 1_000 * i as Ms)?.emit(Heartbeat)?;
            w.fail(&[a, a])?;
            w.drain()?;
        }
        Ok(())
    })?;
    // Upstream: "restart stamped now, not running; RestartByID x5".
    out.scripted("scenario/upstream/restart_by_id_x5", |w| {
        w.at(base)?.request(Other)?;
        w.at(base + 4_000)?.emit(CycleFinished)?;
        for i in 0..5 {
            w.at(base + 4_000 + i)?.request(Other)?;
        }
        Ok(())
    })?;
    out.scripted("scenario/restart/file_write_then_debounce", |w| {
        w.at(base)?.request(FileWrite)?;
        w.at(base + 5_000)?.emit(CycleFinished)?;
        w.at(base + k.file_write.saturating_sub(1))?
            .request(FileWrite)?;
        w.at(base + k.file_write)?.request(FileWrite)?;
        Ok(())
    })?;
    // A restart starts while the probe is out; the answer comes after the
    // debounce: the declaration coalesces, the cycle loops, then idles.
    out.slow(
        "scenario/restart/coalesced_loop_idle",
        k.debounce + 2,
        |w| {
            w.at(base)?.fail(&[NotRunning, NotRunning])?;
            w.at(base + 1)?.emit(RestartStarted)?;
            w.drain()?;
            for _ in 0..3 {
                w.at(w.t + 100)?.emit(CycleFinished)?;
            }
            Ok(())
        },
    )?;
    out.scripted("scenario/restart/requests_coalesce_and_loop", |w| {
        w.at(base)?.request(Other)?;
        w.at(base + k.debounce + 1)?.request(Other)?;
        w.at(base + k.debounce + 2)?.request(FileWrite)?;
        w.at(base + k.debounce + 3)?.emit(CycleFinished)?;
        w.at(base + k.debounce + 4)?.emit(CycleFinished)?;
        Ok(())
    })?;
    // A declaration while a cycle runs with a request already pending: the
    // decision started before the cycle, its answer comes after the debounce.
    out.slow(
        "scenario/restart/declare_while_cycle_pending",
        k.debounce + 10,
        |w| {
            w.at(base)?.fail(&[NotRunning, NotRunning])?;
            w.at(base + 1)?.request(Other)?;
            w.at(base + 1 + k.debounce)?.request(Other)?;
            w.drain()?;
            w.at(w.t + 100)?.emit(CycleFinished)?;
            w.at(w.t + 100)?.emit(CycleFinished)?;
            Ok(())
        },
    )?;
    detector_request_in_every_coordinator_state(out, &k, base)?;
    // A restart starts during the first probe (the #2929 race).
    out.slow("scenario/restart/started_during_probe", 10, |w| {
        w.at(base)?.fail(&[NotRunning, NotRunning])?;
        w.at(base + 1)?.emit(RestartStarted)?;
        Ok(())
    })?;
    // The #2929 incident: config PUT restart, cycle returns, PONG 0.7 s before
    // a lone not-running.
    out.scripted("scenario/incident/2929", |w| {
        w.at(base)?.request(FileWrite)?;
        w.at(base + 4_000)?.emit(CycleFinished)?;
        w.at(base + 8_000)?.emit(Heartbeat)?;
        w.at(base + 8_700)?.fail(&[NotRunning, Running])?;
        Ok(())
    })?;
    // Two decisions of one workspace at the same instant share strikes and
    // the restart coordinator.
    for hb in [false, true] {
        out.scripted(
            format!("scenario/concurrent/two_at_once_after_restart/heartbeat_{hb}"),
            |w| {
                w.at(base)?.emit(RestartStarted)?;
                w.at(base + 500)?.emit(RestartFinished)?;
                if hb {
                    w.emit(Heartbeat)?;
                }
                w.at(base + 1_000)?.fail(&[NotRunning, NotRunning])?;
                w.fail(&[NotRunning, NotRunning])?;
                Ok(())
            },
        )?;
    }
    // What a declaration leaves behind: a registered agent declared dead
    // (the row offline, its Redis keys deleted), then heartbeating (online
    // again, the deleted liveness key not recreated) and registering again.
    out.scripted("scenario/declared/heartbeat_then_register", |w| {
        w.at(base)?.emit(Register)?;
        w.at(base + k.recent.unwrap_or(0) + 1_000)?
            .fail(&[NotRunning, NotRunning])?;
        w.drain()?;
        w.at(w.t + 1_000)?.emit(Heartbeat)?;
        w.at(w.t + 1_000)?.emit(Register)?;
        Ok(())
    })?;
    // The same when the declaration's restart is dropped (inside the
    // debounce of a restart the agent came back from): the row stays
    // offline with its URL until the agent's next heartbeat.
    out.scripted("scenario/declared/restart_dropped_then_heartbeat", |w| {
        w.at(base)?.emit(RestartStarted)?;
        w.at(base + 1_000)?.emit(RestartFinished)?;
        w.at(base + 2_000)?.emit(Register)?;
        let quiet = (k.settle.unwrap_or(0) + 2_000).max(k.recent.unwrap_or(0) + 3_000);
        w.at(base + quiet)?.fail(&[NotRunning, NotRunning])?;
        w.drain()?;
        w.at(w.t + 1_000)?.emit(Heartbeat)?;
        w.at(w.t + 1_000)?.emit(Register)?;
        Ok(())
    })?;
    // Unexpected inputs: a timer while a probe is out, a probe while waiting.
    out.scripted("scenario/unexpected/timer_while_probing", |w| {
        w.at(base)?;
        let r = w.fail(&[NotRunning])?;
        w.timer(&r)
    })?;
    for (hb, restart) in [(true, false), (false, true)] {
        out.scripted(
            format!("scenario/unexpected/probe_and_early_timer_while_waiting/restart_{restart}"),
            |w| {
                if restart {
                    w.at(base)?.emit(RestartStarted)?;
                    w.at(base + 100)?.emit(RestartFinished)?;
                }
                w.at(base + 200)?;
                if hb {
                    w.emit(Heartbeat)?;
                }
                let r = w.fail(&[NotRunning, NotRunning])?;
                w.run_to(w.t, true)?;
                if let Some(at) = w.wake_of(&r) {
                    w.at(at.saturating_sub(1))?;
                    w.answer_now(&r, Running)?;
                    w.timer(&r)?;
                }
                Ok(())
            },
        )?;
    }
    knob_scenarios(out, &k, base)
}

/// The detector's restart request against every coordinator state and
/// outcome: the decision starts before any cycle, its answer comes at T, and
/// the coordinator is put in the state while the probe is out.
fn detector_request_in_every_coordinator_state(
    out: &mut Sets<'_>,
    k: &Knobs,
    base: Ms,
) -> Result<(), InputError> {
    /// What happens some milliseconds before the answer.
    #[derive(Clone, Copy)]
    enum Setup {
        CycleStarts,
        CycleEnds,
        Request(RestartSource),
    }
    use Setup::*;
    let d = k.debounce;
    let cases: [(&str, &[(Ms, Setup)]); 6] = [
        ("idle_started", &[]),
        ("idle_debounce", &[(1_000, CycleStarts), (900, CycleEnds)]),
        ("running_coalesced", &[(d + 1, CycleStarts)]),
        ("running_debounce", &[(1_000, CycleStarts)]),
        (
            "running_pending_coalesced",
            &[(2 * d + 10, CycleStarts), (d + 5, Request(Other))],
        ),
        (
            "running_pending_debounce",
            &[
                (2 * d + 10, CycleStarts),
                (d + 5, Request(Other)),
                (100, CycleStarts),
            ],
        ),
    ];
    let latency = 2 * d + 100;
    for (name, setup) in cases {
        out.slow(
            format!("scenario/restart/detector_request_{name}"),
            latency,
            |w| {
                w.at(base)?.fail(&[NotRunning, NotRunning])?;
                let t = base + latency;
                for &(before, what) in setup {
                    w.at(t - before)?;
                    match what {
                        CycleStarts => w.emit(RestartStarted)?,
                        CycleEnds => w.emit(RestartFinished)?,
                        Request(s) => w.request(s)?,
                    };
                }
                w.drain()?;
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// Scenarios aimed at the v3 knobs: a restart cycle in the same millisecond
/// as the stamp the decision read (`guard.recheck_restarting_before_declare`),
/// the settle window with and without the new agent's heartbeat
/// (`settle.on_not_running = "wait_for_agent"`), a lone "not running" with an
/// old heartbeat or none (`reprobe.always`) and declarations inside the
/// debounce (`restart.detector_bypasses_debounce`).
fn knob_scenarios(out: &mut Sets<'_>, k: &Knobs, base: Ms) -> Result<(), InputError> {
    // A strike is pending (a recent heartbeat, two "not running"), then at T
    // a cycle starts and returns, the request fails, and another cycle starts
    // in that same millisecond: restartStartedAt is what the decision read,
    // but a cycle runs when it is about to declare. The agent heartbeats
    // 100 ms later (fresh for a settling decision).
    out.scripted(
        "scenario/restart/cycle_again_in_the_same_millisecond",
        |w| {
            w.at(base)?.emit(Heartbeat)?;
            w.fail(&[NotRunning, NotRunning])?;
            w.drain()?;
            let t = base + 10_000;
            w.at(t)?.emit(RestartStarted)?;
            w.emit(RestartFinished)?;
            w.fail(&[NotRunning, NotRunning])?;
            w.emit(RestartStarted)?;
            w.at(t + 100)?.emit(Heartbeat)?;
            w.drain()?;
            Ok(())
        },
    )?;
    // The settle window and the new agent's heartbeat: none, one before the
    // restart, one at the failure, one during the fresh-heartbeat wait, one
    // after it; with two "not running" answers or a "running" re-probe.
    let wait = k.wait.unwrap_or(0);
    let heartbeats: [(&str, Option<i64>); 5] = [
        ("none", None),
        ("before_restart", Some(-6_000)),
        ("at_failure", Some(0)),
        ("during_wait", Some(wait as i64 / 2 + 1)),
        ("after_wait", Some(wait as i64 + 1)),
    ];
    for (hname, hb) in heartbeats {
        for [a, b] in [[NotRunning, NotRunning], [NotRunning, Running]] {
            out.scripted(
                format!("scenario/settling/heartbeat_{hname}/{a}_{b}"),
                |w| {
                    let start = base + 5_000;
                    let mut hb_at = hb.map(|d| off(start, d));
                    if let Some(h) = hb_at.filter(|&h| h < base) {
                        w.at(h)?.emit(Heartbeat)?;
                        hb_at = None;
                    }
                    w.at(base)?.emit(RestartStarted)?;
                    w.at(base + 1_000)?.emit(RestartFinished)?;
                    if hb_at == Some(start) {
                        w.at(start)?.emit(Heartbeat)?;
                        hb_at = None;
                    }
                    w.at(start)?.fail(&[a, b])?;
                    if let Some(h) = hb_at {
                        w.at(h)?.emit(Heartbeat)?;
                    }
                    Ok(())
                },
            )?;
        }
    }
    // A lone "not running" with an old heartbeat, or none, outside any
    // settle window.
    let recent = k.recent.unwrap_or(15_000);
    for hb in [false, true] {
        for second in [NotRunning, Running, Error] {
            let which = if hb { "old" } else { "none" };
            out.scripted(
                format!("scenario/reprobe/heartbeat_{which}/not_running_{second}"),
                |w| {
                    if hb {
                        w.at(base)?.emit(Heartbeat)?;
                    }
                    // A second older than the recent window (its +1 ms edge
                    // is a boundary vector).
                    w.at(base + recent + 1_000)?.fail(&[NotRunning, second])?;
                    Ok(())
                },
            )?;
        }
    }
    // Declarations inside the debounce: a restart, the agent back and
    // heartbeating before each failure, enough strikes to declare.
    for (name, gap) in [("early", 5_000), ("late", k.debounce.saturating_sub(2_000))] {
        out.scripted(
            format!("scenario/restart/declare_inside_debounce_{name}"),
            |w| {
                w.at(base)?.emit(RestartStarted)?;
                w.at(base + 1_000)?.emit(RestartFinished)?;
                let first = base + gap.max(2_000);
                for i in 0..k.threshold.max(1) as Ms {
                    w.at(first + 1_000 * i)?.emit(Heartbeat)?;
                    w.fail(&[NotRunning, NotRunning])?;
                    w.drain()?;
                }
                Ok(())
            },
        )?;
    }
    // Decisions that start inside the settle window but whose probes answer
    // only after the debounce: a declaration after the re-probe (strikes
    // counted while "settling") whose restart starts. Two at once, so their
    // strikes reach the threshold together; with and without the new agent's
    // heartbeat.
    for hb in [false, true] {
        out.slow(
            format!("scenario/restart/settling_probes_answer_after_the_debounce/heartbeat_{hb}"),
            k.debounce + 10,
            |w| {
                w.at(base)?.emit(RestartStarted)?;
                w.at(base + 1_000)?.emit(RestartFinished)?;
                if hb {
                    w.at(base + 1_500)?.emit(Heartbeat)?;
                }
                w.at(base + 2_000)?;
                for _ in 0..k.threshold.max(1) {
                    w.fail(&[NotRunning, NotRunning])?;
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}
