//! Unit tests of DNSKEY authentication (RFC 4035 §5.2, RFC 4509, RFC 6840
//! §5.2, RFC 5011). External vectors live in `resolver/tests/vectors_*.rs`.
#![allow(deprecated)] // RSASHA1 and RSAMD5 keys are test data here.

use super::*;
use crate::validator::budget::{Budget, Limits};
use crate::validator::crypto::RingCrypto;
use crate::validator::signature::tests::{NOW, TestKey, a_rrset, dnskey_rrset, name};
use crate::validator::signature::verify_rrset;
use crate::wire::{Algorithm, DigestType, PublicKeyBuf};

const KSK: u16 = FLAG_ZONE | FLAG_SEP;
const ZSK: u16 = FLAG_ZONE;

fn ds_for(key: &TestKey, digest_type: u8) -> DS {
    let digest = ds_digest(
        &name("example."),
        &key.dnskey,
        digest_type,
        &RingCrypto::new(),
    )
    .unwrap();
    DS::new(
        key.tag(),
        Algorithm::ED25519,
        DigestType::from(digest_type),
        digest,
    )
}

/// example. with a KSK and a ZSK; the DNSKEY RRset signed by the KSK.
fn zone() -> (TestKey, TestKey, Rrset) {
    let ksk = TestKey::new(11, KSK);
    let zsk = TestKey::new(12, ZSK);
    let mut set = dnskey_rrset("example.", &[&ksk, &zsk]);
    set.rrsigs.push(ksk.sign(&set, &name("example.")));
    (ksk, zsk, set)
}

fn authenticate(set: &Rrset, anchors: &SecureEntryPoints) -> KeyVerdict {
    authenticate_dnskeys(
        &name("example."),
        set,
        anchors,
        NOW,
        &mut Budget::default(),
        &RingCrypto::new(),
    )
}

#[test]
fn rfc4035_section5_2_ds_matched_ksk_signing_the_set_makes_all_zone_keys_usable() {
    let (ksk, zsk, set) = zone();
    let anchors = SecureEntryPoints::from_ds([ds_for(&ksk, 2)]).with_ttl_cap(600);
    let KeyVerdict::Trusted(keys) = authenticate(&set, &anchors) else {
        panic!("not trusted");
    };
    assert_eq!(keys.authenticated_by(), &[ksk.tag()]);
    assert_eq!(keys.zone_keys().len(), 2);
    assert_eq!(keys.ttl(), 600);
    // The ZSK, vouched for only by the KSK's signature, now verifies data.
    let mut data = a_rrset("www.example.", &[1]);
    data.rrsigs.push(zsk.sign(&data, &name("example.")));
    verify_rrset(
        &data,
        &keys,
        NOW,
        &mut Budget::default(),
        &RingCrypto::new(),
    )
    .unwrap();
}

#[test]
fn rfc4035_section5_2_ds_matched_key_must_sign_the_dnskey_rrset() {
    // RUSTSEC-2025-0006: the DS names the KSK, which is in the set, but the
    // set is signed only by the ZSK. A byte match alone must not be trusted.
    let ksk = TestKey::new(11, KSK);
    let zsk = TestKey::new(12, ZSK);
    let mut set = dnskey_rrset("example.", &[&ksk, &zsk]);
    set.rrsigs.push(zsk.sign(&set, &name("example.")));
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds_for(&ksk, 2)]));
    assert!(
        matches!(
            verdict,
            KeyVerdict::Bogus(BogusReason::NoMatchingKey { .. })
        ),
        "{verdict:?}"
    );
    // And a DS digest that does not match any key: DS mismatch.
    let (_, _, set) = zone();
    let mut wrong = ds_for(&ksk, 2).digest().to_vec();
    wrong[0] ^= 1;
    let ds = DS::new(ksk.tag(), Algorithm::ED25519, DigestType::SHA256, wrong);
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds]));
    assert!(
        matches!(verdict, KeyVerdict::Bogus(BogusReason::DsMismatch { .. })),
        "{verdict:?}"
    );
}

#[test]
fn rfc4035_section5_2_dnskey_rrset_signature_failures_are_reported() {
    let ksk = TestKey::new(11, KSK);
    let mut set = dnskey_rrset("example.", &[&ksk]);
    set.rrsigs.push(ksk.sign_with(
        &set,
        &name("example."),
        1,
        (NOW - 100) as u32,
        (NOW - 10) as u32,
    ));
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds_for(&ksk, 2)]));
    assert!(
        matches!(
            verdict,
            KeyVerdict::Bogus(BogusReason::SignatureExpired { .. })
        ),
        "{verdict:?}"
    );
}

