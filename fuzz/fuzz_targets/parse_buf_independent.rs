//! Property: `read_header` gives the same result whatever the read granularity: the whole slice, a reader returning one byte per `read`, and `read_header_seekable` on a `Cursor` agree (Ok: equal `Debug`; Err: same variant and same `Display`).

#![no_main]

use std::io::{self, Cursor, Read};

use jpgtool::jpeg::{Header, read_header, read_header_seekable};
use libfuzzer_sys::fuzz_target;

/// A reader that hands out one byte per call, like a slow pipe or socket.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (buf.first_mut(), self.0.split_first()) {
            (Some(slot), Some((&b, rest))) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(String),
    /// (variant name, Display)
    Err(String, String),
}

fn outcome(r: jpgtool::Result<Header>) -> Outcome {
    match r {
        Ok(h) => Outcome::Ok(format!("{h:?}")),
        Err(e) => {
            let debug = format!("{e:?}");
            let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
            Outcome::Err(variant, e.to_string())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = outcome(read_header(data));
    let one_byte = outcome(read_header(OneByte(data)));
    let seekable = outcome(read_header_seekable(Cursor::new(data)));
    assert_eq!(whole, one_byte, "slice vs one-byte reader differ");
    assert_eq!(whole, seekable, "slice vs seekable differ");
});
