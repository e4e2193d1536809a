//! Whole-session validation of canned answers from the signed fixtures in
//! `tests/data/zones` (performance.md, `validate_chain/root→test→example.test`):
//! the root anchor, the root (RSA-2048), `test.` and `example.test.` (ECDSA
//! P-256) and the answer, driven through [`Session`] exactly as the engine
//! drives it. Every response and every DS/DNSKEY answer is built before
//! timing, so the figures are validation only (no zone lookups, no I/O).
//!
//! - `cold`: a new session with no key cache: the DNSKEY sets of every zone
//!   are authenticated from the anchor down, then the answer is verified.
//! - `warm`: the key lookups a cold session learned are seeded
//!   ([`Session::seed`], as the engine's key store does), so only the
//!   answer's own RRSIGs (and denial proofs) are verified.
//!
//! Cases: a positive answer three levels down (`www.example.test. A`), a
//! NSEC NXDOMAIN in the same zone, and a NSEC3 NXDOMAIN four levels down
//! (`nsec3.example.test.`, ECDSA P-256, closest-encloser proof).

#![allow(missing_docs, unreachable_pub)]

#[path = "../../tests/src/zonedb.rs"]
#[allow(dead_code)]
mod zonedb;

use std::collections::HashMap;
use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use danebound_resolver::validator::{
    Anchors, FetchRequest, Fetched, LearnedKeys, Limits, RingCrypto, Session, Step, Validated,
};
use danebound_resolver::wire::{Message, Name, RecordType};
use zonedb::{FIXTURE_NOW, ZoneDb};

/// A canned question: the response and every fetch answer it needs.
struct Canned {
    label: &'static str,
    qname: Name,
    qtype: RecordType,
    response: Message,
    fetches: HashMap<FetchRequest, Message>,
    learned: LearnedKeys,
}

fn validate(
    anchors: &Anchors,
    crypto: &RingCrypto,
    canned: &Canned,
    seed: &LearnedKeys,
) -> Validated {
    let mut session = Session::new(
        &canned.qname,
        canned.qtype,
        &canned.response,
        anchors,
        FIXTURE_NOW,
        Limits::default(),
        crypto,
    );
    session.seed(seed);
    loop {
        match session.step() {
            Step::Fetch(request) => {
                assert!(seed.is_empty(), "a warm session fetched {request:?}");
                let answer = canned.fetches[&request].clone();
                session.supply(&request, Fetched::Response(answer));
            }
            Step::Done(validated) => return validated,
        }
    }
}

fn canned(db: &ZoneDb, anchors: &Anchors, label: &'static str, q: &str, t: RecordType) -> Canned {
    let qname = Name::from_str(q).unwrap();
    let response = db.answer(&qname, t);
    let crypto = RingCrypto::new();
    let mut session = Session::new(
        &qname,
        t,
        &response,
        anchors,
        FIXTURE_NOW,
        Limits::default(),
        &crypto,
    );
    let mut fetches = HashMap::new();
    loop {
        match session.step() {
            Step::Fetch(request) => {
                let answer = db.answer(&request.name, request.rtype);
                session.supply(&request, Fetched::Response(answer.clone()));
                fetches.insert(request, answer);
            }
            Step::Done(validated) => {
                assert!(
                    validated.outcome.is_secure(),
                    "{label}: {:?}",
                    validated.outcome
                );
                break;
            }
        }
    }
    Canned {
        label,
        qname,
        qtype: t,
        response,
        learned: session.learned_keys(),
        fetches,
    }
}

fn bench_chain(c: &mut Criterion) {
    let db = ZoneDb::fixtures();
    let anchors = ZoneDb::fixture_anchors();
    let crypto = RingCrypto::new();
    let cases = [
        canned(
            &db,
            &anchors,
            "www.example.test_A",
            "www.example.test.",
            RecordType::A,
        ),
        canned(
            &db,
            &anchors,
            "nx.example.test_NXDOMAIN",
            "nx.example.test.",
            RecordType::A,
        ),
        canned(
            &db,
            &anchors,
            "nx.nsec3.example.test_NXDOMAIN",
            "nx.nsec3.example.test.",
            RecordType::A,
        ),
    ];
    let mut group = c.benchmark_group("validate_chain");
    for case in &cases {
        // The warm path must really skip the chain: `validate` refuses to
        // fetch when seeded.
        let warm = validate(&anchors, &crypto, case, &case.learned);
        assert!(warm.outcome.is_secure());
        group.bench_function(format!("cold/{}", case.label), |b| {
            b.iter(|| black_box(validate(&anchors, &crypto, case, &LearnedKeys::default())))
        });
        group.bench_function(format!("warm/{}", case.label), |b| {
            b.iter(|| black_box(validate(&anchors, &crypto, case, &case.learned)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_chain);
criterion_main!(benches);
