//! The real network: [`NetTransport`] sends over UDP and TCP sockets.
//!
//! UDP: a fresh socket per exchange, bound to a random source port (RFC 5452
//! §9.2) and *connected* to the server, so that the kernel drops datagrams
//! from any other address or port (RFC 5452 §4.1). Datagrams whose ID differs
//! from the request's are dropped and the wait goes on until the deadline.
//!
//! TCP: a fresh connection per exchange, two-byte length prefix (RFC 1035
//! §4.2.2, RFC 7766 §8). Replies with another ID are skipped.
//!
//! Nothing here parses beyond the ID: the caller checks QR and the question.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

use super::{ExchangeFuture, FORGERIES, Protocol, Transport};

/// How many random ports to try before letting the kernel pick one.
const RANDOM_PORT_ATTEMPTS: usize = 8;

/// The largest UDP reply we read. Anything longer is cut by the kernel and
/// then fails to parse, which the caller treats as garbage.
const MAX_UDP_REPLY: usize = 65_535;

/// Sends queries over real UDP and TCP sockets.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetTransport;

impl Transport for NetTransport {
    fn exchange<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        timeout: Duration,
    ) -> ExchangeFuture<'a> {
        Box::pin(exchange(server, request, protocol, timeout, false))
    }

    fn exchange_echo<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        timeout: Duration,
    ) -> ExchangeFuture<'a> {
        Box::pin(exchange(server, request, protocol, timeout, true))
    }
}

/// One exchange; `echo`: the reply's question must repeat the request's
/// byte for byte (0x20), see [`Transport::exchange_echo`].
async fn exchange(
    server: SocketAddr,
    request: &[u8],
    protocol: Protocol,
    timeout: Duration,
    echo: bool,
) -> io::Result<Vec<u8>> {
    super::check_request(request)?;
    let deadline = Instant::now() + timeout;
    let id = [request[0], request[1]];
    let timed_out = || {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no reply from {server} within {timeout:?}"),
        )
    };
    match protocol {
        Protocol::Udp => udp_exchange(server, request, id, deadline, echo)
            .await
            .map_err(|e| e.unwrap_or_else(timed_out)),
        Protocol::Tcp => timeout_at(deadline, tcp_exchange(server, request, id))
            .await
            .unwrap_or_else(|_| Err(timed_out())),
    }
}

/// Binds a UDP socket on a random port of the unspecified address of the
/// server's family; falls back to a kernel-chosen port if the random ones are
/// taken.
async fn bind_random_port(server: SocketAddr) -> io::Result<UdpSocket> {
    let ip: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    for _ in 0..RANDOM_PORT_ATTEMPTS {
        let port = rand::rng().random_range(1024..=u16::MAX);
        if let Ok(socket) = UdpSocket::bind(SocketAddr::new(ip, port)).await {
            return Ok(socket);
        }
    }
    UdpSocket::bind(SocketAddr::new(ip, 0)).await
}

/// The UDP exchange until `deadline`; `Err(None)` is a timeout.
async fn udp_exchange(
    server: SocketAddr,
    request: &[u8],
    id: [u8; 2],
    deadline: Instant,
    echo: bool,
) -> Result<Vec<u8>, Option<io::Error>> {
    let setup = async {
        let socket = bind_random_port(server).await?;
        // RFC 5452 §4.1: accept only replies from the address and port the
        // query went to; a connected socket makes the kernel enforce it.
        socket.connect(server).await?;
        socket.send(request).await?;
        Ok::<_, io::Error>(socket)
    };
    let socket = timeout_at(deadline, setup).await.map_err(|_| None)??;
    // Received into the spare capacity (`recv_buf`): no 64 KB of zeros
    // written per query for the few hundred bytes a reply has.
    let mut buf = Vec::with_capacity(MAX_UDP_REPLY);
    // A reply that echoed our 0x20 question in another case.
    let mut held: Option<Vec<u8>> = None;
    loop {
        buf.clear();
        let n = match timeout_at(deadline, socket.recv_buf(&mut buf)).await {
            Ok(Ok(n)) => n,
            // An ICMP port unreachable surfaces as ConnectionRefused.
            Ok(Err(e)) => return Err(Some(e)),
            Err(_) => return held.ok_or(None),
        };
        let reply = &buf[..n];
        // RFC 5452 §4.1: a reply with another ID or question is not ours
        // (or is a spoof); keep waiting for the real one instead of ending
        // the attempt on it.
        if n >= 12 && reply[..2] == id {
            match question_match(request, reply) {
                Echo::Exact => return Ok(reply.to_vec()),
                Echo::CaseOnly if !echo => return Ok(reply.to_vec()),
                Echo::CaseOnly => {
                    // 0x20: a forgery that did not know the case, or a
                    // server that does not preserve it; the genuine echo
                    // may still come.
                    FORGERIES.wrong_case();
                    tracing::debug!(%server, "held a reply that did not echo the 0x20 case");
                    held = Some(reply.to_vec());
                    continue;
                }
                Echo::Other => {}
            }
        }
        FORGERIES.foreign();
        tracing::debug!(%server, len = n, "dropped UDP datagram with a foreign ID or question");
    }
}

