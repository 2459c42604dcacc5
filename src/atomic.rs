//! Writing a file so that it either appears complete or not at all, and so that no temporary
//! file outlives the process, whatever ends it (an error, a panic, SIGINT, SIGTERM, SIGKILL).
//!
//! On Linux the bytes go to an *unnamed* file in the destination folder (`O_TMPFILE`): if the
//! process dies, the kernel frees it, and nothing ever shows in the folder. Once the writer has
//! succeeded, the file is synced and given its name with `linkat` through `/proc/self/fd/N`:
//! - a new destination is linked directly (`linkat` never replaces: that is also the race-free
//!   test of `no_clobber`);
//! - an existing destination is replaced by linking the file to `.jpgtool-<pid>-<random>.part`
//!   and renaming that over it (rename is the only atomic replacement). A SIGKILL between the two
//!   steps leaves the named file behind, stamped with the process id.
//!
//! Where `O_TMPFILE` is not available (another OS, a filesystem without it, no `/proc`), the
//! bytes go to a named `.jpgtool-<pid>-<random>.part` file from the start. Either way, the first
//! write into a folder removes the `.jpgtool-<pid>-*.part` files there whose process is gone
//! ([`remove_stale`]); files of a live process are never touched.
//!
//! Signals: a handler that wants the process to end calls [`request_stop`] (async-signal-safe).
//! A commit that has not started is then abandoned; one between its two steps finishes first.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, Permissions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};

use crate::error::{Error, Result};

/// Prefix of temporary files, so that leftovers of a killed process are recognisable.
pub const TEMP_PREFIX: &str = ".jpgtool-";

/// Suffix of temporary files.
pub const TEMP_SUFFIX: &str = ".part";

/// How to write one destination.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Permissions of a new destination; an existing destination keeps its own mode (and, where
    /// allowed, its owner and group). Default: `None`, 0o666 less the umask, as for any new file.
    pub permissions: Option<Permissions>,
    /// Never replace an existing destination: fail with `AlreadyExists` instead (checked when
    /// the finished file is linked, so a file created meanwhile is not replaced either).
    /// Default: false.
    pub no_clobber: bool,
}

/// Calls `write` with a buffered writer on an unnamed (or, failing that, named) temporary file
/// next to `dest`, and gives the file the name `dest` only when `write` succeeded. A symbolic
/// link at `dest` is followed: its target is replaced and the link kept.
///
/// A failure to write the temporary file, to sync it or to name it comes back as
/// [`Error::Output`] naming `dest`; errors of `write` itself come back as they are.
pub fn write_atomically<T>(
    dest: &Path,
    options: &WriteOptions,
    write: impl FnOnce(&mut OutputWriter<'_>) -> Result<T>,
) -> Result<T> {
    let dest = resolve_symlink(dest);
    let output_error = |err: io::Error| Error::Output {
        path: dest.clone(),
        err,
    };
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    remove_stale_once(&dir);
    let existing = fs::metadata(&dest).ok().filter(|m| m.is_file());
    if options.no_clobber && existing.is_some() {
        return Err(output_error(io::ErrorKind::AlreadyExists.into()));
    }
    let temp = Temp::create(&dir).map_err(output_error)?;
    let value = {
        let mut writer = OutputWriter {
            inner: BufWriter::with_capacity(256 << 10, temp.file()),
            failed: None,
        };
        let result = write(&mut writer).and_then(|value| {
            writer.flush()?;
            Ok(value)
        });
        match (result, writer.failed.take()) {
            (Ok(value), None) => value,
            // Whatever the pipeline made of it, a failed write is the destination's failure.
            (_, Some(err)) => return Err(output_error(err)),
            (Err(err), None) => return Err(err),
        }
    };
    let file = temp.file();
    match &existing {
        Some(old) => keep_mode_and_owner(file, old),
        None => match &options.permissions {
            Some(p) => file.set_permissions(p.clone()),
            None => Ok(()),
        },
    }
    .map_err(output_error)?;
    file.sync_all().map_err(output_error)?;
    let section = CommitSection::enter()?;
    temp.commit(&dir, &dest, options.no_clobber || existing.is_none())
        .map_err(output_error)?;
    drop(section);
    // The new name is durable only once the folder is synced; some filesystems refuse to sync
    // a folder (EINVAL), which loses nothing that the rename did not already promise.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(value)
}

/// The writer handed to [`write_atomically`]'s callback: buffered, and it remembers a failed
/// write so that the error names the output even after a codec reported it its own way.
pub struct OutputWriter<'a> {
    inner: BufWriter<&'a File>,
    failed: Option<io::Error>,
}

