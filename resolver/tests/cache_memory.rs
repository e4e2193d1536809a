//! Memory bounded in bytes (issue 11, item 7): the answer cache's count of
//! bytes is checked against what a counting allocator sees it hold, with
//! entries built to be expensive (long distinct owner names that do not
//! compress, many records and signatures, every response variant encoded).
//! Prints the bytes per cached signed answer; asserts no timing and no RSS.
//! The key store's count of a zone's keys is checked the same way.

mod server_common;

use std::alloc::System;
use std::sync::{Arc, Mutex};

use cap::Cap;

use danebound_resolver::cache::{Cache, CacheConfig};
use danebound_resolver::clock::FixedClock;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::outcome::Outcome;
use danebound_resolver::wire::{RecordType, ResponseCode};
use server_common::*;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Bytes allocated and not yet freed, process-wide (this test binary runs
/// its tests one after another: see `serial`).
fn live() -> isize {
    ALLOCATOR.allocated() as isize
}

/// A signed answer for host `i` with `n` TXT records under a long owner
/// name of its own (63-byte labels), each RRset with an RRSIG.
fn hostile(i: usize, n: usize) -> (String, Resolution) {
    let label = format!("{i:0>63}");
    let owner = format!("{label}.{}.{}.example.", "a".repeat(63), "b".repeat(63));
    let mut answers = Vec::new();
    for j in 0..n {
        answers.push(txt(&owner, 300, &format!("{j:0>200}")));
    }
    answers.push(rrsig(&owner, 300, RecordType::TXT));
    let resolution = Resolution {
        rcode: ResponseCode::NoError,
        answers,
        authority: vec![],
        additional: vec![],
        outcome: Outcome::Secure,
        ttl: 300,
        failure: None,
    };
    (owner, resolution)
}

/// Fill a cache bounded at `max_bytes` with `count` hostile answers, each
/// answered in four variants; returns (accounted, measured) bytes.
/// The tests measure the whole process's allocations: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn fill(max_bytes: usize, count: usize, records: usize) -> (usize, isize, usize) {
    let clock = Arc::new(FixedClock::new(1_000_000));
    let config = CacheConfig {
        max_bytes,
        max_entries: 1_000_000,
        shards: 4,
        ..CacheConfig::default()
    };
    let before = live();
    let cache = Cache::new(config, clock);
    let mut out = Vec::with_capacity(65_536);
    for i in 0..count {
        let (owner, resolution) = hostile(i, records);
        let key = request(&owner, RecordType::TXT, Flags::plain()).cache_key(false);
        cache.insert(&key, resolution);
        for flags in [
            Flags::plain(),
            Flags::dnssec(),
            Flags {
                edns: Some((4096, false)),
                ..Flags::plain()
            },
            Flags {
                ad: true,
                ..Flags::dnssec()
            },
        ] {
            let req = request(&owner, RecordType::TXT, flags);
            if let Some(entry) = cache.lookup(&req) {
                entry.write_response(&req, 1_000_000, &mut out);
            }
        }
    }
    drop(out);
    let measured = live() - before;
    (cache.bytes(), measured, cache.len())
}

#[test]
fn the_answer_cache_counts_the_bytes_it_holds_and_stays_under_its_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (max_bytes, count, records) in [(1 << 20, 2_000, 4), (4 << 20, 1_000, 40)] {
        let (accounted, measured, len) = fill(max_bytes, count, records);
        eprintln!(
            "bound {max_bytes} B, {count} answers of {records} TXT: {len} held, \
             {accounted} B accounted, {measured} B measured"
        );
        assert!(accounted <= max_bytes, "{accounted} > bound {max_bytes}");
        assert!(len > 0);
        // The count is what the allocator sees held, give or take a little
        // (allocator rounding is not seen by either).
        assert!(
            measured as f64 <= accounted as f64 * 1.05 + 4096.0,
            "the cache holds {measured} B but counts {accounted} B"
        );
        assert!(
            measured as f64 >= accounted as f64 * 0.5,
            "the count ({accounted} B) is far above what is held ({measured} B)"
        );
    }
}

