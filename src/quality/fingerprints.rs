//! Fixed quantization tables of encoders that have no quality formula, taken from real files
//! whose own metadata names the setting (see each entry's source).

/// A known table set and the encoder setting that writes it.
pub struct Fingerprint {
    /// The encoder's own name for the setting, e.g. "Photoshop Save As 10".
    pub name: &'static str,
    /// Luma table, natural order.
    pub luma: [u16; 64],
    /// Chroma table, natural order; `None` when the set has one table.
    pub chroma: Option<[u16; 64]>,
}

pub static FINGERPRINTS: &[Fingerprint] = &[];
