//! How a query leaves the resolver: the [`Transport`] seam.
//!
//! The engine never opens sockets itself. Production uses
//! [`net::NetTransport`], under [`tls::TlsTransport`] when some upstreams
//! are reached over DNS over TLS (RFC 7858); the replay harness and tests plug in a fake
//! network. A transport hands back the raw reply bytes; the caller checks
//! that the ID and question match (RFC 5452 §4.1) and drops anything else.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

pub mod net;
pub mod tls;

/// A boxed future returned by [`Transport::exchange`].
pub type ExchangeFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<u8>>> + Send + 'a>>;

/// Which protocol an exchange uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// UDP, one datagram each way.
    Udp,
    /// TCP with the two-byte length prefix (RFC 1035 §4.2.2, RFC 7766).
    Tcp,
}

/// Sends one DNS message to one server and returns the reply.
pub trait Transport: Send + Sync + 'static {
    /// Send `request` (a complete DNS message) to `server` and return the
    /// first reply that came from `server` and carries the request's ID, or
    /// an error on timeout. For UDP the implementation uses a fresh random
    /// source port per exchange (RFC 5452 §9.2).
    fn exchange<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        timeout: Duration,
    ) -> ExchangeFuture<'a>;

    /// Like [`Transport::exchange`], for a query whose question carries
    /// 0x20 mixed case: the reply must echo the question byte for byte.
    /// One that matches only case-insensitively is held back (and counted
    /// in [`Forgeries`]) while the wait goes on for an exact echo; if none
    /// comes by the deadline, the last such reply is returned for the
    /// caller to judge (a server that does not preserve case). Transports
    /// that do not filter (fakes) just hand back what `exchange` does.
    fn exchange_echo<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        timeout: Duration,
    ) -> ExchangeFuture<'a> {
        self.exchange(server, request, protocol, timeout)
    }
}

/// Replies from upstreams that were not accepted as the answer to a query:
/// process-wide counters, read by [`crate::stats`].
#[derive(Debug)]
pub struct Forgeries {
    foreign: AtomicU64,
    wrong_case: AtomicU64,
    caps_fallbacks: AtomicU64,
}

/// The process's [`Forgeries`].
pub static FORGERIES: Forgeries = Forgeries {
    foreign: AtomicU64::new(0),
    wrong_case: AtomicU64::new(0),
    caps_fallbacks: AtomicU64::new(0),
};

/// [`Forgeries`] read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForgeriesSnapshot {
    /// Datagrams dropped for another ID or question (RFC 5452 §9.1).
    pub foreign: u64,
    /// Replies with the right ID and question but not the 0x20 case of the
    /// query: dropped (a forgery, or a server that does not preserve case).
    pub wrong_case: u64,
    /// Queries asked again without 0x20 because a server did not echo it.
    pub caps_fallbacks: u64,
}

impl Forgeries {
    /// One datagram with a foreign ID or question.
    pub fn foreign(&self) {
        self.foreign.fetch_add(1, Relaxed);
    }

    /// One reply whose question differed from the query's in case only.
    pub fn wrong_case(&self) {
        self.wrong_case.fetch_add(1, Relaxed);
    }

    /// One fallback to a query without 0x20.
    pub fn caps_fallback(&self) {
        self.caps_fallbacks.fetch_add(1, Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ForgeriesSnapshot {
        ForgeriesSnapshot {
            foreign: self.foreign.load(Relaxed),
            wrong_case: self.wrong_case.load(Relaxed),
            caps_fallbacks: self.caps_fallbacks.load(Relaxed),
        }
    }
}

/// Refuses a request too short to carry a DNS header (the ID is read from
/// it).
fn check_request(request: &[u8]) -> io::Result<()> {
    if request.len() < 12 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a DNS request is at least 12 bytes",
        ));
    }
    Ok(())
}

/// Registers `socket` with the current runtime for `interest` alone (a UDP
/// socket registered for writability too is reported each time the kernel
/// frees a datagram it sent: epoll wake-ups for nothing).
///
/// tokio 1.54 deprecated the safe `AsyncFd` constructors for objects whose
/// descriptor could change or close while registered (tokio#8587) and
/// offers only an `unsafe` one instead, which the workspace forbids. A
/// `std::net::UdpSocket` owns its descriptor, which stays open and the same
/// for as long as the `AsyncFd` owns the socket: the condition the unsafe
/// constructor asks the caller to uphold holds here.
#[allow(deprecated)]
pub(crate) fn register(
    socket: std::net::UdpSocket,
    interest: tokio::io::Interest,
) -> io::Result<tokio::io::unix::AsyncFd<std::net::UdpSocket>> {
    tokio::io::unix::AsyncFd::with_interest(socket, interest)
}
