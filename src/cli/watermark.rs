//! `jpgtool mark` and `jpgtool verify`.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;

use super::jobs::{
    Job, OutputArgs, open_input, plan_jobs, report_clobber_skip, report_failure, write_output,
};
use super::limits::LimitArgs;
use super::{EXIT_OK, EXIT_SOME_FAILED};
use jpgtool::watermark::{
    self, Key, Layer, Layers, MIN_PASSPHRASE_LEN, MarkOptions, MarkReport, Payload, Progress,
    SecretKind, Verdict, VerifyOptions, VerifyReport, secret_from_key_file,
};

/// `verify`: at least one file carries this key's pattern (its pilots stand out) without one
/// readable payload (unreadable, or several payloads), and no file failed or was unbound.
pub const EXIT_UNREADABLE: u8 = 3;

/// `verify`: at least one file's payload reads back from the payload layer but is not bound
/// to the image (its histogram does not confirm it: a transplanted mark), and no file failed.
pub const EXIT_UNBOUND: u8 = 4;

/// Largest key file read (a key, not a data file).
const MAX_KEY_FILE: u64 = 1 << 20;

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct KeyArgs {
    /// Secret passphrase. Visible to other users in `ps` and /proc: prefer --key-file or
    /// --key-env (a warning says so).
    #[arg(long, value_name = "K")]
    key: Option<String>,

    /// File holding the key: 32 random bytes (e.g. `head -c 32 /dev/urandom > FILE`), used as
    /// they are, or a passphrase, of which one trailing newline (LF or CRLF) is dropped, so that
    /// `echo secret > FILE` works as `--key secret` does.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,

    /// Name of an environment variable holding the passphrase.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
}

impl KeyArgs {
    /// The key, after the warnings its source deserves. `strict` turns a short passphrase from a
    /// warning into a refusal.
    fn key(&self, strict: bool) -> anyhow::Result<Key> {
        let secret = match (&self.key, &self.key_file, &self.key_env) {
            (Some(k), _, _) => {
                eprintln!(
                    "jpgtool: warning: a key given with --key is visible to other users (ps, \
                     /proc); prefer --key-file or --key-env"
                );
                k.as_bytes().to_vec()
            }
            (None, Some(path), _) => read_key_file(path)?,
            (None, None, Some(var)) => match std::env::var(var) {
                Ok(value) => value.into_bytes(),
                Err(std::env::VarError::NotPresent) => {
                    bail!("--key-env {var}: no such environment variable")
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    bail!("--key-env {var}: the variable is not valid UTF-8")
                }
            },
            (None, None, None) => bail!("give --key-file, --key-env or --key"),
        };
        if SecretKind::of(&secret) == SecretKind::Passphrase && secret.len() < MIN_PASSPHRASE_LEN {
            let message = format!(
                "the passphrase has {} bytes: short passphrases can be guessed from one marked \
                 image; use {MIN_PASSPHRASE_LEN} or more, or a key file of 32 random bytes",
                secret.len()
            );
            if strict {
                bail!("{message} (refused with --strict)");
            }
            eprintln!("jpgtool: warning: {message}");
        }
        Ok(Key::from_secret(&secret)?)
    }
}

/// A key file's bytes: raw keys as they are, text with one trailing newline dropped.
fn read_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = File::open(path).with_context(|| path.display().to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| path.display().to_string())?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        bail!("{}: key file larger than 1 MiB", path.display());
    }
    secret_from_key_file(bytes).with_context(|| path.display().to_string())
}

#[derive(clap::Args)]
pub struct PayloadArgs {
    /// The 32-byte payload as 64 hexadecimal digits. One whose last 16 bytes are zero (32
    /// digits of an ID, then 32 zeros) is written in fewer bits and reads after harder
    /// downscales.
    #[arg(long, value_name = "HEX64", conflicts_with = "text")]
    payload: Option<String>,

    /// The payload as text of at most 32 bytes (UTF-8, padded with zero bytes); text of at
    /// most 16 bytes is written in fewer bits and reads after harder downscales.
    #[arg(long, value_name = "S")]
    text: Option<String>,
}

