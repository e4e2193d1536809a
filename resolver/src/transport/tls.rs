//! DNS over TLS to configured upstreams (RFC 7858): [`TlsTransport`].
//!
//! A [`Transport`] that sends every exchange with a configured TLS peer over
//! one long-lived TLS connection to it, whatever [`Protocol`] the caller
//! asked for, and hands every other server to the plain transport under it.
//! There is no fallback: a peer that fails its handshake, shows a
//! certificate for another name or a key outside its pin set fails the
//! exchange (the forwarder then moves on, and the client gets SERVFAIL with
//! EDE 22), it is never asked in clear text.
//!
//! * Authentication (RFC 7858 §4, RFC 8310): with no pin, the certificate
//!   chain must lead to a CA root (the system's bundle or `[upstream]
//!   tls_ca_file`) and be valid for the configured name (the SNI sent too).
//!   With pins (RFC 7858 §4.2, the out-of-band key-pinned profile), the
//!   SHA-256 of the SubjectPublicKeyInfo of one certificate the server
//!   presents must be in the pin set; the pin replaces the CA and name checks,
//!   as in stubby's and kdig's pinning.
//! * Connection reuse (RFC 7766 §6.2.1, RFC 7858 §3.4): one connection per
//!   peer, opened on first use, shared by all queries, closed after
//!   [`IDLE_TIMEOUT`] without a query outstanding or when the server closes
//!   it; the next query opens a new one. A query that meets a reused
//!   connection just closed by the server is sent once more on a new one.
//! * Pipelining (RFC 7766 §6.2.1.1, RFC 7858 §3.3): queries are written as
//!   they come, each with an ID unique on the connection (the caller's, or
//!   a free one put in its place and swapped back in the reply); a reader task
//!   matches replies to queries by ID, in whatever order they arrive.
//!
//! The query layer above still checks the reply's ID, QR bit and question
//! (RFC 5452 §4.1), as for any transport.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{ExchangeFuture, Protocol, Transport};

/// A connection with no query outstanding for this long is closed (RFC 7766
/// §6.2.3 leaves the value to the client; unbound's tcp-idle-timeout as a
/// server is 30 s, so we close first and rarely meet a closed connection).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// The port of DNS over TLS (RFC 7858 §3.1).
pub const DOT_PORT: u16 = 853;

/// Where Debian (and derivatives) keep the system's CA bundle; Red Hat's
/// second. `SSL_CERT_FILE` overrides both, as for OpenSSL.
const SYSTEM_CA_FILES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// TLS handshakes attempted and failed, process-wide (for `stats`).
static HANDSHAKES: AtomicU64 = AtomicU64::new(0);
static HANDSHAKE_FAILURES: AtomicU64 = AtomicU64::new(0);

/// TLS handshakes begun with upstreams since start, and how many of them
/// failed.
pub fn handshake_counts() -> (u64, u64) {
    (
        HANDSHAKES.load(Ordering::Relaxed),
        HANDSHAKE_FAILURES.load(Ordering::Relaxed),
    )
}

/// A SHA-256 SPKI pin (RFC 7858 §4.2, RFC 7469 §2.4).
pub type Pin = [u8; 32];

/// How one DNS-over-TLS upstream is authenticated: `ADDR@853#NAME` or
/// `ADDR@853#NAME^sha256/BASE64` in the configuration.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TlsAuth {
    /// The name the certificate must be valid for (and the SNI); empty for
    /// a pin-only upstream.
    pub name: String,
    /// SHA-256 hashes of SubjectPublicKeyInfos; empty: the CA roots decide.
    pub pins: Vec<Pin>,
}

impl TlsAuth {
    /// Parses what follows `#`: `NAME`, `NAME^sha256/BASE64[^sha256/...]`
    /// or `^sha256/BASE64` (pin only).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split('^');
        let name = parts.next().unwrap_or_default().trim().to_string();
        if !name.is_empty() {
            ServerName::try_from(name.clone())
                .map_err(|_| format!("`{name}` is not a host name to verify"))?;
        }
        let pins = parts.map(parse_pin).collect::<Result<Vec<_>, _>>()?;
        if name.is_empty() && pins.is_empty() {
            return Err("`#` must name the server (#NAME) or pin its key (#^sha256/BASE64)".into());
        }
        Ok(Self { name, pins })
    }
}

