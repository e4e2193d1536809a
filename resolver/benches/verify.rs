//! RRSIG verification per algorithm through [`verify_rrset`] against the
//! raw verification of the same signature by the crypto library the
//! backend uses (ring for RSA, P-256 and Ed25519, aws-lc-rs for P-384,
//! OpenSSL for Ed448; `ecdsa_backend` compares ring, aws-lc-rs and OpenSSL on
//! P-256 and P-384, `rsa_backend` on RSA-1024 and RSA-2048, the key parsed each
//! time, `ed448_backend` OpenSSL with `ed448-goldilocks`): the ratio is the validator's overhead
//! (canonical form, checks, key selection, the `Verified` proof). Target:
//! ≤ 1.2×. Also: the validator's own cost with a null crypto backend, a
//! cold three-level chain (root → test. → example.test., ECDSA P-256) and
//! NSEC3 hashing by iteration count.
//!
//! Keys are made on the spot (ECDSA, Ed25519, Ed448); the RSA key is the
//! 2048-bit `Ktest.+008+60616` of `../shared/vectors/domain-keys`, skipped
//! when the vectors are absent. Two more RSA/SHA-256 keys (512 and 1024
//! bits, made once with `openssl genrsa`, inline) compare the small-RSA
//! verifier of `crypto/rsa.rs` (512) with ring (1024); their "raw" is
//! `RingCrypto::verify`, the backend call without the validator around it.

#![allow(missing_docs, unreachable_pub)]

use std::hint::black_box;
use std::path::PathBuf;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use danebound_resolver::validator::crypto::CryptoError;
use danebound_resolver::validator::keys::ds_digest;
use danebound_resolver::validator::signature::signed_data_for;
use danebound_resolver::validator::{
    Anchors, Budget, Crypto, KeyVerdict, RingCrypto, Rrset, SecureEntryPoints, ZoneKeys,
    authenticate_dnskeys, key_tag, verify_rrset,
};
use danebound_resolver::wire::rdata::A;
use danebound_resolver::wire::{
    Algorithm, DNSClass, DNSKEY, DNSSECRData, DS, DigestType, Name, PublicKeyBuf, RData, RRSIG,
    Record,
};
use hickory_proto::dnssec::rdata::SigInput;
use hickory_proto::rr::SerialNumber;
use num_bigint::BigUint;
use ring::rand::SystemRandom;
use ring::signature::{self as rs, KeyPair};

/// 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;

/// One signed RRset, its keys, and the raw verification of its signature.
struct Case {
    label: &'static str,
    rrset: Rrset,
    keys: ZoneKeys,
    raw: Box<dyn Fn() -> bool>,
}

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// Sign `www.example. A 192.0.2.1` with `sign` under `alg` and `public_key`.
fn signed_case(
    label: &'static str,
    alg: u8,
    public_key: Vec<u8>,
    sign: impl Fn(&[u8]) -> Vec<u8>,
    raw: impl Fn(&[u8], &[u8], &[u8]) -> bool + 'static,
) -> Case {
    let zone = name("example.");
    let dnskey = DNSKEY::with_flags(
        0x0100,
        PublicKeyBuf::new(public_key.clone(), Algorithm::from_u8(alg)),
    );
    let mut rrset = Rrset::new(
        name("www.example."),
        DNSClass::IN,
        3600,
        RData::A(A::new(192, 0, 2, 1)),
    );
    let input = SigInput {
        type_covered: rrset.rtype,
        algorithm: Algorithm::from_u8(alg),
        num_labels: 2,
        original_ttl: 3600,
        sig_expiration: SerialNumber::new((NOW + 86_400) as u32),
        sig_inception: SerialNumber::new((NOW - 86_400) as u32),
        key_tag: key_tag(&dnskey),
        signer_name: zone.clone(),
    };
    let message = signed_data_for(&rrset, &RRSIG::from_sig(input.clone(), Vec::new())).unwrap();
    let signature = sign(&message);
    assert!(
        raw(&public_key, &message, &signature),
        "{label}: raw verify"
    );
    rrset.rrsigs.push(RRSIG::from_sig(input, signature.clone()));
    let dnskeys = Rrset::new(
        zone.clone(),
        DNSClass::IN,
        3600,
        RData::DNSSEC(DNSSECRData::DNSKEY(dnskey)),
    );
    let keys = ZoneKeys::danger_trusted_without_proof(zone, dnskeys);
    Case {
        label,
        rrset,
        keys,
        raw: Box::new(move || raw(&public_key, &message, &signature)),
    }
}

