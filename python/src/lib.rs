//! `jpgtool._jpgtool`, the compiled part of the `jpgtool` Python package: a thin layer over the
//! jpgtool library's public API. Arguments are converted while the GIL is held; all reading,
//! decoding, encoding and writing runs with the GIL released (`py.allow_threads`), so Python
//! threads (and Dask's threaded scheduler) run calls in parallel.
//!
//! Errors: what is wrong with the data (not a JPEG, malformed, truncated, unsupported, over a
//! limit, refused by libjpeg, cannot be marked) raises `jpgtool.JpegError`, a `ValueError`,
//! whose message starts with the file's name (`<bytes>` for data in memory). What the operating
//! system refuses (no such file, permission denied, a full disk) raises `OSError` (so
//! `FileNotFoundError` etc.) with the file name in `filename`, as Python's own `open` does.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use jpgtool::atomic::{WriteOptions, write_atomically};
use jpgtool::codec::Warnings;
use jpgtool::quality::Inspection;
use jpgtool::recompress::{self as recompression, Method};
use jpgtool::shrink::{Options as ShrinkOptions, Target, shrink as shrink_jpeg};
use jpgtool::watermark::{
    self, Extraction, Key, MIN_PASSPHRASE_LEN, MarkOptions, Payload, SecretKind, Verdict,
    VerifyOptions,
};
use jpgtool::{Error, Limits};

mod many;
mod report;

create_exception!(
    jpgtool,
    JpegError,
    PyValueError,
    "The data is not a JPEG jpgtool can work on (malformed, truncated, unsupported, over a \
     limit, or refused by the codec). The message names the file (`<bytes>` for data in memory) \
     and the problem."
);

/// A JPEG to read: a path (str or os.PathLike) or the bytes themselves.
enum Source {
    Path(PathBuf),
    Bytes(PyBackedBytes),
}

impl Source {
    fn extract(src: &Bound<'_, PyAny>) -> PyResult<Source> {
        // bytes and bytearray first: a str is also a valid path, bytes are never one here.
        if let Ok(bytes) = src.extract::<PyBackedBytes>() {
            return Ok(Source::Bytes(bytes));
        }
        match extract_path(src) {
            Ok(path) => Ok(Source::Path(path)),
            Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "src must be a path (str or os.PathLike) or bytes, not {}",
                src.get_type().name()?
            ))),
        }
    }

    /// How messages name it.
    fn name(&self) -> String {
        match self {
            Source::Path(path) => path.display().to_string(),
            Source::Bytes(_) => "<bytes>".to_string(),
        }
    }
}

/// A library error as the Python exception its kind deserves, naming `name`.
fn py_error(name: &str, err: Error) -> PyErr {
    match err {
        Error::Io(io) => os_error(&io, name),
        Error::Output { path, err } => os_error(&err, &path.display().to_string()),
        other => JpegError::new_err(format!("{name}: {other}")),
    }
}

/// `OSError(errno, strerror, filename)`, which Python turns into the matching subclass
/// (`FileNotFoundError`, `PermissionError`, ...).
fn os_error(err: &std::io::Error, filename: &str) -> PyErr {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(errno) => {
            // "No such file or directory (os error 2)" -> "No such file or directory".
            let strerror = text
                .strip_suffix(&format!(" (os error {errno})"))
                .unwrap_or(&text)
                .to_string();
            PyOSError::new_err((errno, strerror, filename.to_string()))
        }
        None => PyOSError::new_err(format!("{filename}: {text}")),
    }
}

/// A Python `UserWarning` for damaged data that the decoder worked around (as the CLI's
/// "warning: ... the data is damaged" on stderr).
fn warn_damaged(py: Python<'_>, name: &str, warnings: &Warnings) -> PyResult<()> {
    if warnings.count == 0 {
        return Ok(());
    }
    let message = format!(
        "{name}: {} ({} warning{} from the decoder: the data is damaged)",
        warnings.messages.first().map_or("", String::as_str),
        warnings.count,
        if warnings.count == 1 { "" } else { "s" }
    );
    let category = py.get_type::<PyUserWarning>();
    PyErr::warn(py, &category, &std::ffi::CString::new(message)?, 1)
}

