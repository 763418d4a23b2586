//! `meshgen check-values`: values files against the charts' defaults; `FILE: ok` for each
//! clean one, every finding located.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::release_line::ReleaseLine;

/// `meshgen check-values` arguments.
#[derive(Debug, clap::Args)]
pub struct CheckValuesArgs {
    /// A chart directory; give it several times for a values file shared by several charts.
    #[arg(long = "chart", value_name = "DIR", required = true)]
    pub charts: Vec<PathBuf>,
    /// Apply this Istio line's known undeclared keys, and hold `meshConfig` to the fields of
    /// its pinned release; by default the release a vendored path
    /// `vendor/istio/<version>/<chart>` names.
    #[arg(long, value_name = "LINE")]
    pub istio: Option<ReleaseLine>,
    /// Values files to check, each on its own.
    #[arg(required = true, value_name = "VALUES")]
    pub values: Vec<PathBuf>,
}

pub fn run(args: &CheckValuesArgs) -> Result<u8> {
    let declared = crate::gitops::check_values::load(&args.charts, args.istio)?;
    let mut findings = Vec::new();
    let mut report = String::new();
    for path in &args.values {
        let found = declared.check_file(path)?;
        if found.is_empty() {
            report.push_str(&format!("{}: ok\n", path.display()));
        }
        findings.extend(found);
    }
    if !findings.is_empty() {
        return Err(Error::Findings(findings));
    }
    super::stdout_write(&report)
}
