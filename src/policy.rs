//! Liveness policies as data: the TOML file format, its validation, and the
//! validated [`Policy`] every driver hands to the decision machine.
//!
//! A policy holds every knob the upstream versions of `maybeMarkContainerDead`
//! differ in (see `models/policies/*.toml`, each value commented with its
//! upstream source). Loading validates at the edge: unknown keys, impossible
//! values (zero strikes, a wait longer than the window it serves, negative or
//! unparsable durations) are [`InputError`]s naming file, line, key and reason.

use crate::duration::{self, Ms};
use crate::error::{line_of_key, InputError};
use serde::Deserialize;
use std::path::Path;

/// What a probe's transport error means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeErrorMeaning {
    /// V0: the error is only logged and the running flag returned with it is
    /// trusted: `(true, err)` counts as running, `(false, err)` (for instance
    /// `ErrNoBackend`) as not running.
    UseRunningFlag,
    /// V1+: any error ends the decision as "not dead" (assume alive).
    AssumeAlive,
}

impl std::fmt::Display for ProbeErrorMeaning {
    /// The file's word for it (`use_running_flag`, `assume_alive`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProbeErrorMeaning::UseRunningFlag => "use_running_flag",
            ProbeErrorMeaning::AssumeAlive => "assume_alive",
        })
    }
}

/// What a recent (or, in the settle window, fresh) heartbeat leads to when
/// the probes still say "not running".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRecent {
    /// V1: add a strike; declare dead at the threshold.
    Strike,
    /// V2: enqueue the request (HTTP 202); never dead on this path.
    Enqueue,
}

impl std::fmt::Display for OnRecent {
    /// The file's word for it (`strike`, `enqueue`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnRecent::Strike => "strike",
            OnRecent::Enqueue => "enqueue",
        })
    }
}

/// What a not-running verdict inside the settle window, with no recent or
/// fresh heartbeat, leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSettling {
    /// V2: add a strike; declare dead at the threshold.
    Strike,
    /// Declare dead at once (the settle window then only buys a re-probe).
    Declare,
    /// Not dead: inside the settle window only a heartbeat of the new agent
    /// (a fresh one) makes a not-running answer meaningful (not upstream).
    WaitForAgent,
}

impl std::fmt::Display for OnSettling {
    /// The file's word for it (`strike`, `declare`, `wait_for_agent`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnSettling::Strike => "strike",
            OnSettling::Declare => "declare",
            OnSettling::WaitForAgent => "wait_for_agent",
        })
    }
}

/// The instant the settle window is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettleFrom {
    /// V2: `restartStartedAt`, stamped when a restart cycle (or a loop of it)
    /// begins.
    RestartStarted,
    /// The end of the last restart cycle (when `running` went false).
    RestartFinished,
}

impl std::fmt::Display for SettleFrom {
    /// The file's word for it (`restart_started`, `restart_finished`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SettleFrom::RestartStarted => "restart_started",
            SettleFrom::RestartFinished => "restart_finished",
        })
    }
}

/// The recent-heartbeat rule (V1+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecentHeartbeat {
    /// A heartbeat is recent when `now - heartbeat <= window` (inclusive).
    pub window: Ms,
    /// What a recent heartbeat leads to when the container looks not running.
    pub on_recent: OnRecent,
}

/// The strike (dead-probe) record's rule (V1+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Strikes {
    /// Strikes needed to declare dead (at least 1).
    pub threshold: u8,
    /// A record whose first strike is more than `window` old
    /// (`now - first > window`) restarts at count 1.
    pub window: Ms,
}

/// Waiting for a heartbeat newer than the restart stamp (V2's
/// `waitForFreshHeartbeat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FreshWait {
    /// Total time the decision may block waiting (2 s upstream).
    pub wait: Ms,
    /// Poll interval (500 ms upstream). Polls happen at `0, poll, 2·poll, …`
    /// while strictly before `wait`.
    pub poll: Ms,
}

