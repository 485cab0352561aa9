//! Building vectors: a [`World`] that plays the outside world (answers every
//! probe, lets time pass) around the vector driver, and the four sets
//! (scenarios, boundaries, the bounded exhaustive space, seeded random logs).

use super::{run, Answer, Driver, Event, EventKind, NoObs, Source, Vector};
use crate::decision::{Awaiting, Phase};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::{OnRecent, OnSettling, Policy, SettleFrom};
use crate::replay::EXTERNAL_LIKE_RUNTIMES;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A restart history: the started age and, if the cycle returned, the
/// finished age.
type RestartAges = Option<(Ms, Option<Ms>)>;

/// A set-up event some milliseconds before an instant: a restart request
/// from `Some(source)`, or (`None`) an observed cycle start.
type SetupEvent = (Ms, Option<Source>);

/// An event put into a decision's run: `Some(kind)`, or (`None`) a restart
/// request from `Some(source)`, or nothing.
type Interference = (Option<EventKind>, Option<Source>);

/// A deterministic xorshift64* generator (no external RNG).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// Index chosen with the given weights.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// How a [`World`] answers probes.
#[derive(Clone)]
enum Answering {
    /// Per request: answers in order, then `not_running`; answered after `latency`.
    Script {
        answers: HashMap<String, Vec<Answer>>,
        latency: Ms,
    },
    /// Random answers and latencies.
    Random(Rng),
}

#[derive(Clone, Copy)]
struct Plan {
    asked_at: Ms,
    due: Ms,
    answer: Answer,
}

/// Builds a log by acting as the outside world: it answers every probe a
/// decision asks for and lets time pass, so the log is always complete.
#[derive(Clone)]
struct World<'p> {
    drv: Driver<'p>,
    events: Vec<Event>,
    t: Ms,
    next_req: usize,
    answering: Answering,
    used: HashMap<String, usize>,
    plans: HashMap<String, Plan>,
}

impl<'p> World<'p> {
    fn new(policy: &'p Policy, delay: Ms, answering: Answering) -> Self {
        World {
            drv: Driver::new(policy, delay),
            events: Vec::new(),
            t: 0,
            next_req: 1,
            answering,
            used: HashMap::new(),
            plans: HashMap::new(),
        }
    }

    fn scripted(policy: &'p Policy) -> Self {
        World::new(
            policy,
            0,
            Answering::Script {
                answers: HashMap::new(),
                latency: 0,
            },
        )
    }

    fn plan_for(&mut self, req: &str, asked_at: Ms) -> Plan {
        if let Some(p) = self.plans.get(req) {
            if p.asked_at == asked_at {
                return *p;
            }
        }
        let n = self.used.entry(req.to_owned()).or_insert(0);
        let (answer, latency) = match &mut self.answering {
            Answering::Script { answers, latency } => (
                answers
                    .get(req)
                    .and_then(|a| a.get(*n).copied())
                    .unwrap_or(Answer::NotRunning),
                *latency,
            ),
            Answering::Random(rng) => {
                let a = [
                    Answer::NotRunning,
                    Answer::Running,
                    Answer::Error,
                    Answer::ErrorNotRunning,
                ][rng.weighted(&[50, 22, 14, 14])];
                let lat = match rng.weighted(&[45, 30, 20, 5]) {
                    0 => 0,
                    1 => 1 + rng.below(500),
                    2 => 500 + rng.below(5_000),
                    _ => 61_000 + rng.below(5_000),
                };
                (a, lat)
            }
        };
        *n += 1;
        let p = Plan {
            asked_at,
            due: asked_at.saturating_add(latency),
            answer,
        };
        self.plans.insert(req.to_owned(), p);
        p
    }

    fn next_answer(&mut self) -> Option<(Ms, String, Answer)> {
        let asking: Vec<(String, Ms)> = self
            .drv
            .live
            .iter()
            .filter(|l| l.decision.awaiting() == Awaiting::Probe)
            .map(|l| (l.req.clone(), l.asked_at))
            .collect();
        let mut best: Option<(Ms, String, Answer)> = None;
        for (req, asked) in asking {
            let p = self.plan_for(&req, asked);
            if best.as_ref().is_none_or(|b| p.due < b.0) {
                best = Some((p.due, req, p.answer));
            }
        }
        best
    }

    fn push(&mut self, ev: Event) -> Result<(), String> {
        let line = self.events.len() + 1;
        self.drv.apply(line, &ev, &mut NoObs)?;
        self.events.push(ev);
        Ok(())
    }

    /// The next thing the world does by itself: a timer firing or a probe
    /// answer coming back (timers first at the same instant).
    fn next_thing(&mut self) -> Option<(Ms, Option<(String, Answer)>)> {
        let timer = self.drv.next_timer(None).map(|(due, _)| due);
        let answer = self.next_answer();
        match (timer, answer) {
            (Some(t), Some((d, _, _))) if t <= d => Some((t, None)),
            (_, Some((d, req, a))) => Some((d, Some((req, a)))),
            (Some(t), None) => Some((t, None)),
            (None, None) => None,
        }
    }

    fn do_thing(&mut self, due: Ms, thing: Option<(String, Answer)>) -> Result<(), String> {
        match thing {
            None => self.drv.advance_to(due, &mut NoObs),
            Some((req, a)) => {
                let mut ev = Event::new(due.max(self.drv.t), EventKind::Probe).with_req(&req);
                ev.result = Some(a);
                self.push(ev)?;
            }
        }
        self.t = self.t.max(self.drv.t);
        Ok(())
    }

