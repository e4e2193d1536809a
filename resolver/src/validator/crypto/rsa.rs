//! The RFC 3110 §2 RSA public key format used by DNSKEY algorithms 5, 7, 8
//! and 10.
//!
//! ```text
//!  Field             Size
//!  -----             ----
//!  exponent length   1 or 3 octets (see text)
//!  exponent          as specified by length field
//!  modulus           remaining space
//! ```
//! "For interoperability, the exponent and modulus are each limited to 4096
//! bits in length. The public key exponent is a variable length unsigned
//! integer. Its length in octets is represented as one octet if it is in the
//! range of 1 to 255 and by a zero octet followed by a two octet unsigned
//! length if it is longer than 255 bytes."
//!
//! It also verifies PKCS#1 v1.5 signatures by the small keys ring refuses
//! (moduli of 512 to 1023 bits, [`verify_small`]): public-key math only
//! (`s^e mod n` with `num-bigint`) and a comparison with the expected
//! encoding of the digest, which ring computes. No secret is involved, so
//! nothing here needs to be constant-time.

use num_bigint::BigUint;
use ring::digest as rd;

use super::{CryptoError, alg};

/// The smallest RSA modulus that can be validated at all, in bits. RFC 5702
/// §2: RSA/SHA-256 keys "MUST NOT be less than 512 bits" ("as in RFC
/// 3110"); smaller keys count as unsupported whatever the limits say.
pub(super) const MIN_RSA_BITS: u32 = 512;
/// The smallest RSA/SHA-512 modulus. RFC 5702 §2: RSA/SHA-512 keys "MUST
/// NOT be less than 1024 bits"; a smaller one counts as unsupported.
pub(super) const MIN_RSASHA512_BITS: u32 = 1024;
/// Moduli below this go through [`verify_small`]; from it up, through ring.
pub(super) const SMALL_RSA_BELOW_BITS: u32 = 1024;

/// An RSA public key split out of a DNSKEY public key field. Borrows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaPublicKey<'a> {
    /// The public exponent, big-endian.
    pub exponent: &'a [u8],
    /// The modulus, big-endian.
    pub modulus: &'a [u8],
}

