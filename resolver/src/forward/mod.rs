//! The upstream client of forwarding (validating stub) mode: [`Upstreams`].
//!
//! Every query carries RD=1, DO=1 and CD=1, so that an upstream hands over
//! even data it considers bogus and we judge it ourselves, with an EDNS0
//! buffer of 1232 bytes and a random 16-bit ID. A reply is accepted only if
//! its ID, its source (enforced by the transport) and its question match and
//! QR=1 (RFC 5452 §4.1, §9.1); anything else is dropped, never cached.
//! Timeouts move on to the next upstream; TC=1 retries the same upstream over
//! TCP (RFC 7766 §5).
//!
//! # What this module does not do
//! It does not validate: [`ForwardOnly`] is the stand-in resolver used until
//! `engine::Resolver` (which asks through [`Upstreams`]) replaces it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Edns, MessageType};

use crate::resolve::{Resolution, Resolve};
use crate::transport::{Protocol, Transport};
use crate::validator::outcome::Outcome;
use crate::wire::{DNSClass, Message, Name, OpCode, Query, RecordType, ResponseCode};

mod resolv_conf;

pub use resolv_conf::nameservers_from_resolv_conf;

pub use crate::edns::EDNS_BUFFER;

/// Default time to wait for one upstream on one attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

/// Default number of passes over the upstream list.
pub const DEFAULT_ROUNDS: usize = 2;

/// A reply accepted from an upstream, with the upstream that sent it.
#[derive(Clone, Debug)]
pub struct UpstreamReply {
    /// The reply.
    pub message: Message,
    /// The upstream that answered (for logs and for naming an upstream that
    /// strips RRSIGs).
    pub server: SocketAddr,
    /// Whether the reply came over TCP (after TC=1).
    pub tcp: bool,
}

/// Why no usable reply came back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No upstream is configured.
    NoUpstreams,
    /// The query could not be encoded (e.g. a name too long).
    Encode(String),
    /// Every attempt timed out, failed or brought only garbage.
    Unreachable {
        /// The upstreams tried.
        tried: Vec<SocketAddr>,
        /// The last failure seen.
        last: String,
    },
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoUpstreams => write!(f, "no upstream nameserver configured"),
            Self::Encode(e) => write!(f, "cannot encode the query: {e}"),
            Self::Unreachable { tried, last } => {
                write!(f, "no usable reply from {tried:?} (last: {last})")
            }
        }
    }
}

impl std::error::Error for UpstreamError {}

/// The upstream nameservers and how to ask them.
#[derive(Clone)]
pub struct Upstreams {
    servers: Vec<SocketAddr>,
    transport: Arc<dyn Transport>,
    timeout: Duration,
    rounds: usize,
    /// The index of the upstream that answered last: asked first next time,
    /// so that a dead first upstream does not cost a timeout per query.
    preferred: Arc<AtomicUsize>,
}

impl fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstreams")
            .field("servers", &self.servers)
            .field("timeout", &self.timeout)
            .field("rounds", &self.rounds)
            .finish_non_exhaustive()
    }
}

/// What one attempt brought.
enum Attempt {
    /// A usable reply.
    Accepted(Message),
    /// A reply from the right place that asks us to go elsewhere (SERVFAIL,
    /// REFUSED, NOTIMP, FORMERR): remembered in case nothing better comes.
    Refused(Message),
    /// TC=1: retry over TCP.
    Truncated,
    /// Timeout, socket error or garbage.
    Failed(String),
}

