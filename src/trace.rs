//! Counterexamples as timelines a person can follow: model time, who acted,
//! what happened, what the proxy knew, and what it decided. One renderer for
//! every output (`check` text and JSON, `explain`).

use crate::decision::{self, NotDeadReason, ProbeResult, SkipReason, Step, Verdict};
use crate::duration::{Human, Ms};
use crate::model::note::{Detector, JobEvent, Note, Prober};
use crate::model::search::Trail;
use crate::model::{Class, Owner, Truth, World, WorldState, MAX_SLOTS, NOW};
use crate::restart::{DropReason, RestartOutcome};
use serde::Serialize;
use std::fmt::Write as _;

/// What the proxy knew at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Knew {
    /// Time since `restartStartedAt`; none before the first restart or
    /// once older than every window it is compared with (`restart_old`).
    pub restart_age_ms: Option<Ms>,
    /// The last restart is older than every window it is compared with.
    pub restart_old: bool,
    /// Time since `last_heartbeat_at`; none before the first heartbeat or
    /// once it can no longer count as recent or fresh (`heartbeat_old`).
    pub heartbeat_age_ms: Option<Ms>,
    /// The last heartbeat is too old to count as recent or fresh.
    pub heartbeat_old: bool,
    /// Strikes in the record.
    pub strikes: u8,
    /// Inside the settle window (step 4 of the rule).
    pub settling: bool,
    /// The heartbeat is recent (step 5 of the rule).
    pub recent_heartbeat: bool,
    /// A restart cycle is in flight (`isRestarting`).
    pub restarting: bool,
    /// The policy has a settle window at all (V2); without one `settling`
    /// is always false and is shown as `-`.
    #[serde(skip)]
    pub has_settle_window: bool,
}

/// Declares a fieldless enum in which every variant has one word: `word`,
/// `from_word`, `ALL`, `Display` (padded to the width asked) and serde as
/// that word. The one table for every output (text, JSON, proofs,
/// diagrams) and for reading proofs back.
macro_rules! worded {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// Its word on a timeline.
            pub fn word(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value whose word is `word`.
            pub fn from_word(word: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.word() == word)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.word())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.word())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let word = std::borrow::Cow::<'de, str>::deserialize(d)?;
                $name::from_word(&word).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        concat!("unknown ", stringify!($name), " {:?}"),
                        word
                    ))
                })
            }
        }
    };
}

worded! {
    /// Who acted on a timeline line.
    pub enum Actor {
        /// A client whose request fails.
        Client => "client",
        /// The proxy's decision for a request.
        Proxy => "proxy",
        /// The `IsRunning` probe answering.
        Probe => "probe",
        /// The preflight check before a forward.
        Preflight => "preflight",
        /// The Docker health sweep.
        HealthSweep => "health sweep",
        /// The cloud reconciler.
        Reconciler => "reconciler",
        /// The liveness (Redis TTL) monitor.
        LivenessMonitor => "liveness monitor",
        /// The restart coordinator and its restart job.
        RestartCoordinator => "restart coordinator",
        /// The container (or instance) itself.
        Container => "container",
        /// The workspace's agent.
        Agent => "agent",
        /// An operator (config PUT, manual restart).
        Operator => "operator",
        /// Redis (key and cache expiry).
        Redis => "redis",
        /// Time passing.
        Clock => "clock",
    }
}

impl Actor {
    /// Lines by this actor show what the proxy knew after the step (it acted
    /// on it); the others, what it knew before.
    fn shows_knowledge_after(self) -> bool {
        matches!(
            self,
            Actor::Proxy
                | Actor::RestartCoordinator
                | Actor::Clock
                | Actor::Preflight
                | Actor::HealthSweep
        )
    }
}

