//! `meshgen vendor`: vendors the charts (a progress bar on a terminal, a line per release),
//! or with `--check` lists how the vendored tree differs from the lock.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::exit;
use crate::error::Result;
use crate::model::release_line::IstioVersion;
use crate::vendoring;

/// Arguments of `meshgen vendor`.
#[derive(Debug, Clone, clap::Args)]
pub struct VendorArgs {
    /// What to vendor by hand: a release line (the release the lock follows for it, the newest
    /// when it follows none) or an exact release, e.g. 1.11 or 1.0.2 [default: what the
    /// platform files use; without platform files, what the lock holds, else every line]
    #[arg(value_name = "LINE|VERSION")]
    pub versions: Vec<IstioVersion>,
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
    /// Move the lines vendored to the newest release in their range (their platforms follow);
    /// exact releases a platform names never move
    #[arg(long, conflicts_with_all = ["locked", "check"])]
    pub update: bool,
    /// Remove the locked releases no platform file uses (listed by every run)
    #[arg(long, conflicts_with_all = ["locked", "check"])]
    pub prune: bool,
    /// Directory of platform files, whose `spec.istio` says what to vendor
    #[arg(long, value_name = "DIR", default_value = "platforms")]
    pub platforms: PathBuf,
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
    // `--locked` restores the lock as it is: the platforms play no part.
    let fleet = if args.locked {
        None
    } else {
        crate::gitops::fleet::read(&args.platforms)?
            .map(|members| crate::gitops::fleet::versions(&members))
    };
    let options = vendoring::Options {
        requests: args.versions.clone(),
        fleet,
        remote: args.remote.clone(),
        dir: args.dir.clone(),
        update: args.update,
        locked: args.locked,
        prune: args.prune,
        cache_dir: args.cache_dir.clone(),
    };
    let outcome = vendoring::run(&options, &Bar::new())?;
    for release in &outcome.vendored {
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
    let istio_dir = args.dir.join("istio");
    for (old, new) in &outcome.replaced {
        eprintln!(
            "replaced Istio {old} by {new}: no platform names {old} exactly; {} removed",
            istio_dir.join(old).display()
        );
    }
    for version in &outcome.pruned {
        eprintln!(
            "pruned Istio {version}: no platform uses it; {} removed",
            istio_dir.join(version).display()
        );
    }
    for version in &outcome.unused {
        eprintln!(
            "unused: Istio {version} is vendored in {} but no platform in {} uses it; `meshgen vendor --prune` removes it",
            istio_dir.join(version).display(),
            args.platforms.display()
        );
    }
    Ok(exit::SUCCESS)
}

/// `--check`: the report goes to stdout, exit 1 on any difference.
fn check(args: &VendorArgs) -> Result<u8> {
    let report = vendoring::check::against_lock(&args.dir, &args.versions)?;
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
/// Warnings and waits go to stderr as lines of their own. `outdated` shows it too.
pub(super) struct Bar(ProgressBar);

impl Bar {
    pub(super) fn new() -> Bar {
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

impl vendoring::Progress for Bar {
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
