//! DNSKEY authentication from DS records or trust anchors (RFC 4035 §5.2),
//! key tags (RFC 4034 Appendix B) and DS digests (RFC 4034 §5.1.4).
//!
//! [`authenticate_dnskeys`] is the one way to obtain [`ZoneKeys`]: the DNSKEY
//! RRset of a zone, proven by a DS record (or a trust anchor) that matches a
//! key which signs that very RRset. Trust is never inferred from a byte
//! comparison alone (RUSTSEC-2025-0006): the matched key must verify an RRSIG
//! over the whole DNSKEY RRset before any key of it is used.
//!
//! # What it does not do
//! - It does not validate the DS RRset: the caller proves it first (a
//!   [`Verified`] DS set, see [`SecureEntryPoints::from_verified_ds`]) or
//!   hands in configured trust anchors.
//! - It does not run the RFC 5011 state machine: revoked keys are simply not
//!   used as entry points (RFC 5011 §2.1).

// foldhash: short-lived maps of one message or session (see the workspace).
use foldhash::{HashMap, HashMapExt, HashSet};

use crate::wire::{DNSKEY, DNSSECRData, DS, Name, PublicKey, RData, RecordType};

use super::budget::Budget;
use super::crypto::{Crypto, digest};
use super::outcome::{BogusReason, InsecureReason};
use super::rrset::Rrset;
use super::signature::{Verified, push_name, same_name, verify_with};

/// DNSKEY flag bit 7, Zone Key (RFC 4034 §2.1.1).
pub const FLAG_ZONE: u16 = 0x0100;
/// DNSKEY flag bit 8, REVOKE (RFC 5011 §7).
pub const FLAG_REVOKE: u16 = 0x0080;
/// DNSKEY flag bit 15, Secure Entry Point (RFC 4034 §2.1.1).
pub const FLAG_SEP: u16 = 0x0001;

// ---------------------------------------------------------------------------
// Key tags and digests
// ---------------------------------------------------------------------------

/// The key tag of a DNSKEY (RFC 4034 Appendix B), including the algorithm 1
/// (RSA/MD5) special case of Appendix B.1.
pub fn key_tag(dnskey: &DNSKEY) -> u16 {
    let key = dnskey.public_key();
    let alg = u8::from(key.algorithm());
    let mut rdata = Vec::with_capacity(4 + key.public_bytes().len());
    push_dnskey_rdata(&mut rdata, dnskey);
    if alg == 1 {
        // Appendix B.1: "the key tag for algorithm 1 (RSA/MD5) is defined to
        // be the most significant 16 bits of the least significant 24 bits in
        // the public key modulus".
        let n = rdata.len();
        if n < 4 + 3 {
            return 0;
        }
        return u16::from_be_bytes([rdata[n - 3], rdata[n - 2]]);
    }
    key_tag_of_rdata(&rdata)
}

/// The RFC 4034 Appendix B checksum over DNSKEY RDATA wire bytes (for every
/// algorithm but 1).
pub fn key_tag_of_rdata(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(b)
        } else {
            u32::from(b) << 8
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

/// The DS digest of `dnskey` at `owner` (RFC 4034 §5.1.4):
/// `digest = digest_algorithm( DNSKEY owner name | DNSKEY RDATA)`, with the
/// owner name in canonical form (lowercased, uncompressed). `None` for an
/// unsupported digest type.
pub fn ds_digest(
    owner: &Name,
    dnskey: &DNSKEY,
    digest_type: u8,
    crypto: &dyn Crypto,
) -> Option<Vec<u8>> {
    let mut data =
        Vec::with_capacity(owner.len() + 2 + 4 + dnskey.public_key().public_bytes().len());
    push_name(&mut data, owner, 0);
    push_dnskey_rdata(&mut data, dnskey);
    crypto.digest(digest_type, &data)
}

/// DNSKEY RDATA: flags, protocol (always 3: hickory refuses others), algorithm,
/// public key (RFC 4034 §2.1).
fn push_dnskey_rdata(out: &mut Vec<u8>, dnskey: &DNSKEY) {
    out.extend_from_slice(&dnskey.flags().to_be_bytes());
    out.push(3);
    out.push(u8::from(dnskey.public_key().algorithm()));
    out.extend_from_slice(dnskey.public_key().public_bytes());
}

// ---------------------------------------------------------------------------
// Zone keys
// ---------------------------------------------------------------------------

/// One zone key (Zone Key bit set) of an authenticated DNSKEY RRset, with its
/// key tag computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneKey {
    pub(crate) tag: u16,
    dnskey: DNSKEY,
}

