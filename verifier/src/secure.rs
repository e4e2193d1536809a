//! The authenticated input: TLSA records whose DNSSEC validation was Secure.

use crate::params::Profile;
use crate::record::TlsaRecord;

/// A TLSA RRset that may authenticate a TLS server.
///
/// RFC 6698 §4: TLSA records are only usable when DNSSEC validation says
/// they are secure; an insecure RRset means DANE does not apply and a bogus
/// one means the connection must not go ahead (RFC 7672 §2.2.3). This crate does no DNS, so it cannot check
/// that itself: instead, the only way into [`crate::verify`] is this type,
/// and it has two constructors whose names say what the caller asserts.
///
/// * [`SecureTlsa::from_validated`] is the production path. Call it **only**
///   with the RDATA of a TLSA RRset whose validation outcome was Secure:
///   in danebound, the records inside the resolver's
///   `LookupOutcome::Secure(records)` and nothing else. Insecure, bogus and
///   indeterminate outcomes are not TLSA data at all; the caller maps them
///   to "no DANE" or "defer" (RFC 7672 §2.2) before this point.
/// * [`crate::danger::tlsa_without_dnssec`] builds the same type from
///   records of unknown provenance (tests, offline tools, `dane check
///   --tlsa`). Verdicts built on it say so: [`SecureTlsa::provenance`] and
///   [`crate::Verdict::provenance`] report [`Provenance::Unvalidated`].
///
/// Wiring in the CLI (the resolver is not a dependency of this crate):
///
/// ```ignore
/// let tlsa = match resolver.lookup(&tlsa_name, RecordType::TLSA).await? {
///     LookupOutcome::Secure(rrset) => SecureTlsa::from_validated(
///         rrset.iter().map(|rr| TlsaRecord::from_rdata(&rr.rdata_wire())),
///     )?,
///     LookupOutcome::Insecure(_) => return no_dane(),      // RFC 6698 §4
///     LookupOutcome::Bogus(reason) => return defer(reason), // RFC 7672 §2.1.1
///     _ => return defer_indeterminate(),
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecureTlsa {
    records: Vec<TlsaRecord>,
    provenance: Provenance,
}

impl SecureTlsa {
    /// The records of a TLSA RRset that validated **Secure**.
    ///
    /// Takes the records as parsed RDATA results so that a truncated RDATA
    /// is reported rather than silently dropped: an RRset with a record that
    /// does not even have the three fixed octets is refused whole, since a
    /// validator that passed it on has a bug.
    pub fn from_validated<I, E>(records: I) -> Result<Self, E>
    where
        I: IntoIterator<Item = Result<TlsaRecord, E>>,
    {
        Ok(Self {
            records: records.into_iter().collect::<Result<_, _>>()?,
            provenance: Provenance::DnssecSecure,
        })
    }

    pub(crate) fn unvalidated(records: Vec<TlsaRecord>) -> Self {
        Self {
            records,
            provenance: Provenance::Unvalidated,
        }
    }

    /// The records, as published (usable or not).
    pub fn records(&self) -> &[TlsaRecord] {
        &self.records
    }

    /// Where the records came from.
    pub fn provenance(&self) -> Provenance {
        self.provenance
    }

    /// Whether any record is usable under `profile` (RFC 7671 §4; RFC 7672
    /// §3.1.3 for SMTP). For SMTP, a secure RRset with no usable record
    /// means TLS without authentication (RFC 7672 §2.2); with one, DANE
    /// authentication is mandatory.
    pub fn any_usable(&self, profile: Profile) -> bool {
        self.records.iter().any(|r| r.usability(profile).is_ok())
    }
}

/// Where a [`SecureTlsa`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Built by [`SecureTlsa::from_validated`]: a DNSSEC-Secure RRset.
    DnssecSecure,
    /// Built by [`crate::danger::tlsa_without_dnssec`]: no DNSSEC claim.
    /// A match on such records authenticates nothing.
    Unvalidated,
}
