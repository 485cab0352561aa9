//! The world's transitions: what each [`Action`] does to a [`WorldState`],
//! through the real machines (decision, restart coordinator, workspace).

use super::note::{Detector, JobEvent, Narrate, Note, Prober};
use super::{
    event, Action, Answer, Class, Coord, Crash, Job, JobPhase, Owner, Slot, Truth, World,
    WorldState, NOW,
};
use crate::decision::{Decision, Input, ProbeResult, Step, Verdict};
use crate::environment::Platform;
use crate::restart::{LoopTop, RestartOutcome};
use crate::workspace::Status;

/// Applies `action` to `s`; `None` when it is not possible.
pub(super) fn apply(
    w: &World,
    s: &mut WorldState,
    action: Action,
    n: &mut impl Narrate,
) -> Option<()> {
    match action {
        Action::Tick => {
            let dt = w.tick_len(s);
            n.note(Note::Time(dt));
            w.age(s, dt);
        }
        Action::Request(slot) => {
            let slot = usize::from(slot);
            if s.slots.get(slot)?.is_some() {
                return None;
            }
            let from_db = !s.ws.url_cached;
            if !s.ws.resolve_url() {
                return None;
            }
            s.req_timer = 0;
            let preflight = w.env.actors.preflight;
            n.note(Note::RequestArrived {
                slot,
                preflight,
                from_db,
            });
            start(w, s, slot, preflight, n)?;
        }
        Action::Forward(slot, fails) => {
            let slot = usize::from(slot);
            if *s.slots.get(slot)? != Some(Slot::Forwarding) {
                return None;
            }
            n.note(Note::Forward { slot, fails });
            if fails {
                start(w, s, slot, false, n)?;
            } else {
                s.slots[slot] = None;
            }
        }
        Action::Probe(slot, answer) => {
            let slot = usize::from(slot);
            let by = match s.slots.get(slot)?.as_ref()? {
                Slot::Preflight(_) => Prober::Preflight,
                _ => Prober::Decision,
            };
            let result = answer_probe(w, s, answer, Some(slot), by, n)?;
            feed(w, s, slot, Input::Probe(result), n)?;
        }
        Action::Timer(slot) => {
            let slot = usize::from(slot);
            n.note(Note::Timer { slot });
            feed(w, s, slot, Input::Timer, n)?;
        }
        Action::Resume(slot) => {
            let slot = usize::from(slot);
            n.note(Note::Resume { slot });
            feed(w, s, slot, Input::Resume, n)?;
        }
        Action::Heartbeat => {
            if s.truth != Truth::Up {
                return None;
            }
            n.note(Note::Heartbeat);
            s.ws.heartbeat(NOW);
            s.hb_timer = 0;
        }
        Action::Register => {
            if !matches!(s.truth, Truth::Booting { .. }) {
                return None;
            }
            n.note(Note::Registered);
            s.truth = Truth::Up;
            s.ws.register(NOW);
            s.hb_timer = 0;
            s.crash = None;
            // The settle period of the latest restart ends with its new
            // agent's registration (not an older container's, while a job
            // that will replace it is still to run).
            if s.job.is_none()
                && s.queued.is_none()
                && s.settle.take().is_some()
                && s.cycle_by_detector
            {
                s.events |= event::RECOVERED;
            }
        }
        Action::ReportsRunning => {
            if !matches!(s.truth, Truth::Pending { .. }) {
                return None;
            }
            n.note(Note::ReportsRunning);
            s.truth = Truth::Booting { elapsed: 0 };
        }
        Action::Crash => {
            if s.truth != Truth::Up {
                return None;
            }
            n.note(Note::Crash);
            s.truth = Truth::Crashed;
            s.req_timer = 0;
            s.crash = Some(Crash {
                age: 0,
                declared: false,
                repaired: false,
            });
        }
        Action::DockerRestarts => {
            if s.truth != Truth::Crashed {
                return None;
            }
            n.note(Note::DockerRestarts);
            s.truth = Truth::Booting { elapsed: 0 };
            if let Some(c) = &mut s.crash {
                c.repaired = true;
            }
        }
        Action::ConfigPut => {
            s.config_left = s.config_left.checked_sub(1)?;
            let fired = s.ws.restart.file_write_gate(&w.policy.restart, NOW).is_ok();
            n.note(Note::ConfigPut { fired });
            if fired {
                launch(s, Class::Config);
            }
        }
        Action::ManualRestart => {
            s.manual_left = s.manual_left.checked_sub(1)?;
            if w.policy.restart.manual_via_coordinator {
                // The proposal: the handler asks the coordinator (one
                // section, never dropped); the cycle marks the row.
                let outcome = s.ws.restart.coalesce(NOW);
                n.note(Note::ManualRestart {
                    outcome: Some(outcome),
                });
                // Not a detector's request: the fate rules of any
                // non-detector source (a config PUT's) apply.
                after_coalesce(s, Class::Config, outcome);
            } else {
                n.note(Note::ManualRestart { outcome: None });
                s.ws.mark_provisioning();
                s.settle = Some(0);
                s.cycle_by_detector = false;
                enqueue(s, Owner::Manual);
            }
        }
        Action::DetectorDecides(slot) => {
            let slot = usize::from(slot);
            if s.slots.get(slot)?.is_some() {
                return None;
            }
            let by = if s.ws.status != Status::Online {
                Detector::TtlMonitor
            } else if w.env.platform == Platform::Docker {
                Detector::Sweep
            } else {
                Detector::Reconciler
            };
            n.note(Note::DetectorDecides { slot, by });
            start(w, s, slot, false, n)?;
        }
        Action::Sweep(answer) => {
            if s.ws.status != Status::Online {
                return None;
            }
            let result = answer_probe(w, s, answer, None, Prober::Sweep, n)?;
            let policy = w.sweep_policy();
            let (mut d, mut step) = Decision::start(policy, &mut s.ws, NOW);
            if step == Step::Probe {
                step = d.step(policy, &mut s.ws, NOW, Input::Probe(result)).ok()?;
            }
            if step == Step::Done(Verdict::Dead) {
                n.note(Note::Declared {
                    by: Detector::Sweep,
                });
                declared(s);
                launch(s, Class::Detector);
            }
        }
        Action::Reconcile(answer) => {
            if s.ws.status != Status::Online {
                return None;
            }
            let result = answer_probe(w, s, answer, None, Prober::Reconciler, n)?;
            if result == ProbeResult::NotRunning {
                // cp_instance_reconciler.go@96ef5515:247-249: no offline, no
                // key cleared; only the restart.
                n.note(Note::Declared {
                    by: Detector::Reconciler,
                });
                declared(s);
                launch(s, Class::Detector);
            }
        }
        Action::KeyExpires => {
            if !w.key_expired(s) {
                return None;
            }
            n.note(Note::KeyExpired);
            s.ws.liveness_key = None;
            if w.ttl_declares() {
                // liveness.go@96ef5515:62-75: offline even when provisioning.
                n.note(Note::Declared {
                    by: Detector::TtlMonitor,
                });
                s.ws.status = Status::Offline;
                declared(s);
                launch(s, Class::Detector);
            }
        }
        Action::CacheExpires => {
            if !s.ws.url_cached {
                return None;
            }
            n.note(Note::CacheExpired);
            s.ws.url_cached = false;
        }
        Action::Check(class) => {
            let c = class as usize;
            s.inflight.launched[c] = s.inflight.launched[c].checked_sub(1)?;
            let policy = &w.policy.restart;
            if policy.atomic_request {
                let outcome = s.ws.restart.request(policy, NOW, class.source());
                n.note(Note::Coalesce { class, outcome });
                after_coalesce(s, class, outcome);
            } else {
                match s.ws.restart.debounce_check(policy, NOW, class.source()) {
                    Ok(()) => {
                        n.note(Note::Check {
                            class,
                            dropped: None,
                        });
                        s.inflight.passed[c] += 1;
                    }
                    Err(reason) => {
                        n.note(Note::Check {
                            class,
                            dropped: Some(reason),
                        });
                        after_coalesce(s, class, RestartOutcome::Dropped(reason));
                    }
                }
            }
        }
        Action::Coalesce(class) => {
            let c = class as usize;
            s.inflight.passed[c] = s.inflight.passed[c].checked_sub(1)?;
            let outcome = s.ws.restart.coalesce(NOW);
            n.note(Note::Coalesce { class, outcome });
            after_coalesce(s, class, outcome);
        }
        Action::LoopTop => {
            if s.coord != Coord::Top {
                return None;
            }
            let first = s.ws.restart.is_first_iteration();
            match s.ws.loop_top(NOW) {
                LoopTop::Run => {
                    n.note(Note::LoopTop {
                        run: true,
                        restamped: !first,
                    });
                    if !first {
                        // A new restart: a settle period of its own.
                        s.settle = Some(0);
                    }
                    s.coord = Coord::Cycle;
                    enqueue(s, Owner::Coordinator);
                }
                LoopTop::Done => {
                    n.note(Note::LoopTop {
                        run: false,
                        restamped: false,
                    });
                    s.coord = Coord::Exit;
                }
            }
        }
        Action::LoopExit => {
            if s.coord != Coord::Exit {
                return None;
            }
            let lost = s.ws.restart.is_pending();
            n.note(Note::LoopExit { lost });
            s.ws.restart.exit(NOW);
            s.coord = Coord::Idle;
            if lost && orphaned(s) {
                s.events |= event::ORPHAN;
            }
        }
        Action::JobStep => job_step(w, s, n)?,
    }
    Some(())
}

