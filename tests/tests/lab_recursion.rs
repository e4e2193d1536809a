//! Issue 10's recursion cases on the signed lab (real NSD on 127.53.S.x):
//! `danebound serve` in recursive mode from the lab's root hints, with no
//! resolver in between, on a cold cache. Besides the case table (run by
//! `lab_resolver.rs`): a glueless delegation, a CNAME into another zone, a
//! lame delegation and a delegation whose NS names do not resolve, the last
//! two answered SERVFAIL with an EDE that says which (RFC 8914 §4.23); and a
//! server that adds forged out-of-bailiwick records to its answers.
//! Skipped (with a message) when the lab cannot run here.

use std::net::SocketAddr;

use danebound_resolver::config::ZoneConfig;
use danebound_tests::lab::{
    Danebound, ForgingProxy, Keys, Lab, LabOptions, Level, QueryOptions, Reply, StrippingProxy,
};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

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

fn ask(lab: &Lab, server: SocketAddr, name: &str) -> Reply {
    lab.query_with(server, name, RecordType::A, &QueryOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Queries of `qtype` the lab's NSDs received so far, per level: the
/// root, test., example.test. and the case zones.
fn per_level(lab: &Lab, qtype: &str) -> Vec<u64> {
    [Level::Root, Level::Tld, Level::Example, Level::Cases]
        .iter()
        .map(|l| {
            lab.authoritative_queries_of_type(*l, qtype)
                .expect("NSD counts per type")
        })
        .collect()
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

/// A server that adds forged out-of-bailiwick records to its additional
/// section: example.test.'s NSD behind a proxy that appends `ns2.test.` (the
/// zone's own NS name, in test.) and `www.victim.test.` with a false
/// address, asked as a stub zone. RFC 2181 §5.4.1 and the bailiwick rule:
/// the records are neither served with the answers nor cached, and the
/// names resolve to the truth. The zone's DNSKEY set is asked of it once.
#[test]
fn forged_out_of_bailiwick_additional_records_are_never_cached_or_served() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion_forged", options) else {
        return;
    };
    let forged_ip = "192.0.2.66";
    let forged: Vec<Record> = ["ns2.test.", "www.victim.test."]
        .iter()
        .map(|name| {
            Record::from_rdata(
                Name::from_ascii(name).unwrap(),
                86_400,
                RData::A(A::new(192, 0, 2, 66)),
            )
        })
        .collect();
    let proxy_addr = SocketAddr::new(lab.address(13).into(), 53);
    let proxy = ForgingProxy::start(proxy_addr, lab.server(Level::Example), forged)
        .expect("the forging proxy starts");
    // The forgery is there, asked directly.
    let direct = ask(&lab, proxy_addr, "www.example.test.");
    assert_eq!(
        direct
            .message
            .additionals
            .iter()
            .filter(|r| r.data.to_string() == forged_ip)
            .count(),
        2,
        "{:?}",
        direct.message
    );
    let mut config = Danebound::lab_recursive_config(&lab, lab.address(25));
    config.stub_zones = vec![ZoneConfig {
        name: Name::from_ascii("example.test.").unwrap(),
        addresses: vec![proxy_addr],
    }];
    let danebound = Danebound::start(config).expect("danebound starts");
    let server = danebound.addr();
    let no_forgery = |reply: &Reply, what: &str| {
        let all = reply
            .message
            .answers
            .iter()
            .chain(reply.message.authorities.iter())
            .chain(reply.message.additionals.iter());
        for r in all {
            assert!(
                !r.data.to_string().contains(forged_ip),
                "{what}: forged record served: {r}"
            );
        }
    };
    // Through the forging server: the answers, validated, without the
    // forged records.
    for (name, rtype) in [
        ("www.example.test.", RecordType::A),
        ("example.test.", RecordType::MX),
        ("example.test.", RecordType::NS),
    ] {
        let r = lab
            .query_with(server, name, rtype, &QueryOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            r.rcode(),
            ResponseCode::NoError,
            "{name} {rtype}: {:?}",
            r.message
        );
        assert!(r.ad(), "{name} {rtype}: {:?}", r.message);
        no_forgery(&r, name);
    }
    // More names of the zone: its DNSKEY set, fetched and authenticated
    // once, serves their chains (the engine's key store); nothing asks it
    // of the zone's server again.
    for (name, rtype) in [
        ("mail.example.test.", RecordType::A),
        ("txt.example.test.", RecordType::TXT),
    ] {
        let r = lab
            .query_with(server, name, rtype, &QueryOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.rcode(), ResponseCode::NoError, "{name}: {:?}", r.message);
        assert!(r.ad(), "{name}: {:?}", r.message);
    }
    let asked = proxy.asked();
    let dnskey = asked
        .iter()
        .filter(|(name, t)| name == "example.test." && *t == RecordType::DNSKEY)
        .count();
    assert_eq!(dnskey, 1, "{asked:?}");
    assert!(
        asked.contains(&("txt.example.test.".into(), RecordType::TXT)),
        "{asked:?}"
    );
    // The forged names, asked now: the truth (from test.), not the cache.
    let r = ask(&lab, server, "ns2.test.");
    assert_eq!(r.rcode(), ResponseCode::NoError, "{:?}", r.message);
    assert_eq!(
        r.answer_rdata(RecordType::A),
        [lab.server(Level::Example).ip().to_string()]
    );
    no_forgery(&r, "ns2.test.");
    let r = ask(&lab, server, "www.victim.test.");
    assert_eq!(r.rcode(), ResponseCode::NXDomain, "{:?}", r.message);
    assert!(r.ad(), "a secure denial from test.: {:?}", r.message);
    no_forgery(&r, "www.victim.test.");
}

/// RFC 9609 §3: `serve` primes the root when it starts, before any client
/// query, in the background. The hints name a relay in front of the lab's
/// root server; the first question it relays is `. NS`, asked before the
/// test asks anything, and the resolver then answers as usual.
#[test]
fn the_root_is_primed_at_start_before_any_client_query() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion_priming", options) else {
        return;
    };
    let relay_addr = SocketAddr::new(lab.address(14).into(), 53);
    let relay = ForgingProxy::start(relay_addr, lab.server(Level::Root), Vec::new())
        .expect("the relay starts");
    let hints = lab.dir().join("relayed-root.hints");
    std::fs::write(
        &hints,
        format!(
            ".           3600000 IN NS ns0.test.\nns0.test.   3600000 IN A  {}\n",
            relay_addr.ip()
        ),
    )
    .expect("hints written");
    let mut config = Danebound::lab_recursive_config(&lab, lab.address(26));
    config.root_hints = Some(hints);
    let danebound = Danebound::start(config).expect("danebound starts");
    // No client query yet: wait (up to 10 s) for the relay to see one.
    for _ in 0..100 {
        if !relay.asked().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let asked = relay.asked();
    assert_eq!(
        asked.first(),
        Some(&(".".to_string(), RecordType::NS)),
        "the priming query, before any client query: {asked:?}"
    );
    let r = ask(&lab, danebound.addr(), "www.example.test.");
    assert_eq!(r.rcode(), ResponseCode::NoError, "{:?}", r.message);
    assert!(r.ad(), "{:?}", r.message);
    assert_eq!(r.answer_rdata(RecordType::A), ["192.0.2.10"]);
}

