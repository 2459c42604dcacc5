//! What `shrink` and `mark` share: where outputs go (`-o`, `--in-place`, `-n`, `-r`), the jobs
//! planned from the operands, and how each job's input is opened and its output written.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::paths::{self, Item};
use jpgtool::atomic::{OutputWriter, WriteOptions, write_atomically};

/// Where outputs go (`shrink`, `recompress` and `mark`).
#[derive(clap::Args)]
pub(super) struct OutputArgs {
    /// Output file (one input file; `-` for stdout with `shrink`) or folder (several inputs: an
    /// existing folder or a path ending in `/`; a folder operand: created if missing; outputs
    /// keep the inputs' names). Outputs never replace their input.
    #[arg(short, long, value_name = "OUT", required_unless_present = "in_place")]
    pub(super) output: Option<PathBuf>,

    /// Replace each input by its output (atomically: a failure keeps the original; a symbolic
    /// link is kept and its target replaced, with the target's permissions).
    #[arg(long, conflicts_with = "output")]
    in_place: bool,

    /// Leave existing outputs alone: skip their inputs (said on stderr, `"skipped": true` with
    /// --json) and count them as done (exit 0). An existing output is otherwise replaced,
    /// keeping its permissions.
    #[arg(short = 'n', long, conflicts_with = "in_place")]
    no_clobber: bool,

    /// Descend into sub-folders (mirrored under the output folder).
    #[arg(short, long)]
    recursive: bool,
}

/// One input and where its output goes (also `mark`'s).
pub(super) struct Job {
    pub(super) input: PathBuf,
    pub(super) output: PathBuf,
    /// `--in-place`: the output replaces the input on purpose.
    pub(super) in_place: bool,
    /// `--no-clobber`: an existing output is kept.
    pub(super) no_clobber: bool,
}

/// Expands the operands and decides each output path (`-o -` allowed with one input when
/// `stdout_ok`). Operand errors are printed and counted.
pub(super) fn plan_jobs(
    operands: &[PathBuf],
    outputs: &OutputArgs,
    stdout_ok: bool,
) -> anyhow::Result<(Vec<Job>, usize)> {
    let OutputArgs {
        output,
        in_place,
        no_clobber,
        recursive,
    } = outputs;
    let (output, in_place, no_clobber) = (output.as_deref(), *in_place, *no_clobber);
    let mut jobs = Vec::new();
    let mut failures = 0;
    let several = operands.len() > 1 || operands.iter().any(|p| p == Path::new("-"));
    let many = several || operands.iter().any(|p| p.is_dir());
    // With several input files, `-o one.jpg` is a mistake, not a request for a folder named
    // one.jpg: the folder must exist or be written with a trailing `/`. A folder operand is
    // unambiguous and may still name a new folder.
    if let Some(out) = output.filter(|out| {
        several
            && *out != Path::new("-")
            && !out.is_dir()
            && !out.as_os_str().to_string_lossy().ends_with('/')
    }) {
        bail!(
            "-o {}: with several inputs, -o must name an existing folder or end in `/` \
             (e.g. -o {}/)",
            out.display(),
            out.display()
        );
    }
    let out_dir = match output {
        Some(out) if many || out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/') => {
            Some(out.to_path_buf())
        }
        _ => None,
    };
    if many && !in_place && out_dir.is_none() {
        bail!("several inputs need an output folder: -o DIR");
    }
    if output == Some(Path::new("-")) && (many || !stdout_ok) {
        bail!("-o - (stdout) takes one input file and no --json");
    }
    let mut taken = HashSet::new();
    for operand in operands {
        for item in paths::expand(vec![operand.clone()], *recursive) {
            let input = match item {
                Item::File(path) => path,
                Item::Failed(path, err) => {
                    failures += 1;
                    eprintln!("jpgtool: {}: {err:#}", path.display());
                    continue;
                }
            };
            let output = if in_place {
                // Through a symbolic link: the target is replaced and the link kept; two links
                // to one file are one job.
                std::fs::canonicalize(&input).unwrap_or_else(|_| input.clone())
            } else if let Some(dir) = &out_dir {
                let relative = if operand.is_dir() {
                    input.strip_prefix(operand).unwrap_or(&input).to_path_buf()
                } else {
                    PathBuf::from(input.file_name().unwrap_or(input.as_os_str()))
                };
                dir.join(relative)
            } else {
                output.map(Path::to_path_buf).unwrap_or_default()
            };
            if !taken.insert(output.clone()) {
                failures += 1;
                eprintln!(
                    "jpgtool: {}: another input already writes {}; skipped",
                    input.display(),
                    output.display()
                );
                continue;
            }
            jobs.push(Job {
                input,
                output,
                in_place,
                no_clobber,
            });
        }
    }
    Ok((jobs, failures))
}

