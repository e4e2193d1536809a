//! Unit-level tests of the replay harness pieces: ENTRY parsing, the EDNS
//! rule per dialect, MATCH rules and the two profiles.

use danebound_resolver::wire::{Name, RecordType};
use danebound_tests::replay::compare::{MatchContext, Transport, check_entry};
use danebound_tests::replay::packet::Packet;
use danebound_tests::replay::parse::StepKind;
use danebound_tests::replay::{Dialect, Profile, parse_scenario_as};

fn entry_file(entry: &str) -> String {
    format!("CONFIG_END\nSCENARIO_BEGIN t\nSTEP 1 CHECK_ANSWER\n{entry}\nSCENARIO_END\n")
}

fn parse_entry(entry: &str, dialect: Dialect) -> danebound_tests::replay::entry::Entry {
    let s = parse_scenario_as(&entry_file(entry), Some(dialect)).unwrap();
    match &s.steps[0].kind {
        StepKind::CheckAnswer(e) => e.clone(),
        other => panic!("{other:?}"),
    }
}

const ANSWER: &str = "ENTRY_BEGIN
MATCH all
REPLY QR RD RA AD DO NOERROR
SECTION QUESTION
www.example.com. IN A
SECTION ANSWER
www.example.com. 3600 IN A 10.20.30.40
www.example.com. 3600 IN RRSIG A 8 3 3600 20070926134150 20070829134150 2854 example.com. MTIzNDU2Nzg5MA==
SECTION AUTHORITY
example.com. 3600 IN NS ns.example.com.
SECTION ADDITIONAL
ns.example.com. 3600 IN A 1.2.3.4
ENTRY_END";

fn cx(dialect: Dialect, profile: Profile) -> MatchContext {
    MatchContext {
        dialect,
        profile,
        transport: Transport::Udp,
    }
}

#[test]
fn edns_rule_depends_on_dialect() {
    let e = parse_entry(ANSWER, Dialect::Unbound);
    let edns = e.first().packet.edns.clone().unwrap();
    assert_eq!((edns.payload, edns.dnssec_ok), (1232, true));
    let no_do = ANSWER.replace("REPLY QR RD RA AD DO NOERROR", "REPLY QR RD RA NOERROR");
    assert!(
        parse_entry(&no_do, Dialect::Unbound)
            .first()
            .packet
            .edns
            .is_none()
    );
    assert!(
        parse_entry(&no_do, Dialect::Stelline)
            .first()
            .packet
            .edns
            .is_none()
    );
    let d = parse_entry(&no_do, Dialect::Deckard)
        .first()
        .packet
        .edns
        .clone()
        .unwrap();
    assert_eq!((d.payload, d.dnssec_ok), (4096, false));
}

#[test]
fn entry_sections_and_header() {
    let e = parse_entry(ANSWER, Dialect::Unbound);
    let p = &e.first().packet;
    assert!(e.matches.all);
    assert!(p.flags.qr && p.flags.rd && p.flags.ra && p.flags.ad && !p.flags.aa);
    assert_eq!(p.question[0].qtype, RecordType::A);
    assert_eq!(
        (p.answer.len(), p.authority.len(), p.additional.len()),
        (2, 1, 1)
    );
    assert_eq!(p.id, 0);
}

#[test]
fn hex_answer_extra_packet_and_raw() {
    let e = parse_entry(
        "ENTRY_BEGIN\nMATCH opcode\nADJUST copy_id\nSECTION QUESTION\nx. IN A\nHEX_ANSWER_BEGIN\n 00 01 ; id\n 8180 000\nHEX_ANSWER_END\nEXTRA_PACKET\nREPLY QR SERVFAIL\nENTRY_END",
        Dialect::Unbound,
    );
    assert_eq!(e.packets.len(), 2);
    assert_eq!(
        e.packets[0].raw.as_deref(),
        Some(&[0, 1, 0x81, 0x80, 0, 0][..])
    );
    assert_eq!(e.packets[0].packet.question.len(), 1);
    assert_eq!(e.packets[1].packet.rcode, 2);
    let e = parse_entry("ENTRY_BEGIN\nRAW\nb5c9ca3d\nENTRY_END", Dialect::Deckard);
    assert_eq!(
        e.first().raw.as_deref(),
        Some(&[0xb5, 0xc9, 0xca, 0x3d][..])
    );
    let e = parse_entry(
        "ENTRY_BEGIN\nREPLY DO\nHEX_EDNSDATA_BEGIN\n000f0002 0006\nHEX_EDNSDATA_END\nENTRY_END",
        Dialect::Unbound,
    );
    assert_eq!(
        e.first().packet.edns.as_ref().unwrap().options,
        [0, 0x0f, 0, 2, 0, 6]
    );
}

