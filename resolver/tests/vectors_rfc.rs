//! RFC example vectors from `../shared/vectors/rfc` and `domain-keys/`:
//! RFC 4034 §5.4 (DS), RFC 8080 §6 as corrected by erratum 4935 (Ed25519 and
//! Ed448 signatures, DS) and the original RFC 8080 signatures, which carry a
//! labels field larger than the owner's label count and MUST come out bogus.

mod common;

use common::{logical_lines, parse_rr, read_vector};
use danebound_resolver::validator::keys::ds_digest;
use danebound_resolver::validator::rrset::group;
use danebound_resolver::validator::{
    BogusReason, Budget, Crypto, RingCrypto, Rrset, ZoneKeys, key_tag, verify_rrset,
};
use danebound_resolver::wire::{
    DNSKEY, DNSSECRData, DS, Name, PublicKey, RData, Record, RecordType,
};

/// Inside the RFC 8080 signature window (2015-07-29 .. 2015-08-19).
const RFC8080_NOW: u64 = 1_439_000_000;

fn records(text: &str) -> Vec<Record> {
    logical_lines(text)
        .iter()
        .map(|l| parse_rr(l).unwrap())
        .collect()
}

fn dnskey(r: &Record) -> Option<&DNSKEY> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
        _ => None,
    }
}

fn ds(r: &Record) -> Option<&DS> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::DS(d)) => Some(d),
        _ => None,
    }
}

/// Each DS names a DNSKEY of the same owner by key tag and algorithm, and
/// its digest is the digest of that key. Returns the number of pairs.
fn check_ds_pairs(recs: &[Record]) -> usize {
    let crypto = RingCrypto::new();
    let mut pairs = 0;
    for d in recs.iter().filter_map(|r| ds(r).map(|d| (r, d))) {
        let (owner, d) = d;
        let key = recs
            .iter()
            .filter(|r| r.name == owner.name)
            .filter_map(dnskey)
            .find(|k| key_tag(k) == d.key_tag() && k.public_key().algorithm() == d.algorithm())
            .unwrap_or_else(|| panic!("no DNSKEY with tag {}", d.key_tag()));
        let digest = ds_digest(&owner.name, key, u8::from(d.digest_type()), &crypto).unwrap();
        assert_eq!(digest, d.digest(), "DS {} digest", d.key_tag());
        // A DS digest over the wrong owner does not match (the owner is
        // part of the digest, RFC 4034 §5.1.4).
        let other = Name::from_ascii("other.example.").unwrap();
        let wrong = ds_digest(&other, key, u8::from(d.digest_type()), &crypto).unwrap();
        assert_ne!(wrong, d.digest());
        pairs += 1;
    }
    pairs
}

#[test]
fn rfc4034_section5_4_ds_example_key_tag_and_sha1_digest() {
    let Some(text) = read_vector("rfc/rfc4034-sec5.4-ds.zone") else {
        return;
    };
    let recs = records(&text);
    let key = recs.iter().find_map(dnskey).unwrap();
    assert_eq!(key_tag(key), 60485);
    assert_eq!(check_ds_pairs(&recs), 1);
    // The owner is lowercased before hashing (RFC 4034 §6.2).
    let upper = Name::from_ascii("DSKEY.Example.COM.").unwrap();
    let d = recs.iter().find_map(ds).unwrap();
    assert_eq!(
        ds_digest(&upper, key, 1, &RingCrypto::new()).unwrap(),
        d.digest()
    );
}

/// The MX RRset of the RFC 8080 examples with its RRSIG(s) and the DNSKEY
/// set of one key, trusted as given.
fn rfc8080_cases(recs: &[Record], extra_sigs: &[Record]) -> Vec<(u16, Rrset, ZoneKeys)> {
    let zone = Name::from_ascii("example.com.").unwrap();
    let mx: Vec<Record> = recs
        .iter()
        .filter(|r| r.record_type() == RecordType::MX)
        .cloned()
        .collect();
    let sigs: Vec<Record> = recs
        .iter()
        .chain(extra_sigs)
        .filter(|r| r.record_type() == RecordType::RRSIG)
        .cloned()
        .collect();
    let mut cases = Vec::new();
    for sig in sigs {
        let RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) = &sig.data else {
            unreachable!()
        };
        let tag = rrsig.input().key_tag;
        let key = recs
            .iter()
            .filter(|r| dnskey(r).is_some_and(|k| key_tag(k) == tag))
            .cloned()
            .collect::<Vec<_>>();
        let keys = group(&key).remove(0);
        let mut set = mx.clone();
        set.push(sig.clone());
        let rrset = group(&set).remove(0);
        cases.push((
            tag,
            rrset,
            ZoneKeys::danger_trusted_without_proof(zone.clone(), keys),
        ));
    }
    cases
}

#[test]
fn rfc8080_section6_erratum4935_ed25519_and_ed448_signatures_verify() {
    let Some(text) = read_vector("rfc/rfc8080-eddsa-erratum4935.zone") else {
        return;
    };
    let recs = records(&text);
    assert_eq!(check_ds_pairs(&recs), 4);
    let cases = rfc8080_cases(&recs, &[]);
    assert_eq!(cases.len(), 4);
    for (tag, rrset, keys) in cases {
        let crypto = RingCrypto::new();
        let v = verify_rrset(&rrset, &keys, RFC8080_NOW, &mut Budget::default(), &crypto)
            .unwrap_or_else(|e| panic!("key {tag}: {e}"));
        assert_eq!(v.key_tag(), tag);
        assert_eq!(v.ttl(), 3600);
        // Outside the window, the same signatures are expired / not yet valid.
        let late = verify_rrset(
            &rrset,
            &keys,
            1_440_021_601,
            &mut Budget::default(),
            &crypto,
        );
        assert!(
            matches!(late, Err(BogusReason::SignatureExpired { .. })),
            "{late:?}"
        );
        let early = verify_rrset(
            &rrset,
            &keys,
            1_438_207_199,
            &mut Budget::default(),
            &crypto,
        );
        assert!(
            matches!(early, Err(BogusReason::SignatureNotYetValid { .. })),
            "{early:?}"
        );
    }
}

