//! Aggressive use of the DNSSEC-validated cache (RFC 8198): [`SpanStore`].
//!
//! When a negative answer (NXDOMAIN or NODATA) validates Secure, the engine
//! hands it to [`SpanStore::learn`], which keeps its zone's SOA and its NSEC
//! or NSEC3 records, each with the RRSIGs that verified it. Before the
//! engine asks upstream, [`SpanStore::lookup`] checks whether the spans it
//! holds already prove that the name does not exist (with the wildcard
//! proof) or has no data of the type, using the validator's own denial
//! predicates (`validator::denial`), and if so builds that negative answer,
//! SOA and proof included, as a Secure [`Resolution`]. No signature is
//! verified again: every record here was verified when it was learned, and
//! only Secure answers are learned (never Insecure, Bogus or
//! Indeterminate ones; the engine does not even look here under a negative
//! trust anchor or for CD=1).
//!
//! Rules kept:
//! - RFC 8198 §5.1 (NSEC) and §5.2 (NSEC3): a cached span is used only
//!   when the full proof holds: the name (or next closer name) covered,
//!   the wildcard at the closest encloser denied, the ancestor rules of
//!   RFC 6840 §4.1 (no NSEC at a delegation or DNAME speaks for names
//!   below it). An NSEC3 proof resting on an Opt-Out span proves at most
//!   that the answer is insecure (RFC 5155 §9.2), so it is never used.
//! - RFC 8198 §5.4 as updated by RFC 9077 §3: a span lives no longer than
//!   the smaller of the SOA's TTL and its MINIMUM field, and than its own
//!   TTL and its RRSIGs' (already cut to signature expiry by the
//!   validator).
//! - NSEC records arriving in an RRSIG that shows a wildcard expansion are
//!   copies, not spans, and are not learned (RFC 4035 §5.3.4).
//!
//! Memory is bounded in bytes (the records' wire size plus a fixed cost
//! per span); the oldest spans leave first. The store is flushed with the
//! answer cache (`flush_zone`, a trust anchor change).

use crate::hashing::NameMap;
use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Mutex;

use crate::resolve::Resolution;
use crate::validator::denial::nsec::{self, NsecRecord};
use crate::validator::denial::nsec3::{self, Nsec3Record};
use crate::validator::denial::proof::{
    DenialResult, ancestor_with_labels, canonical_cmp, next_closer, wildcard_at,
};
use crate::validator::{Budget, Limits, Outcome};
use crate::wire::{
    BinEncodable, DNSClass, DNSSECRData, NSEC, NSEC3, Name, RData, Record, RecordType,
    ResponseCode, SCAN_HOLDERS, deepest_holder,
};

/// The default bound of the store: 4 MiB.
pub const DEFAULT_MAX_BYTES: usize = 4 << 20;

/// The fixed cost of one held RRset beyond its records' wire bytes: the
/// map node, the names and vectors, the FIFO slot.
const HELD_FIXED: usize = 192;

/// Validated NSEC and NSEC3 spans and SOAs, per zone.
#[derive(Debug)]
pub struct SpanStore {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    zones: NameMap<Name, Zone>,
    bytes: usize,
    /// Insertion order, for eviction: (zone, key, serial). An item whose
    /// serial no longer matches was replaced or removed since.
    order: VecDeque<(Name, Key, u64)>,
    serial: u64,
    spans: usize,
}

#[derive(Debug, Default)]
struct Zone {
    soa: Option<Held>,
    nsecs: BTreeMap<Canonical, Span>,
    /// By the hash label of the owner, lower case (base32hex keeps the
    /// order of the hashes).
    nsec3s: BTreeMap<Box<[u8]>, Span>,
    /// Wildcard RRsets as the zone holds them (owner `*.encloser`, lower
    /// case), with their RRSIGs, rebuilt from Secure answers expanded from
    /// them (RFC 8198 §5.3).
    wildcards: NameMap<(Name, RecordType), Held>,
}

