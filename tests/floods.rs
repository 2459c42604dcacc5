//! Memory bounded by the limits (issue 22): metadata floods, table floods and endless streams on
//! stdin through quality, shrink, mark and verify end with a clear error naming the file, having
//! buffered no more than `--max-metadata` (peak RSS measured with GNU time when it is installed).
//! benches/floods.sh runs the full-size floods (200 MB, 1e6 segments) with the default limits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{assert_success, cjpeg, jpgtool_in_bash, test_rgb, write_pnm};

const GNU_TIME: &str = "/usr/bin/time";

/// The four commands on `input` (a path, or /dev/stdin), with `extra` options.
fn commands(input: &Path, out: &Path, extra: &[&str]) -> Vec<Vec<String>> {
    let input = input.display().to_string();
    let out = out.display().to_string();
    let key = ["--key", "floods", "--text", "issue 22"].map(String::from);
    let mut all = vec![
        vec!["quality".to_string(), input.clone()],
        vec![
            "shrink".to_string(),
            input.clone(),
            "-o".into(),
            out.clone(),
        ],
        [
            vec!["mark".to_string(), input.clone(), "-o".into(), out],
            key.to_vec(),
        ]
        .concat(),
        [vec!["verify".to_string(), input], key.to_vec()].concat(),
    ];
    for args in &mut all {
        args.extend(extra.iter().map(|s| s.to_string()));
    }
    all
}

/// Runs `jpgtool ARGS` with stdin from `feed` (a shell command; /dev/null when `None`), stopped
/// after 60 s, under GNU time when it exists. Returns the output and the peak RSS in KiB.
fn run(args: &[String], feed: Option<&str>, dir: &Path) -> (Output, Option<u64>) {
    let rss = dir.join("rss");
    let _ = std::fs::remove_file(&rss);
    let timed = if Path::new(GNU_TIME).exists() {
        format!("{GNU_TIME} -f %M -o \"$RSS\" timeout 60")
    } else {
        "timeout 60".to_string()
    };
    let script = match feed {
        Some(feed) => format!("{{ {feed}; }} 2>/dev/null | {timed} \"$@\""),
        None => format!("{timed} \"$@\" </dev/null"),
    };
    let out = jpgtool_in_bash(&script)
        .args(args)
        .env("RSS", &rss)
        .output()
        .expect("bash");
    let peak = std::fs::read_to_string(&rss)
        .ok()
        .and_then(|text| text.lines().rev().find_map(|l| l.trim().parse().ok()));
    (out, peak)
}

/// Checks that every command refused `input` with a message containing each of `expected` and
/// the input's name, having used at most `extra_rss_kib` more than the same command on the
/// clean DIR/base.jpg (mark and verify spend 64 MiB on the key's Argon2 hash) when measured.
fn assert_refused(
    input: &Path,
    feed: Option<&str>,
    extra: &[&str],
    expected: &[&str],
    extra_rss_kib: u64,
    dir: &Path,
) {
    let out_path = dir.join("out.jpg");
    let clean = commands(&dir.join("base.jpg"), &out_path, &[]);
    for (args, clean) in commands(input, &out_path, extra).into_iter().zip(clean) {
        let (baseline, clean_peak) = run(&clean, None, dir);
        // verify says "no match" (exit 1) on the clean file; the others succeed.
        assert!(baseline.status.code().is_some_and(|c| c <= 1), "{clean:?}");
        let _ = std::fs::remove_file(&out_path);
        let (out, peak) = run(&args, feed, dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        let name = input.display().to_string();
        for needle in expected.iter().chain([&name.as_str()]) {
            assert!(
                stderr.contains(needle),
                "{args:?}: {needle:?} not in {stderr}"
            );
        }
        assert!(!out_path.exists(), "{args:?} left an output");
        if let (Some(peak), Some(clean_peak)) = (peak, clean_peak) {
            assert!(
                peak <= clean_peak + extra_rss_kib,
                "{args:?}: peak RSS {peak} KiB, {clean_peak} KiB on the clean file"
            );
        }
    }
}

/// DIR/base.jpg: 320x240 at q90 (a textured image that can be marked).
fn base(dir: &Path) -> Vec<u8> {
    let ppm = dir.join("base.ppm");
    write_pnm(&ppm, 320, 240, 3, &test_rgb(320, 240));
    let jpeg = dir.join("base.jpg");
    cjpeg(&["-quality", "90"], &ppm, &jpeg);
    std::fs::read(jpeg).unwrap()
}

/// `jpeg` with `bytes` bytes of full-length `marker` segments inserted after SOI.
fn with_flood(dir: &Path, name: &str, jpeg: &[u8], marker: u8, bytes: usize) -> PathBuf {
    let mut segment = vec![0xFF, marker, 0xFF, 0xFF];
    segment.resize(65537, b'f');
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(&jpeg[..2]).unwrap();
    for _ in 0..bytes.div_ceil(segment.len()) {
        file.write_all(&segment).unwrap();
    }
    file.write_all(&jpeg[2..]).unwrap();
    file.flush().unwrap();
    path
}

/// The largest segment with this marker up to the first scan header (SOS included), as
/// (start, end).
fn largest_segment(jpeg: &[u8], marker: u8) -> (usize, usize) {
    let mut at = 2;
    let mut best = (0, 0);
    loop {
        let code = jpeg[at + 1];
        let end = at + 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if code == marker && end - at > best.1 - best.0 {
            best = (at, end);
        }
        if code == 0xDA {
            return best;
        }
        at = end;
    }
}

/// 70 MB of COM or of APP11 segments against `--max-metadata 16M` (the path 200 MB takes
/// against the default 64 MiB): refused by every command, having held at most about 16 MiB.
#[test]
fn metadata_floods_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = base(dir.path());
    for (name, marker) in [("com.jpg", 0xFE), ("app11.jpg", 0xEB)] {
        let path = with_flood(dir.path(), name, &jpeg, marker, 70_000_000);
        assert_refused(
            &path,
            None,
            &["--max-metadata", "16M"],
            &[
                "metadata (APPn and COM segments) in bytes is",
                "above the limit of 16777216",
            ],
            // 16 MiB recorded, one segment and the read-ahead (70 MiB if it were all kept).
            20 << 10,
            dir.path(),
        );
        std::fs::remove_file(path).unwrap();
    }
}