impl ZoneKey {
    pub(crate) fn new(dnskey: DNSKEY) -> Self {
        Self {
            tag: key_tag(&dnskey),
            dnskey,
        }
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The DNSKEY record data.
    pub fn dnskey(&self) -> &DNSKEY {
        &self.dnskey
    }

    /// The DNSSEC algorithm number.
    pub fn algorithm(&self) -> u8 {
        u8::from(self.dnskey.public_key().algorithm())
    }

    /// The public key field.
    pub fn public_key(&self) -> &[u8] {
        self.dnskey.public_key().public_bytes()
    }

    /// Does the key carry the REVOKE bit (RFC 5011 §3)?
    pub fn is_revoked(&self) -> bool {
        self.dnskey.flags() & FLAG_REVOKE != 0
    }
}

/// The authenticated DNSKEY RRset of a zone: every zone key in it may verify
/// the zone's RRsets. Built only by [`authenticate_dnskeys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneKeys {
    zone: Name,
    dnskeys: Rrset,
    keys: Vec<ZoneKey>,
    authenticated_by: Vec<u16>,
    ttl: u32,
}

impl ZoneKeys {
    /// Assemble authenticated keys. Only the validator builds these.
    pub(crate) fn new(zone: Name, dnskeys: Rrset, authenticated_by: Vec<u16>, ttl: u32) -> Self {
        let keys = zone_keys_of(&dnskeys);
        Self {
            zone,
            dnskeys,
            keys,
            authenticated_by,
            ttl,
        }
    }

    /// Trust a DNSKEY RRset without any proof. For tests and vectors only
    /// (unbound's signature vectors hand the key set over as trusted).
    #[cfg(any(test, feature = "test-util"))]
    #[doc(hidden)]
    pub fn danger_trusted_without_proof(zone: Name, dnskeys: Rrset) -> Self {
        let ttl = dnskeys.ttl;
        Self::new(zone, dnskeys, Vec::new(), ttl)
    }

    /// The zone's name.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// The authenticated DNSKEY RRset.
    pub fn dnskeys(&self) -> &Rrset {
        &self.dnskeys
    }

    /// The zone keys (Zone Key bit set) of the RRset, with their tags.
    pub fn zone_keys(&self) -> &[ZoneKey] {
        &self.keys
    }

    /// The key tag(s) of the entry-point key(s) that authenticated the set.
    pub fn authenticated_by(&self) -> &[u16] {
        &self.authenticated_by
    }

    /// How long the authenticated set may be used (RFC 4035 §5.3.3, capped
    /// by the DS or anchor TTL when one was given).
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
}

impl ZoneKeys {
    /// Bytes this value holds on the heap and inline, for the key store's
    /// byte bound: the RRset's records and signatures, the zone keys (each a
    /// copy of a DNSKEY), the tags, and names past their inline capacity.
    pub fn bytes(&self) -> usize {
        let set = &self.dnskeys;
        let keys: usize = set
            .rdatas
            .iter()
            .map(|r| as_dnskey(r).map_or(0, |k| k.public_key().public_bytes().len()))
            .sum();
        let sigs: usize = set
            .rrsigs
            .iter()
            .map(|s| s.sig().len() + name_heap(&s.input().signer_name))
            .sum();
        size_of::<Self>()
            + set.rdatas.capacity() * size_of::<RData>()
            + set.rrsigs.capacity() * size_of::<crate::wire::RRSIG>()
            + self.keys.capacity() * size_of::<ZoneKey>()
            + self.authenticated_by.capacity() * size_of::<u16>()
            // The records' keys, and the zone keys' copies of them.
            + 2 * keys
            + sigs
            + name_heap(&self.zone)
            + name_heap(&set.name)
    }
}

