//! The DNS-over-TLS transport against an in-process rustls server with
//! certificates made by rcgen: authentication by CA and name, by pin, and
//! their failures; one connection reused; pipelined queries answered out of
//! order; a connection closed by the server replaced.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::*;
use crate::transport::{Protocol, Transport};

/// What the test server does with the queries of a connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answer each query at once.
    Echo,
    /// Read two queries, answer the second first.
    Reverse,
    /// Answer one query, then close the connection.
    OneThenClose,
}

struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

/// A CA and a leaf for `name` signed by it.
fn pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let b64 = data_encoding::BASE64.encode(ca_cert.der());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    Pki {
        ca_pem: format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        ),
        chain: vec![leaf.der().clone()],
        key,
    }
}

fn pin_of(key: &KeyPair) -> Pin {
    let digest = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
    digest.as_ref().try_into().unwrap()
}

/// Serves DNS over TLS on a loopback port; counts the connections accepted.
async fn server(pki: &Pki, mode: Mode) -> (SocketAddr, Arc<AtomicUsize>) {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(pki.chain.clone(), key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut held: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut len = [0u8; 2];
                    if tls.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if tls.read_exact(&mut query).await.is_err() {
                        return;
                    }
                    query[2] |= 0x80; // QR: the query echoed as its reply
                    held.push(query);
                    if mode == Mode::Reverse && held.len() < 2 {
                        continue;
                    }
                    while let Some(reply) = held.pop() {
                        let mut frame = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                        frame.extend_from_slice(&reply);
                        tls.write_all(&frame).await.unwrap();
                    }
                    if mode == Mode::OneThenClose {
                        let _ = tls.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// A query with `id` for `label.test. A`.
fn query(id: u16, label: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.push(u8::try_from(label.len()).unwrap());
    q.extend_from_slice(label.as_bytes());
    q.extend_from_slice(b"\x04test\x00\x00\x01\x00\x01");
    q
}

struct Refuse;

impl Transport for Refuse {
    fn exchange<'a>(
        &'a self,
        _: SocketAddr,
        _: &'a [u8],
        _: Protocol,
        _: Duration,
    ) -> ExchangeFuture<'a> {
        Box::pin(async { Err(io::Error::other("plain DNS must not be used")) })
    }
}

fn transport(addr: SocketAddr, auth: &str, roots: CaRoots) -> TlsTransport {
    TlsTransport::new(
        &[(addr, TlsAuth::parse(auth).unwrap())],
        &roots,
        Arc::new(Refuse),
    )
    .unwrap()
}

fn ca_file(pki: &Pki) -> (tempfile::TempDir, CaRoots) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    (dir, CaRoots::File(path))
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn rfc7858_ca_and_name_verified_and_one_connection_reused() {
    let pki = pki("dns.example");
    let (addr, accepted) = server(&pki, Mode::Echo).await;
    let (_dir, roots) = ca_file(&pki);
    let t = transport(addr, "dns.example", roots);
    for i in 0..5u16 {
        let q = query(1000 + i, "www");
        let reply = t.exchange(addr, &q, Protocol::Udp, WAIT).await.unwrap();
        assert_eq!(reply[..2], q[..2]);
        assert_eq!(reply[12..], q[12..]);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one handshake, reused");
}

#[tokio::test]
async fn rfc7858_a_certificate_for_another_name_is_refused() {
    let pki = pki("dns.example");
    let (addr, _) = server(&pki, Mode::Echo).await;
    let (_dir, roots) = ca_file(&pki);
    let t = transport(addr, "other.example", roots);
    let e = t
        .exchange(addr, &query(1, "www"), Protocol::Udp, WAIT)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("TLS to"), "{e}");
}

#[tokio::test]
async fn rfc7858_an_unknown_ca_is_refused() {
    let pki_a = pki("dns.example");
    let pki_b = pki("dns.example");
    let (addr, _) = server(&pki_a, Mode::Echo).await;
    let (_dir, roots) = ca_file(&pki_b);
    let t = transport(addr, "dns.example", roots);
    assert!(
        t.exchange(addr, &query(1, "www"), Protocol::Udp, WAIT)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn rfc7858_section_4_2_pins() {
    let pki = pki("dns.example");
    assert_eq!(
        spki_pin(&pki.chain[0]),
        Some(pin_of(&pki.key)),
        "the pin hashes the whole SubjectPublicKeyInfo"
    );
    let (addr, _) = server(&pki, Mode::Echo).await;
    let good = format!(
        "dns.example^sha256/{}",
        data_encoding::BASE64.encode(&pin_of(&pki.key))
    );
    // The pin alone authenticates: no CA file is needed, whatever the name.
    let missing = CaRoots::File("/nonexistent/ca.pem".into());
    let t = transport(addr, &good, missing.clone());
    assert!(
        t.exchange(addr, &query(1, "www"), Protocol::Udp, WAIT)
            .await
            .is_ok()
    );
    let other = KeyPair::generate().unwrap();
    let wrong = format!(
        "dns.example^sha256/{}",
        data_encoding::BASE64.encode(&pin_of(&other))
    );
    let t = transport(addr, &wrong, missing);
    let e = t
        .exchange(addr, &query(1, "www"), Protocol::Udp, WAIT)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("pin"), "{e}");
}

/// A certificate whose key is pinned, sent beside another key's
/// certificate, does not authenticate that other key: only the end
/// entity's SPKI (whose key signs the handshake) is matched.
#[tokio::test]
async fn a_pinned_certificate_beside_another_key_is_refused() {
    let genuine = pki("dns.example");
    let mut forger = pki("dns.example");
    forger.chain.push(genuine.chain[0].clone());
    let (addr, _) = server(&forger, Mode::Echo).await;
    let pinned = format!(
        "dns.example^sha256/{}",
        data_encoding::BASE64.encode(&pin_of(&genuine.key))
    );
    let t = transport(addr, &pinned, CaRoots::File("/nonexistent/ca.pem".into()));
    let e = t
        .exchange(addr, &query(1, "www"), Protocol::Udp, WAIT)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("pin"), "{e}");
}

#[tokio::test]
async fn rfc7766_pipelined_replies_out_of_order_matched_by_id() {
    let pki = pki("dns.example");
    let (addr, accepted) = server(&pki, Mode::Reverse).await;
    let (_dir, roots) = ca_file(&pki);
    let t = transport(addr, "dns.example", roots);
    // Open the connection first, so that both queries share it.
    let (q0, pad) = (query(5, "zero"), query(6, "pad"));
    let (q1, q2) = (query(1, "one"), query(2, "two"));
    let (warm, _) = tokio::join!(
        t.exchange(addr, &q0, Protocol::Udp, WAIT),
        t.exchange(addr, &pad, Protocol::Udp, WAIT)
    );
    warm.unwrap();
    let (a, b) = tokio::join!(
        t.exchange(addr, &q1, Protocol::Udp, WAIT),
        t.exchange(addr, &q2, Protocol::Udp, WAIT)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (a[..2].to_vec(), a[12..].to_vec()),
        (q1[..2].to_vec(), q1[12..].to_vec())
    );
    assert_eq!(
        (b[..2].to_vec(), b[12..].to_vec()),
        (q2[..2].to_vec(), q2[12..].to_vec())
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rfc7766_section_7_equal_ids_on_one_connection_are_made_distinct() {
    let pki = pki("dns.example");
    let (addr, accepted) = server(&pki, Mode::Reverse).await;
    let (_dir, roots) = ca_file(&pki);
    let t = transport(addr, "dns.example", roots);
    let (q1, q2) = (query(7, "first"), query(7, "second"));
    let (a, b) = tokio::join!(
        t.exchange(addr, &q1, Protocol::Udp, WAIT),
        t.exchange(addr, &q2, Protocol::Udp, WAIT)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, {
        let mut r = q1.clone();
        r[2] |= 0x80;
        r
    });
    assert_eq!(b, {
        let mut r = q2.clone();
        r[2] |= 0x80;
        r
    });
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced() {
    let pki = pki("dns.example");
    let (addr, accepted) = server(&pki, Mode::OneThenClose).await;
    let (_dir, roots) = ca_file(&pki);
    let t = transport(addr, "dns.example", roots);
    for i in 0..3u16 {
        let q = query(i, "www");
        let reply = t.exchange(addr, &q, Protocol::Udp, WAIT).await.unwrap();
        assert_eq!(reply[12..], q[12..]);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn other_servers_go_to_the_plain_transport() {
    let pki = pki("dns.example");
    let (addr, _) = server(&pki, Mode::Echo).await;
    let (_dir, roots) = ca_file(&pki);
    let t = transport(addr, "dns.example", roots);
    let other: SocketAddr = "127.0.0.1:53".parse().unwrap();
    let e = t
        .exchange(other, &query(1, "www"), Protocol::Udp, WAIT)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("plain DNS"));
}

#[test]
fn tls_auth_syntax() {
    let a = TlsAuth::parse("dns.example").unwrap();
    assert_eq!(a.name, "dns.example");
    assert!(a.pins.is_empty());
    let pin = data_encoding::BASE64.encode(&[7u8; 32]);
    let a = TlsAuth::parse(&format!("dns.example^sha256/{pin}^sha256/{pin}")).unwrap();
    assert_eq!(a.pins, vec![[7u8; 32], [7u8; 32]]);
    assert_eq!(
        a.to_string(),
        format!("dns.example^sha256/{pin}^sha256/{pin}")
    );
    let a = TlsAuth::parse(&format!("^sha256/{pin}")).unwrap();
    assert!(a.name.is_empty());
    assert!(TlsAuth::parse("").is_err());
    assert!(TlsAuth::parse("dns.example^md5/AAAA").is_err());
    assert!(TlsAuth::parse("dns.example^sha256/AAAA").is_err());
    assert!(TlsAuth::parse("bad name!").is_err());
}
