//! The production backend: ring, plus `ed448-goldilocks` for Ed448.

use ring::digest as rd;
use ring::signature::{self as rs, RsaPublicKeyComponents, UnparsedPublicKey};

use super::rsa::RsaPublicKey;
use super::{Crypto, CryptoError, alg, digest};
use crate::validator::Limits;

/// ring's floor: its RSA verification refuses moduli below 1024 bits
/// (`RSA_PKCS1_1024_8192_*`).
const RING_MIN_RSA_BITS: u32 = 1024;
/// ring's ceiling for RSA moduli.
const RING_MAX_RSA_BITS: u32 = 8192;

/// Crypto with ring (RSA, ECDSA, Ed25519, SHA-1/256/384) and the pure-Rust
/// `ed448-goldilocks` (Ed448).
#[derive(Clone, Debug)]
pub struct RingCrypto {
    min_rsa_bits: u32,
}

impl RingCrypto {
    /// The backend with the default policy: RSA keys of at least 1024 bits.
    pub fn new() -> Self {
        Self {
            min_rsa_bits: RING_MIN_RSA_BITS,
        }
    }

    /// The backend honouring [`Limits::min_rsa_bits`]. ring cannot verify
    /// moduli below 1024 bits, so a lower limit still leaves them
    /// unsupported.
    pub fn with_limits(limits: &Limits) -> Self {
        Self {
            min_rsa_bits: limits.min_rsa_bits.max(RING_MIN_RSA_BITS),
        }
    }

    /// The smallest RSA modulus this backend accepts, in bits.
    pub fn min_rsa_bits(&self) -> u32 {
        self.min_rsa_bits
    }
}

impl Default for RingCrypto {
    fn default() -> Self {
        Self::new()
    }
}

impl Crypto for RingCrypto {
    fn supports_algorithm(&self, alg: u8, public_key: &[u8]) -> bool {
        match alg {
            alg::RSASHA1 | alg::RSASHA1_NSEC3_SHA1 | alg::RSASHA256 | alg::RSASHA512 => {
                // A malformed key is "supported" and fails in `verify`.
                match RsaPublicKey::parse(public_key) {
                    Some(key) => {
                        let bits = key.modulus_bits();
                        (self.min_rsa_bits..=RING_MAX_RSA_BITS).contains(&bits)
                    }
                    None => true,
                }
            }
            alg::ECDSAP256SHA256 | alg::ECDSAP384SHA384 | alg::ED25519 | alg::ED448 => true,
            // RFC 8624 §3.1: RSAMD5 (1), DSA (3), DSA-NSEC3-SHA1 (6) and
            // ECC-GOST (12) "MUST NOT" be validated; unknown and private
            // algorithms cannot be.
            _ => false,
        }
    }

    fn verify(
        &self,
        alg: u8,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        match alg {
            alg::RSASHA1 | alg::RSASHA1_NSEC3_SHA1 => verify_rsa(
                alg,
                &rs::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                self.min_rsa_bits,
                public_key,
                message,
                signature,
            ),
            alg::RSASHA256 => verify_rsa(
                alg,
                &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                self.min_rsa_bits,
                public_key,
                message,
                signature,
            ),
            alg::RSASHA512 => verify_rsa(
                alg,
                &rs::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                self.min_rsa_bits,
                public_key,
                message,
                signature,
            ),
            alg::ECDSAP256SHA256 => {
                verify_ecdsa::<64>(&rs::ECDSA_P256_SHA256_FIXED, public_key, message, signature)
            }
            alg::ECDSAP384SHA384 => {
                verify_ecdsa::<96>(&rs::ECDSA_P384_SHA384_FIXED, public_key, message, signature)
            }
            alg::ED25519 => {
                // RFC 8080 §3: 32-octet public key, 64-octet signature.
                if public_key.len() != 32 {
                    return Err(CryptoError::MalformedKey("Ed25519 key is not 32 octets"));
                }
                if signature.len() != 64 {
                    return Err(CryptoError::MalformedSignature(
                        "Ed25519 signature is not 64 octets",
                    ));
                }
                UnparsedPublicKey::new(&rs::ED25519, public_key)
                    .verify(message, signature)
                    .map_err(|_| CryptoError::BadSignature)
            }
            alg::ED448 => verify_ed448(public_key, message, signature),
            other => Err(CryptoError::UnsupportedAlgorithm(other)),
        }
    }

