//! The replay harness against hand-written scenarios and fake resolvers.

use std::net::SocketAddr;

use danebound_resolver::wire::{Message, ResponseCode};
use danebound_tests::replay::parse::{Mode, ValidationTime};
use danebound_tests::replay::run::PassThroughResolver;
use danebound_tests::replay::{
    Dialect, Profile, ResolverUnderTest, ScenarioNetwork, ScenarioTime, Verdict, parse_scenario,
    run_scenario,
};

const SCENARIO: &str = r#"; a tiny forwarding scenario
server:
	trust-anchor: "example. 3600 IN DS 2854 3 1 46e4ffc6e9a4793b488954bd3f0cc6af0dfb201b"
	val-override-date: "20070916134226"
	qname-minimisation: "no"
	fake-sha1: yes
forward-zone:
	name: "."
	forward-addr: 192.0.2.53
CONFIG_END

SCENARIO_BEGIN hand-written harness test
RANGE_BEGIN 0 100
	ADDRESS 192.0.2.53
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR RD RA AD DO NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. 300 IN A 10.20.30.40
www.example. 300 IN RRSIG A 8 2 300 20070926134150 20070829134150 2854 example. MTIzNDU2Nzg5MA==
SECTION AUTHORITY
example. 300 IN NS ns.example.
ENTRY_END
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id copy_query
REPLY QR RD RA NXDOMAIN
SECTION QUESTION
nx.example. IN A
SECTION AUTHORITY
example. IN SOA ns.example. host.example. 1 2 3 4 5
ENTRY_END
RANGE_END

STEP 1 QUERY
ENTRY_BEGIN
REPLY RD DO
SECTION QUESTION
www.example. IN A
ENTRY_END

STEP 2 CHECK_OUT_QUERY
ENTRY_BEGIN
MATCH qname qtype
SECTION QUESTION
www.example. IN A
ENTRY_END

STEP 3 CHECK_ANSWER
ENTRY_BEGIN
MATCH all
REPLY QR RD RA AD DO NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. IN RRSIG A 8 2 300 20070926134150 20070829134150 2854 Example. MTIzNDU2Nzg5MA==
WWW.example. IN A 10.20.30.40
SECTION AUTHORITY
example. IN NS ns.example.
ENTRY_END

STEP 4 TIME_PASSES ELAPSE 10.5
STEP 5 ASSIGN later = ${${time} + 100}
STEP 6 TIME_PASSES EVAL ${$later - ${time}}
STEP 7 QUERY
ENTRY_BEGIN
REPLY RD
SECTION QUESTION
nx.example. IN A
ENTRY_END
STEP 8 CHECK_ANSWER
ENTRY_BEGIN
MATCH all
REPLY QR RD RA NXDOMAIN
SECTION QUESTION
nx.example. IN A
SECTION AUTHORITY
example. IN SOA ns.example. host.example. 1 2 3 4 5
ENTRY_END
SCENARIO_END
"#;

fn upstream() -> SocketAddr {
    "192.0.2.53:53".parse().unwrap()
}

#[test]
fn config_is_typed() {
    let s = parse_scenario(SCENARIO).unwrap();
    assert_eq!(s.title, "hand-written harness test");
    assert_eq!(s.config.dialect, Dialect::Unbound);
    assert_eq!(s.config.trust_anchors.len(), 1);
    assert_eq!(s.config.validation_time, ValidationTime::At(1_189_950_146));
    assert_eq!(s.config.qname_minimisation, Some(false));
    assert!(matches!(s.config.mode(), Mode::Forward { zone } if zone.addrs == [upstream()]));
    assert!(s.config.ignored.iter().any(|o| o.starts_with("fake-sha1")));
    assert_eq!(s.ranges.len(), 1);
    assert_eq!(s.steps.len(), 8);
}

#[test]
fn forwarding_resolver_passes_semantic_profile() {
    let s = parse_scenario(SCENARIO).unwrap();
    let r = run_scenario(&s, Profile::Semantic, |_| {
        Ok(PassThroughResolver { server: upstream() })
    });
    assert_eq!(r.verdict, Verdict::Pass);
    // The expected ANSWER lists the RRSIG first: strict (testbound) order
    // matters, and the difference is reported beside the verdict.
    let other = r.other_profile.unwrap();
    assert!(
        other.starts_with("strict FAIL step 3: ANSWER record 1"),
        "{other}"
    );
    let r = run_scenario(&s, Profile::Strict, |_| {
        Ok(PassThroughResolver { server: upstream() })
    });
    assert!(
        matches!(r.verdict, Verdict::Fail { step: 3, .. }),
        "{:?}",
        r.verdict
    );
    assert_eq!(r.other_profile, None);
    // In file order, strict passes too.
    let ordered = SCENARIO.replace(
        "www.example. IN RRSIG A 8 2 300 20070926134150 20070829134150 2854 Example. MTIzNDU2Nzg5MA==\nWWW.example. IN A 10.20.30.40",
        "WWW.example. IN A 10.20.30.40\nwww.example. IN RRSIG A 8 2 300 20070926134150 20070829134150 2854 Example. MTIzNDU2Nzg5MA==",
    );
    assert_ne!(ordered, SCENARIO);
    let s = parse_scenario(&ordered).unwrap();
    let r = run_scenario(&s, Profile::Strict, |_| {
        Ok(PassThroughResolver { server: upstream() })
    });
    assert_eq!(r.verdict, Verdict::Pass);
}

