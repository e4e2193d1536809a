//! NSEC3 denial proofs against RFC 5155 Appendix A (the example zone and its
//! hashes) and Appendix B (the example responses), the unbound hash vectors,
//! and the negative cases each check exists for.
//!
//! The example zone's NSEC3 chain is reproduced from RFC 5155 Appendix A
//! (salt aabbccdd, 12 iterations, Opt-Out set on every record). Where a test
//! needs a proof without Opt-Out it clears the flag: the hashes do not depend
//! on it.

mod common;

use danebound_resolver::validator::denial::DenialResult;
use danebound_resolver::validator::denial::nsec3::*;
use danebound_resolver::validator::outcome::ede_code;
use danebound_resolver::validator::{BogusReason, Budget, InsecureReason, Limits, Outcome};
use danebound_resolver::wire::{NSEC3, Name, Nsec3HashAlgorithm, RecordType};

use RecordType::{A, AAAA, CNAME, DNAME, DNSKEY, DS, HINFO, MX, NS, NSEC3PARAM, RRSIG, SOA};

const SALT: [u8; 4] = [0xaa, 0xbb, 0xcc, 0xdd];
const ITERATIONS: u16 = 12;

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn example() -> Name {
    n("example.")
}

fn b32(s: &str) -> Vec<u8> {
    data_encoding::BASE32_DNSSEC.decode(s.as_bytes()).unwrap()
}

/// An owned NSEC3 record, for building test responses.
struct Rec(Name, NSEC3);

fn rec(owner_hash: &str, next_hash: &str, types: &[RecordType], opt_out: bool) -> Rec {
    rec_with(
        owner_hash,
        next_hash,
        types,
        opt_out,
        ITERATIONS,
        SALT.to_vec(),
    )
}

fn rec_with(
    owner_hash: &str,
    next_hash: &str,
    types: &[RecordType],
    opt_out: bool,
    iterations: u16,
    salt: Vec<u8>,
) -> Rec {
    let owner = n(&format!("{owner_hash}.example."));
    let nsec3 = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        opt_out,
        iterations,
        salt,
        b32(next_hash),
        types.iter().copied(),
    );
    Rec(owner, nsec3)
}

fn view(recs: &[Rec]) -> Vec<Nsec3Record<'_>> {
    recs.iter().map(|r| Nsec3Record::new(&r.0, &r.1)).collect()
}

/// RFC 5155 Appendix A: the NSEC3 chain of `example.`, in hash order.
const CHAIN: &[(&str, &str, &[RecordType])] = &[
    (
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
        &[MX, DNSKEY, NS, SOA, NSEC3PARAM, RRSIG],
    ),
    (
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
        "2vptu5timamqttgl4luu9kg21e0aor3s",
        &[A, RRSIG],
    ),
    (
        "2vptu5timamqttgl4luu9kg21e0aor3s",
        "35mthgpgcu1qg68fab165klnsnk3dpvl",
        &[MX, RRSIG],
    ),
    (
        "35mthgpgcu1qg68fab165klnsnk3dpvl",
        "b4um86eghhds6nea196smvmlo4ors995",
        &[NS, DS, RRSIG],
    ),
    (
        "b4um86eghhds6nea196smvmlo4ors995",
        "gjeqe526plbf1g8mklp59enfd789njgi",
        &[MX, RRSIG],
    ),
    (
        "gjeqe526plbf1g8mklp59enfd789njgi",
        "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
        &[A, HINFO, AAAA, RRSIG],
    ),
    (
        "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
        "k8udemvp1j2f7eg6jebps17vp3n8i58h",
        &[],
    ),
    (
        "k8udemvp1j2f7eg6jebps17vp3n8i58h",
        "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
        &[],
    ),
    (
        "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
        "q04jkcevqvmu85r014c7dkba38o0ji5r",
        &[A, RRSIG],
    ),
    (
        "q04jkcevqvmu85r014c7dkba38o0ji5r",
        "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
        &[A, RRSIG],
    ),
    (
        "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
        "t644ebqk9bibcna874givr6joj62mlhv",
        &[MX, RRSIG],
    ),
    (
        "t644ebqk9bibcna874givr6joj62mlhv",
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        &[A, HINFO, AAAA, RRSIG],
    ),
];

