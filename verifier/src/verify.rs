//! The matching algorithm: records and a chain in, a [`Verdict`] out.
//!
//! Order of evaluation, which is also the order of preference (OpenSSL
//! `dane_verify()` / `build_chain()`; danetest cases 43–46):
//!
//! 1. DANE-EE(3) on the leaf (RFC 7671 §5.1). A match ends the search.
//! 2. DANE-TA(2) (RFC 7671 §5.2): every anchor candidate is tried, the
//!    lowest depth with a valid path wins; bare keys (`2 1 0`) only when no
//!    certificate anchored a path, as in OpenSSL's `check_dane_pkeys()`.
//! 3. PKIX-TA(0) / PKIX-EE(1) (RFC 7671 §5.3–5.4), generic profile only.
//!
//! A match that passes its path checks is then subject to the name check
//! (except DANE-EE, unless asked for).

use std::cell::Cell;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::agility;
use crate::ca_leaf;
use crate::der;
use crate::names;
use crate::params::VerifyParams;
use crate::record::{MatchingType, Selector, TlsaRecord, Usage};
use crate::report::{DaneError, DaneMatch, MatchKind, RecordReport, RecordStatus, Verdict};
use crate::secure::SecureTlsa;

/// The longest chain a server may present: longer ones are refused
/// without looking at them. TLS 1.3 chains in the wild have at most 5
/// certificates; webpki accepts at most 6 intermediates anyway.
pub const MAX_CHAIN_LEN: usize = 16;

/// Upper bound on path-building runs per verification (each is itself
/// bounded by webpki's signature and call budgets). Reached only by a
/// hostile RRset of many distinct `2 x y` records.
const MAX_PATH_RUNS: usize = 64;

/// Authenticates `chain` (as presented by the server, leaf first) with the
/// usable records of `tlsa`.
///
/// Never panics on malformed input: bad records are reported as unusable,
/// a bad leaf or an absurd chain is a [`DaneError`].
pub fn verify(tlsa: &SecureTlsa, chain: &[CertificateDer<'_>], params: &VerifyParams) -> Verdict {
    let records = tlsa.records();

    // RFC 7671 §4: unusable records are dropped.
    let mut statuses: Vec<Option<RecordStatus>> = vec![None; records.len()];
    let mut usable = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match record.usability(params.profile) {
            Ok((usage, selector, mtype)) => usable.push(Active {
                index,
                record,
                usage,
                selector,
                mtype,
            }),
            Err(why) => statuses[index] = Some(RecordStatus::Unusable(why)),
        }
    }
    // RFC 7671 §9: digest agility per (usage, selector).
    let (active, ignored) = agility::select(usable, &params.digest_preference);
    for (a, preferred) in ignored {
        statuses[a.index] = Some(RecordStatus::IgnoredByAgility { preferred });
    }

    let outcome = if active.is_empty() {
        Err(DaneError::NoUsableRecords {
            dropped: records.len(),
        })
    } else {
        match Chain::parse(chain) {
            Err(e) => Err(e),
            Ok(chain) => {
                let depths: Vec<Vec<usize>> =
                    active.iter().map(|a| chain.matching_depths(a)).collect();
                for (a, d) in active.iter().zip(&depths) {
                    statuses[a.index] = Some(RecordStatus::Evaluated {
                        presented_depths: d.clone(),
                    });
                }
                Matcher {
                    active: &active,
                    depths: &depths,
                    chain: &chain,
                    params,
                }
                .run()
            }
        }
    };

    let records = records
        .iter()
        .zip(statuses)
        .map(|(record, status)| RecordReport {
            record: record.clone(),
            // Usable, but the chain was refused before matching.
            status: status.unwrap_or(RecordStatus::NotEvaluated),
        })
        .collect();
    Verdict {
        outcome,
        records,
        provenance: tlsa.provenance(),
    }
}

/// A usable record that survived agility.
#[derive(Clone, Copy)]
pub(crate) struct Active<'r> {
    pub(crate) index: usize,
    pub(crate) record: &'r TlsaRecord,
    pub(crate) usage: Usage,
    pub(crate) selector: Selector,
    pub(crate) mtype: MatchingType,
}