fn inspect(source: &Source, bpp: bool, history: bool) -> Result<Inspection, Error> {
    let limits = Limits::default();
    match source {
        // The primary-quality analysis is a second read from the start, decoding every block.
        Source::Path(path) => jpgtool::quality::inspect_file_opts(path, bpp, history, &limits),
        Source::Bytes(bytes) => jpgtool::quality::inspect_bytes_opts(bytes, bpp, history, &limits),
    }
}

/// A path argument as every call reads it (`os.fspath`, then the file-system encoding).
fn extract_path(src: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    src.extract::<PathBuf>()
}

/// The quality of one JPEG from its quantization tables, with its header facts: a dict with
/// the fields of ``jpgtool quality --json`` (``quality``, ``family``, ``confidence``,
/// ``decision_quality``, ``width``, ``height``, ``subsampling``, ``bpp``, ...; see the README's
/// "JSON output"). ``src`` is a path or the file's bytes (``path`` is then ``"<bytes>"``).
///
/// ``bpp=False`` reads the headers only (no pass to the end of the image: ``bpp``,
/// ``coded_bytes``, ``eoi`` and ``scans`` are None). ``native`` and ``margin`` set
/// ``decision_quality`` as the CLI's ``--native`` and ``--margin`` do. With ``history=True``
/// (default: as ``bpp``, as the CLI's default report) the dict also has the ``primary_*``
/// fields of a re-saved file's earlier quality (``primary_quality`` None when no earlier save
/// is seen); that analysis decodes every block of the file, a few milliseconds per megapixel.
///
/// Raises JpegError for data that is not a readable JPEG, OSError when the file cannot be read.
#[pyfunction]
#[pyo3(signature = (src, *, bpp = true, history = None, native = false, margin = 5.0))]
fn quality(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    bpp: bool,
    history: Option<bool>,
    native: bool,
    margin: f64,
) -> PyResult<PyObject> {
    let source = Source::extract(src)?;
    let report = py
        .allow_threads(|| {
            inspect(&source, bpp, history.unwrap_or(bpp)).map(|found| found.report(native, margin))
        })
        .map_err(|e| py_error(&source.name(), e))?;
    let name = PyString::new(py, &source.name());
    let dict = report::with_maker(|maker| maker.report(py, &report, &name))?;
    Ok(dict.into_any().unbind())
}

/// ``quality`` for many files at once, read on ``threads`` threads (default: one per core
/// this process may use; the calling thread is one of them) with the GIL released, while the
/// calling thread turns finished reports into dicts in input order. Returns a list in the order
/// of ``paths``, each entry equal to what ``quality(path, history=history, ...)`` gives. Unlike
/// ``quality``,
/// ``history`` is off by default: a survey of many files wants the decision, and the
/// primary-quality analysis decodes every file (about ten times the time of the rest).
/// ``bpp=False`` reads the headers only, as Pillow's ``Image.open`` does.
///
/// A file that cannot be read does not stop the others: its entry is
/// ``{"path": ..., "ok": False, "error": "<path>: <problem>"}``, as ``jpgtool quality --json``
/// prints it; readable files have ``"ok": True``.
#[pyfunction]
#[pyo3(signature = (paths, threads = None, *, bpp = true, history = false, native = false, margin = 5.0))]
fn quality_many<'py>(
    py: Python<'py>,
    paths: &Bound<'py, PyAny>,
    threads: Option<usize>,
    bpp: bool,
    history: bool,
    native: bool,
    margin: f64,
) -> PyResult<Bound<'py, PyList>> {
    let threads = match threads {
        Some(0) => return Err(PyValueError::new_err("threads must be at least 1")),
        Some(n) => n,
        None => cores(),
    };
    let settings = many::Settings {
        bpp,
        history,
        native,
        margin,
    };
    many::quality_many(py, paths, threads, settings)
}

