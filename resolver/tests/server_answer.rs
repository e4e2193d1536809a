//! The answer-building rules (RFC 6840 §5.7-5.8, RFC 4035 §3.2, RFC 8914),
//! checked on the uncached path and on the cache's pre-encoded path alike.

mod server_common;

use std::sync::Arc;
use std::time::Duration;

use danebound_resolver::answer;
use danebound_resolver::cache::{Cache, CacheConfig};
use danebound_resolver::clock::FixedClock;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::outcome::{Outcome, ede_code};
use danebound_resolver::wire::{Message, RecordType, ResponseCode};
use server_common::*;

/// Builds the response both ways and checks they agree byte for byte.
fn respond(qname: &str, qtype: RecordType, f: Flags, res: &Resolution) -> Message {
    let req = request(qname, qtype, f);
    let direct = answer::encode(&answer::build(&req, res));
    let cache = Cache::new(CacheConfig::default(), Arc::new(FixedClock::new(1_000)));
    if let Some(entry) = cache.insert(&req.cache_key(req.cd), res.clone()) {
        let mut cached = Vec::new();
        entry.write_response(&req, 1_000, &mut cached);
        assert_eq!(
            parse(&cached),
            parse(&direct),
            "cache path differs for {f:?}"
        );
        // And a second time (the pre-encoded variant is reused).
        entry.write_response(&req, 1_000, &mut cached);
        assert_eq!(parse(&cached), parse(&direct));
    }
    parse(&direct)
}

fn has(m: &Message, rtype: RecordType) -> bool {
    m.answers
        .iter()
        .chain(&m.authorities)
        .any(|r| r.record_type() == rtype)
}

struct Case {
    what: &'static str,
    outcome: Outcome,
    flags: Flags,
    rcode: ResponseCode,
    ad: bool,
    data: bool,
    rrsig: bool,
    ede: Option<u16>,
}

#[test]
fn answer_rules_table() {
    let dnssec = Flags::dnssec();
    let plain = Flags::plain();
    let ad_only = Flags { ad: true, ..plain };
    let edns_no_do = Flags {
        edns: Some((1232, false)),
        ..plain
    };
    let cd = Flags { cd: true, ..dnssec };
    let cd_plain = Flags { cd: true, ..plain };
    let bogus_ede = Some(ede_code::SIGNATURE_EXPIRED);
    #[rustfmt::skip]
    let cases = [
        Case { what: "secure, DO", outcome: Outcome::Secure, flags: dnssec, rcode: ResponseCode::NoError, ad: true, data: true, rrsig: true, ede: None },
        Case { what: "secure, AD only", outcome: Outcome::Secure, flags: ad_only, rcode: ResponseCode::NoError, ad: true, data: true, rrsig: false, ede: None },
        Case { what: "secure, neither DO nor AD", outcome: Outcome::Secure, flags: plain, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: false, ede: None },
        Case { what: "secure, EDNS without DO", outcome: Outcome::Secure, flags: edns_no_do, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: false, ede: None },
        Case { what: "secure, CD", outcome: Outcome::Secure, flags: cd, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: true, ede: None },
        Case { what: "insecure, DO", outcome: insecure_iterations(), flags: dnssec, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: true, ede: Some(ede_code::UNSUPPORTED_NSEC3_ITERATIONS) },
        Case { what: "indeterminate, DO", outcome: Outcome::Indeterminate, flags: dnssec, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: true, ede: None },
        Case { what: "bogus, DO", outcome: bogus(), flags: dnssec, rcode: ResponseCode::ServFail, ad: false, data: false, rrsig: false, ede: bogus_ede },
        Case { what: "bogus, no EDNS", outcome: bogus(), flags: plain, rcode: ResponseCode::ServFail, ad: false, data: false, rrsig: false, ede: None },
        Case { what: "bogus, CD", outcome: bogus(), flags: cd, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: true, ede: bogus_ede },
        Case { what: "bogus, CD, no EDNS", outcome: bogus(), flags: cd_plain, rcode: ResponseCode::NoError, ad: false, data: true, rrsig: false, ede: None },
    ];
    for c in cases {
        let m = respond(
            "www.example.",
            RecordType::A,
            c.flags,
            &positive(c.outcome.clone(), 300),
        );
        let what = c.what;
        assert_eq!(m.metadata.response_code, c.rcode, "{what}: rcode");
        assert_eq!(m.metadata.authentic_data, c.ad, "{what}: AD");
        assert_eq!(has(&m, RecordType::A), c.data, "{what}: data");
        assert_eq!(has(&m, RecordType::RRSIG), c.rrsig, "{what}: RRSIG");
        assert_eq!(answer::ede_of(&m).map(|e| e.0), c.ede, "{what}: EDE");
        // Always: RA=1, RD and CD copied, OPT iff the client sent one, with
        // our buffer and DO echoed.
        assert!(m.metadata.recursion_available, "{what}: RA");
        assert_eq!(m.metadata.recursion_desired, c.flags.rd, "{what}: RD");
        assert_eq!(m.metadata.checking_disabled, c.flags.cd, "{what}: CD");
        match (c.flags.edns, &m.edns) {
            (None, None) => {}
            (Some((_, dnssec_ok)), Some(e)) => {
                assert_eq!(e.max_payload(), 1232, "{what}: payload");
                assert_eq!(e.flags().dnssec_ok, dnssec_ok, "{what}: DO echo");
            }
            (sent, got) => panic!("{what}: OPT sent {sent:?}, got {got:?}"),
        }
        assert_eq!(m.queries[0].name().to_ascii(), "www.example.");
    }
}

