//! The harness the vector sets are built with: a [`LogWorld`] that plays the
//! outside world around the replay engine (it answers every probe a decision
//! asks for and lets time pass, so every log it writes is complete), and
//! [`Sets`], which turns a script played on a world into a named vector.

use super::{run, EventKind, LogLine, Recorder, Vector, WS};
use crate::decision::{Awaiting, Decision, Phase, ProbeResult, Step};
use crate::duration::Ms;
use crate::error::InputError;
use crate::policy::{OnRecent, OnSettling, Policy, SettleFrom};
use crate::replay::{DecisionInput, Finished, Observer, Replayer, RestartCall};
use crate::restart::RestartSource;
use crate::workspace::Workspace;
use std::collections::{HashMap, HashSet};

/// A deterministic xorshift64* generator (no external RNG).
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub(super) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// Index chosen with the given weights.
    pub(super) fn weighted(&mut self, weights: &[u64]) -> usize {
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

/// How a [`LogWorld`] answers probes.
pub(super) enum Answering {
    /// Per request: answers in order, then `not_running`; each answered
    /// `latency` after it was asked for.
    Script {
        answers: HashMap<String, Vec<ProbeResult>>,
        latency: Ms,
    },
    /// Random answers and latencies.
    Random(Rng),
}

impl Answering {
    /// Scripted answers, given `latency` after they are asked for.
    pub(super) fn after(latency: Ms) -> Self {
        Answering::Script {
            answers: HashMap::new(),
            latency,
        }
    }
}

#[derive(Clone, Copy)]
struct Plan {
    asked_at: Ms,
    due: Ms,
    answer: ProbeResult,
}

/// What the world watches while it drives the engine: the vector's record,
/// and when each request last asked for a probe.
#[derive(Default)]
struct Watch {
    rec: Recorder,
    asked_at: HashMap<String, Ms>,
}

impl Observer for Watch {
    fn decision(&mut self, d: &DecisionInput<'_>) {
        if d.result == Ok(Step::Probe) {
            self.asked_at.insert(d.req.to_owned(), d.now);
        }
        self.rec.decision(d);
    }
    fn restart(&mut self, c: &RestartCall<'_>) {
        self.rec.restart(c);
    }
    fn finished(&mut self, f: Finished) {
        self.rec.finished(f);
    }
}

/// Builds a log by acting as the outside world: it answers every probe a
/// decision asks for and lets time pass, so the log is always complete.
/// (Not the model checker's [`crate::model::World`], the environment a
/// search runs in: this one writes replay logs.)
pub(super) struct LogWorld<'p> {
    engine: Replayer<'p>,
    watch: Watch,
    delay: Ms,
    events: Vec<LogLine<'static>>,
    /// The world's clock (at or after the engine's).
    pub(super) t: Ms,
    next_req: usize,
    answering: Answering,
    used: HashMap<String, usize>,
    plans: HashMap<String, Plan>,
}

/// What playing part of a script gives.
pub(super) type Played = Result<(), String>;

impl<'p> LogWorld<'p> {
    pub(super) fn new(policy: &'p Policy, delay: Ms, answering: Answering) -> Self {
        LogWorld {
            engine: super::engine(policy, delay),
            watch: Watch::default(),
            delay,
            events: Vec::new(),
            t: 0,
            next_req: 1,
            answering,
            used: HashMap::new(),
            plans: HashMap::new(),
        }
    }

    /// The workspace's shared state now.
    pub(super) fn ws(&self) -> Workspace {
        self.engine.workspace(WS).copied().unwrap_or_default()
    }