    /// Does the next thing; false when nothing is pending.
    fn step_once(&mut self) -> Result<bool, String> {
        match self.next_thing() {
            Some((due, thing)) => {
                self.do_thing(due, thing)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Lets time pass up to `t`: timers due by `t` fire; probe answers due
    /// before `t` (or by `t` when `inclusive`) are given.
    fn run_to(&mut self, t: Ms, inclusive: bool) -> Result<(), String> {
        while let Some((due, thing)) = self.next_thing() {
            let go = due < t || (due == t && (inclusive || thing.is_none()));
            if !go {
                break;
            }
            self.do_thing(due, thing)?;
        }
        self.t = self.t.max(t);
        Ok(())
    }

    /// Does things until `pred` holds (true) or nothing is pending (false).
    fn advance_until(&mut self, pred: impl Fn(&World<'_>) -> bool) -> Result<bool, String> {
        for _ in 0..100_000 {
            if pred(self) {
                return Ok(true);
            }
            if !self.step_once()? {
                return Ok(false);
            }
        }
        Err("world does not settle".into())
    }

    /// Suspensions (probe or wake steps) of `req` so far.
    fn suspensions(&self, req: &str) -> usize {
        self.drv
            .steps
            .iter()
            .filter(|s| {
                s.req.as_deref() == Some(req) && matches!(s.step.as_deref(), Some("probe" | "wake"))
            })
            .count()
    }

    /// The re-probe instant of `req`, once it sleeps before the re-probe.
    fn sleeping_until(&self, req: &str) -> Option<Ms> {
        self.drv
            .live
            .iter()
            .find(|l| l.req == req)
            .and_then(|l| match l.decision.phase() {
                Phase::Sleeping { wake, .. } => Some(wake),
                _ => None,
            })
    }

    fn is_live(&self, req: &str) -> bool {
        self.drv.live.iter().any(|l| l.req == req)
    }

    /// Moves the world's clock to `t` (answers due exactly at `t` come after
    /// the next event).
    fn at(&mut self, t: Ms) -> Result<&mut Self, String> {
        self.run_to(t.max(self.t), false)?;
        Ok(self)
    }

    fn emit(&mut self, kind: EventKind) -> Result<&mut Self, String> {
        self.push(Event::new(self.t, kind))?;
        Ok(self)
    }

    fn emit_event(&mut self, mut ev: Event) -> Result<&mut Self, String> {
        ev.t_ms = self.t;
        self.push(ev)?;
        Ok(self)
    }

    fn request(&mut self, source: Source) -> Result<&mut Self, String> {
        let mut ev = Event::new(self.t, EventKind::RestartRequested);
        ev.source = Some(source);
        self.push(ev)?;
        Ok(self)
    }

    fn facts(&mut self, runtime: Option<&str>, provisioner: Option<bool>) -> Result<(), String> {
        let mut ev = Event::new(self.t, EventKind::Workspace);
        ev.runtime = runtime.map(str::to_owned);
        ev.provisioner = provisioner;
        self.push(ev)
    }

    /// A request fails now; its probes get `answers` (then `not_running`).
    fn fail(&mut self, answers: &[Answer]) -> Result<String, String> {
        let req = format!("r{}", self.next_req);
        self.next_req += 1;
        if let Answering::Script { answers: a, .. } = &mut self.answering {
            a.insert(req.clone(), answers.to_vec());
        }
        self.push(Event::new(self.t, EventKind::A2aFailed).with_req(&req))?;
        Ok(req)
    }

    fn timer(&mut self, req: &str) -> Result<(), String> {
        self.push(Event::new(self.t, EventKind::Timer).with_req(req))
    }

    /// An answer given now to `req` whatever it waits for.
    fn answer_now(&mut self, req: &str, a: Answer) -> Result<(), String> {
        let mut ev = Event::new(self.t, EventKind::Probe).with_req(req);
        ev.result = Some(a);
        self.push(ev)
    }

    /// Runs until no decision is live.
    fn drain(&mut self) -> Result<&mut Self, String> {
        if !self.advance_until(|w| w.drv.live.is_empty())? {
            return Err("a live decision waits for nothing".into());
        }
        Ok(self)
    }

    /// The decision of `req` is waiting for a timer at this instant.
    fn wake_of(&self, req: &str) -> Option<Ms> {
        self.drv
            .live
            .iter()
            .find(|l| l.req == req)
            .and_then(|l| match l.decision.awaiting() {
                Awaiting::Timer(at) => Some(at),
                _ => None,
            })
    }

    fn into_vector(mut self, name: String, set: &str) -> Result<Vector, String> {
        self.drain()?;
        let delay = self.drv.delay;
        let policy = self.drv.policy;
        let exp = run(policy, &self.events, delay).map_err(|e| format!("{name}: {e}"))?;
        let replay =
            delay == 0 && !exp.unexpected && self.events.iter().all(|e| e.is_replay_vocabulary());
        Ok(Vector {
            name,
            set: set.to_owned(),
            replay,
            timer_delay_ms: delay,
            events: self.events,
            steps: exp.steps,
            results: exp.results,
            final_state: exp.final_state,
        })
    }
}

/// The policy's thresholds, for building boundary cases.
#[derive(Clone, Copy)]
struct Knobs {
    recent: Option<Ms>,
    settle: Option<Ms>,
    settle_from_finished: bool,
    strike_window: Option<Ms>,
    threshold: u8,
    recent_strikes: bool,
    settle_strikes: bool,
    debounce: Ms,
    file_write: Ms,
    reprobe: Option<Ms>,
    wait: Option<Ms>,
    poll: Option<Ms>,
}

impl Knobs {
    fn of(p: &Policy) -> Self {
        let d = &p.decision;
        Knobs {
            recent: d.recent_heartbeat.map(|h| h.window),
            settle: d.settle.map(|s| s.window),
            settle_from_finished: d
                .settle
                .is_some_and(|s| s.measured_from == SettleFrom::RestartFinished),
            strike_window: d.strikes.map(|s| s.window),
            threshold: d.strikes.map_or(0, |s| s.threshold),
            recent_strikes: d.strikes.is_some()
                && d.recent_heartbeat
                    .is_some_and(|h| h.on_recent == OnRecent::Strike),
            settle_strikes: d.strikes.is_some()
                && d.settle
                    .is_some_and(|s| s.on_not_running == OnSettling::Strike),
            debounce: p.restart.debounce,
            file_write: p.restart.file_write_drop,
            reprobe: d.reprobe_delay,
            wait: d.settle.and_then(|s| s.fresh_wait).map(|w| w.wait),
            poll: d.settle.and_then(|s| s.fresh_wait).map(|w| w.poll),
        }
    }

    /// The largest window, so a base time can sit beyond all of them.
    fn horizon(&self) -> Ms {
        [
            self.recent,
            self.settle,
            self.strike_window,
            Some(self.debounce),
            Some(self.file_write),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
    }
}

fn signed(d: i64) -> String {
    match d {
        0 => "0ms".into(),
        d if d > 0 => format!("+{d}ms"),
        d => format!("{d}ms"),
    }
}

fn off(base: Ms, d: i64) -> Ms {
    base.saturating_add_signed(d)
}

struct Sets {
    vectors: Vec<Vector>,
    seen: HashSet<(Vec<Event>, Ms)>,
}

impl Sets {
    fn add(&mut self, v: Result<Vector, String>) -> Result<(), InputError> {
        let v = v.map_err(|e| InputError::new(format!("internal error building vectors: {e}")))?;
        if self.seen.insert((v.events.clone(), v.timer_delay_ms)) {
            self.vectors.push(v);
        }
        Ok(())
    }
}

/// Named scenarios: the upstream test table and one per branch.
fn scenarios(p: &Policy, out: &mut Sets) -> Result<(), InputError> {
    use Answer::*;
    let k = Knobs::of(p);
    let set = "scenario";
    let base = k.horizon() * 2 + 10_000;
    for rt in EXTERNAL_LIKE_RUNTIMES {
        out.add((|| {
            let mut w = World::scripted(p);
            w.facts(Some(rt), None)?;
            w.fail(&[NotRunning])?;
            w.into_vector(format!("scenario/skip/runtime_{rt}"), set)
        })())?;
    }
    out.add((|| {
        let mut w = World::scripted(p);
        w.facts(Some("docker"), Some(false))?;
        w.fail(&[NotRunning])?;
        w.into_vector("scenario/skip/no_provisioner".into(), set)
    })())?;
    out.add((|| {
        let mut w = World::scripted(p);
        w.facts(Some("external"), None)?;
        w.at(10)?.facts(Some("docker"), Some(true))?;
        w.at(20)?.fail(&[NotRunning])?;
        w.into_vector("scenario/facts/back_to_ordinary".into(), set)
    })())?;
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.emit(EventKind::RestartStarted)?;
        w.at(base + 1_000)?.fail(&[NotRunning])?;
        w.into_vector("scenario/skip/restart_running".into(), set)
    })())?;
    for a in Answer::ALL {
        for b in Answer::ALL {
            out.add((|| {
                let mut w = World::scripted(p);
                w.at(base)?.fail(&[a, b])?;
                w.into_vector(
                    format!("scenario/answers/no_heartbeat/{}_{}", a.word(), b.word()),
                    set,
                )
            })())?;
            out.add((|| {
                let mut w = World::scripted(p);
                w.at(base)?.emit(EventKind::Heartbeat)?;
                w.fail(&[a, b])?;
                w.into_vector(
                    format!("scenario/answers/heartbeat_now/{}_{}", a.word(), b.word()),
                    set,
                )
            })())?;
        }
    }
    // Upstream: "V1: hb = now, probe false, two calls" and "calls see false,
    // true, false".
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.emit(EventKind::Heartbeat)?;
        w.fail(&[NotRunning, NotRunning])?;
        w.drain()?;
        w.at(base + 1_000)?.fail(&[NotRunning, NotRunning])?;
        w.into_vector("scenario/upstream/two_calls_recent_heartbeat".into(), set)
    })())?;
    out.add((|| {
        let mut w = World::scripted(p);
        for (i, a) in [NotRunning, Running, NotRunning].into_iter().enumerate() {
            w.at(base + 1_000 * i as Ms)?.emit(EventKind::Heartbeat)?;
            w.fail(&[a, a])?;
            w.drain()?;
        }
        w.into_vector("scenario/upstream/false_true_false".into(), set)
    })())?;
    // Upstream: "restart stamped now, not running; RestartByID x5".
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.request(Source::Other)?;
        w.at(base + 4_000)?.emit(EventKind::CycleFinished)?;
        for i in 0..5 {
            w.at(base + 4_000 + i)?.request(Source::Other)?;
        }
        w.into_vector("scenario/upstream/restart_by_id_x5".into(), set)
    })())?;
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.request(Source::FileWrite)?;
        w.at(base + 5_000)?.emit(EventKind::CycleFinished)?;
        w.at(base + k.file_write.saturating_sub(1))?
            .request(Source::FileWrite)?;
        w.at(base + k.file_write)?.request(Source::FileWrite)?;
        w.into_vector("scenario/restart/file_write_then_debounce".into(), set)
    })())?;
    // A restart starts while the probe is out; the answer comes after the
    // debounce: the declaration coalesces, the cycle loops, then idles.
    out.add((|| {
        let mut w = World::new(
            p,
            0,
            Answering::Script {
                answers: HashMap::new(),
                latency: k.debounce + 2,
            },
        );
        w.at(base)?.fail(&[NotRunning, NotRunning])?;
        w.at(base + 1)?.emit(EventKind::RestartStarted)?;
        w.drain()?;
        w.at(w.t + 100)?.emit(EventKind::CycleFinished)?;
        w.at(w.t + 100)?.emit(EventKind::CycleFinished)?;
        w.at(w.t + 100)?.emit(EventKind::CycleFinished)?;
        w.into_vector("scenario/restart/coalesced_loop_idle".into(), set)
    })())?;
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.request(Source::Other)?;
        w.at(base + k.debounce + 1)?.request(Source::Other)?;
        w.at(base + k.debounce + 2)?.request(Source::FileWrite)?;
        w.at(base + k.debounce + 3)?
            .emit(EventKind::CycleFinished)?;
        w.at(base + k.debounce + 4)?
            .emit(EventKind::CycleFinished)?;
        w.into_vector("scenario/restart/requests_coalesce_and_loop".into(), set)
    })())?;
    // A declaration while a cycle runs with a request already pending: the
    // decision started before the cycle, its answer comes after the debounce.
    out.add((|| {
        let mut w = World::new(
            p,
            0,
            Answering::Script {
                answers: HashMap::new(),
                latency: k.debounce + 10,
            },
        );
        w.at(base)?.fail(&[NotRunning, NotRunning])?;
        w.at(base + 1)?.request(Source::Other)?;
        w.at(base + 1 + k.debounce)?.request(Source::Other)?;
        w.drain()?;
        w.at(w.t + 100)?.emit(EventKind::CycleFinished)?;
        w.at(w.t + 100)?.emit(EventKind::CycleFinished)?;
        w.into_vector("scenario/restart/declare_while_cycle_pending".into(), set)
    })())?;
    // The detector's restart request against every coordinator state and
    // outcome: the decision starts before any cycle, its answer comes at T,
    // and the coordinator is put in the state while the probe is out.
    let d = k.debounce;
    // (name, events as (ms before the answer, what)).
    let cases: [(&str, Vec<SetupEvent>); 6] = [
        ("idle_started", vec![]),
        (
            "idle_debounce",
            vec![(1_000, None), (900, Some(Source::Other))],
        ),
        ("running_coalesced", vec![(d + 1, None)]),
        ("running_debounce", vec![(1_000, None)]),
        (
            "running_pending_coalesced",
            vec![(2 * d + 10, None), (d + 5, Some(Source::Other))],
        ),
        (
            "running_pending_debounce",
            vec![
                (2 * d + 10, None),
                (d + 5, Some(Source::Other)),
                (100, None),
            ],
        ),
    ];
    for (name, setup) in cases {
        out.add((|| {
            let latency = 2 * d + 100;
            let mut w = World::new(
                p,
                0,
                Answering::Script {
                    answers: HashMap::new(),
                    latency,
                },
            );
            w.at(base)?.fail(&[NotRunning, NotRunning])?;
            let t = base + latency;
            for (before, what) in &setup {
                w.at(t - before)?;
                match (name, what) {
                    // `None` observes a cycle start; in "idle_debounce" the
                    // second entry ends it instead.
                    ("idle_debounce", Some(_)) => {
                        w.emit(EventKind::RestartFinished)?;
                    }
                    (_, Some(s)) => {
                        w.request(*s)?;
                    }
                    (_, None) => {
                        w.emit(EventKind::RestartStarted)?;
                    }
                }
            }
            w.drain()?;
            w.into_vector(format!("scenario/restart/detector_request_{name}"), set)
        })())?;
    }
    // A restart starts during the first probe (the #2929 race).
    out.add((|| {
        let mut w = World::new(
            p,
            0,
            Answering::Script {
                answers: HashMap::new(),
                latency: 10,
            },
        );
        w.at(base)?.fail(&[NotRunning, NotRunning])?;
        w.at(base + 1)?.emit(EventKind::RestartStarted)?;
        w.into_vector("scenario/restart/started_during_probe".into(), set)
    })())?;
    // The #2929 incident: config PUT restart, cycle returns, PONG 0.7 s before
    // a lone not-running.
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.request(Source::FileWrite)?;
        w.at(base + 4_000)?.emit(EventKind::CycleFinished)?;
        w.at(base + 8_000)?.emit(EventKind::Heartbeat)?;
        w.at(base + 8_700)?.fail(&[NotRunning, Running])?;
        w.into_vector("scenario/incident/2929".into(), set)
    })())?;
    // Two decisions of one workspace at the same instant share strikes and
    // the restart coordinator.
    for hb in [false, true] {
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(base)?.emit(EventKind::RestartStarted)?;
            w.at(base + 500)?.emit(EventKind::RestartFinished)?;
            if hb {
                w.emit(EventKind::Heartbeat)?;
            }
            w.at(base + 1_000)?.fail(&[NotRunning, NotRunning])?;
            w.fail(&[NotRunning, NotRunning])?;
            w.into_vector(
                format!("scenario/concurrent/two_at_once_after_restart/heartbeat_{hb}"),
                set,
            )
        })())?;
    }
    // Unexpected inputs: a timer while a probe is out, a probe while waiting.
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?;
        let r = w.fail(&[NotRunning])?;
        w.timer(&r)?;
        w.into_vector("scenario/unexpected/timer_while_probing".into(), set)
    })())?;
    for (hb, restart) in [(true, false), (false, true)] {
        out.add((|| {
            let mut w = World::scripted(p);
            if restart {
                w.at(base)?.emit(EventKind::RestartStarted)?;
                w.at(base + 100)?.emit(EventKind::RestartFinished)?;
            }
            w.at(base + 200)?;
            if hb {
                w.emit(EventKind::Heartbeat)?;
            }
            let r = w.fail(&[NotRunning, NotRunning])?;
            w.run_to(w.t, true)?;
            if let Some(at) = w.wake_of(&r) {
                w.at(at.saturating_sub(1))?;
                w.answer_now(&r, Running)?;
                w.timer(&r)?;
            }
            w.into_vector(
                format!(
                    "scenario/unexpected/probe_and_early_timer_while_waiting/restart_{restart}"
                ),
                set,
            )
        })())?;
    }
    knob_scenarios(p, out)
}

