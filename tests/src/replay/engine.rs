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

use danebound_resolver::autotrust::{AutotrustConfig, TrustPoints};
use danebound_resolver::clock::{Clock, FixedClock};
use danebound_resolver::config::{Config, ZoneConfig};
use danebound_resolver::engine::{self, Resolver, Upstream as EngineUpstream};
use danebound_resolver::forward::Upstreams;
use danebound_resolver::iterator::{IterConfig, Iterator, RootHints};
use danebound_resolver::request::{Parsed, Request};
use danebound_resolver::server::Responder;
use danebound_resolver::transport::{ExchangeFuture, Protocol, Transport as ResolverTransport};
use danebound_resolver::validator::{Anchors, Crypto, RingCrypto};
use danebound_resolver::wire::{Message, Name};
use danebound_trust_anchors::autotrust_file;

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

/// The iterator's configuration for a scenario, built as `serve` builds it
/// (`engine::iter_config` from the server's `Config` and the trust
/// anchors' zones): the root stub as the hints (named `stub-name`, default
/// k.root-servers.net), other stub and forward zones as configured; then
/// what `serve` has no setting for (minimisation and address families) as
/// the file says.
fn iter_config(
    config: &ScenarioConfig,
    server_config: &Config,
    root: Option<ZoneServers>,
    signed_zones: &[Name],
) -> Result<IterConfig, String> {
    let hints = match root {
        Some(root) => {
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
            RootHints::new(vec![(
                host,
                root.addrs.iter().map(SocketAddr::ip).collect(),
            )])
        }
        None => RootHints::iana(),
    };
    let mut cfg = engine::iter_config(server_config, hints, signed_zones);
    cfg.qname_minimisation = config.qname_minimisation.unwrap_or(true);
    cfg.ipv4 = !is_off(option(config, "do-ip4"));
    cfg.ipv6 = !is_off(option(config, "do-ip6"));
    Ok(cfg)
}

