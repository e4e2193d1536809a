//! `cache_hit_answer`: what a cached answer costs the server, from the
//! client's bytes to the response bytes (parse, lookup, copy and patch),
//! compared with building the same response from the resolution each time.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use danebound_resolver::answer;
use danebound_resolver::cache::{Cache, CacheConfig};
use danebound_resolver::clock::FixedClock;
use danebound_resolver::request::{Parsed, Request};
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::outcome::Outcome;
use danebound_resolver::wire::rdata::A;
use danebound_resolver::wire::{
    Edns, Message, Name, Query, RData, Record, RecordType, ResponseCode,
};

fn query_bytes(qname: &str) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(
        Name::from_ascii(qname).unwrap(),
        RecordType::A,
    ));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(true);
    m.set_edns(e);
    m.to_vec().unwrap()
}

fn parse(bytes: &[u8]) -> Request {
    match Request::parse(bytes) {
        Parsed::Query(r) => r,
        other => panic!("{other:?}"),
    }
}

fn resolution(qname: &str) -> Resolution {
    let owner = Name::from_ascii(qname).unwrap();
    Resolution {
        rcode: ResponseCode::NoError,
        answers: (1..=2)
            .map(|i| {
                Record::from_rdata(
                    owner.clone(),
                    3600,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, i))),
                )
            })
            .collect(),
        authority: vec![],
        additional: vec![],
        outcome: Outcome::Secure,
        ttl: 3600,
        failure: None,
    }
}

fn cache_hit_answer(c: &mut Criterion) {
    let clock = Arc::new(FixedClock::new(1_000_000));
    let cache = Cache::new(CacheConfig::default(), clock);
    // A cache with some company, so the map is not trivially small.
    for i in 0..10_000 {
        let q = format!("host{i}.example.com.");
        cache.insert(&parse(&query_bytes(&q)).cache_key(false), resolution(&q));
    }
    let bytes = query_bytes("Host42.Example.com.");
    let mut out = Vec::with_capacity(1232);
    let mut group = c.benchmark_group("cache_hit_answer");
    group.bench_function("parse_lookup_write", |b| {
        b.iter(|| {
            let Parsed::Query(req) = Request::parse(black_box(&bytes)) else {
                unreachable!()
            };
            let entry = cache.lookup(&req).unwrap();
            entry.write_udp(&req, 1_000_010, &mut out);
            black_box(out.len())
        })
    });
    // The same with the counters the server keeps on a hit (`stats`):
    // query, hit, rcode and validation result, and one hit in eight timed.
    let stats = danebound_resolver::stats::global();
    group.bench_function("parse_lookup_write_counted", |b| {
        b.iter(|| {
            let start = stats.sample().then(std::time::Instant::now);
            let Parsed::Query(req) = Request::parse(black_box(&bytes)) else {
                unreachable!()
            };
            stats.query(false);
            let entry = cache.lookup(&req).unwrap();
            entry.write_udp(&req, 1_000_010, &mut out);
            stats.cache_hit(start.map(|s| s.elapsed()));
            stats.resolved(req.cd, entry.rcode(), entry.outcome());
            black_box(out.len())
        })
    });
    group.bench_function("clock_read", |b| {
        b.iter(|| black_box(std::time::Instant::now()))
    });
    let entry = cache.lookup(&parse(&bytes)).unwrap();
    group.bench_function("counters_only", |b| {
        b.iter(|| {
            stats.query(false);
            stats.cache_hit(black_box(None));
            stats.resolved(false, entry.rcode(), entry.outcome());
        })
    });
    let req = parse(&bytes);
    group.bench_function("lookup_only", |b| {
        b.iter(|| black_box(cache.lookup(black_box(&req)).is_some()))
    });
    let res = resolution("host42.example.com.");
    group.bench_function("uncached_build_encode", |b| {
        b.iter(|| black_box(answer::encode_udp(&req, &answer::build(black_box(&req), &res)).len()))
    });
    group.finish();
}

criterion_group!(benches, cache_hit_answer);
criterion_main!(benches);
