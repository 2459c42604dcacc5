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
/// A symbolic link in a folder is taken when it points to a file (a photo library of links is
/// processed as its files are); a link to a folder is not descended, so no walk loops.
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
                        Ok(e) if is_jpeg_name(e.path()) && names_a_file(&e) => {
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

/// A regular file, or a symbolic link whose target is one.
fn names_a_file(entry: &walkdir::DirEntry) -> bool {
    entry.file_type().is_file() || (entry.path_is_symlink() && entry.path().is_file())
}

/// The longest path accepted in a list on stdin (Linux's PATH_MAX is 4096): a stream without
/// separators stops the list there instead of growing one line without end.
const MAX_LISTED_PATH: usize = 64 << 10;

/// The most empty entries in a row a list on stdin may hold (blank lines are skipped, as
/// `xargs` does): an endless stream of separators (`/dev/zero`, `yes ''`) stops there with an
/// error instead of running for ever without output.
const MAX_EMPTY_RUN: usize = 64 << 10;

/// Paths from stdin. NUL separated if the first block holds a NUL byte, else one per line.
fn stdin_list() -> impl Iterator<Item = Item> {
    let mut input = io::BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let separator = match input.fill_buf() {
        Ok(buf) if buf.contains(&0) => 0,
        _ => b'\n',
    };
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match next_path(&mut input, separator) {
            Ok(Some(path)) => Some(Item::File(path)),
            Ok(None) => {
                done = true;
                None
            }
            Err(err) => {
                done = true;
                Some(Item::Failed(
                    PathBuf::from("-"),
                    anyhow::Error::new(err).context("reading the path list from stdin"),
                ))
            }
        }
    })
}

/// The next non-empty path of a list (a trailing CR of a line dropped), `None` at the end; an
/// error for an entry over [`MAX_LISTED_PATH`] bytes or more than [`MAX_EMPTY_RUN`] empty
/// entries in a row.
fn next_path(input: &mut impl BufRead, separator: u8) -> io::Result<Option<PathBuf>> {
    for _ in 0..=MAX_EMPTY_RUN {
        let Some(mut bytes) = read_entry(input, separator, MAX_LISTED_PATH)? else {
            return Ok(None);
        };
        if separator == b'\n' && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if !bytes.is_empty() {
            return Ok(Some(path_from_bytes(bytes)));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("more than {MAX_EMPTY_RUN} empty entries in a row (not a list of paths?)"),
    ))
}

/// The next `separator`-terminated entry (without the separator), `None` at the end; an
/// error for an entry over `max` bytes, having read no more than `max` + one buffer.
fn read_entry(input: &mut impl BufRead, separator: u8, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut entry = Vec::new();
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((!entry.is_empty()).then_some(entry));
        }
        let (taken, found) = match memchr::memchr(separator, buf) {
            Some(at) => (at, true),
            None => (buf.len(), false),
        };
        entry.extend_from_slice(&buf[..taken]);
        input.consume(taken + usize::from(found));
        if entry.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an entry is longer than {max} bytes (no separator: not a list of paths?)"),
            ));
        }
        if found {
            return Ok(Some(entry));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn list_entries_are_split_and_bounded() {
        let mut list = &b"a.jpg\nb.jpg\n\nlast"[..];
        let mut entries = Vec::new();
        while let Some(entry) = read_entry(&mut list, b'\n', 100).unwrap() {
            entries.push(entry);
        }
        assert_eq!(entries, [&b"a.jpg"[..], b"b.jpg", b"", b"last"]);
        // An endless stream without separators: an error, not an endless line.
        let mut endless = io::BufReader::new(io::repeat(b'x'));
        let err = read_entry(&mut endless, b'\n', 1000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn empty_entries_are_skipped_up_to_a_bound() {
        let mut list = &b"\n\r\na.jpg\r\n\n\nb.jpg"[..];
        assert_eq!(next_path(&mut list, b'\n').unwrap(), Some("a.jpg".into()));
        assert_eq!(next_path(&mut list, b'\n').unwrap(), Some("b.jpg".into()));
        assert_eq!(next_path(&mut list, b'\n').unwrap(), None);
        // Exactly the bound of empty entries before a path is still a list ...
        let mut bounded = io::BufReader::new(
            io::repeat(0)
                .take(MAX_EMPTY_RUN as u64)
                .chain(&b"c.jpg"[..]),
        );
        assert_eq!(next_path(&mut bounded, 0).unwrap(), Some("c.jpg".into()));
        // ... an endless run of separators is an error, not an endless loop.
        let mut endless = io::BufReader::new(io::repeat(0));
        let err = next_path(&mut endless, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