/// Scenarios aimed at the v3 knobs (named by the situation, generated for
/// every policy): a restart cycle in the same millisecond as the stamp the
/// decision read (`guard.recheck_restarting_before_declare`), the settle
/// window with and without the new agent's heartbeat
/// (`settle.on_not_running = "wait_for_agent"`), a lone "not running" with an
/// old heartbeat or none (`reprobe.always`) and declarations inside the
/// debounce (`restart.detector_bypasses_debounce`).
fn knob_scenarios(p: &Policy, out: &mut Sets) -> Result<(), InputError> {
    use Answer::*;
    let k = Knobs::of(p);
    let set = "scenario";
    let base = k.horizon() * 2 + 10_000;
    // A strike is pending (a recent heartbeat, two "not running"), then at T
    // a cycle starts and returns, the request fails, and another cycle starts
    // in that same millisecond: restartStartedAt is what the decision read,
    // but a cycle runs when it is about to declare. The agent heartbeats
    // 100 ms later (fresh for a settling decision).
    out.add((|| {
        let mut w = World::scripted(p);
        w.at(base)?.emit(EventKind::Heartbeat)?;
        w.fail(&[NotRunning, NotRunning])?;
        w.drain()?;
        let t = base + 10_000;
        w.at(t)?.emit(EventKind::RestartStarted)?;
        w.emit(EventKind::RestartFinished)?;
        w.fail(&[NotRunning, NotRunning])?;
        w.emit(EventKind::RestartStarted)?;
        w.at(t + 100)?.emit(EventKind::Heartbeat)?;
        w.drain()?;
        w.into_vector(
            "scenario/restart/cycle_again_in_the_same_millisecond".into(),
            set,
        )
    })())?;
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
        for answers in [[NotRunning, NotRunning], [NotRunning, Running]] {
            out.add((|| {
                let mut w = World::scripted(p);
                let start = base + 5_000;
                let mut hb_at = hb.map(|d| off(start, d));
                if hb_at.is_some_and(|h| h < base) {
                    w.at(hb_at.take().unwrap_or(base))?
                        .emit(EventKind::Heartbeat)?;
                }
                w.at(base)?.emit(EventKind::RestartStarted)?;
                w.at(base + 1_000)?.emit(EventKind::RestartFinished)?;
                if hb_at == Some(start) {
                    w.at(start)?.emit(EventKind::Heartbeat)?;
                    hb_at = None;
                }
                w.at(start)?.fail(&answers)?;
                if let Some(h) = hb_at {
                    w.at(h)?.emit(EventKind::Heartbeat)?;
                }
                w.into_vector(
                    format!(
                        "scenario/settling/heartbeat_{hname}/{}_{}",
                        answers[0].word(),
                        answers[1].word()
                    ),
                    set,
                )
            })())?;
        }
    }
    // A lone "not running" with an old heartbeat, or none, outside any
    // settle window.
    let recent = k.recent.unwrap_or(15_000);
    for hb in [false, true] {
        for second in [NotRunning, Running, Error] {
            out.add((|| {
                let mut w = World::scripted(p);
                if hb {
                    w.at(base)?.emit(EventKind::Heartbeat)?;
                }
                // A second older than the recent window (its +1 ms edge is
                // a boundary vector).
                w.at(base + recent + 1_000)?.fail(&[NotRunning, second])?;
                w.into_vector(
                    format!(
                        "scenario/reprobe/heartbeat_{}/not_running_{}",
                        if hb { "old" } else { "none" },
                        second.word()
                    ),
                    set,
                )
            })())?;
        }
    }
    // Declarations inside the debounce: a restart, the agent back and
    // heartbeating before each failure, enough strikes to declare.
    for (name, gap) in [("early", 5_000), ("late", k.debounce.saturating_sub(2_000))] {
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(base)?.emit(EventKind::RestartStarted)?;
            w.at(base + 1_000)?.emit(EventKind::RestartFinished)?;
            let first = base + gap.max(2_000);
            for i in 0..k.threshold.max(1) as Ms {
                w.at(first + 1_000 * i)?.emit(EventKind::Heartbeat)?;
                w.fail(&[NotRunning, NotRunning])?;
                w.drain()?;
            }
            w.into_vector(
                format!("scenario/restart/declare_inside_debounce_{name}"),
                set,
            )
        })())?;
    }
    // Decisions that start inside the settle window but whose probes answer
    // only after the debounce: a declaration after the re-probe (strikes
    // counted while "settling") whose restart starts. Two at once, so their
    // strikes reach the threshold together; with and without the new agent's
    // heartbeat.
    for hb in [false, true] {
        out.add((|| {
            let mut w = World::new(
                p,
                0,
                Answering::Script {
                    answers: HashMap::new(),
                    latency: k.debounce + 10,
                },
            );
            w.at(base)?.emit(EventKind::RestartStarted)?;
            w.at(base + 1_000)?.emit(EventKind::RestartFinished)?;
            if hb {
                w.at(base + 1_500)?.emit(EventKind::Heartbeat)?;
            }
            w.at(base + 2_000)?;
            for _ in 0..k.threshold.max(1) {
                w.fail(&[NotRunning, NotRunning])?;
            }
            w.into_vector(
                format!(
                    "scenario/restart/settling_probes_answer_after_the_debounce/heartbeat_{hb}"
                ),
                set,
            )
        })())?;
    }
    Ok(())
}

