//! NSEC denial proofs against the examples of RFC 4035 Appendix B, plus the
//! negative cases each check exists for (RFC 6840 §4.1, §4.3; RFC 4035 §5.4).
//!
//! The example zone is RFC 4035 Appendix A; its NSEC chain is reproduced
//! below from the RFC text (owner, next name, types).

use danebound_resolver::validator::BogusReason;
use danebound_resolver::validator::denial::nsec::*;
use danebound_resolver::wire::{NSEC, Name, RecordType};

use RecordType::{A, AAAA, CNAME, DNAME, DNSKEY, DS, HINFO, MX, NS, RRSIG, SOA};

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// An owned NSEC record, for building test responses.
struct Rec(Name, NSEC);

fn rec(owner: &str, next: &str, types: &[RecordType]) -> Rec {
    let types = types.iter().copied().chain([RecordType::NSEC]);
    Rec(n(owner), NSEC::new(n(next), types))
}

fn view(recs: &[Rec]) -> Vec<NsecRecord<'_>> {
    recs.iter().map(|r| NsecRecord::new(&r.0, &r.1)).collect()
}

/// RFC 4035 Appendix A, the NSEC chain of `example.`.
fn zone() -> Vec<Rec> {
    vec![
        rec("example.", "a.example.", &[NS, SOA, MX, RRSIG, DNSKEY]),
        rec("a.example.", "ai.example.", &[NS, DS, RRSIG]),
        rec("ai.example.", "b.example.", &[A, HINFO, AAAA, RRSIG]),
        rec("b.example.", "ns1.example.", &[NS, RRSIG]),
        rec("ns1.example.", "ns2.example.", &[A, RRSIG]),
        rec("ns2.example.", "*.w.example.", &[A, RRSIG]),
        rec("*.w.example.", "x.w.example.", &[MX, RRSIG]),
        rec("x.w.example.", "x.y.w.example.", &[MX, RRSIG]),
        rec("x.y.w.example.", "xx.example.", &[MX, RRSIG]),
        rec("xx.example.", "example.", &[A, HINFO, AAAA, RRSIG]),
    ]
}

/// The records of the zone whose owners are listed, as a response would carry.
fn pick(owners: &[&str]) -> Vec<Rec> {
    zone()
        .into_iter()
        .filter(|r| owners.iter().any(|o| r.0 == n(o)))
        .collect()
}

fn example() -> Name {
    n("example.")
}

fn is_missing(r: &Result<(), BogusReason>) -> bool {
    matches!(r, Err(BogusReason::DenialMissing { .. }))
}

fn is_contradicted(r: &Result<(), BogusReason>) -> bool {
    matches!(r, Err(BogusReason::DenialContradicts { .. }))
}

// ---------------------------------------------------------------------------
// RFC 4035 Appendix B
// ---------------------------------------------------------------------------

#[test]
fn rfc4035_b2_name_error_is_proven_by_covering_and_wildcard_nsecs() {
    let recs = pick(&["b.example.", "example."]);
    let r = nsec_proves_name_error(&view(&recs), &n("ml.example."), A, &example());
    assert_eq!(r, Ok(()));
}

#[test]
fn rfc4035_section_5_4_name_error_without_wildcard_proof_is_bogus() {
    let recs = pick(&["b.example."]);
    let r = nsec_proves_name_error(&view(&recs), &n("ml.example."), A, &example());
    assert!(is_missing(&r), "{r:?}");
    let text = r.unwrap_err().to_string();
    assert!(text.contains("*.example"), "{text}");
    assert!(text.contains("ml.example"), "{text}");
}