#[test]
fn rfc4034_section2_1_1_ds_matched_key_without_zone_bit_is_no_zone_key_bit() {
    let ksk = TestKey::new(11, FLAG_SEP);
    let mut set = dnskey_rrset("example.", &[&ksk]);
    set.rrsigs.push(ksk.sign(&set, &name("example.")));
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds_for(&ksk, 2)]));
    assert!(
        matches!(verdict, KeyVerdict::Bogus(BogusReason::NoZoneKeyBit { key_tag, .. }) if key_tag == ksk.tag()),
        "{verdict:?}"
    );
    assert_eq!(
        match verdict {
            KeyVerdict::Bogus(r) => r.ede().code,
            _ => 0,
        },
        11
    );
}

#[test]
fn rfc4509_section3_sha1_ds_is_ignored_when_sha256_ds_exists() {
    let (ksk, _, set) = zone();
    let sha1 = ds_for(&ksk, 1);
    // Alone, the SHA-1 DS authenticates the set.
    assert!(matches!(
        authenticate(&set, &SecureEntryPoints::from_ds([sha1.clone()])),
        KeyVerdict::Trusted(_)
    ));
    // Next to a (wrong) SHA-256 DS for the same key, it is ignored.
    let mut wrong = ds_for(&ksk, 2).digest().to_vec();
    wrong[5] ^= 0x40;
    let sha256 = DS::new(ksk.tag(), Algorithm::ED25519, DigestType::SHA256, wrong);
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([sha1.clone(), sha256]));
    assert!(
        matches!(verdict, KeyVerdict::Bogus(BogusReason::DsMismatch { .. })),
        "{verdict:?}"
    );
    // A SHA-256 DS for another key does not disable it.
    let other = TestKey::new(99, KSK);
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([sha1, ds_for(&other, 2)]));
    assert!(matches!(verdict, KeyVerdict::Trusted(_)), "{verdict:?}");
}

#[test]
fn rfc4034_section5_1_4_sha384_digest_authenticates() {
    let (ksk, _, set) = zone();
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds_for(&ksk, 4)]));
    assert!(matches!(verdict, KeyVerdict::Trusted(_)), "{verdict:?}");
}

#[test]
fn rfc6840_section5_2_unknown_algorithm_or_digest_is_insecure() {
    let (ksk, _, set) = zone();
    let good = ds_for(&ksk, 2);
    for alg in [1u8, 3, 6, 12, 100, 253] {
        let ds = DS::new(
            ksk.tag(),
            Algorithm::from_u8(alg),
            DigestType::SHA256,
            good.digest().to_vec(),
        );
        let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds]));
        assert!(
            matches!(&verdict, KeyVerdict::Insecure(InsecureReason::UnsupportedAlgorithm { algorithms, .. }) if algorithms == &[alg]),
            "{alg}: {verdict:?}"
        );
    }
    let ds = DS::new(
        ksk.tag(),
        Algorithm::ED25519,
        DigestType::from(3),
        good.digest().to_vec(),
    );
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([ds]));
    assert!(
        matches!(&verdict, KeyVerdict::Insecure(InsecureReason::UnsupportedDigest { digests, .. }) if digests == &[3]),
        "{verdict:?}"
    );
    if let KeyVerdict::Insecure(reason) = verdict {
        assert_eq!(reason.ede().map(|e| e.code), Some(2));
    }
    // One usable DS among unusable ones: not insecure.
    let junk = DS::new(1, Algorithm::from_u8(253), DigestType::SHA256, vec![0; 32]);
    let verdict = authenticate(&set, &SecureEntryPoints::from_ds([junk, good]));
    assert!(matches!(verdict, KeyVerdict::Trusted(_)), "{verdict:?}");
}

/// The 512-bit RSA/SHA-256 key of RFC 5702 §6.1 (key tag 9033), or the same
/// modulus shifted right one bit (511 bits), as a DNSKEY RRset without
/// signatures and the DS that names it.
fn rfc5702_key_set(bits: u32) -> (Rrset, DS) {
    let b64 = "AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=";
    let mut bytes = data_encoding::BASE64.decode(b64.as_bytes()).unwrap();
    if bits == 511 {
        let mut carry = 0u8;
        for b in &mut bytes[4..] {
            let next = *b << 7;
            *b = (*b >> 1) | carry;
            carry = next;
        }
    }
    assert_eq!(
        crate::validator::crypto::rsa_modulus_bits(&bytes),
        Some(bits)
    );
    let key = DNSKEY::with_flags(256, PublicKeyBuf::new(bytes, Algorithm::RSASHA256));
    if bits == 512 {
        assert_eq!(key_tag(&key), 9033);
    }
    let crypto = RingCrypto::new();
    let digest = ds_digest(&name("example.net."), &key, 2, &crypto).unwrap();
    let ds = DS::new(
        key_tag(&key),
        Algorithm::RSASHA256,
        DigestType::SHA256,
        digest,
    );
    let set = Rrset::new(
        name("example.net."),
        crate::wire::DNSClass::IN,
        3600,
        RData::DNSSEC(DNSSECRData::DNSKEY(key)),
    );
    (set, ds)
}