#[test]
fn bogus_servfail_carries_the_reason_text() {
    let m = respond(
        "www.example.",
        RecordType::A,
        Flags::dnssec(),
        &positive(bogus(), 300),
    );
    let (code, text) = answer::ede_of(&m).unwrap();
    assert_eq!(code, ede_code::SIGNATURE_EXPIRED);
    assert!(text.contains("www.example."), "{text}");
    assert!(text.contains("4711"), "{text}");
    assert!(m.answers.is_empty() && m.authorities.is_empty());
}

#[test]
fn do_zero_strips_denial_records_but_keeps_the_soa() {
    let res = nxdomain(Outcome::Secure, 300, 300);
    let m = respond("nope.example.", RecordType::A, Flags::plain(), &res);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(has(&m, RecordType::SOA));
    assert!(!has(&m, RecordType::NSEC));
    assert!(!has(&m, RecordType::RRSIG));
    let m = respond("nope.example.", RecordType::A, Flags::dnssec(), &res);
    assert!(has(&m, RecordType::NSEC) && has(&m, RecordType::RRSIG));
    assert!(m.metadata.authentic_data);
}

#[test]
fn do_zero_keeps_dnssec_types_that_were_asked_for() {
    let mut res = positive(Outcome::Secure, 300);
    res.answers = vec![rrsig("www.example.", 300, RecordType::A)];
    let m = respond("www.example.", RecordType::RRSIG, Flags::plain(), &res);
    assert!(has(&m, RecordType::RRSIG));
    res.answers = vec![
        nsec("www.example.", 300, "z.example."),
        rrsig("www.example.", 300, RecordType::NSEC),
    ];
    let m = respond("www.example.", RecordType::NSEC, Flags::plain(), &res);
    assert!(has(&m, RecordType::NSEC));
    assert!(!has(&m, RecordType::RRSIG), "RRSIGs still need DO");
    let m = respond("www.example.", RecordType::ANY, Flags::plain(), &res);
    assert!(has(&m, RecordType::NSEC) && has(&m, RecordType::RRSIG));
}

