//! danebound's resolver: the DNSSEC validator, the engine that drives it, the
//! cache and the local server.
//!
//! # What this crate does
//! - [`validator`]: an I/O-free DNSSEC validator (RFC 4033–4035, 5155, 6840,
//!   8624, 9276). It never reads a clock, a socket or a file: time is a
//!   parameter and missing DNSKEY/DS sets are requested from the caller.
//! - [`wire`]: the one import seam for hickory-proto's wire types.
//!
//! # What this crate does not do
//! - It does not decide DANE matches (that is `danebound-verifier`).
//! - It does not persist trust anchors (that is `danebound-trust-anchors`).

pub mod clock;
pub mod transport;
pub mod validator;
pub mod wire;
