//! The whole validator against zones signed by real signers.
//!
//! Every case of `tests/data/zones/MANIFEST.md` goes through
//! [`Session`] as the engine drives it: the response to validate and every
//! DS and DNSKEY set the session asks for come from [`ZoneDb`], an
//! authoritative view over the committed fixtures (ldns-signzone and
//! dnssec-signzone output), with the root's DS from `trust-anchor.ds` as the
//! only trust anchor and `now` pinned to 2030-01-01T00:00:00Z.
//!
//! Tests are named after the RFC section they guard. A bogus verdict is
//! checked for its RFC 8914 EDE code and for a reason that names the zone
//! (and the key tag where there is one); a secure one for the data it
//! vouches for. Some tests change a good response (drop a proof, swap a
//! record) to show that the check they guard is really made.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::LazyLock;

use danebound_resolver::validator::{
    Anchors, BogusReason, InsecureReason, Limits, Outcome, RingCrypto, Session, Step, Validated,
};
use danebound_resolver::wire::{
    DNSSECRData, Message, Name, RData, Record, RecordType, ResponseCode,
};
use danebound_tests::zonedb::{FIXTURE_NOW, ZoneDb, fixtures_dir};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

static DB: LazyLock<ZoneDb> = LazyLock::new(ZoneDb::fixtures);
static ANCHORS: LazyLock<Anchors> = LazyLock::new(ZoneDb::fixture_anchors);

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

fn rtype(t: &str) -> RecordType {
    RecordType::from_str(t).unwrap()
}

/// The upstream's response to `q`/`t`.
fn answer(q: &str, t: &str) -> Message {
    DB.answer(&name(q), rtype(t))
}

/// Validate `response` as the answer to `q`/`t`, fetching from the fixtures.
fn validate_response(q: &str, t: &str, response: &Message) -> Validated {
    let crypto = RingCrypto::new();
    let qname = name(q);
    let mut session = Session::new(
        &qname,
        rtype(t),
        response,
        &ANCHORS,
        FIXTURE_NOW,
        Limits::default(),
        &crypto,
    );
    for _ in 0..100 {
        match session.step() {
            Step::Fetch(request) => session.supply(&request, DB.fetch(&request)),
            Step::Done(validated) => return validated,
        }
    }
    panic!("{q} {t}: the session did not finish in 100 steps");
}

/// The DS and DNSKEY fetches a validation of the fixtures' answer to
/// `q`/`t` makes, in order.
fn fetches(q: &str, t: &str) -> Vec<(Name, RecordType)> {
    let crypto = RingCrypto::new();
    let qname = name(q);
    let response = answer(q, t);
    let mut session = Session::new(
        &qname,
        rtype(t),
        &response,
        &ANCHORS,
        FIXTURE_NOW,
        Limits::default(),
        &crypto,
    );
    let mut asked = Vec::new();
    for _ in 0..100 {
        match session.step() {
            Step::Fetch(request) => {
                asked.push((request.name.clone(), request.rtype));
                session.supply(&request, DB.fetch(&request));
            }
            Step::Done(_) => return asked,
        }
    }
    panic!("{q} {t}: the session did not finish in 100 steps");
}

/// Validate the fixtures' answer to `q`/`t`.
fn validate(q: &str, t: &str) -> Validated {
    validate_response(q, t, &answer(q, t))
}

fn assert_secure(q: &str, t: &str) -> Validated {
    let v = validate(q, t);
    assert_eq!(v.outcome, Outcome::Secure, "{q} {t}");
    assert_eq!(v.outcome.ede(), None, "{q} {t}");
    v
}

/// Insecure, with this EDE code (or none).
fn assert_insecure(q: &str, t: &str, ede: Option<u16>) -> InsecureReason {
    let v = validate(q, t);
    let Outcome::Insecure(reason) = &v.outcome else {
        panic!("{q} {t}: expected Insecure, got {:?}", v.outcome);
    };
    assert_eq!(v.outcome.ede().map(|e| e.code), ede, "{q} {t}: {reason}");
    reason.clone()
}

/// Bogus with this EDE code, and a reason whose text names each of `names`
/// (the zone, the key tag, the record).
fn assert_bogus_response(
    q: &str,
    t: &str,
    response: &Message,
    ede: u16,
    names: &[&str],
) -> BogusReason {
    let v = validate_response(q, t, response);
    let Outcome::Bogus(reason) = &v.outcome else {
        panic!("{q} {t}: expected Bogus (EDE {ede}), got {:?}", v.outcome);
    };
    let got = reason.ede();
    assert_eq!(got.code, ede, "{q} {t}: {reason}");
    assert_eq!(got.text, reason.to_string());
    for n in names {
        assert!(
            got.text.contains(n),
            "{q} {t}: {:?} does not name {n}",
            got.text
        );
    }
    assert!(v.answers.is_empty(), "{q} {t}: bogus data passed on");
    reason.clone()
}

fn assert_bogus(q: &str, t: &str, ede: u16, names: &[&str]) -> BogusReason {
    assert_bogus_response(q, t, &answer(q, t), ede, names)
}

/// The data of the validated answer section, as "owner type rdata" lines.
fn data(v: &Validated) -> Vec<String> {
    v.answers
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect()
}

/// Remove the records matching `drop` from the authority section.
fn without_authority(mut m: Message, drop: impl Fn(&Record) -> bool) -> Message {
    let before = m.authorities.len();
    m.authorities.retain(|r| !drop(r));
    assert!(m.authorities.len() < before, "nothing removed");
    m
}

fn is_type(r: &Record, t: RecordType) -> bool {
    r.record_type() == t
        || matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == t)
}

/// The questions that exercise every kind of answer in a case zone: data,
/// in-zone CNAME, NXDOMAIN, NODATA, empty non-terminal, wildcard expansion
/// and wildcard NODATA.
const ZONE_QUESTIONS: &[(&str, &str)] = &[
    ("www", "A"),
    ("www", "AAAA"),
    ("txt", "TXT"),
    ("a.b.ent", "A"),
    ("cname", "A"),
    ("nx", "A"),
    ("www", "TXT"),
    ("ent", "A"),
    ("b.ent", "A"),
    ("x.wild", "A"),
    ("x.wild", "MX"),
];