impl PayloadArgs {
    fn payload(&self) -> anyhow::Result<Option<Payload>> {
        Ok(match (&self.payload, &self.text) {
            (Some(hex), _) => Some(Payload::from_hex(hex)?),
            (None, Some(text)) => Some(Payload::from_text(text)?),
            (None, None) => None,
        })
    }
}

#[derive(clap::Args)]
pub struct MarkArgs {
    /// JPEG files and folders to mark; `-` reads a list of paths from stdin.
    #[arg(required = true, value_name = "IN")]
    inputs: Vec<PathBuf>,

    #[command(flatten)]
    outputs: OutputArgs,

    /// Mark even an image that already carries a mark under this key, replacing it: where its
    /// payload reads back, the earlier pattern is taken out first, so that the output carries
    /// the new payload alone. Refused by default: two payloads under one key never both read
    /// back. (A mark under another key cannot be seen without that key, so it is not refused.)
    #[arg(long)]
    force: bool,

    #[command(flatten)]
    key: KeyArgs,

    #[command(flatten)]
    payload: PayloadArgs,

    /// Output quality 1..100. Default: the input's own quality, estimated from its tables.
    #[arg(short, long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: Option<u8>,

    #[command(flatten)]
    limits: LimitArgs,

    /// Fail on truncated or corrupt input instead of warning.
    #[arg(long)]
    strict: bool,

    /// No progress bar and no per-file lines (errors and warnings are still printed).
    #[arg(long)]
    quiet: bool,

    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,

    /// Files marked at the same time (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// JPEG files to check.
    #[arg(required = true, value_name = "IN")]
    inputs: Vec<PathBuf>,

    #[command(flatten)]
    key: KeyArgs,

    #[command(flatten)]
    payload: PayloadArgs,

    #[command(flatten)]
    limits: LimitArgs,

    /// Fail on truncated or corrupt input instead of warning.
    #[arg(long)]
    strict: bool,

    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,

