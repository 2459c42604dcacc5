//! The primary quality of re-saved files (`quality --history`), against files whose history is
//! known because cjpeg made them: saved at q1, decoded by djpeg, saved again at q2.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cjpeg, corpus, jpgtool};

/// A photo without an 8x8 grid of its own: a corpus camera file decoded at half size by djpeg
/// (each new block mixes four of the camera's), as a PPM in `dir`.
fn source(dir: &Path) -> PathBuf {
    let ppm = dir.join("source.ppm");
    djpeg(
        &["-scale", "1/2"],
        &corpus().join("real/mde-Nikon_D70.jpg"),
        &ppm,
    );
    ppm
}

fn djpeg(args: &[&str], input: &Path, output: &Path) {
    let status = Command::new("djpeg")
        .args(args)
        .arg("-outfile")
        .arg(output)
        .arg(input)
        .status()
        .expect("djpeg not found: install libjpeg-turbo-progs");
    assert!(status.success(), "djpeg {args:?} failed");
}

/// cjpeg at `q1`, djpeg, cjpeg at `q2`: the file a user gets by opening a q1 photo and saving
/// it at q2.
fn resave(dir: &Path, src: &Path, q1: u8, q2: u8) -> PathBuf {
    let first = dir.join(format!("first-{q1}.jpg"));
    cjpeg(&["-quality", &q1.to_string()], src, &first);
    let pixels = dir.join(format!("first-{q1}.ppm"));
    djpeg(&[], &first, &pixels);
    let out = dir.join(format!("resaved-{q1}-{q2}.jpg"));
    cjpeg(&["-quality", &q2.to_string()], &pixels, &out);
    out
}

fn report(args: &[&str], files: &[&Path]) -> Vec<serde_json::Value> {
    let out = jpgtool()
        .arg("quality")
        .args(args)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn resaved_files_report_their_first_quality() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    for (q1, q2) in [(40, 95), (60, 90), (60, 95), (75, 95)] {
        let file = resave(dir.path(), &src, q1, q2);
        let v = &report(&["--json"], &[&file])[0];
        assert_eq!(v["quality"], f64::from(q2), "{v}");
        let range = v["primary_quality_range"]
            .as_array()
            .unwrap_or_else(|| panic!("q{q1} -> q{q2}: no primary quality: {v}"));
        let (lo, hi) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
        let q1 = f64::from(q1);
        assert!(q1 - 2.0 <= lo && hi <= q1 + 2.0, "q{q1} -> q{q2}: {v}");
        assert_eq!(v["primary_confidence"], "high", "{v}");
        assert_eq!(v["primary_reason"], serde_json::Value::Null);
    }
}

#[test]
fn single_saves_and_finer_first_saves_report_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let mut files = Vec::new();
    for q in [30, 50, 75, 90, 95, 100] {
        let file = dir.path().join(format!("single-{q}.jpg"));
        cjpeg(&["-quality", &q.to_string()], &src, &file);
        files.push(file);
    }
    // A first save finer than the second leaves every bin reachable: out of reach.
    files.push(resave(dir.path(), &src, 95, 60));
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    for v in report(&["--json"], &paths) {
        assert_eq!(v["primary_quality"], serde_json::Value::Null, "{v}");
        assert_eq!(v["primary_confidence"], serde_json::Value::Null, "{v}");
        let reason = v["primary_reason"].as_str().unwrap();
        assert!(
            reason.contains("no earlier") || reason.contains("too few"),
            "{v}"
        );
    }
}

#[test]
fn text_line_shows_the_primary_quality() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let file = resave(dir.path(), &src, 60, 95);
    let out = jpgtool().arg("quality").arg(&file).output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.trim_start().starts_with("95 (from ~60)"), "{line}");
    // Header-only mode reads no coefficients and says nothing about them.
    let v = &report(&["--json", "--no-bpp"], &[&file])[0];
    assert!(v.get("primary_quality").is_none(), "{v}");
}

#[test]
fn max_quality_uses_the_primary_quality_only_with_history() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let resaved = resave(dir.path(), &src, 50, 95);
    let single = dir.path().join("single-95.jpg");
    cjpeg(&["-quality", "95"], &src, &single);
    let selected = |extra: &[&str]| -> Vec<String> {
        let out = jpgtool()
            .args(["quality", "--max-quality", "70"])
            .args(extra)
            .arg(&resaved)
            .arg(&single)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    // By the tables both are at 95, above 70.
    assert_eq!(selected(&[]).len(), 2);
    // The re-saved one holds no more than its first save at 50: left alone.
    let with = selected(&["--history"]);
    assert_eq!(with, [single.display().to_string()]);
}

