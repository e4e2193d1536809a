//! The shared RRset store behind the answer cache (issue 12): an RRset is
//! held once however many answers point at it, is freed with the last of
//! them, and is replaced only by data of the same or a higher rank (RFC 2181
//! §5.4.1) without changing what older answers serve. And the response the
//! cache encodes from the store is the one `answer::build` gives.

mod server_common;

use std::sync::Arc;

use danebound_resolver::answer;
use danebound_resolver::cache::{Cache, CacheConfig};
use danebound_resolver::clock::FixedClock;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::outcome::Outcome;
use danebound_resolver::wire::{Message, RData, Record, RecordType, ResponseCode, rdata};
use server_common::*;

const NOW: u64 = 1_000_000;

fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(rdata::CNAME(name(target))))
}

fn cache(config: CacheConfig) -> (Cache, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(NOW));
    (Cache::new(config, clock.clone()), clock)
}

/// `nK.wild.example. A` synthesized from a wildcard: its own A and RRSIG,
/// and the same NSEC proof (with RRSIG) as every other such answer.
fn wildcard(k: usize, ttl: u32) -> (String, Resolution) {
    let owner = format!("n{k}.wild.example.");
    let resolution = Resolution {
        rcode: ResponseCode::NoError,
        answers: vec![
            a(&owner, ttl, [192, 0, 2, 1]),
            rrsig(&owner, ttl, RecordType::A),
        ],
        authority: vec![
            nsec("*.wild.example.", ttl, "zz.wild.example."),
            rrsig("*.wild.example.", ttl, RecordType::NSEC),
        ],
        additional: vec![],
        outcome: Outcome::Secure,
        ttl,
        failure: None,
    };
    (owner, resolution)
}

/// `alias.example. CNAME www.other.example.`, two A records there, each
/// RRset with its RRSIG: Secure.
fn signed_cname_chain() -> Resolution {
    Resolution {
        rcode: ResponseCode::NoError,
        answers: vec![
            cname("alias.example.", 300, "www.other.example."),
            rrsig("alias.example.", 300, RecordType::CNAME),
            a("www.other.example.", 300, [192, 0, 2, 7]),
            a("www.other.example.", 300, [192, 0, 2, 8]),
            rrsig("www.other.example.", 300, RecordType::A),
        ],
        authority: vec![],
        additional: vec![],
        outcome: Outcome::Secure,
        ttl: 300,
        failure: None,
    }
}

fn answer_of(cache: &Cache, qname: &str, qtype: RecordType, f: Flags) -> Message {
    let req = request(qname, qtype, f);
    let entry = cache.lookup(&req).expect("cached");
    let mut out = Vec::new();
    entry.write_response(&req, cache.now(), &mut out);
    parse(&out)
}

#[test]
fn two_answers_share_one_proof_and_the_bytes_count_it_once() {
    let (cache, _) = cache(CacheConfig::default());
    let empty = cache.bytes();
    let (q1, r1) = wildcard(1, 300);
    cache.insert(
        &request(&q1, RecordType::A, Flags::dnssec()).cache_key(false),
        r1,
    );
    let one = cache.bytes() - empty;
    // Its A RRset and the NSEC proof.
    assert_eq!(cache.rrsets(), 2);
    let (q2, r2) = wildcard(2, 300);
    cache.insert(
        &request(&q2, RecordType::A, Flags::dnssec()).cache_key(false),
        r2,
    );
    let two = cache.bytes() - empty - one;
    // One more A RRset; the proof is shared.
    assert_eq!(cache.rrsets(), 3);
    assert!(
        two < one,
        "the second answer costs {two} B, the first {one} B"
    );
    for q in [&q1, &q2] {
        let m = answer_of(&cache, q, RecordType::A, Flags::dnssec());
        assert_eq!(m.answers.len(), 2);
        assert_eq!(m.authorities.len(), 2, "{m:?}");
        assert!(m.metadata.authentic_data);
        assert_eq!(m.answers[0].name, name(q));
        assert_eq!(m.authorities[0].name, name("*.wild.example."));
    }
    // 1,000 more such answers add about one A RRset each, not a proof each.
    let before = cache.bytes();
    for k in 3..1_003 {
        let (q, r) = wildcard(k, 300);
        cache.insert(
            &request(&q, RecordType::A, Flags::dnssec()).cache_key(false),
            r,
        );
    }
    assert_eq!(cache.rrsets(), 1_003);
    let each = (cache.bytes() - before) / 1_000;
    assert!(each < one, "{each} B per answer, {one} B for the first");
    eprintln!("first answer {one} B, second {two} B, then {each} B each");
}