/// Heap bytes of a name: hickory keeps up to 32 bytes of labels and 24
/// label ends inline.
pub(crate) fn name_heap(name: &Name) -> usize {
    let labels = usize::from(name.num_labels()) + 1;
    let data = name.len();
    (if data > 32 { data } else { 0 }) + (if labels > 24 { labels } else { 0 })
}

fn zone_keys_of(dnskeys: &Rrset) -> Vec<ZoneKey> {
    dnskeys
        .rdatas
        .iter()
        .filter_map(as_dnskey)
        .filter(|k| k.flags() & FLAG_ZONE != 0)
        .map(|k| ZoneKey::new(k.clone()))
        .collect()
}

fn as_dnskey(rdata: &RData) -> Option<&DNSKEY> {
    match rdata {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Secure entry points
// ---------------------------------------------------------------------------

/// What vouches for a zone's DNSKEY RRset: the DS records of a validated
/// parent DS RRset and/or configured trust anchors (DS or DNSKEY). Built
/// only by the validator, from a [`Verified`] DS RRset
/// ([`SecureEntryPoints::from_verified_ds`]) or from the configured
/// [`Anchors`](super::Anchors): no caller can vouch for a key set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecureEntryPoints {
    ds: Vec<DS>,
    dnskeys: Vec<DNSKEY>,
    ttl: Option<u32>,
}

impl SecureEntryPoints {
    /// Entry points from DS records (trust anchors, or records of a DS RRset
    /// the caller has validated).
    pub(crate) fn from_ds(ds: impl IntoIterator<Item = DS>) -> Self {
        Self {
            ds: ds.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Entry points from a validated DS RRset; the resulting keys' TTL is
    /// capped by the DS set's validated TTL. `None` if it is not a DS RRset.
    pub fn from_verified_ds(ds: &Verified) -> Option<Self> {
        let rrset = ds.rrset();
        if rrset.rtype != RecordType::DS {
            return None;
        }
        let records = rrset.rdatas.iter().filter_map(|r| match r {
            RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
            _ => None,
        });
        Some(Self::from_ds(records).with_ttl_cap(ds.ttl()))
    }

    /// Add DS records.
    pub(crate) fn with_ds(mut self, ds: impl IntoIterator<Item = DS>) -> Self {
        self.ds.extend(ds);
        self
    }

    /// Add DNSKEY anchors.
    pub(crate) fn with_dnskeys(mut self, dnskeys: impl IntoIterator<Item = DNSKEY>) -> Self {
        self.dnskeys.extend(dnskeys);
        self
    }

    /// Cap the TTL of keys authenticated from these entry points.
    pub(crate) fn with_ttl_cap(mut self, ttl: u32) -> Self {
        self.ttl = Some(self.ttl.map_or(ttl, |t| t.min(ttl)));
        self
    }

    /// The DS records.
    pub fn ds(&self) -> &[DS] {
        &self.ds
    }

    /// The DNSKEY anchors.
    pub fn dnskeys(&self) -> &[DNSKEY] {
        &self.dnskeys
    }

    /// No DS and no DNSKEY anchor.
    pub fn is_empty(&self) -> bool {
        self.ds.is_empty() && self.dnskeys.is_empty()
    }
}

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------

/// The verdict on a zone's DNSKEY RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // built once per zone per session
pub enum KeyVerdict {
    /// The set is authenticated; its zone keys may verify the zone's data.
    Trusted(ZoneKeys),
    /// Every DS or anchor uses an algorithm or digest we must not or cannot
    /// validate: the zone is insecure (RFC 4035 §5.2, RFC 6840 §5.2).
    Insecure(InsecureReason),
    /// The set cannot be authenticated.
    Bogus(BogusReason),
}

/// Authenticate `dnskeys`, the DNSKEY RRset of `zone`, from `anchors`.
///
/// RFC 4035 §5.2: "If the validator does not support any of the
/// algorithms listed in an authenticated DS RRset, then the resolver has no
/// supported authentication path leading from the parent to the child. The
/// resolver should treat this case as it would the case of an authenticated
/// NSEC RRset proving that no DS RRset exists". RFC 6840 §5.2 extends this to
/// unsupported digest types. Otherwise a DNSKEY must match a usable DS (key
/// tag, algorithm and digest, RFC 4034 §5.1.4) or a DNSKEY anchor (algorithm
/// and public key), have the Zone Key bit, not be revoked, and verify an
/// RRSIG over the whole DNSKEY RRset.
pub fn authenticate_dnskeys(
    zone: &Name,
    dnskeys: &Rrset,
    anchors: &SecureEntryPoints,
    now: u64,
    budget: &mut Budget,
    crypto: &dyn Crypto,
) -> KeyVerdict {
    match authenticate(zone, dnskeys, anchors, now, budget, crypto) {
        Ok(keys) => KeyVerdict::Trusted(keys),
        Err(Verdict::Insecure(reason)) => KeyVerdict::Insecure(reason),
        Err(Verdict::Bogus(reason)) => KeyVerdict::Bogus(reason),
    }
}

enum Verdict {
    Insecure(InsecureReason),
    Bogus(BogusReason),
}

fn authenticate(
    zone: &Name,
    dnskeys: &Rrset,
    anchors: &SecureEntryPoints,
    now: u64,
    budget: &mut Budget,
    crypto: &dyn Crypto,
) -> Result<ZoneKeys, Verdict> {
    if anchors.is_empty() {
        return Err(Verdict::Bogus(BogusReason::DsMismatch {
            zone: zone.clone(),
            ds_tags: Vec::new(),
        }));
    }
    if dnskeys.rtype != RecordType::DNSKEY || !same_name(&dnskeys.name, zone) {
        return Err(Verdict::Bogus(BogusReason::DnskeyMissing {
            zone: zone.clone(),
            detail: format!("got {} {} instead", dnskeys.name, dnskeys.rtype),
        }));
    }
    let keys: Vec<&DNSKEY> = dnskeys.rdatas.iter().filter_map(as_dnskey).collect();
    if keys.is_empty() {
        return Err(Verdict::Bogus(BogusReason::DnskeyMissing {
            zone: zone.clone(),
            detail: "the DNSKEY RRset is empty".into(),
        }));
    }

    let usable_ds = usable_ds(anchors.ds(), crypto);
    // RFC 5011 §2.1: a revoked key "MUST NOT" be used as a trust anchor.
    let live_anchors: Vec<&DNSKEY> = anchors
        .dnskeys()
        .iter()
        .filter(|k| k.flags() & FLAG_REVOKE == 0)
        .collect();
    let usable_anchors: Vec<&DNSKEY> = live_anchors
        .iter()
        .copied()
        .filter(|k| crypto.supports_algorithm(u8::from(k.public_key().algorithm()), &[]))
        .collect();
    if usable_ds.is_empty() && usable_anchors.is_empty() {
        if anchors.ds().is_empty() && live_anchors.is_empty() {
            // Only revoked anchors: nothing vouches for the set.
            return Err(Verdict::Bogus(BogusReason::AnchorKeyMismatch {
                zone: zone.clone(),
                anchor_tags: anchor_tags(anchors.dnskeys().iter()),
            }));
        }
        return Err(Verdict::Insecure(unsupported_reason(zone, anchors, crypto)));
    }

    // Entry-point keys: indexes into `keys`, each tried once.
    let max_keys = budget.limits().max_keys_per_rrsig as usize;
    let mut tried = vec![false; keys.len()];
    let mut search = Search::new(zone);
    // Key tags computed once per key, keys indexed by (tag, algorithm), and
    // each key's digest computed at most once per digest type: a flood of DS
    // records naming one tag costs one digest per key, not one per pair.
    let mut by_tag: HashMap<(u16, u8), Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        let alg = u8::from(k.public_key().algorithm());
        by_tag.entry((key_tag(k), alg)).or_default().push(i);
    }
    let mut digests: HashMap<(usize, u8), Option<Vec<u8>>> = HashMap::new();
    for ds in &usable_ds {
        let alg = u8::from(ds.algorithm());
        let digest_type = u8::from(ds.digest_type());
        let Some(candidates) = by_tag.get(&(ds.key_tag(), alg)) else {
            continue;
        };
        // RFC 4034 §5.2: "the DS RR's Digest field MUST match the digest of
        // the DNSKEY RR named by the key tag". The digest is compared before
        // the key limit applies, so colliding tags cannot push the real key
        // out of reach; only keys whose digest matches count against
        // `max_keys_per_rrsig` (KeyTrap). Every digest is charged to the
        // budget (`max_ds_digests`).
        let mut matched = 0;
        for &i in candidates {
            if matched == max_keys {
                break;
            }
            let digest = match digests.get(&(i, digest_type)) {
                Some(d) => d,
                None => {
                    budget
                        .charge_digest(&format_args!(
                            "DS digests for the DNSKEY set of {zone} (key tag {})",
                            ds.key_tag()
                        ))
                        .map_err(Verdict::Bogus)?;
                    let d = ds_digest(zone, keys[i], digest_type, crypto);
                    digests.entry((i, digest_type)).or_insert(d)
                }
            };
            if digest.as_deref() != Some(ds.digest()) {
                continue;
            }
            matched += 1;
            if tried[i] {
                continue;
            }
            tried[i] = true;
            search.try_key(keys[i], dnskeys, now, budget, crypto)?;
            if let Some(found) = search.found.take() {
                return Ok(found.into_zone_keys(zone, anchors));
            }
        }
    }
    for anchor in &usable_anchors {
        let matching = keys.iter().enumerate().filter(|(_, k)| {
            k.public_key().algorithm() == anchor.public_key().algorithm()
                && k.public_key().public_bytes() == anchor.public_key().public_bytes()
        });
        for (i, key) in matching {
            if tried[i] {
                continue;
            }
            tried[i] = true;
            search.try_key(key, dnskeys, now, budget, crypto)?;
            if let Some(found) = search.found.take() {
                return Ok(found.into_zone_keys(zone, anchors));
            }
        }
    }
    let mut ds_tags: Vec<u16> = usable_ds.iter().map(|d| d.key_tag()).collect();
    ds_tags.sort_unstable();
    ds_tags.dedup();
    if usable_ds.is_empty() {
        // DNSKEY anchors only: no DS to name in the reason.
        return Err(search.verdict_for_anchor_keys(anchor_tags(usable_anchors.iter().copied())));
    }
    Err(search.verdict(ds_tags))
}

/// Whether `anchors` already make `zone` insecure, before its DNSKEY set is
/// seen: DS records (or anchor keys) exist, none revoked-only, but none has
/// a supported algorithm and digest. RFC 4035 §5.2: "If the validator does
/// not support any of the algorithms listed in an authenticated DS RRset,
/// then the resolver has no supported authentication path leading from the
/// parent to the child. The resolver should treat this case as it would
/// the case of an authenticated NSEC RRset proving that no DS RRset
/// exists" — so the DNSKEY set need not be fetched (unbound does not
/// either). The same verdict [`authenticate_dnskeys`] gives with any keys.
pub fn insecure_before_keys(
    zone: &Name,
    anchors: &SecureEntryPoints,
    crypto: &dyn Crypto,
) -> Option<InsecureReason> {
    let live: Vec<&DNSKEY> = anchors
        .dnskeys()
        .iter()
        .filter(|k| k.flags() & FLAG_REVOKE == 0)
        .collect();
    if anchors.ds().is_empty() && live.is_empty() {
        return None;
    }
    let usable_anchor = live
        .iter()
        .any(|k| crypto.supports_algorithm(u8::from(k.public_key().algorithm()), &[]));
    (!usable_anchor && usable_ds(anchors.ds(), crypto).is_empty())
        .then(|| unsupported_reason(zone, anchors, crypto))
}

/// The distinct key tags of `keys`, sorted.
fn anchor_tags<'a>(keys: impl Iterator<Item = &'a DNSKEY>) -> Vec<u16> {
    let mut tags: Vec<u16> = keys.map(key_tag).collect();
    tags.sort_unstable();
    tags.dedup();
    tags
}

/// The DS records that may be used: supported algorithm and digest, and
/// RFC 4509 §3: "Validator implementations SHOULD ignore DS RRs containing
/// SHA-1 digests if DS RRs with SHA-256 digests are present in the DS
/// RRset." Applied per key (key tag and algorithm), so that a SHA-256 DS
/// pre-published for another key during a rollover cannot disable the SHA-1
/// DS of the key in use.
fn usable_ds<'a>(ds: &'a [DS], crypto: &dyn Crypto) -> Vec<&'a DS> {
    let supported = |d: &&DS| {
        crypto.supports_algorithm(u8::from(d.algorithm()), &[])
            && crypto.supports_digest(u8::from(d.digest_type()))
    };
    // One pass to find the keys with a stronger digest, one to filter: a DS
    // set of hundreds of records costs no comparison per pair.
    let stronger: HashSet<(u16, u8)> = ds
        .iter()
        .filter(supported)
        .filter(|d| matches!(u8::from(d.digest_type()), digest::SHA256 | digest::SHA384))
        .map(|d| (d.key_tag(), u8::from(d.algorithm())))
        .collect();
    ds.iter()
        .filter(supported)
        .filter(|d| {
            u8::from(d.digest_type()) != digest::SHA1
                || !stronger.contains(&(d.key_tag(), u8::from(d.algorithm())))
        })
        .collect()
}

