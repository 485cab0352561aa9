//! How a [`WorldState`] packs into the explorer's words: every field at the
//! width its largest value in this model needs (ages are capped, budgets are
//! small), so a state of the shipped models takes a few dozen bytes instead
//! of the ~280 of the unpacked value.
//!
//! Instants are stored relative to [`NOW`]: past stamps as ages (at most
//! their cap, see [`crate::policy::AgeCaps`]), future wake-ups as offsets.
//! Every time is stored in units of the model's grid step
//! ([`World::time_step`], 500 ms for the shipped models; see
//! [`GridField`]): exact, as every time is a multiple of it or a cap, and a
//! time off the grid is refused, never rounded. That took the shipped
//! states from 267-342 bits to 133-169 (`docs/model.md`, "Performance").
//! What the last transition did ([`WorldState::events`]) is not stored: the
//! explorer looks at it on the generated state, and no transition reads it.
//!
//! # Canonical forms
//!
//! Two values that no step can tell apart are packed alike, so the search
//! stores one state where the world has several equivalent ones (see
//! [`crate::engine::Packable`] for what "equivalent" must mean):
//!
//! - a heartbeat past the recent window (`heartbeat_age`).
//!
//! (A decision's remembered restart stamp, once it is not the workspace's,
//! is forgotten by the model itself, [`World`]'s `normalize`: it orders the
//! slots.) Paths are still replayed from the real initial state, so a
//! counterexample shows the real ages, not the canonical ones. `tests/reductions.rs` checks
//! on reachable states that each merge is an equivalence, one step at a
//! time; `docs/model.md` has what each saves.

use super::{
    Coord, Crash, InFlight, Job, JobPhase, Owner, Slot, Truth, World, WorldState, MAX_SLOTS, NOW,
};
use crate::decision::{Basis, Decision, Phase, ProbeNo};
use crate::duration::Ms;
use crate::engine::pack::{bits_for, Field, Fields, GridField, Reader, Writer};
use crate::restart::RestartCoordinator;
use crate::workspace::{Facts, Status, StrikeRecord, Workspace};

/// Field widths of one model's packed states. Times are packed in units of
/// the model's grid step ([`World::time_step`]; see [`GridField`]).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    heartbeat: GridField,
    stamp: GridField,
    finished: GridField,
    file_write: GridField,
    key: GridField,
    strike_count: u32,
    strike_age: GridField,
    wake: GridField,
    deadline_bias: Ms,
    deadline: GridField,
    elapsed: GridField,
    job_elapsed: GridField,
    hb_timer: GridField,
    req_timer: GridField,
    spurious: u32,
    errors: u32,
    config: u32,
    manual: u32,
    crash_age: GridField,
    offset: GridField,
    /// The grid step of every time.
    step: Ms,
    /// The policy's recent-heartbeat window (0 without one).
    recent_window: Ms,
    /// Where the settle count's complement lies (see [`put_settle`]).
    settle_at: u32,
    /// Where the budgets (spurious, errors, config PUTs, manual restarts)
    /// start, and each one's full value.
    budgets_at: u32,
}

/// Width of each in-flight request counter (at most 3 of one class and
/// phase at one instant).
const INFLIGHT_BITS: u32 = 2;

/// Width of the settle period: a flag and the count's complement.
const SETTLE_BITS: u32 = 3;

impl Layout {
    /// A layout with every width 0 (a placeholder until [`Layout::of`]).
    pub fn empty() -> Layout {
        Layout::default()
    }