#[test]
fn rfc4035_section_5_4_name_error_without_covering_nsec_is_bogus() {
    // The apex NSEC denies the wildcard but does not cover ml.example.
    let recs = pick(&["example.", "ns1.example."]);
    let r = nsec_proves_name_error(&view(&recs), &n("ml.example."), A, &example());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc4035_section_5_4_name_error_for_an_existing_name_is_contradicted() {
    let recs = pick(&["ns1.example.", "example."]);
    let r = nsec_proves_name_error(&view(&recs), &n("ns1.example."), A, &example());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc4035_b3_no_data_is_proven_by_the_nsec_at_the_name() {
    let recs = pick(&["ns1.example."]);
    let r = nsec_proves_nodata_response(&view(&recs), &n("ns1.example."), MX, &example());
    assert_eq!(r, Ok(()));
    assert!(nsec_proves_nodata(
        &recs[0].0,
        &recs[0].1,
        &n("ns1.example."),
        MX
    ));
}

#[test]
fn rfc4035_section_5_4_no_data_whose_bitmap_shows_the_type_is_contradicted() {
    let recs = pick(&["ns1.example."]);
    assert!(!nsec_proves_nodata(
        &recs[0].0,
        &recs[0].1,
        &n("ns1.example."),
        A
    ));
    let r = nsec_proves_nodata_response(&view(&recs), &n("ns1.example."), A, &example());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc4035_b4_referral_to_signed_zone_is_not_an_insecure_delegation() {
    let recs = pick(&["a.example."]);
    assert!(!nsec_proves_insecure_delegation(
        &recs[0].0,
        &recs[0].1,
        &n("a.example.")
    ));
    let r = nsec_proves_unsigned_delegation(&view(&recs), &n("a.example."), &example());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc4035_b5_referral_to_unsigned_zone_is_an_insecure_delegation() {
    let recs = pick(&["b.example."]);
    assert!(nsec_proves_insecure_delegation(
        &recs[0].0,
        &recs[0].1,
        &n("b.example.")
    ));
    let r = nsec_proves_unsigned_delegation(&view(&recs), &n("b.example."), &example());
    assert_eq!(r, Ok(()));
    // The same NSEC proves a DS NODATA at the delegation (parent side).
    let r = nsec_proves_nodata_response(&view(&recs), &n("b.example."), DS, &example());
    assert_eq!(r, Ok(()));
}

#[test]
fn rfc4035_section_5_2_unsigned_delegation_without_nsec_is_bogus() {
    let recs = pick(&["ai.example."]);
    let r = nsec_proves_unsigned_delegation(&view(&recs), &n("b.example."), &example());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc4035_b6_wildcard_expansion_is_proven_by_nsec_covering_qname() {
    let recs = pick(&["x.y.w.example."]);
    let r = nsec_proves_no_exact_match_for_wildcard(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &n("w.example."),
        &example(),
    );
    assert_eq!(r, Ok(()));
}

#[test]
fn rfc4035_section_5_3_4_wildcard_expansion_from_the_wrong_wildcard_is_bogus() {
    // The RRSIG would say *.example generated the answer, but the NSEC shows
    // w.example exists, so *.w.example, not *.example, is the source.
    let recs = pick(&["x.y.w.example."]);
    let r = nsec_proves_no_exact_match_for_wildcard(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &example(),
        &example(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc4035_section_5_3_4_wildcard_expansion_without_covering_nsec_is_bogus() {
    let recs = pick(&["x.w.example.", "xx.example."]);
    let r = nsec_proves_no_exact_match_for_wildcard(
        &view(&recs),
        &n("a.z.w.example."),
        MX,
        &n("w.example."),
        &example(),
    );
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc4035_b7_wildcard_no_data_is_proven() {
    let recs = pick(&["x.y.w.example.", "*.w.example."]);
    let qname = n("a.z.w.example.");
    assert_eq!(
        nsec_proves_wildcard_nodata(&view(&recs), &qname, AAAA, &example()),
        Ok(())
    );
    assert_eq!(
        nsec_proves_nodata_response(&view(&recs), &qname, AAAA, &example()),
        Ok(())
    );
}

#[test]
fn rfc4035_section_3_1_3_4_wildcard_no_data_with_the_type_at_the_wildcard_is_contradicted() {
    let recs = pick(&["x.y.w.example.", "*.w.example."]);
    let r = nsec_proves_wildcard_nodata(&view(&recs), &n("a.z.w.example."), MX, &example());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc4035_section_3_1_3_4_wildcard_no_data_without_the_wildcard_nsec_is_bogus() {
    let recs = pick(&["x.y.w.example."]);
    let r = nsec_proves_nodata_response(&view(&recs), &n("a.z.w.example."), AAAA, &example());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc4035_section_3_1_3_2_empty_non_terminal_no_data_is_proven() {
    let recs = pick(&["x.w.example."]);
    let qname = n("y.w.example.");
    assert!(nsec_proves_empty_non_terminal(
        &recs[0].0, &recs[0].1, &qname
    ));
    assert!(nsec_proves_nodata(&recs[0].0, &recs[0].1, &qname, A));
    assert_eq!(
        nsec_proves_nodata_response(&view(&recs), &qname, A, &example()),
        Ok(())
    );
}

#[test]
fn rfc4035_section_3_1_3_2_empty_non_terminal_is_not_a_name_error() {
    // x.w.example NSEC x.y.w.example covers y.w.example, but y.w.example
    // exists as an empty non-terminal: an NXDOMAIN for it is a lie.
    let recs = pick(&["x.w.example.", "ns2.example."]);
    let r = nsec_proves_name_error(&view(&recs), &n("y.w.example."), A, &example());
    assert!(is_missing(&r), "{r:?}");
}

// ---------------------------------------------------------------------------
// Ancestor rules: RFC 6840 §4.1
// ---------------------------------------------------------------------------

#[test]
fn rfc6840_section_4_1_delegation_nsec_does_not_deny_names_below_the_cut() {
    // a.example NSEC ai.example covers mc.a.example in canonical order, but
    // a.example is a delegation: the parent is not authoritative below it.
    let recs = pick(&["a.example.", "example."]);
    let a = &recs.iter().find(|r| r.0 == n("a.example.")).unwrap();
    assert!(nsec_covers(&a.0, &a.1, &n("mc.a.example.")));
    assert!(!nsec_proves_name_does_not_exist(
        &a.0,
        &a.1,
        &n("mc.a.example.")
    ));
    let r = nsec_proves_name_error(&view(&recs), &n("mc.a.example."), A, &example());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc6840_section_4_1_delegation_nsec_does_not_prove_no_data_for_the_child() {
    let recs = pick(&["b.example."]);
    assert!(!nsec_proves_nodata(
        &recs[0].0,
        &recs[0].1,
        &n("b.example."),
        A
    ));
    let r = nsec_proves_nodata_response(&view(&recs), &n("b.example."), A, &example());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc6840_section_4_1_delegation_nsec_does_not_prove_an_empty_non_terminal_below_it() {
    // Forged chain: delegation NSEC whose next name is below the query name.
    let recs = [rec("b.example.", "x.y.b.example.", &[NS, RRSIG])];
    let r = nsec_proves_nodata_response(&view(&recs), &n("y.b.example."), A, &example());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn rfc6840_section_4_1_dname_nsec_does_not_deny_names_below_it() {
    let recs = [
        rec("d.example.", "e.example.", &[DNAME, RRSIG]),
        rec("example.", "a.example.", &[NS, SOA, MX, RRSIG, DNSKEY]),
    ];
    let r = nsec_proves_name_error(&view(&recs), &n("x.d.example."), A, &example());
    assert!(is_missing(&r), "{r:?}");
    // The DNAME owner itself may still have no A.
    let r = nsec_proves_nodata_response(&view(&recs), &n("d.example."), A, &example());
    assert_eq!(r, Ok(()));
}

#[test]
fn rfc6840_section_4_3_no_data_with_cname_bit_is_contradicted() {
    let recs = [rec("c.example.", "d.example.", &[CNAME, RRSIG])];
    assert!(!nsec_proves_nodata(
        &recs[0].0,
        &recs[0].1,
        &n("c.example."),
        A
    ));
    let r = nsec_proves_nodata_response(&view(&recs), &n("c.example."), A, &example());
    assert!(is_contradicted(&r), "{r:?}");
}

#[test]
fn rfc4035_section_5_2_child_apex_nsec_does_not_deny_ds() {
    // The child's apex NSEC (SOA set) cannot deny the parent's DS.
    let recs = [rec(
        "sub.example.",
        "a.sub.example.",
        &[NS, SOA, RRSIG, DNSKEY],
    )];
    let zone = n("sub.example.");
    assert!(!nsec_proves_nodata(&recs[0].0, &recs[0].1, &zone, DS));
    let r = nsec_proves_nodata_response(&view(&recs), &zone, DS, &zone);
    assert!(is_contradicted(&r), "{r:?}");
    let r = nsec_proves_unsigned_delegation(&view(&recs), &zone, &zone);
    assert!(is_contradicted(&r), "{r:?}");
    // The root has no parent: its own NSEC denies DS.
    let root = [rec(".", "aaa.", &[NS, SOA, RRSIG, DNSKEY])];
    assert!(nsec_proves_nodata(
        &root[0].0,
        &root[0].1,
        &Name::root(),
        DS
    ));
}

#[test]
fn rfc4035_section_5_2_ds_nodata_at_delegation_with_ds_bit_is_contradicted() {
    let recs = pick(&["a.example."]);
    let r = nsec_proves_nodata_response(&view(&recs), &n("a.example."), DS, &example());
    assert!(is_contradicted(&r), "{r:?}");
}

// ---------------------------------------------------------------------------
// Canonical order and coverage (RFC 4034 §4.1.1, §6.1)
// ---------------------------------------------------------------------------

#[test]
fn rfc4034_section_4_1_1_last_nsec_wraps_to_the_apex() {
    let recs = pick(&["xx.example."]);
    let (o, nsec) = (&recs[0].0, &recs[0].1);
    assert!(nsec_covers(o, nsec, &n("zz.example.")));
    assert!(nsec_covers(o, nsec, &n("a.xx.example.")));
    assert!(!nsec_covers(o, nsec, &n("a.example.")));
    assert!(!nsec_covers(o, nsec, &n("example.")));
    assert!(!nsec_covers(o, nsec, &n("zz.other.")));
    assert!(!nsec_covers(o, nsec, &n("xx.example.")));
}

#[test]
fn rfc4034_section_6_1_nsec_covers_strictly_between_owner_and_next() {
    let recs = pick(&["b.example."]);
    let (o, nsec) = (&recs[0].0, &recs[0].1);
    assert!(nsec_covers(o, nsec, &n("ML.Example.")));
    assert!(!nsec_covers(o, nsec, &n("b.example.")));
    assert!(!nsec_covers(o, nsec, &n("ns1.example.")));
    assert!(!nsec_covers(o, nsec, &n("ns2.example.")));
    assert!(!nsec_covers(o, nsec, &n("a.example.")));
}

#[test]
fn rfc4034_section_4_1_1_single_nsec_zone_covers_every_other_name() {
    let recs = [rec("example.", "example.", &[NS, SOA, RRSIG, DNSKEY])];
    let (o, nsec) = (&recs[0].0, &recs[0].1);
    assert!(nsec_covers(o, nsec, &n("www.example.")));
    assert!(!nsec_covers(o, nsec, &n("example.")));
    assert!(!nsec_covers(o, nsec, &n("www.other.")));
    let r = nsec_proves_name_error(&view(&recs), &n("www.example."), A, &example());
    assert_eq!(r, Ok(()));
}

#[test]
fn rfc4035_section_5_4_nsec_from_another_zone_proves_nothing() {
    let recs = [
        rec("b.other.", "ns1.other.", &[NS, RRSIG]),
        rec("other.", "a.other.", &[NS, SOA, RRSIG]),
    ];
    let r = nsec_proves_name_error(&view(&recs), &n("ml.other."), A, &example());
    assert!(is_missing(&r), "{r:?}");
}

#[test]
fn nsec_closest_encloser_is_the_longer_shared_ancestor() {
    let recs = pick(&["x.y.w.example."]);
    let ce = nsec_closest_encloser(&recs[0].0, &recs[0].1, &n("a.z.w.example."));
    assert_eq!(ce, n("w.example."));
    let recs = pick(&["b.example."]);
    let ce = nsec_closest_encloser(&recs[0].0, &recs[0].1, &n("ml.example."));
    assert_eq!(ce, n("example."));
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_input_empty_bitmaps_and_long_names_do_not_panic() {
    let l63 = "a".repeat(63);
    let l61 = "b".repeat(61);
    let long = n(&format!("{l61}.{l63}.{l63}.{l63}."));
    let recs = [
        Rec(n("example."), NSEC::new(n("a.example."), [])),
        Rec(long.clone(), NSEC::new(Name::root(), [])),
        // Wrap-around whose next is not an ancestor: covers nothing.
        Rec(n("z.example."), NSEC::new(n("a.example."), [])),
    ];
    let v = view(&recs);
    for qname in [long.clone(), n("x.example."), Name::root(), n("*.example.")] {
        let _ = nsec_proves_name_error(&v, &qname, A, &example());
        let _ = nsec_proves_name_error(&v, &qname, A, &Name::root());
        let _ = nsec_proves_nodata_response(&v, &qname, A, &Name::root());
        let _ = nsec_proves_wildcard_nodata(&v, &qname, A, &Name::root());
        let _ = nsec_proves_unsigned_delegation(&v, &qname, &Name::root());
        let _ = nsec_proves_no_exact_match_for_wildcard(&v, &qname, A, &long, &Name::root());
    }
    assert!(!nsec_covers(&recs[2].0, &recs[2].1, &n("zz.example.")));
    // The empty-bitmap apex NSEC proves no data for A at the apex.
    assert!(nsec_proves_nodata(&recs[0].0, &recs[0].1, &example(), A));
}

#[test]
fn rrset_view_reads_nsec_rdata() {
    use danebound_resolver::validator::Rrset;
    use danebound_resolver::wire::{DNSClass, DNSSECRData, RData};

    let r = pick(&["ns1.example."]).remove(0);
    let rrset = Rrset::new(
        r.0,
        DNSClass::IN,
        3600,
        RData::DNSSEC(DNSSECRData::NSEC(r.1)),
    );
    let records: Vec<_> = NsecRecord::from_rrset(&rrset).collect();
    assert_eq!(records.len(), 1);
    let r = nsec_proves_nodata_response(&records, &n("ns1.example."), MX, &example());
    assert_eq!(r, Ok(()));
}
