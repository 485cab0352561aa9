//! The sequence-diagram reading of a timeline, shared by the mermaid and the
//! SVG renderers: who sends what to whom for each timeline line.

use crate::duration::Human;
use crate::trace::{Actor as A, Entry, Knew, What as W};

/// A lifeline of the sequence diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Participant {
    /// The caller whose A2A request failed.
    Client,
    /// The proxy running the liveness decision.
    Proxy,
    /// The `IsRunning` probe.
    Probe,
    /// The container (or cloud instance).
    Container,
    /// The agent inside the container (heartbeats, registration).
    Agent,
    /// The operator (config PUTs).
    Operator,
    /// The platform's restart coordinator (`RestartByID`).
    Coordinator,
}

impl Participant {
    /// Every lifeline, left to right.
    pub const ALL: [Participant; 7] = [
        Participant::Client,
        Participant::Proxy,
        Participant::Probe,
        Participant::Container,
        Participant::Agent,
        Participant::Operator,
        Participant::Coordinator,
    ];

    /// Short id (mermaid participant alias).
    pub fn id(self) -> &'static str {
        match self {
            Participant::Client => "C",
            Participant::Proxy => "P",
            Participant::Probe => "R",
            Participant::Container => "K",
            Participant::Agent => "A",
            Participant::Operator => "O",
            Participant::Coordinator => "RC",
        }
    }

    /// The name shown on the diagram.
    pub fn name(self) -> &'static str {
        match self {
            Participant::Client => "Client",
            Participant::Proxy => "Proxy",
            Participant::Probe => "IsRunning probe",
            Participant::Container => "Container",
            Participant::Agent => "Agent",
            Participant::Operator => "Operator",
            Participant::Coordinator => "Restart coordinator",
        }
    }

    /// Column index, left to right.
    pub fn column(self) -> usize {
        Participant::ALL
            .iter()
            .position(|p| *p == self)
            .unwrap_or(0)
    }
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request or event: solid arrow.
    Call,
    /// An answer: dashed arrow.
    Reply,
    /// A note over one lifeline (or, with `to`, spanning to another).
    Note,
}

/// One drawn element for one timeline line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender (or the lifeline a note is over).
    pub from: Participant,
    /// Receiver (or the last lifeline a note spans).
    pub to: Participant,
    /// How it is drawn.
    pub kind: Kind,
    /// The text, with the model time in front (`[2s] …`).
    pub label: String,
    /// This is the line that breaks the property.
    pub violation: bool,
}

/// What the proxy knew, in one short line.
pub fn knew_line(k: &Knew) -> String {
    let age = |v: Option<u64>, old: bool| {
        if old {
            "old".to_string()
        } else {
            v.map_or_else(|| "none".into(), |v| Human(v).to_string())
        }
    };
    format!(
        "restart age {}, heartbeat age {}, strikes {}, {}{}",
        age(k.restart_age_ms, k.restart_old),
        age(k.heartbeat_age_ms, k.heartbeat_old),
        k.strikes,
        match (k.has_settle_window, k.settling) {
            (false, _) => "no settle window",
            (true, true) => "settle window open",
            (true, false) => "settle window closed",
        },
        if k.restarting {
            ", restart in flight"
        } else {
            ""
        },
    )
}

/// The diagram element for `e`.
pub fn message(e: &Entry) -> Message {
    use Participant::*;
    let (from, to, kind) = match (e.actor, e.action) {
        (A::Client, _) => (Client, Proxy, Kind::Call),
        (A::Probe, _) => (Probe, Proxy, Kind::Reply),
        (A::Proxy, W::ProbeRequested) => (Proxy, Probe, Kind::Call),
        (A::Proxy, W::Waits) => (Proxy, Proxy, Kind::Note),
        (A::Proxy, W::TimerFired) => (Proxy, Proxy, Kind::Call),
        (A::Proxy, W::DeclaredDead) => (Proxy, Coordinator, Kind::Call),
        (A::Proxy, _) => (Proxy, Client, Kind::Reply),
        (A::RestartCoordinator, W::RestartFinished) => (Coordinator, Container, Kind::Reply),
        (A::RestartCoordinator, _) => (Coordinator, Container, Kind::Call),
        (A::Container, _) => (Container, Container, Kind::Note),
        (A::Agent, _) => (Agent, Proxy, Kind::Call),
        (A::Operator, _) => (Operator, Coordinator, Kind::Call),
        // The detectors, Redis and the clock have no lifeline: a note.
        (
            A::Preflight
            | A::HealthSweep
            | A::Reconciler
            | A::LivenessMonitor
            | A::Redis
            | A::Clock,
            _,
        ) => (Client, Coordinator, Kind::Note),
    };
    let detail = match (e.actor, e.action) {
        (A::Client, _) => format!(
            "{} failed: is the container dead?",
            e.req_name().unwrap_or_default()
        ),
        (A::Proxy, W::ProbeRequested) => {
            format!("{}: IsRunning?", e.req_name().unwrap_or_default())
        }
        (A::Proxy, W::DeclaredDead) => e.detail.replacen(": DECLARES DEAD:", " DECLARES DEAD:", 1),
        (A::Agent, W::Heartbeat) => "heartbeat".into(),
        _ => e.detail.clone(),
    };
    Message {
        from,
        to,
        kind,
        label: format!("[{}] {detail}", Human(e.t_ms)),
        violation: e.violation,
    }
}