/// The cores this process may use (affinity and cgroup quota), learnt once: finding out reads
/// several files under /proc and /sys, which cost more than reading a JPEG's headers.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Where an output goes: back to Python as bytes, or atomically into a file.
fn write_output<T>(
    source: &Source,
    dst: Option<&Path>,
    work: impl FnOnce(&mut dyn std::io::Write) -> Result<T, Error>,
) -> Result<(T, Option<Vec<u8>>), Error> {
    let Some(dst) = dst else {
        let mut bytes = Vec::new();
        let value = work(&mut bytes)?;
        return Ok((value, Some(bytes)));
    };
    let mut options = WriteOptions::default();
    if let Source::Path(input) = source {
        options.permissions = Some(output_permissions(&std::fs::metadata(input)?));
    }
    let value = write_atomically(dst, &options, |writer| work(writer))?;
    Ok((value, None))
}

/// A new output's permissions, as the CLI's: the input's, plus write access for the owner (a
/// read-only original should not make a read-only copy that the next run cannot replace).
fn output_permissions(input: &std::fs::Metadata) -> std::fs::Permissions {
    let mut permissions = input.permissions();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        permissions.set_mode(permissions.mode() | 0o200);
    }
    permissions
}

/// Refuses a `dst` that is the input file itself: the input is never replaced unless asked.
fn check_not_input(source: &Source, dst: Option<&Path>) -> PyResult<()> {
    if let (Source::Path(input), Some(dst)) = (source, dst)
        && same_file::is_same_file(input, dst).unwrap_or(false)
    {
        return Err(PyValueError::new_err(format!(
            "{}: dst {} is the input file; write to another path and rename it if a \
             replacement is wanted",
            input.display(),
            dst.display()
        )));
    }
    Ok(())
}

/// Opens a path source (bytes need nothing).
fn open(source: &Source) -> Result<Option<File>, Error> {
    match source {
        Source::Path(path) => Ok(Some(File::open(path)?)),
        Source::Bytes(_) => Ok(None),
    }
}

/// The result of a call that writes a JPEG: bytes when `dst` was None, else None.
fn output_object(py: Python<'_>, bytes: Option<Vec<u8>>) -> PyObject {
    match bytes {
        Some(bytes) => PyBytes::new(py, &bytes).into_any().unbind(),
        None => py.None(),
    }
}

/// The shrink target from the keyword arguments (default 1/2, as the CLI).
fn shrink_target(scale: Option<f64>, width: Option<u32>, height: Option<u32>) -> PyResult<Target> {
    Ok(match (scale, width, height) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(PyValueError::new_err(
                "give scale, or width and/or height, not both",
            ));
        }
        (Some(scale), None, None) => {
            let eighths = scale * 8.0;
            if !(eighths.fract() == 0.0 && (1.0..=8.0).contains(&eighths)) {
                return Err(PyValueError::new_err(format!(
                    "scale {scale} is not M/8 for M in 1..8 (0.125, 0.25, 0.375 ... 1)"
                )));
            }
            Target::Eighths(eighths as u8)
        }
        (None, Some(0), _) | (None, _, Some(0)) => {
            return Err(PyValueError::new_err("width and height must be at least 1"));
        }
        (None, Some(w), Some(h)) => Target::Fit(w, h),
        (None, Some(w), None) => Target::Width(w),
        (None, None, Some(h)) => Target::Height(h),
        (None, None, None) => Target::Eighths(4),
    })
}

fn check_quality(quality: Option<i64>) -> PyResult<Option<u8>> {
    match quality {
        None => Ok(None),
        Some(q) if (1..=100).contains(&q) => Ok(Some(q as u8)),
        Some(q) => Err(PyValueError::new_err(format!(
            "quality must be 1..100, got {q}"
        ))),
    }
}

