//! The `random` set: seeded random logs (random answers and latencies,
//! events, timer delays), time often jumping to a millisecond either side of
//! some window measured from some stamp.

use super::world::{off, Answering, Knobs, LogWorld, Rng, Sets};
use super::EventKind::{CycleFinished, Heartbeat, Register, RestartFinished, RestartStarted};
use crate::decision::{Awaiting, ProbeResult};
use crate::duration::Ms;
use crate::error::InputError;
use crate::restart::RestartSource::{Detector, FileWrite, Other};

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

/// The seeded random set.
pub(super) fn random(out: &mut Sets<'_>, params: RandomParams) -> Result<(), InputError> {
    out.set("random");
    let k = Knobs::of(out.policy);
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
        let answers = Rng::new(rng.next());
        let mut r = Rng::new(rng.next());
        let world = LogWorld::new(out.policy, delay, Answering::Random(answers));
        out.build(format!("random/{:#x}/{n}", params.seed), world, |w| {
            for _ in 0..len {
                let gap = gap(w, &mut r, &k, &windows);
                w.at(w.t + gap)?;
                event(w, &mut r)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Time passes: nothing, a little, a lot, or to a millisecond either side of
/// some window measured from some stamp.
fn gap(w: &LogWorld<'_>, r: &mut Rng, k: &Knobs, windows: &[Ms]) -> Ms {
    match r.weighted(&[25, 15, 25, 15, 20]) {
        0 => 0,
        1 => 1,
        2 => r.below(1_000),
        3 => r.below(k.horizon() + 10_000),
        _ => {
            let ws = w.ws();
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
                let target = r.pick(&stamps) + r.pick(windows);
                let target = off(target, r.below(3) as i64 - 1);
                target.saturating_sub(w.t)
            }
        }
    }
}

/// One random event now.
fn event(w: &mut LogWorld<'_>, r: &mut Rng) -> Result<(), String> {
    let live = w.live().count();
    let running = w.ws().restart.is_running();
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
        2,
        1,
    ]);
    match choice {
        0 => {
            w.fail(&[])?;
        }
        1 => {
            w.emit(Heartbeat)?;
        }
        2 => {
            w.emit(RestartStarted)?;
        }
        3 => {
            w.emit(RestartFinished)?;
        }
        4 => {
            w.request(FileWrite)?;
        }
        5 => {
            w.request(Other)?;
        }
        6 => {
            w.emit(CycleFinished)?;
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
            let t = w.t;
            let waiting: Vec<String> = w
                .live()
                .filter(|(_, d)| matches!(d.awaiting(), Awaiting::Timer(at) if at > t))
                .map(|(req, _)| req.to_owned())
                .collect();
            if !waiting.is_empty() {
                let req = waiting[r.below(waiting.len() as u64) as usize].clone();
                w.timer(&req)?;
            }
        }
        9 => {
            // An input the decision is not waiting for.
            let first = w
                .live()
                .next()
                .map(|(req, d)| (req.to_owned(), d.awaiting()));
            match first {
                Some((req, Awaiting::Probe)) => w.timer(&req)?,
                Some((req, _)) => w.answer_now(&req, ProbeResult::NotRunning)?,
                None => {}
            }
        }
        10 => {
            w.emit(Register)?;
        }
        _ => {
            // Another detector's request (a health sweep, the reconciler).
            w.request(Detector)?;
        }
    }
    Ok(())
}
