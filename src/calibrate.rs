//! `livecheck calibrate docker`: measure the environment instead of assuming
//! it.
//!
//! On the local Docker daemon, with the stand-in agent image that
//! `scripts/e2e-docker` builds (`livecheck-agent:e2e`, see
//! `examples/go-proxy`), each sample runs the restart cycle the Go proxy runs
//! (force-remove, create, start: upstream's provisioner Stop then Start) while
//! a second connection inspects the container every few milliseconds, and a
//! small registry on loopback records when the new agent registers; then the
//! agent exits with code 1 and dockerd's own restart (`unless-stopped`) is
//! timed and inspected. From the samples it writes an environment file with
//! every key of the environment format (`src/environment.rs`), whose
//! measured keys are:
//!
//! - `restart.stop_min/max`: the force-remove (Stop);
//! - `restart.cycle_min/max`: create + start (Start, image on the host);
//! - `boot.not_running_min/max`: after start returned, until the last inspect
//!   that still reported not-running (0 when none did);
//! - `boot.first_heartbeat_min/max`: after start returned, until the agent's
//!   registration arrived;
//! - `container.restart_policy` and `container.crash_reads`: dockerd restarted
//!   the crashed agent, and what inspect's `State.Running` (upstream's
//!   IsRunning) said until it ran again (kept from the base when the inspects
//!   do not settle it).
//!
//! Every other key is copied, with its comment, from the shipped
//! `docker.toml` (or `--base`); a key the base leaves out is written with the
//! value it loads with. Ranges are widened outward to the base's clock tick
//! (the environment format demands multiples of it); the comments keep the
//! raw milliseconds. The command also prints how the measurements compare
//! with the base file's ranges.
//!
//! Docker is reached over its unix socket with a minimal HTTP/1.1 client
//! (no dependency). No daemon, or no agent image, is bad input (exit 2).

use crate::duration::{Human, Ms};
use crate::environment::{CrashReads, Environment, Range};
use crate::error::InputError;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shipped docker environment, the default base of a calibrated file.
pub const SHIPPED_DOCKER: &str = include_str!("../models/environments/docker.toml");

/// What `livecheck calibrate docker` was asked.
#[derive(Debug, Clone)]
pub struct DockerArgs {
    /// Restart cycles to measure.
    pub samples: usize,
    /// Where the environment file goes.
    pub out: PathBuf,
    /// The agent image (built by `scripts/e2e-docker`).
    pub image: String,
    /// The daemon's unix socket.
    pub socket: PathBuf,
    /// The environment whose other keys are kept (default: the shipped
    /// docker.toml).
    pub base: Option<PathBuf>,
    /// The agent's boot time before it listens and registers (`LC_BOOT_DELAY`).
    pub agent_boot_delay: Ms,
}

/// The default Docker socket: `DOCKER_HOST` when it is `unix://PATH`, else
/// `/var/run/docker.sock`.
pub fn default_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

// ---------------------------------------------------------------- HTTP ----

/// An HTTP answer: status and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }
}

/// Parses a whole HTTP/1.1 response (the connection was closed after it),
/// decoding a chunked body.
fn parse_response(buf: &[u8]) -> io::Result<Answer> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    let rest = &buf[end + 4..];
    let body = if chunked {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let nl = rest[i..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("truncated chunk size"))?;
            let size_text = std::str::from_utf8(&rest[i..i + nl]).map_err(|_| bad("bad chunk"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            i += nl + 2;
            if size == 0 {
                break;
            }
            if i + size > rest.len() {
                return Err(bad("truncated chunk"));
            }
            out.extend_from_slice(&rest[i..i + size]);
            i += size + 2;
        }
        out
    } else {
        match length {
            Some(n) if n <= rest.len() => rest[..n].to_vec(),
            _ => rest.to_vec(),
        }
    };
    Ok(Answer { status, body })
}

fn exchange<S: Read + Write>(
    mut s: S,
    method: &str,
    host: &str,
    path: &str,
    body: &str,
) -> io::Result<Answer> {
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    s.flush()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf)
}

/// A Docker daemon on a unix socket; one connection per call.
struct Docker {
    socket: PathBuf,
}

impl Docker {
    fn call(&self, method: &str, path: &str, body: &str) -> io::Result<Answer> {
        let s = UnixStream::connect(&self.socket)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))?;
        exchange(s, method, "docker", path, body)
    }

    /// A call that must answer 2xx.
    fn ok(&self, method: &str, path: &str, body: &str) -> Result<Answer, String> {
        match self.call(method, path, body) {
            Ok(a) if (200..300).contains(&a.status) => Ok(a),
            Ok(a) => Err(format!("{method} {path}: HTTP {}: {}", a.status, a.text())),
            Err(e) => Err(format!("{method} {path}: {e}")),
        }
    }

    /// IsRunning over inspect, as the proxy maps it: `Some(true)` running,
    /// `Some(false)` not found / exited / created / restarting, `None` error.
    fn is_running(&self, name: &str) -> Option<bool> {
        self.inspect(name).map(|i| i.running())
    }

    /// One inspect: `None` on a transport error or an unexpected status.
    fn inspect(&self, name: &str) -> Option<Inspect> {
        match self.call("GET", &format!("/containers/{name}/json"), "") {
            Ok(a) if a.status == 404 => Some(Inspect::default()),
            Ok(a) if a.status == 200 => {
                let v = a.json();
                let st = &v["State"];
                Some(Inspect {
                    found: true,
                    status_running: st["Status"] == "running",
                    state_running: st["Running"] == true,
                    restarting: st["Restarting"] == true,
                })
            }
            _ => None,
        }
    }
}

