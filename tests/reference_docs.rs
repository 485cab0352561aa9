//! `docs/policy-reference.md` and `docs/environment-reference.md` list every
//! key the policy and environment parsers accept, and nothing else.
//!
//! The keys the parsers accept are derived, not listed here: every key the
//! shipped files use (`models/policies/*.toml`, `models/environments/*.toml`,
//! and the environments under `docs/e2e-docker/`), plus the parser's own
//! answer: a file with an unknown key in a table is refused with serde's
//! "unknown field `…`, expected one of …", which names every field of that
//! table's struct (`deny_unknown_fields`), so asking once per table gives
//! the whole format. Then, both ways:
//!
//! * every accepted key has a row in the reference (a new key fails here
//!   until it is documented);
//! * every documented key is one the parser accepts (by name, and a file
//!   holding it parses: a key no shipped file uses is written with the
//!   value its row says it has when absent);
//! * a key documented as `required` is refused when left out ("missing key"),
//!   and a key documented otherwise is not;
//! * the "Shipped values" table has one column per shipped file and each
//!   cell is that file's value (or `—` when the file leaves the key out).

use livecheck::environment::Environment;
use livecheck::policy::Policy;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One of the two formats: its doc, its shipped files, its parser.
struct Format {
    doc: &'static str,
    /// Files whose keys are accepted keys; `shipped` ones also have a
    /// column in the doc's "Shipped values" table.
    shipped: Vec<PathBuf>,
    others: Vec<PathBuf>,
    /// A shipped file holding every table, the base the probes edit.
    base: &'static str,
    parse: fn(&str) -> Result<(), String>,
}

fn parse_policy(src: &str) -> Result<(), String> {
    Policy::parse("probe", Path::new("probe.toml"), src)
        .map(|_| ())
        .map_err(|e| e.reason)
}

fn parse_env(src: &str) -> Result<(), String> {
    Environment::parse("probe", Path::new("probe.toml"), src)
        .map(|_| ())
        .map_err(|e| e.reason)
}

fn tomls(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .toml in {dir}");
    v
}

fn policy_format() -> Format {
    Format {
        doc: "docs/policy-reference.md",
        shipped: tomls("models/policies"),
        others: vec![],
        base: "models/policies/v3-proposed.toml",
        parse: parse_policy,
    }
}

fn env_format() -> Format {
    Format {
        doc: "docs/environment-reference.md",
        shipped: tomls("models/environments"),
        others: tomls("docs/e2e-docker"),
        base: "models/environments/docker.toml",
        parse: parse_env,
    }
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn table_of(src: &str, what: &str) -> Table {
    src.parse()
        .unwrap_or_else(|e| panic!("{what} is not TOML: {e}"))
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

// ---- the doc's tables ----------------------------------------------------------

/// A markdown table: header cells and rows of cells (`\|` unescaped).
struct MdTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cur).trim().to_owned()),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

fn md_tables(doc: &str) -> Vec<MdTable> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let sep = lines[i + 1].trim();
        if lines[i].trim_start().starts_with('|') && sep.starts_with("|-") {
            let header = cells(lines[i]);
            let mut rows = Vec::new();
            i += 2;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                let row = cells(lines[i]);
                assert_eq!(row.len(), header.len(), "table row: {}", lines[i]);
                rows.push(row);
                i += 1;
            }
            out.push(MdTable { header, rows });
        } else {
            i += 1;
        }
    }
    out
}

/// The text of a cell that is exactly one `code span`.
fn code(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?
        .strip_suffix('`')
        .filter(|c| !c.contains('`'))
}

/// A documented key: its row's "when absent" cell.
struct Documented {
    when_absent: String,
}

/// Every row of every key table (`| key | type | when absent | …`).
fn documented(doc_path: &str, doc: &str) -> BTreeMap<String, Documented> {
    let mut keys = BTreeMap::new();
    for t in md_tables(doc) {
        if t.header.first().map(String::as_str) != Some("key")
            || t.header.get(1).map(String::as_str) != Some("type")
        {
            continue;
        }
        let absent = t
            .header
            .iter()
            .position(|h| h == "when absent")
            .unwrap_or_else(|| panic!("{doc_path}: a key table without a \"when absent\" column"));
        for row in t.rows {
            let key = code(&row[0])
                .unwrap_or_else(|| panic!("{doc_path}: key cell {:?} is not `key`", row[0]));
            let prev = keys.insert(
                key.to_owned(),
                Documented {
                    when_absent: row[absent].clone(),
                },
            );
            assert!(prev.is_none(), "{doc_path}: {key} is documented twice");
        }
    }
    assert!(!keys.is_empty(), "{doc_path}: no key tables");
    keys
}

