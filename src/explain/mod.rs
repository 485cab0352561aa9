//! `livecheck explain`: one property of one policy × environment, explained
//! with its shortest counterexample (or, when it holds, with the figure that
//! shows it: the worst-case detection latency and the path reaching it, or a
//! shortest example run), and `livecheck explain 2929`: the #2929 incident as
//! the checker finds it on `v1-2931` in the docker environment.
//!
//! Every output is drawn from one [`Explanation`] through the one timeline
//! walk of [`crate::trace`]: `text` (the same renderer `check` uses),
//! [`mermaid`] (a sequence diagram GitHub renders), [`itf`] (the Informal
//! Trace Format of Apalache and Quint), [`html`] (one self-contained page with
//! an inline SVG sequence diagram), [`replay_log`] (the counterexample as a
//! replay log that `livecheck replay` turns back into the fatal decision),
//! `json`, and [`lesson`] (the markdown of `docs/lessons/2929.md`). One run
//! renders every format at once into a directory ([`write_all_formats`],
//! `--out-dir`), and a recorded proof replaces the check ([`recorded`],
//! `--from`).
//!
//! Exit status of [`run`]: for a property, as `check` says of it (0 holds,
//! 1 violated, 3 inconclusive); for `2929`, 0 when the checker reproduces the
//! incident on `v1-2931` and 1 when it no longer does (the lesson would be
//! wrong); 2 for bad input (unknown property, unreadable or invalid files).

pub mod diagram;
pub mod html;
pub mod itf;
pub mod lesson;
pub mod mermaid;
pub mod recorded;
pub mod replay_log;

use crate::check::{check_pair, CheckOptions, PairResult, Verdict};
use crate::duration::{Human, Ms};
use crate::environment::Environment;
use crate::error::InputError;
use crate::model::properties::{self, CONTRACT, SOMETIMES};
use crate::model::search::{self, SearchEnd, Trail};
use crate::model::{World, WorldState};
use crate::policy::Policy;
use crate::trace::{self, Walk};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The #2929 incident's policy: V1, PR #2931.
pub const INCIDENT_POLICY: &str = "models/policies/v1-2931.toml";
/// The policy that fixed #2929: V2, PR #2950.
pub const FIX_POLICY: &str = "models/policies/v2-2950.toml";
/// The #2929 incident's environment (local Docker, as in CI job 506813).
pub const INCIDENT_ENV: &str = "models/environments/docker.toml";
/// The property #2929 breaks.
pub const INCIDENT_PROPERTY: &str = "no_self_fire_on_lone_false";

/// States a shortest-path search of `explain` may visit.
pub const SEARCH_LIMIT: usize = 60_000_000;

/// Output format of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The timeline table, for people (colour on a terminal).
    Text,
    /// A mermaid `sequenceDiagram` (renders on GitHub as is).
    Mermaid,
    /// The Informal Trace Format (ITF JSON) of Apalache and Quint.
    Itf,
    /// One self-contained HTML page: timeline table and inline SVG diagram.
    Html,
    /// A replay log (JSON Lines, CONTRACT.md's format).
    Replay,
    /// The explanation as JSON (verdict, why, timeline).
    Json,
    /// The markdown lesson (`explain 2929` only): `docs/lessons/2929.md`.
    Lesson,
}

