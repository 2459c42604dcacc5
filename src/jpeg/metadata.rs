//! Metadata segments to carry over when a file is re-encoded: which APPn/COM segments to keep,
//! and the EXIF pixel-dimension tags to bring up to date.

use super::markers::{APP0, COM, SOS};

/// APPn and COM segments before the first scan, in file order, as (marker code, payload).
/// `header` holds the file from SOI at least to its first SOS; a damaged tail ends the walk.
pub fn collect_segments(header: &[u8]) -> Vec<(u8, Vec<u8>)> {
    spans(header)
        .map(|span| (span.code, header[span.start + 4..span.end].to_vec()))
        .collect()
}

/// Removes from `header` (as [`collect_segments`] reads it) the APPn and COM segments for which
/// `keep(code)` is false, in place, and returns how many bytes went. A segment that follows
/// stray bytes stays: a decoder reports such bytes as "extraneous bytes before marker" with the
/// marker's code, and that report must not change.
pub fn remove_segments(header: &mut Vec<u8>, keep: impl Fn(u8) -> bool) -> usize {
    let gone: Vec<Span> = spans(header)
        .filter(|span| !span.after_stray_bytes && !keep(span.code))
        .collect();
    let mut write = 0;
    let mut read = 0;
    for span in &gone {
        header.copy_within(read..span.start, write);
        write += span.start - read;
        read = span.end;
    }
    header.copy_within(read.., write);
    let removed = read - write;
    header.truncate(header.len() - removed);
    removed
}

/// One APPn or COM segment: marker code, where its marker starts and where it ends, and whether
/// bytes that are neither fill bytes nor segments came right before it.
struct Span {
    code: u8,
    start: usize,
    end: usize,
    after_stray_bytes: bool,
}

/// The APPn and COM segments of `header` before the first SOS, in file order.
fn spans(header: &[u8]) -> impl Iterator<Item = Span> + '_ {
    let mut at = 2; // after SOI
    let mut stray = false;
    std::iter::from_fn(move || {
        while at + 1 < header.len() {
            if header[at] != 0xFF {
                stray = true;
                at += 1;
                continue;
            }
            let code = header[at + 1];
            if code == 0xFF {
                at += 1;
                continue;
            }
            if code == SOS || code == 0xD9 {
                return None;
            }
            if code == 0x00 || code == 0x01 || (0xD0..=0xD7).contains(&code) {
                stray = true;
                at += 2;
                continue;
            }
            let len = header.get(at + 2..at + 4)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            if len < 2 || header.len() < at + 2 + len {
                return None;
            }
            let span = Span {
                code,
                start: at,
                end: at + 2 + len,
                after_stray_bytes: std::mem::take(&mut stray),
            };
            at = span.end;
            if (APP0..=0xEF).contains(&code) || code == COM {
                return Some(span);
            }
        }
        None
    })
}

/// Whether a segment still describes a re-encoded copy of the image. The encoder writes its own
/// JFIF (APP0) and Adobe (APP14) segments; an MPF index (APP2) points at images after EOI that a
/// re-encode does not carry; a "Ducky" segment (APP12) records the old encoder quality.
pub fn keep_when_reencoding(code: u8, payload: &[u8]) -> bool {
    match code.wrapping_sub(APP0) {
        0 | 14 => false,
        2 => !payload.starts_with(b"MPF\0"),
        12 => !payload.starts_with(b"Ducky"),
        _ => true,
    }
}