fn authenticate_rfc5702_key(bits: u32, crypto: &RingCrypto) -> KeyVerdict {
    let (set, ds) = rfc5702_key_set(bits);
    authenticate_dnskeys(
        &name("example.net."),
        &set,
        &SecureEntryPoints::from_ds([ds]),
        NOW,
        &mut Budget::default(),
        crypto,
    )
}

#[test]
fn rfc5702_section2_rsa_key_below_512_bits_is_insecure() {
    let verdict = authenticate_rfc5702_key(511, &RingCrypto::new());
    assert!(
        matches!(&verdict, KeyVerdict::Insecure(InsecureReason::UnsupportedAlgorithm { algorithms, .. }) if algorithms == &[8]),
        "{verdict:?}"
    );
}

#[test]
fn rfc5702_section2_rsa_key_of_512_bits_is_validated_not_insecure() {
    // The key is usable now, so its unsigned DNSKEY RRset is bogus (RFC 4035
    // §5.2), where a key below the minimum would make the zone insecure.
    let verdict = authenticate_rfc5702_key(512, &RingCrypto::new());
    assert!(matches!(&verdict, KeyVerdict::Bogus(_)), "{verdict:?}");
    // A limit above 512 bits keeps the old policy: insecure.
    let strict = RingCrypto::with_limits(&Limits {
        min_rsa_bits: 1024,
        ..Limits::default()
    });
    let verdict = authenticate_rfc5702_key(512, &strict);
    assert!(
        matches!(
            &verdict,
            KeyVerdict::Insecure(InsecureReason::UnsupportedAlgorithm { .. })
        ),
        "{verdict:?}"
    );
}

#[test]
fn rfc5011_section2_1_dnskey_anchor_authenticates_unless_revoked() {
    let (ksk, _, set) = zone();
    let verdict = authenticate(
        &set,
        &SecureEntryPoints::default().with_dnskeys([ksk.dnskey.clone()]),
    );
    assert!(matches!(verdict, KeyVerdict::Trusted(_)), "{verdict:?}");
    // A stranger anchor: no match.
    let other = TestKey::new(42, KSK);
    let verdict = authenticate(
        &set,
        &SecureEntryPoints::default().with_dnskeys([other.dnskey]),
    );
    assert!(
        matches!(
            verdict,
            KeyVerdict::Bogus(BogusReason::AnchorKeyMismatch { .. })
        ),
        "{verdict:?}"
    );
    // RFC 8914 §4.10's DNSKEY Missing (9) speaks of a DS at the parent; a
    // DNSKEY anchor that matches nothing is plain DNSSEC Bogus (6).
    if let KeyVerdict::Bogus(reason) = &verdict {
        assert_eq!(reason.ede().code, 6, "{reason}");
    }
    // An anchor configured as revoked is not used, even if the served key
    // lacks the bit.
    let revoked_anchor = DNSKEY::with_flags(
        ksk.dnskey.flags() | FLAG_REVOKE,
        ksk.dnskey.public_key().clone(),
    );
    let verdict = authenticate(
        &set,
        &SecureEntryPoints::default().with_dnskeys([revoked_anchor]),
    );
    assert!(
        matches!(
            verdict,
            KeyVerdict::Bogus(BogusReason::AnchorKeyMismatch { .. })
        ),
        "{verdict:?}"
    );
    // The served key carries REVOKE: it must not be used as an anchor.
    let revoked = TestKey::new(11, KSK | FLAG_REVOKE);
    let mut set = dnskey_rrset("example.", &[&revoked]);
    set.rrsigs.push(revoked.sign(&set, &name("example.")));
    let verdict = authenticate(
        &set,
        &SecureEntryPoints::default().with_dnskeys([ksk.dnskey]),
    );
    assert!(matches!(verdict, KeyVerdict::Bogus(_)), "{verdict:?}");
}

#[test]
fn rfc4035_section5_2_wrong_owner_or_empty_anchors_are_bogus() {
    let (ksk, _, set) = zone();
    let verdict = authenticate_dnskeys(
        &name("example.org."),
        &set,
        &SecureEntryPoints::from_ds([ds_for(&ksk, 2)]),
        NOW,
        &mut Budget::default(),
        &RingCrypto::new(),
    );
    assert!(
        matches!(
            verdict,
            KeyVerdict::Bogus(BogusReason::DnskeyMissing { .. })
        ),
        "{verdict:?}"
    );
    let verdict = authenticate(&set, &SecureEntryPoints::default());
    assert!(matches!(verdict, KeyVerdict::Bogus(_)), "{verdict:?}");
}

