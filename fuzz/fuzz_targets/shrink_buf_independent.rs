//! Property: `shrink::shrink` gives the same result whatever the read granularity: the whole slice and a reader returning 1..=7 bytes per `read` (sizes taken from the input) agree (Ok: identical output bytes and report; Err: same `Display`).
//!
//! Byte 0 chooses the options (see `shrink_common.rs`), the rest is the file.
//!
//! Known failure, reported, not masked by default (`regressions/shrink_buf_independent-*.bin`,
//! README "Known failure"): libjpeg-turbo decodes Huffman data through a fast path only while its
//! source buffer holds at least 512 bytes per block of the MCU (`jdhuff.c` `decode_mcu`), and on
//! damaged data the fast path differs: no "bad Huffman code" warning, a different "N extraneous
//! bytes before marker" count, and, when it mistakes `FF FF` for a marker and hands the MCU to
//! the slow path, stale coefficients (different pixels). What the buffer holds is what one `read`
//! of the caller's reader returned, so the result depends on the read sizes.
//!
//! `JPGTOOL_FUZZ_MASK=libjpeg-warnings` ignores the warning part, to keep a campaign going: the
//! `Report`s are compared without their warnings, two `strict` warning errors ("... (--strict)")
//! count as equal, and so do Ok and a `strict` warning error. Output bytes, the rest of the
//! report and all other errors are still compared (the pixel difference is not masked).
//! `JPGTOOL_FUZZ_DUMP=<dir>` writes both outputs of an output mismatch to `<dir>/whole.jpg` and
//! `<dir>/chunked.jpg`.

#![no_main]

#[path = "shrink_common.rs"]
mod shrink_common;

use jpgtool::shrink::shrink;
use libfuzzer_sys::fuzz_target;

fn masked() -> bool {
    static MASK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        std::env::var("JPGTOOL_FUZZ_MASK")
            .is_ok_and(|v| v.split(',').any(|m| m == "libjpeg-warnings"))
    })
}

fn outcome(
    r: jpgtool::Result<(jpgtool::shrink::Report, Vec<u8>)>,
) -> Result<(String, Vec<u8>), String> {
    match r {
        Ok((report, out)) if masked() => {
            let jpgtool::shrink::Report {
                input,
                output,
                plan,
                quality,
                quality_source,
                path,
                warnings: _,
            } = report;
            Ok((
                format!("{input:?} {output:?} {plan:?} {quality} {quality_source:?} {path:?}"),
                out,
            ))
        }
        Ok((report, out)) => Ok((format!("{report:?}"), out)),
        Err(jpgtool::Error::Codec(m)) if masked() && m.ends_with("(--strict)") => {
            Err("libjpeg: <a warning> (--strict)".into())
        }
        Err(e) => Err(e.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, jpeg)) = data.split_first() else {
        return;
    };
    let options = shrink_common::options(config);
    let whole = outcome(shrink(jpeg, Vec::new(), &options));
    let chunked = outcome(shrink(
        shrink_common::Chunked {
            data: jpeg,
            sizes: jpeg,
            calls: 0,
        },
        Vec::new(),
        &options,
    ));
    match (&whole, &chunked) {
        (Ok((r1, o1)), Ok((r2, o2))) => {
            // `JPGTOOL_FUZZ_DUMP=<dir>`: keep both outputs of a mismatch for inspection.
            if o1 != o2
                && let Ok(dir) = std::env::var("JPGTOOL_FUZZ_DUMP")
            {
                let _ = std::fs::write(format!("{dir}/whole.jpg"), o1);
                let _ = std::fs::write(format!("{dir}/chunked.jpg"), o2);
            }
            assert!(
                o1 == o2,
                "output bytes differ ({} vs {} bytes)",
                o1.len(),
                o2.len()
            );
            assert_eq!(r1, r2, "reports differ");
        }
        (Err(e1), Err(e2)) => assert_eq!(e1, e2, "errors differ"),
        // Masked: the fast path's silence on a bad Huffman code lets one side pass `strict`.
        (Ok(_), Err(e)) | (Err(e), Ok(_)) if masked() && e.ends_with("<a warning> (--strict)") => {}
        (Ok((r, _)), Err(e)) => panic!("whole slice Ok ({r}), chunked Err: {e}"),
        (Err(e), Ok((r, _))) => panic!("whole slice Err: {e}, chunked Ok ({r})"),
    }
});
