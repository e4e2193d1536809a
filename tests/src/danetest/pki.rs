//! In-process test PKI for the DANE verifier tests: roots, intermediates
//! and leaves made with rcgen (ECDSA P-256), with fixed validity windows
//! around [`NOW`] so that no fixture expires.

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    date_time_ymd,
};
use rustls_pki_types::{CertificateDer, UnixTime};

/// The verification time of the tests: 2030-01-01T00:00:00Z.
pub const NOW: UnixTime = UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000));

/// A validity window, as (year, month, day) pairs.
#[derive(Clone, Copy, Debug)]
pub struct Validity {
    /// notBefore.
    pub from: (i32, u8, u8),
    /// notAfter.
    pub until: (i32, u8, u8),
}

/// Valid at [`NOW`].
pub const CURRENT: Validity = Validity {
    from: (2025, 1, 1),
    until: (2035, 1, 1),
};

/// Expired at [`NOW`].
pub const EXPIRED: Validity = Validity {
    from: (2020, 1, 1),
    until: (2025, 1, 1),
};

/// A fresh ECDSA P-256 key.
pub fn new_key() -> KeyPair {
    KeyPair::generate().expect("key generation")
}

/// A certificate with its key and the parameters it was made from.
pub struct Node {
    /// The DER certificate.
    pub cert: CertificateDer<'static>,
    /// Its key.
    pub key: KeyPair,
    params: CertificateParams,
}

fn params(cn: &str, sans: &[&str], ca: bool, validity: Validity) -> CertificateParams {
    let mut p = CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = if ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    if !ca {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    }
    let (y, m, d) = validity.from;
    p.not_before = date_time_ymd(y, m, d);
    let (y, m, d) = validity.until;
    p.not_after = date_time_ymd(y, m, d);
    p
}

impl Node {
    /// A self-signed CA.
    pub fn root(cn: &str) -> Self {
        let key = new_key();
        let params = params(cn, &[], true, CURRENT);
        let cert = params.self_signed(&key).expect("self-signed").der().clone();
        Self { cert, key, params }
    }

    /// A self-signed end-entity certificate (CA:FALSE).
    pub fn self_signed_leaf(names: &[&str]) -> Self {
        let key = new_key();
        let params = params(names[0], names, false, CURRENT);
        let cert = params.self_signed(&key).expect("self-signed").der().clone();
        Self { cert, key, params }
    }

    /// A self-signed certificate for `names` marked CA:TRUE, as some
    /// servers use (Postfix's tls_dane.sh "2 1 0 over a self-signed CA").
    pub fn self_signed_ca_leaf(names: &[&str]) -> Self {
        let key = new_key();
        let mut params = params(names[0], names, true, CURRENT);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&key).expect("self-signed").der().clone();
        Self { cert, key, params }
    }

    /// A CA certificate issued by `self`.
    pub fn intermediate(&self, cn: &str, validity: Validity) -> Self {
        self.issue(params(cn, &[], true, validity), new_key())
    }

    /// A server certificate for `names` (SAN dNSNames; CN = first name).
    pub fn leaf(&self, names: &[&str]) -> Self {
        self.leaf_with(names, CURRENT, new_key())
    }

    /// A server certificate with a chosen validity and key (renewals).
    pub fn leaf_with(&self, names: &[&str], validity: Validity, key: KeyPair) -> Self {
        self.issue(params(names[0], names, false, validity), key)
    }

    /// A server certificate with CN `cn` and no SAN at all.
    pub fn leaf_cn_only(&self, cn: &str) -> Self {
        self.issue(params(cn, &[], false, CURRENT), new_key())
    }

    /// A server certificate marked CA:TRUE (OpenSSL accepts it under
    /// DANE-TA, webpki would not).
    pub fn leaf_marked_ca(&self, names: &[&str]) -> Self {
        let mut p = params(names[0], names, true, CURRENT);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(p, new_key())
    }

    /// Issues a certificate from arbitrary parameters.
    pub fn issue(&self, params: CertificateParams, key: KeyPair) -> Self {
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params
            .signed_by(&key, &issuer)
            .expect("signed")
            .der()
            .clone();
        Self { cert, key, params }
    }

    /// The DER SubjectPublicKeyInfo of the key.
    pub fn spki(&self) -> Vec<u8> {
        use rcgen::PublicKeyData;
        self.key.subject_public_key_info()
    }
}
