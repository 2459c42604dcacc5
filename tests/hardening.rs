//! Hardening across every command: malformed and unusual files through quality, shrink, mark and
//! verify under a time bound and an address-space cap; the scan-count limit; a full disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::{
    assert_success, cjpeg, corpus, jpgtool, jpgtool_in_bash, names_in, sorted_files, test_rgb,
    write_pnm,
};

/// Every command gets this long per file (a hang would exceed it by far: the slowest file here
/// takes about a second).
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Runs `jpgtool ARGS` under `ulimit -v` (virtual memory, KiB) and [`TIME_LIMIT`]; panics on a
/// timeout. The cap is far above the `--max-memory` given to the commands, so reaching it means
/// an allocation that escaped the limits (Rust aborts on allocation failure: a signal, below).
fn run_bounded(args: &[&std::ffi::OsStr], address_space_kib: u64) -> Output {
    let child = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {address_space_kib} && exec \"$@\""))
        .arg("jpgtool")
        .arg(env!("CARGO_BIN_EXE_jpgtool"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    // Collect the output on another thread: polling `try_wait` without draining the pipes
    // would stall a child that writes more than a pipe holds.
    let pid = child.id();
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output().unwrap()));
    match result.recv_timeout(TIME_LIMIT) {
        Ok(output) => output,
        Err(_) => {
            Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .ok();
            panic!("jpgtool {args:?} ran over {TIME_LIMIT:?}");
        }
    }
}

/// The first line of what the command said, for the outcome table.
fn summary(out: &Output) -> String {
    let text = if out.status.success() || out.stderr.is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    String::from_utf8_lossy(text)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Every file of `bad/` and `edge/` through every command, each under a 60 s bound and a 1 GiB
/// address-space cap with `--max-memory 64M`: exit codes only from the documented set (never a
/// signal: no panic, abort or out-of-memory kill); errors name the file; failed `shrink` and
/// `mark` leave no output and no temporary file; `verify` never matches an unmarked file; and
/// `quality` errors on every `bad/` file that is not a JPEG at all. The outcome of each
/// (file, command) is written to `target/tmp/hardening-outcomes.tsv` for the record.
#[test]
fn bad_and_edge_files_through_every_command() {
    let root = corpus();
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<(String, PathBuf)> = ["bad", "edge"]
        .iter()
        .flat_map(|folder| {
            sorted_files(&root.join(folder))
                .into_iter()
                .map(move |p| (folder.to_string(), p))
        })
        .collect();
    assert!(jobs.len() > 150, "the corpus has shrunk: {}", jobs.len());

    let rows: Vec<Vec<String>> = std::thread::scope(|scope| {
        let chunks: Vec<_> = jobs.chunks(jobs.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(worker, chunk)| {
                let dir = dir.path().join(format!("w{worker}"));
                std::fs::create_dir(&dir).unwrap();
                scope.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|(folder, path)| check_every_command(folder, path, &dir))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let table = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hardening-outcomes.tsv");
    let mut file = std::fs::File::create(&table).unwrap();
    writeln!(file, "file\tcommand\texit\tfirst line").unwrap();
    for row in &rows {
        writeln!(file, "{}", row.join("\t")).unwrap();
    }
    eprintln!("{} outcomes in {}", rows.len(), table.display());
    assert_eq!(rows.len(), 4 * jobs.len());
}

/// Runs the four commands on one file and checks their outcomes; returns the table rows.
fn check_every_command(folder: &str, path: &Path, dir: &Path) -> Vec<Vec<String>> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let label = format!("{folder}/{name}");
    let shrunk = dir.join(format!("shrunk-{name}"));
    let marked = dir.join(format!("marked-{name}"));
    let limits = ["--max-memory", "64M"];
    let key = ["--key", "hardening", "--text", "corpus"];
    let os = |v: &[&str]| -> Vec<std::ffi::OsString> { v.iter().map(|s| s.into()).collect() };
    let commands: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("quality", [os(&["quality"]), vec![path.into()]].concat()),
        (
            "shrink",
            [
                os(&["shrink", "--quiet", "--scale", "1/2"]),
                os(&limits),
                vec![path.into(), "-o".into(), shrunk.clone().into()],
            ]
            .concat(),
        ),
        (
            "mark",
            [
                os(&["mark"]),
                os(&key),
                os(&limits),
                vec![path.into(), "-o".into(), marked.clone().into()],
            ]
            .concat(),
        ),
        (
            "verify",
            [os(&["verify"]), os(&key), os(&limits), vec![path.into()]].concat(),
        ),
    ];
    let mut rows = Vec::new();
    for (command, args) in commands {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let out = run_bounded(&args, 1 << 20);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("{label}: {command} killed by a signal: {stderr}"));
        let allowed: &[i32] = match command {
            // verify: 1 = no match or an error; 0 would be a match on an unmarked file.
            "verify" => &[1],
            _ => &[0, 1],
        };
        assert!(
            allowed.contains(&code),
            "{label}: {command} exit {code}: {stderr}"
        );
        let failed = match command {
            "verify" => stderr
                .lines()
                .any(|l| l.starts_with("jpgtool: ") && !l.starts_with("jpgtool: warning")),
            _ => code != 0,
        };
        if failed {
            assert!(
                stderr.contains(&name),
                "{label}: {command}'s error must name the file: {stderr}"
            );
        }
        if command == "quality" && folder == "bad" && is_foreign(&name) {
            assert_eq!(code, 1, "{label}: quality accepted a non-JPEG file");
        }
        for (cmd, output) in [("shrink", &shrunk), ("mark", &marked)] {
            if command == cmd && code != 0 {
                assert!(
                    !output.exists(),
                    "{label}: {cmd} failed but left {output:?}"
                );
            }
        }
        rows.push(vec![
            label.clone(),
            command.to_string(),
            code.to_string(),
            summary(&out).replace('\t', " "),
        ]);
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !entry.starts_with(jpgtool::atomic::TEMP_PREFIX),
            "{label}: left behind {entry}"
        );
    }
    std::fs::remove_file(&shrunk).ok();
    std::fs::remove_file(&marked).ok();
    rows
}

