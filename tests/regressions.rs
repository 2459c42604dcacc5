//! Replays the minimised fuzz findings in `fuzz/regressions/`: each once made a target fail
//! (a panic, or a difference between ways of reading the same bytes). The file name says which.

use std::io::{self, Read};
use std::path::Path;

use jpgtool::jpeg::{Parser, Seekable, Streamed, read_header, read_header_seekable};

/// Hands out one byte per read call, the worst case for a streaming parser.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn outcome<T: std::fmt::Debug>(r: jpgtool::Result<T>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => e.to_string(),
    }
}

/// The properties of the fuzz targets `parse_no_panic` and `parse_buf_independent`.
fn check(name: &str, bytes: &[u8]) {
    let whole = outcome(read_header(bytes));
    assert_eq!(
        whole,
        outcome(read_header(OneByte(bytes))),
        "{name}: one byte at a time"
    );
    assert_eq!(
        whole,
        outcome(read_header_seekable(io::Cursor::new(bytes))),
        "{name}: seekable"
    );
    for mut parser in [Parser::new(Seekable::new(io::Cursor::new(bytes)))] {
        if let Ok(header) = parser.read_header() {
            let _ = header.subsampling();
            let _ = jpgtool::quality::estimate(&header);
            if let Ok(end) = parser.find_image_end() {
                assert!(end.end_offset <= bytes.len() as u64, "{name}: end past EOF");
            }
        }
    }
    let mut streamed = Parser::new(Streamed::new(bytes));
    if streamed.read_header().is_ok() {
        let _ = streamed.find_image_end();
    }
}

#[path = "../fuzz/fuzz_targets/shrink_common.rs"]
mod shrink_common;

/// The property of `shrink_buf_independent`: byte 0 picks the options, the rest is the file;
/// the whole slice and chunked reads give the same report and bytes, or the same error.
fn check_shrink(name: &str, data: &[u8]) {
    let Some((&config, jpeg)) = data.split_first() else {
        return;
    };
    let options = shrink_common::options(config);
    let outcome = |r: jpgtool::Result<(jpgtool::shrink::Report, Vec<u8>)>| match r {
        Ok((report, out)) => Ok((format!("{report:?}"), out)),
        Err(e) => Err(e.to_string()),
    };
    let whole = outcome(jpgtool::shrink::shrink(jpeg, Vec::new(), &options));
    let chunked = outcome(jpgtool::shrink::shrink(
        shrink_common::Chunked {
            data: jpeg,
            sizes: jpeg,
            calls: 0,
        },
        Vec::new(),
        &options,
    ));
    assert!(whole == chunked, "{name}: chunked reads change the result");
}

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        if name.starts_with("shrink_") {
            check_shrink(&name, &data);
        } else {
            check(&name, &data);
        }
        count += 1;
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
}

#[test]
fn two_component_frames_have_a_subsampling_name() {
    // SOI, DQT (table 0, all 1s), SOF0 32x16 with two components of different sampling, SOS.
    let mut f = vec![0xFF, 0xD8, 0xFF, 0xDB, 0, 67, 0];
    f.extend([1u8; 64]);
    f.extend([
        0xFF, 0xC0, 0, 14, 8, 0, 16, 0, 32, 2, 1, 0x22, 0, 2, 0x11, 0,
    ]);
    f.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
    let header = read_header(&f[..]).unwrap();
    assert_eq!(header.subsampling(), "other");
}
