//! `jpgtool shrink`: downscale JPEGs in the DCT domain, one file or whole folders, writing each
//! output atomically and never over its input unless `--in-place` is given.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
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
use jpgtool::shrink::{self, DecodePath, Filter, Options, QualitySource, Report, Sampling, Target};

#[derive(clap::Args)]
pub struct Args {
    /// JPEG files and folders to shrink; `-` reads a list of paths from stdin.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    #[command(flatten)]
    outputs: OutputArgs,

    /// Scale as a fraction M/8: 1/2, 1/4, 1/8, 3/8 .. 7/8 (pure DCT scaling, ceil(W*M/8)).
    /// Default: 1/2 when no size option is given.
    #[arg(long, value_name = "M/8", value_parser = parse_scale,
          conflicts_with_all = ["factor", "width", "height"])]
    scale: Option<u8>,

    /// Divide both sides by F (any real >= 1): round(W/F) x round(H/F).
    #[arg(long, value_name = "F", conflicts_with_all = ["width", "height"])]
    factor: Option<f64>,

    /// Output width (height follows the aspect ratio; with --height, fit inside the box).
    #[arg(long, value_name = "W", value_parser = clap::value_parser!(u32).range(1..))]
    width: Option<u32>,

    /// Output height (width follows the aspect ratio; with --width, fit inside the box).
    #[arg(long, value_name = "H", value_parser = clap::value_parser!(u32).range(1..))]
    height: Option<u32>,

    /// Output quality 1..100. Default: the input's own quality, estimated from its tables, but at
    /// most 80 when the output is smaller than the input (see docs/shrink.md).
    #[arg(short, long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: Option<u8>,

    /// Keep only the ICC profile and the EXIF orientation (drop the rest of EXIF, XMP, IPTC and
    /// comments), as vipsthumbnail and sharp do.
    #[arg(long)]
    strip: bool,

    /// Chroma sampling of the output. Default: as the input.
    #[arg(long, value_enum, default_value_t = SamplingArg::Keep)]
    sampling: SamplingArg,

    /// Resampling kernel for sizes that are not M/8.
    #[arg(long, value_enum, default_value_t = FilterArg::Area)]
    filter: FilterArg,

    /// Let the DCT do all of a non-M/8 reduction it can (faster, a little more aliasing).
    #[arg(long)]
    fast: bool,

    /// Stream rows from decoder to encoder in memory independent of image height (the default;
    /// accepted for scripts that say so).
    #[arg(long, conflicts_with = "smallest")]
    stream: bool,

    /// mozjpeg's progressive + trellis encoder: ~17% smaller, slower, and it buffers the whole
    /// output (checked against --max-memory before starting).
    #[arg(long)]
    smallest: bool,

    #[command(flatten)]
    limits: LimitArgs,

    /// Fail on truncated or corrupt data instead of warning.
    #[arg(long)]
    strict: bool,

    /// Decoder for progressive input at 1/8, 1/4 and 1/2: jpgtool's own (auto) or libjpeg.
    #[arg(long, value_enum, default_value_t = DecoderArg::Auto, hide = true)]
    decoder: DecoderArg,

    /// No progress bar and no per-file lines (errors and warnings are still printed).
    #[arg(long)]
    quiet: bool,

    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,

    /// Files shrunk at the same time (default: one per core). Memory is bounded per file.
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
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

#[derive(Clone, Copy, clap::ValueEnum)]
enum FilterArg {
    Area,
    Lanczos3,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DecoderArg {
    Auto,
    Libjpeg,
}

fn parse_scale(text: &str) -> Result<u8, String> {
    let (num, den) = text.split_once('/').unwrap_or((text, "1"));
    let (num, den): (u32, u32) = match (num.trim().parse(), den.trim().parse()) {
        (Ok(n), Ok(d)) if d > 0 => (n, d),
        _ => return Err(format!("{text:?} is not a fraction like 1/2")),
    };
    if (8 * num) % den != 0 || !(1..=8).contains(&(8 * num / den)) {
        return Err(format!(
            "{text} is not M/8 for M in 1..8 (use --factor for other sizes)"
        ));
    }
    Ok((8 * num / den) as u8)
}

/// What became of one job that did not fail.
enum Done {
    Shrunk(Report),
    /// `--no-clobber` and the output exists.
    Skipped,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::help::warn_if_simd_off();
    let target = match (args.scale, args.factor, args.width, args.height) {
        (Some(m), ..) => Target::Eighths(m),
        (None, Some(f), ..) => {
            anyhow::ensure!(f.is_finite() && f >= 1.0, "--factor must be >= 1");
            Target::Factor(f)
        }
        (None, None, Some(w), Some(h)) => Target::Fit(w, h),
        (None, None, Some(w), None) => Target::Width(w),
        (None, None, None, Some(h)) => Target::Height(h),
        (None, None, None, None) => Target::Eighths(4),
    };
    let pool = super::worker_pool(args.threads)?;

    // SIGINT, SIGTERM, SIGHUP: stop at the next row batch; a second signal ends the process at
    // once. Either way no temporary file is left (see jpgtool::atomic).
    super::handle_signals(false);
    let interrupted = jpgtool::atomic::stop_flag();

