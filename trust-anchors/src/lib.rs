//! DNSSEC trust anchors: the built-in root keys, unbound-compatible anchor
//! files and RFC 5011 automated updates.
//!
//! - [`rfc5011`]: the RFC 5011 state machine (pure: time comes in as a value).
//! - [`autotrust_file`]: unbound's auto-trust-anchor-file format, read and written.
//! - [`store`]: atomic, durable writes of state files.
//! - [`time_text`]: dates as text (ctime, UTC) without a clock.
//! - [`root_anchors_xml`]: IANA's root-anchors.xml (RFC 7958, RFC 9718).
//! - [`root`]: the built-in root KSKs (KSK-2017, KSK-2024).
//! - [`text`]: a zone-file (presentation format) reader for anchor files and
//!   test data, covering the DNSSEC types hickory-proto cannot read.
//!
//! This crate does no network I/O and reads no clock; its only I/O is the
//! anchor files it is asked to read and write ([`store`]).

pub mod autotrust_file;
pub mod rfc5011;
pub mod root;
pub mod root_anchors_xml;
pub mod store;
pub mod text;
pub mod time_text;

/// The skip rules of `danebound-tests` (one file, shared by path: this
/// crate cannot depend on that one).
#[cfg(test)]
#[path = "../../tests/src/skip.rs"]
pub(crate) mod skip;

/// A file of the shared reference data (`../shared` or `$DANEBOUND_SHARED`)
/// for test `test`; skips it (or fails it in CI) when absent.
#[cfg(test)]
pub(crate) fn shared_file(test: &str, path: &str) -> Option<String> {
    let p = skip::shared_path(test, path)?;
    std::fs::read_to_string(p).ok()
}