fn unsupported_reason(
    zone: &Name,
    anchors: &SecureEntryPoints,
    crypto: &dyn Crypto,
) -> InsecureReason {
    let mut algorithms: Vec<u8> = anchors
        .ds()
        .iter()
        .map(|d| u8::from(d.algorithm()))
        .chain(
            anchors
                .dnskeys()
                .iter()
                .map(|k| u8::from(k.public_key().algorithm())),
        )
        .collect();
    algorithms.sort_unstable();
    algorithms.dedup();
    let all_algorithms_supported = !algorithms.is_empty()
        && algorithms
            .iter()
            .all(|&a| crypto.supports_algorithm(a, &[]))
        && anchors.dnskeys().is_empty();
    if all_algorithms_supported {
        let mut digests: Vec<u8> = anchors
            .ds()
            .iter()
            .map(|d| u8::from(d.digest_type()))
            .collect();
        digests.sort_unstable();
        digests.dedup();
        InsecureReason::UnsupportedDigest {
            zone: zone.clone(),
            digests,
        }
    } else {
        InsecureReason::UnsupportedAlgorithm {
            zone: zone.clone(),
            algorithms,
        }
    }
}

/// The state of the search for an entry-point key that signs the set.
struct Search<'z> {
    zone: &'z Name,
    found: Option<Verified>,
    /// A supported, matched key failed: the reason from its verification.
    signature_failure: Option<BogusReason>,
    /// A matched key lacked the Zone Key bit.
    no_zone_bit: Option<u16>,
    /// Matched keys that policy makes unsupported (e.g. RSA < 1024 bits).
    unsupported: Vec<u8>,
    /// At least one supported matched key existed.
    supported_match: bool,
}

