//! Escape hatches that relax checks. Nothing here belongs on a path that
//! authenticates a server for real; each item says what it gives up.

use crate::record::TlsaRecord;
pub use crate::rustls::ChainCollector;
use crate::secure::SecureTlsa;

/// Wraps TLSA records of **unknown provenance** (no DNSSEC validation) so
/// they can be matched: for tests, offline tools and `dane check` with
/// records given on the command line.
///
/// The result is marked [`crate::Provenance::Unvalidated`]: verdicts on it
/// report the match but [`crate::Verdict::is_authenticated`] is false, and
/// [`crate::DaneServerVerifier`] refuses the handshake.
pub fn tlsa_without_dnssec(records: Vec<TlsaRecord>) -> SecureTlsa {
    SecureTlsa::unvalidated(records)
}
