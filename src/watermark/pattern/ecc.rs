//! The error-correcting code of the payload layer: a punctured polar code, decoded by
//! successive-cancellation list decoding (Tal and Vardy, "List decoding of polar codes", IEEE
//! Trans. Inf. Theory 61(5), 2015) in the LLR domain with the min-sum approximation
//! (Balatsoukas-Stimming, Bastani Parizi and Burg, IEEE Trans. Signal Process. 63(19), 2015):
//! the likeliest few messages, of which the payload layer's tag picks the right one, as a CRC
//! does in CRC-aided list decoding.
//!
//! The mother code has `N = 2^M` = 4096 bits; [`PUNCTURED`] of them are not sent, so that the
//! codeword fills the tile's 3584 data cells one bit per cell (rate 304/3584). The message bits
//! go to the most reliable input bits, ranked by their Bhattacharyya parameters at a design
//! noise level ([`DESIGN_Z`]), the punctured bits counted as channels that carry nothing; every
//! other input bit is frozen to 0. It replaced a rate-1/3 convolutional code (K = 7) repeated
//! over the cells: simulated side by side on cells with Gaussian noise, the convolutional code
//! decoded half its messages at an amplitude-to-noise ratio of 0.44 per cell, this one at about
//! 0.38 (1.3 dB less), with the same list of 11 ("The payload code" in `docs/watermark.md`).
//!
//! Written here rather than taken from a crate: no maintained Rust crate offers a punctured
//! polar code with a soft-input list decoder.

use std::rc::Rc;

/// log2 of the mother code's length.
const M: usize = 12;
/// The mother code's length.
const N: usize = 1 << M;
/// Codeword bits not sent.
pub(crate) const PUNCTURED: usize = 512;
/// Codeword bits sent.
pub(crate) const CODED_LEN: usize = N - PUNCTURED;
/// The Bhattacharyya parameter of a sent bit's channel the code is designed for: a binary
/// input Gaussian channel at an amplitude-to-noise ratio of 0.57 (`exp(-0.57^2 / 2)`), where a
/// hard decision on one cell is wrong 28 % of the time, near the code's limit. Designed at
/// 0.743 (0.77) or 0.92 (0.41) instead, the code decoded 60 and 79 of 200 messages at a raw
/// cell error rate of 35 %, against 92 at 0.85 (natural-order puncturing).
const DESIGN_Z: f64 = 0.85;

/// Which input bits carry the message, for messages of one length.
struct Design {
    /// Per input bit: its message bit, or `None` when frozen.
    message_bit: Vec<Option<u16>>,
}

/// The design for messages of `bits` bits, made for each call (0.17 ms, against a decode's 2):
/// no state outlives a call.
fn design(bits: usize) -> Design {
    let z = bhattacharyya(DESIGN_Z);
    let mut order: Vec<usize> = (0..N).collect();
    // Most reliable first; among equals, the later input bit (it sees more of the codeword).
    order.sort_by(|&a, &b| z[a].total_cmp(&z[b]).then(b.cmp(&a)));
    let mut info: Vec<usize> = order[..bits.min(N)].to_vec();
    info.sort_unstable();
    let mut message_bit = vec![None; N];
    for (k, &i) in info.iter().enumerate() {
        message_bit[i] = Some(k as u16);
    }
    Design { message_bit }
}

/// The Bhattacharyya parameter of every input bit's synthetic channel, when each sent
/// codeword bit's channel has parameter `z` and the punctured ones 1, through the same
/// butterflies the decoder walks: a check node (even phase) `a + b - ab`, a variable node
/// (odd phase) `ab`.
fn bhattacharyya(z: f64) -> Vec<f64> {
    // Layer λ holds, for each phase φ < 2^λ, the 2^(M-λ) values of branch β at [φ << (M-λ) + β].
    let mut layer: Vec<f64> = (0..N)
        .map(|b| if is_punctured(b) { 1.0 } else { z })
        .collect();
    for lambda in 1..=M {
        let size = 1 << (M - lambda);
        let mut next = vec![0.0; N];
        for phi in 0..1usize << lambda {
            let source = &layer[(phi >> 1) * 2 * size..];
            for beta in 0..size {
                let (a, b) = (source[2 * beta], source[2 * beta + 1]);
                next[phi * size + beta] = if phi % 2 == 0 { a + b - a * b } else { a * b };
            }
        }
        layer = next;
    }
    layer
}

