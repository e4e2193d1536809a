//! RFC 7671 (DANE operations) checks on in-process test chains. Each test
//! is named after the section whose rule it guards and fails if that rule's
//! check were removed.
//!
//! The DANE-TA expectations (expired intermediate → 10, expired TA accepted,
//! CA:TRUE leaves accepted at depth 1 and 2, `2 1 0` over a self-signed CA
//! leaf accepted and `2 0 0`/`2 1 1` of it refused, TA digest without the TA
//! sent → 65, a TA record on the leaf → 65, a missing link → 65, CN-only and
//! wildcard leaves) were checked against OpenSSL 3.0's `s_client
//! -dane_tlsa_rrdata` on equivalent chains. The one deliberate difference:
//! s_client accepts partial wildcards (`m*.example.com`); we refuse them,
//! as Postfix does (`X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`).

use std::convert::Infallible;

use danebound_tests::danetest::pki::{CURRENT, EXPIRED, NOW, Node};
use danebound_verifier::{
    DaneError, MatchKind, MatchingType, RecordStatus, SecureTlsa, Selector, TlsaRecord, Unusable,
    Usage, VerifyParams, generate, verify,
};
use rustls_pki_types::CertificateDer;

fn secure(records: &[TlsaRecord]) -> SecureTlsa {
    SecureTlsa::from_validated(records.iter().cloned().map(Ok::<_, Infallible>)).unwrap()
}

fn rec(cert: &CertificateDer<'_>, u: Usage, s: Selector, m: MatchingType) -> TlsaRecord {
    generate(cert, u, s, m).unwrap()
}

fn smtp(name: &str) -> VerifyParams {
    VerifyParams::smtp(name, NOW)
}

fn chain(nodes: &[&Node]) -> Vec<CertificateDer<'static>> {
    nodes.iter().map(|n| n.cert.clone()).collect()
}

/// root → issuer → leaf for mx.example.com
fn pki() -> (Node, Node, Node) {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    (root, issuer, leaf)
}

mod section_4_unusable_records {
    use super::*;

    #[test]
    fn all_unusable_is_reported_apart_from_no_match() {
        let (_, issuer, leaf) = pki();
        let good = rec(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let records = [
            // a SHA2-256 digest one octet short: the prefix of the right one
            TlsaRecord::new(3, 1, 1, good.data[..31].to_vec()),
            TlsaRecord::new(3, 1, 255, good.data.clone()),
            TlsaRecord::new(255, 1, 1, good.data.clone()),
            TlsaRecord::new(3, 2, 1, good.data.clone()),
            // Full(0) data that doesn't parse: a truncated certificate
            TlsaRecord::new(2, 0, 0, issuer.cert.as_ref()[..40].to_vec()),
            TlsaRecord::new(2, 1, 0, vec![0x30, 0x00]),
        ];
        let v = verify(
            &secure(&records),
            &chain(&[&leaf, &issuer]),
            &smtp("mx.example.com"),
        );
        assert_eq!(*v.outcome(), Err(DaneError::NoUsableRecords { dropped: 6 }));
        assert_eq!(v.unusable().count(), 6);
        assert!(matches!(
            v.records()[0].status,
            RecordStatus::Unusable(Unusable::DigestLength {
                expected: 32,
                actual: 31
            })
        ));
        assert!(matches!(
            v.records()[4].status,
            RecordStatus::Unusable(Unusable::MalformedCertificate)
        ));

        // One usable record that doesn't match: "no match", not "unusable".
        let mut with_usable = records.to_vec();
        with_usable.push(TlsaRecord::new(3, 1, 1, vec![0; 32]));
        let v = verify(
            &secure(&with_usable),
            &chain(&[&leaf]),
            &smtp("mx.example.com"),
        );
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }

    #[test]
    fn unusable_records_do_not_hide_a_usable_match() {
        let (_, issuer, leaf) = pki();
        let records = [
            TlsaRecord::new(3, 1, 1, vec![0xab; 31]),
            rec(
                &leaf.cert,
                Usage::DaneEe,
                Selector::Spki,
                MatchingType::Sha256,
            ),
        ];
        let v = verify(
            &secure(&records),
            &chain(&[&leaf, &issuer]),
            &smtp("mx.example.com"),
        );
        assert_eq!(v.matched().unwrap().record, records[1]);
        assert_eq!(v.unusable().count(), 1);
    }
}

mod section_9_digest_agility {
    use super::*;

