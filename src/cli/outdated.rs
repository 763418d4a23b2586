//! `meshgen outdated`: which platforms are behind their line's newest release, as text or
//! JSON (for bots that open update pull requests); exit 1 when `vendor --update` would move
//! some (platforms pinned behind are listed, not counted), 2 when no report could be made.

use std::path::PathBuf;

use super::exit;
use crate::error::{Error, Result};
use crate::gitops::outdated;
use crate::vendoring::lock::Lock;

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A block per release line.
    #[default]
    Text,
    /// One JSON object: `remote`, `lines` and `outdated` (see below).
    Json,
}

/// The end of `meshgen outdated --help`: the exit codes and the JSON format, which bots read.
const AFTER_HELP: &str = "\
Exit codes: 0 when `meshgen vendor --update` would move no platform (platforms pinned behind
are listed, not counted: their pin is a choice), 1 when it would move some, 2 when the report
could not be made (no platform files, an invalid one, an unreadable lock, a remote without a
release of a line in use).

--format json prints one object; versions are strings (\"1.11.8\"), platforms their names:
  remote        where the releases were listed (after git's insteadOf)
  lines[]       each line a platform uses, in line order:
    line          \"0.6\", \"1.0\" or \"1.11\"
    followed      the release the lock follows for the line, null when it follows none
    newest        the newest release of the line at the remote
    inUse[]       each release in use, in version order: version, following[] (platforms
                  following the line), pinned[] (platforms naming it exactly)
    wouldMove[]   followers `meshgen vendor --update` would move to newest
    pinnedBehind[]  {platform, version}: exact pins older than newest
  outdated      true when some line's wouldMove is not empty (exit code 1)";

/// `meshgen outdated` arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
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
    let lock = Lock::load(&args.dir.join(crate::vendoring::lock::FILE_NAME))?;
    let members = match crate::gitops::fleet::read(&args.platforms) {
        Ok(Some(members)) => members,
        Ok(None) => {
            return Err(Error::Usage(format!(
                "no platform files in {}: nothing to report on (give --platforms DIR)",
                args.platforms.display()
            )))
        }
        // Elsewhere invalid platform files are findings (exit 1); here exit 1 means "an
        // update is out", which a bot acts on: they stop the report like any error (exit 2).
        Err(err @ Error::Findings(_)) => {
            anstream::eprintln!(
                "{}\n{}the platform files above do not load, so which releases they use is unknown",
                super::format_error(&err),
                super::term::error_prefix()
            );
            return Ok(exit::FAILURE);
        }
        Err(err) => return Err(err),
    };
    let (source, tags) = crate::vendoring::remote_tags(
        &args.dir,
        lock.as_ref(),
        args.remote.as_deref(),
        args.cache_dir.as_deref(),
        &super::vendor::Bar::new(),
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
