//! Cryptographic backends behind one small trait.
//!
//! The validator never names a crypto library: it asks a [`Crypto`] whether an
//! algorithm is usable, to verify a signature, to hash a DNSKEY for a DS
//! comparison and to compute NSEC3 hashes. [`RingCrypto`] is the production
//! backend (ring for RSA from 1024 bits, ECDSA P-256, Ed25519 and the
//! digests; aws-lc-rs for ECDSA P-384, about 3.7× faster than ring's;
//! `rsa.rs` with `num-bigint` for RSA of 512 to 1023 bits, which ring
//! refuses; OpenSSL, through the `openssl` crate, for Ed448, which ring
//! lacks).
//!
//! # Algorithm policy (RFC 8624 §3.1)
//! - Validated: 5 RSASHA1, 7 RSASHA1-NSEC3-SHA1, 8 RSASHA256, 10 RSASHA512,
//!   13 ECDSAP256SHA256, 14 ECDSAP384SHA384, 15 ED25519, 16 ED448.
//! - Never validated: 1 RSAMD5, 3 DSA, 6 DSA-NSEC3-SHA1, 12 ECC-GOST ("MUST
//!   NOT" validate), and every unknown or private algorithm (253, 254).
//! - RSA moduli below [`Limits::min_rsa_bits`](super::Limits) (default and
//!   floor 512 bits, RFC 5702 §2), and RSA/SHA-512 moduli below 1024 bits
//!   (RFC 5702 §2), count as unsupported too.
//!
//! An algorithm that is not supported makes a zone *insecure*, not bogus
//! (RFC 4035 §5.2, RFC 6840 §5.2). A key that is malformed for a supported
//! algorithm is reported by [`Crypto::verify`] and leads to *bogus*.
//!
//! # What it does not do
//! No key caching: keys are parsed on every call, which is what ring's
//! `UnparsedPublicKey` does anyway (see `performance.md` §3).

mod ring_backend;
mod rsa;

use std::fmt;

pub use ring_backend::RingCrypto;
pub use rsa::{RsaPublicKey, rsa_modulus_bits};

/// A DNSSEC crypto backend. Object safe: the validator holds a `&dyn Crypto`.
///
/// Implementations never panic on malformed keys or signatures; they return
/// an error or `false`.
pub trait Crypto: Send + Sync + fmt::Debug {
    /// May signatures of DNSSEC algorithm `alg` by this `public_key` (the
    /// DNSKEY public key field) be validated?
    ///
    /// `false` means "treat as unsupported": the zone is insecure unless
    /// another, supported key path exists. A malformed key of a supported
    /// algorithm is *supported* (it then fails in [`verify`](Self::verify),
    /// which makes the data bogus), so an empty `public_key` asks whether the
    /// algorithm itself is supported.
    fn supports_algorithm(&self, alg: u8, public_key: &[u8]) -> bool;

    /// Verify `signature` (the RRSIG signature field) over `message` (the
    /// RFC 4034 §3.1.8.1 signed data) with `public_key` (the DNSKEY public
    /// key field) under DNSSEC algorithm `alg`.
    fn verify(
        &self,
        alg: u8,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;

    /// Is DS digest type `digest_type` supported (1 SHA-1, 2 SHA-256,
    /// 4 SHA-384)?
    fn supports_digest(&self, digest_type: u8) -> bool;

    /// The DS digest of `data`, or `None` for an unsupported digest type.
    fn digest(&self, digest_type: u8, data: &[u8]) -> Option<Vec<u8>>;

    /// The RFC 5155 §5 NSEC3 hash (SHA-1, hash algorithm 1):
    /// `IH(salt, x, 0) = H(x || salt)`, `IH(salt, x, k) = H(IH(salt, x, k-1) ||
    /// salt)`, with `x` the owner name in canonical (lowercased) wire form.
    /// The caller lowercases the name and bounds `iterations` (RFC 9276).
    fn nsec3_hash(&self, owner_wire_lowercased: &[u8], salt: &[u8], iterations: u16) -> [u8; 20];
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The algorithm is not supported by this backend or by policy.
    UnsupportedAlgorithm(u8),
    /// The public key cannot be parsed for its algorithm.
    MalformedKey(&'static str),
    /// The signature has the wrong shape for its algorithm.
    MalformedSignature(&'static str),
    /// The signature does not verify.
    BadSignature,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedAlgorithm(alg) => write!(f, "unsupported DNSSEC algorithm {alg}"),
            Self::MalformedKey(what) => write!(f, "malformed public key: {what}"),
            Self::MalformedSignature(what) => write!(f, "malformed signature: {what}"),
            Self::BadSignature => f.write_str("signature does not verify"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers").
pub mod alg {
    /// 1: RSA/MD5. RFC 8624 §3.1: MUST NOT validate.
    pub const RSAMD5: u8 = 1;
    /// 3: DSA/SHA-1. RFC 8624 §3.1: MUST NOT validate.
    pub const DSA: u8 = 3;
    /// 5: RSA/SHA-1 (RFC 3110).
    pub const RSASHA1: u8 = 5;
    /// 6: DSA-NSEC3-SHA1. RFC 8624 §3.1: MUST NOT validate.
    pub const DSA_NSEC3_SHA1: u8 = 6;
    /// 7: RSASHA1-NSEC3-SHA1 (RFC 5155).
    pub const RSASHA1_NSEC3_SHA1: u8 = 7;
    /// 8: RSA/SHA-256 (RFC 5702).
    pub const RSASHA256: u8 = 8;
    /// 10: RSA/SHA-512 (RFC 5702).
    pub const RSASHA512: u8 = 10;
    /// 12: GOST R 34.10-2001. RFC 8624 §3.1: MUST NOT validate.
    pub const ECC_GOST: u8 = 12;
    /// 13: ECDSA P-256 with SHA-256 (RFC 6605).
    pub const ECDSAP256SHA256: u8 = 13;
    /// 14: ECDSA P-384 with SHA-384 (RFC 6605).
    pub const ECDSAP384SHA384: u8 = 14;
    /// 15: Ed25519 (RFC 8080).
    pub const ED25519: u8 = 15;
    /// 16: Ed448 (RFC 8080).
    pub const ED448: u8 = 16;

    /// Is `alg` one of the RSA algorithms (RFC 3110 key format)?
    pub fn is_rsa(alg: u8) -> bool {
        matches!(alg, RSASHA1 | RSASHA1_NSEC3_SHA1 | RSASHA256 | RSASHA512)
    }
}

/// DS digest type numbers (IANA "Delegation Signer (DS) Resource Record
/// (RR) Type Digest Algorithms").
pub mod digest {
    /// 1: SHA-1 (RFC 4034).
    pub const SHA1: u8 = 1;
    /// 2: SHA-256 (RFC 4509).
    pub const SHA256: u8 = 2;
    /// 4: SHA-384 (RFC 6605).
    pub const SHA384: u8 = 4;
}
