//! TLSA generation and renewal advice (RFC 7671 §8.1): `3 0 x` changes with
//! every certificate, `3 1 x` survives only if the key is reused, `2 x x`
//! follows the issuer.

use danebound_tests::danetest::pki::{CURRENT, Node, new_key};
use danebound_verifier::{
    MatchingType, RenewalStability, Selector, TlsaRecord, Usage, generate, survives_renewal,
};
use rcgen::KeyPair;

fn same_key(key: &KeyPair) -> KeyPair {
    KeyPair::try_from(key.serialize_der()).unwrap()
}

#[test]
fn section_8_1_renewal_keeping_the_key() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let old = issuer.leaf(&["mx.example.com"]);
    let renewed = issuer.leaf_with(&["mx.example.com"], CURRENT, same_key(&old.key));
    let new_chain = [renewed.cert.clone(), issuer.cert.clone()];

    let r311 = generate(
        &old.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let r301 = generate(
        &old.cert,
        Usage::DaneEe,
        Selector::Cert,
        MatchingType::Sha256,
    )
    .unwrap();
    let r211 = generate(
        &issuer.cert,
        Usage::DaneTa,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    assert!(survives_renewal(&r311, &new_chain));
    assert!(!survives_renewal(&r301, &new_chain));
    assert!(survives_renewal(&r211, &new_chain));
}

#[test]
fn section_8_1_renewal_changing_the_key() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let old = issuer.leaf(&["mx.example.com"]);
    let renewed = issuer.leaf_with(&["mx.example.com"], CURRENT, new_key());
    let new_chain = [renewed.cert.clone(), issuer.cert.clone()];

    let r311 = generate(
        &old.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let r211 = generate(
        &issuer.cert,
        Usage::DaneTa,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    assert!(!survives_renewal(&r311, &new_chain));
    assert!(survives_renewal(&r211, &new_chain));
    // A TA record is not satisfied by the leaf itself.
    let leaf_as_ta = generate(
        &renewed.cert,
        Usage::DaneTa,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    assert!(!survives_renewal(&leaf_as_ta, &new_chain));
}

#[test]
fn renewal_stability_classes_and_warnings() {
    let r = |u, s| TlsaRecord::new(u, s, 1, vec![0; 32]);
    assert_eq!(
        RenewalStability::of(&r(3, 0)),
        RenewalStability::ChangesEveryRenewal
    );
    assert_eq!(
        RenewalStability::of(&r(3, 1)),
        RenewalStability::SurvivesIfKeyReused
    );
    assert_eq!(
        RenewalStability::of(&r(1, 0)),
        RenewalStability::ChangesEveryRenewal
    );
    assert_eq!(
        RenewalStability::of(&r(2, 0)),
        RenewalStability::DependsOnIssuer
    );
    assert_eq!(RenewalStability::of(&r(9, 0)), RenewalStability::Unusable);
    assert!(
        RenewalStability::of(&r(3, 0))
            .warning()
            .unwrap()
            .contains("every renewal")
    );
}

#[test]
fn generated_records_have_the_rfc6698_form() {
    let root = Node::root("Root CA");
    let leaf = root.leaf(&["mx.example.com"]);
    let full = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Cert,
        MatchingType::Full,
    )
    .unwrap();
    assert_eq!(full.data, leaf.cert.as_ref());
    let spki = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Full,
    )
    .unwrap();
    assert_eq!(
        spki.data,
        leaf.spki(),
        "selector 1 is the DER SubjectPublicKeyInfo"
    );
    for (m, len) in [(MatchingType::Sha256, 32), (MatchingType::Sha512, 64)] {
        let r = generate(&leaf.cert, Usage::DaneTa, Selector::Spki, m).unwrap();
        assert_eq!(
            (r.usage, r.selector, r.matching_type, r.data.len()),
            (2, 1, m.code(), len)
        );
        assert_eq!(r.to_string().parse::<TlsaRecord>().unwrap(), r);
    }
    let garbage = rustls_pki_types::CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]);
    assert!(
        generate(
            &garbage,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256
        )
        .is_err()
    );
}
