//! Aggressive use of the DNSSEC-validated cache (RFC 8198) through the
//! engine: the committed signed fixtures served by an in-memory upstream
//! (`ZoneDb`) that counts the questions it is asked, a fixed clock.
//!
//! Each test first resolves a name whose negative answer validates Secure
//! (the spans are learned), then asks a different question that those
//! spans prove, and checks the answer (rcode, Secure, SOA and proof in the
//! authority section) and that the upstream was not asked.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use danebound_resolver::cache::aggressive::{Proven, SpanStore};
use danebound_resolver::clock::FixedClock;
use danebound_resolver::engine::{Resolver, Upstream, UpstreamFuture, UpstreamReply};
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::denial::nsec3::nsec3_hash_base32;
use danebound_resolver::validator::{Outcome, RingCrypto};
use danebound_resolver::wire::{
    DNSClass, DNSSECRData, Name, Query, RData, RecordType, ResponseCode,
};
use danebound_tests::zonedb::{FIXTURE_NOW, ZoneDb};

/// The fixtures as a recursive upstream, noting every question.
struct Counting {
    db: ZoneDb,
    asked: Mutex<Vec<(Name, RecordType)>>,
}

impl Counting {
    /// How many times `name`/`rtype` was asked.
    fn asked(&self, name: &str, rtype: RecordType) -> usize {
        let name = n(name);
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|(q, t)| *q == name && *t == rtype)
            .count()
    }

    fn total(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

impl Upstream for Counting {
    fn query<'a>(&'a self, name: &'a Name, rtype: RecordType, _: DNSClass) -> UpstreamFuture<'a> {
        self.asked.lock().unwrap().push((name.clone(), rtype));
        let message = self.db.answer(name, rtype);
        let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
        Box::pin(async move {
            Ok(UpstreamReply {
                message,
                server,
                tcp: false,
            })
        })
    }
}

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn engine(aggressive: bool) -> (Resolver, Arc<Counting>) {
    let upstream = Arc::new(Counting {
        db: ZoneDb::fixtures(),
        asked: Mutex::new(Vec::new()),
    });
    let resolver = Resolver::new(
        upstream.clone(),
        ZoneDb::fixture_anchors(),
        Arc::new(RingCrypto::default()),
        Arc::new(FixedClock::new(FIXTURE_NOW)),
    )
    .with_aggressive_nsec(aggressive);
    (resolver, upstream)
}

fn resolve(resolver: &Resolver, name: &str, rtype: RecordType) -> Resolution {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(resolver.resolve_query(&Query::query(n(name), rtype), false))
}

fn has(resolution: &Resolution, rtype: RecordType) -> bool {
    resolution
        .authority
        .iter()
        .any(|r| r.record_type() == rtype)
}

#[test]
fn nxdomain_from_a_cached_nsec_span_without_an_upstream_query() {
    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "mx1.example.test.", RecordType::A);
    assert_eq!(first.rcode, ResponseCode::NXDomain);
    assert_eq!(first.outcome, Outcome::Secure);
    assert_eq!(upstream.asked("mx1.example.test.", RecordType::A), 1);

    // mx2 lies in the same span (mail .. nodenial), and *.example.test. in
    // the apex's span: both were in the first answer.
    let before = upstream.total();
    let second = resolve(&resolver, "mx2.example.test.", RecordType::AAAA);
    assert_eq!(second.rcode, ResponseCode::NXDomain);
    assert_eq!(second.outcome, Outcome::Secure, "AD-worthy");
    assert_eq!(upstream.total(), before, "no upstream query at all");
    assert!(has(&second, RecordType::SOA), "the SOA is included");
    assert!(has(&second, RecordType::NSEC));
    assert!(has(&second, RecordType::RRSIG));
    assert!(
        second.ttl > 0 && second.ttl <= 300,
        "bounded by the SOA minimum"
    );
    assert!(second.answers.is_empty());
}

