//! `meshgen manifests`: the objects a platform needs besides the charts.

use super::platform::{resolve_platform, PlatformArgs};
use crate::error::Result;

/// `meshgen manifests` arguments.
#[derive(Debug, clap::Args)]
pub struct ManifestsArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
}

pub fn run(args: &ManifestsArgs) -> Result<u8> {
    let (loaded, platform) = resolve_platform(&args.platform)?;
    let text = crate::install::manifests::render(&platform, &loaded.source.display)?;
    if text.is_empty() {
        eprintln!(
            "platform {} needs no objects besides the charts",
            platform.name
        );
    }
    super::stdout_write(&text)
}
