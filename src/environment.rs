//! Environments as data: the platform a policy runs on (restart-cycle
//! timing, how long a new container reports not-running, agent boot time,
//! heartbeats, lying or failing probes, crashes, request arrivals), the
//! other actors upstream runs beside the proxy's decision (each a switch:
//! the Docker health sweep, the cloud reconciler, the Redis-TTL liveness
//! monitor, the preflight check, restarts that bypass the coordinator) and
//! the check's bound on detection latency.
//!
//! Files live in `models/environments/NAME.toml`; every number there carries
//! a comment naming its source. Loading validates at the edge, like policies.
//! A key left out means what upstream does (`docs/environment-reference.md`
//! lists every key with its default), so a file written before a key existed
//! keeps its meaning in the world as upstream runs it.

use crate::duration::{self, Ms};
use crate::error::line_of_key;
use crate::error::InputError;
use serde::Deserialize;
use std::path::Path;

/// A closed range of durations `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Range {
    /// Shortest.
    pub min: Ms,
    /// Longest.
    pub max: Ms,
}

/// Which platform the workspaces run on: decides what `IsRunning` can see and
/// which of upstream's platform-specific actors exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Local Docker containers (`provisioner/provisioner.go`): the provisioner
    /// writes the new URL as soon as the container starts; the health sweep
    /// runs; containers run with `restart: unless-stopped`.
    Docker,
    /// Cloud instances through the control plane
    /// (`provisioner/cp_provisioner.go`): the URL comes only with the agent's
    /// registration; the instance reconciler runs.
    Cloud,
    /// Neither (files written before the key existed): no platform-specific
    /// actor; a crash reads as not running; the URL comes with registration.
    Generic,
}

impl std::fmt::Display for Platform {
    /// The file's word for it (`docker`, `cloud`, `generic`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Platform::Docker => "docker",
            Platform::Cloud => "cloud",
            Platform::Generic => "generic",
        })
    }
}

/// What `IsRunning` answers for a container that has crashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashReads {
    /// `(false, nil)`: the instance is gone (cloud).
    NotRunning,
    /// `(true, nil)`: Docker restarts the process (`unless-stopped`) and
    /// reports the container `Running` while it waits to
    /// (`provisioner.go@96ef5515:1750-1787` tests `State.Running`; moby's
    /// `SetRestarting` sets it).
    Running,
}

impl std::fmt::Display for CrashReads {
    /// The file's word for it (`not_running`, `running`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CrashReads::NotRunning => "not_running",
            CrashReads::Running => "running",
        })
    }
}

/// The actors beside the proxy's decision, each on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actors {
    /// The Docker health sweep (`registry/healthsweep.go`, every 15 s).
    pub health_sweep: bool,
    /// The cloud instance reconciler (`registry/cp_instance_reconciler.go`,
    /// every 60 s).
    pub reconciler: bool,
    /// The Redis-TTL liveness monitor (`registry/liveness.go`).
    pub ttl_monitor: bool,
    /// The preflight check before every forward (`a2a_proxy.go:660-664`).
    pub preflight: bool,
}