/// Every kind of answer from `zone` validates Secure, with the data and the
/// rcode the zone holds.
fn assert_zone_secure(zone: &str) {
    for (label, t) in ZONE_QUESTIONS {
        let q = format!("{label}.{zone}");
        let response = answer(&q, t);
        let v = assert_secure(&q, t);
        let expect_rcode = if *label == "nx" {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        assert_eq!(response.metadata.response_code, expect_rcode, "{q} {t}");
        let lines = data(&v);
        match (*label, *t) {
            ("www", "A") => assert_eq!(lines.len(), 1, "{q} {t}: {lines:?}"),
            ("cname", "A") => {
                assert_eq!(lines.len(), 2, "{q}: {lines:?}");
                assert!(lines[0].contains("CNAME"), "{q}: {lines:?}");
            }
            ("x.wild", "A") => {
                assert_eq!(lines.len(), 1, "{q}: {lines:?}");
                assert!(lines[0].starts_with(&q), "{q}: {lines:?}");
            }
            ("nx" | "ent" | "b.ent", _) | (_, "TXT" | "MX") if *label != "txt" => {
                assert!(lines.is_empty(), "{q} {t}: {lines:?}")
            }
            _ => assert!(!lines.is_empty(), "{q} {t}"),
        }
        assert!(
            v.ttl.is_some_and(|ttl| ttl > 0 && ttl <= 3600),
            "{q} {t}: {:?}",
            v.ttl
        );
    }
}

// ---------------------------------------------------------------------------
// The manifest
// ---------------------------------------------------------------------------

/// What each case zone's `www` A (or, for the denial cases, `nx` A) must
/// come out as, with the EDE code of MANIFEST.md's last column.
const MANIFEST_EXPECTATIONS: &[(&str, &str, Expect)] = &[
    ("alg5", "www", Expect::Secure),
    ("alg7", "www", Expect::Secure),
    ("alg8", "www", Expect::Secure),
    ("alg10", "www", Expect::Secure),
    ("alg13", "www", Expect::Secure),
    ("alg14", "www", Expect::Secure),
    ("alg15", "www", Expect::Secure),
    ("alg16", "www", Expect::Secure),
    ("alg5-bind", "www", Expect::Secure),
    ("alg7-ldns", "www", Expect::Secure),
    ("alg10-bind", "www", Expect::Secure),
    ("alg14-bind", "www", Expect::Secure),
    ("alg15-bind", "www", Expect::Secure),
    ("alg16-ldns", "www", Expect::Secure),
    ("nsec3", "www", Expect::Secure),
    ("nsec3-salt", "www", Expect::Secure),
    ("nsec3-ldns", "www", Expect::Secure),
    ("nsec3-optout", "www", Expect::Secure),
    ("nsec3-iter200", "nx", Expect::Insecure(Some(27))),
    ("insecure", "www", Expect::Insecure(None)),
    ("unknown-digest", "www", Expect::Insecure(Some(2))),
    ("unknown-alg", "www", Expect::Insecure(Some(1))),
    ("expired", "www", Expect::Bogus(7)),
    ("notyet", "www", Expect::Bogus(8)),
    ("tampered", "www", Expect::Bogus(6)),
    ("wrongsigner", "www", Expect::Bogus(6)),
    ("dsmismatch", "www", Expect::Bogus(9)),
    ("norrsig", "www", Expect::Bogus(10)),
    ("nodenial", "nx", Expect::Bogus(12)),
    ("nodenial-nsec3", "nx", Expect::Bogus(12)),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Secure,
    Insecure(Option<u16>),
    Bogus(u16),
}

/// The case table of MANIFEST.md: zone file stem → (verdict text, EDE
/// column).
fn manifest_cases() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(fixtures_dir().join("MANIFEST.md")).unwrap();
    let section = text
        .split("## Case zones")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("MANIFEST.md has a case zone table");
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let file = cells
                .get(1)?
                .strip_prefix('`')?
                .strip_suffix(".example.test.zone`")?;
            let ede = cells.get(cells.len() - 2)?.to_string();
            let verdict = cells.get(cells.len() - 3)?.to_string();
            Some((file.to_string(), (verdict, ede)))
        })
        .collect()
}

/// The table above and MANIFEST.md list the same case zones with the same
/// EDE codes, so a case added to the fixtures cannot go untested here.
#[test]
fn manifest_every_case_zone_has_an_expectation_with_its_ede() {
    let manifest = manifest_cases();
    assert!(manifest.len() >= 30, "{manifest:?}");
    let ours: BTreeMap<&str, Expect> = MANIFEST_EXPECTATIONS
        .iter()
        .map(|(zone, _, e)| (*zone, *e))
        .collect();
    for (zone, (verdict, ede)) in &manifest {
        let expect = ours
            .get(zone.as_str())
            .unwrap_or_else(|| panic!("MANIFEST.md case {zone} has no expectation here"));
        let code = match expect {
            Expect::Secure | Expect::Insecure(None) => "-".to_string(),
            Expect::Insecure(Some(c)) | Expect::Bogus(c) => c.to_string(),
        };
        assert_eq!(*ede, code, "{zone}: EDE column");
        let word = match expect {
            Expect::Secure => "Secure",
            Expect::Insecure(_) => "Insecure",
            Expect::Bogus(_) => "Bogus",
        };
        assert!(verdict.contains(word), "{zone}: manifest says {verdict:?}");
    }
    assert_eq!(
        ours.len(),
        manifest.len(),
        "cases here but not in MANIFEST.md"
    );
}

