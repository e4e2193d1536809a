//! Unit tests of RFC 4035 §5.3, with keys made on the spot (ring Ed25519).
//! External vectors live in `resolver/tests/vectors_*.rs`.

use std::str::FromStr;

use ring::signature::{Ed25519KeyPair, KeyPair};

use super::*;
use crate::validator::budget::Limits;
use crate::validator::crypto::RingCrypto;
use hickory_proto::dnssec::rdata::SigInput;
use hickory_proto::rr::SerialNumber;

use crate::wire::rdata::A;
use crate::wire::{Algorithm, DNSClass, DNSKEY, DNSSECRData, PublicKey, PublicKeyBuf, RData};

/// 2026-01-01T00:00:00Z.
pub(crate) const NOW: u64 = 1_767_225_600;

pub(crate) fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// A signing key for tests.
pub(crate) struct TestKey {
    pub(crate) pair: Ed25519KeyPair,
    pub(crate) dnskey: DNSKEY,
}

impl TestKey {
    pub(crate) fn new(seed: u8, flags: u16) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let dnskey = DNSKEY::with_flags(
            flags,
            PublicKeyBuf::new(pair.public_key().as_ref().to_vec(), Algorithm::ED25519),
        );
        Self { pair, dnskey }
    }

    pub(crate) fn tag(&self) -> u16 {
        crate::validator::keys::key_tag(&self.dnskey)
    }

    pub(crate) fn rdata(&self) -> RData {
        RData::DNSSEC(DNSSECRData::DNSKEY(self.dnskey.clone()))
    }

    /// Sign `rrset` as `signer` with the given fields.
    pub(crate) fn sign_with(
        &self,
        rrset: &Rrset,
        signer: &Name,
        labels: u8,
        inception: u32,
        expiration: u32,
    ) -> RRSIG {
        let input = SigInput {
            type_covered: rrset.rtype,
            algorithm: Algorithm::ED25519,
            num_labels: labels,
            original_ttl: 3600,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.tag(),
            signer_name: signer.clone(),
        };
        let unsigned = RRSIG::from_sig(input.clone(), Vec::new());
        let mut data = Vec::new();
        let owner_labels = rrset.name.num_labels();
        signed_data(&mut data, &mut Vec::new(), rrset, &unsigned, owner_labels).unwrap();
        RRSIG::from_sig(input, self.pair.sign(&data).as_ref().to_vec())
    }

    /// Sign `rrset` as `signer`, valid a day around [`NOW`].
    pub(crate) fn sign(&self, rrset: &Rrset, signer: &Name) -> RRSIG {
        let labels = rrset.name.num_labels();
        self.sign_with(
            rrset,
            signer,
            labels,
            (NOW - 86400) as u32,
            (NOW + 86400) as u32,
        )
    }
}

pub(crate) fn a_rrset(owner: &str, last: &[u8]) -> Rrset {
    let mut set = Rrset::new(
        name(owner),
        DNSClass::IN,
        3600,
        RData::A(A::new(192, 0, 2, last[0])),
    );
    for &b in &last[1..] {
        set.rdatas.push(RData::A(A::new(192, 0, 2, b)));
    }
    set
}

pub(crate) fn dnskey_rrset(zone: &str, keys: &[&TestKey]) -> Rrset {
    let mut set = Rrset::new(name(zone), DNSClass::IN, 3600, keys[0].rdata());
    for k in &keys[1..] {
        set.rdatas.push(k.rdata());
    }
    set
}

fn zone_keys(zone: &str, keys: &[&TestKey]) -> ZoneKeys {
    ZoneKeys::danger_trusted_without_proof(name(zone), dnskey_rrset(zone, keys))
}

fn verify(rrset: &Rrset, keys: &ZoneKeys) -> Result<Verified, BogusReason> {
    verify_rrset(rrset, keys, NOW, &mut Budget::default(), &RingCrypto::new())
}

const ZSK: u16 = 0x0100;

