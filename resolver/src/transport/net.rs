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

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use rand::Rng;
use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::{ExchangeFuture, FORGERIES, Protocol, Transport, register};

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

/// Opens a non-blocking UDP socket on a random port of the unspecified
/// address of the server's family (falling back to a kernel-chosen port if
/// the random ones are taken) and connects it to `server`.
///
/// Plain system calls, not tokio's `bind().await`/`connect().await`: none
/// of them waits, and the socket is registered with the runtime only after
/// the query went out ([`udp_exchange`]).
fn open_udp(server: SocketAddr) -> io::Result<UdpSocket> {
    let ip: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = Socket::new(
        Domain::for_address(server),
        Type::DGRAM.nonblocking().cloexec(),
        Some(socket2::Protocol::UDP),
    )?;
    let random = (0..RANDOM_PORT_ATTEMPTS)
        .map(|_| rand::rng().random_range(1024..=u16::MAX))
        .any(|port| socket.bind(&SocketAddr::new(ip, port).into()).is_ok());
    if !random {
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    // RFC 5452 §4.1: accept only replies from the address and port the
    // query went to; a connected socket makes the kernel enforce it.
    socket.connect(&server.into())?;
    Ok(socket.into())
}

thread_local! {
    /// Each thread's receive buffer: no 64 KB allocated (or zeroed) per
    /// query for the few hundred bytes a reply has; a reply is copied out
    /// of it at its own length.
    static RECEIVE: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_UDP_REPLY]);
}

/// The UDP exchange until `deadline`; `Err(None)` is a timeout.
///
/// The query is sent at once with a plain `send` (a fresh socket has room
/// for it), and the socket is then registered for readability alone: no
/// round through epoll for a writability nobody waits for, and a single
/// timer for the whole exchange (strace of the cold case list: one
/// `epoll_wait` and one or two timer wake-ups fewer per query).
async fn udp_exchange(
    server: SocketAddr,
    request: &[u8],
    id: [u8; 2],
    deadline: Instant,
    echo: bool,
) -> Result<Vec<u8>, Option<io::Error>> {
    let socket = open_udp(server).map_err(Some)?;
    let socket = match socket.send(request) {
        Ok(_) => register(socket, Interest::READABLE).map_err(Some)?,
        // No room (never for a fresh socket in practice): wait for it.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let socket = register(socket, Interest::READABLE | Interest::WRITABLE).map_err(Some)?;
            timeout_at(
                deadline,
                socket.async_io(Interest::WRITABLE, |s| s.send(request)),
            )
            .await
            .map_err(|_| None)??;
            socket
        }
        Err(e) => return Err(Some(e)),
    };
    let timer = tokio::time::sleep_until(deadline);
    tokio::pin!(timer);
    // A reply that echoed our 0x20 question in another case.
    let mut held: Option<Vec<u8>> = None;
    loop {
        let received = tokio::select! {
            biased;
            // ERROR too: an ICMP port unreachable is reported as EPOLLERR
            // alone, which is not readability.
            r = socket.async_io(Interest::READABLE | Interest::ERROR, |s| {
                RECEIVE.with_borrow_mut(|buf| s.recv(&mut buf[..]).map(|n| reply_to(request, &buf[..n], id)))
            }) => r,
            () = &mut timer => return held.ok_or(None),
        };
        match received {
            // An ICMP port unreachable surfaces as ConnectionRefused.
            Err(e) => return Err(Some(e)),
            Ok(Received::Reply(reply)) => return Ok(reply),
            Ok(Received::CaseOnly(reply)) if !echo => return Ok(reply),
            Ok(Received::CaseOnly(reply)) => {
                // 0x20: a forgery that did not know the case, or a server
                // that does not preserve it; the genuine echo may still
                // come.
                FORGERIES.wrong_case();
                tracing::debug!(%server, "held a reply that did not echo the 0x20 case");
                held = Some(reply);
            }
            Ok(Received::Foreign(len)) => {
                FORGERIES.foreign();
                tracing::debug!(%server, len, "dropped UDP datagram with a foreign ID or question");
            }
        }
    }
}

