//! Command-line definition (clap derive) and dispatch; one file per subcommand.

mod allocator;
mod help;
mod jobs;
mod limits;
mod paths;
mod quality;
mod recompress;
mod shrink;
mod watermark;

use std::io;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Every input was processed (outputs skipped by `--no-clobber` count as done).
pub const EXIT_OK: u8 = 0;
/// At least one input could not be processed (missing, unreadable, not a JPEG, above a limit,
/// its output could not be written); the others were. For `verify`, also: no match.
pub const EXIT_SOME_FAILED: u8 = 1;
/// Bad arguments (unknown or conflicting options, a bad value, an unreadable --key-file):
/// nothing was processed.
pub const EXIT_USAGE: u8 = 2;

/// The exit codes, as `--help` shows them (and docs/exit-codes.md explains them).
const EXIT_CODES: &str = "\
Exit status (the same for every command; see docs/exit-codes.md):
  0      every file was processed (an output skipped by --no-clobber counts as done)
  1      at least one file could not be processed (missing, unreadable, not a JPEG, above a
         limit, or its output could not be written); the others were. verify: also no match
  2      usage: unknown or conflicting options, a bad value; nothing was processed
  3      verify: no file failed, and some file carries the key's pattern (pilot score >= 7.5)
         without one readable payload (damaged, or several payloads under one key)
  4      verify: no file failed, and in some file the payload layer reads a payload that the
         image's own histogram does not confirm: a mark copied from another image (or one too
         damaged to confirm); never reported as found or match
  128+N  stopped by signal N: 130 SIGINT (Ctrl-C), 143 SIGTERM, 129 SIGHUP. Finished outputs
         are complete; no partial or temporary file is left";

#[derive(Parser)]
#[command(
    name = "jpgtool",
    version,
    about = "Works on JPEG files in their own domain: markers, tables, coefficients",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Estimate each file's encoder quality from its quantization tables (headers only).
    #[command(after_help = EXIT_CODES)]
    Quality(quality::Args),
    /// Downscale JPEGs in the DCT domain (1/2, 1/4, 1/8, any M/8, or any size), streaming row
    /// batches from decoder to encoder in memory independent of image height.
    #[command(after_help = EXIT_CODES)]
    Shrink(shrink::Args),
    /// Re-encode JPEGs at a target quality: files already at or below it are left alone, and a
    /// file that would not get smaller is kept as it is. Metadata and chroma sampling are kept.
    #[command(after_help = EXIT_CODES)]
    Recompress(recompress::Args),
    /// Hide a keyed, invisible 32-byte payload in a JPEG (survives rotation, scaling, crops,
    /// flips and recompression).
    #[command(after_help = EXIT_CODES)]
    Mark(watermark::MarkArgs),
    /// Check whether JPEGs carry a payload under a key: "match" (exit 0), "no match" (exit 1),
    /// a mark without one readable payload (exit 3), or a mark not bound to the image (exit 4).
    ///
    /// Verdicts: with --payload, "match" (exit 0), "no match" (exit 1), "no match" with the
    /// pattern present and its payload unreadable or "several payloads" (exit 3), "not bound"
    /// (exit 4); blind, "found HEX" (exit 0), "not found" (exit 1), "mark present, payload
    /// unreadable" (exit 3), "not bound" (exit 4). A payload counts as the image's own only when
    /// the payload layer reads it (a claimed one also with its payload bits given, its keyed tag
    /// still to read) and the histogram layer, a remap of the image's own tones, confirms it: a
    /// pattern lifted from another image reads back but is not bound. Several
    /// payloads: the histogram confirms the claimed payload but the payload layer reads another,
    /// or a strong pattern (pilot score >= 15) without one (marked twice, or copies averaged).
    /// Over several files: 1 if any could not be read, else 4 if any mark is not bound, else 3
    /// if any mark is unreadable or holds several payloads, else 1 if any did not match, else 0.
    #[command(after_help = EXIT_CODES)]
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
        Command::Recompress(args) => recompress::run(args),
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

/// Handles SIGINT, SIGTERM and SIGHUP through [`jpgtool::atomic::request_stop`]: the process
/// ends with 128 + the signal's number, and no temporary file is left. `immediate`: end at once
/// (a command that writes one file and cannot poll for a stop); otherwise the first signal asks
/// the work to stop at the next row batch and the second ends the process at once. A signal
/// that was ignored when jpgtool started (`nohup`, a background job) stays ignored.
#[cfg(unix)]
pub fn handle_signals(immediate: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static IMMEDIATE: AtomicBool = AtomicBool::new(false);
    IMMEDIATE.store(immediate, Ordering::SeqCst);
    extern "C" fn on_signal(signal: libc::c_int) {
        jpgtool::atomic::request_stop(signal, IMMEDIATE.load(Ordering::SeqCst));
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only touches atomics and calls _exit (async-signal-safe); the
        // sigaction structs are initialised before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, &action, &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
            {
                libc::sigaction(signal, &old, std::ptr::null_mut());
            }
        }
    }
}

/// Elsewhere, Ctrl-C ends the process with the system's default action.
#[cfg(not(unix))]
pub fn handle_signals(_immediate: bool) {}

/// The exit code after a stop request (128 + signal), if there was one.
pub fn interrupted_code() -> Option<u8> {
    jpgtool::atomic::stop_signal().and_then(|s| u8::try_from(128 + s).ok())
}

/// The pool of worker threads for a command's files (`threads`: `-j`, or one per core), with
/// the allocator's policy for its size ([`allocator::keep_freed_memory_with`]).
fn worker_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build().context("starting worker threads")?;
    allocator::keep_freed_memory_with(pool.current_num_threads());
    Ok(pool)
}