/// `serve`'s configuration for a scenario: its stub and forward zones
/// (not the root's, which is the hints), do-not-query-localhost, 0x20 and
/// Deckard's cache TTL bounds; no local zones (scenario names such as
/// `test.` are real zones here).
fn server_config(config: &ScenarioConfig) -> Result<Config, String> {
    let zones = |list: &[ZoneServers]| {
        list.iter()
            .filter(|z| !z.name.is_root() && !z.addrs.is_empty())
            .map(|z| ZoneConfig {
                name: z.name.clone(),
                addresses: z.addrs.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut server_config = Config {
        default_local_zones: false,
        stub_zones: zones(&config.stub_zones),
        forward_zones: zones(&config.forward_zones),
        do_not_query_localhost: !is_off(option(config, "do-not-query-localhost")),
        // 0x20 as unbound's testbound runs: off unless the file asks.
        use_caps_for_id: option(config, "use-caps-for-id") == Some("yes"),
        ..Config::default()
    };
    if let Some(min) = feature_ttl(config, "min_ttl")? {
        server_config.cache.min_ttl = min;
    }
    if let Some(max) = feature_ttl(config, "max_ttl")? {
        server_config.cache.max_ttl = max;
    }
    Ok(server_config)
}

/// Deckard's `features: min_ttl = N` / `max_ttl = N` (Knot's cache TTL
/// bounds), which are danebound's `[cache] min_ttl` / `max_ttl`.
fn feature_ttl(config: &ScenarioConfig, name: &str) -> Result<Option<u32>, String> {
    for o in config.options.iter().filter(|o| o.key == "features") {
        // A `;` starts a comment (`features: min_ttl = 5 ; default in kresd`).
        let value = o.value.split(';').next().unwrap_or_default();
        let Some((key, value)) = value.trim().trim_matches('"').split_once('=') else {
            continue;
        };
        if key.trim() == name {
            return value
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| format!("features: {name}: {e}"));
        }
    }
    Ok(None)
}

/// The engine, in forwarding or recursive mode, under the replay harness.
pub struct EngineUnderTest {
    runtime: tokio::runtime::Runtime,
    responder: Responder,
    resolver: Arc<Resolver>,
    clock: Arc<FixedClock>,
    net: SharedNet,
    /// AUTOTRUST_FILE ids and their state files (RFC 5011 trust points).
    autotrust: Vec<(String, std::path::PathBuf)>,
    _state: Option<StateDir>,
    /// The EDE of the last answer's validation outcome (`validation_ede`).
    last_ede: Option<u16>,
}

/// A scratch directory for the RFC 5011 state files of one scenario.
struct StateDir(std::path::PathBuf);

impl StateDir {
    fn new() -> Result<Self, String> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "danebound-replay-autotrust-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The macros of an AUTOTRUST_FILE body, read at time 0.
struct StartEnv;

impl super::macros::MacroEnv for StartEnv {
    fn time(&self) -> f64 {
        0.0
    }
    fn timeout(&self) -> Option<f64> {
        None
    }
}

/// The scenario's AUTOTRUST_FILE bodies as state files in `dir`, managed
/// by the engine as unbound's auto-trust-anchor-file (RFC 5011).
fn autotrust_files(
    config: &ScenarioConfig,
    dir: &std::path::Path,
) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let mut out = Vec::new();
    for (i, (id, body)) in config.autotrust_files.iter().enumerate() {
        let mut text = String::new();
        for line in body {
            let line = super::macros::expand(line, &Default::default(), &StartEnv)
                .map_err(|e| format!("AUTOTRUST_FILE {id}: {e}"))?;
            text.push_str(&line);
            text.push('\n');
        }
        let path = dir.join(format!("{i}.key"));
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((id.clone(), path));
    }
    Ok(out)
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
        let server_config = server_config(config)?;
        // `fake-sha1: yes` (rpl-format.md §8.2) asks for SHA-1 signatures by
        // 512-bit RSA keys: the production backend verifies them for real
        // (RFC 5702 §2), so the option needs nothing of its own.
        let crypto: Arc<dyn Crypto> = Arc::new(RingCrypto::default());
        // RFC 5011 trust points (AUTOTRUST_FILE), loaded first as
        // `engine::build_resolver` does: their zones are signed zones too.
        let mut state = None;
        let mut autotrust = Vec::new();
        let mut points = None;
        if !config.autotrust_files.is_empty() {
            let dir = StateDir::new()?;
            autotrust = autotrust_files(config, &dir.0)?;
            let paths: Vec<_> = autotrust.iter().map(|(_, p)| p.clone()).collect();
            let at_config = AutotrustConfig {
                signaling: !is_off(option(config, "trust-anchor-signaling")),
                ..AutotrustConfig::default()
            };
            points = Some(TrustPoints::load(
                &paths,
                anchors.clone(),
                at_config,
                crypto.as_ref(),
            )?);
            state = Some(dir);
        }
        let signed: Vec<Name> = match &points {
            Some(points) => points.anchors().zones().cloned().collect(),
            None => anchors.zones().cloned().collect(),
        };
        let upstream: Arc<dyn EngineUpstream> = match upstream {
            Upstream::Forward(servers) => Arc::new(
                Upstreams::new(servers, transport)
                    .with_rounds(1)
                    .with_caps_for_id(server_config.use_caps_for_id),
            ),
            Upstream::Iterate(root) => Arc::new(
                Iterator::new(
                    iter_config(config, &server_config, root, &signed)?,
                    transport,
                    clock.clone() as Arc<dyn Clock>,
                )
                .with_caps_for_id(server_config.use_caps_for_id),
            ),
        };
        let mut resolver = Resolver::new(
            upstream,
            anchors,
            crypto.clone(),
            clock.clone() as Arc<dyn Clock>,
        )
        .with_validation_time(validation_time)
        .with_domain_insecure(config.domain_insecure.clone());
        if let Some(points) = points {
            resolver = resolver.with_trust_points(points);
        }
        let resolver = Arc::new(resolver);
        let responder = Responder::new(&server_config, resolver.clone(), clock.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        Ok(Self {
            runtime,
            responder,
            resolver,
            clock,
            net,
            autotrust,
            _state: state,
            last_ede: None,
        })
    }

    /// Run the RFC 5011 probes that are due at `time` (the engine's driver
    /// does this on its own timer in `serve`).
    fn probe(&mut self, net: &ScenarioNetwork, time: ScenarioTime) {
        if self.autotrust.is_empty() {
            return;
        }
        self.clock.set(time.now);
        if let Ok(mut slot) = self.net.lock() {
            *slot = Some(net.clone());
        }
        self.runtime.block_on(self.resolver.probe_trust_points());
    }
}

impl EngineUnderTest {
    /// `wire` through the server's request pipeline (the same parser and
    /// responder as `serve`), over TCP (`tcp`) or UDP; `None` when the
    /// request is dropped.
    fn exchange(
        &mut self,
        wire: &[u8],
        tcp: bool,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Option<Vec<u8>> {
        self.probe(net, time);
        self.clock.set(time.now);
        if let Ok(mut slot) = self.net.lock() {
            *slot = Some(net.clone());
        }
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let before = net.sent_queries().len();
        let reply = self
            .runtime
            .block_on(self.responder.respond(wire, client, tcp));
        // The outcome as cached (bogus answers are held), whether or not the
        // client's query let the answer carry the EDE.
        self.last_ede = match Request::parse(wire) {
            Parsed::Query(request) => self
                .responder
                .cache()
                .lookup(&request)
                .and_then(|entry| entry.outcome().ede())
                .map(|ede| ede.code),
            _ => None,
        };
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
            match reply.as_deref().map(Message::from_vec) {
                Some(Ok(m)) => eprintln!(
                    "  answer {}: {:?}",
                    m.metadata.response_code,
                    danebound_resolver::answer::ede_of(&m)
                ),
                Some(Err(e)) => eprintln!("  answer undecodable: {e}"),
                None => eprintln!("  dropped"),
            }
        }
        reply
    }
}

impl ResolverUnderTest for EngineUnderTest {
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Message, String> {
        let wire = query.to_vec().map_err(|e| format!("encode query: {e}"))?;
        // As over TCP: the harness compares whole answers, not truncation.
        // TCP replies carry no length prefix here: `respond` returns the
        // message itself.
        let reply = self
            .exchange(&wire, true, net, time)
            .ok_or("the query was dropped")?;
        Message::from_vec(&reply).map_err(|e| format!("decode answer: {e}"))
    }

    fn resolve_raw(
        &mut self,
        wire: &[u8],
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Option<Message>, String> {
        // Deckard sends RAW queries over UDP.
        match self.exchange(wire, false, net, time) {
            None => Ok(None),
            Some(reply) => Message::from_vec(&reply)
                .map(Some)
                .map_err(|e| format!("decode answer to the raw query: {e}")),
        }
    }

    fn validation_ede(&self) -> Option<u16> {
        self.last_ede
    }

    fn time_passes(&mut self, net: &ScenarioNetwork, time: ScenarioTime) {
        self.clock.set(time.now);
        self.probe(net, time);
    }

    fn autotrust_state(&self, id: &str) -> Option<Vec<super::run::AutotrustKey>> {
        let (_, path) = self.autotrust.iter().find(|(i, _)| i == id)?;
        let files = self.resolver.trust_point_files();
        let (_, text) = files.iter().find(|(p, _)| p == path)?;
        let tp = autotrust_file::parse(text, id, &Default::default()).ok()?;
        Some(
            tp.keys()
                .iter()
                .filter(|k| {
                    // As written: unbound's file holds no Start or Removed key.
                    !matches!(
                        k.state,
                        danebound_trust_anchors::rfc5011::KeyState::Start
                            | danebound_trust_anchors::rfc5011::KeyState::Removed
                    )
                })
                .map(|k| super::run::AutotrustKey {
                    dnskey_rdata: k.key.rdata(),
                    state: k.state.number(),
                })
                // Configured non-SEP keys before the first validated probe:
                // lines of the (still plain) file, Valid as unbound reads them.
                .chain(tp.initial_keys().iter().map(|k| super::run::AutotrustKey {
                    dnskey_rdata: k.rdata(),
                    state: 2,
                }))
                .collect(),
        )
    }

    fn next_probe_in(&self) -> Option<f64> {
        if self.autotrust.is_empty() {
            return None;
        }
        // testbound's `${timeout}` (replay.c `macro_expand`) is the time to
        // the first pending timer, and 0 when there is none (e.g. every
        // trust point revoked and removed, so nothing is probed).
        Some(self.resolver.next_trust_point_wake().map_or(0.0, |next| {
            next.saturating_sub(self.clock.unix_now()) as f64
        }))
    }
}
