//! The one output-format choice of the commands that report to people, to
//! programs and to pull requests: `check`, `diff` and `replay --what-if-old`.

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "checker", derive(clap::ValueEnum))]
pub enum Format {
    /// For people at a terminal (colour when stdout is one).
    Text,
    /// The contract's JSON, for programs.
    Json,
    /// Markdown tables, for a pull-request comment or a CI job summary.
    Markdown,
}
