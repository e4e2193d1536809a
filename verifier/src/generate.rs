//! TLSA record generation for publishers, and renewal advice (RFC 7671 §8,
//! RFC 7672 §3.1.1 / §3.1.2).

use std::fmt;

use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::record::{MatchingType, Selector, TlsaRecord, Usage};

/// The TLSA record with the given parameters for `cert` (any usage,
/// selector and matching type). Selector 1 uses the SubjectPublicKeyInfo
/// exactly as encoded in the certificate.
pub fn generate(
    cert: &CertificateDer<'_>,
    usage: Usage,
    selector: Selector,
    mtype: MatchingType,
) -> Result<TlsaRecord, GenerateError> {
    let content = select(cert.as_ref(), selector)?;
    Ok(TlsaRecord::new(
        usage.code(),
        selector.code(),
        mtype.code(),
        mtype.apply(content),
    ))
}

/// Whether `record`'s selector/matching type matches `cert` (the usage is
/// not considered). False for unknown parameters or an unparsable cert.
pub fn record_matches_certificate(record: &TlsaRecord, cert: &CertificateDer<'_>) -> bool {
    let Some((_, selector, mtype)) = record.params() else {
        return false;
    };
    match select(cert.as_ref(), selector) {
        Ok(content) => mtype.apply(content) == record.data,
        Err(_) => false,
    }
}

fn select(cert: &[u8], selector: Selector) -> Result<&[u8], GenerateError> {
    match X509Certificate::from_der(cert) {
        Ok(([], parsed)) => Ok(match selector {
            Selector::Cert => cert,
            Selector::Spki => parsed.tbs_certificate.subject_pki.raw,
        }),
        _ => Err(GenerateError::MalformedCertificate),
    }
}

/// Why no record could be generated.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenerateError {
    /// The certificate does not parse.
    MalformedCertificate,
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedCertificate => f.write_str("certificate does not parse"),
        }
    }
}

impl std::error::Error for GenerateError {}

/// How a published record behaves when the server's certificate is
/// renewed (RFC 7671 §8.1; ACME clients make a new key by default).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenewalStability {
    /// `3 0 x` / `1 0 x`: the leaf certificate's bytes change with every
    /// renewal, so the record breaks every time.
    ChangesEveryRenewal,
    /// `3 1 x` / `1 1 x`: survives a renewal only if the key is reused.
    SurvivesIfKeyReused,
    /// `2 x x` / `0 x x`: does not depend on the leaf, but breaks when the
    /// CA changes the pinned certificate or key (Let's Encrypt rotated its
    /// intermediates in 2024).
    DependsOnIssuer,
    /// The record is unusable anyway.
    Unusable,
}

impl RenewalStability {
    /// Classifies a record.
    pub fn of(record: &TlsaRecord) -> Self {
        match record.params() {
            None => Self::Unusable,
            Some((Usage::DaneEe | Usage::PkixEe, Selector::Cert, _)) => Self::ChangesEveryRenewal,
            Some((Usage::DaneEe | Usage::PkixEe, Selector::Spki, _)) => Self::SurvivesIfKeyReused,
            Some((Usage::DaneTa | Usage::PkixTa, _, _)) => Self::DependsOnIssuer,
        }
    }

    /// The warning the CLI prints for a record of this kind, if any.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Self::ChangesEveryRenewal => Some(
                "the certificate digest changes at every renewal: prefer 3 1 1 (RFC 7671 section 8.1)",
            ),
            Self::SurvivesIfKeyReused => Some(
                "survives renewal only if the key is reused; publish the next key's 3 1 1 before \
                 switching and wait 2 x TTL (RFC 7671 section 8.1)",
            ),
            Self::DependsOnIssuer => Some(
                "breaks when the CA rotates the pinned certificate or key; the server must send \
                 it (RFC 7671 section 5.2.2)",
            ),
            Self::Unusable => Some("record is unusable (RFC 7671 section 4)"),
        }
    }
}

/// Whether `record` still matches after a renewal to `new_chain` (leaf
/// first): EE usages against the new leaf, TA usages against any
/// certificate the server sends above it.
pub fn survives_renewal(record: &TlsaRecord, new_chain: &[CertificateDer<'_>]) -> bool {
    let Some((usage, _, _)) = record.params() else {
        return false;
    };
    match usage {
        Usage::DaneEe | Usage::PkixEe => new_chain
            .first()
            .is_some_and(|leaf| record_matches_certificate(record, leaf)),
        Usage::DaneTa | Usage::PkixTa => new_chain
            .iter()
            .skip(1)
            .any(|c| record_matches_certificate(record, c)),
    }
}