/// Rewrites the EXIF PixelXDimension / PixelYDimension tags (and TIFF ImageWidth / ImageLength,
/// when present) of an APP1 Exif payload in place. Returns how many tags were updated; a payload
/// that is not well-formed is left as it is.
pub fn set_exif_dimensions(payload: &mut [u8], width: u32, height: u32) -> usize {
    const IMAGE_WIDTH: u16 = 0x0100;
    const IMAGE_LENGTH: u16 = 0x0101;
    const EXIF_IFD: u16 = 0x8769;
    const PIXEL_X: u16 = 0xA002;
    const PIXEL_Y: u16 = 0xA003;
    let Some(tiff) = payload.strip_prefix(b"Exif\0\0") else {
        return 0;
    };
    let big_endian = match tiff.get(..4) {
        Some(b"MM\0*") => true,
        Some(b"II*\0") => false,
        _ => return 0,
    };
    let tiff_at = 6;
    let mut tiff = Tiff {
        data: &mut payload[tiff_at..],
        big_endian,
    };
    let Some(ifd0) = tiff.u32(4) else {
        return 0;
    };
    let mut updated = 0;
    let mut exif_ifd = None;
    tiff.walk(ifd0 as usize, |t, tag, entry| match tag {
        IMAGE_WIDTH => updated += usize::from(t.set_value(entry, width)),
        IMAGE_LENGTH => updated += usize::from(t.set_value(entry, height)),
        EXIF_IFD => exif_ifd = t.u32(entry + 8),
        _ => {}
    });
    if let Some(exif) = exif_ifd {
        tiff.walk(exif as usize, |t, tag, entry| match tag {
            PIXEL_X => updated += usize::from(t.set_value(entry, width)),
            PIXEL_Y => updated += usize::from(t.set_value(entry, height)),
            _ => {}
        });
    }
    updated
}

/// The identifier that opens an XMP packet's APP1 payload (XMP Part 3, 1.1.3).
pub const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// The XMP properties that give the image's size in pixels: TIFF's and EXIF's, as their XMP
/// namespaces name them (XMP Part 2, 3.3 and 3.4).
const XMP_SIZES: [(&[u8], bool); 4] = [
    (b"tiff:ImageWidth", true),
    (b"tiff:ImageLength", false),
    (b"exif:PixelXDimension", true),
    (b"exif:PixelYDimension", false),
];

/// Rewrites the pixel-size properties of an APP1 XMP payload (`tiff:ImageWidth`,
/// `tiff:ImageLength`, `exif:PixelXDimension`, `exif:PixelYDimension`), written either as
/// attributes (`tiff:ImageWidth="600"`) or as elements (`<tiff:ImageWidth>600</...>`), to
/// `width` and `height`. Returns how many values were rewritten; a payload that is not XMP, or
/// that would outgrow one segment, is left as it is.
pub fn set_xmp_dimensions(payload: &mut Vec<u8>, width: u32, height: u32) -> usize {
    if !payload.starts_with(XMP_ID) {
        return 0;
    }
    let mut out = Vec::with_capacity(payload.len() + 16);
    let mut updated = 0;
    let mut at = 0;
    while at < payload.len() {
        let found = XMP_SIZES
            .iter()
            .find(|(name, _)| payload[at..].starts_with(name));
        let Some(&(name, is_width)) = found else {
            out.push(payload[at]);
            at += 1;
            continue;
        };
        out.extend_from_slice(name);
        at += name.len();
        // `="600"`, `='600'` or `>600<`, with spaces around `=` allowed.
        let mut value_at = at;
        while payload.get(value_at).is_some_and(u8::is_ascii_whitespace) {
            value_at += 1;
        }
        match payload.get(value_at) {
            Some(b'=') => {
                value_at += 1;
                while payload.get(value_at).is_some_and(u8::is_ascii_whitespace) {
                    value_at += 1;
                }
                if matches!(payload.get(value_at), Some(b'"' | b'\'')) {
                    value_at += 1;
                } else {
                    continue;
                }
            }
            Some(b'>') => value_at += 1,
            _ => continue,
        }
        let digits = payload[value_at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            continue;
        }
        out.extend_from_slice(&payload[at..value_at]);
        let value = if is_width { width } else { height };
        out.extend_from_slice(value.to_string().as_bytes());
        at = value_at + digits;
        updated += 1;
    }
    // An APPn payload holds at most 65533 bytes.
    if updated > 0 && out.len() <= 65533 {
        *payload = out;
        updated
    } else {
        0
    }
}

