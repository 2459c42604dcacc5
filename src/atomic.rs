//! Writing a file so that it either appears complete or not at all: the bytes go to a temporary
//! file in the destination folder, which is synced and renamed over the destination only when the
//! writer succeeded. A failure (or a panic, or Ctrl-C caught by the caller) leaves the
//! destination as it was and removes the temporary file.

use std::fs::{self, File, Permissions};
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Prefix of temporary files, so that leftovers of a killed process are recognisable.
pub const TEMP_PREFIX: &str = ".jpgtool-";

/// Calls `write` with a buffered writer on a temporary file next to `dest`, then renames the
/// file to `dest` with `permissions` (a new file would otherwise be private to its owner).
pub fn write_atomically<T>(
    dest: &Path,
    permissions: Option<Permissions>,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<T>,
) -> Result<T> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".part")
        .tempfile_in(dir)?;
    let value = {
        let mut writer = BufWriter::with_capacity(256 << 10, temp.as_file());
        let value = write(&mut writer)?;
        writer.flush()?;
        value
    };
    temp.as_file().sync_all()?;
    if let Some(permissions) = permissions {
        fs::set_permissions(temp.path(), permissions)?;
    }
    temp.persist(dest).map_err(|e| Error::Io(e.error))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .collect()
    }

    #[test]
    fn failure_leaves_destination_untouched_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jpg");
        fs::write(&dest, b"old").unwrap();
        let result: Result<()> = write_atomically(&dest, None, |w| {
            w.write_all(&[1u8; 100_000])?;
            Err(Error::Interrupted)
        });
        assert!(matches!(result, Err(Error::Interrupted)));
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn success_replaces_destination() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jpg");
        fs::write(&dest, b"old").unwrap();
        write_atomically(&dest, None, |w| Ok(w.write_all(b"new")?)).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());
    }
}
