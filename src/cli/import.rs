//! `meshgen import`: IstioOperator files in, one platform file on stdout. A refusal prints
//! nothing on stdout (the located errors go to stderr, exit 1); `--report` prints the
//! accounting of every field on stderr, so that stdout stays the platform file.

use std::path::{Path, PathBuf};

use super::exit;
use crate::error::{Error, Result};
use crate::gitops::import::{self, Fate, Input, Options};
use crate::model::platform::Provider;
use crate::model::release_line::IstioVersion;
use crate::render::resolve::version_for;
use crate::vendoring::lock::{Lock, LOCK_PATH};
use crate::vendoring::profiles::Profiles;
use crate::vendoring::Silent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

/// `meshgen import` arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// IstioOperator files (install.istio.io/v1alpha1), merged in order over their profile.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The platform's provider (gke, aws, azure, pks, kvm, minikube): its internal load
    /// balancer annotation becomes `internal: true`.
    #[arg(long, default_value = "gke")]
    pub provider: String,
    /// The Istio line or release of the platform (IstioOperator installs 1.11).
    #[arg(long, default_value = "1.11")]
    pub istio: String,
    /// The Kubernetes version of the cluster (spec.kubernetes).
    #[arg(long, value_name = "V")]
    pub kubernetes: Option<String>,
    /// The platform's name (metadata.name).
    #[arg(long, default_value = "imported")]
    pub name: String,
    /// The directory of the release's IstioOperator profiles (manifests/profiles of the
    /// istio/istio tag: default.yaml, demo.yaml, ...). Default: read from git, at the commit
    /// vendor/meshgen.lock pins for the release (else its tag), through meshgen's git cache.
    #[arg(long, value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    /// The istio/istio repository the profiles are read from (a URL or a path) instead of
    /// the lock's remote.
    #[arg(long, value_name = "URL", conflicts_with = "profiles")]
    pub remote: Option<String>,
    /// Print what became of every field (mapped, passed through, refused) on stderr.
    #[arg(long, value_enum)]
    pub report: Option<ReportFormat>,
}

pub fn run(args: &ImportArgs) -> Result<u8> {
    let provider: Provider =
        serde_json::from_value(serde_json::Value::String(args.provider.clone())).map_err(|_| {
            Error::Usage(format!(
                "--provider {}: not a provider (gke, aws, azure, pks, kvm, minikube)",
                args.provider
            ))
        })?;
    let istio: IstioVersion = args
        .istio
        .parse()
        .map_err(|e| Error::Usage(format!("--istio {}: {e}", args.istio)))?;
    let dir = super::current_dir()?;
    let options = Options {
        provider,
        istio,
        kubernetes: args.kubernetes.clone(),
        name: args.name.clone(),
        lock: Lock::load(&dir.join(LOCK_PATH)).ok().flatten(),
    };
    let inputs = args
        .files
        .iter()
        .map(|f| read(f))
        .collect::<Result<Vec<_>>>()?;
    let imported = match &args.profiles {
        Some(dir) => import::import(&inputs, &|name: &str| profile_in(dir, name), &options)?,
        None => {
            let (version, _) = version_for(options.lock.as_ref(), istio);
            let git = Profiles::open(
                &dir,
                options.lock.as_ref(),
                args.remote.as_deref(),
                &version,
                &Silent,
            )?;
            let profile = |name: &str| {
                Ok(git
                    .read(name)?
                    .map(|(display, text)| Input { display, text }))
            };
            import::import(&inputs, &profile, &options)?
        }
    };
    match args.report {
        Some(ReportFormat::Text) => eprint!("{}", text_report(&imported.fields)),
        Some(ReportFormat::Json) => eprintln!(
            "{}",
            serde_json::to_string_pretty(&imported.fields).expect("reports serialize")
        ),
        None => {}
    }
    match imported.platform {
        Some(text) => {
            print!("{text}");
            Ok(exit::SUCCESS)
        }
        None => Err(Error::Findings(imported.refusals)),
    }
}

fn read(path: &Path) -> Result<Input> {
    let source = crate::model::load::Source::read(path)?;
    Ok(Input {
        display: source.display,
        text: source.text,
    })
}

/// `DIR/<name>.yaml`; None when there is no such profile (a profile name is a file name, never
/// a path: `../x` names none).
fn profile_in(dir: &Path, name: &str) -> Result<Option<Input>> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Ok(None);
    }
    let path = dir.join(format!("{name}.yaml"));
    if !path.is_file() {
        return Ok(None);
    }
    read(&path).map(Some)
}

fn text_report(fields: &[import::Field]) -> String {
    let mut out = String::new();
    for f in fields {
        let fate = match &f.fate {
            Fate::Default => "default".to_string(),
            Fate::Mapped(to) => format!("mapped to {to}"),
            Fate::PassedThrough(to) => format!("passed through to {to}"),
            Fate::Refused(why) => format!("refused: {why}"),
        };
        out.push_str(&format!(
            "{}:{}:{}: {}: {fate}\n",
            f.origin.file, f.origin.line, f.origin.col, f.path
        ));
    }
    out
}
