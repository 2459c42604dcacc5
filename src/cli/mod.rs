//! Command-line definition (clap derive) and dispatch; one file per subcommand.

mod limits;
mod paths;
mod quality;
mod shrink;
mod watermark;

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
    /// Downscale JPEGs in the DCT domain (1/2, 1/4, 1/8, any M/8, or any size), streaming row
    /// batches from decoder to encoder in memory independent of image height.
    Shrink(shrink::Args),
    /// Hide a keyed, invisible 32-byte payload in a JPEG (survives rotation, scaling, crops,
    /// flips and recompression).
    Mark(watermark::MarkArgs),
    /// Check whether JPEGs carry a payload under a key: "match" (exit 0) or "no match" (exit 1).
    Verify(watermark::VerifyArgs),
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Quality(args) => quality::run(args),
        Command::Shrink(args) => shrink::run(args),
        Command::Mark(args) => watermark::run_mark(args),
        Command::Verify(args) => watermark::run_verify(args),
    }
}

/// True when the error is a closed stdout (`jpgtool quality ... | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let broken = |e: &io::Error| e.kind() == io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(broken)
            || matches!(e.downcast_ref::<jpgtool::Error>(), Some(jpgtool::Error::Io(e)) if broken(e))
    })
}
