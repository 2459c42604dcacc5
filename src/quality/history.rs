//! The primary (earlier) quality of a re-saved JPEG, from the histograms of its quantized
//! low-frequency luma coefficients: double-compression analysis in the manner of Lukáš and
//! Fridrich, "Estimation of primary quantization matrix in double compressed JPEG images"
//! (2003).
//!
//! A coefficient quantized with step `s1`, decoded to pixels and quantized again with a finer
//! step `s2` lands on `round((m·s1 + e) / s2)`, where `e` is the small error of rounding pixels
//! and of the integer DCTs. Some multiples of `s2` are then far from every multiple of `s1`, and
//! their histogram bins stay (almost) empty. For each candidate first-save table (IJG at every
//! quality) this module counts what the "forbidden" bins of that table hold (`observed`) against
//! what a smooth single-save histogram would put there (`expected`, interpolated log-linearly
//! between the nearest reachable bins on either side).
//! A single-saved file fills them like any other bin (ratio near 1 or above); a re-saved file
//! leaves them empty (ratio near 0). The threshold on the ratio is calibrated on single-saved
//! files (see `docs/quality.md`).
//!
//! What it cannot see, and then says nothing about: a first save finer than the second (every
//! bin is reachable), a first save whose steps equal the second's, and anything that moved the
//! 8x8 grid or the pixel values in between (crops not on a multiple of 8, resampling, filters).

use super::QualityRange;
use super::effective::{self, Effective, Magnitudes};
use super::invert::{scale_for_quality, scale_table};
use super::tables::MOZJPEG;

/// The luma modes analysed, in natural (row-major) order: zig-zag positions 1..=20, the
/// low frequencies that hold non-zero values in most blocks.
pub const MODES: [usize; 20] = [
    1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40,
];

/// Quantized values kept per mode: -`RANGE`..=`RANGE`; larger ones are counted as outside.
pub const RANGE: i32 = 128;

const BINS: usize = 2 * RANGE as usize + 1;

/// How far (in coefficient units) the error of a decode and re-encode may move a coefficient:
/// pixel rounding and clipping, colour conversion, the integer DCTs.
const TOLERANCE: f64 = 0.75;

/// The ratio of observed to expected counts in forbidden bins at or below which a candidate
/// explains the histograms. Set from the single-save score distribution (`docs/quality.md`).
pub const MAX_RATIO: f64 = 0.3;

/// Below this ratio the answer is `high` confidence; between it and [`MAX_RATIO`], `medium`.
pub const HIGH_RATIO: f64 = 0.15;

/// The least expected count in forbidden bins for a candidate to count: fewer means too few
/// coefficients were seen for an empty bin to say anything.
pub const MIN_EVIDENCE: f64 = 500.0;

/// Histograms of the quantized values of the [`MODES`] of one component. A fixed size (about
/// 20 KiB), whatever the image.
#[derive(Clone)]
pub struct Histograms {
    counts: Vec<[u32; BINS]>,
    /// Blocks added.
    pub blocks: u64,
    /// Non-zero values added, over all modes.
    pub nonzero: u64,
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms {
            counts: vec![[0; BINS]; MODES.len()],
            blocks: 0,
            nonzero: 0,
        }
    }
}

impl Histograms {
    /// Adds one block of quantized coefficients in natural order.
    pub fn add(&mut self, block: &[i16; 64]) {
        self.add_modes(&std::array::from_fn(|m| block[MODES[m]]));
    }

    /// Adds one block given by the values of its [`MODES`], in that order. Every value is
    /// counted, zeros included, without a branch on the value.
    pub fn add_modes(&mut self, values: &[i16; MODES.len()]) {
        for (hist, &v) in self.counts.iter_mut().zip(values) {
            let v = i32::from(v);
            self.nonzero += u64::from(v != 0);
            if (-RANGE..=RANGE).contains(&v) {
                let bin = (v + RANGE) as usize;
                hist[bin] = hist[bin].saturating_add(1);
            }
        }
        self.blocks += 1;
    }

