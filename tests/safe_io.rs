//! The real CLI's outputs under hostile conditions: signals mid-write, symbolic links, existing
//! outputs (their mode, `--no-clobber`), missing inputs, stale temporary files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::{
    assert_success, cjpeg, jpgtool, jpgtool_with_default_signals, names_in, test_rgb, write_pnm,
};

/// `DIR/NAME.jpg` from a generated `width` x `height` photo-like image.
fn generated(dir: &Path, name: &str, width: usize, height: usize) -> PathBuf {
    let ppm = dir.join(format!("{name}.ppm"));
    write_pnm(&ppm, width, height, 3, &test_rgb(width, height));
    let jpeg = dir.join(format!("{name}.jpg"));
    cjpeg(&["-quality", "90"], &ppm, &jpeg);
    std::fs::remove_file(&ppm).unwrap();
    jpeg
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn width_of(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    jpgtool::jpeg::read_header(&bytes[..]).unwrap().frame.width
}

const IN_PLACE_QUARTER: [&str; 5] = ["shrink", "--quiet", "--in-place", "--scale", "1/4"];

/// A folder with `NAME.jpg` (`width` x `height`) and `out/OUTPUT` holding `old`: an existing
/// output for a run to replace. Returns (folder, input, out/, out/OUTPUT).
fn with_existing_output(
    name: &str,
    (width, height): (usize, usize),
    output: &str,
    old: &[u8],
) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), name, width, height);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join(output);
    std::fs::write(&output, old).unwrap();
    (dir, input, out_dir, output)
}

/// `jpgtool shrink --quiet EXTRA INPUT -o OUTPUT`.
fn shrink_to(extra: &[&str], input: &Path, output: &Path) -> std::process::Output {
    jpgtool()
        .args(["shrink", "--quiet"])
        .args(extra)
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap()
}

#[test]
fn in_place_through_a_symlink_shrinks_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = generated(dir.path(), "target", 320, 240);
    set_mode(&target, 0o640);
    let link = dir.path().join("link.jpg");
    std::os::unix::fs::symlink("target.jpg", &link).unwrap();
    let out = jpgtool().args(IN_PLACE_QUARTER).arg(&link).output();
    assert_success(&out.unwrap());
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("target.jpg"));
    assert_eq!(width_of(&target), 80, "the target was not shrunk");
    assert_eq!(mode(&target), 0o640, "in place keeps the input's mode");
    assert_eq!(names_in(dir.path()), ["link.jpg", "target.jpg"]);
}

/// Two links to one file, in place: shrunk once, not twice.
#[test]
fn in_place_through_two_links_to_one_file_shrinks_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let target = generated(dir.path(), "target", 320, 240);
    for name in ["a.jpg", "b.jpg"] {
        std::os::unix::fs::symlink("target.jpg", dir.path().join(name)).unwrap();
    }
    let out = jpgtool()
        .args(["shrink", "--quiet", "--in-place", "--scale", "1/2"])
        .arg(dir.path().join("a.jpg"))
        .arg(dir.path().join("b.jpg"))
        .output()
        .unwrap();
    // The second is refused as a duplicate output (exit 1), and the file is halved once.
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already writes"));
    assert_eq!(width_of(&target), 160);
}