    let (jobs, mut failures) = plan_jobs(&args.paths, &args.outputs, !args.json)?;
    let show_progress = !args.quiet && !args.json && io::stderr().is_terminal();
    let batch_bar = (show_progress && jobs.len() > 1).then(|| {
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}/{eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let row_bar = (show_progress && jobs.len() == 1).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {percent}% rows {elapsed}/{eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let row_progress = |done: u64, total: u64| {
        if let Some(bar) = &row_bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };

    let options = Options {
        target,
        quality: args.quality,
        strip: args.strip,
        sampling: match args.sampling {
            SamplingArg::Keep => Sampling::Keep,
            SamplingArg::S444 => Sampling::S444,
            SamplingArg::S422 => Sampling::S422,
            SamplingArg::S420 => Sampling::S420,
            SamplingArg::S440 => Sampling::S440,
        },
        filter: match args.filter {
            FilterArg::Area => Filter::Area,
            FilterArg::Lanczos3 => Filter::Lanczos3,
        },
        fast: args.fast,
        smallest: args.smallest,
        max_memory: args.limits.limits().max_alloc,
        strict: args.strict,
        dc_only: args.decoder == DecoderArg::Auto,
        limits: args.limits.limits(),
        cancel: Some(interrupted),
        progress: Some(&row_progress),
    };

    // Not locked for the whole run: with `-o -` a worker thread writes the image to stdout.
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
                    let result = shrink_file(job, &options);
                    if let Some(bar) = &batch_bar {
                        bar.inc(1);
                    }
                    result
                })
                .collect()
        });
        for (job, result) in batch.iter().zip(results) {
            match result {
                Ok(Done::Shrunk(report)) => {
                    if let Some(bar) = &row_bar {
                        bar.finish_and_clear();
                    }
                    report_ok(&mut out, &args, job, &report)?
                }
                Ok(Done::Skipped) => report_clobber_skip(&mut out, job, args.json)?,
                Err(err) => {
                    failures += 1;
                    if let Some(bar) = &row_bar {
                        bar.abandon();
                    }
                    report_failure(&mut out, job, &err, args.json)?;
                }
            }
        }
        out.flush()?;
    }
    if let Some(bar) = batch_bar {
        bar.finish_and_clear();
    }
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

fn shrink_file(job: &Job, options: &Options) -> anyhow::Result<Done> {
    let name = || job.input.display().to_string();
    let to_stdout = job.output == Path::new("-");
    if job.no_clobber && !to_stdout && std::fs::symlink_metadata(&job.output).is_ok() {
        return Ok(Done::Skipped);
    }
    let (input, metadata) = open_input(job)?;
    let report = if to_stdout {
        // A pipe cannot be written atomically; a failure leaves a partial stream and exit 1.
        let stdout = io::stdout();
        let mut writer = io::BufWriter::with_capacity(256 << 10, stdout.lock());
        let (report, _) =
            shrink::shrink_seekable(&input, &mut writer, options).with_context(name)?;
        writer.flush().context("writing to stdout")?;
        report
    } else {
        let written = write_output(job, &metadata, |writer| {
            let (report, _) = shrink::shrink_seekable(&input, writer, options)?;
            Ok(report)
        })?;
        match written.with_context(name)? {
            Some(report) => report,
            None => return Ok(Done::Skipped),
        }
    };
    if report.warnings.count > 0 {
        eprintln!(
            "jpgtool: warning: {}: {} ({} warning{} from the decoder: the data is damaged)",
            name(),
            report.warnings.messages.first().map_or("", String::as_str),
            report.warnings.count,
            if report.warnings.count == 1 { "" } else { "s" }
        );
    }
    Ok(Done::Shrunk(report))
}

fn report_ok(out: &mut impl Write, args: &Args, job: &Job, report: &Report) -> anyhow::Result<()> {
    let decoder = match report.path {
        DecodePath::Streaming => "streaming",
        DecodePath::Buffered { .. } => "buffered",
        DecodePath::DcOnly { .. } => "dc-only",
        DecodePath::Bands { .. } => "bands",
    };
    let passes = match report.path {
        DecodePath::Bands { passes, .. } => passes,
        _ => 1,
    };
    let source = match report.quality_source {
        QualitySource::Given => "given",
        QualitySource::Estimated => "estimated",
        QualitySource::Fallback => "default",
        QualitySource::Downscaled => "downscaled-default",
    };
    let bytes = std::fs::metadata(&job.output).map(|m| m.len()).ok();
    if args.json {
        let line = json!({
            "input": job.input.display().to_string(),
            "output": job.output.display().to_string(),
            "ok": true,
            "input_width": report.input.0,
            "input_height": report.input.1,
            "output_width": report.output.0,
            "output_height": report.output.1,
            "dct_scale": format!("{}/8", report.plan.eighths),
            "resampled": report.plan.resamples(),
            "quality": report.quality,
            "quality_source": source,
            "decoder": decoder,
            "passes": passes,
            "warnings": report.warnings.count,
            "bytes": bytes,
        });
        writeln!(out, "{line}")?;
    } else if !args.quiet && job.output != Path::new("-") {
        writeln!(
            out,
            "{} {}x{} -> {} {}x{} q{} ({source}) {decoder}{} {} bytes",
            job.input.display(),
            report.input.0,
            report.input.1,
            job.output.display(),
            report.output.0,
            report.output.1,
            report.quality,
            if passes > 1 {
                format!(" in {passes} passes")
            } else {
                String::new()
            },
            bytes.unwrap_or(0)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_eighths() {
        assert_eq!(parse_scale("1/2"), Ok(4));
        assert_eq!(parse_scale("1/8"), Ok(1));
        assert_eq!(parse_scale("3/8"), Ok(3));
        assert_eq!(parse_scale("1"), Ok(8));
        assert!(parse_scale("1/3").is_err());
        assert!(parse_scale("2/1").is_err());
        assert!(parse_scale("0/8").is_err());
    }
}
