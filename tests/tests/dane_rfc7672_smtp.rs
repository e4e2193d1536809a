//! RFC 7672 (SMTP) profile: PKIX usages unusable (§3.1.3), DANE-EE without
//! name checks (§3.1.1), and the provenance rule of RFC 6698 §4.

use std::convert::Infallible;

use danebound_tests::danetest::pki::{CURRENT, NOW, Node};
use danebound_verifier::{
    DaneError, MatchingType, Profile, Provenance, RecordStatus, SecureTlsa, Selector, TlsaRecord,
    Unusable, Usage, VerifyParams, danger, generate, verify,
};

fn secure(records: &[TlsaRecord]) -> SecureTlsa {
    SecureTlsa::from_validated(records.iter().cloned().map(Ok::<_, Infallible>)).unwrap()
}

#[test]
fn section_3_1_3_pkix_usages_are_unusable_for_smtp() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    let chain = [leaf.cert.clone(), issuer.cert.clone()];
    let records = [
        generate(
            &leaf.cert,
            Usage::PkixEe,
            Selector::Spki,
            MatchingType::Sha256,
        )
        .unwrap(),
        generate(
            &root.cert,
            Usage::PkixTa,
            Selector::Cert,
            MatchingType::Sha256,
        )
        .unwrap(),
    ];
    // Generic profile with the root trusted: authenticates.
    let generic = VerifyParams::generic("mx.example.com", vec![root.cert.clone()], NOW);
    assert!(verify(&secure(&records), &chain, &generic).is_authenticated());

    // SMTP: both records unusable; TLS without authentication (§2.2).
    assert!(secure(&records).any_usable(Profile::Generic));
    assert!(!secure(&records).any_usable(Profile::Smtp));
    let smtp = VerifyParams::smtp("mx.example.com", NOW);
    let v = verify(&secure(&records), &chain, &smtp);
    assert_eq!(*v.outcome(), Err(DaneError::NoUsableRecords { dropped: 2 }));
    assert!(v.records().iter().all(|r| matches!(
        r.status,
        RecordStatus::Unusable(Unusable::PkixUsageInSmtp(_))
    )));
}

#[test]
fn section_3_1_1_dane_ee_names_not_checked_for_smtp() {
    let root = Node::root("Root CA");
    let leaf = root.leaf(&["some-other-name.example"]);
    let r = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let v = verify(
        &secure(&[r]),
        std::slice::from_ref(&leaf.cert),
        &VerifyParams::smtp("mx.example.com", NOW),
    );
    assert!(v.is_authenticated());
}

#[test]
fn rfc6698_section_4_unvalidated_records_never_authenticate() {
    let root = Node::root("Root CA");
    let leaf = root.leaf(&["mx.example.com"]);
    let r = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let params = VerifyParams::smtp("mx.example.com", NOW);

    let v = verify(
        &danger::tlsa_without_dnssec(vec![r.clone()]),
        std::slice::from_ref(&leaf.cert),
        &params,
    );
    assert!(v.outcome().is_ok(), "the match is still reported");
    assert_eq!(v.provenance(), Provenance::Unvalidated);
    assert!(!v.is_authenticated());

    let v = verify(&secure(&[r]), std::slice::from_ref(&leaf.cert), &params);
    assert_eq!(v.provenance(), Provenance::DnssecSecure);
    assert!(v.is_authenticated());
}

#[test]
fn truncated_rdata_refuses_the_rrset() {
    let rdata: Vec<&[u8]> = vec![&[3, 1, 1, 0xaa], &[3, 1]];
    assert!(SecureTlsa::from_validated(rdata.into_iter().map(TlsaRecord::from_rdata)).is_err());
}