/// ECDSA, signed with ring; `verify` (SEC1 point, message, signature) is
/// the raw verify of the backend's library for the curve: ring for P-256,
/// aws-lc-rs for P-384.
fn ecdsa_case(
    label: &'static str,
    alg: u8,
    signing: &'static rs::EcdsaSigningAlgorithm,
    verify: impl Fn(&[u8], &[u8], &[u8]) -> bool + 'static,
) -> Case {
    let rng = SystemRandom::new();
    let pkcs8 = rs::EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
    let pair = rs::EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).unwrap();
    // DNSKEY holds x || y (RFC 6605 §4); ring's point has a leading 0x04.
    let public = pair.public_key().as_ref()[1..].to_vec();
    signed_case(
        label,
        alg,
        public,
        move |m| pair.sign(&rng, m).unwrap().as_ref().to_vec(),
        move |pk, m, s| {
            let mut point = vec![0x04];
            point.extend_from_slice(pk);
            verify(&point, m, s)
        },
    )
}

/// OpenSSL's ECDSA verify as unbound does it (`EC_KEY` from the affine
/// coordinates, `ECDSA_SIG` from r and s, the digest first), with the
/// curve's `EC_GROUP` made once.
fn openssl_ecdsa_verify(
    group: &openssl::ec::EcGroupRef,
    digest: openssl::hash::MessageDigest,
    pk: &[u8],
    m: &[u8],
    s: &[u8],
) -> bool {
    use openssl::bn::BigNum;
    let half = pk.len() / 2;
    let (x, y) = (
        BigNum::from_slice(&pk[..half]).unwrap(),
        BigNum::from_slice(&pk[half..]).unwrap(),
    );
    let key = openssl::ec::EcKey::from_public_key_affine_coordinates(group, &x, &y).unwrap();
    let (r, s) = (
        BigNum::from_slice(&s[..half]).unwrap(),
        BigNum::from_slice(&s[half..]).unwrap(),
    );
    let sig = openssl::ecdsa::EcdsaSig::from_private_components(r, s).unwrap();
    let hash = openssl::hash::hash(digest, m).unwrap();
    sig.verify(&hash, &key).unwrap()
}

/// The three ECDSA verifiers on the machine, on the same P-256 and P-384
/// signatures: ring (the backend's for P-256, and for P-384 until
/// 2026-12-02), aws-lc-rs (the backend's for P-384 since) and OpenSSL
/// (unbound's, already linked for Ed448).
fn ecdsa_backends(c: &mut Criterion) {
    use openssl::ec::EcGroup;
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    let message = vec![0x5a; 180];
    let rng = SystemRandom::new();
    for (label, signing, ring_alg, aws_alg, nid, digest) in [
        (
            "p256",
            &rs::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rs::ECDSA_P256_SHA256_FIXED,
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            Nid::X9_62_PRIME256V1,
            MessageDigest::sha256(),
        ),
        (
            "p384",
            &rs::ECDSA_P384_SHA384_FIXED_SIGNING,
            &rs::ECDSA_P384_SHA384_FIXED,
            &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
            Nid::SECP384R1,
            MessageDigest::sha384(),
        ),
    ] {
        let pkcs8 = rs::EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
        let pair = rs::EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let sig = pair.sign(&rng, &message).unwrap().as_ref().to_vec();
        let ec_group = EcGroup::from_curve_name(nid).unwrap();
        let mut group = c.benchmark_group(format!("ecdsa_backend/{label}"));
        group.bench_function("ring", |b| {
            b.iter(|| {
                assert!(
                    rs::UnparsedPublicKey::new(ring_alg, black_box(&point[..]))
                        .verify(&message, &sig)
                        .is_ok()
                )
            })
        });
        group.bench_function("aws_lc_rs", |b| {
            b.iter(|| {
                assert!(
                    aws_lc_rs::signature::UnparsedPublicKey::new(aws_alg, black_box(&point[..]))
                        .verify(&message, &sig)
                        .is_ok()
                )
            })
        });
        group.bench_function("openssl", |b| {
            b.iter(|| {
                assert!(openssl_ecdsa_verify(
                    &ec_group,
                    digest,
                    black_box(&point[1..]),
                    &message,
                    &sig
                ))
            })
        });
        group.finish();
    }
}