/// Arguments of `livecheck explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// A policy (a file or a shipped name such as `v2-2950`), or `2929` for
    /// the #2929 incident (v1-2931, docker). Not with --from.
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    pub target: Option<String>,
    /// The environment (a file or a shipped name such as `cloud`; required
    /// with a policy).
    #[arg(long)]
    pub env: Option<PathBuf>,
    /// The property to explain (required with a policy or --from).
    #[arg(long)]
    pub property: Option<String>,
    /// Output format on stdout (`lesson`: the markdown of
    /// docs/lessons/2929.md, with `2929`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write every format into this directory (STEM.txt, .mermaid.md, .html,
    /// .itf.json, .replay.jsonl, .json; STEM is POLICY.ENV.PROPERTY, `2929`
    /// or `2929.POLICY`) from one run, and list the files on stdout.
    #[arg(long, value_name = "DIR", conflicts_with = "format")]
    pub out_dir: Option<PathBuf>,
    /// Explain from a recorded proof (proofs/POLICY.ENV.json) instead of
    /// checking again: its runs are replayed from their recorded model
    /// actions. A proof that no longer matches the policy, environment, model
    /// or livecheck version is refused (exit 2).
    #[arg(long, value_name = "PROOF", conflicts_with_all = ["env", "policy"])]
    pub from: Option<PathBuf>,
    /// Checker threads (1 to 256). Not with --from (nothing is searched).
    #[arg(
        long,
        default_value_t = 1,
        value_parser = crate::limits::parse_threads,
        conflicts_with = "from"
    )]
    pub threads: usize,
    /// Stop the check after this many generated states (at least 1). Not
    /// with --from.
    #[arg(long, value_parser = crate::limits::parse_max_states, conflicts_with = "from")]
    pub max_states: Option<usize>,
    /// Stop the check after this many seconds (1 to 31536000). Not with
    /// --from.
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = crate::limits::parse_timeout,
        conflicts_with = "from"
    )]
    pub timeout: Option<u64>,
    /// With 2929: does this policy (a file or a shipped name) still show
    /// #2929? Exit 1 it does, 0 it rules it out, 3 the search could not tell.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

/// What an explanation's trail shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A shortest run that breaks the property (its last step marked).
    Counterexample,
    /// A shortest run meeting a `sometimes` property.
    Example,
    /// A shortest run reaching the worst-case detection latency.
    WorstCase,
    /// No run: the verdict stands alone.
    Nothing,
}

/// One property of one model, ready to render in any format.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The model (policy and environment).
    pub world: World,
    /// The property's contract name.
    pub property: &'static str,
    /// Its verdict.
    pub verdict: Verdict,
    /// What the trail shows.
    pub shown: Shown,
    /// The run shown, if any.
    pub trail: Option<Trail>,
    /// The run walked into timeline lines (violation marked for a
    /// counterexample); `None` exactly when `trail` is.
    pub walk: Option<Walk>,
    /// `dead_detected_within`: the worst detection latency seen.
    pub worst_case_ms: Option<Ms>,
    /// Distinct states the check visited (0 when no full check ran).
    pub unique_states: usize,
    /// The check visited every reachable state.
    pub complete: bool,
    /// One line naming what is explained.
    pub title: String,
    /// Plain sentences: why the run breaks the property, or why none is
    /// shown.
    pub summary: String,
}

impl Explanation {
    /// An explanation of `trail` (if any) for `property`; walks the trail and
    /// marks the violating step when `shown` is a counterexample.
    pub fn new(
        world: World,
        property: &'static str,
        verdict: Verdict,
        shown: Shown,
        trail: Option<Trail>,
        title: String,
        summary: String,
    ) -> Explanation {
        let walk = trail.as_ref().map(|t| {
            let mut w = trace::walk(&world, t);
            if shown == Shown::Counterexample {
                trace::mark_violation(&mut w);
            }
            w
        });
        Explanation {
            world,
            property,
            verdict,
            shown: if trail.is_some() {
                shown
            } else {
                Shown::Nothing
            },
            trail,
            walk,
            worst_case_ms: None,
            unique_states: 0,
            complete: false,
            title,
            summary,
        }
    }

    /// The timeline lines (empty when no run is shown).
    pub fn entries(&self) -> &[trace::Entry] {
        self.walk.as_ref().map_or(&[], |w| &w.entries)
    }

    /// A short label for the model: `v1-2931 × docker`.
    pub fn pair_label(&self) -> String {
        format!("{} × {}", self.world.policy.name, self.world.env.name)
    }

    /// The exit status `explain` gives for this explanation (as `check`
    /// would for this property alone).
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Holds => 0,
            Verdict::Violated => 1,
            Verdict::Inconclusive => 3,
        }
    }
}