/// Writes a job's output atomically, into a folder created if missing, with the permissions
/// [`output_permissions`] gives. `Ok(None)`: `--no-clobber` met an output that someone else
/// created while we worked, and kept it. The outer error is the folder's; the inner one the
/// library's, for the caller to word.
pub(super) fn write_output<T>(
    job: &Job,
    input: &std::fs::Metadata,
    write: impl FnOnce(&mut OutputWriter<'_>) -> jpgtool::Result<T>,
) -> anyhow::Result<jpgtool::Result<Option<T>>> {
    if let Some(dir) = job.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let options = WriteOptions {
        permissions: Some(output_permissions(input)),
        no_clobber: job.no_clobber,
    };
    Ok(match write_atomically(&job.output, &options, write) {
        Ok(value) => Ok(Some(value)),
        Err(jpgtool::Error::Output { err, .. })
            if job.no_clobber && err.kind() == io::ErrorKind::AlreadyExists =>
        {
            Ok(None)
        }
        Err(err) => Err(err),
    })
}

/// Opens a job's input; an output that is the input itself (without `--in-place`) fails it.
pub(super) fn open_input(job: &Job) -> anyhow::Result<(File, std::fs::Metadata)> {
    let name = || job.input.display().to_string();
    let input = File::open(&job.input).with_context(name)?;
    let metadata = input.metadata().with_context(name)?;
    if !job.in_place
        && (job.output == job.input
            || same_file::is_same_file(&job.input, &job.output).unwrap_or(false))
    {
        bail!(
            "{}: the output {} is the input file; use --in-place to replace it",
            name(),
            job.output.display()
        );
    }
    Ok((input, metadata))
}

/// The permissions of a new output: the input's, plus write access for the owner (a read-only
/// original should not make a read-only copy that the next run cannot replace). An existing
/// output keeps its own (see `WriteOptions::permissions`).
pub(super) fn output_permissions(input: &std::fs::Metadata) -> std::fs::Permissions {
    let mut permissions = input.permissions();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        permissions.set_mode(permissions.mode() | 0o200);
    }
    permissions
}

/// Reports a job that `--no-clobber` skipped because its output exists: a line on stderr and,
/// with `--json`, an `"ok": true, "skipped": true` object on `out`. The same for every command.
pub(super) fn report_clobber_skip(out: &mut impl Write, job: &Job, json: bool) -> io::Result<()> {
    out.flush()?;
    eprintln!(
        "jpgtool: {}: {} exists; skipped (--no-clobber)",
        job.input.display(),
        job.output.display()
    );
    if json {
        let line = serde_json::json!({"input": job.input.display().to_string(),
                                      "output": job.output.display().to_string(),
                                      "ok": true, "skipped": true,
                                      "reason": "output exists (--no-clobber)"});
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Reports a job that failed: `jpgtool: ERROR` on stderr and, with `--json`, an `"ok": false`
/// object on `out`. The same for every command.
pub(super) fn report_failure(
    out: &mut impl Write,
    job: &Job,
    err: &anyhow::Error,
    json: bool,
) -> io::Result<()> {
    out.flush()?;
    eprintln!("jpgtool: {err:#}");
    if json {
        let line = serde_json::json!({"input": job.input.display().to_string(),
                                      "output": job.output.display().to_string(),
                                      "ok": false, "error": format!("{err:#}")});
        writeln!(out, "{line}")?;
    }
    Ok(())
}
