//! The shared RRset store (issue 12), as unbound's rrset cache: each RRset
//! (its records and the RRSIGs over them, with its validation rank, TTL and
//! insertion time) is held once, behind an `Arc`, and the answer entries
//! point at it. The same NSEC proof behind 50,000 wildcard answers is stored
//! once.
//!
//! An [`RRset`] is immutable: an answer always serves exactly the records it
//! was stored (and validated) with. What the store shares is decided by
//! rank (RFC 2181 §5.4.1, extended by the validation status as unbound's
//! `rrset_trust` and `sec_status`):
//!
//! - a new RRset whose records are the same as the stored one's (TTLs
//!   aside) points at the stored one when that one ranks at least as high
//!   and lives about as long;
//! - otherwise the new one takes the store's slot when it ranks at least as
//!   high (newer data of the same credibility), and stays private to its
//!   answer when it ranks lower: RFC 2181 §5.4.1, "Unauthenticated RRs
//!   received and cached from the least trustworthy of those groupings ...
//!   should not be cached in such a way that they would ever be returned as
//!   answers" in place of better data; an unvalidated RRset never replaces a
//!   validated one;
//! - bogus RRsets are never shared (they answer only the CD=1 question that
//!   fetched them).
//!
//! The store's slot holds one reference; when the last answer pointing at an
//! RRset goes, [`Store::release`] takes the slot's too and the RRset is
//! freed. Every strong reference to a stored RRset is taken and dropped
//! under its shard's lock, which makes "only the slot is left" exact.
//!
//! Bytes: every live RRset counts its allocations (as the allocator rounds
//! them, [`heap`]) once in the store's [`Meter`], from creation to drop,
//! shared or not; the store's sets count their slots by capacity.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::Meter;
use crate::validator::outcome::Outcome;

/// RRSIG's type code (RFC 4034 §3).
pub(crate) const RRSIG: u16 = 46;

/// Bytes the allocator really takes for a request of `n` bytes: glibc's
/// malloc adds an 8-byte header and rounds a chunk up to 16 bytes, at least
/// 32 (`malloc/malloc.c`, `request2size`).
pub(crate) const fn heap(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        let chunk = (n + 8).next_multiple_of(16);
        if chunk < 32 { 32 } else { chunk }
    }
}

/// The rank of data that came with `outcome`, in the `section` it was in
/// (RFC 2181 §5.4.1: answer data over authority and additional data), and
/// validated data over unvalidated data. 0: bogus, never shared.
pub(crate) fn rank(outcome: &Outcome, answer_section: bool) -> u8 {
    let trust = match outcome {
        Outcome::Bogus(_) => return 0,
        Outcome::Indeterminate => 1,
        Outcome::Insecure(_) => 2,
        Outcome::Secure => 3,
    };
    trust * 2 + u8::from(answer_section)
}

/// One RRset: the records of one (owner, type, class) in one section, and
/// the RRSIGs covering that type.
pub(crate) struct RRset {
    /// The key, owner (wire form, lower case, RFC 4343) then the type (the
    /// covered type for RRSIGs) and class; then each record without its
    /// owner: type, class, TTL, RDLENGTH, RDATA (RFC 1035 §4.1.3), names in
    /// the RDATA uncompressed.
    data: Box<[u8]>,
    owner_len: u8,
    rank: u8,
    records: u16,
    /// The smallest TTL of its records when stored.
    ttl: u32,
    stored_at: u64,
    meter: Arc<Meter>,
}

impl Drop for RRset {
    fn drop(&mut self) {
        self.meter.0.fetch_sub(self.bytes(), Ordering::Relaxed);
    }
}

impl RRset {
    /// An RRset from `key` (owner, type, class) and `records` (as in
    /// `data`), counted in `meter` until dropped.
    pub(crate) fn new(
        key: &[u8],
        records: &[u8],
        count: u16,
        ttl: u32,
        rank: u8,
        now: u64,
        meter: &Arc<Meter>,
    ) -> Self {
        let mut data = Vec::with_capacity(key.len() + records.len());
        data.extend_from_slice(key);
        data.extend_from_slice(records);
        let rrset = Self {
            data: data.into_boxed_slice(),
            owner_len: (key.len() - 4) as u8,
            rank,
            records: count,
            ttl,
            stored_at: now,
            meter: Arc::clone(meter),
        };
        meter.0.fetch_add(rrset.bytes(), Ordering::Relaxed);
        rrset
    }

    /// Bytes held: the `Arc`'s block and the data, as allocated.
    pub(crate) fn bytes(&self) -> usize {
        heap(size_of::<Self>() + 2 * size_of::<usize>()) + heap(self.data.len())
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.data[..usize::from(self.owner_len) + 4]
    }

    /// The owner, wire form, lower case.
    pub(crate) fn owner(&self) -> &[u8] {
        &self.data[..usize::from(self.owner_len)]
    }

    /// The records, each without its owner.
    pub(crate) fn records(&self) -> &[u8] {
        &self.data[usize::from(self.owner_len) + 4..]
    }

    pub(crate) fn count(&self) -> u16 {
        self.records
    }

    pub(crate) fn stored_at(&self) -> u64 {
        self.stored_at
    }

