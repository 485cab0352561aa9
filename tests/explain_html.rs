//! `explain --format html`: one self-contained page, opened in headless
//! Chromium; the rendered DOM must hold every step of the run, in the table
//! and in the inline SVG sequence diagram.
//!
//! Needs the Debian package `chromium` (`.ci/run` installs it). Without it
//! the test fails and says how to install it.

use livecheck::check::{check_pair, CheckOptions};
use livecheck::environment::Environment;
use livecheck::explain::{self, html, Explanation};
use livecheck::policy::Policy;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed to render the HTML page: apt-get install chromium \
         (the Debian package `chromium`; .ci/run installs it)"
    );
}

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "livecheck-explain-html-{tag}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// Renders `page` in headless Chromium and returns the DOM after load.
fn dump_dom(page: &str, tag: &str) -> String {
    let dir = tmp_dir(tag);
    let file = dir.join("page.html");
    std::fs::write(&file, page).expect("write page");
    let profile = dir.join("profile");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && !dom.is_empty(),
        "chromium failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// Text as Chromium serialises it in the DOM (`&`, `<`, `>` escaped; quotes
/// and apostrophes not, in text nodes).
fn dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn assert_page_holds_every_step(e: &Explanation, tag: &str) {
    let page = html::render(e);
    // Self-contained: nothing that would make a request.
    for needle in [
        "<script",
        "<link",
        "@import",
        "url(http",
        "src=\"",
        "href=\"http",
    ] {
        assert!(!page.contains(needle), "page contains {needle}");
    }
    assert!(page.contains("Content-Security-Policy"));
    let dom = dump_dom(&page, tag);
    let entries = e.entries();
    assert!(!entries.is_empty());
    // The table: one row per line, in order, each with its text.
    let rows: Vec<&str> = dom.split("<tr class=\"line").skip(1).collect();
    assert_eq!(rows.len(), entries.len(), "one table row per step");
    for (i, (row, entry)) in rows.iter().zip(entries).enumerate() {
        assert!(
            row.contains(&format!("data-line=\"{i}\"")),
            "row {i} out of order"
        );
        assert!(
            row.contains(&dom_text(&entry.detail)),
            "row {i} lacks {:?}",
            entry.detail
        );
        assert!(
            row.contains(&dom_text(entry.actor.word())),
            "row {i} lacks its actor"
        );
        assert_eq!(
            row.starts_with(" violation"),
            entry.violation,
            "row {i}: violation class"
        );
    }
    // The diagram: an inline SVG with one message group per line.
    let svg_start = dom
        .find("<svg id=\"sequence\"")
        .expect("inline svg in the DOM");
    let svg = &dom[svg_start
        ..dom[svg_start..]
            .find("</svg>")
            .map_or(dom.len(), |n| svg_start + n)];
    let groups = svg.matches("<g class=\"msg").count();
    assert_eq!(groups, entries.len(), "one diagram message per step");
    for i in 0..entries.len() {
        assert!(
            svg.contains(&format!("data-line=\"{i}\"")),
            "diagram lacks line {i}"
        );
    }
    for name in ["Client", "Proxy", "IsRunning probe", "Restart coordinator"] {
        assert!(svg.contains(&format!(">{name}</text>")), "lifeline {name}");
    }
    assert_eq!(
        svg.matches("class=\"msg violation\"").count(),
        entries.iter().filter(|x| x.violation).count()
    );
}

#[test]
#[ignore = "full tier: scripts/test-all runs it (cargo test -- --include-ignored)"]
fn incident_page_renders_every_step_in_chromium() {
    let e = explain::incident().expect("incident");
    assert_eq!(e.entries().iter().filter(|x| x.violation).count(), 1);
    assert_page_holds_every_step(&e, "2929");
}

#[test]
#[ignore = "full tier: scripts/test-all runs it (cargo test -- --include-ignored)"]
fn worst_case_page_renders_every_step_in_chromium() {
    // A longer run with timers, a crash and the clock: the v2 detection
    // counterexample.
    let pair = check_pair(
        &Policy::load(Path::new("models/policies/v2-2950.toml")).expect("policy"),
        &Environment::load(Path::new("models/environments/docker.toml")).expect("env"),
        &CheckOptions::default(),
    );
    let e = explain::from_check(&pair, "dead_detected_within");
    assert!(e.entries().len() > 10, "a long run");
    assert_page_holds_every_step(&e, "detect");
}
