//! Plain PKIX validation, without TLSA: what a client falls back to when
//! DANE does not apply (no TLSA records, or none usable, for protocols
//! other than SMTP: RFC 7673 §3; posttls-finger's `secure` level), and what
//! OpenSSL does when DANE is enabled but no record could be added.

use std::fmt;

use rustls_pki_types::CertificateDer;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::names;
use crate::params::VerifyParams;

/// Validates `chain` (leaf first) to [`VerifyParams::pkix_roots`] at
/// [`VerifyParams::now`], and the leaf's name against the reference
/// identifiers. Returns the reference identifier that matched.
///
/// This authenticates with the local trust store only: no DNSSEC is
/// involved, and for SMTP it is no substitute for DANE (RFC 7672 §1.3).
pub fn verify_pkix(
    chain: &[CertificateDer<'_>],
    params: &VerifyParams,
) -> Result<String, PkixError> {
    let Some((leaf_der, intermediates)) = chain.split_first() else {
        return Err(PkixError::EmptyChain);
    };
    if chain.len() > crate::MAX_CHAIN_LEN {
        return Err(PkixError::ChainTooLong { len: chain.len() });
    }
    let Ok(([], leaf)) = X509Certificate::from_der(leaf_der.as_ref()) else {
        return Err(PkixError::MalformedLeaf);
    };
    let ee = EndEntityCert::try_from(leaf_der).map_err(PkixError::NoPath)?;
    let anchors: Vec<_> = params
        .pkix_roots()
        .iter()
        .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok())
        .collect();
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        intermediates,
        params.now(),
        KeyUsage::server_auth(),
        None,
        None,
    )
    .map_err(PkixError::NoPath)?;
    names::matching_name(&leaf, params.reference_names())
        .map(str::to_owned)
        .ok_or_else(|| PkixError::NameMismatch {
            names: params.reference_names().to_vec(),
        })
}

/// Why plain PKIX validation failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PkixError {
    /// Longer than [`crate::MAX_CHAIN_LEN`].
    ChainTooLong {
        /// Presented length.
        len: usize,
    },
    /// No certificate.
    EmptyChain,
    /// The leaf does not parse.
    MalformedLeaf,
    /// The leaf matches none of the reference identifiers.
    NameMismatch {
        /// The names tried.
        names: Vec<String>,
    },
    /// No valid path to the trust store.
    NoPath(webpki::Error),
}

impl PkixError {
    /// The closest OpenSSL `X509_V_ERR_*` code.
    pub fn openssl_code(&self) -> i32 {
        match self {
            Self::ChainTooLong { .. } => 22,
            Self::EmptyChain | Self::MalformedLeaf => 1,
            Self::NameMismatch { .. } => 62,
            Self::NoPath(e) => crate::report::webpki_to_openssl(e, 20),
        }
    }
}

impl fmt::Display for PkixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChainTooLong { len } => write!(f, "certificate chain of {len} is too long"),
            Self::EmptyChain => f.write_str("no certificate presented"),
            Self::MalformedLeaf => f.write_str("malformed leaf certificate"),
            Self::NameMismatch { names } => {
                write!(f, "certificate does not match {}", names.join(", "))
            }
            Self::NoPath(e) => write!(f, "no PKIX path to the trust store: {e}"),
        }
    }
}

impl std::error::Error for PkixError {}
