//! `meshgen check`: the pull-request gate's findings on stdout in the chosen format, a
//! summary on stderr, exit 1 on any error.

use std::io::Write as _;
use std::path::PathBuf;

use super::{exit, term};
use crate::error::{Diagnostic, Error, Result};
use crate::gitops::check::{self, Paths};

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// `FILE:LINE:COL: FIELD: message`, as `meshgen validate` prints.
    #[default]
    Text,
    /// One JSON object: `findings` (file, line, col, path, severity, message, hint) and counts.
    Json,
    /// GitHub Actions workflow commands: `::error file=...,line=...,col=...::message`.
    Github,
}

/// `meshgen check` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Directory of platform files, from the repository root.
    #[arg(long, value_name = "DIR", default_value = "platforms")]
    pub platforms: PathBuf,
    /// Directory of generated files, from the repository root.
    #[arg(long, value_name = "DIR", default_value = "generated")]
    pub out: PathBuf,
    /// Vendor directory holding meshgen.lock and the charts, from the repository root.
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    pub vendor: PathBuf,
}

pub fn run(args: &CheckArgs) -> Result<u8> {
    super::enter_repo_root()?;
    let report = check::report(&Paths {
        platforms: args.platforms.clone(),
        out: args.out.clone(),
        vendor: args.vendor.clone(),
    })?;
    match args.format {
        Format::Text => {
            // Coloured where stdout is a terminal, plain otherwise.
            write_coloured(&format_text(&report.findings))?;
        }
        Format::Json => {
            super::stdout_write(&check::format_json(&report))?;
        }
        Format::Github => {
            super::stdout_write(&check::format_github(&report.findings))?;
        }
    }
    let errors = report.errors();
    term::note(&format!(
        "check: {errors} error{}, {} warning{}; {} platform files, {} generated files, {} vendored charts, {} application files",
        if errors == 1 { "" } else { "s" },
        report.findings.len() - errors,
        if report.findings.len() - errors == 1 { "" } else { "s" },
        report.platforms,
        report.generated_files,
        report.charts,
        report.lint_files,
    ));
    Ok(if errors > 0 {
        exit::FINDINGS
    } else {
        exit::SUCCESS
    })
}

/// Text on stdout, coloured where stdout is a terminal, plain otherwise.
pub fn write_coloured(text: &str) -> Result<()> {
    let mut out = anstream::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))
}

/// Findings as `meshgen validate` prints them, one after another.
pub fn format_text(findings: &[Diagnostic]) -> String {
    findings
        .iter()
        .map(|d| format!("{}\n", term::diagnostic(d)))
        .collect()
}
