//! Bad input gives a verdict with a reason, never a panic.

use std::convert::Infallible;

use danebound_tests::danetest::pki::{CURRENT, NOW, Node};
use danebound_verifier::{
    DaneError, MAX_CHAIN_LEN, MatchKind, MatchingType, RecordStatus, SecureTlsa, Selector,
    TlsaRecord, Usage, VerifyParams, generate, verify,
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
    assert_eq!(v.records()[0].status, RecordStatus::NotEvaluated);

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

#[test]
fn every_corrupted_byte_gives_a_verdict() {
    // Each byte of the leaf and of the issuer inverted in turn, with
    // records of every usage: no panic, and no DANE-TA or PKIX success
    // through a corrupted certificate.
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    let records = [
        generate(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
        )
        .unwrap(),
        generate(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        )
        .unwrap(),
        TlsaRecord::new(2, 1, 0, root.spki()),
        generate(
            &root.cert,
            Usage::PkixTa,
            Selector::Cert,
            MatchingType::Sha256,
        )
        .unwrap(),
    ];
    let params = VerifyParams::generic("mx.example.com", vec![root.cert.clone()], NOW);
    // With and without the DANE-EE record (which would end the search).
    for tlsa in [secure(&records), secure(&records[1..])] {
        for (which, target) in [(0usize, &leaf.cert), (1, &issuer.cert)] {
            for i in 0..target.as_ref().len() {
                let mut bytes = target.as_ref().to_vec();
                bytes[i] ^= 0xff;
                let mut chain = vec![leaf.cert.clone(), issuer.cert.clone()];
                chain[which] = CertificateDer::from(bytes);
                let v = verify(&tlsa, &chain, &params);
                if let Ok(m) = v.outcome() {
                    // `3 1 1` covers the key only: a leaf corrupted elsewhere
                    // still matches it (the handshake proves the key). A TA is
                    // a name and a key: the issuer as TA (depth 1) may be
                    // corrupted elsewhere too. Nothing that needs a corrupted
                    // certificate's signature may succeed.
                    let allowed = m.kind == MatchKind::DaneEe
                        || (which == 1 && m.kind == MatchKind::DaneTaCert && m.depth == 1);
                    assert!(allowed, "byte {i} of cert {which}: {m:?}");
                }
            }
        }
    }
}