/// DNSSEC-lame servers (unbound's "lame for DNSSEC"): example.test. asked as
/// a stub zone of two servers, its NSD and a relay in front of it that
/// strips every RRSIG. Every name validates (the stripped answer, if any,
/// is asked again of the other server), and once the relay has answered
/// for the signed zone without RRSIGs it is remembered and not asked again
/// for the names that follow.
#[test]
fn a_dnssec_lame_server_is_remembered_and_avoided() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion_dnssec_lame", options) else {
        return;
    };
    let strip_addr = SocketAddr::new(lab.address(15).into(), 53);
    let stripping = StrippingProxy::start(strip_addr, lab.server(Level::Example))
        .expect("the stripping relay starts");
    let mut config = Danebound::lab_recursive_config(&lab, lab.address(27));
    config.stub_zones = vec![ZoneConfig {
        name: Name::from_ascii("example.test.").unwrap(),
        addresses: vec![strip_addr, lab.server(Level::Example)],
    }];
    let danebound = Danebound::start(config).expect("danebound starts");
    let server = danebound.addr();
    // The zone's DS first (from test.'s server): from then on the
    // iterator knows the zone is signed.
    let names = [
        ("example.test.", RecordType::DS),
        ("www.example.test.", RecordType::A),
        ("mail.example.test.", RecordType::A),
        ("txt.example.test.", RecordType::TXT),
        ("example.test.", RecordType::MX),
        ("www.example.test.", RecordType::TXT),
        ("nx1.example.test.", RecordType::A),
        ("nx2.example.test.", RecordType::A),
        ("nx3.example.test.", RecordType::A),
    ];
    // Until the relay has answered once for the zone (it may not be picked
    // at first), then the rest.
    let mut asked_before = None;
    for (name, rtype) in names {
        let r = lab
            .query_with(server, name, rtype, &QueryOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            matches!(r.rcode(), ResponseCode::NoError | ResponseCode::NXDomain),
            "{name} {rtype}: {:?}",
            r.message
        );
        assert!(r.ad(), "{name} {rtype}: {:?}", r.message);
        let asked = stripping.asked().len();
        match asked_before {
            Some(before) => assert_eq!(
                asked,
                before,
                "{name} {rtype}: the DNSSEC-lame relay was asked again: {:?}",
                stripping.asked()
            ),
            None if asked > 0 => asked_before = Some(asked),
            None => {}
        }
    }
    eprintln!("relay asked: {:?}", stripping.asked());
    // At least one name went to the relay first (the choice is random
    // among equals; 8 names make missing it unlikely, and then there is
    // nothing to check).
    if asked_before.is_none() {
        eprintln!("the relay was never picked; nothing remembered to check");
    }
}