    /// Seconds until its shortest TTL runs out, at `now`.
    pub(crate) fn remaining(&self, now: u64) -> u32 {
        (self.stored_at + u64::from(self.ttl))
            .saturating_sub(now)
            .min(u64::from(u32::MAX)) as u32
    }

    /// True when both hold the same records, TTLs aside.
    fn same_records(&self, other: &Self) -> bool {
        let (a, b) = (self.records(), other.records());
        if a.len() != b.len() || self.records != other.records {
            return false;
        }
        let mut at = 0;
        while at + 10 <= a.len() {
            let len = 10 + usize::from(u16::from_be_bytes([a[at + 8], a[at + 9]]));
            let end = (at + len).min(a.len());
            if a[at..at + 4] != b[at..at + 4] || a[at + 8..end] != b[at + 8..end] {
                return false;
            }
            at = end;
        }
        true
    }
}

/// A set member looked up by the RRset's key.
struct ByKey(Arc<RRset>);

impl Borrow<[u8]> for ByKey {
    fn borrow(&self) -> &[u8] {
        self.0.key()
    }
}

impl Hash for ByKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.key().hash(state);
    }
}

impl PartialEq for ByKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}

impl Eq for ByKey {}

struct Shard {
    set: HashSet<ByKey>,
    /// The set's slots as counted in the meter.
    counted: usize,
}

impl Shard {
    /// Recounts the set's slots after a change (hashbrown: buckets are the
    /// next power of two of 8/7 of the capacity, a slot and a control byte
    /// each).
    fn recount(&mut self, meter: &Meter) {
        let cap = self.set.capacity();
        let now = if cap == 0 {
            0
        } else {
            heap((cap * 8 / 7 + 1).next_power_of_two() * (size_of::<ByKey>() + 1))
        };
        if now > self.counted {
            meter.0.fetch_add(now - self.counted, Ordering::Relaxed);
        } else {
            meter.0.fetch_sub(self.counted - now, Ordering::Relaxed);
        }
        self.counted = now;
    }
}

/// The store: RRsets by (owner, type, class), sharded by key.
pub(crate) struct Store {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    meter: Arc<Meter>,
}

impl Store {
    pub(crate) fn new(shards: usize) -> Self {
        Self {
            shards: (0..shards.max(1))
                .map(|_| {
                    Mutex::new(Shard {
                        set: HashSet::new(),
                        counted: 0,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            meter: Arc::new(Meter::default()),
        }
    }

    /// The meter every RRset of this store counts itself in.
    pub(crate) fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    fn shard(&self, key: &[u8]) -> std::sync::MutexGuard<'_, Shard> {
        let h = self.hasher.hash_one(key) as usize;
        self.shards[h % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The RRset an answer stored at `now` points at for `new`: the stored
    /// one when it holds the same records, ranks at least as high and lives
    /// at least 90 % as long (or within a second); else `new`, which takes
    /// the store's slot unless a live RRset of a higher rank holds it (see
    /// the module rules).
    pub(crate) fn intern(&self, new: RRset, now: u64) -> Arc<RRset> {
        if new.rank == 0 {
            return Arc::new(new);
        }
        let mut shard = self.shard(new.key());
        if let Some(ByKey(old)) = shard.set.get(new.key()) {
            let left = old.remaining(now);
            if old.rank >= new.rank
                && (left.saturating_add(1) >= new.ttl
                    || u64::from(left) * 10 >= u64::from(new.ttl) * 9)
                && old.same_records(&new)
            {
                return Arc::clone(old);
            }
            if old.rank > new.rank && left > 0 {
                // RFC 2181 §5.4.1: lower-ranked data does not displace it.
                return Arc::new(new);
            }
        }
        let new = Arc::new(new);
        // The replaced RRset, if any, is dropped here, under the lock;
        // dropping one only touches the meter.
        shard.set.replace(ByKey(Arc::clone(&new)));
        shard.recount(&self.meter);
        new
    }

    /// Gives back an answer's references; an RRset no answer points at any
    /// more leaves the store (and is freed).
    pub(crate) fn release(&self, rrsets: Box<[Arc<RRset>]>) {
        for rrset in rrsets.into_vec() {
            if rrset.rank == 0 {
                continue;
            }
            let mut shard = self.shard(rrset.key());
            let slot = shard
                .set
                .get(rrset.key())
                .filter(|held| Arc::ptr_eq(&held.0, &rrset))
                .map(|held| Arc::clone(&held.0));
            drop(rrset);
            if let Some(slot) = slot {
                // The slot's reference and this one: no answer is left.
                if Arc::strong_count(&slot) == 2 {
                    shard.set.remove(slot.key());
                    shard.recount(&self.meter);
                }
            }
        }
    }

    /// Takes every RRset whose owner matches out of the store (answers
    /// still pointing at one keep it until they go).
    pub(crate) fn remove_where(&self, matches: impl Fn(&[u8]) -> bool) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            shard.set.retain(|held| !matches(held.0.owner()));
            shard.recount(&self.meter);
        }
    }

    /// Number of RRsets in the store's slots.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).set.len())
            .sum()
    }
}