/// Answers a probe in `s` (spending budgets), counting a not-running result
/// in the settle period.
fn answer_probe(
    w: &World,
    s: &mut WorldState,
    answer: Answer,
    slot: Option<usize>,
    by: Prober,
    n: &mut impl Narrate,
) -> Option<ProbeResult> {
    if !w.answers(s).any(|a| a == answer) {
        return None;
    }
    match answer {
        Answer::Spurious => s.spurious_left -= 1,
        Answer::TransportError => s.errors_left -= 1,
        Answer::Truthful => {}
    }
    let result = w.probe_result(s, answer);
    if result == ProbeResult::NotRunning {
        if let Some(k) = &mut s.settle {
            *k = (*k + 1).min(2);
        }
    }
    n.note(Note::Probe {
        slot,
        by,
        result,
        spurious: answer == Answer::Spurious,
    });
    Some(result)
}

/// Starts a decision in `slot` (the preflight's when `preflight`): its
/// request failed, or the preflight runs before forwarding.
fn start(
    w: &World,
    s: &mut WorldState,
    slot: usize,
    preflight: bool,
    n: &mut impl Narrate,
) -> Option<()> {
    let (by, policy) = if preflight {
        (Prober::Preflight, &w.preflight)
    } else {
        (Prober::Decision, &w.policy)
    };
    let (d, step) = Decision::start(policy, &mut s.ws, NOW);
    *s.slots.get_mut(slot)? = Some(match by {
        Prober::Preflight => Slot::Preflight(d),
        _ => Slot::Decision(d),
    });
    stepped(s, slot, by, step, n)
}

