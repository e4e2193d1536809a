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

use super::{ExchangeFuture, Protocol, Transport};

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
        Box::pin(async move {
            super::check_request(request)?;
            let deadline = Instant::now() + timeout;
            let id = [request[0], request[1]];
            let result = match protocol {
                Protocol::Udp => timeout_at(deadline, udp_exchange(server, request, id)).await,
                Protocol::Tcp => timeout_at(deadline, tcp_exchange(server, request, id)).await,
            };
            result.unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no reply from {server} within {timeout:?}"),
                ))
            })
        })
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

async fn udp_exchange(server: SocketAddr, request: &[u8], id: [u8; 2]) -> io::Result<Vec<u8>> {
    let socket = bind_random_port(server).await?;
    // RFC 5452 §4.1: accept only replies from the address and port the
    // query went to; a connected socket makes the kernel enforce it.
    socket.connect(server).await?;
    socket.send(request).await?;
    let mut buf = vec![0u8; MAX_UDP_REPLY];
    loop {
        let n = match socket.recv(&mut buf).await {
            Ok(n) => n,
            // An ICMP port unreachable surfaces as ConnectionRefused.
            Err(e) => return Err(e),
        };
        // RFC 5452 §4.1: a reply with another ID or question is not ours
        // (or is a spoof); keep waiting for the real one instead of ending
        // the attempt on it.
        if n >= 12 && buf[..2] == id && same_question(request, &buf[..n]) {
            buf.truncate(n);
            return Ok(buf);
        }
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

/// Does `reply` carry the question of `request` (QR=1, one question, the
/// same name, case-insensitively, type and class)? The request's question is
/// uncompressed; a reply's first name cannot point backwards, so the bytes
/// compare directly.
fn same_question(request: &[u8], reply: &[u8]) -> bool {
    const HEADER: usize = 12;
    let Some(end) = question_end(request) else {
        // Not our usual single-question query: let the caller judge.
        return true;
    };
    reply.len() >= end
        && reply[2] & 0x80 != 0
        && reply[4..6] == [0, 1]
        && reply[HEADER..end].eq_ignore_ascii_case(&request[HEADER..end])
}

/// The end of the single question of a query (`None` if it has not one
/// plain uncompressed question).
fn question_end(message: &[u8]) -> Option<usize> {
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
    use super::same_question;

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
        assert!(same_question(&q, &reply));
        let mut upper = reply.clone();
        upper[13] = b'W';
        assert!(same_question(&q, &upper), "0x20 case differences are fine");
        let mut other_type = reply.clone();
        let last = other_type.len() - 3;
        other_type[last] = 28;
        assert!(!same_question(&q, &other_type));
        let mut other_name = reply.clone();
        other_name[14] = b'x';
        assert!(!same_question(&q, &other_name));
        let mut not_a_response = reply.clone();
        not_a_response[2] = 0x01;
        assert!(!same_question(&q, &not_a_response));
        assert!(!same_question(&q, &reply[..15]));
    }
}