/// The records of the chain whose owner hashes start with the given
/// prefixes, as a response would carry them.
fn pick(prefixes: &[&str], opt_out: bool) -> Vec<Rec> {
    CHAIN
        .iter()
        .filter(|(owner, _, _)| prefixes.iter().any(|p| owner.starts_with(p)))
        .map(|(owner, next, types)| rec(owner, next, types, opt_out))
        .collect()
}

fn budget() -> Budget {
    Budget::default()
}

fn is_missing(r: &DenialResult) -> bool {
    matches!(r, DenialResult::Bogus(BogusReason::DenialMissing { .. }))
}

fn is_contradicted(r: &DenialResult) -> bool {
    matches!(
        r,
        DenialResult::Bogus(BogusReason::DenialContradicts { .. })
    )
}

fn is_opt_out(r: &DenialResult, next_closer: &str) -> bool {
    matches!(r, DenialResult::OptOut { next_closer: nc, .. } if *nc == n(next_closer))
}

// ---------------------------------------------------------------------------
// Hashing: RFC 5155 §5, Appendix A; unbound's test_nsec3_hash.1
// ---------------------------------------------------------------------------

#[test]
fn rfc5155_appendix_a_example_zone_hashes() {
    let table = [
        ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
        ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
        ("ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"),
        ("ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
        ("ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"),
        ("w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"),
        ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
        ("x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"),
        ("y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"),
        ("x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"),
        ("xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"),
        (
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.",
            "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
        ),
    ];
    for (name, hash) in table {
        assert_eq!(
            nsec3_hash_base32(&n(name), &SALT, ITERATIONS),
            hash,
            "{name}"
        );
    }
    // RFC 5155 §5: the owner name is hashed in lower case.
    assert_eq!(
        nsec3_hash_base32(&n("XX.Example."), &SALT, ITERATIONS),
        "t644ebqk9bibcna874givr6joj62mlhv"
    );
}

#[test]
fn rfc5155_section_5_unbound_nsec3_hash_vectors() {
    let Some(text) = common::read_vector("unbound-unit/test_nsec3_hash.1") else {
        return;
    };
    let mut checked = 0;
    for entry in text.split("ENTRY_BEGIN").skip(1) {
        let mut section = "";
        let (mut qname, mut expected, mut params) = (None, None, None);
        for line in entry.lines().map(str::trim) {
            if line.is_empty() || line.starts_with(';') || line == "ENTRY_END" {
                continue;
            }
            if let Some(s) = line.strip_prefix("SECTION ") {
                section = s;
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            match section {
                "QUESTION" => qname = Some(n(fields[0])),
                "ANSWER" => expected = fields[0].split('.').next().map(str::to_owned),
                "AUTHORITY" if fields.get(1) == Some(&"NSEC3") => {
                    let iterations: u16 = fields[4].parse().unwrap();
                    let salt = if fields[5] == "-" {
                        Vec::new()
                    } else {
                        data_encoding::HEXLOWER_PERMISSIVE
                            .decode(fields[5].as_bytes())
                            .unwrap()
                    };
                    params = Some((salt, iterations));
                }
                _ => {}
            }
        }
        let (Some(qname), Some(expected), Some((salt, iterations))) = (qname, expected, params)
        else {
            panic!("incomplete entry in test_nsec3_hash.1: {entry}");
        };
        assert_eq!(
            nsec3_hash_base32(&qname, &salt, iterations),
            expected.to_ascii_lowercase(),
            "{qname}"
        );
        checked += 1;
    }
    assert!(checked >= 16, "only {checked} vectors");
}

#[test]
fn rfc5155_section_5_hash_of_long_salt_and_long_name_does_not_panic() {
    let l63 = "a".repeat(63);
    let l61 = "b".repeat(61);
    let long = n(&format!("{l61}.{l63}.{l63}.{l63}."));
    let salt = vec![0xff; 255];
    let h1 = nsec3_hash(&long, &salt, 0);
    let h2 = nsec3_hash(&long, &salt, 1);
    assert_ne!(h1, h2);
    assert_eq!(nsec3_hash(&Name::root(), &[], 0).len(), 20);
}

// ---------------------------------------------------------------------------
// RFC 5155 Appendix B
// ---------------------------------------------------------------------------

/// B.1: a.c.x.w.example A. The NSEC3 matching the closest encloser
/// x.w.example (b4um…), the one covering the next closer c.x.w.example
/// (0p9m…), the one covering the wildcard *.x.w.example (35mt…).
const B1: &[&str] = &["b4um", "0p9m", "35mt"];

#[test]
fn rfc5155_b1_name_error_is_proven() {
    let recs = pick(B1, false);
    let mut budget = budget();
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget,
    );
    assert_eq!(r, DenialResult::Proven);
    // Each of a.c.x.w, c.x.w, x.w and *.x.w is hashed once: the next closer
    // name and the wildcard come from the per-proof cache the second time.
    assert_eq!(budget.nsec3_hashes(), 4);
}

#[test]
fn rfc5155_section_9_2_name_error_with_opt_out_next_closer_is_insecure() {
    // RFC 5155 §9.2: "The AD bit ... MUST NOT be set when returning a response
    // containing a closest (provable) encloser proof in which the NSEC3 RR
    // that covers the 'next closer' name has the Opt-Out bit set."
    let recs = pick(B1, true);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_opt_out(&r, "c.x.w.example."), "{r:?}");
    assert_eq!(
        r.into_outcome(),
        Outcome::Insecure(InsecureReason::UnsignedDelegation {
            zone: n("c.x.w.example.")
        })
    );
}