/// A validated environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Environment {
    /// The environment's name (the file stem: `docker`).
    pub name: String,
    /// One line saying what this environment is.
    pub summary: String,
    /// The platform.
    pub platform: Platform,
    /// The model's clock tick: world events happen on multiples of it.
    pub tick: Ms,
    /// The restart cycle's stop (from its start until the row is marked
    /// `provisioning`); the old container reports not-running meanwhile.
    pub stop: Range,
    /// The rest of the cycle: from the row marked `provisioning` until the
    /// cycle returns (provisioning the new container or instance).
    pub restart_cycle: Range,
    /// `runRestartCycle` sleeps this long first when the row is still
    /// `provisioning` (`workspace_restart.go@96ef5515:954-958`).
    pub provisioning_sleep: Ms,
    /// Restarts that bypass the coordinator (manual Restart, Resume,
    /// provider switch) a run may see.
    pub manual_restarts: u8,
    /// After the cycle returns, how long the new container/instance still
    /// reports not-running (Docker: created; EC2: pending).
    pub boot_not_running: Range,
    /// After it reports running, how long until the agent's first heartbeat
    /// (registration, URL set).
    pub boot_to_heartbeat: Range,
    /// Heartbeat interval of a running agent (shortest).
    pub heartbeat_interval: Ms,
    /// Longest time between two heartbeats of a running agent.
    pub heartbeat_interval_max: Ms,
    /// Spurious not-running answers a run may see while the container runs.
    pub spurious_not_running: u8,
    /// Probe transport errors (`(true, err)`) a run may see.
    pub transport_errors: u8,
    /// The container may crash while running.
    pub may_crash: bool,
    /// What `IsRunning` answers after a crash.
    pub crash_reads: CrashReads,
    /// Docker restarts a crashed container by itself (`unless-stopped`); it
    /// may come back, or crash again and again.
    pub restarted_by_docker: bool,
    /// The longest Docker waits before restarting a crashed container
    /// (`container.restart_delay_max`; `None`: no bound, any time).
    pub restart_delay_max: Option<Ms>,
    /// The actors beside the decision.
    pub actors: Actors,
    /// The Redis liveness key's TTL (`db/redis.go@96ef5515:41`).
    pub liveness_ttl: Ms,
    /// Config PUTs (file-write restarts) a run may see, at any time.
    pub config_puts: u8,
    /// Minimum time between two failed requests; while the container is
    /// crashed a failed request arrives at least this often.
    pub request_interval: Ms,
    /// Decisions in flight at once (1 or 2).
    pub max_in_flight: u8,
    /// Requests may fail while the container runs (busy agent, network).
    pub failures_while_running: bool,
    /// `dead_detected_within`: a crash must be declared within this long.
    pub detection_bound: Ms,
    /// How far past the crash the worst-case detection latency is measured:
    /// a crash undeclared this long is reported as "at least" this.
    pub latency_horizon: Ms,
    /// SHA-256 of the text the environment was parsed from (provenance
    /// only: it takes no part in equality).
    pub source_sha256: crate::sha256::SourceHash,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvFile {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    platform: Option<PlatformSection>,
    #[serde(default)]
    actors: Option<ActorsSection>,
    #[serde(default)]
    redis: Option<RedisSection>,
    clock: ClockSection,
    restart: RestartSection,
    boot: BootSection,
    heartbeat: HeartbeatSection,
    probe: ProbeSection,
    container: ContainerSection,
    requests: RequestsSection,
    check: CheckSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformSection {
    kind: Platform,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorsSection {
    health_sweep: Option<bool>,
    reconciler: Option<bool>,
    ttl_monitor: Option<bool>,
    preflight: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedisSection {
    #[serde(default, deserialize_with = "duration::de_opt")]
    liveness_ttl: Option<Ms>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSection {
    #[serde(deserialize_with = "duration::de")]
    tick: Ms,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestartSection {
    #[serde(default, deserialize_with = "duration::de_opt")]
    stop_min: Option<Ms>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    stop_max: Option<Ms>,
    #[serde(deserialize_with = "duration::de")]
    cycle_min: Ms,
    #[serde(deserialize_with = "duration::de")]
    cycle_max: Ms,
    #[serde(default, deserialize_with = "duration::de_opt")]
    provisioning_sleep: Option<Ms>,
    config_puts: i64,
    #[serde(default)]
    manual_restarts: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootSection {
    #[serde(deserialize_with = "duration::de")]
    not_running_min: Ms,
    #[serde(deserialize_with = "duration::de")]
    not_running_max: Ms,
    #[serde(deserialize_with = "duration::de")]
    first_heartbeat_min: Ms,
    #[serde(deserialize_with = "duration::de")]
    first_heartbeat_max: Ms,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatSection {
    #[serde(deserialize_with = "duration::de")]
    interval: Ms,
    #[serde(default, deserialize_with = "duration::de_opt")]
    interval_max: Option<Ms>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeSection {
    spurious_not_running: i64,
    transport_errors: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContainerSection {
    may_crash: bool,
    #[serde(default)]
    crash_reads: Option<CrashReads>,
    #[serde(default)]
    restart_policy: Option<RestartPolicyName>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    restart_delay_max: Option<Ms>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
enum RestartPolicyName {
    #[serde(rename = "unless-stopped")]
    UnlessStopped,
    #[serde(rename = "no")]
    No,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestsSection {
    #[serde(deserialize_with = "duration::de")]
    interval: Ms,
    max_in_flight: i64,
    failures_while_running: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckSection {
    #[serde(deserialize_with = "duration::de")]
    detection_bound: Ms,
    #[serde(default, deserialize_with = "duration::de_opt")]
    latency_horizon: Option<Ms>,
}

impl Environment {
    /// Reads and validates an environment file. Its name is the file stem.
    /// Outside the repository, `models/environments/NAME.toml` of a shipped
    /// name reads the copy built into the binary ([`crate::shipped`]).
    pub fn load(path: &Path) -> Result<Environment, InputError> {
        let source = crate::input::read_model_file(
            path,
            "environment file",
            crate::limits::MAX_MODEL_FILE_BYTES,
        )?;
        let name = crate::input::model_name(path)?;
        Environment::parse(&name, path, &source)
    }

    /// Parses and validates environment text; `path` is only used in errors.
    pub fn parse(name: &str, path: &Path, source: &str) -> Result<Environment, InputError> {
        let f: EnvFile = crate::error::parse_toml(path, source)?;
        let fail = |key: &str, reason: String| {
            let mut e = InputError::new(reason).in_file(path).at_key(key);
            if let Some(line) = line_of_key(source, key) {
                e = e.at_line(line);
            }
            e
        };
        let tick = f.clock.tick;
        if tick == 0 {
            return Err(fail("clock.tick", "must be longer than 0s".into()));
        }
        let multiple = |key: &str, v: Ms| -> Result<Ms, InputError> {
            if !v.is_multiple_of(tick) {
                Err(fail(
                    key,
                    format!(
                        "{} is not a multiple of the clock tick ({})",
                        duration::Human(v),
                        duration::Human(tick)
                    ),
                ))
            } else {
                Ok(v)
            }
        };
        let range = |kmin: &str, kmax: &str, min: Ms, max: Ms| -> Result<Range, InputError> {
            multiple(kmin, min)?;
            multiple(kmax, max)?;
            if min > max {
                return Err(fail(
                    kmin,
                    format!(
                        "{} is longer than {kmax} ({})",
                        duration::Human(min),
                        duration::Human(max)
                    ),
                ));
            }
            Ok(Range { min, max })
        };
        let restart_cycle = range(
            "restart.cycle_min",
            "restart.cycle_max",
            f.restart.cycle_min,
            f.restart.cycle_max,
        )?;
        let stop = range(
            "restart.stop_min",
            "restart.stop_max",
            f.restart.stop_min.unwrap_or(0),
            f.restart.stop_max.unwrap_or(0),
        )?;
        if restart_cycle.min + stop.min == 0 {
            return Err(fail(
                "restart.cycle_min",
                "a restart cycle takes some time: must be at least one tick".into(),
            ));
        }
        let platform = f.platform.map_or(Platform::Generic, |p| p.kind);
        // runRestartCycle's sleep when the row is still provisioning:
        // workspace_restart.go@96ef5515:957.
        let provisioning_sleep = multiple(
            "restart.provisioning_sleep",
            f.restart.provisioning_sleep.unwrap_or(10_000),
        )?;
        let boot_not_running = range(
            "boot.not_running_min",
            "boot.not_running_max",
            f.boot.not_running_min,
            f.boot.not_running_max,
        )?;
        let boot_to_heartbeat = range(
            "boot.first_heartbeat_min",
            "boot.first_heartbeat_max",
            f.boot.first_heartbeat_min,
            f.boot.first_heartbeat_max,
        )?;
        let heartbeat_interval = multiple("heartbeat.interval", f.heartbeat.interval)?;
        if heartbeat_interval == 0 {
            return Err(fail("heartbeat.interval", "must be longer than 0s".into()));
        }
        let heartbeat_interval_max = multiple(
            "heartbeat.interval_max",
            f.heartbeat.interval_max.unwrap_or(heartbeat_interval),
        )?;
        if heartbeat_interval_max < heartbeat_interval {
            return Err(fail(
                "heartbeat.interval_max",
                format!(
                    "{} is shorter than heartbeat.interval ({})",
                    duration::Human(heartbeat_interval_max),
                    duration::Human(heartbeat_interval)
                ),
            ));
        }
        let budget = |key: &str, v: i64| -> Result<u8, InputError> {
            if !(0..=3).contains(&v) {
                return Err(fail(
                    key,
                    format!(
                        "must be between 0 and 3 (got {v}): each unit multiplies the state space"
                    ),
                ));
            }
            Ok(v as u8)
        };
        let spurious_not_running =
            budget("probe.spurious_not_running", f.probe.spurious_not_running)?;
        let transport_errors = budget("probe.transport_errors", f.probe.transport_errors)?;
        let config_puts = budget("restart.config_puts", f.restart.config_puts)?;
        // Upstream restarts by hand (Restart, Resume, provider switch) at any
        // time; one in a run unless the file says otherwise.
        let manual_restarts = budget(
            "restart.manual_restarts",
            f.restart.manual_restarts.unwrap_or(1),
        )?;
        let docker = platform == Platform::Docker;
        let crash_reads = f.container.crash_reads.unwrap_or(if docker {
            CrashReads::Running
        } else {
            CrashReads::NotRunning
        });
        let restarted_by_docker = match f.container.restart_policy {
            Some(RestartPolicyName::UnlessStopped) => true,
            Some(RestartPolicyName::No) => false,
            // provisioner.go@96ef5515:762-764.
            None => docker,
        };
        // Read only with `unless-stopped` (a bound on a restart that never
        // comes otherwise), so switching the restart policy off in a copy of
        // docker.toml needs no other edit.
        let restart_delay_max = match f.container.restart_delay_max {
            Some(d) if restarted_by_docker => Some(multiple("container.restart_delay_max", d)?),
            _ => None,
        };
        let a = f.actors.as_ref();
        let actors = Actors {
            // main.go@96ef5515:405-407: the sweep runs with a Docker
            // provisioner (in cloud mode every probe is ErrNoBackend).
            health_sweep: a.and_then(|a| a.health_sweep).unwrap_or(docker),
            // main.go@96ef5515:447-460: only with the control plane.
            reconciler: a
                .and_then(|a| a.reconciler)
                .unwrap_or(platform == Platform::Cloud),
            // main.go@96ef5515:385-388: always started.
            ttl_monitor: a.and_then(|a| a.ttl_monitor).unwrap_or(true),
            // a2a_proxy.go@96ef5515:660-664: only when the platform runs in
            // Docker and the URL is http://ws-<id>:…, not the default.
            preflight: a.and_then(|a| a.preflight).unwrap_or(false),
        };
        if actors.preflight && !docker {
            return Err(fail(
                "actors.preflight",
                "the preflight check exists only with the Docker provisioner (platform.kind = \"docker\")".into(),
            ));
        }
        let liveness_ttl = multiple(
            "redis.liveness_ttl",
            f.redis
                .as_ref()
                .and_then(|r| r.liveness_ttl)
                .unwrap_or(180_000),
        )?;
        if liveness_ttl == 0 {
            return Err(fail("redis.liveness_ttl", "must be longer than 0s".into()));
        }
        let request_interval = multiple("requests.interval", f.requests.interval)?;
        if request_interval == 0 {
            return Err(fail("requests.interval", "must be longer than 0s".into()));
        }
        if !(1..=2).contains(&f.requests.max_in_flight) {
            return Err(fail(
                "requests.max_in_flight",
                format!("must be 1 or 2 (got {})", f.requests.max_in_flight),
            ));
        }
        let detection_bound = multiple("check.detection_bound", f.check.detection_bound)?;
        if detection_bound == 0 {
            return Err(fail(
                "check.detection_bound",
                "must be longer than 0s".into(),
            ));
        }
        let latency_horizon = multiple(
            "check.latency_horizon",
            f.check.latency_horizon.unwrap_or(if actors.ttl_monitor {
                (liveness_ttl + detection_bound).div_ceil(tick) * tick
            } else {
                2 * detection_bound
            }),
        )?;
        if latency_horizon <= detection_bound {
            return Err(fail(
                "check.latency_horizon",
                format!(
                    "{} is not past the detection bound ({}): the worst case could not be measured",
                    duration::Human(latency_horizon),
                    duration::Human(detection_bound)
                ),
            ));
        }
        Ok(Environment {
            name: name.to_owned(),
            summary: f.summary,
            platform,
            tick,
            stop,
            restart_cycle,
            provisioning_sleep,
            manual_restarts,
            boot_not_running,
            boot_to_heartbeat,
            heartbeat_interval,
            heartbeat_interval_max,
            spurious_not_running,
            transport_errors,
            may_crash: f.container.may_crash,
            crash_reads,
            restarted_by_docker,
            restart_delay_max,
            actors,
            liveness_ttl,
            config_puts,
            request_interval,
            max_in_flight: f.requests.max_in_flight as u8,
            failures_while_running: f.requests.failures_while_running,
            detection_bound,
            latency_horizon,
            source_sha256: crate::sha256::SourceHash::of(source.as_bytes()),
        })
    }
}
