//! `meshgen lint`: application manifests against the seeds' rules for the platform's Istio
//! line; findings in `check`'s formats, exit 1 on errors (or warnings with `--deny
//! warnings`), 2 when the input is not usable.

use std::path::PathBuf;

use super::check::{format_text, Format};
use super::{exit, term};
use crate::error::{Error, Result, Severity};
use crate::lint::{self, read, Rule, Settings, Target};
use crate::model::release_line::IstioVersion;

/// What `--deny` turns into failures besides errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    /// Warnings fail the lint too.
    Warnings,
}

/// `meshgen lint` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {
    /// Manifest files, directories (their *.yaml/*.yml, recursively) or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The platform the applications run on (./platforms/NAME.yaml, a built-in, or a path):
    /// its Istio line, injected namespaces and pod security policy.
    #[arg(long, short = 'p', value_name = "NAME|PATH")]
    pub platform: Option<String>,
    /// The Istio line (0.6, 1.0, 1.11) or a release of one: alone, only the port, label and
    /// port-use rules run.
    #[arg(
        long,
        value_name = "LINE|VERSION",
        required_unless_present = "platform"
    )]
    pub istio: Option<IstioVersion>,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
    /// Switch a rule off (besides `meshgen.yaml`'s `lint.disable`); repeatable.
    #[arg(long, value_name = "RULE")]
    pub disable: Vec<Rule>,
}

pub fn run(args: &LintArgs) -> Result<u8> {
    let dir = super::current_dir()?;
    let config = crate::gitops::repo_config::RepoConfig::load(&dir)?;
    let target = match &args.platform {
        Some(platform) => {
            let (_, resolved) =
                super::platform::resolve_platform(&super::platform::PlatformArgs {
                    platform: platform.clone(),
                    istio: args.istio,
                    set: Vec::new(),
                    set_string: Vec::new(),
                })?;
            Target::platform(&resolved)
        }
        None => {
            let istio = args
                .istio
                .expect("clap requires --istio without --platform");
            Target {
                release: istio.exact_version(),
                ..Target::line(istio.line)
            }
        }
    };
    let mut settings = Settings {
        disabled: config.lint.disabled.clone(),
    };
    settings.disabled.extend(&args.disable);
    let inputs = read::collect(&args.paths, &mut std::io::stdin().lock())?;
    let report = match lint::lint(&inputs, &target, &settings) {
        Ok(report) => report,
        Err(unusable) => {
            // Not YAML: nothing can be said of the applications; usage-level failure.
            eprintln!("{}", super::format_error(&Error::Findings(unusable)));
            return Ok(exit::FAILURE);
        }
    };
    match args.format {
        Format::Text => {
            let text = format_text(&report.findings);
            super::check::write_coloured(&text)?;
        }
        Format::Json => {
            super::stdout_write(&crate::gitops::check::format_json_findings(
                &report.findings,
                serde_json::json!({"files": report.files, "objects": report.objects, "istio": target.line.as_str()}),
            ))?;
        }
        Format::Github => {
            super::stdout_write(&crate::gitops::check::format_github(&report.findings))?;
        }
    }
    let count = |s: Severity| report.findings.iter().filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    term::note(&format!(
        "lint: {errors} error(s), {warnings} warning(s), {} notice(s); {} object(s) in {} file(s), Istio {}",
        count(Severity::Info),
        report.objects,
        report.files,
        target.line
    ));
    let failing = errors
        + if args.deny == Some(Deny::Warnings) {
            warnings
        } else {
            0
        };
    Ok(if failing > 0 {
        exit::FINDINGS
    } else {
        exit::SUCCESS
    })
}
