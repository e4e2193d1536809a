//! unbound's validator unit-test vectors (`../shared/vectors/unbound-unit`,
//! used by unbound's testcode/unitverify.c), with unbound's semantics:
//!
//! - `test_sigs.*`, `test_signatures.*`: the first entry's ANSWER holds the
//!   DNSKEY RRset (trusted as given); every RRset of every later entry is
//!   verified with it at the file's date. It must be bogus when it has no
//!   RRSIG or when its owner or the query name starts with `bogus`, and
//!   secure otherwise. RRsets signed only by keys we must not or cannot
//!   validate (DSA, GOST, RSA < 512 bits) must never come out secure; they
//!   are counted as "unsupported" (the zone would be insecure). RSA keys of
//!   512 to 1023 bits are validated (RFC 5702 §2), by the production
//!   backend.
//! - `test_ds.*`: the DS digest matches the DNSKEY for qname `yes.`, not for
//!   `no.`.
//! - `test_nsec3_hash.1`: the RFC 5155 hash of the qname with the NSEC3
//!   parameters is the first label of the ANSWER owner.

mod common;

use common::{Entry, parse_entries, read_vector, unbound_date};
use danebound_resolver::validator::crypto::{CryptoError, rsa_modulus_bits};
use danebound_resolver::validator::keys::ds_digest;
use danebound_resolver::validator::rrset::group;
use danebound_resolver::validator::signature::signed_data_for;
use danebound_resolver::validator::{
    BogusReason, Budget, Crypto, Limits, RingCrypto, Rrset, ZoneKeys, key_tag, verify_rrset,
};
use danebound_resolver::wire::{DNSSECRData, Name, PublicKey, RData, RecordType};

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    secure: usize,
    bogus: usize,
    unsupported: usize,
}

fn starts_with_bogus(name: &Name) -> bool {
    name.iter()
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case(b"bogus"))
}