fn is_required(d: &Documented) -> bool {
    d.when_absent == "required" || d.when_absent.starts_with("required ")
}

// ---- keys of files and of the parser --------------------------------------------

/// Dotted paths of every non-table value in `t` (`section.key`).
fn key_paths(t: &Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(inner) => key_paths(inner, &path, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

fn lookup<'a>(t: &'a Table, key: &str) -> Option<&'a Value> {
    let mut cur = t;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let v = cur.get(*p)?;
        if i + 1 == parts.len() {
            return Some(v);
        }
        cur = v.as_table()?;
    }
    None
}

/// `t` with `key` set to `value` (creating its table), as TOML text.
fn with_key(t: &Table, key: &str, value: Value) -> String {
    let mut t = t.clone();
    let mut cur = &mut t;
    let parts: Vec<&str> = key.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .unwrap_or_else(|| panic!("{p} is not a table"));
    }
    cur.insert(parts[parts.len() - 1].to_owned(), value);
    toml::to_string(&t).expect("serialize TOML")
}

/// `t` without `key`, as TOML text.
fn without_key(t: &Table, key: &str) -> String {
    let mut t = t.clone();
    let mut cur = &mut t;
    let parts: Vec<&str> = key.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur
            .get_mut(*p)
            .and_then(Value::as_table_mut)
            .expect("table");
    }
    cur.remove(parts[parts.len() - 1]).expect("key present");
    toml::to_string(&t).expect("serialize TOML")
}

const PROBE: &str = "zz_not_a_key";

/// The fields serde names for the table at `prefix` ("" = top level), or
/// `None` when `prefix` is not a table (a leaf key).
fn fields_of(
    base: &Table,
    prefix: &str,
    parse: fn(&str) -> Result<(), String>,
) -> Option<Vec<String>> {
    let key = if prefix.is_empty() {
        PROBE.to_owned()
    } else {
        format!("{prefix}.{PROBE}")
    };
    // A leaf that the base holds as a value cannot take a key.
    if !prefix.is_empty() && lookup(base, prefix).is_some_and(|v| !v.is_table()) {
        return None;
    }
    let reason = parse(&with_key(base, &key, Value::Integer(1)))
        .expect_err("a file with an unknown key must be refused");
    let Some((_, expected)) = reason.split_once(&format!("unknown field `{PROBE}`")) else {
        return None; // not a struct here: the key is a leaf
    };
    if expected.contains("there are no fields") {
        return Some(vec![]);
    }
    let names: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    assert!(!names.is_empty(), "cannot read the fields from: {reason}");
    Some(names)
}

/// Every leaf key the parser accepts, asked table by table.
fn accepted(base: &Table, parse: fn(&str) -> Result<(), String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![String::new()];
    while let Some(prefix) = todo.pop() {
        match fields_of(base, &prefix, parse) {
            Some(fields) => {
                assert!(!fields.is_empty() || !prefix.is_empty(), "no fields at all");
                for f in fields {
                    todo.push(if prefix.is_empty() {
                        f
                    } else {
                        format!("{prefix}.{f}")
                    });
                }
            }
            None => {
                out.insert(prefix);
            }
        }
    }
    out
}

// ---- the checks -----------------------------------------------------------------

