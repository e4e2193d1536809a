//! Issue 10's recursion cases on the signed lab (real NSD on 127.53.S.x):
//! `danebound serve` in recursive mode from the lab's root hints, with no
//! resolver in between, on a cold cache. Besides the case table (run by
//! `lab_resolver.rs`): a glueless delegation, a CNAME into another zone, a
//! lame delegation and a delegation whose NS names do not resolve, the last
//! two answered SERVFAIL with an EDE that says which (RFC 8914 §4.23).
//! Skipped (with a message) when the lab cannot run here.

use danebound_tests::lab::{Danebound, Keys, Lab, LabOptions, QueryOptions, Reply};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// Delegations added to example.test. for these cases.
const EXTRA: &str = "\
; lame: the only server is the root's, which answers with a referral to
; test. (upward: not authoritative for lame.example.test.)
lame IN NS ns.lame
ns.lame IN A @NET@.1
; NS names that do not exist, one in this zone and one in a case zone
nxns IN NS ns.nowhere.example.test.
nxns IN NS ns.nothing.insecure.example.test.
";

fn ask(lab: &Lab, server: std::net::SocketAddr, name: &str) -> Reply {
    lab.query_with(server, name, RecordType::A, &QueryOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ede(reply: &Reply) -> (Option<u16>, String) {
    match reply.ede().first() {
        Some(e) => (Some(e.code), e.text.clone()),
        None => (None, String::new()),
    }
}

#[test]
fn recursion_follows_glueless_and_cross_zone_delegations_and_names_lame_and_unresolvable_ones() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        extra_records: vec![("example.test.".into(), EXTRA.into())],
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion", options) else {
        return;
    };
    let danebound = Danebound::start(Danebound::lab_recursive_config(&lab, lab.address(24)))
        .expect("danebound starts");
    let server = danebound.addr();

    // Glueless, first thing on a cold cache: unsigned.nsec3.example.test.
    // is delegated by nsec3.example.test. (served at .4) to
    // ns4.example.test., a name that server does not serve, so the
    // referral has no glue and the address is resolved from example.test.
    let r = ask(&lab, server, "www.unsigned.nsec3.example.test.");
    assert_eq!(r.rcode(), ResponseCode::NoError, "{:?}", r.message);
    assert!(!r.ad(), "insecure below the delegation: {:?}", r.message);
    assert!(!r.answer_rdata(RecordType::A).is_empty(), "{:?}", r.message);

    // A CNAME into another signed zone, and into an insecure one.
    let r = ask(&lab, server, "cname-cross.example.test.");
    assert_eq!(r.rcode(), ResponseCode::NoError, "{:?}", r.message);
    assert!(r.ad(), "both zones are signed: {:?}", r.message);
    assert_eq!(
        r.answer_rdata(RecordType::CNAME),
        ["www.alg8.example.test."]
    );
    assert!(!r.answer_rdata(RecordType::A).is_empty(), "{:?}", r.message);
    let r = ask(&lab, server, "cname-insecure.example.test.");
    assert_eq!(r.rcode(), ResponseCode::NoError, "{:?}", r.message);
    assert!(!r.ad(), "{:?}", r.message);
    assert!(!r.answer_rdata(RecordType::A).is_empty(), "{:?}", r.message);

    // Lame: SERVFAIL, EDE 22 naming the zone and the lameness.
    for pass in ["first", "again"] {
        let r = ask(&lab, server, "www.lame.example.test.");
        assert_eq!(r.rcode(), ResponseCode::ServFail, "{pass}: {:?}", r.message);
        let (code, text) = ede(&r);
        assert_eq!(code, Some(22), "{pass}: {text}");
        assert!(
            text.starts_with("lame delegation: lame.example.test.: 1 lame"),
            "{pass}: {text}"
        );
    }

    // NS names that do not resolve: SERVFAIL, EDE 22 listing them.
    let r = ask(&lab, server, "www.nxns.example.test.");
    assert_eq!(r.rcode(), ResponseCode::ServFail, "{:?}", r.message);
    let (code, text) = ede(&r);
    assert_eq!(code, Some(22), "{text}");
    assert!(
        text.starts_with("no reachable authority for nxns.example.test.: no NS name resolves"),
        "{text}"
    );
    assert!(
        text.contains("ns.nowhere.example.test. (NXDOMAIN)")
            && text.contains("ns.nothing.insecure.example.test. (NXDOMAIN)"),
        "{text}"
    );

    // The failures spoil nothing: the zone above still answers, secure.
    let r = ask(&lab, server, "www.example.test.");
    assert_eq!(r.rcode(), ResponseCode::NoError, "{:?}", r.message);
    assert!(r.ad(), "{:?}", r.message);
    assert_eq!(r.answer_rdata(RecordType::A), ["192.0.2.10"]);
}
