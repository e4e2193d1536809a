//! The one way into the RFC 5011 state machine: a DNSKEY RRset whose
//! signatures the validator verified ([`AuthenticatedDnskeys`]).
//!
//! It is built only here, from a probe's response, by the validator's own
//! signature check ([`crate::validator::signature`]): `verified_by` lists
//! the keys the trust point vouches for whose RRSIG verified the RRset, and
//! `revoked_self_signed` the REVOKE-bit keys whose own RRSIG verified it
//! (RFC 5011 §2.1). No caller can declare a key valid by hand: the
//! constructor is crate-private and the state machine checks again that
//! every verifier is one of its anchors.

use danebound_trust_anchors::rfc5011::{Key, Observation, TrustPoint};
use danebound_trust_anchors::text::RawRecord;

use crate::validator::crypto::Crypto;
use crate::validator::keys::ZoneKey;
use crate::validator::rrset::{Rrset, group};
use crate::validator::signature::{Verified, resolve_serial_time, verify_with};
use crate::validator::{Budget, Limits};
use crate::wire::{DNSSECRData, Message, Name, RData, RecordType};

/// An authenticated DNSKEY RRset, reduced to what RFC 5011 needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedDnskeys {
    observation: Observation,
}

impl AuthenticatedDnskeys {
    /// The observation for the state machine.
    pub fn observation(&self) -> &Observation {
        &self.observation
    }

    /// Judge a probe's `response` for the DNSKEY RRset of `zone` against
    /// the trust point `tp` at time `now`. `Err`: why it proves nothing (no
    /// RRset, no signature by an anchor or by a revoked key itself).
    pub(crate) fn from_response(
        zone: &Name,
        response: &Message,
        tp: &TrustPoint,
        now: u64,
        crypto: &dyn Crypto,
    ) -> Result<Self, String> {
        let rrset = group(&response.answers)
            .into_iter()
            .find(|s| s.rtype == RecordType::DNSKEY && s.name.to_lowercase() == zone.to_lowercase())
            .ok_or_else(|| format!("no DNSKEY RRset for {zone} in the answer"))?;
        if rrset.rrsigs.is_empty() {
            return Err(format!("the DNSKEY RRset of {zone} has no RRSIG"));
        }
        let mut obs = Observation {
            rrset: Vec::new(),
            unsupported: Vec::new(),
            verified_by: Vec::new(),
            revoked_self_signed: Vec::new(),
            orig_ttl: 0,
            sig_expiration: u64::MAX,
        };
        // One verification per candidate key, bounded by the RRset's size
        // (the trust point caps what it tracks; KeyTrap limits apply per key).
        let mut budget = Budget::new(Limits::default());
        for (rdata, key) in keys_of(&rrset) {
            let supported = crypto.supports_algorithm(key.algorithm, &key.public_key);
            if supported {
                obs.rrset.push(key.clone());
            } else {
                obs.unsupported.push(key.clone());
                continue;
            }
            let candidate = if key.is_revoked() {
                // §2.1: only a key we know, matched ignoring the bit.
                tp.keys().iter().any(|t| t.key.same_key(&key))
            } else {
                tp.anchor_keys().any(|a| *a == key)
                    || tp
                        .pending_ds()
                        .iter()
                        .any(|d| d.matches(tp.owner_wire(), &key) == Some(true))
            };
            if !candidate || !key.is_zone_key() {
                continue;
            }
            let RData::DNSSEC(DNSSECRData::DNSKEY(dnskey)) = rdata else {
                continue;
            };
            let zone_key = ZoneKey::new(dnskey.clone());
            if let Ok(verified) = verify_with(&rrset, zone, &[zone_key], now, &mut budget, crypto) {
                note_signature(&mut obs, &verified, now);
                if key.is_revoked() {
                    obs.revoked_self_signed.push(key);
                } else {
                    obs.verified_by.push(key);
                }
            }
        }
        if obs.verified_by.is_empty() && obs.revoked_self_signed.is_empty() {
            return Err(format!(
                "no RRSIG over the DNSKEY RRset of {zone} verifies with a trust anchor"
            ));
        }
        Ok(Self { observation: obs })
    }
}

/// §2.3 inputs from the signatures that verified: the Original TTL (a
/// forwarder lowers the record TTL) and the earliest expiration.
fn note_signature(obs: &mut Observation, verified: &Verified, now: u64) {
    let input = verified.rrsig().input();
    obs.orig_ttl = obs.orig_ttl.max(input.original_ttl);
    let expiration = resolve_serial_time(input.sig_expiration.get(), now).max(0) as u64;
    obs.sig_expiration = obs.sig_expiration.min(expiration);
}

/// The DNSKEYs of `rrset` with their RFC 5011 form.
fn keys_of(rrset: &Rrset) -> Vec<(&RData, Key)> {
    rrset
        .records()
        .zip(&rrset.rdatas)
        .filter_map(|(record, rdata)| {
            let raw = RawRecord::from_record(&record).ok()?;
            Some((rdata, Key::from_rdata(&raw.rdata).ok()?))
        })
        .collect()
}