    /// The count of quantized value `v` in mode number `m` (an index into [`MODES`]).
    pub fn count(&self, m: usize, v: i32) -> u32 {
        if (-RANGE..=RANGE).contains(&v) {
            self.counts.get(m).map_or(0, |h| h[(v + RANGE) as usize])
        } else {
            0
        }
    }
}

/// The least count of the two reachable bins a forbidden bin is interpolated from: sparser
/// tails say nothing (and the interpolation of sparse counts is biased upwards).
const MIN_NEIGHBOURS: f64 = 8.0;

/// How confident the primary quality is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimaryConfidence {
    /// The forbidden bins are nearly empty (ratio at most [`HIGH_RATIO`]).
    High,
    /// They are clearly emptier than a single save leaves them, but less so.
    Medium,
}

impl PrimaryConfidence {
    /// The name reports use: `high` or `medium`.
    pub fn name(self) -> &'static str {
        match self {
            PrimaryConfidence::High => "high",
            PrimaryConfidence::Medium => "medium",
        }
    }
}

/// The fit of one candidate first-save table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Counts seen in the candidate's forbidden bins.
    pub observed: f64,
    /// Counts a smooth single-save histogram would put there.
    pub expected: f64,
}

impl Fit {
    /// observed / expected (infinite without evidence).
    pub fn ratio(&self) -> f64 {
        if self.expected > 0.0 {
            self.observed / self.expected
        } else {
            f64::INFINITY
        }
    }
}

/// The outcome of the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The primary IJG quality (a range where several qualities give the same steps on the
    /// analysed modes), or `None` when no earlier, coarser save is detected.
    pub primary: Option<QualityRange>,
    /// How sure the primary quality is; `None` with `primary`.
    pub confidence: Option<PrimaryConfidence>,
    /// The lowest ratio of any candidate with enough evidence (the detection score; lower means
    /// more clearly re-saved); `None` when no candidate had enough evidence.
    pub score: Option<f64>,
    /// The expected count in the forbidden bins of the candidate with the lowest ratio: how
    /// much evidence the score rests on.
    pub evidence: f64,
    /// Luma blocks analysed.
    pub blocks: u64,
    /// The IJG quality whose expected error on this sample matches the estimated error of the
    /// file's own quantisation ([`effective::estimate`]), when the sample allows one.
    pub effective: Option<Effective>,
}

/// The lowest first-save quality considered. Lower ones have steps of 80 and more on the
/// analysed modes, where a sample holds too few coefficients to tell; leaving them out halves
/// the time of the analysis.
pub const LOWEST_PRIMARY: u8 = 15;

/// The candidate first-save luma tables: IJG (Annex K) at qualities [`LOWEST_PRIMARY`]..=99,
/// baseline clamp.
fn candidates() -> impl Iterator<Item = (u8, [u16; 64])> {
    (LOWEST_PRIMARY..=99u8).map(|q| (q, scale_table(&MOZJPEG[0].luma, scale_for_quality(q), 255)))
}

/// The histograms folded to |v| = j (both signs together), with their logarithms and the last
/// non-zero bin of each mode: computed once, used for every candidate.
struct Folded {
    counts: Vec<[f64; RANGE as usize + 1]>,
    ln: Vec<[f64; RANGE as usize + 1]>,
    last: Vec<usize>,
    /// The last bin holding at least `MIN_NEIGHBOURS / 2` counts (0: none).
    dense: Vec<usize>,
}

impl Folded {
    fn new(hist: &Histograms) -> Self {
        let mut folded = Folded {
            counts: vec![[0.0; RANGE as usize + 1]; MODES.len()],
            ln: vec![[0.0; RANGE as usize + 1]; MODES.len()],
            last: vec![0; MODES.len()],
            dense: vec![0; MODES.len()],
        };
        for m in 0..MODES.len() {
            for j in 1..=RANGE as usize {
                let v = j as i32;
                let c = f64::from(hist.count(m, v)) + f64::from(hist.count(m, -v));
                folded.counts[m][j] = c;
                if c > 0.0 {
                    folded.ln[m][j] = c.ln();
                    folded.last[m] = j;
                }
                if c >= MIN_NEIGHBOURS / 2.0 {
                    folded.dense[m] = j;
                }
            }
        }
        folded
    }
}

