//! Verification parameters: the reference identifiers, the profile, the
//! PKIX trust store, digest preferences and the time.

use rustls_pki_types::{CertificateDer, UnixTime};

use crate::record::MatchingType;

/// Which application rules apply.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// RFC 6698 / RFC 7671: all four usages; PKIX usages validate against
    /// the trust store given to [`VerifyParams::generic`].
    Generic,
    /// RFC 7672 (SMTP): PKIX-TA(0) and PKIX-EE(1) records are unusable
    /// (§3.1.3), and DANE-EE names are not checked (§3.1.1).
    Smtp,
}

/// Inputs to [`crate::verify`] other than the records and the chain.
///
/// Build with [`VerifyParams::smtp`] or [`VerifyParams::generic`]; the
/// defaults are the safe ones.
#[derive(Clone, Debug)]
pub struct VerifyParams {
    pub(crate) reference_names: Vec<String>,
    pub(crate) profile: Profile,
    pub(crate) pkix_roots: Vec<CertificateDer<'static>>,
    pub(crate) check_ee_names: bool,
    pub(crate) digest_preference: Vec<MatchingType>,
    pub(crate) now: UnixTime,
}

impl VerifyParams {
    /// SMTP (RFC 7672). `base_domain` is the TLSA base domain, i.e. the MX
    /// host name (after CNAME expansion, RFC 7672 §2.2.3): the SNI name and
    /// the first reference identifier. Add the next-hop domain with
    /// [`VerifyParams::with_reference_name`] (RFC 7672 §3.2.2).
    pub fn smtp(base_domain: &str, now: UnixTime) -> Self {
        Self::new(base_domain, Profile::Smtp, Vec::new(), now)
    }

    /// Any other protocol (RFC 7671), with the trust store PKIX usages
    /// validate against (a CA file, or the system roots, loaded by the
    /// caller). An empty store makes every PKIX record fail.
    pub fn generic(
        base_domain: &str,
        pkix_roots: Vec<CertificateDer<'static>>,
        now: UnixTime,
    ) -> Self {
        Self::new(base_domain, Profile::Generic, pkix_roots, now)
    }

    fn new(
        base_domain: &str,
        profile: Profile,
        pkix_roots: Vec<CertificateDer<'static>>,
        now: UnixTime,
    ) -> Self {
        Self {
            reference_names: vec![base_domain.to_owned()],
            profile,
            pkix_roots,
            check_ee_names: false,
            // RFC 7671 §9 leaves the order to the client; SHA2-512 over
            // SHA2-256 is OpenSSL's default and Postfix's
            // `tls_dane_digests = sha512 sha256`.
            digest_preference: vec![MatchingType::Sha512, MatchingType::Sha256],
            now,
        }
    }

    /// Adds a reference identifier for DANE-TA and PKIX name checks (for
    /// SMTP: the next-hop domain, RFC 7672 §3.2.2; for SRV: the service
    /// domain, RFC 7673 §3).
    pub fn with_reference_name(mut self, name: &str) -> Self {
        self.reference_names.push(name.to_owned());
        self
    }

    /// Also check names after a DANE-EE(3) match. RFC 7671 §5.1 and RFC 7672
    /// §3.1.1 say not to; OpenSSL does unless
    /// `DANE_FLAG_NO_DANE_EE_NAMECHECKS` is set. Off by default.
    pub fn with_ee_name_checks(mut self, check: bool) -> Self {
        self.check_ee_names = check;
        self
    }

    /// Digest preference for RFC 7671 §9 agility, most preferred first.
    /// Matching types not listed are never used for digests.
    pub fn with_digest_preference(mut self, order: &[MatchingType]) -> Self {
        self.digest_preference = order
            .iter()
            .copied()
            .filter(|m| *m != MatchingType::Full)
            .collect();
        self
    }

    /// The time at which certificate validity is judged (DANE-TA, PKIX).
    pub fn with_time(mut self, now: UnixTime) -> Self {
        self.now = now;
        self
    }

    /// The reference identifiers, the base domain first.
    pub fn reference_names(&self) -> &[String] {
        &self.reference_names
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The PKIX trust store (generic profile).
    pub fn pkix_roots(&self) -> &[CertificateDer<'static>] {
        &self.pkix_roots
    }

    /// The verification time.
    pub fn now(&self) -> UnixTime {
        self.now
    }

    /// The base domain (first reference identifier): the SNI to send.
    pub fn base_domain(&self) -> &str {
        &self.reference_names[0]
    }
}
