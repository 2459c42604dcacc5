//! The real `jpgtool` binary: output formats, selection for batch scripts, exit codes, order.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::util::{cjpeg, jpgtool, test_rgb, write_pnm};

/// Makes q{N}.jpg files with cjpeg in `dir`.
fn make_files(dir: &Path, qualities: &[u8]) {
    let ppm = dir.join("in.ppm");
    write_pnm(&ppm, 32, 32, 3, &test_rgb(32, 32));
    for q in qualities {
        cjpeg(
            &["-quality", &q.to_string()],
            &ppm,
            &dir.join(format!("q{q}.jpg")),
        );
    }
    std::fs::remove_file(ppm).unwrap();
}

fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = jpgtool().args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn human_output_has_one_line_per_file_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &[30, 90, 60]);
    let (code, out, err) = run(&["quality", "q90.jpg", "q30.jpg", "q60.jpg"], dir.path());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    for (line, (q, name)) in
        lines
            .iter()
            .zip([("90", "q90.jpg"), ("30", "q30.jpg"), ("60", "q60.jpg")])
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], q, "{line}");
        assert_eq!(&fields[1..3], ["ijg", "exact"], "{line}");
        assert_eq!(fields[4], "4:2:0", "{line}");
        assert_eq!(fields[5], "32x32", "{line}");
        assert!(line.ends_with(name), "{line}");
    }
}

#[test]
fn max_quality_prints_only_files_above_the_target() {
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &[40, 60, 61, 95]);
    let (code, out, _) = run(&["quality", "--max-quality", "60", "."], dir.path());
    assert_eq!(code, 0);
    let mut picked: Vec<&str> = out.lines().collect();
    picked.sort();
    assert_eq!(picked, ["./q61.jpg", "./q95.jpg"]);
    // NUL separated for xargs -0.
    let (_, out, _) = run(&["quality", "--max-quality", "60", "-0", "."], dir.path());
    assert_eq!(out, "./q61.jpg\0./q95.jpg\0");
}

#[test]
fn json_lines_carry_every_documented_field() {
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &[75]);
    let (code, out, _) = run(&["quality", "--json", "q75.jpg"], dir.path());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["family"], "ijg");
    assert_eq!(v["confidence"], "exact");
    assert_eq!(v["quality"], 75.0);
    assert_eq!(v["quality_range"], serde_json::json!([75.0, 75.0]));
    assert_eq!(v["decision_quality"], 75.0);
    assert_eq!(v["subsampling"], "4:2:0");
    assert_eq!(v["width"], 32);
    assert_eq!(v["frame"], "baseline");
    assert_eq!(v["eoi"], true);
    let bytes = std::fs::read(dir.path().join("q75.jpg")).unwrap();
    assert_eq!(v["file_bytes"], bytes.len());
    // A baseline cjpeg file has one SOS and nothing after EOI: the coded data is everything
    // after the SOS segment, whose length field follows its marker.
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let sos_len = usize::from(u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]));
    let coded = v["coded_bytes"].as_u64().unwrap();
    assert_eq!(coded as usize, bytes.len() - (sos + 2 + sos_len));
    let bpp = v["bpp"].as_f64().unwrap();
    assert!((bpp - 8.0 * coded as f64 / 1024.0).abs() < 0.001);
    // Every field the README documents is present.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for field in v.as_object().unwrap().keys() {
        assert!(
            readme.contains(&format!("`{field}`")),
            "README lacks `{field}`"
        );
    }
}

#[test]
fn a_bad_file_is_reported_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &[50, 80]);
    std::fs::write(
        dir.path().join("broken.jpg"),
        b"\x89PNG\r\n\x1a\nnot a jpeg",
    )
    .unwrap();
    let (code, out, err) = run(
        &["quality", "q50.jpg", "broken.jpg", "missing.jpg", "q80.jpg"],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 2);
    assert!(
        err.contains("broken.jpg") && err.contains("PNG image"),
        "{err}"
    );
    assert!(err.contains("missing.jpg"), "{err}");
    let (code, out, _) = run(&["quality", "--json", "broken.jpg", "q50.jpg"], dir.path());
    assert_eq!(code, 1);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["ok"], false);
    assert_eq!(first["path"], "broken.jpg");
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(&["quality"], dir.path()).0, 2);
    assert_eq!(run(&["quality", "--bogus", "x.jpg"], dir.path()).0, 2);
    assert_eq!(
        run(&["quality", "--max-quality", "150", "x.jpg"], dir.path()).0,
        2
    );
    // A zero size is not a size (it used to give a 1x1 output).
    make_files(dir.path(), &[70]);
    for size in ["--width", "--height"] {
        let (code, _, stderr) = run(
            &["shrink", size, "0", "q70.jpg", "-o", "out.jpg"],
            dir.path(),
        );
        assert_eq!(code, 2, "{size} 0: {stderr}");
        assert!(!dir.path().join("out.jpg").exists());
    }
    // A payload whose 80th byte falls inside a multi-byte character: an error, not a panic.
    let payload = format!("{}é", "a".repeat(79));
    let (code, _, stderr) = run(
        &[
            "verify",
            "--key",
            "a long enough passphrase",
            "--payload",
            &payload,
            "q70.jpg",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("64 hexadecimal digits"), "{stderr}");
}