fn ed25519_case() -> Case {
    let pair = rs::Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    signed_case(
        "15_ed25519",
        15,
        public,
        move |m| pair.sign(m).as_ref().to_vec(),
        |pk, m, s| {
            rs::UnparsedPublicKey::new(&rs::ED25519, pk)
                .verify(m, s)
                .is_ok()
        },
    )
}

fn ed448_case() -> Case {
    let key = ed448_goldilocks::SigningKey::try_from(&[9u8; 57][..]).unwrap();
    let public = key.verifying_key().as_bytes().to_vec();
    signed_case(
        "16_ed448",
        16,
        public,
        move |m| key.sign_raw(m).to_bytes().to_vec(),
        openssl_ed448_verify,
    )
}

/// Ed448 as the backend does it (OpenSSL), without the validator around it.
fn openssl_ed448_verify(pk: &[u8], m: &[u8], s: &[u8]) -> bool {
    let key = openssl::pkey::PKey::public_key_from_raw_bytes(pk, openssl::pkey::Id::ED448).unwrap();
    openssl::sign::Verifier::new_without_digest(&key)
        .unwrap()
        .verify_oneshot(s, m)
        .unwrap()
}

/// The two Ed448 verifiers on the same signature: OpenSSL (the backend
/// since 2026-12-02) and the pure-Rust `ed448-goldilocks` it replaced.
fn ed448_backends(c: &mut Criterion) {
    let key = ed448_goldilocks::SigningKey::try_from(&[9u8; 57][..]).unwrap();
    let public = key.verifying_key().as_bytes().to_vec();
    let message = vec![0x5a; 180];
    let signature = key.sign_raw(&message).to_bytes().to_vec();
    let mut group = c.benchmark_group("ed448_backend");
    group.bench_function("openssl", |b| {
        b.iter(|| {
            assert!(openssl_ed448_verify(
                black_box(&public),
                &message,
                &signature
            ))
        })
    });
    group.bench_function("ed448_goldilocks", |b| {
        b.iter(|| {
            let pk: &[u8; 57] = black_box(&public[..]).try_into().unwrap();
            let sig = ed448_goldilocks::Signature::from_slice(&signature).unwrap();
            assert!(
                ed448_goldilocks::VerifyingKey::from_bytes(pk)
                    .unwrap()
                    .verify_raw(&sig, &message)
                    .is_ok()
            )
        })
    });
    group.finish();
}

/// The 2048-bit RSA key of the domain-keys vectors, as PKCS#1 DER.
fn rsa_case() -> Option<Case> {
    let shared = std::env::var_os("DANEBOUND_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = shared.join("vectors/domain-keys/Ktest.+008+60616.private");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP RSA bench: {} not found", path.display());
        return None;
    };
    let field = |k: &str| -> Vec<u8> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{k}:")))
            .unwrap();
        let b64 = line.split_once(':').unwrap().1.trim();
        data_encoding::BASE64.decode(b64.as_bytes()).unwrap()
    };
    let parts: Vec<Vec<u8>> = [
        "Modulus",
        "PublicExponent",
        "PrivateExponent",
        "Prime1",
        "Prime2",
        "Exponent1",
        "Exponent2",
        "Coefficient",
    ]
    .iter()
    .map(|k| field(k))
    .collect();
    let mut body = der_integer(&[0]);
    for p in &parts {
        body.extend(der_integer(p));
    }
    let der = der_tlv(0x30, &body);
    let pair = rs::RsaKeyPair::from_der(&der).unwrap();
    // RFC 3110 §2 public key: exponent length, exponent, modulus.
    let (n, e) = (parts[0].clone(), parts[1].clone());
    let mut public = vec![e.len() as u8];
    public.extend(&e);
    public.extend(&n);
    Some(signed_case(
        "08_rsasha256_2048",
        8,
        public,
        move |m| {
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(&rs::RSA_PKCS1_SHA256, &SystemRandom::new(), m, &mut sig)
                .unwrap();
            sig
        },
        move |_, m, s| {
            rs::RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, m, s)
                .is_ok()
        },
    ))
}

