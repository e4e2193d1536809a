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