/// A `test_sigs.*` / `test_signatures.*` file: the DNSKEY set of its first
/// entry (trusted as given) and the later entries. `None` after a skip.
fn read_sig_file(file: &str) -> Option<(ZoneKeys, Vec<Entry>)> {
    let text = read_vector(&format!("unbound-unit/{file}"))?;
    let mut entries = parse_entries(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(!entries.is_empty(), "{file}: no entries");
    let first = entries.remove(0);
    let dnskeys = group(&first.answer)
        .into_iter()
        .find(|s| s.rtype == RecordType::DNSKEY)
        .expect("no DNSKEY set");
    let keys = ZoneKeys::danger_trusted_without_proof(dnskeys.name.clone(), dnskeys);
    Some((keys, entries))
}

fn run_sig_file(file: &str) -> Option<Tally> {
    let crypto = RingCrypto::new();
    let crypto: &dyn Crypto = &crypto;
    let (keys, rest) = read_sig_file(file)?;
    let now = unbound_date(file).unwrap_or_else(|| panic!("no date for {file}"));
    let mut tally = Tally::default();
    for (i, entry) in rest.iter().enumerate() {
        check_entry(file, i + 1, entry, &keys, now, crypto, &mut tally);
    }
    eprintln!("{file} ({crypto:?}): {tally:?}");
    Some(tally)
}

fn check_entry(
    file: &str,
    index: usize,
    entry: &Entry,
    keys: &ZoneKeys,
    now: u64,
    crypto: &dyn Crypto,
    tally: &mut Tally,
) {
    let qname_bogus = entry.qname.as_ref().is_some_and(starts_with_bogus);
    let verify = |set: &Rrset| {
        let mut budget = Budget::new(Limits {
            max_failed_verifications: 1000,
            max_verifications: 1000,
            ..Limits::default()
        });
        verify_rrset(set, keys, now, &mut budget, crypto)
    };
    for set in group(&entry.records()) {
        if set.rtype == RecordType::RRSIG {
            continue;
        }
        let what = format!("{file} entry {index}: {} {}", set.name, set.rtype);
        let expect_bogus = set.rrsigs.is_empty() || qname_bogus || starts_with_bogus(&set.name);
        let whole = verify(&set);
        if set.rrsigs.is_empty() {
            assert!(
                matches!(whole, Err(BogusReason::RrsigsMissing { .. })),
                "{what}: {whole:?}"
            );
            tally.bogus += 1;
            continue;
        }
        // Each RRSIG whose key we may validate, verified on its own.
        let singles: Vec<_> = set
            .rrsigs
            .iter()
            .filter(|sig| signed_by_supported_key(sig, keys, crypto))
            .map(|sig| {
                let mut one = set.clone();
                one.rrsigs = vec![sig.clone()];
                verify(&one)
            })
            .collect();
        if singles.is_empty() {
            assert!(whole.is_err(), "{what}: secure without a supported key");
            tally.unsupported += 1;
            continue;
        }
        // RFC 6840 §5.11: "Validators SHOULD accept any single valid path":
        // the RRset is secure as soon as one signature verifies (unbound
        // instead requires one per algorithm of the DNSKEY set).
        assert_eq!(whole.is_ok(), singles.iter().any(Result::is_ok), "{what}");
        if expect_bogus {
            if singles.iter().any(Result::is_err) {
                tally.bogus += 1;
            } else {
                // The broken signature is one we do not validate.
                tally.unsupported += 1;
            }
        } else {
            for single in singles {
                single.unwrap_or_else(|e| panic!("{what}: expected secure, got {e}"));
            }
            tally.secure += 1;
        }
    }
}

fn signed_by_supported_key(
    sig: &danebound_resolver::wire::RRSIG,
    keys: &ZoneKeys,
    crypto: &dyn Crypto,
) -> bool {
    let input = sig.input();
    keys.zone_keys().iter().any(|k| {
        k.tag() == input.key_tag
            && k.algorithm() == u8::from(input.algorithm)
            && crypto.supports_algorithm(k.algorithm(), k.public_key())
    })
}

/// Each file either has at least N secure RRsets (`secure N`), or none at
/// all and at least one RRset judged bogus or unsupported (`never_secure`):
/// an assertion that holds for an empty or unread file is no test.
macro_rules! sig_file_tests {
    (@check $file:literal, $tally:ident, secure $min:expr) => {
        let min: usize = $min;
        assert!(min >= 1, "{}: `secure 0` asserts nothing; use never_secure", $file);
        assert!(
            $tally.secure >= min,
            "{}: only {} secure RRsets: {:?}",
            $file,
            $tally.secure,
            $tally
        );
    };
    (@check $file:literal, $tally:ident, never_secure) => {
        assert_eq!($tally.secure, 0, "{}: {:?}", $file, $tally);
        assert!(
            $tally.bogus + $tally.unsupported >= 1,
            "{}: no RRset was judged at all: {:?}",
            $file,
            $tally
        );
    };
    ($($test:ident => $file:literal, $kind:ident $($min:literal)?;)*) => {$(
        #[test]
        fn $test() {
            if let Some(tally) = run_sig_file($file) {
                sig_file_tests!(@check $file, tally, $kind $($min)?);
            }
        }
    )*};
}

sig_file_tests! {
    rfc6605_section6_1_ecdsa_p256_example => "test_sigs.ecdsa_p256", secure 1;
    rfc6605_section6_2_ecdsa_p384_example => "test_sigs.ecdsa_p384", secure 1;
    rfc8080_ed25519_unbound_vector => "test_sigs.ed25519", secure 1;
    rfc8080_ed448_unbound_vector => "test_sigs.ed448", secure 1;
    rfc5702_section6_2_rsasha512_example => "test_sigs.rsasha512_draft", secure 1;
    rfc5702_rsasha256_unbound_vector => "test_sigs.rsasha256", secure 1;
    rfc4034_section6_2_hinfo_is_not_lowercased => "test_sigs.hinfo", secure 3;
    rfc6840_section5_11_sha1_and_sha256_any_valid_path => "test_sigs.sha1_and_256", secure 1;
    rfc4035_section5_3_signatures_1 => "test_signatures.1", secure 1;
    rfc4035_section5_3_signatures_9_expiry_2080 => "test_signatures.9", secure 1;
    rfc8624_section3_1_dsa_is_never_secure_2 => "test_signatures.2", never_secure;
    rfc8624_section3_1_dsa_is_never_secure_3 => "test_signatures.3", never_secure;
    rfc8624_section3_1_dsa_is_never_secure_4 => "test_signatures.4", never_secure;
    rfc8624_section3_1_dsa_is_never_secure_5 => "test_signatures.5", never_secure;
    rfc8624_section3_1_dsa_is_never_secure_6 => "test_signatures.6", never_secure;
    rfc8624_section3_1_dsa_is_never_secure_7 => "test_signatures.7", never_secure;
    rfc8624_section3_1_gost_is_never_secure => "test_sigs.gost", never_secure;
}

/// RFC 5702 §6.1 signs with a 512-bit key, which the production backend
/// verifies (RFC 5702 §2: from 512 bits). Its signature, tampered, does not
/// verify; the same key cut to 511 bits is unsupported (the zone would be
/// insecure), never secure.
#[test]
fn rfc5702_section6_1_rsasha256_512_bit_signature_tampered_and_511_bit_key() {
    let file = "test_sigs.rsasha256_draft";
    let Some((keys, rest)) = read_sig_file(file) else {
        return;
    };
    let crypto = RingCrypto::new();
    let mut checked = 0;
    for set in rest.iter().flat_map(|e| group(&e.records())) {
        for sig in &set.rrsigs {
            let input = sig.input();
            let Some(key) = keys
                .zone_keys()
                .iter()
                .find(|k| k.tag() == input.key_tag && k.algorithm() == 8)
            else {
                continue;
            };
            let public = key.public_key();
            assert_eq!(rsa_modulus_bits(public), Some(512));
            let data = signed_data_for(&set, sig).unwrap();
            assert_eq!(crypto.verify(8, public, &data, sig.sig()), Ok(()));
            // Through the validator: secure, and charged to the budget as
            // any signature.
            let mut one = set.clone();
            one.rrsigs = vec![sig.clone()];
            let mut budget = Budget::default();
            let now = unbound_date(file).unwrap();
            assert!(verify_rrset(&one, &keys, now, &mut budget, &crypto).is_ok());
            assert_eq!(budget.verifications(), 1);
            // One bit flipped in the signature, or in the data.
            let mut bad = sig.sig().to_vec();
            bad[40] ^= 0x01;
            assert_eq!(
                crypto.verify(8, public, &data, &bad),
                Err(CryptoError::BadSignature)
            );
            let mut bad_data = data.clone();
            bad_data[0] ^= 0x01;
            assert_eq!(
                crypto.verify(8, public, &bad_data, sig.sig()),
                Err(CryptoError::BadSignature)
            );
            // RFC 8017 §5.2.2: s >= n is no signature; a short one neither.
            assert_eq!(
                crypto.verify(8, public, &data, &[0xff; 64]),
                Err(CryptoError::BadSignature)
            );
            assert!(crypto.verify(8, public, &data, &sig.sig()[1..]).is_err());
            // The same modulus shifted right one bit: 511 bits, unsupported.
            let exp_len = usize::from(public[0]) + 1;
            let mut small = public[..exp_len].to_vec();
            let mut carry = 0u8;
            for &b in &public[exp_len..] {
                small.push((b >> 1) | carry);
                carry = b << 7;
            }
            assert_eq!(rsa_modulus_bits(&small), Some(511));
            assert!(!crypto.supports_algorithm(8, &small));
            assert_eq!(
                crypto.verify(8, &small, &data, sig.sig()),
                Err(CryptoError::UnsupportedAlgorithm(8))
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "{file}: no signature by the 512-bit key");
}

fn ds_file(file: &str) -> Option<(usize, usize)> {
    let text = read_vector(&format!("unbound-unit/{file}"))?;
    let entries = parse_entries(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let crypto = RingCrypto::new();
    let (mut yes, mut no) = (0, 0);
    for (i, entry) in entries.iter().enumerate() {
        let want = entry
            .qname
            .as_ref()
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .to_vec();
        let ds = entry
            .answer
            .iter()
            .find_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DS(d)) => Some((r.name.clone(), d.clone())),
                _ => None,
            })
            .unwrap();
        let key = entry
            .answer
            .iter()
            .find_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
                _ => None,
            })
            .unwrap();
        let digest = ds_digest(&ds.0, &key, u8::from(ds.1.digest_type()), &crypto).unwrap();
        let matches = digest == ds.1.digest()
            && key_tag(&key) == ds.1.key_tag()
            && key.public_key().algorithm() == ds.1.algorithm();
        match want.as_slice() {
            b"yes" => {
                assert!(matches, "{file} entry {i}: DS must match");
                yes += 1;
            }
            b"no" => {
                assert!(!matches, "{file} entry {i}: DS must not match");
                no += 1;
            }
            other => panic!("{file}: unexpected qname {other:?}"),
        }
    }
    eprintln!("{file}: {yes} match, {no} mismatch");
    Some((yes, no))
}