#[test]
fn damaged_or_unreadable_scans_give_null_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let file = resave(dir.path(), &src, 50, 95);
    let bytes = std::fs::read(&file).unwrap();
    // Cut inside the first MCU rows.
    let cut = dir.path().join("cut.jpg");
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    std::fs::write(&cut, &bytes[..sos + 3000]).unwrap();
    // A marker in the middle of the data.
    let marker = dir.path().join("marker.jpg");
    let mut m = bytes.clone();
    m[sos + 2000] = 0xFF;
    m[sos + 2001] = 0xD9;
    std::fs::write(&marker, &m).unwrap();
    // Random bytes over the scan data: no panic, whatever the decode makes of them.
    let noise = dir.path().join("noise.jpg");
    let mut n = bytes.clone();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for b in &mut n[sos + 100..sos + 20000] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state as u8;
    }
    std::fs::write(&noise, &n).unwrap();
    // Progressive: the same coefficients in several scans, which the sample does not read.
    let progressive = dir.path().join("progressive.jpg");
    let status = Command::new("jpegtran")
        .args(["-progressive", "-outfile"])
        .arg(&progressive)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let v = report(&["--json"], &[&cut, &marker, &noise, &progressive]);
    for (v, says) in v.iter().zip(["damaged", "damaged", "", "not analysed"]) {
        assert_eq!(v["ok"], true, "{v}");
        if v["primary_quality"].is_null() {
            let reason = v["primary_reason"].as_str().unwrap();
            assert!(reason.contains(says), "{v}");
        } else {
            // Only random bytes may still decode as blocks; they must not make a confident call.
            assert!(says.is_empty(), "{v}");
        }
    }
}

#[test]
fn block_reader_agrees_with_the_dc_decoder_on_the_same_coefficients() {
    // jpegtran -progressive rewrites the same quantized coefficients into progressive scans;
    // the DC-only decoder of those must see the DC values the block reader sees in the
    // baseline file.
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let baseline = dir.path().join("b.jpg");
    cjpeg(&["-quality", "80"], &src, &baseline);
    let progressive = dir.path().join("p.jpg");
    let status = Command::new("jpegtran")
        .args(["-progressive", "-outfile"])
        .arg(&progressive)
        .arg(&baseline)
        .status()
        .unwrap();
    assert!(status.success());
    let limits = jpgtool::Limits::default();
    let bytes = std::fs::read(&progressive).unwrap();
    let mut parser = jpgtool::jpeg::Parser::new(jpgtool::jpeg::Streamed::new(&bytes[..]));
    let header = parser.read_header().unwrap();
    let dc = parser.decode_dc(&header, &limits).unwrap();

    let bytes = std::fs::read(&baseline).unwrap();
    let mut parser = jpgtool::jpeg::Parser::new(jpgtool::jpeg::Streamed::new(&bytes[..]));
    let header = parser.read_header().unwrap();
    let (hmax, vmax) = header.frame.max_sampling();
    let plane = &dc.planes[0];
    let mcus_x = plane.blocks_wide / usize::from(hmax);
    let mut seen = 0usize;
    let mut index_in_mcu = 0usize;
    let mut last_mcu = u64::MAX;
    let read = parser
        .read_blocks(&header, 0, 2000, |c, block, _nonzero, mcu| {
            if mcu != last_mcu {
                last_mcu = mcu;
                index_in_mcu = 0;
            }
            if c != 0 {
                return true;
            }
            let (mx, my) = (mcu as usize % mcus_x, mcu as usize / mcus_x);
            let (bx, by) = (
                index_in_mcu % usize::from(hmax),
                index_in_mcu / usize::from(hmax),
            );
            index_in_mcu += 1;
            let (x, y) = (mx * usize::from(hmax) + bx, my * usize::from(vmax) + by);
            assert_eq!(
                block[0],
                plane.dc[y * plane.blocks_wide + x],
                "block {x},{y}"
            );
            seen += 1;
            true
        })
        .unwrap();
    assert_eq!(read.counted, seen as u64);
    assert!(seen >= 2000, "{read:?}");
}