#[test]
fn rfc4035_section5_3_1_a_correct_rrsig_verifies() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1, 2]);
    set.rrsigs.push(key.sign(&set, &name("example.")));
    let v = verify(&set, &keys).unwrap();
    assert_eq!(v.key_tag(), key.tag());
    assert_eq!(v.signer(), &name("example."));
    assert!(v.wildcard().is_none());
}

#[test]
fn rfc4035_section5_3_no_rrsig_is_rrsigs_missing() {
    let key = TestKey::new(1, ZSK);
    let set = a_rrset("www.example.", &[1]);
    assert!(matches!(
        verify(&set, &zone_keys("example.", &[&key])),
        Err(BogusReason::RrsigsMissing { .. })
    ));
}

#[test]
fn rfc4035_section5_3_1_signer_must_be_the_zone() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    // Signed by the right key but naming another signer.
    set.rrsigs.push(key.sign(&set, &name("www.example.")));
    let err = verify(&set, &keys).unwrap_err();
    assert!(matches!(err, BogusReason::RrsigMalformed { .. }), "{err}");
    // A zone that is not an ancestor of the owner.
    let other = zone_keys("example.net.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(key.sign(&set, &name("example.net.")));
    let err = verify(&set, &other).unwrap_err();
    assert!(matches!(err, BogusReason::RrsigMalformed { .. }), "{err}");
}

#[test]
fn rfc4035_section5_3_1_type_covered_must_equal_the_rrset_type() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    let sig = key.sign(&set, &name("example."));
    // The same signature presented for an RRset of another type.
    set.rtype = RecordType::AAAA;
    set.rrsigs.push(sig);
    let err = verify(&set, &keys).unwrap_err();
    assert!(
        matches!(&err, BogusReason::RrsigMalformed { detail, .. } if detail.contains("type covered")),
        "{err}"
    );
}

#[test]
fn rfc4035_section5_3_1_labels_above_owner_labels_is_malformed() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    // Valid crypto over labels = 3, but the owner has 2 labels.
    set.rrsigs.push(key.sign_with(
        &set,
        &name("example."),
        3,
        (NOW - 10) as u32,
        (NOW + 10) as u32,
    ));
    let err = verify(&set, &keys).unwrap_err();
    assert!(
        matches!(&err, BogusReason::RrsigMalformed { detail, .. } if detail.contains("labels")),
        "{err}"
    );
}

#[test]
fn rfc4035_section5_3_1_expired_and_not_yet_valid() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(key.sign_with(
        &set,
        &name("example."),
        2,
        (NOW - 100) as u32,
        (NOW - 1) as u32,
    ));
    let err = verify(&set, &keys).unwrap_err();
    assert_eq!(err.ede().code, 7, "{err}");
    assert!(
        matches!(err, BogusReason::SignatureExpired { expiration, .. } if expiration == NOW - 1)
    );

    set.rrsigs = vec![key.sign_with(
        &set,
        &name("example."),
        2,
        (NOW + 1) as u32,
        (NOW + 100) as u32,
    )];
    let err = verify(&set, &keys).unwrap_err();
    assert_eq!(err.ede().code, 8, "{err}");

    // The boundaries themselves are valid ("less than or equal",
    // "greater than or equal").
    set.rrsigs = vec![key.sign_with(&set, &name("example."), 2, NOW as u32, NOW as u32)];
    let v = verify(&set, &keys).unwrap();
    assert_eq!(v.ttl(), 0);
}