#[test]
fn nodata_and_empty_non_terminals_from_cached_nsec_records() {
    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "www.example.test.", RecordType::TXT);
    assert_eq!(
        (first.rcode, &first.outcome),
        (ResponseCode::NoError, &Outcome::Secure)
    );
    assert!(first.answers.is_empty());
    let before = upstream.total();
    // The NSEC at www lists A, AAAA, RRSIG, NSEC: no MX.
    let second = resolve(&resolver, "www.example.test.", RecordType::MX);
    assert_eq!(second.rcode, ResponseCode::NoError);
    assert!(second.answers.is_empty());
    assert_eq!(second.outcome, Outcome::Secure);
    assert_eq!(upstream.total(), before, "NODATA from the cached NSEC");
    // But A exists there: the span proves nothing, upstream is asked.
    let third = resolve(&resolver, "www.example.test.", RecordType::A);
    assert!(!third.answers.is_empty());
    assert_eq!(upstream.asked("www.example.test.", RecordType::A), 1);

    // `ent` is an empty non-terminal (dsmismatch -> a.b.ent): learned from
    // one question, it answers another type without asking.
    let ent = resolve(&resolver, "ent.example.test.", RecordType::A);
    assert_eq!((ent.rcode, ent.answers.len()), (ResponseCode::NoError, 0));
    let before = upstream.total();
    let b_ent = resolve(&resolver, "b.ent.example.test.", RecordType::TXT);
    assert_eq!(b_ent.rcode, ResponseCode::NoError);
    assert_eq!(b_ent.outcome, Outcome::Secure);
    assert_eq!(upstream.total(), before);
}

#[test]
fn nxdomain_from_cached_nsec3_spans() {
    let db = ZoneDb::fixtures();
    let apex = n("nsec3.example.test.");
    let zone = db.zone(&apex).expect("the nsec3 fixture");
    // The zone's hashes, sorted: a name's span is the last hash below it.
    let mut hashes: Vec<String> = zone
        .records()
        .iter()
        .filter(|r| matches!(r.data, RData::DNSSEC(DNSSECRData::NSEC3(_))))
        .map(|r| String::from_utf8_lossy(r.name.iter().next().unwrap()).to_lowercase())
        .collect();
    hashes.sort();
    hashes.dedup();
    let span = |name: &str| {
        let h = nsec3_hash_base32(&n(name), &[], 0);
        hashes
            .iter()
            .rposition(|x| *x <= h)
            .unwrap_or(hashes.len() - 1)
    };
    // A second name whose hash falls in the same span as the first.
    let first_name = "nx1.nsec3.example.test.";
    let second_name = (2..10_000)
        .map(|i| format!("nx{i}.nsec3.example.test."))
        .find(|c| {
            span(c) == span(first_name) && !hashes.contains(&nsec3_hash_base32(&n(c), &[], 0))
        })
        .expect("a name in the same span");

    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, first_name, RecordType::A);
    assert_eq!(
        (first.rcode, &first.outcome),
        (ResponseCode::NXDomain, &Outcome::Secure)
    );
    let before = upstream.total();
    let second = resolve(&resolver, &second_name, RecordType::A);
    assert_eq!(second.rcode, ResponseCode::NXDomain, "{second_name}");
    assert_eq!(second.outcome, Outcome::Secure);
    assert!(has(&second, RecordType::NSEC3) && has(&second, RecordType::SOA));
    assert_eq!(
        upstream.total(),
        before,
        "no upstream query for {second_name}"
    );
}

/// NODATA from a cached NSEC3 at the name; a type its bitmap lists (the
/// name exists with it) is asked upstream, its ancestors' hashes unneeded.
#[test]
fn nodata_from_a_cached_nsec3_and_a_listed_type_goes_upstream() {
    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "www.nsec3.example.test.", RecordType::TXT);
    assert_eq!(
        (first.rcode, &first.outcome, first.answers.len()),
        (ResponseCode::NoError, &Outcome::Secure, 0)
    );
    let before = upstream.total();
    let mx = resolve(&resolver, "www.nsec3.example.test.", RecordType::MX);
    assert_eq!(
        (mx.rcode, &mx.outcome, mx.answers.len()),
        (ResponseCode::NoError, &Outcome::Secure, 0)
    );
    assert!(has(&mx, RecordType::NSEC3) && has(&mx, RecordType::SOA));
    assert_eq!(upstream.total(), before, "NODATA from the cached NSEC3");
    let a = resolve(&resolver, "www.nsec3.example.test.", RecordType::A);
    assert!(a.answers.iter().any(|r| r.record_type() == RecordType::A));
    assert_eq!(upstream.asked("www.nsec3.example.test.", RecordType::A), 1);
}