    /// Which layer may confirm a claimed payload: either (default), histogram (layer 1) or
    /// pattern (layer 2).
    #[arg(long, value_enum, default_value_t = LayerArg::Either)]
    layer: LayerArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LayerArg {
    Either,
    Histogram,
    Pattern,
}

pub fn run_mark(args: MarkArgs) -> anyhow::Result<ExitCode> {
    // One key derivation (Argon2id, about 0.2 s) for every file.
    let key = args.key.key(args.strict)?;
    let Some(payload) = args.payload.payload()? else {
        bail!("give the payload with --payload HEX64 or --text S");
    };
    if args.outputs.output.as_deref() == Some(Path::new("-")) {
        bail!("mark writes files: -o - (stdout) is not supported");
    }
    let (jobs, mut failures) = plan_jobs(&args.inputs, &args.outputs, false)?;
    // Marking cannot stop half-way and resume, so a signal ends the process at once; the
    // unnamed output files vanish with it.
    super::handle_signals(true);
    let show_progress = !args.quiet && !args.json && io::stderr().is_terminal();
    // One file: a bar of its steps (a camera-size photo takes seconds); several: of files.
    let step_bar = (show_progress && jobs.len() == 1).then(|| {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:40} {percent}% marking {elapsed}/{eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    });
    let options = MarkOptions {
        quality: args.quality,
        limits: args.limits.limits(),
        strict: args.strict,
        force: args.force,
        progress: step_bar.clone().map_or_else(Progress::default, |bar| {
            Progress::new(move |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
        }),
        ..MarkOptions::default()
    };
    let pool = super::worker_pool(args.threads)?;
    let bar = (show_progress && jobs.len() > 1).then(|| {
        ProgressBar::new(jobs.len() as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} marked {elapsed}/{eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    });
    let mut out = io::stdout().lock();
    // Files are marked a few at a time per worker and reported in input order.
    for group in jobs.chunks(2 * pool.current_num_threads().max(1)) {
        let results: Vec<anyhow::Result<Option<MarkReport>>> = pool.install(|| {
            group
                .par_iter()
                .map(|job| {
                    let result = mark_file(job, &key, &payload, &options);
                    if let Some(bar) = &bar {
                        bar.inc(1);
                    }
                    result
                })
                .collect()
        });
        if let Some(bar) = &step_bar {
            bar.finish_and_clear();
        }
        for (job, result) in group.iter().zip(results) {
            let mut print = || -> anyhow::Result<()> {
                match &result {
                    Ok(Some(report)) => {
                        warn_damaged(&job.input, &report.warnings);
                        warn_under_ssim_floor(&job.input, report, options.pattern.min_ssim);
                        print_marked(&mut out, job, report, &args)
                    }
                    Ok(None) => Ok(report_clobber_skip(&mut out, job, args.json)?),
                    Err(err) => Ok(report_failure(&mut out, job, err, args.json)?),
                }
            };
            match &bar {
                Some(bar) => bar.suspend(&mut print)?,
                None => print()?,
            }
            failures += usize::from(result.is_err());
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(ExitCode::from(if failures > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    }))
}

/// Marks one file into its output, written atomically (`None`: skipped by `--no-clobber`);
/// errors name the input.
fn mark_file(
    job: &Job,
    key: &Key,
    payload: &Payload,
    options: &MarkOptions,
) -> anyhow::Result<Option<MarkReport>> {
    let name = || job.input.display().to_string();
    if job.no_clobber && std::fs::symlink_metadata(&job.output).is_ok() {
        return Ok(None);
    }
    let (input, metadata) = open_input(job)?;
    let written = write_output(job, &metadata, |writer| {
        let (report, _) =
            watermark::mark(io::BufReader::new(&input), writer, key, payload, options)?;
        Ok(report)
    })?;
    match written {
        Ok(report) => Ok(report),
        Err(err) => {
            let hint = matches!(err, jpgtool::Error::AlreadyMarked { .. })
                .then_some("; --force marks it anyway")
                .unwrap_or_default();
            bail!("{}: {err}{hint}", name())
        }
    }
}

/// With `-q`, `mark` writes at the quality asked and cannot raise it when the re-encode alone
/// costs more SSIM than the floor allows (the pattern is then scaled down as far as it goes):
/// the file is written as asked, and stderr says that it is under the floor.
fn warn_under_ssim_floor(input: &Path, report: &MarkReport, floor: f64) {
    if let Some(ssim) = report.ssim.filter(|&s| s < floor) {
        eprintln!(
            "jpgtool: warning: {}: SSIM-Y {ssim:.4} is under the {floor:.4} floor at q{} (the \
             pattern is scaled to {:.2}; the re-encode at this quality costs the rest): a higher \
             -q, or none, keeps the floor",
            input.display(),
            report.quality,
            report.pattern_scale,
        );
    }
}

/// `q90`, or `q90 with the input's tables` when the growth guard wrote the file with the
/// input's own quantization tables rescaled to that quality.
struct QualityLabel<'a>(&'a MarkReport);

impl std::fmt::Display for QualityLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "q{}", self.0.quality)?;
        if self.0.input_tables {
            write!(f, " with the input's tables")?;
        }
        Ok(())
    }
}