/// Every window a millisecond either side of its boundary.
fn boundaries(p: &Policy, out: &mut Sets) -> Result<(), InputError> {
    use Answer::*;
    let k = Knobs::of(p);
    let set = "boundary";
    let b0 = k.horizon() * 2 + 10_000;
    let deltas: [i64; 3] = [-1, 0, 1];
    if let Some(r) = k.recent {
        for d in deltas {
            out.add((|| {
                let mut w = World::scripted(p);
                w.at(b0)?.emit(EventKind::Heartbeat)?;
                w.at(off(b0 + r, d))?.fail(&[NotRunning, NotRunning])?;
                w.into_vector(format!("boundary/recent_window/{}", signed(d)), set)
            })())?;
        }
    }
    if let Some(s) = k.settle {
        for d in deltas {
            for hb in [false, true] {
                out.add((|| {
                    let mut w = World::scripted(p);
                    w.at(b0)?.emit(EventKind::RestartStarted)?;
                    w.at(b0 + 1_000)?.emit(EventKind::RestartFinished)?;
                    if hb {
                        w.emit(EventKind::Heartbeat)?;
                    }
                    let stamp = if k.settle_from_finished {
                        b0 + 1_000
                    } else {
                        b0
                    };
                    w.at(off(stamp + s, d))?.fail(&[NotRunning, NotRunning])?;
                    w.into_vector(
                        format!("boundary/settle_window/{}/heartbeat_{hb}", signed(d)),
                        set,
                    )
                })())?;
            }
        }
    }
    // Strike window and threshold: strikes 1..T-1 one second apart, the last
    // one at first + window + d, in every context that adds strikes.
    if let Some(sw) = k.strike_window {
        let mut contexts = Vec::new();
        if k.recent_strikes {
            contexts.push("recent_heartbeat");
        }
        if k.settle_strikes {
            contexts.push("settling");
        }
        for ctx in contexts {
            for d in deltas {
                out.add((|| {
                    let mut w = World::scripted(p);
                    let setup = |w: &mut World<'_>, t: Ms| -> Result<(), String> {
                        match ctx {
                            "recent_heartbeat" => {
                                w.at(t)?.emit(EventKind::Heartbeat)?;
                            }
                            _ => {
                                w.at(t.saturating_sub(5_000))?
                                    .emit(EventKind::RestartStarted)?;
                                w.at(t.saturating_sub(4_000))?
                                    .emit(EventKind::RestartFinished)?;
                            }
                        }
                        w.at(t)?.fail(&[NotRunning, NotRunning])?;
                        w.drain()?;
                        Ok(())
                    };
                    let step: Ms = (sw / k.threshold.max(1) as Ms).clamp(1, 10_000);
                    let mut t = b0;
                    for i in 0..k.threshold.saturating_sub(1) {
                        t = b0 + step * i as Ms;
                        setup(&mut w, t)?;
                    }
                    let last = off(b0 + sw, d).max(t + 1);
                    setup(&mut w, last)?;
                    w.into_vector(format!("boundary/strike_window/{ctx}/{}", signed(d)), set)
                })())?;
            }
            // Threshold: T-1 strikes (not dead) then the T-th (dead).
            out.add((|| {
                let mut w = World::scripted(p);
                for i in 0..k.threshold as Ms {
                    let t = b0 + 10_000 * i;
                    match ctx {
                        "recent_heartbeat" => {
                            w.at(t)?.emit(EventKind::Heartbeat)?;
                        }
                        _ => {
                            w.at(t.saturating_sub(5_000))?
                                .emit(EventKind::RestartStarted)?;
                            w.at(t.saturating_sub(4_000))?
                                .emit(EventKind::RestartFinished)?;
                        }
                    }
                    w.at(t)?.fail(&[NotRunning, NotRunning])?;
                    w.drain()?;
                }
                w.into_vector(format!("boundary/strike_threshold/{ctx}"), set)
            })())?;
        }
    }
    for d in deltas {
        // Debounce through a declaration and through an outside request.
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.emit(EventKind::RestartStarted)?;
            w.at(b0 + 1_000)?.emit(EventKind::RestartFinished)?;
            w.at(off(b0 + k.debounce, d))?
                .fail(&[NotRunning, NotRunning])?;
            w.into_vector(format!("boundary/debounce/declare/{}", signed(d)), set)
        })())?;
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.request(Source::Other)?;
            w.at(b0 + 1_000)?.emit(EventKind::CycleFinished)?;
            w.at(off(b0 + k.debounce, d))?.request(Source::Other)?;
            w.into_vector(format!("boundary/debounce/request/{}", signed(d)), set)
        })())?;
        // The detector's own request a millisecond either side of the
        // debounce: the agent heartbeats before each failure (recent, and
        // fresh while settling), strikes are pending, and the last decision
        // declares (after its re-probe) at restartStartedAt + debounce + d.
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.emit(EventKind::RestartStarted)?;
            w.at(b0 + 1_000)?.emit(EventKind::RestartFinished)?;
            let last = off(b0 + k.debounce, d).saturating_sub(k.reprobe.unwrap_or(0));
            let n = k.threshold.max(1) as Ms;
            for i in (0..n).rev() {
                w.at(last.saturating_sub(1_000 * i).max(w.t))?
                    .emit(EventKind::Heartbeat)?;
                w.fail(&[NotRunning, NotRunning])?;
                w.drain()?;
            }
            w.into_vector(
                format!("boundary/debounce/detector_declares/{}", signed(d)),
                set,
            )
        })())?;
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.request(Source::FileWrite)?;
            w.at(b0 + 1_000)?.emit(EventKind::CycleFinished)?;
            w.at(off(b0 + k.file_write, d))?
                .request(Source::FileWrite)?;
            w.into_vector(format!("boundary/file_write/{}", signed(d)), set)
        })())?;
        // The file-write drop with the debounce already over.
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.request(Source::FileWrite)?;
            w.at(b0 + 1_000)?.emit(EventKind::CycleFinished)?;
            w.at(b0 + k.debounce + 1_000)?.request(Source::Other)?;
            w.at(b0 + k.debounce + 2_000)?
                .emit(EventKind::CycleFinished)?;
            w.at(off(b0 + k.debounce + 1_000 + k.file_write, d))?
                .request(Source::FileWrite)?;
            w.at(off(b0 + 2 * k.debounce + 1_000, d))?
                .request(Source::FileWrite)?;
            w.into_vector(
                format!("boundary/file_write/after_debounce/{}", signed(d)),
                set,
            )
        })())?;
    }
    // Re-probe sleep: events a millisecond either side of the wake, and an
    // early timer.
    if k.reprobe.is_some() {
        let contexts: [(&str, bool, bool); 2] =
            [("heartbeat", true, false), ("settling", false, true)];
        let until_sleep =
            |hb: bool, restart: bool| -> Result<(World<'_>, String, Option<Ms>), String> {
                let mut w = World::scripted(p);
                if restart {
                    w.at(b0)?.emit(EventKind::RestartStarted)?;
                    w.at(b0 + 100)?.emit(EventKind::RestartFinished)?;
                }
                w.at(b0 + 200)?;
                if hb {
                    w.emit(EventKind::Heartbeat)?;
                }
                let r = w.fail(&[NotRunning, NotRunning])?;
                w.advance_until(|w| w.sleeping_until(&r).is_some() || !w.is_live(&r))?;
                let wake = w.sleeping_until(&r);
                Ok((w, r, wake))
            };
        for (ctx, hb, restart) in contexts {
            for (ev, evname) in [
                (EventKind::RestartStarted, "restart_started"),
                (EventKind::Heartbeat, "heartbeat"),
                (EventKind::A2aFailed, "a2a_failed"),
            ] {
                for d in deltas {
                    out.add((|| {
                        let (mut w, _, wake) = until_sleep(hb, restart)?;
                        if let Some(at) = wake {
                            w.at(off(at, d))?;
                            if ev == EventKind::A2aFailed {
                                w.fail(&[NotRunning, NotRunning])?;
                            } else {
                                w.emit(ev)?;
                            }
                        }
                        w.into_vector(
                            format!("boundary/reprobe_wake/{ctx}/{evname}/{}", signed(d)),
                            set,
                        )
                    })())?;
                }
            }
            out.add((|| {
                let (mut w, r, wake) = until_sleep(hb, restart)?;
                if let Some(at) = wake {
                    w.at(at - 1)?;
                    w.timer(&r)?;
                }
                w.into_vector(format!("boundary/reprobe_wake/{ctx}/early_timer"), set)
            })())?;
        }
    }
    // The fresh-heartbeat wait: a heartbeat a millisecond either side of each
    // poll and of the deadline, the stamp comparison (`hb > since`), an early
    // poll timer and a late one landing a millisecond before the deadline.
    if let (Some(wait), Some(poll)) = (k.wait, k.poll) {
        let start = b0 + 1_000;
        let polls: Vec<Ms> = (1..)
            .map(|i| i * poll)
            .take_while(|&x| x <= wait)
            .chain(std::iter::once(wait))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for &pt in &polls {
            for d in deltas {
                out.add((|| {
                    let mut w = World::scripted(p);
                    w.at(b0)?.emit(EventKind::RestartStarted)?;
                    w.at(b0 + 100)?.emit(EventKind::RestartFinished)?;
                    w.at(start)?.fail(&[NotRunning, NotRunning])?;
                    w.at(off(start + pt, d))?.emit(EventKind::Heartbeat)?;
                    w.into_vector(
                        format!("boundary/fresh_wait/heartbeat_at_{pt}ms/{}", signed(d)),
                        set,
                    )
                })())?;
            }
        }
        for d in [0i64, 1] {
            for order in ["restart_then_heartbeat", "heartbeat_then_restart"] {
                out.add((|| {
                    let mut w = World::scripted(p);
                    w.at(b0)?;
                    if order == "restart_then_heartbeat" {
                        w.emit(EventKind::RestartStarted)?;
                        w.at(off(b0, d))?.emit(EventKind::Heartbeat)?;
                    } else {
                        w.emit(EventKind::Heartbeat)?;
                        w.emit(EventKind::RestartStarted)?;
                        w.at(off(b0, d))?.emit(EventKind::Heartbeat)?;
                    }
                    w.at(b0 + 100)?.emit(EventKind::RestartFinished)?;
                    w.at(start)?.fail(&[NotRunning, NotRunning])?;
                    w.into_vector(
                        format!("boundary/fresh_since/{order}/heartbeat_{}", signed(d)),
                        set,
                    )
                })())?;
            }
        }
        // A heartbeat with the URL cleared again does not count as fresh.
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.emit(EventKind::RestartStarted)?;
            w.at(b0 + 50)?.emit(EventKind::Heartbeat)?;
            w.at(b0 + 100)?.emit(EventKind::RestartStarted)?;
            w.at(b0 + 150)?.emit(EventKind::RestartFinished)?;
            w.at(start)?.fail(&[NotRunning, NotRunning])?;
            w.into_vector("boundary/fresh_since/url_cleared".into(), set)
        })())?;
        out.add((|| {
            let mut w = World::scripted(p);
            w.at(b0)?.emit(EventKind::RestartStarted)?;
            w.at(b0 + 100)?.emit(EventKind::RestartFinished)?;
            w.at(start)?;
            let r = w.fail(&[NotRunning, NotRunning])?;
            if let Some(at) = w.wake_of(&r) {
                w.at(at - 1)?;
                w.timer(&r)?;
            }
            w.into_vector("boundary/fresh_wait/early_timer".into(), set)
        })())?;
        // Late timers: polls are fed at start + k * (poll + delay), so a delay
        // with k * (poll + delay) = target lands a poll exactly on the
        // deadline, or a millisecond before it.
        let mut delays = BTreeSet::from([1]);
        for target in [wait.saturating_sub(1), wait] {
            // Largest k first (smallest delay); bounded so no knob can make
            // this loop long.
            if let Some(d) = (1..=(target / poll).min(100_000))
                .rev()
                .find(|&k| target % k == 0 && target / k > poll)
                .map(|k| target / k - poll)
            {
                delays.insert(d);
            }
        }
        for delay in delays {
            out.add((|| {
                let mut w = World::new(
                    p,
                    delay,
                    Answering::Script {
                        answers: HashMap::new(),
                        latency: 0,
                    },
                );
                w.at(b0)?.emit(EventKind::RestartStarted)?;
                w.at(b0 + 100)?.emit(EventKind::RestartFinished)?;
                w.at(start)?.fail(&[NotRunning, NotRunning])?;
                w.into_vector(
                    format!("boundary/fresh_deadline/timer_delay_{delay}ms"),
                    set,
                )
            })())?;
        }
    }
    Ok(())
}

