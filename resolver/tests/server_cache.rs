//! The answer cache: TTL bounds and countdown, RFC 2308 negative entries, the
//! bogus hold, LRU eviction, and the stored validation status.

mod server_common;

use std::sync::Arc;

use danebound_resolver::cache::{Cache, CacheConfig, CacheKey};
use danebound_resolver::clock::{Clock, FixedClock};
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::outcome::Outcome;
use danebound_resolver::wire::{RecordType, ResponseCode};
use server_common::*;

const T0: u64 = 1_000_000;

fn cache(config: CacheConfig) -> (Cache, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(T0));
    (Cache::new(config, clock.clone()), clock)
}

fn key(qname: &str, cd: bool) -> CacheKey {
    CacheKey::new(&name(qname), RecordType::A, dns_class_in(), cd)
}

#[test]
fn ttls_count_down_and_entries_expire() {
    let (c, clock) = cache(CacheConfig::default());
    let req = request("www.example.", RecordType::A, Flags::dnssec());
    c.insert(&req.cache_key(false), positive(Outcome::Secure, 300))
        .unwrap();
    clock.advance(100);
    let entry = c.lookup(&req).expect("live at 100 s");
    let mut out = Vec::new();
    entry.write_udp(&req, clock.unix_now(), &mut out);
    let m = parse(&out);
    assert!(m.answers.iter().all(|r| r.ttl == 200), "{:?}", m.answers);
    assert_eq!(m.metadata.id, 0x1234);
    clock.advance(200);
    assert!(c.lookup(&req).is_none(), "expired at 300 s");
    assert_eq!(c.len(), 0, "expired entry removed");
}

#[test]
fn lookups_ignore_case_but_answers_echo_it() {
    let (c, clock) = cache(CacheConfig::default());
    c.insert(&key("WWW.example.", false), positive(Outcome::Secure, 300))
        .unwrap();
    let req = request("wWw.EXAMPLE.", RecordType::A, Flags::dnssec());
    let entry = c.lookup(&req).expect("case-insensitive key");
    let mut out = Vec::new();
    entry.write_udp(&req, clock.unix_now(), &mut out);
    assert_eq!(parse(&out).queries[0].name().to_ascii(), "wWw.EXAMPLE.");
    // Different type, class or name: no hit.
    assert!(
        c.get(&CacheKey::new(
            &name("www.example."),
            RecordType::AAAA,
            dns_class_in(),
            false
        ))
        .is_none()
    );
    assert!(c.get(&key("ww.example.", false)).is_none());
}

#[test]
fn positive_ttls_are_bounded() {
    let config = CacheConfig {
        max_ttl: 3600,
        min_ttl: 10,
        ..CacheConfig::default()
    };
    let (c, _) = cache(config);
    let e = c
        .insert(
            &key("a.example.", false),
            positive(Outcome::Secure, 7 * 86_400),
        )
        .unwrap();
    assert_eq!(e.ttl(), 3600);
    assert!(
        e.resolution().answers.iter().all(|r| r.ttl == 3600),
        "record TTLs cut too"
    );
    let e = c
        .insert(&key("b.example.", false), positive(Outcome::Secure, 2))
        .unwrap();
    assert_eq!(e.ttl(), 10);
    // The default maximum is one day.
    let (c, _) = cache(CacheConfig::default());
    let e = c
        .insert(
            &key("a.example.", false),
            positive(Outcome::Secure, 7 * 86_400),
        )
        .unwrap();
    assert_eq!(e.ttl(), 86_400);
}

