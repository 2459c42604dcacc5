//! `jpgtool quality`: one line (or JSON object) per file, or, with `--max-quality`, only the
//! paths of the files worth recompressing.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rayon::prelude::*;
use serde_json::{Value, json};

use super::limits::MetadataArg;
use super::paths::{self, Item};
use super::{EXIT_OK, EXIT_SOME_FAILED};
use jpgtool::Inspection;
use jpgtool::quality::history::PrimaryConfidence;
use jpgtool::quality::inspect_file_opts;
use jpgtool::quality::{Confidence, Family, QualityRange};

#[derive(clap::Args)]
pub struct Args {
    /// Files and folders to read; `-` reads a list of paths from stdin (one per line, or NUL
    /// separated).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Descend into sub-folders (folders are otherwise read one level deep).
    #[arg(short, long)]
    recursive: bool,

    /// Write one JSON object per file (JSON lines) with every field.
    #[arg(long)]
    json: bool,

    /// Print only the files worth recompressing to quality Q: those whose quality is above Q.
    #[arg(long, value_name = "Q")]
    max_quality: Option<f64>,

    /// Print only files whose coded data takes more than B bits per pixel (with --max-quality:
    /// files that pass both tests).
    #[arg(long, value_name = "B")]
    max_bpp: Option<f64>,

    /// With --max-quality or --max-bpp: separate the printed paths with NUL instead of newline.
    #[arg(short = '0', long = "print0")]
    print0: bool,

    /// Judge mozjpeg files by their own quality scale instead of their IJG equivalent.
    #[arg(long)]
    native: bool,

    /// Subtracted from the IJG-equivalent quality of files with unknown tables before comparing
    /// with --max-quality, so that uncertain files are not re-encoded needlessly.
    #[arg(long, value_name = "M", default_value_t = 5.0)]
    margin: f64,

    /// Read headers only: skip the pass to EOI that measures bits per pixel (and the
    /// primary-quality analysis, unless --history is given).
    #[arg(long)]
    no_bpp: bool,

    /// Estimate the primary (earlier) quality of re-saved files from the first luma blocks,
    /// in every mode; with --max-quality, a file whose primary quality is at or below Q with
    /// high confidence counts as already at Q. The report does this by default, except with
    /// --no-bpp or --max-quality.
    #[arg(long, conflicts_with = "no_history")]
    history: bool,

    /// Skip the primary-quality analysis in the report.
    #[arg(long)]
    no_history: bool,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,

    #[command(flatten)]
    metadata: MetadataArg,
}

/// Files handled per parallel batch; output order follows input order batch by batch.
const BATCH: usize = 256;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(q) = args.max_quality {
        anyhow::ensure!((0.0..=100.0).contains(&q), "--max-quality must be 0..100");
    }
    let pool = super::worker_pool(args.threads)?;

    let selecting = args.max_quality.is_some() || args.max_bpp.is_some();
    let measure_bpp = !args.no_bpp && (!selecting || args.max_bpp.is_some() || args.json);
    let history = args.history || (!args.no_history && !args.no_bpp && !selecting);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if !args.json && !selecting && io::stdout().is_terminal() {
        writeln!(
            out,
            "{:>9} {:<10} {:<11} {:>8} {:<8} {:>11} {:>6}  path",
            "quality", "family", "confidence", "chroma", "sampling", "size", "bpp"
        )?;
    }

    let limits = args.metadata.limits();
    let mut failures = 0usize;
    let mut items = paths::expand(args.paths.clone(), args.recursive).peekable();
    while items.peek().is_some() {
        let batch: Vec<Item> = items.by_ref().take(BATCH).collect();
        let results: Vec<(PathBuf, anyhow::Result<Inspection>)> = pool.install(|| {
            batch
                .into_par_iter()
                .map(|item| match item {
                    Item::File(path) => {
                        let result = paths::with_path(
                            inspect_file_opts(&path, measure_bpp, history, &limits),
                            &path,
                        );
                        (path, result)
                    }
                    Item::Failed(path, err) => (path, Err(err)),
                })
                .collect()
        });
        for (path, result) in results {
            match result {
                Ok(found) => write_result(&mut out, &args, &path, &found)?,
                Err(err) => {
                    failures += 1;
                    out.flush()?;
                    eprintln!("jpgtool: {err:#}");
                    if args.json {
                        let line = json!({"path": path_text(&path), "ok": false,
                                          "error": format!("{err:#}")});
                        writeln!(out, "{line}")?;
                    }
                }
            }
        }
        out.flush()?;
    }
    Ok(ExitCode::from(if failures > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    }))
}