/// The contract's property named `name`, or an error listing the valid
/// names.
pub fn property_name(name: &str) -> Result<&'static str, InputError> {
    CONTRACT
        .iter()
        .copied()
        .find(|p| *p == name)
        .ok_or_else(|| {
            InputError::new(format!(
                "unknown property {name:?}; valid properties: {}",
                CONTRACT.join(", ")
            ))
            .at_key("--property")
        })
}

/// Explains `property` from a finished check of its pair.
pub fn from_check(pair: &PairResult, property: &'static str) -> Explanation {
    let world = pair.world.clone();
    let label = format!("{} × {}", world.policy.name, world.env.name);
    let Some(r) = pair.property(property) else {
        // Every check reports every contract property; keep going anyway.
        return Explanation::new(
            world,
            property,
            Verdict::Inconclusive,
            Shown::Nothing,
            None,
            format!("{label} · {property}: not reported"),
            "the check did not report this property".into(),
        );
    };
    let sometimes = SOMETIMES.contains(&property);
    let bound = Human(world.env.detection_bound);
    let states = pair.unique_states;
    let (shown, trail, summary) = match (r.verdict, sometimes) {
        (Verdict::Violated, false) => {
            let mut s = format!("{}.", properties::why(property));
            if let Some(ms) = r.worst_case_ms {
                s.push_str(&format!(
                    " The worst detection latency seen is over {} (bound {bound}).",
                    Human(ms)
                ));
            }
            if r.trail.is_none() {
                s.push_str(" (No shortest counterexample could be rebuilt within the search limit.)");
            }
            (Shown::Counterexample, r.trail.clone(), s)
        }
        (Verdict::Violated, true) => (
            Shown::Nothing,
            None,
            format!(
                "{} (complete search of {states} states).",
                properties::why(property)
            ),
        ),
        (Verdict::Holds, true) => (
            Shown::Example,
            r.trail.clone(),
            "holds: some run reaches it; a shortest such run is shown.".into(),
        ),
        (Verdict::Holds, false) if property == "dead_detected_within" => match r.worst_case_ms {
            Some(ms) => (
                Shown::WorstCase,
                r.worst_case_trail.clone(),
                format!(
                    "holds: every crash is declared dead within the bound of {bound} \
                     (complete search of {states} states). The worst case is {}; \
                     a shortest run reaching it is shown.",
                    Human(ms)
                ),
            ),
            None => (
                Shown::Nothing,
                None,
                format!(
                    "holds: the environment {} never crashes, so there is nothing to detect.",
                    world.env.name
                ),
            ),
        },
        (Verdict::Holds, false) => (
            Shown::Nothing,
            None,
            format!(
                "holds: none of the {states} reachable states breaks it (complete search)."
            ),
        ),
        (Verdict::Inconclusive, _) => (
            Shown::Nothing,
            None,
            format!(
                "inconclusive: the search stopped ({}) after {states} states, before it could tell.",
                pair.stopped_by.unwrap_or("bound")
            ),
        ),
    };
    let title = format!("{label} · {property}: {}", r.verdict.word().to_uppercase());
    let mut e = Explanation::new(world, property, r.verdict, shown, trail, title, summary);
    e.worst_case_ms = r.worst_case_ms;
    e.unique_states = states;
    e.complete = pair.complete;
    e
}

/// Checks `policy` in `env` and explains `property` (a contract name).
pub fn explain_property(
    policy: &Policy,
    env: &Environment,
    property: &'static str,
    opts: &CheckOptions,
) -> Explanation {
    let pair = check_pair(policy, env, opts);
    from_check(&pair, property)
}

// ---- #2929 -----------------------------------------------------------------

/// The #2929 shape as the incident's record tells it, as a target: a
/// request's decision declared the container dead on a lone not-running
/// result inside a restart's settle period, and the restart it requested
/// really started a new cycle (not dropped by the debounce, not coalesced):
/// [`crate::model::event::LONE_FIRE`].
pub fn incident_target(_world: &World, s: &WorldState) -> bool {
    s.events & crate::model::event::LONE_FIRE != 0
}

