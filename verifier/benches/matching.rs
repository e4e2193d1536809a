//! Matching cost: `3 1 1` against a leaf (digest only), and `2 1 1` of the
//! issuer (digest plus a webpki path validation).

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use danebound_verifier::{
    MatchingType, SecureTlsa, Selector, Usage, VerifyParams, generate, verify,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, UnixTime};

fn chain() -> Vec<CertificateDer<'static>> {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Bench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["mx.example.com".to_owned()]).unwrap();
    leaf.not_before = rcgen::date_time_ymd(2025, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    vec![leaf_cert.der().clone(), ca_cert.der().clone()]
}

fn bench(c: &mut Criterion) {
    let chain = chain();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000));
    let params = VerifyParams::smtp("mx.example.com", now);
    let tlsa = |cert: &CertificateDer<'_>, usage| {
        let r = generate(cert, usage, Selector::Spki, MatchingType::Sha256).unwrap();
        SecureTlsa::from_validated([Ok::<_, Infallible>(r)]).unwrap()
    };
    let ee = tlsa(&chain[0], Usage::DaneEe);
    let ta = tlsa(&chain[1], Usage::DaneTa);
    assert!(verify(&ee, &chain, &params).is_authenticated());
    assert!(verify(&ta, &chain, &params).is_authenticated());
    c.bench_function("verify/3_1_1_leaf", |b| {
        b.iter(|| verify(black_box(&ee), black_box(&chain), &params))
    });
    c.bench_function("verify/2_1_1_issuer_path", |b| {
        b.iter(|| verify(black_box(&ta), black_box(&chain), &params))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