fn check_format(f: &Format) {
    let doc = read(&root().join(f.doc));
    let documented = documented(f.doc, &doc);

    // Keys the shipped files use (each file parses as it is).
    let mut used = BTreeSet::new();
    let mut files: BTreeMap<String, Table> = BTreeMap::new();
    for p in f.shipped.iter().chain(&f.others) {
        let src = read(p);
        (f.parse)(&src).unwrap_or_else(|e| panic!("{} does not parse: {e}", p.display()));
        let t = table_of(&src, &p.display().to_string());
        key_paths(&t, "", &mut used);
        if f.shipped.contains(p) {
            files.insert(stem(p), t);
        }
    }
    let base = table_of(&read(&root().join(f.base)), f.base);
    let accepted = accepted(&base, f.parse);
    assert!(
        used.is_subset(&accepted),
        "the parser's answer misses keys the files use: {:?}",
        used.difference(&accepted).collect::<Vec<_>>()
    );

    // Accepted → documented.
    let names: BTreeSet<String> = documented.keys().cloned().collect();
    let missing: Vec<&String> = accepted.difference(&names).collect();
    assert!(
        missing.is_empty(),
        "{}: keys the parser accepts but the reference does not document: {missing:?}",
        f.doc
    );
    // Documented → accepted, by name and in a file.
    let extra: Vec<&String> = names.difference(&accepted).collect();
    assert!(
        extra.is_empty(),
        "{}: documented keys the parser rejects: {extra:?}",
        f.doc
    );
    for (key, d) in &documented {
        if used.contains(key) {
            continue; // a shipped file holds it and parses
        }
        let literal = code(&d.when_absent).unwrap_or_else(|| {
            panic!(
                "{}: {key} is in no shipped file, so its \"when absent\" cell must be the TOML value it means (got {:?})",
                f.doc, d.when_absent
            )
        });
        let value: Value = table_of(&format!("v = {literal}"), key)["v"].clone();
        let src = with_key(&base, key, value);
        (f.parse)(&src).unwrap_or_else(|e| panic!("{}: {key} = {literal} is refused: {e}", f.base));
    }

    // `required` is what the parser requires.
    for (key, d) in &documented {
        let leaf = key.rsplit('.').next().unwrap();
        let Some((name, t)) = files.iter().find(|(_, t)| lookup(t, key).is_some()) else {
            assert!(
                !is_required(d),
                "{}: {key} is documented as required but no shipped file has it",
                f.doc
            );
            continue;
        };
        let refused = (f.parse)(&without_key(t, key)).err();
        let says_missing = refused
            .as_deref()
            .is_some_and(|r| r.contains(&format!("missing key `{leaf}`")));
        assert_eq!(
            says_missing,
            is_required(d),
            "{}: {key} is documented as {:?}, but {name} without it gives {refused:?}",
            f.doc,
            d.when_absent
        );
    }

    // The shipped values table.
    let stems: BTreeSet<String> = files.keys().cloned().collect();
    let tables: Vec<MdTable> = md_tables(&doc)
        .into_iter()
        .filter(|t| {
            t.header.first().map(String::as_str) == Some("key")
                && t.header[1..].iter().all(|h| stems.contains(h))
        })
        .collect();
    assert_eq!(tables.len(), 1, "{}: one \"Shipped values\" table", f.doc);
    let t = &tables[0];
    let columns: BTreeSet<String> = t.header[1..].iter().cloned().collect();
    assert_eq!(columns, stems, "{}: one column per shipped file", f.doc);
    let mut rows = BTreeSet::new();
    for row in &t.rows {
        let key = code(&row[0]).expect("key cell");
        assert!(
            documented.contains_key(key),
            "{}: shipped value of undocumented {key}",
            f.doc
        );
        rows.insert(key.to_owned());
        for (col, cell) in t.header[1..].iter().zip(&row[1..]) {
            let actual = lookup(&files[col], key);
            match (cell.as_str(), actual) {
                ("—", None) => {}
                ("—", Some(v)) => panic!("{}: {col} has {key} = {v}, the table says —", f.doc),
                (cell, actual) => {
                    let literal = code(cell)
                        .unwrap_or_else(|| panic!("{}: {key}/{col}: cell {cell:?}", f.doc));
                    let said = table_of(&format!("v = {literal}"), key)["v"].clone();
                    assert_eq!(
                        Some(&said),
                        actual,
                        "{}: {key} in {col}: the table says {literal}",
                        f.doc
                    );
                }
            }
        }
    }
    let files_used: BTreeSet<String> = files
        .values()
        .flat_map(|t| {
            let mut s = BTreeSet::new();
            key_paths(t, "", &mut s);
            s
        })
        .collect();
    let unlisted: Vec<&String> = files_used.difference(&rows).collect();
    assert!(
        unlisted.is_empty(),
        "{}: shipped keys missing from the Shipped values table: {unlisted:?}",
        f.doc
    );
}

#[test]
fn policy_reference_documents_exactly_the_keys_the_parser_accepts() {
    check_format(&policy_format());
}

#[test]
fn environment_reference_documents_exactly_the_keys_the_parser_accepts() {
    check_format(&env_format());
}

/// The probe that enumerates the parser's keys finds what it should: a
/// known optional key no shipped policy uses, and not a made-up one.
#[test]
fn the_parser_probe_sees_unused_keys_and_only_real_ones() {
    let f = policy_format();
    let base = table_of(&read(&root().join(f.base)), f.base);
    let keys = accepted(&base, f.parse);
    assert!(keys.contains("restart.atomic_request"), "{keys:?}");
    assert!(keys.contains("probe.docker_restarting"), "{keys:?}");
    assert!(keys.contains("summary"), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains(PROBE)), "{keys:?}");
    let env = env_format();
    let base = table_of(&read(&root().join(env.base)), env.base);
    let keys = accepted(&base, env.parse);
    assert!(keys.contains("platform.kind"), "{keys:?}");
    assert!(keys.contains("check.latency_horizon"), "{keys:?}");
}