/// The post-restart settle window (V2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settle {
    /// Settling while `now - stamp < window` (exclusive).
    pub window: Ms,
    /// Which stamp the window is measured from.
    pub measured_from: SettleFrom,
    /// The fresh-heartbeat wait, if any.
    pub fresh_wait: Option<FreshWait>,
    /// What a not-running verdict inside the window leads to.
    pub on_not_running: OnSettling,
}

/// Knobs of the decision itself (`maybeMarkContainerDead`). Small and `Copy`
/// so the hot path reads it without indirection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecisionPolicy {
    /// Meaning of a probe's transport error.
    pub probe_error: ProbeErrorMeaning,
    /// The recent-heartbeat rule, if any (absent in V0).
    pub recent_heartbeat: Option<RecentHeartbeat>,
    /// The strike record, if any (absent in V0).
    pub strikes: Option<Strikes>,
    /// The settle window, if any (V2).
    pub settle: Option<Settle>,
    /// Delay before re-probing a lone "not running" when a heartbeat is
    /// recent/fresh or the settle window is open (V2).
    pub reprobe_delay: Option<Ms>,
    /// Re-probe every lone "not running", whatever the heartbeat and the
    /// settle window say (not upstream).
    pub reprobe_always: bool,
    /// After the probes, re-check the restart guard before declaring dead:
    /// a restart that started while this decision was probing makes it
    /// skip instead of declaring (not upstream; a v3 knob).
    pub recheck_restarting: bool,
    /// Step 3: skip the whole decision while a restart cycle runs
    /// (`isRestarting`). True for the proxy's decision and the preflight;
    /// the health sweep has no such guard.
    pub skip_while_restarting: bool,
    /// At the declaration, a row already `offline` turns the declaration
    /// into a skip ([`crate::decision::SkipReason::AlreadyOffline`]): another
    /// declaration got there first and its restart request is on its way.
    /// Upstream's offline `UPDATE` then changes nothing but the decision
    /// still deletes the keys and launches a second `RestartByID`. Not
    /// upstream: a proposed fix (`guard.skip_when_offline`), a conditional
    /// `UPDATE … WHERE status = 'online'` whose row count says who declared.
    pub skip_when_offline: bool,
}

/// Knobs of the restart coordinator (`RestartByID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestartPolicy {
    /// `RestartByID` drops calls while `now - restartStartedAt < debounce`.
    pub debounce: Ms,
    /// A file-write (config PUT) restart is dropped if another one fired less
    /// than this long before.
    pub file_write_drop: Ms,
    /// The detector's own restart requests are not subject to the debounce
    /// (they still coalesce into a running cycle). Not upstream.
    pub detector_bypasses_debounce: bool,
    /// `RestartByID`'s debounce check and coalescing run as one critical
    /// section (not upstream: a proposed fix; upstream takes the lock twice,
    /// so two requests can both pass the debounce).
    pub atomic_request: bool,
    /// Manual restarts (the HTTP Restart, Resume, a provider switch) ask the
    /// coordinator (coalesce: start a cycle or join the running one; never
    /// dropped by the debounce) instead of marking the row and running their
    /// own cycle beside it. Their cycles are then stamped, `isRestarting`
    /// covers them and the settle window sees them. Not upstream: a proposed
    /// fix (`restart.manual_via_coordinator`); upstream's manual paths
    /// (`workspace_restart.go@96ef5515:313-486`) never touch the coordinator.
    pub manual_via_coordinator: bool,
}

/// How the other detectors (the Docker health sweep, the cloud instance
/// reconciler, the Redis-TTL liveness monitor) decide that a container is
/// dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DetectorKnobs {
    /// The health sweep, the reconciler and the TTL monitor run this
    /// policy's decision (as a failed request does) instead of declaring on
    /// one `IsRunning=false` (sweep, reconciler) or an expired liveness key
    /// (TTL monitor). Not upstream: a proposed fix (`detectors.use_decision`;
    /// `registry/healthsweep.go@96ef5515:96-147`,
    /// `registry/cp_instance_reconciler.go@96ef5515:211-250`,
    /// `registry/liveness.go@96ef5515:18-78`).
    pub use_decision: bool,
}