impl Zone {
    fn is_empty(&self) -> bool {
        self.soa.is_none()
            && self.nsecs.is_empty()
            && self.nsec3s.is_empty()
            && self.wildcards.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Soa,
    Nsec(Canonical),
    Nsec3(Box<[u8]>),
    Wildcard(Name, RecordType),
}

/// A name ordered canonically (RFC 4034 §6.1).
#[derive(Clone, Debug)]
struct Canonical(Name);

impl PartialEq for Canonical {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Canonical {}
impl PartialOrd for Canonical {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Canonical {
    fn cmp(&self, other: &Self) -> Ordering {
        canonical_cmp(&self.0, &other.0)
    }
}

/// One RRset as learned: its records with their RRSIGs, and when it stops
/// being usable.
#[derive(Clone, Debug)]
struct Held {
    records: Vec<Record>,
    expires: u64,
    bytes: usize,
    serial: u64,
}

#[derive(Clone, Debug)]
struct Span {
    held: Held,
    owner: Name,
    data: SpanData,
}

#[derive(Clone, Debug)]
enum SpanData {
    Nsec(NSEC),
    Nsec3(NSEC3),
}

/// A positive answer synthesised from a held wildcard RRset and the spans
/// that prove the name itself absent (RFC 8198 §5.3): the expanded RRset
/// with its RRSIGs, as an authoritative server would send it, for the
/// engine to validate like any reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synthesised {
    /// The RRset expanded to the question's name, RRSIGs included.
    pub answers: Vec<Record>,
    /// The NSEC or NSEC3 records (with RRSIGs) of the proof.
    pub authority: Vec<Record>,
    /// The target when the wildcard is a CNAME and the question another
    /// type: the rest of the answer is to be resolved from there.
    pub target: Option<Name>,
}

/// What [`SpanStore::lookup`] proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proven {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists without the type, or is an empty non-terminal, or a
    /// wildcard without the type would have matched (NODATA).
    NoData,
}

impl Default for SpanStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BYTES)
    }
}

impl SpanStore {
    /// An empty store holding at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of spans held (NSEC and NSEC3 records; SOAs not counted).
    pub fn len(&self) -> usize {
        self.lock().spans
    }

    /// True when no span is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Drops everything (a trust anchor changed).
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    /// Drops what is known about `zone` and the zones below it, and every
    /// span whose owner is at or below it. Returns the spans removed.
    pub fn remove_at_or_below(&self, zone: &Name) -> usize {
        let mut inner = self.lock();
        let before = inner.spans;
        let mut freed = 0;
        let mut removed = 0;
        inner.zones.retain(|apex, z| {
            if zone.zone_of(apex) {
                freed += zone_bytes(z);
                removed += z.nsecs.len() + z.nsec3s.len();
                return false;
            }
            let mut keep = |s: &Span| {
                let keep = !zone.zone_of(&s.owner);
                if !keep {
                    freed += s.held.bytes;
                    removed += 1;
                }
                keep
            };
            z.nsecs.retain(|_, s| keep(s));
            z.nsec3s.retain(|_, s| keep(s));
            z.wildcards.retain(|(owner, _), h| {
                let keep = !zone.zone_of(owner);
                if !keep {
                    freed += h.bytes;
                }
                keep
            });
            !z.is_empty()
        });
        inner.bytes -= freed.min(inner.bytes);
        inner.spans -= removed.min(inner.spans);
        before - inner.spans
    }

    /// Remembers the SOA and the NSEC/NSEC3 records of `resolution`, a
    /// negative answer that validated Secure, at `now`. Anything else is
    /// ignored.
    ///
    /// A positive Secure answer with an RRset expanded from a wildcard
    /// teaches the wildcard RRset and the NSEC/NSEC3 spans that proved the
    /// expansion (RFC 8198 §5.3), each for its own TTL (already cut by the
    /// validator to its signatures' validity). Without a SOA in such an
    /// answer, the spans' own TTLs bound them: RFC 9077 §3 has the
    /// authoritative servers set them to the SOA's limit.
    pub fn learn(&self, resolution: &Resolution, now: u64) {
        if !resolution.outcome.is_secure()
            || !matches!(
                resolution.rcode,
                ResponseCode::NXDomain | ResponseCode::NoError
            )
        {
            return;
        }
        if !resolution.answers.is_empty() {
            if resolution.rcode == ResponseCode::NoError {
                self.learn_wildcards(resolution, now);
            }
            return;
        }
        let sets = signed_sets(&resolution.authority);
        // The SOA of each zone in the answer: its apex is its owner and its
        // signer (RFC 4035 §5.3.1).
        let mut soas: Vec<(Name, u32, &SignedSet)> = Vec::new();
        for set in &sets {
            if set.rtype != RecordType::SOA || set.owner != set.signer {
                continue;
            }
            let limit = set.records.iter().find_map(|r| match &r.data {
                // RFC 9077 §3 (updating RFC 8198 §5.4): the smaller of the
                // SOA's TTL and its MINIMUM field bounds the denial.
                RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
                _ => None,
            });
            if let Some(limit) = limit {
                soas.push((set.signer.clone(), limit.min(set.ttl), set));
            }
        }
        if soas.is_empty() {
            return;
        }
        let mut inner = self.lock();
        for (zone, limit, soa) in &soas {
            if *limit == 0 {
                continue;
            }
            inner.put(
                zone,
                Key::Soa,
                Item::Soa(held(soa, now + u64::from(*limit))),
            );
        }
        for set in &sets {
            let Some((_, limit, _)) = soas.iter().find(|(z, _, _)| *z == set.signer) else {
                continue;
            };
            if !set.signer.zone_of(&set.owner) {
                continue;
            }
            let ttl = set.ttl.min(*limit);
            if ttl == 0 {
                continue;
            }
            inner.put_spans(set, now + u64::from(ttl));
        }
        inner.evict(self.max_bytes);
    }

