//! Errors of the library: typed, with located diagnostics. The CLI (`cli::exit_code`)
//! decides what they mean for the exit code.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can stop a meshgen command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The command line asked for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// Input was read but is wrong: the diagnostics say where and why.
    #[error("{}", render_all(.0))]
    Findings(Vec<Diagnostic>),
    /// Rendering failed: a meshgen bug, reported as such.
    #[error("{0}")]
    Render(String),
    /// A vendoring or lock problem.
    #[error("{0}")]
    Vendor(String),
    /// A release tag now points at another commit than the lock records: upstream rewrote
    /// a release, or the remote is not the one locked. A finding, not a failure to run.
    #[error("moved tag: tag {tag} of line {line} is locked at commit {locked} but the remote now has it at {found}; review the change, then accept it with `meshgen vendor --update {line}`")]
    MovedTag {
        line: String,
        tag: String,
        locked: String,
        found: String,
    },
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

/// One located problem is a failure of its own.
impl From<Diagnostic> for Error {
    fn from(diagnostic: Diagnostic) -> Error {
        Error::Findings(vec![diagnostic])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How serious a diagnostic is: errors fail the command, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Said for information: never fails a command (`lint`'s pods without a sidecar).
    Info,
    Warning,
    Error,
}

impl Severity {
    /// Its name, as it serializes (`info`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One located problem in an input file: `FILE:LINE:COL: FIELD-PATH: message`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the problem has no position (an empty file, say).
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub col: usize,
    /// Dotted path of the field, `spec.ingressGateway.nodePorts.http2`; empty for the whole file.
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The id of the `lint` rule that found it (`port-name`); None for everything else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Diagnostic {
    /// An error at `file:line:col` (0 where unknown) on the field at `path` (empty for the
    /// whole file): the one way every input problem becomes a diagnostic.
    pub fn error(
        file: impl Into<String>,
        line: usize,
        col: usize,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            line,
            col,
            path: path.into(),
            message: message.into(),
            hint: None,
            rule: None,
        }
    }

    /// The same diagnostic, with a hint on how to fix it.
    pub fn with_hint(self, hint: impl Into<String>) -> Diagnostic {
        Diagnostic {
            hint: Some(hint.into()),
            ..self
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `FILE:LINE:COL`, or only as much of it as is known: `FILE:LINE` without a column and
    /// `FILE` without a position, never a made-up `FILE:0:0`.
    pub fn location(&self) -> String {
        match (self.line, self.col) {
            (0, _) => self.file.clone(),
            (line, 0) => format!("{}:{line}", self.file),
            (line, col) => format!("{}:{line}:{col}", self.file),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location())?;
        match self.severity {
            Severity::Warning => f.write_str("warning: ")?,
            Severity::Info => f.write_str("info: ")?,
            Severity::Error => {}
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(rule) = &self.rule {
            write!(f, " [{rule}]")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
