//! `meshgen generate`: renders every platform file into the output tree, or with `--check`
//! prints a diff of what is stale.

use std::path::{Path, PathBuf};

use super::{exit, term};
use crate::error::{Error, Result};
use crate::gitops::generate::{self, ChangeKind, Settings};
use crate::vendoring::lock::{Lock, LOCK_PATH};

/// `meshgen generate` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Directory of platform files (*.yaml, *.yml), from the repository root.
    #[arg(long, value_name = "DIR", default_value = "platforms")]
    pub platforms: PathBuf,
    /// Output directory, from the repository root: one subdirectory per platform file.
    #[arg(long, value_name = "DIR", default_value = "generated")]
    pub out: PathBuf,
    /// Write nothing: print a diff of what is stale and exit 1 if anything is.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &GenerateArgs) -> Result<u8> {
    super::enter_repo_root()?;
    let lock = Lock::load(Path::new(LOCK_PATH))?;
    let config = crate::gitops::repo_config::RepoConfig::load(Path::new("."))?;
    let settings = Settings {
        lock: lock.as_ref(),
        flux: config.flux.as_ref(),
    };
    let mut plan = generate::plan(&args.platforms, &args.out, settings, args.check)?;
    if plan.has_errors() {
        return Err(Error::Findings(std::mem::take(&mut plan.diagnostics)));
    }
    for warning in &plan.diagnostics {
        term::note(&term::diagnostic(warning));
    }
    let count = |kind| plan.changes.iter().filter(|c| c.kind == kind).count();
    let (created, updated, deleted) = (
        count(ChangeKind::Create),
        count(ChangeKind::Update),
        count(ChangeKind::Delete),
    );
    if args.check {
        let diffs: String = plan
            .changes
            .iter()
            .filter_map(|c| c.diff.as_deref())
            .collect();
        super::stdout_write(&diffs)?;
        if plan.changes.is_empty() {
            term::note(&format!(
                "{} is current: {} files from {} platform files",
                args.out.display(),
                plan.files,
                plan.platforms
            ));
            return Ok(exit::SUCCESS);
        }
        term::note(&format!(
            "{} is stale: {created} to create, {updated} to update, {deleted} to delete; run `meshgen generate`",
            args.out.display()
        ));
        return Ok(exit::FINDINGS);
    }
    generate::apply(&mut plan)?;
    let t = &plan.timing;
    term::note(&format!(
        "{}: {} platform files, {} files: {created} created, {updated} updated, {deleted} deleted",
        args.out.display(),
        plan.platforms,
        plan.files
    ));
    term::detail(&format!(
        "time: plan {:?} wall (read {:?}, validate {:?}, render {:?}, compare {:?}, summed over threads), write {:?} wall",
        t.plan_wall, t.read, t.validate, t.render, t.compare, t.write_wall
    ));
    Ok(exit::SUCCESS)
}
