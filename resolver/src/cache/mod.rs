//! The answer cache: [`Cache`].
//!
//! Entries are keyed by (case-folded qname, qtype, qclass, CD) and hold a
//! [`Resolution`] together with its validation [`Outcome`], which never
//! changes after insertion: an entry never becomes Secure without having been
//! validated, and an entry stored for a CD=1 question is never served to a
//! CD=0 one. Bogus results are held briefly (`bogus_ttl`, 60 s by default)
//! so that an attacker cannot make us revalidate in a loop.
//!
//! TTLs: positive entries live `clamp(resolution.ttl, min_ttl, max_ttl)`;
//! negative ones (NXDOMAIN, NODATA) the smaller of the resolution's TTL and
//! the SOA's TTL and MINIMUM (RFC 2308 §5), at most `max_negative_ttl`; a
//! negative answer without SOA and any other error are not cached (RFC 2308
//! §5, §7). Record TTLs are cut to the entry's TTL and count down on the way
//! out (RFC 1035 §3.2.1, RFC 2308 §5).
//!
//! The hit path takes one shard lock (no global lock), clones an `Arc`, and
//! copies a pre-encoded response into the caller's buffer, patching the ID,
//! RD, the question's case and the TTLs: no re-validation, no per-answer
//! allocation. Memory is bounded by an entry count and by bytes, with
//! least-recently-used eviction per shard. The bytes are what an entry
//! really holds, not an estimate from its record count: the records are kept
//! encoded (one exact `Box<[u8]>`, decoded only to build a new response
//! variant), each response variant is counted when it is encoded and
//! uncounted when the entry is freed, and the fixed costs (the entry, the
//! LRU node, the map slot, the key) are their `size_of`
//! (`resolver/tests/cache_memory.rs` checks the count against a counting
//! allocator).

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::answer;
use crate::clock::Clock;
use crate::request::{MAX_KEY_LEN, Request};
use crate::resolve::{Resolution, negative_ttl};
use crate::validator::outcome::Outcome;
use crate::wire::{
    BinEncodable, BinEncoder, DNSClass, Message, Name, OpCode, Record, RecordType, ResponseCode,
};

pub mod aggressive;
mod flush;
mod lru;
pub mod stale;

/// Cache limits. Defaults: 1 day maximum TTL, 1 hour for negative answers,
/// 60 s for bogus results, 100 000 entries, 64 MiB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Maximum number of entries.
    pub max_entries: usize,
    /// Maximum memory held by entries, in bytes (records, encoded response
    /// variants, and the fixed cost of each entry).
    pub max_bytes: usize,
    /// Lower bound for positive TTLs (0: none; raising TTLs can outlive a
    /// signature, so keep it small).
    pub min_ttl: u32,
    /// Upper bound for positive TTLs.
    pub max_ttl: u32,
    /// Upper bound for negative TTLs.
    pub max_negative_ttl: u32,
    /// How long a bogus result is held (unbound's `val-bogus-ttl`).
    pub bogus_ttl: u32,
    /// Number of independently locked shards (rounded up to a power of 2).
    pub shards: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_bytes: 64 << 20,
            min_ttl: 0,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
            bogus_ttl: 60,
            shards: 16,
        }
    }
}

/// A cache key: the question name in wire form, lower-cased (RFC 4343), then
/// the type, class and CD flag. Lives on the stack.
#[derive(Clone, Copy)]
pub struct CacheKey {
    bytes: [u8; MAX_KEY_LEN],
    len: u16,
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CacheKey({:?})", self.as_bytes())
    }
}

impl CacheKey {
    /// The key of a question given as a wire-form name (at most 255 bytes).
    pub fn from_wire(qname: &[u8], qtype: u16, qclass: u16, cd: bool) -> Self {
        let n = qname.len().min(MAX_KEY_LEN - 5);
        let mut bytes = [0u8; MAX_KEY_LEN];
        for (dst, src) in bytes.iter_mut().zip(&qname[..n]) {
            *dst = src.to_ascii_lowercase();
        }
        bytes[n..n + 2].copy_from_slice(&qtype.to_be_bytes());
        bytes[n + 2..n + 4].copy_from_slice(&qclass.to_be_bytes());
        bytes[n + 4] = u8::from(cd);
        Self {
            bytes,
            len: (n + 5) as u16,
        }
    }