#[test]
fn rfc4034_section3_1_5_serial_arithmetic_across_the_2106_wrap() {
    // 2106-02-07T06:28:16Z is 2^32; "now" is just after it, the inception
    // just before: numerically the expiration is tiny and the inception huge.
    let now: u64 = (1u64 << 32) + 1000;
    let inception = ((1u64 << 32) - 1000) as u32;
    let expiration = 2000u32;
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs
        .push(key.sign_with(&set, &name("example."), 2, inception, expiration));
    let v = verify_rrset(&set, &keys, now, &mut Budget::default(), &RingCrypto::new()).unwrap();
    // Capped by the 1000 seconds left before the expiration.
    assert_eq!(v.ttl(), 1000);
    // Past the expiration after the wrap: expired, at its resolved time.
    let later = (1u64 << 32) + 3000;
    let err = verify_rrset(
        &set,
        &keys,
        later,
        &mut Budget::default(),
        &RingCrypto::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, BogusReason::SignatureExpired { expiration, .. } if expiration == (1u64 << 32) + 2000),
        "{err}"
    );
    assert_eq!(resolve_serial_time(u32::MAX, 1u64 << 32), (1i64 << 32) - 1);
    assert_eq!(resolve_serial_time(0, (1u64 << 32) - 1), 1i64 << 32);
}

#[test]
fn rfc4035_section5_3_1_flipped_signature_byte_is_invalid() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    let sig = key.sign(&set, &name("example."));
    let mut bytes = sig.sig().to_vec();
    bytes[10] ^= 0x01;
    set.rrsigs.push(RRSIG::from_sig(sig.input().clone(), bytes));
    let err = verify(&set, &keys).unwrap_err();
    assert!(matches!(err, BogusReason::SignatureInvalid { .. }), "{err}");
    // A flipped RDATA byte breaks it just as well.
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(key.sign(&set, &name("example.")));
    set.rdatas[0] = RData::A(A::new(192, 0, 2, 2));
    assert!(matches!(
        verify(&set, &keys),
        Err(BogusReason::SignatureInvalid { .. })
    ));
}

#[test]
fn rfc4034_section2_1_1_key_without_zone_bit_does_not_verify() {
    let key = TestKey::new(1, 0);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(key.sign(&set, &name("example.")));
    assert!(matches!(
        verify(&set, &keys),
        Err(BogusReason::NoMatchingKey { .. })
    ));
}