/// What one inspect said about the container's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Inspect {
    /// The container exists (not 404).
    found: bool,
    /// `State.Status == "running"`.
    status_running: bool,
    /// `State.Running`: what upstream's IsRunning tests
    /// (`provisioner.go@96ef5515:1750-1787`).
    state_running: bool,
    /// `State.Restarting`.
    restarting: bool,
}

impl Inspect {
    /// Running as the proxy maps it (running and not restarting).
    fn running(self) -> bool {
        self.found && self.status_running && self.state_running && !self.restarting
    }
}

// ------------------------------------------------------------ registry ----

/// A loopback HTTP server standing in for the proxy's registry: it answers
/// every POST 200 and records when each registration arrived.
struct Registry {
    port: u16,
    registrations: Arc<Mutex<Vec<Instant>>>,
}

impl Registry {
    fn start() -> io::Result<Registry> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let registrations = Arc::new(Mutex::new(Vec::new()));
        let regs = Arc::clone(&registrations);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let at = Instant::now();
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                if let Ok(path) = read_request(&conn) {
                    if path == "/registry/register" {
                        if let Ok(mut r) = regs.lock() {
                            r.push(at);
                        }
                    }
                }
                let mut c = &conn;
                let _ = c.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            }
        });
        Ok(Registry {
            port,
            registrations,
        })
    }

    /// The first registration after `since`, waiting up to `limit`.
    fn registered_after(&self, since: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(t) = self
                .registrations
                .lock()
                .ok()
                .and_then(|r| r.iter().copied().find(|t| *t >= since))
            {
                return Some(t);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }
}

/// Reads one request (head and Content-Length body); returns its path.
fn read_request(mut conn: &TcpStream) -> io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    let head_end = loop {
        let n = conn.read(&mut byte)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + 4 + length {
        let n = conn.read(&mut byte)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    Ok(head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

// --------------------------------------------------------- measuring ----

/// One sample, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Force-remove call.
    pub remove_us: u64,
    /// Create call.
    pub create_us: u64,
    /// Start call.
    pub start_us: u64,
    /// The whole cycle: remove + create + start.
    pub cycle_us: u64,
    /// Inside the cycle: from the first inspect that reported not-running
    /// until the first that reported running again.
    pub in_cycle_not_running_us: u64,
    /// After start returned, until the last inspect that reported
    /// not-running (0: none did).
    pub not_running_after_us: u64,
    /// After start returned, until the agent registered (0 when it
    /// registered before start returned).
    pub first_heartbeat_us: u64,
    /// The agent registered this long before start returned (0 when after).
    pub registered_early_us: u64,
    /// From the cycle's first call until the agent registered.
    pub cycle_to_register_us: u64,
    /// Inspect calls made while measuring.
    pub inspects: u32,
    /// Docker's own restart after the agent crashed (unless-stopped): from
    /// the crash request until inspect reported running again.
    pub crash_not_running_us: Option<u64>,
    /// ... and until the restarted agent registered.
    pub crash_to_register_us: Option<u64>,
    /// Between the crash and running again, inspects of the existing
    /// container whose `State.Running` (what upstream's IsRunning reads) was
    /// true: a crash that reads as running.
    pub crash_reads_running: u32,
    /// ... and those whose `State.Running` was false.
    pub crash_reads_not_running: u32,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Polls IsRunning on its own connection until stopped; records
/// (sent, received, running) for every answer.
fn poll(
    docker: Arc<Docker>,
    name: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(Instant, Instant, bool)>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let sent = Instant::now();
            if let Some(r) = docker.is_running(&name) {
                out.push((sent, Instant::now(), r));
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        out
    })
}

/// The container the measurements run; removed when dropped.
struct Container<'a> {
    docker: &'a Docker,
    name: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.docker.call(
            "DELETE",
            &format!("/containers/{}?force=true", self.name),
            "",
        );
    }
}

fn create_body(image: &str, agent_port: u16, registry_port: u16, boot: Ms) -> String {
    serde_json::json!({
        "Image": image,
        "Env": [
            "LC_WS=calibrate",
            format!("LC_ADDR=127.0.0.1:{agent_port}"),
            format!("LC_PROXY=http://127.0.0.1:{registry_port}"),
            "LC_HEARTBEAT=30s",
            format!("LC_BOOT_DELAY={boot}ms"),
        ],
        "Labels": {"livecheck.ws": "calibrate"},
        "HostConfig": {"NetworkMode": "host", "RestartPolicy": {"Name": "unless-stopped"}},
    })
    .to_string()
}

/// Facts about the daemon, for the file's header.
#[derive(Debug, Clone, Default)]
pub struct DaemonInfo {
    /// Docker's version.
    pub version: String,
    /// API version.
    pub api: String,
    /// Storage driver.
    pub driver: String,
    /// Kernel version.
    pub kernel: String,
    /// CPUs the daemon sees.
    pub cpus: u64,
}

