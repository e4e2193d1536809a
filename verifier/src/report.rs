//! The verdict: which record matched at which depth, or why none did, with
//! a per-record account for diagnostics.

use std::fmt;

use crate::record::{MatchingType, TlsaRecord, Unusable, Usage};
use crate::secure::Provenance;

/// The result of [`crate::verify`].
///
/// Read-only: the fields are set by [`crate::verify`] alone, so a verdict's
/// provenance cannot be upgraded after the fact.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub(crate) outcome: Result<DaneMatch, DaneError>,
    pub(crate) records: Vec<RecordReport>,
    pub(crate) provenance: Provenance,
}

impl Verdict {
    /// The authenticating match, or why there is none.
    pub fn outcome(&self) -> &Result<DaneMatch, DaneError> {
        &self.outcome
    }

    /// One entry per input record, in input order.
    pub fn records(&self) -> &[RecordReport] {
        &self.records
    }

    /// Where the TLSA records came from. Only
    /// [`Provenance::DnssecSecure`] records can authenticate.
    pub fn provenance(&self) -> Provenance {
        self.provenance
    }

    /// True when a record matched **and** the records were DNSSEC-Secure
    /// (RFC 6698 §4). A match on records from
    /// [`crate::danger::tlsa_without_dnssec`] is never authentication.
    pub fn is_authenticated(&self) -> bool {
        self.outcome.is_ok() && self.provenance == Provenance::DnssecSecure
    }

    /// The record that authenticated the chain, if any.
    pub fn matched(&self) -> Option<&DaneMatch> {
        self.outcome.as_ref().ok()
    }

    /// The records dropped as unusable, with the reason for each
    /// (RFC 7671 §4; Postfix logs them as "unusable TLSA RR").
    pub fn unusable(&self) -> impl Iterator<Item = (&TlsaRecord, &Unusable)> {
        self.records.iter().filter_map(|r| match &r.status {
            RecordStatus::Unusable(why) => Some((&r.record, why)),
            _ => None,
        })
    }

    /// The OpenSSL `X509_V_ERR_*` code that corresponds to this verdict
    /// (0 for success), as `danetest` reports it.
    pub fn openssl_code(&self) -> i32 {
        match &self.outcome {
            Ok(_) => 0,
            Err(e) => e.openssl_code(),
        }
    }

    /// The match depth as OpenSSL's `SSL_get0_dane_authority()` reports
    /// it: the depth of the record that matched, also when a later check
    /// (the name) failed; −1 when no record matched.
    pub fn openssl_depth(&self) -> i64 {
        let depth = match &self.outcome {
            Ok(m) => Some(m.depth),
            Err(e) => e.depth(),
        };
        depth.map_or(-1, |d| i64::try_from(d).unwrap_or(i64::MAX))
    }
}

/// How a record matched.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    /// DANE-EE(3): the leaf certificate or key (RFC 7671 §5.1).
    DaneEe,
    /// DANE-TA(2): a certificate or key of the chain at depth ≥ 1 that
    /// anchored a valid path (RFC 7671 §5.2).
    DaneTaCert,
    /// DANE-TA(2) `2 0 0`: a full certificate from DNS that anchored a valid
    /// path; the server did not send it.
    DaneTaCertFromDns,
    /// DANE-TA(2) `2 1 0`: a bare public key that verified the signature of
    /// the top certificate of the path (RFC 7671 §5.2.3).
    DaneTaKey,
    /// PKIX-EE(1): the leaf, plus PKIX validation (RFC 7671 §5.4).
    PkixEe,
    /// PKIX-TA(0): a CA of the PKIX-validated path (RFC 7671 §5.3).
    PkixTa,
}