impl Upstreams {
    /// Upstreams `servers`, asked through `transport`, with the default
    /// timeout and number of rounds.
    pub fn new(servers: Vec<SocketAddr>, transport: Arc<dyn Transport>) -> Self {
        Self {
            servers,
            transport,
            timeout: DEFAULT_TIMEOUT,
            rounds: DEFAULT_ROUNDS,
            preferred: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many times the whole list is tried (at least once).
    pub fn with_rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds.max(1);
        self
    }

    /// The configured upstreams.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// Asks the upstreams `name rtype class` and returns the first acceptable
    /// reply.
    pub async fn query(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> Result<Message, UpstreamError> {
        self.query_with_source(name, rtype, class)
            .await
            .map(|reply| reply.message)
    }

    /// Like [`Upstreams::query`], also naming the upstream that answered.
    pub async fn query_with_source(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> Result<UpstreamReply, UpstreamError> {
        if self.servers.is_empty() {
            return Err(UpstreamError::NoUpstreams);
        }
        let question = Query::query(name.clone(), rtype)
            .set_query_class(class)
            .clone();
        let mut last = String::from("nothing tried");
        let mut fallback: Option<UpstreamReply> = None;
        let n = self.servers.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        for round in 0..self.rounds {
            for i in (0..n).map(|k| (first + k) % n) {
                let server = self.servers[i];
                let mut tcp = false;
                let mut attempt = self.attempt(server, &question, Protocol::Udp).await?;
                if matches!(attempt, Attempt::Truncated) {
                    // RFC 7766 §5: a truncated UDP reply is retried over TCP.
                    tracing::debug!(%server, %name, %rtype, "TC=1, retrying over TCP");
                    tcp = true;
                    attempt = self.attempt(server, &question, Protocol::Tcp).await?;
                }
                match attempt {
                    Attempt::Accepted(message) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        tracing::debug!(
                            %server, %name, %rtype, tcp,
                            rcode = %message.metadata.response_code,
                            "upstream answered"
                        );
                        return Ok(UpstreamReply {
                            message,
                            server,
                            tcp,
                        });
                    }
                    Attempt::Refused(message) => {
                        last = format!("{server}: {}", message.metadata.response_code);
                        tracing::debug!(%server, %name, %rtype, round, "upstream said {}", message.metadata.response_code);
                        fallback.get_or_insert(UpstreamReply {
                            message,
                            server,
                            tcp,
                        });
                    }
                    Attempt::Truncated => last = format!("{server}: truncated over TCP"),
                    Attempt::Failed(why) => {
                        tracing::debug!(%server, %name, %rtype, round, "upstream attempt failed: {why}");
                        last = format!("{server}: {why}");
                    }
                }
            }
        }
        if let Some(reply) = fallback {
            return Ok(reply);
        }
        tracing::warn!(%name, %rtype, "no upstream answered: {last}");
        Err(UpstreamError::Unreachable {
            tried: self.servers.clone(),
            last,
        })
    }

    /// One exchange with one server. Errors only when the query cannot be
    /// encoded at all.
    async fn attempt(
        &self,
        server: SocketAddr,
        question: &Query,
        protocol: Protocol,
    ) -> Result<Attempt, UpstreamError> {
        let id: u16 = rand::random();
        let request =
            build_query(id, question).map_err(|e| UpstreamError::Encode(e.to_string()))?;
        let bytes = match self
            .transport
            .exchange(server, &request, protocol, self.timeout)
            .await
        {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Attempt::Failed(e.to_string())),
        };
        Ok(check_reply(id, question, &bytes))
    }
}

/// The query we send: RD=1, CD=1, EDNS0 with DO=1 and a 1232-byte buffer.
pub fn build_query(id: u16, question: &Query) -> Result<Vec<u8>, crate::wire::ProtoError> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    // CD=1: the upstream must not withhold data it thinks is bogus; we
    // validate ourselves (RFC 4035 §3.2.2, RFC 6840 §5.9).
    message.metadata.checking_disabled = true;
    message.add_query(question.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_BUFFER);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    message.to_vec()
}