#[test]
fn origin_and_ttl_persist_across_entries() {
    let file = "CONFIG_END\nSCENARIO_BEGIN t\n$ORIGIN example.\n$TTL 60\nRANGE_BEGIN 0 9\nENTRY_BEGIN\nSECTION ANSWER\nwww A 1.2.3.4\nENTRY_END\nENTRY_BEGIN\nSECTION ANSWER\n@ NS ns\nENTRY_END\nRANGE_END\nSCENARIO_END\n";
    let s = parse_scenario_as(file, None).unwrap();
    let a = &s.ranges[0].entries[0].first().packet.answer[0];
    assert_eq!((a.name.to_string().as_str(), a.ttl), ("www.example.", 60));
    let ns = &s.ranges[0].entries[1].first().packet.answer[0];
    assert_eq!(ns.name.to_string(), "example.");
}

fn got_from(entry: &str) -> Packet {
    parse_entry(entry, Dialect::Unbound).first().packet.clone()
}

#[test]
fn semantic_ignores_order_ttl_case_glue_but_not_ad() {
    let e = parse_entry(ANSWER, Dialect::Unbound);
    // Reordered answer, other TTLs, upper-case names, no glue, no NS.
    let got = got_from(
        "ENTRY_BEGIN
REPLY QR RD RA AD DO NOERROR
SECTION QUESTION
www.example.com. IN A
SECTION ANSWER
WWW.EXAMPLE.COM. 17 IN RRSIG A 8 3 3600 20070926134150 20070829134150 2854 EXAMPLE.COM. MTIzNDU2Nzg5MA==
www.example.com. 17 IN A 10.20.30.40
ENTRY_END",
    );
    assert_eq!(
        check_entry(&e, &got, cx(Dialect::Unbound, Profile::Semantic)),
        Ok(())
    );
    let err = check_entry(&e, &got, cx(Dialect::Unbound, Profile::Strict)).unwrap_err();
    assert!(err.contains("ANSWER record 1"), "{err}");
    let mut no_ad = got.clone();
    no_ad.flags.ad = false;
    let err = check_entry(&e, &no_ad, cx(Dialect::Unbound, Profile::Semantic)).unwrap_err();
    assert!(err.starts_with("flags"), "{err}");
    let mut missing = got;
    missing.answer.pop();
    let err = check_entry(&e, &missing, cx(Dialect::Unbound, Profile::Semantic)).unwrap_err();
    assert!(
        err.contains("missing `www.example.com. 0 A 10.20.30.40`"),
        "{err}"
    );
}

#[test]
fn semantic_requires_negative_proof() {
    let exp = parse_entry(
        "ENTRY_BEGIN
MATCH all
REPLY QR RD RA AD DO NXDOMAIN
SECTION QUESTION
nx.example. IN A
SECTION AUTHORITY
example. IN SOA ns.example. h.example. 1 2 3 4 5
example. IN NSEC z.example. SOA NS RRSIG NSEC
example. IN NS ns.example.
ENTRY_END",
        Dialect::Unbound,
    );
    let mut got = exp.first().packet.clone();
    got.authority.retain(|r| r.rtype != RecordType::NS);
    assert_eq!(
        check_entry(&exp, &got, cx(Dialect::Unbound, Profile::Semantic)),
        Ok(())
    );
    got.authority.retain(|r| r.rtype != RecordType::NSEC);
    let err = check_entry(&exp, &got, cx(Dialect::Unbound, Profile::Semantic)).unwrap_err();
    assert!(
        err.contains("AUTHORITY: missing") && err.contains("NSEC"),
        "{err}"
    );
}