impl Active<'_> {
    /// RFC 6698 §2.1.2–2.1.3: select, transform, compare.
    fn matches(&self, cert_der: &[u8], spki_der: Option<&[u8]>) -> bool {
        let content = match self.selector {
            Selector::Cert => cert_der,
            Selector::Spki => match spki_der {
                Some(spki) => spki,
                None => return false,
            },
        };
        match self.mtype {
            MatchingType::Full => content == self.record.data.as_slice(),
            m => m.apply(content) == self.record.data,
        }
    }

    /// The certificate of a `0 0 0` or `2 0 0` record (usable, so it
    /// parses): a CA certificate given in full by DNS.
    fn full_cert(&self) -> Option<&[u8]> {
        let ta = matches!(self.usage, Usage::PkixTa | Usage::DaneTa);
        (ta && self.selector == Selector::Cert && self.mtype == MatchingType::Full)
            .then_some(self.record.data.as_slice())
    }
}

/// The presented chain, parsed once.
struct Chain<'a> {
    certs: Vec<Presented<'a>>,
}

struct Presented<'a> {
    der: &'a CertificateDer<'a>,
    parsed: Option<X509Certificate<'a>>,
}

impl<'a> Presented<'a> {
    fn spki(&self) -> Option<&'a [u8]> {
        self.parsed
            .as_ref()
            .map(|c| c.tbs_certificate.subject_pki.raw)
    }
}

impl<'a> Chain<'a> {
    fn parse(chain: &'a [CertificateDer<'a>]) -> Result<Self, DaneError> {
        if chain.is_empty() {
            return Err(DaneError::EmptyChain);
        }
        if chain.len() > MAX_CHAIN_LEN {
            return Err(DaneError::ChainTooLong { len: chain.len() });
        }
        let certs: Vec<Presented<'a>> = chain
            .iter()
            .map(|der| Presented {
                der,
                parsed: match X509Certificate::from_der(der.as_ref()) {
                    Ok(([], cert)) => Some(cert),
                    _ => None,
                },
            })
            .collect();
        if certs[0].parsed.is_none() {
            let reason = match X509Certificate::from_der(chain[0].as_ref()) {
                Ok(_) => "trailing data after the certificate".to_owned(),
                Err(e) => e.to_string(),
            };
            return Err(DaneError::MalformedLeaf { reason });
        }
        Ok(Self { certs })
    }

    fn leaf(&self) -> &X509Certificate<'a> {
        // Invariant: `parse` refuses a chain whose leaf does not parse.
        self.certs[0]
            .parsed
            .as_ref()
            .expect("leaf parsed in Chain::parse")
    }

    fn leaf_der(&self) -> &'a CertificateDer<'a> {
        self.certs[0].der
    }

    fn matching_depths(&self, a: &Active<'_>) -> Vec<usize> {
        self.certs
            .iter()
            .enumerate()
            .filter(|(_, p)| a.matches(p.der.as_ref(), p.spki()))
            .map(|(depth, _)| depth)
            .collect()
    }

    /// Presented certificates above the leaf that parse: the chain-building
    /// pool. A malformed intermediate can't be in a valid path anyway.
    fn intermediates(&self) -> impl Iterator<Item = &'a CertificateDer<'a>> + '_ {
        self.certs[1..]
            .iter()
            .filter(|p| p.parsed.is_some())
            .map(|p| p.der)
    }
}

struct Matcher<'m, 'a, 'r> {
    active: &'m [Active<'r>],
    depths: &'m [Vec<usize>],
    chain: &'m Chain<'a>,
    params: &'m VerifyParams,
}

/// A DANE-TA anchor to try.
struct Candidate<'m> {
    record: usize,
    anchor: TrustAnchor<'m>,
    kind: MatchKind,
    /// Depth of the presented certificate that matched, if any.
    presented_depth: Option<usize>,
}

