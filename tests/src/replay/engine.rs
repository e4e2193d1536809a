//! danebound's engine as the resolver under test.
//!
//! The whole `serve` pipeline runs — access control, answer cache, answer
//! rules, the validating engine and the forwarder with its RFC 5452 checks —
//! with two seams replaced: the [`Transport`](ResolverTransport) sends each
//! upstream query into the scenario's fake network, and the clock is the
//! scenario clock.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use danebound_resolver::clock::{Clock, FixedClock};
use danebound_resolver::config::Config;
use danebound_resolver::engine::Resolver;
use danebound_resolver::forward::Upstreams;
use danebound_resolver::server::Responder;
use danebound_resolver::server::request::{Parsed, Request};
use danebound_resolver::transport::{ExchangeFuture, Protocol, Transport as ResolverTransport};
use danebound_resolver::validator::{Anchors, RingCrypto};
use danebound_resolver::wire::Message;

use super::compare::Transport;
use super::network::ScenarioNetwork;
use super::parse::{Mode, ScenarioConfig, ValidationTime};
use super::run::{ResolverUnderTest, ScenarioTime};

/// The scenario network, shared with the transport while a query runs.
type SharedNet = Arc<Mutex<Option<ScenarioNetwork>>>;

/// Sends upstream queries into the scenario's fake network.
struct NetTransport {
    net: SharedNet,
}

impl ResolverTransport for NetTransport {
    fn exchange<'a>(
        &'a self,
        server: SocketAddr,
        request: &'a [u8],
        protocol: Protocol,
        _timeout: Duration,
    ) -> ExchangeFuture<'a> {
        let net = self.net.lock().ok().and_then(|n| n.clone());
        Box::pin(async move {
            let net = net.ok_or_else(|| io::Error::other("no scenario network"))?;
            let transport = match protocol {
                Protocol::Udp => Transport::Udp,
                Protocol::Tcp => Transport::Tcp,
            };
            net.answer_wire(server, transport, request)
                .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "no scenario reply"))
        })
    }
}

/// The engine, in forwarding mode, under the replay harness.
pub struct EngineUnderTest {
    runtime: tokio::runtime::Runtime,
    responder: Responder,
    clock: Arc<FixedClock>,
    net: SharedNet,
    /// The EDE of the last answer's validation outcome (`validation_ede`).
    last_ede: Option<u16>,
}

impl EngineUnderTest {
    /// Build the engine a scenario asks for. Iterative scenarios are
    /// unsupported until full recursion exists.
    pub fn new(config: &ScenarioConfig) -> Result<Self, String> {
        let upstreams: Vec<SocketAddr> = match config.mode() {
            Mode::Forward { zone } => {
                if zone.addrs.is_empty() {
                    // Stelline ignores addresses (rpl-format.md §5.3).
                    vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53)]
                } else {
                    zone.addrs
                }
            }
            Mode::Iterate { .. } => {
                return Err("unsupported: iterative resolution (full recursion)".into());
            }
            Mode::StubOnly => return Err("unsupported: stub zones without root".into()),
        };
        let mut anchors = Anchors::new();
        for raw in &config.trust_anchors {
            // An anchor hickory cannot decode cannot be used; the scenario
            // then sees the zone as without anchor.
            if let Ok(record) = raw.to_record() {
                anchors.add(&record);
            }
        }
        let validation_time = match config.validation_time {
            ValidationTime::At(t) => Some(t),
            ValidationTime::Clock => None,
            ValidationTime::IgnoreDates => {
                return Err("unsupported: val-override-date -1 (ignore signature dates)".into());
            }
        };
        let net: SharedNet = Arc::new(Mutex::new(None));
        let clock = Arc::new(FixedClock::new(0));
        let transport = Arc::new(NetTransport { net: net.clone() });
        let forwarder = Upstreams::new(upstreams, transport).with_rounds(1);
        let resolver = Resolver::new(
            Arc::new(forwarder),
            anchors,
            Arc::new(RingCrypto::default()),
            clock.clone() as Arc<dyn Clock>,
        )
        .with_validation_time(validation_time);
        let server_config = Config {
            // Scenario names such as `test.` are real zones here.
            default_local_zones: false,
            ..Config::default()
        };
        let responder = Responder::new(&server_config, Arc::new(resolver), clock.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        Ok(Self {
            runtime,
            responder,
            clock,
            net,
            last_ede: None,
        })
    }
}

impl ResolverUnderTest for EngineUnderTest {
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Message, String> {
        self.clock.set(time.now);
        if let Ok(mut slot) = self.net.lock() {
            *slot = Some(net.clone());
        }
        let wire = query.to_vec().map_err(|e| format!("encode query: {e}"))?;
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        // As over TCP: the harness compares whole answers, not truncation.
        let reply = self
            .runtime
            .block_on(self.responder.respond(&wire, client, true))
            .ok_or("the query was dropped")?;
        // The outcome as cached (bogus answers are held), whether or not the
        // client's query let the answer carry the EDE.
        self.last_ede = match Request::parse(&wire) {
            Parsed::Query(request) => self
                .responder
                .cache()
                .lookup(&request)
                .and_then(|entry| entry.outcome().ede())
                .map(|ede| ede.code),
            _ => None,
        };
        // TCP replies carry no length prefix here: `respond` returns the
        // message itself.
        Message::from_vec(&reply).map_err(|e| format!("decode answer: {e}"))
    }

    fn validation_ede(&self) -> Option<u16> {
        self.last_ede
    }

    fn time_passes(&mut self, _net: &ScenarioNetwork, time: ScenarioTime) {
        self.clock.set(time.now);
    }
}
