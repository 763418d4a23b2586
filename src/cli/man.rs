//! `meshgen man`: the man page, or one page per command written into a directory.

use std::path::PathBuf;

use clap::CommandFactory;

use super::exit;
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write meshgen.1 and a page per command (meshgen-generate.1, ...) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: &ManArgs) -> Result<u8> {
    let cmd = super::Cli::command();
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        clap_mangen::generate_to(cmd, dir).map_err(|e| Error::io(dir, e))?;
        super::term::note(&format!("wrote man pages into {}", dir.display()));
        return Ok(exit::SUCCESS);
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| Error::io("<man page>", e))?;
    super::stdout_write(&String::from_utf8_lossy(&buf))
}