    #[test]
    fn only_the_most_preferred_digest_per_usage_and_selector_is_used() {
        let (_, issuer, leaf) = pki();
        let sha256 = rec(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
        );
        // A SHA2-512 record that does not match (e.g. for the next key).
        let stale_sha512 = TlsaRecord::new(3, 1, 2, vec![0x5a; 64]);
        let records = [sha256.clone(), stale_sha512];
        let c = chain(&[&leaf, &issuer]);

        // Default preference: SHA2-512 first, so the SHA2-256 record is ignored.
        let v = verify(&secure(&records), &c, &smtp("mx.example.com"));
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
        assert_eq!(
            v.records()[0].status,
            RecordStatus::IgnoredByAgility {
                preferred: MatchingType::Sha512
            }
        );

        // SHA2-256 preferred: it is used.
        let params = smtp("mx.example.com")
            .with_digest_preference(&[MatchingType::Sha256, MatchingType::Sha512]);
        assert_eq!(
            verify(&secure(&records), &c, &params)
                .matched()
                .unwrap()
                .record,
            sha256
        );
    }

    #[test]
    fn full_records_are_never_ignored_and_pairs_are_independent() {
        let (_, issuer, leaf) = pki();
        let c = chain(&[&leaf, &issuer]);
        let full = rec(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Full,
        );
        let records = [full.clone(), TlsaRecord::new(3, 1, 2, vec![0; 64])];
        let v = verify(&secure(&records), &c, &smtp("mx.example.com"));
        assert_eq!(v.matched().unwrap().record, full);

        // A SHA2-512 record for selector 1 does not shadow selector 0.
        let cert256 = rec(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let records = [cert256.clone(), TlsaRecord::new(3, 1, 2, vec![0; 64])];
        let v = verify(&secure(&records), &c, &smtp("mx.example.com"));
        assert_eq!(v.matched().unwrap().record, cert256);
    }
}

mod section_5_1_dane_ee {
    use super::*;

    #[test]
    fn ee_match_ignores_expiry_names_and_issuer() {
        let root = Node::root("Root CA");
        // Expired, for another name, issuer not sent.
        let leaf = root.leaf_with(
            &["other.example.org"],
            EXPIRED,
            danebound_tests::danetest::pki::new_key(),
        );
        for (s, m) in [
            (Selector::Cert, MatchingType::Full),
            (Selector::Spki, MatchingType::Sha256),
            (Selector::Cert, MatchingType::Sha512),
        ] {
            let r = rec(&leaf.cert, Usage::DaneEe, s, m);
            let v = verify(&secure(&[r]), &chain(&[&leaf]), &smtp("mx.example.com"));
            let m = v.matched().expect("DANE-EE matches");
            assert_eq!(
                (m.depth, m.kind, m.name.as_deref()),
                (0, MatchKind::DaneEe, None)
            );
            assert!(v.is_authenticated());
        }
    }

    #[test]
    fn ee_record_does_not_match_an_issuer() {
        let (_, issuer, leaf) = pki();
        let r = rec(
            &issuer.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer]),
            &smtp("mx.example.com"),
        );
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }

    #[test]
    fn ee_names_checked_only_when_asked() {
        let (_, _, leaf) = pki();
        let r = rec(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let params = smtp("other.example.net").with_ee_name_checks(true);
        let v = verify(&secure(&[r]), &chain(&[&leaf]), &params);
        assert!(matches!(v.outcome(), Err(DaneError::NameMismatch { .. })));
        assert_eq!((v.openssl_code(), v.openssl_depth()), (62, 0));
    }
}

mod section_5_2_dane_ta {
    use super::*;

