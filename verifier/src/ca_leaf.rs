//! DANE-TA path validation for a leaf marked CA:TRUE.
//!
//! webpki refuses such a leaf outright (`CaUsedAsEndEntity`). RFC 7671 §5.2
//! asks for path validation from the leaf to the TLSA trust anchor and puts
//! no condition on the leaf's basic constraints, and OpenSSL accepts it (so
//! do servers that reuse a CA certificate as their own). The RFC decides:
//! this module validates such paths itself, with the checks webpki would
//! make on the rest of the path, and is called **only** after webpki
//! refused the leaf for that one reason.
//!
//! Checks, per RFC 5280 §6.1: each certificate names the next as issuer
//! and is signed by its key (webpki's algorithms); the leaf and every
//! intermediate are within their validity period; intermediates are CAs and
//! honour pathLenConstraint; an EKU, where present, includes serverAuth.
//! Name constraints are not implemented here, so a path through a
//! certificate that has them is refused. The anchor is a name and a key.

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::der;
use crate::verify::verify_cert_signature;

/// webpki's limit on intermediates.
const MAX_INTERMEDIATES: usize = 6;

/// Signature checks allowed per call: bounds the search over a hostile
/// pool of same-named certificates (webpki's budget is 100).
const MAX_SIGNATURE_CHECKS: usize = 100;

struct Parsed<'a> {
    der: &'a [u8],
    cert: X509Certificate<'a>,
}

/// The depth of `anchor` on a valid path from the CA:TRUE leaf, if any.
pub(crate) fn path_depth(
    leaf_der: &[u8],
    anchor: &TrustAnchor<'_>,
    pool: &[CertificateDer<'_>],
    now: UnixTime,
) -> Option<usize> {
    let Ok(([], leaf)) = X509Certificate::from_der(leaf_der) else {
        return None;
    };
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if !valid_at(&leaf, now) || !eku_allows_server_auth(&leaf) {
        return None;
    }
    let pool: Vec<Parsed<'_>> = pool
        .iter()
        .filter_map(|der| match X509Certificate::from_der(der.as_ref()) {
            Ok(([], cert)) => Some(Parsed {
                der: der.as_ref(),
                cert,
            }),
            _ => None,
        })
        .collect();
    let anchor_spki = der::wrap_sequence(anchor.subject_public_key_info.as_ref());
    let mut search = Search {
        anchor,
        anchor_spki: &anchor_spki,
        pool: &pool,
        now,
        checks: 0,
    };
    let leaf = Parsed {
        der: leaf_der,
        cert: leaf,
    };
    search.from(&leaf, &mut Vec::new())
}

struct Search<'s, 'a> {
    anchor: &'s TrustAnchor<'s>,
    anchor_spki: &'s [u8],
    pool: &'s [Parsed<'a>],
    now: i64,
    checks: usize,
}

impl Search<'_, '_> {
    /// Depth of the anchor above `current`, whose path below holds the
    /// intermediates `used` (pool indices).
    fn from(&mut self, current: &Parsed<'_>, used: &mut Vec<usize>) -> Option<usize> {
        let issuer = der::sequence_contents(current.cert.issuer().as_raw())?;
        if issuer == self.anchor.subject.as_ref() && self.signed_by(current, self.anchor_spki) {
            return Some(used.len() + 1);
        }
        if used.len() >= MAX_INTERMEDIATES {
            return None;
        }
        for (i, candidate) in self.pool.iter().enumerate() {
            if used.contains(&i)
                || der::sequence_contents(candidate.cert.subject().as_raw()) != Some(issuer)
                || !self.usable_intermediate(&candidate.cert, used.len())
                || !self.signed_by(current, candidate.cert.public_key().raw)
            {
                continue;
            }
            used.push(i);
            if let Some(depth) = self.from(candidate, used) {
                return Some(depth);
            }
            used.pop();
        }
        None
    }

    fn signed_by(&mut self, cert: &Parsed<'_>, spki: &[u8]) -> bool {
        self.checks += 1;
        self.checks <= MAX_SIGNATURE_CHECKS && verify_cert_signature(cert.der, spki)
    }

    /// RFC 5280 §6.1.4 (k), (l): a CA whose pathLenConstraint allows
    /// `below` intermediates under it; valid now; no name constraints we
    /// would have to enforce; EKU, if any, allows serverAuth (as webpki).
    fn usable_intermediate(&self, cert: &X509Certificate<'_>, below: usize) -> bool {
        let Ok(Some(bc)) = cert.basic_constraints() else {
            return false;
        };
        let path_len_ok = bc
            .value
            .path_len_constraint
            .is_none_or(|n| usize::try_from(n).is_ok_and(|n| below <= n));
        bc.value.ca
            && path_len_ok
            && valid_at(cert, self.now)
            && matches!(cert.name_constraints(), Ok(None))
            && eku_allows_server_auth(cert)
    }
}

fn valid_at(cert: &X509Certificate<'_>, now: i64) -> bool {
    let v = cert.validity();
    v.not_before.timestamp() <= now && now <= v.not_after.timestamp()
}

fn eku_allows_server_auth(cert: &X509Certificate<'_>) -> bool {
    match cert.extended_key_usage() {
        Ok(None) => true,
        Ok(Some(eku)) => eku.value.server_auth,
        Err(_) => false,
    }
}