async fn tcp_exchange(server: SocketAddr, request: &[u8], id: [u8; 2]) -> io::Result<Vec<u8>> {
    let len = u16::try_from(request.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "request over 65535 bytes"))?;
    let mut stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let mut frame = Vec::with_capacity(request.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(request);
    stream.write_all(&frame).await?;
    loop {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let len = usize::from(u16::from_be_bytes(len));
        let mut reply = vec![0u8; len];
        stream.read_exact(&mut reply).await?;
        if len >= 12 && reply[..2] == id {
            return Ok(reply);
        }
        tracing::debug!(%server, len, "dropped TCP message with a foreign ID");
    }
}

/// How a reply's question compares with the request's.
#[derive(Debug, PartialEq, Eq)]
enum Echo {
    /// QR=1, one question, the same bytes (or a request we cannot judge:
    /// the caller checks).
    Exact,
    /// The same question, but the name in another case.
    CaseOnly,
    /// Not a reply to this question.
    Other,
}

/// Does `reply` carry the question of `request` (QR=1, one question, the
/// same name, type and class)? The request's question is uncompressed; a
/// reply's first name cannot point backwards, so the bytes compare
/// directly.
fn question_match(request: &[u8], reply: &[u8]) -> Echo {
    const HEADER: usize = 12;
    let Some(end) = question_end(request) else {
        // Not our usual single-question query: let the caller judge.
        return Echo::Exact;
    };
    if reply.len() < end || reply[2] & 0x80 == 0 || reply[4..6] != [0, 1] {
        return Echo::Other;
    }
    let (theirs, ours) = (&reply[HEADER..end], &request[HEADER..end]);
    if theirs == ours {
        Echo::Exact
    } else if theirs.eq_ignore_ascii_case(ours) {
        Echo::CaseOnly
    } else {
        Echo::Other
    }
}

/// The end of the single question of a query (`None` if it has not one
/// plain uncompressed question).
pub(crate) fn question_end(message: &[u8]) -> Option<usize> {
    if message.len() < 12 || message[4..6] != [0, 1] {
        return None;
    }
    let mut at = 12;
    loop {
        let len = usize::from(*message.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len & 0xC0 != 0 {
            return None;
        }
        at += 1 + len;
    }
    let end = at + 4;
    (end <= message.len()).then_some(end)
}

#[cfg(test)]
mod question_tests {
    use super::{Echo, question_match};

    fn query(name: &[u8], qtype: u8) -> Vec<u8> {
        let mut m = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(name);
        m.extend_from_slice(&[0, qtype, 0, 1]);
        m
    }

    #[test]
    fn rfc5452_section_4_1_only_the_asked_question_is_accepted() {
        let q = query(b"\x03www\x07example\x00", 1);
        let mut reply = q.clone();
        reply[2] = 0x81;
        assert_eq!(question_match(&q, &reply), Echo::Exact);
        let mut upper = reply.clone();
        upper[13] = b'W';
        assert_eq!(
            question_match(&q, &upper),
            Echo::CaseOnly,
            "a 0x20 case difference is told apart"
        );
        let mut other_type = reply.clone();
        let last = other_type.len() - 3;
        other_type[last] = 28;
        assert_eq!(question_match(&q, &other_type), Echo::Other);
        let mut other_name = reply.clone();
        other_name[14] = b'x';
        assert_eq!(question_match(&q, &other_name), Echo::Other);
        let mut not_a_response = reply.clone();
        not_a_response[2] = 0x01;
        assert_eq!(question_match(&q, &not_a_response), Echo::Other);
        assert_eq!(question_match(&q, &reply[..15]), Echo::Other);
    }
}