/// A shortest run of `world` with the #2929 shape ([`incident_target`]).
pub fn find_incident(world: &World) -> Result<Trail, SearchEnd> {
    search::shortest(world, incident_target, SEARCH_LIMIT)
}

/// `env` where the container never crashes and never answers not-running
/// falsely: the only not-running answers left are those of a restart (the
/// stopped or booting container). Used to show the variant of #2929 in which
/// one not-running answer is all the run ever sees.
pub fn only_restart_answers(env: &Environment) -> Environment {
    Environment {
        spurious_not_running: 0,
        may_crash: false,
        ..env.clone()
    }
}

/// Loads a policy and an environment relative to the working directory,
/// with a hint when run from elsewhere.
fn load_pair(policy: &str, env: &str) -> Result<(Policy, Environment), InputError> {
    let hint = |e: InputError| {
        let mut e = e;
        e.reason
            .push_str(" (explain 2929 reads the shipped models: run it from the repository root)");
        e
    };
    let p = Policy::load(Path::new(policy)).map_err(hint)?;
    let e = Environment::load(Path::new(env)).map_err(hint)?;
    Ok((p, e))
}

/// `explain 2929`: the incident as the checker finds it on `v1-2931` in the
/// docker environment with only the restart's own not-running answers
/// ([`only_restart_answers`]: no spurious answer, no crash), as in CI job
/// 506813, where the one `IsRunning=false` was the restarted container's.
pub fn incident() -> Result<Explanation, InputError> {
    let (policy, env) = load_pair(INCIDENT_POLICY, INCIDENT_ENV)?;
    Ok(incident_in(World::new(policy, only_restart_answers(&env))))
}

/// The #2929 explanation for `world` (normally `v1-2931` × docker).
pub fn incident_in(world: World) -> Explanation {
    let title = format!(
        "#2929 on {} × {}: a lone IsRunning=false right after a restart fires another restart",
        world.policy.name, world.env.name
    );
    match find_incident(&world) {
        Ok(trail) => {
            let manual = trail
                .steps
                .iter()
                .any(|(a, _)| *a == crate::model::Action::ManualRestart);
            let path = if manual {
                "a manual restart (Restart, Resume or a provider switch) never stamps the \
                 restart coordinator, so the debounce had no stamp to drop it by"
            } else {
                "the debounce did not drop it"
            };
            Explanation::new(
                world,
                INCIDENT_PROPERTY,
                Verdict::Violated,
                Shown::Counterexample,
                Some(trail),
                title,
                format!(
                    "{}, and the restart it asked for really started: {path}.",
                    properties::why(INCIDENT_PROPERTY)
                ),
            )
        }
        Err(end) => {
            let summary = match end {
                SearchEnd::Exhausted => "no run declares the container dead on a lone not-running \
                     result inside a restart's settle period and then starts the restart it asked \
                     for: the incident does not reproduce in this model"
                    .to_string(),
                SearchEnd::Limit => format!(
                    "the search stopped at its limit of {SEARCH_LIMIT} states before finding the incident"
                ),
            };
            let verdict = match end {
                SearchEnd::Exhausted => Verdict::Holds,
                SearchEnd::Limit => Verdict::Inconclusive,
            };
            Explanation::new(
                world,
                INCIDENT_PROPERTY,
                verdict,
                Shown::Nothing,
                None,
                title,
                summary,
            )
        }
    }
}

// ---- rendering -------------------------------------------------------------

