//! `meshgen values`: a platform's Helm values file, on stdout or written atomically.

use std::path::PathBuf;

use super::exit;
use super::platform::{resolve_platform, PlatformArgs, ValuesFileArgs};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    #[command(flatten)]
    pub file: ValuesFileArgs,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: &ValuesArgs) -> Result<u8> {
    let (_, resolved) = resolve_platform(&args.platform)?;
    let (_, text) = crate::render::pipeline::render_file(&resolved, args.file.which())?;
    match &args.output {
        Some(path) => crate::fsutil::write_atomic(path, text.as_bytes()).map(|()| exit::SUCCESS),
        None => super::stdout_write(&text),
    }
}