worded! {
    /// What happened on a timeline line.
    pub enum What {
        /// Model time passes (the last line of a run ending in a tick).
        TimePasses => "time_passes",
        /// A request arrives (its preflight checks first) or fails.
        RequestFailed => "request_failed",
        /// A forward the preflight let through fails.
        ForwardFailed => "forward_failed",
        /// A forward the preflight let through succeeds.
        ForwardOk => "forward_ok",
        /// A decision asks `IsRunning`.
        ProbeRequested => "probe_requested",
        /// `IsRunning` answers.
        ProbeAnswered => "probe_answered",
        /// A decision waits for one of its timers.
        Waits => "waits",
        /// A decision's timer fires.
        TimerFired => "timer_fired",
        /// A strike reaches the threshold; the declaration takes its own lock.
        StrikeThreshold => "strike_threshold",
        /// A decision ends: not dead.
        NotDead => "not_dead",
        /// A decision ends: the request is queued (202).
        Queued => "queued",
        /// A decision ends without acting.
        Skipped => "skipped",
        /// The container is declared dead.
        DeclaredDead => "declared_dead",
        /// A detector runs the policy's decision.
        DetectorDecides => "detector_decides",
        /// The agent heartbeats.
        Heartbeat => "heartbeat",
        /// The booting agent registers.
        AgentRegistered => "agent_registered",
        /// The pending instance reports running.
        ReportsRunning => "reports_running",
        /// The container crashes.
        ContainerCrashed => "container_crashed",
        /// Docker restarts the crashed container.
        DockerRestarted => "docker_restarted",
        /// A config PUT.
        ConfigPut => "config_put",
        /// A manual restart.
        ManualRestart => "manual_restart",
        /// The liveness key expires.
        KeyExpired => "key_expired",
        /// The cached URL expires.
        CacheExpired => "cache_expired",
        /// A `RestartByID` passes (or fails) its debounce check.
        RestartChecked => "restart_checked",
        /// A `RestartByID` coalesces into the cycle in flight, or is dropped.
        RestartCoalesced => "restart_coalesced",
        /// A request that coalesced is lost (the loop cleared `running`).
        RestartLost => "restart_lost",
        /// The drain loop finds a request pending: another cycle, re-stamped.
        RestartLooped => "restart_looped",
        /// A `RestartByID` starts a restart (running, stamped).
        RestartStarted => "restart_started",
        /// Nothing is pending: the drain loop ends.
        RestartFinished => "restart_finished",
        /// The restart job stops the container.
        CycleStops => "cycle_stops",
        /// The container's stop returns.
        CycleStopped => "cycle_stopped",
        /// The restart job sleeps before provisioning.
        CycleSleeps => "cycle_sleeps",
        /// The provision returns.
        CycleProvisioned => "cycle_provisioned",
    }
}

/// One line of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Model time since the run began.
    pub t_ms: Ms,
    /// Who acted.
    pub actor: Actor,
    /// What happened.
    pub action: What,
    /// What happened, in words.
    pub detail: String,
    /// The failed request this line is about (`r1`, `r2`, …), numbered in
    /// the order the requests failed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_req"
    )]
    pub req: Option<u32>,
    /// `probe_answered` lines: the answer in the replay log's words
    /// (`running`, `not_running`, `error`, `error_not_running`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// `declared_dead` lines: what became of the restart request
    /// (`started`, `coalesced`, `dropped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<&'static str>,
    /// What the proxy knew right after.
    pub knew: Knew,
    /// The truth about the container right after.
    pub container: &'static str,
    /// This is the line that breaks the property (see [`mark_violation`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub violation: bool,
    /// The model step (1-based index into [`Trail::steps`]) this line
    /// comes from.
    #[serde(skip)]
    pub step: usize,
}

impl Entry {
    /// The request name (`r1`) when the line is about one.
    pub fn req_name(&self) -> Option<String> {
        self.req.map(|r| format!("r{r}"))
    }
}

fn serialize_req<S: serde::Serializer>(req: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match req {
        Some(r) => s.serialize_str(&format!("r{r}")),
        None => s.serialize_none(),
    }
}