#[test]
fn strict_compares_edns_and_deckard_all_is_multiset() {
    let e = parse_entry(ANSWER, Dialect::Unbound);
    let mut got = e.first().packet.clone();
    got.edns.as_mut().unwrap().payload = 4096;
    let err = check_entry(&e, &got, cx(Dialect::Unbound, Profile::Strict)).unwrap_err();
    assert!(err.contains("payload"), "{err}");
    assert_eq!(
        check_entry(&e, &got, cx(Dialect::Unbound, Profile::Semantic)),
        Ok(())
    );
    // Deckard `all`: order ignored, no EDNS compare, but every section.
    let d = parse_entry(ANSWER, Dialect::Deckard);
    let mut got = d.first().packet.clone();
    got.answer.reverse();
    got.edns = None;
    assert_eq!(
        check_entry(&d, &got, cx(Dialect::Deckard, Profile::Strict)),
        Ok(())
    );
    got.additional.clear();
    let err = check_entry(&d, &got, cx(Dialect::Deckard, Profile::Strict)).unwrap_err();
    assert!(err.starts_with("ADDITIONAL: missing"), "{err}");
}

#[test]
fn query_match_rules() {
    let e = parse_entry(
        "ENTRY_BEGIN\nMATCH opcode subdomain DO TCP\nSECTION QUESTION\nexample.com. IN NS\nENTRY_END",
        Dialect::Unbound,
    );
    let q = |name: &str, do_bit: bool| {
        let mut p = got_from(&format!(
            "ENTRY_BEGIN\nREPLY RD{}\nSECTION QUESTION\n{name} IN A\nENTRY_END",
            if do_bit { " DO" } else { "" }
        ));
        p.id = 7;
        p
    };
    let tcp = MatchContext {
        transport: Transport::Tcp,
        ..cx(Dialect::Unbound, Profile::Strict)
    };
    assert_eq!(check_entry(&e, &q("a.b.Example.COM.", true), tcp), Ok(()));
    assert!(
        check_entry(
            &e,
            &q("a.b.Example.COM.", true),
            cx(Dialect::Unbound, Profile::Strict)
        )
        .is_err()
    );
    assert!(check_entry(&e, &q("a.b.Example.COM.", false), tcp).is_err());
    assert!(check_entry(&e, &q("xexample.com.", true), tcp).is_err());
    let qname = parse_entry(
        "ENTRY_BEGIN\nMATCH qname qtype\nSECTION QUESTION\nwww.example.com. IN A\nENTRY_END",
        Dialect::Unbound,
    );
    assert_eq!(
        check_entry(&qname, &q("WWW.example.com.", false), tcp),
        Ok(())
    );
    let qcase = parse_entry(
        "ENTRY_BEGIN\nMATCH qcase\nSECTION QUESTION\nwww.example.com. IN A\nENTRY_END",
        Dialect::Deckard,
    );
    assert!(check_entry(&qcase, &q("WWW.example.com.", false), tcp).is_err());
    assert_eq!(Name::from_ascii("a.").unwrap().num_labels(), 1);
}

#[test]
fn ede_option_is_checked_and_removed() {
    let e = parse_entry(
        "ENTRY_BEGIN\nMATCH all ede=9\nREPLY QR RD RA DO SERVFAIL\nSECTION QUESTION\nx. IN A\nENTRY_END",
        Dialect::Unbound,
    );
    let mut got = e.first().packet.clone();
    assert!(check_entry(&e, &got, cx(Dialect::Unbound, Profile::Strict)).is_err());
    got.edns.as_mut().unwrap().options = vec![0, 15, 0, 2, 0, 9];
    assert_eq!(
        check_entry(&e, &got, cx(Dialect::Unbound, Profile::Strict)),
        Ok(())
    );
    got.edns.as_mut().unwrap().options = vec![0, 15, 0, 2, 0, 6];
    let err = check_entry(&e, &got, cx(Dialect::Unbound, Profile::Strict)).unwrap_err();
    assert_eq!(err, "EDE 6, expected 9");
}

