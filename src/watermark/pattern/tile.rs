//! The payload tile: its keyed layout of pilot and data cells, the framed message it carries,
//! and the pattern `mark` adds to luma (the tile repeated, its amplitude following texture).

use super::{content, ecc};
use crate::watermark::key::{self, Key, Payload};
use rayon::prelude::*;

#[cfg(test)]
use crate::watermark::signal::gaussian_blur;
use crate::watermark::signal::lowpass::blur_row;
use crate::watermark::signal::{Plane, gaussian_kernel};

/// Samples per cell side as the detector sees the tile: it folds every level of its pyramid
/// into a tile of [`TILE`] x [`TILE`] samples, and the marked cell is this many samples wide
/// at the level whose decimation matches the cell size ([`cell_side`]).
pub(crate) const CELL: usize = 2;
pub(crate) const TILE_CELLS: usize = 64;
/// Tile side in detector samples (in pixels when the cell is [`CELL`] pixels).
pub(crate) const TILE: usize = CELL * TILE_CELLS;
/// The cell sides of the power-of-two rule ([`power_of_two_cell_side`]), in pixels. The
/// largest is also the largest `mark` uses: the pyramid's coarsest level decimates by 8, so a
/// 16-pixel cell is [`CELL`] samples there.
pub(crate) const CELL_SIDES: [usize; 4] = [2, 4, 8, 16];
/// Every cell side `mark` may use, in pixels ([`cell_side`] grows the power-of-two side to any
/// whole side between them).
pub(crate) fn whole_cell_sides() -> std::ops::RangeInclusive<usize> {
    CELL_SIDES[0]..=CELL_SIDES[CELL_SIDES.len() - 1]
}
/// The long side, in pixels, of the smallest upload the cell is sized for: photo sites
/// downscale to a 720-2048 pixel long side, and a cell needs about 2 pixels after the
/// downscale to be resolved through a re-encode at Q60-85 (docs/watermark.md, "Upload
/// pipelines").
pub(crate) const SMALLEST_UPLOAD: usize = 720;

/// Tiles the short side must hold at least: the lattice search needs several periods in the
/// autocorrelation window (a 512-pixel tile on a 1772 x 1181 photo, 2.3 tiles high, lost
/// every resize below 0.65).
pub(crate) const MIN_TILES: usize = 3;
/// Tiles the short side must hold for a cell grown past its power-of-two side: a crop to half
/// the sides still leaves 2. Growing at [`MIN_TILES`] took the attack suite's 1.5-2 MP covers
/// from 4-pixel cells (3.9-4.8 tiles) to 5 (3.1-3.8) and lost their crops and fitted
/// rotations (docs/watermark.md, "Cells of any whole side").
pub(crate) const MIN_TILES_GROWN: usize = 4;

/// The cell side, in pixels, `mark` uses for an image of `width` x `height`: the
/// [`power_of_two_cell_side`], grown to any whole side up to the smallest that is still 2
/// pixels wide once the long side is downscaled to [`SMALLEST_UPLOAD`] (`ceil(2 L / 720)`, at
/// most 16) while the short side holds [`MIN_TILES_GROWN`] tiles. The power-of-two rule's
/// 3-tile floor leaves most 4:3 camera photos a cell of 1.4-1.6 pixels at a 720-pixel side
/// (8 pixels on 4032 x 3024), where a Q60 re-encode leaves too little of it; grown to 10-11
/// they are about 2 pixels there.
pub(crate) fn cell_side(width: usize, height: usize) -> usize {
    let (long, short) = (width.max(height), width.min(height));
    let wanted = (2 * long)
        .div_ceil(SMALLEST_UPLOAD)
        .min(CELL_SIDES[CELL_SIDES.len() - 1]);
    let fits = short / (TILE_CELLS * MIN_TILES_GROWN);
    power_of_two_cell_side(width, height).max(wanted.min(fits))
}

/// The cell side of the power-of-two rule for an image of `width` x `height`: the smallest of
/// [`CELL_SIDES`] that is still 2 pixels wide once the long side is downscaled to
/// [`SMALLEST_UPLOAD`] (2 pixels up to a 720-pixel long side, 4 up to 1440, 8 up to 2880, 16
/// beyond), but no larger than lets the short side hold [`MIN_TILES`] tiles. The rule `mark`
/// followed before the cells grew between these sides; the detector still tries its lattice on
/// an unattacked image.
pub(crate) fn power_of_two_cell_side(width: usize, height: usize) -> usize {
    let (long, short) = (width.max(height), width.min(height));
    let wanted = CELL_SIDES
        .into_iter()
        .find(|&c| c * SMALLEST_UPLOAD >= 2 * long)
        .unwrap_or(CELL_SIDES[CELL_SIDES.len() - 1]);
    let fits = CELL_SIDES
        .into_iter()
        .rev()
        .find(|&c| c * TILE_CELLS * MIN_TILES <= short)
        .unwrap_or(CELL_SIDES[0]);
    wanted.min(fits)
}

