//! RRSIG verification (RFC 4035 §5.3) and canonical form (RFC 4034 §6).
//!
//! [`verify_rrset`] is the one way to obtain a [`Verified`]: an RRset
//! together with the RRSIG that verified it under a key of an authenticated
//! [`ZoneKeys`] at a given time. The RRSIG stays with the RRset: wildcard
//! and denial proofs need its labels and signer fields.
//!
//! Every signature verification is charged to the session's [`Budget`]; at
//! most [`Limits::max_rrsigs_per_rrset`](super::Limits) RRSIGs and
//! [`Limits::max_keys_per_rrsig`](super::Limits) colliding keys per RRSIG are
//! tried (KeyTrap, CVE-2023-50387).
//!
//! # What it does not do
//! - It does not decide which zone should have signed the RRset: the caller
//!   passes that zone's [`ZoneKeys`].
//! - It does not prove that a wildcard expansion was legitimate: it reports
//!   the expansion ([`Verified::wildcard`]) and the denial proofs show that
//!   the exact name does not exist (RFC 4035 §5.3.4).
//! - The RRSIG owner and class equal the RRset's by construction
//!   ([`super::rrset::group`] attaches RRSIGs by owner, class and type
//!   covered; RFC 4035 §5.3.1 "The RRSIG RR and the RRset MUST have the same
//!   owner name and the same class").

mod canonical;

use crate::wire::{DNSSECRData, Name, RData, RRSIG, RecordType};

use super::budget::Budget;
use super::crypto::Crypto;
use super::keys::{ZoneKey, ZoneKeys};
use super::outcome::{BogusReason, RrsetId};
use super::rrset::Rrset;

pub(crate) use canonical::push_name;

/// An RRset whose RRSIG verified under a key of an authenticated zone key
/// set at a given time. Built only by [`verify_rrset`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    rrset: Rrset,
    rrsig: RRSIG,
    key_tag: u16,
    ttl: u32,
    wildcard: Option<Name>,
}

impl Verified {
    /// Assemble a proof. Only the validator builds these.
    pub(crate) fn new(
        rrset: Rrset,
        rrsig: RRSIG,
        key_tag: u16,
        ttl: u32,
        wildcard: Option<Name>,
    ) -> Self {
        Self {
            rrset,
            rrsig,
            key_tag,
            ttl,
            wildcard,
        }
    }

    /// The verified RRset, as received (owner case kept).
    pub fn rrset(&self) -> &Rrset {
        &self.rrset
    }

    /// The verified RRset, by value.
    pub(crate) fn into_rrset(self) -> Rrset {
        self.rrset
    }

    /// The RRSIG that verified it.
    pub fn rrsig(&self) -> &RRSIG {
        &self.rrsig
    }

    /// The signer: the zone whose key verified the RRSIG.
    pub fn signer(&self) -> &Name {
        &self.rrsig.input().signer_name
    }

    /// The key tag of the DNSKEY that verified the RRSIG.
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }

    /// The TTL the validated RRset may be used for (RFC 4035 §5.3.3): the
    /// minimum of the RRset's TTL as received (which [`super::rrset::group`]
    /// also caps by the RRSIGs' TTLs), the RRSIG's Original TTL, and the
    /// time left until the RRSIG expires.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// When the RRSIG Labels field shows a wildcard expansion (RFC 4035
    /// §5.3.2): the source of synthesis, `*.` followed by the closest
    /// encloser.
    pub fn wildcard(&self) -> Option<&Name> {
        self.wildcard.as_ref()
    }

    /// When the RRset was synthesised from a wildcard: the closest encloser
    /// of the owner name (the rightmost Labels labels of the owner).
    pub fn closest_encloser(&self) -> Option<Name> {
        self.wildcard.as_ref().map(Name::base_name)
    }
}

/// Verify `rrset` with the authenticated keys of the zone that signed it.
///
/// Implements RFC 4035 §5.3.1 (RRSIG checks), §5.3.2 (signed data,
/// including wildcard reconstruction) and §5.3.3 (TTL), with the canonical
/// form of RFC 4034 §6 as amended by RFC 6840 §5.1. `now` is seconds since
/// the epoch.
///
/// On failure the most useful reason is returned: a signature failure of a
/// key that was found (invalid, expired, not yet valid) over a malformed
/// RRSIG, over an RRSIG whose key is not in the set;
/// [`BogusReason::RrsigsMissing`] when there is no RRSIG at all; and
/// [`BogusReason::BudgetExceeded`] as soon as a limit is hit.
pub fn verify_rrset(
    rrset: &Rrset,
    keys: &ZoneKeys,
    now: u64,
    budget: &mut Budget,
    crypto: &dyn Crypto,
) -> Result<Verified, BogusReason> {
    verify_with(rrset, keys.zone(), keys.zone_keys(), now, budget, crypto)
}

