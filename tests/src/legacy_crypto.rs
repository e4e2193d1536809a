//! A test-only crypto backend that also verifies RSA signatures by keys of
//! 512 to 1023 bits, which ring refuses and RFC 8624 policy makes
//! unsupported. It lets the 512-bit vectors (RFC 5702 §6.1, several of
//! unbound's files) be checked for their exact verdicts. It "provides NO
//! SECURITY" guarantees beyond correctness on test data: never use it to
//! validate.
//!
//! Also compiled into `resolver/tests/common` (by `#[path]`).

#![allow(dead_code, unreachable_pub)]

use danebound_resolver::validator::crypto::{CryptoError, RsaPublicKey, alg};
use danebound_resolver::validator::{Crypto, RingCrypto};
use num_bigint::BigUint;
use ring::digest;

/// RingCrypto plus small-RSA PKCS#1 v1.5 verification.
#[derive(Debug, Default)]
pub struct LegacyRsaCrypto(RingCrypto);

fn small_rsa(alg_number: u8, key: &[u8]) -> Option<RsaPublicKey<'_>> {
    if !alg::is_rsa(alg_number) {
        return None;
    }
    RsaPublicKey::parse(key).filter(|k| (512..1024).contains(&k.modulus_bits()))
}

impl Crypto for LegacyRsaCrypto {
    fn supports_algorithm(&self, alg_number: u8, public_key: &[u8]) -> bool {
        small_rsa(alg_number, public_key).is_some()
            || self.0.supports_algorithm(alg_number, public_key)
    }

    fn verify(
        &self,
        alg_number: u8,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let Some(key) = small_rsa(alg_number, public_key) else {
            return self.0.verify(alg_number, public_key, message, signature);
        };
        // RFC 8017 §8.2.2 / §9.2: EM = 0x00 01 FF..FF 00 || DigestInfo || H.
        let (prefix, hash): (&[u8], _) = match alg_number {
            alg::RSASHA1 | alg::RSASHA1_NSEC3_SHA1 => (
                &[
                    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
                    0x04, 0x14,
                ],
                digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, message),
            ),
            alg::RSASHA256 => (
                &[
                    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
                ],
                digest::digest(&digest::SHA256, message),
            ),
            _ => (
                &[
                    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
                ],
                digest::digest(&digest::SHA512, message),
            ),
        };
        let n = BigUint::from_bytes_be(key.modulus);
        let k = n.to_bytes_be().len();
        if signature.len() != k {
            return Err(CryptoError::MalformedSignature("RSA signature length"));
        }
        let s = BigUint::from_bytes_be(signature);
        if s >= n {
            return Err(CryptoError::BadSignature);
        }
        let m = s
            .modpow(&BigUint::from_bytes_be(key.exponent), &n)
            .to_bytes_be();
        let mut em = vec![0u8; k - m.len()];
        em.extend(m);
        let t_len = prefix.len() + hash.as_ref().len();
        if k < t_len + 11 {
            return Err(CryptoError::MalformedKey("RSA modulus too short"));
        }
        let mut expected = vec![0x00, 0x01];
        expected.extend(std::iter::repeat_n(0xff, k - t_len - 3));
        expected.push(0x00);
        expected.extend_from_slice(prefix);
        expected.extend_from_slice(hash.as_ref());
        if em == expected {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    fn supports_digest(&self, digest_type: u8) -> bool {
        self.0.supports_digest(digest_type)
    }

    fn digest(&self, digest_type: u8, data: &[u8]) -> Option<Vec<u8>> {
        self.0.digest(digest_type, data)
    }

    fn nsec3_hash(&self, owner: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
        self.0.nsec3_hash(owner, salt, iterations)
    }
}