/// Scores candidate first-save steps `first` (natural order) against the histograms taken under
/// the file's luma table `second`.
pub fn fit(hist: &Histograms, second: &[u16; 64], first: &[u16; 64]) -> Fit {
    fit_folded(&Folded::new(hist), second, first)
}

fn fit_folded(folded: &Folded, second: &[u16; 64], first: &[u16; 64]) -> Fit {
    let mut fit = Fit {
        observed: 0.0,
        expected: 0.0,
    };
    for (m, &mode) in MODES.iter().enumerate() {
        let f = fit_mode(folded, m, first[mode], second[mode]);
        fit.observed += f.observed;
        fit.expected += f.expected;
    }
    fit
}

/// The fit of one mode (an index into [`MODES`]) for first step `s1` and second step `s2`.
fn fit_mode(folded: &Folded, m: usize, s1: u16, s2: u16) -> Fit {
    let mut fit = Fit {
        observed: 0.0,
        expected: 0.0,
    };
    let (s1, s2) = (f64::from(s1), f64::from(s2));
    // Bins past the last non-zero one carry nothing, and a forbidden bin counts only between
    // reachable ones near two non-zero multiples of `s1`: a histogram that ends before the
    // second has none.
    let last = folded.last[m];
    if s1 <= s2 || last as f64 * s2 + s2 / 2.0 + TOLERANCE < 2.0 * s1 {
        return fit;
    }
    let (counts, ln) = (&folded.counts[m], &folded.ln[m]);
    let range = (last + 1).min(RANGE as usize);
    // The distance of `j * s2` to the nearest multiple of `s1`, in integers (the same as
    // `|x - round(x / s1) * s1|`, without a division per bin).
    let (step1, step2) = (s1 as u32, s2 as u32);
    let reach = s2 / 2.0 + TOLERANCE;
    // The forbidden bins come in gaps between reachable ones, walked in order. A gap whose
    // lower end is past the last bin holding `MIN_NEIGHBOURS / 2` counts has two sparse ends
    // and is skipped, and so are all after it: the walk stops there.
    let dense = folded.dense[m];
    let mut lo = 0usize;
    for hi in 1..=range {
        let r = (hi as u32 * step2) % step1;
        if f64::from(r.min(step1 - r)) > reach {
            continue;
        }
        // What a smooth histogram would hold in the gap: the log-linear interpolation between
        // the reachable bins on either side (exact for a geometric decay). Bins below the
        // first non-zero multiple of the first step are left out: the many coefficients that
        // save zeroed spill into them in smooth areas more than the error model allows, and
        // the steep, heavy-tailed decay from zero is where interpolation over a long gap is
        // worst.
        if lo != 0 && hi - lo > 1 && 2 * lo as u32 * step2 >= step1 {
            let (a, b) = (counts[lo], counts[hi]);
            if a != 0.0 && b != 0.0 && a + b >= MIN_NEIGHBOURS {
                for (j, &count) in counts.iter().enumerate().take(hi).skip(lo + 1) {
                    let t = (j - lo) as f64 / (hi - lo) as f64;
                    fit.observed += count;
                    fit.expected += (ln[lo] * (1.0 - t) + ln[hi] * t).exp();
                }
            }
        }
        lo = hi;
        if lo > dense {
            break;
        }
    }
    fit
}

/// [`fit_folded`] with the fit of each (mode, first step) pair computed once: neighbouring
/// candidates share most of their steps.
struct Memo<'f> {
    folded: &'f Folded,
    second: [u16; 64],
    /// Per mode, per first step 0..=255: the fit, once computed.
    cache: Vec<[Option<Fit>; 256]>,
}

