//! The production backend: ring, plus aws-lc-rs for ECDSA P-384, OpenSSL
//! for Ed448 and our own small-RSA verifier (`rsa.rs`) for moduli of 512 to
//! 1023 bits.

use ring::digest as rd;
use ring::signature::{self as rs, RsaPublicKeyComponents, UnparsedPublicKey};

use super::rsa::{self, MIN_RSA_BITS, MIN_RSASHA512_BITS, RsaPublicKey, SMALL_RSA_BELOW_BITS};
use super::{Crypto, CryptoError, alg, digest};
use crate::validator::Limits;

/// ring's ceiling for RSA moduli (its floor, 1024 bits, is
/// `SMALL_RSA_BELOW_BITS`: smaller moduli go through `rsa::verify_small`).
const RING_MAX_RSA_BITS: u32 = 8192;

/// Crypto with ring (RSA from 1024 bits, ECDSA P-256, Ed25519,
/// SHA-1/256/384), aws-lc-rs (ECDSA P-384), `rsa.rs` (RSA of 512 to 1023 bits)
/// and OpenSSL (Ed448, which ring lacks).
#[derive(Clone, Debug)]
pub struct RingCrypto {
    min_rsa_bits: u32,
}

impl RingCrypto {
    /// The backend with the default policy ([`Limits::default`]: RSA keys
    /// of at least 512 bits).
    pub fn new() -> Self {
        Self::with_limits(&Limits::default())
    }

    /// The backend honouring [`Limits::min_rsa_bits`]. No limit goes below
    /// 512 bits (RFC 5702 §2), and RSA/SHA-512 needs 1024 bits whatever the
    /// limit.
    pub fn with_limits(limits: &Limits) -> Self {
        openssl_ready();
        Self {
            min_rsa_bits: limits.min_rsa_bits.max(MIN_RSA_BITS),
        }
    }

    /// The smallest RSA modulus this backend accepts, in bits.
    pub fn min_rsa_bits(&self) -> u32 {
        self.min_rsa_bits
    }

    /// Is an RSA modulus of `bits` bits acceptable under algorithm `alg`?
    /// Outside the range the key is "unsupported" (RFC 4035 §5.2: insecure).
    fn rsa_size_ok(&self, alg_number: u8, bits: u32) -> bool {
        let min = if alg_number == alg::RSASHA512 {
            // RFC 5702 §2: RSA/SHA-512 keys "MUST NOT be less than 1024 bits".
            self.min_rsa_bits.max(MIN_RSASHA512_BITS)
        } else {
            self.min_rsa_bits
        };
        (min..=RING_MAX_RSA_BITS).contains(&bits)
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
                    Some(key) => self.rsa_size_ok(alg, key.modulus_bits()),
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
                self,
                public_key,
                message,
                signature,
            ),
            alg::RSASHA256 => verify_rsa(
                alg,
                &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                self,
                public_key,
                message,
                signature,
            ),
            alg::RSASHA512 => verify_rsa(
                alg,
                &rs::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                self,
                public_key,
                message,
                signature,
            ),
            alg::ECDSAP256SHA256 => {
                // ring: as fast as aws-lc for P-256 (`ecdsa_backend`).
                let point = sec1_point::<64>(public_key, signature)?;
                UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_FIXED, &point[..=64])
                    .verify(message, signature)
                    .map_err(|_| CryptoError::BadSignature)
            }
            alg::ECDSAP384SHA384 => {
                // aws-lc: about 3.7× faster than ring for P-384
                // (`ecdsa_backend`).
                let point = sec1_point::<96>(public_key, signature)?;
                aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
                    &point[..=96],
                )
                .verify(message, signature)
                .map_err(|_| CryptoError::BadSignature)
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
    policy: &RingCrypto,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key = RsaPublicKey::parse(public_key)
        .ok_or(CryptoError::MalformedKey("truncated RFC 3110 RSA key"))?;
    let bits = key.modulus_bits();
    if !policy.rsa_size_ok(alg, bits) {
        return Err(CryptoError::UnsupportedAlgorithm(alg));
    }
    if bits < SMALL_RSA_BELOW_BITS {
        // ring refuses moduli below 1024 bits (`RSA_PKCS1_1024_8192_*`).
        return rsa::verify_small(alg, &key, message, signature);
    }
    RsaPublicKeyComponents {
        n: key.modulus,
        e: key.exponent,
    }
    .verify(params, message, signature)
    .map_err(|_| CryptoError::BadSignature)
}