/// The record that authenticated the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneMatch {
    /// The matching TLSA record.
    pub record: TlsaRecord,
    /// Chain depth of the matched certificate (0 = leaf). For
    /// [`MatchKind::DaneTaKey`] the depth of the certificate the key signed;
    /// for a TA from DNS or the trust store, one more than the top of the
    /// validated path.
    pub depth: usize,
    /// How it matched.
    pub kind: MatchKind,
    /// Subject of the matched certificate (RFC 4514-ish, as x509-parser
    /// prints it; empty when unknown).
    pub subject: String,
    /// The reference identifier that the leaf matched, when names were
    /// checked (not for DANE-EE by default: RFC 7672 §3.1.1).
    pub name: Option<String>,
}

impl DaneMatch {
    /// A Postfix-style certmatch line (`posttls-finger -L certmatch`).
    pub fn certmatch_line(&self) -> String {
        let what = match self.kind {
            MatchKind::DaneEe => "DANE EE certificate",
            MatchKind::DaneTaCert | MatchKind::DaneTaCertFromDns => "DANE TA certificate",
            MatchKind::DaneTaKey => "DANE TA public key verified certificate",
            MatchKind::PkixEe => "PKIX EE certificate",
            MatchKind::PkixTa => "PKIX TA certificate",
        };
        format!("Matched {what} at depth {}: {}", self.depth, self.record)
    }
}

/// What happened to one input record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordReport {
    /// The record as given.
    pub record: TlsaRecord,
    /// Its fate.
    pub status: RecordStatus,
}

/// The fate of one record.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordStatus {
    /// Evaluated against the chain: the depths of the presented
    /// certificates whose certificate or key it matches (it may match none
    /// and still authenticate, for `2 0 0` / `2 1 0` anchors not sent).
    Evaluated {
        /// Matching depths in the presented chain.
        presented_depths: Vec<usize>,
    },
    /// Skipped by digest agility (RFC 7671 §9): a more preferred matching
    /// type exists for the same usage and selector.
    IgnoredByAgility {
        /// The matching type used instead.
        preferred: MatchingType,
    },
    /// Usable, but not evaluated: the chain was refused first (empty, too
    /// long, malformed leaf).
    NotEvaluated,
    /// Dropped as unusable (RFC 7671 §4).
    Unusable(Unusable),
}

/// Why the chain is not authenticated.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaneError {
    /// The chain is longer than [`crate::MAX_CHAIN_LEN`].
    ChainTooLong {
        /// Presented length.
        len: usize,
    },
    /// The server presented no certificate.
    EmptyChain,
    /// The leaf parses for matching but webpki cannot build a path from it
    /// (e.g. an X.509 v1 certificate), so DANE-TA cannot apply.
    LeafNotPathValidatable {
        /// webpki's reason.
        reason: webpki::Error,
    },
    /// The leaf certificate does not parse.
    MalformedLeaf {
        /// Parser message.
        reason: String,
    },
    /// A record matched (at `matched.depth`), the path is valid, but the leaf
    /// is not valid for any reference identifier (RFC 7671 §5.2, RFC 6125).
    NameMismatch {
        /// The match that would otherwise have authenticated.
        matched: Box<DaneMatch>,
        /// The reference identifiers tried.
        names: Vec<String>,
    },
    /// There are usable records, none matched, or none anchored a valid path.
    NoMatch,
    /// The RRset has records, but none is usable: DANE authentication is
    /// impossible. RFC 7672 §2.2: for SMTP, TLS is still mandatory but
    /// unauthenticated.
    NoUsableRecords {
        /// How many records were dropped.
        dropped: usize,
    },
    /// A PKIX usage record applies but no PKIX path to the trust store
    /// exists (OpenSSL: 20, unable to get local issuer).
    PkixPath {
        /// Depth of the PKIX record that matched the presented chain, if any.
        depth: Option<usize>,
        /// Path building error.
        reason: webpki::Error,
    },
    /// A DANE-TA record matched a certificate of the chain, but the path
    /// from the leaf to it is invalid (expired intermediate, bad signature,
    /// missing link...).
    TaPath {
        /// The record.
        record: TlsaRecord,
        /// Depth of the matched certificate.
        depth: usize,
        /// Path building error.
        reason: webpki::Error,
    },
}

