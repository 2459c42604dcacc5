//! A streaming separable resampler: each input row is filtered horizontally as it arrives into a
//! ring of `taps` rows, and an output row is made as soon as the rows under its vertical kernel
//! are in. Memory is `taps x out_width x channels` floats, whatever the image height.

use super::RowSink;
use super::plan::Filter;
use crate::error::Result;

/// Where each output sample's kernel starts in the input, and its weights (normalised to 1).
struct Kernel {
    starts: Vec<usize>,
    /// `taps` weights per output position, zero-padded.
    weights: Vec<f32>,
    taps: usize,
}

impl Kernel {
    fn new(in_len: usize, out_len: usize, filter: Filter) -> Kernel {
        let scale = in_len as f64 / out_len as f64;
        let mut rows: Vec<(usize, Vec<f64>)> = Vec::with_capacity(out_len);
        for j in 0..out_len {
            let (lo, hi) = (j as f64 * scale, (j + 1) as f64 * scale);
            let (start, raw): (usize, Vec<f64>) = match filter {
                Filter::Area => {
                    let first = lo.floor() as usize;
                    let last = (hi.ceil() as usize).min(in_len);
                    let w = (first..last)
                        .map(|i| (hi.min(i as f64 + 1.0) - lo.max(i as f64)).max(0.0))
                        .collect();
                    (first, w)
                }
                Filter::Lanczos3 => {
                    let support = 3.0 * scale.max(1.0);
                    let centre = (lo + hi) / 2.0;
                    let first = (centre - support).floor().max(0.0) as usize;
                    let last = ((centre + support).ceil() as usize).min(in_len);
                    let w = (first..last)
                        .map(|i| lanczos3((i as f64 + 0.5 - centre) / scale.max(1.0)))
                        .collect();
                    (first, w)
                }
            };
            rows.push((start, raw));
        }
        let taps = rows.iter().map(|r| r.1.len()).max().unwrap_or(1).max(1);
        let mut starts = Vec::with_capacity(out_len);
        let mut weights = vec![0f32; out_len * taps];
        for (j, (start, raw)) in rows.into_iter().enumerate() {
            // Slide kernels that end at the input's edge back inside it, so every kernel reads
            // `taps` samples and the ring of `taps` rows always holds the rows it needs.
            let slid = start.min(in_len - taps);
            let sum: f64 = raw.iter().sum();
            let slot = &mut weights[j * taps..(j + 1) * taps];
            for (k, w) in raw.iter().enumerate() {
                slot[start - slid + k] = if sum.abs() > 1e-12 {
                    (w / sum) as f32
                } else {
                    0.0
                };
            }
            starts.push(slid);
        }
        Kernel {
            starts,
            weights,
            taps,
        }
    }
}

fn lanczos3(x: f64) -> f64 {
    if x.abs() >= 3.0 {
        return 0.0;
    }
    if x.abs() < 1e-9 {
        return 1.0;
    }
    let px = std::f64::consts::PI * x;
    3.0 * px.sin() * (px / 3.0).sin() / (px * px)
}

/// Resamples rows pushed into it and pushes the result into `sink`.
pub struct Resampler<S> {
    sink: S,
    channels: usize,
    in_width: usize,
    out_height: usize,
    horizontal: Kernel,
    vertical: Kernel,
    /// The last `vertical.taps` input rows, row `r` at slot `r % taps`.
    ring: Vec<u8>,
    /// One input-width row of the vertical pass.
    column_sums: Vec<f32>,
    next_in: usize,
    next_out: usize,
    out_row: Vec<u8>,
}

impl<S: RowSink> Resampler<S> {
    /// A resampler from `input` to `output` pixels of `channels` samples, writing rows to `sink`.
    pub fn new(
        sink: S,
        channels: usize,
        input: (usize, usize),
        output: (usize, usize),
        filter: Filter,
    ) -> Resampler<S> {
        let horizontal = Kernel::new(input.0, output.0, filter);
        let vertical = Kernel::new(input.1, output.1, filter);
        let ring = vec![0u8; vertical.taps * input.0 * channels];
        Resampler {
            sink,
            channels,
            in_width: input.0,
            out_height: output.1,
            horizontal,
            vertical,
            ring,
            column_sums: vec![0f32; input.0 * channels],
            next_in: 0,
            next_out: 0,
            out_row: vec![0u8; output.0 * channels],
        }
    }