    /// The widths for `world`'s policy, environment and caps.
    pub fn of(world: &World) -> Layout {
        let caps = world.caps();
        let d = &world.policy.decision;
        let e = &world.env;
        let fresh = d.settle.and_then(|s| s.fresh_wait);
        let poll = fresh.map_or(0, |w| w.poll);
        let wait = fresh.map_or(0, |w| w.wait);
        let wake = d.reprobe_delay.unwrap_or(0).max(poll);
        let step = world.time_step();
        let time = |max: Ms| GridField::new(step, max);
        Layout {
            heartbeat: time(caps.heartbeat),
            stamp: time(caps.restart_stamp),
            finished: time(caps.restart_finished),
            file_write: time(caps.file_write),
            key: time(caps.liveness_key),
            strike_count: bits_for(u64::from(d.strikes.map_or(0, |s| s.threshold))),
            strike_age: time(caps.strike_first),
            wake: time(wake),
            deadline_bias: poll,
            deadline: time(wait + poll),
            elapsed: time(e.boot_not_running.max.max(e.boot_to_heartbeat.max)),
            job_elapsed: time(
                e.provisioning_sleep
                    .max(e.stop.max)
                    .max(e.restart_cycle.max),
            ),
            hb_timer: time(e.heartbeat_interval_max),
            req_timer: time(e.request_interval),
            spurious: bits_for(u64::from(e.spurious_not_running)),
            errors: bits_for(u64::from(e.transport_errors)),
            config: bits_for(u64::from(e.config_puts)),
            manual: bits_for(u64::from(e.manual_restarts)),
            crash_age: time(world.crash_cap),
            // Below the tick (the offset is always less than it).
            offset: time(e.tick.saturating_sub(step)),
            step,
            recent_window: caps.recent_window,
            settle_at: 0,
            budgets_at: 0,
        }
        .with_offsets()
    }

    /// Fills in where the dominance fields lie (the order of
    /// [`World::pack_state`]).
    fn with_offsets(mut self) -> Layout {
        self.budgets_at =
            self.slots_bits() + self.workspace_bits() + self.world_bits_before_budgets();
        // After the budgets: the settle period's flag, then the count's
        // complement.
        self.settle_at = self.budgets_at + self.budget_widths().iter().sum::<u32>() + 1;
        self
    }

    fn budget_widths(&self) -> [u32; 4] {
        [self.spurious, self.errors, self.config, self.manual]
    }

    fn workspace_bits(&self) -> u32 {
        (1 + self.heartbeat.bits())
            + 1
            + 2
            + 1
            + (1 + self.key.bits())
            + (1 + self.strike_count + self.strike_age.bits())
            + 3
            + (1 + self.stamp.bits())
            + (1 + self.finished.bits())
            + (1 + self.file_write.bits())
    }

    /// A decision's bits after its slot's code.
    fn decision_bits(&self) -> u32 {
        BASIS_FLAG_BITS
            + (1 + self.stamp.bits())
            + self.stamp.bits()
            + self.deadline.bits()
            + self.wake.bits()
            + 2
    }

    /// Both request slots' bits.
    fn slots_bits(&self) -> u32 {
        (SLOT_BITS + self.decision_bits()) * MAX_SLOTS as u32
    }

    /// The world's bits that [`World::pack_state`] writes after the
    /// workspace and before the budgets.
    fn world_bits_before_budgets(&self) -> u32 {
        (3 + self.elapsed.bits())
            + (1 + 1 + 2 + self.job_elapsed.bits())
            + 2
            + 2
            + 6 * INFLIGHT_BITS
            + self.hb_timer.bits()
            + self.req_timer.bits()
    }

    /// Bits a packed state of this layout takes.
    pub fn bits(&self) -> u32 {
        self.slots_bits()
            + self.workspace_bits()
            + self.world_bits_before_budgets()
            + self.budget_widths().iter().sum::<u32>()
            + SETTLE_BITS
            + 1
            + (3 + self.crash_age.bits())
            + self.offset.bits()
    }
}

impl Layout {
    /// The fields in which a larger value dominates (see
    /// [`crate::engine::Packable::budgets`]; each is argued at
    /// [`crate::model::World`]'s `budgets`): the budgets (spurious answers,
    /// transport errors, config PUTs, manual restarts left, those that take
    /// any bits) and the complement of the settle period's not-running
    /// count.
    pub fn budget_fields(&self) -> Vec<Field> {
        let mut at = self.budgets_at;
        let mut out = Vec::with_capacity(6);
        for bits in self.budget_widths() {
            if bits > 0 {
                out.push(Field { at, bits });
            }
            at += bits;
        }
        out.push(Field {
            at: self.settle_at,
            bits: SETTLE_BITS - 1,
        });
        out
    }
}