/// The RFC 4034 §3.1.8.1 signed data of `rrset` under `rrsig`'s fields (the
/// RRSIG signature field is ignored): what a signer signs and what
/// [`verify_rrset`] verifies. For signers, tests and benchmarks.
pub fn signed_data_for(rrset: &Rrset, rrsig: &RRSIG) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(512);
    let owner_labels = rrset.name.num_labels();
    if rrsig.input().num_labels > owner_labels {
        return Err("labels field exceeds the owner's label count".into());
    }
    signed_data(&mut out, &mut Vec::new(), rrset, rrsig, owner_labels)?;
    Ok(out)
}

/// [`verify_rrset`] with an explicit key list (used by DNSKEY
/// authentication, which tries one DS-matched key at a time).
pub(crate) fn verify_with(
    rrset: &Rrset,
    zone: &Name,
    keys: &[ZoneKey],
    now: u64,
    budget: &mut Budget,
    crypto: &dyn Crypto,
) -> Result<Verified, BogusReason> {
    let id = || RrsetId::new(&rrset.name, rrset.rtype);
    if rrset.rrsigs.is_empty() {
        return Err(BogusReason::RrsigsMissing {
            rrset: id(),
            zone: zone.clone(),
        });
    }
    let max_rrsigs = budget.limits().max_rrsigs_per_rrset as usize;
    let max_keys = budget.limits().max_keys_per_rrsig as usize;
    let mut best = Best::default();
    let mut data = Vec::with_capacity(512);
    let mut scratch = Vec::new();

    let owner_labels = rrset.name.num_labels();
    for rrsig in rrset.rrsigs.iter().take(max_rrsigs) {
        let input = rrsig.input();
        if let Err(detail) = check_fields(rrset, rrsig, zone, owner_labels) {
            best.offer(Rank::Malformed, || BogusReason::RrsigMalformed {
                rrset: id(),
                detail,
            });
            continue;
        }

        // RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name, Algorithm, and Key
        // Tag fields MUST match the owner name, algorithm, and key tag for
        // some DNSKEY RR in the zone's apex DNSKEY RRset." and "The matching
        // DNSKEY RR MUST be present in the zone's apex DNSKEY RRset, and MUST
        // have the Zone Flag bit (DNSKEY RDATA Flag bit 7) set." (ZoneKeys
        // holds zone keys only.) At most `max_keys_per_rrsig` colliding keys
        // are tried (KeyTrap).
        let alg = u8::from(input.algorithm);
        let mut candidates = keys
            .iter()
            .filter(|k| k.tag == input.key_tag && k.algorithm() == alg)
            .filter(|k| usable_for(k, rrset, zone))
            .filter(|k| crypto.supports_algorithm(alg, k.public_key()))
            .take(max_keys)
            .peekable();
        if candidates.peek().is_none() {
            best.offer(Rank::NoKey, || BogusReason::NoMatchingKey {
                rrset: id(),
                signer: input.signer_name.clone(),
                key_tag: input.key_tag,
            });
            continue;
        }

        let expiration = match check_validity_period(rrset, rrsig, now) {
            Ok(expiration) => expiration,
            Err(reason) => {
                best.offer(Rank::KeyFound, || reason);
                continue;
            }
        };

        // RFC 4035 §5.3.2: reconstruct the signed data.
        data.clear();
        if let Err(detail) = signed_data(&mut data, &mut scratch, rrset, rrsig, owner_labels) {
            best.offer(Rank::Malformed, || BogusReason::RrsigMalformed {
                rrset: id(),
                detail,
            });
            continue;
        }

        for key in candidates {
            budget.charge_verification(&format_args!(
                "{} {} RRSIG key {}",
                rrset.name, rrset.rtype, input.key_tag
            ))?;
            match crypto.verify(alg, key.public_key(), &data, rrsig.sig()) {
                Ok(()) => {
                    let wildcard = wildcard_source(&rrset.name, input.num_labels, owner_labels);
                    // RFC 4035 §5.3.3: the TTL is capped by the RRset TTL,
                    // the Original TTL and the time to expiration.
                    let to_expiry = u32::try_from(expiration - now as i64).unwrap_or(u32::MAX);
                    let ttl = rrset.ttl.min(input.original_ttl).min(to_expiry);
                    return Ok(Verified::new(
                        rrset.clone(),
                        rrsig.clone(),
                        key.tag,
                        ttl,
                        wildcard,
                    ));
                }
                Err(_) => {
                    budget.record_failure(&format_args!(
                        "{} {} RRSIG key {}",
                        rrset.name, rrset.rtype, input.key_tag
                    ))?;
                    best.offer(Rank::KeyFound, || BogusReason::SignatureInvalid {
                        rrset: id(),
                        signer: input.signer_name.clone(),
                        key_tag: input.key_tag,
                    });
                }
            }
        }
    }
    Err(best.reason.unwrap_or_else(|| BogusReason::RrsigsMissing {
        rrset: id(),
        zone: zone.clone(),
    }))
}