/// The Orientation tag (0x0112) of an APP1 EXIF payload's IFD0, when it has one.
pub fn exif_orientation(payload: &[u8]) -> Option<u16> {
    let tiff = payload.strip_prefix(b"Exif\0\0")?;
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let mut data = tiff.to_vec();
    let mut tiff = Tiff {
        data: &mut data,
        big_endian,
    };
    let ifd0 = tiff.u32(4)? as usize;
    let mut orientation = None;
    tiff.walk(ifd0, |t, tag, entry| {
        if tag == 0x0112 && t.u16(entry + 2) == Some(3) {
            orientation = t.u16(entry + 8);
        }
    });
    orientation
}

/// An APP1 EXIF payload holding only the Orientation tag (big-endian TIFF, one IFD0 entry of
/// type SHORT, TIFF 6.0 section 2).
pub fn orientation_exif(orientation: u16) -> Vec<u8> {
    let mut p = b"Exif\0\0MM\0*".to_vec();
    p.extend(8u32.to_be_bytes()); // IFD0 right after the header
    p.extend(1u16.to_be_bytes()); // one entry
    p.extend(0x0112u16.to_be_bytes()); // Orientation
    p.extend(3u16.to_be_bytes()); // SHORT
    p.extend(1u32.to_be_bytes()); // one value
    p.extend(orientation.to_be_bytes());
    p.extend([0, 0]); // value field padding
    p.extend(0u32.to_be_bytes()); // no next IFD
    p
}

/// True for an APP2 ICC profile chunk (ICC.1, B.4).
pub fn is_icc(code: u8, payload: &[u8]) -> bool {
    code == APP0 + 2 && payload.starts_with(b"ICC_PROFILE\0")
}

/// A TIFF structure (EXIF's container) with bounds-checked reads and writes.
struct Tiff<'a> {
    data: &'a mut [u8],
    big_endian: bool,
}

