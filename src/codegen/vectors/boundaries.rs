//! The `boundary` set: every window a millisecond either side of its
//! boundary, the strike threshold, the timers' instants.

use super::world::{off, signed, Answering, Knobs, LogWorld, Played, Sets};
use super::EventKind::{
    self, A2aFailed, CycleFinished, Heartbeat, RestartFinished, RestartStarted,
};
use crate::decision::ProbeResult::NotRunning;
use crate::duration::Ms;
use crate::error::InputError;
use crate::restart::RestartSource::{FileWrite, Other};
use std::collections::BTreeSet;

const DELTAS: [i64; 3] = [-1, 0, 1];

/// Every window a millisecond either side of its boundary.
pub(super) fn boundaries(out: &mut Sets<'_>) -> Result<(), InputError> {
    out.set("boundary");
    let k = Knobs::of(out.policy);
    let b0 = k.horizon() * 2 + 10_000;
    if let Some(r) = k.recent {
        for d in DELTAS {
            out.scripted(format!("boundary/recent_window/{}", signed(d)), |w| {
                w.at(b0)?.emit(Heartbeat)?;
                w.at(off(b0 + r, d))?.fail(&[NotRunning, NotRunning])?;
                Ok(())
            })?;
        }
    }
    if let Some(s) = k.settle {
        for d in DELTAS {
            for hb in [false, true] {
                out.scripted(
                    format!("boundary/settle_window/{}/heartbeat_{hb}", signed(d)),
                    |w| {
                        w.at(b0)?.emit(RestartStarted)?;
                        w.at(b0 + 1_000)?.emit(RestartFinished)?;
                        if hb {
                            w.emit(Heartbeat)?;
                        }
                        let stamp = if k.settle_from_finished {
                            b0 + 1_000
                        } else {
                            b0
                        };
                        w.at(off(stamp + s, d))?.fail(&[NotRunning, NotRunning])?;
                        Ok(())
                    },
                )?;
            }
        }
    }
    strikes(out, &k, b0)?;
    restarts(out, &k, b0)?;
    if k.reprobe.is_some() {
        reprobe_wake(out, b0)?;
    }
    if let (Some(wait), Some(poll)) = (k.wait, k.poll) {
        fresh_wait(out, b0, wait, poll)?;
    }
    Ok(())
}