impl<'z> Search<'z> {
    fn new(zone: &'z Name) -> Self {
        Self {
            zone,
            found: None,
            signature_failure: None,
            no_zone_bit: None,
            unsupported: Vec::new(),
            supported_match: false,
        }
    }

    /// Try `key`, which a DS or an anchor vouches for. `Err` only when the
    /// budget is exhausted.
    fn try_key(
        &mut self,
        key: &DNSKEY,
        dnskeys: &Rrset,
        now: u64,
        budget: &mut Budget,
        crypto: &dyn Crypto,
    ) -> Result<(), Verdict> {
        let tag = key_tag(key);
        let alg = u8::from(key.public_key().algorithm());
        // RFC 4034 §2.1.1: "If bit 7 has value 0, then the DNSKEY record holds
        // some other type of DNS public key and MUST NOT be used to verify
        // RRSIGs that cover RRsets."
        if key.flags() & FLAG_ZONE == 0 {
            self.no_zone_bit.get_or_insert(tag);
            return Ok(());
        }
        // RFC 5011 §2.1: "Once the resolver sees the REVOKE bit, it MUST NOT
        // use this key as a trust anchor".
        if key.flags() & FLAG_REVOKE != 0 {
            return Ok(());
        }
        if !crypto.supports_algorithm(alg, key.public_key().public_bytes()) {
            self.unsupported.push(alg);
            return Ok(());
        }
        self.supported_match = true;
        let entry = [ZoneKey::new(key.clone())];
        match verify_with(dnskeys, self.zone, &entry, now, budget, crypto) {
            Ok(verified) => self.found = Some(verified),
            Err(reason @ BogusReason::BudgetExceeded { .. }) => {
                return Err(Verdict::Bogus(reason));
            }
            Err(reason) => {
                self.signature_failure.get_or_insert(reason);
            }
        }
        Ok(())
    }

