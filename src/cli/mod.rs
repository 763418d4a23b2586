//! The command line: clap definitions, one module per command (its arguments, and a `run`
//! that calls the library and prints), and the one place that formats errors and picks exit
//! codes. Only this module and `main.rs` use clap, print or touch colour.

pub mod check;
pub mod check_values;
pub mod completions;
pub mod explain;
pub mod flux;
pub mod generate;
pub mod import;
pub mod init;
pub mod lines;
pub mod lint;
pub mod man;
pub mod manifests;
pub mod outdated;
pub mod plan;
pub mod platform;
pub mod platforms;
pub mod post_render;
pub mod schema;
pub mod term;
pub mod validate;
pub mod values;
pub mod vendor;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};

/// Install Istio the GitOps way: platform files in, Helm values, vendored charts and Flux objects out.
#[derive(Debug, Parser)]
#[command(
    name = "meshgen",
    version = env!("MESHGEN_LONG_VERSION"),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// Print only errors and the command's output.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: files written, where the time went.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in platforms and those in ./platforms/, with a one-line description.
    Platforms,
    /// Print the JSON schema of platform files, or write or check the committed copy.
    Schema(schema::SchemaArgs),
    /// Validate platform files: schema, then the rules a schema cannot express.
    Validate(validate::ValidateArgs),
    /// Render the Helm values file of a platform for its Istio release line.
    Values(values::ValuesArgs),
    /// List the supported Istio release lines, their pinned versions, releases and charts.
    Lines,
    /// Fetch the Istio charts the platforms use from git into vendor/, pinned in vendor/meshgen.lock.
    Vendor(vendor::VendorArgs),
    /// Which platforms are behind their line's newest release, and which `vendor --update` would move.
    Outdated(outdated::OutdatedArgs),
    /// Helm post-renderer: add the replicas and pod anti-affinity the charts cannot set (stdin to stdout).
    PostRender(post_render::PostRenderArgs),
    /// Print the objects a platform needs besides the charts: pod security policy, injection namespaces.
    Manifests(manifests::ManifestsArgs),
    /// Print the Flux objects that install a platform from your repository's vendored charts.
    Flux(flux::FluxArgs),
    /// Check values files against a chart's defaults: undeclared keys and wrong types.
    CheckValues(check_values::CheckValuesArgs),
    /// Turn IstioOperator resources into a platform file (stdout); every field mapped, passed through or refused.
    Import(import::ImportArgs),
    /// Scaffold a GitOps repository: example platform, schemas, lock, CI workflow, pre-commit hook, README.
    Init(init::InitArgs),
    /// Render every platform file into generated/<platform>/ (values.yaml, manifests.yaml); --check for staleness.
    Generate(generate::GenerateArgs),
    /// What each cluster must do to go from a git ref's platforms to the working tree's: ordered steps, commands, findings.
    Plan(plan::PlanArgs),
    /// The pull-request gate: platform files valid, vendored charts as locked, generated files current.
    Check(check::CheckArgs),
    /// Lint application manifests against the platform's Istio line: port names, pod labels, protocols, PSP bindings, injection, sidecar ports.
    Lint(lint::LintArgs),
    /// Print each value of a platform's values file with where it comes from.
    Explain(explain::ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page, or write one page per command into a directory.
    Man(man::ManArgs),
}

/// Exit codes, documented in the README.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// Invalid input or stale output: the user has something to fix.
    pub const FINDINGS: u8 = 1;
    /// Usage or I/O error: the command could not run.
    pub const FAILURE: u8 = 2;
}

/// The exit code an error ends a command with.
pub fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Findings(_) | Error::MovedTag { .. } => exit::FINDINGS,
        Error::Io { .. } | Error::Usage(_) | Error::Vendor(_) | Error::Render(_) => exit::FAILURE,
    }
}

/// Runs a parsed command line; the only place that prints errors and chooses the exit code.
pub fn run(cli: Cli) -> ExitCode {
    term::set_verbosity(if cli.quiet {
        -1
    } else {
        cli.verbose.min(i8::MAX as u8) as i8
    });
    let outcome = match cli.command {
        Command::Platforms => platforms::run(),
        Command::Schema(args) => schema::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Values(args) => values::run(&args),
        Command::Lines => lines::run(),
        Command::Vendor(args) => vendor::run(&args),
        Command::Outdated(args) => outdated::run(&args),
        Command::PostRender(args) => post_render::run(&args),
        Command::Manifests(args) => manifests::run(&args),
        Command::Flux(args) => flux::run(&args),
        Command::CheckValues(args) => check_values::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // anstream drops the colour where stderr is not a terminal or NO_COLOR is set.
            let _ = writeln!(anstream::stderr().lock(), "{}", format_error(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// An error as printed on stderr: located findings one per line, anything else after `error: `.
pub fn format_error(err: &Error) -> String {
    match err {
        Error::Findings(diagnostics) => diagnostics
            .iter()
            .map(term::diagnostic)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => format!("{}{err}", term::error_prefix()),
    }
}

/// A command's output on stdout, flushed; a closed pipe is an I/O error on `<stdout>`.
pub fn stdout_write(text: &str) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(exit::SUCCESS)
}

/// The directory commands resolve names, the lock and `meshgen.yaml` against: the repository
/// root, found from a subdirectory as git finds it (relative, `.` at the root).
pub fn current_dir() -> Result<std::path::PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    Ok(crate::gitops::repo_config::repo_root(&cwd))
}

/// For the commands that work on the whole repository (`generate`, `check`): moves to its
/// root, as git does, so that their directories (`platforms/`, `generated/`, `vendor/`, and
/// the Flux paths inside the repository) mean the same from any subdirectory.
pub fn enter_repo_root() -> Result<()> {
    let root = current_dir()?;
    if root != std::path::Path::new(".") {
        std::env::set_current_dir(&root).map_err(|e| Error::io(&root, e))?;
    }
    Ok(())
}
