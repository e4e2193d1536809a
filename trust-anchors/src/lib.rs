//! DNSSEC trust anchors: the built-in root keys, unbound-compatible anchor
//! files and (in a later stage) RFC 5011 automated updates.
//!
//! - [`root`]: the built-in root KSKs (KSK-2017, KSK-2024).
//! - [`text`]: a zone-file (presentation format) reader for anchor files and
//!   test data, covering the DNSSEC types hickory-proto cannot read.
//!
//! This crate does no network I/O and reads no clock.

pub mod root;
pub mod text;