impl fmt::Display for TlsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for pin in &self.pins {
            write!(f, "^sha256/{}", data_encoding::BASE64.encode(pin))?;
        }
        Ok(())
    }
}

/// `sha256/BASE64` (the base64 of a SHA-256 hash, 44 characters).
fn parse_pin(text: &str) -> Result<Pin, String> {
    let b64 = text
        .trim()
        .strip_prefix("sha256/")
        .ok_or_else(|| format!("pin `{text}`: want sha256/BASE64"))?;
    let bytes = data_encoding::BASE64
        .decode(b64.as_bytes())
        .map_err(|e| format!("pin `{text}`: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| format!("pin `{text}`: a SHA-256 hash is 32 bytes"))
}

/// The pin of a DER certificate: SHA-256 of its SubjectPublicKeyInfo.
pub fn spki_pin(certificate: &[u8]) -> Option<Pin> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.tbs_certificate.subject_pki.raw);
    digest.as_ref().try_into().ok()
}

/// Where the CA roots for name-checked upstreams come from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum CaRoots {
    /// The system's bundle (`SSL_CERT_FILE`, or the distribution's file).
    #[default]
    System,
    /// A PEM file of its own (`[upstream] tls_ca_file`).
    File(PathBuf),
}

impl CaRoots {
    fn load(&self) -> Result<RootCertStore, String> {
        let path = match self {
            Self::File(path) => path.clone(),
            Self::System => std::env::var_os("SSL_CERT_FILE")
                .map(PathBuf::from)
                .or_else(|| {
                    SYSTEM_CA_FILES
                        .iter()
                        .map(PathBuf::from)
                        .find(|p| p.exists())
                })
                .ok_or_else(|| {
                    format!(
                        "no CA bundle at {} (install ca-certificates, or set [upstream] tls_ca_file)",
                        SYSTEM_CA_FILES.join(" or ")
                    )
                })?,
        };
        read_roots(&path)
    }
}

fn read_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| format!("CA file {shown}: {e}"))? {
        let cert = cert.map_err(|e| format!("CA file {shown}: {e}"))?;
        // A bundle may hold a certificate webpki cannot use as an anchor;
        // skip it like rustls-native-certs does, but not all of them.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(format!("CA file {shown}: no usable certificate"));
    }
    Ok(roots)
}

/// Routes exchanges with the configured TLS upstreams over DNS over TLS,
/// everything else to the plain transport.
pub struct TlsTransport {
    peers: HashMap<SocketAddr, Arc<Peer>>,
    plain: Arc<dyn Transport>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport")
            .field("peers", &self.peers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TlsTransport {
    /// TLS to each of `peers`, authenticated as its [`TlsAuth`] says (CA
    /// roots from `roots`, read only if some peer has no pin); `plain` for
    /// every other server. Fails when the roots cannot be read.
    pub fn new(
        peers: &[(SocketAddr, TlsAuth)],
        roots: &CaRoots,
        plain: Arc<dyn Transport>,
    ) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut store: Option<Arc<RootCertStore>> = None;
        let mut map = HashMap::new();
        for (addr, auth) in peers {
            let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS: {e}"))?;
            let config = if auth.pins.is_empty() {
                let roots = match &store {
                    Some(roots) => Arc::clone(roots),
                    None => Arc::clone(store.insert(Arc::new(roots.load()?))),
                };
                builder.with_root_certificates(roots).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(PinVerifier {
                        pins: auth.pins.clone(),
                        provider: Arc::clone(&provider),
                    }))
                    .with_no_client_auth()
            };
            let name = if auth.name.is_empty() {
                ServerName::IpAddress(addr.ip().into())
            } else {
                ServerName::try_from(auth.name.clone())
                    .map_err(|_| format!("`{}` is not a host name to verify", auth.name))?
            };
            map.insert(
                *addr,
                Arc::new(Peer {
                    server: *addr,
                    shown: format!("{addr}#{}", auth.name),
                    name,
                    connector: TlsConnector::from(Arc::new(config)),
                    conn: tokio::sync::Mutex::new(None),
                }),
            );
        }
        Ok(Self { peers: map, plain })
    }
}

