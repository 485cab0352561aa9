//! Sweep keys, ranges and the grid: which knob a `--vary` names, the values
//! it takes, and the policy/environment each grid point stands for.
//!
//! Overrides happen at the TOML level: the base file is parsed into a
//! [`toml::Table`], the dotted path is set, the table is serialized again and
//! handed to [`Policy::parse`] / [`Environment::parse`], so every grid point
//! goes through exactly the validation a hand-written file would.

use crate::duration::{self, Ms};
use crate::environment::Environment;
use crate::error::InputError;
use crate::policy::Policy;
use std::path::{Path, PathBuf};

/// Grids larger than this need `--yes`.
pub const MAX_POINTS_WITHOUT_YES: u128 = 100_000;

/// Grids larger than this are refused even with `--yes` (the point list
/// alone would not fit comfortably in memory).
pub const MAX_POINTS: u128 = 50_000_000;

/// Which file a knob lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The policy file (`policy.` keys).
    Policy,
    /// The environment file (`env.` keys).
    Env,
}

impl Side {
    /// The key prefix: `policy` or `env`.
    pub fn prefix(self) -> &'static str {
        match self {
            Side::Policy => "policy",
            Side::Env => "env",
        }
    }
}

/// What kind of value a knob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A human duration string in the file (`"30s"`); values are milliseconds.
    Duration,
    /// A TOML integer (`threshold = 2`).
    Integer,
}

impl Kind {
    /// The unit values of this kind are counted in: `ms` or `count`.
    pub fn unit(self) -> &'static str {
        match self {
            Kind::Duration => "ms",
            Kind::Integer => "count",
        }
    }

    /// Parses a unit name written by [`Kind::unit`].
    pub fn from_unit(unit: &str) -> Option<Kind> {
        match unit {
            "ms" => Some(Kind::Duration),
            "count" => Some(Kind::Integer),
            _ => None,
        }
    }

    /// A value as a person writes it: `30s` for durations, `2` for integers.
    pub fn label(self, value: i64) -> String {
        match self {
            // Whole seconds below ten minutes stay in seconds ("60s", not
            // "1m"): axes and tables of a sweep read better in one unit.
            Kind::Duration if value > 0 && value % 1_000 == 0 && value < 600_000 => {
                format!("{}s", value / 1_000)
            }
            Kind::Duration => duration::format(value.max(0) as Ms),
            Kind::Integer => value.to_string(),
        }
    }
}

/// A knob of the policy or the environment file, by its place in the TOML.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Knob {
    /// Which file.
    pub side: Side,
    /// The TOML path inside the file: tables, then the key
    /// (`["settle", "window"]`).
    pub path: Vec<String>,
    /// The kind of value the base file holds there.
    pub kind: Kind,
}

impl Knob {
    /// The canonical name: `policy.settle.window`, `env.boot.not_running_max`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.side.prefix(), self.path.join("."))
    }
}

/// The two base files a sweep varies, read and validated once.
#[derive(Debug, Clone)]
pub struct Base {
    /// The policy file as named on the command line.
    pub policy_path: PathBuf,
    /// Its name (file stem).
    pub policy_name: String,
    /// Its text.
    pub policy_source: String,
    /// Its TOML.
    pub policy_table: toml::Table,
    /// The environment file as named on the command line.
    pub env_path: PathBuf,
    /// Its name (file stem).
    pub env_name: String,
    /// Its text.
    pub env_source: String,
    /// Its TOML.
    pub env_table: toml::Table,
}

impl Base {
    /// Reads both files and validates them as they are (a broken base file is
    /// an error naming its file, line and key, before any sweep key is
    /// looked at).
    pub fn load(policy: &Path, env: &Path) -> Result<Base, InputError> {
        let max = crate::limits::MAX_MODEL_FILE_BYTES;
        let policy_source = crate::input::read_model_file(policy, "policy file", max)?;
        let env_source = crate::input::read_model_file(env, "environment file", max)?;
        Base::from_sources(policy, &policy_source, env, &env_source)
    }