/// `openssl genrsa 512` and `openssl genrsa 1024`: modulus and private
/// exponent, hex. Test keys, for the benchmark only.
const RSA512: (&str, &str) = (
    "f15906e431059881b5102abb3103ea8903466a0a986f364715e811dea22da7699748c013ed7fe4c496ac379bc1b0269f4201555ae5b8cc4becbce09e17448685",
    "e86daf885579a91cc94e0f8905345b4ba63ecae2f758ab321c73c9b9da0013a76b2dc2506d941b78dabdd5383db919c8ca965f737f83897c31a2afbc8cd84165",
);
const RSA1024: (&str, &str) = (
    "ca3137d0d837b161a72fa75ddfe4a327f8e82da1f0cd79a13873264f73dceb797c93f06658dd15b448cee5e25e482b28968bf119bf4c29845b8d2d75a8b0dc87e01d13791da8ee5421013aadb7c47c3846cec9c4ee2706534b6f2661cd9fa311211e74bb2e0ed2527c84b709c9379775c64e2e67fbf51653739e7323dc4060fb",
    "745cf107837841e0b68c2961505a503fcff32757fcb2f45e0193dba77c41d74f1a90359961691375a735537dfccec1efe0fc76ec5f78e0a7e8dc8e1e19d07789c029aa21822859e55567d07c907d505be42bc800f0c9662d3525a790904e2c09e86e9723cebd86039318be7acc8bb6f764023601871bf08fc658cf84c8e748b1",
);

/// An RSA/SHA-256 case signed with textbook PKCS#1 v1.5 (`EM^d mod n`,
/// RFC 8017 §9.2) by one of the inline keys (exponent 65537).
fn small_rsa_case(label: &'static str, (n_hex, d_hex): (&str, &str)) -> Case {
    let n = BigUint::parse_bytes(n_hex.as_bytes(), 16).unwrap();
    let d = BigUint::parse_bytes(d_hex.as_bytes(), 16).unwrap();
    let modulus = n.to_bytes_be();
    let mut public = vec![3, 1, 0, 1];
    public.extend(&modulus);
    let k = modulus.len();
    signed_case(
        label,
        8,
        public,
        move |m| {
            let prefix = [
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ];
            let mut em = vec![0x00, 0x01];
            em.resize(k - prefix.len() - 32 - 1, 0xff);
            em.push(0x00);
            em.extend(prefix);
            em.extend(ring::digest::digest(&ring::digest::SHA256, m).as_ref());
            let s = BigUint::from_bytes_be(&em).modpow(&d, &n).to_bytes_be();
            let mut sig = vec![0; k - s.len()];
            sig.extend(s);
            sig
        },
        |key, m, s| RingCrypto::new().verify(8, key, m, s).is_ok(),
    )
}

/// RSA/SHA-256 verification of one signature, the key parsed afresh each
/// time as the validator does: ring (the backend's), aws-lc-rs and OpenSSL
/// (unbound's). 1024 bits (the lab's generated case-zone keys) and 2048
/// (its fixture keys, which the benchmarks' lab uses), made by OpenSSL here.
fn rsa_backends(c: &mut Criterion) {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    let message = vec![0x5a; 180];
    for bits in [1024, 2048] {
        let private = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &private).unwrap();
        signer.update(&message).unwrap();
        let sig = signer.sign_to_vec().unwrap();
        let rsa = private.rsa().unwrap();
        let (modulus, e) = (rsa.n().to_vec(), rsa.e().to_vec());
        let mut group = c.benchmark_group(format!("rsa_backend/{bits}"));
        group.bench_function("ring", |b| {
            b.iter(|| {
                assert!(
                    rs::RsaPublicKeyComponents {
                        n: black_box(&modulus[..]),
                        e: &e[..]
                    }
                    .verify(
                        &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                        &message,
                        &sig
                    )
                    .is_ok()
                )
            })
        });
        group.bench_function("aws_lc_rs", |b| {
            b.iter(|| {
                assert!(
                    aws_lc_rs::signature::RsaPublicKeyComponents {
                        n: black_box(&modulus[..]),
                        e: &e[..]
                    }
                    .verify(
                        &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                        &message,
                        &sig
                    )
                    .is_ok()
                )
            })
        });
        group.bench_function("openssl", |b| {
            b.iter(|| {
                let rsa = Rsa::from_public_components(
                    openssl::bn::BigNum::from_slice(black_box(&modulus)).unwrap(),
                    openssl::bn::BigNum::from_slice(&e).unwrap(),
                )
                .unwrap();
                let key = PKey::from_rsa(rsa).unwrap();
                let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &key).unwrap();
                v.update(&message).unwrap();
                assert!(v.verify(&sig).unwrap())
            })
        });
        group.finish();
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn der_integer(be: &[u8]) -> Vec<u8> {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len() - 1);
    let mut content = Vec::new();
    if be[start] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&be[start..]);
    der_tlv(0x02, &content)
}