#[test]
fn rfc5011_section3_revoked_key_only_verifies_its_dnskey_rrset() {
    let revoked = TestKey::new(1, ZSK | 0x0080 | 1);
    let keys = zone_keys("example.", &[&revoked]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(revoked.sign(&set, &name("example.")));
    assert!(matches!(
        verify(&set, &keys),
        Err(BogusReason::NoMatchingKey { .. })
    ));
    let mut dnskeys = dnskey_rrset("example.", &[&revoked]);
    dnskeys
        .rrsigs
        .push(revoked.sign(&dnskeys, &name("example.")));
    verify(&dnskeys, &keys).unwrap();
    // Not a DNSKEY RRset that holds the revoked key: a child's set.
    let child_key = TestKey::new(3, ZSK);
    let mut child = dnskey_rrset("child.example.", &[&child_key]);
    child.rrsigs.push(revoked.sign(&child, &name("example.")));
    assert!(matches!(
        verify(&child, &keys),
        Err(BogusReason::NoMatchingKey { .. })
    ));
}

#[test]
fn keytrap_cve_2023_50387_colliding_key_tags_are_capped() {
    // Keys whose public keys differ only by swapping two bytes of the same
    // parity share a key tag (the RFC 4034 Appendix B sum is unchanged).
    let good = TestKey::new(7, ZSK);
    let mut colliding = Vec::new();
    let pk = good.dnskey.public_key().public_bytes().to_vec();
    for j in (2..pk.len()).step_by(2).filter(|&j| pk[j] != pk[0]).take(5) {
        let mut bytes = pk.clone();
        bytes.swap(0, j);
        let dnskey = DNSKEY::with_flags(ZSK, PublicKeyBuf::new(bytes, Algorithm::ED25519));
        assert_eq!(crate::validator::keys::key_tag(&dnskey), good.tag());
        colliding.push(RData::DNSSEC(DNSSECRData::DNSKEY(dnskey)));
    }
    assert_eq!(colliding.len(), 5);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(good.sign(&set, &name("example.")));

    // The good key comes after 5 impostors: over the default cap of 4.
    let mut dnskeys = Rrset::new(name("example."), DNSClass::IN, 3600, colliding[0].clone());
    dnskeys.rdatas.extend(colliding[1..].iter().cloned());
    dnskeys.rdatas.push(good.rdata());
    let keys = ZoneKeys::danger_trusted_without_proof(name("example."), dnskeys.clone());
    let mut budget = Budget::default();
    let err = verify_rrset(&set, &keys, NOW, &mut budget, &RingCrypto::new()).unwrap_err();
    assert!(matches!(err, BogusReason::SignatureInvalid { .. }), "{err}");
    assert_eq!(budget.verifications(), 4);

    // With room for 6 keys it verifies, after 6 verifications.
    let mut budget = Budget::new(Limits {
        max_keys_per_rrsig: 6,
        ..Limits::default()
    });
    verify_rrset(&set, &keys, NOW, &mut budget, &RingCrypto::new()).unwrap();
    assert_eq!(budget.verifications(), 6);
}

#[test]
fn keytrap_cve_2023_50387_rrsigs_per_rrset_and_verifications_are_capped() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    let good = key.sign(&set, &name("example."));
    let mut bad = good.sig().to_vec();
    bad[0] ^= 1;
    for _ in 0..8 {
        set.rrsigs
            .push(RRSIG::from_sig(good.input().clone(), bad.clone()));
    }
    set.rrsigs.push(good);
    let mut budget = Budget::new(Limits {
        max_failed_verifications: 100,
        ..Limits::default()
    });
    assert!(verify_rrset(&set, &keys, NOW, &mut budget, &RingCrypto::new()).is_err());
    assert_eq!(budget.verifications(), 8);

    let mut budget = Budget::new(Limits {
        max_verifications: 3,
        ..Limits::default()
    });
    let err = verify_rrset(&set, &keys, NOW, &mut budget, &RingCrypto::new()).unwrap_err();
    assert!(
        matches!(
            err,
            BogusReason::BudgetExceeded {
                limit: "max_verifications",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn rfc4035_section5_3_2_wildcard_expansion_is_reconstructed_and_reported() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    // Signed as *.example. (labels = 1) ...
    let wild = a_rrset("*.example.", &[1]);
    let sig = key.sign(&wild, &name("example."));
    assert_eq!(sig.input().num_labels, 1);
    // ... and served as a.b.example.
    let mut set = a_rrset("a.b.EXAMPLE.", &[1]);
    set.rrsigs.push(sig.clone());
    let v = verify(&set, &keys).unwrap();
    assert_eq!(v.wildcard(), Some(&name("*.example.")));
    assert_eq!(v.closest_encloser(), Some(name("example.")));
    // The wildcard owner itself is no expansion.
    let mut own = wild;
    own.rrsigs.push(sig);
    assert!(verify(&own, &keys).unwrap().wildcard().is_none());
}

#[test]
fn rfc4034_section6_canonical_order_dedup_case_and_original_ttl() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let signed = a_rrset("www.example.", &[1, 2, 3]);
    let sig = key.sign(&signed, &name("example."));
    // Received in another order, with a duplicate, an uppercase owner and a
    // TTL that has counted down.
    let mut set = a_rrset("WWW.Example.", &[3, 1, 2, 1]);
    set.ttl = 1200;
    set.rrsigs.push(sig);
    let v = verify(&set, &keys).unwrap();
    // RFC 4035 §5.3.3: min(received TTL 1200, original TTL 3600, expiry).
    assert_eq!(v.ttl(), 1200);
}

#[test]
fn rfc4035_section5_3_3_ttl_is_capped_by_original_ttl_and_expiry() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(key.sign_with(
        &set,
        &name("example."),
        2,
        (NOW - 10) as u32,
        (NOW + 60) as u32,
    ));
    set.ttl = 86400;
    assert_eq!(verify(&set, &keys).unwrap().ttl(), 60);
}

#[test]
fn best_reason_prefers_a_found_key_over_a_missing_one() {
    let key = TestKey::new(1, ZSK);
    let stranger = TestKey::new(2, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    set.rrsigs.push(stranger.sign(&set, &name("example.")));
    assert!(matches!(
        verify(&set, &keys),
        Err(BogusReason::NoMatchingKey { .. })
    ));
    set.rrsigs.push(key.sign_with(
        &set,
        &name("example."),
        2,
        (NOW - 100) as u32,
        (NOW - 50) as u32,
    ));
    assert!(matches!(
        verify(&set, &keys),
        Err(BogusReason::SignatureExpired { .. })
    ));
}

#[test]
fn bad_input_never_panics() {
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let mut set = a_rrset("www.example.", &[1]);
    let good = key.sign(&set, &name("example."));
    for len in [0usize, 1, 63, 65, 1000] {
        set.rrsigs = vec![RRSIG::from_sig(good.input().clone(), vec![0xab; len])];
        assert!(verify(&set, &keys).is_err());
    }
    let mut input = good.input().clone();
    input.num_labels = 255;
    set.rrsigs = vec![RRSIG::from_sig(input, good.sig().to_vec())];
    assert!(verify(&set, &keys).is_err());
}

#[test]
fn rfc4034_section6_3_rrset_larger_than_64k_in_canonical_form_verifies() {
    // 400 TXT records of 250 octets: 100 KB of canonical RDATA.
    use crate::wire::rdata::TXT;
    let key = TestKey::new(1, ZSK);
    let keys = zone_keys("example.", &[&key]);
    let txt = |i: usize| RData::TXT(TXT::new(vec![format!("{i:03}{}", "x".repeat(240))]));
    let mut set = Rrset::new(name("big.example."), DNSClass::IN, 3600, txt(0));
    for i in 1..400 {
        set.rdatas.push(txt(i));
    }
    set.rrsigs.push(key.sign(&set, &name("example.")));
    verify(&set, &keys).unwrap();
}

/// Random keys, signatures and RRSIG fields: an error value, never a panic.
#[test]
fn random_keys_signatures_and_fields_never_panic() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let algorithms = [1u8, 3, 5, 7, 8, 10, 13, 14, 15, 16, 253];
    for _ in 0..400 {
        let alg = algorithms[rng.random_range(0..algorithms.len())];
        let key_len = rng.random_range(0..300);
        let key: Vec<u8> = (0..key_len).map(|_| rng.random()).collect();
        let flags = if rng.random() { 0x0100 } else { rng.random() };
        let dnskey = DNSKEY::with_flags(flags, PublicKeyBuf::new(key, Algorithm::from_u8(alg)));
        let tag = crate::validator::keys::key_tag(&dnskey);
        let keys = ZoneKeys::danger_trusted_without_proof(
            name("example."),
            Rrset::new(
                name("example."),
                DNSClass::IN,
                rng.random(),
                RData::DNSSEC(DNSSECRData::DNSKEY(dnskey)),
            ),
        );
        let sig_len = rng.random_range(0..600);
        let sig: Vec<u8> = (0..sig_len).map(|_| rng.random()).collect();
        let input = SigInput {
            type_covered: RecordType::A,
            algorithm: Algorithm::from_u8(alg),
            num_labels: rng.random_range(0..5),
            original_ttl: rng.random(),
            sig_expiration: SerialNumber::new(rng.random()),
            sig_inception: SerialNumber::new(rng.random()),
            key_tag: if rng.random() { tag } else { rng.random() },
            signer_name: name("example."),
        };
        let mut set = a_rrset("a.b.example.", &[1, 2]);
        set.ttl = rng.random();
        set.rrsigs.push(RRSIG::from_sig(input, sig));
        let now = if rng.random() { NOW } else { rng.random() };
        let result = verify_rrset(&set, &keys, now, &mut Budget::default(), &RingCrypto::new());
        assert!(result.is_err());
    }
}