impl Matcher<'_, '_, '_> {
    /// The chain-building pool: the presented intermediates, plus the full
    /// certificates of `0 0 0` and `2 0 0` records. RFC 7671 §5.2.2: only a
    /// record's full certificate may complete the chain; digests require
    /// the server to send the TA. Usage 0 full certificates may supply
    /// intermediates too (OpenSSL, danetest case 39).
    fn pool(&self) -> Vec<CertificateDer<'_>> {
        let mut pool: Vec<CertificateDer<'_>> = self
            .chain
            .intermediates()
            .map(|c| CertificateDer::from(c.as_ref()))
            .collect();
        for cert in self.active.iter().filter_map(Active::full_cert) {
            if !pool.iter().any(|p| p.as_ref() == cert) {
                pool.push(CertificateDer::from(cert));
            }
        }
        pool
    }

    fn run(&self) -> Result<DaneMatch, DaneError> {
        if let Some(result) = self.dane_ee() {
            return result;
        }
        let ta = self.dane_ta();
        let ta_failure = match ta {
            Ok(m) => return self.check_names(m),
            Err(e) => e,
        };
        let pkix = self.pkix();
        let pkix_failure = match pkix {
            Some(Ok(m)) => return self.check_names(m),
            Some(Err(e)) => Some(e),
            None => None,
        };
        Err(ta_failure.or(pkix_failure).unwrap_or(DaneError::NoMatch))
    }

    fn matched(
        &self,
        i: usize,
        depth: usize,
        kind: MatchKind,
        cert_der: Option<&[u8]>,
    ) -> DaneMatch {
        DaneMatch {
            record: self.active[i].record.clone(),
            depth,
            kind,
            subject: cert_der.map(subject_of).unwrap_or_default(),
            name: None,
        }
    }

    /// RFC 7671 §5.2 / RFC 6125: the leaf must be valid for a reference
    /// identifier.
    fn check_names(&self, mut m: DaneMatch) -> Result<DaneMatch, DaneError> {
        match names::matching_name(self.chain.leaf(), &self.params.reference_names) {
            Some(name) => {
                m.name = Some(name.to_owned());
                Ok(m)
            }
            None => Err(DaneError::NameMismatch {
                matched: Box::new(m),
                names: self.params.reference_names.clone(),
            }),
        }
    }

    /// RFC 7671 §5.1 (and RFC 7672 §3.1.1): a DANE-EE record authenticates
    /// when the leaf certificate or its public key matches it. No other
    /// check: not the name (unless asked for), not the dates, not the
    /// issuer, not the CA bit. Never goes through webpki.
    fn dane_ee(&self) -> Option<Result<DaneMatch, DaneError>> {
        let i = (0..self.active.len()).find(|&i| {
            self.active[i].usage == Usage::DaneEe && self.depths[i].first() == Some(&0)
        })?;
        let m = self.matched(
            i,
            0,
            MatchKind::DaneEe,
            Some(self.chain.leaf_der().as_ref()),
        );
        Some(if self.params.check_ee_names {
            self.check_names(m)
        } else {
            Ok(m)
        })
    }

    /// RFC 7671 §5.2. `Err(None)` when no DANE-TA record applies or none
    /// matched anything; `Err(Some(TaPath))` when one matched a presented
    /// certificate whose path failed.
    fn dane_ta(&self) -> Result<DaneMatch, Option<DaneError>> {
        let ta: Vec<usize> = (0..self.active.len())
            .filter(|&i| self.active[i].usage == Usage::DaneTa)
            .collect();
        if ta.is_empty() {
            return Err(None);
        }
        let leaf_der = self.chain.leaf_der();
        let leaf = match EndEntityCert::try_from(leaf_der) {
            Ok(leaf) => leaf,
            // webpki can't parse the leaf for path building (e.g. X.509 v1).
            Err(reason) => return Err(Some(DaneError::LeafNotPathValidatable { reason })),
        };
        let pool = self.pool();

        // (a) a presented certificate at depth ≥ 1 and (b) a `2 0 0`
        // certificate from DNS. RFC 7671 §5.2: the TA is at depth ≥ 1; a
        // DANE-TA record that only matches the leaf does not authenticate
        // (MiniDNS#105 shipped that bug).
        let mut candidates = Vec::new();
        for &i in &ta {
            for &depth in &self.depths[i] {
                let der = self.chain.certs[depth].der;
                if depth == 0 || der.as_ref() == leaf_der.as_ref() {
                    continue;
                }
                if let Ok(anchor) = webpki::anchor_from_trusted_cert(der) {
                    candidates.push(Candidate {
                        record: i,
                        anchor,
                        kind: MatchKind::DaneTaCert,
                        presented_depth: Some(depth),
                    });
                }
            }
        }
        let dns_certs: Vec<(usize, CertificateDer<'_>)> = ta
            .iter()
            .filter_map(|&i| {
                self.active[i]
                    .full_cert()
                    .map(|c| (i, CertificateDer::from(c)))
            })
            .filter(|(_, c)| c.as_ref() != leaf_der.as_ref())
            .collect();
        for (i, cert) in &dns_certs {
            if let Ok(anchor) = webpki::anchor_from_trusted_cert(cert) {
                candidates.push(Candidate {
                    record: *i,
                    anchor,
                    kind: MatchKind::DaneTaCertFromDns,
                    presented_depth: None,
                });
            }
        }

        let now = self.params.now;
        let mut best: Option<(usize, DaneMatch)> = None;
        let mut failure: Option<DaneError> = None;
        for c in candidates.iter().take(MAX_PATH_RUNS) {
            match path_depth(&leaf, leaf_der, &c.anchor, &pool, now) {
                Ok(depth) => {
                    if best.as_ref().is_none_or(|(d, _)| depth < *d) {
                        let cert = match c.presented_depth {
                            Some(d) => Some(self.chain.certs[d].der.as_ref()),
                            None => self.active[c.record].full_cert(),
                        };
                        best = Some((depth, self.matched(c.record, depth, c.kind, cert)));
                    }
                }
                // A TA that no path reaches (a missing link) was never in
                // the chain OpenSSL builds: "no match", not a path error.
                Err(webpki::Error::UnknownIssuer) => {}
                Err(reason) => {
                    if let (Some(depth), None) = (c.presented_depth, &failure) {
                        failure = Some(DaneError::TaPath {
                            record: self.active[c.record].record.clone(),
                            depth,
                            reason,
                        });
                    }
                }
            }
        }
        if let Some((_, m)) = best {
            return Ok(m);
        }

        // (c) RFC 7671 §5.2.3: a bare key (`2 1 0`) that the server did not
        // send as a certificate; it must verify the signature of the top
        // certificate of the path. There is no TA certificate, so its
        // subject is taken from the issuer field of the certificate it
        // signs, and no TA name or dates apply. The reported depth is that
        // of the signed certificate.
        let mut runs = candidates.len();
        for &i in &ta {
            let a = &self.active[i];
            if a.selector != Selector::Spki || a.mtype != MatchingType::Full {
                continue;
            }
            let Some(spki) = der::sequence_contents(&a.record.data) else {
                continue;
            };
            let mut issuers: Vec<&[u8]> = Vec::new();
            for p in &self.chain.certs {
                let Some(issuer) = p
                    .parsed
                    .as_ref()
                    .and_then(|c| der::sequence_contents(c.issuer().as_raw()))
                else {
                    continue;
                };
                if issuers.contains(&issuer) {
                    continue;
                }
                issuers.push(issuer);
                runs += 1;
                if runs > MAX_PATH_RUNS {
                    break;
                }
                let anchor = TrustAnchor {
                    subject: issuer.into(),
                    subject_public_key_info: spki.into(),
                    name_constraints: None,
                };
                if let Ok(depth) = path_depth(&leaf, leaf_der, &anchor, &pool, now) {
                    // The anchor is one above the certificate it signed.
                    let signed = depth - 1;
                    if best.as_ref().is_none_or(|(d, _)| signed < *d) {
                        let cert = self.chain.certs.get(signed).map(|p| p.der.as_ref());
                        best = Some((signed, self.matched(i, signed, MatchKind::DaneTaKey, cert)));
                    }
                }
            }
        }
        match best {
            Some((_, m)) => Ok(m),
            None => Err(failure),
        }
    }

    /// RFC 7671 §5.3–5.4: PKIX validation to the trust store **and** a
    /// record matching the leaf (PKIX-EE) or a CA of that path (PKIX-TA).
    /// `None` when no PKIX record is active.
    fn pkix(&self) -> Option<Result<DaneMatch, DaneError>> {
        let pkix: Vec<usize> = (0..self.active.len())
            .filter(|&i| self.active[i].usage.is_pkix())
            .collect();
        if pkix.is_empty() {
            return None;
        }
        // Depth OpenSSL reports on failure: the lowest presented match.
        let presented_depth = pkix
            .iter()
            .filter_map(|&i| {
                self.depths[i]
                    .iter()
                    .copied()
                    .find(|&d| (d == 0) == (self.active[i].usage == Usage::PkixEe))
            })
            .min();
        let leaf_der = self.chain.leaf_der();
        let leaf = match EndEntityCert::try_from(leaf_der) {
            Ok(leaf) => leaf,
            Err(reason) => {
                return Some(Err(DaneError::PkixPath {
                    depth: presented_depth,
                    reason,
                }));
            }
        };
        let roots: Vec<(TrustAnchor<'_>, &CertificateDer<'_>)> = self
            .params
            .pkix_roots
            .iter()
            .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok().map(|a| (a, der)))
            .collect();
        let anchors: Vec<TrustAnchor<'_>> = roots.iter().map(|(a, _)| a.clone()).collect();
        let pool = self.pool();

        // The callback makes webpki keep searching until it finds a path
        // that some PKIX record matches.
        let found: Cell<Option<(usize, usize, Vec<u8>)>> = Cell::new(None);
        let check = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
            let mut certs: Vec<Vec<u8>> = vec![leaf_der.as_ref().to_vec()];
            certs.extend(
                path.intermediate_certificates()
                    .map(|c| c.der().as_ref().to_vec()),
            );
            let anchor = path.anchor();
            if let Some((_, der)) = roots.iter().find(|(a, _)| {
                a.subject == anchor.subject
                    && a.subject_public_key_info == anchor.subject_public_key_info
            }) {
                certs.push(der.as_ref().to_vec());
            }
            for (depth, der) in certs.iter().enumerate() {
                let spki = spki_of(der);
                for &i in &pkix {
                    let a = &self.active[i];
                    // PKIX-EE is the leaf only; PKIX-TA a CA above it.
                    let applies = (depth == 0) == (a.usage == Usage::PkixEe);
                    if applies && a.matches(der, spki.as_deref()) {
                        found.set(Some((i, depth, der.clone())));
                        return Ok(());
                    }
                }
            }
            Err(webpki::Error::UnknownIssuer)
        };
        let now = self.params.now;
        let with_match = leaf.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &pool,
            now,
            KeyUsage::server_auth(),
            None,
            Some(&check),
        );
        if let (Ok(_), Some((i, depth, der))) = (with_match, found.take()) {
            {
                let kind = crate::report::kind_for(self.active[i].usage);
                return Some(Ok(self.matched(i, depth, kind, Some(&der))));
            }
        }
        let any_path = leaf.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &pool,
            now,
            KeyUsage::server_auth(),
            None,
            None,
        );
        Some(Err(match any_path {
            // A PKIX path exists, but no record matches it.
            Ok(_) => DaneError::NoMatch,
            Err(reason) => DaneError::PkixPath {
                depth: presented_depth,
                reason,
            },
        }))
    }
}