fn age(t: Ms) -> u64 {
    NOW - t
}

fn at_age(a: u64) -> Ms {
    NOW - a
}

/// What a slot holds, with a decision's phase (and which probe it awaits),
/// in one [`SLOT_BITS`]-bit code: 0 empty, 1 forwarding, then the five
/// phases of a preflight decision ([`PHASES`]), then those of a request's
/// decision.
const SLOT_BITS: u32 = 4;

/// A decision's basis flags: settling, recent, fresh.
const BASIS_FLAG_BITS: u32 = 3;

/// The phases a slot's decision can be in, as packed.
const PHASES: u64 = 5;

/// A decision's phase code (`0..PHASES`) and what the phase holds.
#[inline(always)]
fn phase_code(d: &Decision) -> (u64, Basis, Ms, Ms, Ms) {
    match d.phase() {
        Phase::WaitFresh {
            basis,
            since,
            deadline,
            wake,
        } => (0, basis, since, deadline, wake),
        Phase::Probing { basis, which } => (
            if which == ProbeNo::First { 1 } else { 2 },
            basis,
            NOW,
            NOW,
            NOW,
        ),
        Phase::Sleeping { basis, wake } => (3, basis, NOW, NOW, wake),
        Phase::Declaring { basis } => (4, basis, NOW, NOW, NOW),
        p => panic!("a decision in {p:?} is never kept in a slot"),
    }
}

/// Everything of a decision after its slot's code and its three basis
/// flags ([`put_slot`] writes those together).
#[inline(always)]
fn put_decision(l: &Layout, w: &mut Writer, d: &Decision, basis: Basis, times: (Ms, Ms, Ms)) {
    let (since, deadline, wake) = times;
    w.opt_grid(basis.restart_seen.map(age), l.stamp);
    w.put_grid(age(since), l.stamp);
    w.put_grid(deadline + l.deadline_bias - NOW, l.deadline);
    w.put_grid(wake - NOW, l.wake);
    w.put(u64::from(d.probes()), 2);
}

/// A decision in phase `code` whose basis flags are the rest of `flags`.
fn get_decision(l: &Layout, r: &mut Reader, code: u64, mut flags: Fields) -> Decision {
    let basis = Basis {
        settling: flags.take_flag(),
        recent: flags.take_flag(),
        fresh: flags.take_flag(),
        restart_seen: r.opt_grid(l.stamp).map(at_age),
    };
    let since = at_age(r.get_grid(l.stamp));
    let deadline = NOW + r.get_grid(l.deadline) - l.deadline_bias;
    let wake = NOW + r.get_grid(l.wake);
    let probes = r.get(2) as u8;
    let phase = match code {
        0 => Phase::WaitFresh {
            basis,
            since,
            deadline,
            wake,
        },
        1 => Phase::Probing {
            basis,
            which: ProbeNo::First,
        },
        2 => Phase::Probing {
            basis,
            which: ProbeNo::Second,
        },
        3 => Phase::Sleeping { basis, wake },
        _ => Phase::Declaring { basis },
    };
    Decision::from_parts(phase, probes)
}

#[inline(always)]
fn put_slot(l: &Layout, w: &mut Writer, slot: &Option<Slot>) {
    let (base, d) = match slot {
        None => (0, None),
        Some(Slot::Forwarding) => (1, None),
        Some(Slot::Preflight(d)) => (2, Some(d)),
        Some(Slot::Decision(d)) => (2 + PHASES, Some(d)),
    };
    match d {
        None => {
            w.put(base, SLOT_BITS);
            w.put(0, l.decision_bits());
        }
        Some(d) => {
            let (code, basis, since, deadline, wake) = phase_code(d);
            w.put_fields(
                Fields::new()
                    .put(base + code, SLOT_BITS)
                    .flag(basis.settling)
                    .flag(basis.recent)
                    .flag(basis.fresh),
            );
            put_decision(l, w, d, basis, (since, deadline, wake));
        }
    }
}

