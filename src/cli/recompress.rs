//! `jpgtool recompress`: bring JPEGs down to a target quality, skipping those already at or
//! below it and keeping any original that re-encoding would not make smaller.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;

use super::jobs::{
    Job, OutputArgs, open_input, plan_jobs, report_clobber_skip, report_failure, write_output,
};
use super::limits::LimitArgs;
use super::{EXIT_OK, EXIT_SOME_FAILED};
use jpgtool::recompress::{
    self, Method, Options, Outcome, Report, Rounding, Sampling, fmt_quality,
};

#[derive(clap::Args)]
pub struct Args {
    /// JPEG files and folders to recompress; `-` reads a list of paths from stdin.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Target quality 1..100 (IJG scale): files at or below it are skipped, the others
    /// re-encoded at it.
    #[arg(short, long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,

    #[command(flatten)]
    outputs: OutputArgs,

    /// mozjpeg's progressive + trellis encoder (decodes and encodes): about 7% smaller than the
    /// default, 8x its CPU, and a lower PSNR at the same quality (docs/recompress.md).
    #[arg(long)]
    smallest: bool,

    /// How files are re-encoded: requantise the DCT coefficients (coefficients), or decode and
    /// encode (pixels). auto requantises unless --sampling changes the sampling or --smallest
    /// asks for trellis quantisation. See docs/recompress.md for the measurement.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    method: MethodArg,

    /// Rounding of requantised AC coefficients, LUMA,CHROMA offsets in 0..0.5 (0.5 rounds to
    /// nearest; less rounds more small values down to zero), or `nearest`. Default 0.39,0.45.
    /// Requantising only.
    #[arg(long, value_name = "L,C", value_parser = parse_rounding)]
    rounding: Option<Rounding>,

    /// Chroma sampling of the re-encoded files. Default: as the input.
    #[arg(long, value_enum, default_value_t = SamplingArg::Keep)]
    sampling: SamplingArg,

    /// Subtracted from the IJG-equivalent quality of files with unknown tables before comparing
    /// with -q, as `quality --margin`.
    #[arg(long, value_name = "M", default_value_t = 5.0)]
    margin: f64,

    /// Say what would be done with these outputs (re-encoding in memory to give the sizes)
    /// without writing anything.
    #[arg(long)]
    dry_run: bool,

    /// Fail on truncated or corrupt data instead of warning.
    #[arg(long)]
    strict: bool,

    /// No progress bar, no per-file lines and no total (errors and warnings are still printed).
    #[arg(long)]
    quiet: bool,

    /// One JSON object per file on stdout, and one for the total.
    #[arg(long)]
    json: bool,

    /// Files recompressed at the same time (default: one per core). Memory is bounded per file.
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,

