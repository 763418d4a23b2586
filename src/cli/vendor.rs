//! `meshgen vendor`: vendors the charts (a progress bar on a terminal, a line per release),
//! or with `--check` lists how the vendored tree differs from the lock.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::exit;
use crate::error::Result;
use crate::model::release_line::ReleaseLine;
use crate::vendor;

/// Arguments of `meshgen vendor`.
#[derive(Debug, Clone, clap::Args)]
pub struct VendorArgs {
    /// Release lines to vendor: 0.6, 1.0, 1.11 [default: all three]
    #[arg(value_name = "LINE")]
    pub lines: Vec<ReleaseLine>,
    /// Git remote to fetch from, a URL or a local repository path [default: the lock's remote,
    /// else https://github.com/istio/istio.git]. Recorded in the lock, except with --locked,
    /// where it is a mirror serving the locked commits and the lock keeps its remote. Git's
    /// `url.<base>.insteadOf` (the repository's .git/config, then the user's) applies, so a
    /// mirror can serve the public URL while the lock records the public URL.
    #[arg(long, value_name = "URL|PATH")]
    pub remote: Option<String>,
    /// Vendor directory: holds meshgen.lock and istio/<version>/<chart>/
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    pub dir: PathBuf,
    /// Re-resolve every line to the newest release in its range instead of keeping locked versions
    #[arg(long, conflicts_with_all = ["locked", "check"])]
    pub update: bool,
    /// Vendor exactly the locked commits, fail if a tag moved or content differs, never rewrite the lock
    #[arg(long, conflicts_with = "check")]
    pub locked: bool,
    /// Change nothing: compare the vendored files with the lock and list every difference (exit 1 on any)
    #[arg(long)]
    pub check: bool,
    /// Where the bare git caches live [default: $XDG_CACHE_HOME/meshgen or ~/.cache/meshgen]
    #[arg(long, value_name = "DIR", env = "MESHGEN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

pub fn run(args: &VendorArgs) -> Result<u8> {
    if args.check {
        return check(args);
    }
    let options = vendor::Options {
        lines: args.lines.clone(),
        remote: args.remote.clone(),
        dir: args.dir.clone(),
        update: args.update,
        locked: args.locked,
        cache_dir: args.cache_dir.clone(),
    };
    let vendored = vendor::run(&options, &Bar::new())?;
    for release in vendored {
        eprintln!(
            "{} Istio {} ({} at {}) in {}",
            if release.written {
                "vendored"
            } else {
                "up to date:"
            },
            release.version,
            release.tag,
            &release.commit[..12],
            release.dir.display()
        );
    }
    Ok(exit::SUCCESS)
}

/// `--check`: the report goes to stdout, exit 1 on any difference.
fn check(args: &VendorArgs) -> Result<u8> {
    let report = vendor::check::against_lock(&args.dir, &args.lines)?;
    let mut text = String::new();
    for d in &report.differences {
        text.push_str(&format!("{d}\n"));
    }
    let lock = report.lock_path.display();
    let code = if report.differences.is_empty() {
        text.push_str(&format!("ok: {} charts match {lock}\n", report.charts));
        exit::SUCCESS
    } else {
        let n = report.differences.len();
        text.push_str(&format!(
            "{n} difference{} from {lock}\n",
            if n == 1 { "" } else { "s" }
        ));
        exit::FINDINGS
    };
    super::stdout_write(&text)?;
    Ok(code)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise, so logs stay clean.
/// Warnings and waits go to stderr as lines of their own.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(ProgressBar::hidden());
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {pos}/{len} objects")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar(bar)
    }
}

impl vendor::Progress for Bar {
    fn stage(&self, message: String) {
        self.0.set_message(message);
    }
    fn transfer(&self, received: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(received);
    }
    fn waiting(&self, path: &Path) {
        eprintln!("waiting for another meshgen run holding {}", path.display());
    }
    fn warning(&self, text: String) {
        eprintln!("{text}");
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
