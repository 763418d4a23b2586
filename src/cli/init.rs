//! `meshgen init`: scaffolds a GitOps repository; refuses to overwrite without `--force`.

use std::path::PathBuf;

use super::{exit, term};
use crate::error::Result;
use crate::gitops::init;

/// `meshgen init` arguments.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The repository directory (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
    /// The URL Flux clones this repository from: writes meshgen.yaml, so that `generate`
    /// also writes each platform's flux.yaml.
    #[arg(long, value_name = "URL")]
    pub git_url: Option<String>,
    /// The Secret (in the Flux namespace) with the credentials of a private repository:
    /// written to meshgen.yaml as the GitRepository's secretRef.
    #[arg(long, value_name = "NAME", requires = "git_url")]
    pub git_secret: Option<String>,
    /// Where meshgen's release archives are published (URL/v<version>/ holds each release's
    /// archives and install.sh): the CI workflow installs this meshgen's version from there.
    /// Default: the repository variable MESHGEN_RELEASES.
    #[arg(long, value_name = "URL")]
    pub releases: Option<String>,
}

pub fn run(args: &InitArgs) -> Result<u8> {
    let files = init::files(
        &args.dir,
        args.git_url.as_deref(),
        args.git_secret.as_deref(),
        args.releases.as_deref(),
    )?;
    if !args.force {
        init::refuse_existing(&args.dir, &files)?;
    }
    for (rel, content) in &files {
        crate::fsutil::create_parent(&args.dir.join(rel))?;
        crate::fsutil::write_atomic(&args.dir.join(rel), content.as_bytes())?;
        term::detail(&format!("wrote {}", args.dir.join(rel).display()));
    }
    term::note(&format!(
        "initialised {}: {} files. Next:\n  meshgen vendor --locked   # fetch the charts vendor/meshgen.lock pins (needs the network)\n  meshgen generate          # render generated/<platform>/\n  meshgen check             # what CI runs on every pull request",
        args.dir.display(),
        files.len()
    ));
    Ok(exit::SUCCESS)
}