/// RFC 4035 §5.3.1: "The validator's notion of the current time MUST be
/// less than or equal to the time listed in the RRSIG RR's Expiration
/// field." and "... MUST be greater than or equal to the time listed in the
/// RRSIG RR's Inception field." Both are RFC 1982 serial numbers (RFC 4034
/// §3.1.5), resolved to the 64-bit time nearest to `now`. Returns the
/// resolved expiration.
fn check_validity_period(rrset: &Rrset, rrsig: &RRSIG, now: u64) -> Result<i64, BogusReason> {
    let input = rrsig.input();
    let expiration = resolve_serial_time(input.sig_expiration.get(), now);
    let inception = resolve_serial_time(input.sig_inception.get(), now);
    if expiration < now as i64 {
        return Err(BogusReason::SignatureExpired {
            rrset: RrsetId::new(&rrset.name, rrset.rtype),
            signer: input.signer_name.clone(),
            key_tag: input.key_tag,
            expiration: expiration.max(0) as u64,
            now,
        });
    }
    if inception > now as i64 {
        return Err(BogusReason::SignatureNotYetValid {
            rrset: RrsetId::new(&rrset.name, rrset.rtype),
            signer: input.signer_name.clone(),
            key_tag: input.key_tag,
            inception: inception.max(0) as u64,
            now,
        });
    }
    Ok(expiration)
}

/// The RFC 4035 §5.3.1 field checks that need no key.
fn check_fields(rrset: &Rrset, rrsig: &RRSIG, zone: &Name, owner_labels: u8) -> Result<(), String> {
    let input = rrsig.input();
    // RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name field MUST be the name
    // of the zone that contains the RRset."
    if !same_name(&input.signer_name, zone) {
        return Err(format!(
            "signer {} is not the zone {zone} whose keys are used",
            input.signer_name
        ));
    }
    // ... and that zone is the owner or one of its ancestors.
    if !input.signer_name.zone_of(&rrset.name) {
        return Err(format!(
            "signer {} is not an ancestor of the owner",
            input.signer_name
        ));
    }
    // RFC 4035 §5.3.1: "The RRSIG RR's Type Covered field MUST equal the
    // RRset's type."
    if input.type_covered != rrset.rtype {
        return Err(format!(
            "type covered {} is not the RRset's type",
            input.type_covered
        ));
    }
    // RFC 4035 §5.3.1: "The number of labels in the RRset owner name MUST be
    // greater than or equal to the value in the RRSIG RR's Labels field."
    // (hickory's `num_labels` does not count a leading `*`, as RFC 4034
    // §3.1.3 requires.)
    if input.num_labels > owner_labels {
        return Err(format!(
            "labels field {} exceeds the owner's {owner_labels} labels",
            input.num_labels
        ));
    }
    Ok(())
}

/// RFC 5011 §3: a key with the REVOKE bit "MUST NOT" be used "for any other
/// purpose except to validate the RRSIG it signed over the DNSKEY RRset
/// specifically for the purpose of validating the revocation": only the
/// zone's own DNSKEY RRset, and only if the revoked key is in it.
fn usable_for(key: &ZoneKey, rrset: &Rrset, zone: &Name) -> bool {
    if !key.is_revoked() {
        return true;
    }
    rrset.rtype == RecordType::DNSKEY
        && same_name(&rrset.name, zone)
        && rrset.rdatas.iter().any(|r| match r {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => k == key.dnskey(),
            _ => false,
        })
}