/// Downscales a JPEG in the DCT domain (libjpeg's scaled IDCT, then an area resampler for
/// sizes that are not M/8), as ``jpgtool shrink`` does.
///
/// ``scale`` is M/8 for M in 1..8 (0.5, 0.25, 0.125, 0.375, ...); ``width`` and/or ``height``
/// give a size instead (one side keeps the aspect ratio, both fit inside the box). Default:
/// scale 0.5. ``quality`` (1..100) defaults to the source's own estimated quality.
///
/// ``src`` is a path or bytes. With ``dst`` None the JPEG comes back as bytes; otherwise it is
/// written to ``dst`` atomically (complete or not at all; an existing file is replaced, the
/// input never) and None is returned. Damaged data the decoder works around gives a
/// UserWarning.
#[pyfunction]
#[pyo3(signature = (src, dst = None, *, scale = None, width = None, height = None, quality = None))]
fn shrink(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: Option<PathBuf>,
    scale: Option<f64>,
    width: Option<u32>,
    height: Option<u32>,
    quality: Option<i64>,
) -> PyResult<PyObject> {
    let source = Source::extract(src)?;
    let target = shrink_target(scale, width, height)?;
    let quality = check_quality(quality)?;
    check_not_input(&source, dst.as_deref())?;
    let options = ShrinkOptions {
        target,
        quality,
        ..ShrinkOptions::default()
    };
    let result = py.allow_threads(|| {
        let file = open(&source)?;
        write_output(&source, dst.as_deref(), |out| {
            let report = match (&source, &file) {
                (_, Some(file)) => shrink_jpeg(file, out, &options)?.0,
                (Source::Bytes(bytes), None) => shrink_jpeg(&bytes[..], out, &options)?.0,
                (Source::Path(_), None) => unreachable!("a path source is opened"),
            };
            Ok(report)
        })
    });
    let (report, bytes) = result.map_err(|e| py_error(&source.name(), e))?;
    warn_damaged(py, &source.name(), &report.warnings)?;
    Ok(output_object(py, bytes))
}

/// Re-encodes a JPEG at IJG quality ``quality`` unless its decision quality (as ``jpgtool
/// quality --max-quality`` compares it) is already at or below it: optimised Huffman tables,
/// EXIF/ICC/XMP/IPTC and the sampling kept, and never a larger file (a re-encoding that is not
/// smaller is dropped and the original kept).
///
/// ``src`` is a path or bytes. With ``dst`` None (and ``in_place`` False) the resulting JPEG
/// comes back as bytes: the new file, or the input's own bytes, unchanged, when it was skipped or
/// the re-encoding was not smaller. With ``dst``, that resulting file is written to ``dst``
/// atomically (``dst`` may not be the input); with ``in_place=True`` (a path ``src``, no
/// ``dst``) the input itself is replaced atomically, and only when the new file is smaller.
/// With ``dst`` or ``in_place``, a dict reports what was done: ``outcome`` (``"skipped"``,
/// ``"recompressed"``, ``"kept-original"``), ``reason``, ``input_bytes``, ``output_bytes``,
/// ``old_quality`` (the decision quality, None for lossless), ``new_quality``, ``method``
/// (``"pixels"``, ``"coefficients"`` or None when skipped).
#[pyfunction]
#[pyo3(signature = (src, dst = None, *, quality, in_place = false))]
fn recompress(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: Option<PathBuf>,
    quality: i64,
    in_place: bool,
) -> PyResult<PyObject> {
    let source = Source::extract(src)?;
    let Some(quality) = check_quality(Some(quality))? else {
        unreachable!("a quality was given")
    };
    if in_place && (dst.is_some() || matches!(source, Source::Bytes(_))) {
        return Err(PyValueError::new_err(
            "in_place=True replaces the file src names: give a path and no dst",
        ));
    }
    check_not_input(&source, dst.as_deref())?;
    let options = recompression::Options::new(quality);
    let result = py.allow_threads(|| -> Result<_, Error> {
        let (report, new) = match &source {
            Source::Path(path) => {
                let file = File::open(path)?;
                let len = file.metadata()?.len();
                recompression::recompress(&file, len, &options)?
            }
            Source::Bytes(bytes) => recompression::recompress_bytes(bytes, &options)?,
        };
        // The file that stands after the call: the new one, or the input as it is.
        let result = match (new, &source) {
            (Some(new), _) => Some(new),
            (None, _) if in_place => None,
            (None, Source::Path(path)) => Some(std::fs::read(path)?),
            (None, Source::Bytes(bytes)) => Some(bytes.to_vec()),
        };
        let target = if in_place {
            match &source {
                Source::Path(path) => Some(path.as_path()),
                Source::Bytes(_) => None,
            }
        } else {
            dst.as_deref()
        };
        match (target, result) {
            (Some(target), Some(bytes)) => {
                let mut options = WriteOptions::default();
                if let (Source::Path(input), false) = (&source, in_place) {
                    options.permissions = Some(output_permissions(&std::fs::metadata(input)?));
                }
                write_atomically(target, &options, |w| {
                    Ok(std::io::Write::write_all(w, &bytes)?)
                })?;
                Ok((report, None))
            }
            (Some(_), None) => Ok((report, None)),
            (None, bytes) => Ok((report, bytes)),
        }
    });
    let (report, bytes) = result.map_err(|e| py_error(&source.name(), e))?;
    warn_damaged(py, &source.name(), &report.warnings)?;
    if let Some(bytes) = bytes {
        return Ok(PyBytes::new(py, &bytes).into_any().unbind());
    }
    let dict = PyDict::new(py);
    dict.set_item("outcome", report.outcome.name())?;
    dict.set_item("reason", &report.reason)?;
    dict.set_item("input_bytes", report.input_bytes)?;
    dict.set_item("output_bytes", report.output_bytes)?;
    dict.set_item("old_quality", report.old_quality)?;
    dict.set_item("new_quality", report.new_quality)?;
    dict.set_item(
        "method",
        report.method.map(|m| match m {
            Method::Auto => "auto",
            Method::Pixels => "pixels",
            Method::Coefficients => "coefficients",
        }),
    )?;
    Ok(dict.into_any().unbind())
}

