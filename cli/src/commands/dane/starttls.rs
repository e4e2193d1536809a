//! Connections: TCP, the STARTTLS dialogue of SMTP, IMAP, POP3 or XMPP (or
//! none), and a rustls handshake that collects the server's chain.
//!
//! After the server's go-ahead the read buffer must be empty: bytes sent
//! after the go-ahead and before the handshake (by the server or by a man in
//! the middle) would otherwise be read as if they came over TLS (the
//! CVE-2011-0411 class of STARTTLS command injection). Everything learned
//! before TLS is discarded; SMTP says EHLO again over TLS.
//!
//! A hostile or broken server cannot hold a check: every read waits at most
//! the per-step timeout, the whole conversation (dialogue, handshake, EHLO
//! over TLS) ends at a deadline of [`DEADLINE_STEPS`] steps, a line is at
//! most [`MAX_LINE`] bytes, and at most [`PRE_TLS_BYTES`] are read before TLS
//! and [`TLS_BYTES`] after (see [`Bounded`]).

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use danebound_verifier::danger::ChainCollector;
use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{AlertDescription, ClientConfig, ClientConnection, StreamOwned};

/// The protocol spoken before TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Starttls {
    Smtp,
    Imap,
    Pop3,
    Xmpp,
    /// TLS from the first byte.
    None,
}

impl Starttls {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "smtp" => Self::Smtp,
            "imap" => Self::Imap,
            "pop3" => Self::Pop3,
            "xmpp" => Self::Xmpp,
            "none" => Self::None,
            _ => {
                return Err(format!(
                    "--starttls `{s}`: one of smtp, imap, pop3, xmpp, none"
                ));
            }
        })
    }

    /// The default port.
    pub(crate) fn default_port(self) -> Option<u16> {
        match self {
            Self::Smtp => Some(25),
            Self::Imap => Some(143),
            Self::Pop3 => Some(110),
            Self::Xmpp => Some(5222),
            Self::None => None,
        }
    }

    /// The protocol usually spoken on `port`.
    pub(crate) fn for_port(port: u16) -> Self {
        match port {
            25 | 587 => Self::Smtp,
            143 => Self::Imap,
            110 => Self::Pop3,
            5222 | 5269 => Self::Xmpp,
            _ => Self::None,
        }
    }
}

/// What a finished handshake tells.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The chain as presented, leaf first.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    /// `TLSv1.3`, `TLSv1.2`.
    pub(crate) version: String,
    /// OpenSSL's name of the cipher suite, as Postfix logs it.
    pub(crate) cipher: String,
    /// Symmetric key bits.
    pub(crate) bits: u16,
    /// Key exchange group (`X25519`, `secp256r1`...).
    pub(crate) kx: Option<String>,
}

impl Session {
    /// Postfix's `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
    /// key-exchange X25519`.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "{} with cipher {} ({}/{} bits)",
            self.version, self.cipher, self.bits, self.bits
        );
        if let Some(kx) = &self.kx {
            s.push_str(&format!(" key-exchange {kx}"));
        }
        s
    }
}

/// Why no TLS session came about.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// TCP connect failed.
    Connect(String),
    /// The dialogue before TLS failed.
    Dialogue(String),
    /// The server does not offer STARTTLS.
    NoStarttls,
    /// Bytes followed the go-ahead before the handshake.
    Injection(usize),
    /// TLS parameters rustls cannot speak (TLS ≤ 1.1, CBC or RSA key
    /// exchange only, ...): not a DANE failure.
    Incompatible(String),
    /// Any other handshake failure.
    Tls(String),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect failed: {e}"),
            Self::Dialogue(e) => f.write_str(e),
            Self::NoStarttls => f.write_str("STARTTLS not offered"),
            Self::Injection(n) => write!(
                f,
                "{n} bytes pipelined after the STARTTLS go-ahead: possible command injection, \
                 connection dropped"
            ),
            Self::Incompatible(e) => write!(
                f,
                "TLS parameters incompatible: rustls speaks TLS 1.2/1.3 with ECDHE and AEAD \
                 ciphers only: {e}"
            ),
            Self::Tls(e) => write!(f, "TLS handshake failed: {e}"),
        }
    }
}

