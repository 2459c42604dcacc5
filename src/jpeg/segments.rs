//! One pure parse function per marker segment (T.81 Annex B.2), each taking the segment payload
//! (the bytes after the two length bytes) and the payload's file offset for error messages.

use super::markers::FrameKind;
use super::zigzag;
use crate::error::{Error, Problem, Result};

/// A quantization table in natural (row-major) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantTable {
    /// Entries in natural order, 1..=65535.
    pub values: [u16; 64],
    /// True when the DQT stored 16-bit entries (Pq = 1).
    pub sixteen_bit: bool,
}

/// One frame component (T.81 B.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// Component identifier, as scans refer to it.
    pub id: u8,
    /// Horizontal sampling factor, 1..=4.
    pub h: u8,
    /// Vertical sampling factor, 1..=4.
    pub v: u8,
    /// Quantization table slot, 0..=3.
    pub table: u8,
}

/// The frame header (SOFn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Which SOFn marker announced the frame.
    pub kind: FrameKind,
    /// Sample precision in bits (8 or 12 for DCT frames, 2..=16 for lossless).
    pub precision: u8,
    /// Width in pixels (never zero in an accepted frame).
    pub width: u16,
    /// Zero when the height is given later by a DNL marker.
    pub height: u16,
    /// The components, in frame order.
    pub components: Vec<Component>,
}

impl Frame {
    /// The largest horizontal and vertical sampling factors (T.81 A.1.1 Hmax, Vmax); (1, 1)
    /// for a frame without components.
    pub fn max_sampling(&self) -> (u8, u8) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (h, v)
    }
}

/// A Huffman table as stored in DHT (T.81 B.2.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuffmanTable {
    /// 0 = DC (or lossless), 1 = AC.
    pub class: u8,
    /// Destination slot, 0..=3.
    pub slot: u8,
    /// Number of codes of each length 1..=16.
    pub counts: [u8; 16],
    /// The symbols, in order of increasing code length.
    pub values: Vec<u8>,
}

/// One component of a scan header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanComponent {
    /// Index into `Frame::components`.
    pub index: usize,
    /// DC Huffman (or conditioning) table slot.
    pub dc_table: u8,
    /// AC Huffman (or conditioning) table slot.
    pub ac_table: u8,
}

/// A scan header (SOS, T.81 B.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanHeader {
    /// The components coded in this scan, 1..=4.
    pub components: Vec<ScanComponent>,
    /// Spectral selection start (or predictor, for lossless).
    pub ss: u8,
    /// Spectral selection end.
    pub se: u8,
    /// Successive approximation: the bit position of the previous scan of this band (0 on the first).
    pub ah: u8,
    /// Successive approximation: the bit position this scan codes (point transform).
    pub al: u8,
}

fn bad(offset: u64, segment: &'static str, problem: Problem) -> Error {
    Error::Format {
        offset,
        segment,
        problem,
    }
}

fn bad_value(offset: u64, segment: &'static str, field: &'static str, value: u32) -> Error {
    bad(offset, segment, Problem::BadValue { field, value })
}

/// DQT (T.81 B.2.4.1): one or more tables, each `Pq|Tq` then 64 entries of 8 or 16 bits in
/// zig-zag order. Zero entries are refused: no encoder writes them and they divide by zero.
pub fn parse_dqt(payload: &[u8], offset: u64) -> Result<Vec<(u8, QuantTable)>> {
    const SEG: &str = "DQT";
    let mut tables = Vec::new();
    let mut rest = payload;
    while let Some((&pq_tq, body)) = rest.split_first() {
        let at = offset + (payload.len() - rest.len()) as u64;
        let (precision, slot) = (pq_tq >> 4, pq_tq & 15);
        if precision > 1 {
            return Err(bad_value(at, SEG, "table precision Pq", precision.into()));
        }
        if slot > 3 {
            return Err(bad_value(at, SEG, "table slot Tq", slot.into()));
        }
        let width = if precision == 1 { 2 } else { 1 };
        let Some(entries) = body.get(..64 * width) else {
            return Err(bad(at, SEG, Problem::BadLength(payload.len() as u16 + 2)));
        };
        let zigzag: [u16; 64] = std::array::from_fn(|k| {
            if precision == 1 {
                u16::from_be_bytes([entries[2 * k], entries[2 * k + 1]])
            } else {
                u16::from(entries[k])
            }
        });
        if zigzag.contains(&0) {
            return Err(bad(at, SEG, Problem::ZeroQuantizer { table: slot }));
        }
        tables.push((
            slot,
            QuantTable {
                values: zigzag::to_natural(&zigzag),
                sixteen_bit: precision == 1,
            },
        ));
        rest = &body[64 * width..];
    }
    if tables.is_empty() {
        return Err(bad(offset, SEG, Problem::BadLength(2)));
    }
    Ok(tables)
}

