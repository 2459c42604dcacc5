//! Zig-zag order (T.81 Figure A.6): the one place where DQT's stored order becomes natural order.

/// `ZIGZAG_TO_NATURAL[k]` is the row-major index of the k-th coefficient in zig-zag order.
pub const ZIGZAG_TO_NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Reorders 64 values from zig-zag to natural (row-major) order.
pub fn to_natural<T: Copy + Default>(zigzag: &[T; 64]) -> [T; 64] {
    let mut natural = [T::default(); 64];
    for (k, &value) in zigzag.iter().enumerate() {
        natural[ZIGZAG_TO_NATURAL[k]] = value;
    }
    natural
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_is_a_permutation_that_walks_antidiagonals() {
        let mut seen = [false; 64];
        for &n in &ZIGZAG_TO_NATURAL {
            assert!(!seen[n]);
            seen[n] = true;
        }
        // Each step moves to a neighbouring anti-diagonal or along the same one.
        for pair in ZIGZAG_TO_NATURAL.windows(2) {
            let d = |n: usize| n / 8 + n % 8;
            assert!(d(pair[1]) - d(pair[0]) <= 1);
        }
        let zz: [u16; 64] = std::array::from_fn(|k| k as u16);
        let nat = to_natural(&zz);
        assert_eq!(&nat[..4], &[0, 1, 5, 6]);
        assert_eq!(nat[8], 2);
        assert_eq!(nat[63], 63);
    }
}