pub(crate) const CELLS: usize = TILE_CELLS * TILE_CELLS;
/// Pilot cells: they find the phase and symmetry and rank the candidates; the rest carry
/// data. An eighth balances the two: with more pilots, marks rescaled by 0.5 still align
/// (pilot scores far above an unmarked image's) but run short of data to decode.
pub(crate) const PILOT_CELLS: usize = CELLS / 8;
/// Bytes of the keyed tag appended to a whole payload ([`Code::Full`]).
pub(crate) const TAG_BYTES: usize = 6;
/// Bytes of the keyed tag appended to a short payload ([`Code::Short`]): one more than a whole
/// payload's, so that its tag checks add 2^-56 each to the false-payload bound, not 2^-48.
pub(crate) const SHORT_TAG_BYTES: usize = 7;
/// Bytes a short payload carries: the first half of the 32.
pub(crate) const SHORT_PAYLOAD_BYTES: usize = 16;
pub(crate) const MESSAGE_BITS: usize = 8 * (32 + TAG_BYTES);
/// Coded bits: one per data cell, whatever the message.
pub(crate) const CODED_BITS: usize = ecc::coded_len(MESSAGE_BITS);
const _: () = assert!(CODED_BITS == CELLS - PILOT_CELLS);
/// The keyed roles of the tile's cells.
pub(crate) struct Layout {
    /// Pilot sign per cell, 0 for data cells.
    pub(crate) pilot: Vec<f32>,
    /// Coded bit carried per cell (data cells only).
    pub(crate) bit: Vec<u16>,
    /// Spreading sign per cell (data cells only).
    pub(crate) sign: Vec<f32>,
}

impl Layout {
    pub(crate) fn from_key(key: &Key) -> Layout {
        let mut rng = key.stream("payload tile", b"");
        let mut order: Vec<usize> = (0..CELLS).collect();
        for i in (1..CELLS).rev() {
            let j = (key::unit(&mut rng) * (i + 1) as f64) as usize;
            order.swap(i, j.min(i));
        }
        let pilot_signs = key::signs(&mut key.stream("payload pilots", b""), PILOT_CELLS);
        let data_signs = key::signs(&mut key.stream("payload spread", b""), CELLS);
        let mut layout = Layout {
            pilot: vec![0.0; CELLS],
            bit: vec![0; CELLS],
            sign: vec![0.0; CELLS],
        };
        for (rank, &cell) in order.iter().enumerate() {
            if rank < PILOT_CELLS {
                layout.pilot[cell] = pilot_signs[rank];
            } else {
                let k = rank - PILOT_CELLS;
                layout.bit[cell] = k as u16;
                layout.sign[cell] = data_signs[k];
            }
        }
        layout
    }

    /// The ±1 value of every cell for a coded message.
    pub(crate) fn cells(&self, coded: &[bool]) -> Vec<f32> {
        (0..CELLS)
            .map(|c| {
                if self.pilot[c] != 0.0 {
                    self.pilot[c]
                } else if coded[usize::from(self.bit[c])] {
                    self.sign[c]
                } else {
                    -self.sign[c]
                }
            })
            .collect()
    }
}

/// The two messages the tile can carry. A payload whose last 16 bytes are zero (text of up to
/// 16 bytes, a UUID or a shorter ID) is sent as its first 16 bytes and a 56-bit tag: 184
/// message bits through the same 3584 coded bits instead of 304, which the code decodes at
/// about three quarters of the amplitude per cell (simulated: half the messages at an
/// amplitude-to-noise ratio of 0.29 per cell, against 0.385 for 304 bits). That is the margin
/// a downscale to a 720-pixel side at Q60 leaves most photos (docs/watermark.md, "A short
/// payload reads where a whole one runs out of capacity"). Any other payload is sent whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// 32 payload bytes and a 48-bit tag.
    Full,
    /// 16 payload bytes and a 56-bit tag; the payload's last 16 bytes are zero.
    Short,
}

impl Code {
    /// Every message the detector tries, in the order it tries them: whole payloads first, as
    /// every mark before short payloads carried them.
    pub(crate) const ALL: [Code; 2] = [Code::Full, Code::Short];

