//! A proxy using the tracker from several threads, with fake containers.
//!
//! ```text
//! cargo run --release --example proxy [POLICY_FILE]   # default: models/policies/v2-2950.toml
//! ```
//!
//! Time is virtual and runs 100× faster than the wall clock (one minute of
//! proxy life takes about 0.6 s): every thread reads the same scaled
//! monotonic clock, sleeps for real (scaled) and passes `now` to the
//! tracker, exactly as a real proxy would with its own clock.
//!
//! Three workspaces, four request threads forwarding to them round robin,
//! one agent thread (each agent registers when it boots, then heartbeats),
//! and `RestartByID` with its drain loop on threads of their own, as
//! upstream's `goAsync` runs it:
//!
//! - `w1` crashes at 12 s: requests fail, the probe says "not running", the
//!   tracker declares it dead once its last heartbeat is no longer recent,
//!   and the declaration launches `RestartByID`; the cycle boots a new
//!   container and the agent registers again. With v2-2950 the new
//!   instance, still pending after the cycle returned, collects two strikes
//!   in the settle window and is declared dead again with its restart
//!   dropped by the debounce: the policy's own flaw (the model checker's
//!   `no_false_dead` and `no_orphaned_offline`), shown here through a real
//!   multi-threaded run. (Concurrent declarations can also both pass the
//!   debounce and run a second cycle: `RestartByID` takes its lock twice.)
//! - `w2` gets a config PUT at 20 s (a file-write restart, as in incident
//!   #2929): while the new instance boots, requests fail and probes say
//!   "not running", which the policy must not take for a death.
//! - `w3` stays healthy; now and then a request fails anyway (a transient
//!   error) and the probe says "running".
//!
//! Declarations, strikes and what each `RestartByID` came to are printed as
//! they happen (with a note when the container was not actually crashed,
//! or when the restart was dropped); routine outcomes (probe said running,
//! enqueued, skipped during a restart) are counted and shown with each
//! workspace's counters at the end.

use livecheck::decision::{NotDeadReason, ProbeResult, Step, Verdict};
use livecheck::restart::{LoopTop, RestartOutcome, RestartSource};
use livecheck::tracker::{Tracker, WorkspaceRef};
use livecheck::{Ms, Policy};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Virtual milliseconds per real millisecond.
const SPEED: u64 = 100;
/// How long the simulated proxy runs (virtual ms).
const END: Ms = 60_000;
/// A restart cycle: stop, provision, until the container runs (virtual ms).
const CYCLE: Ms = 4_000;
/// Booting instance reports "not running" this long after the cycle (cloud).
const PENDING: Ms = 6_000;
/// Agent heartbeat interval.
const HEARTBEAT_EVERY: Ms = 5_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Container {
    Running,
    Crashed,
    /// Restarting or booting: not running until this instant.
    Booting(Ms),
}

struct World {
    start: Instant,
    tracker: Tracker,
    containers: Mutex<HashMap<&'static str, Container>>,
    next_req: AtomicU64,
    out: Mutex<()>,
    /// Verdicts not printed one by one, counted per workspace.
    tally: Mutex<HashMap<(&'static str, String), u32>>,
}

impl World {
    fn now(&self) -> Ms {
        self.start.elapsed().as_micros() as u64 * SPEED / 1_000
    }

    fn sleep_until(&self, at: Ms) {
        let now = self.now();
        if at > now {
            thread::sleep(Duration::from_micros((at - now) * 1_000 / SPEED));
        }
    }

    fn container(&self, ws: &'static str) -> Container {
        let mut c = self.containers.lock().unwrap();
        let state = c.get_mut(ws).expect("known workspace");
        if let Container::Booting(until) = *state {
            if self.now() >= until {
                *state = Container::Running;
            }
        }
        *state
    }

    fn set(&self, ws: &'static str, state: Container) {
        self.containers.lock().unwrap().insert(ws, state);
    }

    /// The fake `IsRunning`: a probe is I/O, done outside any tracker lock.
    fn probe(&self, ws: &'static str) -> ProbeResult {
        thread::sleep(Duration::from_micros(50)); // a round trip
        match self.container(ws) {
            Container::Running => ProbeResult::Running,
            Container::Crashed | Container::Booting(_) => ProbeResult::NotRunning,
        }
    }

    fn say(&self, line: String) {
        let _g = self.out.lock().unwrap();
        println!("{:>7.1}s  {line}", self.now() as f64 / 1_000.0);
    }

    /// The drain loop of a `RestartByID` that started a cycle, on the
    /// calling thread: one cycle per `Run` (stop, provision: the container
    /// boots), then the loop's exit.
    fn drain(&self, ws: &WorkspaceRef, name: &'static str) {
        let mut first = true;
        while ws.loop_top(self.now()) == LoopTop::Run {
            if !first {
                self.say(format!(
                    "{name}: restart cycle runs once more (a coalesced request)"
                ));
            }
            first = false;
            let begin = self.now();
            self.set(name, Container::Booting(begin + CYCLE + PENDING));
            self.sleep_until(begin + CYCLE);
        }
        ws.loop_exit(self.now());
        self.say(format!("{name}: restart cycle returned"));
    }

    /// `RestartByID` from `source` on a thread of its own (upstream's
    /// `goAsync`), then the drain loop if it started a cycle.
    fn launch_restart(self: &Arc<Self>, name: &'static str, why: &'static str) {
        let w = Arc::clone(self);
        thread::spawn(move || {
            let ws = w.tracker.workspace(name);
            let o = ws.restart_by_id(w.now(), RestartSource::Detector);
            let note = match o {
                RestartOutcome::Dropped(_) => "  (nothing is coming)",
                _ => "",
            };
            w.say(format!("{name}: RestartByID ({why}) -> {o:?}{note}"));
            if o == RestartOutcome::Started {
                w.drain(&ws, name);
            }
        });
    }