#[test]
fn rfc4035_section5_3_1_rfc8080_original_rrsigs_with_labels_3_are_bogus() {
    let (Some(keys_text), Some(bad_text)) = (
        read_vector("rfc/rfc8080-eddsa-erratum4935.zone"),
        read_vector("rfc/rfc8080-original-invalid-rrsigs.txt"),
    ) else {
        return;
    };
    let mut recs = records(&keys_text);
    recs.retain(|r| r.record_type() != RecordType::RRSIG);
    let bad = records(&bad_text);
    let cases = rfc8080_cases(&recs, &bad);
    assert_eq!(cases.len(), 4);
    for (tag, rrset, keys) in cases {
        let result = verify_rrset(
            &rrset,
            &keys,
            RFC8080_NOW,
            &mut Budget::default(),
            &RingCrypto::new(),
        );
        assert!(
            matches!(&result, Err(BogusReason::RrsigMalformed { detail, .. }) if detail.contains("labels")),
            "key {tag}: {result:?}"
        );
    }
}

#[test]
fn domain_keys_ds_files_match_their_keys() {
    let Some(dir) = common::vectors_dir().map(|d| d.join("domain-keys")) else {
        return;
    };
    let mut checked = Vec::new();
    let crypto = RingCrypto::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".key") else {
            continue;
        };
        // K<name>.+<alg>+<tag>
        let mut parts = stem.rsplitn(3, '+');
        let tag: u16 = parts.next().unwrap().parse().unwrap();
        let alg: u8 = parts.next().unwrap().parse().unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let recs = records(&text);
        let key = dnskey(&recs[0]).unwrap();
        assert_eq!(key_tag(key), tag, "{file}");
        assert_eq!(u8::from(key.public_key().algorithm()), alg, "{file}");
        assert!(
            crypto.supports_algorithm(alg, key.public_key().public_bytes()),
            "{file}"
        );
        if let Ok(ds_text) = std::fs::read_to_string(dir.join(format!("{stem}.ds"))) {
            let mut all = recs.clone();
            all.extend(records(&ds_text));
            assert_eq!(check_ds_pairs(&all), 1, "{file}");
            checked.push(format!("{file}+ds"));
        } else {
            checked.push(file);
        }
    }
    eprintln!("domain-keys checked: {checked:?}");
    assert!(checked.len() >= 8);
}

/// The RFC 6605 §6 and RFC 5702 §6.2 examples, inline so that they run even
/// without the shared vectors (the same records are in unbound's
/// `test_sigs.ecdsa_p256`, `.ecdsa_p384` and `.rsasha512_draft`).
const INLINE_EXAMPLES: &[(&str, &str, &str, &str)] = &[
    (
        "RFC 6605 §6.1 ECDSAP256SHA256",
        "example.net. 3600 IN DNSKEY 257 3 13 ( GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )",
        "www.example.net. 3600 IN RRSIG A 13 3 3600 ( 20100909100439 20100812100439 55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXA yGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw== )",
        "20100908100439",
    ),
    (
        "RFC 6605 §6.2 ECDSAP384SHA384",
        "example.net. 3600 IN DNSKEY 257 3 14 ( xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1 w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8 /uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40 )",
        "www.example.net. 3600 IN RRSIG A 14 3 3600 ( 20100909102025 20100812102025 10771 example.net. /L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP 95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuz WTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm )",
        "20100908100439",
    ),
    (
        "RFC 5702 §6.2 RSASHA512",
        "example.net. 3600 IN DNSKEY 256 3 10 AwEAAdHoNTOW+et86KuJOWRD p1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFD xj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8g pMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
        "www.example.net. 3600 IN RRSIG A 10 3 3600 20300101000000 20000101000000 3740 example.net. tsb4wnjRUDnB1BUi+t 6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRa eUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOL DiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw =",
        "20070829144150",
    ),
];

#[test]
fn rfc6605_section6_and_rfc5702_section6_2_inline_examples_verify() {
    let crypto = RingCrypto::new();
    for (label, key, sig, date) in INLINE_EXAMPLES {
        let now = common::timestamp(date).unwrap();
        let keys = group(&[parse_rr(key).unwrap()]).remove(0);
        let zone = keys.name.clone();
        let keys = ZoneKeys::danger_trusted_without_proof(zone, keys);
        let address = if label.contains("5702") {
            "192.0.2.91"
        } else {
            "192.0.2.1"
        };
        let a = parse_rr(&format!("www.example.net. 3600 IN A {address}")).unwrap();
        let rrset = group(&[a, parse_rr(sig).unwrap()]).remove(0);
        let v = verify_rrset(&rrset, &keys, now, &mut Budget::default(), &crypto)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(v.ttl(), 3600, "{label}");
        // Another address under the same signature: invalid.
        let other = parse_rr("www.example.net. 3600 IN A 192.0.2.2").unwrap();
        let forged = group(&[other, parse_rr(sig).unwrap()]).remove(0);
        let result = verify_rrset(&forged, &keys, now, &mut Budget::default(), &crypto);
        assert!(
            matches!(result, Err(BogusReason::SignatureInvalid { .. })),
            "{label}: {result:?}"
        );
    }
}