    /// As [`Search::verdict`], for a zone whose entry points are DNSKEY
    /// trust anchors only.
    fn verdict_for_anchor_keys(self, anchor_tags: Vec<u16>) -> Verdict {
        let zone = self.zone.clone();
        match self.verdict(Vec::new()) {
            Verdict::Bogus(BogusReason::DsMismatch { .. }) => {
                Verdict::Bogus(BogusReason::AnchorKeyMismatch { zone, anchor_tags })
            }
            other => other,
        }
    }

    fn verdict(self, ds_tags: Vec<u16>) -> Verdict {
        if let Some(reason) = self.signature_failure {
            return Verdict::Bogus(reason);
        }
        if !self.supported_match && !self.unsupported.is_empty() {
            let mut algorithms = self.unsupported;
            algorithms.sort_unstable();
            algorithms.dedup();
            return Verdict::Insecure(InsecureReason::UnsupportedAlgorithm {
                zone: self.zone.clone(),
                algorithms,
            });
        }
        if let Some(key_tag) = self.no_zone_bit {
            return Verdict::Bogus(BogusReason::NoZoneKeyBit {
                zone: self.zone.clone(),
                key_tag,
            });
        }
        Verdict::Bogus(BogusReason::DsMismatch {
            zone: self.zone.clone(),
            ds_tags,
        })
    }
}

impl Verified {
    fn into_zone_keys(self, zone: &Name, anchors: &SecureEntryPoints) -> ZoneKeys {
        let ttl = anchors.ttl.map_or(self.ttl(), |cap| cap.min(self.ttl()));
        let tag = self.key_tag();
        ZoneKeys::new(zone.clone(), self.into_rrset(), vec![tag], ttl)
    }
}

#[cfg(test)]
mod tests;
