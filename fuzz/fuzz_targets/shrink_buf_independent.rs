//! Property: `shrink::shrink` gives the same result whatever the read granularity: the whole slice and a reader returning 1..=7 bytes per `read` (sizes taken from the input) agree (Ok: identical output bytes and report; Err: same `Display`).
//!
//! Byte 0 chooses the options (see `shrink_common.rs`), the rest is the file.

#![no_main]

#[path = "shrink_common.rs"]
mod shrink_common;

use std::io::{self, Read};

use jpgtool::shrink::shrink;
use libfuzzer_sys::fuzz_target;

/// Hands out 1..=7 bytes per call, the k-th size taken from `sizes[k % len]`.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    calls: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = match self.sizes.len() {
            0 => 1,
            len => 1 + usize::from(self.sizes[self.calls % len] % 7),
        };
        self.calls += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn outcome(
    r: jpgtool::Result<(jpgtool::shrink::Report, Vec<u8>)>,
) -> Result<(String, Vec<u8>), String> {
    match r {
        Ok((report, out)) => Ok((format!("{report:?}"), out)),
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
        Chunked {
            data: jpeg,
            sizes: jpeg,
            calls: 0,
        },
        Vec::new(),
        &options,
    ));
    match (&whole, &chunked) {
        (Ok((r1, o1)), Ok((r2, o2))) => {
            assert_eq!(r1, r2, "reports differ");
            assert!(
                o1 == o2,
                "output bytes differ ({} vs {} bytes)",
                o1.len(),
                o2.len()
            );
        }
        (Err(e1), Err(e2)) => assert_eq!(e1, e2, "errors differ"),
        (Ok((r, _)), Err(e)) => panic!("whole slice Ok ({r}), chunked Err: {e}"),
        (Err(e), Ok((r, _))) => panic!("whole slice Err: {e}, chunked Ok ({r})"),
    }
});