#[test]
fn negative_ttl_comes_from_the_soa_rfc2308() {
    let (c, _) = cache(CacheConfig::default());
    // SOA TTL 900, MINIMUM 60: the smaller wins (RFC 2308 §5).
    let mut res = nxdomain(Outcome::Secure, 900, 60);
    res.ttl = 900; // even if the engine said more
    let e = c.insert(&key("nope.example.", false), res).unwrap();
    assert_eq!(e.ttl(), 60);
    let e = c
        .insert(
            &key("nope2.example.", false),
            nxdomain(Outcome::Secure, 30, 600),
        )
        .unwrap();
    assert_eq!(e.ttl(), 30);
    // NODATA too.
    let mut nodata = nxdomain(Outcome::Secure, 120, 120);
    nodata.rcode = ResponseCode::NoError;
    assert_eq!(
        c.insert(&key("nodata.example.", false), nodata)
            .unwrap()
            .ttl(),
        120
    );
    // Capped by max_negative_ttl.
    let (c, _) = cache(CacheConfig {
        max_negative_ttl: 100,
        ..CacheConfig::default()
    });
    assert_eq!(
        c.insert(
            &key("x.example.", false),
            nxdomain(Outcome::Secure, 9000, 9000)
        )
        .unwrap()
        .ttl(),
        100
    );
    // Without SOA: not cached (RFC 2308 §5).
    let mut no_soa = nxdomain(Outcome::Secure, 300, 300);
    no_soa.authority.clear();
    assert!(c.insert(&key("y.example.", false), no_soa).is_none());
    assert!(c.get(&key("y.example.", false)).is_none());
}

#[test]
fn servfail_is_not_cached() {
    let (c, _) = cache(CacheConfig::default());
    assert!(
        c.insert(
            &key("a.example.", false),
            Resolution::servfail(Outcome::Indeterminate)
        )
        .is_none()
    );
    assert!(c.is_empty());
}

#[test]
fn bogus_results_are_held_for_bogus_ttl_only() {
    let (c, clock) = cache(CacheConfig::default());
    let e = c
        .insert(&key("bad.example.", false), positive(bogus(), 86_400))
        .unwrap();
    assert_eq!(e.ttl(), 60, "default bogus hold is 60 s");
    assert!(e.outcome().is_bogus());
    clock.advance(59);
    assert!(
        c.get(&key("bad.example.", false))
            .unwrap()
            .outcome()
            .is_bogus()
    );
    clock.advance(1);
    assert!(c.get(&key("bad.example.", false)).is_none());
    let (c, _) = cache(CacheConfig {
        bogus_ttl: 5,
        ..CacheConfig::default()
    });
    assert_eq!(
        c.insert(&key("bad.example.", false), positive(bogus(), 300))
            .unwrap()
            .ttl(),
        5
    );
}

#[test]
fn an_entry_never_becomes_secure_without_validation() {
    let (c, clock) = cache(CacheConfig::default());
    // An unvalidated (CD=1) result is stored under the CD=1 key...
    let cd_req = request(
        "www.example.",
        RecordType::A,
        Flags {
            cd: true,
            ..Flags::dnssec()
        },
    );
    c.insert(
        &cd_req.cache_key(true),
        positive(Outcome::Indeterminate, 300),
    )
    .unwrap();
    // ...and a CD=0 client never sees it.
    let req = request("www.example.", RecordType::A, Flags::dnssec());
    assert!(
        c.lookup(&req).is_none(),
        "CD=1 entry served to a CD=0 client"
    );
    assert!(c.lookup(&cd_req).is_some());
    // Cached insecure/indeterminate data never gets AD, whoever asks.
    c.insert(&req.cache_key(false), positive(Outcome::Indeterminate, 300))
        .unwrap();
    let mut out = Vec::new();
    for f in [
        Flags::dnssec(),
        Flags {
            ad: true,
            ..Flags::plain()
        },
    ] {
        let r = request("www.example.", RecordType::A, f);
        c.lookup(&r)
            .unwrap()
            .write_udp(&r, clock.unix_now(), &mut out);
        assert!(!parse(&out).metadata.authentic_data);
    }
    // A held bogus entry stays bogus: CD=0 gets SERVFAIL, CD=1 the data.
    c.insert(&req.cache_key(false), positive(bogus(), 300))
        .unwrap();
    c.lookup(&req)
        .unwrap()
        .write_udp(&req, clock.unix_now(), &mut out);
    assert_eq!(parse(&out).metadata.response_code, ResponseCode::ServFail);
    // A bogus CD=0 entry holds no data to give a CD=1 client (the
    // validator drops bogus data): CD=1 resolves afresh (RFC 4035 §3.2.2).
    c.clear();
    c.insert(&req.cache_key(false), positive(bogus(), 300))
        .unwrap();
    assert!(
        c.lookup(&cd_req).is_none(),
        "CD=1 must not get a bogus entry"
    );
    // A CD=1 question may be answered from a validated CD=0 entry, never
    // with AD.
    c.clear();
    c.insert(&req.cache_key(false), positive(Outcome::Secure, 300))
        .unwrap();
    let e = c
        .lookup(&cd_req)
        .expect("CD=1 falls back to the CD=0 entry");
    e.write_udp(&cd_req, clock.unix_now(), &mut out);
    let m = parse(&out);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(!m.metadata.authentic_data);
}