    /// As [`Base::load`], from texts already read; the paths name the files
    /// in errors and give the names (file stems).
    pub fn from_sources(
        policy_path: &Path,
        policy_source: &str,
        env_path: &Path,
        env_source: &str,
    ) -> Result<Base, InputError> {
        let policy_name = crate::input::model_name(policy_path)?;
        let env_name = crate::input::model_name(env_path)?;
        Policy::parse(&policy_name, policy_path, policy_source)?;
        Environment::parse(&env_name, env_path, env_source)?;
        let policy_table: toml::Table = policy_source
            .parse()
            .map_err(|e| InputError::from_toml(policy_path, policy_source, &e))?;
        let env_table: toml::Table = env_source
            .parse()
            .map_err(|e| InputError::from_toml(env_path, env_source, &e))?;
        Ok(Base {
            policy_path: policy_path.to_owned(),
            policy_name,
            policy_source: policy_source.to_owned(),
            policy_table,
            env_path: env_path.to_owned(),
            env_name,
            env_source: env_source.to_owned(),
            env_table,
        })
    }

    fn table(&self, side: Side) -> &toml::Table {
        match side {
            Side::Policy => &self.policy_table,
            Side::Env => &self.env_table,
        }
    }

    /// Every knob a sweep can vary: each integer, and each string that reads
    /// as a duration, in either file, in file order.
    pub fn knobs(&self) -> Vec<Knob> {
        let mut out = Vec::new();
        for side in [Side::Policy, Side::Env] {
            walk(self.table(side), &mut Vec::new(), &mut |path, value| {
                if let Some(kind) = kind_of(value) {
                    out.push(Knob {
                        side,
                        path: path.to_vec(),
                        kind,
                    });
                }
            });
        }
        out
    }

    /// The policy and environment of one grid point: the base files with
    /// `values[k]` set at `knobs[k]`, validated as files are. The error is
    /// the validation's reason, naming the key (`key `reprobe.delay`: …`).
    pub fn apply(&self, knobs: &[Knob], values: &[i64]) -> Result<(Policy, Environment), String> {
        let mut policy = self.policy_table.clone();
        let mut env = self.env_table.clone();
        for (knob, &value) in knobs.iter().zip(values) {
            let table = match knob.side {
                Side::Policy => &mut policy,
                Side::Env => &mut env,
            };
            set(table, &knob.path, to_toml(knob.kind, value))
                .ok_or_else(|| format!("{} is not in the base file", knob.name()))?;
        }
        let policy_text = toml::to_string(&policy).map_err(|e| e.to_string())?;
        let env_text = toml::to_string(&env).map_err(|e| e.to_string())?;
        let p = Policy::parse(&self.policy_name, &self.policy_path, &policy_text)
            .map_err(|e| point_reason(Side::Policy, &e))?;
        let e = Environment::parse(&self.env_name, &self.env_path, &env_text)
            .map_err(|e| point_reason(Side::Env, &e))?;
        Ok((p, e))
    }
}

/// A validation error of a generated file, without its line (the line
/// would point into text nobody wrote) and with the key in sweep form.
fn point_reason(side: Side, e: &InputError) -> String {
    match &e.key {
        Some(key) => format!("{}.{key}: {}", side.prefix(), e.reason),
        None => format!("{}: {}", side.prefix(), e.reason),
    }
}

fn to_toml(kind: Kind, value: i64) -> toml::Value {
    match kind {
        Kind::Duration => toml::Value::String(duration::format(value.max(0) as Ms)),
        Kind::Integer => toml::Value::Integer(value),
    }
}

fn kind_of(value: &toml::Value) -> Option<Kind> {
    match value {
        toml::Value::Integer(_) => Some(Kind::Integer),
        toml::Value::String(s) if duration::parse(s).is_ok() => Some(Kind::Duration),
        _ => None,
    }
}

fn walk(table: &toml::Table, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &toml::Value)) {
    for (k, v) in table {
        path.push(k.clone());
        match v {
            toml::Value::Table(t) => walk(t, path, f),
            _ => f(path, v),
        }
        path.pop();
    }
}

