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
//! * CD=1 questions (which may be answered from a CD=0 entry) and answers
//!   larger than [`MAX_WIRE`] go through the shared cache every time; a
//!   whole answer larger than the client's UDP limit too;
//! * a truncated answer (TC=1, no records) answers only requests with the
//!   same UDP limit as the one it was cut for (the shared cache would cut
//!   it the same way for them). It used to go through the shared cache
//!   every time, which encodes it anew: in the lab's name list, the 6 % of
//!   answers that are truncated cost a third of the server's own
//!   instructions.
//!
//! Memory: at most [`SLOTS`] responses of at most [`MAX_WIRE`] bytes per
//! worker, and the entries they were filled from (kept alive until their
//! slot is reused, even when the shared cache evicted them).

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use crate::answer;
use crate::cache::Entry;
use crate::request::Request;

/// Slots per worker (a power of 2), in sets of [`WAYS`]: a question may sit
/// in either slot of its set. Direct-mapped, two busy questions that share a
/// slot pushed each other out on every answer (67 names in 512 slots share
/// about four pairs), sending both through the shared cache every time.
pub(super) const SLOTS: usize = 1024;

/// Slots per set.
const WAYS: usize = 2;

/// The largest response kept (the usual EDNS buffer of 1232 bytes).
pub(super) const MAX_WIRE: usize = 1232;

/// One response as sent, with what it takes to send it again. A hit reads
/// the slot and one allocation (`data`); the entry itself only for its
/// statistics.
struct Slot {
    entry: Arc<Entry>,
    /// The question name as the cache keys it (lower-cased, RFC 4343),
    /// then the response: `data[..name_len]`, `data[name_len..]`.
    data: Vec<u8>,
    name_len: usize,
    qtype: u16,
    qclass: u16,
    variant: u8,
    epoch: u64,
    /// The end of the entry's life and its TTL (immutable in the entry,
    /// copied here: the last tenth of the TTL is left to the shared path).
    end: u64,
    ttl: u32,
    filled_at: u64,
    /// The second the response's TTLs were last written for.
    aged_at: u64,
    /// When the response is truncated (TC=1): the client UDP limit it was
    /// cut for, which a request must have to be answered with it; `None`
    /// for a whole response, which answers any request it fits.
    cut_for: Option<usize>,
    /// The order of fills in this front cache: the older slot of a set
    /// is the one refilled.
    stamp: u64,
    /// (offset in the response, TTL as written at `filled_at`) of every
    /// record's TTL.
    ttls: Vec<(u16, u32)>,
}

impl Slot {
    fn name(&self) -> &[u8] {
        &self.data[..self.name_len]
    }

    /// True when the slot holds the answer to `q`'s question and variant.
    fn holds(&self, q: &Question<'_>) -> bool {
        self.qtype == q.qtype && self.qclass == q.qclass && self.variant == q.variant && {
            // Most clients ask in lower case: compare bytes first.
            let name = self.name();
            name == q.name || name.eq_ignore_ascii_case(q.name)
        }
    }

    fn wire(&self) -> &[u8] {
        &self.data[self.name_len..]
    }
}

/// A question's place in the front cache.
struct Question<'a> {
    name: &'a [u8],
    qtype: u16,
    qclass: u16,
    variant: u8,
    /// The first slot of its set.
    set: usize,
}

/// A worker's own front cache (see the module's documentation).
pub(super) struct Front {
    slots: Box<[Option<Slot>]>,
    seed: u64,
    fills: u64,
}