impl<'a> RsaPublicKey<'a> {
    /// Parse the RFC 3110 §2 format; `None` when it is truncated or a part is
    /// empty.
    pub fn parse(key: &'a [u8]) -> Option<Self> {
        let (&first, rest) = key.split_first()?;
        let (exp_len, rest) = if first == 0 {
            // "a zero octet followed by a two octet unsigned length"
            let (len, rest) = rest.split_at_checked(2)?;
            (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
        } else {
            (usize::from(first), rest)
        };
        if exp_len == 0 {
            return None;
        }
        let (exponent, modulus) = rest.split_at_checked(exp_len)?;
        if modulus.is_empty() {
            return None;
        }
        Some(Self { exponent, modulus })
    }

    /// The modulus size in bits (leading zero bits not counted).
    pub fn modulus_bits(&self) -> u32 {
        significant_bits(self.modulus)
    }
}

/// The modulus size in bits of an RFC 3110 key, `None` when malformed.
pub fn rsa_modulus_bits(key: &[u8]) -> Option<u32> {
    RsaPublicKey::parse(key).map(|k| k.modulus_bits())
}

fn significant_bits(be: &[u8]) -> u32 {
    let Some(first) = be.iter().position(|&b| b != 0) else {
        return 0;
    };
    let bytes = u32::try_from(be.len() - first).unwrap_or(u32::MAX / 8);
    (bytes - 1) * 8 + (8 - be[first].leading_zeros())
}

/// RFC 8017 §9.2 Note 1: the DER `DigestInfo` prefix of SHA-1 (RSASHA1
/// and RSASHA1-NSEC3-SHA1, RFC 3110 §3) ...
const SHA1_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
/// ... and of SHA-256 (RSASHA256, RFC 5702 §3).
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Verify an RSASSA-PKCS1-v1_5 signature (RFC 8017 §8.2.2) by a key of
/// [`MIN_RSA_BITS`] to 1023 bits under RSASHA1, RSASHA1-NSEC3-SHA1 or
/// RSASHA256. The caller has checked the size against its policy; other
/// algorithms and sizes are refused here too.
pub(super) fn verify_small(
    alg_number: u8,
    key: &RsaPublicKey<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let bits = key.modulus_bits();
    let (prefix, hash): (&[u8], _) = match alg_number {
        // RFC 3110 §3: "hash = SHA1 ( data )", encoded as PKCS #1 v1.5.
        alg::RSASHA1 | alg::RSASHA1_NSEC3_SHA1 => (
            &SHA1_PREFIX,
            rd::digest(&rd::SHA1_FOR_LEGACY_USE_ONLY, message),
        ),
        // RFC 5702 §3: RSASSA-PKCS1-v1_5 with SHA-256.
        alg::RSASHA256 => (&SHA256_PREFIX, rd::digest(&rd::SHA256, message)),
        // RSASHA512 keys below 1024 bits are refused (RFC 5702 §2).
        other => return Err(CryptoError::UnsupportedAlgorithm(other)),
    };
    if !(MIN_RSA_BITS..SMALL_RSA_BELOW_BITS).contains(&bits) {
        return Err(CryptoError::UnsupportedAlgorithm(alg_number));
    }
    if key.modulus[0] == 0 {
        // As ring: the modulus is encoded without leading zero octets.
        return Err(CryptoError::MalformedKey("RSA modulus has leading zeros"));
    }
    if key.modulus[key.modulus.len() - 1] & 1 == 0 {
        return Err(CryptoError::MalformedKey("RSA modulus is even"));
    }
    let e = exponent(key.exponent)?;
    // k, the length of n in octets. RFC 8017 §8.2.2 step 1: "If the length
    // of the signature S is not k octets, output 'invalid signature'."
    let k = key.modulus.len();
    if signature.len() != k {
        return Err(CryptoError::MalformedSignature(
            "RSA signature is not as long as the modulus",
        ));
    }
    let n = BigUint::from_bytes_be(key.modulus);
    let s = BigUint::from_bytes_be(signature);
    // RFC 8017 §5.2.2 (RSAVP1) step 1: "If the signature representative s is
    // not between 0 and n - 1, output 'signature representative out of
    // range'".
    if s >= n {
        return Err(CryptoError::BadSignature);
    }
    // RSAVP1 step 2: m = s^e mod n; then I2OSP(m, k) (§8.2.2 step 2c).
    let m = pow_mod(&s, e, &n).to_bytes_be();
    // RFC 8017 §9.2 (EMSA-PKCS1-v1_5) steps 2–5:
    // EM = 0x00 || 0x01 || PS (0xff, at least 8) || 0x00 || DigestInfo.
    let t_len = prefix.len() + hash.as_ref().len();
    // Step 3: "If emLen < tLen + 11, output 'intended encoded message length
    // too short'" (cannot happen from 512 bits up; checked all the same).
    if k < t_len + 11 || m.len() > k {
        return Err(CryptoError::MalformedKey("RSA modulus too short"));
    }
    let mut em = vec![0u8; k];
    em[k - m.len()..].copy_from_slice(&m);
    let ps_end = k - t_len - 1;
    let ok = em[0] == 0x00
        && em[1] == 0x01
        && em[2..ps_end].iter().all(|&b| b == 0xff)
        && em[ps_end] == 0x00
        && &em[ps_end + 1..ps_end + 1 + prefix.len()] == prefix
        && &em[k - hash.as_ref().len()..] == hash.as_ref();
    // RFC 8017 §8.2.2 step 4: "If EM and EM' are the same, output 'valid
    // signature'; otherwise, output 'invalid signature'."
    if ok {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// `s^e mod n` by left-to-right square and multiply. For the short public
/// exponents allowed here (at most 33 bits, 17 steps for 65537) this is
/// about twice as fast as `BigUint::modpow` (18 against 40 µs for a 512-bit
/// key, `benches/verify.rs`), whose Montgomery setup costs more than it
/// saves.
fn pow_mod(s: &BigUint, e: u64, n: &BigUint) -> BigUint {
    let mut acc = s.clone();
    for bit in (0..63 - e.leading_zeros()).rev() {
        acc = &acc * &acc % n;
        if (e >> bit) & 1 == 1 {
            acc = &acc * s % n;
        }
    }
    acc
}

/// The public exponent as a number, if it is sane: odd, at least 3 and
/// below 2^33 (ring's bounds, so both paths accept the same exponents; the
/// bound also caps the cost of `s^e`).
fn exponent(be: &[u8]) -> Result<u64, CryptoError> {
    let be = &be[be.iter().position(|&b| b != 0).unwrap_or(be.len())..];
    if be.len() > 8 {
        return Err(CryptoError::MalformedKey("RSA exponent too large"));
    }
    let e = be.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if e < 3 || e & 1 == 0 || e >= 1 << 33 {
        return Err(CryptoError::MalformedKey(
            "RSA exponent is not odd, at least 3 and below 2^33",
        ));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3110_section2_short_and_long_exponent_lengths() {
        let short = [3u8, 1, 0, 1, 0x80, 0, 0];
        let k = RsaPublicKey::parse(&short).unwrap();
        assert_eq!(k.exponent, &[1, 0, 1]);
        assert_eq!(k.modulus_bits(), 24);
        let long = [0u8, 0, 1, 3, 0x01, 0xff];
        let k = RsaPublicKey::parse(&long).unwrap();
        assert_eq!(k.exponent, &[3]);
        assert_eq!(k.modulus_bits(), 9);
    }

    #[test]
    fn rfc3110_section2_truncated_keys_are_rejected() {
        for bad in [
            &[][..],
            &[0],
            &[0, 0],
            &[0, 0, 0, 1],
            &[3, 1, 0, 1],
            &[4, 1, 0, 1],
        ] {
            assert!(RsaPublicKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    fn key(exponent: &[u8], modulus: &[u8]) -> Vec<u8> {
        let mut k = vec![u8::try_from(exponent.len()).unwrap()];
        k.extend_from_slice(exponent);
        k.extend_from_slice(modulus);
        k
    }

    fn small(alg_number: u8, raw: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        verify_small(alg_number, &RsaPublicKey::parse(raw).unwrap(), b"m", sig)
    }

    #[test]
    fn small_rsa_refuses_bad_exponents_moduli_and_lengths() {
        let mut n = vec![0xc5u8; 64];
        n[63] = 0xc7;
        let sig = [0x01u8; 64];
        // A sane key and a signature below n: it just does not verify.
        assert_eq!(
            small(8, &key(&[1, 0, 1], &n), &sig),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            small(5, &key(&[3], &n), &sig),
            Err(CryptoError::BadSignature)
        );
        for e in [
            &[1u8][..],
            &[0],
            &[2],
            &[1, 0, 0],
            &[2, 0, 0, 0, 1],
            &[1; 9],
        ] {
            assert!(
                matches!(
                    small(8, &key(e, &n), &sig),
                    Err(CryptoError::MalformedKey(_))
                ),
                "exponent {e:?}"
            );
        }
        let mut even = n.clone();
        even[63] = 0xc6;
        assert!(matches!(
            small(8, &key(&[3], &even), &sig),
            Err(CryptoError::MalformedKey(_))
        ));
        let mut padded = vec![0u8];
        padded.extend_from_slice(&n);
        assert!(matches!(
            small(8, &key(&[3], &padded), &[0x01; 65]),
            Err(CryptoError::MalformedKey(_))
        ));
        // RFC 8017 §8.2.2 step 1: the signature is exactly k octets.
        for len in [0, 63, 65] {
            assert!(matches!(
                small(8, &key(&[3], &n), &vec![1; len]),
                Err(CryptoError::MalformedSignature(_))
            ));
        }
        // RFC 8017 §5.2.2: s must be below n.
        assert_eq!(
            small(8, &key(&[3], &n), &[0xff; 64]),
            Err(CryptoError::BadSignature)
        );
        // RSA/SHA-512 and sizes outside 512–1023 bits are not for this path.
        assert_eq!(
            small(10, &key(&[3], &n), &sig),
            Err(CryptoError::UnsupportedAlgorithm(10))
        );
        let mut n511 = n.clone();
        n511[0] = 0x7f;
        assert_eq!(
            small(8, &key(&[3], &n511), &sig),
            Err(CryptoError::UnsupportedAlgorithm(8))
        );
        let n1024 = [0xc5u8; 128];
        assert_eq!(
            small(8, &key(&[3], &n1024), &[1; 128]),
            Err(CryptoError::UnsupportedAlgorithm(8))
        );
    }
}
