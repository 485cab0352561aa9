//! The `exhaustive` set: a bounded space of workspace histories, answer
//! pairs and interfering events (described on
//! [`generate_with`](super::generate_with)).

use super::world::{facts, Answering, Knobs, LogWorld, Played, Sets};
use super::EventKind::{
    self, A2aFailed, CycleFinished, Heartbeat, Register, RestartFinished, RestartStarted,
};
use super::{LogLine, WS};
use crate::decision::ProbeResult::{self, NotRunning, Running};
use crate::duration::Ms;
use crate::error::InputError;
use crate::restart::RestartSource::{self, FileWrite, Other};

/// One thing put into a decision's run.
#[derive(Clone, Copy)]
enum Interference {
    Event(EventKind),
    Request(RestartSource),
    Nothing,
}

impl Interference {
    fn play(self, w: &mut LogWorld<'_>) -> Played {
        match self {
            Interference::Event(A2aFailed) => {
                w.fail(&[NotRunning, NotRunning])?;
            }
            Interference::Event(kind) => {
                w.emit(kind)?;
            }
            Interference::Request(s) => {
                w.request(s)?;
            }
            Interference::Nothing => {}
        }
        Ok(())
    }
}

/// The bounded exhaustive space (module docs).
pub(super) fn exhaustive(out: &mut Sets<'_>) -> Result<(), InputError> {
    out.set("exhaustive");
    let k = Knobs::of(out.policy);
    let t0 = k.horizon() * 3 + 20_000;
    let prefixes = histories(&k, t0);
    let policy = out.policy;
    let build = |prefix: &[LogLine<'static>]| -> Result<LogWorld<'_>, String> {
        let mut w = LogWorld::new(policy, 0, Answering::after(0));
        for ev in prefix {
            w.at(ev.t_ms)?.emit_line(ev.clone())?;
        }
        w.at(t0)?;
        Ok(w)
    };
    // (b) Every answer sequence, with and without a follow-up request.
    for (pname, prefix) in &prefixes {
        for a in ProbeResult::ALL {
            for b in ProbeResult::ALL {
                for follow in [false, true] {
                    out.build(
                        format!("exhaustive/{pname}/answers_{a}_{b}/follow_up_{follow}"),
                        build(prefix).map_err(internal)?,
                        |w| {
                            w.fail(&[a, b])?;
                            w.drain()?;
                            if follow {
                                w.at(w.t + 1)?.fail(&[NotRunning, NotRunning])?;
                            }
                            Ok(())
                        },
                    )?;
                }
            }
        }
    }
    // (c) One interfering event at each suspension point of the decision.
    let interferences: [(&str, Interference); 8] = [
        ("heartbeat", Interference::Event(Heartbeat)),
        ("register", Interference::Event(Register)),
        ("restart_started", Interference::Event(RestartStarted)),
        ("restart_finished", Interference::Event(RestartFinished)),
        ("cycle_finished", Interference::Event(CycleFinished)),
        ("request_other", Interference::Request(Other)),
        ("request_file_write", Interference::Request(FileWrite)),
        ("a2a_failed", Interference::Event(A2aFailed)),
    ];
    for (pname, prefix) in &prefixes {
        for [a, b] in [[NotRunning, NotRunning], [NotRunning, Running]] {
            let suspensions = build(prefix)
                .map_err(internal)?
                .suspensions_of(|w| w.fail(&[a, b]))?;
            for i in 1..=suspensions {
                for (iname, what) in interferences {
                    out.build(
                        format!("exhaustive/{pname}/answers_{a}_{b}/{iname}_after_suspension_{i}"),
                        build(prefix).map_err(internal)?,
                        |w| {
                            let r = w.fail(&[a, b])?;
                            w.advance_until(|w| w.suspensions(&r) >= i)?;
                            what.play(w)
                        },
                    )?;
                }
            }
        }
    }
    // (d) A whole restart (two events, a millisecond apart) at each
    // suspension of a decision that is about to declare.
    let cycles: [(&str, [Interference; 2]); 3] = [
        (
            "observed",
            [
                Interference::Event(RestartStarted),
                Interference::Event(RestartFinished),
            ],
        ),
        (
            "requested",
            [
                Interference::Request(Other),
                Interference::Event(CycleFinished),
            ],
        ),
        (
            "started_only",
            [Interference::Event(RestartStarted), Interference::Nothing],
        ),
    ];
    // Answers take 10 ms, so the cycle fits inside a probe.
    let build_ctx = |ctx: &str| -> Result<LogWorld<'_>, String> {
        let mut w = LogWorld::new(policy, 0, Answering::after(10));
        let t = t0 - 20_000;
        if ctx == "settling_fresh_strike_pending" {
            w.at(t - 10_000)?.emit(RestartStarted)?;
            w.at(t - 9_000)?.emit(RestartFinished)?;
        }
        if ctx != "nothing_recent" {
            w.at(t)?.emit(Heartbeat)?;
            w.fail(&[NotRunning, NotRunning])?;
            w.drain()?;
            w.at(t0)?.emit(Heartbeat)?;
        }
        w.at(t0)?;
        Ok(w)
    };
    for ctx in [
        "nothing_recent",
        "strike_pending",
        "settling_fresh_strike_pending",
    ] {
        let suspensions = build_ctx(ctx)
            .map_err(internal)?
            .suspensions_of(|w| w.fail(&[NotRunning, NotRunning]))?;
        for i in 1..=suspensions {
            for (cname, events) in cycles {
                out.build(
                    format!("exhaustive/cycle_during_decision/{ctx}/{cname}_after_suspension_{i}"),
                    build_ctx(ctx).map_err(internal)?,
                    |w| {
                        let r = w.fail(&[NotRunning, NotRunning])?;
                        w.advance_until(|w| w.suspensions(&r) >= i)?;
                        events[0].play(w)?;
                        w.at(w.t + 1)?;
                        events[1].play(w)
                    },
                )?;
            }
        }
    }
    Ok(())
}