/// RFC 6605 §4: the DNSKEY public key is `Q = x || y` (64 or 96 octets), the
/// signature `r || s` (same length); ring and aws-lc want the SEC1
/// uncompressed point `0x04 || x || y` (the first `N + 1` octets of the
/// result). P-384 goes through aws-lc-rs, not ring: its verify is about
/// 3.7× faster (`cargo bench -p danebound-resolver --bench verify --
/// ecdsa_backend`); P-256 stays on ring, as fast there. Both refuse a point
/// that is not on the curve, and an `r` or `s` of 0 or not below the group
/// order (SEC 1 §4.1.4 step 1); here that is `BadSignature`.
fn sec1_point<const N: usize>(
    public_key: &[u8],
    signature: &[u8],
) -> Result<[u8; 97], CryptoError> {
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
    Ok(point)
}

/// RFC 8032 §7.4 "Blank": an Ed448 public key and its signature of the
/// empty message, hex.
const ED448_BLANK: (&str, &str) = (
    "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
    "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600",
);

/// OpenSSL's one-time set-up (its configuration, the default provider,
/// the Ed448 method) done once per process when the first backend is
/// built, as unbound initialises OpenSSL at start, instead of inside the
/// first Ed448 question's resolution (about 2 ms of CPU on the cold case
/// list's first Ed448 name). One throw-away verification of RFC 8032
/// §7.4's "Blank" test: its result does not matter.
fn openssl_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        let hex = |s: &str| {
            data_encoding::HEXLOWER
                .decode(s.as_bytes())
                .unwrap_or_default()
        };
        let (key, sig) = (hex(ED448_BLANK.0), hex(ED448_BLANK.1));
        let _ = verify_ed448(&key, b"", &sig);
    });
}