/// Issue 10: a DS or DNSKEY set fetched once serves every later chain.
/// Several names of one signed zone (and of its parents), resolved one
/// after the other on a cold cache: each zone's DNSKEY set reached its NSD
/// once, and its DS set at most once (it usually comes with the referral),
/// counted per query type where it arrived (`nsd-control stats_noreset`).
#[test]
fn each_ds_and_dnskey_set_is_asked_once_for_many_names() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion_keys_once", options) else {
        return;
    };
    let count = |qtype: &str| per_level(&lab, qtype);
    let (ds_before, dnskey_before) = (count("DS"), count("DNSKEY"));
    let danebound = Danebound::start(Danebound::lab_recursive_config(&lab, lab.address(28)))
        .expect("danebound starts");
    let server = danebound.addr();
    let names = [
        (
            "www.alg13.example.test.",
            RecordType::A,
            ResponseCode::NoError,
        ),
        (
            "alg13.example.test.",
            RecordType::SOA,
            ResponseCode::NoError,
        ),
        (
            "nx.alg13.example.test.",
            RecordType::A,
            ResponseCode::NXDomain,
        ),
        (
            "www.alg13.example.test.",
            RecordType::AAAA,
            ResponseCode::NoError,
        ),
        ("www.example.test.", RecordType::A, ResponseCode::NoError),
        (
            "nx1.alg13.example.test.",
            RecordType::TXT,
            ResponseCode::NXDomain,
        ),
    ];
    for (name, qtype, rcode) in names {
        let r = lab
            .query_with(server, name, qtype, &QueryOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.rcode(), rcode, "{name} {qtype}: {:?}", r.message);
        assert!(r.ad(), "{name} {qtype} is secure: {:?}", r.message);
    }
    let sub = |after: Vec<u64>, before: &[u64]| -> Vec<u64> {
        after.iter().zip(before).map(|(a, b)| a - b).collect()
    };
    let ds = sub(count("DS"), &ds_before);
    let dnskey = sub(count("DNSKEY"), &dnskey_before);
    eprintln!(
        "{} names under alg13.example.test.: DS queries per level (root, test., \
         example.test., case zones) {ds:?}, DNSKEY queries {dnskey:?}",
        names.len()
    );
    // ., test., example.test., alg13.example.test.: one DNSKEY set each.
    assert_eq!(dnskey, vec![1, 1, 1, 1], "DNSKEY asked more than once");
    // DS: test. at the root, example.test. at test., alg13 at
    // example.test.; none of a case zone's NSD.
    assert!(
        ds.iter().all(|n| *n <= 1) && ds[3] == 0,
        "DS asked more than once: {ds:?}"
    );
}