/// How to connect.
#[derive(Clone, Debug)]
pub(crate) struct Dial<'a> {
    pub(crate) addr: SocketAddr,
    /// SNI (the TLSA base domain); `None` for an IP literal.
    pub(crate) sni: Option<&'a str>,
    pub(crate) protocol: Starttls,
    /// EHLO name (SMTP), stream `to` (XMPP).
    pub(crate) helo: &'a str,
    pub(crate) xmpp_domain: &'a str,
    pub(crate) timeout: Duration,
}

/// A whole conversation ends after this many per-step timeouts.
pub(crate) const DEADLINE_STEPS: u32 = 4;
/// The longest line accepted before TLS (RFC 5321 §4.5.3.1.5 allows 512
/// octets per SMTP reply line; IMAP capability lines run longer).
pub(crate) const MAX_LINE: usize = 4096;
/// The most bytes read before TLS.
pub(crate) const PRE_TLS_BYTES: usize = 64 * 1024;
/// The most bytes read from the handshake on (a certificate chain is rarely
/// over 16 KB).
pub(crate) const TLS_BYTES: usize = 256 * 1024;

/// The socket of one conversation, bounded: every read or write waits at
/// most one step and never past the deadline, and at most `budget` more
/// bytes are read.
pub(crate) struct Bounded {
    tcp: TcpStream,
    step: Duration,
    deadline: Instant,
    budget: usize,
}

impl Bounded {
    fn new(tcp: TcpStream, step: Duration, deadline: Instant, budget: usize) -> Self {
        Self {
            tcp,
            step,
            deadline,
            budget,
        }
    }

    /// The time one more read or write may wait, or an error past the
    /// deadline.
    fn wait(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(past_deadline());
        }
        Ok(left.min(self.step))
    }

    fn timed_out(&self, e: io::Error) -> io::Error {
        if !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            e
        } else if Instant::now() >= self.deadline {
            past_deadline()
        } else {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no data within {} s", self.step.as_secs_f32()),
            )
        }
    }
}