    // Last: its help heading applies to every option after it.
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SamplingArg {
    Keep,
    #[value(name = "444")]
    S444,
    #[value(name = "422")]
    S422,
    #[value(name = "420")]
    S420,
    #[value(name = "440")]
    S440,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MethodArg {
    Auto,
    Pixels,
    Coefficients,
}

/// `--rounding`: `nearest`, or two offsets `LUMA,CHROMA` in 0..=0.5.
fn parse_rounding(text: &str) -> Result<Rounding, String> {
    if text == "nearest" {
        return Ok(Rounding::NEAREST);
    }
    let parse = |part: &str| -> Result<f64, String> {
        match part.trim().parse::<f64>() {
            Ok(x) if (0.0..=0.5).contains(&x) => Ok(x),
            _ => Err(format!("{part:?} is not an offset in 0..0.5")),
        }
    };
    match text.split_once(',') {
        Some((luma, chroma)) => Ok(Rounding {
            luma_ac: parse(luma)?,
            chroma_ac: parse(chroma)?,
        }),
        None => Err("expected LUMA,CHROMA (for example 0.39,0.45) or nearest".into()),
    }
}

/// What became of one job that did not fail.
enum Done {
    /// Recompressed, skipped or kept; `written` says whether an output was written (the new
    /// file, or with -o, an unchanged copy).
    Handled { report: Report, written: bool },
    /// `--no-clobber` and the output exists.
    Clobber,
}

/// Sums for the last line.
#[derive(Default)]
struct Totals {
    files: u64,
    recompressed: u64,
    skipped: u64,
    kept: u64,
    input_bytes: u64,
    output_bytes: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::help::warn_if_simd_off();
    anyhow::ensure!(
        args.margin.is_finite() && args.margin >= 0.0,
        "--margin must be >= 0"
    );
    let pool = super::worker_pool(args.threads)?;

    super::handle_signals(false);
    let interrupted = jpgtool::atomic::stop_flag();

    let (jobs, mut failures) = plan_jobs(&args.paths, &args.outputs, false)?;
    let show_progress = !args.quiet && !args.json && io::stderr().is_terminal();
    let bar = show_progress.then(|| {
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}/{eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });

    let mut options = Options::new(args.quality);
    options.smallest = args.smallest;
    options.method = match args.method {
        MethodArg::Auto => Method::Auto,
        MethodArg::Pixels => Method::Pixels,
        MethodArg::Coefficients => Method::Coefficients,
    };
    options.sampling = match args.sampling {
        SamplingArg::Keep => Sampling::Keep,
        SamplingArg::S444 => Sampling::S444,
        SamplingArg::S422 => Sampling::S422,
        SamplingArg::S420 => Sampling::S420,
        SamplingArg::S440 => Sampling::S440,
    };
    anyhow::ensure!(
        matches!(args.sampling, SamplingArg::Keep) || args.method != MethodArg::Coefficients,
        "--sampling needs --method pixels or auto (requantising keeps the input's sampling)"
    );
    if let Some(rounding) = args.rounding {
        options.rounding = rounding;
    }
    options.margin = args.margin;
    options.max_memory = args.limits.limits().max_alloc;
    options.strict = args.strict;
    options.limits = args.limits.limits();
    options.cancel = Some(interrupted);

    let mut totals = Totals::default();
    let mut out = io::BufWriter::new(io::stdout());
    for batch in jobs.chunks(64) {
        let results: Vec<anyhow::Result<Done>> = pool.install(|| {
            batch
                .par_iter()
                .map(|job| {
                    if interrupted.load(Ordering::Relaxed) {
                        return Err(jpgtool::Error::Interrupted)
                            .with_context(|| job.input.display().to_string());
                    }
                    let result = recompress_file(job, &options, args.dry_run);
                    if let Some(bar) = &bar {
                        bar.inc(1);
                    }
                    result
                })
                .collect()
        });
        for (job, result) in batch.iter().zip(results) {
            match result {
                Ok(Done::Handled { report, written }) => {
                    totals.add(&report);
                    if let Some(bar) = &bar {
                        bar.suspend(|| report_ok(&mut out, &args, job, &report, written))?;
                    } else {
                        report_ok(&mut out, &args, job, &report, written)?;
                    }
                }
                Ok(Done::Clobber) => match &bar {
                    Some(bar) => bar.suspend(|| report_clobber_skip(&mut out, job, args.json))?,
                    None => report_clobber_skip(&mut out, job, args.json)?,
                },
                Err(err) => {
                    failures += 1;
                    match &bar {
                        Some(bar) => {
                            bar.suspend(|| report_failure(&mut out, job, &err, args.json))?
                        }
                        None => report_failure(&mut out, job, &err, args.json)?,
                    }
                }
            }
        }
        out.flush()?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report_total(&mut out, &args, &totals, failures)?;
    out.flush()?;
    if let Some(code) = super::interrupted_code() {
        eprintln!("jpgtool: interrupted; finished outputs are complete, no partial file left");
        return Ok(ExitCode::from(code));
    }
    Ok(ExitCode::from(if failures > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    }))
}

fn recompress_file(job: &Job, options: &Options, dry_run: bool) -> anyhow::Result<Done> {
    let name = || job.input.display().to_string();
    if job.no_clobber && !dry_run && std::fs::symlink_metadata(&job.output).is_ok() {
        return Ok(Done::Clobber);
    }
    let (input, metadata) = open_input(job)?;
    // The output must be smaller than the input, and a file that would not shrink is copied as
    // it is: both need the input's size and a second read, which a pipe does not give (its
    // size reads as 0, and the copy would start where the first read stopped).
    if !metadata.is_file() {
        anyhow::bail!(
            "{}: not a regular file (recompress compares the new file with the input's size and \
             may copy the input as it is: save a stream to a file first)",
            name()
        );
    }
    let (report, bytes) =
        recompress::recompress(io::BufReader::new(&input), metadata.len(), options)
            .with_context(name)?;
    if report.warnings.count > 0 {
        eprintln!(
            "jpgtool: warning: {}: {} ({} warning{} from the decoder: the data is damaged)",
            name(),
            report.warnings.messages.first().map_or("", String::as_str),
            report.warnings.count,
            if report.warnings.count == 1 { "" } else { "s" }
        );
    }
    if dry_run {
        return Ok(Done::Handled {
            report,
            written: false,
        });
    }
    let written = match bytes {
        Some(bytes) => write_output(job, &metadata, |writer| {
            writer.write_all(&bytes).map_err(jpgtool::Error::Io)
        })?,
        // Nothing to change in place: the original stays, not even rewritten.
        None if job.in_place => {
            return Ok(Done::Handled {
                report,
                written: false,
            });
        }
        // Into another folder: an unchanged copy, so that the output holds every file.
        None => write_output(job, &metadata, |writer| {
            let mut original = File::open(&job.input)?;
            io::copy(&mut original, writer)?;
            Ok(())
        })?,
    };
    match written.with_context(name)? {
        Some(()) => Ok(Done::Handled {
            report,
            written: true,
        }),
        None => Ok(Done::Clobber),
    }
}

impl Totals {
    fn add(&mut self, report: &Report) {
        self.files += 1;
        match report.outcome {
            Outcome::Recompressed => self.recompressed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::KeptOriginal => self.kept += 1,
        }
        self.input_bytes += report.input_bytes;
        self.output_bytes += report.output_bytes;
    }
}

fn report_ok(
    out: &mut impl Write,
    args: &Args,
    job: &Job,
    report: &Report,
    written: bool,
) -> io::Result<()> {
    let method = report.method.map(|m| match m {
        Method::Auto => "auto",
        Method::Pixels => "pixels",
        Method::Coefficients => "coefficients",
    });
    if args.json {
        let line = json!({
            "input": job.input.display().to_string(),
            "output": job.output.display().to_string(),
            "ok": true,
            "outcome": report.outcome.name(),
            "skipped": report.outcome == Outcome::Skipped,
            "reason": report.reason,
            "written": written,
            "dry_run": args.dry_run,
            "old_quality": report.old_quality,
            "new_quality": (report.outcome == Outcome::Recompressed).then_some(report.new_quality),
            "target_quality": report.new_quality,
            "method": method,
            "input_bytes": report.input_bytes,
            "output_bytes": report.output_bytes,
            "encoded_bytes": report.encoded_bytes,
            "saved_bytes": report.saved(),
            "warnings": report.warnings.count,
        });
        return writeln!(out, "{line}");
    }
    if args.quiet {
        return Ok(());
    }
    let old = report
        .old_quality
        .map_or("-".to_string(), |q| format!("q{}", fmt_quality(q)));
    let would = if args.dry_run { "would be " } else { "" };
    match report.outcome {
        Outcome::Recompressed => writeln!(
            out,
            "{}: {would}recompressed {old} -> q{}, {} -> {} bytes ({})",
            job.input.display(),
            report.new_quality,
            report.input_bytes,
            report.output_bytes,
            percent(report.output_bytes, report.input_bytes)
        ),
        Outcome::Skipped => writeln!(
            out,
            "{}: {would}skipped ({}), {} bytes",
            job.input.display(),
            report.reason,
            report.input_bytes
        ),
        Outcome::KeptOriginal => writeln!(
            out,
            "{}: {would}kept original ({old} re-encoded at q{} is not smaller), {} bytes",
            job.input.display(),
            report.new_quality,
            report.input_bytes
        ),
    }
}

/// `-12.3%`: the change from `before` to `after`.
fn percent(after: u64, before: u64) -> String {
    if before == 0 {
        return "-".into();
    }
    format!(
        "{:+.1}%",
        (after as f64 - before as f64) * 100.0 / before as f64
    )
}

fn report_total(
    out: &mut impl Write,
    args: &Args,
    totals: &Totals,
    failures: usize,
) -> io::Result<()> {
    let saved = totals.input_bytes.saturating_sub(totals.output_bytes);
    if args.json {
        let line = json!({
            "total": true,
            "files": totals.files,
            "recompressed": totals.recompressed,
            "skipped": totals.skipped,
            "kept_original": totals.kept,
            "failed": failures,
            "input_bytes": totals.input_bytes,
            "output_bytes": totals.output_bytes,
            "saved_bytes": saved,
            "dry_run": args.dry_run,
        });
        return writeln!(out, "{line}");
    }
    if args.quiet {
        return Ok(());
    }
    let would = if args.dry_run { "would save" } else { "saved" };
    writeln!(
        out,
        "total: {} files: {} recompressed, {} skipped, {} kept original, {failures} failed; \
         {} -> {} bytes, {would} {saved} bytes ({})",
        totals.files,
        totals.recompressed,
        totals.skipped,
        totals.kept,
        totals.input_bytes,
        totals.output_bytes,
        percent(totals.output_bytes, totals.input_bytes)
    )
}
