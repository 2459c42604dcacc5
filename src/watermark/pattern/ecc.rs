//! The error-correcting code of the payload layer: a rate-1/3 convolutional code of constraint
//! length 7 (generators 133, 171, 165 octal, the standard K = 7 rate-1/3 code, whose free
//! distance of 15 corrects the raw error rates a resampled mark leaves),
//! decoded by soft-decision list Viterbi: the likeliest few messages, of which the payload
//! layer's tag picks the right one ([`decode`] is the plain single-path decoder).
//!
//! Written here rather than taken from a crate: no maintained Rust crate offers a soft-input
//! Viterbi decoder, and the whole code is 64 states and a traceback table.

/// Bits of the encoder's shift register, the new one included.
pub(crate) const CONSTRAINT: usize = 7;
/// Zero bits appended so the decoder ends in the all-zero state.
pub(crate) const TAIL: usize = CONSTRAINT - 1;
const STATES: usize = 1 << TAIL;
const GENERATORS: [u32; 3] = [0o133, 0o171, 0o165];
/// Coded bits per message bit.
pub(crate) const RATE_INVERSE: usize = GENERATORS.len();

/// Coded length of a message of `bits` bits.
pub(crate) const fn coded_len(bits: usize) -> usize {
    (bits + TAIL) * RATE_INVERSE
}

/// The three output bits for shift-register contents `register` (newest bit lowest).
fn outputs(register: usize) -> [bool; RATE_INVERSE] {
    GENERATORS.map(|g| (register as u32 & g).count_ones() % 2 == 1)
}

/// Encodes `message`, tail included: `coded_len(message.len())` bits.
pub(crate) fn encode(message: &[bool]) -> Vec<bool> {
    let mut state = 0usize;
    let mut out = Vec::with_capacity(coded_len(message.len()));
    for &bit in message.iter().chain(&[false; TAIL]) {
        let register = (state << 1) | usize::from(bit);
        out.extend(outputs(register));
        state = register & (STATES - 1);
    }
    out
}

/// Decodes soft values (one per coded bit; positive means 1, the magnitude is the confidence)
/// into the most likely message of `message_len` bits: plain Viterbi, the list of one. Returns
/// `None` when `soft` has the wrong length.
#[cfg(test)]
pub(crate) fn decode(soft: &[f32], message_len: usize) -> Option<Vec<bool>> {
    decode_list(soft, message_len, 1)?.into_iter().next()
}