/// The bounded exhaustive space (see [`generate`]).
fn exhaustive(p: &Policy, out: &mut Sets) -> Result<(), InputError> {
    use Answer::*;
    let k = Knobs::of(p);
    let set = "exhaustive";
    let t0 = k.horizon() * 3 + 20_000;
    let settle = k.settle.unwrap_or(k.debounce / 2).max(2_000);
    let recent = k.recent.unwrap_or(15_000);
    // Restart history: (name, started age, finished age).
    let restarts: Vec<(&str, RestartAges)> = vec![
        ("none", None),
        ("running", Some((1_000, None))),
        ("settling", Some((3_000, Some(2_000)))),
        ("settled", Some((settle + 2_000, Some(settle + 1_000)))),
        (
            "past_debounce",
            Some((
                k.debounce.max(settle) + 2_000,
                Some(k.debounce.max(settle) + 1_000),
            )),
        ),
    ];
    let heartbeats: Vec<(&str, Option<Ms>)> = vec![
        ("none", None),
        ("500ms", Some(500)),
        ("recent", Some(recent.saturating_sub(1_000).max(1))),
        ("old", Some(recent + 1_000)),
    ];
    let mut prefixes: Vec<(String, Vec<Event>)> = Vec::new();
    for (rn, r) in &restarts {
        for (hn, h) in &heartbeats {
            let mut evs = Vec::new();
            if let Some((s, f)) = r {
                evs.push(Event::new(t0 - s, EventKind::RestartStarted));
                if let Some(f) = f {
                    evs.push(Event::new(t0 - f, EventKind::RestartFinished));
                }
            }
            if let Some(h) = h {
                evs.push(Event::new(t0 - h, EventKind::Heartbeat));
            }
            evs.sort_by_key(|e| e.t_ms);
            prefixes.push((format!("restart_{rn}/heartbeat_{hn}"), evs));
        }
    }
    for (name, rt, prov) in [
        ("external", Some("external"), None),
        ("no_provisioner", None, Some(false)),
    ] {
        let mut ev = Event::new(0, EventKind::Workspace);
        ev.runtime = rt.map(str::to_owned);
        ev.provisioner = prov;
        prefixes.push((format!("facts_{name}"), vec![ev]));
    }
    let build = |prefix: &[Event]| -> Result<World<'_>, String> {
        let mut w = World::scripted(p);
        for ev in prefix {
            w.at(ev.t_ms)?.emit_event(ev.clone())?;
        }
        w.at(t0)?;
        Ok(w)
    };
    // 1. Every answer sequence, with and without a follow-up request.
    for (pname, prefix) in &prefixes {
        for a in Answer::ALL {
            for b in Answer::ALL {
                for follow in [false, true] {
                    out.add((|| {
                        let mut w = build(prefix)?;
                        w.fail(&[a, b])?;
                        w.drain()?;
                        if follow {
                            w.at(w.t + 1)?.fail(&[NotRunning, NotRunning])?;
                        }
                        w.into_vector(
                            format!(
                                "exhaustive/{pname}/answers_{}_{}/follow_up_{follow}",
                                a.word(),
                                b.word()
                            ),
                            set,
                        )
                    })())?;
                }
            }
        }
    }
    // 2. One interfering event at each suspension point of the decision.
    let interferences: [(&str, Option<EventKind>, Option<Source>); 7] = [
        ("heartbeat", Some(EventKind::Heartbeat), None),
        ("restart_started", Some(EventKind::RestartStarted), None),
        ("restart_finished", Some(EventKind::RestartFinished), None),
        ("cycle_finished", Some(EventKind::CycleFinished), None),
        ("request_other", None, Some(Source::Other)),
        ("request_file_write", None, Some(Source::FileWrite)),
        ("a2a_failed", Some(EventKind::A2aFailed), None),
    ];
    for (pname, prefix) in &prefixes {
        for answers in [[NotRunning, NotRunning], [NotRunning, Running]] {
            // Dry run: how often does the decision suspend?
            let suspensions = (|| {
                let mut w = build(prefix)?;
                let r = w.fail(&answers)?;
                w.drain()?;
                Ok::<_, String>(w.suspensions(&r))
            })()
            .map_err(|e| InputError::new(format!("internal error building vectors: {e}")))?;
            for i in 1..=suspensions {
                for (iname, kind, source) in &interferences {
                    out.add((|| {
                        let mut w = build(prefix)?;
                        let r = w.fail(&answers)?;
                        w.advance_until(|w| w.suspensions(&r) >= i)?;
                        match (kind, source) {
                            (Some(EventKind::A2aFailed), _) => {
                                w.fail(&[NotRunning, NotRunning])?;
                            }
                            (Some(kind), _) => {
                                w.emit(*kind)?;
                            }
                            (None, Some(s)) => {
                                w.request(*s)?;
                            }
                            (None, None) => {}
                        }
                        w.into_vector(
                            format!(
                                "exhaustive/{pname}/answers_{}_{}/{iname}_after_suspension_{i}",
                                answers[0].word(),
                                answers[1].word(),
                            ),
                            set,
                        )
                    })())?;
                }
            }
        }
    }
    // 3. A whole restart (two events, a millisecond apart) at each suspension
    // of a decision that is about to declare: nothing recent; a strike
    // pending and a recent heartbeat; settling with a fresh heartbeat and a
    // strike pending.
    let contexts = [
        "nothing_recent",
        "strike_pending",
        "settling_fresh_strike_pending",
    ];
    let cycles: [(&str, [Interference; 2]); 3] = [
        (
            "observed",
            [
                (Some(EventKind::RestartStarted), None),
                (Some(EventKind::RestartFinished), None),
            ],
        ),
        (
            "requested",
            [
                (None, Some(Source::Other)),
                (Some(EventKind::CycleFinished), None),
            ],
        ),
        (
            "started_only",
            [(Some(EventKind::RestartStarted), None), (None, None)],
        ),
    ];
    let build_ctx = |ctx: &str| -> Result<World<'_>, String> {
        // Answers take 10 ms, so the cycle fits inside a probe.
        let mut w = World::new(
            p,
            0,
            Answering::Script {
                answers: HashMap::new(),
                latency: 10,
            },
        );
        let t = t0 - 20_000;
        if ctx == "settling_fresh_strike_pending" {
            w.at(t - 10_000)?.emit(EventKind::RestartStarted)?;
            w.at(t - 9_000)?.emit(EventKind::RestartFinished)?;
        }
        if ctx != "nothing_recent" {
            for at in [t, t0] {
                w.at(at)?.emit(EventKind::Heartbeat)?;
                if at == t {
                    w.fail(&[NotRunning, NotRunning])?;
                    w.drain()?;
                }
            }
        }
        w.at(t0)?;
        Ok(w)
    };
    for ctx in contexts {
        let suspensions = (|| {
            let mut w = build_ctx(ctx)?;
            let r = w.fail(&[NotRunning, NotRunning])?;
            w.drain()?;
            Ok::<_, String>(w.suspensions(&r))
        })()
        .map_err(|e| InputError::new(format!("internal error building vectors: {e}")))?;
        for i in 1..=suspensions {
            for (cname, events) in &cycles {
                out.add((|| {
                    let mut w = build_ctx(ctx)?;
                    let r = w.fail(&[NotRunning, NotRunning])?;
                    w.advance_until(|w| w.suspensions(&r) >= i)?;
                    for (j, ev) in events.iter().enumerate() {
                        if j > 0 {
                            w.at(w.t + 1)?;
                        }
                        match ev {
                            (Some(kind), _) => {
                                w.emit(*kind)?;
                            }
                            (None, Some(s)) => {
                                w.request(*s)?;
                            }
                            (None, None) => {}
                        }
                    }
                    w.into_vector(
                        format!(
                            "exhaustive/cycle_during_decision/{ctx}/{cname}_after_suspension_{i}"
                        ),
                        set,
                    )
                })())?;
            }
        }
    }
    Ok(())
}