    /// The message `mark` sends for `payload`.
    pub(crate) fn of(payload: &Payload) -> Code {
        if payload.0[SHORT_PAYLOAD_BYTES..].iter().all(|&b| b == 0) {
            Code::Short
        } else {
            Code::Full
        }
    }

    /// The messages a claimed `payload` may have been sent as: a short one also whole, as
    /// marks made before short payloads sent it.
    pub(crate) fn claimed(payload: &Payload) -> &'static [Code] {
        match Code::of(payload) {
            Code::Short => &[Code::Short, Code::Full],
            Code::Full => &[Code::Full],
        }
    }

    /// Payload bytes sent.
    pub(crate) fn payload_bytes(self) -> usize {
        match self {
            Code::Full => 32,
            Code::Short => SHORT_PAYLOAD_BYTES,
        }
    }

    /// Message bits: the payload bytes sent and the tag.
    pub(crate) fn message_bits(self) -> usize {
        8 * (self.payload_bytes() + self.tag_bytes())
    }

    fn tag_bytes(self) -> usize {
        match self {
            Code::Full => TAG_BYTES,
            Code::Short => SHORT_TAG_BYTES,
        }
    }
}

/// The keyed tag of `payload` sent as `code`: an HKDF-SHA256 (HMAC) output, so only the key
/// holder can make one that verifies; each code's tag has its own label.
pub(crate) fn tag(key: &Key, payload: &Payload, code: Code) -> Vec<u8> {
    let label = match code {
        Code::Full => "payload tag",
        Code::Short => "payload tag, short",
    };
    key.sub_key(label, &payload.0)[..code.tag_bytes()].to_vec()
}

/// The message `mark` sends for `payload` ([`Code::of`]).
#[cfg(test)]
pub(crate) fn message(key: &Key, payload: &Payload) -> Vec<bool> {
    message_as(key, payload, Code::of(payload))
}

/// The payload bytes `code` sends and their tag, as bits, most significant first.
pub(crate) fn message_as(key: &Key, payload: &Payload, code: Code) -> Vec<bool> {
    payload.0[..code.payload_bytes()]
        .iter()
        .chain(&tag(key, payload, code))
        .flat_map(|&byte| (0..8).rev().map(move |b| byte >> b & 1 == 1))
        .collect()
}

/// How strong the pattern is.
#[derive(Debug, Clone, Copy)]
pub struct PatternSettings {
    /// Amplitude in flat areas, grey levels.
    pub flat: f32,
    /// Extra amplitude per grey level of local texture (RMS of fine detail).
    pub slope: f32,
    /// Largest amplitude.
    pub max: f32,
    /// The three amplitudes above are for an image of this many pixels. The detector's SNR
    /// grows with the amplitude times the square root of the number of tiles, so an image of
    /// `n` pixels gets them times `sqrt(reference_pixels / n)`, within `size_factor`.
    pub reference_pixels: f32,
    /// Bounds of the size factor (lowest, highest). By default small images get up to 1.5
    /// times the amplitude, so that they survive a rescale by 0.5, and large ones keep it:
    /// with less, the lattice of a rotated, rescaled and re-encoded large image is lost.
    pub size_factor: (f32, f32),
    /// Lowest SSIM-Y of the output (both layers, luma as the written JPEG gives it back):
    /// `mark` scales the pattern down until it holds. 0.9905 leaves a margin over the required
    /// 0.99, which SSIM measured on luma computed from 8-bit RGB may miss by a little either
    /// way (RGB rounding noise differs between cover and output); a higher floor costs
    /// read-backs after a rescale by 0.5.
    pub min_ssim: f64,
    /// Most the pattern's texture part (all but [`flat`](Self::flat)) is multiplied by where
    /// the output holds `min_ssim` with room: the detector's SNR grows with the amplitude, and
    /// most photos hold the floor with room at the amplitudes above, while texture masks the
    /// change. Flat areas keep their amplitude whatever the gain. 1 keeps the pattern as made.
    pub max_texture_gain: f64,
}

impl PatternSettings {
    /// The amplitude multiplier for an image of `pixels` pixels.
    pub(crate) fn size_factor(&self, pixels: usize) -> f32 {
        let (lowest, highest) = self.size_factor;
        (self.reference_pixels / pixels.max(1) as f32)
            .sqrt()
            .clamp(lowest, highest.max(lowest))
    }
}

impl Default for PatternSettings {
    /// Little in flat areas, where SSIM and the eye are most sensitive, more in texture; the
    /// SSIM floor scales the whole pattern down where even this is too much. The figures
    /// behind these values are in `docs/watermark.md`.
    fn default() -> Self {
        PatternSettings {
            flat: 0.4,
            slope: 0.25,
            max: 3.0,
            reference_pixels: 1.5e6,
            size_factor: (1.0, 1.5),
            min_ssim: 0.9905,
            max_texture_gain: 2.5,
        }
    }
}