/// Feeds `input` to the decision in `slot`; `None` when it refuses it.
fn feed(
    w: &World,
    s: &mut WorldState,
    slot: usize,
    input: Input,
    n: &mut impl Narrate,
) -> Option<()> {
    let cell = s.slots.get(slot).copied().flatten()?;
    let (mut d, by) = match cell {
        Slot::Preflight(d) => (d, Prober::Preflight),
        Slot::Decision(d) => (d, Prober::Decision),
        Slot::Forwarding => return None,
    };
    let step = d.step(w.slot_policy(&cell), &mut s.ws, NOW, input).ok()?;
    s.slots[slot] = Some(match cell {
        Slot::Preflight(_) => Slot::Preflight(d),
        _ => Slot::Decision(d),
    });
    stepped(s, slot, by, step, n)
}

/// What follows a step of the decision in `slot` (already stored there):
/// the narration, and when it is over the slot freed (or, after a
/// preflight that let the request through, the forward) and a declaration's
/// restart launched.
fn stepped(
    s: &mut WorldState,
    slot: usize,
    by: Prober,
    step: Step,
    n: &mut impl Narrate,
) -> Option<()> {
    n.note(Note::Step { slot, by, step });
    let Step::Done(verdict) = step else {
        return Some(());
    };
    s.slots[slot] = match (by, verdict) {
        // The preflight let the request through: its forward follows.
        (Prober::Preflight, v) if v != Verdict::Dead => Some(Slot::Forwarding),
        _ => None,
    };
    if verdict == Verdict::Dead {
        declared(s);
        launch(
            s,
            if by == Prober::Decision {
                Class::Decision
            } else {
                Class::Detector
            },
        );
    }
    Some(())
}

/// A detector declared the container dead now: the properties' events.
fn declared(s: &mut WorldState) {
    s.events |= event::DECLARED;
    match &mut s.crash {
        Some(c) => {
            s.events |= event::DEAD_CRASHED;
            c.declared = true;
        }
        None => s.events |= event::FALSE_DEAD,
    }
    if s.settle.is_some_and(|k| k < 2) {
        s.events |= event::LONE_FALSE;
    }
}