impl Transport for TlsTransport {
    fn exchange<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        timeout: Duration,
    ) -> ExchangeFuture<'a> {
        let Some(peer) = self.peers.get(&server) else {
            return self.plain.exchange(server, request, protocol, timeout);
        };
        Box::pin(async move {
            super::check_request(request)?;
            let deadline = Instant::now() + timeout;
            timeout_at(deadline, peer.exchange(request))
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no reply from {} over TLS within {timeout:?}", peer.shown),
                    ))
                })
        })
    }

    /// 0x20 case echo for the plain servers; a TLS upstream is
    /// authenticated by its certificate or pin, and its replies come on the
    /// connection the query went on, so the plain exchange is enough there.
    fn exchange_echo<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        timeout: Duration,
    ) -> ExchangeFuture<'a> {
        if self.peers.contains_key(&server) {
            self.exchange(server, request, protocol, timeout)
        } else {
            self.plain.exchange_echo(server, request, protocol, timeout)
        }
    }
}

/// One TLS upstream and its connection.
struct Peer {
    server: SocketAddr,
    /// `ADDR#NAME`, for messages.
    shown: String,
    name: ServerName<'static>,
    connector: TlsConnector,
    /// The open connection, if any. Held across a handshake, so that
    /// queries arriving meanwhile wait for it instead of opening their own.
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

impl Peer {
    async fn exchange(&self, request: &[u8]) -> io::Result<Vec<u8>> {
        let (conn, fresh) = self.connection().await?;
        match conn.exchange(request).await {
            Err(e) if !fresh && e.kind() != io::ErrorKind::TimedOut => {
                // The server closed a connection we reused (its idle
                // timeout, RFC 7766 §6.2.3): once more on a new one.
                tracing::debug!(server = %self.shown, "reused TLS connection failed ({e}), reconnecting");
                let (conn, _) = self.connection().await?;
                conn.exchange(request).await
            }
            result => result,
        }
    }

    /// The open connection, or a new one (true: just opened).
    async fn connection(&self) -> io::Result<(Arc<Conn>, bool)> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref().filter(|c| c.is_open()) {
            return Ok((Arc::clone(conn), false));
        }
        *slot = None;
        let conn = Arc::new(self.connect().await?);
        *slot = Some(Arc::clone(&conn));
        Ok((conn, true))
    }

    async fn connect(&self) -> io::Result<Conn> {
        HANDSHAKES.fetch_add(1, Ordering::Relaxed);
        let result = async {
            let tcp = TcpStream::connect(self.server).await?;
            tcp.set_nodelay(true)?;
            self.connector.connect(self.name.clone(), tcp).await
        }
        .await;
        let stream = match result {
            Ok(stream) => stream,
            Err(e) => {
                HANDSHAKE_FAILURES.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(server = %self.shown, "DNS over TLS: connection failed: {e}");
                return Err(io::Error::new(
                    e.kind(),
                    format!("TLS to {}: {e}", self.shown),
                ));
            }
        };
        tracing::debug!(server = %self.shown, "DNS over TLS: connected");
        Ok(Conn::start(stream, self.shown.clone()))
    }
}

/// The queries waiting for a reply on one connection, by wire ID.
#[derive(Default)]
struct Pending {
    waiting: HashMap<u16, oneshot::Sender<Vec<u8>>>,
    /// Set (under this lock) when the reader stops: nothing more is sent.
    closed: bool,
}

type Shared = Arc<Mutex<Pending>>;

fn lock(pending: &Shared) -> std::sync::MutexGuard<'_, Pending> {
    pending.lock().unwrap_or_else(|e| e.into_inner())
}

/// One open TLS connection: a write half shared by the queries and a reader
/// task that hands each reply to the query with its ID.
struct Conn {
    writer: Arc<tokio::sync::Mutex<WriteHalf<TlsStream<TcpStream>>>>,
    pending: Shared,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Removes a query's entry when it completes or is abandoned (timeout).
struct Waiting<'a> {
    pending: &'a Shared,
    id: u16,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(self.pending).waiting.remove(&self.id);
    }
}