/// Local RMS of fine detail (luma minus its 1-pixel low-pass), averaged over a few pixels.
fn texture(luma: &Plane) -> Plane {
    detail_rms_rows(luma, 2.0, |_, _| {})
}

/// Luma minus its 1-pixel Gaussian low-pass (the definition [`detail_rms_rows`] follows).
#[cfg(test)]
pub(crate) fn fine_detail(luma: &Plane) -> Plane {
    let low = gaussian_blur(luma, 1.0);
    let mut detail = luma.clone();
    for (d, l) in detail.data.iter_mut().zip(&low.data) {
        *d -= l;
    }
    detail
}

/// The square root of the `sigma`-Gaussian mean of `detail` squared (the definition
/// [`detail_rms_rows`] follows).
#[cfg(test)]
pub(crate) fn local_rms(detail: &Plane, sigma: f32) -> Plane {
    let mut energy = detail.clone();
    energy.data.iter_mut().for_each(|v| *v *= *v);
    let mut rms = gaussian_blur(&energy, sigma);
    rms.data.iter_mut().for_each(|v| *v = v.sqrt());
    rms
}

/// Per row, [`local_rms`] of [`fine_detail`] at `sigma`, made band by band so that neither
/// the detail nor its energy is ever held as a full plane: `finish(detail_row, rms_row)` then
/// turns each row of the RMS into the output row in place, with the detail row beside it.
/// Each sample is the same to the bit as through the full planes: the same blurs
/// ([`blur_row`]) on the same rows, the same arithmetic.
pub(crate) fn detail_rms_rows(
    luma: &Plane,
    sigma: f32,
    finish: impl Fn(&[f32], &mut [f32]) + Sync,
) -> Plane {
    /// Output rows per band.
    const BAND: usize = 64;
    let (w, h) = (luma.width, luma.height);
    let mut out = Plane::new(w, h);
    if w == 0 || h == 0 {
        return out;
    }
    let (fine, wide) = (gaussian_kernel(1.0), gaussian_kernel(sigma));
    let reach = wide.len() / 2;
    let luma_row = |sy: usize| &luma.data[sy * w..(sy + 1) * w];
    out.data.par_chunks_mut(BAND * w).enumerate().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new()),
        |(detail, energy, scratch), (band, out)| {
            let y0 = band * BAND;
            let y1 = y0 + out.len() / w;
            let (r0, r1) = (y0.saturating_sub(reach), (y1 + reach).min(h));
            // Every sample is written below: no need to zero them first.
            detail.resize((r1 - r0) * w, 0.0);
            energy.resize((r1 - r0) * w, 0.0);
            for ((sy, d), e) in (r0..r1)
                .zip(detail.chunks_exact_mut(w))
                .zip(energy.chunks_exact_mut(w))
            {
                blur_row(luma_row, h, sy, &fine, scratch, d);
                for ((d, &l), e) in d.iter_mut().zip(luma_row(sy)).zip(e.iter_mut()) {
                    *d = l - *d;
                    *e = *d * *d;
                }
            }
            let energy: &[f32] = energy;
            let at = |sy: usize| &energy[(sy - r0) * w..(sy - r0 + 1) * w];
            for (y, row) in (y0..y1).zip(out.chunks_exact_mut(w)) {
                blur_row(at, h, y, &wide, scratch, row);
                row.iter_mut().for_each(|v| *v = v.sqrt());
                finish(&detail[(y - r0) * w..(y - r0 + 1) * w], row);
            }
        },
    );
    out
}

/// The payload pattern to add to `luma`: the tile of [`carrier_tile`] at the image's
/// [`cell_side`], repeated, times the local amplitude. With `content_share` above 0, each
/// cell also carries the content term of that share ([`content`](super::content)) at the
/// same energy.
pub(crate) fn pattern(
    luma: &Plane,
    key: &Key,
    payload: &Payload,
    s: &PatternSettings,
    content_share: f32,
) -> Pattern {
    pattern_sent_as(luma, key, payload, Code::of(payload), s, content_share)
}

/// [`pattern`] with `payload` sent as `code`: a mark made before short payloads sent every
/// payload whole.
pub(crate) fn pattern_sent_as(
    luma: &Plane,
    key: &Key,
    payload: &Payload,
    code: Code,
    s: &PatternSettings,
    content_share: f32,
) -> Pattern {
    let cell = cell_side(luma.width, luma.height);
    pattern_with_cell(luma, key, payload, code, s, content_share, cell)
}

