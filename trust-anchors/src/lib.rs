//! DNSSEC trust anchors: the built-in root keys, unbound-compatible anchor
//! files and (in a later stage) RFC 5011 automated updates.
//!
//! This crate does no network I/O and reads no clock.

pub mod root;