/// SOFn (T.81 B.2.2): precision, height, width, then `Nf` components of (id, H|V, Tq).
pub fn parse_sof(kind: FrameKind, payload: &[u8], offset: u64) -> Result<Frame> {
    let seg = super::markers::name(kind.marker);
    let len_err = || bad(offset, seg, Problem::BadLength(payload.len() as u16 + 2));
    let [precision, h0, h1, w0, w1, count, ..] = *payload else {
        return Err(len_err());
    };
    let count = usize::from(count);
    if payload.len() != 6 + 3 * count {
        return Err(len_err());
    }
    let lossless = kind.process() == super::markers::Process::Lossless;
    let precision_ok = if lossless {
        (2..=16).contains(&precision)
    } else {
        precision == 8 || precision == 12
    };
    if !precision_ok {
        return Err(bad_value(
            offset,
            seg,
            "sample precision P",
            precision.into(),
        ));
    }
    let (height, width) = (u16::from_be_bytes([h0, h1]), u16::from_be_bytes([w0, w1]));
    if width == 0 {
        return Err(bad_value(offset + 3, seg, "width X", 0));
    }
    // T.81 allows 255 components; libjpeg accepts at most 10 and nothing real uses more than 4.
    if count == 0 || count > 4 {
        return Err(bad_value(
            offset + 5,
            seg,
            "component count Nf",
            count as u32,
        ));
    }
    let mut components = Vec::with_capacity(count);
    for (i, c) in payload[6..].chunks_exact(3).enumerate() {
        let at = offset + 6 + 3 * i as u64;
        let (id, h, v, table) = (c[0], c[1] >> 4, c[1] & 15, c[2]);
        if !(1..=4).contains(&h) {
            return Err(bad_value(
                at + 1,
                seg,
                "horizontal sampling factor",
                h.into(),
            ));
        }
        if !(1..=4).contains(&v) {
            return Err(bad_value(at + 1, seg, "vertical sampling factor", v.into()));
        }
        if table > 3 {
            return Err(bad_value(
                at + 2,
                seg,
                "quantization table slot Tq",
                table.into(),
            ));
        }
        if components.iter().any(|other: &Component| other.id == id) {
            return Err(bad_value(at, seg, "duplicate component id", id.into()));
        }
        components.push(Component { id, h, v, table });
    }
    Ok(Frame {
        kind,
        precision,
        width,
        height,
        components,
    })
}

/// DHT (T.81 B.2.4.2): one or more tables of `Tc|Th`, 16 counts, then the values.
pub fn parse_dht(payload: &[u8], offset: u64) -> Result<Vec<HuffmanTable>> {
    const SEG: &str = "DHT";
    let mut tables = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let at = offset + (payload.len() - rest.len()) as u64;
        let Some((&tc_th, counts)) = rest.split_first() else {
            break;
        };
        let Some(counts) = counts.get(..16) else {
            return Err(bad(at, SEG, Problem::BadLength(payload.len() as u16 + 2)));
        };
        let (class, slot) = (tc_th >> 4, tc_th & 15);
        if class > 1 {
            return Err(bad_value(at, SEG, "table class Tc", class.into()));
        }
        if slot > 3 {
            return Err(bad_value(at, SEG, "table slot Th", slot.into()));
        }
        let counts: [u8; 16] = counts.try_into().expect("slice of 16");
        // The codes of each length must fit in the code space left by shorter ones (Annex C).
        let mut available: u32 = 1;
        let mut total = 0usize;
        for &n in &counts {
            available *= 2;
            if u32::from(n) > available {
                return Err(bad(at, SEG, Problem::BadHuffmanTable));
            }
            available -= u32::from(n);
            total += usize::from(n);
        }
        if total > 256 {
            return Err(bad(at, SEG, Problem::BadHuffmanTable));
        }
        let Some(values) = rest.get(17..17 + total) else {
            return Err(bad(at, SEG, Problem::BadLength(payload.len() as u16 + 2)));
        };
        tables.push(HuffmanTable {
            class,
            slot,
            counts,
            values: values.to_vec(),
        });
        rest = &rest[17 + total..];
    }
    if tables.is_empty() {
        return Err(bad(offset, SEG, Problem::BadLength(2)));
    }
    Ok(tables)
}

