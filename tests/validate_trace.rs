//! `livecheck validate-trace`: runs the model itself produced validate;
//! recorded e2e runs validate against the environment that covers them and
//! not against one that does not; hand-edited impossible runs report the
//! line that made them impossible.

use livecheck::environment::Environment;
use livecheck::model::note::Note;
use livecheck::model::{Action, JobPhase, Owner, World, MAX_SLOTS};
use livecheck::policy::Policy;
use livecheck::validate::{validate_str, GapKind, Options, WsResult};
use stateright::Model;
use std::path::Path;

const TRACE_ENV: &str = "docs/e2e-docker/docker-trace.toml";

fn policy(name: &str) -> Policy {
    Policy::load(Path::new(&format!("models/policies/{name}.toml"))).expect("policy")
}

fn env(path: &str) -> Environment {
    Environment::load(Path::new(path)).expect("environment")
}

fn validate(p: &str, e: &str, log: &str) -> WsResult {
    let mut r = validate_str(&policy(p), &env(e), log, &Options::default()).expect("a valid log");
    assert_eq!(r.len(), 1, "one workspace");
    r.remove(0)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("tests/validate_trace/{name}")).expect("fixture")
}

/// A deterministic pseudo-random walk of the model, written as the log the
/// proxy would write: only the steps a log line records become lines, at
/// the walk's model time.
fn model_walk(w: &World, seed: u64, steps: usize) -> String {
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as usize
    };
    let mut s = w.initial();
    let mut labels: [Option<usize>; MAX_SLOTS] = [None; MAX_SLOTS];
    let mut reqs = 0;
    let mut t = 1000u64;
    let mut log = format!("{{\"t_ms\":{t},\"ws\":\"w1\",\"event\":\"register\"}}\n");
    let mut actions = Vec::new();
    for _ in 0..steps {
        actions.clear();
        w.actions(&s, &mut actions);
        // The proxy runs none of these.
        actions.retain(|a| {
            !matches!(
                a,
                Action::ManualRestart
                    | Action::Sweep(_)
                    | Action::Reconcile(_)
                    | Action::KeyExpires
                    | Action::CacheExpires
            )
        });
        if actions.is_empty() {
            break;
        }
        let a = actions[next() % actions.len()];
        let ends_cycle = matches!(a, Action::JobStep)
            && s.job
                .is_some_and(|j| j.owner == Owner::Coordinator && j.phase == JobPhase::Provision);
        let dt = if a == Action::Tick { w.tick_len(&s) } else { 0 };
        let mut notes: Vec<Note> = Vec::new();
        let Some(after) = w.transition(&s, a, &mut notes) else {
            continue;
        };
        t += dt;
        let mut pre = labels;
        let mut line =
            |event: String| log.push_str(&format!("{{\"t_ms\":{t},\"ws\":\"w1\",{event}}}\n"));
        for n in &notes {
            match *n {
                Note::RequestArrived { slot, .. } => {
                    reqs += 1;
                    pre[slot] = Some(reqs);
                    line(format!("\"event\":\"a2a_failed\",\"req\":\"r{reqs}\""));
                }
                Note::Probe {
                    slot: Some(k),
                    result,
                    ..
                } => {
                    let r = pre[k].expect("a labelled slot");
                    line(format!(
                        "\"event\":\"probe\",\"req\":\"r{r}\",\"result\":\"{}\"",
                        result.as_str()
                    ));
                }
                Note::Heartbeat => line("\"event\":\"heartbeat\"".into()),
                Note::Registered => line("\"event\":\"register\"".into()),
                Note::ConfigPut { .. } => {
                    line("\"event\":\"restart_requested\",\"source\":\"file_write\"".into())
                }
                _ => {}
            }
        }
        if ends_cycle {
            line("\"event\":\"cycle_finished\"".into());
        }
        let from = notes.iter().rev().find_map(|n| match n {
            Note::Slots { from } => Some(*from),
            _ => None,
        });
        for j in 0..MAX_SLOTS {
            labels[j] = if after.slots[j].is_some() {
                pre[from.map_or(j, |f| f[j])]
            } else {
                None
            };
        }
        s = after;
    }
    log
}

#[test]
fn runs_of_the_model_itself_validate() {
    for p in ["v1-2931", "v3-proposed"] {
        let w = World::new(policy(p), env(TRACE_ENV));
        let mut lines = 0;
        for seed in 0..12 {
            let log = model_walk(&w, seed, 400);
            let r = validate(p, TRACE_ENV, &log);
            assert!(
                r.gap.is_none(),
                "{p}, seed {seed}: {}\n{log}",
                livecheck::validate::render(std::slice::from_ref(&r), "walk")
            );
            assert_eq!(r.followed, log.lines().count());
            lines += r.followed;
        }
        assert!(
            lines > 12 * 20,
            "the walks record something ({lines} lines)"
        );
    }
}

