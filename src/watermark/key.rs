//! The secret key and the 32-byte payload, and every keyed choice derived from them.
//!
//! A passphrase is first stretched by Argon2id ([`STRETCH_MEMORY_KIB`] of memory,
//! [`STRETCH_PASSES`] passes, one lane): anyone holding a marked image can test guesses at the
//! passphrase offline, and each guess then costs that memory and a fifth of a second instead of
//! one hash. A raw key of 32 random bytes needs no stretching and skips it. The resulting 32-byte
//! master secret goes through HKDF-SHA256 once; each keyed choice then expands its own sub-key
//! with a distinct label and seeds a ChaCha20 stream, so no two choices share randomness and
//! none reveals another.
//!
//! The stretch uses a fixed salt: extraction must derive the key before it has read anything,
//! so there is nowhere to keep a per-image salt. A precomputed dictionary therefore serves
//! against every jpgtool user, but each of its entries still costs a full memory-hard stretch.

use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Domain separation for every sub-key: changing it changes every mark.
const SALT: &[u8] = b"jpgtool watermark v1";

/// Salt of the passphrase stretch (see the module doc for why it is fixed).
const STRETCH_SALT: &[u8] = b"jpgtool watermark passphrase v2";

/// Argon2id memory per passphrase stretch, in KiB (64 MiB).
pub const STRETCH_MEMORY_KIB: u32 = 64 * 1024;

/// Argon2id passes over that memory.
pub const STRETCH_PASSES: u32 = 3;

/// Passphrases shorter than this many bytes are too easy to guess, even stretched: the CLI
/// warns (or refuses with `--strict`).
pub const MIN_PASSPHRASE_LEN: usize = 12;

/// A watermarking key.
///
/// ```
/// use jpgtool::watermark::{Key, SecretKind};
///
/// // 32 random bytes (a key file) are used as they are; anything else is a passphrase and is
/// // stretched by Argon2id, which takes a fifth of a second.
/// let raw: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(151) ^ 0x5c);
/// assert_eq!(SecretKind::of(&raw), SecretKind::Raw);
/// assert_eq!(SecretKind::of(b"correct horse battery staple\n"), SecretKind::Passphrase);
/// let key = Key::from_secret(&raw)?;
/// # let _ = key;
/// # Ok::<(), jpgtool::Error>(())
/// ```
#[derive(Clone)]
pub struct Key {
    kdf: Hkdf<Sha256>,
}

/// What kind of secret a key was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Exactly 32 bytes that are not text: used as they are, without stretching.
    Raw,
    /// Anything else: a passphrase, stretched by Argon2id.
    Passphrase,
}

impl SecretKind {
    /// Raw when the secret is exactly 32 bytes and not text (random bytes are text by chance
    /// with odds under 1e-13); a passphrase otherwise. Text is UTF-8 without control
    /// characters, but for one trailing newline (a 31-character passphrase written by `echo`).
    pub fn of(secret: &[u8]) -> SecretKind {
        let body = secret
            .strip_suffix(b"\r\n")
            .or_else(|| secret.strip_suffix(b"\n"))
            .unwrap_or(secret);
        let text = std::str::from_utf8(body).is_ok_and(|s| !s.chars().any(char::is_control));
        if secret.len() == 32 && !text {
            SecretKind::Raw
        } else {
            SecretKind::Passphrase
        }
    }
}

/// The secret a key file holds: a raw key (see [`SecretKind::Raw`]) as it is, a passphrase
/// without one trailing newline (LF or CRLF), so that a file written by `echo secret > f` gives
/// the same key as the passphrase `secret`. An empty result is refused.
pub fn secret_from_key_file(mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    if SecretKind::of(&bytes) == SecretKind::Passphrase {
        if bytes.ends_with(b"\r\n") {
            bytes.truncate(bytes.len() - 2);
        } else if bytes.ends_with(b"\n") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(Error::Unsupported("the key file is empty".into()));
    }
    Ok(bytes)
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A key from secret bytes: a raw key of 32 random bytes is used as it is, anything else is
    /// a passphrase and is stretched ([`SecretKind::of`] decides). Empty secrets are refused.
    pub fn from_secret(secret: &[u8]) -> Result<Key> {
        match SecretKind::of(secret) {
            SecretKind::Raw => {
                let mut raw = [0u8; 32];
                raw.copy_from_slice(secret);
                Ok(Key::from_raw(&raw))
            }
            SecretKind::Passphrase => Key::from_passphrase(secret),
        }
    }

    /// A key from a passphrase, stretched by Argon2id. Empty passphrases are refused.
    pub fn from_passphrase(passphrase: &[u8]) -> Result<Key> {
        if passphrase.is_empty() {
            return Err(Error::Unsupported("an empty watermark key".into()));
        }
        Ok(Key::from_raw(&stretch(passphrase)?))
    }

    /// A key from 32 random bytes (a key file made by e.g. `head -c 32 /dev/urandom`): no
    /// stretching, since there is nothing to guess.
    pub fn from_raw(secret: &[u8; 32]) -> Key {
        Key {
            kdf: Hkdf::<Sha256>::new(Some(SALT), secret),
        }
    }

    /// The 32-byte sub-key for `label` (and `context`, e.g. a payload).
    pub(crate) fn sub_key(&self, label: &str, context: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: the expansion cannot fail.
        self.kdf
            .expand_multi_info(&[label.as_bytes(), &[0], context], &mut out)
            .expect("HKDF output length within limit");
        out
    }

    /// A ChaCha20 stream for one keyed choice.
    pub(crate) fn stream(&self, label: &str, context: &[u8]) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.sub_key(label, context))
    }
}

