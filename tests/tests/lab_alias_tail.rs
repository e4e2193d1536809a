//! A Secure alias chain's last RRset answers its own owner asked directly,
//! from the answer cache: `danebound serve` in recursive mode (real NSD
//! authorities) resolves `cname-cross.example.test. A` (a CNAME into
//! `www.alg8.example.test.`, another signed zone) and then answers
//! `www.alg8.example.test. A` with AD without an upstream query and without
//! validating it again, as unbound answers it from its RRset cache. An
//! Insecure chain's tail is not taken that way; a DNAME's chain is.
//!
//! One test per file: the counters are process-wide.

use danebound_resolver::stats;
use danebound_tests::lab::{Danebound, Lab, LabOptions};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[test]
fn a_secure_chains_last_rrset_answers_its_owner_without_another_validation() {
    let options = LabOptions {
        upstream: false,
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_alias_tail", options) else {
        return;
    };
    let config = Danebound::lab_recursive_config(&lab, lab.address(24));
    let danebound = Danebound::start(config).expect("danebound starts");
    let ask = |name: &str, rtype| {
        lab.query(danebound.addr(), name, rtype)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    let chain = ask("cname-cross.example.test.", RecordType::A);
    assert_eq!(chain.rcode(), ResponseCode::NoError);
    assert!(chain.ad(), "{:?}", chain.message);
    let target = chain.answer_rdata(RecordType::A);
    assert!(!target.is_empty(), "{:?}", chain.message);

    let before = stats::global().snapshot();
    let direct = ask("www.alg8.example.test.", RecordType::A);
    let after = stats::global().snapshot();
    assert_eq!(direct.rcode(), ResponseCode::NoError);
    assert!(direct.ad(), "AD: the tail was proved Secure with the chain");
    assert_eq!(direct.answer_rdata(RecordType::A), target);
    assert!(
        direct
            .message
            .answers
            .iter()
            .all(|r| r.name.to_ascii() == "www.alg8.example.test."),
        "the tail alone, no CNAME: {:?}",
        direct.message
    );
    assert!(
        direct
            .message
            .answers
            .iter()
            .any(|r| r.record_type() == RecordType::RRSIG),
        "with its RRSIG (DO=1)"
    );
    assert_eq!(after.upstream_queries, before.upstream_queries);
    assert_eq!(
        after.work.sessions, before.work.sessions,
        "not validated again"
    );
    assert_eq!(after.cache_hits, before.cache_hits + 1);

    // Through a DNAME and the CNAME synthesised from it (RFC 6672).
    let dname = ask("www.dname.example.test.", RecordType::A);
    assert!(dname.ad() && !dname.answer_rdata(RecordType::A).is_empty());
    let before = stats::global().snapshot();
    let direct = ask("www.alg13.example.test.", RecordType::A);
    let after = stats::global().snapshot();
    assert!(direct.ad());
    assert_eq!(
        direct.answer_rdata(RecordType::A),
        dname.answer_rdata(RecordType::A)
    );
    assert_eq!(after.work.sessions, before.work.sessions);
    assert_eq!(after.cache_hits, before.cache_hits + 1);

    // An Insecure chain (into insecure.example.test.): its tail is asked
    // and judged on its own.
    let insecure = ask("cname-insecure.example.test.", RecordType::A);
    assert_eq!(insecure.rcode(), ResponseCode::NoError);
    assert!(!insecure.ad());
    let before = stats::global().snapshot();
    let direct = ask("www.insecure.example.test.", RecordType::A);
    let after = stats::global().snapshot();
    assert!(!direct.ad());
    assert_eq!(after.cache_hits, before.cache_hits, "a miss, resolved anew");
}
