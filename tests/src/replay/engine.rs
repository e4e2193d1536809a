//! danebound's engine as the resolver under test.
//!
//! The whole `serve` pipeline runs — access control, answer cache, answer
//! rules, the validating engine and the iterator (or the forwarder) with
//! the query layer's RFC 5452 checks —
//! with two seams replaced: the [`Transport`](ResolverTransport) sends each
//! upstream query into the scenario's fake network, and the clock is the
//! scenario clock.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use danebound_resolver::clock::{Clock, FixedClock};
use danebound_resolver::config::Config;
use danebound_resolver::engine::{Resolver, Upstream as EngineUpstream};
use danebound_resolver::forward::Upstreams;
use danebound_resolver::iterator::{IterConfig, Iterator, RootHints, ZoneServers as IterZone};
use danebound_resolver::server::Responder;
use danebound_resolver::transport::{ExchangeFuture, Protocol, Transport as ResolverTransport};
use danebound_resolver::validator::{Anchors, RingCrypto};
use danebound_resolver::wire::{Message, Name};

use super::compare::Transport;
use super::network::ScenarioNetwork;
use super::parse::{Mode, ScenarioConfig, ValidationTime, ZoneServers};
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

/// How the engine reaches the scenario's servers.
enum Upstream {
    /// Forwarding mode, to these servers.
    Forward(Vec<SocketAddr>),
    /// Recursive mode, from this root server (or the built-in hints).
    Iterate(Option<ZoneServers>),
}

/// The value of a config key, as written (Deckard's flat keys).
fn option<'a>(config: &'a ScenarioConfig, key: &str) -> Option<&'a str> {
    config
        .options
        .iter()
        .rev()
        .find(|o| o.key == key)
        .map(|o| o.value.trim_matches('"'))
}

fn is_off(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "no" | "off" | "false" | "0"
        )
    })
}

/// The iterator's configuration for a scenario: the root stub as the hints
/// (named `stub-name`, default k.root-servers.net), other stub and forward
/// zones as configured, minimisation and address families as the file says.
fn iter_config(config: &ScenarioConfig, root: Option<ZoneServers>) -> Result<IterConfig, String> {
    let mut cfg = IterConfig::default();
    if let Some(root) = root {
        if root.addrs.is_empty() {
            return Err("unsupported: a root stub given by host name".into());
        }
        let host = option(config, "stub-name").unwrap_or("k.root-servers.net");
        let host = Name::from_ascii(host)
            .map(|n| {
                let mut n = n;
                n.set_fqdn(true);
                n
            })
            .map_err(|e| format!("stub-name: {e}"))?;
        cfg.hints = RootHints::new(vec![(
            host,
            root.addrs.iter().map(SocketAddr::ip).collect(),
        )]);
    }
    let zones = |list: &[ZoneServers]| {
        list.iter()
            .filter(|z| !z.name.is_root() && !z.addrs.is_empty())
            .map(|z| IterZone {
                zone: z.name.clone(),
                servers: z.addrs.clone(),
            })
            .collect::<Vec<_>>()
    };
    cfg.stub_zones = zones(&config.stub_zones);
    cfg.forward_zones = zones(&config.forward_zones);
    cfg.qname_minimisation = config.qname_minimisation.unwrap_or(true);
    cfg.query_localhost = is_off(option(config, "do-not-query-localhost"));
    cfg.ipv4 = !is_off(option(config, "do-ip4"));
    cfg.ipv6 = !is_off(option(config, "do-ip6"));
    Ok(cfg)
}

/// The engine, in forwarding or recursive mode, under the replay harness.
pub struct EngineUnderTest {
    runtime: tokio::runtime::Runtime,
    responder: Responder,
    clock: Arc<FixedClock>,
    net: SharedNet,
}

impl EngineUnderTest {
    /// Build the engine a scenario asks for: recursive from the scenario's
    /// root server, or forwarding.
    pub fn new(config: &ScenarioConfig) -> Result<Self, String> {
        let upstream: Upstream = match config.mode() {
            Mode::Forward { zone } => Upstream::Forward(if zone.addrs.is_empty() {
                // Stelline ignores addresses (rpl-format.md §5.3).
                vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53)]
            } else {
                zone.addrs
            }),
            Mode::Iterate { root } => Upstream::Iterate(Some(root)),
            Mode::StubOnly => Upstream::Iterate(None),
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
        let upstream: Arc<dyn EngineUpstream> = match upstream {
            Upstream::Forward(servers) => {
                Arc::new(Upstreams::new(servers, transport).with_rounds(1))
            }
            Upstream::Iterate(root) => Arc::new(Iterator::new(
                iter_config(config, root)?,
                transport,
                clock.clone() as Arc<dyn Clock>,
            )),
        };
        let resolver = Resolver::new(
            upstream,
            anchors,
            Arc::new(RingCrypto::default()),
            clock.clone() as Arc<dyn Clock>,
        )
        .with_validation_time(validation_time)
        .with_domain_insecure(config.domain_insecure.clone());
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
        let before = net.sent_queries().len();
        let reply = self
            .runtime
            .block_on(self.responder.respond(&wire, client, true))
            .ok_or("the query was dropped")?;
        if std::env::var_os("RPL_TRACE").is_some() {
            // The conversation with the fake network, for debugging.
            for q in &net.sent_queries()[before..] {
                let question = Message::from_vec(&q.wire)
                    .ok()
                    .and_then(|m| m.queries.first().map(ToString::to_string))
                    .unwrap_or_default();
                eprintln!(
                    "  step {} -> {} {question}: {}",
                    q.step,
                    q.server,
                    q.answered_by.as_deref().unwrap_or("no reply")
                );
            }
            if let Ok(m) = Message::from_vec(&reply) {
                eprintln!(
                    "  answer {}: {:?}",
                    m.metadata.response_code,
                    danebound_resolver::answer::ede_of(&m)
                );
            }
        }
        // TCP replies carry no length prefix here: `respond` returns the
        // message itself.
        Message::from_vec(&reply).map_err(|e| format!("decode answer: {e}"))
    }

    fn time_passes(&mut self, _net: &ScenarioNetwork, time: ScenarioTime) {
        self.clock.set(time.now);
    }
}