impl Conn {
    fn start(stream: TlsStream<TcpStream>, shown: String) -> Self {
        let (read, write) = tokio::io::split(stream);
        let pending = Shared::default();
        let writer = Arc::new(tokio::sync::Mutex::new(write));
        let reader = tokio::spawn(read_replies(
            read,
            Arc::clone(&pending),
            Arc::clone(&writer),
            shown,
        ));
        Self {
            writer,
            pending,
            reader,
        }
    }

    fn is_open(&self) -> bool {
        !lock(&self.pending).closed
    }

    async fn exchange(&self, request: &[u8]) -> io::Result<Vec<u8>> {
        let len = u16::try_from(request.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "request over 65535 bytes"))?;
        let asked = u16::from_be_bytes([request[0], request[1]]);
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut pending = lock(&self.pending);
            if pending.closed {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "TLS connection closed",
                ));
            }
            // RFC 7766 §7: IDs of outstanding queries on one connection
            // must differ; the caller's random ID unless it is taken.
            let mut id = asked;
            while pending.waiting.contains_key(&id) {
                id = rand::random();
            }
            pending.waiting.insert(id, tx);
            id
        };
        let _waiting = Waiting {
            pending: &self.pending,
            id,
        };
        let mut frame = Vec::with_capacity(request.len() + 2);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&id.to_be_bytes());
        frame.extend_from_slice(&request[2..]);
        let written = {
            let mut writer = self.writer.lock().await;
            match writer.write_all(&frame).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = written {
            lock(&self.pending).closed = true;
            return Err(e);
        }
        let mut reply = rx.await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "TLS connection closed before the reply",
            )
        })?;
        reply[..2].copy_from_slice(&asked.to_be_bytes());
        Ok(reply)
    }
}

/// The reader task: replies to their queries by ID until the server closes
/// the connection, sends something that is not DNS, or nothing is asked for
/// [`IDLE_TIMEOUT`]; then the connection is marked closed, the queries
/// still waiting fail, and TLS is closed (close_notify).
async fn read_replies(
    mut read: ReadHalf<TlsStream<TcpStream>>,
    pending: Shared,
    writer: Arc<tokio::sync::Mutex<WriteHalf<TlsStream<TcpStream>>>>,
    shown: String,
) {
    let why = loop {
        let idle_until = Instant::now() + IDLE_TIMEOUT;
        let frame = match timeout_at(idle_until, read_frame(&mut read)).await {
            Err(_) => {
                let mut p = lock(&pending);
                if p.waiting.is_empty() {
                    p.closed = true;
                    break "idle".to_string();
                }
                continue;
            }
            Ok(Err(e)) => break e.to_string(),
            Ok(Ok(frame)) => frame,
        };
        if frame.len() < 12 {
            break format!("a {}-byte message is not DNS", frame.len());
        }
        let id = u16::from_be_bytes([frame[0], frame[1]]);
        match lock(&pending).waiting.remove(&id) {
            Some(tx) => {
                let _ = tx.send(frame);
            }
            None => tracing::debug!(server = %shown, id, "TLS reply for no query dropped"),
        }
    };
    {
        let mut p = lock(&pending);
        p.closed = true;
        p.waiting.clear();
    }
    tracing::debug!(server = %shown, "DNS over TLS connection closed: {why}");
    let _ = writer.lock().await.shutdown().await;
}

async fn read_frame(read: &mut ReadHalf<TlsStream<TcpStream>>) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    read.read_exact(&mut len).await?;
    let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
    read.read_exact(&mut frame).await?;
    Ok(frame)
}

/// RFC 7858 §4.2: the server is authenticated by the SPKI of its
/// end-entity certificate, found in the pin set; the handshake's
/// signatures are still checked against that key.
#[derive(Debug)]
struct PinVerifier {
    pins: Vec<Pin>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Only the end entity: the handshake proves possession of its key
        // alone. The other certificates are not chained to it here, so a
        // pinned CA's (public) certificate sent beside any key of the
        // attacker's must not match.
        let matched = spki_pin(end_entity).is_some_and(|pin| self.pins.contains(&pin));
        if matched {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate does not match its SPKI pin (RFC 7858 §4.2)".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests;