impl Write for OutputWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.remember(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|e| self.remember(e))
    }
}

impl OutputWriter<'_> {
    fn remember(&mut self, err: &io::Error) {
        if err.kind() != io::ErrorKind::Interrupted && self.failed.is_none() {
            self.failed = Some(io::Error::new(err.kind(), err.to_string()));
        }
    }
}

/// `dest`, or the file a symbolic link there points to (through any chain of links). A dangling
/// link is replaced like a file.
fn resolve_symlink(dest: &Path) -> PathBuf {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf())
        }
        _ => dest.to_path_buf(),
    }
}

#[cfg(unix)]
fn keep_mode_and_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let new = file.metadata()?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
        // Only root may give a file away, and only a member may change its group: best effort.
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    }
    // After chown, which clears set-user-ID bits.
    file.set_permissions(Permissions::from_mode(old.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_mode_and_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())
}

/// The file being written: unnamed until committed, or named from the start.
enum Temp {
    #[cfg(target_os = "linux")]
    Unnamed(File),
    Named(tempfile::NamedTempFile),
}

/// `.jpgtool-<pid>-`: the start of this process's temporary names.
fn own_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

fn named_builder(prefix: &str) -> tempfile::Builder<'_, '_> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(TEMP_SUFFIX);
    builder
}