    fn learn_wildcards(&self, resolution: &Resolution, now: u64) {
        let expanded = expanded_sets(&resolution.answers);
        if expanded.is_empty() {
            return;
        }
        let sets = signed_sets(&resolution.authority);
        let mut inner = self.lock();
        for w in expanded {
            let proofs: Vec<&SignedSet> = sets
                .iter()
                .filter(|s| matches!(s.rtype, RecordType::NSEC | RecordType::NSEC3))
                .filter(|s| s.signer == w.signer && s.signer.zone_of(&s.owner))
                .collect();
            // The validator took the answer as Secure, so its proof is
            // here; without one nothing is learned.
            if proofs.is_empty() || w.ttl == 0 {
                continue;
            }
            for set in proofs {
                if set.ttl > 0 {
                    inner.put_spans(set, now + u64::from(set.ttl));
                }
            }
            let key = Key::Wildcard(w.set.owner.clone(), w.set.rtype);
            let item = Item::Wildcard(held(&w.set, now + u64::from(w.ttl)));
            inner.put(&w.signer, key, item);
        }
        inner.evict(self.max_bytes);
    }

    /// RFC 8198 §5.3: the positive answer to `qname`/`qtype` that a held
    /// wildcard RRset gives, where the held spans prove that `qname` does
    /// not exist and that the wildcard is the one at its closest encloser
    /// (RFC 4035 §5.3.4, RFC 5155 §8.8; an Opt-Out span is not used, since
    /// an unsigned delegation may hide under it). A CNAME at the wildcard
    /// answers every type but CNAME's own chain is left to the caller.
    /// `None` when nothing held fits (then the question goes upstream).
    pub fn synthesise(
        &self,
        qname: &Name,
        qtype: RecordType,
        class: DNSClass,
        now: u64,
    ) -> Option<Synthesised> {
        if class != DNSClass::IN
            || matches!(
                qtype,
                RecordType::ANY
                    | RecordType::RRSIG
                    | RecordType::DS
                    | RecordType::NSEC
                    | RecordType::NSEC3
            )
        {
            return None;
        }
        let inner = self.lock();
        let (apex, zone) = deepest_zone(&inner, qname, qtype)?;
        if zone.wildcards.is_empty() || !apex.zone_of(qname) {
            return None;
        }
        let wildcard = |encloser: &Name| -> Option<&Held> {
            let owner = wildcard_at(encloser)?.to_lowercase();
            [qtype, RecordType::CNAME]
                .iter()
                .find_map(|t| zone.wildcards.get(&(owner.clone(), *t)))
                .filter(|h| h.expires > now)
        };
        let (held, used) = if !zone.nsecs.is_empty() {
            let span = zone
                .nsecs
                .range(..=Canonical(qname.clone()))
                .next_back()
                .map(|(_, s)| s)
                .filter(|s| s.held.expires > now)?;
            let SpanData::Nsec(n) = &span.data else {
                return None;
            };
            let encloser = nsec::nsec_closest_encloser(&span.owner, n, qname);
            // The held wildcard first: a lookup, where a failed proof
            // costs its reason's text.
            let held = wildcard(&encloser)?;
            let records = [NsecRecord::new(&span.owner, n)];
            nsec::nsec_proves_no_exact_match_for_wildcard(&records, qname, qtype, &encloser, &apex)
                .ok()?;
            (held, span)
        } else {
            let (salt, iterations) = nsec3_parameters(zone, now)?;
            // The closest encloser is the longest ancestor whose wildcard is
            // held and whose next closer name a span covers.
            let mut encloser = qname.base_name();
            loop {
                if let Some(held) = wildcard(&encloser)
                    && let Some(next) = next_closer(qname, &encloser)
                    && let Some(span) = nsec3_floor(
                        zone,
                        &nsec3::nsec3_hash_base32(&next, &salt, iterations),
                        now,
                    )
                    && let SpanData::Nsec3(n) = &span.data
                {
                    let records = [Nsec3Record::new(&span.owner, n)];
                    let mut budget = Budget::new(Limits::default());
                    if nsec3::nsec3_proves_wildcard_positive(
                        &records,
                        qname,
                        qtype,
                        &encloser,
                        &apex,
                        &mut budget,
                    ) == DenialResult::Proven
                    {
                        break (held, span);
                    }
                }
                if encloser == apex || encloser.is_root() {
                    return None;
                }
                encloser = encloser.base_name();
            }
        };
        let expires = held.expires.min(used.held.expires);
        let ttl = expires.saturating_sub(now).min(u64::from(u32::MAX)) as u32;
        if ttl == 0 {
            return None;
        }
        let mut target = None;
        let mut answers = held.records.clone();
        for r in &mut answers {
            r.name = qname.clone();
            r.ttl = r.ttl.min(ttl);
            if let RData::CNAME(c) = &r.data
                && qtype != RecordType::CNAME
            {
                target = Some(c.0.clone());
            }
        }
        let mut authority = used.held.records.clone();
        for r in &mut authority {
            r.ttl = r.ttl.min(ttl);
        }
        Some(Synthesised {
            answers,
            authority,
            target,
        })
    }

