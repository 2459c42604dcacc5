//! The `Limits` flags, shared by every command that decodes: each raises or lowers one bound
//! that is checked before jpgtool allocates or decodes anything in proportion to the header.

use jpgtool::Limits;

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Limits (checked before decoding; raise them for huge files)")]
pub struct LimitArgs {
    /// Largest input width accepted, in pixels.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_width)]
    max_width: u32,

    /// Largest input height accepted, in pixels.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_height)]
    max_height: u32,

    /// Largest input accepted, in pixels (decompression-bomb guard).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,

    /// Memory budget per file for buffers that grow with the image (decoded planes,
    /// libjpeg's coefficient buffer for progressive input, --smallest): e.g. 512M, 4G.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, default_value = "1G")]
    max_memory: u64,

    /// Most scans accepted in one file (progressive files have about 10; each scan is a pass
    /// over the image, so thousands of them are a denial of service).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_scans)]
    max_scans: u32,

    #[command(flatten)]
    metadata: MetadataArg,
}

/// `--max-metadata`, also taken alone by `quality` (which decodes nothing but reads headers).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Limits (checked before decoding; raise them for huge files)")]
pub struct MetadataArg {
    /// Most bytes of metadata (APPn and COM segments: EXIF, XMP, ICC, comments) accepted in a
    /// file, held in memory to be carried into the output; a file with more is refused.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, default_value = "64M")]
    max_metadata: u64,
}

impl MetadataArg {
    /// The default limits with this metadata bound.
    pub fn limits(&self) -> Limits {
        Limits {
            max_metadata: self.max_metadata,
            ..Limits::default()
        }
    }
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_width: self.max_width,
            max_height: self.max_height,
            max_pixels: self.max_pixels,
            max_alloc: self.max_memory,
            max_scans: self.max_scans,
            max_metadata: self.metadata.max_metadata,
        }
    }
}

/// A byte count with an optional K/M/G/T suffix (powers of 1024).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        Some('T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 512M or 2G"))?;
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("{text:?} is not a size"));
    }
    Ok((value * (1u64 << shift) as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_parse_with_suffixes() {
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert_eq!(parse_bytes("512m"), Ok(512 << 20));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("lots").is_err());
    }
}