/// Build the RFC 4034 §3.1.8.1 signed data into `out`.
fn signed_data(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    rrset: &Rrset,
    rrsig: &RRSIG,
    owner_labels: u8,
) -> Result<(), String> {
    let input = rrsig.input();
    canonical::push_rrsig_rdata(out, rrsig);

    // RFC 4034 §6.3: RRs sorted by their canonical RDATA as left-justified
    // octet sequences; "if an implementation detects duplicate RRs when
    // putting the RRset in canonical form, ... it MUST remove all but one of
    // the duplicate RR(s) before calculating the canonical form of the
    // RRset."
    scratch.clear();
    let mut one = Vec::with_capacity(512);
    let mut spans = Vec::with_capacity(rrset.rdatas.len());
    for rdata in &rrset.rdatas {
        let start = scratch.len();
        canonical::push_rdata(scratch, &mut one, rdata)?;
        let len = scratch.len() - start;
        if len > usize::from(u16::MAX) {
            return Err("RDATA longer than 65535 octets".into());
        }
        spans.push(start..scratch.len());
    }
    spans.sort_by(|a, b| scratch[a.clone()].cmp(&scratch[b.clone()]));
    spans.dedup_by(|a, b| scratch[a.clone()] == scratch[b.clone()]);

    // RFC 4035 §5.3.2: "if the RRSIG RR's Labels field is less than the
    // number of labels in the owner name, the owner name MUST be replaced by
    // '*.' followed by the rightmost Labels labels" (the reconstructed
    // wildcard name). hickory counts a leading `*` among its labels; skip
    // all but the rightmost `num_labels`.
    let total_labels = rrset.name.iter().count();
    let skip = if input.num_labels < owner_labels {
        total_labels - usize::from(input.num_labels)
    } else {
        0
    };
    let mut owner = Vec::with_capacity(rrset.name.len() + 2);
    push_name(&mut owner, &rrset.name, skip);

    let rtype = u16::from(rrset.rtype).to_be_bytes();
    let class = u16::from(rrset.class).to_be_bytes();
    // RFC 4035 §5.3.2: the TTL in the signed data is the RRSIG's Original
    // TTL, not the TTL as received.
    let ttl = input.original_ttl.to_be_bytes();
    for span in spans {
        out.extend_from_slice(&owner);
        out.extend_from_slice(&rtype);
        out.extend_from_slice(&class);
        out.extend_from_slice(&ttl);
        // Checked above: at most 65535 octets.
        out.extend_from_slice(&(span.len() as u16).to_be_bytes());
        out.extend_from_slice(&scratch[span]);
    }
    Ok(())
}

/// The wildcard source name when `labels` < the owner's label count.
fn wildcard_source(owner: &Name, labels: u8, owner_labels: u8) -> Option<Name> {
    if labels >= owner_labels {
        return None;
    }
    owner
        .trim_to(usize::from(labels))
        .prepend_label("*")
        .ok()
        .map(|mut n| {
            n.set_fqdn(owner.is_fqdn());
            n
        })
}

/// Resolve a 32-bit RRSIG time (RFC 4034 §3.1.5: "a serial number ... using
/// RFC 1982 arithmetic") to the 64-bit time nearest to `now`: within 2^31
/// seconds (68 years) before or after it.
pub(crate) fn resolve_serial_time(serial: u32, now: u64) -> i64 {
    let delta = serial.wrapping_sub(now as u32) as i32;
    (now as i64).saturating_add(i64::from(delta))
}

/// Case-insensitive name equality that ignores the FQDN flag.
pub(crate) fn same_name(a: &Name, b: &Name) -> bool {
    a.num_labels() == b.num_labels() && a.zone_of(b) && b.zone_of(a)
}

/// Which failure is the most useful to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    NoKey,
    Malformed,
    KeyFound,
}

#[derive(Default)]
struct Best {
    rank: Option<Rank>,
    reason: Option<BogusReason>,
}

impl Best {
    fn offer(&mut self, rank: Rank, reason: impl FnOnce() -> BogusReason) {
        if self.rank.is_none_or(|r| rank > r) {
            self.rank = Some(rank);
            self.reason = Some(reason());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
