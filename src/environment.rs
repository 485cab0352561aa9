//! Environments as data: the platform a policy runs on (restart-cycle
//! timing, how long a new container reports not-running, agent boot time,
//! heartbeats, lying or failing probes, crashes, request arrivals) and the
//! check's bound on detection latency.
//!
//! Files live in `models/environments/NAME.toml`; every number there carries
//! a comment naming its source. Loading validates at the edge, like policies.

use crate::duration::{self, Ms};
use crate::error::InputError;
use crate::policy::line_of_key;
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

/// A validated environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Environment {
    /// The environment's name (the file stem: `docker`).
    pub name: String,
    /// One line saying what this environment is.
    pub summary: String,
    /// The model's clock tick: world events happen on multiples of it.
    pub tick: Ms,
    /// Duration of one restart cycle (stop, provision) until `RestartByID`'s
    /// cycle returns.
    pub restart_cycle: Range,
    /// After the cycle returns, how long the new container/instance still
    /// reports not-running (Docker: created; EC2: pending).
    pub boot_not_running: Range,
    /// After it reports running, how long until the agent's first heartbeat
    /// (registration, URL set).
    pub boot_to_heartbeat: Range,
    /// Heartbeat interval of a running agent.
    pub heartbeat_interval: Ms,
    /// Spurious not-running answers a run may see while the container runs.
    pub spurious_not_running: u8,
    /// Probe transport errors (`(true, err)`) a run may see.
    pub transport_errors: u8,
    /// The container may crash while running.
    pub may_crash: bool,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvFile {
    #[serde(default)]
    summary: String,
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
struct ClockSection {
    #[serde(deserialize_with = "duration::de")]
    tick: Ms,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestartSection {
    #[serde(deserialize_with = "duration::de")]
    cycle_min: Ms,
    #[serde(deserialize_with = "duration::de")]
    cycle_max: Ms,
    config_puts: i64,
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
}

impl Environment {
    /// Reads and validates an environment file. Its name is the file stem.
    pub fn load(path: &Path) -> Result<Environment, InputError> {
        let source = crate::input::read_text_file(
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
            if v % tick != 0 {
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
        if restart_cycle.min == 0 {
            return Err(fail(
                "restart.cycle_min",
                "a restart cycle takes some time: must be at least one tick".into(),
            ));
        }
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
        Ok(Environment {
            name: name.to_owned(),
            summary: f.summary,
            tick,
            restart_cycle,
            boot_not_running,
            boot_to_heartbeat,
            heartbeat_interval,
            spurious_not_running,
            transport_errors,
            may_crash: f.container.may_crash,
            config_puts,
            request_interval,
            max_in_flight: f.requests.max_in_flight as u8,
            failures_while_running: f.requests.failures_while_running,
            detection_bound,
        })
    }
}