/// One line (or JSON object) for a marked file.
fn print_marked(
    out: &mut impl Write,
    job: &Job,
    report: &MarkReport,
    args: &MarkArgs,
) -> anyhow::Result<()> {
    let name = || job.input.display().to_string();
    let output = &job.output;
    if args.json {
        let line = json!({
            "input": name(),
            "output": output.display().to_string(),
            "ok": true,
            "width": report.width,
            "height": report.height,
            "quality": report.quality,
            "tables": if report.input_tables { "input" } else { "ijg" },
            "psnr_luma_db": round2(report.psnr),
            "ssim_luma": report.ssim.map(|v| (v * 1e5).round() / 1e5),
            "pattern_scale": round2(f64::from(report.pattern_scale)),
            "score": round2(report.check.score),
            "threshold": round2(report.check.threshold),
            "margin": round2(report.margin()),
            "groups_shaped": report.groups.satisfied,
            "groups_occupied": report.check.occupied_groups,
            "histogram_layer": report.histogram_holds(),
            "payload_layer": report.payload_layer_holds(),
            "bound": report.check.binds || report.extraction.content_binds(),
            "content_score": report.extraction.content_score.map(|z| round2(f64::from(z))),
            "content_share": report.extraction.content_share.map(|z| round2(f64::from(z))),
            "content_coverage": report.extraction.content_coverage.map(|z| round2(f64::from(z))),
            "pilot_score": round2(f64::from(report.extraction.pilot_score)),
            "several_payloads": report.extraction.several_payloads,
            "replaced_payload": report.replaced.map(|p| p.to_hex()),
            "warnings": report.warnings.count,
        });
        writeln!(out, "{line}")?;
    } else if !args.quiet {
        writeln!(
            out,
            "{} -> {}: marked, PSNR {:.1} dB and SSIM {} (luma), {}; histogram layer {}: score \
             {:.2} (match threshold {:.2}, margin {:.2}), {} of {} groups shaped; payload layer \
             {} (pilot score {:.1}{}){}{}",
            name(),
            output.display(),
            report.psnr,
            report
                .ssim
                .map_or_else(|| "-".to_string(), |v| format!("{v:.4}")),
            QualityLabel(report),
            if report.histogram_holds() {
                "holds"
            } else {
                "too weak"
            },
            report.check.score,
            report.check.threshold,
            report.margin(),
            report.groups.satisfied,
            report.check.groups,
            if report.payload_layer_holds() {
                "reads back"
            } else if report.extraction.several_payloads {
                // Only with --force: the input carried a mark of this key already, and its
                // payload did not read back to be taken out.
                "reads several payloads under this key (the input's mark and this one)"
            } else {
                "does not read back"
            },
            report.extraction.pilot_score,
            if report.pattern_scale < 1.0 {
                format!(
                    ", amplitude x{:.2} for the SSIM floor",
                    report.pattern_scale
                )
            } else if report.pattern_scale > 1.0 {
                format!(
                    ", texture amplitude x{:.2} within the SSIM floor",
                    report.pattern_scale
                )
            } else {
                String::new()
            },
            match report.extraction.content_summary() {
                Some(content) if !report.check.binds && report.extraction.content_binds() => {
                    format!(
                        "; bound to this image by the payload layer's content term ({content}; \
                         a new mark binds from {})",
                        watermark::pattern::score_and_share_rule()
                    )
                }
                _ => String::new(),
            },
            match report.replaced {
                Some(earlier) => format!(
                    "; replaces this key's earlier mark (payload {}), taken out of the input",
                    earlier.to_hex()
                ),
                None => String::new(),
            },
        )?;
    }
    Ok(())
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = args.key.key(args.strict)?;
    let claimed = args.payload.payload()?;
    let options = VerifyOptions {
        limits: args.limits.limits(),
        strict: args.strict,
        layers: match args.layer {
            LayerArg::Either => Layers::Either,
            LayerArg::Histogram => Layers::Histogram,
            LayerArg::Pattern => Layers::Pattern,
        },
    };
    let (mut any_error, mut any_miss, mut any_unreadable, mut any_unbound) =
        (false, false, false, false);
    // verify runs one file at a time on the global pool.
    super::allocator::keep_freed_memory_with(rayon::current_num_threads());
    let mut out = io::stdout().lock();
    for path in &args.inputs {
        let result = File::open(path).map_err(jpgtool::Error::Io).and_then(|f| {
            watermark::verify(io::BufReader::new(f), &key, claimed.as_ref(), &options)
        });
        match result {
            Ok(report) => {
                warn_damaged(path, &report.warnings);
                let verdict = report.verdict(claimed.as_ref());
                match verdict {
                    Verdict::Found(_) | Verdict::Match(_) => {}
                    Verdict::NotFound | Verdict::NoMatch => any_miss = true,
                    Verdict::Unreadable | Verdict::SeveralPayloads => any_unreadable = true,
                    Verdict::Unbound => any_unbound = true,
                }
                print_verdict(
                    &mut out,
                    path,
                    &report,
                    verdict,
                    claimed.as_ref(),
                    args.json,
                )?;
            }
            Err(err) => {
                any_error = true;
                eprintln!("jpgtool: {}: {err}", path.display());
                if args.json {
                    let line = json!({"input": path.display().to_string(), "ok": false, "error": err.to_string()});
                    writeln!(out, "{line}")?;
                }
            }
        }
    }
    // A file that could not be read is not confirmed either: 1, as for no match; then a mark
    // not bound to its image (4), a present mark without one readable payload (3), no match.
    Ok(ExitCode::from(if any_error {
        EXIT_SOME_FAILED
    } else if any_unbound {
        EXIT_UNBOUND
    } else if any_unreadable {
        EXIT_UNREADABLE
    } else if any_miss {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    }))
}

