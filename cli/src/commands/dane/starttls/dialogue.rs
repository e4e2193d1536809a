//! The plaintext part of STARTTLS for SMTP, IMAP, POP3 and XMPP, over any
//! reader and writer: [`speak`] returns once the server said go ahead.
//!
//! Pure protocol, `std` only: the socket, its deadlines and byte budget are
//! the caller's (`starttls::Bounded`). The fuzz target `starttls` and its
//! stable replay include this file by path (`tests/src/fuzzing.rs`).

use std::fmt;
use std::io::{self, BufRead, Read, Write};

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

/// The longest line accepted before TLS (RFC 5321 §4.5.3.1.5 allows 512
/// octets per SMTP reply line; IMAP capability lines run longer).
pub(crate) const MAX_LINE: usize = 4096;
pub(crate) fn lost(e: io::Error) -> ConnectError {
    ConnectError::Dialogue(format!("lost connection before TLS: {e}"))
}

/// Speaks `protocol` up to the server's go-ahead for TLS: `helo` is the
/// EHLO name (SMTP), `xmpp_domain` the stream's `to` (XMPP).
pub(crate) fn speak(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
    protocol: Starttls,
    helo: &str,
    xmpp_domain: &str,
) -> Result<(), ConnectError> {
    let mut send = |line: &str| writer.write_all(line.as_bytes()).map_err(lost);
    match protocol {
        Starttls::Smtp => {
            let (code, _) = smtp_reply(reader)?;
            if code != 220 {
                return Err(ConnectError::Dialogue(format!(
                    "greeting {code}: not ready"
                )));
            }
            send(&format!("EHLO {}\r\n", helo))?;
            let (code, lines) = smtp_reply(reader)?;
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
            let (code, lines) = smtp_reply(reader)?;
            if code != 220 {
                return Err(ConnectError::Dialogue(format!(
                    "STARTTLS rejected: {code} {}",
                    lines.join(" ")
                )));
            }
        }
        Starttls::Imap => {
            let greeting = line(reader)?;
            if !greeting.starts_with("* OK") && !greeting.starts_with("* PREAUTH") {
                return Err(ConnectError::Dialogue(format!("greeting: {greeting}")));
            }
            send("a1 CAPABILITY\r\n")?;
            let mut caps = String::new();
            loop {
                let l = line(reader)?;
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
                let l = line(reader)?;
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
            let greeting = line(reader)?;
            if !greeting.starts_with("+OK") {
                return Err(ConnectError::Dialogue(format!("greeting: {greeting}")));
            }
            send("CAPA\r\n")?;
            let first = line(reader)?;
            let mut stls = false;
            if first.starts_with("+OK") {
                loop {
                    let l = line(reader)?;
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
            let reply = line(reader)?;
            if !reply.starts_with("+OK") {
                return Err(ConnectError::Dialogue(format!("STLS rejected: {reply}")));
            }
        }
        Starttls::Xmpp => {
            send(&format!(
                "<?xml version='1.0'?><stream:stream to='{}' version='1.0' \
                 xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
                xmpp_domain
            ))?;
            let features = xml_until(reader, "</stream:features>")?;
            if !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
                return Err(ConnectError::NoStarttls);
            }
            send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
            let reply = xml_until(reader, ">")?;
            if !reply.contains("<proceed") {
                return Err(ConnectError::Dialogue(format!(
                    "STARTTLS rejected: {reply}"
                )));
            }
        }
        Starttls::None => {}
    }
    Ok(())
}

/// One line without CRLF; a line over [`MAX_LINE`] bytes is an error.
fn line(reader: &mut impl BufRead) -> Result<String, ConnectError> {
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut buf)
        .map_err(lost)?;
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
fn smtp_reply(reader: &mut impl BufRead) -> Result<(u16, Vec<String>), ConnectError> {
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
fn xml_until(reader: &mut impl BufRead, end: &str) -> Result<String, ConnectError> {
    let mut text = Vec::new();
    loop {
        let n = reader.read_until(b'>', &mut text).map_err(lost)?;
        if n == 0 {
            return Err(ConnectError::Dialogue("stream closed before TLS".into()));
        }
        // Each read stops at a `>`, so `end` can only appear at the end.
        if text.ends_with(end.as_bytes()) {
            return Ok(String::from_utf8_lossy(&text).into_owned());
        }
    }
}