fn knew(world: &World, s: &WorldState) -> Knew {
    let p = &world.policy;
    let caps = world.caps();
    let window = p.decision.strikes.map_or(0, |w| w.window);
    let restart = s.ws.restart.started_at().map(|t| NOW.saturating_sub(t));
    let restart_old = restart.is_some_and(|a| a >= caps.restart_stamp);
    let heartbeat = s.ws.last_heartbeat.map(|t| NOW.saturating_sub(t));
    let heartbeat_old = heartbeat.is_some_and(|a| a >= caps.heartbeat);
    Knew {
        restart_age_ms: restart.filter(|_| !restart_old),
        restart_old,
        heartbeat_age_ms: heartbeat.filter(|_| !heartbeat_old),
        heartbeat_old,
        strikes: s
            .ws
            .strikes
            .filter(|r| NOW.saturating_sub(r.first) <= window)
            .map_or(0, |r| r.count),
        settling: decision::settling(p, &s.ws, NOW),
        recent_heartbeat: decision::recent_heartbeat(p, &s.ws, NOW),
        restarting: s.ws.restart.is_running(),
        has_settle_window: p.decision.settle.is_some(),
    }
}

fn truth_word(t: Truth) -> &'static str {
    match t {
        Truth::Up => "running",
        Truth::Crashed => "crashed",
        Truth::Down => "stopped / being replaced, reports not-running",
        Truth::Pending { .. } => "booting, reports not-running",
        Truth::Booting { .. } => "booting, reports running",
    }
}

fn restart_words(r: RestartOutcome) -> &'static str {
    match r {
        RestartOutcome::Started => "restart started",
        RestartOutcome::Coalesced => "restart coalesced into the running cycle (it will loop)",
        RestartOutcome::Dropped(DropReason::Debounce) => "restart DROPPED by the 60 s debounce",
        RestartOutcome::Dropped(DropReason::FileWrite) => {
            "restart dropped by the file-write window"
        }
    }
}

fn probe_words(r: ProbeResult) -> &'static str {
    match r {
        ProbeResult::Running => "running",
        ProbeResult::NotRunning => "not running",
        ProbeResult::Error => "transport error (true, err)",
        ProbeResult::ErrorNotRunning => "error (false, err)",
    }
}

/// What a decision step means, in words.
fn step_words(step: Step, wake_from: Ms) -> (What, String) {
    match step {
        Step::Probe => (What::ProbeRequested, "asks IsRunning".into()),
        Step::Wake { at, timer } => (
            What::Waits,
            format!(
                "waits {} until +{}",
                match timer {
                    decision::Timer::HeartbeatPoll => "for a heartbeat newer than the restart",
                    decision::Timer::Reprobe => "to probe again",
                },
                Human(at.saturating_sub(wake_from))
            ),
        ),
        Step::Yield => (
            What::StrikeThreshold,
            "strike reaches the threshold; the declaration takes its own lock".into(),
        ),
        Step::Done(v) => match v {
            Verdict::Skipped(r) => (
                What::Skipped,
                match r {
                    SkipReason::ExternalRuntime => "skipped: external runtime".into(),
                    SkipReason::NoProvisioner => "skipped: no provisioner".into(),
                    SkipReason::Restarting => "skipped: a restart is in flight".into(),
                    SkipReason::RestartRecheck => {
                        "stands down: a restart began while it probed (re-check)".into()
                    }
                    SkipReason::AlreadyOffline => {
                        "stands down: already declared dead (row offline), its restart is on its way".into()
                    }
                },
            ),
            Verdict::NotDead(NotDeadReason::Running) => {
                (What::NotDead, "not dead: running (strikes reset)".into())
            }
            Verdict::NotDead(NotDeadReason::ProbeError) => {
                (What::NotDead, "not dead: probe error, assume alive".into())
            }
            Verdict::NotDead(NotDeadReason::Strike(n)) => {
                (What::NotDead, format!("not dead: strike {n} recorded"))
            }
            Verdict::NotDead(NotDeadReason::Booting) => (
                What::NotDead,
                "not dead: settling, the new agent has not heartbeated yet".into(),
            ),
            Verdict::Queued => (What::Queued, "not dead: request queued (202)".into()),
            Verdict::Dead => (
                What::DeclaredDead,
                "DECLARES DEAD: offline, Redis keys deleted, RestartByID launched".into(),
            ),
        },
    }
}

