//! The meshgen binary: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

// glibc malloc took about a quarter of `generate`'s CPU across threads; mimalloc cut the
// plan over 10,000 platforms from 1.57 s to 1.16 s (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = meshgen::cli::Cli::parse();
    meshgen::cli::run(cli)
}