fn measure(args: &DockerArgs) -> Result<(DaemonInfo, Vec<Sample>), InputError> {
    let docker = Arc::new(Docker {
        socket: args.socket.clone(),
    });
    let version = docker.ok("GET", "/version", "").map_err(|e| {
        InputError::new(format!(
            "cannot reach the Docker daemon at {}: {e} (start dockerd, or run scripts/e2e-docker --preflight, which installs and starts it)",
            args.socket.display()
        ))
    })?;
    let v = version.json();
    let info = docker
        .ok("GET", "/info", "")
        .map(|a| a.json())
        .unwrap_or_default();
    let daemon = DaemonInfo {
        version: v["Version"].as_str().unwrap_or("?").to_owned(),
        api: v["ApiVersion"].as_str().unwrap_or("?").to_owned(),
        driver: info["Driver"].as_str().unwrap_or("?").to_owned(),
        kernel: v["KernelVersion"].as_str().unwrap_or("?").to_owned(),
        cpus: info["NCPU"].as_u64().unwrap_or(0),
    };
    docker
        .ok("GET", &format!("/images/{}/json", args.image), "")
        .map_err(|e| {
            InputError::new(format!(
                "the agent image {} is not on this daemon ({e}); scripts/e2e-docker --preflight builds it (nothing can be pulled)",
                args.image
            ))
            .at_key("--image")
        })?;
    let registry = Registry::start()
        .map_err(|e| InputError::new(format!("cannot listen on loopback: {e}")))?;
    let agent_port =
        free_port().map_err(|e| InputError::new(format!("no free loopback port: {e}")))?;
    let name = format!("lc-calibrate-{}", std::process::id());
    let container = Container {
        docker: &docker,
        name: name.clone(),
    };
    let body = create_body(
        &args.image,
        agent_port,
        registry.port,
        args.agent_boot_delay,
    );
    let fail = |e: String| InputError::new(format!("calibration failed: {e}"));
    // The first container, so that every sample restarts a running one.
    docker
        .ok("POST", &format!("/containers/create?name={name}"), &body)
        .map_err(fail)?;
    let t = Instant::now();
    docker
        .ok("POST", &format!("/containers/{name}/start"), "")
        .map_err(fail)?;
    registry
        .registered_after(t, Duration::from_secs(30))
        .ok_or_else(|| fail("the first agent never registered".into()))?;
    let mut samples = Vec::new();
    for i in 0..args.samples {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!("\rcalibrate: sample {}/{}", i + 1, args.samples);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let poller = poll(Arc::clone(&docker), name.clone(), Arc::clone(&stop));
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        docker
            .ok("DELETE", &format!("/containers/{name}?force=true"), "")
            .map_err(fail)?;
        let t1 = Instant::now();
        docker
            .ok("POST", &format!("/containers/create?name={name}"), &body)
            .map_err(fail)?;
        let t2 = Instant::now();
        docker
            .ok("POST", &format!("/containers/{name}/start"), "")
            .map_err(fail)?;
        let t3 = Instant::now();
        let reg = registry
            .registered_after(t0, Duration::from_secs(30))
            .ok_or_else(|| fail(format!("sample {}: the agent never registered", i + 1)))?;
        // Keep inspecting a little after start returned.
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::Relaxed);
        let answers = poller.join().unwrap_or_default();
        let first_down = answers
            .iter()
            .filter(|(sent, _, r)| *sent >= t0 && !*r)
            .map(|(_, got, _)| *got)
            .next();
        let back_up = first_down.and_then(|down| {
            answers
                .iter()
                .find(|(_, got, r)| *got > down && *r)
                .map(|(_, got, _)| *got - down)
        });
        let last_not_running_after = answers
            .iter()
            .filter(|(sent, _, r)| *sent >= t3 && !*r)
            .map(|(_, got, _)| *got)
            .next_back();
        let mut s = Sample {
            remove_us: us(t1 - t0),
            create_us: us(t2 - t1),
            start_us: us(t3 - t2),
            cycle_us: us(t3 - t0),
            in_cycle_not_running_us: back_up.map_or(0, us),
            not_running_after_us: last_not_running_after.map_or(0, |t| us(t - t3)),
            first_heartbeat_us: us(reg.saturating_duration_since(t3)),
            registered_early_us: us(t3.saturating_duration_since(reg)),
            cycle_to_register_us: us(reg.saturating_duration_since(t0)),
            inspects: u32::try_from(answers.len()).unwrap_or(u32::MAX),
            ..Sample::default()
        };
        // Docker's own restart of a crashed agent (unless-stopped).
        if let Some(c) = crash_restart(&docker, &name, agent_port, &registry) {
            s.crash_not_running_us = Some(c.up_us);
            s.crash_to_register_us = Some(c.registered_us);
            s.crash_reads_running = c.reads_running;
            s.crash_reads_not_running = c.reads_not_running;
        }
        samples.push(s);
        std::thread::sleep(Duration::from_millis(100));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!();
    }
    drop(container);
    Ok((daemon, samples))
}

/// Docker's own restart of a crashed agent, measured.
struct CrashRestart {
    /// From the crash request until inspect reported running again.
    up_us: u64,
    /// ... until the restarted agent registered.
    registered_us: u64,
    /// Inspects in between whose `State.Running` was true.
    reads_running: u32,
    /// ... and false.
    reads_not_running: u32,
}