impl DaneError {
    /// The closest OpenSSL `X509_V_ERR_*` code.
    pub fn openssl_code(&self) -> i32 {
        match self {
            Self::ChainTooLong { .. } => 22, // X509_V_ERR_CERT_CHAIN_TOO_LONG
            Self::EmptyChain | Self::LeafNotPathValidatable { .. } | Self::MalformedLeaf { .. } => {
                1 // X509_V_ERR_UNSPECIFIED
            }
            Self::NameMismatch { .. } => 62, // X509_V_ERR_HOSTNAME_MISMATCH
            Self::NoMatch | Self::NoUsableRecords { .. } => 65, // X509_V_ERR_DANE_NO_MATCH
            Self::PkixPath { reason, .. } => webpki_to_openssl(reason, 20),
            // OpenSSL builds DANE-TA paths and, failing to reach a DANE-TA
            // anchor, reports "no match" rather than a missing issuer.
            Self::TaPath { reason, .. } => webpki_to_openssl(reason, 65),
        }
    }

    /// The depth of the record that matched before a later check failed.
    pub fn depth(&self) -> Option<usize> {
        match self {
            Self::NameMismatch { matched, .. } => Some(matched.depth),
            Self::PkixPath { depth, .. } => *depth,
            Self::TaPath { depth, .. } => Some(*depth),
            _ => None,
        }
    }
}

pub(crate) fn webpki_to_openssl(e: &webpki::Error, unknown_issuer: i32) -> i32 {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => unknown_issuer,
        E::CertNotValidYet { .. } => 9, // X509_V_ERR_CERT_NOT_YET_VALID
        E::CertExpired { .. } => 10,    // X509_V_ERR_CERT_HAS_EXPIRED
        E::MaximumPathDepthExceeded => 22, // X509_V_ERR_CERT_CHAIN_TOO_LONG
        E::CaUsedAsEndEntity | E::EndEntityUsedAsCa => 24, // X509_V_ERR_INVALID_CA
        E::PathLenConstraintViolated => 25, // X509_V_ERR_PATH_LENGTH_EXCEEDED
        E::InvalidSignatureForPublicKey => 7, // X509_V_ERR_CERT_SIGNATURE_FAILURE
        E::NameConstraintViolation => 47, // X509_V_ERR_PERMITTED_VIOLATION
        _ => 1,                         // X509_V_ERR_UNSPECIFIED
    }
}

impl fmt::Display for DaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChainTooLong { len } => write!(
                f,
                "certificate chain of {len} certificates exceeds the limit of {}",
                crate::MAX_CHAIN_LEN
            ),
            Self::EmptyChain => f.write_str("no certificate presented"),
            Self::LeafNotPathValidatable { reason } => {
                write!(f, "leaf certificate unusable for path validation: {reason}")
            }
            Self::MalformedLeaf { reason } => write!(f, "malformed leaf certificate: {reason}"),
            Self::NameMismatch { matched, names } => write!(
                f,
                "{} at depth {}, but the certificate does not match {}",
                matched.record,
                matched.depth,
                names.join(", ")
            ),
            Self::NoMatch => f.write_str("No matching DANE TLSA records"),
            Self::NoUsableRecords { dropped } => {
                write!(f, "all {dropped} TLSA records unusable")
            }
            Self::PkixPath { reason, .. } => write!(f, "no PKIX path: {reason}"),
            Self::TaPath {
                record,
                depth,
                reason,
            } => write!(
                f,
                "{record} matched at depth {depth}, but the path to it is invalid: {reason}"
            ),
        }
    }
}

impl std::error::Error for DaneError {}

/// Which usages a verdict can rest on, for reports.
pub(crate) fn kind_for(usage: Usage) -> MatchKind {
    match usage {
        Usage::PkixTa => MatchKind::PkixTa,
        Usage::PkixEe => MatchKind::PkixEe,
        Usage::DaneTa => MatchKind::DaneTaCert,
        Usage::DaneEe => MatchKind::DaneEe,
    }
}