/// True when the file passes the `--max-quality` / `--max-bpp` tests. Files without a quality
/// (lossless) or without a bpp are never selected: nothing shows they are worth re-encoding.
fn selected(args: &Args, found: &Inspection) -> bool {
    let by_quality = args
        .max_quality
        .is_none_or(|target| decision_quality(args, found).is_some_and(|q| q > target));
    let by_bpp = args
        .max_bpp
        .is_none_or(|target| found.bpp().is_some_and(|bpp| bpp > target));
    by_quality && by_bpp
}

/// The table's decision quality; with --history, a primary quality found with high confidence
/// lowers it to the primary's highest quality (the file holds no more detail than that save).
fn decision_quality(args: &Args, found: &Inspection) -> Option<f64> {
    let tables = found.estimate.decision_quality(args.native, args.margin)?;
    if !args.history {
        return Some(tables);
    }
    let primary = found
        .history
        .as_ref()
        .and_then(|h| h.analysed())
        .filter(|h| h.confidence == Some(PrimaryConfidence::High))
        .and_then(|h| h.primary);
    Some(primary.map_or(tables, |p| tables.min(p.max)))
}

fn write_result(
    out: &mut impl Write,
    args: &Args,
    path: &Path,
    found: &Inspection,
) -> io::Result<()> {
    let selecting = args.max_quality.is_some() || args.max_bpp.is_some();
    if args.json {
        let mut obj = to_json(path, found, args);
        if selecting {
            obj["selected"] = Value::Bool(selected(args, found));
        }
        return writeln!(out, "{obj}");
    }
    if selecting {
        if selected(args, found) {
            out.write_all(path.as_os_str().as_encoded_bytes())?;
            out.write_all(if args.print0 { b"\0" } else { b"\n" })?;
        }
        return Ok(());
    }
    writeln!(out, "{}", human_line(path, found))
}

fn fmt_q(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q:.1}")
    }
}

fn fmt_range(r: &QualityRange) -> String {
    if r.is_single() {
        fmt_q(r.min)
    } else {
        format!("{}-{}", fmt_q(r.min), fmt_q(r.max))
    }
}

fn human_line(path: &Path, found: &Inspection) -> String {
    let est = &found.estimate;
    let frame = &found.header.frame;
    let mut quality = match (&est.quality, est.confidence) {
        (None, _) => "-".to_string(),
        (Some(q), Confidence::Exact) => fmt_range(q),
        (Some(q), _) => format!("~{}", fmt_range(q)),
    };
    if let Some(p) = found
        .history
        .as_ref()
        .and_then(|h| h.analysed())
        .and_then(|h| h.primary)
    {
        quality = format!("{quality} (from ~{})", fmt_range(&p));
    }
    if let Some(e) = found.effective_quality() {
        quality = format!("{quality} (effective ~{e:.0})");
    }
    let family = est.family.name();
    let setting = match est.family {
        Family::Known(name) => format!("  [{name}]"),
        _ => String::new(),
    };
    let chroma = est
        .chroma_quality
        .as_ref()
        .map_or("-".to_string(), fmt_range);
    let size = format!("{}x{}", frame.width, frame.height);
    let bpp = found.bpp().map_or("-".to_string(), |b| format!("{b:.2}"));
    format!(
        "{quality:>9} {family:<10} {:<11} {chroma:>8} {:<8} {size:>11} {bpp:>6}  {}{setting}",
        est.confidence.name(),
        found.header.subsampling(),
        path.display()
    )
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The JSON object documented in README.md ("JSON output"), from the library so that the
/// Python binding prints the same fields.
fn to_json(path: &Path, found: &Inspection, args: &Args) -> Value {
    let mut obj = found.to_json(&path_text(path), args.native, args.margin);
    // With --history, a confident primary quality lowers the decision (the library's object
    // has the tables' decision).
    obj["decision_quality"] = json!(decision_quality(args, found));
    obj
}
