//! The command line: clap definitions and the one place that prints errors and picks exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{exit, Error, Result};
use crate::release_line::ReleaseLine;

/// Install Istio the GitOps way: platform files in, Helm values, vendored charts and Flux objects out.
#[derive(Debug, Parser)]
#[command(name = "meshgen", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the supported Istio release lines, their pinned versions and charts.
    Lines,
    /// Fetch the Istio charts of each release line from git into vendor/, pinned in vendor/meshgen.lock.
    Vendor(crate::vendor::VendorArgs),
}

/// Runs a parsed command line; the only place that prints errors and chooses the exit code.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::Lines => print_lines(),
        Command::Vendor(args) => crate::vendor::run(&args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(std::io::stderr().lock(), "{}", format_error(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

fn format_error(err: &Error) -> String {
    match err {
        Error::Findings(_) => err.to_string(),
        _ => format!("error: {err}"),
    }
}

fn stdout_write(text: &str) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(exit::SUCCESS)
}

fn print_lines() -> Result<u8> {
    let mut text = String::new();
    for line in ReleaseLine::ALL {
        let charts: Vec<&str> = line.charts().iter().map(|c| c.name).collect();
        text.push_str(&format!(
            "{:<5} {:<8} {}\n",
            line.as_str(),
            line.pinned_version(),
            charts.join(", ")
        ));
    }
    stdout_write(&text)
}