    /// The negative answer to `qname`/`qtype` that the spans held at `now`
    /// prove, with the zone's SOA and the proof, as a Secure resolution;
    /// `None` when they prove nothing (then the question goes upstream).
    pub fn lookup(
        &self,
        qname: &Name,
        qtype: RecordType,
        class: DNSClass,
        now: u64,
    ) -> Option<(Proven, Resolution)> {
        if class != DNSClass::IN || matches!(qtype, RecordType::ANY | RecordType::RRSIG) {
            return None;
        }
        let inner = self.lock();
        let (apex, zone) = deepest_zone(&inner, qname, qtype)?;
        let soa = zone.soa.as_ref().filter(|s| s.expires > now)?;
        let (proven, used) = if !zone.nsecs.is_empty() {
            prove_with_nsec(zone, qname, qtype, &apex, now)?
        } else {
            prove_with_nsec3(zone, qname, qtype, &apex, now)?
        };
        let expires = used
            .iter()
            .map(|s| s.held.expires)
            .chain(std::iter::once(soa.expires))
            .min()
            .unwrap_or(now);
        let ttl = expires.saturating_sub(now).min(u64::from(u32::MAX)) as u32;
        if ttl == 0 {
            return None;
        }
        let mut authority: Vec<Record> = soa.records.clone();
        let mut seen: Vec<u64> = Vec::new();
        for span in used {
            if seen.contains(&span.held.serial) {
                continue;
            }
            seen.push(span.held.serial);
            authority.extend(span.held.records.iter().cloned());
        }
        for r in &mut authority {
            r.ttl = r.ttl.min(ttl);
        }
        let rcode = match proven {
            Proven::NxDomain => ResponseCode::NXDomain,
            Proven::NoData => ResponseCode::NoError,
        };
        Some((
            proven,
            Resolution {
                rcode,
                answers: Vec::new(),
                authority,
                additional: Vec::new(),
                outcome: Outcome::Secure,
                ttl,
                failure: None,
            },
        ))
    }
}

/// The deepest zone held that holds the name; a DS lives in the parent
/// (RFC 4035 §3.1.4.1).
fn deepest_zone<'i>(inner: &'i Inner, qname: &Name, qtype: RecordType) -> Option<(Name, &'i Zone)> {
    let ds = qtype == RecordType::DS && !qname.is_root();
    if inner.zones.len() <= SCAN_HOLDERS {
        // A handful of zones: scanned in place (the walk below builds a
        // name per label, for every miss).
        let holders = inner
            .zones
            .iter()
            .filter(|(zone, _)| !(ds && *zone == qname));
        return deepest_holder(holders, qname).map(|(zone, z)| (zone.clone(), z));
    }
    let mut candidate = qname.to_lowercase();
    if ds {
        candidate = candidate.base_name();
    }
    loop {
        if let Some(z) = inner.zones.get(&candidate) {
            return Some((candidate, z));
        }
        if candidate.is_root() {
            return None;
        }
        candidate = candidate.base_name();
    }
}

/// The salt and iterations of a zone's live NSEC3 spans.
fn nsec3_parameters(zone: &Zone, now: u64) -> Option<(Vec<u8>, u16)> {
    let (salt, iterations) = zone.nsec3s.values().find_map(|s| match &s.data {
        SpanData::Nsec3(n) if s.held.expires > now => Some((n.salt().to_vec(), n.iterations())),
        _ => None,
    })?;
    // RFC 9276 §3.2: above the limit the validator judged the zone
    // insecure, so nothing was learned; a mixed chain is not used.
    (iterations <= Limits::default().max_nsec3_iterations).then_some((salt, iterations))
}