#[test]
fn client_case_is_echoed_in_the_question() {
    let res = positive(Outcome::Secure, 300);
    let m = respond("WwW.ExAmPlE.", RecordType::A, Flags::dnssec(), &res);
    assert_eq!(m.queries[0].name().to_ascii(), "WwW.ExAmPlE.");
}

fn big(n: usize) -> Resolution {
    Resolution {
        rcode: ResponseCode::NoError,
        answers: (0..n)
            .map(|i| txt("big.example.", 300, &format!("{i:0>100}")))
            .collect(),
        authority: vec![],
        additional: vec![],
        outcome: Outcome::Indeterminate,
        ttl: 300,
        failure: None,
    }
}

#[test]
fn udp_answers_over_the_client_buffer_are_truncated() {
    let res = big(8); // about 900 bytes
    let plain = request("big.example.", RecordType::TXT, Flags::plain());
    let m = parse(&answer::encode_udp(&plain, &answer::build(&plain, &res)));
    assert!(m.metadata.truncation, "over 512 without EDNS");
    assert!(m.answers.is_empty());
    let edns = request("big.example.", RecordType::TXT, Flags::dnssec());
    let m = parse(&answer::encode_udp(&edns, &answer::build(&edns, &res)));
    assert!(!m.metadata.truncation, "fits in 1232");
    assert_eq!(m.answers.len(), 8);
    // A client offering 4096 still gets at most our 1232 over UDP.
    let res = big(14);
    let large = request(
        "big.example.",
        RecordType::TXT,
        Flags {
            edns: Some((4096, false)),
            ..Flags::plain()
        },
    );
    let m = parse(&answer::encode_udp(&large, &answer::build(&large, &res)));
    assert!(m.metadata.truncation);
    // The same through the cache entry.
    let cache = Cache::new(CacheConfig::default(), Arc::new(FixedClock::new(5)));
    let entry = cache.insert(&large.cache_key(false), res).unwrap();
    let mut out = Vec::new();
    entry.write_udp(&large, 5, &mut out);
    assert!(parse(&out).metadata.truncation);
    assert!(out.len() <= 1232);
    entry.write_response(&large, 5, &mut out);
    assert_eq!(parse(&out).answers.len(), 14, "TCP gets it all");
}

#[test]
fn errors_keep_the_question_and_edns() {
    let req = request("www.example.", RecordType::A, Flags::dnssec());
    let m = parse(&answer::encode(&answer::error(&req, ResponseCode::Refused)));
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert_eq!(m.metadata.id, 0x1234);
    assert_eq!(m.queries.len(), 1);
    assert!(m.edns.is_some());
}

#[test]
fn rfc8914_section_4_23_upstream_failure_is_no_reachable_authority() {
    let m = respond(
        "www.example.",
        RecordType::A,
        Flags::dnssec(),
        &Resolution::servfail(Outcome::Indeterminate),
    );
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let (code, _) = answer::ede_of(&m).expect("EDE on an upstream failure");
    assert_eq!(code, ede_code::NO_REACHABLE_AUTHORITY);
    // A plain negative answer carries no EDE.
    let m = respond(
        "nx.example.",
        RecordType::A,
        Flags::dnssec(),
        &Resolution {
            rcode: ResponseCode::NXDomain,
            ..Resolution::servfail(Outcome::Indeterminate)
        },
    );
    assert!(answer::ede_of(&m).is_none());
}

#[test]
fn a_resolution_past_the_time_limit_says_it_timed_out() {
    // serve's time limit: EDE 22 kept, the text says time ran out rather
    // than blaming upstream resolvers (there are none when recursing).
    let m = respond(
        "www.example.",
        RecordType::A,
        Flags::dnssec(),
        &Resolution::timed_out(Duration::from_secs(10)),
    );
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(m.answers.is_empty());
    let (code, text) = answer::ede_of(&m).expect("EDE on a timed-out resolution");
    assert_eq!(code, ede_code::NO_REACHABLE_AUTHORITY);
    assert_eq!(text, "resolution timed out after 10 s");
}