/// Judges a reply to the query `id` / `question`.
fn check_reply(id: u16, question: &Query, bytes: &[u8]) -> Attempt {
    let message = match crate::wire::decode_message(bytes) {
        Ok(m) => m,
        Err(e) => return Attempt::Failed(format!("malformed reply dropped: {e}")),
    };
    // RFC 5452 §9.1: the ID and the question must match the query.
    if message.metadata.id != id {
        return Attempt::Failed("reply with a foreign ID dropped".into());
    }
    if message.metadata.message_type != MessageType::Response {
        return Attempt::Failed("reply with QR=0 dropped".into());
    }
    if message.metadata.op_code != OpCode::Query {
        return Attempt::Failed("reply with another opcode dropped".into());
    }
    // A truncated reply may carry no question (RFC 7766 §5 lets the client
    // retry regardless); judge the question only when it is there.
    if message.metadata.truncation && message.queries.is_empty() {
        return Attempt::Truncated;
    }
    let same_question = message.queries.len() == 1 && {
        let q = &message.queries[0];
        // Name equality is case-insensitive (RFC 4343).
        q.name() == question.name()
            && q.query_type() == question.query_type()
            && q.query_class() == question.query_class()
    };
    if !same_question {
        return Attempt::Failed("reply for another question dropped".into());
    }
    if message.metadata.truncation {
        return Attempt::Truncated;
    }
    match message.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => Attempt::Accepted(message),
        _ => Attempt::Refused(message),
    }
}

/// The default upstreams: the nameservers of /etc/resolv.conf on port 53,
/// except ourselves (any of `own` addresses, and the unspecified address).
pub fn default_upstreams(own: &[SocketAddr]) -> Vec<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    nameservers_from_resolv_conf(&text)
        .into_iter()
        .map(|ip| SocketAddr::new(ip, 53))
        .filter(|addr| !is_ourselves(*addr, own))
        .collect()
}

/// True when `addr` is one of our own listen addresses. A wildcard listen
/// address (0.0.0.0, ::) covers every local address; of those only loopback
/// ones can be recognised here, which covers the usual `nameserver 127.0.0.1`.
fn is_ourselves(addr: SocketAddr, own: &[SocketAddr]) -> bool {
    own.iter().any(|o| {
        o.port() == addr.port()
            && (o.ip() == addr.ip()
                || (o.ip().is_unspecified()
                    && o.is_ipv4() == addr.is_ipv4()
                    && addr.ip().is_loopback()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ourselves_are_not_an_upstream() {
        let own: Vec<SocketAddr> =
            vec!["127.0.0.1:53".parse().unwrap(), "[::]:53".parse().unwrap()];
        let me = |s: &str| is_ourselves(s.parse().unwrap(), &own);
        assert!(me("127.0.0.1:53"));
        assert!(me("[::1]:53"));
        assert!(!me("127.0.0.53:53"), "systemd-resolved's stub is not us");
        assert!(!me("10.255.255.53:53"));
        assert!(
            !me("[2001:db8::1]:53"),
            "a wildcard does not cover remote addresses"
        );
        assert!(!me("127.0.0.1:5353"));
    }
}

// -- The stand-in resolver ---------------------------------------------------

/// Forwards WITHOUT validation and reports [`Outcome::Indeterminate`], so
/// that no answer ever gets AD. The server's stand-in until the engine exists.
// replaced by engine::Resolver
#[derive(Debug)]
pub struct ForwardOnly {
    upstreams: Upstreams,
}

impl ForwardOnly {
    /// A stand-in resolver asking `upstreams`.
    pub fn new(upstreams: Upstreams) -> Self {
        Self { upstreams }
    }
}

impl Resolve for ForwardOnly {
    fn resolve<'a>(
        &'a self,
        query: &'a Query,
        _cd: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Resolution> + Send + 'a>> {
        Box::pin(async move {
            match self
                .upstreams
                .query(query.name(), query.query_type(), query.query_class())
                .await
            {
                Ok(message) => match message.metadata.response_code {
                    ResponseCode::NoError | ResponseCode::NXDomain => {
                        Resolution::from_message(message, Outcome::Indeterminate)
                    }
                    // An upstream's REFUSED or SERVFAIL is our SERVFAIL.
                    _ => Resolution::servfail(Outcome::Indeterminate),
                },
                Err(e) => {
                    tracing::info!(name = %query.name(), qtype = %query.query_type(), "resolution failed: {e}");
                    Resolution::servfail(Outcome::Indeterminate)
                }
            }
        })
    }
}