/// The live NSEC3 span whose owner hash is at or before `hash` (before the
/// first: the last, which wraps around).
fn nsec3_floor<'z>(zone: &'z Zone, hash: &str, now: u64) -> Option<&'z Span> {
    zone.nsec3s
        .range::<[u8], _>((Bound::Unbounded, Bound::Included(hash.as_bytes())))
        .next_back()
        .or_else(|| zone.nsec3s.iter().next_back())
        .map(|(_, s)| s)
        .filter(|s| s.held.expires > now)
}

/// NSEC: the span at or before the name, and the one at or before the
/// wildcard at the closest encloser it reveals (RFC 8198 §5.1).
fn prove_with_nsec<'z>(
    zone: &'z Zone,
    qname: &Name,
    qtype: RecordType,
    apex: &Name,
    now: u64,
) -> Option<(Proven, Vec<&'z Span>)> {
    let floor = |name: &Name| -> Option<&'z Span> {
        zone.nsecs
            .range(..=Canonical(name.clone()))
            .next_back()
            .map(|(_, s)| s)
            .filter(|s| s.held.expires > now)
    };
    let first = floor(qname)?;
    // Most names asked exist, and a failed proof costs its reason's text:
    // the span at or before the name must be able to take part in one
    // first. At the name: NODATA (RFC 4035 §3.1.3.1); before it: the name
    // does not exist, or is an empty non-terminal (RFC 4035 §3.1.3.2).
    let SpanData::Nsec(n) = &first.data else {
        return None;
    };
    let at_name = nsec::nsec_matches(&first.owner, qname);
    let may_prove = if at_name {
        nsec::nsec_proves_nodata(&first.owner, n, qname, qtype)
    } else {
        nsec::nsec_proves_name_does_not_exist(&first.owner, n, qname)
            || nsec::nsec_proves_empty_non_terminal(&first.owner, n, qname)
    };
    if !may_prove {
        return None;
    }
    let mut used = vec![first];
    if !at_name {
        let encloser = nsec::nsec_closest_encloser(&first.owner, n, qname);
        if let Ok(wildcard) = encloser.prepend_label("*")
            && let Some(second) = floor(&wildcard)
            && second.held.serial != first.held.serial
        {
            used.push(second);
        }
    }
    let records: Vec<NsecRecord<'_>> = used
        .iter()
        .filter_map(|s| match &s.data {
            SpanData::Nsec(n) => Some(NsecRecord::new(&s.owner, n)),
            SpanData::Nsec3(_) => None,
        })
        .collect();
    if nsec::nsec_proves_name_error(&records, qname, qtype, apex).is_ok() {
        return Some((Proven::NxDomain, used));
    }
    if nsec::nsec_proves_nodata_response(&records, qname, qtype, apex).is_ok() {
        return Some((Proven::NoData, used));
    }
    None
}

/// NSEC3 (RFC 8198 §5.2): the spans matching or covering the hashes of the
/// name, of each of its ancestors in the zone and of the wildcards at them;
/// the validator's closest encloser proof then picks what it needs. Only a
/// full proof counts: [`DenialResult::OptOut`] is not one.
fn prove_with_nsec3<'z>(
    zone: &'z Zone,
    qname: &Name,
    qtype: RecordType,
    apex: &Name,
    now: u64,
) -> Option<(Proven, Vec<&'z Span>)> {
    if !apex.zone_of(qname) {
        return None;
    }
    let limits = Limits::default();
    let (salt, iterations) = nsec3_parameters(zone, now)?;
    let floor = |hash: &str| nsec3_floor(zone, hash, now);
    let mut used: Vec<&'z Span> = Vec::new();
    let mut add = |span: Option<&'z Span>| {
        if let Some(span) = span
            && !used.iter().any(|u| u.held.serial == span.held.serial)
        {
            used.push(span);
        }
    };
    let mut name = qname.to_lowercase();
    let mut hash = nsec3::nsec3_hash_base32(&name, &salt, iterations);
    // Most names asked exist with the type asked (or a CNAME): the NSEC3 at
    // the name says so, and nothing absent is left to prove (RFC 5155
    // §8.5, §8.6) before the hashes of its ancestors are computed.
    if let Some(Span {
        data: SpanData::Nsec3(n),
        ..
    }) = zone
        .nsec3s
        .get(hash.as_bytes())
        .filter(|s| s.held.expires > now)
        && (n.type_set().contains(qtype) || n.type_set().contains(RecordType::CNAME))
    {
        return None;
    }
    loop {
        add(floor(&hash));
        if let Ok(wildcard) = name.prepend_label("*") {
            add(floor(&nsec3::nsec3_hash_base32(
                &wildcard, &salt, iterations,
            )));
        }
        if name == *apex || name.is_root() {
            break;
        }
        name = name.base_name();
        hash = nsec3::nsec3_hash_base32(&name, &salt, iterations);
    }
    let records: Vec<Nsec3Record<'_>> = used
        .iter()
        .filter_map(|s| match &s.data {
            SpanData::Nsec3(n) if n.salt() == salt && n.iterations() == iterations => {
                Some(Nsec3Record::new(&s.owner, n))
            }
            _ => None,
        })
        .collect();
    let mut budget = Budget::new(limits);
    if nsec3::nsec3_proves_name_error(&records, qname, qtype, apex, &mut budget)
        == DenialResult::Proven
    {
        return Some((Proven::NxDomain, used));
    }
    if nsec3::nsec3_proves_nodata(&records, qname, qtype, apex, &mut budget) == DenialResult::Proven
    {
        return Some((Proven::NoData, used));
    }
    None
}

