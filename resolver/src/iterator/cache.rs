//! The iterator's caches: RRsets ranked by where they came from (RFC 2181
//! §5.4.1), the delegations built from them, and whole answers to the
//! iterator's own questions.
//!
//! Everything here is data used to find servers and to avoid asking twice;
//! the engine validates every answer the iterator hands over (and its key
//! store keeps what was authenticated), so nothing from here is ever served
//! as validated. What the engine proved Secure comes back as
//! [`Rank::Validated`] ([`IterCache::store_validated`]: NS sets and server
//! addresses then outrank every unvalidated copy for server selection), and
//! what it proved bogus is dropped ([`IterCache::forget_bogus`]).

use crate::hashing::{NameKey, NameMap};
use std::net::IpAddr;

use crate::wire::{Message, Name, RData, Record, RecordType};

/// RFC 2181 §5.4.1 ranking, lowest first (unbound `rrset_trust`, subset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// Additional section data (glue), non-authoritative.
    Glue,
    /// Authority section of a non-authoritative reply (referral NS).
    AuthorityNoAa,
    /// Answer section of a non-authoritative reply.
    AnswerNoAa,
    /// Authority section of an authoritative answer.
    AuthorityAa,
    /// Answer section of an authoritative answer.
    AnswerAa,
    /// An answer the engine validated Secure (RFC 4035 §4.3; unbound's
    /// `rrset_trust_validated`): nothing unvalidated replaces it while it
    /// lives.
    Validated,
}

/// The most we keep anything by default, s (unbound `cache-max-ttl`);
/// [`IterCache::with_max_ttl`] lowers it to the configured `[cache]
/// max_ttl`, so that the iterator never holds what the answer cache may no
/// longer.
pub const MAX_TTL: u32 = 86_400;
/// How many entries each map holds before it is pruned.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Debug)]
struct Entry {
    records: Vec<Record>,
    rank: Rank,
    expires: u64,
}

/// A zone cut and its servers, from the cache or the hints.
#[derive(Clone, Debug)]
pub struct CachedDelegation {
    /// The zone.
    pub zone: Name,
    /// Its NS names, each with the addresses we know.
    pub servers: Vec<(Name, Vec<IpAddr>)>,
}

/// An owner and type as the caches' key.
type Key = (NameKey, RecordType);

fn key(name: &Name, rtype: RecordType) -> Key {
    (NameKey::new(name), rtype)
}

/// RRsets and answers, keyed without case (RFC 4343: [`NameKey`]).
#[derive(Debug, Default)]
pub struct IterCache {
    rrsets: NameMap<Key, Entry>,
    /// Glue as the parent gave it, kept apart from the ranked data (unbound
    /// `PACKED_RRSET_PARENT_SIDE`): the last resort when the child's own
    /// addresses fail.
    parent_side: NameMap<Key, Entry>,
    answers: NameMap<Key, (Message, u64)>,
    /// NSEC/NSEC3 proofs of no DS taken from referrals, by child zone.
    referral_proofs: NameMap<NameKey, (Message, u64)>,
    /// The most anything is kept, s; 0 means [`MAX_TTL`].
    max_ttl: u32,
}

