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
    out_width: usize,
    out_height: usize,
    horizontal: Kernel,
    vertical: Kernel,
    /// Horizontally filtered rows, input row `r` at `r % taps`.
    ring: Vec<f32>,
    next_in: usize,
    next_out: usize,
    out_row: Vec<u8>,
}

impl<S: RowSink> Resampler<S> {
    pub fn new(
        sink: S,
        channels: usize,
        input: (usize, usize),
        output: (usize, usize),
        filter: Filter,
    ) -> Resampler<S> {
        let horizontal = Kernel::new(input.0, output.0, filter);
        let vertical = Kernel::new(input.1, output.1, filter);
        let ring = vec![0f32; vertical.taps * output.0 * channels];
        Resampler {
            sink,
            channels,
            in_width: input.0,
            out_width: output.0,
            out_height: output.1,
            horizontal,
            vertical,
            ring,
            next_in: 0,
            next_out: 0,
            out_row: vec![0u8; output.0 * channels],
        }
    }

    pub fn into_sink(self) -> S {
        self.sink
    }

    fn filter_row(&mut self, row: &[u8]) {
        let ch = self.channels;
        let taps = self.horizontal.taps;
        let slot = self.next_in % self.vertical.taps;
        let dest = &mut self.ring[slot * self.out_width * ch..(slot + 1) * self.out_width * ch];
        for (x, out) in dest.chunks_exact_mut(ch).enumerate() {
            let start = self.horizontal.starts[x];
            let weights = &self.horizontal.weights[x * taps..(x + 1) * taps];
            let src = &row[start * ch..(start + taps) * ch];
            let mut acc = [0f32; 4];
            for (w, px) in weights.iter().zip(src.chunks_exact(ch)) {
                for c in 0..ch {
                    acc[c] += w * f32::from(px[c]);
                }
            }
            out.copy_from_slice(&acc[..ch]);
        }
    }

    fn emit_ready_rows(&mut self) -> Result<()> {
        let ch = self.channels;
        let taps = self.vertical.taps;
        let row_len = self.out_width * ch;
        while self.next_out < self.out_height {
            let start = self.vertical.starts[self.next_out];
            if start + taps > self.next_in {
                break;
            }
            let weights = &self.vertical.weights[self.next_out * taps..(self.next_out + 1) * taps];
            for (i, out) in self.out_row.iter_mut().enumerate() {
                let mut sum = 0f32;
                for (k, w) in weights.iter().enumerate() {
                    let slot = (start + k) % taps;
                    sum += w * self.ring[slot * row_len + i];
                }
                *out = sum.round().clamp(0.0, 255.0) as u8;
            }
            self.sink.write_rows(&self.out_row)?;
            self.next_out += 1;
        }
        Ok(())
    }
}

impl<S: RowSink> RowSink for Resampler<S> {
    fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        let row_len = self.in_width * self.channels;
        for row in rows.chunks_exact(row_len) {
            self.filter_row(row);
            self.next_in += 1;
            self.emit_ready_rows()?;
        }
        Ok(())
    }
}