impl Memo<'_> {
    fn fit(&mut self, first: &[u16; 64]) -> Fit {
        let mut fit = Fit {
            observed: 0.0,
            expected: 0.0,
        };
        for (m, &mode) in MODES.iter().enumerate() {
            let s1 = first[mode];
            let f = match self.cache[m].get_mut(usize::from(s1)) {
                Some(Some(f)) => *f,
                Some(slot) => *slot.insert(fit_mode(self.folded, m, s1, self.second[mode])),
                None => fit_mode(self.folded, m, s1, self.second[mode]),
            };
            fit.observed += f.observed;
            fit.expected += f.expected;
        }
        fit
    }
}

/// Estimates the primary quality from histograms taken under luma table `second` (natural
/// order).
pub fn analyse(hist: &Histograms, second: &[u16; 64]) -> History {
    let mut best: Option<(f64, [u16; 20], u8, Fit)> = None;
    let mut score: Option<f64> = None;
    let mut evidence = 0.0;
    let mut fits = Vec::with_capacity(99);
    let folded = Folded::new(hist);
    let mut memo = Memo {
        folded: &folded,
        second: *second,
        cache: vec![[None; 256]; MODES.len()],
    };
    for (q, table) in candidates() {
        let steps: [u16; 20] = std::array::from_fn(|i| table[MODES[i]]);
        // Neighbouring qualities often share the steps of the analysed modes.
        let f = match fits.last() {
            Some(&(_, last, f)) if last == steps => f,
            _ => memo.fit(&table),
        };
        fits.push((q, steps, f));
        if f.expected < MIN_EVIDENCE {
            continue;
        }
        let ratio = f.ratio();
        if score.is_none_or(|s| ratio < s) {
            score = Some(ratio);
            evidence = f.expected;
        }
        if ratio > MAX_RATIO {
            continue;
        }
        // The most specific explanation: forbidden mass expected, less what is found there.
        let gain = f.expected - f.observed / MAX_RATIO;
        if best.as_ref().is_none_or(|b| gain > b.0) {
            best = Some((gain, steps, q, f));
        }
    }
    let (primary, confidence) = match best {
        None => (None, None),
        Some((_, steps, _, f)) => {
            // Every quality whose steps on the analysed modes are the same fits as well.
            let same: Vec<u8> = fits
                .iter()
                .filter(|(_, s, _)| *s == steps)
                .map(|(q, _, _)| *q)
                .collect();
            let (lo, hi) = (same[0], same[same.len() - 1]);
            let confidence = if f.ratio() <= HIGH_RATIO {
                PrimaryConfidence::High
            } else {
                PrimaryConfidence::Medium
            };
            (
                Some(QualityRange {
                    min: lo.into(),
                    max: hi.into(),
                }),
                Some(confidence),
            )
        }
    };
    History {
        primary,
        confidence,
        score,
        evidence,
        blocks: hist.blocks,
        effective: None,
    }
}

/// The most luma blocks sampled from the start of the first scan: a bound on the time and the
/// bytes read whatever the image size.
pub const SAMPLE_BLOCKS: u64 = 8192;

/// The sample also ends once the analysed modes of the blocks counted hold this many non-zero
/// values, where the effective quality is estimated too ([`effective::applies`]): textured
/// photos get there within a few thousand blocks, smooth tops of images (sky) read on. The
/// accuracy at these sizes is measured in `docs/quality.md`.
pub const SAMPLE_NONZERO: u64 = 40_000;

/// [`SAMPLE_NONZERO`] for the primary quality alone (every other file): decoding the sample
/// is most of the analysis' time, and the primary quality keeps its accuracy on this smaller
/// one (measured in `docs/quality.md`). The block bound stays: a smooth top of an image holds
/// too few non-zero values for any answer within fewer blocks.
pub const PRIMARY_SAMPLE_NONZERO: u64 = 12_000;