    fn supports_digest(&self, digest_type: u8) -> bool {
        matches!(digest_type, digest::SHA1 | digest::SHA256 | digest::SHA384)
    }

    fn digest(&self, digest_type: u8, data: &[u8]) -> Option<Vec<u8>> {
        let algorithm = match digest_type {
            digest::SHA1 => &rd::SHA1_FOR_LEGACY_USE_ONLY,
            digest::SHA256 => &rd::SHA256,
            digest::SHA384 => &rd::SHA384,
            _ => return None,
        };
        Some(rd::digest(algorithm, data).as_ref().to_vec())
    }

    fn nsec3_hash(&self, owner_wire_lowercased: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
        // RFC 5155 §5: IH(salt, x, 0) = H(x || salt).
        let mut ctx = rd::Context::new(&rd::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(owner_wire_lowercased);
        ctx.update(salt);
        let mut hash = [0u8; 20];
        hash.copy_from_slice(ctx.finish().as_ref());
        if iterations == 0 {
            return hash;
        }
        // IH(salt, x, k) = H(IH(salt, x, k-1) || salt). One buffer, reused:
        // a salt is at most 255 octets (RFC 5155 §3.2).
        let mut buf = [0u8; 20 + 255];
        let salt = &salt[..salt.len().min(255)];
        let len = 20 + salt.len();
        buf[20..len].copy_from_slice(salt);
        for _ in 0..iterations {
            buf[..20].copy_from_slice(&hash);
            hash.copy_from_slice(rd::digest(&rd::SHA1_FOR_LEGACY_USE_ONLY, &buf[..len]).as_ref());
        }
        hash
    }
}

fn verify_rsa(
    alg: u8,
    params: &'static rs::RsaParameters,
    min_bits: u32,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key = RsaPublicKey::parse(public_key)
        .ok_or(CryptoError::MalformedKey("truncated RFC 3110 RSA key"))?;
    let bits = key.modulus_bits();
    if !(min_bits..=RING_MAX_RSA_BITS).contains(&bits) {
        return Err(CryptoError::UnsupportedAlgorithm(alg));
    }
    RsaPublicKeyComponents {
        n: key.modulus,
        e: key.exponent,
    }
    .verify(params, message, signature)
    .map_err(|_| CryptoError::BadSignature)
}

/// RFC 6605 §4: the DNSKEY public key is `Q = x || y` (64 or 96 octets), the
/// signature `r || s` (same length); ring wants the SEC1 uncompressed point
/// `0x04 || x || y`.
fn verify_ecdsa<const N: usize>(
    algorithm: &'static rs::EcdsaVerificationAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    if public_key.len() != N {
        return Err(CryptoError::MalformedKey("ECDSA key has the wrong length"));
    }
    if signature.len() != N {
        return Err(CryptoError::MalformedSignature(
            "ECDSA signature has the wrong length",
        ));
    }
    let mut point = [0u8; 97];
    point[0] = 0x04;
    point[1..=N].copy_from_slice(public_key);
    UnparsedPublicKey::new(algorithm, &point[..=N])
        .verify(message, signature)
        .map_err(|_| CryptoError::BadSignature)
}

