//! The upstream client of forwarding (validating stub) mode: [`Upstreams`].
//!
//! Every query carries RD=1 and CD=1 ([`QueryFlags::FORWARD`]), so that an
//! upstream hands over even data it considers bogus and we judge it
//! ourselves; building the query and checking the reply (RFC 5452 §4.1, TC
//! → TCP, EDNS fallback) is the query layer's, [`crate::upstream`].
//! Timeouts and error rcodes move on to the next upstream.
//!
//! # What this module does not do
//! It does not validate: [`ForwardOnly`] is the stand-in resolver used until
//! `engine::Resolver` (which asks through [`Upstreams`]) replaces it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::resolve::{Resolution, Resolve};
use crate::transport::Transport;
use crate::upstream::{CaseRandomisation, Exchange, QueryFlags, ask};
use crate::validator::outcome::Outcome;
use crate::wire::{DNSClass, Message, Name, Query, RecordType, ResponseCode};

mod resolv_conf;

pub use resolv_conf::nameservers_from_resolv_conf;

pub use crate::edns::EDNS_BUFFER;
pub use crate::upstream::{UpstreamError, UpstreamReply};

/// Default time to wait for one upstream on one attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

/// Default number of passes over the upstream list.
pub const DEFAULT_ROUNDS: usize = 2;

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
    /// 0x20 and the upstreams that do not preserve case.
    caps: Arc<CaseRandomisation>,
}

impl fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstreams")
            .field("servers", &self.servers)
            .field("timeout", &self.timeout)
            .field("rounds", &self.rounds)
            .field("caps_for_id", &self.caps.enabled())
            .finish_non_exhaustive()
    }
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
            caps: Arc::new(CaseRandomisation::default()),
        }
    }

    /// 0x20 on (the default) or off (`use_caps_for_id`).
    pub fn with_caps_for_id(mut self, on: bool) -> Self {
        self.caps = Arc::new(CaseRandomisation::new(on));
        self
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
                let exchange = ask(
                    self.transport.as_ref(),
                    server,
                    &question,
                    QueryFlags::FORWARD,
                    self.timeout,
                    &self.caps,
                )
                .await?;
                match exchange {
                    Exchange::Reply(reply)
                        if matches!(
                            reply.message.metadata.response_code,
                            ResponseCode::NoError | ResponseCode::NXDomain
                        ) =>
                    {
                        self.preferred.store(i, Ordering::Relaxed);
                        tracing::debug!(
                            %server, %name, %rtype, tcp = reply.tcp,
                            rcode = %reply.message.metadata.response_code,
                            "upstream answered"
                        );
                        return Ok(reply);
                    }
                    Exchange::Reply(reply) => {
                        // SERVFAIL, REFUSED, NOTIMP, FORMERR: remembered in
                        // case nothing better comes.
                        let rcode = reply.message.metadata.response_code;
                        last = format!("{server}: {rcode}");
                        tracing::debug!(%server, %name, %rtype, round, "upstream said {rcode}");
                        fallback.get_or_insert(reply);
                    }
                    Exchange::Failed { why, .. } => {
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