/// Whether codeword bit `b` is left out: the first [`PUNCTURED`] in bit-reversed order, which
/// leaves exactly as many input bits without information (frozen by the design) and, in a
/// simulation against the first [`PUNCTURED`] in natural order, decoded more often near the
/// code's limit (104 against 92 of 200 messages at a raw cell error rate of 35 %).
fn is_punctured(b: usize) -> bool {
    bit_reversed(b) < PUNCTURED
}

/// `b`'s [`M`] bits in reverse order.
fn bit_reversed(b: usize) -> usize {
    (b as u32).reverse_bits() as usize >> (32 - M)
}

/// Codeword length for a message of `bits` bits: always [`CODED_LEN`].
pub(crate) const fn coded_len(_bits: usize) -> usize {
    CODED_LEN
}

/// Encodes `message` (at most [`CODED_LEN`] bits): [`CODED_LEN`] bits, the codeword without its
/// punctured bits.
pub(crate) fn encode(message: &[bool]) -> Vec<bool> {
    assert!(message.len() <= CODED_LEN, "a message longer than the code");
    let design = design(message.len());
    let input: Vec<bool> = design
        .message_bit
        .iter()
        .map(|k| k.is_some_and(|k| message[usize::from(k)]))
        .collect();
    let codeword = mother_codeword(&input);
    (0..N)
        .filter(|&b| !is_punctured(b))
        .map(|b| codeword[b])
        .collect()
}

/// The mother code's codeword of the input bits `u` ([`N`] of them), through the partial-sum
/// updates the decoder makes: `u B_N F^(x M)`, `F` = [[1, 0], [1, 1]] and `B_N` the
/// bit-reversal permutation.
fn mother_codeword(u: &[bool]) -> Vec<bool> {
    let mut c: Vec<Vec<[bool; 2]>> = (0..=M).map(|l| vec![[false; 2]; 1 << (M - l)]).collect();
    for (phi, &bit) in u.iter().enumerate().take(N) {
        c[M][0][phi & 1] = bit;
        update_c(phi, 1, |lambda, half| {
            let (low, high) = c.split_at_mut(lambda);
            combine(&high[0], &mut low[lambda - 1], half);
        });
    }
    c[0].iter().map(|pair| pair[0]).collect()
}

/// Tal and Vardy's `recursivelyUpdateC` after input bit `phi`: for each layer λ from [`M`] down
/// whose partial sums the bit completes, no lower than `lowest`, `combine(λ, half)` is to pass
/// layer λ's sums down into half `half` of layer λ - 1's ([`combine`]). Nothing for even `phi`.
fn update_c(phi: usize, lowest: usize, mut combine: impl FnMut(usize, usize)) {
    let (mut lambda, mut phase) = (M, phi);
    while phase % 2 == 1 && lambda >= lowest {
        let psi = phase >> 1;
        combine(lambda, psi & 1);
        lambda -= 1;
        phase = psi;
    }
}

/// One butterfly layer of partial sums: each pair `(a, b)` of `from` gives `a ^ b` and `b` to
/// two neighbouring entries of `to`, in half `half` of their pairs.
fn combine(from: &[[bool; 2]], to: &mut [[bool; 2]], half: usize) {
    for (pair, &[a, b]) in to.chunks_exact_mut(2).zip(from) {
        pair[0][half] = a ^ b;
        pair[1][half] = b;
    }
}