/// RFC 8080 §3: Ed448 public keys are 57 octets, signatures 114; "Ed448"
/// of RFC 8032 with an empty context.
fn verify_ed448(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    let key: &[u8; 57] = public_key
        .try_into()
        .map_err(|_| CryptoError::MalformedKey("Ed448 key is not 57 octets"))?;
    if signature.len() != 114 {
        return Err(CryptoError::MalformedSignature(
            "Ed448 signature is not 114 octets",
        ));
    }
    let key = ed448_goldilocks::VerifyingKey::from_bytes(key)
        .map_err(|_| CryptoError::MalformedKey("Ed448 key is not a curve point"))?;
    let sig = ed448_goldilocks::Signature::from_slice(signature)
        .map_err(|_| CryptoError::MalformedSignature("Ed448 signature"))?;
    key.verify_raw(&sig, message)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8624_section3_1_must_not_validate_algorithms_are_unsupported() {
        let c = RingCrypto::new();
        for a in [0, 1, 2, 3, 4, 6, 9, 11, 12, 17, 252, 253, 254, 255] {
            assert!(!c.supports_algorithm(a, &[]), "algorithm {a}");
            assert_eq!(
                c.verify(a, &[1, 2], b"m", &[0; 64]),
                Err(CryptoError::UnsupportedAlgorithm(a))
            );
        }
        for a in [5, 7, 8, 10, 13, 14, 15, 16] {
            assert!(c.supports_algorithm(a, &[]), "algorithm {a}");
        }
    }

    #[test]
    fn rfc8624_section3_1_rsa_below_1024_bits_is_unsupported() {
        let c = RingCrypto::new();
        let mut key512 = vec![3, 1, 0, 1];
        key512.extend(std::iter::repeat_n(0xc5, 64));
        assert!(!c.supports_algorithm(8, &key512));
        let mut key1024 = vec![3, 1, 0, 1];
        key1024.extend(std::iter::repeat_n(0xc5, 128));
        assert!(c.supports_algorithm(8, &key1024));
        // Limits cannot push ring below its floor.
        let lax = RingCrypto::with_limits(&Limits {
            min_rsa_bits: 512,
            ..Limits::default()
        });
        assert!(!lax.supports_algorithm(8, &key512));
        let strict = RingCrypto::with_limits(&Limits {
            min_rsa_bits: 2048,
            ..Limits::default()
        });
        assert!(!strict.supports_algorithm(8, &key1024));
    }

    #[test]
    fn malformed_keys_and_signatures_are_errors_not_panics() {
        let c = RingCrypto::new();
        for a in [5, 7, 8, 10, 13, 14, 15, 16] {
            for key in [&[][..], &[0], &[0, 0, 0], &[1, 3], &[0xff; 300][..]] {
                for sig in [&[][..], &[0; 3], &[0; 64], &[0; 114], &[0xff; 600][..]] {
                    assert!(c.verify(a, key, b"msg", sig).is_err());
                }
            }
        }
    }

    #[test]
    fn digest_types_1_2_4_and_nothing_else() {
        let c = RingCrypto::new();
        assert_eq!(c.digest(1, b"abc").map(|d| d.len()), Some(20));
        assert_eq!(c.digest(2, b"abc").map(|d| d.len()), Some(32));
        assert_eq!(c.digest(4, b"abc").map(|d| d.len()), Some(48));
        for t in [0, 3, 5, 255] {
            assert!(!c.supports_digest(t));
            assert!(c.digest(t, b"abc").is_none());
        }
    }

    /// RFC 5155 Appendix A: H(example) with salt aabbccdd and 12 iterations
    /// is 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom (base32hex).
    #[test]
    fn rfc5155_appendix_a_nsec3_hash_of_example() {
        let c = RingCrypto::new();
        let owner = b"\x07example\x00";
        let h = c.nsec3_hash(owner, &[0xaa, 0xbb, 0xcc, 0xdd], 12);
        assert_eq!(
            data_encoding::BASE32HEX_NOPAD
                .encode(&h)
                .to_ascii_lowercase(),
            "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
        );
        // a.example -> 35mthgpgcu1qg68fab165klnsnk3dpvl
        let h = c.nsec3_hash(b"\x01a\x07example\x00", &[0xaa, 0xbb, 0xcc, 0xdd], 12);
        assert_eq!(
            data_encoding::BASE32HEX_NOPAD
                .encode(&h)
                .to_ascii_lowercase(),
            "35mthgpgcu1qg68fab165klnsnk3dpvl"
        );
    }
}