impl IterCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps nothing longer than `secs` (at most [`MAX_TTL`]).
    pub fn with_max_ttl(mut self, secs: u32) -> Self {
        self.max_ttl = secs.min(MAX_TTL);
        self
    }

    fn cap(&self, ttl: u32) -> u32 {
        match self.max_ttl {
            0 => ttl.min(MAX_TTL),
            max => ttl.min(max),
        }
    }

    /// Stores one RRset (all records share owner and type) at `rank`.
    /// Data never replaces higher-ranked live data (RFC 2181 §5.4.1: glue
    /// never overrides authoritative data), and a rewrite at the same or a
    /// lower rank never extends the TTL of what is cached (ghost domains,
    /// CVE-2022-30698/30699).
    pub fn store(&mut self, records: Vec<Record>, rank: Rank, now: u64) {
        self.put(records, rank, now, false);
    }

    /// Stores an RRset like [`IterCache::store`], but a rewrite at the
    /// same or a higher rank renews the TTL: for the root's NS set and
    /// addresses from a priming answer (RFC 9609 §3), never for data a
    /// referral brought.
    pub fn renew(&mut self, records: Vec<Record>, rank: Rank, now: u64) {
        self.put(records, rank, now, true);
    }

    fn put(&mut self, records: Vec<Record>, rank: Rank, now: u64, renew: bool) {
        let Some(first) = records.first() else {
            return;
        };
        let key = key(&first.name, first.record_type());
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        let mut expires = now + u64::from(self.cap(ttl));
        if let Some(old) = self.rrsets.get_mut(&key).filter(|e| e.expires > now) {
            if old.rank > rank {
                // A priming answer renews a validated root NS set or
                // address that it repeats; it never replaces one.
                if renew && same_data(&old.records, &records) {
                    old.expires = old.expires.max(expires);
                }
                return;
            }
            if !renew
                && (old.rank == rank
                    || matches!(key.1, RecordType::NS | RecordType::A | RecordType::AAAA))
            {
                expires = expires.min(old.expires);
            }
        }
        make_room(&mut self.rrsets, |e| e.expires, now);
        self.rrsets.insert(
            key,
            Entry {
                records,
                rank,
                expires,
            },
        );
    }

    /// Stores an RRset the engine validated Secure at [`Rank::Validated`]:
    /// it replaces any unvalidated copy (RFC 2181 §5.4.1 ranks
    /// authoritative data over glue; validated data outranks both), and
    /// lives no longer than its TTL nor than the copy it replaces (no
    /// rewrite extends an NS set's or an address's life: ghost domains).
    /// Only the engine calls this, with what its validator proved; it
    /// ranks data for choosing servers, never for answering.
    pub fn store_validated(&mut self, records: Vec<Record>, now: u64) {
        self.put(records, Rank::Validated, now, false);
    }

    /// Drops what an answer the engine proved bogus left here: the RRset
    /// `name`/`rtype` unless a validated copy holds it (then the bogus one
    /// was never stored), and the whole answer to that question. Bogus
    /// data is never kept for use: not to pick servers, not to answer.
    pub fn forget_bogus(&mut self, name: &Name, rtype: RecordType, now: u64) {
        let key = key(name, rtype);
        if self
            .rrsets
            .get(&key)
            .is_some_and(|e| e.rank < Rank::Validated || e.expires <= now)
        {
            self.rrsets.remove(&key);
        }
        self.answers.remove(&key);
    }

    /// The rank of the live RRset `name`/`rtype`.
    pub fn rank(&self, name: &Name, rtype: RecordType, now: u64) -> Option<Rank> {
        self.rrsets
            .get(&key(name, rtype))
            .filter(|e| e.expires > now)
            .map(|e| e.rank)
    }

    /// Keeps a glue RRset as the parent side's (never served, never ranked).
    pub fn store_parent_side(&mut self, records: Vec<Record>, now: u64) {
        let Some(first) = records.first() else {
            return;
        };
        make_room(&mut self.parent_side, |e| e.expires, now);
        let ttl = self.cap(records.iter().map(|r| r.ttl).min().unwrap_or(0));
        self.parent_side.insert(
            key(&first.name, first.record_type()),
            Entry {
                records,
                rank: Rank::Glue,
                expires: now + u64::from(ttl),
            },
        );
    }

    /// The parent side's addresses of `host`.
    pub fn parent_side_addresses(&self, host: &Name, now: u64) -> Vec<IpAddr> {
        addresses_in(&self.parent_side, host, now)
    }

    /// A live RRset, with its TTLs lowered to what is left.
    pub fn get(&self, name: &Name, rtype: RecordType, now: u64) -> Option<Vec<Record>> {
        let e = self.live(name, rtype, now)?;
        let left = u32::try_from(e.expires - now).unwrap_or(u32::MAX);
        Some(
            e.records
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.ttl = r.ttl.min(left);
                    r
                })
                .collect(),
        )
    }

    /// The live entry of `name`/`rtype`, borrowed.
    fn live(&self, name: &Name, rtype: RecordType, now: u64) -> Option<&Entry> {
        live_in(&self.rrsets, name, rtype, now)
    }

    /// The addresses of `host` we have (A and AAAA).
    pub fn addresses(&self, host: &Name, now: u64) -> Vec<IpAddr> {
        addresses_in(&self.rrsets, host, now)
    }

    /// The cached delegation of `zone` itself, if its NS set is live.
    pub fn delegation(&self, zone: &Name, now: u64) -> Option<CachedDelegation> {
        let ns = self.live(zone, RecordType::NS, now)?;
        let servers: Vec<(Name, Vec<IpAddr>)> = ns
            .records
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .map(|host| {
                let addrs = self.addresses(&host, now);
                (host, addrs)
            })
            .collect();
        (!servers.is_empty()).then(|| CachedDelegation {
            zone: zone.clone(),
            servers,
        })
    }

    /// The closest enclosing cached delegation of `name` (unbound
    /// `dns_cache_find_delegation`).
    pub fn closest_delegation(&self, name: &Name, now: u64) -> Option<CachedDelegation> {
        let mut at = name.clone();
        loop {
            if let Some(d) = self.delegation(&at, now) {
                return Some(d);
            }
            if at.is_root() {
                return None;
            }
            at = at.base_name();
        }
    }

    /// Remembers the answer to one of the iterator's questions for `ttl`.
    pub fn store_answer(
        &mut self,
        name: &Name,
        rtype: RecordType,
        message: Message,
        ttl: u32,
        now: u64,
    ) {
        if ttl == 0 {
            return;
        }
        make_room(&mut self.answers, |(_, t)| *t, now);
        let expires = now + u64::from(self.cap(ttl));
        self.answers.insert(key(name, rtype), (message, expires));
    }

    /// Keeps a referral's proof that `zone` has no DS.
    pub fn store_referral_proof(&mut self, zone: &Name, message: Message, ttl: u32, now: u64) {
        make_room(&mut self.referral_proofs, |(_, t)| *t, now);
        let expires = now + u64::from(self.cap(ttl));
        self.referral_proofs
            .insert(NameKey::new(zone), (message, expires));
    }

    /// A live referral proof of no DS for `zone`.
    pub fn referral_proof(&self, zone: &Name, now: u64) -> Option<Message> {
        self.referral_proofs
            .get(&NameKey::new(zone))
            .filter(|(_, t)| *t > now)
            .map(|(m, _)| m.clone())
    }

    /// Whether a live DS set of `zone` is held (from its referral or a DS
    /// answer): the zone is signed, its servers' answers carry RRSIGs.
    pub fn has_ds(&self, zone: &Name, now: u64) -> bool {
        self.answers
            .get(&key(zone, RecordType::DS))
            .filter(|(_, t)| *t > now)
            .is_some_and(|(m, _)| m.answers.iter().any(|r| r.record_type() == RecordType::DS))
    }

    /// A live cached answer, TTLs lowered to what is left.
    pub fn answer(&self, name: &Name, rtype: RecordType, now: u64) -> Option<Message> {
        let (m, expires) = self
            .answers
            .get(&key(name, rtype))
            .filter(|(_, t)| *t > now)?;
        let left = u32::try_from(expires - now).unwrap_or(u32::MAX);
        let mut m = m.clone();
        for r in m
            .answers
            .iter_mut()
            .chain(m.authorities.iter_mut())
            .chain(m.additionals.iter_mut())
        {
            r.ttl = r.ttl.min(left);
        }
        Some(m)
    }
}

