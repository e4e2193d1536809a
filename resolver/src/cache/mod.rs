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
//! encodes the response into the caller's buffer from the RRsets the entry
//! points at (ID, RD, the question as the client spelled it, TTLs counted
//! down): no re-validation, no per-answer allocation. The RRsets live in a
//! shared store (`rrset.rs`), each held once however many answers point at
//! it. Memory is bounded by an entry count and by bytes, with
//! least-recently-used eviction per shard. The bytes are what the allocator
//! really holds, not an estimate from a record count: each RRset once, the
//! entries, keys, slabs and maps, with malloc's rounding
//! (`resolver/tests/cache_memory.rs` checks the count against a counting
//! allocator).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::answer;
use crate::clock::Clock;
use crate::request::{MAX_KEY_LEN, Request};
use crate::resolve::{Resolution, negative_ttl};
use crate::validator::outcome::Outcome;
use crate::wire::{
    BinEncodable, BinEncoder, DNSClass, Name, NameEncoding, Record, RecordType, ResponseCode,
};
use rrset::{RRSIG, RRset, Store, heap};

pub mod aggressive;
mod flush;
mod lru;
mod rrset;
pub mod stale;

/// Cache limits. Defaults: 1 day maximum TTL, 1 hour for negative answers,
/// 60 s for bogus results, 100 000 entries, 64 MiB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Maximum number of entries.
    pub max_entries: usize,
    /// Maximum memory held by the cache, in bytes (the shared RRsets, the
    /// entries, and the tables).
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

/// Bytes counted outside the shards' own count (the RRset store's), read
/// by every shard.
#[derive(Debug, Default)]
pub(crate) struct Meter(AtomicUsize);

impl Meter {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// An entry's records: pointers into the RRset store, the answer section's
/// RRsets first, then the authority's, then the additional's; or, when they
/// do not survive encoding (then the entry answers the clients waiting for
/// it but is not cached), as they are.
enum Records {
    Shared {
        rrsets: Box<[Arc<RRset>]>,
        /// How many of `rrsets` are the answer section's, and the
        /// authority's.
        sections: [u16; 2],
        store: Arc<Store>,
    },
    Kept(Box<[Vec<Record>; 3]>),
}

/// What few entries need: a reason for their status and the EDE option
/// data it gives (RFC 8914 §2), and the name of their key when it is not
/// their first RRset's owner. Secure and Indeterminate answers to their
/// own name (nearly every entry) have none: no allocation.
struct Extra {
    outcome: Outcome,
    ede: Option<Box<[u8]>>,
    /// Empty when the name is the first RRset's owner.
    qname: Box<[u8]>,
}

static SECURE: Outcome = Outcome::Secure;
static INDETERMINATE: Outcome = Outcome::Indeterminate;

/// `Entry::kind`: the outcome is Secure, Indeterminate, or in `Extra`.
const SECURE_KIND: u8 = 0;
const INDETERMINATE_KIND: u8 = 1;
const OTHER_KIND: u8 = 2;

impl Extra {
    /// The kind of `outcome` and what the entry holds apart for it and
    /// `qname` (empty: the first RRset's owner).
    fn new(outcome: Outcome, qname: Box<[u8]>) -> (u8, Option<Box<Self>>) {
        let kind = match outcome {
            Outcome::Secure => SECURE_KIND,
            Outcome::Indeterminate => INDETERMINATE_KIND,
            _ => OTHER_KIND,
        };
        if kind != OTHER_KIND && qname.is_empty() {
            return (kind, None);
        }
        let ede = outcome
            .ede()
            .map(|ede| answer::ede_option_data(&ede).into_boxed_slice());
        let extra = Self {
            outcome,
            ede,
            qname,
        };
        (kind, Some(Box::new(extra)))
    }