/// A folder holding a file and a link to it, in place: the walk takes the link as a file, and
/// the file is still shrunk once, the link refused as a duplicate as above.
#[test]
fn in_place_on_a_folder_with_a_link_to_its_file_shrinks_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let target = generated(dir.path(), "target", 320, 240);
    std::os::unix::fs::symlink("target.jpg", dir.path().join("link.jpg")).unwrap();
    let out = jpgtool()
        .args(["shrink", "--quiet", "--in-place", "--scale", "1/2"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already writes"));
    assert_eq!(width_of(&target), 160);
    assert!(
        std::fs::symlink_metadata(dir.path().join("link.jpg"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn an_overwritten_output_keeps_its_mode() {
    let (dir, input, _, output) =
        with_existing_output("in", (320, 240), "out.jpg", b"an older output");
    set_mode(&output, 0o640);
    set_mode(&input, 0o644);
    assert_success(&shrink_to(&["--scale", "1/2"], &input, &output));
    assert_eq!(width_of(&output), 160, "not replaced");
    assert_eq!(mode(&output), 0o640);
    // A new output takes the input's mode (with write access for the owner).
    let fresh = dir.path().join("out/fresh.jpg");
    set_mode(&input, 0o444);
    assert_success(&shrink_to(&["--scale", "1/2"], &input, &fresh));
    assert_eq!(mode(&fresh), 0o644);
}

#[test]
fn no_clobber_skips_an_existing_output_and_leaves_it_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), "in", 320, 240);
    let output = dir.path().join("out.jpg");
    let old = b"not a JPEG, but somebody's file".to_vec();
    std::fs::write(&output, &old).unwrap();
    let key = ["--key", "k", "--text", "t"];
    for (first, json) in [
        (&["shrink", "--scale", "1/2"][..], false),
        (&["shrink", "--scale", "1/2"][..], true),
        (&["mark", key[0], key[1], key[2], key[3]][..], false),
        (&["mark", key[0], key[1], key[2], key[3]][..], true),
    ] {
        let mut cmd = jpgtool();
        cmd.args(first).arg("-n").arg(&input).arg("-o").arg(&output);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{first:?}: {stderr}");
        assert!(
            stderr.contains("out.jpg exists; skipped"),
            "{first:?}: {stderr}"
        );
        if json {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["skipped"], true, "{first:?}");
            assert_eq!(v["ok"], true, "{first:?}");
        }
        assert_eq!(std::fs::read(&output).unwrap(), old, "{first:?}");
    }
    // In a batch: the existing output is skipped, the other one written, exit 0.
    let out_dir = dir.path().join("batch");
    std::fs::create_dir(&out_dir).unwrap();
    let second = dir.path().join("second.jpg");
    std::fs::copy(&input, &second).unwrap();
    std::fs::write(out_dir.join("in.jpg"), &old).unwrap();
    let out = jpgtool()
        .args(["shrink", "--quiet", "--no-clobber", "--scale", "1/2"])
        .arg(&input)
        .arg(&second)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(std::fs::read(out_dir.join("in.jpg")).unwrap(), old);
    assert_eq!(width_of(&out_dir.join("second.jpg")), 160);
    assert_eq!(names_in(&out_dir), ["in.jpg", "second.jpg"]);
}

#[test]
fn a_missing_input_exits_1_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jpg");
    let output = dir.path().join("out.jpg");
    let key = ["--key", "k", "--text", "t"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["quality"],
        vec!["shrink", "-o", output.to_str().unwrap()],
        [&["mark", "-o", output.to_str().unwrap()][..], &key[..]].concat(),
        [&["verify"][..], &key[..]].concat(),
    ];
    for args in runs {
        let out = jpgtool().args(&args).arg(&missing).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("missing.jpg: No such file or directory"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("I/O error"), "{args:?}: {stderr}");
    }
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

/// How a running jpgtool is writing its output.
#[derive(Debug, PartialEq)]
enum Writing {
    /// An O_TMPFILE: `/proc/PID/fd/N -> DIR/#inode (deleted)`.
    Unnamed,
    /// The fallback where O_TMPFILE is missing: `DIR/.jpgtool-PID-*.part`.
    Named,
}

/// Waits until process `pid` is writing its output in `dir`, so that a signal lands mid-write,
/// not before or after. `None` if it never did within 60 s (or exited first).
fn wait_for_output(pid: u32, dir: &Path) -> Option<Writing> {
    let started = Instant::now();
    let own = format!(".jpgtool-{pid}-");
    while started.elapsed() < Duration::from_secs(60) {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && target.starts_with(dir)
                && target.to_string_lossy().ends_with("(deleted)")
            {
                return Some(Writing::Unnamed);
            }
        }
        if names_in(dir).iter().any(|n| n.starts_with(&own)) {
            return Some(Writing::Named);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// SIGTERM, SIGHUP and SIGKILL sent while `shrink` writes over an existing output of a large
/// image: exit 143, 129 or death by SIGKILL; the folder holds exactly what it held before (no
/// `.part` file, nothing new), and the existing output is byte-identical. A stale temporary file
/// of a dead process is removed by the next run into the folder.
#[test]
fn signals_during_shrink_leave_no_file_and_the_old_output_intact() {
    let old = b"the previous output".to_vec();
    let (dir, input, out_dir, output) = with_existing_output("big", (8000, 6000), "big.jpg", &old);
    let before = names_in(&out_dir);
    for (signal, number, code) in [
        ("TERM", 15, Some(143)),
        ("HUP", 1, Some(129)),
        ("KILL", 9, None),
    ] {
        // On a loaded machine the run can end between the moment it is seen writing and the
        // signal; such a run must have written a whole output, which is then put back, and the
        // signal is tried again on a new run.
        let mut attempts = 0;
        let (writing, out) = loop {
            attempts += 1;
            let child = jpgtool_with_default_signals()
                .args([
                    "shrink", "--quiet", "--factor", "1.5", "--filter", "lanczos3",
                ])
                .arg(&input)
                .arg("-o")
                .arg(&output)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let writing = wait_for_output(child.id(), &out_dir);
            assert!(
                writing.is_some(),
                "SIG{signal}: shrink never wrote (or finished first)"
            );
            // SAFETY: sending a signal to our own child.
            assert_eq!(unsafe { libc::kill(child.id() as i32, number) }, 0);
            let out = child.wait_with_output().unwrap();
            if out.status.code() != Some(0) || attempts == 5 {
                break (writing, out);
            }
            let written = std::fs::read(&output).unwrap();
            assert!(
                written.starts_with(&[0xFF, 0xD8]) && written.ends_with(&[0xFF, 0xD9]),
                "SIG{signal}: a run that ended with 0 left an incomplete output"
            );
            std::fs::write(&output, &old).unwrap();
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), code, "SIG{signal}: {stderr}");
        if code.is_none() {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(out.status.signal(), Some(9));
            if writing == Some(Writing::Named) {
                // Without O_TMPFILE a SIGKILL leaves the named file, stamped with the dead
                // process's id, which the next run into the folder removes.
                let leftovers = jpgtool::atomic::remove_stale(&out_dir).unwrap();
                eprintln!("no O_TMPFILE here: {leftovers} stale file(s) of SIGKILL removed");
            }
        }
        assert_eq!(names_in(&out_dir), before, "SIG{signal}: files left behind");
        assert_eq!(std::fs::read(&output).unwrap(), old, "SIG{signal}");
    }
    // What a SIGKILL between link and rename would leave: removed by the next run.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = out_dir.join(format!(".jpgtool-{dead}-a1b2c3.part"));
    std::fs::write(&stale, b"partial").unwrap();
    let small = generated(dir.path(), "small", 64, 48);
    assert_success(&shrink_to(&[], &small, &out_dir.join("small.jpg")));
    assert!(!stale.exists(), "the stale temporary file was kept");
    assert_eq!(names_in(&out_dir), ["big.jpg", "small.jpg"]);
}

/// Under `nohup`, SIGHUP was ignored when jpgtool started and stays ignored: a SIGHUP sent
/// while `shrink` writes changes nothing, the run ends with 0 and a complete output.
#[test]
fn a_sighup_ignored_by_nohup_stays_ignored() {
    let (_dir, input, out_dir, output) = with_existing_output("big", (4000, 3000), "big.jpg", b"");
    let child = std::process::Command::new("nohup")
        .arg(env!("CARGO_BIN_EXE_jpgtool"))
        .args([
            "shrink", "--quiet", "--factor", "1.5", "--filter", "lanczos3",
        ])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("nohup (coreutils)");
    assert!(wait_for_output(child.id(), &out_dir).is_some());
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGHUP) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert_eq!(width_of(&output), 2667);
    assert_eq!(names_in(&out_dir), ["big.jpg"]);
}

/// mark ends at once on SIGTERM (exit 143) and leaves nothing; an existing output is intact.
#[test]
fn sigterm_during_mark_leaves_no_file() {
    let (_dir, input, out_dir, output) =
        with_existing_output("cover", (2400, 1600), "marked.jpg", b"old");
    let child = jpgtool_with_default_signals()
        .args(["mark", "--key", "k", "--text", "t"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for_output(child.id(), &out_dir).is_some());
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert_eq!(names_in(&out_dir), ["marked.jpg"]);
    assert_eq!(std::fs::read(&output).unwrap(), b"old");
}

/// A folder the output cannot be written to: the error names the output, not the input.
#[test]
fn an_unwritable_output_folder_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), "in", 64, 48);
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    set_mode(&locked, 0o555);
    // root ignores permission bits; sysfs refuses new files to root as well.
    let folder = if std::fs::write(locked.join("probe"), b"").is_ok() {
        PathBuf::from("/sys")
    } else {
        locked
    };
    let output = folder.join("jpgtool-test-out.jpg");
    let out = shrink_to(&[], &input, &output);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}", output.display())),
        "{stderr}"
    );
    assert!(stderr.contains("Permission denied"), "{stderr}");
}