    /// The key of `name rtype class` asked with `cd`.
    pub fn new(name: &Name, rtype: RecordType, class: DNSClass, cd: bool) -> Self {
        let mut wire = Vec::with_capacity(name.len() + 2);
        let mut encoder = BinEncoder::new(&mut wire);
        encoder.set_canonical_form(true);
        // An fqdn Name always encodes; an empty key never matches anything.
        let _ = name.to_lowercase().emit(&mut encoder);
        Self::from_wire(&wire, rtype.into(), class.into(), cd)
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Request {
    /// The cache key of this question (case-folded name, type, class, CD).
    /// Defined here, not in `request`, so the parser stays below the cache.
    pub fn cache_key(&self, cd: bool) -> CacheKey {
        CacheKey::from_wire(self.qname_wire(), self.qtype, self.qclass, cd)
    }
}

/// A pre-encoded response variant with the positions of its TTLs.
struct Encoded {
    wire: Box<[u8]>,
    /// (offset, TTL as stored) of every record's TTL field.
    ttls: Box<[(u32, u32)]>,
    qname_len: u16,
    /// Which variant (see [`Entry::variant_index`]).
    index: u8,
}

impl Encoded {
    /// Bytes held: its slot in the entry's list and its heap.
    fn bytes(&self) -> usize {
        size_of::<Self>() + self.wire.len() + self.ttls.len() * size_of::<(u32, u32)>()
    }
}

/// Bytes of response variants encoded after insertion, per shard; an entry
/// adds what it encodes and takes it back when it is freed.
#[derive(Debug, Default)]
pub(crate) struct Meter(AtomicUsize);

impl Meter {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// An entry's records: one DNS message (compressed names), decoded only to
/// build a variant; or, when they do not survive encoding (then the entry
/// answers the clients waiting for it but is not cached), as they are.
enum Records {
    Wire(Box<[u8]>),
    Kept(Box<[Vec<Record>; 3]>),
}

/// One cached answer.
pub struct Entry {
    /// The records of the answer, authority and additional sections.
    records: Records,
    rcode: ResponseCode,
    outcome: Outcome,
    resolution_ttl: u32,
    stored_at: u64,
    ttl: u32,
    /// Bytes held at insertion: `records`, the outcome's text, and the
    /// fixed cost of an entry in the cache.
    size: usize,
    /// The responses encoded so far, at most one per (DO, client wants AD,
    /// EDNS, CD), in the order first asked for: most entries are only ever
    /// asked one way, so a list costs a few words where a slot per variant
    /// cost 16 (issue 12).
    variants: RwLock<Vec<Encoded>>,
    /// Bytes of `variants`, also counted in `meter`.
    variant_bytes: AtomicUsize,
    meter: Arc<Meter>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.meter
            .0
            .fetch_sub(*self.variant_bytes.get_mut(), Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("outcome", &self.outcome)
            .field("rcode", &self.rcode)
            .field("stored_at", &self.stored_at)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// The cached resolution, decoded; record TTLs are as stored (not
    /// counted down).
    pub fn resolution(&self) -> Resolution {
        let (answers, authority, additional) = match &self.records {
            Records::Wire(wire) => match crate::wire::decode_message(wire) {
                Ok(m) => (m.answers, m.authorities, m.additionals),
                // Encoded by `insert`, which checked that it decodes.
                Err(_) => Default::default(),
            },
            Records::Kept(kept) => {
                let [answers, authority, additional] = &**kept;
                (answers.clone(), authority.clone(), additional.clone())
            }
        };
        Resolution {
            rcode: self.rcode,
            answers,
            authority,
            additional,
            outcome: self.outcome.clone(),
            ttl: self.resolution_ttl,
            failure: None,
        }
    }

    /// The validation status stored with the data.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The response code stored.
    pub fn rcode(&self) -> ResponseCode {
        self.rcode
    }

    /// Bytes this entry holds now: at insertion plus the response variants
    /// encoded since.
    pub fn bytes(&self) -> usize {
        self.size + self.variant_bytes.load(Ordering::Relaxed)
    }

    /// The TTL the entry was stored with.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// Seconds left at `now`.
    pub fn remaining(&self, now: u64) -> u32 {
        let end = self.stored_at + u64::from(self.ttl);
        end.saturating_sub(now).min(u64::from(u32::MAX)) as u32
    }

    /// Seconds since the entry expired at `now`; `None` while it lives.
    pub fn expired_for(&self, now: u64) -> Option<u64> {
        let end = self.stored_at + u64::from(self.ttl);
        (now >= end).then(|| now - end)
    }

    fn variant_index(request: &Request) -> u8 {
        u8::from(request.dnssec_ok())
            | u8::from(request.wants_ad()) << 1
            | u8::from(request.edns.is_some()) << 2
            | u8::from(request.cd) << 3
    }

    /// Writes the full response to `request` into `out` (over TCP, or before
    /// the UDP size check), with TTLs counted down to `now`.
    pub fn write_response(&self, request: &Request, now: u64, out: &mut Vec<u8>) {
        let index = Self::variant_index(request);
        if self.copy_variant(index, request, now, out) {
            return;
        }
        let wire = answer::encode(&answer::build(request, &self.resolution()));
        let ttls = answer::ttl_offsets(&wire).unwrap_or_default();
        let encoded = Encoded {
            ttls: ttls
                .into_iter()
                .filter_map(|(at, ttl)| Some((u32::try_from(at).ok()?, ttl)))
                .collect(),
            wire: wire.into_boxed_slice(),
            qname_len: request.qname_wire().len() as u16,
            index,
        };
        {
            let mut variants = self.variants.write().unwrap_or_else(|e| e.into_inner());
            // Another worker may have encoded it meanwhile.
            if !variants.iter().any(|v| v.index == index) {
                let bytes = encoded.bytes();
                self.variant_bytes.fetch_add(bytes, Ordering::Relaxed);
                self.meter.0.fetch_add(bytes, Ordering::Relaxed);
                variants.reserve_exact(1);
                variants.push(encoded);
            }
        }
        self.copy_variant(index, request, now, out);
    }

    /// Copies variant `index`, when encoded, into `out` patched for
    /// `request` (ID, RD, the name's spelling, TTLs counted down to `now`).
    fn copy_variant(&self, index: u8, request: &Request, now: u64, out: &mut Vec<u8>) -> bool {
        let variants = self.variants.read().unwrap_or_else(|e| e.into_inner());
        let Some(encoded) = variants.iter().find(|v| v.index == index) else {
            return false;
        };
        out.clear();
        out.extend_from_slice(&encoded.wire);
        if out.len() < 12 {
            return true;
        }
        out[..2].copy_from_slice(&request.id.to_be_bytes());
        out[2] = (out[2] & !0x01) | u8::from(request.rd);
        let qname = request.qname_wire();
        if qname.len() == usize::from(encoded.qname_len) && out.len() >= 12 + qname.len() {
            // Echo the client's spelling of the name (0x20 clients check it).
            out[12..12 + qname.len()].copy_from_slice(qname);
        }
        let elapsed = now.saturating_sub(self.stored_at).min(u64::from(u32::MAX)) as u32;
        for &(at, ttl) in encoded.ttls.iter() {
            let at = at as usize;
            if let Some(field) = out.get_mut(at..at + 4) {
                field.copy_from_slice(&ttl.saturating_sub(elapsed).to_be_bytes());
            }
        }
        true
    }

    /// Writes the response to `request` over UDP: like
    /// [`Entry::write_response`], but TC=1 and no records when it exceeds
    /// the client's buffer.
    pub fn write_udp(&self, request: &Request, now: u64, out: &mut Vec<u8>) {
        self.write_response(request, now, out);
        if out.len() > request.udp_limit() {
            // TC=1 carries no records, so they are not decoded for it
            // (except for a SERVFAIL, whose EDE depends on whether there
            // were answers; see `answer::build`).
            let resolution = if self.rcode == ResponseCode::ServFail {
                self.resolution()
            } else {
                Resolution {
                    rcode: self.rcode,
                    answers: Vec::new(),
                    authority: Vec::new(),
                    additional: Vec::new(),
                    outcome: self.outcome.clone(),
                    ttl: self.resolution_ttl,
                    failure: None,
                }
            };
            let message = answer::truncated(&answer::build(request, &resolution));
            *out = answer::encode(&message);
        }
    }
}

/// The sharded, bounded answer cache.
pub struct Cache {
    shards: Box<[(Mutex<lru::Lru>, Arc<Meter>)]>,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
    config: CacheConfig,
    /// Serve-stale (RFC 8767): seconds an expired entry is kept; 0: none.
    stale_window: u64,
    /// Bumped after every flush or clear (see [`Cache::epoch`]).
    epoch: AtomicU64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.config)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The fixed cost of one entry beyond its records: the entry behind its
/// `Arc` (two counters) and its key, stored twice (LRU node and map); the
/// slab and map slots are counted by the shard as allocated.
const ENTRY_FIXED: usize = size_of::<Entry>() + 2 * size_of::<usize>();

impl Cache {
    /// An empty cache reading time from `clock`.
    pub fn new(config: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        let n = config.shards.clamp(1, 1024).next_power_of_two();
        let per_entries = config.max_entries.div_ceil(n);
        let per_bytes = config.max_bytes.div_ceil(n);
        let shards = (0..n)
            .map(|_| {
                let meter = Arc::new(Meter::default());
                let lru = lru::Lru::new(per_entries, per_bytes, Arc::clone(&meter));
                (Mutex::new(lru), meter)
            })
            .collect();
        Self {
            shards,
            hasher: RandomState::new(),
            clock,
            config,
            stale_window: 0,
            epoch: AtomicU64::new(0),
        }
    }

    /// Keep expired entries for `secs` more (serve-stale, RFC 8767): they
    /// are no hits, but [`Cache::get_stale`] finds them. LRU eviction and
    /// the byte bound apply to them as to any entry.
    pub fn with_stale_window(mut self, secs: u64) -> Self {
        self.stale_window = secs;
        self
    }

    /// The expired entry under `key`, at most `max_stale` seconds past its
    /// end (serve-stale); `None` for a live one.
    pub fn get_stale(&self, key: &CacheKey, max_stale: u64) -> Option<Arc<Entry>> {
        let now = self.clock.unix_now();
        let mut shard = self.shard(key).0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(key.as_bytes())?;
        let past = entry.expired_for(now)?;
        (past <= max_stale.min(self.stale_window)).then(|| Arc::clone(entry))
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Changes after entries are removed other than by expiry or eviction
    /// (a flush, `clear`): a copy of an answer taken under an older epoch
    /// (the server's per-worker front cache) must not be used.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Marks a removal, after it was made (see [`Cache::epoch`]).
    fn bump_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// What time it is for this cache.
    pub fn now(&self) -> u64 {
        self.clock.unix_now()
    }

    fn shard(&self, key: &CacheKey) -> &(Mutex<lru::Lru>, Arc<Meter>) {
        let h = self.hasher.hash_one(key.as_bytes());
        // The high bits pick the shard; the map inside uses all of them.
        &self.shards[(h >> 40) as usize & (self.shards.len() - 1)]
    }

    /// The live entry under `key`; an expired one is removed.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        let now = self.clock.unix_now();
        let mut shard = self.shard(key).0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(key.as_bytes())?;
        if entry.remaining(now) > 0 {
            let entry = Arc::clone(entry);
            // Variants encoded on hits since the last insertion may have
            // taken the shard over its bound.
            shard.evict_over_bound();
            return Some(entry);
        }
        // Serve-stale keeps it for its window (a miss all the same).
        if self.stale_window == 0
            || entry
                .expired_for(now)
                .is_none_or(|past| past > self.stale_window)
        {
            shard.remove(key.as_bytes());
        }
        None
    }

    /// The entry answering `request`: a CD=1 question may be answered from a
    /// CD=0 entry that carries the data, never the reverse. A bogus CD=0
    /// entry holds no data (its answer is SERVFAIL), so a CD=1 question,
    /// which must get the data (RFC 4035 §3.2.2), resolves afresh instead.
    pub fn lookup(&self, request: &Request) -> Option<Arc<Entry>> {
        if request.cd {
            if let Some(entry) = self.get(&request.cache_key(true)) {
                return Some(entry);
            }
            return self
                .get(&request.cache_key(false))
                .filter(|entry| !entry.outcome().is_bogus());
        }
        self.get(&request.cache_key(false))
    }

    /// How long `resolution` may be cached under this configuration; 0 means
    /// not at all.
    pub fn ttl_for(&self, resolution: &Resolution) -> u32 {
        let c = &self.config;
        if resolution.outcome.is_bogus() {
            return c.bogus_ttl;
        }
        match resolution.rcode {
            ResponseCode::NoError if !resolution.answers.is_empty() => {
                resolution.ttl.clamp(c.min_ttl, c.max_ttl.max(c.min_ttl))
            }
            ResponseCode::NoError | ResponseCode::NXDomain => {
                // RFC 2308 §5: "Negative responses without SOA records
                // SHOULD NOT be cached"; the TTL is the SOA's MINIMUM or TTL,
                // whichever is smaller.
                match negative_ttl(&resolution.authority) {
                    Some(soa) => resolution.ttl.min(soa).min(c.max_negative_ttl),
                    None => 0,
                }
            }
            _ => 0,
        }
    }

    /// Stores `resolution` under `key`. Returns the entry, or `None` when the
    /// resolution is not cacheable (see [`Cache::ttl_for`]). Records that do
    /// not survive encoding still make an entry (to answer from) that is not
    /// stored.
    pub fn insert(&self, key: &CacheKey, mut resolution: Resolution) -> Option<Arc<Entry>> {
        let ttl = self.ttl_for(&resolution);
        if ttl == 0 {
            return None;
        }
        for r in resolution
            .answers
            .iter_mut()
            .chain(resolution.authority.iter_mut())
            .chain(resolution.additional.iter_mut())
        {
            r.ttl = r.ttl.min(ttl);
        }
        resolution
            .additional
            .retain(|r| r.record_type() != RecordType::OPT);
        let wire = encode_records(&resolution);
        let Resolution {
            rcode,
            outcome,
            ttl: resolution_ttl,
            answers,
            authority,
            additional,
            // Only SERVFAILs carry one, and they are not cached.
            failure: _,
        } = resolution;
        let cacheable = wire.is_some();
        let records = match wire {
            Some(wire) => Records::Wire(wire),
            None => {
                tracing::debug!("records that do not survive encoding are not cached");
                Records::Kept(Box::new([answers, authority, additional]))
            }
        };
        let held = match &records {
            Records::Wire(wire) => wire.len(),
            Records::Kept(_) => 0,
        };
        let size = ENTRY_FIXED + 2 * key.as_bytes().len() + held + outcome_bytes(&outcome);
        let (shard, meter) = self.shard(key);
        let entry = Arc::new(Entry {
            records,
            rcode,
            outcome,
            resolution_ttl,
            stored_at: self.clock.unix_now(),
            ttl,
            size,
            variants: RwLock::new(Vec::new()),
            variant_bytes: AtomicUsize::new(0),
            meter: Arc::clone(meter),
        });
        if !cacheable {
            return Some(entry);
        }
        let evicted = shard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.as_bytes().into(), Arc::clone(&entry));
        if evicted > 0 {
            tracing::trace!(evicted, "cache full, evicted least recently used");
        }
        Some(entry)
    }

    /// Number of entries (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the entries in the cache (and by response variants of
    /// entries evicted but still being answered from).
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.lock().unwrap_or_else(|e| e.into_inner()).bytes())
            .sum()
    }

    /// Drops everything.
    pub fn clear(&self) {
        for s in self.shards.iter() {
            s.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
        self.bump_epoch();
    }
}

/// The resolution's records as one message, or `None` when they cannot be
/// encoded and decoded again (then the resolution is not cached).
fn encode_records(resolution: &Resolution) -> Option<Box<[u8]>> {
    let mut m = Message::response(0, OpCode::Query);
    m.answers.clone_from(&resolution.answers);
    m.authorities.clone_from(&resolution.authority);
    m.additionals.clone_from(&resolution.additional);
    let wire = m.to_vec().ok()?;
    crate::wire::decode_message(&wire).ok()?;
    Some(wire.into_boxed_slice())
}

/// Heap bytes of an outcome: a reason holds a few names (on the heap only
/// past 32 bytes) and texts, all of which its text spells out; four times
/// that length and 256 bytes of allocator slack bound them.
fn outcome_bytes(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Secure | Outcome::Indeterminate => 0,
        Outcome::Insecure(r) => 4 * r.to_string().len() + 256,
        Outcome::Bogus(r) => 4 * r.to_string().len() + 256,
    }
}
