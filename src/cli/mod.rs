//! Command-line definition (clap derive) and dispatch; one file per subcommand.

mod paths;
mod quality;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every input was read.
pub const EXIT_OK: u8 = 0;
/// At least one input could not be read; the others were processed.
pub const EXIT_SOME_FAILED: u8 = 1;
/// Bad arguments, or a failure before any input was processed.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "jpgtool",
    version,
    about = "Works on JPEG files in their own domain: markers, tables, coefficients"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Estimate each file's encoder quality from its quantization tables (headers only).
    Quality(quality::Args),
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Quality(args) => quality::run(args),
    }
}

/// True when the error is a closed stdout (`jpgtool quality ... | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
