//! The rustls adapter: a `ServerCertVerifier` that authenticates the
//! handshake with DANE, and (under [`crate::danger`]) one that only
//! collects the chain.
//!
//! Use one verifier per destination: the TLSA records and reference names
//! belong to one host. Disable session resumption (or scope it to this
//! verifier): a resumed session skips `verify_server_cert`.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};

use crate::params::VerifyParams;
use crate::report::Verdict;
use crate::secure::SecureTlsa;

/// Where the adapters leave their findings, for the caller to read after
/// the handshake (or after it failed).
pub type VerdictSlot = Arc<Mutex<Option<Verdict>>>;

/// Authenticates the server's chain with DNSSEC-validated TLSA records.
///
/// The handshake fails unless [`Verdict::is_authenticated`]: a match on
/// records from [`crate::danger::tlsa_without_dnssec`] is refused too. The
/// full [`Verdict`] is left in [`DaneServerVerifier::verdict`] either way;
/// on failure the rustls error carries the [`crate::DaneError`] as
/// `CertificateError::Other`.
///
/// Send SNI = the TLSA base domain ([`VerifyParams::base_domain`], RFC
/// 7671 §3, RFC 7672 §8.1); the `server_name` rustls passes is not used for
/// name checks, the reference identifiers in the params are.
#[derive(Debug)]
pub struct DaneServerVerifier {
    tlsa: SecureTlsa,
    params: VerifyParams,
    algorithms: WebPkiSupportedAlgorithms,
    verdict: VerdictSlot,
}

impl DaneServerVerifier {
    /// A verifier for one destination. `provider` supplies the handshake
    /// signature algorithms.
    pub fn new(tlsa: SecureTlsa, params: VerifyParams, provider: &CryptoProvider) -> Self {
        Self {
            tlsa,
            params,
            algorithms: provider.signature_verification_algorithms,
            verdict: Arc::default(),
        }
    }

    /// The slot the verdict is written to during the handshake.
    pub fn verdict(&self) -> VerdictSlot {
        Arc::clone(&self.verdict)
    }
}

impl ServerCertVerifier for DaneServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        let params = self.params.clone().with_time(now);
        let verdict = crate::verify(&self.tlsa, &chain, &params);
        let result = if verdict.is_authenticated() {
            Ok(ServerCertVerified::assertion())
        } else {
            let reason: Arc<dyn std::error::Error + Send + Sync> = match &verdict.outcome {
                Err(e) => Arc::new(e.clone()),
                Ok(_) => Arc::new(UnvalidatedTlsa),
            };
            Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(reason),
            )))
        };
        *self.verdict.lock().unwrap_or_else(PoisonError::into_inner) = Some(verdict);
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The records matched, but were not DNSSEC-validated.
#[derive(Debug)]
struct UnvalidatedTlsa;

impl std::fmt::Display for UnvalidatedTlsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TLSA records matched but were not DNSSEC-validated")
    }
}

impl std::error::Error for UnvalidatedTlsa {}

/// **Danger:** accepts any server certificate chain and records it, so the
/// caller can match it after the handshake (`dane check` with records
/// given by hand, chain dumps). It still checks the handshake signatures,
/// which proves the server holds the leaf's key, but authenticates nothing.
#[derive(Debug)]
pub struct ChainCollector {
    algorithms: WebPkiSupportedAlgorithms,
    chain: Arc<Mutex<Option<Vec<CertificateDer<'static>>>>>,
}

impl ChainCollector {
    /// A collector using `provider`'s signature algorithms.
    pub fn new(provider: &CryptoProvider) -> Self {
        Self {
            algorithms: provider.signature_verification_algorithms,
            chain: Arc::default(),
        }
    }

    /// The slot the presented chain (leaf first) is written to.
    pub fn chain(&self) -> Arc<Mutex<Option<Vec<CertificateDer<'static>>>>> {
        Arc::clone(&self.chain)
    }
}

impl ServerCertVerifier for ChainCollector {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(PoisonError::into_inner) = Some(chain);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