/// One list decoder path: its metric, its LLRs and partial sums per layer (shared with the
/// paths it was copied from until written: the lazy copies of Tal and Vardy, by reference
/// count), and the message bits decided.
#[derive(Clone)]
struct Path {
    metric: f32,
    /// `llr[λ]` for λ in 1..=M (index 0 unused: the channel, shared by all).
    llr: Vec<Rc<Vec<f32>>>,
    /// `sums[λ]` for λ in 1..=M (index 0 unused: the codeword is not needed).
    sums: Vec<Rc<Vec<[bool; 2]>>>,
    message: Vec<bool>,
}

impl Path {
    fn new(message_len: usize) -> Path {
        Path {
            metric: 0.0,
            llr: (0..=M)
                .map(|l| Rc::new(vec![0.0; (1 << (M - l)) * usize::from(l > 0)]))
                .collect(),
            sums: (0..=M)
                .map(|l| Rc::new(vec![[false; 2]; (1 << (M - l)) * usize::from(l > 0)]))
                .collect(),
            message: Vec::with_capacity(message_len),
        }
    }

    /// Tal and Vardy's `recursivelyCalcP` for the leaf `phi`: the LLR of input bit `phi`
    /// (positive: 0 likelier), given the decisions before it.
    fn leaf_llr(&mut self, channel: &[f32], phi: usize) -> f32 {
        // Layers from the lowest one this phase changes: those whose phase bit turned.
        let lowest = if phi == 0 {
            1
        } else {
            M - phi.trailing_zeros() as usize
        };
        for lambda in lowest..=M {
            let size = 1 << (M - lambda);
            let phase = phi >> (M - lambda);
            // Written whole: a shared array is replaced, not copied.
            if Rc::get_mut(&mut self.llr[lambda]).is_none() {
                self.llr[lambda] = Rc::new(vec![0.0; size]);
            }
            let (low, high) = self.llr.split_at_mut(lambda);
            let source: &[f32] = if lambda == 1 {
                channel
            } else {
                &low[lambda - 1]
            };
            let target = Rc::get_mut(&mut high[0]).expect("unshared");
            if phase.is_multiple_of(2) {
                for (t, pair) in target.iter_mut().zip(source.chunks_exact(2)) {
                    let (a, b) = (pair[0], pair[1]);
                    *t = a.signum() * b.signum() * a.abs().min(b.abs());
                }
            } else {
                let sums = &self.sums[lambda];
                for ((t, pair), s) in target
                    .iter_mut()
                    .zip(source.chunks_exact(2))
                    .zip(sums.iter())
                {
                    *t = if s[0] {
                        pair[1] - pair[0]
                    } else {
                        pair[1] + pair[0]
                    };
                }
            }
        }
        self.llr[M][0]
    }

    /// Records input bit `phi` as `u` and updates the partial sums (layers 1..=M: the codeword
    /// itself is not needed).
    fn decide(&mut self, phi: usize, u: bool) {
        Rc::make_mut(&mut self.sums[M])[0][phi & 1] = u;
        let sums = &mut self.sums;
        update_c(phi, 2, |lambda, half| {
            let from = Rc::clone(&sums[lambda]);
            let to: &mut Vec<[bool; 2]> = Rc::make_mut(&mut sums[lambda - 1]);
            combine(&from, to, half);
        });
    }
}

/// The penalty of deciding `u` against an LLR `llr` (min-sum: the LLR's magnitude when they
/// disagree).
fn penalty(llr: f32, u: bool) -> f32 {
    if (llr < 0.0) != u { llr.abs() } else { 0.0 }
}