#[test]
fn rfc5155_section_8_4_name_error_without_wildcard_cover_is_bogus() {
    let recs = pick(&["b4um", "0p9m"], false);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
    let DenialResult::Bogus(reason) = r else {
        unreachable!()
    };
    let text = reason.to_string();
    assert!(
        text.contains("a.c.x.w.example") && text.contains("*.x.w.example"),
        "{text}"
    );
    assert_eq!(reason.ede().code, ede_code::NSEC_MISSING);
}

#[test]
fn rfc5155_section_8_3_name_error_without_closest_encloser_match_is_bogus() {
    let recs = pick(&["0p9m", "35mt"], false);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_3_name_error_without_next_closer_cover_is_bogus() {
    let recs = pick(&["b4um", "35mt"], false);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_4_name_error_for_an_existing_name_is_contradicted() {
    let recs = pick(&["2t7b", "0p9m"], false);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("ns1.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_b2_no_data_is_proven_by_the_matching_nsec3() {
    let recs = pick(&["2t7b"], true);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("ns1.example."),
        MX,
        &example(),
        &mut budget(),
    );
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn rfc5155_section_8_5_no_data_whose_bitmap_shows_the_type_is_contradicted() {
    let recs = pick(&["2t7b"], true);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("ns1.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_5_no_data_with_cname_bit_is_contradicted() {
    let h = nsec3_hash_base32(&n("c.example."), &SALT, ITERATIONS);
    let recs = [rec(&h, &h, &[CNAME, RRSIG], false)];
    let r = nsec3_proves_nodata(&view(&recs), &n("c.example."), A, &example(), &mut budget());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_b2_1_empty_non_terminal_no_data_is_proven() {
    let recs = pick(&["ji6n"], true);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("y.w.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn rfc5155_b3_referral_to_opt_out_unsigned_zone_is_insecure() {
    // mc.c.example MX: 0p9m… matches the closest provable encloser example,
    // 35mt… covers the next closer c.example and has Opt-Out.
    let recs = pick(&["0p9m", "35mt"], true);
    let r =
        nsec3_proves_insecure_delegation(&view(&recs), &n("c.example."), &example(), &mut budget());
    assert!(is_opt_out(&r, "c.example."), "{r:?}");
}

#[test]
fn rfc5155_section_8_9_referral_without_opt_out_is_bogus() {
    let recs = pick(&["0p9m", "35mt"], false);
    let r =
        nsec3_proves_insecure_delegation(&view(&recs), &n("c.example."), &example(), &mut budget());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_9_referral_to_signed_delegation_is_contradicted() {
    // a.example has DS: it is not an unsigned delegation.
    let recs = pick(&["35mt"], false);
    let r =
        nsec3_proves_insecure_delegation(&view(&recs), &n("a.example."), &example(), &mut budget());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_9_matching_nsec3_with_ns_and_no_ds_proves_unsigned_delegation() {
    let h = nsec3_hash_base32(&n("b.example."), &SALT, ITERATIONS);
    let recs = [rec(&h, &h, &[NS], false)];
    let r =
        nsec3_proves_insecure_delegation(&view(&recs), &n("b.example."), &example(), &mut budget());
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn rfc5155_b4_wildcard_expansion_is_proven() {
    let recs = pick(&["q04j"], false);
    let r = nsec3_proves_wildcard_positive(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &n("w.example."),
        &example(),
        &mut budget(),
    );
    assert_eq!(r, DenialResult::Proven);
    // With the RFC's Opt-Out flag set, z.w.example may be an unsigned
    // delegation that the wildcard answer hides.
    let recs = pick(&["q04j"], true);
    let r = nsec3_proves_wildcard_positive(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &n("w.example."),
        &example(),
        &mut budget(),
    );
    assert!(is_opt_out(&r, "z.w.example."), "{r:?}");
}

#[test]
fn rfc5155_section_8_8_wildcard_expansion_from_the_wrong_wildcard_is_bogus() {
    // Claiming *.example generated the answer: the next closer w.example
    // exists, so no NSEC3 covers it.
    let recs = pick(&["q04j", "k8ud"], false);
    let r = nsec3_proves_wildcard_positive(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &example(),
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_8_wildcard_expansion_without_nsec3_is_bogus() {
    let recs = pick(&["k8ud"], false);
    let r = nsec3_proves_wildcard_positive(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &n("w.example."),
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

/// B.5: a.z.w.example AAAA. k8ud… matches the closest encloser w.example,
/// q04j… covers the next closer z.w.example, r53b… matches *.w.example.
const B5: &[&str] = &["k8ud", "q04j", "r53b"];

#[test]
fn rfc5155_b5_wildcard_no_data_is_proven() {
    let recs = pick(B5, false);
    let qname = n("a.z.w.example.");
    let r = nsec3_proves_wildcard_nodata(&view(&recs), &qname, AAAA, &example(), &mut budget());
    assert_eq!(r, DenialResult::Proven);
    let r = nsec3_proves_nodata(&view(&recs), &qname, AAAA, &example(), &mut budget());
    assert_eq!(r, DenialResult::Proven);
    let recs = pick(B5, true);
    let r = nsec3_proves_nodata(&view(&recs), &qname, AAAA, &example(), &mut budget());
    assert!(is_opt_out(&r, "z.w.example."), "{r:?}");
}

#[test]
fn rfc5155_section_8_7_wildcard_no_data_with_the_type_at_the_wildcard_is_contradicted() {
    let recs = pick(B5, false);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &example(),
        &mut budget(),
    );
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_7_wildcard_no_data_without_wildcard_nsec3_is_bogus() {
    let recs = pick(&["k8ud", "q04j"], false);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("a.z.w.example."),
        AAAA,
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc5155_b6_ds_no_data_from_the_child_apex_is_contradicted() {
    // RFC 5155 B.6 is the child's answer to `example. DS`: its NSEC3 has SOA.
    // Only the parent can deny a DS (RFC 4035 §5.2), so it proves nothing.
    let recs = pick(&["0p9m"], false);
    let r = nsec3_proves_nodata(&view(&recs), &example(), DS, &example(), &mut budget());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_6_ds_no_data_at_a_name_that_is_no_delegation_is_proven() {
    let recs = pick(&["2t7b"], false);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("ns1.example."),
        DS,
        &example(),
        &mut budget(),
    );
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn rfc5155_section_8_6_ds_no_data_at_a_signed_delegation_is_contradicted() {
    let recs = pick(&["35mt"], false);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("a.example."),
        DS,
        &example(),
        &mut budget(),
    );
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_6_ds_no_data_in_opt_out_span_is_insecure() {
    let recs = pick(&["0p9m", "35mt"], true);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("c.example."),
        DS,
        &example(),
        &mut budget(),
    );
    assert!(is_opt_out(&r, "c.example."), "{r:?}");
    let recs = pick(&["0p9m", "35mt"], false);
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("c.example."),
        DS,
        &example(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

// ---------------------------------------------------------------------------
// RFC 5155 §8.3 ancestor rules
// ---------------------------------------------------------------------------

#[test]
fn rfc5155_section_8_3_delegation_closest_encloser_is_contradicted() {
    // mc.a.example lies below the delegation a.example (35mt…: NS DS).
    let recs = pick(&["35mt", "0p9m", "2vpt"], false);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("mc.a.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_contradicted(&r), "{r:?}");
    let r = nsec3_find_closest_encloser(
        &view(&recs),
        &n("mc.a.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(r.is_err());
}

#[test]
fn rfc5155_section_8_3_dname_closest_encloser_is_contradicted() {
    let h = nsec3_hash_base32(&n("d.example."), &SALT, ITERATIONS);
    // One NSEC3 at d.example with DNAME; a second covering everything else.
    let other = nsec3_hash_base32(&n("example."), &SALT, ITERATIONS);
    let recs = [
        rec(&h, &other, &[DNAME, RRSIG], false),
        rec(&other, &h, &[SOA, NS, RRSIG], false),
    ];
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("x.d.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc5155_section_8_3_closest_encloser_is_found() {
    let recs = pick(B1, true);
    let ce = nsec3_find_closest_encloser(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget(),
    )
    .unwrap();
    assert_eq!(ce.closest_encloser, n("x.w.example."));
    assert_eq!(ce.next_closer, n("c.x.w.example."));
    assert!(ce.opt_out);
}

// ---------------------------------------------------------------------------
// Parameters and filters: RFC 5155 §8.1, §8.2; RFC 9276 §3.2
// ---------------------------------------------------------------------------

#[test]
fn rfc5155_section_8_2_nsec3_of_another_zone_proves_nothing() {
    let recs = pick(B1, false);
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.other."),
        A,
        &n("other."),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
    // Owners not exactly one label below the zone are ignored too.
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &Name::root(),
        &mut budget(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc9276_section_3_2_iterations_above_150_are_insecure_with_ede_27() {
    let recs: Vec<Rec> = CHAIN
        .iter()
        .map(|(o, nx, t)| rec_with(o, nx, t, false, 151, SALT.to_vec()))
        .collect();
    let mut budget = budget();
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("a.c.x.w.example."),
        A,
        &example(),
        &mut budget,
    );
    let DenialResult::Insecure(reason) = &r else {
        panic!("{r:?}");
    };
    assert!(matches!(
        reason,
        InsecureReason::Nsec3Unsupported {
            iterations: true,
            ..
        }
    ));
    assert_eq!(r.into_outcome().ede().map(|e| e.code), Some(27));
    assert_eq!(budget.nsec3_hashes(), 0, "no hashing above the limit");
}

#[test]
fn rfc9276_section_3_2_iterations_at_the_limit_are_validated() {
    let qname = n("ns1.example.");
    let h = nsec3_hash_base32(&qname, &SALT, 150);
    let recs = [rec_with(&h, &h, &[A, RRSIG], false, 150, SALT.to_vec())];
    let r = nsec3_proves_nodata(&view(&recs), &qname, MX, &example(), &mut budget());
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn rfc5155_section_8_1_only_unknown_hash_algorithms_are_insecure() {
    let owner = n("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
    let rdata = [2u8, 0, 0, 12, 0, 0];
    let data = Nsec3Data::unsupported_from_rdata(&rdata).unwrap();
    let recs = [Nsec3Record {
        owner: &owner,
        data,
    }];
    let r = nsec3_proves_name_error(&recs, &n("a.example."), A, &example(), &mut budget());
    assert!(
        matches!(
            r,
            DenialResult::Insecure(InsecureReason::Nsec3Unsupported {
                iterations: false,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn rfc5155_section_8_1_unknown_hash_algorithms_are_ignored_beside_sha1() {
    let unknown_owner = n("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
    let unknown = Nsec3Record {
        owner: &unknown_owner,
        data: Nsec3Data::Unsupported {
            hash_algorithm: 7,
            flags: 0,
            iterations: 0,
        },
    };
    let recs = pick(&["2t7b"], false);
    let mut all = view(&recs);
    all.push(unknown);
    let r = nsec3_proves_nodata(&all, &n("ns1.example."), MX, &example(), &mut budget());
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn rfc5155_section_8_2_unknown_flags_are_ignored() {
    assert!(Nsec3Data::unsupported_from_rdata(&[1, 0, 0, 12, 0, 0]).is_none());
    assert!(Nsec3Data::unsupported_from_rdata(&[1, 1, 0, 12]).is_none());
    assert!(Nsec3Data::unsupported_from_rdata(&[2, 0]).is_none());
    let data = Nsec3Data::unsupported_from_rdata(&[1, 0x80, 0, 12]).unwrap();
    let owner = n("2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.");
    let recs = [Nsec3Record {
        owner: &owner,
        data,
    }];
    // Ignored, and not an unknown algorithm: nothing proves the denial.
    let r = nsec3_proves_nodata(&recs, &n("ns1.example."), MX, &example(), &mut budget());
    assert!(is_missing(&r), "{r:?}");
}

// ---------------------------------------------------------------------------
// Budget: CVE-2023-50868
// ---------------------------------------------------------------------------

#[test]
fn cve_2023_50868_hashing_over_budget_is_bogus() {
    let limits = Limits {
        max_nsec3_hashes: 3,
        ..Limits::default()
    };
    let mut budget = Budget::new(limits);
    let recs = pick(B1, false);
    let qname = n("a.b.c.d.e.f.g.h.x.w.example.");
    let r = nsec3_proves_name_error(&view(&recs), &qname, A, &example(), &mut budget);
    assert!(
        matches!(
            r,
            DenialResult::Bogus(BogusReason::BudgetExceeded {
                limit: "max_nsec3_hashes",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(budget.nsec3_hashes(), 3);
}

#[test]
fn cve_2023_50868_many_salts_are_each_charged() {
    // An attacker-chosen response with many parameter sets costs one hash per
    // set and name, all charged.
    let recs: Vec<Rec> = (0..10u8)
        .map(|i| {
            rec_with(
                "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
                "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
                &[SOA, NS],
                false,
                ITERATIONS,
                vec![i],
            )
        })
        .collect();
    let mut budget = Budget::new(Limits {
        max_nsec3_hashes: 8,
        ..Limits::default()
    });
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("ns1.example."),
        MX,
        &example(),
        &mut budget,
    );
    assert!(r.is_bogus(), "{r:?}");
    assert_eq!(budget.nsec3_hashes(), 8);
}

// ---------------------------------------------------------------------------
// Coverage and bad input
// ---------------------------------------------------------------------------

#[test]
fn rfc5155_section_3_1_7_single_nsec3_chain_covers_every_other_hash() {
    let h = nsec3_hash_base32(&example(), &SALT, ITERATIONS);
    let recs = [rec(&h, &h, &[SOA, NS, RRSIG], false)];
    // Everything but the apex is covered; the wildcard too.
    let r = nsec3_proves_name_error(
        &view(&recs),
        &n("nope.example."),
        A,
        &example(),
        &mut budget(),
    );
    assert_eq!(r, DenialResult::Proven);
}

#[test]
fn bad_input_zero_length_next_hash_and_bad_owner_labels_are_ignored() {
    let owner = n("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
    let empty_next = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        false,
        ITERATIONS,
        SALT.to_vec(),
        Vec::new(),
        [],
    );
    let bad_owner = n("zzzz-not-hash.example.");
    let short_owner = n("0p9m.example.");
    let ok = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        false,
        ITERATIONS,
        vec![0; 255],
        b32("2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
        [],
    );
    let recs = [
        Nsec3Record::new(&owner, &empty_next),
        Nsec3Record::new(&bad_owner, &ok),
        Nsec3Record::new(&short_owner, &ok),
    ];
    let r = nsec3_proves_name_error(&recs, &n("a.example."), A, &example(), &mut budget());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn bad_input_names_at_maximum_length_and_empty_bitmaps_do_not_panic() {
    let l63 = "a".repeat(63);
    let l61 = "b".repeat(61);
    let long = n(&format!("{l61}.{l63}.{l63}.{l63}."));
    let zone = n(&format!("{l63}.{l63}."));
    let recs = pick(&[""], false);
    let salty = [rec_with(
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        &[],
        true,
        0,
        vec![0x5a; 255],
    )];
    for set in [view(&recs), view(&salty)] {
        for z in [&example(), &zone, &Name::root()] {
            for q in [&long, &Name::root(), &n("*.example."), z] {
                let mut b = budget();
                let _ = nsec3_proves_name_error(&set, q, A, z, &mut b);
                let _ = nsec3_proves_nodata(&set, q, DS, z, &mut b);
                let _ = nsec3_proves_wildcard_nodata(&set, q, A, z, &mut b);
                let _ = nsec3_proves_wildcard_positive(&set, q, A, &long, z, &mut b);
                let _ = nsec3_proves_wildcard_positive(&set, q, A, z, z, &mut b);
                let _ = nsec3_proves_insecure_delegation(&set, q, z, &mut b);
                let _ = nsec3_find_closest_encloser(&set, q, A, z, &mut b);
            }
        }
    }
}

#[test]
fn rrset_views_read_parsed_and_unknown_nsec3_rdata() {
    use danebound_resolver::validator::Rrset;
    use danebound_resolver::wire::rdata::NULL;
    use danebound_resolver::wire::{DNSClass, DNSSECRData, RData};

    let owner = n("2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.");
    let parsed = pick(&["2t7b"], false).remove(0).1;
    let mut rrset = Rrset::new(
        owner,
        DNSClass::IN,
        3600,
        RData::DNSSEC(DNSSECRData::NSEC3(parsed)),
    );
    let records: Vec<_> = Nsec3Record::from_rrset(&rrset).collect();
    assert_eq!(records.len(), 1);
    let r = nsec3_proves_nodata(&records, &n("ns1.example."), MX, &example(), &mut budget());
    assert_eq!(r, DenialResult::Proven);

    rrset.rdatas = vec![RData::Unknown {
        code: RecordType::NSEC3,
        rdata: NULL::with(vec![2, 0, 0, 0, 0, 0]),
    }];
    let records: Vec<_> = Nsec3Record::from_rrset(&rrset).collect();
    assert_eq!(records.len(), 1);
    let r = nsec3_proves_nodata(&records, &n("ns1.example."), MX, &example(), &mut budget());
    assert!(matches!(r, DenialResult::Insecure(_)), "{r:?}");
}

#[test]
fn rfc5155_section_3_1_7_last_nsec3_wraps_around_to_the_first() {
    // t644… is the last NSEC3 of the chain; its next hash is the first,
    // 0p9m…. It covers hashes above t644… and below 0p9m…, nothing between.
    let recs = pick(&["t644"], false);
    let hash_of = |i: usize| nsec3_hash_base32(&n(&format!("n{i}.example.")), &SALT, ITERATIONS);
    let above = (0..1000)
        .find(|&i| hash_of(i).as_str() > "t644ebqk9bibcna874givr6joj62mlhv")
        .unwrap();
    let below = (0..1000)
        .find(|&i| hash_of(i).as_str() < "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom")
        .unwrap();
    let between = (0..1000)
        .find(|&i| {
            let h = hash_of(i);
            h.as_str() > "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
                && h.as_str() < "t644ebqk9bibcna874givr6joj62mlhv"
        })
        .unwrap();
    let prove = |i: usize| {
        nsec3_proves_wildcard_positive(
            &view(&recs),
            &n(&format!("x.n{i}.example.")),
            A,
            &example(),
            &example(),
            &mut budget(),
        )
    };
    assert_eq!(prove(above), DenialResult::Proven);
    assert_eq!(prove(below), DenialResult::Proven);
    assert!(is_missing(&prove(between)));
}

#[test]
fn rfc5155_erratum_3441_opt_out_nodata_for_other_types_is_insecure() {
    // A name inside an Opt-Out span has no NSEC3: only the closest provable
    // encloser proof is possible. RFC 5155 §8.5 as corrected by the verified
    // erratum 3441 accepts it for any type when the NSEC3 covering the next
    // closer name is Opt-Out (the empty non-terminal above an unsigned
    // delegation, erratum to §7.2.3): insecure, never AD (§9.2), as unbound
    // (val_nsec3_optout_ad). For DS the same proof is an insecure
    // delegation (§8.6). Without Opt-Out it is bogus for every type.
    let recs = pick(&["0p9m", "35mt"], true);
    let r = nsec3_proves_nodata(&view(&recs), &n("c.example."), A, &example(), &mut budget());
    assert!(is_opt_out(&r, "c.example."), "{r:?}");
    let r = nsec3_proves_nodata(
        &view(&recs),
        &n("c.example."),
        DS,
        &example(),
        &mut budget(),
    );
    assert!(is_opt_out(&r, "c.example."), "{r:?}");
    let recs = pick(&["0p9m", "35mt"], false);
    let r = nsec3_proves_nodata(&view(&recs), &n("c.example."), A, &example(), &mut budget());
    assert!(is_missing(&r), "{r:?}");
}