/// The explanation as text: title, the timeline (the renderer `check`
/// uses) and the plain sentence saying why. `colour` adds ANSI colour.
pub fn render_text(e: &Explanation, colour: bool) -> String {
    let (bold, reset) = if colour {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut s = format!("{bold}{}{reset}\n", e.title);
    if let (Some(trail), Some(walk)) = (&e.trail, &e.walk) {
        let what = match e.shown {
            Shown::Counterexample => "shortest counterexample",
            Shown::Example => "shortest example",
            Shown::WorstCase => "shortest run reaching the worst case",
            Shown::Nothing => "run",
        };
        let end = walk.steps.last().map_or(0, |st| st.t_ms);
        s.push_str(&format!(
            "{what}: {} model steps, {} of model time\n",
            trail.steps.len(),
            Human(end)
        ));
        let why = match e.shown {
            Shown::Counterexample => Some(e.summary.trim_end_matches('.')),
            _ => None,
        };
        s.push_str(&trace::render_text(&walk.entries, why, colour));
        if e.shown != Shown::Counterexample {
            s.push_str(&format!("     {}\n", e.summary));
        }
    } else {
        s.push_str(&format!("     {}\n", e.summary));
    }
    s
}

/// The explanation as JSON: model, property, verdict, why and the timeline
/// (the lines `check --format json` gives, plus each line's `req`, probe
/// `result` and `restart` fate).
pub fn render_json(e: &Explanation) -> serde_json::Value {
    let mut v = serde_json::json!({
        "policy": e.world.policy.name,
        "environment": e.world.env.name,
        "property": e.property,
        "verdict": e.verdict.word(),
        "title": e.title,
        "summary": e.summary,
    });
    if e.verdict == Verdict::Violated {
        v["why"] = serde_json::json!(properties::why(e.property));
    }
    if let Some(ms) = e.worst_case_ms {
        v["worst_case_ms"] = serde_json::json!(ms);
    }
    if let Some(walk) = &e.walk {
        let key = match e.shown {
            Shown::Counterexample => "counterexample",
            Shown::Example => "example",
            Shown::WorstCase => "worst_case_path",
            Shown::Nothing => "run",
        };
        v[key] = serde_json::to_value(&walk.entries).unwrap_or(serde_json::Value::Null);
    }
    v
}

/// Renders `e` in `format` (`lesson` is not a per-explanation format: see
/// [`lesson::render`]).
pub fn render(e: &Explanation, format: Format, colour: bool) -> Result<String, InputError> {
    Ok(match format {
        Format::Text => render_text(e, colour),
        Format::Mermaid => mermaid::render(e),
        Format::Itf => serde_json::to_string_pretty(&itf::render(e)).unwrap_or_default() + "\n",
        Format::Html => html::render(e),
        Format::Replay => replay_log::render(e),
        Format::Json => serde_json::to_string_pretty(&render_json(e)).unwrap_or_default() + "\n",
        Format::Lesson => {
            return Err(
                InputError::new("--format lesson is for `livecheck explain 2929` only")
                    .at_key("--format"),
            )
        }
    })
}

fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `livecheck explain`: loads the files (bad input fails before any work),
/// explains, writes the chosen format to stdout (or every format into
/// `--out-dir`) and returns the exit status (see the module docs).
pub fn run(args: &ExplainArgs) -> Result<u8, InputError> {
    if args.threads == 0 {
        return Err(InputError::new("--threads must be at least 1").at_key("--threads"));
    }
    let target = args.target.as_deref().unwrap_or_default();
    let is_2929 = args.from.is_none() && target == "2929" && !Path::new(target).is_file();
    if args.policy.is_some() && !is_2929 {
        return Err(InputError::new(
            "--policy goes with `explain 2929` (explain POLICY names the policy itself)",
        )
        .at_key("--policy"));
    }
    if is_2929 && (args.env.is_some() || args.property.is_some()) {
        return Err(InputError::new(
            "`explain 2929` takes no --env or --property: it is v1-2931 in the docker environment, property no_self_fire_on_lone_false",
        ));
    }
    if args.format == Format::Lesson && (!is_2929 || args.policy.is_some()) {
        let why = if is_2929 {
            "--format lesson tells the incident on v1-2931 only; drop --policy"
        } else {
            "--format lesson is for `livecheck explain 2929` only"
        };
        return Err(InputError::new(why).at_key("--format"));
    }
    if is_2929 && args.policy.is_none() && args.format == Format::Lesson {
        crate::cli::print_stdout(&lesson::generate()?);
        return Ok(0);
    }
    let (e, stem, code) = if is_2929 {
        match &args.policy {
            Some(p) => {
                let file = crate::cli::shipped_name(p, "policies", "policy")?;
                let policy = crate::cli::load_policy(&file)?;
                let (_, env) = load_pair(INCIDENT_POLICY, INCIDENT_ENV)?;
                let stem = format!("2929.{}", policy.name);
                let e = incident_in(World::new(policy, only_restart_answers(&env)));
                let code = e.exit_code();
                (e, stem, code)
            }
            None => {
                let e = incident()?;
                // 0 when the checker reproduces the incident (the lesson
                // holds), 1 when it no longer does.
                let code = u8::from(e.shown != Shown::Counterexample);
                (e, "2929".to_owned(), code)
            }
        }
    } else {
        let property = args.property.as_deref().ok_or_else(|| {
            InputError::new(format!(
                "--property is required; valid properties: {}",
                CONTRACT.join(", ")
            ))
            .at_key("--property")
        })?;
        let property = property_name(property)?;
        let pair = match &args.from {
            Some(proof) => recorded::pair_from_proof(proof)?,
            None => {
                let env_arg = args.env.as_ref().ok_or_else(|| {
                    InputError::new("--env ENV is required (a file or a shipped name, e.g. docker)")
                        .at_key("--env")
                })?;
                let policy_file =
                    crate::cli::shipped_name(Path::new(target), "policies", "policy")?;
                let env_file = crate::cli::shipped_name(env_arg, "environments", "environment")?;
                let policy = crate::cli::load_policy(&policy_file)?;
                let env = crate::cli::load_environment(&env_file)?;
                let opts = CheckOptions {
                    threads: args.threads,
                    max_states: args.max_states,
                    timeout: args.timeout.map(Duration::from_secs),
                    progress: false,
                    exhaustive: false,
                };
                check_pair(&policy, &env, &opts)
            }
        };
        let e = from_check(&pair, property);
        let stem = format!("{}.{}.{property}", e.world.policy.name, e.world.env.name);
        let code = e.exit_code();
        (e, stem, code)
    };
    match &args.out_dir {
        Some(dir) => {
            for file in write_all_formats(&e, dir, &stem)? {
                println!("{}", file.display());
            }
        }
        None => crate::cli::print_stdout(&render(&e, args.format, colour_wanted())?),
    }
    Ok(code)
}

/// Every per-explanation format and the file suffix it is written under by
/// `--out-dir` (the lesson is not one: it tells the incident as a whole).
pub const OUT_DIR_FILES: [(Format, &str); 6] = [
    (Format::Text, "txt"),
    (Format::Mermaid, "mermaid.md"),
    (Format::Html, "html"),
    (Format::Itf, "itf.json"),
    (Format::Replay, "replay.jsonl"),
    (Format::Json, "json"),
];

/// Writes `e` in every format of [`OUT_DIR_FILES`] as `dir/STEM.SUFFIX`
/// (creating `dir`), text without colour; the mermaid diagram inside a
/// ```` ```mermaid ```` block so the `.md` renders on GitHub. Returns the
/// files written; an error names the file that could not be.
pub fn write_all_formats(
    e: &Explanation,
    dir: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, InputError> {
    std::fs::create_dir_all(dir).map_err(|err| {
        InputError::new(format!("cannot create the output directory: {err}")).in_file(dir)
    })?;
    let mut written = Vec::with_capacity(OUT_DIR_FILES.len());
    for (format, suffix) in OUT_DIR_FILES {
        let mut text = render(e, format, false)?;
        if format == Format::Mermaid {
            text = format!("```mermaid\n{text}```\n");
        }
        let file = dir.join(format!("{stem}.{suffix}"));
        std::fs::write(&file, text)
            .map_err(|err| InputError::new(format!("cannot write: {err}")).in_file(&file))?;
        written.push(file);
    }
    Ok(written)
}
