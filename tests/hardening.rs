//! Hostile and absurd input through the real binary (the hardening issue):
//! every bad input gets a clear answer (exit 2, a message naming the file,
//! line or key and the reason, nothing on stdout, never a panic), every
//! bound is honoured, nothing reads without a limit or hangs.
//!
//! Each test is a finding of the campaign against the binary as it was.
//! `LIVECHECK_BIN=/path/to/livecheck` runs them against another build (that
//! is how they were seen to fail before the fixes).

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    match std::env::var_os("LIVECHECK_BIN") {
        Some(path) => Command::new(path),
        None => Command::new(env!("CARGO_BIN_EXE_livecheck")),
    }
}

fn scratch_dir(sub: &str) -> PathBuf {
    common::scratch_dir("hardening", sub)
}

fn scratch(name: &str, text: &str) -> PathBuf {
    common::scratch_file("hardening", name, text)
}

/// Runs livecheck, killing it (and failing the test) when it takes longer
/// than `limit`: a hang is a finding, not a stuck test run.
fn run_within(args: &[&str], limit: Duration) -> Output {
    let dir = scratch_dir("runs");
    let tag = format!("{}-{:?}", std::process::id(), std::thread::current().id())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let out_path = dir.join(format!("{tag}.out"));
    let err_path = dir.join(format!("{tag}.err"));
    // Killed when dropped, also when an unwrap below panics.
    let mut child = common::KillOnDrop(
        bin()
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("run livecheck"),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            drop(child);
            let err = std::fs::read(&err_path).unwrap_or_default();
            panic!(
                "livecheck {args:?} still ran after {limit:?} (hang or unbounded work); stderr: {}",
                String::from_utf8_lossy(&err[..err.len().min(2000)])
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

fn run(args: &[&str]) -> Output {
    run_within(args, Duration::from_secs(60))
}

/// Exit 2, nothing on stdout, no panic, and stderr says every needle.
fn assert_refused(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "a panic: {err}");
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout for bad input: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for n in needles {
        assert!(err.contains(n), "stderr should mention {n:?}: {err}");
    }
}

const V0: &str = "models/policies/v0-pre-2931.toml";
const V1: &str = "models/policies/v1-2931.toml";
const V2: &str = "models/policies/v2-2950.toml";
const DOCKER: &str = "models/environments/docker.toml";

fn edited(file: &str, from: &str, to: &str) -> String {
    let src = std::fs::read_to_string(file).unwrap();
    assert!(src.contains(from), "{file} has {from:?}");
    src.replacen(from, to, 1)
}

// ---- item 2: durations have one sane maximum, checked at load --------------

#[test]
fn durations_past_a_year_are_refused_at_load_instead_of_wrapping() {
    // `window + 1` wrapped to 0: a complete search reported
    // dead_detected_within violated (a strike vanished) and exited 1.
    let p = scratch(
        "wrap-window.toml",
        &edited(
            V1,
            "window = \"30s\"",
            "window = \"18446744073709551615ms\"",
        ),
    );
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(
        &out,
        &[
            "wrap-window.toml:",
            "strikes.window",
            "at most 8760h (365 days)",
        ],
    );
    // The fresh horizon (settle window + cycle + wait) wrapped the same way.
    let p = scratch(
        "wrap-settle.toml",
        &edited(
            V2,
            "(now - restartStartedAt < 30 s).\nwindow = \"30s\"",
            "(now - restartStartedAt < 30 s).\nwindow = \"18446744073709551615ms\"",
        ),
    );
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(&out, &["wrap-settle.toml:", "settle.window", "8760h"]);
    // And crash_cap (detection bound + tick) in the environment.
    let e = scratch(
        "wrap-bound.toml",
        &edited(
            DOCKER,
            "detection_bound = \"20s\"",
            // A multiple of the 1 s tick: the largest one below u64::MAX.
            "detection_bound = \"18446744073709551000ms\"",
        ),
    );
    let out = run(&["check", V0, "--env", e.to_str().unwrap()]);
    assert_refused(
        &out,
        &["wrap-bound.toml:", "check.detection_bound", "8760h"],
    );
    // Item 9's absurd models grew without end; a million hours is now
    // refused at load (a year of 1 s ticks is still for the checker's own
    // estimate to judge).
    let e = scratch(
        "million-hours.toml",
        &edited(DOCKER, "interval = \"30s\"", "interval = \"1000000h\""),
    );
    let out = run_within(
        &["check", V0, "--env", e.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_refused(
        &out,
        &["million-hours.toml:", "heartbeat.interval", "8760h"],
    );
    let p = scratch(
        "million-hours-window.toml",
        &edited(V1, "window = \"30s\"", "window = \"1000000h\""),
    );
    let out = run_within(
        &["check", p.to_str().unwrap(), "--env", DOCKER],
        Duration::from_secs(20),
    );
    assert_refused(&out, &["strikes.window", "8760h"]);
    // One year and a millisecond is already too long; a sweep's values
    // follow the same rule.
    let p = scratch(
        "year-and-a-bit.toml",
        &edited(V1, "debounce = \"60s\"", "debounce = \"31536000001ms\""),
    );
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(&out, &["restart.debounce", "8760h"]);
    let out = run(&[
        "sweep",
        V1,
        "--env",
        DOCKER,
        "--vary",
        "policy.strikes.window=1s..18446744073709551615ms/1s",
    ]);
    assert_refused(&out, &["policy.strikes.window", "8760h"]);
}

// ---- items 3 and 9: every numeric flag has a range --------------------------

#[test]
fn numeric_flags_out_of_range_are_usage_errors_not_panics() {
    let check = ["check", V0, "--env", DOCKER];
    let explain = [
        "explain",
        V0,
        "--env",
        DOCKER,
        "--property",
        "no_false_dead",
    ];
    let sweep = [
        "sweep",
        V0,
        "--env",
        DOCKER,
        "--vary",
        "env.requests.interval=5s..5s/1s",
    ];
    for base in [&check[..], &explain[..], &sweep[..]] {
        for (flag, value, needle) in [
            (
                "--timeout",
                "18446744073709551615",
                "at most 31536000 seconds",
            ),
            ("--timeout", "0", "at least 1"),
            ("--timeout", "99999999999999999999", "too large"),
            ("--threads", "100000", "at most 256"),
            ("--threads", "0", "at least 1"),
            ("--max-states", "0", "at least 1"),
            ("--max-states", "-5", "negative"),
        ] {
            let mut args = base.to_vec();
            let joined = format!("{flag}={value}");
            args.push(&joined);
            let out = run(&args);
            assert_refused(&out, &[flag, needle]);
        }
    }
    for (value, needle) in [("0", "at least 1"), ("100000", "at most 256")] {
        let mut args = check.to_vec();
        args.extend(["--jobs", value]);
        assert_refused(&run(&args), &["--jobs", needle]);
    }
}

// ---- item 4: bounded reads ---------------------------------------------------

fn fifo(name: &str) -> PathBuf {
    let path = scratch_dir("fifo").join(name);
    let _ = std::fs::remove_file(&path);
    let ok = Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
    path
}

#[test]
fn policy_and_environment_reads_are_bounded() {
    let quick = Duration::from_secs(20);
    // /dev/zero was read until memory ran out; a FIFO nobody writes to
    // blocked forever.
    let out = run_within(&["check", "/dev/zero", "--env", DOCKER], quick);
    assert_refused(
        &out,
        &["/dev/zero", "character device", "not a regular file"],
    );
    let out = run_within(&["check", V0, "--env", "/dev/zero"], quick);
    assert_refused(&out, &["/dev/zero", "environment file"]);
    let f = fifo("policy.toml");
    let out = run_within(&["check", f.to_str().unwrap(), "--env", DOCKER], quick);
    assert_refused(&out, &["policy.toml", "FIFO"]);
    let f = fifo("env.toml");
    let out = run_within(
        &[
            "sweep",
            V0,
            "--env",
            f.to_str().unwrap(),
            "--vary",
            "x=1..2/1",
        ],
        quick,
    );
    assert_refused(&out, &["env.toml", "FIFO"]);
    let out = run_within(&["check", V0, "--env", "models"], quick);
    assert_refused(&out, &["models", "directory"]);
    // A regular file too large to be a policy.
    let mut big = std::fs::read_to_string(V0).unwrap();
    let filler = format!("# {}\n", "x".repeat(1000));
    while big.len() <= 1 << 20 {
        big.push_str(&filler);
    }
    let p = scratch("huge.toml", &big);
    let out = run_within(&["check", p.to_str().unwrap(), "--env", DOCKER], quick);
    assert_refused(&out, &["huge.toml", "larger than 1 MiB"]);
}

#[test]
fn replay_lines_are_bounded() {
    // `replay /dev/zero` aborted (SIGABRT, out of memory) and a 100 MB line
    // cost 312 MB: a line is now at most 1 MiB, and the error names it.
    let quick = Duration::from_secs(20);
    let out = run_within(&["replay", "--policy", V1, "/dev/zero"], quick);
    assert_refused(&out, &["/dev/zero:1:", "longer than 1 MiB"]);
    let line = format!(
        "{{\"t_ms\": 0, \"ws\": \"w1\", \"event\": \"heartbeat\", \"msg\": \"{}\"}}\n",
        "x".repeat(3 << 20)
    );
    let log = scratch(
        "long-line.jsonl",
        &format!("{{\"t_ms\": 0, \"ws\": \"w1\", \"event\": \"heartbeat\"}}\n{line}"),
    );
    let out = run_within(&["replay", "--policy", V1, log.to_str().unwrap()], quick);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("long-line.jsonl:2:"), "{err}");
    assert!(err.contains("longer than 1 MiB"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---- item 7: sweep ranges cannot overflow -----------------------------------

#[test]
fn sweep_ranges_that_overflow_are_refused() {
    // `to - from` wrapped: a 0-point sweep that exited 0.
    let out = run(&[
        "sweep",
        V0,
        "--env",
        DOCKER,
        "--vary",
        "env.probe.spurious_not_running=-9223372036854775808..9223372036854775807/1",
    ]);
    assert_refused(
        &out,
        &[
            "env.probe.spurious_not_running",
            "18446744073709551616 values",
            "more than 50000000",
        ],
    );
    let out = run(&[
        "sweep",
        V0,
        "--env",
        DOCKER,
        "--vary",
        "env.probe.spurious_not_running=-9223372036854775808..9223372036854775806/9223372036854775807",
    ]);
    // Three points, every one invalid: a sweep that ran (exit 0), with the
    // reasons, not a wrapped range.
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.matches("invalid").count() >= 3, "{text}");
}

// ---- item 8: the Explorer -----------------------------------------------------

/// A running Explorer (killed when dropped).
struct Explorer {
    /// Held for its drop: the Explorer runs as long as this does.
    _child: common::KillOnDrop,
    url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts `explore` and waits (at most 20 s) for the line naming its URL:
/// the message must come as soon as it listens, not after a blocking call.
fn explorer(extra: &[&str]) -> Explorer {
    let mut child = common::KillOnDrop(
        bin()
            .args(["explore", V0, "--env", DOCKER])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut pipe = child.0.stderr.take().unwrap();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = stderr.lock().unwrap().clone();
        if let Some(at) = text.find("http://") {
            let rest = &text[at..];
            // Only a whole URL: stderr arrives in chunks, and a URL cut
            // mid-write ("http://127.0.0.") would name no port.
            if let Some(end) = rest.find([' ', ',', '\n']) {
                let url = rest[..end].to_owned();
                return Explorer {
                    _child: child,
                    url,
                    stderr,
                };
            }
        }
        if Instant::now() > deadline || child.0.try_wait().unwrap().is_some() {
            panic!("explore never printed its URL; stderr: {text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf
}

#[test]
fn explorer_prints_its_url_and_port_zero_says_which_port() {
    let ex = explorer(&["--port", "0"]);
    let port = port_of(&ex.url);
    assert_ne!(port, 0, "the URL names the port it got: {}", ex.url);
    assert!(ex.url.starts_with("http://127.0.0.1:"), "{}", ex.url);
    let page = get(port, "/");
    assert!(
        page.contains(" 200 ") && page.to_lowercase().contains("<html"),
        "{page}"
    );
    let err = ex.stderr.lock().unwrap().clone();
    assert!(!err.contains("warning"), "loopback needs no warning: {err}");
}

#[test]
fn explorer_warns_when_it_listens_on_every_interface() {
    let ex = explorer(&["--port", "0", "--host", "0.0.0.0"]);
    let port = port_of(&ex.url);
    // Give the warning line time to arrive after the URL line.
    let deadline = Instant::now() + Duration::from_secs(5);
    let err = loop {
        let err = ex.stderr.lock().unwrap().clone();
        if err.contains("warning") || Instant::now() > deadline {
            break err;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("every network interface"), "{err}");
    assert!(
        err.contains(&format!("http://127.0.0.1:{port}/")),
        "a local URL too: {err}"
    );
    assert!(get(port, "/").contains(" 200 "));
}

#[test]
fn explorer_survives_clients_that_hang_up_early() {
    let ex = explorer(&["--port", "0"]);
    let port = port_of(&ex.url);
    let addr = ("127.0.0.1", port)
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap();
    for i in 0..30 {
        let mut s = TcpStream::connect(addr).unwrap();
        // Ask for the largest file, then hang up without reading; every other
        // client hangs up in the middle of its request.
        if i % 2 == 0 {
            let _ = s.write_all(b"GET /knockout-3.5.0.js HTTP/1.1\r\nHost: x\r\n\r\n");
        } else {
            let _ = s.write_all(b"GET /.sta");
        }
        drop(s);
    }
    // Shutting down both ways at once, mid-answer.
    for _ in 0..10 {
        let s = TcpStream::connect(addr).unwrap();
        let mut w = s.try_clone().unwrap();
        let _ = w.write_all(b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = get(port, "/.status");
    assert!(status.contains(" 200 "), "still serving: {status}");
    let err = ex.stderr.lock().unwrap().clone();
    assert!(!err.contains("panicked"), "{err}");
}

// ---- item 10: messages that mislead -------------------------------------------

#[test]
fn a_missing_table_is_named_not_blamed_on_the_first_line() {
    // Was: "p.toml:1: key `summary`: missing field `probe`".
    // Without comments, as the campaign wrote it: `summary` on line 1.
    let src: String = std::fs::read_to_string(V1)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(src.starts_with("summary"));
    let no_probe: String = {
        let start = src.find("[probe]").unwrap();
        let end = src[start..].find("[heartbeat]").unwrap() + start;
        format!("{}{}", &src[..start], &src[end..])
    };
    let p = scratch("no-probe.toml", &no_probe);
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(&out, &["no-probe.toml", "missing table [probe]"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("summary"), "not blamed on `summary`: {err}");
    let no_restart = &src[..src.find("[restart]").unwrap()];
    let p = scratch("no-restart.toml", no_restart);
    assert_refused(
        &run(&["check", p.to_str().unwrap(), "--env", DOCKER]),
        &["missing table [restart]"],
    );
    let env = std::fs::read_to_string(DOCKER).unwrap();
    let e = scratch("no-check.toml", &env[..env.find("[check]").unwrap()]);
    let out = run(&["check", V0, "--env", e.to_str().unwrap()]);
    assert_refused(&out, &["no-check.toml", "missing table [check]"]);
    // A key missing inside a table names the table's line and the key.
    let p = scratch(
        "no-on-error.toml",
        &edited(V1, "on_error = \"assume_alive\"", ""),
    );
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(
        &out,
        &["key `probe.on_error`", "missing key `on_error` in [probe]"],
    );
}

#[test]
fn datetimes_duplicates_and_wrong_types_read_plainly() {
    // Was: "invalid type: map, expected …".
    let p = scratch(
        "datetime.toml",
        &edited(V1, "window = \"30s\"", "window = 1979-05-27T07:32:00Z"),
    );
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(
        &out,
        &["strikes.window", "1979-05-27T07:32:00Z is a TOML date/time"],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("map"));
    // Was: "invalid table header\nduplicate key `probe` in document root".
    let twice = format!(
        "{}\n[probe]\non_error = \"assume_alive\"\n",
        std::fs::read_to_string(V1).unwrap()
    );
    let p = scratch("twice.toml", &twice);
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(
        &out,
        &[
            "twice.toml:",
            "table [probe] is defined twice (first at line",
        ],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("invalid table header"));
    // Was: "wanted string or table": a word key given a number lists its words.
    let p = scratch(
        "number-word.toml",
        &edited(V1, "on_error = \"assume_alive\"", "on_error = 5"),
    );
    let out = run(&["check", p.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(
        &out,
        &["probe.on_error", "`use_running_flag` or `assume_alive`"],
    );
}

#[test]
fn non_utf8_files_name_the_line() {
    let mut bytes = std::fs::read(V1).unwrap();
    let at = bytes.windows(7).position(|w| w == b"[probe]").unwrap();
    bytes.splice(at..at, b"# caf\xe9\n".iter().copied());
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let path = scratch_dir("files").join("latin1.toml");
    std::fs::write(&path, &bytes).unwrap();
    let out = run(&["check", path.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(
        &out,
        &[&format!("latin1.toml:{line}:"), "not UTF-8", "0xe9"],
    );
}

#[test]
fn write_proofs_refuses_two_pairs_that_would_write_one_file() {
    // Two policies named alike in different directories overwrote each
    // other's proof silently.
    let a = scratch_dir("proofs-a").join("same.toml");
    let b = scratch_dir("proofs-b").join("same.toml");
    std::fs::copy(V0, &a).unwrap();
    std::fs::copy(V1, &b).unwrap();
    let out_dir = scratch_dir("proofs-out");
    let _ = std::fs::remove_file(out_dir.join("same.docker.json"));
    let out = run(&[
        "check",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--env",
        DOCKER,
        "--write-proofs",
        out_dir.to_str().unwrap(),
    ]);
    assert_refused(
        &out,
        &["--write-proofs", "same.docker.json", "proofs-a", "proofs-b"],
    );
    assert!(
        !out_dir.join("same.docker.json").exists(),
        "refused before anything was written"
    );
}

#[test]
fn escape_characters_in_file_names_are_shown_escaped() {
    let dir = scratch_dir("escapes");
    let name = "\u{1b}]0;owned\u{7}\u{1b}[2J.toml";
    let path = dir.join(name);
    std::fs::copy(V0, &path).unwrap();
    let out = run(&["check", path.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(&out, &["\\u{1b}]0;owned\\u{7}", "control characters"]);
    assert!(!out.stderr.contains(&0x1b), "no raw escape reached stderr");
    // Missing files are named escaped too.
    let missing = dir.join("\u{1b}[31mred.toml");
    let out = run(&["check", missing.to_str().unwrap(), "--env", DOCKER]);
    assert_refused(&out, &["\\u{1b}[31mred.toml"]);
    assert!(!out.stderr.contains(&0x1b));
}

#[test]
fn text_report_says_at_least_for_a_worst_case_it_did_not_finish() {
    // Docker without spurious answers: nothing is violated in the first
    // 256-state chunk, after which the bound stops the search.
    let env = common::truthful_docker("hardening");
    let out = run(&[
        "check",
        "models/policies/v3-proposed.toml",
        "--env",
        env.to_str().unwrap(),
        "--max-states",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("worst-case detection latency"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("latency at least "), "{line}");
    assert!(line.contains("search incomplete"), "{line}");
}