/// A `RestartByID` goroutine is launched.
fn launch(s: &mut WorldState, class: Class) {
    s.inflight.launched[class as usize] += 1;
}

/// What a restart request's fate does to the world and the properties.
fn after_coalesce(s: &mut WorldState, class: Class, outcome: RestartOutcome) {
    // Started (not coalesced): no cycle ran between the declaration and
    // now, so the settle period still open is the one the declaration saw.
    if class == Class::Decision
        && outcome == RestartOutcome::Started
        && s.settle.is_some_and(|k| k < 2)
    {
        s.events |= event::LONE_FIRE;
    }
    match outcome {
        RestartOutcome::Started => {
            if class.is_detector() && s.settle.is_some() {
                s.events |= event::LOOP;
            }
            s.settle = Some(0);
            s.cycle_by_detector = class.is_detector();
            s.coord = Coord::Top;
        }
        RestartOutcome::Coalesced => {
            if class.is_detector() && s.settle.is_some() {
                s.events |= event::LOOP;
            }
            s.cycle_by_detector |= class.is_detector();
        }
        RestartOutcome::Dropped(_) => {
            if class.is_detector() && orphaned(s) {
                s.events |= event::ORPHAN;
            }
        }
    }
}

/// No restart is coming and the container is crashed, or runs without its
/// liveness key (which heartbeats cannot recreate): the workspace has no way
/// back until something else happens.
fn orphaned(s: &WorldState) -> bool {
    let cycle_coming = s.ws.restart.is_running()
        || s.job.is_some()
        || s.queued.is_some()
        || s.coord != Coord::Idle;
    !cycle_coming
        && match s.truth {
            Truth::Crashed => true,
            Truth::Up => s.ws.liveness_key.is_none(),
            _ => false,
        }
}

/// Queues a restart job for the provision gate.
fn enqueue(s: &mut WorldState, owner: Owner) {
    if s.job.is_none() {
        s.job = Some(Job {
            owner,
            phase: JobPhase::Start,
            elapsed: 0,
        });
    } else {
        s.queued = Some(owner);
    }
}

/// Moves the restart job on.
fn job_step(w: &World, s: &mut WorldState, n: &mut impl Narrate) -> Option<()> {
    let job = s.job?;
    if !w.job_step_enabled(job) {
        return None;
    }
    let e = &w.env;
    let begin_stop = |s: &mut WorldState, n: &mut dyn FnMut(Note)| {
        n(Note::Job {
            owner: job.owner,
            what: JobEvent::Stops,
        });
        s.truth = Truth::Down;
        // The old container is gone: what follows is a restart, not a crash.
        s.crash = None;
        s.job = Some(Job {
            owner: job.owner,
            phase: JobPhase::Stop,
            elapsed: 0,
        });
    };
    let mut note = |x: Note| n.note(x);
    match job.phase {
        JobPhase::Start => {
            if job.owner == Owner::Coordinator && s.ws.status == Status::Provisioning {
                note(Note::Job {
                    owner: job.owner,
                    what: JobEvent::Sleeps,
                });
                s.job = Some(Job {
                    owner: job.owner,
                    phase: JobPhase::Sleep,
                    elapsed: 0,
                });
            } else {
                begin_stop(s, &mut note);
            }
        }
        JobPhase::Sleep => begin_stop(s, &mut note),
        JobPhase::Stop => {
            note(Note::Job {
                owner: job.owner,
                what: JobEvent::Stopped,
            });
            if job.owner == Owner::Coordinator {
                s.ws.mark_provisioning();
            }
            s.job = Some(Job {
                owner: job.owner,
                phase: JobPhase::Provision,
                elapsed: 0,
            });
        }
        JobPhase::Provision => {
            note(Note::Job {
                owner: job.owner,
                what: JobEvent::Provisioned,
            });
            if e.platform == Platform::Docker {
                s.ws.container_started();
            }
            s.truth = if e.boot_not_running.max > 0 {
                Truth::Pending { elapsed: 0 }
            } else {
                Truth::Booting { elapsed: 0 }
            };
            if job.owner == Owner::Coordinator {
                s.coord = Coord::Top;
            }
            s.job = s.queued.take().map(|owner| Job {
                owner,
                phase: JobPhase::Start,
                elapsed: 0,
            });
        }
    }
    Some(())
}