impl Temp {
    fn create(dir: &Path) -> io::Result<Temp> {
        #[cfg(target_os = "linux")]
        if Path::new("/proc/self/fd").is_dir() {
            use std::os::unix::fs::OpenOptionsExt;
            // Mode 0o666 less the umask, as for any new file; set exactly before linking.
            match fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
                .mode(0o666)
                .open(dir)
            {
                Ok(file) => return Ok(Temp::Unnamed(file)),
                // No O_TMPFILE on this kernel or filesystem: fall back to a named file.
                Err(e) if unsupported(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Temp::named(dir)
    }

    /// A named `.jpgtool-<pid>-<random>.part` file in `dir`.
    fn named(dir: &Path) -> io::Result<Temp> {
        let prefix = own_prefix();
        let mut builder = named_builder(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // As the unnamed file: 0o666 less the umask, set exactly before the rename.
            builder.permissions(Permissions::from_mode(0o666));
        }
        builder.tempfile_in(dir).map(Temp::Named)
    }

    fn file(&self) -> &File {
        match self {
            #[cfg(target_os = "linux")]
            Temp::Unnamed(file) => file,
            Temp::Named(temp) => temp.as_file(),
        }
    }

    /// Gives the finished file the name `dest`. `link_only`: `dest` is expected not to exist,
    /// and must not be replaced if it does.
    fn commit(self, dir: &Path, dest: &Path, link_only: bool) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Temp::Unnamed(file) => {
                let proc_path = PathBuf::from(format!("/proc/self/fd/{}", raw_fd(&file)));
                match link_follow(&proc_path, dest) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !link_only => {}
                    Err(e) => return Err(e),
                }
                // Replacing: a named link beside the destination, renamed over it.
                let named = named_builder(&own_prefix())
                    .make_in(dir, |path| link_follow(&proc_path, path))?;
                named.persist(dest).map_err(|e| e.error)
            }
            Temp::Named(temp) => {
                if link_only {
                    temp.persist_noclobber(dest).map(drop).map_err(|e| e.error)
                } else {
                    temp.persist(dest).map(drop).map_err(|e| e.error)
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn raw_fd(file: &File) -> i32 {
    use std::os::fd::AsRawFd;
    file.as_raw_fd()
}

/// `linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW)`: `from` is `/proc/self/fd/N`, a
/// magic link to the unnamed file.
#[cfg(target_os = "linux")]
fn link_follow(from: &Path, to: &Path) -> io::Result<()> {
    let from = c_path(from)?;
    let to = c_path(to)?;
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(unix)]
fn c_path(path: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// The errors by which `open(O_TMPFILE)` says that it is not supported here.
#[cfg(target_os = "linux")]
fn unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOSYS)
    )
}

/// The process id in a temporary name of ours (`.jpgtool-<pid>-<random>.part`).
fn stamped_pid(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|&p| p > 0)
}

/// True unless the process is certainly gone (`kill(pid, 0)` fails with ESRCH). A process of
/// another user (EPERM) is alive.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes the temporary files that killed jpgtool processes left in `dir` (named
/// `.jpgtool-<pid>-<random>.part`, with no process `<pid>` running). Returns how many. Files
/// without a process id (older versions) and files of live processes are left alone.
pub fn remove_stale(dir: &Path) -> io::Result<usize> {
    let own = std::process::id();
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(pid) = stamped_pid(&entry.file_name()) else {
            continue;
        };
        if pid == own || process_alive(pid) {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_file()) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// [`remove_stale`] once per folder and process (a batch writes thousands of files into one).
fn remove_stale_once(dir: &Path) {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let first = SWEPT
        .lock()
        .map(|mut set| set.get_or_insert_with(HashSet::new).insert(key))
        .unwrap_or(true);
    if first {
        let _ = remove_stale(dir);
    }
}

static STOP: AtomicBool = AtomicBool::new(false);
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);
static EXIT_NOW: AtomicBool = AtomicBool::new(false);
static COMMITTING: AtomicUsize = AtomicUsize::new(0);

/// Set once a stop was requested ([`request_stop`]); long work polls it to give up early.
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// The signal of the first stop request, if any.
pub fn stop_signal() -> Option<i32> {
    Some(STOP_SIGNAL.load(SeqCst)).filter(|&s| s != 0)
}

/// Asks the process to stop because of `signal`; safe to call from a signal handler (atomics and
/// `_exit` only). The first request sets [`stop_flag`] and lets the caller wind down, unless
/// `immediate`; a second request, or an immediate one, ends the process with status
/// 128 + signal as soon as no commit is between its link and its rename (at once, almost
/// always). Unnamed temporary files vanish with the process.
pub fn request_stop(signal: i32, immediate: bool) {
    let again = STOP.swap(true, SeqCst);
    let _ = STOP_SIGNAL.compare_exchange(0, signal, SeqCst, SeqCst);
    if again || immediate {
        EXIT_NOW.store(true, SeqCst);
        if COMMITTING.load(SeqCst) == 0 {
            exit_now();
        }
    }
}

fn exit_now() {
    #[cfg(unix)]
    // SAFETY: _exit is async-signal-safe and ends the process without running anything else.
    unsafe {
        libc::_exit(128 + STOP_SIGNAL.load(SeqCst))
    }
    #[cfg(not(unix))]
    std::process::exit(128 + STOP_SIGNAL.load(SeqCst))
}

/// Marks a commit in progress: an exit requested meanwhile waits for its end. Entering after a
/// stop request abandons the commit. (The request stores its flag, then reads the count; the
/// commit stores the count, then reads the flag: one of them sees the other.)
struct CommitSection;

impl CommitSection {
    fn enter() -> Result<CommitSection> {
        COMMITTING.fetch_add(1, SeqCst);
        let section = CommitSection;
        if STOP.load(SeqCst) {
            return Err(Error::Interrupted);
        }
        Ok(section)
    }
}

impl Drop for CommitSection {
    fn drop(&mut self) {
        if COMMITTING.fetch_sub(1, SeqCst) == 1 && EXIT_NOW.load(SeqCst) {
            exit_now();
        }
    }
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

    /// A temporary folder with `out.jpg` holding "old".
    fn dest_holding_old() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jpg");
        fs::write(&dest, b"old").unwrap();
        (dir, dest)
    }

    #[test]
    fn failure_leaves_destination_untouched_and_no_temp_file() {
        let (dir, dest) = dest_holding_old();
        let result: Result<()> = write_atomically(&dest, &WriteOptions::default(), |w| {
            w.write_all(&[1u8; 100_000])?;
            Err(Error::Codec("stopped".into()))
        });
        assert!(matches!(result, Err(Error::Codec(_))));
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn success_replaces_destination() {
        let (dir, dest) = dest_holding_old();
        write_atomically(
            &dest,
            &WriteOptions::default(),
            |w| Ok(w.write_all(b"new")?),
        )
        .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn no_clobber_keeps_an_existing_destination() {
        let (dir, dest) = dest_holding_old();
        let options = WriteOptions {
            no_clobber: true,
            ..WriteOptions::default()
        };
        let result = write_atomically(&dest, &options, |w| Ok(w.write_all(b"new")?));
        assert!(
            matches!(&result, Err(Error::Output { err, .. }) if err.kind() == io::ErrorKind::AlreadyExists)
        );
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        let fresh = dir.path().join("new.jpg");
        write_atomically(&fresh, &options, |w| Ok(w.write_all(b"new")?)).unwrap();
        assert_eq!(fs::read(&fresh).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_destination_keeps_its_mode_and_a_link_is_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.jpg");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.jpg");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let options = WriteOptions {
            permissions: Some(Permissions::from_mode(0o644)),
            ..WriteOptions::default()
        };
        write_atomically(&link, &options, |w| Ok(w.write_all(b"new")?)).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_failed_write_names_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jpg");
        let result: Result<()> = write_atomically(&dest, &WriteOptions::default(), |w| {
            // A write error as a codec would report it: its own error, not the io::Error.
            w.remember(&io::Error::from_raw_os_error(28));
            Err(Error::Codec("write error".into()))
        });
        match result {
            Err(Error::Output { path, err }) => {
                assert_eq!(path, dest);
                assert_eq!(err.kind(), io::ErrorKind::StorageFull);
            }
            other => panic!("{other:?}"),
        }
        assert!(!dest.exists());
    }

    #[test]
    fn stale_files_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A child that has exited (and been reaped) is a process id that is certainly gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".jpgtool-{dead}-abc123.part"));
        let live = dir
            .path()
            .join(format!(".jpgtool-{}-abc123.part", std::process::id()));
        let old_style = dir.path().join(".jpgtool-abc123.part");
        let other = dir.path().join("photo.jpg");
        for p in [&stale, &live, &old_style, &other] {
            fs::write(p, b"x").unwrap();
        }
        assert_eq!(remove_stale(dir.path()).unwrap(), 1);
        assert!(!stale.exists());
        assert!(live.exists() && old_style.exists() && other.exists());
    }