/// One model step of a walk: when it happened, which request each slot
/// held after it, and which timeline lines it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInfo {
    /// Model time of the step since the run began.
    pub t_ms: Ms,
    /// The request number held by each slot after the step.
    pub reqs: [Option<u32>; MAX_SLOTS],
    /// The lines of [`Walk::entries`] this step produced (may be empty: a
    /// tick that is not the last step shows no line).
    pub entries: std::ops::Range<usize>,
}

/// A trail walked for people: the timeline lines and, per model step, the
/// time and request numbers (used by the ITF, HTML and replay renderers).
#[derive(Debug, Clone)]
pub struct Walk {
    /// Every line, in order.
    pub entries: Vec<Entry>,
    /// One per [`Trail::steps`] element, in order.
    pub steps: Vec<StepInfo>,
}

fn class_words(c: Class) -> &'static str {
    match c {
        Class::Decision => "the declaration's",
        Class::Detector => "a detector's",
        Class::Config => "the config PUT's",
    }
}

fn detector_actor(d: Detector) -> Actor {
    match d {
        Detector::Sweep => Actor::HealthSweep,
        Detector::Reconciler => Actor::Reconciler,
        Detector::TtlMonitor => Actor::LivenessMonitor,
    }
}

fn prober_actor(p: Prober) -> Actor {
    match p {
        Prober::Decision => Actor::Proxy,
        Prober::Preflight => Actor::Preflight,
        Prober::Sweep => Actor::HealthSweep,
        Prober::Reconciler => Actor::Reconciler,
    }
}