/// Bits of a slot's code and its decision's basis flags, read together.
const SLOT_HEAD_BITS: u32 = SLOT_BITS + BASIS_FLAG_BITS;

fn get_slot(l: &Layout, r: &mut Reader) -> Option<Slot> {
    let mut head = r.fields(SLOT_HEAD_BITS);
    match head.take(SLOT_BITS) {
        0 => {
            r.skip(l.decision_bits() - BASIS_FLAG_BITS);
            None
        }
        1 => {
            r.skip(l.decision_bits() - BASIS_FLAG_BITS);
            Some(Slot::Forwarding)
        }
        c if c < 2 + PHASES => Some(Slot::Preflight(get_decision(l, r, c - 2, head))),
        c => Some(Slot::Decision(get_decision(l, r, c - 2 - PHASES, head))),
    }
}

/// The age a heartbeat at `h` is packed with.
///
/// A heartbeat is read only as "within the recent window" and as "newer
/// than a restart stamp" (the fresh-heartbeat wait compares it with the
/// stamp it read at its start, which is the workspace's stamp or an older
/// one). Past the window it is never recent again, and its order against
/// the stamps does not change as they age together (a new stamp is newer
/// than any heartbeat before it): one newer than the workspace's stamp is
/// newer than every stamp a decision holds, one not newer is newer than
/// none now or later. So a heartbeat past the window is packed as one a
/// grid step past it when it is newer than the stamp (still newer: the
/// stamp, older than it and on the grid too, is at least a step older
/// still), else as one at its cap (what [`Workspace`]'s `age` makes of it
/// at the next tick). The caps keep the stamp from saturating while a
/// comparison can still read it.
fn heartbeat_age(l: &Layout, ws: &Workspace, h: Ms) -> u64 {
    let a = age(h);
    if a <= l.recent_window {
        return a;
    }
    match ws.restart.started_at() {
        Some(t) if h > t => (l.recent_window + l.step).min(l.heartbeat.max()),
        _ => l.heartbeat.max(),
    }
}

#[inline(always)]
fn put_workspace(l: &Layout, w: &mut Writer, ws: &Workspace) {
    assert_eq!(ws.facts, Facts::default(), "the model never changes facts");
    w.opt_grid(
        ws.last_heartbeat.map(|h| heartbeat_age(l, ws, h)),
        l.heartbeat,
    );
    let status = match ws.status {
        Status::Online => 0,
        Status::Offline => 1,
        Status::Provisioning => 2,
    };
    w.put_fields(
        Fields::new()
            .flag(ws.url_registered)
            .put(status, 2)
            .flag(ws.url_cached),
    );
    w.opt_grid(ws.liveness_key.map(age), l.key);
    let strikes = ws.strikes.unwrap_or(StrikeRecord {
        count: 0,
        first: NOW,
    });
    w.put_fields(
        Fields::new()
            .flag(ws.strikes.is_some())
            .put(u64::from(strikes.count), l.strike_count),
    );
    w.put_grid(age(strikes.first), l.strike_age);
    let c = &ws.restart;
    w.put_fields(
        Fields::new()
            .flag(c.is_running())
            .flag(c.is_pending())
            .flag(c.is_first_iteration()),
    );
    w.opt_grid(c.started_at().map(age), l.stamp);
    w.opt_grid(c.finished_at().map(age), l.finished);
    w.opt_grid(c.last_file_write().map(age), l.file_write);
}