/// What the provisioner's `IsRunning` reports (not the decision's knobs: the
/// probe's own semantics, which a proposal may ask upstream to change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProbeKnobs {
    /// Docker's `restarting` state (a crashed container waiting for its
    /// `unless-stopped` restart) reads as not running. Upstream reads it as
    /// running (`provisioner.go@96ef5515:1750-1787` tests `State.Running`,
    /// which moby sets while restarting), so a crash-looping container is
    /// never seen as dead by `IsRunning`.
    pub restarting_is_not_running: bool,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The policy's name (the file stem: `v2-2950`).
    pub name: String,
    /// One line saying what this policy is.
    pub summary: String,
    /// The decision's knobs.
    pub decision: DecisionPolicy,
    /// The probe's semantics.
    pub probe: ProbeKnobs,
    /// The restart coordinator's knobs.
    pub restart: RestartPolicy,
    /// The other detectors' rule.
    pub detectors: DetectorKnobs,
    /// SHA-256 of the text the policy was parsed from (provenance only:
    /// it takes no part in equality).
    pub source_sha256: crate::sha256::SourceHash,
}

// ---- file format ---------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    summary: String,
    probe: ProbeSection,
    heartbeat: Option<HeartbeatSection>,
    strikes: Option<StrikesSection>,
    settle: Option<SettleSection>,
    reprobe: Option<ReprobeSection>,
    #[serde(default)]
    guard: GuardSection,
    restart: RestartSection,
    #[serde(default)]
    detectors: DetectorsSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DetectorsSection {
    #[serde(default)]
    use_decision: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeSection {
    on_error: ProbeErrorMeaning,
    #[serde(default)]
    docker_restarting: Option<Reads>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Reads {
    Running,
    NotRunning,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatSection {
    #[serde(deserialize_with = "duration::de")]
    recent_window: Ms,
    on_recent: OnRecent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrikesSection {
    threshold: i64,
    #[serde(deserialize_with = "duration::de")]
    window: Ms,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettleSection {
    #[serde(deserialize_with = "duration::de")]
    window: Ms,
    measured_from: SettleFrom,
    #[serde(default, deserialize_with = "duration::de_opt")]
    fresh_heartbeat_wait: Option<Ms>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    fresh_heartbeat_poll: Option<Ms>,
    on_not_running: OnSettling,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReprobeSection {
    #[serde(deserialize_with = "duration::de")]
    delay: Ms,
    #[serde(default)]
    always: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GuardSection {
    #[serde(default)]
    recheck_restarting_before_declare: bool,
    #[serde(default)]
    skip_when_offline: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestartSection {
    #[serde(deserialize_with = "duration::de")]
    debounce: Ms,
    #[serde(deserialize_with = "duration::de")]
    file_write_drop: Ms,
    #[serde(default)]
    detector_bypasses_debounce: bool,
    #[serde(default)]
    atomic_request: bool,
    #[serde(default)]
    manual_via_coordinator: bool,
}

impl Policy {
    /// Reads and validates a policy file. The policy's name is the file stem.
    /// Outside the repository, `models/policies/NAME.toml` of a shipped name
    /// reads the copy built into the binary ([`crate::shipped`]).
    pub fn load(path: &Path) -> Result<Policy, InputError> {
        let source = crate::input::read_model_file(
            path,
            "policy file",
            crate::limits::MAX_MODEL_FILE_BYTES,
        )?;
        let name = crate::input::model_name(path)?;
        Policy::parse(&name, path, &source)
    }

    /// Parses and validates policy text; `path` is only used in errors.
    pub fn parse(name: &str, path: &Path, source: &str) -> Result<Policy, InputError> {
        let file: PolicyFile = crate::error::parse_toml(path, source)?;
        let fail = |key: &str, reason: String| {
            let mut e = InputError::new(reason).in_file(path).at_key(key);
            if let Some(line) = line_of_key(source, key) {
                e = e.at_line(line);
            }
            e
        };

        let strikes = match &file.strikes {
            None => None,
            Some(s) => {
                if s.threshold < 1 {
                    return Err(fail(
                        "strikes.threshold",
                        format!("must be at least 1 (got {}): zero strikes would declare every probe dead before it is made", s.threshold),
                    ));
                }
                if s.threshold > 100 {
                    return Err(fail(
                        "strikes.threshold",
                        format!(
                            "{} strikes is not a policy anyone can wait for (at most 100)",
                            s.threshold
                        ),
                    ));
                }
                if s.window == 0 {
                    return Err(fail(
                        "strikes.window",
                        "must be longer than 0s: no two strikes could ever count together".into(),
                    ));
                }
                Some(Strikes {
                    threshold: s.threshold as u8,
                    window: s.window,
                })
            }
        };

        let recent_heartbeat = match &file.heartbeat {
            None => None,
            Some(h) => {
                if h.recent_window == 0 {
                    return Err(fail(
                        "heartbeat.recent_window",
                        "must be longer than 0s".into(),
                    ));
                }
                if h.on_recent == OnRecent::Strike && strikes.is_none() {
                    return Err(fail(
                        "heartbeat.on_recent",
                        "\"strike\" needs a [strikes] table (threshold and window)".into(),
                    ));
                }
                Some(RecentHeartbeat {
                    window: h.recent_window,
                    on_recent: h.on_recent,
                })
            }
        };

        let settle = match &file.settle {
            None => None,
            Some(s) => {
                if s.window == 0 {
                    return Err(fail("settle.window", "must be longer than 0s".into()));
                }
                if s.on_not_running == OnSettling::Strike && strikes.is_none() {
                    return Err(fail(
                        "settle.on_not_running",
                        "\"strike\" needs a [strikes] table (threshold and window)".into(),
                    ));
                }
                let fresh_wait = match (s.fresh_heartbeat_wait, s.fresh_heartbeat_poll) {
                    (None, None) => None,
                    (Some(_), None) => {
                        return Err(fail(
                            "settle.fresh_heartbeat_wait",
                            "needs settle.fresh_heartbeat_poll (how often to look)".into(),
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(fail(
                            "settle.fresh_heartbeat_poll",
                            "given without settle.fresh_heartbeat_wait".into(),
                        ))
                    }
                    (Some(wait), Some(poll)) => {
                        if wait == 0 {
                            return Err(fail(
                                "settle.fresh_heartbeat_wait",
                                "must be longer than 0s (leave it out to not wait)".into(),
                            ));
                        }
                        if wait >= s.window {
                            return Err(fail(
                                "settle.fresh_heartbeat_wait",
                                format!(
                                    "{} is not shorter than the settle window it serves ({})",
                                    duration::Human(wait),
                                    duration::Human(s.window)
                                ),
                            ));
                        }
                        if poll == 0 || poll > wait {
                            return Err(fail(
                                "settle.fresh_heartbeat_poll",
                                format!(
                                    "must be longer than 0s and at most the wait ({})",
                                    duration::Human(wait)
                                ),
                            ));
                        }
                        Some(FreshWait { wait, poll })
                    }
                };
                if s.on_not_running == OnSettling::WaitForAgent && fresh_wait.is_none() {
                    return Err(fail(
                        "settle.on_not_running",
                        "\"wait_for_agent\" needs settle.fresh_heartbeat_wait: only the fresh-heartbeat check can see the new agent".into(),
                    ));
                }
                Some(Settle {
                    window: s.window,
                    measured_from: s.measured_from,
                    fresh_wait,
                    on_not_running: s.on_not_running,
                })
            }
        };

        let reprobe_delay = match &file.reprobe {
            None => None,
            Some(r) => {
                if recent_heartbeat.is_none() && settle.is_none() {
                    return Err(fail(
                        "reprobe.delay",
                        "a re-probe happens only with a [heartbeat] or [settle] table; neither is given".into(),
                    ));
                }
                if let Some(s) = &settle {
                    if r.delay >= s.window {
                        return Err(fail(
                            "reprobe.delay",
                            format!(
                                "{} is not shorter than the settle window it serves ({})",
                                duration::Human(r.delay),
                                duration::Human(s.window)
                            ),
                        ));
                    }
                }
                if let Some(h) = &recent_heartbeat {
                    if r.delay >= h.window {
                        return Err(fail(
                            "reprobe.delay",
                            format!(
                                "{} is not shorter than the recent-heartbeat window it serves ({})",
                                duration::Human(r.delay),
                                duration::Human(h.window)
                            ),
                        ));
                    }
                }
                Some(r.delay)
            }
        };
        let reprobe_always = file.reprobe.as_ref().is_some_and(|r| r.always);

        if strikes.is_some()
            && recent_heartbeat.map(|h| h.on_recent) != Some(OnRecent::Strike)
            && settle.map(|s| s.on_not_running) != Some(OnSettling::Strike)
        {
            return Err(fail(
                "strikes",
                "no rule adds a strike (set heartbeat.on_recent or settle.on_not_running to \"strike\", or drop [strikes])".into(),
            ));
        }

        Ok(Policy {
            name: name.to_owned(),
            summary: file.summary,
            decision: DecisionPolicy {
                probe_error: file.probe.on_error,
                recent_heartbeat,
                strikes,
                settle,
                reprobe_delay,
                reprobe_always,
                recheck_restarting: file.guard.recheck_restarting_before_declare,
                skip_while_restarting: true,
                skip_when_offline: file.guard.skip_when_offline,
            },
            probe: ProbeKnobs {
                restarting_is_not_running: file.probe.docker_restarting == Some(Reads::NotRunning),
            },
            restart: RestartPolicy {
                debounce: file.restart.debounce,
                file_write_drop: file.restart.file_write_drop,
                detector_bypasses_debounce: file.restart.detector_bypasses_debounce,
                atomic_request: file.restart.atomic_request,
                manual_via_coordinator: file.restart.manual_via_coordinator,
            },
            detectors: DetectorKnobs {
                use_decision: file.detectors.use_decision,
            },
            source_sha256: crate::sha256::SourceHash::of(source.as_bytes()),
        })
    }

    /// Every threshold a timestamp of each kind is ever compared with, so
    /// ages can be capped just above the largest without changing a decision.
    ///
    /// Exact when the settle window is measured from the restart start. When
    /// it is measured from the cycle's end, the fresh-heartbeat check compares
    /// the heartbeat with a restart *start* that can be a whole cycle older
    /// than the window's stamp: use [`Policy::age_caps_for`] with the longest
    /// cycle the environment allows.
    pub fn age_caps(&self) -> AgeCaps {
        self.age_caps_for(0)
    }

    /// [`Policy::age_caps`] for an environment whose restart cycles last at
    /// most `longest_cycle` (only matters for a settle window measured from
    /// the cycle's end).
    ///
    /// # The restart stamp and the re-check
    ///
    /// With `guard.recheck_restarting_before_declare` a decision compares
    /// the stamp it read at Start (`restart_seen`, aged by
    /// [`crate::decision::Decision::age`] with this same cap) with the
    /// workspace's stamp when it is about to declare: equal means no restart
    /// began meanwhile. Capping keeps that comparison exact as long as the
    /// newer stamp has not saturated when it is compared. Stamps only move
    /// forward, so two equal stamps age into equal capped values; and a stamp
    /// that differs from `restart_seen` was written after the decision
    /// started, so its age is at most the decision's own age. A decision's
    /// age when it compares is bounded by its own timers — the whole fresh
    /// wait, then the re-probe delay — *when probe answers and its lock
    /// sections take no time and no timer fires late*, which is the
    /// checker's rule (`src/model`): `held = fresh wait + re-probe delay`.
    /// The cap is therefore at least `held + 1`, whatever the windows: a
    /// policy's windows may be shorter than its decisions (a 100 ms debounce
    /// with a 500 ms re-probe). No finite cap covers a probe answer slower
    /// than the cap; drivers with real time (the tracker, replay) never cap.
    /// The remaining terms are the thresholds the stamp is compared with:
    /// the settle window, the debounce and the fresh-heartbeat horizon. Each
    /// comparison needs only its own term, so the cap is their maximum.
    pub fn age_caps_for(&self, longest_cycle: Ms) -> AgeCaps {
        let d = &self.decision;
        let settle = d.settle.map_or(0, |s| s.window);
        // How old the restart-start stamp can be while a fresh-heartbeat wait
        // still compares against it.
        let fresh_horizon = d.settle.map_or(0, |s| {
            let cycle = match s.measured_from {
                SettleFrom::RestartStarted => 0,
                SettleFrom::RestartFinished => longest_cycle,
            };
            s.window + cycle + s.fresh_wait.map_or(0, |w| w.wait)
        });
        // How long a decision holds `restart_seen` before the re-check
        // compares it (see above); 0 without the re-check.
        let held = if d.recheck_restarting {
            d.settle.and_then(|s| s.fresh_wait).map_or(0, |w| w.wait) + d.reprobe_delay.unwrap_or(0)
        } else {
            0
        };
        AgeCaps {
            // recent: `<= window` needs window+1 distinguishable. fresh compares
            // the heartbeat with a restart stamp younger than the fresh
            // horizon: a heartbeat older than that is "not newer" either way.
            heartbeat: (d.recent_heartbeat.map_or(0, |h| h.window) + 1).max(fresh_horizon + 1),
            // settle (`< window`), debounce (`< debounce`), the fresh
            // comparison's horizon, and the re-check's `held + 1`.
            restart_stamp: settle
                .max(self.restart.debounce)
                .max(fresh_horizon + 1)
                .max(held + 1),
            // The cycle's end is read only by a settle window measured from it.
            restart_finished: match d.settle.map(|s| s.measured_from) {
                Some(SettleFrom::RestartFinished) => settle,
                _ => 0,
            },
            recent_window: d.recent_heartbeat.map_or(0, |h| h.window),
            strike_first: d.strikes.map_or(0, |s| s.window) + 1,
            file_write: self.restart.file_write_drop,
            // Read only by the world's liveness monitor (its TTL is an
            // environment fact): drivers that model it set this.
            liveness_key: 0,
        }
    }
}

/// The largest age worth distinguishing for each kind of timestamp a policy
/// compares: an age at or above its cap behaves exactly like the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeCaps {
    /// For `last_heartbeat`.
    pub heartbeat: Ms,
    /// For `restartStartedAt`.
    pub restart_stamp: Ms,
    /// For the end of the last restart cycle (0: never read).
    pub restart_finished: Ms,
    /// The recent-heartbeat window (0 without one): a heartbeat older than
    /// it and not newer than the restart stamp is never read again.
    pub recent_window: Ms,
    /// For the first strike of the record.
    pub strike_first: Ms,
    /// For the last file-write restart.
    pub file_write: Ms,
    /// For the Redis liveness key's last refresh (0: never read).
    pub liveness_key: Ms,
}

/// The `#` comment lines (trimmed, `#` kept) right above `key`'s assignment
/// in `[table]` of TOML text; none when the key is absent or a blank or
/// other line separates them.
#[cfg(feature = "checker")] // calibrate and codegen read comments
pub(crate) fn comments_above<'a>(source: &'a str, table: &str, key: &str) -> Vec<&'a str> {
    let mut current = String::new();
    let mut pending = Vec::new();
    for raw in source.lines() {
        let l = raw.trim();
        if l.starts_with('#') {
            pending.push(l);
            continue;
        }
        if l.starts_with('[') && l.ends_with(']') {
            current = l.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
            pending.clear();
            continue;
        }
        if current == table {
            if let Some((k, _)) = l.split_once('=') {
                if k.trim() == key {
                    return pending;
                }
            }
        }
        pending.clear();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words `Display` prints are the file's words: each reads back as
    /// the same value (policy and environment enums alike).
    #[test]
    fn display_words_read_back_as_the_file_words() {
        use crate::environment::{CrashReads, Platform};
        use serde::de::value::{Error, StrDeserializer};
        fn back<T: for<'de> Deserialize<'de> + std::fmt::Display + PartialEq + std::fmt::Debug>(
            all: &[T],
        ) {
            for v in all {
                let word = v.to_string();
                let read = T::deserialize(StrDeserializer::<Error>::new(&word))
                    .unwrap_or_else(|e| panic!("{word}: {e}"));
                assert_eq!(&read, v, "{word}");
            }
        }
        back(&[
            ProbeErrorMeaning::UseRunningFlag,
            ProbeErrorMeaning::AssumeAlive,
        ]);
        back(&[OnRecent::Strike, OnRecent::Enqueue]);
        back(&[
            OnSettling::Strike,
            OnSettling::Declare,
            OnSettling::WaitForAgent,
        ]);
        back(&[SettleFrom::RestartStarted, SettleFrom::RestartFinished]);
        back(&[Platform::Docker, Platform::Cloud, Platform::Generic]);
        back(&[CrashReads::NotRunning, CrashReads::Running]);
    }

    const V2: &str = r#"
[probe]
on_error = "assume_alive"
[heartbeat]
recent_window = "15s"
on_recent = "enqueue"
[strikes]
threshold = 2
window = "30s"
[settle]
window = "30s"
measured_from = "restart_started"
fresh_heartbeat_wait = "2s"
fresh_heartbeat_poll = "500ms"
on_not_running = "strike"
[reprobe]
delay = "500ms"
[restart]
debounce = "60s"
file_write_drop = "15s"
"#;

    fn parse(src: &str) -> Result<Policy, InputError> {
        Policy::parse("t", Path::new("t.toml"), src)
    }

    #[test]
    fn parses_a_full_policy() {
        let p = parse(V2).unwrap();
        assert_eq!(p.decision.strikes.unwrap().threshold, 2);
        assert_eq!(p.decision.settle.unwrap().fresh_wait.unwrap().poll, 500);
        assert_eq!(p.restart.debounce, 60_000);
    }

    #[test]
    fn zero_strikes_is_rejected_with_key_and_line() {
        let e = parse(&V2.replace("threshold = 2", "threshold = 0")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("strikes.threshold"));
        assert_eq!(e.line, Some(8));
        assert!(e.reason.contains("at least 1"), "{e}");
    }

    #[test]
    fn wait_longer_than_its_window_is_rejected() {
        let e = parse(&V2.replace("delay = \"500ms\"", "delay = \"31s\"")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("reprobe.delay"));
        let e = parse(&V2.replace(
            "fresh_heartbeat_wait = \"2s\"",
            "fresh_heartbeat_wait = \"30s\"",
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("settle.fresh_heartbeat_wait"));
    }

    #[test]
    fn unknown_key_and_bad_duration_name_their_line() {
        let e = parse(&V2.replace("[reprobe]", "[reprobe]\nsleep = \"1s\"")).unwrap_err();
        assert!(e.reason.contains("unknown field `sleep`"), "{e}");
        assert_eq!(e.key.as_deref(), Some("reprobe.sleep"));
        let e = parse(&V2.replace("window = \"30s\"\nmeasured", "window = \"-30s\"\nmeasured"))
            .unwrap_err();
        assert!(e.reason.contains("negative"), "{e}");
        assert_eq!(e.key.as_deref(), Some("settle.window"));
        let e = parse(&V2.replace("debounce = \"60s\"", "debounce = 60")).unwrap_err();
        assert!(e.reason.contains("bare number"), "{e}");
    }

    #[test]
    fn strikes_nobody_adds_are_rejected() {
        let src = V2.replace(
            "on_not_running = \"strike\"",
            "on_not_running = \"declare\"",
        );
        let e = parse(&src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("strikes"));
    }
}
