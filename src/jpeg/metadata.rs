//! Metadata segments to carry over when a file is re-encoded: which APPn/COM segments to keep,
//! and the EXIF pixel-dimension tags to bring up to date.

use super::markers::{APP0, COM, SOS};

/// APPn and COM segments before the first scan, in file order, as (marker code, payload).
/// `header` holds the file from SOI at least to its first SOS; a damaged tail ends the walk.
pub fn collect_segments(header: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut found = Vec::new();
    let mut at = 2; // after SOI
    while at + 1 < header.len() {
        if header[at] != 0xFF {
            at += 1;
            continue;
        }
        let code = header[at + 1];
        if code == 0xFF {
            at += 1;
            continue;
        }
        if code == SOS || code == 0xD9 {
            break;
        }
        if code == 0x00 || code == 0x01 || (0xD0..=0xD7).contains(&code) {
            at += 2;
            continue;
        }
        let Some(len) = header.get(at + 2..at + 4) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            break;
        }
        let Some(payload) = header.get(at + 4..at + 2 + len) else {
            break;
        };
        if (APP0..=0xEF).contains(&code) || code == COM {
            found.push((code, payload.to_vec()));
        }
        at += 2 + len;
    }
    found
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
}