/// The `list` most likely messages, best first (list Viterbi, the parallel form of Seshadri
/// and Sundberg, IEEE Trans. Commun. 42(2), 1994): every state keeps its `list` best paths
/// instead of one. With a check on the message (the payload layer's tag), the right message is
/// found when it is anywhere in the list, which it is at noise levels where it is often not
/// the single best path. Returns `None` when `soft` has the wrong length or `list` is not in
/// 1..=256.
pub(crate) fn decode_list(soft: &[f32], message_len: usize, list: usize) -> Option<Vec<Vec<bool>>> {
    if soft.len() != coded_len(message_len) || !(1..=256).contains(&list) {
        return None;
    }
    let steps = message_len + TAIL;
    let table: Vec<[bool; RATE_INVERSE]> = (0..2 * STATES).map(outputs).collect();
    // Flat buffers: state s's paths sit at [s * list, s * list + len[s]), best first.
    let mut metric = vec![0f32; STATES * list];
    let mut len = [0usize; STATES];
    len[0] = 1;
    let mut next_metric = vec![0f32; STATES * list];
    // back[(t * STATES + s) * list + r]: (predecessor state, its rank) of the r-th path into
    // s at step t.
    let mut back = vec![(0u8, 0u8); steps * STATES * list];
    for (t, received) in soft.chunks_exact(RATE_INVERSE).enumerate() {
        let tail = t >= message_len;
        let mut next_len = [0usize; STATES];
        for s in 0..STATES {
            if tail && s & 1 == 1 {
                continue;
            }
            // The two predecessors' ranked paths, each extended by its branch: two sorted
            // lists, merged down to the best `list`.
            let [(pa, ba), (pb, bb)] = [0, 1].map(|high| {
                let previous = (s >> 1) | (high << (TAIL - 1));
                let register = (previous << 1) | (s & 1);
                let branch: f32 = table[register]
                    .iter()
                    .zip(received)
                    .map(|(&bit, &r)| if bit { r } else { -r })
                    .sum();
                (previous, branch)
            });
            let a = &metric[pa * list..pa * list + len[pa]];
            let b = &metric[pb * list..pb * list + len[pb]];
            let out = &mut next_metric[s * list..(s + 1) * list];
            let links = &mut back[(t * STATES + s) * list..(t * STATES + s + 1) * list];
            let (mut i, mut j, mut n) = (0, 0, 0);
            while n < list && (i < a.len() || j < b.len()) {
                let take_a = j >= b.len() || (i < a.len() && a[i] + ba >= b[j] + bb);
                // Both fit in a byte: 64 states, and ranks are below `list` <= 256.
                (out[n], links[n]) = if take_a {
                    i += 1;
                    (a[i - 1] + ba, (pa as u8, (i - 1) as u8))
                } else {
                    j += 1;
                    (b[j - 1] + bb, (pb as u8, (j - 1) as u8))
                };
                n += 1;
            }
            next_len[s] = n;
        }
        std::mem::swap(&mut metric, &mut next_metric);
        len = next_len;
    }
    // The tail forces state 0 at the end; trace each of its paths back.
    let messages = (0..len[0])
        .map(|first| {
            let (mut state, mut rank) = (0usize, first);
            let mut bits = vec![false; steps];
            for t in (0..steps).rev() {
                bits[t] = state & 1 == 1;
                let (previous, previous_rank) = back[(t * STATES + state) * list + rank];
                (state, rank) = (usize::from(previous), usize::from(previous_rank));
            }
            bits.truncate(message_len);
            bits
        })
        .collect();
    Some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    fn random_bits(rng: &mut ChaCha8Rng, n: usize) -> Vec<bool> {
        (0..n).map(|_| rng.next_u32() & 1 == 1).collect()
    }

    /// Soft values of a binary symmetric channel: each coded bit flipped with probability `p`,
    /// all with the same confidence (hard decisions).
    fn through_bsc(coded: &[bool], p: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
        coded
            .iter()
            .map(|&b| {
                let flip = ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p;
                if b != flip { 1.0 } else { -1.0 }
            })
            .collect()
    }

    /// Known output: the encoder's first steps from the generator polynomials by hand. A
    /// single 1 followed by zeros emits each generator's taps, newest first: 133 = 1011011,
    /// 171 = 1111001, 165 = 1110101 (bit 0 is the newest input).
    #[test]
    fn impulse_response_is_the_generators() {
        let coded = encode(&[true]);
        assert_eq!(coded.len(), coded_len(1));
        for (step, triple) in coded.chunks_exact(3).enumerate() {
            for (j, g) in GENERATORS.iter().enumerate() {
                assert_eq!(triple[j], g >> step & 1 == 1, "step {step} generator {j}");
            }
        }
    }

    #[test]
    fn noiseless_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for len in [1, 7, 64, 304] {
            let message = random_bits(&mut rng, len);
            let soft: Vec<f32> = encode(&message)
                .iter()
                .map(|&b| if b { 1.0 } else { -1.0 })
                .collect();
            assert_eq!(decode(&soft, len).unwrap(), message);
        }
        assert!(decode(&[0.0; 5], 1).is_none());
    }

    /// The code's known operating range (any coding text: hard-decision K = 7 rate 1/3 corrects a few percent of flips): 304-bit messages
    /// through a binary symmetric channel decode exactly every time at 4 % flips, and most of
    /// the time at 8 %. Trials are seeded, so the counts are reproducible.
    #[test]
    fn corrects_hard_errors_at_known_rates() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut exact_at = |p: f64| {
            (0..20)
                .filter(|_| {
                    let message = random_bits(&mut rng, 304);
                    let soft = through_bsc(&encode(&message), p, &mut rng);
                    decode(&soft, 304).unwrap() == message
                })
                .count()
        };
        assert_eq!(exact_at(0.04), 20);
        assert!(exact_at(0.08) >= 14);
        // At 25 % flips (far past capacity for this rate) the decoder fails.
        assert!(exact_at(0.25) <= 2);
    }

    /// Soft values beat hard decisions: Gaussian noise at a level where hard decisions flip
    /// about 10 % of the bits still decodes, because the flipped bits are mostly the weak ones.
    #[test]
    fn soft_decisions_use_confidence() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut message_rng = ChaCha8Rng::seed_from_u64(12);
        let mut flipped = 0;
        let mut exact = 0;
        for _ in 0..20 {
            let message = random_bits(&mut message_rng, 304);
            let coded = encode(&message);
            // Noise sigma 0.78: P(flip) = Q(1 / 0.78) = 10 %.
            let soft: Vec<f32> = coded
                .iter()
                .map(|&b| if b { 1.0 } else { -1.0 } + 0.78 * gaussian(&mut rng))
                .collect();
            flipped += soft
                .iter()
                .zip(&coded)
                .filter(|(s, b)| (**s > 0.0) != **b)
                .count();
            exact += usize::from(decode(&soft, 304).unwrap() == message);
        }
        let flip_rate = flipped as f64 / (20 * coded_len(304)) as f64;
        assert!((0.08..0.12).contains(&flip_rate), "flip rate {flip_rate}");
        assert_eq!(exact, 20);
    }

    /// Correlation metric of a message's codeword against soft values (what Viterbi maximises).
    fn metric_of(message: &[bool], soft: &[f32]) -> f32 {
        encode(message)
            .iter()
            .zip(soft)
            .map(|(&b, &r)| if b { r } else { -r })
            .sum()
    }

    /// A standard normal sample, Box-Muller from two uniforms.
    fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
        let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let v = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }

    /// The list is exactly the `list` best messages: checked against all 2^10 messages of a
    /// 10-bit message, ranked by their codewords' correlation with noisy soft values.
    #[test]
    fn list_is_the_exhaustive_ranking() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for _ in 0..5 {
            let message = random_bits(&mut rng, 10);
            let soft: Vec<f32> = encode(&message)
                .iter()
                .map(|&b| if b { 1.0 } else { -1.0 } + 1.2 * gaussian(&mut rng))
                .collect();
            let mut all: Vec<(f32, Vec<bool>)> = (0..1u32 << 10)
                .map(|m| {
                    let bits: Vec<bool> = (0..10).map(|i| m >> (9 - i) & 1 == 1).collect();
                    (metric_of(&bits, &soft), bits)
                })
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0));
            let list = decode_list(&soft, 10, 12).unwrap();
            assert_eq!(list.len(), 12);
            for (rank, bits) in list.iter().enumerate() {
                assert!(
                    (metric_of(bits, &soft) - all[rank].0).abs() < 1e-3,
                    "rank {rank}"
                );
            }
        }
        assert!(decode_list(&[0.0; 5], 1, 4).is_none());
        assert!(decode_list(&[0.0; 21], 1, 0).is_none());
    }

    /// Near the code's limit the right message is often in the list when it is not first:
    /// 304-bit messages at a raw flip rate of about 16 %, 30 seeded trials.
    #[test]
    fn list_finds_messages_plain_viterbi_misses() {
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        let (mut first, mut listed) = (0, 0);
        for _ in 0..30 {
            let message = random_bits(&mut rng, 304);
            // Sigma 1.0: P(flip) = Q(1) = 15.9 %.
            let soft: Vec<f32> = encode(&message)
                .iter()
                .map(|&b| if b { 1.0 } else { -1.0 } + gaussian(&mut rng))
                .collect();
            let list = decode_list(&soft, 304, 16).unwrap();
            first += usize::from(list[0] == message);
            listed += usize::from(list.contains(&message));
        }
        eprintln!("right message first in {first} of 30 trials, in the list of 16 in {listed}");
        assert!(listed > first, "first {first}, listed {listed}");
    }
}