/// The figure behind README's "bytes per cached signed answer": N small
/// signed answers (one A and its RRSIG, both variants a DO client and a
/// plain client get).
#[test]
fn bytes_per_cached_signed_answer() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = 50_000;
    let (cache, measured) = fill_signed(n, 1 << 30);
    assert_eq!(cache.len(), n);
    assert!(measured as f64 <= cache.bytes() as f64 * 1.05 + 4096.0);
    // Three times as many under the default bound (64 MiB): the cache
    // stops growing at the bound.
    drop(cache);
    let max_bytes = CacheConfig::default().max_bytes;
    let (cache, measured) = fill_signed(3 * n, max_bytes);
    assert!(cache.bytes() <= max_bytes, "{} B", cache.bytes());
    assert!(measured as f64 <= max_bytes as f64 * 1.05 + 4096.0);
}

/// Inserts `n` small signed answers (one A and its RRSIG; the variants a
/// DO client and a plain client get) into a cache bounded at `max_bytes`;
/// prints the figures and returns the cache and the bytes it holds.
fn fill_signed(n: usize, max_bytes: usize) -> (Cache, isize) {
    let clock = Arc::new(FixedClock::new(1_000_000));
    let rss_before = rss_bytes();
    let before = live();
    let config = CacheConfig {
        max_bytes,
        ..CacheConfig::default()
    };
    let cache = Cache::new(config, clock);
    let mut out = Vec::with_capacity(4096);
    for i in 0..n {
        let owner = format!("host{i}.example.");
        let mut resolution = positive(Outcome::Secure, 300);
        for r in &mut resolution.answers {
            r.name = name(&owner);
        }
        let req = request(&owner, RecordType::A, Flags::dnssec());
        cache.insert(&req.cache_key(false), resolution);
        for flags in [Flags::dnssec(), Flags::plain()] {
            let req = request(&owner, RecordType::A, flags);
            if let Some(entry) = cache.lookup(&req) {
                entry.write_response(&req, 1_000_000, &mut out);
            }
        }
    }
    drop(out);
    let measured = live() - before;
    eprintln!(
        "{n} signed answers into a {max_bytes} B cache: {} held, {} B accounted, \
         {measured} B measured, {} B per answer; RSS grew {} kB (informational)",
        cache.len(),
        cache.bytes(),
        measured / cache.len().max(1) as isize,
        rss_bytes().saturating_sub(rss_before) / 1024
    );
    (cache, measured)
}

/// The key store counts a zone's authenticated keys (`ZoneKeys::bytes`) at
/// no less than what they hold: checked on a DNSKEY set that fills a 64 KB
/// message (800 P-256 keys), decoded as from the wire.
#[test]
fn a_zones_keys_are_counted_at_what_they_hold() {
    use danebound_resolver::validator::{Rrset, ZoneKeys, rrset};
    use danebound_resolver::wire::{
        Algorithm, DNSKEY, DNSSECRData, Message, PublicKeyBuf, RData, Record, decode_message,
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let zone = name("huge.example.");
    let mut m = Message::response(1, danebound_resolver::wire::OpCode::Query);
    for i in 0..800u16 {
        let mut bytes = vec![0x5a; 64];
        bytes[..2].copy_from_slice(&i.to_be_bytes());
        m.answers.push(Record::from_rdata(
            zone.clone(),
            3600,
            RData::DNSSEC(DNSSECRData::DNSKEY(DNSKEY::with_flags(
                257,
                PublicKeyBuf::new(bytes, Algorithm::ECDSAP256SHA256),
            ))),
        ));
    }
    let wire = m.to_vec().unwrap();
    assert!(wire.len() > 60_000 && wire.len() < 65_536, "{}", wire.len());
    let decoded = decode_message(&wire).unwrap();
    let before = live();
    let set: Rrset = rrset::group(&decoded.answers).remove(0);
    let keys = Arc::new(ZoneKeys::danger_trusted_without_proof(zone, set));
    let measured = live() - before;
    let counted = keys.bytes();
    eprintln!("a 64 KB DNSKEY set: {counted} B counted, {measured} B measured");
    assert!(
        counted as isize + 4096 >= measured,
        "counted {counted} B, holds {measured} B"
    );
    assert!(
        counted as isize <= 2 * measured,
        "counted {counted} B, holds {measured} B"
    );
}

/// The process's resident set size, from /proc (0 where there is none).
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}
