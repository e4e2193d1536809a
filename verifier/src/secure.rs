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
/// Wiring in the CLI (the resolver is not a dependency of this crate; the
/// names below are the resolver's `validator::Validated` and `Outcome`):
///
/// ```ignore
/// let validated = resolver.validate(&tlsa_name, RecordType::TLSA, &response).await;
/// let tlsa = match validated.outcome {
///     // Secure and non-empty: the only way to authenticating input.
///     Outcome::Secure if has_tlsa(&validated.answers) => SecureTlsa::from_validated(
///         validated.answers.iter().filter_map(tlsa_rdata).map(|rdata| {
///             // hickory's TLSA fields back to code points and data
///             Ok::<_, Infallible>(TlsaRecord::new(
///                 rdata.cert_usage().into(), rdata.selector().into(),
///                 rdata.matching().into(), rdata.cert_data().to_vec(),
///             ))
///         }),
///     )?,
///     // Secure NODATA/NXDOMAIN: no DANE for this host (RFC 7672 §2.2.3).
///     Outcome::Secure => return Ok(Dane::NotApplicable),
///     // RFC 6698 §4.1: insecure TLSA records are as good as none.
///     Outcome::Insecure(_) | Outcome::Indeterminate => return Ok(Dane::NotApplicable),
///     // RFC 7672 §2.1.1: bogus means do not connect to this host.
///     Outcome::Bogus(reason) => return Err(Defer(reason)),
///     _ => return Err(Defer::indeterminate()),
/// };
/// ```
///
/// Do not build a `SecureTlsa` from an empty RRset: [`crate::verify`] would
/// report [`crate::DaneError::NoUsableRecords`], which for SMTP means
/// "TLS required" rather than "no DANE".
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