fn past_deadline() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "conversation deadline passed (a slow or stalling server)",
    )
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let wait = self.wait()?;
        if self.budget == 0 {
            return Err(io::Error::other("byte limit reached (an endless server)"));
        }
        self.tcp.set_read_timeout(Some(wait))?;
        let max = buf.len().min(self.budget);
        let n = self
            .tcp
            .read(&mut buf[..max])
            .map_err(|e| self.timed_out(e))?;
        self.budget -= n;
        Ok(n)
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let wait = self.wait()?;
        self.tcp.set_write_timeout(Some(wait))?;
        self.tcp.write(buf).map_err(|e| self.timed_out(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Connects, upgrades to TLS and returns the session.
pub(crate) fn connect(dial: &Dial<'_>) -> Result<Session, ConnectError> {
    let deadline = Instant::now() + dial.timeout * DEADLINE_STEPS;
    let tcp = TcpStream::connect_timeout(&dial.addr, dial.timeout)
        .map_err(|e| ConnectError::Connect(e.to_string()))?;
    let mut conversation = Bounded::new(tcp, dial.timeout, deadline, PRE_TLS_BYTES);
    conversation = upgrade(conversation, dial)?;
    conversation.budget = TLS_BYTES;
    handshake(conversation, dial)
}

fn dialogue(e: io::Error) -> ConnectError {
    ConnectError::Dialogue(format!("lost connection before TLS: {e}"))
}

/// The plaintext part: returns the socket once the server said go ahead
/// and nothing followed.
fn upgrade(tcp: Bounded, dial: &Dial<'_>) -> Result<Bounded, ConnectError> {
    if dial.protocol == Starttls::None {
        return Ok(tcp);
    }
    let mut writer = Bounded::new(
        tcp.tcp.try_clone().map_err(dialogue)?,
        tcp.step,
        tcp.deadline,
        0,
    );
    let mut reader = BufReader::new(tcp);
    let mut send = |line: &str| writer.write_all(line.as_bytes()).map_err(dialogue);
    match dial.protocol {
        Starttls::Smtp => {
            let (code, _) = smtp_reply(&mut reader)?;
            if code != 220 {
                return Err(ConnectError::Dialogue(format!(
                    "greeting {code}: not ready"
                )));
            }
            send(&format!("EHLO {}\r\n", dial.helo))?;
            let (code, lines) = smtp_reply(&mut reader)?;
            if code != 250 {
                return Err(ConnectError::Dialogue(format!("EHLO rejected ({code})")));
            }
            if !lines.iter().any(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("STARTTLS"))
            }) {
                return Err(ConnectError::NoStarttls);
            }
            send("STARTTLS\r\n")?;
            let (code, lines) = smtp_reply(&mut reader)?;
            if code != 220 {
                return Err(ConnectError::Dialogue(format!(
                    "STARTTLS rejected: {code} {}",
                    lines.join(" ")
                )));
            }
        }
        Starttls::Imap => {
            let greeting = line(&mut reader)?;
            if !greeting.starts_with("* OK") && !greeting.starts_with("* PREAUTH") {
                return Err(ConnectError::Dialogue(format!("greeting: {greeting}")));
            }
            send("a1 CAPABILITY\r\n")?;
            let mut caps = String::new();
            loop {
                let l = line(&mut reader)?;
                if l.starts_with("a1 ") {
                    break;
                }
                caps.push_str(&l);
            }
            if !caps
                .to_ascii_uppercase()
                .split_whitespace()
                .any(|w| w == "STARTTLS")
            {
                return Err(ConnectError::NoStarttls);
            }
            send("a2 STARTTLS\r\n")?;
            let reply = loop {
                let l = line(&mut reader)?;
                if l.starts_with("a2 ") {
                    break l;
                }
            };
            if !reply.to_ascii_uppercase().starts_with("A2 OK") {
                return Err(ConnectError::Dialogue(format!(
                    "STARTTLS rejected: {reply}"
                )));
            }
        }
        Starttls::Pop3 => {
            let greeting = line(&mut reader)?;
            if !greeting.starts_with("+OK") {
                return Err(ConnectError::Dialogue(format!("greeting: {greeting}")));
            }
            send("CAPA\r\n")?;
            let first = line(&mut reader)?;
            let mut stls = false;
            if first.starts_with("+OK") {
                loop {
                    let l = line(&mut reader)?;
                    if l == "." {
                        break;
                    }
                    stls |= l.eq_ignore_ascii_case("STLS");
                }
            }
            if !stls {
                return Err(ConnectError::NoStarttls);
            }
            send("STLS\r\n")?;
            let reply = line(&mut reader)?;
            if !reply.starts_with("+OK") {
                return Err(ConnectError::Dialogue(format!("STLS rejected: {reply}")));
            }
        }
        Starttls::Xmpp => {
            send(&format!(
                "<?xml version='1.0'?><stream:stream to='{}' version='1.0' \
                 xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
                dial.xmpp_domain
            ))?;
            let features = xml_until(&mut reader, "</stream:features>")?;
            if !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
                return Err(ConnectError::NoStarttls);
            }
            send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
            let reply = xml_until(&mut reader, ">")?;
            if !reply.contains("<proceed") {
                return Err(ConnectError::Dialogue(format!(
                    "STARTTLS rejected: {reply}"
                )));
            }
        }
        Starttls::None => {}
    }
    if !reader.buffer().is_empty() {
        return Err(ConnectError::Injection(reader.buffer().len()));
    }
    Ok(reader.into_inner())
}

/// One line without CRLF; a line over [`MAX_LINE`] bytes is an error.
fn line(reader: &mut BufReader<Bounded>) -> Result<String, ConnectError> {
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut buf)
        .map_err(dialogue)?;
    if n == 0 {
        return Err(ConnectError::Dialogue(
            "connection closed before TLS".into(),
        ));
    }
    if buf.last() != Some(&b'\n') {
        return Err(ConnectError::Dialogue(format!(
            "a line longer than {MAX_LINE} bytes before TLS"
        )));
    }
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}

/// An SMTP reply: its code and the text of each line.
fn smtp_reply(reader: &mut BufReader<Bounded>) -> Result<(u16, Vec<String>), ConnectError> {
    let mut lines = Vec::new();
    for _ in 0..100 {
        let l = line(reader)?;
        let code = l
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| ConnectError::Dialogue(format!("malformed SMTP reply: {l}")))?;
        let more = l.as_bytes().get(3) == Some(&b'-');
        lines.push(l.get(4..).unwrap_or("").to_string());
        if !more {
            return Ok((code, lines));
        }
    }
    Err(ConnectError::Dialogue("SMTP reply too long".into()))
}