/// Argon2id (version 0x13) of a passphrase under the fixed salt: the 32-byte master secret.
fn stretch(passphrase: &[u8]) -> Result<[u8; 32]> {
    let params = Params::new(STRETCH_MEMORY_KIB, STRETCH_PASSES, 1, Some(32))
        .expect("constant Argon2 parameters are valid");
    let mut master = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, STRETCH_SALT, &mut master)
        .map_err(|e| Error::Unsupported(format!("watermark key: {e}")))?;
    Ok(master)
}

/// A uniform f64 in [0, 1) from a keyed stream (53 random bits).
pub(crate) fn unit(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// `n` signs (+1 / -1), each a fair coin under the key: the codeword of a payload.
pub(crate) fn signs(rng: &mut ChaCha20Rng, n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let word = rng.next_u64();
        for bit in 0..64.min(n - out.len()) {
            out.push(if word >> bit & 1 == 1 { 1.0 } else { -1.0 });
        }
    }
    out
}

/// The 32 bytes a watermark carries.
///
/// ```
/// use jpgtool::watermark::Payload;
///
/// let payload = Payload::from_text("(c) 2026 Jane Doe")?;
/// assert_eq!(&payload.0[..4], b"(c) ");
/// assert_eq!(Payload::from_hex(&payload.to_hex())?, payload);
/// assert!(Payload::from_text(&"x".repeat(33)).is_err()); // 32 bytes at most
/// # Ok::<(), jpgtool::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Payload(pub [u8; 32]);