/// Reads the first [`SAMPLE_BLOCKS`] luma blocks after `read_header` returned `header` and
/// analyses them. Frames it cannot read (progressive, arithmetic, lossless, 12-bit, a first
/// scan without luma) and damaged data give `Err` with the reason, never a guess; I/O errors
/// and limits are errors of the read itself.
pub fn read<I: crate::jpeg::Input>(
    parser: &mut crate::jpeg::Parser<I>,
    header: &crate::jpeg::Header,
) -> crate::Result<std::result::Result<History, String>> {
    let luma_slot = usize::from(header.frame.components[0].table & 3);
    // The effective quality is reported only where the coefficient estimate was validated
    // (guetzli-like tables): elsewhere its histograms and fit are not made.
    let wanted = effective::applies(&super::estimate(header));
    Ok(
        read_histograms(parser, header, wanted)?.and_then(|(hist, magnitudes, _)| {
            let luma = header.quant_tables[luma_slot]
                .ok_or_else(|| "the luma quantization table is missing".to_string())?;
            let mut history = analyse(&hist, &luma.values);
            if wanted {
                history.effective = effective::estimate(&magnitudes, &luma.values);
            }
            Ok(history)
        }),
    )
}

/// The histograms [`read`] analyses, with what the block reader saw; `Err` with the reason
/// where no analysis can be made. The luma magnitudes of the effective-quality estimate are
/// gathered only with `magnitudes_too` (else they stay empty).
pub fn read_histograms<I: crate::jpeg::Input>(
    parser: &mut crate::jpeg::Parser<I>,
    header: &crate::jpeg::Header,
    magnitudes_too: bool,
) -> crate::Result<
    std::result::Result<(Histograms, Magnitudes, crate::jpeg::blocks::BlockRead), String>,
> {
    use crate::jpeg::blocks::BlockEnd;
    let frame = &header.frame;
    if !header.first_scan.components.iter().any(|c| c.index == 0) {
        return Ok(Err("the first scan holds no luma".into()));
    }
    if header.quant_tables[usize::from(frame.components[0].table & 3)].is_none() {
        return Ok(Err("the luma quantization table is missing".into()));
    }
    let mut hist = Histograms::default();
    let mut magnitudes = Magnitudes::new(
        &header.quant_tables[usize::from(frame.components[0].table & 3)]
            .map_or([1; 64], |t| t.values),
    );
    let mut sampler = Sampler::new(header);
    let sample_nonzero = if magnitudes_too {
        SAMPLE_NONZERO
    } else {
        PRIMARY_SAMPLE_NONZERO
    };
    let read = match parser.read_blocks(header, 0, SAMPLE_BLOCKS, |c, block, nonzero, mcu| {
        if c == 0 && magnitudes_too {
            magnitudes.add_sparse(block, nonzero);
        }
        sampler.block(&mut hist, c, block, mcu);
        hist.nonzero < sample_nonzero
    }) {
        Ok(read) => read,
        Err(crate::Error::Unsupported(what)) => {
            return Ok(Err(format!("not analysed: {what}")));
        }
        Err(e) => return Err(e),
    };
    sampler.flush(&mut hist);
    if let BlockEnd::Damaged(what) = read.end {
        return Ok(Err(format!(
            "scan data damaged after {} luma blocks: {what}",
            read.counted
        )));
    }
    Ok(Ok((hist, magnitudes, read)))
}

/// Sample values within this distance of 0 or 255 (at the block mean) may have been clipped
/// when an earlier decode converted to RGB; such blocks leave the lattice of the first save,
/// so they are not counted.
const CLIP_MARGIN: f64 = 32.0;

/// Gathers the luma blocks of each MCU and adds them to the histograms once the MCU's chroma
/// blocks show that no colour channel comes near clipping (judged on the block means, from
/// the DC coefficients). At most one MCU (16 luma blocks) is held, as their DC and the values
/// of their analysed modes.
struct Sampler {
    /// DC quantizer of each frame component.
    dc_step: Vec<f64>,
    /// YCbCr with the chroma in the first scan: the colour test applies.
    colour: bool,
    mcu: u64,
    /// Per luma block of the MCU (at most 16): its DC and the values of its [`MODES`].
    luma: Vec<(i16, [i16; MODES.len()])>,
    /// Mean Cb and Cr of the current MCU, centred on 0.
    chroma: [f64; 2],
}