    /// The sink, once every row has been pushed.
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// Vertical pass first, over contiguous input rows (the compiler vectorises it), then the
    /// horizontal pass once per output row: the same arithmetic as horizontal-first, with the
    /// larger half in SIMD-friendly loops.
    fn emit_ready_rows(&mut self) -> Result<()> {
        let taps = self.vertical.taps;
        let row_len = self.in_width * self.channels;
        while self.next_out < self.out_height {
            let start = self.vertical.starts[self.next_out];
            if start + taps > self.next_in {
                break;
            }
            let weights = &self.vertical.weights[self.next_out * taps..(self.next_out + 1) * taps];
            self.column_sums.iter_mut().for_each(|v| *v = 0.0);
            for (k, &w) in weights.iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                let slot = (start + k) % taps;
                let row = &self.ring[slot * row_len..(slot + 1) * row_len];
                for (sum, &v) in self.column_sums.iter_mut().zip(row) {
                    *sum += w * f32::from(v);
                }
            }
            match self.channels {
                1 => horizontal::<1>(&self.column_sums, &mut self.out_row, &self.horizontal),
                3 => horizontal::<3>(&self.column_sums, &mut self.out_row, &self.horizontal),
                _ => horizontal::<4>(&self.column_sums, &mut self.out_row, &self.horizontal),
            }
            self.sink.write_rows(&self.out_row)?;
            self.next_out += 1;
        }
        Ok(())
    }
}

/// Horizontal pass over one vertically filtered row, `N` samples per pixel.
fn horizontal<const N: usize>(row: &[f32], out: &mut [u8], kernel: &Kernel) {
    let taps = kernel.taps;
    for (x, px) in out.chunks_exact_mut(N).enumerate() {
        let start = kernel.starts[x];
        let weights = &kernel.weights[x * taps..(x + 1) * taps];
        let src = &row[start * N..(start + taps) * N];
        let mut acc = [0f32; N];
        for (&w, s) in weights.iter().zip(src.chunks_exact(N)) {
            for c in 0..N {
                acc[c] += w * s[c];
            }
        }
        for c in 0..N {
            px[c] = acc[c].round().clamp(0.0, 255.0) as u8;
        }
    }
}

impl<S: RowSink> RowSink for Resampler<S> {
    fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        let row_len = self.in_width * self.channels;
        let taps = self.vertical.taps;
        for row in rows.chunks_exact(row_len) {
            let slot = self.next_in % taps;
            self.ring[slot * row_len..(slot + 1) * row_len].copy_from_slice(row);
            self.next_in += 1;
            self.emit_ready_rows()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<u8>);

    impl RowSink for Collect {
        fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
            self.0.extend_from_slice(rows);
            Ok(())
        }
    }

    fn resample(
        data: &[u8],
        ch: usize,
        input: (usize, usize),
        output: (usize, usize),
        filter: Filter,
    ) -> Vec<u8> {
        let mut r = Resampler::new(Collect(Vec::new()), ch, input, output, filter);
        // Push in uneven batches: the result must not depend on them.
        let row = input.0 * ch;
        let mut at = 0;
        for (i, n) in [1usize, 3, 2, 7].iter().cycle().enumerate() {
            if at >= input.1 {
                break;
            }
            let n = (*n + i % 2).min(input.1 - at);
            r.write_rows(&data[at * row..(at + n) * row]).unwrap();
            at += n;
        }
        r.into_sink().0
    }

    #[test]
    fn area_is_the_exact_mean_for_integer_factors() {
        let (w, h) = (12, 9);
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        let out = resample(&data, 3, (w, h), (4, 3), Filter::Area);
        for y in 0..3 {
            for x in 0..4 {
                for c in 0..3 {
                    let mut sum = 0u32;
                    for yy in 3 * y..3 * y + 3 {
                        for xx in 3 * x..3 * x + 3 {
                            sum += u32::from(data[(yy * w + xx) * 3 + c]);
                        }
                    }
                    let mean = (f64::from(sum) / 9.0).round() as u8;
                    assert!(
                        out[(y * 4 + x) * 3 + c].abs_diff(mean) <= 1,
                        "({x},{y},{c})"
                    );
                }
            }
        }
    }

    #[test]
    fn area_weights_fractional_footprints() {
        // 5 -> 2 columns: output 0 covers [0, 2.5): 1, 1, 0.5 of samples 0, 1, 2.
        let data = [0u8, 0, 100, 200, 200];
        let out = resample(&data, 1, (5, 1), (2, 1), Filter::Area);
        assert_eq!(out, vec![20, 180]);
    }

    #[test]
    fn flat_images_stay_flat_with_every_filter() {
        for filter in [Filter::Area, Filter::Lanczos3] {
            let data = vec![77u8; 31 * 17 * 4];
            let out = resample(&data, 4, (31, 17), (7, 5), filter);
            assert!(out.iter().all(|&v| v == 77), "{filter:?}");
        }
    }
}
