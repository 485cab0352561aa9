//! `livecheck explain`: the command line (exit codes, errors, colour), the
//! #2929 search, and the shapes of the mermaid, ITF and JSON outputs.

use livecheck::check::{check_pair, CheckOptions, Verdict};
use livecheck::environment::Environment;
use livecheck::explain::{self, itf, mermaid, Shown};
use livecheck::model::{properties, World};
use livecheck::policy::Policy;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod common;

const V1: &str = "models/policies/v1-2931.toml";
const V2: &str = "models/policies/v2-2950.toml";
const DOCKER: &str = "models/environments/docker.toml";

fn livecheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_livecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run livecheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn world(policy: &str, env: &str) -> World {
    World::new(
        Policy::load(Path::new(policy)).expect("policy"),
        Environment::load(Path::new(env)).expect("env"),
    )
}

#[test]
fn explain_2929_prints_the_incident_timeline_without_colour_when_piped() {
    let (code, out, err) = livecheck(&["explain", "2929"]);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.contains("v1-2931 × docker"), "{out}");
    assert!(
        !out.contains('\x1b'),
        "no ANSI colour when stdout is a pipe"
    );
    let marked: Vec<&str> = out.lines().filter(|l| l.contains('✗')).collect();
    assert_eq!(marked.len(), 1, "exactly one violating line: {out}");
    assert!(marked[0].contains("restart started"), "{}", marked[0]);
    assert!(out.contains("DECLARES DEAD"), "{out}");
    assert!(out.contains(&format!(
        "why: {}, and the restart it asked for really started: a manual restart",
        properties::why("no_self_fire_on_lone_false")
    )));
    for who in [
        "client",
        "proxy",
        "probe",
        "operator",
        "restart coordinator",
    ] {
        assert!(out.contains(who), "actor {who} missing: {out}");
    }
}

/// The #2929 shape in the world where the only not-running answers are a
/// restart's own: on V1 the shortest run goes through an unstamped manual
/// restart; with config-PUT restarts alone (they stamp) the debounce drops
/// every such restart; V2's fix keys on the stamp, so the manual path still
/// fires there (a finding).
#[test]
fn incident_search_finds_the_unstamped_restart_path() {
    let truthful = |policy: &str| {
        let w = world(policy, DOCKER);
        World::new(w.policy.clone(), explain::only_restart_answers(&w.env))
    };
    let v1 = truthful(V1);
    let trail = explain::find_incident(&v1).expect("v1 reproduces #2929");
    let last = &trail.steps.last().expect("a step").1;
    assert!(explain::incident_target(&v1, last));
    let actions: Vec<livecheck::model::Action> = trail.steps.iter().map(|(a, _)| *a).collect();
    assert!(
        actions.contains(&livecheck::model::Action::ManualRestart),
        "the restart before the lone false is a manual one: {actions:?}"
    );
    // The general property's shortest counterexample is a different shape:
    // the incident target is a real restriction.
    let any = properties::target("no_self_fire_on_lone_false").expect("target");
    let shortest = livecheck::model::search::shortest(&v1, any, explain::SEARCH_LIMIT)
        .expect("v1 violates the property");
    assert!(shortest.steps.len() < trail.steps.len());

    let mut stamped_only = v1.env.clone();
    stamped_only.manual_restarts = 0;
    let w = World::new(v1.policy.clone(), stamped_only);
    assert_eq!(
        explain::find_incident(&w).err(),
        Some(livecheck::model::search::SearchEnd::Exhausted),
        "config-PUT restarts stamp: the debounce drops the lone false's restart"
    );

    let v2 = truthful(V2);
    let trail = explain::find_incident(&v2).expect("V2 still fires after a manual restart");
    assert!(trail
        .steps
        .iter()
        .any(|(a, _)| *a == livecheck::model::Action::ManualRestart));
}

