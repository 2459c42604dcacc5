//! Property: the key and payload parsers (`SecretKind::of`, `secret_from_key_file`,
//! `Payload::from_hex`, `Payload::from_text`, `Key::from_secret` for raw keys) never panic on
//! arbitrary bytes, and keep their documented contracts.
//!
//! Contracts checked: a secret is raw exactly when it has 32 bytes that are not text; a key
//! file's passphrase loses exactly one trailing LF or CRLF and nothing else, so `echo`'s output
//! gives the passphrase itself, and an empty result is refused; a hex payload is accepted
//! exactly when the trimmed text is 64 hex digits and then prints back as that text in lower
//! case; a text payload is accepted exactly when it has at most 32 bytes and is then those bytes
//! padded with zeros. Passphrases are not stretched here: one Argon2id call costs 64 MiB and a
//! fifth of a second, and its input handling is the `argon2` crate's.

#![no_main]

use jpgtool::watermark::{Key, Payload, SecretKind, secret_from_key_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let kind = SecretKind::of(data);
    let body = data
        .strip_suffix(b"\r\n")
        .or_else(|| data.strip_suffix(b"\n"))
        .unwrap_or(data);
    let text = std::str::from_utf8(body).is_ok_and(|s| !s.chars().any(char::is_control));
    assert_eq!(kind == SecretKind::Raw, data.len() == 32 && !text);

    match secret_from_key_file(data.to_vec()) {
        Ok(secret) => {
            assert!(!secret.is_empty());
            match kind {
                SecretKind::Raw => assert_eq!(secret, data),
                SecretKind::Passphrase => assert_eq!(secret, body),
            }
        }
        Err(_) => assert!(kind == SecretKind::Passphrase && body.is_empty()),
    }
    if kind == SecretKind::Raw {
        assert!(Key::from_secret(data).is_ok());
    }

    let string = String::from_utf8_lossy(data);
    let trimmed = string.trim();
    match Payload::from_hex(&string) {
        Ok(payload) => {
            assert!(trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(payload.to_hex(), trimmed.to_ascii_lowercase());
        }
        Err(_) => assert!(trimmed.len() != 64 || !trimmed.bytes().all(|b| b.is_ascii_hexdigit())),
    }
    match Payload::from_text(&string) {
        Ok(payload) => {
            assert!(string.len() <= 32);
            assert_eq!(&payload.0[..string.len()], string.as_bytes());
            assert!(payload.0[string.len()..].iter().all(|&b| b == 0));
        }
        Err(_) => assert!(string.len() > 32),
    }
});
