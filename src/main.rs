//! The meshgen binary: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = meshgen::cli::Cli::parse();
    meshgen::cli::run(cli)
}