/// [`pattern`] with `payload` sent as `code`, in cells of `cell` pixels.
fn pattern_with_cell(
    luma: &Plane,
    key: &Key,
    payload: &Payload,
    code: Code,
    s: &PatternSettings,
    content_share: f32,
    cell: usize,
) -> Pattern {
    let cells = Layout::from_key(key).cells(&ecc::encode(&message_as(key, payload, code)));
    let tile = carrier_tile(&cells, cell);
    let side = cell * TILE_CELLS;
    let mut change = texture(luma).data;
    let w = luma.width;
    let factor = s.size_factor(luma.len());
    let (flat, slope, max) = (s.flat * factor, s.slope * factor, s.max * factor);
    // The tile's and the content signs' values are whole cells: each row is walked a cell of
    // `cell` pixels at a time (the tile's columns cycle with it, `side` being whole cells),
    // the texture turned into the change in place.
    let (cols, signs, keys) = if content_share > 0.0 {
        let (cols, signs) = content::cover_signs(luma, cell);
        (cols, signs, content::content_keys(key))
    } else {
        (0, Vec::new(), Vec::new())
    };
    let norm = (1.0 + content_share * content_share).sqrt();
    let flat_cols = w.div_ceil(cell);
    let mut flat_part = vec![0f32; flat_cols * luma.height.div_ceil(cell)];
    for (py, row) in change.chunks_mut(w.max(1)).enumerate() {
        let tile_row = &tile[py % side * side..][..side];
        let cell_row = py % side / cell * TILE_CELLS;
        let signs_row = (!signs.is_empty()).then(|| &signs[py / cell * cols..]);
        for (j, (pixels, &sign)) in row
            .chunks_mut(cell)
            .zip(tile_row.iter().step_by(cell).cycle())
            .enumerate()
        {
            // Per pixel: (1 + share k g) / norm, k the tile cell's keyed sign (0 on pilot
            // cells), g the cover's content sign at the pixel's cell. A pilot cell (no key)
            // or a cell where the cover shows no sign keeps its amplitude; the others carry
            // the term at the same energy.
            let term = signs_row.map(|signs| {
                let (g, k) = (signs[j], keys[cell_row + j % TILE_CELLS]);
                if k * g == 0.0 {
                    1.0
                } else {
                    (1.0 + content_share * k * g) / norm
                }
            });
            let with_term = |amplitude: f32| match term {
                Some(term) => amplitude * term,
                None => amplitude,
            };
            if py % cell == 0 {
                flat_part[py / cell * flat_cols + j] = with_term(flat * sign);
            }
            for t in pixels {
                *t = with_term((flat + slope * *t).min(max) * sign);
            }
        }
    }
    Pattern {
        change,
        flat: FlatPart {
            cell,
            cols: flat_cols,
            values: flat_part,
            ceiling: (s.flat > 0.0).then(|| s.max / s.flat),
        },
    }
}

/// A pattern to add to luma, and the part of it every pixel gets whatever its texture.
pub(crate) struct Pattern {
    /// Per luma sample, grey levels.
    pub(crate) change: Vec<f32>,
    pub(crate) flat: FlatPart,
}

/// The part of a pattern a flat area gets ([`PatternSettings::flat`]), per cell: the tile's
/// sign and the content term times the flat amplitude. The rest of each pixel's change
/// follows its texture, where the eye and SSIM are least sensitive: `mark` can raise that
/// part alone and leave skies and gradients as they are.
pub(crate) struct FlatPart {
    cell: usize,
    cols: usize,
    values: Vec<f32>,
    /// [`PatternSettings::max`] over [`PatternSettings::flat`]: no pixel's change is more
    /// than this many times its flat part, raised or not (`None` without a flat part).
    ceiling: Option<f32>,
}

impl FlatPart {
    /// The most a pixel's change may be, over its flat part.
    pub(crate) fn ceiling(&self) -> Option<f32> {
        self.ceiling
    }

    /// Row `y` of the flat part, a sample per pixel of `out`.
    pub(crate) fn row(&self, y: usize, out: &mut [f32]) {
        let cells = &self.values[y / self.cell * self.cols..][..self.cols];
        for (pixels, &v) in out.chunks_mut(self.cell).zip(cells) {
            pixels.fill(v);
        }
    }
}