fn get_workspace(l: &Layout, r: &mut Reader) -> Workspace {
    let last_heartbeat = r.opt_grid(l.heartbeat).map(at_age);
    let mut f = r.fields(4);
    let url_registered = f.take_flag();
    let status = match f.take(2) {
        0 => Status::Online,
        1 => Status::Offline,
        _ => Status::Provisioning,
    };
    let url_cached = f.take_flag();
    let liveness_key = r.opt_grid(l.key).map(at_age);
    let mut f = r.fields(1 + l.strike_count);
    let has_strikes = f.take_flag();
    let count = f.take(l.strike_count) as u8;
    let first = at_age(r.get_grid(l.strike_age));
    let mut f = r.fields(3);
    let flags = (f.take_flag(), f.take_flag(), f.take_flag());
    let started_at = r.opt_grid(l.stamp).map(at_age);
    let finished_at = r.opt_grid(l.finished).map(at_age);
    let last_file_write = r.opt_grid(l.file_write).map(at_age);
    Workspace {
        facts: Facts::default(),
        last_heartbeat,
        url_registered,
        status,
        url_cached,
        liveness_key,
        strikes: has_strikes.then_some(StrikeRecord { count, first }),
        restart: RestartCoordinator::from_parts(flags, started_at, finished_at, last_file_write),
    }
}

/// The settle period: whether one is open, then `2 - count` (the count of
/// not-running results is capped at 2): a larger complement dominates, as
/// the count is read only as `count < 2`, which makes a declaration a
/// lone-false one — a state that has seen fewer not-running results can do
/// everything the other can and hits those targets whenever it does.
#[inline(always)]
fn put_settle(f: Fields, settle: Option<u8>) -> Fields {
    f.flag(settle.is_some()).put(
        settle.map_or(0, |n| 2 - u64::from(n.min(2))),
        SETTLE_BITS - 1,
    )
}

fn get_settle(f: &mut Fields) -> Option<u8> {
    let open = f.take_flag();
    let complement = f.take(SETTLE_BITS - 1) as u8;
    open.then(|| 2 - complement)
}

fn owner_code(o: Option<Owner>) -> u64 {
    match o {
        None => 0,
        Some(Owner::Coordinator) => 1,
        Some(Owner::Manual) => 2,
    }
}

fn owner_of(code: u64) -> Option<Owner> {
    match code {
        0 => None,
        1 => Some(Owner::Coordinator),
        _ => Some(Owner::Manual),
    }
}

impl World {
    /// Packs a state into `out` ([`crate::engine::Packable::words`] long;
    /// see the module docs).
    pub fn pack_state(&self, s: &WorldState, out: &mut [u64]) {
        let l = &self.layout;
        let mut w = Writer::new();
        for slot in &s.slots {
            put_slot(l, &mut w, slot);
        }
        put_workspace(l, &mut w, &s.ws);
        let (tag, elapsed) = match s.truth {
            Truth::Up => (0, 0),
            Truth::Down => (1, 0),
            Truth::Pending { elapsed } => (2, elapsed),
            Truth::Booting { elapsed } => (3, elapsed),
            Truth::Crashed => (4, 0),
        };
        w.put(tag, 3);
        w.put_grid(elapsed, l.elapsed);
        let job = s.job.unwrap_or(Job {
            owner: Owner::Coordinator,
            phase: JobPhase::Start,
            elapsed: 0,
        });
        let phase = match job.phase {
            JobPhase::Start => 0,
            JobPhase::Sleep => 1,
            JobPhase::Stop => 2,
            JobPhase::Provision => 3,
        };
        w.put_fields(
            Fields::new()
                .flag(s.job.is_some())
                .flag(job.owner == Owner::Manual)
                .put(phase, 2),
        );
        w.put_grid(job.elapsed, l.job_elapsed);
        let coord = match s.coord {
            Coord::Idle => 0,
            Coord::Top => 1,
            Coord::Cycle => 2,
            Coord::Exit => 3,
        };
        let ([l0, l1, l2], [p0, p1, p2]) = (s.inflight.launched, s.inflight.passed);
        // A fold over one array, which the compiler unrolls: every shift
        // is then a constant (a loop over the two arrays it did not unroll).
        w.put_fields([l0, l1, l2, p0, p1, p2].iter().fold(
            Fields::new().put(owner_code(s.queued), 2).put(coord, 2),
            |f, n| f.put(u64::from(*n), INFLIGHT_BITS),
        ));
        w.put_grid(s.hb_timer, l.hb_timer);
        w.put_grid(s.req_timer, l.req_timer);
        let crash = s.crash.unwrap_or(Crash {
            age: 0,
            declared: false,
            repaired: false,
        });
        // The budgets' widths are the layout's; the fields after them are
        // gathered apart, so that their shifts stay constants.
        w.put_fields(
            Fields::new()
                .put(u64::from(s.spurious_left), l.spurious)
                .put(u64::from(s.errors_left), l.errors)
                .put(u64::from(s.config_left), l.config)
                .put(u64::from(s.manual_left), l.manual),
        );
        w.put_fields(
            put_settle(Fields::new(), s.settle)
                .flag(s.cycle_by_detector)
                .flag(s.crash.is_some())
                .flag(crash.declared)
                .flag(crash.repaired),
        );
        w.put_grid(crash.age, l.crash_age);
        w.put_grid(s.offset, l.offset);
        w.finish_into(out);
    }