#[test]
fn an_rrset_is_freed_with_the_last_answer_pointing_at_it() {
    let config = CacheConfig {
        max_entries: 4,
        shards: 1,
        ..CacheConfig::default()
    };
    let (cache, _) = cache(config);
    let empty = cache.bytes();
    for k in 0..4 {
        let (q, r) = wildcard(k, 300);
        cache.insert(
            &request(&q, RecordType::A, Flags::dnssec()).cache_key(false),
            r,
        );
    }
    assert_eq!((cache.len(), cache.rrsets()), (4, 5));
    // Eviction: each new answer pushes out the oldest, whose A RRset goes
    // with it; the proof stays while any answer points at it.
    for k in 4..10 {
        let (q, r) = wildcard(k, 300);
        cache.insert(
            &request(&q, RecordType::A, Flags::dnssec()).cache_key(false),
            r,
        );
        assert_eq!((cache.len(), cache.rrsets()), (4, 5), "after n{k}");
    }
    // Flush by name: that answer and its own A RRset go.
    assert_eq!(cache.flush_name(&name("n9.wild.example.")), 1);
    assert_eq!((cache.len(), cache.rrsets()), (3, 4));
    // The last answers go: the proof goes too, and the bytes are back
    // to the empty cache's (give or take the slab and map, kept).
    for k in 6..9 {
        cache.flush_name(&name(&format!("n{k}.wild.example.")));
    }
    assert_eq!((cache.len(), cache.rrsets()), (0, 0));
    assert!(
        cache.bytes() - empty < 2048,
        "{} B left",
        cache.bytes() - empty
    );
    // `clear` (reload) empties the store as well.
    let (q, r) = wildcard(1, 300);
    cache.insert(
        &request(&q, RecordType::A, Flags::dnssec()).cache_key(false),
        r,
    );
    cache.clear();
    assert_eq!((cache.len(), cache.rrsets()), (0, 0));
}

fn answer_ip(m: &Message) -> Vec<Record> {
    m.answers
        .iter()
        .filter(|r| r.record_type() == RecordType::A)
        .cloned()
        .collect()
}

#[test]
fn replacement_follows_rank_and_never_changes_an_older_answer() {
    let (cache, clock) = cache(CacheConfig::default());
    let secure = |ip: [u8; 4], outcome: Outcome| Resolution {
        rcode: ResponseCode::NoError,
        answers: vec![
            a("www.example.", 300, ip),
            rrsig("www.example.", 300, RecordType::A),
        ],
        authority: vec![],
        additional: vec![],
        outcome,
        ttl: 300,
        failure: None,
    };
    let q = "www.example.";
    let key = |cd: bool| request(q, RecordType::A, Flags::dnssec()).cache_key(cd);
    let old = cache
        .insert(&key(false), secure([192, 0, 2, 1], Outcome::Secure))
        .unwrap();
    assert_eq!(cache.rrsets(), 1);
    // An unvalidated (CD=1) answer with other data: it keeps its own copy,
    // and does not take the validated one's place (RFC 2181 §5.4.1).
    let cd = Flags {
        cd: true,
        ..Flags::dnssec()
    };
    let unvalidated = cache
        .insert(&key(true), secure([192, 0, 2, 66], Outcome::Indeterminate))
        .unwrap();
    assert_eq!(cache.rrsets(), 1);
    let m = answer_of(&cache, q, RecordType::A, cd);
    assert_eq!(answer_ip(&m), vec![a(q, 300, [192, 0, 2, 66])]);
    assert!(!m.metadata.authentic_data);
    let m = answer_of(&cache, q, RecordType::A, Flags::dnssec());
    assert_eq!(answer_ip(&m), vec![a(q, 300, [192, 0, 2, 1])]);
    assert!(m.metadata.authentic_data);
    // A newer validated answer with other data (a re-fetch after a change)
    // takes the store's place; the entry it replaces, still being answered
    // from by a worker, serves its own data, whole.
    clock.advance(10);
    let new = cache
        .insert(&key(false), secure([192, 0, 2, 2], Outcome::Secure))
        .unwrap();
    let mut out = Vec::new();
    let req = request(q, RecordType::A, Flags::dnssec());
    old.write_response(&req, cache.now(), &mut out);
    let m = parse(&out);
    assert_eq!(answer_ip(&m), vec![a(q, 290, [192, 0, 2, 1])]);
    new.write_response(&req, cache.now(), &mut out);
    assert_eq!(answer_ip(&parse(&out)), vec![a(q, 300, [192, 0, 2, 2])]);
    // The same data again, unvalidated: it points at the validated copy
    // (same records), and is still served without AD.
    let same = cache
        .insert(&key(true), secure([192, 0, 2, 2], Outcome::Indeterminate))
        .unwrap();
    assert_eq!(cache.rrsets(), 1);
    let mut cd_req = request(q, RecordType::A, cd);
    cd_req.cd = true;
    same.write_response(&cd_req, cache.now(), &mut out);
    let m = parse(&out);
    assert!(!m.metadata.authentic_data);
    assert_eq!(answer_ip(&m), vec![a(q, 300, [192, 0, 2, 2])]);
    drop((old, unvalidated));
    // A bogus answer is never shared.
    let bogus_entry = cache
        .insert(&key(true), secure([192, 0, 2, 99], bogus()))
        .unwrap();
    assert_eq!(cache.rrsets(), 1);
    bogus_entry.write_response(
        &request(q, RecordType::A, Flags::dnssec()),
        cache.now(),
        &mut out,
    );
    assert_eq!(parse(&out).metadata.response_code, ResponseCode::ServFail);
}