    /// The fallback where O_TMPFILE is missing: the named file carries our process id while it
    /// is written, replaces the destination, and is removed when `no_clobber` refuses.
    #[test]
    fn the_named_fallback_commits_and_cleans_up() {
        let (dir, dest) = dest_holding_old();
        let temp = Temp::named(dir.path()).unwrap();
        temp.file().write_all(b"new").unwrap();
        let names = leftovers(dir.path());
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with(&own_prefix()), "{names:?}");
        assert_eq!(stamped_pid(OsStr::new(&names[0])), Some(std::process::id()));
        temp.commit(dir.path(), &dest, false).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());

        let temp = Temp::named(dir.path()).unwrap();
        temp.file().write_all(b"newer").unwrap();
        let err = temp.commit(dir.path(), &dest, true).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn stamped_names_parse() {
        assert_eq!(stamped_pid(OsStr::new(".jpgtool-42-x1y2z3.part")), Some(42));
        assert_eq!(stamped_pid(OsStr::new(".jpgtool-x1y2z3.part")), None);
        assert_eq!(stamped_pid(OsStr::new(".jpgtool-42-.part")), None);
        assert_eq!(stamped_pid(OsStr::new(".jpgtool-0-abc.part")), None);
        assert_eq!(stamped_pid(OsStr::new("jpgtool-42-abc.part")), None);
    }
}