    /// Unpacks a state packed by [`World::pack_state`]; `events` is 0.
    pub fn unpack_state(&self, words: &[u64]) -> WorldState {
        let l = &self.layout;
        let mut r = Reader::new(words);
        let mut slots = [None; MAX_SLOTS];
        for slot in &mut slots {
            *slot = get_slot(l, &mut r);
        }
        let ws = get_workspace(l, &mut r);
        let tag = r.get(3);
        let elapsed = r.get_grid(l.elapsed);
        let truth = match tag {
            0 => Truth::Up,
            1 => Truth::Down,
            2 => Truth::Pending { elapsed },
            3 => Truth::Booting { elapsed },
            _ => Truth::Crashed,
        };
        let mut f = r.fields(4);
        let has_job = f.take_flag();
        let manual = f.take_flag();
        let phase = match f.take(2) {
            0 => JobPhase::Start,
            1 => JobPhase::Sleep,
            2 => JobPhase::Stop,
            _ => JobPhase::Provision,
        };
        let job_elapsed = r.get_grid(l.job_elapsed);
        let job = has_job.then_some(Job {
            owner: if manual {
                Owner::Manual
            } else {
                Owner::Coordinator
            },
            phase,
            elapsed: job_elapsed,
        });
        let mut f = r.fields(2 + 2 + 6 * INFLIGHT_BITS);
        let queued = owner_of(f.take(2));
        let coord = match f.take(2) {
            0 => Coord::Idle,
            1 => Coord::Top,
            2 => Coord::Cycle,
            _ => Coord::Exit,
        };
        let [l0, l1, l2, p0, p1, p2]: [u8; 6] =
            std::array::from_fn(|_| f.take(INFLIGHT_BITS) as u8);
        let inflight = InFlight {
            launched: [l0, l1, l2],
            passed: [p0, p1, p2],
        };
        let hb_timer = r.get_grid(l.hb_timer);
        let req_timer = r.get_grid(l.req_timer);
        let budgets = l.budget_widths();
        let mut f = r.fields(budgets.iter().sum::<u32>());
        let [spurious_left, errors_left, config_left, manual_left] =
            budgets.map(|bits| f.take(bits) as u8);
        let mut f = r.fields(SETTLE_BITS + 4);
        let settle = get_settle(&mut f);
        let cycle_by_detector = f.take_flag();
        let crashed = f.take_flag();
        let declared = f.take_flag();
        let repaired = f.take_flag();
        let crash_age = r.get_grid(l.crash_age);
        let offset = r.get_grid(l.offset);
        WorldState {
            ws,
            slots,
            truth,
            job,
            queued,
            coord,
            inflight,
            hb_timer,
            req_timer,
            spurious_left,
            errors_left,
            config_left,
            manual_left,
            settle,
            cycle_by_detector,
            crash: crashed.then_some(Crash {
                age: crash_age,
                declared,
                repaired,
            }),
            offset,
            events: 0,
        }
    }
}