/// Forwards, but rewrites the rcode, drops AD or repeats the first answer
/// record.
#[derive(Default)]
struct Tamper {
    rcode: Option<ResponseCode>,
    clear_ad: bool,
    duplicate: bool,
}

impl ResolverUnderTest for Tamper {
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Message, String> {
        let mut m = PassThroughResolver { server: upstream() }.resolve(query, net, time)?;
        if let Some(rc) = self.rcode {
            m.metadata.response_code = rc;
        }
        if self.clear_ad {
            m.metadata.authentic_data = false;
        }
        if self.duplicate
            && let Some(first) = m.answers.first().cloned()
        {
            m.answers.push(first);
        }
        Ok(m)
    }
}

#[test]
fn wrong_rcode_fails_with_the_difference() {
    let reason = tampered_fails_at_step_3(Tamper {
        rcode: Some(ResponseCode::Refused),
        ..Tamper::default()
    });
    assert!(
        reason.contains("rcode REFUSED != expected NOERROR"),
        "{reason}"
    );
}

#[test]
fn missing_ad_fails() {
    let reason = tampered_fails_at_step_3(Tamper {
        clear_ad: true,
        ..Tamper::default()
    });
    assert!(reason.contains("flags"), "{reason}");
}

/// Runs SCENARIO against `tamper` under the semantic profile: it must fail
/// at the first CHECK_ANSWER; returns why.
fn tampered_fails_at_step_3(tamper: Tamper) -> String {
    let s = parse_scenario(SCENARIO).unwrap();
    let r = run_scenario(&s, Profile::Semantic, |_| Ok(tamper));
    let Verdict::Fail { step, reason } = r.verdict else {
        panic!("expected FAIL, got {:?}", r.verdict)
    };
    assert_eq!(step, 3);
    reason
}

#[test]
fn clock_and_validation_time_are_separate() {
    struct Spy<'a>(&'a mut Vec<ScenarioTime>);
    impl ResolverUnderTest for Spy<'_> {
        fn resolve(
            &mut self,
            q: &Message,
            net: &ScenarioNetwork,
            t: ScenarioTime,
        ) -> Result<Message, String> {
            self.0.push(t);
            PassThroughResolver { server: upstream() }.resolve(q, net, t)
        }
    }
    let s = parse_scenario(SCENARIO).unwrap();
    let mut seen = Vec::new();
    let r = run_scenario(&s, Profile::Semantic, |_| Ok(Spy(&mut seen)));
    assert_eq!(r.verdict, Verdict::Pass);
    // The first query runs at clock 0 with the override date; the second
    // after 10.5 + 100 s, still with the fixed override date (unbound
    // dialect).
    let date = Some(1_189_950_146);
    assert_eq!(
        seen[0],
        ScenarioTime {
            now: 0,
            validation: date
        }
    );
    assert_eq!(
        seen[1],
        ScenarioTime {
            now: 110,
            validation: date
        }
    );
}

#[test]
fn servfail_stand_in_fails_positive_answers() {
    let s = parse_scenario(SCENARIO).unwrap();
    let r = run_scenario(&s, Profile::Semantic, |_| {
        Ok(danebound_tests::replay::run::ServfailResolver)
    });
    assert!(
        matches!(r.verdict, Verdict::Fail { step: 2, .. }),
        "{:?}",
        r.verdict
    );
}

#[test]
fn unsupported_constructs_skip() {
    let text = SCENARIO.replace(
        "STEP 4 TIME_PASSES ELAPSE 10.5",
        "STEP 4 FLUSH_MESSAGE www.example. IN A",
    );
    let s = parse_scenario(&text).unwrap();
    let r = run_scenario(&s, Profile::Semantic, |_| {
        Ok(PassThroughResolver { server: upstream() })
    });
    assert!(
        matches!(&r.verdict, Verdict::Skip(m) if m.starts_with("unsupported: FLUSH_MESSAGE")),
        "{:?}",
        r.verdict
    );
    let r = run_scenario(&s, Profile::Semantic, |_| {
        Err::<PassThroughResolver, _>("unsupported: iteration".to_string())
    });
    assert_eq!(r.verdict, Verdict::Skip("unsupported: iteration".into()));
}

