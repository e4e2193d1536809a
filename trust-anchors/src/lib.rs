//! DNSSEC trust anchors: the built-in root keys, unbound-compatible anchor
//! files and RFC 5011 automated updates.
//!
//! - [`rfc5011`]: the RFC 5011 state machine (pure: time comes in as a value).
//! - [`root`]: the built-in root KSKs (KSK-2017, KSK-2024).
//! - [`text`]: a zone-file (presentation format) reader for anchor files and
//!   test data, covering the DNSSEC types hickory-proto cannot read.
//!
//! This crate does no network I/O and reads no clock.

pub mod rfc5011;
pub mod root;
pub mod text;