#[test]
fn keytrap_budget_exhaustion_while_authenticating_is_bogus() {
    let (ksk, _, set) = zone();
    let mut budget = Budget::new(Limits {
        max_verifications: 0,
        ..Limits::default()
    });
    let verdict = authenticate_dnskeys(
        &name("example."),
        &set,
        &SecureEntryPoints::from_ds([ds_for(&ksk, 2)]),
        NOW,
        &mut budget,
        &RingCrypto::new(),
    );
    assert!(
        matches!(
            verdict,
            KeyVerdict::Bogus(BogusReason::BudgetExceeded { .. })
        ),
        "{verdict:?}"
    );
}

#[test]
fn rfc4034_appendix_b_key_tag_including_algorithm_1() {
    // RFC 4034 §5.4: the DNSKEY of dskey.example.com has key tag 60485.
    let b64 = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
    let bytes = data_encoding::BASE64.decode(b64.as_bytes()).unwrap();
    let key = DNSKEY::with_flags(256, PublicKeyBuf::new(bytes.clone(), Algorithm::RSASHA1));
    assert_eq!(key_tag(&key), 60485);
    // Algorithm 1: bits 8..24 of the modulus' least significant 24 bits.
    let md5 = DNSKEY::with_flags(256, PublicKeyBuf::new(bytes.clone(), Algorithm::RSAMD5));
    let n = bytes.len();
    assert_eq!(
        key_tag(&md5),
        u16::from_be_bytes([bytes[n - 3], bytes[n - 2]])
    );
    // Truncated keys do not panic.
    let tiny = DNSKEY::with_flags(256, PublicKeyBuf::new(vec![1], Algorithm::RSAMD5));
    let _ = key_tag(&tiny);
}

/// Root → example. → www.example. A, the way the session driver chains the
/// calls: anchor DS → root DNSKEY; root keys → example. DS; DS → example.
/// DNSKEY; example. keys → the answer.
#[test]
fn rfc4035_section5_chain_from_a_root_anchor_to_an_answer() {
    let crypto = RingCrypto::new();
    let mut budget = Budget::default();
    let root_ksk = TestKey::new(21, KSK);
    let mut root_keys = dnskey_rrset(".", &[&root_ksk]);
    root_keys.rrsigs.push(root_ksk.sign(&root_keys, &name(".")));
    let anchor_digest = ds_digest(&name("."), &root_ksk.dnskey, 2, &crypto).unwrap();
    let anchor = DS::new(
        root_ksk.tag(),
        Algorithm::ED25519,
        DigestType::SHA256,
        anchor_digest,
    );
    let KeyVerdict::Trusted(root) = authenticate_dnskeys(
        &name("."),
        &root_keys,
        &SecureEntryPoints::from_ds([anchor]),
        NOW,
        &mut budget,
        &crypto,
    ) else {
        panic!("root keys not trusted");
    };

    let (ksk, zsk, example_keys) = zone();
    let mut ds_set = Rrset::new(
        name("example."),
        crate::wire::DNSClass::IN,
        3600,
        RData::DNSSEC(DNSSECRData::DS(ds_for(&ksk, 2))),
    );
    ds_set.rrsigs.push(root_ksk.sign(&ds_set, &name(".")));
    let ds = verify_rrset(&ds_set, &root, NOW, &mut budget, &crypto).unwrap();
    let entry = SecureEntryPoints::from_verified_ds(&ds).unwrap();
    let KeyVerdict::Trusted(example) = authenticate_dnskeys(
        &name("example."),
        &example_keys,
        &entry,
        NOW,
        &mut budget,
        &crypto,
    ) else {
        panic!("example. keys not trusted");
    };

    let mut answer = a_rrset("www.example.", &[1]);
    answer.rrsigs.push(zsk.sign(&answer, &name("example.")));
    let v = verify_rrset(&answer, &example, NOW, &mut budget, &crypto).unwrap();
    assert_eq!(v.key_tag(), zsk.tag());
    assert_eq!(budget.verifications(), 4);
    // The DS set's own signature does not cover the child's data: the root
    // keys cannot verify example.'s answer.
    assert!(verify_rrset(&answer, &root, NOW, &mut budget, &crypto).is_err());
    // A DS set that is not DS cannot become entry points.
    assert!(SecureEntryPoints::from_verified_ds(&v).is_none());
}