/// `recompress` compares the new file with the input's size and copies an input that would not
/// shrink: from a pipe (size 0, and a second read starts where the first stopped) it wrote an
/// empty output and said "kept original". It refuses a pipe now, naming it, and writes nothing.
#[test]
fn recompress_refuses_a_pipe_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), "photo", 64, 48);
    let out = dir.path().join("out.jpg");
    let run = crate::util::jpgtool_in_bash(&format!(
        "cat '{}' | \"$1\" recompress --quiet -q 50 /dev/stdin -o '{}'",
        input.display(),
        out.display()
    ))
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/dev/stdin: not a regular file"),
        "{stderr}"
    );
    assert!(!out.exists());
    // The same file given by its path is recompressed.
    let run = jpgtool()
        .args(["recompress", "--quiet", "-q", "50"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&run);
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
}

/// The library refuses a length that the header alone outgrows (a pipe's, read as 0), for the
/// callers that size the input themselves (the Python package's `recompress(path)`).
#[test]
fn recompress_refuses_a_length_shorter_than_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(generated(dir.path(), "photo", 64, 48)).unwrap();
    let options = jpgtool::recompress::Options::new(50);
    match jpgtool::recompress::recompress(&bytes[..], 0, &options) {
        Err(jpgtool::Error::Unsupported(message)) => {
            assert!(message.contains("not a pipe"), "{message}")
        }
        other => panic!("{:?}", other.map(|(report, _)| report)),
    }
    assert!(jpgtool::recompress::recompress(&bytes[..], bytes.len() as u64, &options).is_ok());
}