    #[test]
    fn ta_at_depth_1_and_2_validates_the_path() {
        let (root, issuer, leaf) = pki();
        let c = chain(&[&leaf, &issuer, &root]);
        for (ta, depth) in [(&issuer, 1), (&root, 2)] {
            let r = rec(
                &ta.cert,
                Usage::DaneTa,
                Selector::Spki,
                MatchingType::Sha256,
            );
            let v = verify(&secure(&[r]), &c, &smtp("mx.example.com"));
            let m = v.matched().unwrap();
            assert_eq!((m.depth, m.kind), (depth, MatchKind::DaneTaCert));
            assert_eq!(m.name.as_deref(), Some("mx.example.com"));
        }
    }

    #[test]
    fn ta_record_matching_only_the_leaf_does_not_authenticate() {
        // RFC 7671 §5.2: the TA is at depth ≥ 1 (MiniDNS#105). A
        // self-signed leaf would otherwise anchor its own path.
        let leaf = Node::self_signed_leaf(&["mx.example.com"]);
        for (s, m) in [
            (Selector::Cert, MatchingType::Sha256),
            (Selector::Spki, MatchingType::Sha256),
        ] {
            let r = rec(&leaf.cert, Usage::DaneTa, s, m);
            let v = verify(&secure(&[r]), &chain(&[&leaf]), &smtp("mx.example.com"));
            assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
        }
        // The server sending its leaf twice changes nothing.
        let r = rec(
            &leaf.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &leaf]),
            &smtp("mx.example.com"),
        );
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }

    #[test]
    fn section_5_2_2_ta_digest_requires_the_server_to_send_the_ta() {
        // `2 x 1` of the root while only leaf + issuer are sent: no match,
        // even though the root is in the PKIX trust store (maddy#292).
        let (root, issuer, leaf) = pki();
        let r = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let params = VerifyParams::generic("mx.example.com", vec![root.cert.clone()], NOW);
        let v = verify(&secure(&[r]), &chain(&[&leaf, &issuer]), &params);
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
        assert_eq!((v.openssl_code(), v.openssl_depth()), (65, -1));
    }

    #[test]
    fn section_5_2_2_full_ta_certificate_from_dns_completes_the_chain() {
        let (root, issuer, leaf) = pki();
        let r = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Full,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer]),
            &smtp("mx.example.com"),
        );
        let m = v.matched().unwrap();
        assert_eq!((m.depth, m.kind), (2, MatchKind::DaneTaCertFromDns));

        // Also when the intermediate is the one not sent.
        let r = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Full,
        );
        let v = verify(&secure(&[r]), &chain(&[&leaf]), &smtp("mx.example.com"));
        assert_eq!(v.matched().unwrap().depth, 1);
    }

    #[test]
    fn section_5_2_3_bare_key_verifies_the_top_certificate() {
        let (root, issuer, leaf) = pki();
        // Root key, root not sent: verifies the issuer at depth 1.
        let r = TlsaRecord::new(2, 1, 0, root.spki());
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer]),
            &smtp("mx.example.com"),
        );
        let m = v.matched().unwrap();
        assert_eq!((m.depth, m.kind), (1, MatchKind::DaneTaKey));
        // Issuer key, only the leaf sent: verifies the leaf at depth 0.
        let r = TlsaRecord::new(2, 1, 0, issuer.spki());
        let v = verify(&secure(&[r]), &chain(&[&leaf]), &smtp("mx.example.com"));
        assert_eq!(v.matched().unwrap().depth, 0);
        // Someone else's key verifies nothing.
        let other = Node::root("Other CA");
        let r = TlsaRecord::new(2, 1, 0, other.spki());
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer]),
            &smtp("mx.example.com"),
        );
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }

    #[test]
    fn ta_path_checks_intermediate_expiry() {
        let root = Node::root("Root CA");
        let issuer = root.intermediate("Issuer CA", EXPIRED);
        let leaf = issuer.leaf(&["mx.example.com"]);
        let c = chain(&[&leaf, &issuer, &root]);
        let r = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(&secure(&[r]), &c, &smtp("mx.example.com"));
        assert!(matches!(
            v.outcome(),
            Err(DaneError::TaPath {
                depth: 2,
                reason: webpki::Error::CertExpired { .. },
                ..
            })
        ));
        assert_eq!(v.openssl_code(), 10);

        // The expired intermediate as the TA itself: an anchor is a name and
        // a key (RFC 5280 §6.1), its dates are not checked (our decision,
        // as webpki; OpenSSL 3.0 s_client agreed).
        let r = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(&secure(&[r]), &c, &smtp("mx.example.com"));
        assert_eq!(v.matched().unwrap().depth, 1);
    }

    #[test]
    fn ta_sent_but_unreachable_is_no_match() {
        // Leaf and root sent, the issuer between them not: the root's
        // record matches a presented certificate, but no path reaches it.
        // OpenSSL 3.0 (s_client -dane_tlsa_rrdata) says 65, no depth.
        let (root, _, leaf) = pki();
        let r = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &root]),
            &smtp("mx.example.com"),
        );
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
        assert_eq!((v.openssl_code(), v.openssl_depth()), (65, -1));
        assert_eq!(
            v.records()[0].status,
            RecordStatus::Evaluated {
                presented_depths: vec![1]
            }
        );
    }

    #[test]
    fn ta_path_checks_leaf_expiry() {
        let (root, issuer, _) = pki();
        let leaf = issuer.leaf_with(
            &["mx.example.com"],
            EXPIRED,
            danebound_tests::danetest::pki::new_key(),
        );
        let r = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer, &root]),
            &smtp("mx.example.com"),
        );
        assert!(v.outcome().is_err());
        assert_eq!(v.openssl_code(), 10);
    }

    #[test]
    fn ta_path_checks_signatures() {
        // A leaf that names "Issuer CA" as issuer but was signed by another key.
        let (root, issuer, _) = pki();
        let impostor = Node::root("Issuer CA");
        let leaf = impostor.leaf(&["mx.example.com"]);
        let r = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer, &root]),
            &smtp("mx.example.com"),
        );
        assert!(v.outcome().is_err(), "{:?}", v.outcome());
    }

    #[test]
    fn leaf_marked_ca_is_accepted_under_dane_ta() {
        // webpki: CaUsedAsEndEntity. RFC 7671 §5.2 has no such rule and
        // OpenSSL accepts it; the RFC decides.
        let (root, issuer, _) = pki();
        let leaf = issuer.leaf_marked_ca(&["mx.example.com"]);
        let r = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &issuer, &root]),
            &smtp("mx.example.com"),
        );
        assert_eq!(v.matched().map(|m| m.depth), Some(1), "{:?}", v.outcome());
        // ... but still needs a valid signature from the TA.
        let other = Node::root("Issuer CA");
        let r = rec(
            &other.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &other]),
            &smtp("mx.example.com"),
        );
        assert!(v.outcome().is_err());
    }

    #[test]
    fn section_5_2_3_bare_key_of_a_self_signed_ca_leaf() {
        // OpenSSL accepts `2 1 0` whose key signed the (only) certificate,
        // even a self-signed one marked CA:TRUE (webpki: CaUsedAsEndEntity).
        let leaf = Node::self_signed_ca_leaf(&["mx.example.com"]);
        let r = TlsaRecord::new(2, 1, 0, leaf.spki());
        let v = verify(&secure(&[r]), &chain(&[&leaf]), &smtp("mx.example.com"));
        let m = v.matched().expect("2 1 0 verifies the self-signed leaf");
        assert_eq!((m.depth, m.kind), (0, MatchKind::DaneTaKey));
        // The full certificate of the leaf itself is a depth-0 TA: refused,
        // as by OpenSSL.
        let r = rec(
            &leaf.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Full,
        );
        let v = verify(&secure(&[r]), &chain(&[&leaf]), &smtp("mx.example.com"));
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }

    #[test]
    fn leaf_marked_ca_under_an_intermediate_is_validated_to_the_ta() {
        // RFC 7671 §5.2 with a CA:TRUE leaf two levels under the TA: our own
        // path validation (webpki refuses the leaf), with the same checks.
        let (root, issuer, _) = pki();
        let leaf = issuer.leaf_marked_ca(&["mx.example.com"]);
        let ta = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(std::slice::from_ref(&ta)),
            &chain(&[&leaf, &issuer, &root]),
            &smtp("mx.example.com"),
        );
        assert_eq!(v.matched().map(|m| m.depth), Some(2), "{:?}", v.outcome());

        // An expired intermediate fails that path too.
        let expired = root.intermediate("Issuer CA", EXPIRED);
        let leaf = expired.leaf_marked_ca(&["mx.example.com"]);
        let v = verify(
            &secure(std::slice::from_ref(&ta)),
            &chain(&[&leaf, &expired, &root]),
            &smtp("mx.example.com"),
        );
        assert!(v.outcome().is_err());

        // So does an intermediate that is not a CA.
        let not_ca = root.leaf(&["not-a-ca.example.com"]);
        let leaf = not_ca.leaf_marked_ca(&["mx.example.com"]);
        let v = verify(
            &secure(std::slice::from_ref(&ta)),
            &chain(&[&leaf, &not_ca, &root]),
            &smtp("mx.example.com"),
        );
        assert!(v.outcome().is_err());

        // And a missing link (the intermediate not sent).
        let leaf = issuer.leaf_marked_ca(&["mx.example.com"]);
        let v = verify(
            &secure(&[ta]),
            &chain(&[&leaf, &root]),
            &smtp("mx.example.com"),
        );
        assert!(v.outcome().is_err());
    }

    #[test]
    fn ta_certificate_need_not_be_a_ca() {
        // The anchor is a name and a key (RFC 5280 §6.1.1 (d)); RFC 7671
        // §5.2 asks nothing of its basic constraints, and webpki does not
        // check an anchor's CA bit either.
        let ta = Node::self_signed_leaf(&["ta.example.net"]);
        let leaf = ta.leaf(&["mx.example.com"]);
        let r = rec(
            &ta.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[r]),
            &chain(&[&leaf, &ta]),
            &smtp("mx.example.com"),
        );
        assert_eq!(v.matched().map(|m| m.depth), Some(1), "{:?}", v.outcome());
    }

    #[test]
    fn lowest_depth_wins_and_ee_beats_ta() {
        let (root, issuer, leaf) = pki();
        let c = chain(&[&leaf, &issuer, &root]);
        let ta_root = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let ta_issuer = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let ee = rec(
            &leaf.cert,
            Usage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let v = verify(
            &secure(&[ta_root.clone(), ta_issuer.clone()]),
            &c,
            &smtp("mx.example.com"),
        );
        assert_eq!(v.matched().unwrap().record, ta_issuer);
        let v = verify(
            &secure(&[ta_root, ta_issuer, ee.clone()]),
            &c,
            &smtp("mx.example.com"),
        );
        assert_eq!(v.matched().unwrap().record, ee);
    }

    #[test]
    fn looping_issuers_end_in_a_verdict() {
        // A and B each issued by the other; leaf under A; the TA is elsewhere.
        let a = Node::root("Loop A");
        let b = a.intermediate("Loop B", CURRENT);
        let a2 = b.intermediate("Loop A", CURRENT);
        let leaf = a.leaf(&["mx.example.com"]);
        let other = Node::root("Elsewhere");
        let r = rec(
            &other.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let c = chain(&[&leaf, &a2, &b, &a2, &b]);
        let v = verify(&secure(&[r]), &c, &smtp("mx.example.com"));
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }
}

mod section_10_2_names {
    use super::*;

    fn ta_verdict(
        leaf: &Node,
        issuer: &Node,
        params: &VerifyParams,
    ) -> danebound_verifier::Verdict {
        let r = rec(
            &issuer.cert,
            Usage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        );
        verify(&secure(&[r]), &chain(&[leaf, issuer]), params)
    }

    #[test]
    fn dane_ta_checks_the_leaf_name() {
        let (_, issuer, leaf) = pki();
        let v = ta_verdict(&leaf, &issuer, &smtp("mail.example.net"));
        assert!(matches!(v.outcome(), Err(DaneError::NameMismatch { .. })));
        assert_eq!((v.openssl_code(), v.openssl_depth()), (62, 1));
    }

    #[test]
    fn rfc7672_3_2_2_next_hop_domain_is_a_reference_identifier() {
        let (_, issuer, leaf) = pki();
        let params = smtp("mx1.example.net").with_reference_name("mx.example.com");
        let v = ta_verdict(&leaf, &issuer, &params);
        assert_eq!(v.matched().unwrap().name.as_deref(), Some("mx.example.com"));
    }

    #[test]
    fn wildcard_is_one_whole_left_label() {
        let (_, issuer, _) = pki();
        let leaf = issuer.leaf(&["*.example.com"]);
        assert!(
            ta_verdict(&leaf, &issuer, &smtp("mx.example.com"))
                .outcome()
                .is_ok()
        );
        assert!(
            ta_verdict(&leaf, &issuer, &smtp("a.mx.example.com"))
                .outcome()
                .is_err()
        );
        assert!(
            ta_verdict(&leaf, &issuer, &smtp("example.com"))
                .outcome()
                .is_err()
        );
        let partial = issuer.leaf(&["m*.example.com"]);
        assert!(
            ta_verdict(&partial, &issuer, &smtp("mx.example.com"))
                .outcome()
                .is_err()
        );
    }

    #[test]
    fn rfc6125_6_4_4_cn_only_without_dns_san() {
        let (_, issuer, _) = pki();
        let cn_only = issuer.leaf_cn_only("mx.example.com");
        assert!(
            ta_verdict(&cn_only, &issuer, &smtp("mx.example.com"))
                .outcome()
                .is_ok()
        );
        // With a DNS SAN present, the CN (= first SAN here) is not consulted
        // for other names: SAN other.example.com, CN other.example.com.
        let san = issuer.leaf(&["other.example.com"]);
        assert!(
            ta_verdict(&san, &issuer, &smtp("mx.example.com"))
                .outcome()
                .is_err()
        );
    }
}

mod sections_5_3_5_4_pkix {
    use super::*;

    #[test]
    fn pkix_ee_and_ta_need_a_path_to_the_trust_store() {
        let (root, issuer, leaf) = pki();
        let c = chain(&[&leaf, &issuer]);
        let ee = rec(
            &leaf.cert,
            Usage::PkixEe,
            Selector::Spki,
            MatchingType::Sha256,
        );
        let ta = rec(
            &root.cert,
            Usage::PkixTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let with_roots = VerifyParams::generic("mx.example.com", vec![root.cert.clone()], NOW);
        let v = verify(&secure(std::slice::from_ref(&ee)), &c, &with_roots);
        assert_eq!(v.matched().unwrap().kind, MatchKind::PkixEe);
        let v = verify(&secure(&[ta]), &c, &with_roots);
        let m = v.matched().unwrap();
        assert_eq!((m.kind, m.depth), (MatchKind::PkixTa, 2));

        let no_roots = VerifyParams::generic("mx.example.com", Vec::new(), NOW);
        let v = verify(&secure(&[ee]), &c, &no_roots);
        assert!(matches!(
            v.outcome(),
            Err(DaneError::PkixPath { depth: Some(0), .. })
        ));
        assert_eq!(v.openssl_code(), 20);
    }

    #[test]
    fn pkix_ta_must_be_on_the_validated_path() {
        let (root, issuer, leaf) = pki();
        let other = Node::root("Other Root");
        let ta = rec(
            &other.cert,
            Usage::PkixTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let params = VerifyParams::generic(
            "mx.example.com",
            vec![root.cert.clone(), other.cert.clone()],
            NOW,
        );
        let v = verify(&secure(&[ta]), &chain(&[&leaf, &issuer]), &params);
        assert_eq!(*v.outcome(), Err(DaneError::NoMatch));
    }

    #[test]
    fn dane_ta_beats_pkix_ta() {
        let (root, issuer, leaf) = pki();
        let pkix = rec(
            &issuer.cert,
            Usage::PkixTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let dane = rec(
            &root.cert,
            Usage::DaneTa,
            Selector::Cert,
            MatchingType::Sha256,
        );
        let params = VerifyParams::generic("mx.example.com", vec![root.cert.clone()], NOW);
        let v = verify(
            &secure(&[pkix, dane.clone()]),
            &chain(&[&leaf, &issuer, &root]),
            &params,
        );
        let m = v.matched().unwrap();
        assert_eq!((m.record.clone(), m.depth), (dane, 2));
    }
}
