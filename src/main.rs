//! The meshgen binary: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

// The system's allocator for one-thread commands, mimalloc across threads (src/alloc.rs).
#[global_allocator]
static ALLOCATOR: meshgen::alloc::Adaptive = meshgen::alloc::Adaptive;

fn main() -> ExitCode {
    let cli = meshgen::cli::Cli::parse();
    meshgen::cli::run(cli)
}