/// The `list` likeliest messages of `message_len` bits, best first, from soft values of the
/// sent codeword bits (positive means 1, the magnitude the confidence; scale does not matter).
/// The first `known.len()` message bits are taken as given (a claimed payload's bits), not
/// decoded. `None` when `soft` has the wrong length, `list` is 0, or the message is longer than
/// the code or shorter than `known`.
pub(crate) fn decode_list(
    soft: &[f32],
    message_len: usize,
    list: usize,
    known: &[bool],
) -> Option<Vec<Vec<bool>>> {
    if soft.len() != CODED_LEN || list == 0 || known.len() > message_len || message_len > CODED_LEN
    {
        return None;
    }
    let design = design(message_len);
    // LLRs: positive for 0; the punctured bits know nothing.
    let mut sent = soft.iter();
    let channel: Vec<f32> = (0..N)
        .map(|b| match is_punctured(b) {
            true => 0.0,
            false => sent
                .next()
                .map_or(0.0, |&s| if s.is_finite() { -s } else { 0.0 }),
        })
        .collect();
    let mut paths = vec![Path::new(message_len)];
    let mut forks: Vec<(f32, usize, bool)> = Vec::with_capacity(2 * list);
    for phi in 0..N {
        let fixed = match design.message_bit[phi] {
            None => Some(false),
            Some(k) => known.get(usize::from(k)).copied(),
        };
        match fixed {
            Some(u) => {
                for path in &mut paths {
                    let llr = path.leaf_llr(&channel, phi);
                    path.metric += penalty(llr, u);
                    if design.message_bit[phi].is_some() {
                        path.message.push(u);
                    }
                    path.decide(phi, u);
                }
            }
            None => {
                forks.clear();
                for (index, path) in paths.iter_mut().enumerate() {
                    let llr = path.leaf_llr(&channel, phi);
                    for u in [false, true] {
                        forks.push((path.metric + penalty(llr, u), index, u));
                    }
                }
                forks.sort_by(|a, b| a.0.total_cmp(&b.0));
                forks.truncate(list);
                let mut next = Vec::with_capacity(forks.len());
                for &(metric, index, u) in &forks {
                    let mut path = paths[index].clone();
                    path.metric = metric;
                    path.message.push(u);
                    path.decide(phi, u);
                    next.push(path);
                }
                paths = next;
            }
        }
    }
    paths.sort_by(|a, b| a.metric.total_cmp(&b.metric));
    Some(paths.into_iter().map(|p| p.message).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    fn random_bits(rng: &mut ChaCha8Rng, n: usize) -> Vec<bool> {
        (0..n).map(|_| rng.next_u32() & 1 == 1).collect()
    }

    /// A standard normal sample, Box-Muller from two uniforms.
    fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
        let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// Cells of amplitude `a` (+a for a 1) plus unit Gaussian noise.
    fn through_noise(coded: &[bool], a: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
        coded
            .iter()
            .map(|&b| if b { a } else { -a } + gaussian(rng))
            .collect()
    }

    /// The codeword is `u G` with `G = B_N F^(x M)` written out: bit `j` is the sum of the
    /// input bits `i` whose bit-reversed index has every bit of `j` set (`F^(x M)` has a 1 at
    /// row `r`, column `j` exactly when `j`'s bits are a subset of `r`'s).
    #[test]
    fn the_codeword_is_the_generator_matrix_product() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2 {
            let u = random_bits(&mut rng, N);
            let x = mother_codeword(&u);
            for (j, &bit) in x.iter().enumerate() {
                let by_matrix =
                    (0..N).filter(|&i| u[i] && bit_reversed(i) & j == j).count() % 2 == 1;
                assert_eq!(bit, by_matrix, "bit {j}");
            }
        }
    }

    /// Exactly as many input bits carry nothing as bits are punctured (no sent bit depends on
    /// them: by the generator, input `i` reaches codeword bits `j` whose bits are a subset of
    /// `i` bit-reversed), the design freezes every one of them, and it ranks them last
    /// (Bhattacharyya parameter 1).
    #[test]
    fn puncturing_leaves_out_as_many_input_bits_and_they_are_frozen() {
        let useless: Vec<usize> = (0..N)
            .filter(|&i| {
                let r = bit_reversed(i);
                // Every submask of r, r included.
                let mut j = r;
                loop {
                    if !is_punctured(j) {
                        return false;
                    }
                    if j == 0 {
                        return true;
                    }
                    j = (j - 1) & r;
                }
            })
            .collect();
        assert_eq!(useless.len(), PUNCTURED);
        let z = bhattacharyya(DESIGN_Z);
        assert!(useless.iter().all(|&i| z[i] == 1.0));
        let design = design(304);
        assert!(useless.iter().all(|&i| design.message_bit[i].is_none()));
        assert_eq!(design.message_bit.iter().flatten().count(), 304);
        // The codeword of one useless input bit is all punctured.
        let mut u = vec![false; N];
        u[useless[PUNCTURED / 2]] = true;
        let x = mother_codeword(&u);
        assert!(x.iter().any(|&b| b));
        assert!((0..N).all(|b| !x[b] || is_punctured(b)));
    }

    #[test]
    fn noiseless_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for bits in [304, 48, 1] {
            let message = random_bits(&mut rng, bits);
            let coded = encode(&message);
            assert_eq!(coded.len(), CODED_LEN);
            let soft: Vec<f32> = coded.iter().map(|&b| if b { 1.0 } else { -1.0 }).collect();
            let list = decode_list(&soft, bits, 4, &[]).unwrap();
            assert_eq!(list[0], message);
            // Any scale: min-sum decoding is scale-free.
            let scaled: Vec<f32> = soft.iter().map(|v| v * 1e-3).collect();
            assert_eq!(decode_list(&scaled, bits, 4, &[]).unwrap()[0], message);
        }
        assert!(decode_list(&[0.0; 10], 304, 4, &[]).is_none());
        assert!(decode_list(&[0.0; CODED_LEN], 304, 0, &[]).is_none());
    }

    /// The code's operating range on cells with Gaussian noise (seeded, reproducible): every
    /// message decodes at an amplitude-to-noise ratio of 0.55 (a hard decision on a cell wrong
    /// 29 % of the time), and most do at 0.41 (34 %), where the convolutional code it replaced
    /// decoded 25 of 200 in the simulation of `docs/watermark.md`.
    #[test]
    fn decodes_at_known_noise_levels() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (a, trials, at_least) in [(0.55f32, 20, 20), (0.41, 30, 20)] {
            let mut found = 0;
            for _ in 0..trials {
                let message = random_bits(&mut rng, 304);
                let soft = through_noise(&encode(&message), a, &mut rng);
                let list = decode_list(&soft, 304, 11, &[]).unwrap();
                assert!(list.len() <= 11);
                found += usize::from(list.contains(&message));
            }
            assert!(found >= at_least, "a = {a}: {found} of {trials}");
        }
    }

    /// The list is ranked: distinct messages, and near the limit the right one is often in
    /// the list when it is not first (what the tag check gains over the single best path).
    #[test]
    fn the_list_finds_messages_the_best_path_misses() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut first, mut listed) = (0, 0);
        for _ in 0..40 {
            let message = random_bits(&mut rng, 304);
            let soft = through_noise(&encode(&message), 0.39, &mut rng);
            let list = decode_list(&soft, 304, 11, &[]).unwrap();
            for (i, a) in list.iter().enumerate() {
                assert!(list[i + 1..].iter().all(|b| b != a), "distinct");
            }
            first += usize::from(list[0] == message);
            listed += usize::from(list.contains(&message));
        }
        assert!(listed > first, "first {first}, listed {listed}");
    }

    /// With the first 256 message bits given (a claimed payload), the 48 left decode at noise
    /// where the whole message does not.
    #[test]
    fn known_bits_decode_the_rest_at_higher_noise() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (mut blind, mut claimed) = (0, 0);
        for _ in 0..20 {
            let message = random_bits(&mut rng, 304);
            let soft = through_noise(&encode(&message), 0.25, &mut rng);
            blind += usize::from(decode_list(&soft, 304, 11, &[]).unwrap().contains(&message));
            let list = decode_list(&soft, 304, 11, &message[..256]).unwrap();
            assert!(list.iter().all(|m| m[..256] == message[..256]));
            claimed += usize::from(list.contains(&message));
        }
        assert_eq!(blind, 0);
        assert!(claimed >= 18, "{claimed} of 20");
    }
}