/// RFC 5155 §9.2: an Opt-Out span proves only that an insecure delegation
/// might exist. Even fed as if Secure, the store does not use it; and the
/// engine never learns the Insecure NXDOMAIN it comes with.
#[test]
fn an_opt_out_span_is_not_used() {
    let db = ZoneDb::fixtures();
    let name = n("nx1.nsec3-optout.example.test.");
    let message = db.answer(&name, RecordType::A);
    assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
    let store = SpanStore::default();
    store.learn(
        &Resolution::from_message(message, Outcome::Secure),
        FIXTURE_NOW,
    );
    assert!(!store.is_empty(), "spans and SOA held");
    assert_eq!(
        store.lookup(&name, RecordType::AAAA, DNSClass::IN, FIXTURE_NOW),
        None,
        "an Opt-Out closest encloser proof is not used"
    );
    // The same shape from the non-Opt-Out zone is used (the control).
    let name3 = n("nx1.nsec3.example.test.");
    let store = SpanStore::default();
    store.learn(
        &Resolution::from_message(db.answer(&name3, RecordType::A), Outcome::Secure),
        FIXTURE_NOW,
    );
    assert!(matches!(
        store.lookup(&name3, RecordType::AAAA, DNSClass::IN, FIXTURE_NOW),
        Some((Proven::NxDomain, _))
    ));

    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "nx1.nsec3-optout.example.test.", RecordType::A);
    assert!(
        matches!(first.outcome, Outcome::Insecure(_)),
        "{:?}",
        first.outcome
    );
    resolve(
        &resolver,
        "nx1.nsec3-optout.example.test.",
        RecordType::AAAA,
    );
    assert_eq!(
        upstream.asked("nx1.nsec3-optout.example.test.", RecordType::AAAA),
        1,
        "asked upstream"
    );
}

#[test]
fn spans_expire_with_the_soa_minimum_and_insecure_or_disabled_means_upstream() {
    let (resolver, upstream) = engine(false);
    resolve(&resolver, "mx1.example.test.", RecordType::A);
    resolve(&resolver, "mx2.example.test.", RecordType::A);
    assert_eq!(
        upstream.asked("mx2.example.test.", RecordType::A),
        1,
        "off: asked"
    );

    // Insecure zone: NXDOMAIN never learned.
    let (resolver, upstream) = engine(true);
    let r = resolve(&resolver, "nx1.insecure.example.test.", RecordType::A);
    assert!(matches!(r.outcome, Outcome::Insecure(_)));
    resolve(&resolver, "nx2.insecure.example.test.", RecordType::A);
    assert_eq!(
        upstream.asked("nx2.insecure.example.test.", RecordType::A),
        1
    );

    // A learned span is not used after the SOA's MINIMUM (300 s), RFC 9077.
    let store = SpanStore::default();
    let name = n("mx1.example.test.");
    let db = ZoneDb::fixtures();
    store.learn(
        &Resolution::from_message(db.answer(&name, RecordType::A), Outcome::Secure),
        FIXTURE_NOW,
    );
    let mx2 = n("mx2.example.test.");
    assert!(
        store
            .lookup(&mx2, RecordType::A, DNSClass::IN, FIXTURE_NOW + 299)
            .is_some()
    );
    assert!(
        store
            .lookup(&mx2, RecordType::A, DNSClass::IN, FIXTURE_NOW + 300)
            .is_none()
    );
    // Not Secure: nothing learned.
    let store = SpanStore::default();
    store.learn(
        &Resolution::from_message(db.answer(&name, RecordType::A), Outcome::Indeterminate),
        FIXTURE_NOW,
    );
    assert!(store.is_empty());
    // flush_zone's removal.
    let store = SpanStore::default();
    store.learn(
        &Resolution::from_message(db.answer(&name, RecordType::A), Outcome::Secure),
        FIXTURE_NOW,
    );
    assert!(store.remove_at_or_below(&n("example.test.")) > 0);
    assert!(
        store
            .lookup(&mx2, RecordType::A, DNSClass::IN, FIXTURE_NOW)
            .is_none()
    );
}