/// Metadata under the limit is carried into the output, whole.
#[test]
fn metadata_under_the_limit_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = base(dir.path());
    let path = with_flood(dir.path(), "com.jpg", &jpeg, 0xFE, 2_000_000);
    let out = dir.path().join("out.jpg");
    let shrunk = crate::util::jpgtool()
        .arg("shrink")
        .arg(&path)
        .arg("-o")
        .arg(&out)
        .args(["--max-metadata", "4M"])
        .output()
        .unwrap();
    assert_success(&shrunk);
    let written = std::fs::read(&out).unwrap();
    let comments = written
        .windows(4)
        .filter(|w| w == b"\xFF\xFE\xFF\xFF")
        .count();
    assert_eq!(comments, 2_000_000usize.div_ceil(65537));
}

/// A DHT and a DQT segment repeated until they pass the fixed 1 MiB bound on tables: refused
/// by every command (the walker keeps one table per slot; the bound caps what is recorded).
#[test]
fn table_floods_are_refused_after_a_fixed_bound() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = base(dir.path());
    for (name, marker) in [("dht.jpg", 0xC4), ("dqt.jpg", 0xDB)] {
        let (start, end) = largest_segment(&jpeg, marker);
        let copies = (2 << 20) / (end - start);
        let mut flooded = jpeg[..start].to_vec();
        for _ in 0..copies {
            flooded.extend_from_slice(&jpeg[start..end]);
        }
        flooded.extend_from_slice(&jpeg[start..]);
        let path = dir.path().join(name);
        std::fs::write(&path, flooded).unwrap();
        assert_refused(
            &path,
            None,
            &[],
            &["before the first scan, above the fixed bound of 1048576"],
            4 << 10,
            dir.path(),
        );
    }
}

/// Endless streams on stdin (read as /dev/stdin): junk after SOI ends in the header, zeros
/// after a valid header end after what the frame's blocks can code.
#[test]
fn endless_stdin_ends_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = base(dir.path());
    let (_, sos_end) = largest_segment(&jpeg, 0xDA);
    let head = dir.path().join("head.bin");
    std::fs::write(&head, &jpeg[..sos_end]).unwrap();
    let junk = "printf '\\xff\\xd8'; head -c 700 /dev/zero | tr '\\0' A; cat /dev/zero";
    assert_refused(
        Path::new("/dev/stdin"),
        Some(junk),
        &[],
        &["before the first scan, above the fixed bound"],
        48 << 10,
        dir.path(),
    );
    let after_header = format!("cat '{}'; cat /dev/zero", head.display());
    assert_refused(
        Path::new("/dev/stdin"),
        Some(&after_header),
        &["--max-metadata", "1M"],
        &["more than the image's blocks can code"],
        48 << 10,
        dir.path(),
    );
}

/// Many tiny comments: 2 MB of 5-byte COM segments (400,000 of them) are under `--max-metadata
/// 4M` in bytes, but a re-encoding command holds each carried segment as its own buffer (60 MB
/// of them took over 800 MB), so each segment also counts `METADATA_SEGMENT_COST` bytes: 69 x
/// 400,000 is above 4 MiB, and every command refuses the file early.
#[test]
fn a_flood_of_tiny_segments_counts_what_holding_them_costs() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = base(dir.path());
    let mut flooded = jpeg[..2].to_vec();
    for _ in 0..400_000 {
        flooded.extend_from_slice(b"\xFF\xFE\x00\x03c");
    }
    flooded.extend_from_slice(&jpeg[2..]);
    let path = dir.path().join("tiny.jpg");
    std::fs::write(&path, flooded).unwrap();
    assert_refused(
        &path,
        None,
        &["--max-metadata", "4M"],
        &[
            "metadata (APPn and COM segments) in bytes is",
            "above the limit of 4194304",
        ],
        // What is read before the refusal: 4 MiB / (5 + 64) = 60,787 segments, 0.3 MB.
        8 << 10,
        dir.path(),
    );
}
