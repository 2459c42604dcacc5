//! Helpers shared by the integration tests: test images, external encoders, corpus paths.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's corpus of real, unusual and malformed files (`corpus/`, see its
/// `LICENSES.md`): `real/`, `edge/` and `bad/`, with `MANIFEST.tsv`.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The files of one folder, sorted by name (subfolders left out).
pub fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// A photo-like RGB test image: smooth gradients plus deterministic texture, so that every
/// quantizer matters and no table entry is trivially clamped by the content.
pub fn test_rgb(width: usize, height: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 41) as i32 - 20;
            let r = (x * 255 / width) as i32 + noise;
            let g = (y * 255 / height) as i32 - noise / 2;
            let b = (((x + y) * 7) % 256) as i32 + noise;
            pixels.extend([r, g, b].map(|v| v.clamp(0, 255) as u8));
        }
    }
    pixels
}

/// Writes a binary PPM (or PGM for one channel) for cjpeg.
pub fn write_pnm(path: &Path, width: usize, height: usize, channels: usize, data: &[u8]) {
    let magic = if channels == 1 { "P5" } else { "P6" };
    let mut bytes = format!("{magic}\n{width} {height}\n255\n").into_bytes();
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// libjpeg-turbo's cjpeg, which CI installs from Debian (`libjpeg-turbo-progs`).
pub fn cjpeg(args: &[&str], input: &Path, output: &Path) {
    let status = Command::new("cjpeg")
        .args(args)
        .arg("-outfile")
        .arg(output)
        .arg(input)
        .status()
        .expect("cjpeg not found: install libjpeg-turbo-progs (.ci/run does)");
    assert!(status.success(), "cjpeg {args:?} failed");
}

/// Fails the test with the command's stderr unless it exited 0.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `bash -c SCRIPT bash JPGTOOL`: the script runs the binary built for these tests as `"$@"`
/// (the caller appends jpgtool's arguments).
pub fn jpgtool_in_bash(script: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_jpgtool"));
    command
}

/// The jpgtool binary built for these tests.
pub fn jpgtool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jpgtool"))
}

/// The jpgtool binary with SIGINT, SIGHUP and SIGTERM at their default disposition, for the
/// tests that send them. A test run started in the background (`cmd &` without job control) or
/// under `nohup` hands its children SIGINT or SIGHUP already ignored, and jpgtool rightly keeps
/// a signal ignored that it found ignored: without this reset such a run would finish instead
/// of stopping, and the test would depend on how the suite was launched.
pub fn jpgtool_with_default_signals() -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = jpgtool();
    // SAFETY: the closure runs in the forked child before exec and calls only `signal`, which
    // is async-signal-safe; it touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM] {
                if libc::signal(signal, libc::SIG_DFL) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}

/// Every name in `dir` (files, folders, hidden ones), sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