#[test]
fn the_store_is_bounded_in_bytes() {
    let db = ZoneDb::fixtures();
    let store = SpanStore::new(4096);
    for i in 0..200 {
        let name = n(&format!("nx{i}.nsec3.example.test."));
        store.learn(
            &Resolution::from_message(db.answer(&name, RecordType::A), Outcome::Secure),
            FIXTURE_NOW,
        );
        assert!(store.bytes() <= 4096, "{} bytes after {i}", store.bytes());
    }
}

fn answer_a(resolution: &Resolution) -> Vec<(Name, String)> {
    resolution
        .answers
        .iter()
        .filter(|r| r.record_type() == RecordType::A)
        .map(|r| (r.name.clone(), r.data.to_string()))
        .collect()
}

#[test]
fn positive_answer_synthesised_from_a_cached_nsec_wildcard() {
    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "a.wild.example.test.", RecordType::A);
    assert_eq!(first.rcode, ResponseCode::NoError);
    assert_eq!(first.outcome, Outcome::Secure);
    assert_eq!(upstream.asked("a.wild.example.test.", RecordType::A), 1);

    // RFC 8198 §5.3: b.wild lies in the span *.wild .. wrongsigner, whose
    // closest encloser's wildcard A RRset came with the first answer.
    let before = upstream.total();
    let second = resolve(&resolver, "b.wild.example.test.", RecordType::A);
    assert_eq!(upstream.total(), before, "no upstream query at all");
    assert_eq!(second.rcode, ResponseCode::NoError);
    assert_eq!(second.outcome, Outcome::Secure, "every piece validated");
    assert_eq!(
        answer_a(&second),
        vec![(n("b.wild.example.test."), "192.0.2.12".to_string())]
    );
    assert!(
        second
            .answers
            .iter()
            .any(|r| r.record_type() == RecordType::RRSIG && r.name == n("b.wild.example.test.")),
        "the expanded RRSIG goes with it"
    );
    assert!(has(&second, RecordType::NSEC), "the proof goes with it");
    // The NSEC's TTL (300) is smaller than the A's (3600).
    assert!(second.ttl > 0 && second.ttl <= 300, "TTL {}", second.ttl);

    // Deeper names fall under the same wildcard (no closer name exists).
    let deeper = resolve(&resolver, "x.y.wild.example.test.", RecordType::A);
    assert_eq!(upstream.total(), before);
    assert_eq!(deeper.outcome, Outcome::Secure);
    assert_eq!(answer_a(&deeper).len(), 1);

    // A type of the wildcard that no answer brought (TXT) goes upstream;
    // afterwards it is held too.
    let txt = resolve(&resolver, "c.wild.example.test.", RecordType::TXT);
    assert_eq!(txt.outcome, Outcome::Secure);
    assert_eq!(upstream.asked("c.wild.example.test.", RecordType::TXT), 1);
    let txt2 = resolve(&resolver, "d.wild.example.test.", RecordType::TXT);
    assert_eq!(txt2.outcome, Outcome::Secure);
    assert_eq!(upstream.asked("d.wild.example.test.", RecordType::TXT), 0);

    // A name outside the span is asked as usual.
    let www = resolve(&resolver, "www.example.test.", RecordType::A);
    assert_eq!(www.outcome, Outcome::Secure);
    assert_eq!(upstream.asked("www.example.test.", RecordType::A), 1);
}