/// An RRset of the authority section with the RRSIGs covering it, and the
/// zone that signed it.
#[derive(Debug)]
struct SignedSet {
    owner: Name,
    rtype: RecordType,
    signer: Name,
    ttl: u32,
    records: Vec<Record>,
}

/// The SOA, NSEC and NSEC3 RRsets of `authority` that carry an RRSIG, each
/// with its RRSIGs. An RRSIG whose Labels field is below the owner's label
/// count shows a wildcard expansion: such a denial record is a copy and is
/// left out (RFC 4035 §5.3.4, RFC 4592 §4.1).
fn signed_sets(authority: &[Record]) -> Vec<SignedSet> {
    let mut sets: Vec<SignedSet> = Vec::new();
    for r in authority {
        let rtype = r.record_type();
        if !matches!(
            rtype,
            RecordType::SOA | RecordType::NSEC | RecordType::NSEC3
        ) {
            continue;
        }
        if let Some(set) = sets
            .iter_mut()
            .find(|s| s.rtype == rtype && s.owner == r.name)
        {
            set.ttl = set.ttl.min(r.ttl);
            set.records.push(r.clone());
            continue;
        }
        let sigs: Vec<&Record> = authority
            .iter()
            .filter(|s| s.name == r.name)
            .filter(|s| match &s.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().type_covered == rtype,
                _ => false,
            })
            .collect();
        let Some(RData::DNSSEC(DNSSECRData::RRSIG(first))) = sigs.first().map(|s| &s.data) else {
            continue;
        };
        let expanded = sigs.iter().any(|s| match &s.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().num_labels < r.name.num_labels(),
            _ => true,
        });
        if expanded {
            continue;
        }
        let signer = first.input().signer_name.to_lowercase();
        let ttl = sigs.iter().map(|s| s.ttl).fold(r.ttl, u32::min);
        let mut records = vec![r.clone()];
        records.extend(sigs.into_iter().cloned());
        sets.push(SignedSet {
            owner: r.name.clone(),
            rtype,
            signer,
            ttl,
            records,
        });
    }
    // RRSIGs were put right after the first record of their set; keep the
    // set's other records before them.
    for set in &mut sets {
        set.records
            .sort_by_key(|r| u8::from(r.record_type() == RecordType::RRSIG));
    }
    sets
}

/// An answer RRset expanded from a wildcard, rebuilt as the zone holds it.
struct Expanded {
    set: SignedSet,
    signer: Name,
    ttl: u32,
}

