//! How a command names its platform (`--platform`, `--istio`, `--set`, `--set-string`), and the platform it
//! names, resolved against the lock with its warnings printed.

use crate::error::Result;
use crate::model::load::{LoadedPlatform, PlatformRequest};
use crate::model::release_line::IstioVersion;
use crate::render::pipeline;
use crate::render::resolve::{self, ResolvedPlatform};
use crate::vendoring::lock::{Lock, LOCK_PATH};

/// How a command names its platform.
#[derive(Debug, Clone, clap::Args)]
pub struct PlatformArgs {
    /// A platform name (./platforms/NAME.yaml, then a built-in) or a path to a platform file.
    #[arg(long, short = 'p', value_name = "NAME|PATH")]
    pub platform: String,
    /// Render for this release line or exact release instead of the platform's own (1.0, 1.0.2).
    #[arg(long, value_name = "LINE|VERSION")]
    pub istio: Option<IstioVersion>,
    /// Override a platform field before validation, Helm syntax: spec.tracing=true.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// The same, the value always a string (as Helm's --set-string): spec.values.a.b=on.
    #[arg(long = "set-string", value_name = "PATH=VALUE")]
    pub set_string: Vec<String>,
}

impl PlatformArgs {
    pub fn request(&self) -> PlatformRequest {
        PlatformRequest {
            platform: self.platform.clone(),
            istio: self.istio,
            set: self.set.clone(),
            set_string: self.set_string.clone(),
        }
    }
}

/// Finds, validates and resolves the platform named by a command's arguments, at the version
/// `vendor/meshgen.lock` pins; its warnings go to stderr.
pub fn resolve_platform(args: &PlatformArgs) -> Result<(LoadedPlatform, ResolvedPlatform)> {
    let dir = super::current_dir()?;
    let lock = Lock::load(&dir.join(LOCK_PATH))?;
    let (loaded, resolved) = pipeline::resolve_request(&args.request(), &dir, &|line| {
        resolve::version_for(lock.as_ref(), line)
    })?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    Ok((loaded, resolved))
}
