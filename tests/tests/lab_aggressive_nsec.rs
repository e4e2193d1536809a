//! RFC 8198 in the signed lab: `danebound serve` in recursive mode (real
//! NSD authorities) answers a NXDOMAIN and a NODATA from the NSEC records
//! it validated for an earlier question, with AD and the SOA, and a name
//! under a wildcard from the wildcard RRset and NSEC it validated, without
//! a single upstream query (the engine's upstream counter, which `control
//! stats` reports, does not move).
//!
//! One test per file: the counters are process-wide.

use danebound_resolver::stats;
use danebound_tests::lab::{Danebound, Lab, LabOptions, Reply};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

fn has(reply: &Reply, rtype: RecordType) -> bool {
    reply
        .message
        .authorities
        .iter()
        .any(|r| r.record_type() == rtype)
}

#[test]
fn negative_answers_from_validated_nsec_spans_without_upstream_queries() {
    let options = LabOptions {
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_aggressive_nsec", options) else {
        return;
    };
    let config = Danebound::lab_recursive_config(&lab, lab.address(23));
    assert!(config.aggressive_nsec, "on by default");
    let danebound = Danebound::start(config).expect("danebound starts");
    let ask = |name: &str, rtype| {
        lab.query(danebound.addr(), name, rtype)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    // NXDOMAIN: the first one is resolved and validated (the NSEC
    // nsec3-salt -> tampered covers it, the apex's NSEC the wildcard).
    let first = ask("nx-aggr1.example.test.", RecordType::A);
    assert_eq!(first.rcode(), ResponseCode::NXDomain);
    assert!(first.ad(), "{:?}", first.message);
    let before = stats::global().snapshot();
    let second = ask("nx-aggr2.example.test.", RecordType::A);
    let after = stats::global().snapshot();
    assert_eq!(second.rcode(), ResponseCode::NXDomain);
    assert!(second.ad(), "AD on the synthesised NXDOMAIN");
    assert!(has(&second, RecordType::SOA), "the SOA is included");
    assert!(has(&second, RecordType::NSEC) && has(&second, RecordType::RRSIG));
    assert_eq!(
        after.upstream_queries, before.upstream_queries,
        "no upstream query for the second name"
    );
    assert_eq!(after.aggressive_nxdomain, before.aggressive_nxdomain + 1);

    // NODATA: `txt` has a TXT record only.
    let first = ask("txt.example.test.", RecordType::A);
    assert_eq!(first.rcode(), ResponseCode::NoError);
    assert!(first.message.answers.is_empty() && first.ad());
    let before = stats::global().snapshot();
    let second = ask("txt.example.test.", RecordType::AAAA);
    let after = stats::global().snapshot();
    assert_eq!(second.rcode(), ResponseCode::NoError);
    assert!(second.message.answers.is_empty());
    assert!(second.ad() && has(&second, RecordType::SOA) && has(&second, RecordType::NSEC));
    assert_eq!(after.upstream_queries, before.upstream_queries);
    assert_eq!(after.aggressive_nodata, before.aggressive_nodata + 1);

    // The data itself is still asked for: TXT exists there.
    let txt = ask("txt.example.test.", RecordType::TXT);
    assert_eq!(txt.rcode(), ResponseCode::NoError);
    assert!(!txt.answer_rdata(RecordType::TXT).is_empty());

    // An insecure zone is never answered from spans: asked upstream.
    ask("nx-aggr1.insecure.example.test.", RecordType::A);
    let before = stats::global().snapshot();
    let r = ask("nx-aggr2.insecure.example.test.", RecordType::A);
    let after = stats::global().snapshot();
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
    assert!(!r.ad());
    assert!(after.upstream_queries > before.upstream_queries);

    // RFC 8198 §5.3: a positive answer from the cached wildcard. The first
    // name brings *.wild's A RRset and the NSEC *.wild -> wrongsigner; a
    // second name in that span is answered from them.
    let first = ask("a.wild.example.test.", RecordType::A);
    assert!(first.ad() && !first.answer_rdata(RecordType::A).is_empty());
    let before = stats::global().snapshot();
    let second = ask("b.wild.example.test.", RecordType::A);
    let after = stats::global().snapshot();
    assert_eq!(second.rcode(), ResponseCode::NoError);
    assert!(second.ad(), "AD on the synthesised wildcard answer");
    assert_eq!(second.answer_rdata(RecordType::A), vec!["192.0.2.12"]);
    assert!(
        second
            .message
            .answers
            .iter()
            .all(|r| r.name.to_ascii() == "b.wild.example.test."),
        "{:?}",
        second.message
    );
    assert_eq!(
        after.upstream_queries, before.upstream_queries,
        "no upstream query for the wildcard name"
    );
    drop(danebound);

    // What it saves: 104 nonexistent names spread over the zone's spans
    // (four per initial letter), asked of a fresh server with and without
    // aggressive NSEC. Printed (`--nocapture`); the test only checks that
    // it asks fewer.
    let names: Vec<String> = ('a'..='z')
        .flat_map(|c| (0..4).map(move |i| format!("{c}{i}-nx.example.test.")))
        .collect();
    let mut asked = Vec::new();
    for (host, aggressive) in [(26, true), (27, false)] {
        let mut config = Danebound::lab_recursive_config(&lab, lab.address(host));
        config.aggressive_nsec = aggressive;
        let server = Danebound::start(config).expect("danebound starts");
        // Warm the chain of trust first, so that only the names count.
        lab.query(server.addr(), "www.example.test.", RecordType::A)
            .expect("an answer");
        let before = stats::global().snapshot().upstream_queries;
        for name in &names {
            let r = lab
                .query(server.addr(), name, RecordType::A)
                .expect("an answer");
            assert_eq!(r.rcode(), ResponseCode::NXDomain, "{name}");
            assert!(r.ad(), "{name}");
        }
        asked.push(stats::global().snapshot().upstream_queries - before);
    }
    eprintln!(
        "RFC 8198: {} nonexistent names in example.test.: {} upstream queries with aggressive_nsec, {} without",
        names.len(),
        asked[0],
        asked[1]
    );
    assert!(asked[0] < asked[1], "{asked:?}");
}
