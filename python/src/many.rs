//! `quality_many`: many files read in parallel while the calling thread turns the finished
//! reports into dicts, in input order.
//!
//! The files are handed out in chunks of [`CHUNK`] from a shared counter. `threads - 1` worker
//! threads read chunks without the GIL; the calling thread, holding the GIL, makes the dict of
//! the next file in order as soon as its report is there, and when it is not there yet, reads a
//! chunk itself with the GIL released (or, when none is left, waits with the GIL released). So
//! the dicts (which need the GIL) are made while the workers read, not after all of them have
//! finished, and `threads=1` is the calling thread alone, reading a chunk and converting it in
//! turn. Reports are small typed values freed by the thread that made their parts: no JSON maps.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use jpgtool::quality::{Report, inspect_file_opts};
use jpgtool::{Error, Limits};

use crate::report::{DictMaker, failure};

/// Files per chunk: large enough that handing out chunks and releasing the GIL cost nothing per
/// file, small enough that the calling thread rarely waits for a worker's chunk at the end.
const CHUNK: usize = 16;

/// What the report settings are, as `quality_many` was called.
#[derive(Clone, Copy)]
pub struct Settings {
    pub bpp: bool,
    pub history: bool,
    pub native: bool,
    pub margin: f64,
}

/// One file's outcome: its report, or the error message naming it.
type Row = Result<Report, String>;

/// The shared state of one call.
struct Work<'a> {
    paths: &'a [PathBuf],
    rows: Vec<OnceLock<Row>>,
    next: AtomicUsize,
    stop: AtomicBool,
    /// Signalled when a chunk is done, for the calling thread when it has nothing to read.
    done: (Mutex<()>, Condvar),
    settings: Settings,
}

impl Work<'_> {
    /// Reads the next chunk of files; false when none is left (or the call is stopping).
    fn read_chunk(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        let start = self.next.fetch_add(CHUNK, Ordering::Relaxed);
        if start >= self.paths.len() {
            return false;
        }
        let end = (start + CHUNK).min(self.paths.len());
        for at in start..end {
            let _ = self.rows[at].set(read(&self.paths[at], self.settings));
        }
        let _guard = self.done.0.lock().unwrap_or_else(|e| e.into_inner());
        self.done.1.notify_all();
        true
    }

    /// Waits (without the GIL) until the row at `at` is there.
    fn wait_for(&self, at: usize) {
        let mut guard = self.done.0.lock().unwrap_or_else(|e| e.into_inner());
        while self.rows[at].get().is_none() {
            // The timeout only guards against a missed signal; a chunk signals when done.
            guard = match self.done.1.wait_timeout(guard, Duration::from_millis(10)) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// One file's report, or its error message; a panic (a bug) becomes this file's error instead
/// of leaving its row empty.
fn read(path: &Path, settings: Settings) -> Row {
    let name = || path.display().to_string();
    let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<Report, Error> {
        let found = inspect_file_opts(path, settings.bpp, settings.history, &Limits::default())?;
        Ok(found.report(settings.native, settings.margin))
    }));
    match attempt {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(err)) => Err(format!("{}: {err}", name())),
        Err(_) => Err(format!(
            "{}: internal error (a bug): the reader panicked",
            name()
        )),
    }
}

/// For each path, the caller's `str` when the `path` field can hold it as it is.
type Names<'py> = Vec<Option<Bound<'py, PyString>>>;

/// The paths of `paths` as `quality` reads them, and for each the object the `path` field
/// holds: the caller's own `str` when the path is ASCII (its bytes then spell that string in any
/// file-system encoding), else the path's text as `quality` shows it.
fn paths_and_names<'py>(paths: &Bound<'py, PyAny>) -> PyResult<(Vec<PathBuf>, Names<'py>)> {
    if paths.is_instance_of::<PyString>() || paths.is_instance_of::<pyo3::types::PyBytes>() {
        return Err(PyTypeError::new_err(
            "paths must be a sequence of paths (str or os.PathLike), not a single path",
        ));
    }
    let mut out = Vec::new();
    let mut names = Vec::new();
    for item in paths.try_iter()? {
        let item = item?;
        let path: PathBuf = crate::extract_path(&item)?;
        let own = item
            .downcast_exact::<PyString>()
            .ok()
            .filter(|_| path.as_os_str().as_encoded_bytes().is_ascii())
            .cloned();
        out.push(path);
        names.push(own);
    }
    Ok((out, names))
}

/// `quality_many`'s work: the list of dicts in the order of `paths`.
pub fn quality_many<'py>(
    py: Python<'py>,
    paths: &Bound<'py, PyAny>,
    threads: usize,
    settings: Settings,
) -> PyResult<Bound<'py, PyList>> {
    let (paths, names) = paths_and_names(paths)?;
    let work = Work {
        paths: &paths,
        rows: (0..paths.len()).map(|_| OnceLock::new()).collect(),
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        done: (Mutex::new(()), Condvar::new()),
        settings,
    };
    let chunks = paths.len().div_ceil(CHUNK);
    let workers = threads.saturating_sub(1).min(chunks.saturating_sub(1));
    let list = PyList::empty(py);
    crate::report::with_maker(|maker| convert(py, &work, &names, workers, maker, &list))?;
    Ok(list)
}

/// Starts `workers` threads on `work`, and makes the dicts into `list` in input order.
fn convert<'py>(
    py: Python<'py>,
    work: &Work<'_>,
    names: &Names<'py>,
    workers: usize,
    maker: &mut DictMaker,
    list: &Bound<'py, PyList>,
) -> PyResult<()> {
    let paths = work.paths;
    std::thread::scope(|scope| -> PyResult<()> {
        for _ in 0..workers {
            // A thread the system refuses leaves its share to the others (the calling thread
            // reads whatever is left), rather than failing the call.
            let started = std::thread::Builder::new()
                .name("jpgtool-quality".into())
                .spawn_scoped(scope, || while work.read_chunk() {});
            if started.is_err() {
                break;
            }
        }
        let converted = (|| -> PyResult<()> {
            for (at, name) in names.iter().enumerate() {
                if at % 1024 == 0 {
                    py.check_signals()?;
                }
                while work.rows[at].get().is_none() {
                    py.allow_threads(|| {
                        if !work.read_chunk() {
                            work.wait_for(at);
                        }
                    });
                }
                let Some(row) = work.rows[at].get() else {
                    unreachable!("waited for the row")
                };
                let name = match name {
                    Some(name) => name.clone(),
                    None => PyString::new(py, &paths[at].display().to_string()),
                };
                let dict = match row {
                    Ok(report) => maker.report(py, report, &name)?,
                    Err(message) => failure(py, &name, message)?,
                };
                list.append(dict)?;
            }
            Ok(())
        })();
        // On an error (an interrupt, no memory) the workers stop after their chunk; the scope
        // then joins them (they never take the GIL).
        work.stop.store(true, Ordering::Relaxed);
        converted
    })
}
