//! A UDP worker's front cache: [`Front`].
//!
//! With two workers, a hit in the shared cache wrote to memory the other
//! worker also writes: the shard's lock and its LRU list, the entry's
//! reference count, the lock of its encoded responses. On two vCPUs those
//! cache lines moved between cores on every answer, and each worker paid
//! more CPU per answer than one worker alone (issue 12). The front cache is
//! owned by one worker and touched by no other thread: a small
//! direct-mapped table of the responses that worker sent last, per
//! (question, response variant). A hit reads only its own memory and
//! immutable fields of the entry, copies the response and patches the ID,
//! RD, the question's spelling and the TTLs, as the shared cache does.
//!
//! It holds no answer the shared cache would not give at that moment:
//! * a slot is filled from the shared cache's answer to the same question
//!   asked the same way (DO, AD wanted, EDNS), so the bytes are the ones
//!   the shared cache would write (after the patches above);
//! * it answers only while the entry lives, and not in the last tenth of
//!   its TTL, where the shared path runs instead (prefetch, and the entry a
//!   prefetch put in place of this one);
//! * a flush of the cache (any removal by `control`, `Cache::clear`) bumps
//!   the cache's epoch after removing, and a slot filled under an older
//!   epoch is not used;
//! * CD=1 questions (which may be answered from a CD=0 entry), answers
//!   larger than [`MAX_WIRE`] or than the client's UDP limit, and truncated
//!   answers go through the shared cache every time.
//!
//! Memory: at most [`SLOTS`] responses of at most [`MAX_WIRE`] bytes per
//! worker, and the entries they were filled from (kept alive until their
//! slot is reused, even when the shared cache evicted them).

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use crate::answer;
use crate::cache::{CacheKey, Entry};
use crate::request::Request;

/// Slots per worker (a power of 2).
pub(super) const SLOTS: usize = 512;

/// The largest response kept (the usual EDNS buffer of 1232 bytes).
pub(super) const MAX_WIRE: usize = 1232;

/// One response as sent, with what it takes to send it again.
struct Slot {
    entry: Arc<Entry>,
    /// The cache key (question and CD) and the variant byte.
    key: Vec<u8>,
    epoch: u64,
    filled_at: u64,
    /// The response, patched for the request that filled it.
    wire: Vec<u8>,
    /// (offset, TTL as written at `filled_at`) of every record's TTL.
    ttls: Vec<(u16, u32)>,
}

/// A worker's own front cache (see the module's documentation).
pub(super) struct Front {
    slots: Box<[Option<Slot>]>,
    seed: u64,
}

impl Front {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| None).collect(),
            seed: RandomState::new().hash_one(0u64),
        }
    }

    /// The key of `request` in the front cache, and its slot; `None` for a
    /// question it does not hold (CD=1).
    fn key(&self, request: &Request) -> Option<(CacheKey, u8, usize)> {
        if request.cd {
            return None;
        }
        let key = request.cache_key(false);
        let variant = u8::from(request.dnssec_ok())
            | u8::from(request.wants_ad()) << 1
            | u8::from(request.edns.is_some()) << 2;
        // FNV-1a, seeded per worker: a collision only sends a question
        // through the shared cache.
        let mut h = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for &b in key.as_bytes().iter().chain([variant].iter()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let slot = ((h >> 32) ^ h) as usize & (SLOTS - 1);
        Some((key, variant, slot))
    }

    /// Writes the answer to `request` at `now` into `out` when the front
    /// cache holds it under the cache's current `epoch`; returns its entry.
    pub(super) fn answer(
        &self,
        request: &Request,
        now: u64,
        epoch: u64,
        out: &mut Vec<u8>,
    ) -> Option<&Entry> {
        let (key, variant, i) = self.key(request)?;
        let slot = self.slots[i].as_ref()?;
        let remaining = u64::from(slot.entry.remaining(now));
        if slot.epoch != epoch
            || remaining * 10 <= u64::from(slot.entry.ttl())
            || slot.wire.len() > request.udp_limit()
            || slot.key.split_last() != Some((&variant, key.as_bytes()))
        {
            return None;
        }
        out.clear();
        out.extend_from_slice(&slot.wire);
        out[..2].copy_from_slice(&request.id.to_be_bytes());
        out[2] = (out[2] & !0x01) | u8::from(request.rd);
        // Echo the client's spelling of the name (0x20 clients check it);
        // the same length, since the lower-cased names are equal.
        let qname = request.qname_wire();
        if let Some(spelled) = out.get_mut(12..12 + qname.len()) {
            spelled.copy_from_slice(qname);
        }
        let elapsed = now.saturating_sub(slot.filled_at).min(u64::from(u32::MAX)) as u32;
        for &(at, ttl) in &slot.ttls {
            let at = usize::from(at);
            if let Some(field) = out.get_mut(at..at + 4) {
                field.copy_from_slice(&ttl.saturating_sub(elapsed).to_be_bytes());
            }
        }
        Some(&slot.entry)
    }

    /// Keeps `response`, the shared cache's answer from `entry` to
    /// `request` at `now`, looked up under `epoch` (read before the lookup).
    pub(super) fn fill(
        &mut self,
        request: &Request,
        entry: &Arc<Entry>,
        now: u64,
        epoch: u64,
        response: &[u8],
    ) {
        let Some((key, variant, i)) = self.key(request) else {
            return;
        };
        let remaining = u64::from(entry.remaining(now));
        if response.len() < 12
            || response.len() > MAX_WIRE
            || response[2] & 0x02 != 0 // TC: cut to the client's limit
            || remaining * 10 <= u64::from(entry.ttl())
        {
            return;
        }
        let Some(offsets) = answer::ttl_offsets(response) else {
            return;
        };
        let slot = self.slots[i].get_or_insert_with(|| Slot {
            entry: Arc::clone(entry),
            key: Vec::new(),
            epoch,
            filled_at: now,
            wire: Vec::new(),
            ttls: Vec::new(),
        });
        if !Arc::ptr_eq(&slot.entry, entry) {
            slot.entry = Arc::clone(entry);
        }
        slot.key.clear();
        slot.key.extend_from_slice(key.as_bytes());
        slot.key.push(variant);
        slot.epoch = epoch;
        slot.filled_at = now;
        slot.wire.clear();
        slot.wire.extend_from_slice(response);
        slot.ttls.clear();
        // Offsets below MAX_WIRE fit in 16 bits.
        slot.ttls
            .extend(offsets.into_iter().map(|(at, ttl)| (at as u16, ttl)));
    }
}
