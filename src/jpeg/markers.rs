//! Marker codes (T.81 Table B.1) and the frame types that SOFn markers announce.

/// Start of image.
pub const SOI: u8 = 0xD8;
/// End of image.
pub const EOI: u8 = 0xD9;
/// Start of scan.
pub const SOS: u8 = 0xDA;
/// Define quantization tables.
pub const DQT: u8 = 0xDB;
/// Define number of lines (a height given after the first scan).
pub const DNL: u8 = 0xDC;
/// Define restart interval.
pub const DRI: u8 = 0xDD;
/// Define hierarchical progression.
pub const DHP: u8 = 0xDE;
/// Expand reference components (hierarchical).
pub const EXP: u8 = 0xDF;
/// Define Huffman tables.
pub const DHT: u8 = 0xC4;
/// Reserved for JPEG extensions (not a frame, although it sits among the SOFn codes).
pub const JPG: u8 = 0xC8;
/// Define arithmetic coding conditioning.
pub const DAC: u8 = 0xCC;
/// First application segment (APP0, JFIF).
pub const APP0: u8 = 0xE0;
/// Last application segment.
pub const APP15: u8 = 0xEF;
/// Comment.
pub const COM: u8 = 0xFE;
/// For temporary private use in arithmetic coding; stands alone (no length).
pub const TEM: u8 = 0x01;
/// RST0; RSTn is RST0 + n.
pub const RST0: u8 = 0xD0;
/// JPEG-LS start of frame (ITU-T T.87), a different codec that shares JPEG's marker syntax.
pub const SOF55: u8 = 0xF7;
/// JPEG-LS parameters segment (T.87).
pub const LSE: u8 = 0xF8;

/// True for RST0..RST7, which carry no length and may appear inside entropy-coded data.
pub fn is_rst(code: u8) -> bool {
    (0xD0..=0xD7).contains(&code)
}

/// True for markers that stand alone, without a length field (T.81 B.1.1.3).
pub fn is_standalone(code: u8) -> bool {
    matches!(code, SOI | EOI | TEM) || is_rst(code)
}

/// True for SOF0..SOF15; 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range but are not frames.
pub fn is_sof(code: u8) -> bool {
    (0xC0..=0xCF).contains(&code) && !matches!(code, DHT | JPG | DAC)
}

/// A short human name for a marker, used in error messages.
pub fn name(code: u8) -> &'static str {
    const APP: [&str; 16] = [
        "APP0", "APP1", "APP2", "APP3", "APP4", "APP5", "APP6", "APP7", "APP8", "APP9", "APP10",
        "APP11", "APP12", "APP13", "APP14", "APP15",
    ];
    const SOF: [&str; 16] = [
        "SOF0", "SOF1", "SOF2", "SOF3", "DHT", "SOF5", "SOF6", "SOF7", "JPG", "SOF9", "SOF10",
        "SOF11", "DAC", "SOF13", "SOF14", "SOF15",
    ];
    const RST: [&str; 8] = [
        "RST0", "RST1", "RST2", "RST3", "RST4", "RST5", "RST6", "RST7",
    ];
    match code {
        0xC0..=0xCF => SOF[usize::from(code - 0xC0)],
        0xD0..=0xD7 => RST[usize::from(code - 0xD0)],
        SOI => "SOI",
        EOI => "EOI",
        SOS => "SOS",
        DQT => "DQT",
        DNL => "DNL",
        DRI => "DRI",
        DHP => "DHP",
        EXP => "EXP",
        APP0..=APP15 => APP[usize::from(code - APP0)],
        COM => "COM",
        TEM => "TEM",
        SOF55 => "SOF55 (JPEG-LS)",
        LSE => "LSE (JPEG-LS)",
        _ => "reserved marker",
    }
}

/// The coding process a SOFn marker announces (T.81 Table B.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameKind {
    /// The marker code, 0xC0..=0xCF.
    pub marker: u8,
}

/// How the DCT coefficients (or samples, for lossless) are ordered into scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// Baseline sequential DCT (SOF0): 8-bit, Huffman, at most two tables of each class.
    Baseline,
    /// Extended sequential DCT (SOF1, SOF9): 8- or 12-bit, four tables.
    ExtendedSequential,
    /// Progressive DCT (SOF2, SOF10): coefficients in spectral bands and bit planes.
    Progressive,
    /// Lossless (SOF3, SOF11): predictive, no DCT.
    Lossless,
}

impl FrameKind {
    /// The SOF number n of SOFn.
    pub fn number(self) -> u8 {
        self.marker - 0xC0
    }

    /// The coding process this frame type announces.
    pub fn process(self) -> Process {
        match self.number() & 3 {
            0 if self.number() == 0 => Process::Baseline,
            0 | 1 => Process::ExtendedSequential,
            2 => Process::Progressive,
            _ => Process::Lossless,
        }
    }

    /// SOF9..SOF15 use arithmetic coding instead of Huffman coding.
    pub fn is_arithmetic(self) -> bool {
        self.number() >= 8
    }

    /// SOF5..7 and SOF13..15 are differential frames of a hierarchical image.
    pub fn is_hierarchical(self) -> bool {
        matches!(self.number(), 5..=7 | 13..=15)
    }

    /// A stable lower-case name for output, e.g. "progressive-arithmetic".
    pub fn name(self) -> &'static str {
        match self.number() {
            0 => "baseline",
            1 => "extended",
            2 => "progressive",
            3 => "lossless",
            5 => "hierarchical-sequential",
            6 => "hierarchical-progressive",
            7 => "hierarchical-lossless",
            9 => "extended-arithmetic",
            10 => "progressive-arithmetic",
            11 => "lossless-arithmetic",
            13 => "hierarchical-sequential-arithmetic",
            14 => "hierarchical-progressive-arithmetic",
            _ => "hierarchical-lossless-arithmetic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_sof() {
        let kinds: Vec<_> = (0xC0..=0xCF)
            .filter(|&m| is_sof(m))
            .map(|marker| FrameKind { marker })
            .collect();
        assert_eq!(kinds.len(), 13);
        let k = |m| FrameKind { marker: m };
        assert_eq!(k(0xC0).process(), Process::Baseline);
        assert_eq!(k(0xC1).process(), Process::ExtendedSequential);
        assert_eq!(k(0xC2).process(), Process::Progressive);
        assert_eq!(k(0xC3).process(), Process::Lossless);
        assert_eq!(k(0xC9).process(), Process::ExtendedSequential);
        assert_eq!(k(0xCA).process(), Process::Progressive);
        assert_eq!(k(0xCB).process(), Process::Lossless);
        assert_eq!(k(0xCD).process(), Process::ExtendedSequential);
        assert!(k(0xC9).is_arithmetic() && !k(0xC1).is_arithmetic());
        assert!(k(0xC5).is_hierarchical() && k(0xCF).is_hierarchical());
        assert!(!k(0xC2).is_hierarchical());
        assert_eq!(name(0xC4), "DHT");
        assert_eq!(name(0xE1), "APP1");
    }
}