impl Sampler {
    fn new(header: &crate::jpeg::Header) -> Self {
        let frame = &header.frame;
        let dc_step = frame
            .components
            .iter()
            .map(|c| {
                header.quant_tables[usize::from(c.table & 3)]
                    .map_or(1.0, |t| f64::from(t.values[0]))
            })
            .collect();
        let colour = header.color_space() == crate::jpeg::ColorSpace::YCbCr
            && header.first_scan.components.len() == 3;
        Sampler {
            dc_step,
            colour,
            mcu: 0,
            luma: Vec::with_capacity(16),
            chroma: [0.0; 2],
        }
    }

    fn block(&mut self, hist: &mut Histograms, component: usize, block: &[i16; 64], mcu: u64) {
        if mcu != self.mcu {
            self.flush(hist);
            self.mcu = mcu;
        }
        match component {
            0 if self.luma.len() < 16 => self
                .luma
                .push((block[0], std::array::from_fn(|m| block[MODES[m]]))),
            1 | 2 => {
                let step = self.dc_step.get(component).copied().unwrap_or(1.0);
                self.chroma[component - 1] = f64::from(block[0]) * step / 8.0;
            }
            _ => {}
        }
    }

    fn flush(&mut self, hist: &mut Histograms) {
        let [cb, cr] = if self.colour { self.chroma } else { [0.0; 2] };
        for (dc, values) in &self.luma {
            let y = f64::from(*dc) * self.dc_step[0] / 8.0 + 128.0;
            let rgb = [
                y + 1.402 * cr,
                y - 0.344_136 * cb - 0.714_136 * cr,
                y + 1.772 * cb,
            ];
            if rgb
                .iter()
                .all(|&v| (CLIP_MARGIN..=255.0 - CLIP_MARGIN).contains(&v))
            {
                hist.add_modes(values);
            }
        }
        self.luma.clear();
        self.chroma = [0.0; 2];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Laplacian coefficients (scale `b`) per mode, quantized with `first` (if any), given an
    /// error of up to ±0.5, then quantized with `second`: the histograms of a simulated file
    /// whose history is known.
    fn simulate(first: Option<&[u16; 64]>, second: &[u16; 64], blocks: usize) -> Histograms {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut hist = Histograms::default();
        for _ in 0..blocks {
            let mut block = [0i16; 64];
            for &mode in &MODES {
                let u = uniform() - 0.5;
                let mut x = -30.0 * u.signum() * (1.0 - 2.0 * u.abs()).ln();
                if let Some(first) = first {
                    let s1 = f64::from(first[mode]);
                    x = (x / s1).round() * s1 + (uniform() - 0.5);
                }
                block[mode] = (x / f64::from(second[mode])).round() as i16;
            }
            hist.add(&block);
        }
        hist
    }

    fn ijg(q: u8) -> [u16; 64] {
        scale_table(&MOZJPEG[0].luma, scale_for_quality(q), 255)
    }

    #[test]
    fn a_simulated_resave_gives_its_first_quality() {
        for (q1, q2) in [(40, 95), (60, 90), (75, 95)] {
            let h = analyse(&simulate(Some(&ijg(q1)), &ijg(q2), 6000), &ijg(q2));
            let p = h.primary.unwrap_or_else(|| panic!("q{q1} -> q{q2}: {h:?}"));
            let q1 = f64::from(q1);
            assert!(q1 - 2.0 <= p.min && p.max <= q1 + 2.0, "{h:?}");
            assert_eq!(h.confidence, Some(PrimaryConfidence::High), "{h:?}");
        }
    }

    #[test]
    fn a_simulated_single_save_gives_nothing() {
        for q in [50, 75, 90, 95, 100] {
            let h = analyse(&simulate(None, &ijg(q), 6000), &ijg(q));
            assert_eq!(h.primary, None, "q{q}: {h:?}");
        }
    }

    #[test]
    fn empty_histograms_give_nothing_and_no_score() {
        let h = analyse(&Histograms::default(), &ijg(95));
        assert_eq!((h.primary, h.score), (None, None));
    }
}