    /// A forwarded request to `ws` failed: run the decision to its verdict.
    fn on_failure(self: &Arc<Self>, ws: &WorkspaceRef, name: &'static str) {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (mut r, mut step) = ws.begin(self.now());
        let mut answers = Vec::new();
        let verdict = loop {
            step = match step {
                Step::Done(v) => break v,
                // The tracker takes a declaration's section itself.
                Step::Yield => unreachable!("the tracker resumes a yield"),
                Step::Probe => {
                    let a = self.probe(name);
                    answers.push(a);
                    r.probe_answer(self.now(), a).expect("awaiting a probe")
                }
                Step::Wake { at, .. } => {
                    self.sleep_until(at);
                    r.timer(self.now()).expect("sleeping")
                }
            };
        };
        match verdict {
            // Routine outcomes are counted, not printed.
            Verdict::NotDead(NotDeadReason::Running) | Verdict::Queued | Verdict::Skipped(_) => {
                *self
                    .tally
                    .lock()
                    .unwrap()
                    .entry((name, format!("{verdict:?}")))
                    .or_default() += 1;
                return;
            }
            _ => {}
        }
        // The row goes offline unless a restart marked it provisioning; the
        // Redis keys go either way.
        let row = ws.view().state.status();
        let note = match verdict {
            Verdict::Dead if self.container(name) != Container::Crashed => {
                format!("  (row {row:?}, Redis keys deleted; the container was not crashed: a false death)")
            }
            Verdict::Dead => format!("  (row {row:?}, Redis keys deleted)"),
            _ => String::new(),
        };
        self.say(format!(
            "{name}: request {req} failed -> {verdict:?} after probes {answers:?}{note}"
        ));
        if verdict == Verdict::Dead {
            self.launch_restart(name, "declared dead");
        }
    }
}

fn main() {
    let policy_path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/policies/v2-2950.toml")
        });
    let policy = match Policy::load(&policy_path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!("policy {}: {}", policy.name, policy.summary);
    let names: [&'static str; 3] = ["w1", "w2", "w3"];
    let world = Arc::new(World {
        start: Instant::now(),
        tracker: Tracker::new(policy),
        containers: Mutex::new(names.iter().map(|&n| (n, Container::Running)).collect()),
        next_req: AtomicU64::new(0),
        out: Mutex::new(()),
        tally: Mutex::new(HashMap::new()),
    });

    let mut threads = Vec::new();
    // The agents: every running agent registers when its row has no URL (it
    // just booted: a restart cycle blanked the URL), and heartbeats
    // otherwise, every few seconds.
    {
        let w = Arc::clone(&world);
        threads.push(thread::spawn(move || {
            let mut t = 0;
            while t < END {
                for n in names {
                    if w.container(n) == Container::Running {
                        let ws = w.tracker.workspace(n);
                        if ws.view().state.url_registered() {
                            ws.heartbeat(w.now());
                        } else {
                            ws.register(w.now());
                        }
                    }
                }
                t += HEARTBEAT_EVERY;
                w.sleep_until(t);
            }
        }));
    }
    // The platform: a crash and a config PUT.
    {
        let w = Arc::clone(&world);
        threads.push(thread::spawn(move || {
            w.sleep_until(12_000);
            w.set("w1", Container::Crashed);
            w.say("w1: container crashed".into());
            w.sleep_until(20_000);
            // The PUT's RestartByID runs on this thread, with its drain loop.
            let ws = w.tracker.workspace("w2");
            let o = ws.config_put(w.now());
            w.say(format!("w2: config PUT asks for a restart -> {o:?}"));
            if o == RestartOutcome::Started {
                w.drain(&ws, "w2");
            }
        }));
    }
    // Request threads: forward round robin; a request fails when the
    // container is not running, and 1 in 25 fails anyway (transient).
    for k in 0..4u64 {
        let w = Arc::clone(&world);
        threads.push(thread::spawn(move || {
            // Cache the workspace handles: no map lookup per request.
            let refs: Vec<WorkspaceRef> = names.iter().map(|n| w.tracker.workspace(n)).collect();
            let mut i = k;
            let mut t = k * 75;
            while t < END {
                let which = (i % 3) as usize;
                let transient = i % 25 == 7;
                if w.container(names[which]) != Container::Running || transient {
                    w.on_failure(&refs[which], names[which]);
                }
                i += 1;
                t = t.max(w.now()) + 300;
                w.sleep_until(t);
            }
        }));
    }
    for t in threads {
        t.join().expect("thread ran");
    }
    // Restart threads still running finish within two cycles.
    world.sleep_until(END + 2 * CYCLE);
    println!("\nper workspace:");
    for n in names {
        let v = world.tracker.view(n).expect("used");
        println!(
            "  {n}: {} decisions, {} declared dead, {} restarts started, {} heartbeats, container {:?}",
            v.counters.decisions,
            v.counters.declarations,
            v.counters.restarts_started,
            v.counters.heartbeats,
            world.container(n)
        );
        let tally = world.tally.lock().unwrap();
        let mut routine: Vec<_> = tally.iter().filter(|((w, _), _)| *w == n).collect();
        routine.sort();
        for ((_, verdict), count) in routine {
            println!("      {count:>4} x {verdict}");
        }
    }
}