/// The RRsets of `answers` whose RRSIGs all show the same wildcard
/// expansion (Labels below the owner's label count, RFC 4035 §5.3.2), each
/// rebuilt at its wildcard owner `*.<the last Labels labels>` with its
/// RRSIGs (which sign that form), the owner in lower case. Types that a
/// wildcard cannot stand for (RFC 4592 §4) are left out.
fn expanded_sets(answers: &[Record]) -> Vec<Expanded> {
    let mut out: Vec<Expanded> = Vec::new();
    for r in answers {
        let rtype = r.record_type();
        if matches!(
            rtype,
            RecordType::RRSIG
                | RecordType::NSEC
                | RecordType::NSEC3
                | RecordType::SOA
                | RecordType::NS
                | RecordType::DS
                | RecordType::DNAME
        ) || out
            .iter()
            .any(|e| e.set.rtype == rtype && e.set.records.iter().any(|x| x.name == r.name))
        {
            continue;
        }
        let members: Vec<&Record> = answers
            .iter()
            .filter(|x| x.name == r.name && x.record_type() == rtype)
            .collect();
        let sigs: Vec<(&Record, &crate::wire::RRSIG)> = answers
            .iter()
            .filter(|x| x.name == r.name)
            .filter_map(|x| match &x.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) if sig.input().type_covered == rtype => {
                    Some((x, sig))
                }
                _ => None,
            })
            .collect();
        let Some((_, first)) = sigs.first() else {
            continue;
        };
        let labels = first.input().num_labels;
        let signer = first.input().signer_name.to_lowercase();
        if labels >= r.name.num_labels()
            || sigs.iter().any(|(_, s)| {
                s.input().num_labels != labels || s.input().signer_name.to_lowercase() != signer
            })
        {
            continue;
        }
        let Some(owner) = ancestor_with_labels(&r.name, usize::from(labels))
            .and_then(|encloser| wildcard_at(&encloser))
            .map(|w| w.to_lowercase())
        else {
            continue;
        };
        if !signer.zone_of(&owner) {
            continue;
        }
        let mut records: Vec<Record> = members.into_iter().cloned().collect();
        records.extend(sigs.iter().map(|(x, _)| (*x).clone()));
        let ttl = records.iter().map(|x| x.ttl).min().unwrap_or(0);
        for x in &mut records {
            x.name = owner.clone();
        }
        out.push(Expanded {
            set: SignedSet {
                owner,
                rtype,
                signer: signer.clone(),
                ttl,
                records,
            },
            signer,
            ttl,
        });
    }
    out
}

fn held(set: &SignedSet, expires: u64) -> Held {
    let bytes = HELD_FIXED
        + set
            .records
            .iter()
            .map(|r| r.name.len() + 10 + r.data.to_bytes().map_or(0, |b| b.len()))
            .sum::<usize>();
    Held {
        records: set.records.clone(),
        expires,
        bytes,
        serial: 0,
    }
}

fn zone_bytes(z: &Zone) -> usize {
    z.soa.as_ref().map_or(0, |s| s.bytes)
        + z.nsecs.values().map(|s| s.held.bytes).sum::<usize>()
        + z.nsec3s.values().map(|s| s.held.bytes).sum::<usize>()
        + z.wildcards.values().map(|h| h.bytes).sum::<usize>()
}

enum Item {
    Soa(Held),
    Span(Box<Span>),
    Wildcard(Held),
}