    /// The live decisions, in list order.
    pub(super) fn live(&self) -> impl Iterator<Item = (&str, &Decision)> {
        self.engine.live(WS)
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
                    .unwrap_or(ProbeResult::NotRunning),
                *latency,
            ),
            Answering::Random(rng) => {
                let a = [
                    ProbeResult::NotRunning,
                    ProbeResult::Running,
                    ProbeResult::Error,
                    ProbeResult::ErrorNotRunning,
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

    fn next_answer(&mut self) -> Option<(Ms, String, ProbeResult)> {
        let asking: Vec<(String, Ms)> = self
            .live()
            .filter(|(_, d)| d.awaiting() == Awaiting::Probe)
            .map(|(req, _)| (req.to_owned(), self.watch.asked_at[req]))
            .collect();
        let mut best: Option<(Ms, String, ProbeResult)> = None;
        for (req, asked) in asking {
            let p = self.plan_for(&req, asked);
            if best.as_ref().is_none_or(|b| p.due < b.0) {
                best = Some((p.due, req, p.answer));
            }
        }
        best
    }

    fn push(&mut self, ev: LogLine<'static>) -> Played {
        let line = self.events.len() + 1;
        self.engine
            .apply(line, &ev, &mut self.watch)
            .map_err(|e| e.to_string())?;
        self.events.push(ev);
        Ok(())
    }

    fn engine_clock(&self) -> Ms {
        self.engine.clock(WS).unwrap_or(0)
    }

    /// The next thing the world does by itself: a timer firing or a probe
    /// answer coming back (timers first at the same instant).
    fn next_thing(&mut self) -> Option<(Ms, Option<(String, ProbeResult)>)> {
        let timer = self.engine.next_timer(WS);
        let answer = self.next_answer();
        match (timer, answer) {
            (Some(t), Some((d, _, _))) if t <= d => Some((t, None)),
            (_, Some((d, req, a))) => Some((d, Some((req, a)))),
            (Some(t), None) => Some((t, None)),
            (None, None) => None,
        }
    }

    fn do_thing(&mut self, due: Ms, thing: Option<(String, ProbeResult)>) -> Played {
        match thing {
            None => self
                .engine
                .advance_to(WS, due, &mut self.watch)
                .map_err(|e| e.to_string())?,
            Some((req, a)) => {
                let t = due.max(self.engine_clock());
                self.push(probe(t, &req, a))?;
            }
        }
        self.t = self.t.max(self.engine_clock());
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
    pub(super) fn run_to(&mut self, t: Ms, inclusive: bool) -> Played {
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
    pub(super) fn advance_until(
        &mut self,
        pred: impl Fn(&LogWorld<'_>) -> bool,
    ) -> Result<bool, String> {
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

    /// Suspensions (probe or wake steps) of `req` so far (a yield is
    /// resumed at once: nothing can come between).
    pub(super) fn suspensions(&self, req: &str) -> usize {
        self.watch
            .rec
            .steps
            .iter()
            .filter(|s| {
                s.req.as_deref() == Some(req) && matches!(s.step.as_deref(), Some("probe" | "wake"))
            })
            .count()
    }

    /// The re-probe instant of `req`, once it sleeps before the re-probe.
    pub(super) fn sleeping_until(&self, req: &str) -> Option<Ms> {
        self.live()
            .find(|(r, _)| *r == req)
            .and_then(|(_, d)| match d.phase() {
                Phase::Sleeping { wake, .. } => Some(wake),
                _ => None,
            })
    }

    pub(super) fn is_live(&self, req: &str) -> bool {
        self.live().any(|(r, _)| r == req)
    }

    /// The decision of `req` is waiting for a timer at this instant.
    pub(super) fn wake_of(&self, req: &str) -> Option<Ms> {
        self.live()
            .find(|(r, _)| *r == req)
            .and_then(|(_, d)| match d.awaiting() {
                Awaiting::Timer(at) => Some(at),
                _ => None,
            })
    }

    /// Moves the world's clock to `t` (answers due exactly at `t` come after
    /// the next event).
    pub(super) fn at(&mut self, t: Ms) -> Result<&mut Self, String> {
        self.run_to(t.max(self.t), false)?;
        Ok(self)
    }

    /// An event of `kind` now.
    pub(super) fn emit(&mut self, kind: EventKind) -> Result<&mut Self, String> {
        self.push(LogLine::new(self.t, WS, kind))?;
        Ok(self)
    }

    /// `ev`, now.
    pub(super) fn emit_line(&mut self, mut ev: LogLine<'static>) -> Played {
        ev.t_ms = self.t;
        self.push(ev)
    }

    /// `RestartByID` from `source` now.
    pub(super) fn request(&mut self, source: RestartSource) -> Result<&mut Self, String> {
        self.push(restart_request(self.t, source))?;
        Ok(self)
    }

    /// Workspace facts now.
    pub(super) fn facts(&mut self, runtime: Option<&str>, provisioner: Option<bool>) -> Played {
        self.push(facts(self.t, runtime, provisioner))
    }

    /// A request fails now; its probes get `answers` (then `not_running`).
    pub(super) fn fail(&mut self, answers: &[ProbeResult]) -> Result<String, String> {
        let req = format!("r{}", self.next_req);
        self.next_req += 1;
        if let Answering::Script { answers: a, .. } = &mut self.answering {
            a.insert(req.clone(), answers.to_vec());
        }
        let mut ev = LogLine::new(self.t, WS, EventKind::A2aFailed);
        ev.req = Some(req.clone().into());
        self.push(ev)?;
        Ok(req)
    }

    /// A timer input for `req` now.
    pub(super) fn timer(&mut self, req: &str) -> Played {
        let mut ev = LogLine::new(self.t, WS, EventKind::Timer);
        ev.req = Some(req.to_owned().into());
        self.push(ev)
    }

    /// An answer given now to `req` whatever it waits for.
    pub(super) fn answer_now(&mut self, req: &str, a: ProbeResult) -> Played {
        self.push(probe(self.t, req, a))
    }

    /// Runs until no decision is live.
    pub(super) fn drain(&mut self) -> Result<&mut Self, String> {
        if !self.advance_until(|w| w.live().next().is_none())? {
            return Err("a live decision waits for nothing".into());
        }
        Ok(self)
    }

    /// How often the decision `script` starts suspends (asks for a probe or
    /// a wake) by the time the world drained.
    pub(super) fn suspensions_of(
        mut self,
        script: impl FnOnce(&mut Self) -> Result<String, String>,
    ) -> Result<usize, InputError> {
        (|| {
            let r = script(&mut self)?;
            self.drain()?;
            Ok::<_, String>(self.suspensions(&r))
        })()
        .map_err(|e| InputError::new(format!("internal error building vectors: {e}")))
    }

    /// Drains the world and records the vector its log makes.
    fn into_vector(mut self, name: String, set: &str) -> Result<Vector, String> {
        self.drain()?;
        let exp = run(self.engine.policy(), &self.events, self.delay)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Vector {
            name,
            set: set.to_owned(),
            replay: self.delay == 0 && !exp.unexpected,
            timer_delay_ms: self.delay,
            events: self.events,
            steps: exp.steps,
            results: exp.results,
            final_state: exp.final_state,
        })
    }
}

/// A `probe` line.
pub(super) fn probe(t: Ms, req: &str, a: ProbeResult) -> LogLine<'static> {
    let mut ev = LogLine::new(t, WS, EventKind::Probe);
    ev.req = Some(req.to_owned().into());
    ev.result = Some(a);
    ev
}

/// A `restart_requested` line.
pub(super) fn restart_request(t: Ms, source: RestartSource) -> LogLine<'static> {
    let mut ev = LogLine::new(t, WS, EventKind::RestartRequested);
    ev.source = Some(source);
    ev
}

/// A `workspace` line.
pub(super) fn facts(t: Ms, runtime: Option<&str>, provisioner: Option<bool>) -> LogLine<'static> {
    let mut ev = LogLine::new(t, WS, EventKind::Workspace);
    ev.runtime = runtime.map(|r| r.to_owned().into());
    ev.provisioner = provisioner;
    ev
}

/// The policy's thresholds, for building boundary cases.
#[derive(Clone, Copy)]
pub(super) struct Knobs {
    pub(super) recent: Option<Ms>,
    pub(super) settle: Option<Ms>,
    pub(super) settle_from_finished: bool,
    pub(super) strike_window: Option<Ms>,
    pub(super) threshold: u8,
    pub(super) recent_strikes: bool,
    pub(super) settle_strikes: bool,
    pub(super) debounce: Ms,
    pub(super) file_write: Ms,
    pub(super) reprobe: Option<Ms>,
    pub(super) wait: Option<Ms>,
    pub(super) poll: Option<Ms>,
}

impl Knobs {
    pub(super) fn of(p: &Policy) -> Self {
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
    pub(super) fn horizon(&self) -> Ms {
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

/// `+1ms`, `0ms`, `-1ms`.
pub(super) fn signed(d: i64) -> String {
    match d {
        0 => "0ms".into(),
        d if d > 0 => format!("+{d}ms"),
        d => format!("{d}ms"),
    }
}

/// `base + d`, saturating.
pub(super) fn off(base: Ms, d: i64) -> Ms {
    base.saturating_add_signed(d)
}

/// The vectors built so far, each log kept once.
pub(super) struct Sets<'p> {
    pub(super) policy: &'p Policy,
    /// The set the next vectors belong to.
    set: &'static str,
    vectors: Vec<Vector>,
    seen: HashSet<(Vec<LogLine<'static>>, Ms)>,
}

impl<'p> Sets<'p> {
    pub(super) fn new(policy: &'p Policy) -> Self {
        Sets {
            policy,
            set: "scenario",
            vectors: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// The next vectors belong to `set`.
    pub(super) fn set(&mut self, set: &'static str) {
        self.set = set;
    }

    pub(super) fn into_vectors(self) -> Vec<Vector> {
        self.vectors
    }

    /// Plays `script` on `world`, drains it and keeps the vector its log
    /// makes (unless the same log was kept already).
    pub(super) fn build(
        &mut self,
        name: impl Into<String>,
        mut world: LogWorld<'p>,
        script: impl FnOnce(&mut LogWorld<'p>) -> Played,
    ) -> Result<(), InputError> {
        let v = script(&mut world)
            .and_then(|()| world.into_vector(name.into(), self.set))
            .map_err(|e| InputError::new(format!("internal error building vectors: {e}")))?;
        if self.seen.insert((v.events.clone(), v.timer_delay_ms)) {
            self.vectors.push(v);
        }
        Ok(())
    }

    /// [`Sets::build`] on a world answering as scripted, at once.
    pub(super) fn scripted(
        &mut self,
        name: impl Into<String>,
        script: impl FnOnce(&mut LogWorld<'p>) -> Played,
    ) -> Result<(), InputError> {
        self.build(
            name,
            LogWorld::new(self.policy, 0, Answering::after(0)),
            script,
        )
    }

    /// [`Sets::build`] on a world answering as scripted, `latency` after
    /// each probe is asked for.
    pub(super) fn slow(
        &mut self,
        name: impl Into<String>,
        latency: Ms,
        script: impl FnOnce(&mut LogWorld<'p>) -> Played,
    ) -> Result<(), InputError> {
        self.build(
            name,
            LogWorld::new(self.policy, 0, Answering::after(latency)),
            script,
        )
    }
}