/// SOS (T.81 B.2.3): `Ns` components of (Cs, Td|Ta), then Ss, Se, Ah|Al.
pub fn parse_sos(payload: &[u8], offset: u64, frame: &Frame) -> Result<ScanHeader> {
    const SEG: &str = "SOS";
    let count = usize::from(*payload.first().unwrap_or(&0));
    if payload.len() != 4 + 2 * count {
        return Err(bad(
            offset,
            SEG,
            Problem::BadLength(payload.len() as u16 + 2),
        ));
    }
    if count == 0 || count > 4 {
        return Err(bad_value(offset, SEG, "component count Ns", count as u32));
    }
    let mut components: Vec<ScanComponent> = Vec::with_capacity(count);
    for (i, c) in payload[1..1 + 2 * count].chunks_exact(2).enumerate() {
        let at = offset + 1 + 2 * i as u64;
        let Some(index) = frame.components.iter().position(|fc| fc.id == c[0]) else {
            return Err(bad(at, SEG, Problem::UnknownComponent(c[0])));
        };
        if components.iter().any(|sc| sc.index == index) {
            return Err(bad_value(at, SEG, "repeated scan component", c[0].into()));
        }
        let (dc_table, ac_table) = (c[1] >> 4, c[1] & 15);
        if dc_table > 3 || ac_table > 3 {
            return Err(bad_value(at + 1, SEG, "entropy table slot", c[1].into()));
        }
        components.push(ScanComponent {
            index,
            dc_table,
            ac_table,
        });
    }
    let tail = &payload[1 + 2 * count..];
    Ok(ScanHeader {
        components,
        ss: tail[0],
        se: tail[1],
        ah: tail[2] >> 4,
        al: tail[2] & 15,
    })
}

/// DRI (T.81 B.2.4.4): the restart interval in MCUs.
pub fn parse_dri(payload: &[u8], offset: u64) -> Result<u16> {
    match *payload {
        [a, b] => Ok(u16::from_be_bytes([a, b])),
        _ => Err(bad(
            offset,
            "DRI",
            Problem::BadLength(payload.len() as u16 + 2),
        )),
    }
}

/// What an APPn segment identified itself as, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// JFIF APP0.
    Jfif,
    /// EXIF APP1.
    Exif,
    /// XMP packet in APP1.
    Xmp,
    /// ICC profile chunk in APP2.
    Icc,
    /// Multi-Picture Format index in APP2 (MPO, Ultra HDR).
    Mpf,
    /// Adobe APP14 with its colour transform flag (0 none, 1 YCbCr, 2 YCCK).
    Adobe {
        /// 0 none, 1 YCbCr, 2 YCCK.
        transform: u8,
    },
    /// Photoshop APP13 image resources (IRB), which may carry the Save As quality.
    Photoshop,
    /// Photoshop "Save for Web" APP12 segment with its quality setting.
    Ducky {
        /// The quality setting stored in the segment, when readable.
        quality: Option<u32>,
    },
    /// Any other application segment.
    Other,
}

/// Bytes of an APPn payload worth looking at to identify it.
pub const APP_PREFIX_LEN: usize = 32;