#[test]
fn rfc4034_section5_1_4_ds_sha1_vectors() {
    if let Some((yes, no)) = ds_file("test_ds.sha1") {
        assert!(yes >= 2 && no >= 1);
    }
}

#[test]
fn rfc6605_section2_ds_sha384_vectors() {
    if let Some((yes, no)) = ds_file("test_ds.sha384") {
        assert!(yes >= 1 && yes + no == 4);
    }
}

#[test]
fn rfc5155_section5_nsec3_hash_vectors() {
    let Some(text) = read_vector("unbound-unit/test_nsec3_hash.1") else {
        return;
    };
    let entries = parse_entries(&text).unwrap();
    let crypto = RingCrypto::new();
    let mut checked = 0;
    for entry in entries {
        let qname = entry.qname.unwrap();
        let Some(nsec3) = entry.authority.iter().find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some(n.clone()),
            _ => None,
        }) else {
            continue;
        };
        if u8::from(nsec3.hash_algorithm()) != 1 {
            continue;
        }
        let mut wire = Vec::new();
        for label in qname.iter() {
            wire.push(label.len() as u8);
            wire.extend(label.iter().map(u8::to_ascii_lowercase));
        }
        wire.push(0);
        let hash = crypto.nsec3_hash(&wire, nsec3.salt(), nsec3.iterations());
        let expected = entry.answer[0]
            .name
            .iter()
            .next()
            .unwrap()
            .to_ascii_uppercase();
        assert_eq!(
            data_encoding::BASE32HEX_NOPAD.encode(&hash).as_bytes(),
            expected.as_slice(),
            "H({qname})"
        );
        checked += 1;
    }
    eprintln!("test_nsec3_hash.1: {checked} hashes");
    assert!(checked >= 10);
}

/// The 512-bit vectors (RFC 5702 §6.1, several of unbound's files) get
/// their exact unbound verdicts (unbound-unit MANIFEST semantics) from the
/// production backend.
macro_rules! small_rsa_tests {
    ($($test:ident => $file:literal, $secure:expr, $bogus:expr;)*) => {$(
        #[test]
        fn $test() {
            if let Some(tally) = run_sig_file($file) {
                assert_eq!((tally.secure, tally.bogus), ($secure, $bogus), "{}: {tally:?}", $file);
                assert_eq!(tally.unsupported, 0, "{}: {tally:?}", $file);
            }
        }
    )*};
}

small_rsa_tests! {
    rfc5702_section6_1_rsasha256_512_bit_example_is_secure => "test_sigs.rsasha256_draft", 1, 0;
    rfc5011_section3_revoked_key_validates_only_its_own_dnskey_rrset => "test_sigs.revoked", 1, 2;
    rfc6840_section5_11_sha1_and_sha256_512_bit_exact_verdicts => "test_sigs.sha1_and_256", 1, 3;
    rfc3110_rsasha1_512_bit_signatures_8 => "test_signatures.8", 7, 0;
}