impl Inner {
    /// Holds the NSEC or NSEC3 records of `set` as spans until `expires`.
    fn put_spans(&mut self, set: &SignedSet, expires: u64) {
        for record in &set.records {
            match &record.data {
                RData::DNSSEC(DNSSECRData::NSEC(n)) => {
                    let span = Span {
                        held: held(set, expires),
                        owner: set.owner.clone(),
                        data: SpanData::Nsec(n.clone()),
                    };
                    let key = Key::Nsec(Canonical(set.owner.to_lowercase()));
                    self.put(&set.signer, key, Item::Span(Box::new(span)));
                }
                RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                    // An NSEC3 owner is one hash label below its zone
                    // (RFC 5155 §3).
                    if set.owner.base_name() != set.signer {
                        continue;
                    }
                    let Some(label) = set.owner.iter().next() else {
                        continue;
                    };
                    let key = Key::Nsec3(label.to_ascii_lowercase().into_boxed_slice());
                    let span = Span {
                        held: held(set, expires),
                        owner: set.owner.clone(),
                        data: SpanData::Nsec3(n.clone()),
                    };
                    self.put(&set.signer, key, Item::Span(Box::new(span)));
                }
                _ => {}
            }
        }
    }

    fn put(&mut self, zone: &Name, key: Key, item: Item) {
        self.serial += 1;
        let serial = self.serial;
        let z = self.zones.entry(zone.to_lowercase()).or_default();
        let (added, old) = match (item, &key) {
            (Item::Soa(mut h), Key::Soa) => {
                h.serial = serial;
                let added = h.bytes;
                (added, z.soa.replace(h).map(|o| (o.bytes, false)))
            }
            (Item::Span(s), Key::Nsec(k)) => {
                let mut s = *s;
                s.held.serial = serial;
                let added = s.held.bytes;
                (
                    added,
                    z.nsecs.insert(k.clone(), s).map(|o| (o.held.bytes, true)),
                )
            }
            (Item::Span(s), Key::Nsec3(k)) => {
                let mut s = *s;
                s.held.serial = serial;
                let added = s.held.bytes;
                (
                    added,
                    z.nsec3s.insert(k.clone(), s).map(|o| (o.held.bytes, true)),
                )
            }
            (Item::Wildcard(mut h), Key::Wildcard(owner, rtype)) => {
                h.serial = serial;
                let added = h.bytes;
                let old = z.wildcards.insert((owner.clone(), *rtype), h);
                (added, old.map(|o| (o.bytes, false)))
            }
            _ => return,
        };
        self.bytes += added;
        match old {
            Some((freed, _)) => self.bytes -= freed.min(self.bytes),
            None if matches!(key, Key::Nsec(_) | Key::Nsec3(_)) => self.spans += 1,
            None => {}
        }
        self.order.push_back((zone.to_lowercase(), key, serial));
    }

    /// Drops the oldest items until the store is within `max_bytes`.
    fn evict(&mut self, max_bytes: usize) {
        while self.bytes > max_bytes {
            let Some((zone, key, serial)) = self.order.pop_front() else {
                break;
            };
            self.remove_if(&zone, &key, serial);
        }
        // Entries of replaced items pile up in `order`; compact it now and
        // then so that it stays proportional to what is held.
        if self.order.len() > 4 * (self.spans + self.zones.len()) + 64 {
            let zones = &self.zones;
            self.order.retain(|(zone, key, serial)| {
                zones.get(zone).is_some_and(|z| match key {
                    Key::Soa => z.soa.as_ref().is_some_and(|h| h.serial == *serial),
                    Key::Nsec(k) => z.nsecs.get(k).is_some_and(|s| s.held.serial == *serial),
                    Key::Nsec3(k) => z.nsec3s.get(k).is_some_and(|s| s.held.serial == *serial),
                    Key::Wildcard(o, t) => z
                        .wildcards
                        .get(&(o.clone(), *t))
                        .is_some_and(|h| h.serial == *serial),
                })
            });
        }
    }

    fn remove_if(&mut self, zone: &Name, key: &Key, serial: u64) {
        let Some(z) = self.zones.get_mut(zone) else {
            return;
        };
        let freed = match key {
            Key::Soa => match &z.soa {
                Some(h) if h.serial == serial => z.soa.take().map(|h| (h.bytes, false)),
                _ => None,
            },
            Key::Nsec(k) => match z.nsecs.get(k) {
                Some(s) if s.held.serial == serial => {
                    z.nsecs.remove(k).map(|s| (s.held.bytes, true))
                }
                _ => None,
            },
            Key::Nsec3(k) => match z.nsec3s.get(k) {
                Some(s) if s.held.serial == serial => {
                    z.nsec3s.remove(k).map(|s| (s.held.bytes, true))
                }
                _ => None,
            },
            Key::Wildcard(o, t) => {
                let k = (o.clone(), *t);
                match z.wildcards.get(&k) {
                    Some(h) if h.serial == serial => {
                        z.wildcards.remove(&k).map(|h| (h.bytes, false))
                    }
                    _ => None,
                }
            }
        };
        if let Some((bytes, span)) = freed {
            self.bytes -= bytes.min(self.bytes);
            if span {
                self.spans -= 1;
            }
        }
        if z.is_empty() {
            self.zones.remove(zone);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn n(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    /// The zone whose spans may answer: the deepest held, and for a DS
    /// the parent's (RFC 4035 §3.1.4.1), with a few zones (scanned) and
    /// with many (walked up label by label).
    #[test]
    fn the_deepest_zone_held_answers_and_the_parent_for_a_ds() {
        for extra in [0, SCAN_HOLDERS + 3] {
            let mut inner = Inner::default();
            let zones = ["sub.example.", "example."]
                .into_iter()
                .map(String::from)
                .chain((0..extra).map(|i| format!("z{i}.other.")));
            for zone in zones {
                inner.zones.insert(n(&zone), Zone::default());
            }
            let deepest = |inner: &Inner, name: &str, qtype| {
                deepest_zone(inner, &n(name), qtype).map(|(zone, _)| zone.to_string())
            };
            let sub = Some("sub.example.".to_string());
            let example = Some("example.".to_string());
            assert_eq!(deepest(&inner, "www.SUB.example.", RecordType::A), sub);
            assert_eq!(deepest(&inner, "sub.example.", RecordType::A), sub);
            assert_eq!(deepest(&inner, "Sub.Example.", RecordType::DS), example);
            assert_eq!(deepest(&inner, "www.sub.example.", RecordType::DS), sub);
            assert_eq!(deepest(&inner, "example.", RecordType::DS), None);
            assert_eq!(deepest(&inner, "org.", RecordType::A), None);
            inner.zones.insert(n("."), Zone::default());
            assert_eq!(
                deepest(&inner, "example.", RecordType::DS),
                Some(".".into())
            );
            assert_eq!(deepest(&inner, ".", RecordType::DS), Some(".".into()));
            assert_eq!(deepest(&inner, "org.", RecordType::A), Some(".".into()));
        }
    }
}