/// Identifies an APPn segment from the first bytes of its payload (at most `APP_PREFIX_LEN`).
pub fn identify_app(marker: u8, prefix: &[u8]) -> AppKind {
    let n = marker - super::markers::APP0;
    match n {
        0 if prefix.starts_with(b"JFIF\0") => AppKind::Jfif,
        1 if prefix.starts_with(b"Exif\0") => AppKind::Exif,
        1 if prefix.starts_with(b"http://ns.adobe.com/xap/1.0/") => AppKind::Xmp,
        2 if prefix.starts_with(b"ICC_PROFILE\0") => AppKind::Icc,
        2 if prefix.starts_with(b"MPF\0") => AppKind::Mpf,
        // "Ducky", then records of (tag u16, length u16, data); tag 1 holds the quality (u32).
        12 if prefix.starts_with(b"Ducky") => {
            let quality = match prefix.get(5..13) {
                Some([0, 1, 0, 4, a, b, c, d]) => Some(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => None,
            };
            AppKind::Ducky { quality }
        }
        13 if prefix.starts_with(b"Photoshop 3.0\0") => AppKind::Photoshop,
        14 if prefix.starts_with(b"Adobe") && prefix.len() >= 12 => AppKind::Adobe {
            transform: prefix[11],
        },
        _ => AppKind::Other,
    }
}

/// Finds Photoshop's own "Save As" quality (0..=12) in an APP13 payload: image resource 0x0406
/// starts with a signed 16-bit value that Photoshop stores as quality - 4.
pub fn photoshop_save_quality(payload: &[u8]) -> Option<i32> {
    let mut rest = payload.strip_prefix(b"Photoshop 3.0\0")?;
    while rest.len() >= 12 && rest.starts_with(b"8BIM") {
        let id = u16::from_be_bytes([rest[4], rest[5]]);
        // A Pascal string, padded so that length byte + text is even.
        let name_len = usize::from(rest[6]);
        let name_total = (1 + name_len + 1) & !1;
        let size_at = 6 + name_total;
        let size_bytes: [u8; 4] = rest.get(size_at..size_at + 4)?.try_into().ok()?;
        let size = u32::from_be_bytes(size_bytes) as usize;
        let data = rest.get(size_at + 4..)?.get(..size)?;
        if id == 0x0406 && data.len() >= 2 {
            let raw = i16::from_be_bytes([data[0], data[1]]);
            let quality = i32::from(raw) + 4;
            return (0..=12).contains(&quality).then_some(quality);
        }
        let padded = (size + 1) & !1;
        rest = rest.get(size_at + 4 + padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dqt_reads_8_and_16_bit_tables_into_natural_order() {
        let mut payload = vec![0x00];
        payload.extend((1..=64).map(|k| k as u8));
        payload.push(0x11);
        for k in 1..=64u16 {
            payload.extend((k * 300).to_be_bytes());
        }
        let tables = parse_dqt(&payload, 4).unwrap();
        assert_eq!(tables.len(), 2);
        let (slot0, t0) = tables[0];
        assert_eq!((slot0, t0.sixteen_bit), (0, false));
        // zig-zag position 2 is natural position 8 (row 1, column 0)
        assert_eq!(t0.values[0], 1);
        assert_eq!(t0.values[1], 2);
        assert_eq!(t0.values[8], 3);
        let (slot1, t1) = tables[1];
        assert_eq!((slot1, t1.sixteen_bit), (1, true));
        assert_eq!(t1.values[63], 64 * 300);
    }

    #[test]
    fn rejects_zero_quantizer_and_short_table() {
        let mut payload = vec![0x00];
        payload.extend([0u8; 64]);
        assert!(matches!(
            parse_dqt(&payload, 0),
            Err(Error::Format {
                problem: Problem::ZeroQuantizer { table: 0 },
                ..
            })
        ));
        assert!(parse_dqt(&[0x00, 1, 2, 3], 0).is_err());
        assert!(parse_dqt(&[0x24], 0).is_err());
    }

    #[test]
    fn rejects_oversubscribed_huffman_counts() {
        let mut payload = vec![0x00, 3];
        payload.extend([0u8; 15]);
        payload.extend([1, 2, 3]);
        assert!(parse_dht(&payload, 0).is_err());
        let mut ok = vec![0x10, 2];
        ok.extend([0u8; 15]);
        ok.extend([1, 2]);
        let t = parse_dht(&ok, 0).unwrap();
        assert_eq!((t[0].class, t[0].values.len()), (1, 2));
    }

    #[test]
    fn sof_checks_components() {
        let kind = FrameKind { marker: 0xC0 };
        let good = [8, 0, 16, 0, 32, 2, 1, 0x22, 0, 2, 0x11, 1];
        let frame = parse_sof(kind, &good, 0).unwrap();
        assert_eq!((frame.width, frame.height), (32, 16));
        assert_eq!(frame.components[0].h, 2);
        let dup = [8, 0, 16, 0, 32, 2, 1, 0x22, 0, 1, 0x11, 1];
        assert!(parse_sof(kind, &dup, 0).is_err());
        let zero_width = [8, 0, 16, 0, 0, 1, 1, 0x11, 0];
        assert!(parse_sof(kind, &zero_width, 0).is_err());
        let bad_factor = [8, 0, 16, 0, 8, 1, 1, 0x51, 0];
        assert!(parse_sof(kind, &bad_factor, 0).is_err());
    }

    #[test]
    fn reads_photoshop_quality_resource() {
        let mut p = b"Photoshop 3.0\0".to_vec();
        p.extend(b"8BIM\x04\x04\0\0\0\0\0\x02ab"); // IPTC resource, skipped
        p.extend(b"8BIM\x04\x06\0\0\0\0\0\x04\x00\x06\x00\x01"); // quality 6 + 4 = 10
        assert_eq!(photoshop_save_quality(&p), Some(10));
        assert_eq!(photoshop_save_quality(b"Photoshop 3.0\08BIM"), None);
    }
}