#[test]
fn a_shared_rrset_counts_down_from_when_it_was_stored() {
    let (cache, clock) = cache(CacheConfig::default());
    let (q1, r1) = wildcard(1, 300);
    cache.insert(
        &request(&q1, RecordType::A, Flags::dnssec()).cache_key(false),
        r1,
    );
    clock.advance(100);
    // The proof as the upstream now gives it (200 s left): shared.
    let (q2, mut r2) = wildcard(2, 300);
    for r in &mut r2.authority {
        r.ttl = 200;
    }
    r2.ttl = 200;
    let entry = cache
        .insert(
            &request(&q2, RecordType::A, Flags::dnssec()).cache_key(false),
            r2,
        )
        .unwrap();
    assert_eq!(cache.rrsets(), 3);
    assert!(entry.ttl() <= 200);
    clock.advance(50);
    let m = answer_of(&cache, &q2, RecordType::A, Flags::dnssec());
    assert!(m.authorities.iter().all(|r| r.ttl == 150), "{m:?}");
    assert!(m.answers.iter().all(|r| r.ttl == 150), "{m:?}");
}

/// The message `answer::build` gives and the one the cache writes agree for
/// every kind of request, in every field a client sees (record order within
/// a section and the case of owner names aside: an owner under the
/// question's name points at it, so it reads as the client spelled it).
#[test]
fn answer_equivalence() {
    let cname_chain = signed_cname_chain();
    let (wq, wild) = wildcard(5, 300);
    let cases: Vec<(&str, RecordType, Resolution)> = vec![
        (
            "www.example.",
            RecordType::A,
            positive(Outcome::Secure, 300),
        ),
        (
            "WwW.ExAmple.",
            RecordType::A,
            positive(Outcome::Secure, 300),
        ),
        (
            "www.example.",
            RecordType::A,
            positive(insecure_iterations(), 300),
        ),
        (
            "www.example.",
            RecordType::A,
            positive(Outcome::Indeterminate, 300),
        ),
        ("www.example.", RecordType::A, positive(bogus(), 300)),
        (
            "nx.example.",
            RecordType::A,
            nxdomain(Outcome::Secure, 300, 60),
        ),
        ("nx.example.", RecordType::A, nxdomain(bogus(), 300, 60)),
        (
            "nx.example.",
            RecordType::NSEC,
            nxdomain(Outcome::Secure, 300, 60),
        ),
        ("alias.example.", RecordType::A, cname_chain),
        (wq.as_str(), RecordType::A, wild),
    ];
    let flags = [
        Flags::plain(),
        Flags::dnssec(),
        Flags {
            edns: Some((1232, false)),
            ..Flags::plain()
        },
        Flags {
            ad: true,
            ..Flags::plain()
        },
        Flags {
            cd: true,
            ..Flags::dnssec()
        },
        Flags {
            cd: true,
            ..Flags::plain()
        },
        Flags {
            rd: false,
            ..Flags::dnssec()
        },
    ];
    for (qname, qtype, resolution) in &cases {
        for f in flags {
            let (cache, clock) = cache(CacheConfig::default());
            let req = request(qname, *qtype, f);
            let Some(entry) = cache.insert(&req.cache_key(req.cd), resolution.clone()) else {
                continue;
            };
            clock.advance(7);
            let mut out = Vec::new();
            entry.write_response(&req, cache.now(), &mut out);
            let got = parse(&out);
            let mut aged = resolution.clone();
            let ttl = cache.ttl_for(resolution);
            for r in aged
                .answers
                .iter_mut()
                .chain(&mut aged.authority)
                .chain(&mut aged.additional)
            {
                r.ttl = r.ttl.min(ttl) - 7;
            }
            let want = parse(&answer::encode(&answer::build(&req, &aged)));
            let what = format!("{qname} {qtype} {f:?}");
            assert_eq!(got.metadata, want.metadata, "{what}");
            assert_eq!(got.queries, want.queries, "{what}");
            for (g, w) in [
                (&got.answers, &want.answers),
                (&got.authorities, &want.authorities),
                (&got.additionals, &want.additionals),
            ] {
                let mut g: Vec<String> = g.iter().map(|r| r.to_string().to_lowercase()).collect();
                let mut w: Vec<String> = w.iter().map(|r| r.to_string().to_lowercase()).collect();
                g.sort();
                w.sort();
                assert_eq!(g, w, "{what}");
            }
            assert_eq!(got.edns, want.edns, "{what}");
            assert_eq!(answer::ede_of(&got), answer::ede_of(&want), "{what}");
        }
    }
}

