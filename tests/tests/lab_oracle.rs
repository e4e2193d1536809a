//! Proves the lab right: a validating unbound with the lab's trust anchor
//! (the reference oracle) must give, for every case of the table, the rcode
//! and AD bit the table expects — so that the table can judge danebound.
//! EDE codes are compared too; unbound 1.17's known differences are noted in
//! the table (`oracle_note`) and only reported.

use danebound_tests::lab::{CASES, Lab, Level, QueryOptions, query};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[test]
fn validating_unbound_agrees_with_the_case_table() {
    let Some(lab) = Lab::start_or_skip("validating_unbound_agrees_with_the_case_table") else {
        return;
    };
    eprintln!("lab slot {} started: {:?}", lab.slot(), lab.timings());
    let oracle = lab.oracle().expect("oracle started");
    let mut failures = Vec::new();
    for case in CASES {
        let reply = match lab.query(oracle, case.qname, case.qtype) {
            Ok(reply) => reply,
            Err(e) => {
                failures.push(format!("{}: query failed: {e}", case.name));
                continue;
            }
        };
        let got = (reply.rcode(), reply.ad());
        let want = (case.rcode, case.ad);
        let ede = reply.ede_code();
        eprintln!(
            "{:<28} {:<40} {:<5} rcode={:<9} ad={:<5} ede={:?}",
            case.name,
            case.qname,
            case.qtype.to_string(),
            got.0.to_string(),
            got.1,
            ede
        );
        if got != want {
            failures.push(format!(
                "{}: {} {}: got rcode {} AD {}, table says rcode {} AD {} ({}); EDE {:?}",
                case.name,
                case.qname,
                case.qtype,
                got.0,
                got.1,
                want.0,
                want.1,
                case.about,
                reply.ede()
            ));
        }
        if ede != case.ede {
            match case.oracle_note {
                Some(note) => eprintln!("  note: EDE {ede:?} vs table {:?}: {note}", case.ede),
                None => failures.push(format!(
                    "{}: EDE {:?} ({:?}), table says {:?}",
                    case.name,
                    ede,
                    reply.ede(),
                    case.ede
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "oracle disagrees:\n{}",
        failures.join("\n")
    );
}

#[test]
fn lab_has_real_referrals_and_a_non_validating_upstream() {
    let Some(lab) = Lab::start_or_skip("lab_has_real_referrals_and_a_non_validating_upstream")
    else {
        return;
    };
    let options = QueryOptions {
        recursion_desired: false,
        ..QueryOptions::default()
    };
    // The root refers to test., test. to example.test., example.test. to the
    // case zones: each a different server, with the DS in the referral.
    for (level, name, child) in [
        (Level::Root, "www.example.test.", "test."),
        (Level::Tld, "www.example.test.", "example.test."),
        (
            Level::Example,
            "www.alg8.example.test.",
            "alg8.example.test.",
        ),
    ] {
        let reply = query(lab.server(level), name, RecordType::A, &options).expect("query");
        assert!(
            reply.message.answers.is_empty(),
            "{level:?} answered {name} itself"
        );
        let ns = reply
            .message
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NS && r.name.to_string() == child);
        let ds = reply
            .message
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::DS && r.name.to_string() == child);
        assert!(
            ns && ds,
            "{level:?}: no signed referral to {child}: {:?}",
            reply.message
        );
    }
    let anchor = lab.trust_anchor();
    assert!(
        anchor.starts_with(".\t") || anchor.starts_with(". "),
        "{anchor}"
    );
    assert!(
        anchor.contains(" DS ") || anchor.contains("\tDS\t"),
        "{anchor}"
    );
    let upstream = lab.upstream().expect("upstream started");
    // The upstream iterates without validating: bogus data comes back as
    // NOERROR with its RRSIGs, never AD, which is what a validating stub
    // (danebound's forwarding mode, DO=1 CD=1) needs.
    let options = QueryOptions {
        checking_disabled: true,
        ..QueryOptions::default()
    };
    for name in [
        "www.expired.example.test.",
        "www.tampered.example.test.",
        "www.example.test.",
    ] {
        let reply = query(upstream, name, RecordType::A, &options).expect("query");
        assert_eq!(reply.rcode(), ResponseCode::NoError, "{name}");
        assert!(
            !reply.ad(),
            "{name}: a non-validating upstream never sets AD"
        );
        assert!(
            !reply.answer_rdata(RecordType::RRSIG).is_empty(),
            "{name}: RRSIGs handed over"
        );
    }
}