impl Front {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| None).collect(),
            seed: RandomState::new().hash_one(0u64),
            fills: 0,
        }
    }

    /// Where `request` goes in the front cache; `None` for a question it
    /// does not hold (CD=1).
    fn question<'a>(&self, request: &'a Request) -> Option<Question<'a>> {
        if request.cd {
            return None;
        }
        let name = request.qname_wire();
        let variant = u8::from(request.dnssec_ok())
            | u8::from(request.wants_ad()) << 1
            | u8::from(request.edns.is_some()) << 2;
        // Eight bytes at a time, letters folded to lower case by setting bit
        // 0x20 of every byte (which also folds a few other bytes together: a
        // collision only sends a question through the shared cache), seeded
        // per worker.
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        const FOLD: u64 = 0x2020_2020_2020_2020;
        let mut h = self.seed;
        let mut chunks = name.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            h = (h ^ (u64::from_le_bytes(w) | FOLD))
                .wrapping_mul(K)
                .rotate_left(29);
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        w[..rest.len()].copy_from_slice(rest);
        let tail = u64::from_le_bytes(w) | FOLD;
        let question = u64::from(request.qtype) << 40
            | u64::from(request.qclass) << 16
            | u64::from(variant) << 8
            | name.len() as u64;
        h = (h ^ tail).wrapping_mul(K).rotate_left(29);
        h = (h ^ question).wrapping_mul(K);
        Some(Question {
            name,
            qtype: request.qtype,
            qclass: request.qclass,
            variant,
            set: ((h >> 32) ^ h) as usize & (SLOTS - WAYS),
        })
    }

    /// Writes the answer to `request` at `now` into `out` when the front
    /// cache holds it under the cache's current `epoch`; returns its entry.
    pub(super) fn answer(
        &mut self,
        request: &Request,
        now: u64,
        epoch: u64,
        out: &mut Vec<u8>,
    ) -> Option<&Entry> {
        let q = self.question(request)?;
        let limit = request.udp_limit();
        let slot = self.slots[q.set..q.set + WAYS]
            .iter_mut()
            .flatten()
            .find(|slot| slot.holds(&q))?;
        if slot.epoch != epoch
            || slot.end.saturating_sub(now) * 10 <= u64::from(slot.ttl)
            || match slot.cut_for {
                None => slot.data.len() - slot.name_len > limit,
                Some(cut_for) => cut_for != limit,
            }
        {
            return None;
        }
        if slot.aged_at != now {
            // Age the kept response's TTLs once per second, not per answer.
            let elapsed = now.saturating_sub(slot.filled_at).min(u64::from(u32::MAX)) as u32;
            let base = slot.name_len;
            for &(at, ttl) in &slot.ttls {
                let at = base + usize::from(at);
                if let Some(field) = slot.data.get_mut(at..at + 4) {
                    field.copy_from_slice(&ttl.saturating_sub(elapsed).to_be_bytes());
                }
            }
            slot.aged_at = now;
        }
        out.clear();
        out.extend_from_slice(slot.wire());
        if out.len() >= 12 {
            out[..2].copy_from_slice(&request.id.to_be_bytes());
            out[2] = (out[2] & !0x01) | u8::from(request.rd);
        }
        // Echo the client's spelling of the name (0x20 clients check it);
        // the same length, since the lower-cased names are equal.
        if let Some(spelled) = out.get_mut(12..12 + q.name.len()) {
            spelled.copy_from_slice(q.name);
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
        let Some(q) = self.question(request) else {
            return;
        };
        let remaining = u64::from(entry.remaining(now));
        if response.len() < 12
            || response.len() > MAX_WIRE
            || remaining * 10 <= u64::from(entry.ttl())
        {
            return;
        }
        let Some(offsets) = answer::ttl_offsets(response) else {
            return;
        };
        // A truncated response (TC=1: the whole one did not fit the
        // client's limit) is the same for every request of the same
        // question, variant and limit.
        let cut_for = (response[2] & 0x02 != 0).then(|| request.udp_limit());
        // The slot already holding this question, else an empty one, else
        // the one filled longest ago.
        let ways = &mut self.slots[q.set..q.set + WAYS];
        let way = ways
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|slot| slot.holds(&q)))
            .or_else(|| ways.iter().position(Option::is_none))
            .unwrap_or_else(|| {
                let stamp = |i: usize| ways[i].as_ref().map_or(0, |slot| slot.stamp);
                (0..WAYS).min_by_key(|&i| stamp(i)).unwrap_or(0)
            });
        self.fills += 1;
        let slot = ways[way].get_or_insert_with(|| Slot {
            entry: Arc::clone(entry),
            data: Vec::new(),
            name_len: 0,
            qtype: 0,
            qclass: 0,
            variant: 0,
            epoch,
            end: 0,
            ttl: 0,
            filled_at: now,
            aged_at: now,
            cut_for,
            stamp: 0,
            ttls: Vec::new(),
        });
        if !Arc::ptr_eq(&slot.entry, entry) {
            slot.entry = Arc::clone(entry);
        }
        slot.data.clear();
        slot.data.extend(q.name.iter().map(u8::to_ascii_lowercase));
        slot.data.extend_from_slice(response);
        slot.name_len = q.name.len();
        slot.qtype = q.qtype;
        slot.qclass = q.qclass;
        slot.variant = q.variant;
        slot.epoch = epoch;
        // remaining > 0 here, so this is the entry's own end.
        slot.end = now + remaining;
        slot.ttl = entry.ttl();
        slot.filled_at = now;
        slot.aged_at = now;
        slot.cut_for = cut_for;
        slot.stamp = self.fills;
        slot.ttls.clear();
        // Offsets below MAX_WIRE fit in 16 bits.
        slot.ttls
            .extend(offsets.into_iter().map(|(at, ttl)| (at as u16, ttl)));
    }
}
