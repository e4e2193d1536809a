//! Bad input gives a verdict with a reason, never a panic.

use std::convert::Infallible;

use danebound_tests::danetest::pki::{CURRENT, NOW, Node};
use danebound_verifier::{
    DaneError, MAX_CHAIN_LEN, MatchingType, SecureTlsa, Selector, TlsaRecord, Usage, VerifyParams,
    generate, verify,
};
use rustls_pki_types::CertificateDer;

fn secure(records: &[TlsaRecord]) -> SecureTlsa {
    SecureTlsa::from_validated(records.iter().cloned().map(Ok::<_, Infallible>)).unwrap()
}

fn params() -> VerifyParams {
    VerifyParams::generic("mx.example.com", Vec::new(), NOW)
}

#[test]
fn empty_and_overlong_chains() {
    let r = TlsaRecord::new(3, 1, 1, vec![0; 32]);
    let v = verify(&secure(std::slice::from_ref(&r)), &[], &params());
    assert_eq!(*v.outcome(), Err(DaneError::EmptyChain));

    let root = Node::root("Root CA");
    let leaf = root.leaf(&["mx.example.com"]);
    let long = vec![leaf.cert.clone(); MAX_CHAIN_LEN + 1];
    let v = verify(&secure(&[r]), &long, &params());
    assert_eq!(
        *v.outcome(),
        Err(DaneError::ChainTooLong {
            len: MAX_CHAIN_LEN + 1
        })
    );
}

#[test]
fn malformed_leaf_and_intermediates() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    let r = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let ta = generate(
        &issuer.cert,
        Usage::DaneTa,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();

    // Truncations of the leaf at every length: a verdict each time.
    let der = leaf.cert.as_ref();
    for n in 0..der.len() {
        let bad = CertificateDer::from(der[..n].to_vec());
        let v = verify(
            &secure(&[r.clone(), ta.clone()]),
            &[bad, issuer.cert.clone()],
            &params(),
        );
        assert!(
            matches!(v.outcome(), Err(DaneError::MalformedLeaf { .. })),
            "length {n}"
        );
    }
    // Trailing garbage after the leaf.
    let mut trailing = der.to_vec();
    trailing.push(0);
    let v = verify(
        &secure(std::slice::from_ref(&r)),
        &[CertificateDer::from(trailing)],
        &params(),
    );
    assert!(matches!(v.outcome(), Err(DaneError::MalformedLeaf { .. })));

    // A garbage intermediate does not stop DANE-EE, and cannot be a TA.
    let junk = CertificateDer::from(vec![0x30, 0x80, 0xff]);
    let v = verify(&secure(&[r]), &[leaf.cert.clone(), junk.clone()], &params());
    assert!(v.outcome().is_ok());
    let v = verify(
        &secure(&[ta]),
        &[leaf.cert.clone(), junk, issuer.cert.clone()],
        &params(),
    );
    // Depth is that of the validated path (leaf, TA), like OpenSSL's chain.
    assert_eq!(v.matched().map(|m| m.depth), Some(1));
}

#[test]
fn records_with_junk_data_never_panic() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    let chain = [leaf.cert.clone(), issuer.cert.clone()];
    let mut records = Vec::new();
    for usage in [0u8, 1, 2, 3, 4, 255] {
        for selector in [0u8, 1, 2] {
            for mtype in [0u8, 1, 2, 3] {
                for data in [
                    vec![],
                    vec![0x30],
                    vec![0x30, 0x82, 0xff, 0xff],
                    issuer.cert.as_ref()[..issuer.cert.as_ref().len() - 1].to_vec(),
                    vec![0; 32],
                    vec![0; 64],
                ] {
                    records.push(TlsaRecord::new(usage, selector, mtype, data));
                }
            }
        }
    }
    let v = verify(&secure(&records), &chain, &params());
    // The usable PKIX records meet an empty trust store (20); nothing matches.
    assert!(matches!(
        v.outcome(),
        Err(DaneError::PkixPath { depth: None, .. })
    ));
    assert_eq!(v.records().len(), records.len());
}