    /// Heap bytes, as allocated: a reason holds a few names (on the heap
    /// only past 32 bytes) and texts, all of which its text spells out;
    /// four times that length and 256 bytes of allocator slack bound them.
    fn bytes(extra: Option<&Self>) -> usize {
        let Some(extra) = extra else { return 0 };
        heap(size_of::<Self>())
            + extra.ede.as_ref().map_or(0, |e| heap(e.len()))
            + heap(extra.qname.len())
            + match &extra.outcome {
                Outcome::Insecure(r) => 4 * r.text_len_bound() + 256,
                Outcome::Bogus(r) => 4 * r.to_string().len() + 256,
                Outcome::Secure | Outcome::Indeterminate => 0,
            }
    }
}

/// One cached answer.
pub struct Entry {
    /// The records of the answer, authority and additional sections.
    records: Records,
    /// The outcome's reason and EDE, and the name of the key it is cached
    /// under when that is not the first RRset's owner (the answer's, as it
    /// nearly always is: then the name is not stored twice).
    extra: Option<Box<Extra>>,
    /// The rest of the key: type, class and CD.
    suffix: [u8; 5],
    /// Which outcome (`SECURE_KIND`, ...).
    kind: u8,
    rcode: ResponseCode,
    resolution_ttl: u32,
    ttl: u32,
    /// Bytes the entry holds beyond its RRsets (counted by the store): the
    /// entry, its list of RRsets, its status and its key, as allocated.
    size: u32,
    stored_at: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Records::Shared { rrsets, store, .. } = &mut self.records {
            store.release(std::mem::take(rrsets));
        }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("outcome", self.outcome())
            .field("rcode", &self.rcode)
            .field("stored_at", &self.stored_at)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The labels of a wire-form name: their offsets (at most 127 labels fit in
/// 255 bytes) and how many.
fn labels(name: &[u8]) -> ([u8; 128], usize) {
    let mut offsets = [0u8; 128];
    let (mut at, mut n) = (0usize, 0usize);
    while let Some(&len) = name.get(at) {
        if len == 0 || len & 0xC0 != 0 || n == offsets.len() {
            break;
        }
        offsets[n] = at as u8;
        n += 1;
        at += 1 + usize::from(len);
    }
    (offsets, n)
}

/// `name` (uncompressed wire form) written after `qname` (at offset 12 of
/// the message; `q_at`/`q_n` its label offsets): the labels `qname` does not
/// end with, and the pointer to the part it does (RFC 1035 §4.1.4), if any.
fn against_question<'n>(
    name: &'n [u8],
    qname: &[u8],
    q_at: &[u8; 128],
    q_n: usize,
) -> (&'n [u8], Option<u16>) {
    let (o_at, o_n) = labels(name);
    let mut same = 0;
    while same < o_n.min(q_n) {
        let o = usize::from(o_at[o_n - 1 - same]);
        let q = usize::from(q_at[q_n - 1 - same]);
        let len = usize::from(name[o]) + 1;
        if !name[o..o + len].eq_ignore_ascii_case(&qname[q..(q + len).min(qname.len())]) {
            break;
        }
        same += 1;
    }
    if same == 0 {
        return (name, None);
    }
    (
        &name[..usize::from(o_at[o_n - same])],
        Some(0xC000 | (12 + u16::from(q_at[q_n - same]))),
    )
}

/// RFC 1035 §4.1.4: the RDATA of one of RFC 1035's types that carry names
/// (NS, CNAME, PTR: a name; MX: a preference and a name; SOA: MNAME, RNAME
/// and five 32-bit fields), as stored (uncompressed), with its names
/// compressed against the question, as unbound writes them. Other types
/// are written as stored (RFC 3597 §4: names in the RDATA of later types
/// are never compressed; RFC 4034 §3.1.7 and §4.1.1 for RRSIG and NSEC;
/// RFC 6672 §2.5 for DNAME). Appends RDLENGTH and RDATA to `out`; false,
/// writing nothing, for another type or RDATA that is not that.
fn write_compressed_rdata(
    rtype: u16,
    rdata: &[u8],
    qname: &[u8],
    q_at: &[u8; 128],
    q_n: usize,
    out: &mut Vec<u8>,
) -> bool {
    let name_end = |from: usize| -> Option<usize> {
        let mut at = from;
        loop {
            let len = usize::from(*rdata.get(at)?);
            if len == 0 {
                return Some(at + 1);
            }
            if len & 0xC0 != 0 {
                return None;
            }
            at += 1 + len;
        }
    };
    // (fixed bytes before the names, number of names, fixed bytes after).
    let (before, names, after) = match rtype {
        2 | 5 | 12 => (0, 1, 0),
        15 => (2, 1, 0),
        6 => (0, 2, 20),
        _ => return false,
    };
    let mut bounds = [before; 3];
    for i in 0..names {
        match name_end(bounds[i]) {
            Some(end) => bounds[i + 1] = end,
            None => return false,
        }
    }
    if rdata.len() != bounds[names] + after {
        return false;
    }
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&rdata[..before]);
    for i in 0..names {
        let (prefix, pointer) =
            against_question(&rdata[bounds[i]..bounds[i + 1]], qname, q_at, q_n);
        out.extend_from_slice(prefix);
        if let Some(pointer) = pointer {
            out.extend_from_slice(&pointer.to_be_bytes());
        }
    }
    out.extend_from_slice(&rdata[bounds[names]..]);
    // At most two names of 255 bytes and 20 more.
    let length = (out.len() - start - 2) as u16;
    out[start..start + 2].copy_from_slice(&length.to_be_bytes());
    true
}

/// The wire form of an RRset's records in a message, sections in order.
fn message_wire(rrsets: &[Arc<RRset>], sections: [u16; 2]) -> Vec<u8> {
    let (answer, authority) = (usize::from(sections[0]), usize::from(sections[1]));
    let count = |set: &[Arc<RRset>]| {
        set.iter()
            .map(|r| r.count())
            .fold(0u16, u16::saturating_add)
    };
    let mut wire = vec![0u8; 12];
    wire[6..8].copy_from_slice(&count(&rrsets[..answer]).to_be_bytes());
    wire[8..10].copy_from_slice(&count(&rrsets[answer..answer + authority]).to_be_bytes());
    wire[10..12].copy_from_slice(&count(&rrsets[answer + authority..]).to_be_bytes());
    for rrset in rrsets {
        let records = rrset.records();
        let mut at = 0;
        while at + 10 <= records.len() {
            let end = at + 10 + usize::from(u16::from_be_bytes([records[at + 8], records[at + 9]]));
            wire.extend_from_slice(rrset.owner());
            wire.extend_from_slice(&records[at..end.min(records.len())]);
            at = end;
        }
    }
    wire
}

impl Entry {
    /// The cached resolution, decoded; record TTLs are as stored (not
    /// counted down).
    pub fn resolution(&self) -> Resolution {
        let (answers, authority, additional) = match &self.records {
            Records::Shared {
                rrsets, sections, ..
            } => match crate::wire::decode_message(&message_wire(rrsets, *sections)) {
                Ok(m) => (m.answers, m.authorities, m.additionals),
                // Checked by `insert` before the entry was made.
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
            outcome: self.outcome().clone(),
            ttl: self.resolution_ttl,
            failure: None,
        }
    }

    /// The validation status stored with the data.
    pub fn outcome(&self) -> &Outcome {
        match (self.kind, &self.extra) {
            (SECURE_KIND, _) => &SECURE,
            (OTHER_KIND, Some(extra)) => &extra.outcome,
            _ => &INDETERMINATE,
        }
    }

    /// The name of the key it is cached under (wire form, lower case).
    pub(crate) fn qname(&self) -> &[u8] {
        match (&self.records, &self.extra) {
            (_, Some(extra)) if !extra.qname.is_empty() => &extra.qname,
            (Records::Shared { rrsets, .. }, _) => rrsets.first().map_or(&[][..], |r| r.owner()),
            _ => &[],
        }
    }

    /// True when it is cached under `key` (bytes of a [`CacheKey`]).
    pub(crate) fn is_under(&self, key: &[u8]) -> bool {
        let qname = self.qname();
        key.len() == qname.len() + 5
            && key[..qname.len()] == *qname
            && key[qname.len()..] == self.suffix
    }

    /// The hash of its key, as [`key_hash`] hashes a [`CacheKey`].
    pub(crate) fn key_hash(&self, hasher: &RandomState) -> u64 {
        hash_parts(hasher, self.qname(), &self.suffix)
    }

    /// The response code stored.
    pub fn rcode(&self) -> ResponseCode {
        self.rcode
    }

    /// Bytes this entry holds beyond the RRsets it points at (those are
    /// counted once, by the store).
    pub fn bytes(&self) -> usize {
        self.size as usize
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

    /// Writes the full response to `request` into `out` (over TCP, or before
    /// the UDP size check), with TTLs counted down to `now`: encoded from
    /// the RRsets it points at, without allocating (`out` is reused). The
    /// rules are `answer::build`'s; `answer_equivalence` in the tests
    /// checks that both give the same message for every kind of request.
    pub fn write_response(&self, request: &Request, now: u64, out: &mut Vec<u8>) {
        let rcode = u16::from(self.rcode);
        let fast = match &self.records {
            Records::Shared {
                rrsets, sections, ..
            } if rcode < 16 => self.encode(rrsets, *sections, request, now, out),
            _ => false,
        };
        if !fast {
            *out = answer::encode(&answer::build(request, &self.resolution()));
            // The slow path's TTLs are as stored; count them down.
            if let Some(ttls) = answer::ttl_offsets(out) {
                let elapsed = now.saturating_sub(self.stored_at).min(u64::from(u32::MAX)) as u32;
                for (at, ttl) in ttls {
                    out[at..at + 4].copy_from_slice(&ttl.saturating_sub(elapsed).to_be_bytes());
                }
            }
        }
    }

    /// The fast path of [`Entry::write_response`]; false when the response
    /// would exceed 65,535 bytes (then `answer::encode` turns it into a
    /// SERVFAIL).
    fn encode(
        &self,
        rrsets: &[Arc<RRset>],
        sections: [u16; 2],
        request: &Request,
        now: u64,
        out: &mut Vec<u8>,
    ) -> bool {
        // RFC 4035 §5.5: bogus and CD=0 is SERVFAIL with no data.
        let servfail = self.outcome().is_bogus() && !request.cd;
        let rcode = if servfail {
            u16::from(ResponseCode::ServFail)
        } else {
            u16::from(self.rcode)
        };
        // RFC 6840 §5.8: AD only for a client that set DO or AD; RFC 4035
        // §3.2.3: only when all the data is authentic; never with CD.
        let ad = !servfail && self.outcome().is_secure() && request.wants_ad() && !request.cd;
        out.clear();
        out.extend_from_slice(&request.id.to_be_bytes());
        // QR=1, opcode QUERY, RD copied; RA=1, CD copied (RFC 4035 §3.1.6).
        out.push(0x80 | u8::from(request.rd));
        out.push(
            0x80 | if ad { 0x20 } else { 0 } | if request.cd { 0x10 } else { 0 } | rcode as u8,
        );
        out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        let qname = request.qname_wire();
        out.extend_from_slice(qname);
        out.extend_from_slice(&request.qtype.to_be_bytes());
        out.extend_from_slice(&request.qclass.to_be_bytes());
        let mut counts = [0u16; 3];
        if !servfail {
            let (q_at, q_n) = labels(qname);
            // RFC 4035 §3.2.1: without DO, no RRSIG, NSEC or NSEC3 unless
            // the question asks for that type (or ANY).
            let all = request.dnssec_ok() || request.qtype == u16::from(RecordType::ANY);
            let keep = |rtype: u16| all || rtype == request.qtype || !matches!(rtype, 46 | 47 | 50);
            let left = self.remaining(now);
            let bounds = [
                usize::from(sections[0]),
                usize::from(sections[0]) + usize::from(sections[1]),
            ];
            // Owners written out so far (bytes, offset): a later record with
            // the same owner is a pointer to it (RFC 1035 §4.1.4), as the
            // RRSIGs after their RRset's records are (an NSEC3 owner's hash
            // label alone is 33 bytes). A fixed array: a hit allocates
            // nothing; past 16 owners the rest are written as before.
            let mut written: [(&[u8], u16); 16] = [(&[], 0); 16];
            let mut owners = 0;
            for (i, rrset) in rrsets.iter().enumerate() {
                let section = bounds.iter().filter(|&&b| i >= b).count();
                let owner = rrset.owner();
                // The owner: its labels the question's name does not end
                // with, then a pointer to the question's (RFC 1035 §4.1.4).
                let (mut prefix, mut pointer) = against_question(owner, qname, &q_at, q_n);
                if let Some(&(_, at)) = written[..owners]
                    .iter()
                    .find(|(w, _)| w.eq_ignore_ascii_case(owner))
                {
                    (prefix, pointer) = (&[], Some(0xC000 | at));
                }
                let elapsed = now
                    .saturating_sub(rrset.stored_at())
                    .min(u64::from(u32::MAX)) as u32;
                let records = rrset.records();
                let mut at = 0;
                while at + 10 <= records.len() {
                    let rdlen = usize::from(u16::from_be_bytes([records[at + 8], records[at + 9]]));
                    let end = (at + 10 + rdlen).min(records.len());
                    let rtype = u16::from_be_bytes([records[at], records[at + 1]]);
                    if keep(rtype) {
                        // The first time an owner's own labels are written,
                        // where they start is kept for what follows.
                        let first =
                            (!prefix.is_empty() && owners < written.len() && out.len() < 0x4000)
                                .then_some(out.len() as u16);
                        out.extend_from_slice(prefix);
                        if let Some(pointer) = pointer {
                            out.extend_from_slice(&pointer.to_be_bytes());
                        }
                        if let Some(at) = first {
                            written[owners] = (owner, at);
                            owners += 1;
                            (prefix, pointer) = (&[], Some(0xC000 | at));
                        }
                        out.extend_from_slice(&records[at..at + 4]);
                        // RFC 1035 §3.2.1, RFC 2308 §5: TTLs count down,
                        // never past the entry's own end.
                        let stored = u32::from_be_bytes([
                            records[at + 4],
                            records[at + 5],
                            records[at + 6],
                            records[at + 7],
                        ]);
                        let ttl = stored.saturating_sub(elapsed).min(left);
                        out.extend_from_slice(&ttl.to_be_bytes());
                        let rdata = &records[(at + 10).min(end)..end];
                        if !write_compressed_rdata(rtype, rdata, qname, &q_at, q_n, out) {
                            out.extend_from_slice(&records[at + 8..end]);
                        }
                        counts[section] = counts[section].saturating_add(1);
                    }
                    at = end;
                }
            }
        }
        if let Some(client) = request.edns {
            // RFC 6891 §6.1.2: our buffer size; RFC 3225 §3: DO echoed;
            // RFC 8914 §2: the EDE.
            out.push(0);
            out.extend_from_slice(&u16::from(RecordType::OPT).to_be_bytes());
            out.extend_from_slice(&crate::edns::EDNS_BUFFER.to_be_bytes());
            out.push((rcode >> 4) as u8);
            out.push(0);
            out.push(if client.dnssec_ok { 0x80 } else { 0 });
            out.push(0);
            match self.extra.as_ref().and_then(|e| e.ede.as_deref()) {
                Some(ede) => {
                    out.extend_from_slice(&(ede.len() as u16 + 4).to_be_bytes());
                    out.extend_from_slice(&answer::EDE_OPTION.to_be_bytes());
                    out.extend_from_slice(&(ede.len() as u16).to_be_bytes());
                    out.extend_from_slice(ede);
                }
                None => out.extend_from_slice(&[0, 0]),
            }
            counts[2] = counts[2].saturating_add(1);
        }
        out[6..8].copy_from_slice(&counts[0].to_be_bytes());
        out[8..10].copy_from_slice(&counts[1].to_be_bytes());
        out[10..12].copy_from_slice(&counts[2].to_be_bytes());
        out.len() <= usize::from(u16::MAX)
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
                    outcome: self.outcome().clone(),
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
    shards: Box<[Mutex<lru::Lru>]>,
    /// The RRsets the entries point at, each held once.
    store: Arc<Store>,
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

/// The fixed cost of one entry: the entry behind its `Arc` (two counters),
/// as allocated; the slab and map slots are counted by the shard as
/// allocated.
const ENTRY_FIXED: usize = heap(size_of::<Entry>() + 2 * size_of::<usize>());

impl Cache {
    /// An empty cache reading time from `clock`.
    pub fn new(config: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        let n = config.shards.clamp(1, 1024).next_power_of_two();
        let per_entries = config.max_entries.div_ceil(n);
        let per_bytes = config.max_bytes.div_ceil(n);
        let store = Arc::new(Store::new(n));
        let hasher = RandomState::new();
        let shards = (0..n)
            .map(|_| {
                let shared = Arc::clone(store.meter());
                Mutex::new(lru::Lru::new(
                    per_entries,
                    per_bytes,
                    shared,
                    n,
                    hasher.clone(),
                ))
            })
            .collect();
        Self {
            shards,
            store,
            hasher,
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
        let (hash, shard) = self.shard(key);
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(hash, key.as_bytes())?;
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

    /// The hash of `key` and its shard.
    fn shard(&self, key: &CacheKey) -> (u64, &Mutex<lru::Lru>) {
        let h = key_hash(&self.hasher, key.as_bytes());
        // The high bits pick the shard; the table inside uses all of them.
        (
            h,
            &self.shards[(h >> 40) as usize & (self.shards.len() - 1)],
        )
    }

    /// The live entry under `key`; an expired one is removed.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        let now = self.clock.unix_now();
        let (hash, shard) = self.shard(key);
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(hash, key.as_bytes())?;
        if entry.remaining(now) > 0 {
            return Some(Arc::clone(entry));
        }
        // Serve-stale keeps it for its window (a miss all the same).
        if self.stale_window == 0
            || entry
                .expired_for(now)
                .is_none_or(|past| past > self.stale_window)
        {
            shard.remove(hash, key.as_bytes());
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
        let now = self.clock.unix_now();
        let built = build_rrsets(&resolution);
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
        let Some((sets, sections)) = built else {
            let (kind, extra) = Extra::new(outcome, Box::default());
            tracing::debug!("records that do not survive encoding are not cached");
            let kept = Records::Kept(Box::new([answers, authority, additional]));
            return Some(Arc::new(Entry {
                records: kept,
                suffix: [0; 5],
                rcode,
                kind,
                extra,
                resolution_ttl,
                stored_at: now,
                ttl,
                size: 0,
            }));
        };
        let mut ttl = ttl;
        let answer_sets = usize::from(sections[0]);
        let rrsets: Box<[Arc<RRset>]> = sets
            .into_iter()
            .enumerate()
            .map(|(i, set)| {
                let rank = rrset::rank(&outcome, i < answer_sets);
                let meter = self.store.meter();
                let fresh =
                    RRset::new(&set.key, &set.records, set.count, set.ttl, rank, now, meter);
                let held = self.store.intern(fresh, now);
                // A shared RRset stored earlier may run out a little
                // sooner than this answer's own copy would: the entry
                // never outlives the records it serves.
                let left = held.remaining(now);
                if left < set.ttl {
                    ttl = ttl.saturating_sub(set.ttl - left).max(1);
                }
                held
            })
            .collect();
        let (name, suffix) = split_key(key.as_bytes());
        // The answer's owner is the question's name nearly always; then
        // the entry does not hold the name a second time.
        let qname: Box<[u8]> = match rrsets.first() {
            Some(first) if sections[0] > 0 && first.owner() == name => Box::default(),
            _ => name.into(),
        };
        let (kind, extra) = Extra::new(outcome, qname);
        let size = ENTRY_FIXED
            + heap(rrsets.len() * size_of::<Arc<RRset>>())
            + Extra::bytes(extra.as_deref());
        let store = Arc::clone(&self.store);
        let entry = Arc::new(Entry {
            records: Records::Shared {
                rrsets,
                sections,
                store,
            },
            extra,
            kind,
            suffix,
            size: u32::try_from(size).unwrap_or(u32::MAX),
            ttl,
            stored_at: now,
            resolution_ttl,
            rcode,
        });
        let (hash, shard) = self.shard(key);
        let evicted = shard.lock().unwrap_or_else(|e| e.into_inner()).insert(
            hash,
            key.as_bytes(),
            Arc::clone(&entry),
        );
        if evicted > 0 {
            tracing::trace!(evicted, "cache full, evicted least recently used");
        }
        Some(entry)
    }

    /// Number of entries (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// Number of RRsets the store shares out (RRsets an answer holds
    /// privately, bogus or outranked, not included).
    pub fn rrsets(&self) -> usize {
        self.store.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the cache: its entries and tables, and every live
    /// RRset once (including those of entries evicted but still being
    /// answered from).
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes())
            .sum()
    }

    /// Drops everything.
    pub fn clear(&self) {
        for s in self.shards.iter() {
            s.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
        self.store.remove_where(|_| true);
        self.bump_epoch();
    }
}

/// A key's name and the rest (type, class, CD).
fn split_key(key: &[u8]) -> (&[u8], [u8; 5]) {
    let at = key.len().saturating_sub(5);
    let mut suffix = [0; 5];
    for (d, s) in suffix.iter_mut().zip(&key[at..]) {
        *d = *s;
    }
    (&key[..at], suffix)
}

/// The hash of a [`CacheKey`]'s bytes, from its name and the rest, as an
/// entry that holds them apart hashes them ([`Entry::key_hash`]).
pub(crate) fn key_hash(hasher: &RandomState, key: &[u8]) -> u64 {
    let (name, suffix) = split_key(key);
    hash_parts(hasher, name, &suffix)
}

fn hash_parts(hasher: &RandomState, name: &[u8], suffix: &[u8; 5]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(name);
    h.write(suffix);
    h.finish()
}

/// An RRset being built: key (owner, type, class), records without
/// owners, how many, their smallest TTL.
struct Building {
    key: Vec<u8>,
    records: Vec<u8>,
    count: u16,
    ttl: u32,
}

/// The resolution's records grouped into RRsets (an RRSIG with the RRset of
/// the type it covers), per section in order of first appearance, and how
/// many are the answer section's and the authority's; `None` when they
/// cannot be encoded and decoded again (then the resolution is not cached).
fn build_rrsets(resolution: &Resolution) -> Option<(Vec<Building>, [u16; 2])> {
    let mut sets: Vec<Building> = Vec::new();
    let mut sections = [0u16; 2];
    let mut scratch = Vec::with_capacity(512);
    for (i, section) in [
        &resolution.answers,
        &resolution.authority,
        &resolution.additional,
    ]
    .into_iter()
    .enumerate()
    {
        let first = sets.len();
        for record in section {
            scratch.clear();
            let mut encoder = BinEncoder::new(&mut scratch);
            encoder.set_name_encoding(NameEncoding::Uncompressed);
            record.emit(&mut encoder).ok()?;
            let (at, n) = labels(&scratch);
            let owner_end = if n == 0 {
                0
            } else {
                usize::from(at[n - 1]) + 1 + usize::from(scratch[usize::from(at[n - 1])])
            };
            if scratch.get(owner_end) != Some(&0) || scratch.len() < owner_end + 11 {
                return None;
            }
            let fixed = &scratch[owner_end + 1..];
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let covered = if rtype == RRSIG && fixed.len() >= 12 {
                [fixed[10], fixed[11]]
            } else {
                [fixed[0], fixed[1]]
            };
            let mut key = scratch[..=owner_end].to_ascii_lowercase();
            key.extend_from_slice(&covered);
            key.extend_from_slice(&fixed[2..4]);
            let set = match sets[first..].iter().position(|s| s.key == key) {
                Some(j) => &mut sets[first + j],
                None => {
                    sets.push(Building {
                        key,
                        records: Vec::new(),
                        count: 0,
                        ttl: u32::MAX,
                    });
                    sets.last_mut()?
                }
            };
            set.records.extend_from_slice(fixed);
            set.count = set.count.checked_add(1)?;
            set.ttl = set.ttl.min(ttl);
        }
        if i < 2 {
            sections[i] = u16::try_from(sets.len() - first).ok()?;
        }
    }
    // The records must decode as they were (`Entry::resolution`).
    let mut wire = vec![0u8; 12];
    let mut counts = [0u16; 3];
    for (j, set) in sets.iter().enumerate() {
        let section = if j < usize::from(sections[0]) {
            0
        } else if j < usize::from(sections[0]) + usize::from(sections[1]) {
            1
        } else {
            2
        };
        counts[section] = counts[section].checked_add(set.count)?;
        let owner = &set.key[..set.key.len() - 4];
        let mut at = 0;
        while at + 10 <= set.records.len() {
            let end = at
                + 10
                + usize::from(u16::from_be_bytes([
                    set.records[at + 8],
                    set.records[at + 9],
                ]));
            wire.extend_from_slice(owner);
            wire.extend_from_slice(set.records.get(at..end)?);
            at = end;
        }
    }
    for (k, count) in counts.iter().enumerate() {
        wire[6 + 2 * k..8 + 2 * k].copy_from_slice(&count.to_be_bytes());
    }
    crate::wire::decode_message(&wire).ok()?;
    Some((sets, sections))
}