/// The watermark key from secret bytes, with the CLI's warning for a short passphrase.
fn watermark_key(py: Python<'_>, key: &[u8]) -> PyResult<Key> {
    if key.is_empty() {
        return Err(PyValueError::new_err("key is empty"));
    }
    if SecretKind::of(key) == SecretKind::Passphrase && key.len() < MIN_PASSPHRASE_LEN {
        let message = format!(
            "the passphrase has {} bytes: short passphrases can be guessed from one marked \
             image; use {MIN_PASSPHRASE_LEN} or more, or a key of 32 random bytes",
            key.len()
        );
        let category = py.get_type::<PyUserWarning>();
        PyErr::warn(py, &category, &std::ffi::CString::new(message)?, 2)?;
    }
    let key = key.to_vec();
    // Argon2id stretching of a passphrase takes a fifth of a second: without the GIL.
    py.allow_threads(|| Key::from_secret(&key))
        .map_err(|e| PyValueError::new_err(format!("key: {e}")))
}

fn watermark_payload(payload: &[u8]) -> PyResult<Payload> {
    Payload::from_bytes(payload).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Hides a payload of at most 32 bytes (padded with zero bytes) in a JPEG under a secret key,
/// as ``jpgtool mark`` does: same size, sampling and metadata, quality as estimated. ``key`` is
/// 32 random bytes (used as they are) or a passphrase (stretched by Argon2id; under 16 bytes
/// gives a UserWarning).
///
/// With ``dst`` None the marked JPEG comes back as bytes; otherwise it is written to ``dst``
/// atomically and None is returned. Raises JpegError when the image cannot carry the mark
/// with margin or already carries one under this key.
#[pyfunction]
#[pyo3(signature = (src, dst = None, *, key, payload))]
fn mark(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: Option<PathBuf>,
    key: &[u8],
    payload: &[u8],
) -> PyResult<PyObject> {
    let source = Source::extract(src)?;
    let payload = watermark_payload(payload)?;
    check_not_input(&source, dst.as_deref())?;
    let key = watermark_key(py, key)?;
    let options = MarkOptions::default();
    let result = py.allow_threads(|| {
        let file = open(&source)?;
        write_output(&source, dst.as_deref(), |out| {
            let report = match (&source, &file) {
                (_, Some(file)) => {
                    watermark::mark(BufReader::new(file), out, &key, &payload, &options)?.0
                }
                (Source::Bytes(bytes), None) => {
                    watermark::mark(&bytes[..], out, &key, &payload, &options)?.0
                }
                (Source::Path(_), None) => unreachable!("a path source is opened"),
            };
            Ok(report)
        })
    });
    let (report, bytes) = result.map_err(|e| py_error(&source.name(), e))?;
    warn_damaged(py, &source.name(), &report.warnings)?;
    Ok(output_object(py, bytes))
}

/// Tests whether a JPEG carries ``payload`` under ``key`` (either layer), or with ``payload``
/// None reads the payload back blind, as ``jpgtool verify`` does. Returns a dict:
///
/// - ``verdict``: ``"match"`` / ``"no_match"`` for a claimed payload, ``"found"`` /
///   ``"not_found"`` blind, ``"unreadable"`` when the key's pattern is present but no payload
///   reads back, ``"several_payloads"`` when two payloads under the key share the image
///   (copies averaged, or marked twice; neither is returned), ``"unbound"`` when a payload
///   reads back that nothing of the image binds (a copied mark);
/// - ``payload``: the 32 bytes read back blind by the payload layer (zero-padded), or None;
/// - ``match`` (bool) and ``layer`` (``"pattern"``, ``"histogram"`` or None) for a claimed
///   payload, None blind;
/// - ``pilot_score``: the payload layer's pilot score;
/// - ``content_score``, ``content_share`` and ``content_coverage``: with a payload read back,
///   the score of its content term, the share of it the pattern carries and the part of the
///   pattern where the image gives a content sign, which bind it to this image from a score
///   of 13 with a share of 0.5, 18 with 0.4, or 9 with 0.6 and a coverage of 0.4
///   (``"found"`` and ``"match"`` need the histogram layer's binding or this one), else None;
/// - ``one_payload_z``: with a payload read blind, how many deviations its data cells' share
///   of the pilots' amplitude lies above the half two payloads leave each (a read counts from
///   3), else None;
/// - ``score`` and ``threshold``: the histogram layer's test of a claimed payload, when it ran.
#[pyfunction]
#[pyo3(signature = (src, *, key, payload = None))]
fn verify(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    key: &[u8],
    payload: Option<&[u8]>,
) -> PyResult<Py<PyDict>> {
    let source = Source::extract(src)?;
    let claimed = payload.map(watermark_payload).transpose()?;
    let key = watermark_key(py, key)?;
    let options = VerifyOptions::default();
    let report = py
        .allow_threads(|| match &source {
            Source::Path(path) => {
                let file = File::open(path)?;
                watermark::verify(BufReader::new(file), &key, claimed.as_ref(), &options)
            }
            Source::Bytes(bytes) => watermark::verify(&bytes[..], &key, claimed.as_ref(), &options),
        })
        .map_err(|e| py_error(&source.name(), e))?;
    warn_damaged(py, &source.name(), &report.warnings)?;
    let dict = PyDict::new(py);
    let verdict = report.verdict(claimed.as_ref());
    dict.set_item("verdict", verdict.name())?;
    let found = match verdict {
        Verdict::Found(payload) => Some(payload),
        _ => None,
    };
    dict.set_item("payload", found.map(|p| PyBytes::new(py, &p.0)))?;
    match verdict {
        _ if claimed.is_none() => {
            dict.set_item("match", py.None())?;
            dict.set_item("layer", py.None())?;
        }
        Verdict::Match(layer) => {
            dict.set_item("match", true)?;
            dict.set_item("layer", layer.name())?;
        }
        _ => {
            dict.set_item("match", false)?;
            dict.set_item("layer", py.None())?;
        }
    }
    let extraction = report.extraction.as_ref();
    dict.set_item("pilot_score", extraction.map(|e| f64::from(e.pilot_score)))?;
    let content = |field: fn(&Extraction) -> Option<f32>| extraction.and_then(field).map(f64::from);
    dict.set_item("content_score", content(|e| e.content_score))?;
    dict.set_item("content_share", content(|e| e.content_share))?;
    dict.set_item("content_coverage", content(|e| e.content_coverage))?;
    dict.set_item("one_payload_z", content(|e| e.one_payload_z))?;
    dict.set_item("score", report.detection.as_ref().map(|d| d.score))?;
    dict.set_item("threshold", report.detection.as_ref().map(|d| d.threshold))?;
    Ok(dict.unbind())
}

/// The compiled module; `jpgtool/__init__.py` re-exports it.
#[pymodule]
fn _jpgtool(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("JpegError", m.py().get_type::<JpegError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(quality, m)?)?;
    m.add_function(wrap_pyfunction!(quality_many, m)?)?;
    m.add_function(wrap_pyfunction!(shrink, m)?)?;
    m.add_function(wrap_pyfunction!(recompress, m)?)?;
    m.add_function(wrap_pyfunction!(mark, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    Ok(())
}
