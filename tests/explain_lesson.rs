//! `docs/lessons/2929.md` is produced by the tool; this test regenerates it
//! and fails when the committed file differs (a policy, environment or model
//! change that alters the lesson must update it in the same commit).

use livecheck::explain::lesson;
use std::sync::OnceLock;

/// The lesson, generated once for both tests (it runs two full checks).
fn fresh() -> &'static str {
    static LESSON: OnceLock<String> = OnceLock::new();
    LESSON.get_or_init(|| lesson::generate().expect("the shipped models load"))
}

#[test]
fn lesson_2929_is_up_to_date() {
    let fresh = fresh();
    let committed = std::fs::read_to_string(lesson::LESSON_FILE).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; generate it with `{}`",
            lesson::LESSON_FILE,
            lesson::REGENERATE
        )
    });
    if fresh != committed {
        let line = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || fresh.lines().count().min(committed.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "{} is stale (first difference at line {line}); regenerate it with `{}`",
            lesson::LESSON_FILE,
            lesson::REGENERATE
        );
    }
}

#[test]
fn lesson_tells_the_incident_the_fix_and_what_is_left() {
    let text = fresh();
    for section in [
        "## The incident",
        "## The counterexample on",
        "```mermaid\nsequenceDiagram",
        "## Which restart path makes it possible",
        "**manual restart**",
        "## Why V1's heartbeat debounce did not help",
        "## What V2 changed",
        "## What V2 did not change",
        "## Replay it against the implementation",
    ] {
        assert!(text.contains(section), "lesson lacks {section:?}");
    }
    // The replayed fatal decision is in the lesson, as replay printed it.
    assert!(text.contains("\"outcome\":\"dead\""));
}