/// One line per file: "found"/"not found" blind, "match"/"no match" for a claimed payload,
/// "payload unreadable" when the key's pattern is present but no payload reads back, "several
/// payloads" when layer 1 confirms a claimed payload that layer 2 shows is not alone, and "not
/// bound" when layer 2 reads a payload that the image's histogram does not confirm.
fn print_verdict(
    out: &mut impl Write,
    path: &Path,
    report: &VerifyReport,
    verdict: Verdict,
    claimed: Option<&Payload>,
    json: bool,
) -> anyhow::Result<()> {
    let extraction = report.extraction.as_ref();
    let pilot = extraction.map_or(0.0, |e| e.pilot_score);
    if json {
        let mut line = json!({
            "input": path.display().to_string(),
            "ok": true,
            "verdict": verdict.name(),
        });
        if claimed.is_some() {
            let layer = match verdict {
                Verdict::Match(layer) => Some(layer),
                _ => None,
            };
            line["match"] = json!(layer.is_some());
            line["layer"] = json!(layer.map(Layer::name));
        } else {
            let found = match verdict {
                Verdict::Found(payload) => Some(payload),
                _ => None,
            };
            line["found"] = json!(found.is_some());
            line["payload"] = json!(found.map(|p| p.to_hex()));
        }
        if let Some(d) = &report.detection {
            line["score"] = json!(round2(d.score));
            line["threshold"] = json!(round2(d.threshold));
            line["false_positive_bound"] = json!(d.false_positive_bound);
            line["search"] = json!(d.tier.as_str());
            line["tone_gain"] = json!(d.tone.gain);
            line["tone_offset"] = json!(d.tone.offset);
            line["tone_gamma"] = json!(d.tone.gamma);
            line["binds"] = json!(d.binds);
            line["groups_occupied"] = json!(d.occupied_groups);
        }
        if let Some(e) = extraction {
            if claimed.is_some() {
                line["claimed_confirmed"] = json!(e.claimed_confirmed);
            }
            line["pilot_score"] = json!(round2(f64::from(e.pilot_score)));
            line["content_score"] = json!(e.content_score.map(|z| round2(f64::from(z))));
            line["content_share"] = json!(e.content_share.map(|z| round2(f64::from(z))));
            line["content_coverage"] = json!(e.content_coverage.map(|z| round2(f64::from(z))));
            line["one_payload_z"] = json!(e.one_payload_z.map(|z| round2(f64::from(z))));
            line["content_binds"] = json!(e.content_binds());
            line["lattice"] = json!(e.lattice.map(|l| [l.u, l.v]));
        }
        writeln!(out, "{line}")?;
        return Ok(());
    }
    let path = path.display();
    // What binds a payload layer 2 read to the image.
    let bound_by = if report.detection.as_ref().is_some_and(|d| d.binds) {
        "the histogram layer".to_string()
    } else {
        format!(
            "the payload layer's content term, {}",
            extraction
                .and_then(|e| e.content_summary())
                .unwrap_or_default()
        )
    };
    // Layer 1's evidence in words, for the verdicts that rest on it.
    let histogram = |d: &watermark::Detection| {
        format!(
            "histogram layer: best score {:.2}, needs {:.2}, {} of {} groups occupied",
            d.score, d.threshold, d.occupied_groups, d.groups
        )
    };
    match verdict {
        Verdict::Found(payload) => writeln!(out, "{path}: found {}", payload.to_hex())?,
        Verdict::NotFound => writeln!(out, "{path}: not found (best pilot score {pilot:.1})")?,
        Verdict::Match(Layer::Histogram) => {
            if let Some(d) = &report.detection {
                writeln!(
                    out,
                    "{path}: match (histogram layer: score {:.2} >= {:.2}, {}; false-positive \
                     probability <= {:.1e})",
                    d.score, d.threshold, d.tier, d.false_positive_bound
                )?
            }
        }
        Verdict::Match(Layer::Pattern) if extraction.is_some_and(|e| e.payload.is_none()) => {
            writeln!(
                out,
                "{path}: match (payload layer: the claimed payload's keyed tag reads back with \
                 its payload bits given, false-positive probability <= {:.1e}; bound to this \
                 image by the histogram layer)",
                watermark::pattern::CLAIMED_FALSE_POSITIVE_BOUND
            )?
        }
        Verdict::Match(Layer::Pattern) => writeln!(
            out,
            "{path}: match (payload layer: the payload and its keyed tag read back, false-positive \
             probability <= {:.1e}; bound to this image by {bound_by})",
            watermark::pattern::FALSE_POSITIVE_BOUND
        )?,
        Verdict::NoMatch => {
            // Only the layers that ran (see --layer) are reported.
            let mut parts = Vec::new();
            if let Some(d) = &report.detection {
                parts.push(histogram(d));
            }
            if let Some(e) = extraction {
                parts.push(match e.payload {
                    Some(_) => "payload layer: another payload".to_string(),
                    None => "payload layer: nothing read back".to_string(),
                });
            }
            writeln!(out, "{path}: no match ({})", parts.join("; "))?
        }
        Verdict::Unreadable => {
            let mut line = format!("mark present, payload unreadable (pilot score {pilot:.1})");
            if claimed.is_some() {
                line = format!("no match (payload layer: {line}");
                if let Some(d) = &report.detection {
                    line = format!("{line}; {}", histogram(d));
                }
                line.push(')');
            }
            writeln!(out, "{path}: {line}")?
        }
        Verdict::SeveralPayloads if extraction.is_some_and(|e| e.several_payloads) => writeln!(
            out,
            "{path}: several payloads under this key (the payload layer reads two payloads, \
             pilot score {pilot:.1}): marked twice or copies averaged; neither is the image's \
             own mark"
        )?,
        Verdict::SeveralPayloads => writeln!(
            out,
            "{path}: several payloads under this key, not this one alone (the histogram layer \
             confirms it, the payload layer {}): marked twice or copies averaged",
            match extraction.and_then(|e| e.payload) {
                Some(_) => "reads another payload".to_string(),
                None => format!("sees the mark unreadable, pilot score {pilot:.1}"),
            }
        )?,
        Verdict::Unbound => writeln!(
            out,
            "{path}: mark not bound to this image: the payload layer reads {} (pilot score \
             {pilot:.1}) but neither the image's own histogram ({}) nor the payload layer's \
             content term ({}; binds from {}) confirms it: a mark copied from another image, or \
             one too damaged to confirm",
            if claimed.is_some() {
                "this payload"
            } else {
                "a payload"
            },
            report
                .detection
                .as_ref()
                .map_or_else(|| "not tested".to_string(), histogram),
            extraction
                .and_then(|e| e.content_summary())
                .unwrap_or_else(|| "not measured".to_string()),
            watermark::pattern::content_binding_rule(),
        )?,
    }
    Ok(())
}

fn warn_damaged(path: &Path, warnings: &jpgtool::codec::Warnings) {
    if warnings.count > 0 {
        eprintln!(
            "jpgtool: warning: {}: {} ({} decoder warning{}: the data is damaged)",
            path.display(),
            warnings.messages.first().map_or("", String::as_str),
            warnings.count,
            if warnings.count == 1 { "" } else { "s" }
        );
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