/// Validates a path from the leaf to `anchor` (signatures, validity dates
/// of the leaf and intermediates, basic constraints, path length, EKU,
/// name constraints) and returns the anchor's depth.
///
/// RFC 7671 §5.2 does not ask for checks on the TA itself: like RFC 5280
/// §6.1 (an anchor is a name and a key), its dates and CA bit are not
/// checked. OpenSSL does check the TA's dates; we follow webpki and the RFC.
fn path_depth(
    leaf: &EndEntityCert<'_>,
    leaf_der: &CertificateDer<'_>,
    anchor: &TrustAnchor<'_>,
    pool: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<usize, webpki::Error> {
    let anchors = std::slice::from_ref(anchor);
    match leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        anchors,
        pool,
        now,
        KeyUsage::server_auth(),
        None,
        None,
    ) {
        Ok(path) => Ok(path.intermediate_certificates().count() + 1),
        // webpki refuses a leaf with basicConstraints CA:TRUE. RFC 7671
        // §5.2 puts no condition on the leaf's CA bit under DANE-TA (and
        // OpenSSL accepts it, e.g. `2 1 0` over a self-signed CA leaf), so
        // the RFC decides: validate that path without webpki.
        Err(webpki::Error::CaUsedAsEndEntity) => {
            ca_leaf::path_depth(leaf_der.as_ref(), anchor, pool, now)
                .ok_or(webpki::Error::CaUsedAsEndEntity)
        }
        Err(e) => Err(e),
    }
}

/// Verifies a certificate's signature with a DER SubjectPublicKeyInfo, with
/// the algorithms webpki supports.
pub(crate) fn verify_cert_signature(cert_der: &[u8], spki_der: &[u8]) -> bool {
    let (Some(signed), Some((key_alg, key))) =
        (der::split_certificate(cert_der), der::split_spki(spki_der))
    else {
        return false;
    };
    webpki::ALL_VERIFICATION_ALGS
        .iter()
        .any(|alg: &&dyn SignatureVerificationAlgorithm| {
            alg.signature_alg_id().as_ref() == signed.algorithm
                && alg.public_key_alg_id().as_ref() == key_alg
                && alg
                    .verify_signature(key, signed.tbs, signed.signature)
                    .is_ok()
        })
}

fn spki_of(cert_der: &[u8]) -> Option<Vec<u8>> {
    match X509Certificate::from_der(cert_der) {
        Ok((_, c)) => Some(c.public_key().raw.to_vec()),
        Err(_) => None,
    }
}

fn subject_of(cert_der: &[u8]) -> String {
    match X509Certificate::from_der(cert_der) {
        Ok((_, c)) => c.subject().to_string(),
        Err(_) => String::new(),
    }
}