/// Issue 10: NS sets and addresses from authoritative, validated answers
/// outrank the parent's delegation and glue for choosing servers (RFC 2181
/// §5.4.1). The root delegates `test.` to two servers, `ns1.test.` (the
/// TLD's NSD) and `nsp.test.` (a relay in front of it, glue only); the
/// child's own NS set names `ns1.test.` alone. Once danebound has validated
/// `test. NS` and `ns1.test. A` (asked by a client, answered with AD), the
/// names that follow are asked of the child's server only: the relay sees
/// no more queries, the TLD's NSD sees them all.
#[test]
fn a_validated_child_ns_set_replaces_the_parents_delegation_for_server_selection() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        extra_records: vec![(
            ".".into(),
            "test. 86400 IN NS nsp.test.\nnsp.test. 86400 IN A @NET@.16\n".into(),
        )],
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion_child_ns", options) else {
        return;
    };
    let relay = ForgingProxy::start(
        SocketAddr::new(lab.address(16).into(), 53),
        lab.server(Level::Tld),
        Vec::new(),
    )
    .expect("the relay starts");
    let mut config = Danebound::lab_recursive_config(&lab, lab.address(29));
    // Every name below must reach the servers of test.
    config.aggressive_nsec = false;
    let danebound = Danebound::start(config).expect("danebound starts");
    let server = danebound.addr();
    let ask_type = |name: &str, qtype: RecordType| {
        lab.query_with(server, name, qtype, &QueryOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // With the parent's delegation: either server (the relay, at random).
    for i in 0..6 {
        let r = ask_type(&format!("before{i}.test."), RecordType::A);
        assert_eq!(r.rcode(), ResponseCode::NXDomain, "{:?}", r.message);
        assert!(r.ad(), "{:?}", r.message);
    }
    let via_relay = relay.asked().len();
    // The child's own NS set and its server's address, validated.
    let r = ask_type("test.", RecordType::NS);
    assert!(r.ad(), "test. NS is secure: {:?}", r.message);
    assert_eq!(r.answer_rdata(RecordType::NS), ["ns1.test."]);
    let r = ask_type("ns1.test.", RecordType::A);
    assert!(r.ad(), "ns1.test. A is secure: {:?}", r.message);
    let relayed = relay.asked().len();
    let tld = |l: &Lab| {
        l.authoritative_queries_of_type(Level::Tld, "A")
            .expect("NSD counts")
    };
    let tld_before = tld(&lab);
    let names = 12;
    for i in 0..names {
        let r = ask_type(&format!("after{i}.test."), RecordType::A);
        assert_eq!(r.rcode(), ResponseCode::NXDomain, "{:?}", r.message);
        assert!(r.ad(), "{:?}", r.message);
    }
    let asked_after: Vec<_> = relay.asked()[relayed..].to_vec();
    eprintln!(
        "parent's delegation: {via_relay} of the first queries went to the glue-only server; \
         after validating the child's NS set: {} of {names}",
        asked_after.len()
    );
    assert!(
        asked_after.is_empty(),
        "after validation the glue-only server is not asked: {asked_after:?}"
    );
    assert!(
        tld(&lab) - tld_before >= names,
        "the names reached the child's server"
    );
}

/// Issue 12: the DNSKEY sets of the signed zones on a question's way down
/// are fetched ahead of the validator only when the answer will be
/// validated. A question with CD=1 (RFC 4035 §3.2.2: the client validates)
/// and one under a negative trust anchor (`domain_insecure`, RFC 7646 §2)
/// send no DNSKEY query at all, on a cold cache, though each delegation on
/// the way (., test., example.test., the case zone) brings a DS set. The
/// same name asked without CD afterwards then fetches each zone's keys once
/// (the count works, and nothing was fetched before).
#[test]
fn no_dnskey_is_fetched_ahead_for_cd_or_negative_trust_anchor_questions() {
    let options = LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_recursion_no_prefetch", options) else {
        return;
    };
    let count = || per_level(&lab, "DNSKEY");
    let before = count();
    let since =
        |before: &[u64]| -> Vec<u64> { count().iter().zip(before).map(|(a, b)| a - b).collect() };
    let mut config = Danebound::lab_recursive_config(&lab, lab.address(30));
    config.domain_insecure = vec![Name::from_ascii("alg14.example.test.").unwrap()];
    let danebound = Danebound::start(config).expect("danebound starts");
    let server = danebound.addr();
    let cd = QueryOptions {
        checking_disabled: true,
        ..QueryOptions::default()
    };
    for (name, options) in [
        ("www.alg13.example.test.", &cd),
        ("www.alg8.example.test.", &cd),
        ("www.alg14.example.test.", &QueryOptions::default()),
    ] {
        let r = lab
            .query_with(server, name, RecordType::A, options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.rcode(), ResponseCode::NoError, "{name}: {:?}", r.message);
        assert!(!r.ad(), "{name} is not validated: {:?}", r.message);
        assert!(
            !r.answer_rdata(RecordType::A).is_empty(),
            "{name}: {:?}",
            r.message
        );
    }
    let unvalidated = since(&before);
    // Validated now: each zone's keys once.
    let r = ask(&lab, server, "www.alg13.example.test.");
    assert!(r.ad(), "www.alg13.example.test. is secure: {:?}", r.message);
    let validated = since(&before);
    eprintln!(
        "DNSKEY queries per level (root, test., example.test., case zones): \
         {unvalidated:?} for 2 CD=1 questions and 1 under a negative trust anchor, \
         {validated:?} after one validated question"
    );
    assert_eq!(
        unvalidated,
        vec![0, 0, 0, 0],
        "DNSKEY fetched for answers that are not validated"
    );
    assert_eq!(validated, vec![1, 1, 1, 1]);
}
