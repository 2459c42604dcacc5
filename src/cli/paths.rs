//! Turns command-line operands into a stream of files: plain files, folders (one level, or all
//! levels with `-r`), and `-` for a list of paths on stdin, newline or NUL separated.

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// One input to process, or an operand that could not be expanded.
pub enum Item {
    File(PathBuf),
    Failed(PathBuf, anyhow::Error),
}

/// File name endings taken from folders; files named explicitly are always read.
fn is_jpeg_name(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["jpg", "jpeg", "jpe", "jfif", "jif"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// Lazily expands the operands in order. Folder entries are sorted by name so output is stable.
pub fn expand(operands: Vec<PathBuf>, recursive: bool) -> impl Iterator<Item = Item> {
    operands
        .into_iter()
        .flat_map(move |op| -> Box<dyn Iterator<Item = Item>> {
            if op.as_os_str() == "-" {
                return Box::new(stdin_list());
            }
            if op.is_dir() {
                let walker = walkdir::WalkDir::new(&op)
                    .max_depth(if recursive { usize::MAX } else { 1 })
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(|entry| match entry {
                        Ok(e) if e.file_type().is_file() && is_jpeg_name(e.path()) => {
                            Some(Item::File(e.into_path()))
                        }
                        Ok(_) => None,
                        Err(err) => {
                            let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                            Some(Item::Failed(path, anyhow::Error::new(err)))
                        }
                    });
                return Box::new(walker);
            }
            Box::new(std::iter::once(Item::File(op)))
        })
}

/// Paths from stdin. NUL separated if the first block holds a NUL byte, else one per line.
fn stdin_list() -> impl Iterator<Item = Item> {
    let mut input = io::BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let separator = match input.fill_buf() {
        Ok(buf) if buf.contains(&0) => 0,
        _ => b'\n',
    };
    input.split(separator).filter_map(move |line| match line {
        Ok(mut bytes) => {
            if separator == b'\n' && bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            (!bytes.is_empty()).then(|| Item::File(path_from_bytes(bytes)))
        }
        Err(err) => Some(Item::Failed(
            PathBuf::from("-"),
            anyhow::Error::new(err).context("reading the path list from stdin"),
        )),
    })
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// Adds the path to an error chain.
pub fn with_path<T>(result: jpgtool::Result<T>, path: &Path) -> anyhow::Result<T> {
    result.with_context(|| path.display().to_string())
}
