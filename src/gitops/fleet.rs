//! What Istio a repository's platforms use: each platform file's `spec.istio`. `meshgen vendor`
//! vendors exactly that, `check` reports what the lock lacks or holds unused, and
//! `meshgen outdated` tells which platforms an update would move.

use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error, Result};
use crate::model::load::{self, Source};
use crate::model::release_line::IstioVersion;

/// One platform of the repository and the Istio it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub file: PathBuf,
    pub istio: IstioVersion,
    /// `spec.canary.istio`: the canary control plane's release, vendored beside the stable one.
    pub canary: Option<IstioVersion>,
}

/// The platforms of `dir`, in name order; `None` when the directory does not exist or holds no
/// platform file. A platform that does not load is an error with its located findings: which
/// release it needs is then unknown.
pub fn read(dir: &Path) -> Result<Option<Vec<Member>>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let files = load::platform_files(dir)?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut members = Vec::new();
    let mut findings: Vec<Diagnostic> = Vec::new();
    for (name, path) in files {
        let source = Source::read_named(&path, &name)?;
        match load::load(&source, &[]) {
            Ok(loaded) => members.push(Member {
                name,
                file: path,
                istio: loaded.file.spec.istio,
                canary: loaded.file.spec.canary.as_ref().map(|c| c.istio),
            }),
            Err(found) => findings.extend(found.into_iter().filter(Diagnostic::is_error)),
        }
    }
    if !findings.is_empty() {
        return Err(Error::Findings(findings));
    }
    Ok(Some(members))
}

/// The distinct `spec.istio` (and canary) releases of `members`, in order.
pub fn versions(members: &[Member]) -> Vec<IstioVersion> {
    distinct(
        members
            .iter()
            .flat_map(|m| std::iter::once(m.istio).chain(m.canary)),
    )
}

/// Distinct `spec.istio` values, in order: what a fleet uses.
pub fn distinct(istio: impl IntoIterator<Item = IstioVersion>) -> Vec<IstioVersion> {
    let set: std::collections::BTreeSet<IstioVersion> = istio.into_iter().collect();
    set.into_iter().collect()
}