#[test]
fn positive_answer_synthesised_from_a_cached_nsec3_wildcard() {
    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "a.wild.nsec3.example.test.", RecordType::A);
    assert_eq!(first.outcome, Outcome::Secure);
    // The NSEC3 that proved it covers the hash of a.wild's next closer
    // name; find another name whose hash it covers too.
    let store: &SpanStore = resolver.aggressive_nsec().unwrap();
    let name = (0..200)
        .map(|i| format!("x{i}.wild.nsec3.example.test."))
        .find(|name| {
            store
                .synthesise(&n(name), RecordType::A, DNSClass::IN, FIXTURE_NOW)
                .is_some()
        })
        .expect("a name in the span");
    let before = upstream.total();
    let second = resolve(&resolver, &name, RecordType::A);
    assert_eq!(second.outcome, Outcome::Secure);
    assert_eq!(
        answer_a(&second),
        vec![(n(&name), "192.0.2.21".to_string())]
    );
    assert!(has(&second, RecordType::NSEC3));
    assert_eq!(upstream.total(), before, "no upstream query at all");
}

#[test]
fn no_wildcard_synthesis_when_disabled_or_for_an_existing_name() {
    let (resolver, upstream) = engine(false);
    resolve(&resolver, "a.wild.example.test.", RecordType::A);
    let second = resolve(&resolver, "b.wild.example.test.", RecordType::A);
    assert_eq!(second.outcome, Outcome::Secure);
    assert_eq!(upstream.asked("b.wild.example.test.", RecordType::A), 1);

    // On: the wildcard is held, but the name www exists: no span covers it.
    let (resolver, upstream) = engine(true);
    resolve(&resolver, "a.wild.example.test.", RecordType::A);
    let store: &SpanStore = resolver.aggressive_nsec().unwrap();
    let now = FIXTURE_NOW;
    assert!(
        store
            .synthesise(&n("b.wild.example.test."), RecordType::A, DNSClass::IN, now)
            .is_some()
    );
    assert!(
        store
            .synthesise(&n("www.example.test."), RecordType::A, DNSClass::IN, now)
            .is_none()
    );
    assert!(
        store
            .synthesise(
                &n("b.wild.example.test."),
                RecordType::DS,
                DNSClass::IN,
                now
            )
            .is_none(),
        "never a DS"
    );
    // Past the NSEC's TTL (300 s) the span is gone: upstream again.
    assert!(
        store
            .synthesise(
                &n("b.wild.example.test."),
                RecordType::A,
                DNSClass::IN,
                now + 301
            )
            .is_none()
    );
    let _ = upstream;
}

#[test]
fn a_wildcard_synthesis_that_does_not_validate_goes_upstream() {
    let (resolver, upstream) = engine(true);
    let first = resolve(&resolver, "a.wild.example.test.", RecordType::A);
    assert_eq!(first.outcome, Outcome::Secure);
    // A corrupted store: the wildcard's A record altered under its RRSIG,
    // fed in as if it had validated.
    let mut tampered = first;
    for r in &mut tampered.answers {
        if r.record_type() == RecordType::A {
            r.data = RData::A(danebound_resolver::wire::rdata::A(std::net::Ipv4Addr::new(
                192, 0, 2, 99,
            )));
        }
    }
    let store: &SpanStore = resolver.aggressive_nsec().unwrap();
    store.learn(&tampered, FIXTURE_NOW);
    let synthesised = store
        .synthesise(
            &n("b.wild.example.test."),
            RecordType::A,
            DNSClass::IN,
            FIXTURE_NOW,
        )
        .expect("the tampered wildcard is held");
    assert!(
        synthesised
            .answers
            .iter()
            .any(|r| r.data.to_string() == "192.0.2.99")
    );
    // Validated again, it fails: the question goes upstream and the
    // genuine answer comes back.
    let second = resolve(&resolver, "b.wild.example.test.", RecordType::A);
    assert_eq!(upstream.asked("b.wild.example.test.", RecordType::A), 1);
    assert_eq!(second.outcome, Outcome::Secure);
    assert_eq!(
        answer_a(&second),
        vec![(n("b.wild.example.test."), "192.0.2.12".to_string())]
    );
}
