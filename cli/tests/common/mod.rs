//! Shared by the CLI tests: running the binary, certificates, and a tiny
//! SMTP server with STARTTLS (rustls) on loopback.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub const BIN: &str = env!("CARGO_BIN_EXE_danebound");

/// Exit code, stdout, stderr.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server identity: the chain it sends (leaf first) and the leaf key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    /// The DER SubjectPublicKeyInfo of the leaf.
    pub spki: Vec<u8>,
    pub leaf_pem: String,
}

impl Identity {
    /// A self-signed leaf for `name` (DANE-EE).
    pub fn self_signed(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        Self {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
            spki: rcgen::PublicKeyData::subject_public_key_info(&key),
            leaf_pem: pem_of(cert.der()),
        }
    }

    /// A leaf for `name` issued by a private CA, which the server sends too
    /// (DANE-TA). Returns the identity and the CA certificate.
    pub fn ca_issued(name: &str) -> (Self, CertificateDer<'static>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "danebound test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::from_params(&ca, &ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (
            Self {
                chain: vec![leaf.der().clone(), ca_cert.der().clone()],
                key_der: key.serialize_der(),
                spki: rcgen::PublicKeyData::subject_public_key_info(&key),
                leaf_pem: pem_of(leaf.der()),
            },
            ca_cert.der().clone(),
        )
    }
}

/// SHA-256 in hex (upper case), by `sha256sum`, independent of our code.
pub fn sha256_hex(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    std::fs::write(&path, data).unwrap();
    let out = Command::new("sha256sum").arg(&path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_ascii_uppercase()
}

/// How the fake server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Smtp {
    /// EHLO offers STARTTLS; the handshake follows the 220 go-ahead.
    Good,
    /// Sends an extra reply in the same write as the 220 go-ahead.
    Pipelines,
    /// EHLO offers no STARTTLS.
    NoStarttls,
    /// Answers the ClientHello with a fatal protocol_version alert, as a
    /// server that speaks only TLS 1.0 does.
    OldTls,
    /// IMAP: `* OK`, `a1 CAPABILITY`, `a2 STARTTLS`.
    Imap,
    /// POP3: `+OK`, `CAPA`, `STLS`.
    Pop3,
    /// XMPP: stream features with `<starttls/>`, `<proceed/>`.
    Xmpp,
    /// TLS from the first byte.
    Tls,
}

/// Starts an SMTP server on `listener` in a thread: greeting, EHLO,
/// STARTTLS, TLS with `identity`, EHLO again, QUIT. Serves until the
/// process ends.
pub fn spawn_smtp(listener: TcpListener, identity: &Identity, mode: Smtp) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            identity.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone())),
        )
        .unwrap();
    let config = Arc::new(config);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let _ = serve_one(stream, config, mode);
            });
        }
    });
    addr
}

fn serve_one(
    mut tcp: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    mode: Smtp,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    if matches!(mode, Smtp::Imap | Smtp::Pop3 | Smtp::Xmpp | Smtp::Tls) {
        return serve_other(tcp, config, mode);
    }
    tcp.write_all(b"220 fake.test ESMTP\r\n")?;
    let mut reader = BufReader::new(tcp.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?; // EHLO
    if mode == Smtp::NoStarttls {
        tcp.write_all(b"250-fake.test\r\n250 PIPELINING\r\n")?;
    } else {
        tcp.write_all(b"250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")?;
    }
    line.clear();
    reader.read_line(&mut line)?;
    if !line.to_ascii_uppercase().starts_with("STARTTLS") {
        tcp.write_all(b"221 bye\r\n")?;
        return Ok(());
    }
    if mode == Smtp::Pipelines {
        tcp.write_all(b"220 go ahead\r\n250 injected\r\n")?;
    } else {
        tcp.write_all(b"220 go ahead\r\n")?;
    }
    if mode == Smtp::OldTls {
        let mut hello = [0u8; 512];
        let _ = std::io::Read::read(&mut tcp, &mut hello)?;
        // TLS 1.0 record: alert, fatal (2), protocol_version (70).
        tcp.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])?;
        return Ok(());
    }
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut reader = BufReader::new(&mut tls);
    line.clear();
    reader.read_line(&mut line)?; // EHLO over TLS
    drop(reader);
    tls.write_all(b"250-fake.test\r\n250 PIPELINING\r\n")?;
    let mut reader = BufReader::new(&mut tls);
    line.clear();
    reader.read_line(&mut line)?; // QUIT
    drop(reader);
    tls.write_all(b"221 bye\r\n")?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// PEM of a DER certificate.
pub fn pem_of(der: &[u8]) -> String {
    use std::fmt::Write as _;
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", std::str::from_utf8(line).unwrap());
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn serve_other(
    mut tcp: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    mode: Smtp,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(tcp.try_clone()?);
    let mut line = String::new();
    match mode {
        Smtp::Imap => {
            tcp.write_all(b"* OK fake IMAP ready\r\n")?;
            reader.read_line(&mut line)?; // a1 CAPABILITY
            tcp.write_all(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK done\r\n")?;
            line.clear();
            reader.read_line(&mut line)?; // a2 STARTTLS
            tcp.write_all(b"a2 OK begin TLS\r\n")?;
        }
        Smtp::Pop3 => {
            tcp.write_all(b"+OK fake POP3\r\n")?;
            reader.read_line(&mut line)?; // CAPA
            tcp.write_all(b"+OK\r\nUSER\r\nSTLS\r\n.\r\n")?;
            line.clear();
            reader.read_line(&mut line)?; // STLS
            tcp.write_all(b"+OK begin TLS\r\n")?;
        }
        Smtp::Xmpp => {
            let mut buf = Vec::new();
            while !String::from_utf8_lossy(&buf).contains("<stream:stream") {
                reader.read_until(b'>', &mut buf)?;
            }
            tcp.write_all(
                b"<?xml version='1.0'?><stream:stream from='fake' id='1' version='1.0' \
                  xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
                  <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>\
                  </starttls></stream:features>",
            )?;
            buf.clear();
            reader.read_until(b'>', &mut buf)?; // <starttls .../>
            tcp.write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
        }
        _ => {}
    }
    let mut conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    Ok(())
}