#[test]
fn unknown_property_lists_the_valid_ones_and_exits_2() {
    let (code, out, err) = livecheck(&["explain", V1, "--env", DOCKER, "--property", "bogus"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "nothing on stdout: {out}");
    for name in properties::CONTRACT {
        assert!(err.contains(name), "{name} not listed: {err}");
    }
}

#[test]
fn bad_files_exit_2_naming_file_key_and_reason() {
    let (code, out, err) = livecheck(&[
        "explain",
        V1,
        "--env",
        "no/such/env.toml",
        "--property",
        "no_false_dead",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("no/such/env.toml"), "{err}");

    let dir = std::env::temp_dir().join(format!("livecheck-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let bad = dir.join("bad.toml");
    let text = std::fs::read_to_string(V1)
        .expect("v1")
        .replace("threshold = 2", "threshold = 0");
    std::fs::write(&bad, text).expect("write");
    let bad_s = bad.to_string_lossy().into_owned();
    let (code, out, err) = livecheck(&[
        "explain",
        &bad_s,
        "--env",
        DOCKER,
        "--property",
        "no_false_dead",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("strikes.threshold"), "{err}");
    assert!(err.contains("at least 1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Docker where `IsRunning` sees a crash (no `unless-stopped` restart, a
/// crashed container reads not-running) and only requests detect it (no
/// health sweep, no TTL monitor, no manual restarts): a world in which V1's
/// `dead_detected_within` holds. Written under the test's scratch directory.
fn visible_crash_docker() -> String {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explain-visible-crash.toml");
    common::docker_with(&common::VISIBLE_CRASH, &path);
    path.to_string_lossy().into_owned()
}

#[test]
fn a_property_that_holds_says_so_with_the_worst_case_figure_and_exits_0() {
    let env_file = visible_crash_docker();
    let pair = check_pair(
        &Policy::load(Path::new(V1)).expect("policy"),
        &Environment::load(Path::new(&env_file)).expect("env"),
        &CheckOptions::default(),
    );
    let r = pair.property("dead_detected_within").expect("reported");
    assert_eq!(r.verdict, Verdict::Holds, "premise: v1 detects in time");
    let worst = r.worst_case_ms.expect("docker containers may crash");

    let (code, out, err) = livecheck(&[
        "explain",
        V1,
        "--env",
        &env_file,
        "--property",
        "dead_detected_within",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("HOLDS"), "{out}");
    assert!(
        out.contains(&format!(
            "The worst case is {}",
            livecheck::duration::Human(worst)
        )),
        "{out}"
    );
    assert!(
        !out.contains('✗'),
        "a run reaching the worst case is not a violation"
    );
    let e = explain::from_check(&pair, "dead_detected_within");
    assert_eq!(e.shown, Shown::WorstCase);
    let lines = e.entries().len();
    assert!(lines > 0);
    // The printed table holds every line of the worst-case path.
    for entry in e.entries() {
        assert!(out.contains(&entry.detail), "{} missing", entry.detail);
    }
}

#[test]
fn a_violated_property_exits_1_with_its_counterexample() {
    let (code, out, err) = livecheck(&[
        "explain",
        V2,
        "--env",
        DOCKER,
        "--property",
        "no_self_fire_on_lone_false",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["verdict"], "violated");
    assert_eq!(v["policy"], "v2-2950");
    let steps = v["counterexample"].as_array().expect("counterexample");
    let marked: Vec<&Value> = steps.iter().filter(|s| s["violation"] == true).collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["action"], "declared_dead");
    assert!(marked[0]["actor"].is_string());
}

#[test]
fn mermaid_is_a_sequence_diagram_with_every_line_and_the_violation_highlighted() {
    let e = explain::incident().expect("incident");
    let m = mermaid::render(&e);
    let lines: Vec<&str> = m.lines().collect();
    assert_eq!(lines[0], "sequenceDiagram");
    for name in [
        "Client",
        "Proxy",
        "IsRunning probe",
        "Container",
        "Agent",
        "Operator",
        "Restart coordinator",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.trim_start().starts_with("participant ")
                    && l.ends_with(&format!(" as {name}"))),
            "participant {name} missing"
        );
    }
    let ids = ["C", "P", "R", "K", "A", "O", "RC"];
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| {
            l.contains("->>")
                || l.contains("-->>")
                || l.starts_with("Note over") && l.contains("] ")
        })
        .collect();
    // One drawn message per timeline line (notes about knowledge have no time).
    assert_eq!(messages.len(), e.entries().len(), "{m}");
    for (msg, entry) in messages.iter().zip(e.entries()) {
        let (head, label) = msg.split_once(": ").expect("label");
        assert!(label.starts_with(&format!("[{}] ", livecheck::duration::Human(entry.t_ms))));
        for part in head
            .trim_start_matches("Note over ")
            .split([',', '-', '>'])
            .filter(|p| !p.is_empty())
        {
            assert!(ids.contains(&part), "unknown participant {part:?} in {msg}");
        }
        assert!(!label.contains(';') && !label.contains('#'), "{label}");
    }
    let opens = lines
        .iter()
        .filter(|l| l.trim().starts_with("rect "))
        .count();
    let ends = lines.iter().filter(|l| l.trim() == "end").count();
    assert_eq!((opens, ends), (1, 1), "one highlighted block: {m}");
    let rect = lines
        .iter()
        .position(|l| l.trim().starts_with("rect "))
        .unwrap_or(0);
    let end = lines.iter().position(|l| l.trim() == "end").unwrap_or(0);
    assert!(
        lines[rect..end]
            .iter()
            .any(|l| l.contains("restart started")),
        "the restart it fired is highlighted: {m}"
    );
    assert!(m.contains("DECLARES DEAD"), "{m}");
    let highlighted = lines[rect..end]
        .iter()
        .filter(|l| l.contains("->>") || l.contains("-->>"))
        .count();
    assert_eq!(highlighted, 1, "exactly the fatal line is highlighted: {m}");
    assert!(m.contains("no_self_fire_on_lone_false"));
    assert!(m.contains("Note right of P: proxy knew:"));
}

fn check_itf_value(v: &Value, path: &str) {
    match v {
        Value::Number(n) => {
            let i = n
                .as_i64()
                .unwrap_or_else(|| panic!("{path}: {n} is not an integer"));
            assert!(i.unsigned_abs() < 1 << 53, "{path}: {i} must be a #bigint");
        }
        Value::String(_) | Value::Bool(_) => {}
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_itf_value(x, &format!("{path}[{i}]"));
            }
        }
        Value::Object(o) => {
            if let Some(b) = o.get("#bigint") {
                assert_eq!(o.len(), 1, "{path}");
                let s = b.as_str().expect("#bigint is a string");
                assert!(s
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit()));
            } else if let Some(tag) = o.get("tag") {
                assert_eq!(o.len(), 2, "{path}: a variant is {{tag, value}}");
                match tag.as_str() {
                    Some("Some") => check_itf_value(&o["value"], &format!("{path}.value")),
                    Some("None") => assert_eq!(o["value"], serde_json::json!({"#tup": []})),
                    t => panic!("{path}: unexpected tag {t:?}"),
                }
            } else {
                assert!(
                    !o.keys().any(|k| k.starts_with('#')),
                    "{path}: unknown ITF encoding {o:?}"
                );
                for (k, x) in o {
                    check_itf_value(x, &format!("{path}.{k}"));
                }
            }
        }
        Value::Null => panic!("{path}: ITF has no null"),
    }
}

#[test]
fn itf_trace_has_the_adr_015_shape() {
    let e = explain::incident().expect("incident");
    let v = itf::render(&e);
    let meta = v["#meta"].as_object().expect("#meta");
    assert_eq!(meta["format"], "ITF");
    assert!(meta["format-description"]
        .as_str()
        .is_some_and(|s| s.contains("015adr-trace")));
    // Meta values are strings (the `itf` crate reads unknown keys as strings).
    assert!(meta.values().all(Value::is_string));
    let vars: Vec<&str> = v["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .map(|x| x.as_str().expect("var name"))
        .collect();
    assert_eq!(vars, itf::VARS);
    let states = v["states"].as_array().expect("states");
    let trail = e.trail.as_ref().expect("trail");
    assert_eq!(
        states.len(),
        trail.steps.len() + 1,
        "initial state + one per step"
    );
    let mut last_t = 0;
    for (i, s) in states.iter().enumerate() {
        let o = s.as_object().expect("state");
        assert_eq!(o["#meta"], serde_json::json!({ "index": i }));
        let mut keys: Vec<&str> = o
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "#meta")
            .collect();
        keys.sort_unstable();
        let mut want = vars.clone();
        want.sort_unstable();
        assert_eq!(keys, want, "state {i} has exactly the vars");
        for (k, x) in o.iter().filter(|(k, _)| *k != "#meta") {
            check_itf_value(x, &format!("states[{i}].{k}"));
        }
        let t = o["t_ms"].as_u64().expect("t_ms");
        assert!(t >= last_t, "time never goes back");
        last_t = t;
        assert_eq!(
            o["violation"],
            i + 1 == states.len(),
            "only the last state violates"
        );
    }
    assert_eq!(states[0]["mbt::actionTaken"], "init");
    let last = states.last().expect("a state");
    let events: Vec<&str> = last["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(events.contains(&"lone_fire"), "{events:?}");
}

#[test]
fn itf_integers_beyond_2_pow_53_are_bigints() {
    assert_eq!(itf::int(5), serde_json::json!(5));
    assert_eq!(
        itf::int(itf::MAX_SAFE),
        serde_json::json!(itf::MAX_SAFE as i64)
    );
    assert_eq!(
        itf::int(1 << 60),
        serde_json::json!({ "#bigint": (1u64 << 60).to_string() })
    );
    assert_eq!(
        itf::int(-(1 << 60)),
        serde_json::json!({ "#bigint": format!("-{}", 1u64 << 60) })
    );
}

#[test]
fn check_text_and_explain_text_share_the_timeline_renderer() {
    let e = explain::incident().expect("incident");
    let text = explain::render_text(&e, false);
    assert!(e
        .summary
        .starts_with(properties::why("no_self_fire_on_lone_false")));
    let table =
        livecheck::trace::render_text(e.entries(), Some(e.summary.trim_end_matches('.')), false);
    assert!(
        text.contains(&table),
        "explain prints the trace renderer's table"
    );
    let coloured = explain::render_text(&e, true);
    assert!(
        coloured.contains("\x1b[31;1m"),
        "violation in red on a terminal"
    );
}

#[test]
fn lesson_format_is_only_for_2929() {
    let (code, out, err) = livecheck(&[
        "explain",
        V1,
        "--env",
        DOCKER,
        "--property",
        "no_false_dead",
        "--format",
        "lesson",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("2929"), "{err}");
}

/// `explain 2929 --policy P`: does P still show the incident? V2 does
/// (through the unstamped manual restart): exit 1 with the run. `--policy`
/// with anything but 2929, or with the lesson, is bad input.
#[test]
fn explain_2929_for_another_policy_says_whether_it_still_shows_the_incident() {
    let (code, out, err) = livecheck(&["explain", "2929", "--policy", "v2-2950"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("#2929 on v2-2950 × docker"), "{out}");
    assert!(out.contains("manual restart"), "{out}");
    // v4 routes manual restarts through the coordinator: ruled out.
    let (code, out, err) = livecheck(&["explain", "2929", "--policy", "v4-proposed"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("does not reproduce"), "{out}");
    let (code, out, _) = livecheck(&["explain", V1, "--policy", "v2-2950"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    let (code, out, err) = livecheck(&[
        "explain", "2929", "--policy", "v2-2950", "--format", "lesson",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
}