#[test]
fn autotrust_config() {
    let file = "server:\n\tfake-sha1: yes\nstub-zone:\n\tname: \".\"\n\tstub-addr: 193.0.14.129 # K\nAUTOTRUST_FILE example.com\nexample.com.\t10800\tIN\tDNSKEY\t257 3 5 AwEAAc3Z5DQDJpH4oPdNtC4BUQHk50XMD+dHr4r8psHmivIa83hxR5CRgCtd9sENCW9Ae8OIO19xw9t/RPaEAqQa+OE= ;{id = 55582 (ksk), size = 512b} ;;state=2 [  VALID  ]\n;;id: example.com. 1\nAUTOTRUST_END\nCONFIG_END\nSCENARIO_BEGIN a\nSTEP 5 TIME_PASSES ELAPSE 1251100000\nSTEP 10 CHECK_AUTOTRUST example.com\nFILE_BEGIN\n; autotrust trust anchor file\nexample.com.\t10800\tIN\tDNSKEY\t257 3 5 AwEAAc3Z5DQDJpH4oPdNtC4BUQHk50XMD+dHr4r8psHmivIa83hxR5CRgCtd9sENCW9Ae8OIO19xw9t/RPaEAqQa+OE= ;{id = 55582 (ksk), size = 512b} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=${$t0}\nFILE_END\nSCENARIO_END\n";
    let s = parse_scenario_as(file, None).unwrap();
    assert_eq!(s.config.dialect, Dialect::Unbound);
    let keys = s.config.autotrust_records("example.com").unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].rtype, RecordType::DNSKEY);
    assert!(s.config.autotrust_records("nope").is_err());
    let StepKind::CheckAutotrust { id, body } = &s.steps[1].kind else {
        panic!()
    };
    assert_eq!(id, "example.com");
    assert_eq!(body.len(), 2);
    // The stand-in exports no RFC 5011 state: the file is skipped, not failed.
    let r = danebound_tests::replay::run_scenario(&s, Profile::Semantic, |_| {
        Ok(danebound_tests::replay::run::ServfailResolver)
    });
    assert!(
        matches!(&r.verdict, danebound_tests::replay::Verdict::Skip(m) if m.contains("CHECK_AUTOTRUST")),
        "{:?}",
        r.verdict
    );
    // A resolver that reports the right key and state passes the check.
    struct Anchors(Vec<u8>);
    impl danebound_tests::replay::ResolverUnderTest for Anchors {
        fn resolve(
            &mut self,
            _: &danebound_resolver::wire::Message,
            _: &danebound_tests::replay::ScenarioNetwork,
            _: danebound_tests::replay::ScenarioTime,
        ) -> Result<danebound_resolver::wire::Message, String> {
            Err("no queries here".into())
        }
        fn autotrust_state(
            &self,
            _: &str,
        ) -> Option<Vec<danebound_tests::replay::run::AutotrustKey>> {
            Some(vec![danebound_tests::replay::run::AutotrustKey {
                dnskey_rdata: self.0.clone(),
                state: 2,
            }])
        }
    }
    let rdata = keys[0].rdata.clone();
    let r = danebound_tests::replay::run_scenario(&s, Profile::Semantic, |_| {
        Ok(Anchors(rdata.clone()))
    });
    assert_eq!(r.verdict, danebound_tests::replay::Verdict::Pass);
    let mut wrong = rdata;
    wrong[0] ^= 1;
    let r = danebound_tests::replay::run_scenario(&s, Profile::Semantic, |_| Ok(Anchors(wrong)));
    assert!(matches!(
        r.verdict,
        danebound_tests::replay::Verdict::Fail { step: 10, .. }
    ));
}