fn internal(e: String) -> InputError {
    InputError::new(format!("internal error building vectors: {e}"))
}

/// A restart history: the started age and, if the cycle returned, the
/// finished age.
type RestartAges = Option<(Ms, Option<Ms>)>;

/// (a) The workspace histories: `(name, events before t0)`.
fn histories(k: &Knobs, t0: Ms) -> Vec<(String, Vec<LogLine<'static>>)> {
    let settle = k.settle.unwrap_or(k.debounce / 2).max(2_000);
    let recent = k.recent.unwrap_or(15_000);
    let long = k.debounce.max(settle);
    // (name, started age, finished age).
    let restarts: [(&str, RestartAges); 5] = [
        ("none", None),
        ("running", Some((1_000, None))),
        ("settling", Some((3_000, Some(2_000)))),
        ("settled", Some((settle + 2_000, Some(settle + 1_000)))),
        ("past_debounce", Some((long + 2_000, Some(long + 1_000)))),
    ];
    let heartbeats: [(&str, Option<Ms>); 4] = [
        ("none", None),
        ("500ms", Some(500)),
        ("recent", Some(recent.saturating_sub(1_000).max(1))),
        ("old", Some(recent + 1_000)),
    ];
    let mut prefixes = Vec::new();
    for (rn, r) in &restarts {
        for (hn, h) in &heartbeats {
            let mut evs = Vec::new();
            if let Some((s, f)) = r {
                evs.push(LogLine::new(t0 - s, WS, RestartStarted));
                if let Some(f) = f {
                    evs.push(LogLine::new(t0 - f, WS, RestartFinished));
                }
            }
            if let Some(h) = h {
                evs.push(LogLine::new(t0 - h, WS, Heartbeat));
            }
            evs.sort_by_key(|e| e.t_ms);
            prefixes.push((format!("restart_{rn}/heartbeat_{hn}"), evs));
        }
    }
    prefixes.push((
        "facts_external".into(),
        vec![facts(0, Some("external"), None)],
    ));
    prefixes.push((
        "facts_no_provisioner".into(),
        vec![facts(0, None, Some(false))],
    ));
    prefixes
}
