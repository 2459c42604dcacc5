//! Block counts of a frame (T.81 A.2) and the zeroed DC planes they call for.

use crate::error::{Error, Result};
use crate::jpeg::Frame;
use crate::limits::Limits;

/// Block counts of the frame (T.81 A.2).
pub(crate) struct Geometry {
    /// MCUs per row and MCU rows of an interleaved scan (A.2.4).
    pub(crate) mcus_x: usize,
    pub(crate) mcus_y: usize,
    /// Per component: the padded plane, whole MCUs (A.2.4).
    pub(crate) plane_w: Vec<usize>,
    pub(crate) plane_h: Vec<usize>,
    /// Per component: the blocks a non-interleaved scan covers, ceil(ceil(X*H/Hmax)/8) by
    /// ceil(ceil(Y*V/Vmax)/8) (A.1.1, A.2.2): no padding to whole MCUs.
    pub(crate) comp_w: Vec<usize>,
    pub(crate) comp_h: Vec<usize>,
}

fn too_big(value: u64) -> Error {
    Error::LimitExceeded {
        what: "DC plane size (blocks)",
        value,
        limit: usize::MAX as u64,
    }
}

fn to_usize(value: u64) -> Result<usize> {
    usize::try_from(value).map_err(|_| too_big(value))
}

impl Geometry {
    pub(crate) fn new(frame: &Frame) -> Result<Self> {
        let hmax = frame.components.iter().map(|c| u64::from(c.h)).max();
        let vmax = frame.components.iter().map(|c| u64::from(c.v)).max();
        let (Some(hmax), Some(vmax)) = (hmax, vmax) else {
            return Err(Error::Unsupported("a frame without components".into()));
        };
        if hmax == 0 || vmax == 0 {
            return Err(Error::Unsupported("a sampling factor of zero".into()));
        }
        let (width, height) = (u64::from(frame.width), u64::from(frame.height));
        let mcus_x = width.div_ceil(8 * hmax);
        let mcus_y = height.div_ceil(8 * vmax);
        let mut geometry = Geometry {
            mcus_x: to_usize(mcus_x)?,
            mcus_y: to_usize(mcus_y)?,
            plane_w: Vec::new(),
            plane_h: Vec::new(),
            comp_w: Vec::new(),
            comp_h: Vec::new(),
        };
        for c in &frame.components {
            let (h, v) = (u64::from(c.h), u64::from(c.v));
            geometry.plane_w.push(to_usize(mcus_x * h)?);
            geometry.plane_h.push(to_usize(mcus_y * v)?);
            geometry
                .comp_w
                .push(to_usize((width * h).div_ceil(8 * hmax))?);
            geometry
                .comp_h
                .push(to_usize((height * v).div_ceil(8 * vmax))?);
        }
        Ok(geometry)
    }

    /// Allocates the zeroed planes after checking their total size against the limits.
    pub(crate) fn allocate(&self, limits: &Limits) -> Result<Vec<Vec<i16>>> {
        let mut total: u64 = 0;
        for (&w, &h) in self.plane_w.iter().zip(&self.plane_h) {
            let blocks = (w as u64).checked_mul(h as u64).ok_or(too_big(u64::MAX))?;
            total = total.checked_add(blocks).ok_or(too_big(u64::MAX))?;
        }
        let bytes = total.checked_mul(2).ok_or(too_big(u64::MAX))?;
        limits.check_alloc(bytes)?;
        let refused = || Error::LimitExceeded {
            what: "allocation (bytes)",
            value: bytes,
            limit: limits.max_alloc,
        };
        let mut planes = Vec::new();
        planes
            .try_reserve_exact(self.plane_w.len())
            .map_err(|_| refused())?;
        for (&w, &h) in self.plane_w.iter().zip(&self.plane_h) {
            let len = w.checked_mul(h).ok_or_else(refused)?;
            let mut dc: Vec<i16> = Vec::new();
            dc.try_reserve_exact(len).map_err(|_| refused())?;
            dc.resize(len, 0);
            planes.push(dc);
        }
        Ok(planes)
    }
}
