//! `meshgen explain`: each value of a platform's values file and where it comes from.

use super::platform::{resolve_platform, PlatformArgs, ValuesFileArgs};
use crate::error::Result;

/// `meshgen explain` arguments.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    #[command(flatten)]
    pub file: ValuesFileArgs,
}

pub fn run(args: &ExplainArgs) -> Result<u8> {
    let (loaded, resolved) = resolve_platform(&args.platform)?;
    super::stdout_write(&crate::render::explain::report(
        &loaded,
        &resolved,
        args.file.which(),
    )?)
}