#[test]
fn parse_errors_are_reported_not_panics() {
    for bad in [
        "",
        "CONFIG_END\n",
        "CONFIG_END\nSCENARIO_BEGIN x\n",
        "CONFIG_END\nSCENARIO_BEGIN x\nSTEP 2 QUERY\nENTRY_BEGIN\nSECTION QUESTION\nx. IN A\nENTRY_END\nSTEP 1 NOTHING\nSCENARIO_END\n",
        "CONFIG_END\nSCENARIO_BEGIN x\nSTEP 1 FROB\nSCENARIO_END\n",
        "CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 a\nSCENARIO_END\n",
        "CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nMATCH frob\nENTRY_END\nRANGE_END\nSCENARIO_END\n",
        "CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nSECTION ANSWER\nx. IN A 1.2.3\nENTRY_END\nRANGE_END\nSCENARIO_END\n",
        "CONFIG_END\nSCENARIO_BEGIN x\nSTEP 1 QUERY\nSCENARIO_END\n",
        "frobnicate: yes\nCONFIG_END\nSCENARIO_BEGIN x\nSCENARIO_END\n",
    ] {
        assert!(parse_scenario(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn deckard_and_stelline_dialects() {
    let deckard = "stub-addr: 193.0.14.129\ntrust-anchor: . IN DS 1 8 2 00\nval-override-date: 20180601000000\nquery-minimization: off\nCONFIG_END\nSCENARIO_BEGIN d\nSCENARIO_END\n";
    let s = parse_scenario(deckard).unwrap();
    assert_eq!(s.config.dialect, Dialect::Deckard);
    assert!(matches!(s.config.mode(), Mode::Iterate { .. }));
    assert_eq!(s.config.qname_minimisation, Some(false));
    let stelline = "server:\n\ttrust-anchor: \". IN DS 1 8 2 00\"\n\tstub-addr: 193.0.14.129\nquery-minimization: off\nCONFIG_END\nSCENARIO_BEGIN s\nSCENARIO_END\n";
    let s = parse_scenario(stelline).unwrap();
    assert_eq!(s.config.dialect, Dialect::Stelline);
    assert!(matches!(s.config.mode(), Mode::Forward { .. }));
}

/// A validator scenario (it has a trust anchor) that expects SERVFAIL for a
/// name the scenario's upstream never answers.
const SERVFAIL_SCENARIO: &str = r#"; expected SERVFAIL in a validator scenario
server:
	trust-anchor: "example. 3600 IN DS 2854 3 1 46e4ffc6e9a4793b488954bd3f0cc6af0dfb201b"
	val-override-date: "20070916134226"
forward-zone:
	name: "."
	forward-addr: 192.0.2.53
CONFIG_END

SCENARIO_BEGIN SERVFAIL only from validation
RANGE_BEGIN 0 100
	ADDRESS 192.0.2.53
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR RD RA NOERROR
SECTION QUESTION
other.example. IN A
ENTRY_END
RANGE_END

STEP 1 QUERY
ENTRY_BEGIN
REPLY RD
SECTION QUESTION
bogus.example. IN A
ENTRY_END
STEP 2 CHECK_ANSWER
ENTRY_BEGIN
MATCH all
REPLY QR RD RA SERVFAIL
SECTION QUESTION
bogus.example. IN A
ENTRY_END
SCENARIO_END
"#;

/// Asks the scenario's upstream, then answers SERVFAIL, reporting `ede` as
/// its validation outcome's EDE.
struct GivesUp {
    ede: Option<u16>,
}

impl ResolverUnderTest for GivesUp {
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Message, String> {
        let _ = PassThroughResolver { server: upstream() }.resolve(query, net, time);
        danebound_tests::replay::run::ServfailResolver.resolve(query, net, time)
    }

    fn validation_ede(&self) -> Option<u16> {
        self.ede
    }
}

/// Issue 11, "tests that cannot hide": an expected SERVFAIL passes only
/// when it came from validation (a DNSSEC EDE 6-12), never from a query the
/// scenario left unanswered, which is counted and reported.
#[test]
fn expected_servfail_passes_only_from_validation() {
    let s = parse_scenario(SERVFAIL_SCENARIO).unwrap();
    let r = run_scenario(&s, Profile::Semantic, |_| Ok(GivesUp { ede: None }));
    let Verdict::Fail { step, reason } = &r.verdict else {
        panic!("a SERVFAIL from giving up passed: {:?}", r.verdict)
    };
    assert_eq!(*step, 2);
    assert!(reason.contains("not from validation"), "{reason}");
    assert!(
        reason.contains("1 of its upstream queries got no reply"),
        "{reason}"
    );
    assert_eq!(r.unanswered_queries, 1);
    // Not a DNSSEC EDE (22, No Reachable Authority): still no.
    let r = run_scenario(&s, Profile::Semantic, |_| Ok(GivesUp { ede: Some(22) }));
    assert!(matches!(r.verdict, Verdict::Fail { .. }), "{:?}", r.verdict);
    // A named cause (0, Other) does not excuse a query left unanswered.
    let r = run_scenario(&s, Profile::Semantic, |_| Ok(GivesUp { ede: Some(0) }));
    assert!(matches!(r.verdict, Verdict::Fail { .. }), "{:?}", r.verdict);
    // From validation (6, DNSSEC Bogus): passes.
    let r = run_scenario(&s, Profile::Semantic, |_| Ok(GivesUp { ede: Some(6) }));
    assert_eq!(r.verdict, Verdict::Pass);
    // The strict profile compares the messages only, as testbound does.
    let r = run_scenario(&s, Profile::Strict, |_| Ok(GivesUp { ede: None }));
    assert_eq!(r.verdict, Verdict::Pass);
}

/// The semantic profile compares the answer section as a multiset: a
/// duplicate the resolver should have removed (RFC 2181 §5) is a
/// difference.
#[test]
fn duplicate_answer_records_fail_the_semantic_profile() {
    let reason = tampered_fails_at_step_3(Tamper {
        duplicate: true,
        ..Tamper::default()
    });
    assert!(reason.contains("ANSWER: unexpected"), "{reason}");
}

/// The semantic rule's other way to pass: a SERVFAIL whose cause the
/// resolver names (EDE 0, a CNAME loop), with every query answered. Not for
/// "no reachable authority" (22) or a network error (23), nor with a query
/// left unanswered.
#[test]
fn expected_servfail_with_a_named_cause_and_all_answered_passes() {
    use danebound_tests::replay::compare::servfail_from_validation;
    use danebound_tests::replay::entry::Match;
    use danebound_tests::replay::packet::Packet;
    let m = Match {
        rcode: true,
        ..Match::default()
    };
    let servfail = Packet {
        rcode: 2,
        ..Packet::default()
    };
    let check =
        |ede, unanswered| servfail_from_validation(&m, &servfail, &servfail, ede, unanswered);
    assert!(check(Some(0), 0).is_ok());
    assert!(check(Some(6), 0).is_ok());
    assert!(check(Some(0), 1).is_err());
    assert!(check(Some(22), 0).is_err());
    assert!(check(Some(23), 0).is_err());
    assert!(check(None, 0).is_err());
}

/// A scenario whose client queries are raw bytes (Deckard's `RAW`): a
/// well-formed query for `www.example. A` with RD, then a header without a
/// question.
const RAW_SCENARIO: &str = r#"; raw client queries
server:
forward-zone:
	name: "."
	forward-addr: 192.0.2.53
CONFIG_END

SCENARIO_BEGIN raw client queries
RANGE_BEGIN 0 100
	ADDRESS 192.0.2.53
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR RD RA NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. 300 IN A 10.20.30.40
ENTRY_END
RANGE_END

STEP 1 QUERY
ENTRY_BEGIN
RAW
12340100000100000000000003777777076578616d706c650000010001
ENTRY_END

STEP 2 CHECK_ANSWER
ENTRY_BEGIN
MATCH rcode question answer
REPLY QR RD RA NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. 300 IN A 10.20.30.40
ENTRY_END

STEP 3 QUERY
ENTRY_BEGIN
RAW
567801000000000000000000
ENTRY_END

STEP 4 CHECK_ANSWER
ENTRY_BEGIN
MATCH rcode
REPLY QR FORMERR
ENTRY_END

SCENARIO_END
"#;

#[test]
fn raw_client_queries_go_through_the_request_parser() {
    let s = parse_scenario(RAW_SCENARIO).unwrap();
    let r = run_scenario(&s, Profile::Strict, |cfg| {
        danebound_tests::replay::engine::EngineUnderTest::new(cfg)
    });
    assert_eq!(r.verdict, Verdict::Pass);

    // The parsed-message stand-ins cannot take raw bytes: skipped.
    let r = run_scenario(&s, Profile::Strict, |_| {
        Ok(PassThroughResolver { server: upstream() })
    });
    assert!(
        matches!(&r.verdict, Verdict::Skip(m) if m.starts_with("unsupported: RAW")),
        "{:?}",
        r.verdict
    );

    // A wrong expectation fails: the answers are really compared.
    let wrong = RAW_SCENARIO.replace("REPLY QR FORMERR", "REPLY QR NOTIMP");
    let s = parse_scenario(&wrong).unwrap();
    let r = run_scenario(&s, Profile::Strict, |cfg| {
        danebound_tests::replay::engine::EngineUnderTest::new(cfg)
    });
    assert!(
        matches!(r.verdict, Verdict::Fail { step: 4, .. }),
        "{:?}",
        r.verdict
    );
}