/// The live entry of `name`/`rtype` in `map`, borrowed.
fn live_in<'m>(
    map: &'m NameMap<Key, Entry>,
    name: &Name,
    rtype: RecordType,
    now: u64,
) -> Option<&'m Entry> {
    map.get(&key(name, rtype)).filter(|e| e.expires > now)
}

/// The addresses (A and AAAA) of `host` live in `map`.
fn addresses_in(map: &NameMap<Key, Entry>, host: &Name, now: u64) -> Vec<IpAddr> {
    [RecordType::A, RecordType::AAAA]
        .into_iter()
        .filter_map(|t| live_in(map, host, t, now))
        .flat_map(|e| e.records.iter())
        .filter_map(|r| match r.data {
            RData::A(a) => Some(IpAddr::from(a.0)),
            RData::AAAA(a) => Some(IpAddr::from(a.0)),
            _ => None,
        })
        .collect()
}

/// Whether two RRsets hold the same records (RRSIGs and TTLs aside).
fn same_data(a: &[Record], b: &[Record]) -> bool {
    let data = |set: &[Record]| -> Vec<RData> {
        set.iter()
            .filter(|r| r.record_type() != RecordType::RRSIG)
            .map(|r| r.data.clone())
            .collect()
    };
    let (a, b) = (data(a), data(b));
    a.len() == b.len() && a.iter().all(|r| b.contains(r))
}