fn verify_rrsig(c: &mut Criterion) {
    let crypto = RingCrypto::new();
    let mut cases: Vec<Case> = rsa_case().into_iter().collect();
    cases.push(small_rsa_case("08_rsasha256_512", RSA512));
    cases.push(small_rsa_case("08_rsasha256_1024", RSA1024));
    cases.push(ecdsa_case(
        "13_ecdsap256",
        13,
        &rs::ECDSA_P256_SHA256_FIXED_SIGNING,
        |point, m, s| {
            rs::UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_FIXED, point)
                .verify(m, s)
                .is_ok()
        },
    ));
    cases.push(ecdsa_case(
        "14_ecdsap384",
        14,
        &rs::ECDSA_P384_SHA384_FIXED_SIGNING,
        |point, m, s| {
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
                point,
            )
            .verify(m, s)
            .is_ok()
        },
    ));
    cases.push(ed25519_case());
    cases.push(ed448_case());
    for case in &cases {
        let mut group = c.benchmark_group(format!("verify_rrsig/{}", case.label));
        group.bench_function("verify_rrset", |b| {
            b.iter(|| {
                let mut budget = Budget::default();
                let v = verify_rrset(
                    black_box(&case.rrset),
                    black_box(&case.keys),
                    NOW,
                    &mut budget,
                    &crypto,
                );
                assert!(v.is_ok());
                v
            })
        });
        group.bench_function("raw", |b| b.iter(|| assert!(black_box((case.raw)()))));
        group.finish();
    }
}

/// A backend that accepts every signature: `verify_rrset` through it is the
/// validator's own cost (checks, canonical form, key selection, the proof),
/// measured without the noise of the crypto.
#[derive(Debug)]
struct NullCrypto;