/// Files of `bad/` named after the foreign format they really are.
fn is_foreign(name: &str) -> bool {
    [
        "heif", "jp2", "jxl", "tif", "jls", "png", "gif", "webp", "bmp", "empty",
    ]
    .iter()
    .any(|f| name.contains(f))
}

/// A progressive file whose last scan is repeated until it has `scans` scans in all (libjpeg
/// warns about the repeated progression and goes on, one pass over the image per scan).
fn many_scans(dir: &Path, scans: usize) -> PathBuf {
    let ppm = dir.join("in.ppm");
    write_pnm(&ppm, 320, 240, 3, &test_rgb(320, 240));
    let progressive = dir.join("progressive.jpg");
    cjpeg(&["-progressive"], &ppm, &progressive);
    let bytes = std::fs::read(&progressive).unwrap();
    let positions: Vec<usize> = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == &[0xFF, 0xDA])
        .map(|(i, _)| i)
        .collect();
    let last = *positions.last().unwrap();
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
    let mut out = bytes[..bytes.len() - 2].to_vec();
    for _ in positions.len()..scans {
        out.extend_from_slice(&bytes[last..bytes.len() - 2]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    let path = dir.join(format!("scans-{scans}.jpg"));
    std::fs::write(&path, out).unwrap();
    path
}

/// A small file with 1500 scans is refused by every decoding command (`--max-scans`, default
/// 1000), on libjpeg's path (1/2), the DC-only path (1/8), mark and verify; raising the limit
/// lets it through.
#[test]
fn too_many_scans_are_refused_before_libjpeg_spends_a_pass_on_each() {
    let dir = tempfile::tempdir().unwrap();
    let input = many_scans(dir.path(), 1500);
    let output = dir.path().join("out.jpg");
    let key = ["--key", "k", "--text", "t"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["shrink", "--scale", "1/2"],
        vec!["shrink", "--scale", "1/8"],
        [&["mark"][..], &key[..]].concat(),
        [&["verify"][..], &key[..]].concat(),
    ];
    for args in runs {
        let mut cmd = jpgtool();
        cmd.args(&args).arg(&input);
        if args[0] != "verify" {
            cmd.arg("-o").arg(&output);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("scan count"), "{args:?}: {stderr}");
        assert!(!stderr.contains("I/O error"), "{args:?}: {stderr}");
        assert!(!output.exists(), "{args:?}");
    }
    let out = jpgtool()
        .args(["shrink", "--quiet", "--scale", "1/2", "--max-scans", "2000"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(output.is_file());
}

/// What a full disk leaves: runs `jpgtool ARGS` through `bash -c SCRIPT` (the script ends with
/// `exec` or runs jpgtool itself), returns (exit code, stdout, stderr).
fn run_script(script: &str, args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = jpgtool_in_bash(script).args(args).output().expect("bash");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `DIR/in.jpg`: 1024x768, q95, about 100 KB (its outputs are well over 16 KiB).
fn test_jpeg(dir: &Path) -> PathBuf {
    let ppm = dir.join("in.ppm");
    write_pnm(&ppm, 1024, 768, 3, &test_rgb(1024, 768));
    let input = dir.join("in.jpg");
    cjpeg(&["-quality", "95"], &ppm, &input);
    std::fs::remove_file(&ppm).unwrap();
    input
}

/// Writes that fail half-way (a file-size limit: `ulimit -f` with SIGXFSZ ignored, so every
/// write past 16 KiB fails with EFBIG like a full disk would) make shrink and mark fail with the
/// file named, and leave the destination folder as it was: no output, no temporary file; with
/// `--in-place`, the input is unchanged.
#[test]
fn writes_failing_half_way_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_jpeg(dir.path());
    let original = std::fs::read(&input).unwrap();
    assert!(original.len() > 64 << 10);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let output = out_dir.join("out.jpg");
    let limited = "trap '' XFSZ; ulimit -f 16; exec \"$@\"";
    let key = ["--key", "k", "--text", "t"];
    let mut runs: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["shrink".into(), "--scale".into(), "1/2".into()],
        key.iter().map(Into::into).collect(),
    ];
    runs[1].insert(0, "mark".into());
    for mut args in runs {
        args.extend([input.clone().into(), "-o".into(), output.clone().into()]);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (code, _, stderr) = run_script(limited, &args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("in.jpg"), "{args:?}: {stderr}");
        // The failure is the output's: named after "cannot write".
        assert!(
            stderr.contains("cannot write") && stderr.contains("out/out.jpg"),
            "{args:?}: {stderr}"
        );
        assert_eq!(names_in(&out_dir), Vec::<String>::new(), "{args:?}");
    }
    // In place: the input is the destination.
    for first in [
        &["shrink", "--scale", "1/2"][..],
        &["mark", "--key", "k", "--text", "t"][..],
    ] {
        let mut args: Vec<std::ffi::OsString> = first.iter().map(Into::into).collect();
        args.extend([input.clone().into(), "--in-place".into()]);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (code, _, stderr) = run_script(limited, &args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert_eq!(std::fs::read(&input).unwrap(), original, "{args:?}");
        assert_eq!(names_in(dir.path()), ["in.jpg", "out"], "{args:?}");
    }
}

/// A real full disk: a 16 KiB tmpfs mounted in a private mount namespace (`unshare -rm`, no
/// root needed where user namespaces are allowed). shrink and mark fail with ENOSPC named, and
/// the tmpfs is empty afterwards. Where namespaces are not allowed the test says so and checks
/// nothing (the file-size test above covers the same code path).
#[test]
fn a_full_tmpfs_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_jpeg(dir.path());
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    // $1 = jpgtool, $2 = the mount point, the rest = the command.
    let script = "disk=$2; jpgtool=$1; shift 2
        mount -t tmpfs -o size=16k tmpfs \"$disk\" || exit 77
        \"$jpgtool\" \"$@\"; code=$?
        ls -A \"$disk\"; exit $code";
    let key = ["--key", "k", "--text", "t"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["shrink", "--scale", "1/2"],
        [&["mark"][..], &key[..]].concat(),
    ];
    for first in runs {
        let mut cmd = Command::new("unshare");
        cmd.args(["-rm", "bash", "-c", script, "bash"])
            .arg(env!("CARGO_BIN_EXE_jpgtool"))
            .arg(&disk)
            .args(&first)
            .arg(&input)
            .arg("-o")
            .arg(disk.join("out.jpg"));
        let out = match cmd.output() {
            Ok(out) => out,
            Err(e) => {
                eprintln!("skipped: unshare is not available ({e})");
                return;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(77) || stderr.contains("unshare:") {
            eprintln!("skipped: no private mount namespace here: {stderr}");
            return;
        }
        assert_eq!(out.status.code(), Some(1), "{first:?}: {stderr}");
        assert!(
            stderr.contains("No space left on device"),
            "{first:?}: {stderr}"
        );
        assert!(
            stderr.contains("cannot write") && stderr.contains("disk/out.jpg"),
            "{first:?}: the error must name the output: {stderr}"
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "",
            "{first:?}: left on the full disk"
        );
    }
}