/// Parameters of the seeded random set.
#[derive(Debug, Clone, Copy)]
pub struct RandomParams {
    /// The xorshift seed.
    pub seed: u64,
    /// How many vectors.
    pub count: usize,
    /// Events per vector (before the final drain) range from this...
    pub min_events: usize,
    /// ...to this.
    pub max_events: usize,
}

/// The shipped random set: seed, 150 vectors of 40 to 160 events.
pub const SHIPPED_RANDOM: RandomParams = RandomParams {
    seed: 0x11FE_C0DE_2950,
    count: 150,
    min_events: 40,
    max_events: 160,
};

fn random(p: &Policy, params: RandomParams, out: &mut Sets) -> Result<(), InputError> {
    let k = Knobs::of(p);
    let mut rng = Rng::new(params.seed);
    let windows: Vec<Ms> = [
        k.recent,
        k.settle,
        k.strike_window,
        Some(k.debounce),
        Some(k.file_write),
        k.reprobe,
        k.wait,
        k.poll,
    ]
    .into_iter()
    .flatten()
    .collect();
    for n in 0..params.count {
        let span = (params.max_events - params.min_events + 1) as u64;
        let len = params.min_events + rng.below(span) as usize;
        let delay = match rng.weighted(&[85, 5, 5, 5]) {
            0 => 0,
            1 => 1,
            2 => 1 + rng.below(50),
            _ => 1 + rng.below(k.poll.or(k.reprobe).unwrap_or(500) * 3),
        };
        let sub = Rng::new(rng.next());
        let mut sub2 = Rng::new(rng.next());
        out.add((|| {
            let mut w = World::new(p, delay, Answering::Random(sub));
            let r = &mut sub2;
            for _ in 0..len {
                // Time passes: nothing, a little, a lot, or to a millisecond
                // either side of some window measured from some stamp.
                let gap = match r.weighted(&[25, 15, 25, 15, 20]) {
                    0 => 0,
                    1 => 1,
                    2 => r.below(1_000),
                    3 => r.below(k.horizon() + 10_000),
                    _ => {
                        let ws = &w.drv.ws;
                        let stamps: Vec<Ms> = [
                            ws.last_heartbeat,
                            ws.restart.started_at(),
                            ws.restart.finished_at(),
                            ws.restart.last_file_write(),
                            ws.strikes.map(|s| s.first),
                        ]
                        .into_iter()
                        .flatten()
                        .collect();
                        if stamps.is_empty() || windows.is_empty() {
                            0
                        } else {
                            let target = r.pick(&stamps) + r.pick(&windows);
                            let target = off(target, r.below(3) as i64 - 1);
                            target.saturating_sub(w.t)
                        }
                    }
                };
                w.at(w.t + gap)?;
                let live = w.drv.live.len();
                let running = w.drv.ws.restart.is_running();
                let choice = r.weighted(&[
                    if live < 3 { 24 } else { 0 },
                    16,
                    if running { 3 } else { 6 },
                    if running { 6 } else { 2 },
                    4,
                    3,
                    if running { 4 } else { 1 },
                    2,
                    2,
                    1,
                ]);
                match choice {
                    0 => {
                        w.fail(&[])?;
                    }
                    1 => {
                        w.emit(EventKind::Heartbeat)?;
                    }
                    2 => {
                        w.emit(EventKind::RestartStarted)?;
                    }
                    3 => {
                        w.emit(EventKind::RestartFinished)?;
                    }
                    4 => {
                        w.request(Source::FileWrite)?;
                    }
                    5 => {
                        w.request(Source::Other)?;
                    }
                    6 => {
                        w.emit(EventKind::CycleFinished)?;
                    }
                    7 => {
                        let (rt, prov) = match r.below(4) {
                            0 => ("external", true),
                            1 => ("kimi-cli", true),
                            2 => ("docker", false),
                            _ => ("docker", true),
                        };
                        w.facts(Some(rt), Some(prov))?;
                    }
                    8 => {
                        // An early timer to a waiting decision.
                        let waiting: Vec<String> = w
                            .drv
                            .live
                            .iter()
                            .filter(|l| matches!(l.decision.awaiting(), Awaiting::Timer(at) if at > w.t))
                            .map(|l| l.req.clone())
                            .collect();
                        if !waiting.is_empty() {
                            let req = waiting[r.below(waiting.len() as u64) as usize].clone();
                            w.timer(&req)?;
                        }
                    }
                    _ => {
                        // An input the decision is not waiting for.
                        let first = w
                            .drv
                            .live
                            .first()
                            .map(|l| (l.req.clone(), l.decision.awaiting()));
                        match first {
                            Some((req, Awaiting::Probe)) => w.timer(&req)?,
                            Some((req, _)) => w.answer_now(&req, Answer::NotRunning)?,
                            None => {}
                        }
                    }
                }
            }
            w.into_vector(format!("random/{:#x}/{n}", params.seed), "random")
        })())?;
    }
    Ok(())
}