impl Tiff<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        let b = [b[0], b[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Calls `visit(tiff, tag, entry_offset)` for each 12-byte entry of the IFD at `at`.
    fn walk(&mut self, at: usize, mut visit: impl FnMut(&mut Self, u16, usize)) {
        let Some(count) = self.u16(at) else {
            return;
        };
        for i in 0..usize::from(count) {
            let entry = at + 2 + 12 * i;
            if entry + 12 > self.data.len() {
                return;
            }
            if let Some(tag) = self.u16(entry) {
                visit(self, tag, entry);
            }
        }
    }

    /// Sets a one-value SHORT or LONG entry's inline value.
    fn set_value(&mut self, entry: usize, value: u32) -> bool {
        let (Some(kind), Some(count)) = (self.u16(entry + 2), self.u32(entry + 4)) else {
            return false;
        };
        if count != 1 {
            return false;
        }
        let field = &mut self.data[entry + 8..entry + 12];
        match kind {
            3 => {
                let Ok(v) = u16::try_from(value) else {
                    return false;
                };
                let b = if self.big_endian {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                field[..2].copy_from_slice(&b);
                true
            }
            4 => {
                let b = if self.big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                field.copy_from_slice(&b);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal little-endian EXIF block: IFD0 with an Exif IFD pointer, Exif IFD with
    /// PixelXDimension (SHORT) and PixelYDimension (LONG).
    fn exif_le(x: u16, y: u32) -> Vec<u8> {
        let mut t = b"Exif\0\0II*\0".to_vec();
        t.extend(8u32.to_le_bytes()); // IFD0 at 8
        t.extend(1u16.to_le_bytes());
        t.extend(0x8769u16.to_le_bytes());
        t.extend(4u16.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(26u32.to_le_bytes()); // Exif IFD at 8 + 2 + 12 + 4
        t.extend(0u32.to_le_bytes());
        t.extend(2u16.to_le_bytes());
        t.extend(0xA002u16.to_le_bytes());
        t.extend(3u16.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(u32::from(x).to_le_bytes());
        t.extend(0xA003u16.to_le_bytes());
        t.extend(4u16.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(y.to_le_bytes());
        t.extend(0u32.to_le_bytes());
        t
    }

    #[test]
    fn updates_exif_pixel_dimensions() {
        let mut exif = exif_le(4000, 3000);
        assert_eq!(set_exif_dimensions(&mut exif, 500, 375), 2);
        assert_eq!(exif, exif_le(500, 375));
    }

    #[test]
    fn leaves_damaged_exif_alone() {
        let mut exif = exif_le(4000, 3000);
        exif.truncate(30);
        let before = exif.clone();
        assert_eq!(set_exif_dimensions(&mut exif, 1, 1), 0);
        assert_eq!(exif, before);
        let mut junk = b"Exif\0\0MM\0*\xff\xff\xff\xff".to_vec();
        assert_eq!(set_exif_dimensions(&mut junk, 1, 1), 0);
    }

    #[test]
    fn collects_app_and_com_segments_in_order() {
        let file = b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xFE\x00\x03c\xFF\xDB\x00\x03x\xFF\xDA\x00\x02";
        let segs = collect_segments(file);
        assert_eq!(segs, vec![(0xE0, b"ab".to_vec()), (0xFE, b"c".to_vec())]);
        assert!(!keep_when_reencoding(0xE0, b"JFIF\0"));
        assert!(keep_when_reencoding(0xE1, b"Exif\0\0"));
        assert!(!keep_when_reencoding(0xE2, b"MPF\0"));
        assert!(keep_when_reencoding(0xE2, b"ICC_PROFILE\0"));
        assert!(keep_when_reencoding(COM, b"hello"));
    }
    #[test]
    fn removes_segments_in_place_except_after_stray_bytes() {
        let mut file = b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xFE\x00\x03c\xFF\xE1\x00\x02".to_vec();
        file.extend(b"\xFF\xDB\x00\x03xjunk\xFF\xFE\x00\x03d\xFF\xFF\xFE\x00\x03e\xFF\xDA\x00\x02");
        let removed = remove_segments(&mut file, |code| code == APP0);
        // The COM after SOI's APP0 and the empty APP1 go; the COM after "junk" stays, the one
        // after a fill byte goes (fill bytes are not reported).
        let expected =
            b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xDB\x00\x03xjunk\xFF\xFE\x00\x03d\xFF\xFF\xDA\x00\x02";
        assert_eq!(file, expected.to_vec());
        assert_eq!(removed, 5 + 4 + 5);
    }

    #[test]
    fn rewrites_xmp_dimensions_in_attributes_and_elements() {
        let mut xmp = XMP_ID.to_vec();
        xmp.extend(b"<rdf:Description tiff:ImageWidth=\"600\" tiff:ImageLength = '900'>");
        xmp.extend(b"<exif:PixelXDimension>600</exif:PixelXDimension>");
        xmp.extend(b"<exif:PixelYDimension>900</exif:PixelYDimension></rdf:Description>");
        assert_eq!(set_xmp_dimensions(&mut xmp, 300, 450), 4);
        let text = String::from_utf8_lossy(&xmp[XMP_ID.len()..]).into_owned();
        assert_eq!(
            text,
            "<rdf:Description tiff:ImageWidth=\"300\" tiff:ImageLength = '450'>\
             <exif:PixelXDimension>300</exif:PixelXDimension>\
             <exif:PixelYDimension>450</exif:PixelYDimension></rdf:Description>"
        );
        let mut other = b"Exif\0\0tiff:ImageWidth=\"600\"".to_vec();
        assert_eq!(set_xmp_dimensions(&mut other, 1, 1), 0);
    }

    #[test]
    fn orientation_only_exif_reads_back() {
        assert_eq!(exif_orientation(&orientation_exif(6)), Some(6));
        assert_eq!(exif_orientation(&exif_le(10, 10)), None);
    }
}