#[test]
fn least_recently_used_entries_are_evicted() {
    let config = CacheConfig {
        max_entries: 2,
        shards: 1,
        ..CacheConfig::default()
    };
    let (c, _) = cache(config);
    c.insert(&key("a.example.", false), positive(Outcome::Secure, 300))
        .unwrap();
    c.insert(&key("b.example.", false), positive(Outcome::Secure, 300))
        .unwrap();
    assert!(c.get(&key("a.example.", false)).is_some()); // a is now newer than b
    c.insert(&key("c.example.", false), positive(Outcome::Secure, 300))
        .unwrap();
    assert_eq!(c.len(), 2);
    assert!(
        c.get(&key("b.example.", false)).is_none(),
        "b was least recently used"
    );
    assert!(c.get(&key("a.example.", false)).is_some());
    assert!(c.get(&key("c.example.", false)).is_some());
}

#[test]
fn memory_is_bounded_by_bytes() {
    let config = CacheConfig {
        max_bytes: 20_000,
        shards: 1,
        ..CacheConfig::default()
    };
    let (c, _) = cache(config);
    for i in 0..1000 {
        c.insert(
            &key(&format!("host{i}.example."), false),
            positive(Outcome::Secure, 300),
        )
        .unwrap();
    }
    assert!(c.bytes() <= 20_000, "{} bytes", c.bytes());
    assert!(c.len() > 1 && c.len() < 1000, "{} entries", c.len());
    assert!(
        c.get(&key("host999.example.", false)).is_some(),
        "newest kept"
    );
}

#[test]
fn many_shards_hold_many_entries() {
    let (c, _) = cache(CacheConfig {
        max_entries: 10_000,
        ..CacheConfig::default()
    });
    for i in 0..5000 {
        c.insert(
            &key(&format!("h{i}.example."), false),
            positive(Outcome::Secure, 300),
        )
        .unwrap();
    }
    assert_eq!(c.len(), 5000);
    assert!((0..5000).all(|i| c.get(&key(&format!("h{i}.example."), false)).is_some()));
}

/// Records kept encoded must survive encoding: one that does not (here a
/// TXT string longer than 255 bytes) still gets an entry to answer the
/// waiting clients from, but the entry is not cached.
#[test]
fn records_that_do_not_survive_encoding_are_answered_but_not_cached() {
    let (c, _) = cache(CacheConfig::default());
    let mut resolution = positive(Outcome::Secure, 300);
    resolution
        .answers
        .push(txt("www.example.", 300, &"x".repeat(300)));
    let entry = c
        .insert(&key("www.example.", false), resolution)
        .expect("an entry to answer from");
    assert_eq!(entry.resolution().answers.len(), 3);
    assert_eq!(c.len(), 0, "not cached");
    assert!(c.get(&key("www.example.", false)).is_none());
}