/// One period of the carrier, `cell * TILE_CELLS` pixels square, each cell a `cell`-pixel
/// box of its ±1 value. A box, not a smooth bump: on a photo re-encoded at its own quality a
/// cell's flat interior is mostly the DC of the JPEG blocks it covers, which the re-encode
/// rounds back, and the detector then lives on the cell's edges (a Gaussian of sigma
/// `cell / 4` took an unattacked 8-pixel mark's pilot score from 16.2 to 5.3 and lost it;
/// docs/watermark.md, "Carrier").
pub(crate) fn carrier_tile(cells: &[f32], cell: usize) -> Vec<f32> {
    let side = cell * TILE_CELLS;
    (0..side * side)
        .map(|i| cells[(i / side / cell) * TILE_CELLS + i % side / cell])
        .collect()
}

/// Bits, most significant first, as bytes.
pub(crate) fn bytes_of(bits: &[bool]) -> Vec<u8> {
    bits.chunks(8)
        .map(|byte| byte.iter().fold(0u8, |acc, &b| acc << 1 | u8::from(b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern, made a cell at a time in place, is its per-pixel definition: amplitude
    /// `min(flat + slope t, max)` of the texture `t`, times the tile's sign at the pixel, times
    /// the content term `(1 + share k g) / norm` where the cell's key `k` and the cover's sign
    /// `g` are both non-zero. Widths and heights that end mid-cell and mid-tile, cells of 2
    /// and 3 pixels, with and without the content term.
    #[test]
    fn pattern_is_its_per_pixel_definition() {
        let key = Key::from_secret(b"pattern definition").unwrap();
        let payload = Payload([0x3c; 32]);
        let settings = PatternSettings::default();
        let mut state = 11u32;
        for (w, h, cell) in [(401, 203, 3), (131, 260, 2), (7, 5, 3)] {
            let luma = Plane::from_fn(w, h, |x, y| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((x * 7 + y * 3) % 160) as f32 + (state >> 26) as f32
            });
            let cells = Layout::from_key(&key).cells(&ecc::encode(&message(&key, &payload)));
            let tile = carrier_tile(&cells, cell);
            let keys = carrier_tile(&content::content_keys(&key), cell);
            let (cols, signs) = content::cover_signs(&luma, cell);
            let texture = texture(&luma);
            let factor = settings.size_factor(luma.len());
            let (flat, slope, max) = (
                settings.flat * factor,
                settings.slope * factor,
                settings.max * factor,
            );
            let side = cell * TILE_CELLS;
            for share in [0.0f32, 0.6] {
                let norm = (1.0 + share * share).sqrt();
                let made =
                    pattern_with_cell(&luma, &key, &payload, Code::Full, &settings, share, cell);
                assert_eq!(made.change.len(), w * h);
                let mut flat_row = vec![0f32; w];
                for (i, &m) in made.change.iter().enumerate() {
                    let (px, py) = (i % w, i / w);
                    let (x, y) = (px % side, py % side);
                    let (k, g) = (keys[y * side + x], signs[py / cell * cols + px / cell]);
                    let defined = |amplitude: f32| {
                        let base = amplitude * tile[y * side + x];
                        if share == 0.0 || k * g == 0.0 {
                            base
                        } else {
                            base * ((1.0 + share * k * g) / norm)
                        }
                    };
                    let expected = defined((flat + slope * texture.data[i]).min(max));
                    assert_eq!(
                        m.to_bits(),
                        expected.to_bits(),
                        "{w}x{h} cell {cell} at {px},{py}"
                    );
                    // The flat part: the same with the flat amplitude alone; the change is
                    // never more than the ceiling times it.
                    if px == 0 {
                        made.flat.row(py, &mut flat_row);
                    }
                    assert_eq!(
                        flat_row[px].to_bits(),
                        defined(flat).to_bits(),
                        "flat part, {w}x{h} cell {cell} at {px},{py}"
                    );
                    let ceiling = made.flat.ceiling().unwrap();
                    assert!(m.abs() <= flat_row[px].abs() * ceiling * 1.000_001);
                }
            }
        }
    }

    /// The banded detail and RMS equal the full planes' to the bit, across band edges and at
    /// the image's borders (sizes around the 64-row band and under a kernel's reach).
    #[test]
    fn banded_detail_rms_equals_the_full_planes() {
        let mut state = 5u32;
        for (w, h) in [(37, 200), (130, 64), (3, 2), (1, 129), (70, 65)] {
            let luma = Plane::from_fn(w, h, |x, y| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((x * 3 + y * 5) % 200) as f32 + (state >> 24) as f32 / 8.0
            });
            for sigma in [1.5, 2.0] {
                let detail = fine_detail(&luma);
                let rms = local_rms(&detail, sigma);
                let whitened: Vec<f32> = detail
                    .data
                    .iter()
                    .zip(&rms.data)
                    .map(|(d, e)| d / (e + 0.5))
                    .collect();
                let banded_rms = detail_rms_rows(&luma, sigma, |_, _| {});
                let banded = detail_rms_rows(&luma, sigma, |detail, row| {
                    for (e, &d) in row.iter_mut().zip(detail) {
                        *e = d / (*e + 0.5);
                    }
                });
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&banded_rms.data), bits(&rms.data), "{w}x{h} {sigma}");
                assert_eq!(bits(&banded.data), bits(&whitened), "{w}x{h} {sigma}");
            }
        }
    }

    #[test]
    fn layout_gives_every_coded_bit_one_data_cell() {
        let layout = Layout::from_key(&Key::from_secret(b"k").unwrap());
        let mut uses = vec![0; CODED_BITS];
        let mut pilots = 0;
        for c in 0..CELLS {
            if layout.pilot[c] != 0.0 {
                pilots += 1;
            } else {
                uses[usize::from(layout.bit[c])] += 1;
            }
        }
        assert_eq!(pilots, PILOT_CELLS);
        assert_eq!(CODED_BITS, CELLS - PILOT_CELLS);
        assert!(uses.iter().all(|&u| u == 1), "{uses:?}");
    }

    /// sqrt(reference / pixels), within the bounds: exact values at a few sizes.
    #[test]
    fn size_factor_follows_the_square_root_of_area() {
        let s = PatternSettings::default();
        assert_eq!(s.size_factor(1_500_000), 1.0);
        assert!((s.size_factor(750_000) - 2f32.sqrt()).abs() < 1e-6);
        assert_eq!(s.size_factor(100_000), 1.5);
        assert_eq!(s.size_factor(12_000_000), 1.0);
        assert_eq!(s.size_factor(0), 1.5);
        let both_ways = PatternSettings {
            size_factor: (0.5, 2.0),
            ..s
        };
        assert!((both_ways.size_factor(6_000_000) - 0.5).abs() < 1e-6);
    }

    /// With the content term, each pixel's amplitude is the plain pattern's times
    /// `(1 + SHARE k g) / sqrt(1 + SHARE^2)`, except on pilot cells (no key) and where the
    /// cover shows no content sign, which keep the plain amplitude exactly.
    #[test]
    fn the_content_term_scales_only_keyed_cells_with_a_sign() {
        use super::super::content;
        let key = Key::from_secret(b"term").unwrap();
        let payload = Payload([3; 32]);
        // A step (signs on either side of it) beside a flat band (no sign).
        let luma = Plane::from_fn(900, 600, |x, _| match x {
            0..300 => 60.0,
            300..600 => 160.0,
            _ => 110.0,
        });
        let s = PatternSettings::default();
        let plain = pattern(&luma, &key, &payload, &s, 0.0).change;
        let with = pattern(&luma, &key, &payload, &s, content::SHARE).change;
        let cell = cell_side(luma.width, luma.height);
        let keys = carrier_tile(&content::content_keys(&key), cell);
        let (cols, signs) = content::cover_signs(&luma, cell);
        let side = cell * TILE_CELLS;
        let norm = (1.0 + content::SHARE * content::SHARE).sqrt();
        let mut counts = [0usize; 3];
        for (i, (&p, &w)) in plain.iter().zip(&with).enumerate() {
            let (px, py) = (i % luma.width, i / luma.width);
            let k = keys[(py % side) * side + px % side];
            let g = signs[py / cell * cols + px / cell];
            let expected = if k * g == 0.0 {
                p
            } else {
                p * (1.0 + content::SHARE * k * g) / norm
            };
            assert!(
                (w - expected).abs() <= 1e-5 * p.abs().max(1.0),
                "{i}: {w} {expected}"
            );
            counts[usize::from(k == 0.0) + usize::from(g == 0.0 && k != 0.0) * 2] += 1;
        }
        // Keyed cells with a sign, pilot cells and unsigned ones all occur.
        assert!(counts.iter().all(|&n| n > 1000), "{counts:?}");
    }

    /// The cell follows the long side (2 pixels after a downscale to 720) within what the
    /// short side can hold in tiles.
    #[test]
    fn power_of_two_cell_side_follows_the_image() {
        assert_eq!(power_of_two_cell_side(640, 480), 2);
        assert_eq!(power_of_two_cell_side(1024, 768), 4);
        assert_eq!(power_of_two_cell_side(1772, 1181), 4);
        assert_eq!(power_of_two_cell_side(2576, 1932), 8);
        assert_eq!(power_of_two_cell_side(4032, 3024), 8);
        assert_eq!(power_of_two_cell_side(5760, 3840), 16);
        assert_eq!(power_of_two_cell_side(3000, 200), 2);
        assert_eq!(power_of_two_cell_side(0, 0), 2);
    }

    /// Expected values worked by hand from the rule: `p` the power-of-two side, `wanted =
    /// ceil(2 L / 720)` (at most 16), `fits = floor(short / 256)`, the cell `max(p, min(wanted,
    /// fits))`.
    #[test]
    fn cell_side_grows_between_the_powers_of_two() {
        // 4032 x 3024: p = 8, wanted ceil(8064 / 720) = 12, fits floor(3024 / 256) = 11.
        assert_eq!(cell_side(4032, 3024), 11);
        assert_eq!(cell_side(3024, 4032), 11);
        // 3648 x 2736: p = 8, wanted ceil(7296 / 720) = 11, fits 10.
        assert_eq!(cell_side(3648, 2736), 10);
        // 2688 x 1520: p = 4, wanted ceil(5376 / 720) = 8, fits 5.
        assert_eq!(cell_side(2688, 1520), 5);
        // 3008 x 2000: p = 8, wanted 9, fits 7: never below p.
        assert_eq!(cell_side(3008, 2000), 8);
        // 1920 x 1080 and 1500 x 1000: p = 4, wanted 6 and 5, fits 4 and 3: p.
        assert_eq!(cell_side(1920, 1080), 4);
        assert_eq!(cell_side(1500, 1000), 4);
        // 8000 x 6000: p = 16, wanted ceil(16000 / 720) = 23 capped at 16.
        assert_eq!(cell_side(8000, 6000), 16);
        // Where p itself is 2 or the short side is tiny, p.
        assert_eq!(cell_side(640, 480), 2);
        assert_eq!(cell_side(3000, 200), 2);
        assert_eq!(cell_side(0, 0), 2);
        // Never below the power-of-two side, never above 16, on any size.
        for w in (0..9000).step_by(37) {
            for h in (0..9000).step_by(53) {
                let (c, p) = (cell_side(w, h), power_of_two_cell_side(w, h));
                assert!(p <= c && c <= 16, "{w} x {h}: {c} against {p}");
                if c > p {
                    assert!(
                        TILE_CELLS * c * MIN_TILES_GROWN <= w.min(h),
                        "{w} x {h}: {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn message_frames_payload_then_tag() {
        let key = Key::from_secret(b"k").unwrap();
        let payload = Payload([0xa5; 32]);
        let bits = message(&key, &payload);
        assert_eq!(bits.len(), MESSAGE_BITS);
        assert_eq!(bytes_of(&bits[..256]), vec![0xa5; 32]);
        assert_eq!(bytes_of(&bits[256..]), tag(&key, &payload, Code::Full));
        assert_eq!(tag(&key, &payload, Code::Full).len(), TAG_BYTES);
        // The tag depends on key and payload.
        assert_ne!(
            tag(&key, &payload, Code::Full),
            tag(&key, &Payload([0xa4; 32]), Code::Full)
        );
        assert_ne!(
            tag(&key, &payload, Code::Full),
            tag(&Key::from_secret(b"k2").unwrap(), &payload, Code::Full)
        );
    }

    /// A payload whose last 16 bytes are zero is sent as its first 16 and a 7-byte tag of its
    /// own label; one byte more anywhere in the second half sends it whole.
    #[test]
    fn short_payloads_send_their_first_half_and_a_longer_tag() {
        let key = Key::from_secret(b"k").unwrap();
        let short = Payload::from_text("photo 000123").unwrap();
        assert_eq!(Code::of(&short), Code::Short);
        let bits = message(&key, &short);
        assert_eq!(bits.len(), 8 * (16 + 7));
        assert_eq!(bits.len(), Code::Short.message_bits());
        assert_eq!(bytes_of(&bits[..128]), short.0[..16].to_vec());
        let tag_short = tag(&key, &short, Code::Short);
        assert_eq!(bytes_of(&bits[128..]), tag_short);
        // Not the whole payload's tag with a byte more: a label of its own.
        assert_ne!(tag_short[..TAG_BYTES], tag(&key, &short, Code::Full)[..]);
        let mut whole = short;
        whole.0[31] = 1;
        assert_eq!(Code::of(&whole), Code::Full);
        assert_eq!(message(&key, &whole).len(), MESSAGE_BITS);
        assert_eq!(Code::claimed(&short), [Code::Short, Code::Full]);
        assert_eq!(Code::claimed(&whole), [Code::Full]);
    }
}
