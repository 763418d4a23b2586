//! `meshgen post-render`: Helm's post-renderer, stdin to stdout.

use super::platform::{resolve_platform, PlatformArgs};
use crate::error::Result;
use crate::install::postrender::{self, HaChange};

/// `meshgen post-render` arguments.
#[derive(Debug, clap::Args)]
pub struct PostRenderArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
}

pub fn run(args: &PostRenderArgs) -> Result<u8> {
    let (_, platform) = resolve_platform(&args.platform)?;
    let input = postrender::read_input(std::io::stdin().lock())?;
    let output = postrender::post_render(
        &input,
        &postrender::platform_targets(&platform),
        HaChange::for_platform(&platform),
    )?;
    super::stdout_write(&output)
}
