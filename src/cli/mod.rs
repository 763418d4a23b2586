//! The command line: clap definitions and the one place that prints errors and picks exit codes.

pub mod commands;
pub mod term;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::{exit, Error, Result};
use crate::model::release_line::ReleaseLine;

/// Install Istio the GitOps way: platform files in, Helm values, vendored charts and Flux objects out.
#[derive(Debug, Parser)]
#[command(name = "meshgen", version, about, propagate_version = true)]
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
    Schema(SchemaArgs),
    /// Validate platform files: schema, then the rules a schema cannot express.
    Validate(ValidateArgs),
    /// Render the Helm values file of a platform for its Istio release line.
    Values(ValuesArgs),
    /// List the supported Istio release lines, their pinned versions and charts.
    Lines,
    /// Fetch the Istio charts of each release line from git into vendor/, pinned in vendor/meshgen.lock.
    Vendor(crate::vendor::VendorArgs),
    /// Helm post-renderer: add the replicas and pod anti-affinity the charts cannot set (stdin to stdout).
    PostRender(crate::install::postrender::PostRenderArgs),
    /// Print the objects a platform needs besides the charts: pod security policy, injection namespaces.
    Manifests(crate::install::manifests::ManifestsArgs),
    /// Print the Flux objects that install a platform from your repository's vendored charts.
    Flux(crate::install::flux::FluxArgs),
    /// Check values files against a chart's defaults: undeclared keys and wrong types.
    CheckValues(crate::gitops::checkvalues::CheckValuesArgs),
    /// Scaffold a GitOps repository: example platform, schemas, lock, CI workflow, pre-commit hook, README.
    Init(crate::gitops::init::InitArgs),
    /// Render every platform file into generated/<platform>/ (values.yaml, manifests.yaml); --check for staleness.
    Generate(crate::gitops::generate::GenerateArgs),
    /// The pull-request gate: platform files valid, vendored charts as locked, generated files current.
    Check(crate::gitops::check::CheckArgs),
    /// Print each value of a platform's values file with where it comes from.
    Explain(crate::render::explain::ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page, or write one page per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write meshgen.1 and a page per command (meshgen-generate.1, ...) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// How a command names its platform.
#[derive(Debug, Clone, clap::Args)]
pub struct PlatformArgs {
    /// A platform name (./platforms/NAME.yaml, then a built-in) or a path to a platform file.
    #[arg(long, short = 'p', value_name = "NAME|PATH")]
    pub platform: String,
    /// Render for this release line instead of the platform's own (0.6, 1.0, 1.11).
    #[arg(long, value_name = "LINE")]
    pub istio: Option<ReleaseLine>,
    /// Override a platform field before validation, Helm syntax: spec.tracing=true.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

impl PlatformArgs {
    pub fn request(&self) -> crate::model::load::PlatformRequest {
        crate::model::load::PlatformRequest {
            platform: self.platform.clone(),
            istio: self.istio,
            set: self.set.clone(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Write the schema files under DIR/schemas/ (regenerates the committed copies).
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    pub write: Option<PathBuf>,
    /// Exit 1 with a diff when the schema files under DIR/schemas/ are stale.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Platform files, or names of platforms (./platforms/NAME.yaml, then built-ins).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

/// Runs a parsed command line; the only place that prints errors and chooses the exit code.
pub fn run(cli: Cli) -> ExitCode {
    crate::cli::term::set_verbosity(if cli.quiet {
        -1
    } else {
        cli.verbose.min(i8::MAX as u8) as i8
    });
    let outcome = match cli.command {
        Command::Platforms => commands::platforms(),
        Command::Schema(args) => commands::schema(&args),
        Command::Validate(args) => commands::validate(&args),
        Command::Values(args) => commands::values(&args),
        Command::Lines => print_lines(),
        Command::Vendor(args) => crate::vendor::run(&args),
        Command::PostRender(args) => crate::install::postrender::run(&args),
        Command::Manifests(args) => crate::install::manifests::run(&args),
        Command::Flux(args) => crate::install::flux::run(&args),
        Command::CheckValues(args) => crate::gitops::checkvalues::run(&args),
        Command::Init(args) => crate::gitops::init::run(&args),
        Command::Generate(args) => crate::gitops::generate::run(&args),
        Command::Check(args) => crate::gitops::check::run(&args),
        Command::Explain(args) => crate::render::explain::run(&args),
        Command::Completions(args) => completions(args.shell),
        Command::Man(args) => man(&args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // anstream drops the colour where stderr is not a terminal or NO_COLOR is set.
            let _ = writeln!(anstream::stderr().lock(), "{}", format_error(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

pub(crate) fn format_error(err: &Error) -> String {
    match err {
        Error::Findings(diagnostics) => diagnostics
            .iter()
            .map(crate::cli::term::diagnostic)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => format!("{}{err}", crate::cli::term::error_prefix()),
    }
}

fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "meshgen", &mut buf);
    stdout_write(&String::from_utf8_lossy(&buf))
}

fn man(args: &ManArgs) -> Result<u8> {
    let cmd = Cli::command();
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        clap_mangen::generate_to(cmd, dir).map_err(|e| Error::io(dir, e))?;
        crate::cli::term::note(&format!("wrote man pages into {}", dir.display()));
        return Ok(exit::SUCCESS);
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| Error::io("<man page>", e))?;
    stdout_write(&String::from_utf8_lossy(&buf))
}

pub(crate) fn stdout_write(text: &str) -> Result<u8> {
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