/// RFC 1035 §4.1.4: an owner the question's name does not end with is
/// written in full once; the records after it with the same owner (the
/// rest of its RRset, its RRSIGs) point back to it. Here the two A records
/// and the RRSIG at the end of a CNAME chain: `www.other` appears twice in
/// the response, in the CNAME's RDATA (written as stored) and once as an
/// owner, where it appeared four times.
#[test]
fn an_owner_is_written_in_full_once_per_response() {
    let chain = signed_cname_chain();
    let (cache, _) = cache(CacheConfig::default());
    let req = request("alias.example.", RecordType::A, Flags::dnssec());
    let entry = cache.insert(&req.cache_key(req.cd), chain).expect("cached");
    let mut out = Vec::new();
    entry.write_response(&req, cache.now(), &mut out);
    let owner = b"\x03www\x05other";
    let full = out.windows(owner.len()).filter(|w| w == owner).count();
    assert_eq!(full, 2, "{out:?}");
    let got = parse(&out);
    let owners: Vec<String> = got.answers.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(
        owners,
        [
            "alias.example.",
            "alias.example.",
            "www.other.example.",
            "www.other.example.",
            "www.other.example."
        ]
    );
}

/// RFC 1035 §4.1.4 in RDATA: the names of RFC 1035's own types (here a
/// SOA's MNAME and RNAME, and a CNAME's target) point into the question
/// where they end as it does, as unbound writes them; RRSIG's signer and
/// NSEC's next name stay whole (RFC 4034 §3.1.7, §4.1.1). The responses
/// decode to the same records (`answer_equivalence`).
#[test]
fn names_in_rfc1035_rdata_are_compressed_and_dnssec_ones_are_not() {
    let count = |out: &[u8], bytes: &[u8]| out.windows(bytes.len()).filter(|w| *w == bytes).count();
    let (cache, _) = cache(CacheConfig::default());
    let req = request("nx.example.", RecordType::A, Flags::dnssec());
    let entry = cache
        .insert(&req.cache_key(req.cd), nxdomain(Outcome::Secure, 300, 60))
        .expect("cached");
    let mut out = Vec::new();
    entry.write_response(&req, cache.now(), &mut out);
    // "example." whole: the question, the two RRSIG signers and the NSEC's
    // next name (zzz.example.), not the SOA's two names.
    assert_eq!(count(&out, b"\x07example\x00"), 4, "{out:?}");
    assert_eq!(count(&out, b"\x02ns\xC0"), 1, "MNAME: ns + pointer");
    assert_eq!(count(&out, b"\x01h\xC0"), 1, "RNAME: h + pointer");

    let chain = Resolution {
        rcode: ResponseCode::NoError,
        answers: vec![
            cname("alias.example.", 300, "www.example."),
            a("www.example.", 300, [192, 0, 2, 7]),
        ],
        authority: vec![],
        additional: vec![],
        outcome: insecure_iterations(),
        ttl: 300,
        failure: None,
    };
    let req = request("alias.example.", RecordType::A, Flags::plain());
    let entry = cache.insert(&req.cache_key(req.cd), chain).expect("cached");
    entry.write_response(&req, cache.now(), &mut out);
    assert_eq!(count(&out, b"\x07example\x00"), 1, "only the question's");
    assert_eq!(count(&out, b"\x03www\x07example"), 0, "never whole");
    assert_eq!(
        count(&out, b"\x03www\xC0"),
        2,
        "the CNAME's target and the A's owner"
    );
    let got = parse(&out);
    assert_eq!(got.answers.len(), 2);
    assert_eq!(got.answers[1].name.to_string(), "www.example.");
}
