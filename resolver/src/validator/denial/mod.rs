//! Authenticated denial of existence: NSEC (RFC 4035 §5.4) and NSEC3 (RFC 5155 §8).
//!
//! Pure predicates over records whose signatures the caller has already
//! verified: [`nsec`] and [`nsec3`] decide whether those records prove what a
//! negative answer, a referral or a wildcard expansion claims. [`proof`] holds
//! the shared result type ([`DenialResult`]) and canonical-order name
//! arithmetic.
//!
//! # What it does not do
//! - No signature checks: every record comes in already verified.
//! - No I/O and no clock; NSEC3 hashing is charged to the session's
//!   [`Budget`](crate::validator::Budget) (CVE-2023-50868).

pub mod nsec;
pub mod nsec3;
pub mod proof;

pub use proof::DenialResult;