fn get<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (last, tables) = path.split_last()?;
    let mut t = table;
    for name in tables {
        t = t.get(name)?.as_table()?;
    }
    t.get(last)
}

fn set(table: &mut toml::Table, path: &[String], value: toml::Value) -> Option<()> {
    let (last, tables) = path.split_last()?;
    let mut t = table;
    for name in tables {
        t = t.get_mut(name)?.as_table_mut()?;
    }
    let slot = t.get_mut(last)?;
    *slot = value;
    Some(())
}

/// Friendly names for knobs whose TOML path is not what people call them.
/// Each maps `side`, alias to the TOML path.
const ALIASES: &[(Side, &str, &str)] = &[
    (Side::Env, "pending_min", "boot.not_running_min"),
    (Side::Env, "pending_max", "boot.not_running_max"),
];

/// Finds the knob a `--vary` key names. Accepted forms: the canonical
/// `policy.TABLE.KEY` / `env.TABLE.KEY` (`environment.` works too); the
/// same without the prefix when only one file has it; `policy.TABLE_KEY`
/// (`policy.settle_window`); and the aliases `env.pending_min` /
/// `env.pending_max` (the boot not-running range). An unknown key is an
/// error listing every valid key; a key whose value is neither a duration
/// nor an integer is an error saying so.
pub fn resolve_key(base: &Base, key: &str) -> Result<Knob, InputError> {
    let fail = |reason: String| InputError::new(reason).at_key(key.to_owned());
    let key_trim = key.trim();
    if key_trim.is_empty() {
        return Err(fail("empty key: write e.g. policy.settle.window".into()));
    }
    let (sides, rest): (Vec<Side>, &str) = if let Some(r) = key_trim.strip_prefix("policy.") {
        (vec![Side::Policy], r)
    } else if let Some(r) = key_trim
        .strip_prefix("env.")
        .or_else(|| key_trim.strip_prefix("environment."))
    {
        (vec![Side::Env], r)
    } else {
        (vec![Side::Policy, Side::Env], key_trim)
    };
    let mut found: Vec<(Side, Vec<String>)> = Vec::new();
    for &side in &sides {
        let table = base.table(side);
        let mut candidates: Vec<Vec<String>> = vec![rest.split('.').map(str::to_owned).collect()];
        for (s, alias, path) in ALIASES {
            if *s == side && *alias == rest {
                candidates.push(path.split('.').map(str::to_owned).collect());
            }
        }
        if !rest.contains('.') {
            for (i, _) in rest.match_indices('_') {
                candidates.push(vec![rest[..i].to_owned(), rest[i + 1..].to_owned()]);
            }
        }
        for c in candidates {
            if get(table, &c).is_some() && !found.iter().any(|(s, p)| *s == side && *p == c) {
                found.push((side, c));
            }
        }
    }
    match found.len() {
        0 => Err(fail(format!(
            "unknown key; the knobs of {} and {} that can be swept are: {}{}",
            base.policy_path.display(),
            base.env_path.display(),
            base.knobs()
                .iter()
                .map(Knob::name)
                .collect::<Vec<_>>()
                .join(", "),
            if sides.contains(&Side::Env) {
                " (aliases: env.pending_min, env.pending_max; policy.TABLE_KEY for policy.TABLE.KEY)"
            } else {
                " (policy.TABLE_KEY works for policy.TABLE.KEY)"
            }
        ))),
        1 => {
            let (side, path) = found.pop().unwrap_or((Side::Policy, Vec::new()));
            let value = get(base.table(side), &path).ok_or_else(|| fail("not found".into()))?;
            let name = format!("{}.{}", side.prefix(), path.join("."));
            match value {
                toml::Value::Table(_) => Err(fail(format!(
                    "{name} is a table, not a knob: name one of its keys ({})",
                    base.knobs()
                        .iter()
                        .map(Knob::name)
                        .filter(|n| n.starts_with(&format!("{name}.")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
                v => match kind_of(v) {
                    Some(kind) => Ok(Knob { side, path, kind }),
                    None => Err(fail(format!(
                        "{name} is {v}, not a duration or an integer: only those can be swept"
                    ))),
                },
            }
        }
        _ => Err(fail(format!(
            "ambiguous: it names {}; write the full key",
            found
                .iter()
                .map(|(s, p)| format!("{}.{}", s.prefix(), p.join(".")))
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// One `--vary`: a knob and the values it takes, `from, from+step, …, to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vary {
    /// The knob.
    pub knob: Knob,
    /// First value (milliseconds for durations).
    pub from: i64,
    /// Last value, included.
    pub to: i64,
    /// Distance between two values (> 0).
    pub step: i64,
}

impl Vary {
    /// The values, in increasing order.
    pub fn values(&self) -> Vec<i64> {
        (0..self.len() as i64)
            .map(|k| self.from + k * self.step)
            .collect()
    }

    /// How many values (at least 1). Computed wide: `to - from` of two
    /// `i64`s does not fit an `i64` (parse_vary refuses counts over
    /// [`MAX_POINTS`]).
    pub fn len(&self) -> usize {
        let n = (i128::from(self.to) - i128::from(self.from)) / i128::from(self.step.max(1)) + 1;
        usize::try_from(n.max(1)).unwrap_or(usize::MAX)
    }

    /// Never true: a vary has at least one value (kept for clippy's
    /// `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The range as written: `10s..60s/10s`.
    pub fn spec(&self) -> String {
        let k = self.knob.kind;
        format!(
            "{}..{}/{}",
            k.label(self.from),
            k.label(self.to),
            k.label(self.step)
        )
    }
}

fn parse_value(kind: Kind, text: &str) -> Result<i64, String> {
    match kind {
        Kind::Duration => {
            let ms = duration::parse(text)?;
            i64::try_from(ms).map_err(|_| format!("duration {text:?} is too large"))
        }
        Kind::Integer => text.trim().parse::<i64>().map_err(|_| {
            format!("{text:?} is not an integer (this knob is a count, not a duration)")
        }),
    }
}

/// Parses `KEY=FROM..TO/STEP` against the base files. Refused, naming the
/// key and the reason: a missing `=`, `..` or `/STEP`; an unknown key; a
/// value of the wrong kind (a bare number for a duration, a duration for a
/// count); a zero or negative step; an empty or inverted range (`TO`
/// before `FROM`); a `TO` that is not `FROM` plus whole steps.
pub fn parse_vary(base: &Base, text: &str) -> Result<Vary, InputError> {
    let usage = "write KEY=FROM..TO/STEP, e.g. policy.settle.window=10s..60s/10s";
    let Some((key, spec)) = text.split_once('=') else {
        return Err(InputError::new(format!(
            "--vary {text:?} has no '=': {usage}"
        )));
    };
    let knob = resolve_key(base, key)?;
    let name = knob.name();
    let fail = |reason: String| InputError::new(reason).at_key(name.clone());
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(fail(format!("empty range: {usage}")));
    }
    let Some((from_text, rest)) = spec.split_once("..") else {
        return Err(fail(format!("range {spec:?} has no '..': {usage}")));
    };
    let Some((to_text, step_text)) = rest.split_once('/') else {
        return Err(fail(format!(
            "range {spec:?} has no step ('/STEP'): {usage}"
        )));
    };
    if from_text.trim().is_empty() || to_text.trim().is_empty() {
        return Err(fail(format!(
            "empty range {spec:?}: both ends are needed ({usage})"
        )));
    }
    let kind = knob.kind;
    let from = parse_value(kind, from_text).map_err(|e| fail(format!("FROM: {e}")))?;
    let to = parse_value(kind, to_text).map_err(|e| fail(format!("TO: {e}")))?;
    let step = if step_text.trim().starts_with('-') {
        return Err(fail(format!(
            "negative step {:?}: the step must be greater than zero (write the range from low to high)",
            step_text.trim()
        )));
    } else {
        parse_value(kind, step_text).map_err(|e| fail(format!("STEP: {e}")))?
    };
    if step <= 0 {
        return Err(fail(format!(
            "zero step {:?}: the step must be greater than zero",
            step_text.trim()
        )));
    }
    if from > to {
        return Err(fail(format!(
            "inverted range: FROM {} is after TO {} (write the range from low to high)",
            kind.label(from),
            kind.label(to)
        )));
    }
    // Wide arithmetic: `to - from` overflows an i64 for ranges such as
    // i64::MIN..i64::MAX (which once made a sweep of no points).
    let span = i128::from(to) - i128::from(from);
    let count = span / i128::from(step) + 1;
    if count as u128 > MAX_POINTS {
        return Err(fail(format!(
            "the range {} .. {} in steps of {} has {count} values: more than {MAX_POINTS} is refused",
            kind.label(from),
            kind.label(to),
            kind.label(step)
        )));
    }
    if span % i128::from(step) != 0 {
        // Fits: from <= last <= to.
        let last = (i128::from(from) + span / i128::from(step) * i128::from(step)) as i64;
        return Err(fail(format!(
            "TO {} is not FROM {} plus whole steps of {}: the last point would be {}; write ..{}/{} or change the step",
            kind.label(to),
            kind.label(from),
            kind.label(step),
            kind.label(last),
            kind.label(last),
            kind.label(step)
        )));
    }
    Ok(Vary {
        knob,
        from,
        to,
        step,
    })
}

/// The grid: every combination of the varies' values. Point `i` is the
/// mixed-radix number whose most significant digit is the first vary's
/// value index (the first `--vary` changes slowest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// The varies, in command-line order.
    pub varies: Vec<Vary>,
}

impl Grid {
    /// Builds the grid, refusing an empty list, a knob varied twice, and a
    /// grid over [`MAX_POINTS_WITHOUT_YES`] points unless `yes`.
    pub fn new(varies: Vec<Vary>, yes: bool) -> Result<Grid, InputError> {
        if varies.is_empty() {
            return Err(InputError::new(
                "nothing to sweep: give at least one --vary KEY=FROM..TO/STEP",
            ));
        }
        for (i, v) in varies.iter().enumerate() {
            if varies[..i].iter().any(|w| w.knob == v.knob) {
                return Err(
                    InputError::new("the same knob is varied twice (one --vary per knob)")
                        .at_key(v.knob.name()),
                );
            }
        }
        let total: u128 = varies.iter().map(|v| v.len() as u128).product();
        let dims = varies
            .iter()
            .map(|v| format!("{} ({})", v.len(), v.knob.name()))
            .collect::<Vec<_>>()
            .join(" × ");
        if total > MAX_POINTS {
            return Err(InputError::new(format!(
                "the grid has {total} points ({dims}): more than {MAX_POINTS} is refused even with --yes"
            )));
        }
        if total > MAX_POINTS_WITHOUT_YES && !yes {
            return Err(InputError::new(format!(
                "the grid has {total} points ({dims}), more than {MAX_POINTS_WITHOUT_YES}: a sweep that large needs --yes"
            )));
        }
        Ok(Grid { varies })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.varies.iter().map(Vary::len).product()
    }

    /// Never true (a grid has at least one point).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The knobs, in vary order.
    pub fn knobs(&self) -> Vec<Knob> {
        self.varies.iter().map(|v| v.knob.clone()).collect()
    }

    /// The value index of each vary at point `index`.
    pub fn coords(&self, index: usize) -> Vec<usize> {
        let mut rest = index;
        let mut out = vec![0; self.varies.len()];
        for (k, v) in self.varies.iter().enumerate().rev() {
            out[k] = rest % v.len();
            rest /= v.len();
        }
        out
    }

    /// The values of point `index`, in vary order.
    pub fn values(&self, index: usize) -> Vec<i64> {
        self.coords(index)
            .iter()
            .zip(&self.varies)
            .map(|(&c, v)| v.from + c as i64 * v.step)
            .collect()
    }
}

/// A part of a sweep: the `index`-th (1-based) of `count` disjoint parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// Which part, 1..=count.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` (1 ≤ I ≤ N).
    pub fn parse(text: &str) -> Result<Shard, InputError> {
        let bad = |why: &str| InputError::new(format!("--shard {text:?}: {why}"));
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad("write I/N, e.g. 2/4 for the second of four parts"))?;
        let number = |t: &str, which: &str| -> Result<usize, InputError> {
            t.trim().parse::<usize>().map_err(|e| match e.kind() {
                std::num::IntErrorKind::PosOverflow => bad(&format!("{which} is far too large")),
                _ => bad(&format!("{which} is not a whole number")),
            })
        };
        let index = number(i, "I")?;
        let count = number(n, "N")?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(bad("I must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether grid point `point` belongs to this part. Points are dealt
    /// round-robin (`point mod count == index - 1`), so neighbouring points,
    /// which cost about the same, spread over the parts.
    pub fn owns(&self, point: usize) -> bool {
        point % self.count == self.index - 1
    }

    /// The points of a grid of `total` points that this part runs.
    pub fn points(&self, total: usize) -> Vec<usize> {
        (self.index - 1..total).step_by(self.count).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
summary = "t"
[probe]
on_error = "assume_alive"
[heartbeat]
recent_window = "15s"
on_recent = "strike"
[strikes]
threshold = 2
window = "30s"
[restart]
debounce = "60s"
file_write_drop = "15s"
"#;

    fn base() -> Base {
        let env = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/environments/docker.toml"),
        )
        .unwrap();
        Base::from_sources(Path::new("p.toml"), POLICY, Path::new("docker.toml"), &env).unwrap()
    }

    #[test]
    fn keys_resolve_in_every_accepted_form() {
        let b = base();
        for (key, name) in [
            ("policy.strikes.threshold", "policy.strikes.threshold"),
            ("policy.strikes_threshold", "policy.strikes.threshold"),
            ("strikes.window", "policy.strikes.window"),
            ("env.boot.not_running_max", "env.boot.not_running_max"),
            (
                "environment.boot.not_running_max",
                "env.boot.not_running_max",
            ),
            ("env.pending_max", "env.boot.not_running_max"),
            ("env.pending_min", "env.boot.not_running_min"),
            ("boot.first_heartbeat_max", "env.boot.first_heartbeat_max"),
            ("env.heartbeat_interval", "env.heartbeat.interval"),
        ] {
            assert_eq!(resolve_key(&b, key).unwrap().name(), name, "{key}");
        }
        assert_eq!(
            resolve_key(&b, "policy.strikes.threshold").unwrap().kind,
            Kind::Integer
        );
        assert_eq!(
            resolve_key(&b, "policy.strikes.window").unwrap().kind,
            Kind::Duration
        );
    }

    #[test]
    fn bad_keys_say_why() {
        let b = base();
        let e = resolve_key(&b, "policy.settle.window").unwrap_err();
        assert!(e.reason.contains("unknown key"), "{e}");
        assert!(e.reason.contains("policy.strikes.threshold"), "{e}");
        assert!(e.reason.contains("env.boot.not_running_max"), "{e}");
        assert_eq!(e.key.as_deref(), Some("policy.settle.window"));
        let e = resolve_key(&b, "policy.probe.on_error").unwrap_err();
        assert!(e.reason.contains("not a duration or an integer"), "{e}");
        let e = resolve_key(&b, "policy.strikes").unwrap_err();
        assert!(e.reason.contains("is a table"), "{e}");
        // `restart.debounce` is only in the policy, `restart.cycle_min` only
        // in the environment: both resolve without a prefix. A key in both
        // would be ambiguous; none of the shipped files has one.
        assert_eq!(
            resolve_key(&b, "restart.debounce").unwrap().side,
            Side::Policy
        );
        assert_eq!(
            resolve_key(&b, "restart.cycle_min").unwrap().side,
            Side::Env
        );
    }

    #[test]
    fn ranges_parse_and_refuse() {
        let b = base();
        let v = parse_vary(&b, "policy.strikes.window=10s..60s/10s").unwrap();
        assert_eq!(
            v.values(),
            vec![10_000, 20_000, 30_000, 40_000, 50_000, 60_000]
        );
        assert_eq!(v.spec(), "10s..60s/10s");
        let v = parse_vary(&b, "strikes.threshold=1..3/1").unwrap();
        assert_eq!(v.values(), vec![1, 2, 3]);
        let v = parse_vary(&b, "strikes.threshold=2..2/1").unwrap();
        assert_eq!(v.values(), vec![2]);
        for (text, why) in [
            ("strikes.window", "no '='"),
            ("strikes.window=", "empty range"),
            ("strikes.window=..60s/10s", "empty range"),
            ("strikes.window=10s..60s", "no step"),
            ("strikes.window=10s-60s/1s", "no '..'"),
            ("strikes.window=60s..10s/10s", "inverted range"),
            ("strikes.window=10s..60s/0s", "zero step"),
            ("strikes.window=10s..60s/-1s", "negative step"),
            ("strikes.window=10..60/5", "no unit"),
            ("strikes.window=10s..45s/10s", "last point would be 40s"),
            ("strikes.threshold=1s..3s/1s", "not an integer"),
        ] {
            let e = parse_vary(&b, text).unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn grid_enumerates_first_vary_slowest_and_shards_partition() {
        let b = base();
        let g = Grid::new(
            vec![
                parse_vary(&b, "strikes.threshold=1..3/1").unwrap(),
                parse_vary(&b, "strikes.window=10s..20s/10s").unwrap(),
            ],
            false,
        )
        .unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.values(0), vec![1, 10_000]);
        assert_eq!(g.values(1), vec![1, 20_000]);
        assert_eq!(g.values(5), vec![3, 20_000]);
        let mut all: Vec<usize> = (1..=4)
            .flat_map(|i| Shard { index: i, count: 4 }.points(g.len()))
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..6).collect::<Vec<_>>());
        assert!(Shard::parse("0/2").is_err());
        assert!(Shard::parse("3/2").is_err());
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x").is_err());
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
    }

    #[test]
    fn big_grids_need_yes_and_the_same_knob_twice_is_refused() {
        let b = base();
        let big = || {
            vec![
                parse_vary(&b, "strikes.window=1ms..1000ms/1ms").unwrap(),
                parse_vary(&b, "heartbeat.recent_window=1ms..101ms/1ms").unwrap(),
            ]
        };
        let e = Grid::new(big(), false).unwrap_err();
        assert!(e.reason.contains("101000 points"), "{e}");
        assert!(e.reason.contains("--yes"), "{e}");
        assert_eq!(Grid::new(big(), true).unwrap().len(), 101_000);
        let twice = vec![
            parse_vary(&b, "strikes.window=1s..2s/1s").unwrap(),
            parse_vary(&b, "policy.strikes_window=1s..2s/1s").unwrap(),
        ];
        assert!(Grid::new(twice, false)
            .unwrap_err()
            .reason
            .contains("varied twice"));
    }

    #[test]
    fn apply_validates_each_point() {
        let b = base();
        let knobs = vec![resolve_key(&b, "strikes.threshold").unwrap()];
        let (p, _) = b.apply(&knobs, &[3]).unwrap();
        assert_eq!(p.decision.strikes.unwrap().threshold, 3);
        let e = b.apply(&knobs, &[0]).unwrap_err();
        assert!(
            e.starts_with("policy.strikes.threshold: must be at least 1"),
            "{e}"
        );
        let knobs = vec![resolve_key(&b, "env.pending_min").unwrap()];
        let e = b.apply(&knobs, &[4_000]).unwrap_err();
        assert!(e.contains("env.boot.not_running_min"), "{e}");
        assert!(e.contains("longer than"), "{e}");
    }
}