/// RFC 8080 §3: Ed448 public keys are 57 octets, signatures 114; "Ed448"
/// of RFC 8032 with an empty context. Through OpenSSL (`openssl` crate on
/// the system's libssl, as unbound does): ring has no Ed448, and OpenSSL's
/// verify is 5.7× faster than the pure-Rust `ed448-goldilocks` this
/// replaced (`--bench verify -- ed448_backend`; docs/performance-history.md,
/// "Cold recursive resolution").
fn verify_ed448(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    use openssl::pkey::{Id, PKey};
    use openssl::sign::Verifier;

    if public_key.len() != 57 {
        return Err(CryptoError::MalformedKey("Ed448 key is not 57 octets"));
    }
    if signature.len() != 114 {
        return Err(CryptoError::MalformedSignature(
            "Ed448 signature is not 114 octets",
        ));
    }
    // OpenSSL takes any 57 octets here; a key that is not a curve point
    // fails the verification below (RFC 8032 §5.2.7 step 1: "If any of the
    // decodings fail ... the signature is invalid").
    let key = PKey::public_key_from_raw_bytes(public_key, Id::ED448)
        .map_err(|_| CryptoError::MalformedKey("Ed448 key"))?;
    let mut verifier =
        Verifier::new_without_digest(&key).map_err(|_| CryptoError::MalformedKey("Ed448 key"))?;
    // RFC 8032 §5.2.7 (S < L, decodings, the group equation) is OpenSSL's
    // `ossl_ed448_verify`; 0 and errors alike mean "does not verify".
    match verifier.verify_oneshot(signature, message) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(CryptoError::BadSignature),
    }
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

    fn rsa_key(modulus_octets: usize, first: u8) -> Vec<u8> {
        let mut key = vec![3, 1, 0, 1, first];
        key.extend(std::iter::repeat_n(0xc5, modulus_octets - 1));
        key
    }

    #[test]
    fn rfc5702_section2_rsa_from_512_bits_and_rsasha512_from_1024() {
        let c = RingCrypto::new();
        assert_eq!(c.min_rsa_bits(), 512);
        let key511 = rsa_key(64, 0x7f);
        let key512 = rsa_key(64, 0xc5);
        let key1023 = rsa_key(128, 0x7f);
        let key1024 = rsa_key(128, 0xc5);
        for a in [5, 7, 8] {
            assert!(!c.supports_algorithm(a, &key511), "algorithm {a}");
            assert_eq!(
                c.verify(a, &key511, b"m", &[0; 64]),
                Err(CryptoError::UnsupportedAlgorithm(a))
            );
            assert!(c.supports_algorithm(a, &key512), "algorithm {a}");
            assert!(c.supports_algorithm(a, &key1024), "algorithm {a}");
        }
        assert!(!c.supports_algorithm(10, &key512));
        assert!(!c.supports_algorithm(10, &key1023));
        assert_eq!(
            c.verify(10, &key1023, b"m", &[0; 128]),
            Err(CryptoError::UnsupportedAlgorithm(10))
        );
        assert!(c.supports_algorithm(10, &key1024));
        // Limits cannot push the floor below 512 bits; they can raise it.
        let lax = RingCrypto::with_limits(&Limits {
            min_rsa_bits: 256,
            ..Limits::default()
        });
        assert!(!lax.supports_algorithm(8, &key511));
        let strict = RingCrypto::with_limits(&Limits {
            min_rsa_bits: 2048,
            ..Limits::default()
        });
        assert!(!strict.supports_algorithm(8, &key1024));
        let old = RingCrypto::with_limits(&Limits {
            min_rsa_bits: 1024,
            ..Limits::default()
        });
        assert!(!old.supports_algorithm(8, &key512));
        assert!(old.supports_algorithm(8, &key1024));
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

    /// A fresh ECDSA key (ring's signer, a library other than the
    /// verifier's) as the DNSKEY holds it (RFC 6605 §4: `x || y`), and its
    /// `r || s` signature over `message`.
    fn ecdsa_signed(
        signing: &'static rs::EcdsaSigningAlgorithm,
        message: &[u8],
    ) -> (Vec<u8>, Vec<u8>) {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = rs::EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
        let pair = rs::EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).unwrap();
        let key = rs::KeyPair::public_key(&pair).as_ref()[1..].to_vec();
        let sig = pair.sign(&rng, message).unwrap().as_ref().to_vec();
        (key, sig)
    }

    /// RFC 6605 §4 on the ECDSA backend: a signature verifies; a flipped bit
    /// in the signature, the message or the key does not; a key that is
    /// not a point of the curve, and `r` or `s` of 0 or of the group order
    /// (SEC 1 §4.1.4 step 1: both in [1, n-1]), are errors, not panics.
    #[test]
    fn rfc6605_ecdsa_p256_and_p384_verify_and_reject_what_they_must() {
        const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
        const P384_N: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
        let c = RingCrypto::new();
        let message = b"\x00\x01\x0d\x03 the signed data of an RRset";
        for (alg, signing, n_hex) in [
            (13, &rs::ECDSA_P256_SHA256_FIXED_SIGNING, P256_N),
            (14, &rs::ECDSA_P384_SHA384_FIXED_SIGNING, P384_N),
        ] {
            let (key, sig) = ecdsa_signed(signing, message);
            let half = sig.len() / 2;
            assert_eq!(key.len(), sig.len(), "algorithm {alg}");
            assert_eq!(
                c.verify(alg, &key, message, &sig),
                Ok(()),
                "algorithm {alg}"
            );
            // The other curve's algorithm number: wrong lengths, errors.
            let other = if alg == 13 { 14 } else { 13 };
            assert!(c.verify(other, &key, message, &sig).is_err());
            for bit in [0, 7, 8 * half - 1, 8 * half, 8 * sig.len() - 1] {
                let mut bad = sig.clone();
                bad[bit / 8] ^= 0x80 >> (bit % 8);
                assert_eq!(
                    c.verify(alg, &key, message, &bad),
                    Err(CryptoError::BadSignature),
                    "algorithm {alg}, signature bit {bit}"
                );
            }
            let mut other_message = message.to_vec();
            other_message[3] ^= 1;
            assert_eq!(
                c.verify(alg, &key, &other_message, &sig),
                Err(CryptoError::BadSignature)
            );
            // Not points of the curve: y + 1 (x, y+1 and x, y are never both
            // on it), the all-zero "point", all ones.
            let mut off_curve = key.clone();
            let last = off_curve.len() - 1;
            off_curve[last] ^= 1;
            for bad_key in [off_curve, vec![0; key.len()], vec![0xff; key.len()]] {
                assert!(
                    c.verify(alg, &bad_key, message, &sig).is_err(),
                    "algorithm {alg}, key {bad_key:02x?}"
                );
            }
            // r or s out of range: 0, or n (the group order).
            let n = data_encoding::HEXLOWER.decode(n_hex.as_bytes()).unwrap();
            assert_eq!(n.len(), half);
            for (r, s) in [
                (&[0u8; 48][..half], &sig[half..]),
                (&sig[..half], &[0u8; 48][..half]),
                (&n[..], &sig[half..]),
                (&sig[..half], &n[..]),
            ] {
                let bad = [r, s].concat();
                assert_eq!(
                    c.verify(alg, &key, message, &bad),
                    Err(CryptoError::BadSignature),
                    "algorithm {alg}, r || s {bad:02x?}"
                );
            }
        }
    }

    /// RFC 8032 §7.4 "Blank" (Ed448, empty message), the vector the
    /// start-up warm-up verifies: it does verify, and a flipped bit does not.
    #[test]
    fn rfc8032_section7_4_blank_ed448_vector() {
        let c = RingCrypto::new();
        let hex = |s: &str| data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap();
        let (key, mut sig) = (hex(ED448_BLANK.0), hex(ED448_BLANK.1));
        assert_eq!(c.verify(16, &key, b"", &sig), Ok(()));
        sig[3] ^= 1;
        assert_eq!(
            c.verify(16, &key, b"", &sig),
            Err(CryptoError::BadSignature)
        );
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
