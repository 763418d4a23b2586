//! `meshgen completions`: a shell completion script.

use clap::CommandFactory;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: &CompletionsArgs) -> Result<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "meshgen", &mut buf);
    super::stdout_write(&String::from_utf8_lossy(&buf))
}