/// mozjpeg's default profile (its tables, trellis quantisation, progressive) at `quality`.
fn mozjpeg_default(path: &Path, quality: f32) {
    let (w, h) = (64, 48);
    let mut comp = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    comp.set_size(w, h);
    comp.set_quality(quality);
    let mut started = comp.start_compress(Vec::new()).unwrap();
    started
        .write_scanlines(&crate::util::test_rgb(w, h))
        .unwrap();
    std::fs::write(path, started.finish().unwrap()).unwrap();
}

#[test]
fn mozjpeg_default_tables_get_an_effective_quality_below_their_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (q60, q40) = (dir.path().join("moz60.jpg"), dir.path().join("moz40.jpg"));
    mozjpeg_default(&q60, 60.0);
    mozjpeg_default(&q40, 40.0);
    let src = dir.path().join("in.ppm");
    crate::util::write_pnm(&src, 64, 48, 3, &crate::util::test_rgb(64, 48));
    let ijg = dir.path().join("ijg60.jpg");
    cjpeg(&["-quality", "60"], &src, &ijg);
    let rows = report(&["--json"], &[&q60, &q40, &ijg]);
    // At 60 mozjpeg's trellis encoder loses more than its tables say (docs/quality.md), and
    // progressive files get the figure too: it needs no coefficients.
    assert_eq!(rows[0]["family"], "mozjpeg-3", "{}", rows[0]);
    assert_eq!(rows[0]["frame"], "progressive", "{}", rows[0]);
    let effective = rows[0]["effective_quality"]
        .as_f64()
        .expect("an effective quality");
    let tables = rows[0]["ijg_equivalent"].as_f64().unwrap();
    assert!(effective < tables - 2.0, "{}", rows[0]);
    // Outside the measured qualities, and for IJG tables, there is none.
    assert!(rows[1]["effective_quality"].is_null(), "{}", rows[1]);
    assert!(rows[2]["effective_quality"].is_null(), "{}", rows[2]);
    // Header-only mode is unchanged: no field.
    let v = &report(&["--json", "--no-bpp"], &[&q60])[0];
    assert!(v.get("effective_quality").is_none(), "{v}");
    let out = jpgtool().arg("quality").arg(&q60).output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.contains(&format!("(effective ~{effective:.0})")),
        "{line}"
    );
}

/// Writes a cjpeg `-qtables` file holding `luma` twice (luma and chroma slots), natural order.
fn qtables(path: &Path, luma: &[u16; 64]) {
    let row = |t: &[u16; 64]| {
        t.chunks(8)
            .map(|r| r.iter().map(u16::to_string).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    std::fs::write(path, format!("{}\n\n{}\n", row(luma), row(luma))).unwrap();
}

#[test]
fn effective_quality_only_for_near_flat_unknown_tables() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    // Near-flat entries (guetzli's shape, nearest to mozjpeg's flat set) and Annex K's shape
    // with small changes (a camera's own table), neither an exact family at any quality; both
    // rounded to nearest by cjpeg (`-quality 50` keeps the tables as given).
    let flat: [u16; 64] = std::array::from_fn(|k| 6 + (k % 3) as u16 + (k / 16) as u16);
    let annex_k = jpgtool::quality::tables::MOZJPEG[0].luma;
    let camera: [u16; 64] = std::array::from_fn(|k| (annex_k[k] * 3 / 10).max(1) + (k % 2) as u16);
    let mut files = Vec::new();
    for (name, table) in [("flat", flat), ("camera", camera)] {
        let tables = dir.path().join(format!("{name}.txt"));
        qtables(&tables, &table);
        let out = dir.path().join(format!("{name}.jpg"));
        cjpeg(
            &["-quality", "50", "-qtables", tables.to_str().unwrap()],
            &src,
            &out,
        );
        files.push(out);
    }
    let rows = report(&["--json"], &[&files[0], &files[1]]);
    assert_eq!(rows[0]["family"], "unknown", "{}", rows[0]);
    assert_eq!(rows[0]["nearest_family"], "mozjpeg-1", "{}", rows[0]);
    let effective = rows[0]["effective_quality"].as_f64();
    assert!(
        effective.is_some_and(|q| (1.0..=100.0).contains(&q)),
        "{}",
        rows[0]
    );
    // A rounding encoder with its own tables: the estimate reads low there, so none is given.
    assert_eq!(rows[1]["family"], "unknown", "{}", rows[1]);
    assert_eq!(rows[1]["nearest_family"], "ijg", "{}", rows[1]);
    assert!(rows[1]["effective_quality"].is_null(), "{}", rows[1]);
}