/// Asks the agent to exit with code 1 and measures how long Docker's
/// restart policy takes to bring it back, and what inspect's `State.Running`
/// (upstream's IsRunning) said meanwhile.
fn crash_restart(
    docker: &Docker,
    name: &str,
    port: u16,
    registry: &Registry,
) -> Option<CrashRestart> {
    let t0 = Instant::now();
    let conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let _ = exchange(&conn, "POST", "agent", "/control/exit?code=1", "");
    // Wait to see it not running, then running again.
    let deadline = t0 + Duration::from_secs(20);
    let mut seen_down = false;
    let (mut reads_running, mut reads_not_running) = (0, 0);
    while Instant::now() < deadline {
        match docker.inspect(name) {
            Some(i) if !i.running() => {
                seen_down = true;
                if i.found {
                    if i.state_running {
                        reads_running += 1;
                    } else {
                        reads_not_running += 1;
                    }
                }
            }
            Some(_) if seen_down => {
                let up_us = us(t0.elapsed());
                let reg = registry.registered_after(t0, Duration::from_secs(20))?;
                return Some(CrashRestart {
                    up_us,
                    registered_us: us(reg - t0),
                    reads_running,
                    reads_not_running,
                });
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

// ------------------------------------------------------------ writing ----

/// Min, median and max of some microsecond values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Smallest.
    pub min: u64,
    /// Median.
    pub median: u64,
    /// Largest.
    pub max: u64,
}

/// Statistics of `values` (microseconds); zeros for none.
pub fn stats(values: &[u64]) -> Stats {
    let mut v = values.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return Stats {
            min: 0,
            median: 0,
            max: 0,
        };
    }
    Stats {
        min: v[0],
        median: v[v.len() / 2],
        max: v[v.len() - 1],
    }
}

/// The smallest range of multiples of `tick` holding `[min_us, max_us]`:
/// min rounded down, max rounded up (a measurement is never left outside).
pub fn widen(min_us: u64, max_us: u64, tick: Ms) -> Range {
    let min_ms = min_us / 1000;
    let max_ms = max_us.div_ceil(1000);
    Range {
        min: min_ms / tick * tick,
        max: max_ms.div_ceil(tick) * tick,
    }
}

/// Where measured values `[min_us, max_us]` lie relative to `shipped`.
pub fn compare(min_us: u64, max_us: u64, shipped: Range) -> &'static str {
    let (lo, hi) = (shipped.min * 1000, shipped.max * 1000);
    if max_us < lo {
        "below the shipped range"
    } else if min_us > hi {
        "above the shipped range"
    } else if min_us >= lo && max_us <= hi {
        "inside the shipped range"
    } else {
        "partly outside the shipped range"
    }
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// Whether `key` is set in `[table]` of a TOML source.
fn has_key(source: &str, table: &str, key: &str) -> bool {
    toml::from_str::<toml::Table>(source)
        .ok()
        .and_then(|t| t.get(table)?.as_table()?.get(key).cloned())
        .is_some()
}

fn quoted(ms: Ms) -> String {
    format!("\"{}\"", Human(ms))
}

/// The calibrated environment file's text: every key of the environment
/// format, on `base`'s clock tick. The measured keys say what was measured
/// (raw numbers in their comments); every other key is `base`'s value, with
/// the comment `base_source` has above it, marked as kept (or, when
/// `base_source` leaves the key out, as the default it loads with).
pub fn render(
    base: &Environment,
    base_source: &str,
    base_name: &str,
    daemon: &DaemonInfo,
    samples: &[Sample],
    when: &str,
    boot_delay: Ms,
) -> String {
    let tick = base.tick;
    let of = |f: fn(&Sample) -> u64| stats(&samples.iter().map(f).collect::<Vec<_>>());
    let cycle = of(|s| s.cycle_us);
    let stop = of(|s| s.remove_us);
    let provision = of(|s| s.create_us + s.start_us);
    let nr = of(|s| s.not_running_after_us);
    let hb = of(|s| s.first_heartbeat_us);
    let cr = of(|s| s.create_us);
    let st = of(|s| s.start_us);
    let inc = of(|s| s.in_cycle_not_running_us);
    let to_reg = of(|s| s.cycle_to_register_us);
    let crash: Vec<u64> = samples
        .iter()
        .filter_map(|s| s.crash_not_running_us)
        .collect();
    let crash_reg: Vec<u64> = samples
        .iter()
        .filter_map(|s| s.crash_to_register_us)
        .collect();
    let reads_running: u32 = samples.iter().map(|s| s.crash_reads_running).sum();
    let reads_not_running: u32 = samples.iter().map(|s| s.crash_reads_not_running).sum();
    let inspects: u32 = samples.iter().map(|s| s.inspects).sum();
    let early: Vec<u64> = samples
        .iter()
        .map(|s| s.registered_early_us)
        .filter(|&e| e > 0)
        .collect();
    let stop_r = widen(stop.min, stop.max, tick);
    // The environment demands that a restart takes at least one tick
    // (stop_min + cycle_min); a cycle under a tick is rounded up to one.
    let cyc_r = {
        let mut r = widen(provision.min, provision.max, tick);
        if stop_r.min + r.min == 0 {
            r.min = tick;
        }
        r.max = r.max.max(r.min);
        r
    };
    let nr_r = widen(nr.min, nr.max, tick);
    let hb_r = widen(hb.min, hb.max, tick);
    let keep = |table: &str, key: &str, value: String| -> String {
        let mut s = String::new();
        for c in crate::policy::comments_above(base_source, table, key) {
            s.push_str(c);
            s.push('\n');
        }
        if has_key(base_source, table, key) {
            s.push_str(&format!("# (kept from {base_name})\n{key} = {value}\n"));
        } else {
            s.push_str(&format!(
                "# (not in {base_name}: the value it loads with, written out)\n{key} = {value}\n"
            ));
        }
        s
    };
    let n = samples.len();
    let mut out = String::new();
    out.push_str(&format!(
        "# docker, measured: this machine's local Docker daemon, not production.\n\
         # Written by `livecheck calibrate docker --samples {n}` on {when}:\n\
         # Docker {} (API {}), storage driver {}, kernel {}, {} CPUs.\n\
         # Each sample runs the Go proxy's restart cycle (examples/go-proxy,\n\
         # upstream's provisioner Stop + Start): DELETE ?force=true, POST create,\n\
         # POST start, host networking, restart policy unless-stopped, on the\n\
         # stand-in agent image (a static Go binary FROM scratch, agent boot delay {}),\n\
         # while a second connection inspects the container every ~3 ms\n\
         # ({inspects} inspects in all) and a registry on loopback records the agent's\n\
         # registration; then the agent exits with code 1 and dockerd's own restart\n\
         # is timed. Keys whose comment starts \"Measured\" come from these samples:\n\
         # their ranges are widened outward to multiples of the clock tick ({}), the\n\
         # comments give the raw numbers. Every other key is marked \"kept\": copied\n\
         # from {base_name} with its comment (not measured here).\n",
        daemon.version,
        daemon.api,
        daemon.driver,
        daemon.kernel,
        daemon.cpus,
        Human(boot_delay),
        Human(tick),
    ));
    out.push_str(&format!(
        "summary = \"measured local Docker ({n} samples): stop {}..{}, provision {}..{}, not-running after it {}..{}\"\n",
        ms(stop.min),
        ms(stop.max),
        ms(provision.min),
        ms(provision.max),
        ms(nr.min),
        ms(nr.max)
    ));
    out.push_str(&format!(
        "\n[platform]\n\
         # Measured on a Docker daemon: Docker {} answered every call above\n\
         # ({base_name}: \"{}\").\n\
         kind = \"docker\"\n",
        daemon.version, base.platform
    ));
    out.push_str("\n[clock]\n");
    out.push_str(&keep("clock", "tick", quoted(tick)));
    out.push_str("\n[restart]\n");
    out.push_str(&format!(
        "# Measured: the stop, upstream's provisioner Stop (DELETE ?force=true), {n} samples:\n\
         # min {}, median {}, max {}.\n\
         stop_min = {}\nstop_max = {}\n",
        ms(stop.min),
        ms(stop.median),
        ms(stop.max),
        quoted(stop_r.min),
        quoted(stop_r.max),
    ));
    out.push_str(&format!(
        "# Measured: the provision, upstream's Start of an image already on the host\n\
         # (POST create + POST start, no pull): min {}, median {}, max {} (create\n\
         # median {}, start median {}); the whole cycle (stop + provision) {}..{}\n\
         # (median {}). Inside the cycle inspect reported not-running (not found,\n\
         # created) for {}..{} (median {}) before it said running again.{}\n\
         cycle_min = {}\ncycle_max = {}\n",
        ms(provision.min),
        ms(provision.median),
        ms(provision.max),
        ms(cr.median),
        ms(st.median),
        ms(cycle.min),
        ms(cycle.max),
        ms(cycle.median),
        ms(inc.min),
        ms(inc.max),
        ms(inc.median),
        if cyc_r.min == tick && provision.min < tick * 1000 && stop_r.min == 0 {
            format!(
                "\n# A restart takes at least one tick in the model: cycle_min is {}.",
                Human(tick)
            )
        } else {
            String::new()
        },
        quoted(cyc_r.min),
        quoted(cyc_r.max),
    ));
    out.push_str(&keep(
        "restart",
        "provisioning_sleep",
        quoted(base.provisioning_sleep),
    ));
    out.push_str(&keep(
        "restart",
        "config_puts",
        base.config_puts.to_string(),
    ));
    out.push_str(&keep(
        "restart",
        "manual_restarts",
        base.manual_restarts.to_string(),
    ));
    out.push_str("\n[boot]\n");
    out.push_str(&format!(
        "# Measured: after start returned, until the last inspect that still\n\
         # reported not-running (0 when the first one after it said running):\n\
         # min {}, median {}, max {}.\n\
         not_running_min = {}\nnot_running_max = {}\n",
        ms(nr.min),
        ms(nr.median),
        ms(nr.max),
        quoted(nr_r.min),
        quoted(nr_r.max),
    ));
    out.push_str(&format!(
        "# Measured: after start returned, until the agent's registration (which\n\
         # sets last_heartbeat_at) reached the registry: min {}, median {}, max {};\n\
         # in {} of {n} samples it arrived before start returned (by up to {}), counted\n\
         # as 0. From the cycle's first call: {}..{} (median {}).\n\
         # The stand-in agent boots in milliseconds (boot delay {}); upstream's\n\
         # Python adapter takes ~1-2 s more (workspace_provision.go).\n\
         first_heartbeat_min = {}\nfirst_heartbeat_max = {}\n",
        ms(hb.min),
        ms(hb.median),
        ms(hb.max),
        early.len(),
        ms(stats(&early).max),
        ms(to_reg.min),
        ms(to_reg.max),
        ms(to_reg.median),
        Human(boot_delay),
        quoted(hb_r.min),
        quoted(hb_r.max),
    ));
    out.push_str("\n[heartbeat]\n");
    out.push_str(&keep(
        "heartbeat",
        "interval",
        quoted(base.heartbeat_interval),
    ));
    out.push_str(&keep(
        "heartbeat",
        "interval_max",
        quoted(base.heartbeat_interval_max),
    ));
    out.push_str("\n[probe]\n");
    out.push_str(&keep(
        "probe",
        "spurious_not_running",
        base.spurious_not_running.to_string(),
    ));
    out.push_str(&keep(
        "probe",
        "transport_errors",
        base.transport_errors.to_string(),
    ));
    out.push_str("\n[container]\n");
    out.push_str(&keep("container", "may_crash", base.may_crash.to_string()));
    if crash.is_empty() {
        out.push_str(&keep(
            "container",
            "restart_policy",
            quoted_policy(base.restarted_by_docker),
        ));
        out.push_str(&keep(
            "container",
            "crash_reads",
            format!("\"{}\"", base.crash_reads),
        ));
    } else {
        let c = stats(&crash);
        let r = stats(&crash_reg);
        out.push_str(&format!(
            "# Measured: the containers ran with restart policy unless-stopped (upstream's,\n\
             # provisioner.go:762-764); an agent that exits with code 1 was restarted by\n\
             # dockerd itself in {} of {n} samples: running again after {}..{} (median {}),\n\
             # registered after {}..{}. (A `docker kill` is a manual stop: no restart.)\n\
             restart_policy = \"unless-stopped\"\n",
            crash.len(),
            ms(c.min),
            ms(c.max),
            ms(c.median),
            ms(r.min),
            ms(r.max),
        ));
        let counts = format!(
            "# Between the crash and running again, {} inspects saw the container with\n\
             # State.Running = true (status restarting) and {} with State.Running = false;\n\
             # upstream's IsRunning reads State.Running (provisioner.go:1750-1787).\n",
            reads_running, reads_not_running
        );
        let measured = match (reads_running, reads_not_running) {
            (r, 0) if r > 0 => Some(CrashReads::Running),
            (0, r) if r > 0 => Some(CrashReads::NotRunning),
            _ => None,
        };
        match measured {
            Some(m) => out.push_str(&format!(
                "# Measured: what IsRunning answers for a crashed container.\n{counts}crash_reads = \"{}\"\n",
                m
            )),
            None => {
                out.push_str(&format!(
                    "# Not measured: the inspects did not settle it.\n{counts}"
                ));
                out.push_str(&keep(
                    "container",
                    "crash_reads",
                    format!("\"{}\"", base.crash_reads),
                ));
            }
        }
    }
    if let Some(d) = base.restart_delay_max {
        // moby's bound, not a measurement: kept with its citation.
        out.push_str(&keep("container", "restart_delay_max", quoted(d)));
    }
    out.push_str("\n[actors]\n");
    let a = base.actors;
    out.push_str(&keep("actors", "health_sweep", a.health_sweep.to_string()));
    out.push_str(&keep("actors", "reconciler", a.reconciler.to_string()));
    out.push_str(&keep("actors", "ttl_monitor", a.ttl_monitor.to_string()));
    out.push_str(&keep("actors", "preflight", a.preflight.to_string()));
    out.push_str("\n[redis]\n");
    out.push_str(&keep("redis", "liveness_ttl", quoted(base.liveness_ttl)));
    out.push_str("\n[requests]\n");
    out.push_str(&keep("requests", "interval", quoted(base.request_interval)));
    out.push_str(&keep(
        "requests",
        "max_in_flight",
        base.max_in_flight.to_string(),
    ));
    out.push_str(&keep(
        "requests",
        "failures_while_running",
        base.failures_while_running.to_string(),
    ));
    out.push_str("\n[check]\n");
    out.push_str(&keep(
        "check",
        "detection_bound",
        quoted(base.detection_bound),
    ));
    out.push_str(&keep(
        "check",
        "latency_horizon",
        quoted(base.latency_horizon),
    ));
    out
}

fn quoted_policy(restarted_by_docker: bool) -> String {
    if restarted_by_docker {
        "\"unless-stopped\"".into()
    } else {
        "\"no\"".into()
    }
}

/// The comparison table printed after calibrating.
pub fn comparison(
    base: &Environment,
    base_name: &str,
    calibrated: &Environment,
    samples: &[Sample],
) -> String {
    let rows: [(&str, Vec<u64>, Range, Range); 4] = [
        (
            "stop (force-remove)",
            samples.iter().map(|s| s.remove_us).collect(),
            calibrated.stop,
            base.stop,
        ),
        (
            "provision (create + start)",
            samples.iter().map(|s| s.create_us + s.start_us).collect(),
            calibrated.restart_cycle,
            base.restart_cycle,
        ),
        (
            "not-running after the cycle",
            samples.iter().map(|s| s.not_running_after_us).collect(),
            calibrated.boot_not_running,
            base.boot_not_running,
        ),
        (
            "first heartbeat after running",
            samples.iter().map(|s| s.first_heartbeat_us).collect(),
            calibrated.boot_to_heartbeat,
            base.boot_to_heartbeat,
        ),
    ];
    let mut out = format!(
        "{:<31} {:>10} {:>10} {:>10}  {:<12} {:<12} {}\n",
        "measured (ms)", "min", "median", "max", "calibrated", base_name, "verdict"
    );
    for (name, values, cal, ship) in rows {
        let s = stats(&values);
        out.push_str(&format!(
            "{:<31} {:>10.1} {:>10.1} {:>10.1}  {:<12} {:<12} {}\n",
            name,
            s.min as f64 / 1000.0,
            s.median as f64 / 1000.0,
            s.max as f64 / 1000.0,
            format!("{}..{}", Human(cal.min), Human(cal.max)),
            format!("{}..{}", Human(ship.min), Human(ship.max)),
            compare(s.min, s.max, ship)
        ));
    }
    out
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        t / 3600,
        t % 3600 / 60
    )
}

/// `livecheck calibrate docker`: measure, write `args.out`, print the
/// comparison with the base environment.
pub fn docker(args: &DockerArgs) -> Result<(), InputError> {
    if args.samples == 0 {
        return Err(InputError::new("--samples must be at least 1").at_key("--samples"));
    }
    let (base_source, base_path) = match &args.base {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| {
                InputError::new(format!("cannot read environment file: {e}")).in_file(p)
            })?,
            p.clone(),
        ),
        None => (
            SHIPPED_DOCKER.to_owned(),
            PathBuf::from("models/environments/docker.toml"),
        ),
    };
    let base = Environment::parse("docker", &base_path, &base_source)?;
    let base_name = base_path.file_name().map_or_else(
        || "docker.toml".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    let (daemon, samples) = measure(args)?;
    let text = render(
        &base,
        &base_source,
        &base_name,
        &daemon,
        &samples,
        &now_utc(),
        args.agent_boot_delay,
    );
    let name = args.out.file_stem().map_or_else(
        || "docker-measured".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    let calibrated = Environment::parse(&name, &args.out, &text)?;
    write_file(&args.out, &text)?;
    println!(
        "calibrated on Docker {} (API {}, {}), {} samples; wrote {}",
        daemon.version,
        daemon.api,
        daemon.driver,
        samples.len(),
        args.out.display()
    );
    print!("{}", comparison(&base, &base_name, &calibrated, &samples));
    let crash = stats(
        &samples
            .iter()
            .filter_map(|s| s.crash_not_running_us)
            .collect::<Vec<_>>(),
    );
    println!(
        "not a key: dockerd restarts a crashed agent (unless-stopped) in {}..{} ms",
        crash.min / 1000,
        crash.max.div_ceil(1000)
    );
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), InputError> {
    std::fs::write(path, text).map_err(|e| {
        InputError::new(format!("cannot write the environment file: {e}")).in_file(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::Platform;

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"message\":\"no\"}\n";
        let a = parse_response(plain).unwrap();
        assert_eq!(a.status, 404);
        assert_eq!(a.json()["message"], "no");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3\r\n12}\r\n0\r\n\r\n";
        let a = parse_response(chunked).unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.json()["a"], 12);
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn widens_outward_to_the_tick() {
        assert_eq!(widen(180_400, 290_100, 1000), Range { min: 0, max: 1000 });
        assert_eq!(widen(0, 0, 1000), Range { min: 0, max: 0 });
        assert_eq!(
            widen(2_000_000, 5_000_000, 1000),
            Range {
                min: 2000,
                max: 5000
            }
        );
        assert_eq!(
            widen(1_999_999, 5_000_001, 1000),
            Range {
                min: 1000,
                max: 6000
            }
        );
    }

    #[test]
    fn compares_with_the_shipped_range() {
        let r = Range {
            min: 2000,
            max: 5000,
        };
        assert_eq!(compare(180_000, 290_000, r), "below the shipped range");
        assert_eq!(compare(2_000_000, 5_000_000, r), "inside the shipped range");
        assert_eq!(
            compare(4_000_000, 6_000_000, r),
            "partly outside the shipped range"
        );
        assert_eq!(compare(6_000_000, 7_000_000, r), "above the shipped range");
    }

    fn daemon() -> DaemonInfo {
        DaemonInfo {
            version: "20.10.24".into(),
            api: "1.41".into(),
            driver: "overlay2".into(),
            kernel: "6.1".into(),
            cpus: 2,
        }
    }

    /// A sample: stop, create, start, not-running after, first heartbeat
    /// (microseconds); dockerd restarted the crashed agent, and inspect saw
    /// it with State.Running true twice.
    fn sample(remove_us: u64, create_us: u64, start_us: u64, nr: u64, hb: u64) -> Sample {
        Sample {
            remove_us,
            create_us,
            start_us,
            cycle_us: remove_us + create_us + start_us,
            not_running_after_us: nr,
            first_heartbeat_us: hb,
            crash_not_running_us: Some(250_000),
            crash_to_register_us: Some(260_000),
            crash_reads_running: 2,
            ..Sample::default()
        }
    }

    /// Every `table.key` a TOML source sets.
    fn keys(source: &str) -> Vec<String> {
        let t: toml::Table = toml::from_str(source).unwrap();
        let mut out = Vec::new();
        for (table, v) in &t {
            match v.as_table() {
                Some(inner) => out.extend(inner.keys().map(|k| format!("{table}.{k}"))),
                None => out.push(table.clone()),
            }
        }
        out.sort();
        out
    }

    /// Every key the environment format reads (`src/environment.rs`).
    const EVERY_KEY: &[&str] = &[
        "summary",
        "platform.kind",
        "clock.tick",
        "restart.stop_min",
        "restart.stop_max",
        "restart.cycle_min",
        "restart.cycle_max",
        "restart.provisioning_sleep",
        "restart.config_puts",
        "restart.manual_restarts",
        "boot.not_running_min",
        "boot.not_running_max",
        "boot.first_heartbeat_min",
        "boot.first_heartbeat_max",
        "heartbeat.interval",
        "heartbeat.interval_max",
        "probe.spurious_not_running",
        "probe.transport_errors",
        "container.may_crash",
        "container.restart_policy",
        "container.crash_reads",
        "actors.health_sweep",
        "actors.reconciler",
        "actors.ttl_monitor",
        "actors.preflight",
        "redis.liveness_ttl",
        "requests.interval",
        "requests.max_in_flight",
        "requests.failures_while_running",
        "check.detection_bound",
        "check.latency_horizon",
    ];

    #[test]
    fn rendered_file_has_every_key_and_loads() {
        let base = Environment::parse("docker", Path::new("docker.toml"), SHIPPED_DOCKER).unwrap();
        assert_eq!(base.tick, 2000, "the shipped docker.toml's grid");
        let samples = [
            sample(100_000, 20_000, 70_000, 0, 9_000),
            sample(120_500, 30_000, 150_000, 0, 15_000),
            sample(110_000, 25_000, 105_000, 0, 11_000),
        ];
        let text = render(
            &base,
            SHIPPED_DOCKER,
            "docker.toml",
            &daemon(),
            &samples,
            "2026-11-30 21:00 UTC",
            0,
        );
        // What it writes loads under the environment format, on its grid.
        let env = Environment::parse("docker-measured", Path::new("x.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut want: Vec<String> = EVERY_KEY.iter().map(|k| k.to_string()).collect();
        // Docker's restart delay bound is optional (no bound when absent);
        // the shipped file has it, so it is kept.
        want.push("container.restart_delay_max".into());
        want.sort();
        assert_eq!(keys(&text), want, "{text}");
        assert_eq!(env.restart_delay_max, base.restart_delay_max);
        // Every key of the shipped file is there.
        for k in keys(SHIPPED_DOCKER) {
            assert!(want.contains(&k), "{k} of docker.toml is not written");
        }
        // Measured, widened outward to the 2 s tick: stop 100-120.5 ms ->
        // 0s..2s; provision 90-215 ms -> 0s..2s, its min raised to a tick
        // (a restart takes at least one tick); nothing not-running after;
        // registration 9-15 ms -> 0s..2s.
        assert_eq!(env.stop, Range { min: 0, max: 2000 });
        assert_eq!(
            env.restart_cycle,
            Range {
                min: 2000,
                max: 2000
            }
        );
        assert_eq!(env.boot_not_running, Range { min: 0, max: 0 });
        assert_eq!(env.boot_to_heartbeat, Range { min: 0, max: 2000 });
        assert_eq!(env.platform, Platform::Docker);
        assert!(env.restarted_by_docker);
        assert_eq!(env.crash_reads, CrashReads::Running);
        // Everything not measured is the shipped value.
        let unmeasured = Environment {
            name: base.name.clone(),
            summary: base.summary.clone(),
            stop: base.stop,
            restart_cycle: base.restart_cycle,
            boot_not_running: base.boot_not_running,
            boot_to_heartbeat: base.boot_to_heartbeat,
            ..env.clone()
        };
        assert_eq!(unmeasured, base);
        // The raw numbers and their source are in comments.
        assert!(
            text.contains("# Measured: the stop, upstream's provisioner Stop (DELETE ?force=true), 3 samples:\n# min 100.0 ms, median 110.0 ms, max 120.5 ms."),
            "{text}"
        );
        assert!(
            text.contains("min 90.0 ms, median 130.0 ms, max 180.0 ms"),
            "{text}"
        );
        assert!(text.contains("Docker 20.10.24 (API 1.41)"));
        assert!(text.contains("# (kept from docker.toml)\nliveness_ttl = \"3m\""));
        assert!(text.contains("State.Running = true (status restarting)"));
        let table = comparison(&base, "docker.toml", &env, &samples);
        assert!(
            table.contains("provision (create + start)")
                && table.contains("below the shipped range"),
            "{table}"
        );
    }

    #[test]
    fn a_base_without_the_new_keys_is_written_out_in_full() {
        // A file from before the environment format grew (no platform,
        // actors, redis, stop, provisioning sleep, manual restarts,
        // interval_max, crash reads, latency horizon) on a 1 s grid: what
        // it loads with is written out, and the result loads the same.
        let old = "summary = \"old\"\n\
                   [clock]\ntick = \"1s\"\n\
                   [restart]\ncycle_min = \"2s\"\ncycle_max = \"5s\"\nconfig_puts = 1\n\
                   [boot]\nnot_running_min = \"0s\"\nnot_running_max = \"1s\"\n\
                   first_heartbeat_min = \"1s\"\nfirst_heartbeat_max = \"5s\"\n\
                   [heartbeat]\ninterval = \"30s\"\n\
                   [probe]\nspurious_not_running = 1\ntransport_errors = 1\n\
                   [container]\nmay_crash = true\n\
                   [requests]\ninterval = \"5s\"\nmax_in_flight = 2\nfailures_while_running = true\n\
                   [check]\ndetection_bound = \"20s\"\n";
        let base = Environment::parse("old", Path::new("old.toml"), old).unwrap();
        let mut one = sample(300_000, 400_000, 500_000, 0, 0);
        // Inspect never caught the crashed container: crash_reads is kept.
        one.crash_reads_running = 0;
        let text = render(
            &base,
            old,
            "old.toml",
            &daemon(),
            &[one],
            "2026-11-30 21:00 UTC",
            0,
        );
        let env = Environment::parse("m", Path::new("m.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut want: Vec<String> = EVERY_KEY.iter().map(|k| k.to_string()).collect();
        want.sort();
        assert_eq!(keys(&text), want, "{text}");
        assert!(
            text.contains(
                "# (not in old.toml: the value it loads with, written out)\nliveness_ttl = \"3m\""
            ),
            "{text}"
        );
        assert!(
            text.contains("# Not measured: the inspects did not settle it."),
            "{text}"
        );
        assert_eq!(env.tick, 1000);
        assert_eq!(env.stop, Range { min: 0, max: 1000 });
        assert_eq!(
            env.restart_cycle,
            Range {
                min: 1000,
                max: 1000
            }
        );
        // Measured on Docker: the platform is docker, so a file that loaded
        // as generic now gets Docker's actor defaults written out as kept
        // values (the base's), not Docker's.
        assert_eq!(env.platform, Platform::Docker);
        assert_eq!(env.actors, base.actors);
        assert_eq!(env.crash_reads, base.crash_reads);
        assert_eq!(env.liveness_ttl, base.liveness_ttl);
        assert_eq!(env.latency_horizon, base.latency_horizon);
        assert_eq!(env.heartbeat_interval_max, base.heartbeat_interval_max);
        assert_eq!(env.manual_restarts, base.manual_restarts);
        assert_eq!(env.provisioning_sleep, base.provisioning_sleep);
    }

    #[test]
    fn the_checked_in_measured_file_loads() {
        let source = include_str!("../docs/e2e-docker/docker-measured.toml");
        let env = Environment::parse(
            "docker-measured",
            Path::new("docs/e2e-docker/docker-measured.toml"),
            source,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut want: Vec<String> = EVERY_KEY.iter().map(|k| k.to_string()).collect();
        want.push("container.restart_delay_max".into());
        want.sort();
        assert_eq!(keys(source), want);
        assert_eq!(env.tick, 2000);
    }
}