/// Every case of the manifest through the whole session: the verdict and
/// the exact EDE code.
#[test]
fn manifest_every_case_zone_gets_its_verdict_and_ede() {
    let mut failures = Vec::new();
    for (zone, label, expect) in MANIFEST_EXPECTATIONS {
        let q = format!("{label}.{zone}.example.test.");
        let v = validate(&q, "A");
        let got = match &v.outcome {
            Outcome::Secure => Expect::Secure,
            Outcome::Insecure(r) => Expect::Insecure(r.ede().map(|e| e.code)),
            Outcome::Bogus(r) => Expect::Bogus(r.ede().code),
            other => panic!("{q}: {other:?}"),
        };
        if got != *expect {
            failures.push(format!("{q}: expected {expect:?}, got {:?}", v.outcome));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---------------------------------------------------------------------------
// RFC 4035 §5: the chain of trust from the root anchor
// ---------------------------------------------------------------------------

mod rfc4035_section_5 {
    use super::*;

    /// RFC 4035 §5: root (RSA/SHA-256, KSK + ZSK) → `test.` (ECDSA, KSK +
    /// ZSK, BIND) → `example.test.` (ECDSA CSK, ldns), from the root DS alone.
    #[test]
    fn secure_answers_from_the_root_anchor_down_three_levels() {
        assert_secure(".", "SOA");
        assert_secure(".", "DNSKEY");
        assert_secure("test.", "DNSKEY");
        assert_secure("www.test.", "A");
        assert_secure("example.test.", "DS");
        assert_secure("example.test.", "DNSKEY");
        let v = assert_secure("www.example.test.", "A");
        assert_eq!(data(&v), ["www.example.test. A 192.0.2.10"]);
        assert_secure("www.example.test.", "AAAA");
        assert_secure("example.test.", "MX");
    }

    /// Every kind of answer in `example.test.` itself (NSEC, ldns).
    #[test]
    fn every_kind_of_answer_in_example_test_is_secure() {
        assert_zone_secure("example.test.");
    }

    /// Without an anchor there is no verdict (RFC 4033 §5): Indeterminate.
    #[test]
    fn without_a_trust_anchor_the_answer_is_indeterminate() {
        let crypto = RingCrypto::new();
        let qname = name("www.example.test.");
        let response = answer("www.example.test.", "A");
        let anchors = Anchors::new();
        let mut session = Session::new(
            &qname,
            RecordType::A,
            &response,
            &anchors,
            FIXTURE_NOW,
            Limits::default(),
            &crypto,
        );
        let Step::Done(v) = session.step() else {
            panic!("fetch without an anchor");
        };
        assert_eq!(v.outcome, Outcome::Indeterminate);
    }
}

// ---------------------------------------------------------------------------
// RFC 4035 §5.2: authenticating DNSKEY sets from DS records
// ---------------------------------------------------------------------------

mod rfc4035_section_5_2 {
    use super::*;

    /// "If none of the DS RRs match a DNSKEY that signs the DNSKEY RRset,
    /// the validator has no way to authenticate it": the parent's DS names
    /// key 38133 (`keys/dsmismatch.example.test/other`), which the zone does
    /// not publish. EDE 9 (DNSKEY Missing), naming the zone and the DS tag.
    #[test]
    fn ds_matching_no_published_key_is_bogus_ede_9() {
        for (q, t) in [
            ("www.dsmismatch.example.test.", "A"),
            ("txt.dsmismatch.example.test.", "TXT"),
            ("nx.dsmismatch.example.test.", "A"),
            ("dsmismatch.example.test.", "DNSKEY"),
        ] {
            let r = assert_bogus(q, t, 9, &["dsmismatch.example.test.", "38133"]);
            assert!(matches!(r, BogusReason::DsMismatch { .. }), "{r:?}");
        }
        // The DS itself is genuine: the parent signed it.
        assert_secure("dsmismatch.example.test.", "DS");
    }

    /// "If the validator does not support any of the algorithms listed in
    /// an authenticated DS RRset, then the resolver has no supported
    /// authentication path": insecure, not bogus (also RFC 6840 §5.2). The
    /// only DS of `unknown-alg.` has algorithm 100: EDE 1.
    #[test]
    fn ds_of_unknown_algorithm_only_is_insecure_ede_1() {
        for (q, t) in [
            ("www.unknown-alg.example.test.", "A"),
            ("nx.unknown-alg.example.test.", "A"),
            ("x.wild.unknown-alg.example.test.", "A"),
        ] {
            let r = assert_insecure(q, t, Some(1));
            assert!(r.to_string().contains("unknown-alg.example.test."), "{r}");
            assert!(
                matches!(r, InsecureReason::UnsupportedAlgorithm { .. }),
                "{r:?}"
            );
            // No supported DS, no path: the zone's keys are not asked for.
            let zone = name("unknown-alg.example.test.");
            let asked = fetches(q, t);
            assert!(asked.contains(&(zone.clone(), RecordType::DS)), "{asked:?}");
            assert!(!asked.contains(&(zone, RecordType::DNSKEY)), "{asked:?}");
        }
        assert_secure("unknown-alg.example.test.", "DS");
    }

    /// The same for digest types: the only DS of `unknown-digest.` has
    /// digest type 100: insecure, EDE 2.
    #[test]
    fn ds_of_unknown_digest_type_only_is_insecure_ede_2() {
        for (q, t) in [
            ("www.unknown-digest.example.test.", "A"),
            ("nx.unknown-digest.example.test.", "A"),
        ] {
            let r = assert_insecure(q, t, Some(2));
            assert!(
                r.to_string().contains("unknown-digest.example.test."),
                "{r}"
            );
            assert!(
                matches!(r, InsecureReason::UnsupportedDigest { .. }),
                "{r:?}"
            );
            let zone = name("unknown-digest.example.test.");
            let asked = fetches(q, t);
            assert!(asked.contains(&(zone.clone(), RecordType::DS)), "{asked:?}");
            assert!(!asked.contains(&(zone, RecordType::DNSKEY)), "{asked:?}");
        }
    }

    /// An NSEC proving the delegation has NS but no DS makes the child
    /// insecure (no EDE: nothing failed), for data, denials and wildcards;
    /// the DS denial itself is Secure.
    #[test]
    fn delegation_proven_without_ds_is_insecure() {
        for (label, t) in ZONE_QUESTIONS {
            let q = format!("{label}.insecure.example.test.");
            let r = assert_insecure(&q, t, None);
            assert_eq!(
                r,
                InsecureReason::UnsignedDelegation {
                    zone: name("insecure.example.test.")
                },
                "{q} {t}"
            );
        }
        assert_secure("insecure.example.test.", "DS");
    }

    /// The same DS denial, with the NSEC that proves it removed: an
    /// unsigned child cannot be claimed without proof (RFC 4035 §5.2: "the
    /// resolver MUST NOT" accept an unsigned referral from a signed parent).
    #[test]
    fn ds_denial_without_nsec_is_bogus_ede_12() {
        let response = without_authority(answer("insecure.example.test.", "DS"), |r| {
            is_type(r, RecordType::NSEC)
        });
        assert_bogus_response(
            "insecure.example.test.",
            "DS",
            &response,
            12,
            &["example.test."],
        );
    }
}

// ---------------------------------------------------------------------------
// RFC 4035 §5.3: RRSIG checks
// ---------------------------------------------------------------------------

mod rfc4035_section_5_3_1 {
    use super::*;

    /// "The validator's notion of the current time MUST be less than or
    /// equal to the time listed in the RRSIG RR's Expiration field": every
    /// signature of `expired.` ended 2025-01-01. EDE 7, naming the zone and
    /// key 57084; a CNAME into the zone is bogus the same way.
    #[test]
    fn rrsig_expired_is_bogus_ede_7() {
        for (q, t) in [
            ("www.expired.example.test.", "A"),
            ("txt.expired.example.test.", "TXT"),
            ("nx.expired.example.test.", "A"),
            ("x.wild.expired.example.test.", "A"),
            ("cname-bogus.example.test.", "A"),
        ] {
            let r = assert_bogus(q, t, 7, &["expired.example.test.", "57084"]);
            assert!(matches!(r, BogusReason::SignatureExpired { .. }), "{r:?}");
        }
    }

    /// "The validator's notion of the current time MUST be greater than or
    /// equal to the time listed in the RRSIG RR's Inception field": the
    /// signatures of `notyet.` start in 2040. EDE 8, naming key 38823.
    #[test]
    fn rrsig_not_yet_valid_is_bogus_ede_8() {
        for (q, t) in [
            ("www.notyet.example.test.", "A"),
            ("txt.notyet.example.test.", "TXT"),
            ("nx.notyet.example.test.", "A"),
        ] {
            let r = assert_bogus(q, t, 8, &["notyet.example.test.", "38823"]);
            assert!(
                matches!(r, BogusReason::SignatureNotYetValid { .. }),
                "{r:?}"
            );
        }
    }

    /// `now` is an input, not the wall clock: at times inside the broken
    /// zones' windows, the good zones' signatures (2026 .. 2036) are out of
    /// theirs, and the chain fails at the root instead.
    #[test]
    fn rrsig_validity_window_is_judged_at_the_given_time() {
        let crypto = RingCrypto::new();
        for (q, now) in [
            // 2024-06-01: inside 2020 .. 2025.
            ("www.expired.example.test.", 1_717_200_000),
            // 2045-01-01: inside 2040 .. 2050.
            ("www.notyet.example.test.", 2_366_841_600),
        ] {
            let qname = name(q);
            let response = answer(q, "A");
            let mut session = Session::new(
                &qname,
                RecordType::A,
                &response,
                &ANCHORS,
                now,
                Limits::default(),
                &crypto,
            );
            let v = loop {
                match session.step() {
                    Step::Fetch(r) => session.supply(&r, DB.fetch(&r)),
                    Step::Done(v) => break v,
                }
            };
            let text = v.outcome.ede().map(|e| e.text).unwrap_or_default();
            assert!(v.outcome.is_bogus(), "{q} at {now}: {:?}", v.outcome);
            assert!(
                text.contains(". DNSKEY") || text.contains("by . "),
                "{q}: {text}"
            );
        }
    }

    /// The cryptographic check itself: one base64 character of the RRSIG
    /// over `www.tampered.` A flipped. EDE 6, naming the RRset and key
    /// 10586; the rest of the zone is untouched and Secure.
    #[test]
    fn rrsig_that_does_not_verify_is_bogus_ede_6() {
        for (q, t) in [
            ("www.tampered.example.test.", "A"),
            ("cname.tampered.example.test.", "A"),
        ] {
            let r = assert_bogus(
                q,
                t,
                6,
                &[
                    "www.tampered.example.test. A",
                    "tampered.example.test.",
                    "10586",
                ],
            );
            assert!(matches!(r, BogusReason::SignatureInvalid { .. }), "{r:?}");
        }
        assert_zone_secure_except_www("tampered.example.test.");
    }

    /// "The RRSIG RR's Signer's Name field MUST be the name of the zone that
    /// contains the RRset": the RRSIG over `www.wrongsigner.` A names the
    /// parent `example.test.`. Bogus, naming the RRset; the rest is Secure.
    #[test]
    fn signer_name_not_the_zone_of_the_rrset_is_bogus() {
        let v = validate("www.wrongsigner.example.test.", "A");
        let Outcome::Bogus(r) = &v.outcome else {
            panic!("{:?}", v.outcome);
        };
        let text = r.to_string();
        assert!(text.contains("www.wrongsigner.example.test. A"), "{text}");
        assert!(text.contains("example.test."), "{text}");
        assert!(v.answers.is_empty());
        assert_zone_secure_except_www("wrongsigner.example.test.");
    }

    /// The manifest's exact code for that case: EDE 6 (DNSSEC Bogus), as
    /// for any RRSIG naming a key its signer does not have (RFC 8914 §4.10
    /// keeps 9 for DS mismatches). The reason names the RRset, the signer it
    /// claims and the key tag.
    #[test]
    fn signer_name_must_be_the_zone_of_the_rrset_ede_6() {
        assert_bogus(
            "www.wrongsigner.example.test.",
            "A",
            6,
            &[
                "www.wrongsigner.example.test. A",
                "wrongsigner.example.test.",
            ],
        );
    }

    fn assert_zone_secure_except_www(zone: &str) {
        for (label, t) in ZONE_QUESTIONS {
            if *label == "www" && *t == "A" || *label == "cname" {
                continue;
            }
            assert_secure(&format!("{label}.{zone}"), t);
        }
    }

    /// RFC 4035 §5.3.3: the TTL of a validated RRset is capped by the
    /// RRSIG's Original TTL, whatever TTL the upstream sent.
    #[test]
    fn ttl_is_capped_by_the_original_ttl() {
        let mut response = answer("www.example.test.", "A");
        for r in &mut response.answers {
            r.ttl = 999_999;
        }
        let v = validate_response("www.example.test.", "A", &response);
        assert_eq!(v.outcome, Outcome::Secure);
        assert_eq!(v.ttl, Some(3600));
        // A lower TTL than the original stays.
        for r in &mut response.answers {
            r.ttl = 60;
        }
        let v = validate_response("www.example.test.", "A", &response);
        assert_eq!(v.ttl, Some(60));
    }
}

mod rfc4035_section_5_3 {
    use super::*;

    /// An RRset from a signed zone without any RRSIG: the RRSIG over
    /// `www.norrsig.` A was deleted. EDE 10 (RRSIGs Missing), naming the
    /// RRset and the zone; the rest of the zone is Secure.
    #[test]
    fn rrset_without_rrsig_in_a_signed_zone_is_bogus_ede_10() {
        for (q, t) in [
            ("www.norrsig.example.test.", "A"),
            ("cname.norrsig.example.test.", "A"),
        ] {
            let r = assert_bogus(
                q,
                t,
                10,
                &["www.norrsig.example.test. A", "norrsig.example.test."],
            );
            assert!(matches!(r, BogusReason::RrsigsMissing { .. }), "{r:?}");
        }
        assert_secure("txt.norrsig.example.test.", "TXT");
        assert_secure("www.norrsig.example.test.", "AAAA");
        assert_secure("nx.norrsig.example.test.", "A");
    }

    /// The same made by stripping signatures off a good answer, at each
    /// level of a chain: the answer, a CNAME link, and the DNSKEY set.
    #[test]
    fn stripping_rrsigs_from_a_good_answer_is_bogus_ede_10() {
        let mut response = answer("www.example.test.", "A");
        response
            .answers
            .retain(|r| r.record_type() != RecordType::RRSIG);
        assert_bogus_response(
            "www.example.test.",
            "A",
            &response,
            10,
            &["www.example.test. A", "example.test."],
        );
        let mut response = answer("cname-cross.example.test.", "A");
        response
            .answers
            .retain(|r| !is_type(r, RecordType::CNAME) || r.record_type() == RecordType::CNAME);
        assert_bogus_response(
            "cname-cross.example.test.",
            "A",
            &response,
            10,
            &["cname-cross.example.test. CNAME"],
        );
    }
}

// ---------------------------------------------------------------------------
// RFC 8624 §3.1 and the algorithm RFCs: every algorithm, from both signers
// ---------------------------------------------------------------------------

mod rfc8624_section_3_1 {
    use super::*;

    /// RSA/SHA-1 (RFC 3110), from ldns and BIND.
    #[test]
    fn rfc3110_rsasha1_alg5_zones_are_secure() {
        assert_zone_secure("alg5.example.test.");
        assert_zone_secure("alg5-bind.example.test.");
    }

    /// RSASHA1-NSEC3-SHA1 (RFC 5155 §2), with NSEC3 denial, from BIND and
    /// ldns.
    #[test]
    fn rfc5155_rsasha1_nsec3_sha1_alg7_zones_are_secure() {
        assert_zone_secure("alg7.example.test.");
        assert_zone_secure("alg7-ldns.example.test.");
    }

    /// RSA/SHA-256 (RFC 5702 §3), from BIND (and the root, from ldns).
    #[test]
    fn rfc5702_rsasha256_alg8_zone_is_secure() {
        assert_zone_secure("alg8.example.test.");
    }

    /// RSA/SHA-512 (RFC 5702 §3), from ldns and BIND.
    #[test]
    fn rfc5702_rsasha512_alg10_zones_are_secure() {
        assert_zone_secure("alg10.example.test.");
        assert_zone_secure("alg10-bind.example.test.");
    }

    /// ECDSA P-256/SHA-256 (RFC 6605), from BIND.
    #[test]
    fn rfc6605_ecdsap256sha256_alg13_zone_is_secure() {
        assert_zone_secure("alg13.example.test.");
    }

    /// ECDSA P-384/SHA-384 (RFC 6605), from ldns and BIND.
    #[test]
    fn rfc6605_ecdsap384sha384_alg14_zones_are_secure() {
        assert_zone_secure("alg14.example.test.");
        assert_zone_secure("alg14-bind.example.test.");
    }

    /// Ed25519 (RFC 8080), from ldns and BIND.
    #[test]
    fn rfc8080_ed25519_alg15_zones_are_secure() {
        assert_zone_secure("alg15.example.test.");
        assert_zone_secure("alg15-bind.example.test.");
    }

    /// Ed448 (RFC 8080), from BIND and ldns: supported, so Secure.
    #[test]
    fn rfc8080_ed448_alg16_zones_are_secure() {
        assert_zone_secure("alg16.example.test.");
        assert_zone_secure("alg16-ldns.example.test.");
    }
}

// ---------------------------------------------------------------------------
// RFC 4035 §5.4 (and §5.3.4): NSEC denial and wildcards
// ---------------------------------------------------------------------------

mod rfc4035_section_5_4 {
    use super::*;

    /// NXDOMAIN needs the NSEC covering the name and the NSEC showing no
    /// wildcard could have matched (RFC 4035 §3.1.3.2, §5.4).
    #[test]
    fn name_error_is_secure_with_both_nsecs_and_bogus_without_the_wildcard_nsec() {
        let response = answer("nx.example.test.", "A");
        let nsecs: Vec<&Record> = response
            .authorities
            .iter()
            .filter(|r| r.record_type() == RecordType::NSEC)
            .collect();
        assert_eq!(nsecs.len(), 2, "{nsecs:?}");
        assert_secure("nx.example.test.", "A");
        // The apex NSEC (example.test. → alg10) covers *.example.test.
        let apex = name("example.test.");
        let response =
            without_authority(response, |r| r.name == apex && is_type(r, RecordType::NSEC));
        let r = assert_bogus_response("nx.example.test.", "A", &response, 12, &["example.test."]);
        assert!(r.to_string().contains("nx.example.test."), "{r}");
    }

    /// A NXDOMAIN for a name that exists: the NSECs of another name do not
    /// cover it.
    #[test]
    fn name_error_for_an_existing_name_is_bogus() {
        let mut response = answer("nx.example.test.", "A");
        response.queries.clear();
        let v = validate_response("www.example.test.", "A", &response);
        assert!(v.outcome.is_bogus(), "{:?}", v.outcome);
    }

    /// NODATA needs the NSEC at the name without the type in its bitmap.
    #[test]
    fn no_data_is_secure_with_the_matching_nsec_and_bogus_with_another() {
        assert_secure("www.example.test.", "TXT");
        assert_secure("example.test.", "TXT");
        // The NSEC of txt.example.test. (which has TXT) instead.
        let mut response = answer("www.example.test.", "TXT");
        response
            .authorities
            .retain(|r| !is_type(r, RecordType::NSEC));
        let other = answer("txt.example.test.", "MX");
        response.authorities.extend(
            other
                .authorities
                .into_iter()
                .filter(|r| is_type(r, RecordType::NSEC)),
        );
        assert!(
            validate_response("www.example.test.", "TXT", &response)
                .outcome
                .is_bogus()
        );
        // The right NSEC, but a type it lists: www has A.
        let response = answer("www.example.test.", "TXT");
        let v = validate_response("www.example.test.", "A", &response);
        assert!(v.outcome.is_bogus(), "{:?}", v.outcome);
    }

    /// Empty non-terminals (RFC 4035 §3.1.3.2, RFC 6840 §4.1 ancestor rules):
    /// `ent` and `b.ent` exist only because `a.b.ent` does.
    #[test]
    fn empty_non_terminals_are_secure_no_data() {
        assert_secure("ent.example.test.", "A");
        assert_secure("b.ent.example.test.", "AAAA");
        assert_secure("a.b.ent.example.test.", "A");
    }

    /// RFC 4035 §5.3.4: an answer expanded from `*.wild` (RRSIG labels one
    /// less than the owner's) needs the NSEC proving the name itself does
    /// not exist; without it, EDE 12.
    #[test]
    fn wildcard_expansion_needs_the_nsec_for_the_exact_name() {
        let v = assert_secure("x.wild.example.test.", "A");
        assert_eq!(data(&v), ["x.wild.example.test. A 192.0.2.12"]);
        assert_secure("a.b.wild.example.test.", "TXT");
        let response = without_authority(answer("x.wild.example.test.", "A"), |r| {
            is_type(r, RecordType::NSEC)
        });
        let r = assert_bogus_response(
            "x.wild.example.test.",
            "A",
            &response,
            12,
            &["x.wild.example.test."],
        );
        assert!(matches!(r, BogusReason::DenialMissing { .. }), "{r:?}");
    }

    /// RFC 4035 §5.3.4 with §5.4: an NSEC whose RRSIG Labels field is
    /// smaller than its owner's label count verifies only as the wildcard's
    /// own NSEC (`*.wild`, reconstructed per §5.3.2). Replayed under another
    /// owner — here `!.wild`, which sorts before `*.wild` — its span would
    /// cover the wildcard and the name, and forge a NXDOMAIN for a name the
    /// wildcard answers. It must prove nothing: bogus.
    #[test]
    fn wildcard_expanded_nsec_proves_nothing() {
        let forged_owner = Name::from_labels([&b"!"[..], b"wild", b"example", b"test"]).unwrap();
        let q = "x.wild.example.test.";
        let wildcard = name("*.wild.example.test.");
        let real = answer("x.wild.example.test.", "MX");
        let mut response = answer("nx.example.test.", "A");
        assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
        response.authorities.retain(|r| is_type(r, RecordType::SOA));
        for r in real.authorities.iter().filter(|r| r.name == wildcard) {
            let mut r = r.clone();
            r.name = forged_owner.clone();
            response.authorities.push(r);
        }
        assert_eq!(response.authorities.len(), 4, "SOA, NSEC and their RRSIGs");
        let v = validate_response(q, "A", &response);
        assert!(
            v.outcome.is_bogus(),
            "forged NXDOMAIN for {q}: {:?}",
            v.outcome
        );
    }

    /// RFC 4035 §3.1.3.4: wildcard NODATA needs the NSEC covering the name
    /// and the NSEC of the wildcard without the type.
    #[test]
    fn wildcard_no_data_needs_both_nsecs() {
        assert_secure("x.wild.example.test.", "MX");
        let wildcard = name("*.wild.example.test.");
        let response = without_authority(answer("x.wild.example.test.", "MX"), |r| {
            r.name == wildcard && is_type(r, RecordType::NSEC)
        });
        let v = validate_response("x.wild.example.test.", "MX", &response);
        assert!(v.outcome.is_bogus(), "{:?}", v.outcome);
    }

    /// A zone whose NSEC records were all removed: positive answers are
    /// Secure, every denial is bogus with EDE 12 naming the zone.
    #[test]
    fn denials_without_nsec_are_bogus_ede_12() {
        assert_denials_missing("nodenial.example.test.");
    }
}

fn assert_denials_missing(zone: &str) {
    assert_secure(&format!("www.{zone}"), "A");
    assert_secure(&format!("txt.{zone}"), "TXT");
    assert_secure(&format!("cname.{zone}"), "A");
    for (label, t) in [
        ("nx", "A"),
        ("www", "TXT"),
        ("ent", "A"),
        ("x.wild", "A"),
        ("x.wild", "TXT"),
    ] {
        let q = format!("{label}.{zone}");
        let r = assert_bogus(&q, t, 12, &[zone, &q]);
        assert!(
            matches!(r, BogusReason::DenialMissing { .. }),
            "{q} {t}: {r:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// RFC 5155 §8 and RFC 9276: NSEC3
// ---------------------------------------------------------------------------

mod rfc5155_section_8 {
    use super::*;

    /// NSEC3 without salt and iterations (BIND), with salt CAFE and 10
    /// iterations (BIND), with salt BEEF and 5 iterations (ldns): every
    /// kind of answer and proof (§8.4 name error, §8.5–8.7 no data, §8.8
    /// wildcard) is Secure.
    #[test]
    fn every_kind_of_answer_is_secure_for_each_salt_and_iteration_count() {
        assert_zone_secure("nsec3.example.test.");
        assert_zone_secure("nsec3-salt.example.test.");
        assert_zone_secure("nsec3-ldns.example.test.");
    }

    /// §8.4: the closest encloser proof needs the NSEC3 covering the next
    /// closer name; without it, bogus.
    #[test]
    fn name_error_without_the_next_closer_nsec3_is_bogus() {
        for zone in ["nsec3.example.test.", "nsec3-salt.example.test."] {
            let q = format!("nx.{zone}");
            let response = answer(&q, "A");
            let nsec3: Vec<Name> = response
                .authorities
                .iter()
                .filter(|r| r.record_type() == RecordType::NSEC3)
                .map(|r| r.name.clone())
                .collect();
            assert_eq!(nsec3.len(), 3, "{q}: matching CE, next closer, wildcard");
            // Drop each of the three in turn.
            for drop in &nsec3 {
                let cut = without_authority(response.clone(), |r| {
                    r.name == *drop && is_type(r, RecordType::NSEC3)
                });
                let v = validate_response(&q, "A", &cut);
                assert!(v.outcome.is_bogus(), "{q} without {drop}: {:?}", v.outcome);
                assert_eq!(
                    v.outcome.ede().map(|e| e.code),
                    Some(12),
                    "{q} without {drop}"
                );
            }
        }
    }

    /// §8.8: a wildcard answer needs the NSEC3 covering the next closer.
    #[test]
    fn wildcard_expansion_without_nsec3_is_bogus_ede_12() {
        let q = "x.wild.nsec3-salt.example.test.";
        let response = without_authority(answer(q, "A"), |r| is_type(r, RecordType::NSEC3));
        assert_bogus_response(q, "A", &response, 12, &[q]);
    }

    /// All NSEC3 records removed (NSEC3PARAM kept): positive answers are
    /// Secure, every denial is bogus with EDE 12.
    #[test]
    fn denials_without_nsec3_are_bogus_ede_12() {
        assert_denials_missing("nodenial-nsec3.example.test.");
    }

    /// §8.9 / RFC 4035 §5.2: a delegation proven by a matching NSEC3 whose
    /// bitmap has NS but no DS is insecure below, and the DS denial itself
    /// Secure.
    #[test]
    fn delegation_with_nsec3_proving_no_ds_is_insecure() {
        let r = assert_insecure("www.unsigned.nsec3.example.test.", "A", None);
        assert_eq!(
            r,
            InsecureReason::UnsignedDelegation {
                zone: name("unsigned.nsec3.example.test.")
            }
        );
        assert_insecure("nx.unsigned.nsec3.example.test.", "A", None);
        assert_secure("unsigned.nsec3.example.test.", "DS");
    }

    /// §8.9 and RFC 5155 §9.2 (Opt-Out): signed names are Secure; a
    /// delegation without its own NSEC3, covered by an Opt-Out span, is
    /// insecure; a NXDOMAIN whose next closer name lies in an Opt-Out span
    /// is insecure (no AD), and so is a wildcard answer, whose proof is the
    /// same covering NSEC3: an unsigned delegation could hide there.
    #[test]
    fn opt_out_spans_make_unsigned_delegations_and_denials_insecure() {
        let zone = "nsec3-optout.example.test.";
        for (label, t) in [
            ("www", "A"),
            ("www", "AAAA"),
            ("txt", "TXT"),
            ("a.b.ent", "A"),
            ("cname", "A"),
            ("www", "TXT"),
            ("ent", "A"),
        ] {
            assert_secure(&format!("{label}.{zone}"), t);
        }
        for (q, t) in [
            ("www.unsigned.nsec3-optout.example.test.", "A"),
            ("unsigned.nsec3-optout.example.test.", "DS"),
            ("nx.nsec3-optout.example.test.", "A"),
            ("x.wild.nsec3-optout.example.test.", "A"),
            ("x.wild.nsec3-optout.example.test.", "TXT"),
        ] {
            let r = assert_insecure(q, t, None);
            assert!(
                matches!(r, InsecureReason::UnsignedDelegation { .. }),
                "{q} {t}: {r:?}"
            );
        }
    }

    /// RFC 9276 §3.2: 200 iterations are over the limit of 150; denials are
    /// insecure with EDE 27 naming the zone, positive answers Secure.
    #[test]
    fn rfc9276_more_than_150_iterations_make_denials_insecure_ede_27() {
        let zone = "nsec3-iter200.example.test.";
        assert_secure(&format!("www.{zone}"), "A");
        assert_secure(&format!("txt.{zone}"), "TXT");
        for (label, t) in [
            ("nx", "A"),
            ("www", "TXT"),
            ("ent", "A"),
            ("x.wild", "A"),
            ("x.wild", "TXT"),
        ] {
            let q = format!("{label}.{zone}");
            let r = assert_insecure(&q, t, Some(27));
            assert!(r.to_string().contains(zone), "{q}: {r}");
        }
        // With a limit above 200 the same proofs validate: the verdict
        // comes from the iteration check.
        let crypto = RingCrypto::new();
        let q = name(&format!("nx.{zone}"));
        let response = DB.answer(&q, RecordType::A);
        let limits = Limits {
            max_nsec3_iterations: 200,
            ..Limits::default()
        };
        let mut session = Session::new(
            &q,
            RecordType::A,
            &response,
            &ANCHORS,
            FIXTURE_NOW,
            limits,
            &crypto,
        );
        let v = loop {
            match session.step() {
                Step::Fetch(r) => session.supply(&r, DB.fetch(&r)),
                Step::Done(v) => break v,
            }
        };
        assert_eq!(v.outcome, Outcome::Secure);
    }
}

// ---------------------------------------------------------------------------
// RFC 1034 §3.6.2 and RFC 6672: CNAME and DNAME chains
// ---------------------------------------------------------------------------

mod rfc6672_and_cname_chains {
    use super::*;

    /// Each link validated on its own: in-zone, two links, and across a
    /// zone cut (example.test. ECDSA → alg8.example.test. RSA).
    #[test]
    fn cname_chains_in_zone_and_across_zones_are_secure() {
        let v = assert_secure("cname.example.test.", "A");
        assert_eq!(
            data(&v),
            [
                "cname.example.test. CNAME www.example.test.",
                "www.example.test. A 192.0.2.10"
            ]
        );
        let v = assert_secure("cname-chain.example.test.", "A");
        assert_eq!(data(&v).len(), 3);
        let v = assert_secure("cname-cross.example.test.", "A");
        assert_eq!(
            data(&v),
            [
                "cname-cross.example.test. CNAME www.alg8.example.test.",
                "www.alg8.example.test. A 192.0.2.20"
            ]
        );
        // Asking for the CNAME itself.
        assert_secure("cname-cross.example.test.", "CNAME");
    }

    /// A chain into an unsigned zone is as strong as its weakest link:
    /// Insecure, naming the unsigned zone.
    #[test]
    fn cname_into_an_insecure_zone_is_insecure() {
        let r = assert_insecure("cname-insecure.example.test.", "A", None);
        assert_eq!(
            r,
            InsecureReason::UnsignedDelegation {
                zone: name("insecure.example.test.")
            }
        );
    }

    /// A chain into a bogus zone is bogus, with the target zone's reason.
    #[test]
    fn cname_into_a_bogus_zone_is_bogus_ede_7() {
        assert_bogus(
            "cname-bogus.example.test.",
            "A",
            7,
            &["expired.example.test.", "57084"],
        );
    }

    /// A chain ending in a NXDOMAIN: the CNAME is Secure and so is the
    /// denial of its target (RFC 6604: the rcode is the last link's).
    #[test]
    fn cname_to_a_nonexistent_name_is_a_secure_name_error() {
        let response = answer("cname-dangling.example.test.", "A");
        assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
        let v = assert_secure("cname-dangling.example.test.", "A");
        assert_eq!(
            data(&v),
            ["cname-dangling.example.test. CNAME nx.example.test."]
        );
        // Without the denial of the target, EDE 12.
        let cut = without_authority(response, |r| is_type(r, RecordType::NSEC));
        assert_bogus_response(
            "cname-dangling.example.test.",
            "A",
            &cut,
            12,
            &["nx.example.test."],
        );
    }

    /// RFC 6672 §3 / §5.3.1: the signed DNAME validates and the unsigned
    /// CNAME synthesised from it is accepted when it matches the
    /// substitution; a forged one is bogus.
    #[test]
    fn dname_with_its_synthesised_cname_is_secure_and_a_forged_cname_bogus() {
        let v = assert_secure("www.dname.example.test.", "A");
        assert_eq!(
            data(&v)[1..],
            [
                "www.dname.example.test. CNAME www.alg13.example.test.".to_string(),
                "www.alg13.example.test. A 192.0.2.20".to_string()
            ]
        );
        assert_secure("nx.dname.example.test.", "A");
        let mut response = answer("www.dname.example.test.", "A");
        for r in &mut response.answers {
            if let RData::CNAME(c) = &mut r.data {
                c.0 = name("www.alg8.example.test.");
            }
        }
        let v = validate_response("www.dname.example.test.", "A", &response);
        assert!(v.outcome.is_bogus(), "{:?}", v.outcome);
    }

    /// RFC 6672 §3.1: the synthesised CNAME has the DNAME's class. One of
    /// another class (found by the byte-flipping test in
    /// resolver/tests/session_robustness.rs) is not what the DNAME says.
    #[test]
    fn dname_synthesised_cname_of_another_class_is_not_accepted() {
        let mut response = answer("www.dname.example.test.", "A");
        for r in &mut response.answers {
            if r.record_type() == RecordType::CNAME {
                r.dns_class = danebound_resolver::wire::DNSClass::NONE;
            }
        }
        let v = validate_response("www.dname.example.test.", "A", &response);
        let passed_on = v.answers.iter().any(|r| {
            r.record_type() == RecordType::CNAME
                && r.dns_class != danebound_resolver::wire::DNSClass::IN
        });
        assert!(
            v.outcome.is_bogus() || !passed_on,
            "{:?} with a CNAME of class NONE",
            v.outcome
        );
    }
}

/// KeyTrap-style amplification through the upstream: the number of DS and
/// DNSKEY fetches one validation may make is bounded (`Limits::max_fetches`).
#[test]
fn budget_bounds_the_fetches_of_one_validation() {
    let crypto = RingCrypto::new();
    let q = name("www.example.test.");
    let response = DB.answer(&q, RecordType::A);
    let run = |max_fetches: u32| {
        let mut session = Session::new(
            &q,
            RecordType::A,
            &response,
            &ANCHORS,
            FIXTURE_NOW,
            Limits {
                max_fetches,
                ..Limits::default()
            },
            &crypto,
        );
        let mut fetches = 0;
        loop {
            match session.step() {
                Step::Fetch(r) => {
                    fetches += 1;
                    session.supply(&r, DB.fetch(&r));
                }
                Step::Done(v) => break (v, fetches),
            }
        }
    };
    // root DNSKEY, test. DS and DNSKEY, example.test. DS and DNSKEY.
    let (v, fetches) = run(64);
    assert_eq!(v.outcome, Outcome::Secure);
    assert_eq!(fetches, 5);
    let (v, fetches) = run(3);
    assert_eq!(fetches, 3);
    match v.outcome {
        Outcome::Bogus(BogusReason::BudgetExceeded { limit, .. }) => {
            assert_eq!(limit, "max_fetches");
        }
        other => panic!("expected a budget failure, got {other:?}"),
    }
}