/// Walks `trail`: the timeline lines (none marked as a violation) and what
/// each model step was. Each step is told from the notes the world's own
/// transition function gives when it takes that step again.
pub fn walk(world: &World, trail: &Trail) -> Walk {
    let mut out: Vec<Entry> = Vec::new();
    let mut steps = Vec::with_capacity(trail.steps.len());
    let mut t: Ms = 0;
    let mut prev = trail.init;
    let mut ids: [Option<u32>; MAX_SLOTS] = [None; MAX_SLOTS];
    let mut next_id = 1u32;
    // A declaration's restart request, by class, waiting for its fate: the
    // line (in `out`) that declared.
    let mut declared_line: [Vec<usize>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (i, (action, next)) in trail.steps.iter().enumerate() {
        let last = i + 1 == trail.steps.len();
        let first_line = out.len();
        let mut notes = Vec::new();
        let _ = world.transition(&prev, *action, &mut notes);
        let k_before = knew(world, &prev);
        let k_after = knew(world, next);
        let step_no = i + 1;
        let before_truth = truth_word(prev.truth);
        let after_truth = truth_word(next.truth);
        for note in notes {
            let at = t;
            let line = |actor: Actor, action: What, detail: String| {
                let after = actor.shows_knowledge_after();
                Entry {
                    t_ms: at,
                    actor,
                    action,
                    detail,
                    req: None,
                    result: None,
                    restart: None,
                    knew: if after { k_after } else { k_before },
                    container: if matches!(actor, Actor::Probe | Actor::Client) {
                        before_truth
                    } else {
                        after_truth
                    },
                    violation: false,
                    step: step_no,
                }
            };
            match note {
                Note::Time(dt) => {
                    t += dt;
                    if last {
                        out.push(Entry {
                            t_ms: t,
                            ..line(Actor::Clock, What::TimePasses, "time passes".into())
                        });
                    }
                }
                Note::RequestArrived {
                    slot,
                    preflight,
                    from_db,
                } => {
                    let req = next_id;
                    next_id += 1;
                    ids[slot] = Some(req);
                    let how = if from_db {
                        " (URL from the database, cached again)"
                    } else {
                        ""
                    };
                    let what = if preflight {
                        format!(
                            "request r{req} arrives{how}; the preflight checks the container first"
                        )
                    } else {
                        format!("request r{req} fails{how}; the proxy asks: is the container dead?")
                    };
                    out.push(Entry {
                        req: Some(req),
                        ..line(Actor::Client, What::RequestFailed, what)
                    });
                }
                Note::Forward { slot, fails } => {
                    let req = ids[slot].unwrap_or(0);
                    if !fails {
                        ids[slot] = None;
                    }
                    out.push(Entry {
                        req: Some(req),
                        ..line(
                            Actor::Client,
                            if fails { What::ForwardFailed } else { What::ForwardOk },
                            if fails {
                                format!("r{req}: the forward fails; the proxy asks: is the container dead?")
                            } else {
                                format!("r{req}: the forward succeeds")
                            },
                        )
                    });
                }
                Note::Probe {
                    slot,
                    by,
                    result,
                    spurious,
                } => {
                    let req = slot.and_then(|s| ids[s]);
                    let how = if spurious {
                        " (spurious: it is running)"
                    } else {
                        ""
                    };
                    let whose = match (by, req) {
                        (Prober::Sweep, _) => "health sweep".to_owned(),
                        (Prober::Reconciler, _) => "reconciler".to_owned(),
                        (Prober::Preflight, Some(r)) => format!("r{r}'s preflight"),
                        (_, Some(r)) => format!("r{r}"),
                        (_, None) => "?".to_owned(),
                    };
                    out.push(Entry {
                        req,
                        result: Some(result.as_str()),
                        ..line(
                            Actor::Probe,
                            What::ProbeAnswered,
                            format!("IsRunning for {whose} → {}{how}", probe_words(result)),
                        )
                    });
                }
                Note::Timer { slot } => {
                    let req = ids[slot].unwrap_or(0);
                    out.push(Entry {
                        req: Some(req),
                        ..line(
                            Actor::Proxy,
                            What::TimerFired,
                            format!("r{req}: timer fires"),
                        )
                    });
                }
                Note::Resume { .. } => {}
                Note::Step { slot, by, step } => {
                    let req = ids[slot].unwrap_or(0);
                    let (word, text) = step_words(step, NOW);
                    let actor = prober_actor(by);
                    if step == Step::Done(Verdict::Dead) {
                        declared_line[if by == Prober::Decision { 0 } else { 1 }].push(out.len());
                    }
                    if matches!(step, Step::Done(_))
                        && (by != Prober::Preflight || step == Step::Done(Verdict::Dead))
                    {
                        ids[slot] = None;
                    }
                    out.push(Entry {
                        req: Some(req),
                        ..line(actor, word, format!("r{req}: {text}"))
                    });
                }
                Note::Declared { by } => {
                    let text = match by {
                        Detector::Sweep => {
                            "DECLARES DEAD: offline, Redis keys deleted, RestartByID launched"
                        }
                        Detector::Reconciler => {
                            "DECLARES DEAD: RestartByID launched (row and keys untouched)"
                        }
                        Detector::TtlMonitor => {
                            "DECLARES DEAD: the liveness key expired: offline, RestartByID launched"
                        }
                    };
                    declared_line[1].push(out.len());
                    out.push(line(detector_actor(by), What::DeclaredDead, text.into()));
                }
                Note::Heartbeat => {
                    out.push(line(Actor::Agent, What::Heartbeat, "heartbeat".into()))
                }
                Note::Registered => out.push(line(
                    Actor::Agent,
                    What::AgentRegistered,
                    "the new agent registers: URL set, online, liveness key created".into(),
                )),
                Note::ReportsRunning => out.push(line(
                    Actor::Container,
                    What::ReportsRunning,
                    "the new instance reports running; the agent boots".into(),
                )),
                Note::Crash => out.push(line(
                    Actor::Container,
                    What::ContainerCrashed,
                    "the container crashes".into(),
                )),
                Note::DockerRestarts => out.push(line(
                    Actor::Container,
                    What::DockerRestarted,
                    "Docker restarts the crashed container (unless-stopped); the agent boots"
                        .into(),
                )),
                Note::ConfigPut { fired } => out.push(line(
                    Actor::Operator,
                    What::ConfigPut,
                    if fired {
                        "config PUT → RestartByID launched".into()
                    } else {
                        "config PUT → dropped by the file-write window".into()
                    },
                )),
                Note::ManualRestart { outcome } => out.push(line(
                    Actor::Operator,
                    What::ManualRestart,
                    match outcome {
                        None => {
                            "manual restart (no coordinator, no stamp): row provisioning, URL blank"
                                .into()
                        }
                        Some(o) => {
                            format!("manual restart asks the coordinator: {}", restart_words(o))
                        }
                    },
                )),
                Note::DetectorDecides { slot, by } => {
                    let req = next_id;
                    next_id += 1;
                    ids[slot] = Some(req);
                    let actor = detector_actor(by);
                    out.push(Entry {
                        req: Some(req),
                        ..line(
                            actor,
                            What::DetectorDecides,
                            format!("finds the row online and runs the policy's decision (as r{req}): is the container dead?"),
                        )
                    });
                }
                Note::KeyExpired => out.push(line(
                    Actor::Redis,
                    What::KeyExpired,
                    "the liveness key expires".into(),
                )),
                Note::CacheExpired => out.push(line(
                    Actor::Redis,
                    What::CacheExpired,
                    "the cached URL expires".into(),
                )),
                Note::Check { class, dropped } => {
                    let text = match dropped {
                        None => format!(
                            "{} RestartByID passes the debounce check",
                            class_words(class)
                        ),
                        Some(r) => format!(
                            "{} RestartByID: {}",
                            class_words(class),
                            restart_words(RestartOutcome::Dropped(r))
                        ),
                    };
                    if let Some(r) = dropped {
                        fate(
                            &mut out,
                            &mut declared_line,
                            class,
                            RestartOutcome::Dropped(r),
                        );
                    }
                    out.push(line(Actor::RestartCoordinator, What::RestartChecked, text));
                }
                Note::Coalesce { class, outcome } => {
                    fate(&mut out, &mut declared_line, class, outcome);
                    let (word, text) = match outcome {
                        RestartOutcome::Started => (
                            What::RestartStarted,
                            format!(
                                "{} RestartByID: restart started (running, stamped)",
                                class_words(class)
                            ),
                        ),
                        o => (
                            What::RestartCoalesced,
                            format!("{} RestartByID: {}", class_words(class), restart_words(o)),
                        ),
                    };
                    out.push(line(Actor::RestartCoordinator, word, text));
                }
                Note::LoopTop { run, restamped } => {
                    if run && restamped {
                        out.push(line(
                            Actor::RestartCoordinator,
                            What::RestartLooped,
                            "a request is pending: another cycle, re-stamped".into(),
                        ));
                    } else if !run {
                        out.push(line(
                            Actor::RestartCoordinator,
                            What::RestartFinished,
                            "nothing pending: the cycle loop ends".into(),
                        ));
                    }
                }
                Note::LoopExit { lost } => {
                    if lost {
                        out.push(line(
                            Actor::RestartCoordinator,
                            What::RestartLost,
                            "running=false; a request that coalesced since is lost".into(),
                        ));
                    }
                }
                Note::Job { owner, what } => {
                    let who = match owner {
                        Owner::Coordinator => "restart cycle",
                        Owner::Manual => "manual restart",
                    };
                    let (word, text) = match what {
                        JobEvent::Sleeps => (
                            What::CycleSleeps,
                            format!("{who}: the row is provisioning: sleeps 10 s first"),
                        ),
                        JobEvent::Stops => {
                            (What::CycleStops, format!("{who}: stops the container"))
                        }
                        JobEvent::Stopped => (
                            What::CycleStopped,
                            format!("{who}: stopped; row provisioning, URL blank"),
                        ),
                        JobEvent::Provisioned => (
                            What::CycleProvisioned,
                            format!("{who}: the new container is provisioned"),
                        ),
                    };
                    out.push(line(Actor::RestartCoordinator, word, text));
                }
                Note::Slots { from } => {
                    let old = ids;
                    for (j, &i) in from.iter().enumerate() {
                        ids[j] = old[i];
                    }
                }
            }
        }
        steps.push(StepInfo {
            t_ms: t,
            reqs: ids,
            entries: first_line..out.len(),
        });
        prev = *next;
    }
    Walk {
        entries: out,
        steps,
    }
}

/// Records a restart request's fate on the line of the declaration that
/// launched it (the oldest one of its class still waiting).
fn fate(out: &mut [Entry], waiting: &mut [Vec<usize>; 3], class: Class, outcome: RestartOutcome) {
    let k = match class {
        Class::Decision => 0,
        Class::Detector => 1,
        Class::Config => 2,
    };
    if !waiting[k].is_empty() {
        let line = waiting[k].remove(0);
        out[line].restart = Some(outcome.kind());
    }
}

/// Marks the line that breaks the property: a declaration of death (or a
/// restart's fate) if the run's last step made one, else the run's last
/// line.
pub fn mark_violation(walk: &mut Walk) {
    let Some(last) = walk.steps.last() else {
        return;
    };
    let range = last.entries.clone();
    let idx = range
        .clone()
        .rev()
        .find(|&i| {
            matches!(
                walk.entries[i].action,
                What::DeclaredDead
                    | What::RestartStarted
                    | What::RestartCoalesced
                    | What::RestartChecked
                    | What::RestartLost
            )
        })
        .or_else(|| walk.entries.len().checked_sub(1));
    if let Some(i) = idx {
        walk.entries[i].violation = true;
    }
}

/// The timeline of `trail`; the line that breaks the property is marked
/// (see [`mark_violation`]) when `violation` is true.
pub fn timeline(world: &World, trail: &Trail, violation: bool) -> Vec<Entry> {
    let mut w = walk(world, trail);
    if violation {
        mark_violation(&mut w);
    }
    w.entries
}

/// Formats an age for a person: `-` when there is none, `old` beyond
/// every window it is compared with.
fn age(v: Option<Ms>, old: bool) -> String {
    if old {
        "old".into()
    } else {
        v.map_or_else(|| "-".into(), |v| Human(v).to_string())
    }
}

/// Header of the knowledge column.
const HEADER_KNEW: &str =
    "proxy knew (restart age, heartbeat age, strikes, settle window) · container";

/// A timeline as a table a person reads top to bottom, the line that breaks
/// the property marked `✗`; `colour` adds ANSI colour (red violation line,
/// dim knowledge column).
pub fn render_text(entries: &[Entry], why: Option<&str>, colour: bool) -> String {
    let mut s = String::new();
    let (red, dim, reset) = if colour {
        ("\x1b[31;1m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    // The "what" column is as wide as its longest line (within reason), so
    // the knowledge column lines up.
    let what = entries
        .iter()
        .map(|e| e.detail.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(40, 90);
    let _ = writeln!(
        s,
        "     {:>7}  {:<19}  {:<what$}  {}",
        "t", "who", "what", HEADER_KNEW
    );
    for e in entries {
        let k = &e.knew;
        let mark = if e.violation { "  ✗ " } else { "    " };
        let line = format!(
            "{mark} {:>7}  {:<19}  {:<what$}  {dim}restart {}, hb {}, strikes {}, settle {}{} · {}{reset}",
            Human(e.t_ms).to_string(),
            e.actor,
            e.detail,
            age(k.restart_age_ms, k.restart_old),
            age(k.heartbeat_age_ms, k.heartbeat_old),
            k.strikes,
            match (k.has_settle_window, k.settling) {
                (false, _) => "-",
                (true, true) => "open",
                (true, false) => "closed",
            },
            if k.restarting { ", restarting" } else { "" },
            e.container,
        );
        if e.violation {
            let _ = writeln!(s, "{red}{line}{reset}");
        } else {
            let _ = writeln!(s, "{line}");
        }
    }
    if let Some(why) = why {
        let _ = writeln!(s, "     why: {why}.");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_distinct_and_reads_back_through_serde() {
        fn check<T>(all: &[T], word: fn(T) -> &'static str)
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + serde::de::DeserializeOwned,
        {
            let mut seen = std::collections::BTreeSet::new();
            for &v in all {
                assert!(seen.insert(word(v)), "{v:?}: word used twice");
                let json = serde_json::to_value(v).unwrap();
                assert_eq!(json, serde_json::Value::from(word(v)));
                assert_eq!(serde_json::from_value::<T>(json).unwrap(), v);
            }
            assert!(serde_json::from_value::<T>("no such word".into()).is_err());
        }
        check(Actor::ALL, Actor::word);
        check(What::ALL, What::word);
        assert_eq!(format!("[{:<7}]", Actor::Proxy), "[proxy  ]");
    }
}