/// Before an insertion into `map`: at [`MAX_ENTRIES`], drop the expired
/// entries, and everything if that was not enough (the iterator's caches
/// are refilled by the next resolution; they hold no validation status).
fn make_room<K, V>(map: &mut NameMap<K, V>, expires: impl Fn(&V) -> u64, now: u64) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, v| expires(v) > now);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rdata::{A, NS};

    fn a(name: &str, ip: [u8; 4], ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii(name).unwrap(),
            ttl,
            RData::A(A::from(std::net::Ipv4Addr::from(ip))),
        )
    }

    /// RFC 4343: what is stored under one case is found under any other,
    /// and replaced by it.
    #[test]
    fn keys_ignore_case() {
        let mut c = IterCache::new();
        let n = |s: &str| Name::from_ascii(s).unwrap();
        c.store(vec![a("NS1.Example.", [192, 0, 2, 1], 300)], Rank::Glue, 1);
        assert_eq!(c.addresses(&n("ns1.example."), 2).len(), 1);
        assert_eq!(
            c.rank(&n("nS1.eXample."), RecordType::A, 2),
            Some(Rank::Glue)
        );
        c.store(
            vec![a("ns1.example.", [192, 0, 2, 2], 300)],
            Rank::AnswerAa,
            2,
        );
        assert_eq!(
            c.addresses(&n("NS1.EXAMPLE."), 3),
            vec![IpAddr::from([192, 0, 2, 2])]
        );
    }

    #[test]
    fn rfc2181_glue_never_overrides_authoritative_data() {
        let mut c = IterCache::new();
        let host = Name::from_ascii("ns.example.").unwrap();
        c.store(
            vec![a("ns.example.", [192, 0, 2, 1], 100)],
            Rank::AnswerAa,
            0,
        );
        c.store(vec![a("ns.example.", [6, 6, 6, 6], 100)], Rank::Glue, 0);
        assert_eq!(
            c.addresses(&host, 1),
            vec!["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn priming_renews_a_validated_set_it_repeats_and_never_replaces_one() {
        let mut c = IterCache::new();
        let root = Name::root();
        let ns = |host: &str, ttl| {
            vec![Record::from_rdata(
                root.clone(),
                ttl,
                RData::NS(NS(Name::from_ascii(host).unwrap())),
            )]
        };
        c.store_validated(ns("a.root.", 100), 0);
        c.renew(ns("a.root.", 100), Rank::AnswerAa, 90);
        assert_eq!(c.rank(&root, RecordType::NS, 150), Some(Rank::Validated));
        c.renew(ns("evil.", 1000), Rank::AnswerAa, 150);
        let held = c.get(&root, RecordType::NS, 151).unwrap();
        assert!(
            matches!(&held[0].data, RData::NS(n) if n.0 == Name::from_ascii("a.root.").unwrap())
        );
        assert!(
            c.get(&root, RecordType::NS, 190).is_none(),
            "not extended by other data"
        );
    }

    #[test]
    fn referral_rewrites_never_extend_the_ttl() {
        let mut c = IterCache::new();
        let zone = Name::from_ascii("example.").unwrap();
        let ns = |ttl| {
            vec![Record::from_rdata(
                zone.clone(),
                ttl,
                RData::NS(NS(Name::from_ascii("ns.example.").unwrap())),
            )]
        };
        c.store(ns(100), Rank::AuthorityNoAa, 0);
        c.store(ns(1000), Rank::AuthorityNoAa, 50);
        assert!(c.delegation(&zone, 99).is_some());
        assert!(c.delegation(&zone, 101).is_none(), "TTL extended");
        assert!(
            c.closest_delegation(&Name::from_ascii("www.example.").unwrap(), 10)
                .is_some()
        );
    }
}
