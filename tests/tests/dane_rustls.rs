//! The rustls adapter in a real (in-memory) TLS handshake.

use std::convert::Infallible;
use std::sync::Arc;

use danebound_tests::danetest::pki::{CURRENT, Node};
use danebound_verifier::{
    DaneError, DaneServerVerifier, MatchingType, SecureTlsa, Selector, TlsaRecord, Usage,
    VerifyParams, danger, generate,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, ServerConfig, ServerConnection};

fn handshake(
    verifier: Arc<dyn ServerCertVerifier>,
    leaf: &Node,
    issuer: &Node,
) -> Result<(), rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der()));
    let server_config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert.clone(), issuer.cert.clone()], key)?;
    let mut client_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    client_config.resumption = rustls::client::Resumption::disabled();
    let name = ServerName::try_from("mx.example.com").unwrap();
    let mut client = ClientConnection::new(Arc::new(client_config), name)?;
    let mut server = ServerConnection::new(Arc::new(server_config))?;
    for _ in 0..10 {
        let mut buf = Vec::new();
        client.write_tls(&mut buf).unwrap();
        server.read_tls(&mut buf.as_slice()).unwrap();
        server.process_new_packets()?;
        buf.clear();
        server.write_tls(&mut buf).unwrap();
        client.read_tls(&mut buf.as_slice()).unwrap();
        client.process_new_packets()?;
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

fn setup() -> (Node, Node) {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    (issuer, leaf)
}

fn secure(records: &[TlsaRecord]) -> SecureTlsa {
    SecureTlsa::from_validated(records.iter().cloned().map(Ok::<_, Infallible>)).unwrap()
}

fn verifier(tlsa: SecureTlsa) -> Arc<DaneServerVerifier> {
    let provider = rustls::crypto::ring::default_provider();
    // The adapter replaces the time with the handshake's `now`.
    let params = VerifyParams::smtp("mx.example.com", UnixTime::now());
    Arc::new(DaneServerVerifier::new(tlsa, params, &provider))
}

#[test]
fn dane_ta_record_authenticates_the_handshake() {
    let (issuer, leaf) = setup();
    let r = generate(
        &issuer.cert,
        Usage::DaneTa,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let v = verifier(secure(&[r]));
    let slot = v.verdict();
    handshake(v, &leaf, &issuer).expect("handshake");
    let verdict = slot.lock().unwrap().take().unwrap();
    assert_eq!(verdict.matched().unwrap().depth, 1);
}

#[test]
fn mismatch_fails_the_handshake_with_the_reason() {
    let (issuer, leaf) = setup();
    let v = verifier(secure(&[TlsaRecord::new(3, 1, 1, vec![0; 32])]));
    let slot = v.verdict();
    let err = handshake(v, &leaf, &issuer).unwrap_err();
    let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(
        other.0.downcast_ref::<DaneError>(),
        Some(&DaneError::NoMatch)
    );
    assert!(slot.lock().unwrap().as_ref().unwrap().outcome().is_err());
}

#[test]
fn unvalidated_records_fail_the_handshake_even_when_they_match() {
    let (issuer, leaf) = setup();
    let r = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    let v = verifier(danger::tlsa_without_dnssec(vec![r]));
    assert!(handshake(v, &leaf, &issuer).is_err());
}

#[test]
fn chain_collector_hands_back_the_presented_chain() {
    let (issuer, leaf) = setup();
    let collector = Arc::new(danger::ChainCollector::new(
        &rustls::crypto::ring::default_provider(),
    ));
    let slot = collector.chain();
    handshake(collector, &leaf, &issuer).expect("handshake");
    let chain = slot.lock().unwrap().take().unwrap();
    assert_eq!(chain, vec![leaf.cert.clone(), issuer.cert.clone()]);
}
