//! Command-line definition (clap derive) and dispatch; one file per subcommand.

mod help;
mod limits;
mod paths;
mod quality;
mod shrink;
mod watermark;

use std::io;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    about = "Works on JPEG files in their own domain: markers, tables, coefficients",
    after_help = "Exit codes: 0 all done, 1 some input failed (or, for verify, did not match), \
                  2 usage error. `jpgtool help COMMAND` for each command's own details."
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
    /// Check whether JPEGs carry a payload under a key: "match" (exit 0), "no match" (exit 1),
    /// or a mark whose payload cannot be read (exit 3).
    Verify(watermark::VerifyArgs),
    /// Print a shell completion script to stdout (e.g. `jpgtool completions bash >
    /// /etc/bash_completion.d/jpgtool`).
    Completions(help::CompletionsArgs),
    /// Print the manual page (roff) to stdout: `jpgtool man | man -l -`, or `jpgtool man shrink`
    /// for one command's page.
    Man(help::ManArgs),
}

pub fn run() -> anyhow::Result<ExitCode> {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Quality(args) => quality::run(args),
        Command::Shrink(args) => shrink::run(args),
        Command::Mark(args) => watermark::run_mark(args),
        Command::Verify(args) => watermark::run_verify(args),
        Command::Completions(args) => help::completions(args, command()),
        Command::Man(args) => help::man(args, command()),
    }
}

/// The clap command, with a version line that names the codec library and its SIMD state.
fn command() -> clap::Command {
    Cli::command().version(help::version_line())
}

/// True when the error is a closed stdout (`jpgtool quality ... | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let broken = |e: &io::Error| e.kind() == io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(broken)
            || matches!(e.downcast_ref::<jpgtool::Error>(), Some(jpgtool::Error::Io(e)) if broken(e))
    })
}