/// Builds the vectors of `policy`: named scenarios, boundaries, the bounded
/// exhaustive space and `random` (use [`SHIPPED_RANDOM`] for the shipped set).
///
/// The exhaustive space is the product of (a) a workspace history (restart:
/// none, running, settling, settled, past the debounce × heartbeat: none,
/// 500 ms old, recent, old; plus an external runtime and no provisioner)
/// with (b) every pair of probe answers, with or without a follow-up request
/// right after, and with (c) for the answer pairs `not_running,not_running`
/// and `not_running,running`, one interfering event (heartbeat, restart
/// started, restart finished, cycle finished, a restart request from a file
/// write or elsewhere, a concurrent failed request) at each instant the
/// decision suspends (asks for a probe or a wake); and (d) a whole restart
/// cycle (observed start and end, or an outside request and the cycle's
/// return; or only a start) right after each suspension of a decision that
/// would declare (nothing recent; a strike pending with a recent heartbeat;
/// settling with a fresh heartbeat and a strike pending). Duplicate logs are
/// kept once.
pub fn generate_with(
    policy: &Policy,
    random_params: RandomParams,
) -> Result<Vec<Vector>, InputError> {
    let mut sets = Sets {
        vectors: Vec::new(),
        seen: HashSet::new(),
    };
    scenarios(policy, &mut sets)?;
    boundaries(policy, &mut sets)?;
    exhaustive(policy, &mut sets)?;
    random(policy, random_params, &mut sets)?;
    Ok(sets.vectors)
}

/// Only the seeded random set (for a reference search wider than the shipped
/// set).
pub fn generate_random(policy: &Policy, params: RandomParams) -> Result<Vec<Vector>, InputError> {
    let mut sets = Sets {
        vectors: Vec::new(),
        seen: HashSet::new(),
    };
    random(policy, params, &mut sets)?;
    Ok(sets.vectors)
}