impl Payload {
    /// From 64 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Result<Payload> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            // Quote at most 80 characters of what was given (characters, not bytes: a byte
            // index could fall inside a multi-byte character).
            let shown: String = hex.chars().take(80).collect();
            return Err(Error::Unsupported(format!(
                "payload must be 64 hexadecimal digits (32 bytes), got {shown:?}"
            )));
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex digits");
        }
        Ok(Payload(bytes))
    }

    /// From text of at most 32 bytes (UTF-8), padded with zero bytes.
    pub fn from_text(text: &str) -> Result<Payload> {
        Payload::from_bytes(text.as_bytes()).map_err(|_| {
            Error::Unsupported(format!(
                "payload text is {} bytes; at most 32 fit",
                text.len()
            ))
        })
    }

    /// From at most 32 bytes, padded with zero bytes (the Python binding's `payload=b"..."`).
    pub fn from_bytes(data: &[u8]) -> Result<Payload> {
        if data.len() > 32 {
            return Err(Error::Unsupported(format!(
                "payload is {} bytes; at most 32 fit",
                data.len()
            )));
        }
        let mut bytes = [0u8; 32];
        bytes[..data.len()].copy_from_slice(data);
        Ok(Payload(bytes))
    }

    /// Lowercase hex, 64 digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 5869 appendix A.1 (HKDF-SHA256 test case 1): the KDF under our keys is the standard.
    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let mut okm = [0u8; 42];
        Hkdf::<Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut okm)
            .unwrap();
        assert_eq!(
            okm.to_vec(),
            hex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
    }

    /// The stretch is standard Argon2id: the reference C implementation (Python's argon2-cffi,
    /// `hash_secret_raw(p, salt, time_cost=3, memory_cost=65536, parallelism=1, hash_len=32,
    /// type=Type.ID, version=19)`) gives the same 32 bytes.
    #[test]
    fn stretch_matches_the_argon2_reference_implementation() {
        assert_eq!(
            stretch(b"correct horse battery staple").unwrap().to_vec(),
            hex("ea2b05154d985783eae9a37fec8aa9fc8c339a7cd8eac872b8618ad21b9ab1f2")
        );
    }

    #[test]
    fn raw_keys_are_32_bytes_that_are_not_text() {
        let mut random = [0u8; 32];
        for (i, b) in random.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        assert_eq!(SecretKind::of(&random), SecretKind::Raw);
        assert_eq!(SecretKind::of(&random[..31]), SecretKind::Passphrase);
        assert_eq!(SecretKind::of(&[b'a'; 32]), SecretKind::Passphrase);
        assert_eq!(
            SecretKind::of(&[&[b'a'; 31][..], b"\n"].concat()),
            SecretKind::Passphrase
        );
        assert_eq!(
            SecretKind::of("é".repeat(16).as_bytes()),
            SecretKind::Passphrase
        );
        // A raw key is used as it is; the same bytes as a passphrase would be stretched.
        assert_eq!(
            Key::from_secret(&random).unwrap().sub_key("grid", b""),
            Key::from_raw(&random).sub_key("grid", b"")
        );
        assert_ne!(
            Key::from_passphrase(&random).unwrap().sub_key("grid", b""),
            Key::from_raw(&random).sub_key("grid", b"")
        );
    }

    #[test]
    fn sub_keys_are_separated_by_label_context_and_secret() {
        let a = Key::from_secret(b"secret").unwrap();
        let b = Key::from_secret(b"secret2").unwrap();
        assert_ne!(a.sub_key("grid", b""), a.sub_key("codeword", b""));
        assert_ne!(a.sub_key("codeword", b"x"), a.sub_key("codeword", b"y"));
        assert_ne!(a.sub_key("grid", b""), b.sub_key("grid", b""));
        assert_eq!(
            a.sub_key("grid", b""),
            Key::from_secret(b"secret").unwrap().sub_key("grid", b"")
        );
        // The label/context boundary is unambiguous ("ab"+"c" differs from "a"+"bc").
        assert_ne!(a.sub_key("ab", b"c"), a.sub_key("a", b"bc"));
        assert!(Key::from_secret(b"").is_err());
        assert!(Key::from_passphrase(b"").is_err());
    }

    /// The codeword signs are fair and uncorrelated: over 200 payloads x 74 signs the mean is
    /// within 4 standard errors of 0, and so is the correlation of two payloads' codewords.
    #[test]
    fn codeword_signs_are_balanced_and_independent() {
        let key = Key::from_secret(b"k").unwrap();
        let n = 74;
        let words: Vec<Vec<f32>> = (0..200u32)
            .map(|i| signs(&mut key.stream("codeword", &i.to_le_bytes()), n))
            .collect();
        let total: f32 = words.iter().flatten().sum();
        let count = (200 * n) as f32;
        assert!(total.abs() / count.sqrt() < 4.0, "mean {}", total / count);
        let mut corr = 0.0f32;
        for pair in words.windows(2) {
            corr += pair[0]
                .iter()
                .zip(&pair[1])
                .map(|(a, b)| a * b)
                .sum::<f32>();
        }
        let pairs = (199 * n) as f32;
        assert!(
            corr.abs() / pairs.sqrt() < 4.0,
            "correlation {}",
            corr / pairs
        );
    }

    #[test]
    fn payload_parsing() {
        let p = Payload::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(p.0, [0xab; 32]);
        assert_eq!(p.to_hex(), "ab".repeat(32));
        assert!(Payload::from_hex("abc").is_err());
        assert!(Payload::from_hex(&"zz".repeat(32)).is_err());
        let t = Payload::from_text("hello").unwrap();
        assert_eq!(&t.0[..5], b"hello");
        assert!(t.0[5..].iter().all(|&b| b == 0));
        assert!(Payload::from_text(&"x".repeat(33)).is_err());
        // A long wrong payload is quoted in the error up to 80 characters; the cut must not
        // fall inside a multi-byte character (byte 80 is inside the "é" here).
        let long = format!("{}é", "a".repeat(79));
        let message = Payload::from_hex(&long).unwrap_err().to_string();
        assert!(message.contains(&long), "{message}");
        let longer = format!("{}é", "a".repeat(100));
        let message = Payload::from_hex(&longer).unwrap_err().to_string();
        assert!(message.contains(&"a".repeat(80)) && !message.contains(&"a".repeat(81)));
    }

    #[test]
    fn key_files_lose_one_trailing_newline_of_a_passphrase() {
        assert_eq!(
            secret_from_key_file(b"secret\n".to_vec()).unwrap(),
            b"secret"
        );
        assert_eq!(
            secret_from_key_file(b"secret\r\n".to_vec()).unwrap(),
            b"secret"
        );
        assert_eq!(
            secret_from_key_file(b"secret\n\n".to_vec()).unwrap(),
            b"secret\n"
        );
        assert_eq!(secret_from_key_file(b"secret".to_vec()).unwrap(), b"secret");
        assert!(secret_from_key_file(b"\n".to_vec()).is_err());
        assert!(secret_from_key_file(Vec::new()).is_err());
        // 32 bytes that are not text are a raw key, kept whole even if they end in a newline.
        let mut raw = [0x80u8; 32];
        raw[31] = b'\n';
        assert_eq!(secret_from_key_file(raw.to_vec()).unwrap(), raw);
    }
}