#[test]
fn an_endless_list_of_empty_entries_on_stdin_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = jpgtool()
        .args(["quality", "-"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Write NUL separators until jpgtool stops reading (a broken pipe): it must stop by itself.
    let zeros = [0u8; 64 * 1024];
    let mut written = 0usize;
    while stdin.write_all(&zeros).is_ok() {
        written += zeros.len();
        assert!(
            written < 1 << 30,
            "jpgtool read 1 GiB of separators without stopping"
        );
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("empty entries in a row"), "{stderr}");
}

#[test]
fn paths_from_stdin_newline_or_nul_separated() {
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &[20, 70]);
    for list in ["q70.jpg\nq20.jpg\n", "q70.jpg\0q20.jpg\0"] {
        let mut child = jpgtool()
            .args(["quality", "-"])
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(list.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let firsts: Vec<&str> = text
            .lines()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(firsts, ["70", "20"], "{list:?}");
    }
}

#[test]
fn folders_are_read_one_level_unless_recursive() {
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &[55]);
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    make_files(&sub, &[65]);
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let (_, flat, _) = run(&["quality", "."], dir.path());
    assert_eq!(flat.lines().count(), 1);
    let (_, deep, _) = run(&["quality", "-r", "."], dir.path());
    assert_eq!(deep.lines().count(), 2);
}

/// In a folder, a symbolic link to a JPEG is read as the file it points to; a link to a
/// folder is not followed, even with `-r` (a link to its own parent would loop), and a
/// dangling link is left out.
#[cfg(unix)]
#[test]
fn folders_take_links_to_files_but_not_to_folders() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    let links = dir.path().join("links");
    std::fs::create_dir(&photos).unwrap();
    std::fs::create_dir(&links).unwrap();
    make_files(&photos, &[55]);
    let photo = std::fs::read_dir(&photos)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::os::unix::fs::symlink(&photo, links.join("a.jpg")).unwrap();
    std::os::unix::fs::symlink(&photos, links.join("folder.jpg")).unwrap();
    std::os::unix::fs::symlink(dir.path(), links.join("up")).unwrap();
    std::os::unix::fs::symlink(photos.join("missing.jpg"), links.join("b.jpg")).unwrap();
    for args in [&["quality", "links"][..], &["quality", "-r", "links"]] {
        let (code, out, err) = run(args, dir.path());
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("a.jpg"), "{out}");
    }
}

#[test]
fn the_shipped_samples_answer_as_their_encoders_declare() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let (code, out, _) = run(
        &[
            "quality",
            "--json",
            "sample-q75.jpg",
            "sample-photoshop.jpg",
        ],
        &corpus,
    );
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // libjpeg-turbo's testorig.jpg is its cjpeg at the default quality, 75.
    assert_eq!(lines[0]["quality"], 75.0);
    assert_eq!(lines[0]["family"], "ijg");
    // jpeg-js's rgb.jpg declares Photoshop Save As 9 in its APP13 resources.
    assert_eq!(lines[1]["photoshop_save_as"], 9);
    assert_eq!(lines[1]["setting"], "Photoshop Save As 9");
    assert_eq!(lines[1]["confidence"], "fingerprint");
}

/// `--version` names the codec library and its SIMD state; CI builds with nasm, so SIMD is on
/// (a build without it says "SIMD OFF" and `.ci/run` refuses it).
#[test]
fn version_names_the_codec_and_its_simd_state() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(&["--version"], dir.path());
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("jpgtool {} (mozjpeg ", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("SIMD on") || out.contains("SIMD OFF"), "{out}");
}

/// Completion scripts and man pages are generated from the same definition as `--help`: every
/// command appears in them, and an unknown command is a usage error.
#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let commands = ["quality", "shrink", "mark", "verify", "completions", "man"];
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(&["completions", shell], dir.path());
        assert_eq!(code, 0, "{shell}: {err}");
        for command in commands {
            assert!(out.contains(command), "{shell} completions lack {command}");
        }
        assert!(
            out.contains("max-quality"),
            "{shell} completions lack quality's options"
        );
    }
    let (code, page, _) = run(&["man"], dir.path());
    assert_eq!(code, 0);
    assert!(
        page.contains(".TH jpgtool 1"),
        "{}",
        &page[..page.len().min(300)]
    );
    for command in commands {
        assert!(page.contains(command), "man page lacks {command}");
    }
    let (code, page, _) = run(&["man", "shrink"], dir.path());
    assert_eq!(code, 0);
    assert!(page.contains(".TH jpgtool-shrink 1") && page.contains(r"\-\-scale"));
    let (code, _, err) = run(&["man", "shrnk"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("shrnk"), "{err}");
}
