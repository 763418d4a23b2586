//! `meshgen plan`: what must happen to each cluster to go from a git ref's platform files,
//! lock and `meshgen.yaml` to the working tree's, as text, markdown (a pull request comment
//! or job summary) or JSON. Exit 0 when it could plan, 2 when it could not (a bad ref, an
//! invalid platform file on either side).

use std::path::PathBuf;

use super::exit;
use crate::error::{Error, Result};
use crate::gitops::plan;

/// How the plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A block per platform, its steps numbered.
    #[default]
    Text,
    /// For a pull request comment or `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// One JSON object (see below).
    Json,
}

/// The end of `meshgen plan --help`: the exit codes and the JSON format.
const AFTER_HELP: &str = "\
Exit codes: 0 when the plan could be made (whatever it holds), 2 when it could not (a bad
--base, an invalid platform file at the base or in the working tree, an unreadable lock).

--format json prints one object:
  base          \"<ref> (<commit>)\"
  platforms[]   in name order:
    name, change  none | install | remove | upgrade | reinstall
    from, to      {istio, line} of the base and of the working tree, null when absent
    steps[]       in order: action (helm-install, helm-upgrade, helm-uninstall, kubectl-apply,
                  kubectl-delete, kubectl-label, crd-apply, restart, kubernetes-upgrade,
                  backup, manual), release, namespace, objects[] (Kind/name), command (null
                  when none), why, flux (automatic: Flux does it on reconcile; manual)
    findings[]    {severity, message, hint}: what stops working (a change of line)";

/// `meshgen plan` arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct PlanArgs {
    /// The git ref of the state the clusters are in (the working tree is the target).
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub base: String,
    /// Only this platform.
    #[arg(long, value_name = "NAME")]
    pub platform: Option<String>,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Directory of platform files, relative to the repository root.
    #[arg(long, value_name = "DIR", default_value = "platforms")]
    pub platforms: PathBuf,
    /// Vendor directory holding meshgen.lock, relative to the repository root.
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    pub vendor: PathBuf,
    /// Where `meshgen generate` writes (the values files the commands take).
    #[arg(long, value_name = "DIR", default_value = crate::gitops::generate::DEFAULT_OUT)]
    pub out: PathBuf,
}

pub fn run(args: &PlanArgs) -> Result<u8> {
    super::enter_repo_root()?;
    let options = plan::Options {
        root: std::path::Path::new("."),
        base: &args.base,
        platforms: &args.platforms,
        vendor: &args.vendor,
        out: &args.out,
        platform: args.platform.as_deref(),
    };
    let made = match plan::plan(&options) {
        Ok(made) => made,
        // Invalid platform files are input the plan cannot be made from: exit 2, as a bad ref.
        Err(err @ Error::Findings(_)) => {
            anstream::eprintln!(
                "{}\n{}the platform files above do not load: no plan",
                super::format_error(&err),
                super::term::error_prefix()
            );
            return Ok(exit::FAILURE);
        }
        Err(err) => return Err(err),
    };
    let text = match args.format {
        Format::Text => plan::format_text(&made),
        Format::Markdown => plan::format_markdown(&made),
        Format::Json => plan::format_json(&made),
    };
    super::stdout_write(&text)?;
    Ok(exit::SUCCESS)
}
