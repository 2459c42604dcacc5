//! Limits on what a file may make us allocate or do, checked before the allocation happens.

use crate::error::{Error, Result};

/// Bounds applied to untrusted input. Every stage that allocates in proportion to header fields
/// checks them first, so a 65535x65535 header in a 200-byte file is refused at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted image width in pixels. Default: 65535 (the JPEG maximum).
    pub max_width: u32,
    /// Largest accepted image height in pixels. Default: 65535 (the JPEG maximum).
    pub max_height: u32,
    /// Largest accepted width x height. Default: 1.5 gigapixels.
    pub max_pixels: u64,
    /// Largest single allocation a stage may make, in bytes. Default: 1 GiB.
    pub max_alloc: u64,
    /// Most scans accepted in one file (progressive files have about 10). Default: 1000.
    pub max_scans: u32,
    /// Most bytes of APPn and COM segments (EXIF, XMP, ICC, comments) accepted before the first
    /// scan (each segment counting [`METADATA_SEGMENT_COST`] bytes more), and again between
    /// scans. Re-encoding commands hold them in memory to replay them to
    /// libjpeg and to carry them into the output; a file with more is refused, not stripped.
    /// Default: 64 MiB.
    pub max_metadata: u64,
}

/// The fixed bound on everything before the first scan that is not metadata: SOI, the frame
/// and scan headers, DQT, DHT, DRI and other table segments, unknown segments and stray bytes
/// between segments. Real headers take under 2 KiB (4 DQT of 130 bytes, 8 DHT of at most 275);
/// the walker keeps only the last table per slot, so this bounds the bytes read (and recorded
/// for libjpeg) in a flood of table segments or of junk.
pub const MAX_HEADER_TABLE_BYTES: u64 = 1 << 20;

/// What each APPn or COM segment before the first scan costs against `max_metadata` on top of
/// its bytes: a re-encoding command holds every carried segment as its own buffer (a 32-byte
/// entry in a list plus an allocation of at least 32 bytes), so 60 MB of 5-byte comments held
/// 12 million of them, over 800 MB, while their bytes were under the limit.
pub const METADATA_SEGMENT_COST: u64 = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: 65535,
            max_height: 65535,
            max_pixels: 1_500_000_000,
            max_alloc: 1 << 30,
            max_scans: 1000,
            max_metadata: 64 << 20,
        }
    }
}

impl Limits {
    /// Checks image dimensions against the limits.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<()> {
        check("image width", width.into(), self.max_width.into())?;
        check("image height", height.into(), self.max_height.into())?;
        check(
            "pixel count",
            u64::from(width) * u64::from(height),
            self.max_pixels,
        )
    }

    /// Checks a planned allocation of `bytes` bytes.
    pub fn check_alloc(&self, bytes: u64) -> Result<()> {
        check("allocation (bytes)", bytes, self.max_alloc)
    }

    /// Checks the metadata bytes (APPn and COM segments) seen so far.
    pub fn check_metadata(&self, bytes: u64) -> Result<()> {
        check(
            "metadata (APPn and COM segments) in bytes",
            bytes,
            self.max_metadata,
        )
    }

    /// Checks the number of scans seen so far.
    pub fn check_scans(&self, scans: u32) -> Result<()> {
        check("scan count", scans.into(), self.max_scans.into())
    }
}

fn check(what: &'static str, value: u64, limit: u64) -> Result<()> {
    if value > limit {
        Err(Error::LimitExceeded { what, value, limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_decompression_bomb_dimensions() {
        let limits = Limits::default();
        assert!(matches!(
            limits.check_dimensions(65535, 65535),
            Err(Error::LimitExceeded {
                what: "pixel count",
                ..
            })
        ));
        assert!(limits.check_dimensions(40000, 30000).is_ok());
    }
}