impl Crypto for NullCrypto {
    fn supports_algorithm(&self, _: u8, _: &[u8]) -> bool {
        true
    }
    fn verify(&self, _: u8, _: &[u8], _: &[u8], _: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
    fn supports_digest(&self, _: u8) -> bool {
        true
    }
    fn digest(&self, _: u8, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn nsec3_hash(&self, _: &[u8], _: &[u8], _: u16) -> [u8; 20] {
        [0; 20]
    }
}

fn overhead(c: &mut Criterion) {
    let case = ed25519_case();
    let mut group = c.benchmark_group("verify_rrsig/overhead");
    group.bench_function("verify_rrset_null_crypto", |b| {
        b.iter(|| {
            let mut budget = Budget::default();
            verify_rrset(
                black_box(&case.rrset),
                black_box(&case.keys),
                NOW,
                &mut budget,
                &NullCrypto,
            )
        })
    });
    group.finish();
}

/// A P-256 CSK (flags 257) of one zone, and the way to sign with it.
struct ZoneKey {
    zone: Name,
    dnskey: DNSKEY,
    pair: rs::EcdsaKeyPair,
}

impl ZoneKey {
    fn new(zone: &str) -> Self {
        let rng = SystemRandom::new();
        let alg = &rs::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = rs::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = rs::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let dnskey = DNSKEY::with_flags(
            257,
            PublicKeyBuf::new(
                pair.public_key().as_ref()[1..].to_vec(),
                Algorithm::ECDSAP256SHA256,
            ),
        );
        Self {
            zone: name(zone),
            dnskey,
            pair,
        }
    }

    fn sign(&self, rrset: &mut Rrset) {
        let input = SigInput {
            type_covered: rrset.rtype,
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: rrset.name.num_labels(),
            original_ttl: 3600,
            sig_expiration: SerialNumber::new((NOW + 86_400) as u32),
            sig_inception: SerialNumber::new((NOW - 86_400) as u32),
            key_tag: key_tag(&self.dnskey),
            signer_name: self.zone.clone(),
        };
        let data = signed_data_for(rrset, &RRSIG::from_sig(input.clone(), Vec::new())).unwrap();
        let sig = self.pair.sign(&SystemRandom::new(), &data).unwrap();
        rrset
            .rrsigs
            .push(RRSIG::from_sig(input, sig.as_ref().to_vec()));
    }

    fn dnskey_rrset(&self) -> Rrset {
        let mut set = Rrset::new(
            self.zone.clone(),
            DNSClass::IN,
            3600,
            RData::DNSSEC(DNSSECRData::DNSKEY(self.dnskey.clone())),
        );
        self.sign(&mut set);
        set
    }

    fn ds(&self, crypto: &RingCrypto) -> DS {
        let digest = ds_digest(&self.zone, &self.dnskey, 2, crypto).unwrap();
        DS::new(
            key_tag(&self.dnskey),
            Algorithm::ECDSAP256SHA256,
            DigestType::SHA256,
            digest,
        )
    }

    /// This zone's DS RRset for `child`, signed by this zone.
    fn ds_rrset(&self, child: &Self, crypto: &RingCrypto) -> Rrset {
        let mut set = Rrset::new(
            child.zone.clone(),
            DNSClass::IN,
            3600,
            RData::DNSSEC(DNSSECRData::DS(child.ds(crypto))),
        );
        self.sign(&mut set);
        set
    }
}

fn trusted(verdict: KeyVerdict) -> ZoneKeys {
    match verdict {
        KeyVerdict::Trusted(keys) => keys,
        other => panic!("not trusted: {other:?}"),
    }
}

/// A cold lookup of `www.example.test.` from a root anchor: three DNSKEY
/// sets authenticated, two DS sets and the answer verified (6 ECDSA P-256
/// verifications and 3 DS digests).
fn validate_chain(c: &mut Criterion) {
    let crypto = RingCrypto::new();
    let (root, test, example) = (
        ZoneKey::new("."),
        ZoneKey::new("test."),
        ZoneKey::new("example.test."),
    );
    // The root anchor, as configured trust anchors come in.
    let (anchors, _) = Anchors::from_records(&[Record::from_rdata(
        root.zone.clone(),
        3600,
        RData::DNSSEC(DNSSECRData::DS(root.ds(&crypto))),
    )]);
    let (_, anchor) = anchors.closest(&root.zone).unwrap();
    let (root_keys, test_keys, example_keys) = (
        root.dnskey_rrset(),
        test.dnskey_rrset(),
        example.dnskey_rrset(),
    );
    let (test_ds, example_ds) = (
        root.ds_rrset(&test, &crypto),
        test.ds_rrset(&example, &crypto),
    );
    let mut answer = Rrset::new(
        name("www.example.test."),
        DNSClass::IN,
        3600,
        RData::A(A::new(192, 0, 2, 1)),
    );
    example.sign(&mut answer);

    let run = || {
        let mut budget = Budget::default();
        let b = &mut budget;
        let root_zone = trusted(authenticate_dnskeys(
            &root.zone, &root_keys, anchor, NOW, b, &crypto,
        ));
        let ds = verify_rrset(&test_ds, &root_zone, NOW, b, &crypto).unwrap();
        let sep = SecureEntryPoints::from_verified_ds(&ds).unwrap();
        let test_zone = trusted(authenticate_dnskeys(
            &test.zone, &test_keys, &sep, NOW, b, &crypto,
        ));
        let ds = verify_rrset(&example_ds, &test_zone, NOW, b, &crypto).unwrap();
        let sep = SecureEntryPoints::from_verified_ds(&ds).unwrap();
        let example_zone = trusted(authenticate_dnskeys(
            &example.zone,
            &example_keys,
            &sep,
            NOW,
            b,
            &crypto,
        ));
        verify_rrset(&answer, &example_zone, NOW, b, &crypto).unwrap()
    };
    assert_eq!(run().key_tag(), key_tag(&example.dnskey));
    c.bench_function("validate_chain/root-test-example.test/ecdsap256", |b| {
        b.iter(|| black_box(run()))
    });
}

fn nsec3_hash(c: &mut Criterion) {
    let crypto = RingCrypto::new();
    let owner = b"\x03www\x07example\x00";
    let salt = [0xaa, 0xbb, 0xcc, 0xdd];
    let mut group = c.benchmark_group("nsec3_hash");
    for iterations in [0u16, 10, 100, 150] {
        group.bench_function(iterations.to_string(), |b| {
            b.iter(|| crypto.nsec3_hash(black_box(owner), black_box(&salt), iterations))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    overhead,
    verify_rrsig,
    ed448_backends,
    ecdsa_backends,
    rsa_backends,
    validate_chain,
    nsec3_hash
);
criterion_main!(benches);