/// Strike window and threshold, in every context that adds strikes.
fn strikes(out: &mut Sets<'_>, k: &Knobs, b0: Ms) -> Result<(), InputError> {
    let Some(sw) = k.strike_window else {
        return Ok(());
    };
    let mut contexts = Vec::new();
    if k.recent_strikes {
        contexts.push("recent_heartbeat");
    }
    if k.settle_strikes {
        contexts.push("settling");
    }
    // One strike at `t`: a recent heartbeat, or a cycle that just returned.
    let strike_at = |w: &mut LogWorld<'_>, ctx: &str, t: Ms| -> Played {
        if ctx == "recent_heartbeat" {
            w.at(t)?.emit(Heartbeat)?;
        } else {
            w.at(t.saturating_sub(5_000))?.emit(RestartStarted)?;
            w.at(t.saturating_sub(4_000))?.emit(RestartFinished)?;
        }
        w.at(t)?.fail(&[NotRunning, NotRunning])?;
        w.drain()?;
        Ok(())
    };
    for ctx in contexts {
        // Strikes 1..T-1 a step apart, the last one at first + window + d.
        for d in DELTAS {
            out.scripted(format!("boundary/strike_window/{ctx}/{}", signed(d)), |w| {
                let step: Ms = (sw / k.threshold.max(1) as Ms).clamp(1, 10_000);
                let mut t = b0;
                for i in 0..k.threshold.saturating_sub(1) {
                    t = b0 + step * i as Ms;
                    strike_at(w, ctx, t)?;
                }
                strike_at(w, ctx, off(b0 + sw, d).max(t + 1))
            })?;
        }
        // Threshold: T-1 strikes (not dead) then the T-th (dead).
        out.scripted(format!("boundary/strike_threshold/{ctx}"), |w| {
            for i in 0..k.threshold as Ms {
                strike_at(w, ctx, b0 + 10_000 * i)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// The debounce (through a declaration, an outside request and the
/// detector's own request) and the file-write drop.
fn restarts(out: &mut Sets<'_>, k: &Knobs, b0: Ms) -> Result<(), InputError> {
    for d in DELTAS {
        let sd = signed(d);
        out.scripted(format!("boundary/debounce/declare/{sd}"), |w| {
            w.at(b0)?.emit(RestartStarted)?;
            w.at(b0 + 1_000)?.emit(RestartFinished)?;
            w.at(off(b0 + k.debounce, d))?
                .fail(&[NotRunning, NotRunning])?;
            Ok(())
        })?;
        out.scripted(format!("boundary/debounce/request/{sd}"), |w| {
            w.at(b0)?.request(Other)?;
            w.at(b0 + 1_000)?.emit(CycleFinished)?;
            w.at(off(b0 + k.debounce, d))?.request(Other)?;
            Ok(())
        })?;
        // The detector's own request a millisecond either side of the
        // debounce: the agent heartbeats before each failure (recent, and
        // fresh while settling), strikes are pending, and the last decision
        // declares (after its re-probe) at restartStartedAt + debounce + d.
        out.scripted(format!("boundary/debounce/detector_declares/{sd}"), |w| {
            w.at(b0)?.emit(RestartStarted)?;
            w.at(b0 + 1_000)?.emit(RestartFinished)?;
            let last = off(b0 + k.debounce, d).saturating_sub(k.reprobe.unwrap_or(0));
            let n = k.threshold.max(1) as Ms;
            for i in (0..n).rev() {
                w.at(last.saturating_sub(1_000 * i).max(w.t))?
                    .emit(Heartbeat)?;
                w.fail(&[NotRunning, NotRunning])?;
                w.drain()?;
            }
            Ok(())
        })?;
        out.scripted(format!("boundary/file_write/{sd}"), |w| {
            w.at(b0)?.request(FileWrite)?;
            w.at(b0 + 1_000)?.emit(CycleFinished)?;
            w.at(off(b0 + k.file_write, d))?.request(FileWrite)?;
            Ok(())
        })?;
        // The file-write drop with the debounce already over.
        out.scripted(format!("boundary/file_write/after_debounce/{sd}"), |w| {
            w.at(b0)?.request(FileWrite)?;
            w.at(b0 + 1_000)?.emit(CycleFinished)?;
            w.at(b0 + k.debounce + 1_000)?.request(Other)?;
            w.at(b0 + k.debounce + 2_000)?.emit(CycleFinished)?;
            w.at(off(b0 + k.debounce + 1_000 + k.file_write, d))?
                .request(FileWrite)?;
            w.at(off(b0 + 2 * k.debounce + 1_000, d))?
                .request(FileWrite)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Re-probe sleep: events a millisecond either side of the wake, and an
/// early timer.
fn reprobe_wake(out: &mut Sets<'_>, b0: Ms) -> Result<(), InputError> {
    // Plays a decision until it sleeps before its re-probe; returns its
    // request and the wake (none when it never sleeps).
    let until_sleep = |w: &mut LogWorld<'_>, hb: bool, restart: bool| {
        if restart {
            w.at(b0)?.emit(RestartStarted)?;
            w.at(b0 + 100)?.emit(RestartFinished)?;
        }
        w.at(b0 + 200)?;
        if hb {
            w.emit(Heartbeat)?;
        }
        let r = w.fail(&[NotRunning, NotRunning])?;
        w.advance_until(|w| w.sleeping_until(&r).is_some() || !w.is_live(&r))?;
        let wake = w.sleeping_until(&r);
        Ok::<_, String>((r, wake))
    };
    let contexts: [(&str, bool, bool); 2] = [("heartbeat", true, false), ("settling", false, true)];
    let events: [(EventKind, &str); 3] = [
        (RestartStarted, "restart_started"),
        (Heartbeat, "heartbeat"),
        (A2aFailed, "a2a_failed"),
    ];
    for (ctx, hb, restart) in contexts {
        for (ev, evname) in events {
            for d in DELTAS {
                out.scripted(
                    format!("boundary/reprobe_wake/{ctx}/{evname}/{}", signed(d)),
                    |w| {
                        if let (_, Some(at)) = until_sleep(w, hb, restart)? {
                            w.at(off(at, d))?;
                            if ev == A2aFailed {
                                w.fail(&[NotRunning, NotRunning])?;
                            } else {
                                w.emit(ev)?;
                            }
                        }
                        Ok(())
                    },
                )?;
            }
        }
        out.scripted(format!("boundary/reprobe_wake/{ctx}/early_timer"), |w| {
            if let (r, Some(at)) = until_sleep(w, hb, restart)? {
                w.at(at - 1)?;
                w.timer(&r)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// The fresh-heartbeat wait: a heartbeat a millisecond either side of each
/// poll and of the deadline, the stamp comparison (`hb > since`), an early
/// poll timer and late ones landing on the deadline or a millisecond before.
fn fresh_wait(out: &mut Sets<'_>, b0: Ms, wait: Ms, poll: Ms) -> Result<(), InputError> {
    let start = b0 + 1_000;
    let restarted = |w: &mut LogWorld<'_>| -> Played {
        w.at(b0)?.emit(RestartStarted)?;
        w.at(b0 + 100)?.emit(RestartFinished)?;
        Ok(())
    };
    let polls: BTreeSet<Ms> = (1..)
        .map(|i| i * poll)
        .take_while(|&x| x <= wait)
        .chain(std::iter::once(wait))
        .collect();
    for &pt in &polls {
        for d in DELTAS {
            out.scripted(
                format!("boundary/fresh_wait/heartbeat_at_{pt}ms/{}", signed(d)),
                |w| {
                    restarted(w)?;
                    w.at(start)?.fail(&[NotRunning, NotRunning])?;
                    w.at(off(start + pt, d))?.emit(Heartbeat)?;
                    Ok(())
                },
            )?;
        }
    }
    for d in [0i64, 1] {
        for order in ["restart_then_heartbeat", "heartbeat_then_restart"] {
            out.scripted(
                format!("boundary/fresh_since/{order}/heartbeat_{}", signed(d)),
                |w| {
                    w.at(b0)?;
                    if order == "heartbeat_then_restart" {
                        w.emit(Heartbeat)?;
                    }
                    w.emit(RestartStarted)?;
                    w.at(off(b0, d))?.emit(Heartbeat)?;
                    w.at(b0 + 100)?.emit(RestartFinished)?;
                    w.at(start)?.fail(&[NotRunning, NotRunning])?;
                    Ok(())
                },
            )?;
        }
    }
    // A heartbeat before a second restart does not count as fresh.
    out.scripted("boundary/fresh_since/url_cleared", |w| {
        w.at(b0)?.emit(RestartStarted)?;
        w.at(b0 + 50)?.emit(Heartbeat)?;
        w.at(b0 + 100)?.emit(RestartStarted)?;
        w.at(b0 + 150)?.emit(RestartFinished)?;
        w.at(start)?.fail(&[NotRunning, NotRunning])?;
        Ok(())
    })?;
    out.scripted("boundary/fresh_wait/early_timer", |w| {
        restarted(w)?;
        w.at(start)?;
        let r = w.fail(&[NotRunning, NotRunning])?;
        if let Some(at) = w.wake_of(&r) {
            w.at(at - 1)?;
            w.timer(&r)?;
        }
        Ok(())
    })?;
    // Late timers: polls are fed at start + k * (poll + delay), so a delay
    // with k * (poll + delay) = target lands a poll exactly on the deadline,
    // or a millisecond before it.
    let mut delays = BTreeSet::from([1]);
    for target in [wait.saturating_sub(1), wait] {
        // Largest k first (smallest delay); bounded so no knob can make this
        // loop long.
        if let Some(d) = (1..=(target / poll).min(100_000))
            .rev()
            .find(|&k| target % k == 0 && target / k > poll)
            .map(|k| target / k - poll)
        {
            delays.insert(d);
        }
    }
    for delay in delays {
        let world = LogWorld::new(out.policy, delay, Answering::after(0));
        out.build(
            format!("boundary/fresh_deadline/timer_delay_{delay}ms"),
            world,
            |w| {
                restarted(w)?;
                w.at(start)?.fail(&[NotRunning, NotRunning])?;
                Ok(())
            },
        )?;
    }
    Ok(())
}