/// What one datagram was to the query it came back for.
enum Received {
    /// Our reply.
    Reply(Vec<u8>),
    /// Our question, but the name in another case.
    CaseOnly(Vec<u8>),
    /// Not ours (its length).
    Foreign(usize),
}

/// Judges one datagram `reply` read for `request` (ID `id`), copying it out
/// of the receive buffer if it is ours.
fn reply_to(request: &[u8], reply: &[u8], id: [u8; 2]) -> Received {
    // RFC 5452 §4.1: a reply with another ID or question is not ours (or
    // is a spoof); the wait goes on for the real one instead of ending the
    // attempt on it.
    if reply.len() >= 12 && reply[..2] == id {
        match question_match(request, reply) {
            Echo::Exact => return Received::Reply(reply.to_vec()),
            Echo::CaseOnly => return Received::CaseOnly(reply.to_vec()),
            Echo::Other => {}
        }
    }
    Received::Foreign(reply.len())
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

#[cfg(test)]
mod udp_tests {
    use std::time::Duration;

    use super::*;

    fn query(id: u16, name: &[u8]) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(name);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    async fn udp(server: SocketAddr, request: &[u8], ms: u64, echo: bool) -> io::Result<Vec<u8>> {
        exchange(
            server,
            request,
            Protocol::Udp,
            Duration::from_millis(ms),
            echo,
        )
        .await
    }

    fn as_reply(request: &[u8]) -> Vec<u8> {
        let mut r = request.to_vec();
        r[2] |= 0x80;
        r
    }

    /// RFC 5452 §4.1 and 0x20: a datagram with another ID is dropped, one
    /// that only differs in case is held while the genuine echo may still
    /// come, and the genuine reply ends the wait, all on one socket.
    #[tokio::test(flavor = "current_thread")]
    async fn only_the_reply_to_the_query_ends_the_exchange() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let request = query(0x1234, b"\x03WwW\x07example\x00");
        let serve = {
            let request = request.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                let (n, client) = server.recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..n], &request[..]);
                server
                    .send_to(&as_reply(&query(0x4321, b"\x03WwW\x07example\x00")), client)
                    .unwrap();
                server
                    .send_to(&as_reply(&query(0x1234, b"\x03www\x07example\x00")), client)
                    .unwrap();
                let mut genuine = as_reply(&request);
                genuine.push(0xAA); // told apart from the held one
                server.send_to(&genuine, client).unwrap();
            })
        };
        let reply = udp(addr, &request, 5000, true).await.unwrap();
        serve.join().unwrap();
        assert_eq!(
            reply.last(),
            Some(&0xAA),
            "the genuine echo, not the held case-only one"
        );
    }

    /// Without the genuine echo, the held case-only reply is the answer at
    /// the deadline; with nothing at all, the deadline is a `TimedOut`.
    #[tokio::test(flavor = "current_thread")]
    async fn the_deadline_ends_a_wait_for_a_reply_that_never_comes() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let request = query(0x0101, b"\x01a\x00");
        let e = udp(addr, &request, 200, false).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);

        let serve = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            // The first query (timed out above), then the second.
            for _ in 0..2 {
                let (_, client) = server.recv_from(&mut buf).unwrap();
                server
                    .send_to(&as_reply(&query(0x0101, b"\x01A\x00")), client)
                    .unwrap();
            }
        });
        let held = udp(addr, &request, 200, true).await.unwrap();
        serve.join().unwrap();
        assert_eq!(&held[12..15], b"\x01A\x00");
    }

    /// A closed port answers with ICMP port unreachable, which ends the
    /// exchange at once as `ConnectionRefused` instead of at the deadline.
    #[tokio::test(flavor = "current_thread")]
    async fn a_closed_port_is_refused_at_once() {
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let e = udp(addr, &query(7, b"\x00"), 5000, false)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }
}