/// Reads XML up to and including `end`, which ends with `>` (bounded by
/// the conversation's byte budget).
fn xml_until(reader: &mut BufReader<Bounded>, end: &str) -> Result<String, ConnectError> {
    let mut text = Vec::new();
    loop {
        let n = reader.read_until(b'>', &mut text).map_err(dialogue)?;
        if n == 0 {
            return Err(ConnectError::Dialogue("stream closed before TLS".into()));
        }
        // Each read stops at a `>`, so `end` can only appear at the end.
        if text.ends_with(end.as_bytes()) {
            return Ok(String::from_utf8_lossy(&text).into_owned());
        }
    }
}

/// The TLS handshake, collecting the chain. The handshake signatures are
/// checked (the server holds the leaf's key); the chain is judged by the
/// caller.
fn handshake(mut tcp: Bounded, dial: &Dial<'_>) -> Result<Session, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let collector = Arc::new(ChainCollector::new(&provider));
    let slot = collector.chain();
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(collector)
        .with_no_client_auth();
    // A resumed session would skip the certificate.
    config.resumption = Resumption::disabled();
    let name = match dial.sni {
        Some(sni) => ServerName::try_from(sni.trim_end_matches('.').to_string())
            .map_err(|e| ConnectError::Tls(format!("server name {sni}: {e}")))?,
        None => ServerName::IpAddress(dial.addr.ip().into()),
    };
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| ConnectError::Tls(e.to_string()))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return Err(classify(e));
        }
    }
    let chain = slot
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .or_else(|| conn.peer_certificates().map(<[_]>::to_vec))
        .unwrap_or_default();
    let suite = conn.negotiated_cipher_suite().map(|s| s.suite());
    let (cipher, bits) = suite.map_or(("unknown".into(), 0), |s| openssl_cipher(&format!("{s:?}")));
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
        Some(v) => format!("{v:?}"),
        None => "unknown".into(),
    };
    let kx = conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()));
    let session = Session {
        chain,
        version,
        cipher,
        bits,
        kx,
    };
    // Over TLS, SMTP starts afresh: EHLO again, then QUIT (best effort).
    if dial.protocol == Starttls::Smtp {
        let mut stream = StreamOwned::new(conn, tcp);
        let _ = stream.write_all(format!("EHLO {}\r\n", dial.helo).as_bytes());
        let mut reader = BufReader::new(&mut stream);
        let mut l = Vec::new();
        // Bounded by the conversation's deadline and byte budget.
        while (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut l)
            .is_ok_and(|n| n > 0)
            && l.get(3) == Some(&b'-')
        {
            l.clear();
        }
        let _ = stream.write_all(b"QUIT\r\n");
        stream.conn.send_close_notify();
        let _ = stream.flush();
    }
    Ok(session)
}

/// Sorts a handshake failure: what rustls cannot speak is not a DANE
/// failure.
fn classify(e: io::Error) -> ConnectError {
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return ConnectError::Tls(e.to_string());
    };
    match tls {
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure
            | AlertDescription::ProtocolVersion
            | AlertDescription::InsufficientSecurity,
        ) => ConnectError::Incompatible(tls.to_string()),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateHandshakeMessage { .. } => {
            ConnectError::Incompatible(format!("{tls} (an old TLS or SSL version?)"))
        }
        _ => ConnectError::Tls(tls.to_string()),
    }
}

/// rustls' suite name → OpenSSL's name (what Postfix logs) and key bits.
fn openssl_cipher(rustls_name: &str) -> (String, u16) {
    let bits = if rustls_name.contains("AES_128") {
        128
    } else {
        256
    };
    let name = match rustls_name {
        "TLS13_AES_128_GCM_SHA256" => "TLS_AES_128_GCM_SHA256",
        "TLS13_AES_256_GCM_SHA384" => "TLS_AES_256_GCM_SHA384",
        "TLS13_CHACHA20_POLY1305_SHA256" => "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-RSA-CHACHA20-POLY1305",
        other => other,
    };
    (name.to_string(), bits)
}

#[cfg(test)]
mod tests;
