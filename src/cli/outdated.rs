//! `meshgen outdated`: which platforms are behind their line's newest release, as text or
//! JSON (for bots that open update pull requests); exit 1 when `vendor --update` would move
//! some (platforms pinned behind are listed, not counted).

use std::path::PathBuf;

use super::exit;
use crate::error::{Error, Result};
use crate::gitops::outdated;

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A block per release line.
    #[default]
    Text,
    /// One JSON object: `remote`, `outdated`, and per line `line`, `followed`, `newest`,
    /// `inUse` (`version`, `following`, `pinned`), `wouldMove`, `pinnedBehind` (`platform`, `version`).
    Json,
}

/// `meshgen outdated` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct OutdatedArgs {
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Directory of platform files.
    #[arg(long, value_name = "DIR", default_value = "platforms")]
    pub platforms: PathBuf,
    /// Vendor directory holding meshgen.lock.
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    pub dir: PathBuf,
    /// Where to list releases [default: the lock's remote, else https://github.com/istio/istio.git;
    /// git's `url.<base>.insteadOf` applies]
    #[arg(long, value_name = "URL|PATH")]
    pub remote: Option<String>,
    /// Where the bare git caches live [default: $XDG_CACHE_HOME/meshgen or ~/.cache/meshgen]
    #[arg(long, value_name = "DIR", env = "MESHGEN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

pub fn run(args: &OutdatedArgs) -> Result<u8> {
    let members = crate::gitops::fleet::read(&args.platforms)?.ok_or_else(|| {
        Error::Usage(format!(
            "no platform files in {}: nothing to report on (give --platforms DIR)",
            args.platforms.display()
        ))
    })?;
    let lock = crate::vendor::lock::Lock::load(&args.dir.join(crate::vendor::lock::FILE_NAME))?;
    let (source, tags) = crate::vendor::remote_tags(
        &args.dir,
        args.remote.as_deref(),
        args.cache_dir.as_deref(),
        &crate::vendor::Silent,
    )?;
    let report = outdated::report(&members, lock.as_ref(), &tags, &source)?;
    let text = match args.format {
        Format::Text => outdated::format_text(&report),
        Format::Json => outdated::format_json(&report),
    };
    super::stdout_write(&text)?;
    Ok(if report.is_outdated() {
        exit::FINDINGS
    } else {
        exit::SUCCESS
    })
}