#[test]
fn recorded_kill_runs_validate_against_the_e2e_world() {
    for p in ["v1-2931", "v3-proposed"] {
        let log = fixture(&format!("kill-{p}.jsonl"));
        let r = validate(p, TRACE_ENV, &log);
        assert!(r.gap.is_none(), "{}", livecheck::validate::render(&[r], p));
    }
}

#[test]
fn docker_toml_cannot_follow_a_docker_kill() {
    // docker.toml: a crash reads running (unless-stopped restarts it); a
    // `docker kill` is a manual stop and reads not running. One spurious
    // answer is in the budget; the second not-running answer is the gap.
    let r = validate(
        "v3-proposed",
        "models/environments/docker.toml",
        &fixture("kill-v3-proposed.jsonl"),
    );
    let g = r.gap.expect("a gap");
    assert_eq!(g.line, 5, "{g:?}");
    assert_eq!(g.kind, GapKind::Behaviour);
    assert!(
        g.could.iter().any(|c| c == "probe r1 running"),
        "{:?}",
        g.could
    );
}

#[test]
fn a_probe_answer_with_no_request_is_the_gap() {
    let mut lines: Vec<String> = fixture("kill-v1-2931.jsonl")
        .lines()
        .map(String::from)
        .collect();
    // Line 3 is r1's a2a_failed: without it, r1's probe answers nothing.
    assert!(lines[2].contains("a2a_failed") && lines[3].contains("\"probe\""));
    lines.remove(2);
    let r = validate("v1-2931", TRACE_ENV, &lines.join("\n"));
    let g = r.gap.expect("a gap");
    assert_eq!(g.line, 3, "{g:?}");
    assert_eq!(g.kind, GapKind::Behaviour);
    assert!(g.why.contains("no decision for request r1"), "{}", g.why);
}

#[test]
fn a_restart_the_policy_cannot_declare_is_the_gap() {
    // v1-2931 declares on the second not-running strike: with r2 gone, one
    // not-running answer cannot have restarted the container, so the
    // cycle_finished line is the gap.
    let log: Vec<&str> = fixture_lines("kill-v1-2931.jsonl");
    let edited: Vec<&str> = log
        .iter()
        .copied()
        .filter(|l| !l.contains("\"r2\""))
        .collect();
    let text = edited.join("\n");
    let r = validate("v1-2931", TRACE_ENV, &text);
    let g = r.gap.expect("a gap");
    assert!(g.text.contains("cycle_finished"), "{g:?}");
    assert_eq!(g.line, 5);
    assert!(
        !g.could.iter().any(|c| c == "cycle_finished"),
        "{:?}",
        g.could
    );
    // The unedited run declares and restarts.
    assert!(validate("v1-2931", TRACE_ENV, &log.join("\n"))
        .gap
        .is_none());
}

fn fixture_lines(name: &str) -> Vec<&'static str> {
    let text: &'static str = Box::leak(fixture(name).into_boxed_str());
    text.lines().collect()
}

#[test]
fn a_third_request_in_flight_is_an_in_flight_gap() {
    let log = [
        r#"{"t_ms":1000,"ws":"w1","event":"register"}"#,
        r#"{"t_ms":3000,"ws":"w1","event":"a2a_failed","req":"a"}"#,
        r#"{"t_ms":3001,"ws":"w1","event":"a2a_failed","req":"b"}"#,
        r#"{"t_ms":3002,"ws":"w1","event":"a2a_failed","req":"c"}"#,
    ]
    .join("\n");
    let r = validate("v1-2931", TRACE_ENV, &log);
    let g = r.gap.expect("a gap");
    assert_eq!((g.line, g.kind), (4, GapKind::InFlight), "{g:?}");
    assert_eq!(g.followed, 3);
}

#[test]
fn the_cli_prints_ok_or_the_gap_and_exits_accordingly() {
    let bin = env!("CARGO_BIN_EXE_livecheck");
    let ok = std::process::Command::new(bin)
        .args([
            "validate-trace",
            "--policy",
            "models/policies/v3-proposed.toml",
            "--env",
            TRACE_ENV,
            "tests/validate_trace/kill-v3-proposed.jsonl",
        ])
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{out}");
    assert!(out.starts_with("ok: 10 events followed"), "{out}");
    let gap = std::process::Command::new(bin)
        .args([
            "validate-trace",
            "--policy",
            "models/policies/v3-proposed.toml",
            "--env",
            "models/environments/docker.toml",
            "tests/validate_trace/kill-v3-proposed.jsonl",
        ])
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&gap.stdout);
    assert_eq!(gap.status.code(), Some(1), "{out}");
    assert!(out.starts_with("gap at line 5: "), "{out}");
    assert!(out.contains("the model could take: "), "{out}");
}
