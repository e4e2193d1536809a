//! `danebound serve`'s configuration: a TOML file and flags that override it.
//!
//! ```toml
//! listen = ["127.0.0.1:53", "[::1]:53"]
//! # Recursive from the root by default; `forward` forwards everything.
//! forward = ["192.0.2.1", "192.0.2.2:5353"]
//! # DNS over TLS (RFC 7858), unbound's syntax: ADDR@PORT#NAME to verify,
//! # or with SPKI pins (RFC 7858 §4.2): ADDR@853#NAME^sha256/BASE64
//! # forward = ["192.0.2.1@853#dns.example"]
//! root_hints = "/usr/share/dns/root.hints"    # default: built-in IANA list
//! domain_insecure = ["corp.example."]         # negative trust anchors
//! do_not_query_localhost = true
//! trust_anchors = ["/etc/danebound/root.ds"]  # static anchors (DS or DNSKEY)
//! auto_trust_anchors = ["/var/lib/danebound/root.key"] # RFC 5011-managed
//! root_anchor_file = "/var/lib/danebound/root.key" # managed when neither is set
//! default_local_zones = true
//! log_level = "info"
//! workers = 2                                  # default: number of cores
//! user = "danebound"                           # drop root to this user after binding
//! max_inflight = 4096                          # cache misses resolving at once
//! max_inflight_per_client = 1024               # ... for one client address
//! max_inflight_bytes = 67108864                # decoded messages they hold
//! aggressive_nsec = true                       # RFC 8198: NXDOMAIN/NODATA from validated NSEC/NSEC3
//! prefetch = true                              # refresh hits in the last 10 % of their TTL
//! serve_stale = false                          # RFC 8767: expired answers when upstreams fail
//! serve_stale_max = "1d"                       # ... at most this long after expiry
//! serve_stale_reply_ttl = 30                   # ... with this TTL (EDE 3, or 19 for NXDOMAIN)
//!
//! [cache]
//! max_entries = 100000
//! max_bytes = 67108864
//! min_ttl = 0
//! max_ttl = 86400
//! max_negative_ttl = 3600
//! bogus_ttl = 60
//!
//! [validation]
//! min_rsa_bits = 512             # smallest RSA modulus validated (512-4096);
//!                                # zones signed with smaller keys are insecure
//!
//! [access]
//! allow = ["127.0.0.0/8", "::1/128"]
//!
//! [ratelimit]                                  # UDP responses; off by default
//! responses_per_second = 0                     # per /24 or /56; 0 = off
//! slip = 2                                     # 1 in 2 over the limit sent TC=1
//! exempt = ["127.0.0.0/8", "::1/128"]
//!
//! [tcp]
//! idle_timeout_secs = 10
//! write_timeout_secs = 5
//! max_connections = 256
//! max_connections_per_client = 32
//! max_outstanding = 32
//!
//! [upstream]
//! timeout_ms = 1500
//! rounds = 2
//! tls_ca_file = "/etc/danebound/ca.pem"       # default: the system's CA bundle
//!
//! [[forward_zone]]                # ask these recursive servers, RD=1
//! name = "internal.example."
//! addresses = ["10.0.0.53"]
//!
//! [[stub_zone]]                   # ask these authorities, RD=0
//! name = "lab.example."
//! addresses = ["10.0.0.54:5353"]
//!
//! [autotrust]              # RFC 5011 (unbound's add-holddown, del-holddown, ...)
//! add_holddown = "30d"
//! remove_holddown = "30d"
//! keep_missing = "366d"    # default: keep Missing keys for ever (RFC 5011 §4)
//! probe_interval = "20s"   # test labs only: replaces the RFC 5011 §2.3 timers
//! trust_anchor_signaling = true   # RFC 8145 key-tag queries
//! root_key_sentinel = true        # RFC 8509
//!
//! [control]
//! enable = true
//! socket = "/run/danebound/control.sock"
//! nta_file = "/var/lib/danebound/negative-trust-anchors"
//! nta_recheck_secs = 300                       # 0: never
//!
//! [metrics]
//! listen = "127.0.0.1:9153"                   # default: off
//! ```
//!
//! Unknown keys and bad values are errors that name the key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::acl::{Acl, Network};
use crate::autotrust::AutotrustConfig;
use crate::cache::CacheConfig;
use crate::cache::stale::StaleConfig;
use crate::ratelimit::RateLimitConfig;
use crate::transport::tls::{CaRoots, DOT_PORT, TlsAuth};
use crate::wire::Name;

/// Where `serve` looks for its file when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/danebound/danebound.toml";

/// The RFC 5011 state of the root anchor when no anchor is configured.
pub const DEFAULT_ROOT_ANCHOR_FILE: &str = "/var/lib/danebound/root.key";

/// A configuration problem, as one line naming the culprit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The default of `max_inflight_bytes`: 64 MiB, as much as the answer
/// cache's default bound.
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 64 << 20;

/// The complete, checked configuration of `serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on, UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// True when `listen` is the built-in default: then an address that
    /// cannot be bound (no IPv6) is logged and skipped.
    pub listen_is_default: bool,
    /// Upstreams: when given, everything is forwarded to them (forwarding
    /// mode). Empty: recursive mode, from the root.
    pub forward: Vec<SocketAddr>,
    /// A named.root file; `None`: the built-in IANA root servers.
    pub root_hints: Option<PathBuf>,
    /// Zones forwarded to recursive servers (RD=1), in recursive mode.
    pub forward_zones: Vec<ZoneConfig>,
    /// Zones whose authoritative servers are asked directly (RD=0), in
    /// recursive mode; their answers are validated like any other.
    pub stub_zones: Vec<ZoneConfig>,
    /// Negative trust anchors (unbound's domain-insecure, RFC 7646): names
    /// at or below are not validated unless an anchor lies deeper.
    pub domain_insecure: Vec<Name>,
    /// Never ask authoritative servers on loopback addresses learned from
    /// the network (unbound's do-not-query-localhost); configured
    /// addresses are always asked.
    pub do_not_query_localhost: bool,
    /// Static trust anchor files (DS or DNSKEY, zone-file format).
    pub trust_anchors: Vec<PathBuf>,
    /// RFC 5011-managed anchor files (unbound's auto-trust-anchor-file).
    pub auto_trust_anchors: Vec<PathBuf>,
    /// The managed root anchor when neither list is given (created from
    /// the built-in KSK-2017 and KSK-2024 when missing).
    pub root_anchor_file: PathBuf,
    /// RFC 5011 policy, RFC 8145 and RFC 8509 switches.
    pub autotrust: AutotrustConfig,
    /// Answer special-use names locally (see `local_zones`).
    pub default_local_zones: bool,
    /// A `tracing` filter (`info`, `debug`, `danebound_resolver=trace`...).
    pub log_level: String,
    /// UDP sockets (SO_REUSEPORT) and runtime threads.
    pub workers: usize,
    /// The user `serve` becomes after binding when started as root: `None`
    /// for the default (`danebound` if it exists), `Some("")` to stay root.
    pub user: Option<String>,
    /// Cache limits.
    pub cache: CacheConfig,
    /// `[validation] min_rsa_bits`: the smallest RSA modulus validated, in
    /// bits (default 512, the floor of RFC 3110 §2 and RFC 5702 §2, which
    /// unbound also validates). A key below it counts as an unsupported
    /// algorithm, so its zone is insecure (RFC 4035 §5.2; RFC 8624 §3.1
    /// leaves key sizes to local policy). RSA/SHA-512 needs 1024 whatever
    /// the setting (RFC 5702 §2).
    pub min_rsa_bits: u32,
    /// Answer NXDOMAIN/NODATA from validated NSEC/NSEC3 spans (RFC 8198;
    /// unbound's aggressive-nsec). On by default.
    pub aggressive_nsec: bool,
    /// Refresh a cache entry hit in the last 10 % of its TTL in the
    /// background (unbound's prefetch). On by default.
    pub prefetch: bool,
    /// Serve expired answers when the upstreams fail (RFC 8767). Off by
    /// default.
    pub serve_stale: StaleConfig,
    /// Who may query.
    pub acl: Acl,
    /// A TCP connection with no query for this long is closed (RFC 7766 §6.2.3).
    pub tcp_idle_timeout: Duration,
    /// At most this many TCP connections at once; when full, a new one
    /// sheds the open connection that made progress least recently.
    pub max_tcp_connections: usize,
    /// At most this many TCP connections from one client (address, or IPv6 /64).
    pub max_tcp_connections_per_client: usize,
    /// At most this many queries of one TCP connection resolving or waiting
    /// to be written; it reads no more until one is written.
    pub max_tcp_outstanding: usize,
    /// A TCP response not written within this is fatal to the connection.
    pub tcp_write_timeout: Duration,
    /// How long to wait for one upstream on one attempt.
    pub upstream_timeout: Duration,
    /// How many passes over the upstream list.
    pub upstream_rounds: usize,
    /// 0x20: random case in upstream query names, echo required (both
    /// modes; unbound's use-caps-for-id).
    pub use_caps_for_id: bool,
    /// The upstreams (of `forward` and the forward and stub zones) asked
    /// over DNS over TLS, and how each is authenticated; sorted by address.
    pub tls_upstreams: Vec<(SocketAddr, TlsAuth)>,
    /// Where the CA roots of name-checked TLS upstreams come from.
    pub tls_ca: CaRoots,
    /// At most this many cache misses being resolved at once; more are
    /// answered SERVFAIL.
    pub max_inflight: usize,
    /// At most this many of them for one client (address, or IPv6 /64).
    pub max_inflight_per_client: usize,
    /// The decoded upstream messages all resolutions in flight hold, in
    /// bytes; at or over it new resolutions get SERVFAIL.
    pub max_inflight_bytes: usize,
    /// UDP response rate limiting (off by default).
    pub ratelimit: RateLimitConfig,
    /// The operator's control socket (`danebound control`).
    pub control: ControlConfig,
    /// Where Prometheus metrics are served over HTTP; `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            listen_is_default: true,
            forward: Vec::new(),
            root_hints: None,
            forward_zones: Vec::new(),
            stub_zones: Vec::new(),
            domain_insecure: Vec::new(),
            do_not_query_localhost: true,
            trust_anchors: Vec::new(),
            auto_trust_anchors: Vec::new(),
            root_anchor_file: PathBuf::from(DEFAULT_ROOT_ANCHOR_FILE),
            autotrust: AutotrustConfig::default(),
            default_local_zones: true,
            log_level: "info".into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            user: None,
            cache: CacheConfig::default(),
            min_rsa_bits: crate::validator::Limits::default().min_rsa_bits,
            aggressive_nsec: true,
            prefetch: true,
            serve_stale: StaleConfig::default(),
            acl: Acl::default(),
            tcp_idle_timeout: Duration::from_secs(10),
            max_tcp_connections: 256,
            max_tcp_connections_per_client: 32,
            max_tcp_outstanding: 32,
            tcp_write_timeout: Duration::from_secs(5),
            upstream_timeout: crate::forward::DEFAULT_TIMEOUT,
            upstream_rounds: crate::forward::DEFAULT_ROUNDS,
            use_caps_for_id: true,
            tls_upstreams: Vec::new(),
            tls_ca: CaRoots::System,
            max_inflight: 4096,
            max_inflight_per_client: 1024,
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
            ratelimit: RateLimitConfig::default(),
            control: ControlConfig::default(),
            metrics_listen: None,
        }
    }
}

fn default_listen() -> Vec<SocketAddr> {
    vec![
        "127.0.0.1:53".parse().expect("constant address"),
        "[::1]:53".parse().expect("constant address"),
    ]
}

/// Flags that override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen ADDR:PORT` (repeatable); replaces the file's list.
    pub listen: Vec<String>,
    /// `--forward ADDR[:PORT]` or `ADDR@PORT#NAME` (repeatable); replaces
    /// the file's list.
    pub forward: Vec<String>,
    /// `--root-hints FILE`.
    pub root_hints: Option<PathBuf>,
    /// `--do-not-query-localhost yes|no` (unbound's option; `no` lets the
    /// iterator ask authorities on loopback, as a lab on 127.0.0.0/8 needs).
    pub do_not_query_localhost: Option<bool>,
    /// `--trust-anchor PATH` (repeatable); replaces the file's list.
    pub trust_anchors: Vec<PathBuf>,
    /// `--auto-trust-anchor PATH` (repeatable); replaces the file's list.
    pub auto_trust_anchors: Vec<PathBuf>,
    /// `--root-anchor-file PATH`.
    pub root_anchor_file: Option<PathBuf>,
    /// `--no-default-local-zones`.
    pub no_default_local_zones: bool,
    /// `--log-level`.
    pub log_level: Option<String>,
}

// -- The file ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Vec<String>>,
    forward: Option<Vec<String>>,
    root_hints: Option<PathBuf>,
    forward_zone: Option<Vec<RawZone>>,
    stub_zone: Option<Vec<RawZone>>,
    domain_insecure: Option<Vec<String>>,
    do_not_query_localhost: Option<bool>,
    trust_anchors: Option<Vec<PathBuf>>,
    auto_trust_anchors: Option<Vec<PathBuf>>,
    root_anchor_file: Option<PathBuf>,
    autotrust: Option<RawAutotrust>,
    default_local_zones: Option<bool>,
    log_level: Option<String>,
    workers: Option<usize>,
    user: Option<String>,
    max_inflight: Option<usize>,
    max_inflight_per_client: Option<usize>,
    max_inflight_bytes: Option<usize>,
    ratelimit: Option<RawRateLimit>,
    cache: Option<RawCache>,
    validation: Option<RawValidation>,
    aggressive_nsec: Option<bool>,
    prefetch: Option<bool>,
    serve_stale: Option<bool>,
    serve_stale_max: Option<String>,
    serve_stale_reply_ttl: Option<u32>,
    access: Option<RawAccess>,
    tcp: Option<RawTcp>,
    upstream: Option<RawUpstream>,
    control: Option<RawControl>,
    metrics: Option<RawMetrics>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    enable: Option<bool>,
    socket: Option<PathBuf>,
    nta_file: Option<PathBuf>,
    nta_recheck_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    max_entries: Option<usize>,
    max_bytes: Option<usize>,
    min_ttl: Option<u32>,
    max_ttl: Option<u32>,
    max_negative_ttl: Option<u32>,
    bogus_ttl: Option<u32>,
    shards: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: String,
    addresses: Vec<String>,
}

/// A `[[forward_zone]]` or `[[stub_zone]]`: a zone and its servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneConfig {
    /// The zone.
    pub name: Name,
    /// Its servers (port 53 unless given).
    pub addresses: Vec<SocketAddr>,
}

fn parse_name(key: &str, s: &str) -> Result<Name, ConfigError> {
    let mut name =
        Name::from_ascii(s.trim()).map_err(|e| ConfigError(format!("{key}: `{s}`: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

fn zones(
    key: &str,
    raw: Vec<RawZone>,
    tls: &mut Vec<(SocketAddr, Option<TlsAuth>)>,
) -> Result<Vec<ZoneConfig>, ConfigError> {
    raw.into_iter()
        .map(|z| {
            let name = parse_name(key, &z.name)?;
            if z.addresses.is_empty() {
                return Err(ConfigError(format!("{key} {name}: no addresses")));
            }
            let addresses = upstream_list(&format!("{key} {name}"), &z.addresses, tls)?;
            Ok(ZoneConfig { name, addresses })
        })
        .collect()
}

/// Parses a list of upstreams (`ADDR[:PORT]`, `ADDR@PORT`, `ADDR@PORT#NAME`),
/// noting each with its TLS authentication (or none) in `seen`.
fn upstream_list(
    key: &str,
    list: &[String],
    seen: &mut Vec<(SocketAddr, Option<TlsAuth>)>,
) -> Result<Vec<SocketAddr>, ConfigError> {
    list.iter()
        .map(|s| {
            let (addr, auth) = parse_upstream(s).map_err(|e| ConfigError(format!("{key}: {e}")))?;
            seen.push((addr, auth));
            Ok(addr)
        })
        .collect()
}

/// The TLS upstreams among `seen`, sorted. An address given twice with
/// different authentication, or both with and without TLS, is refused: the
/// transport picks TLS by address, and a clear-text twin would be a silent
/// fallback.
fn settle_tls(
    mut seen: Vec<(SocketAddr, Option<TlsAuth>)>,
) -> Result<Vec<(SocketAddr, TlsAuth)>, ConfigError> {
    seen.sort();
    seen.dedup();
    for pair in seen.windows(2) {
        if pair[0].0 == pair[1].0 {
            let show = |a: &Option<TlsAuth>| match a {
                Some(auth) => format!("{}#{auth}", pair[0].0),
                None => format!("{} without TLS", pair[0].0),
            };
            return Err(ConfigError(format!(
                "upstream {} is also given as {}",
                show(&pair[0].1),
                show(&pair[1].1)
            )));
        }
    }
    Ok(seen
        .into_iter()
        .filter_map(|(addr, auth)| auth.map(|a| (addr, a)))
        .collect())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    allow: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    responses_per_second: Option<u32>,
    slip: Option<u32>,
    exempt: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTcp {
    idle_timeout_secs: Option<u64>,
    write_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
    max_outstanding: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutotrust {
    add_holddown: Option<String>,
    remove_holddown: Option<String>,
    keep_missing: Option<String>,
    probe_interval: Option<String>,
    trust_anchor_signaling: Option<bool>,
    root_key_sentinel: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidation {
    min_rsa_bits: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    timeout_ms: Option<u64>,
    rounds: Option<usize>,
    use_caps_for_id: Option<bool>,
    tls_ca_file: Option<PathBuf>,
}

impl Config {
    /// Reads the file at `path`, or at [`DEFAULT_CONFIG_PATH`] when `None`.
    /// A missing default file means the defaults; a missing explicit file is
    /// an error.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, explicit) = match path {
            Some(p) => (p, true),
            None => (Path::new(DEFAULT_CONFIG_PATH), false),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml(&text)
                .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0))),
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigError(format!(
                "cannot read config file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Parses a TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // toml's message spans several lines; keep the first one and
            // the key it names.
            ConfigError(
                e.message()
                    .lines()
                    .next()
                    .unwrap_or("invalid TOML")
                    .to_string()
                    + &e.span().map_or(String::new(), |s| {
                        format!(" (line {})", line_of(text, s.start))
                    }),
            )
        })?;
        let mut c = Self::default();
        if let Some(listen) = raw.listen {
            c.listen = listen
                .iter()
                .map(|s| parse_listen(s).map_err(|e| ConfigError(format!("listen: {e}"))))
                .collect::<Result<_, _>>()?;
            c.listen_is_default = false;
        }
        let mut seen = Vec::new();
        if let Some(forward) = raw.forward {
            c.forward = upstream_list("forward", &forward, &mut seen)?;
        }
        if let Some(t) = raw.trust_anchors {
            c.trust_anchors = t;
        }
        if let Some(t) = raw.auto_trust_anchors {
            c.auto_trust_anchors = t;
        }
        if let Some(p) = raw.root_anchor_file {
            c.root_anchor_file = p;
        }
        if let Some(a) = raw.autotrust {
            let p = &mut c.autotrust.policy;
            if let Some(v) = a.add_holddown {
                p.add_holddown = duration("autotrust.add_holddown", &v)?;
                // A hold-down shortened below RFC 5011's 30 days is a test
                // lab's choice; the TTL no longer lengthens it.
                p.holddown_covers_ttl = p.add_holddown >= 30 * 86_400;
            }
            if let Some(v) = a.remove_holddown {
                p.remove_holddown = duration("autotrust.remove_holddown", &v)?;
            }
            if let Some(v) = a.keep_missing {
                p.keep_missing = Some(duration("autotrust.keep_missing", &v)?);
            }
            if let Some(v) = a.probe_interval {
                p.probe_interval = Some(duration("autotrust.probe_interval", &v)?.max(1));
            }
            if let Some(b) = a.trust_anchor_signaling {
                c.autotrust.signaling = b;
            }
            if let Some(b) = a.root_key_sentinel {
                c.autotrust.sentinel = b;
            }
        }
        c.root_hints = raw.root_hints;
        if let Some(z) = raw.forward_zone {
            c.forward_zones = zones("forward_zone", z, &mut seen)?;
        }
        if let Some(z) = raw.stub_zone {
            c.stub_zones = zones("stub_zone", z, &mut seen)?;
        }
        c.tls_upstreams = settle_tls(seen)?;
        if let Some(names) = raw.domain_insecure {
            c.domain_insecure = names
                .iter()
                .map(|n| parse_name("domain_insecure", n))
                .collect::<Result<_, _>>()?;
        }
        if let Some(b) = raw.do_not_query_localhost {
            c.do_not_query_localhost = b;
        }
        if let Some(b) = raw.default_local_zones {
            c.default_local_zones = b;
        }
        if let Some(l) = raw.log_level {
            c.log_level = l;
        }
        if let Some(w) = raw.workers {
            c.workers = in_range("workers", w, 1, 1024)?;
        }
        if raw.user.is_some() {
            c.user = raw.user;
        }
        if let Some(m) = raw.max_inflight {
            c.max_inflight = in_range("max_inflight", m, 1, 1 << 20)?;
        }
        if let Some(m) = raw.max_inflight_per_client {
            c.max_inflight_per_client = in_range("max_inflight_per_client", m, 1, 1 << 20)?;
        }
        if let Some(m) = raw.max_inflight_bytes {
            c.max_inflight_bytes = in_range("max_inflight_bytes", m, 1 << 16, 1 << 40)?;
        }
        if let Some(r) = raw.ratelimit {
            let rl = &mut c.ratelimit;
            if let Some(v) = r.responses_per_second {
                rl.responses_per_second = v;
            }
            if let Some(v) = r.slip {
                rl.slip = in_range("ratelimit.slip", v, 0, 100)?;
            }
            if let Some(exempt) = r.exempt {
                rl.exempt = Acl::new(parse_networks("ratelimit.exempt", &exempt)?);
            }
        }
        if let Some(rc) = raw.cache {
            let cc = &mut c.cache;
            if let Some(v) = rc.max_entries {
                cc.max_entries = in_range("cache.max_entries", v, 1, usize::MAX)?;
            }
            if let Some(v) = rc.max_bytes {
                cc.max_bytes = in_range("cache.max_bytes", v, 4096, usize::MAX)?;
            }
            if let Some(v) = rc.min_ttl {
                cc.min_ttl = v;
            }
            if let Some(v) = rc.max_ttl {
                cc.max_ttl = in_range("cache.max_ttl", v, 1, 7 * 86_400)?;
            }
            if let Some(v) = rc.max_negative_ttl {
                // RFC 2308 §5: values of one to three hours are sensible.
                cc.max_negative_ttl = in_range("cache.max_negative_ttl", v, 0, 86_400)?;
            }
            if let Some(v) = rc.bogus_ttl {
                cc.bogus_ttl = in_range("cache.bogus_ttl", v, 0, 86_400)?;
            }
            if let Some(v) = rc.shards {
                cc.shards = in_range("cache.shards", v, 1, 1024)?;
            }
            if cc.min_ttl > cc.max_ttl {
                return Err(ConfigError(format!(
                    "cache.min_ttl ({}) is above cache.max_ttl ({})",
                    cc.min_ttl, cc.max_ttl
                )));
            }
        }
        if let Some(v) = raw.validation.and_then(|v| v.min_rsa_bits) {
            // RFC 3110 §2 and RFC 5702 §2: RSA moduli of 512 to 4096 bits.
            c.min_rsa_bits = in_range("validation.min_rsa_bits", v, 512, 4096)?;
        }
        if let Some(v) = raw.aggressive_nsec {
            c.aggressive_nsec = v;
        }
        if let Some(v) = raw.prefetch {
            c.prefetch = v;
        }
        if let Some(v) = raw.serve_stale {
            c.serve_stale.enabled = v;
        }
        if let Some(v) = &raw.serve_stale_max {
            // RFC 8767 §5: "a maximum stale timer of 1 to 3 days"; up to a
            // week is accepted.
            c.serve_stale.max_stale = in_range(
                "serve_stale_max",
                duration("serve_stale_max", v)?,
                1,
                7 * 86_400,
            )?;
        }
        if let Some(v) = raw.serve_stale_reply_ttl {
            // RFC 8767 §4: above zero, 30 s RECOMMENDED.
            c.serve_stale.reply_ttl = in_range("serve_stale_reply_ttl", v, 1, 3_600)?;
        }
        if let Some(allow) = raw.access.and_then(|a| a.allow) {
            c.acl = Acl::new(parse_networks("access.allow", &allow)?);
        }
        if let Some(t) = raw.tcp {
            if let Some(v) = t.idle_timeout_secs {
                c.tcp_idle_timeout =
                    Duration::from_secs(in_range("tcp.idle_timeout_secs", v, 1, 3600)?);
            }
            if let Some(v) = t.write_timeout_secs {
                c.tcp_write_timeout =
                    Duration::from_secs(in_range("tcp.write_timeout_secs", v, 1, 3600)?);
            }
            if let Some(v) = t.max_connections {
                c.max_tcp_connections = in_range("tcp.max_connections", v, 1, 65_536)?;
            }
            if let Some(v) = t.max_connections_per_client {
                c.max_tcp_connections_per_client =
                    in_range("tcp.max_connections_per_client", v, 1, 65_536)?;
            }
            if let Some(v) = t.max_outstanding {
                c.max_tcp_outstanding = in_range("tcp.max_outstanding", v, 1, 65_535)?;
            }
        }
        if let Some(u) = raw.upstream {
            if let Some(v) = u.timeout_ms {
                c.upstream_timeout =
                    Duration::from_millis(in_range("upstream.timeout_ms", v, 10, 60_000)?);
            }
            if let Some(v) = u.rounds {
                c.upstream_rounds = in_range("upstream.rounds", v, 1, 10)?;
            }
            if let Some(v) = u.use_caps_for_id {
                c.use_caps_for_id = v;
            }
            if let Some(path) = u.tls_ca_file {
                c.tls_ca = CaRoots::File(path);
            }
        }
        if let Some(rc) = raw.control {
            c.control
                .apply(rc.enable, rc.socket, rc.nta_file, rc.nta_recheck_secs)?;
        }
        if let Some(listen) = raw.metrics.and_then(|m| m.listen) {
            c.metrics_listen = Some(
                parse_listen(&listen).map_err(|e| ConfigError(format!("metrics.listen: {e}")))?,
            );
        }
        Ok(c)
    }

    /// Applies command-line flags on top of the file.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        if !o.listen.is_empty() {
            self.listen = o
                .listen
                .iter()
                .map(|s| parse_listen(s).map_err(|e| ConfigError(format!("--listen: {e}"))))
                .collect::<Result<_, _>>()?;
            self.listen_is_default = false;
        }
        if !o.forward.is_empty() {
            let mut seen = self.zone_upstreams();
            self.forward = upstream_list("--forward", &o.forward, &mut seen)?;
            self.tls_upstreams = settle_tls(seen)?;
        }
        if !o.trust_anchors.is_empty() {
            self.trust_anchors.clone_from(&o.trust_anchors);
        }
        if !o.auto_trust_anchors.is_empty() {
            self.auto_trust_anchors.clone_from(&o.auto_trust_anchors);
        }
        if let Some(p) = &o.root_anchor_file {
            self.root_anchor_file.clone_from(p);
        }
        if o.root_hints.is_some() {
            self.root_hints.clone_from(&o.root_hints);
        }
        if let Some(b) = o.do_not_query_localhost {
            self.do_not_query_localhost = b;
        }
        if o.no_default_local_zones {
            self.default_local_zones = false;
        }
        if let Some(l) = &o.log_level {
            self.log_level.clone_from(l);
        }
        Ok(())
    }
}

impl Config {
    /// The forward and stub zones' upstreams, each with its TLS
    /// authentication (or none).
    fn zone_upstreams(&self) -> Vec<(SocketAddr, Option<TlsAuth>)> {
        self.forward_zones
            .iter()
            .chain(&self.stub_zones)
            .flat_map(|z| &z.addresses)
            .map(|addr| {
                let auth = self
                    .tls_upstreams
                    .iter()
                    .find(|(a, _)| a == addr)
                    .map(|(_, auth)| auth.clone());
                (*addr, auth)
            })
            .collect()
    }

    /// The RFC 5011-managed files: the configured ones, or, when no anchor
    /// is configured at all, the root's state file.
    pub fn managed_anchor_files(&self) -> Vec<PathBuf> {
        if self.auto_trust_anchors.is_empty() && self.trust_anchors.is_empty() {
            vec![self.root_anchor_file.clone()]
        } else {
            self.auto_trust_anchors.clone()
        }
    }
}

/// A duration like unbound's: seconds, or with units (`20s`, `1h30m`, `30d`).
fn duration(key: &str, text: &str) -> Result<u64, ConfigError> {
    danebound_trust_anchors::text::parse_ttl(text)
        .map(u64::from)
        .map_err(|e| ConfigError(format!("{key} = {text:?}: {e}")))
}

fn in_range<T: PartialOrd + fmt::Display + Copy>(
    key: &str,
    v: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    if v < min || v > max {
        return Err(ConfigError(format!(
            "{key} = {v} is out of range ({min}..={max})"
        )));
    }
    Ok(v)
}

fn parse_networks(key: &str, list: &[String]) -> Result<Vec<Network>, ConfigError> {
    list.iter()
        .map(|s| s.parse::<Network>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError(format!("{key}: {e}")))
}

/// `ADDR:PORT`, IPv6 in brackets.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not ADDR:PORT (IPv6 as [ADDR]:PORT)"))
}

/// `ADDR[:PORT]`: a bare address (IPv6 with or without brackets) means port 53.
/// Plain DNS only: a DNS-over-TLS upstream (`#NAME`) is refused.
pub fn parse_forward(s: &str) -> Result<SocketAddr, String> {
    match parse_upstream(s)? {
        (addr, None) => Ok(addr),
        (_, Some(_)) => Err(format!("`{s}`: DNS over TLS is not available here")),
    }
}

/// An upstream as unbound writes it in forward-addr, or as `ADDR[:PORT]`:
/// `ADDR`, `ADDR:PORT`, `[V6]:PORT`, `ADDR@PORT`, and for DNS over TLS
/// (RFC 7858) `ADDR@PORT#NAME` (the certificate must be valid for NAME) or
/// `ADDR@PORT#NAME^sha256/BASE64` (SPKI pins, RFC 7858 §4.2; repeatable
/// `^…`). Port 853 without `#` is refused: it is DNS over TLS's port, and
/// TLS without a name or pin to check would authenticate nobody.
pub fn parse_upstream(s: &str) -> Result<(SocketAddr, Option<TlsAuth>), String> {
    let (addr, auth) = match s.trim().split_once('#') {
        Some((addr, auth)) => (
            addr,
            Some(TlsAuth::parse(auth).map_err(|e| format!("`{s}`: {e}"))?),
        ),
        None => (s.trim(), None),
    };
    let addr = match addr.rsplit_once('@') {
        Some((ip, port)) => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            let ip: IpAddr = ip.parse().map_err(|_| format!("`{s}` is not ADDR@PORT"))?;
            let port: u16 = port
                .parse()
                .map_err(|_| format!("`{s}`: `{port}` is not a port"))?;
            SocketAddr::new(ip, port)
        }
        None => {
            let mut parsed = plain_addr(addr).map_err(|()| match auth {
                Some(_) => format!("`{s}` is not ADDR@PORT#NAME"),
                None => format!("`{s}` is not ADDR[:PORT]"),
            })?;
            // A bare address with `#NAME` is on DNS over TLS's port, as in
            // unbound's forward-tls-upstream.
            if auth.is_some() && addr.trim().parse::<SocketAddr>().is_err() {
                parsed.set_port(DOT_PORT);
            }
            parsed
        }
    };
    if auth.is_none() && addr.port() == DOT_PORT {
        return Err(format!(
            "`{s}`: port {DOT_PORT} is DNS over TLS; add #NAME (or #NAME^sha256/PIN) to say whom to trust"
        ));
    }
    Ok((addr, auth))
}

/// `ADDR[:PORT]`, port 53 by default.
fn plain_addr(s: &str) -> Result<SocketAddr, ()> {
    let t = s.trim();
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| ())
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

// --- [control]: the operator's socket (`danebound control`) ---------------

/// Where the socket is unless configured.
pub const DEFAULT_SOCKET: &str = "/run/danebound/control.sock";

/// Where negative trust anchors persist unless configured.
pub const DEFAULT_NTA_FILE: &str = "/var/lib/danebound/negative-trust-anchors";

/// BIND's `nta-recheck` default: five minutes.
pub const DEFAULT_NTA_RECHECK: Duration = Duration::from_secs(300);

/// `[control]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlConfig {
    /// Serve the socket at all.
    pub enable: bool,
    /// The socket's path.
    pub socket: PathBuf,
    /// True when `socket` is the built-in default: then a missing directory
    /// (danebound run by hand, not by systemd) is logged, not fatal.
    pub socket_is_default: bool,
    /// Where negative trust anchors persist across restarts.
    pub nta_file: PathBuf,
    /// How often a negative trust anchor's name is validated again, to end
    /// it once the name validates (RFC 7646 §4); `None`: never.
    pub nta_recheck: Option<Duration>,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            enable: true,
            socket: DEFAULT_SOCKET.into(),
            socket_is_default: true,
            nta_file: DEFAULT_NTA_FILE.into(),
            nta_recheck: Some(DEFAULT_NTA_RECHECK),
        }
    }
}

impl ControlConfig {
    /// Applies the file's `[control]` settings.
    pub(crate) fn apply(
        &mut self,
        enable: Option<bool>,
        socket: Option<PathBuf>,
        nta_file: Option<PathBuf>,
        nta_recheck_secs: Option<u64>,
    ) -> Result<(), ConfigError> {
        if let Some(secs) = nta_recheck_secs {
            if secs > 86_400 {
                return Err(ConfigError(format!(
                    "control.nta_recheck_secs = {secs} is out of range (0..=86400; 0: never)"
                )));
            }
            self.nta_recheck = (secs > 0).then(|| Duration::from_secs(secs));
        }
        if let Some(e) = enable {
            self.enable = e;
        }
        if let Some(s) = socket {
            self.socket = absolute("control.socket", s)?;
            self.socket_is_default = false;
        }
        if let Some(f) = nta_file {
            self.nta_file = absolute("control.nta_file", f)?;
        }
        Ok(())
    }
}

fn absolute(key: &str, path: PathBuf) -> Result<PathBuf, ConfigError> {
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(ConfigError(format!(
            "{key}: `{}` is not an absolute path",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
    }

    #[test]
    fn full_file_parses() {
        let c = Config::from_toml(
            r#"
            listen = ["127.54.0.1:5353"]
            forward = ["192.0.2.1", "[2001:db8::1]:5353", "2001:db8::2"]
            trust_anchors = ["/tmp/a.key"]
            default_local_zones = false
            workers = 3
            [cache]
            max_entries = 10
            bogus_ttl = 5
            [access]
            allow = ["10.0.0.0/8"]
            [tcp]
            idle_timeout_secs = 3
            max_connections = 7
            [upstream]
            timeout_ms = 200
            rounds = 1
            use_caps_for_id = false
            "#,
        )
        .unwrap();
        assert_eq!(c.listen, vec!["127.54.0.1:5353".parse().unwrap()]);
        assert!(!c.listen_is_default);
        assert_eq!(c.forward[0], "192.0.2.1:53".parse().unwrap());
        assert_eq!(c.forward[1], "[2001:db8::1]:5353".parse().unwrap());
        assert_eq!(c.forward[2], "[2001:db8::2]:53".parse().unwrap());
        assert_eq!(c.trust_anchors, vec![PathBuf::from("/tmp/a.key")]);
        assert!(!c.default_local_zones);
        assert_eq!(c.workers, 3);
        assert_eq!(c.cache.max_entries, 10);
        assert_eq!(c.cache.bogus_ttl, 5);
        assert!(c.acl.allows("10.1.2.3".parse().unwrap()));
        assert!(!c.acl.allows("127.0.0.1".parse().unwrap()));
        assert_eq!(c.tcp_idle_timeout, Duration::from_secs(3));
        assert_eq!(c.max_tcp_connections, 7);
        assert_eq!(c.upstream_timeout, Duration::from_millis(200));
        assert!(!c.use_caps_for_id);
        assert!(Config::default().use_caps_for_id, "0x20 is on by default");
    }

    #[test]
    fn recursive_mode_keys_parse() {
        let c = Config::from_toml(
            r#"
            root_hints = "/etc/danebound/named.root"
            domain_insecure = ["corp.example"]
            do_not_query_localhost = false
            [[forward_zone]]
            name = "internal.example."
            addresses = ["10.0.0.53"]
            [[stub_zone]]
            name = "lab.example"
            addresses = ["10.0.0.54:5353", "2001:db8::54"]
            "#,
        )
        .unwrap();
        assert!(c.forward.is_empty(), "recursive by default");
        assert_eq!(
            c.root_hints,
            Some(PathBuf::from("/etc/danebound/named.root"))
        );
        assert_eq!(
            c.domain_insecure,
            vec![Name::from_ascii("corp.example.").unwrap()]
        );
        assert!(!c.do_not_query_localhost);
        assert_eq!(
            c.forward_zones[0].addresses,
            vec!["10.0.0.53:53".parse().unwrap()]
        );
        assert_eq!(
            c.stub_zones[0].name,
            Name::from_ascii("lab.example.").unwrap()
        );
        assert_eq!(c.stub_zones[0].addresses.len(), 2);
        for (text, needle) in [
            (
                "[[stub_zone]]\nname = \"x.\"\naddresses = []",
                "no addresses",
            ),
            (
                "[[forward_zone]]\nname = \"x.\"\naddresses = [\"nope\"]",
                "forward_zone",
            ),
            ("[[stub_zone]]\naddresses = [\"192.0.2.1\"]", "name"),
        ] {
            let e = Config::from_toml(text).unwrap_err().0;
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, needle) in [
            ("workers = 0", "workers"),
            ("listen = [\"nope\"]", "listen"),
            ("forward = [\"1.2.3\"]", "forward"),
            ("[cache]\nmax_ttl = 0", "cache.max_ttl"),
            (
                "[validation]\nmin_rsa_bits = 256",
                "validation.min_rsa_bits",
            ),
            (
                "[validation]\nmin_rsa_bits = 8192",
                "validation.min_rsa_bits",
            ),
            ("[validation]\nmax_rsa_bits = 1024", "max_rsa_bits"),
            ("[access]\nallow = [\"10/8\"]", "access.allow"),
            ("colour = 1", "colour"),
            ("[tcp]\nmax_connections = \"many\"", "string"),
        ] {
            let e = Config::from_toml(text).unwrap_err().0;
            assert!(e.contains(needle), "{text}: {e}");
            assert!(!e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn min_rsa_bits_defaults_to_512_and_parses() {
        assert_eq!(Config::default().min_rsa_bits, 512);
        let c = Config::from_toml("[validation]\nmin_rsa_bits = 1024").unwrap();
        assert_eq!(c.min_rsa_bits, 1024);
    }

    #[test]
    fn tcp_abuse_limits_parse_and_are_checked() {
        let c = Config::from_toml(
            "[tcp]\nwrite_timeout_secs = 2\nmax_connections_per_client = 4\nmax_outstanding = 8",
        )
        .unwrap();
        assert_eq!(c.tcp_write_timeout, Duration::from_secs(2));
        assert_eq!(c.max_tcp_connections_per_client, 4);
        assert_eq!(c.max_tcp_outstanding, 8);
        for key in [
            "write_timeout_secs",
            "max_connections_per_client",
            "max_outstanding",
        ] {
            let e = Config::from_toml(&format!("[tcp]\n{key} = 0"))
                .unwrap_err()
                .0;
            assert!(e.contains(&format!("tcp.{key}")), "{e}");
        }
    }

    #[test]
    fn fairness_limits_parse() {
        let c = Config::from_toml(
            "max_inflight_per_client = 9\nmax_inflight_bytes = 1048576\n[ratelimit]\nresponses_per_second = 50\nslip = 0\nexempt = [\"10.0.0.0/8\"]",
        )
        .unwrap();
        assert_eq!(c.max_inflight_per_client, 9);
        assert_eq!(c.max_inflight_bytes, 1 << 20);
        assert!(Config::from_toml("max_inflight_bytes = 10").is_err());
        assert_eq!(c.ratelimit.responses_per_second, 50);
        assert_eq!(c.ratelimit.slip, 0);
        assert!(c.ratelimit.exempt.allows("10.1.1.1".parse().unwrap()));
        assert!(!c.ratelimit.exempt.allows("127.0.0.1".parse().unwrap()));
        assert!(!Config::default().ratelimit.enabled());
        let e = Config::from_toml("[ratelimit]\nexempt = [\"x\"]")
            .unwrap_err()
            .0;
        assert!(e.contains("ratelimit.exempt"), "{e}");
    }

    #[test]
    fn autotrust_table_and_managed_files() {
        let c = Config::from_toml(
            "auto_trust_anchors = [\"/var/lib/unbound/root.key\"]\n\
             [autotrust]\nadd_holddown = \"60s\"\nremove_holddown = \"2m\"\n\
             keep_missing = \"366d\"\nprobe_interval = \"20s\"\n\
             trust_anchor_signaling = false\nroot_key_sentinel = false\n",
        )
        .unwrap();
        let p = &c.autotrust.policy;
        assert_eq!(p.add_holddown, 60);
        assert!(!p.holddown_covers_ttl, "a shortened hold-down is a lab's");
        assert_eq!(p.remove_holddown, 120);
        assert_eq!(p.keep_missing, Some(366 * 86_400));
        assert_eq!(p.probe_interval, Some(20));
        assert!(!c.autotrust.signaling && !c.autotrust.sentinel);
        assert_eq!(
            c.managed_anchor_files(),
            vec![PathBuf::from("/var/lib/unbound/root.key")]
        );
        // No anchor option: the root's state file.
        let d = Config::default();
        assert_eq!(
            d.managed_anchor_files(),
            vec![PathBuf::from(DEFAULT_ROOT_ANCHOR_FILE)]
        );
        // Static anchors only: nothing managed.
        let s = Config::from_toml("trust_anchors = [\"/etc/root.ds\"]").unwrap();
        assert!(s.managed_anchor_files().is_empty());
        let e = Config::from_toml("[autotrust]\nadd_holddown = \"soon\"").unwrap_err();
        assert!(e.0.contains("autotrust.add_holddown"), "{}", e.0);
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let e = Config::load(Some(Path::new("/nonexistent/danebound.toml"))).unwrap_err();
        assert!(e.0.contains("/nonexistent/danebound.toml"));
    }

    #[test]
    fn rfc7858_dns_over_tls_upstreams_in_unbounds_syntax() {
        let pin = data_encoding::BASE64.encode(&[9u8; 32]);
        let c = Config::from_toml(&format!(
            r#"
            forward = ["192.0.2.1@853#dns.example", "192.0.2.2#dns2.example^sha256/{pin}", "192.0.2.3@5353"]
            [upstream]
            tls_ca_file = "/etc/danebound/ca.pem"
            [[forward_zone]]
            name = "corp.example."
            addresses = ["[2001:db8::1]@853#dns.corp.example"]
            "#
        ))
        .unwrap();
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            c.forward,
            vec![
                addr("192.0.2.1:853"),
                addr("192.0.2.2:853"),
                addr("192.0.2.3:5353")
            ]
        );
        assert_eq!(c.tls_ca, CaRoots::File("/etc/danebound/ca.pem".into()));
        let tls: Vec<(SocketAddr, String)> = c
            .tls_upstreams
            .iter()
            .map(|(a, auth)| (*a, auth.to_string()))
            .collect();
        assert_eq!(
            tls,
            vec![
                (addr("192.0.2.1:853"), "dns.example".to_string()),
                (addr("192.0.2.2:853"), format!("dns2.example^sha256/{pin}")),
                (addr("[2001:db8::1]:853"), "dns.corp.example".to_string()),
            ]
        );
        // --forward replaces the list; the zone's TLS upstream stays.
        let mut c2 = c;
        c2.apply(&Overrides {
            forward: vec!["198.51.100.1@853#other.example".into()],
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(c2.tls_upstreams.len(), 2);
        assert_eq!(c2.tls_upstreams[0].0, addr("198.51.100.1:853"));
        for (bad, needle) in [
            ("forward = [\"192.0.2.1@853\"]", "add #NAME"),
            ("forward = [\"192.0.2.1:853\"]", "add #NAME"),
            ("forward = [\"192.0.2.1@853#\"]", "name the server"),
            ("forward = [\"192.0.2.1@853#x^sha256/AAAA\"]", "32 bytes"),
            ("forward = [\"192.0.2.1@x#a.example\"]", "not a port"),
            (
                "forward = [\"192.0.2.1@853#a.example\", \"192.0.2.1@853#b.example\"]",
                "also given",
            ),
            (
                "forward = [\"192.0.2.1@853#a.example\"]\n[[stub_zone]]\nname = \"x.\"\naddresses = [\"192.0.2.1@853#a.example\", \"192.0.2.9@853#a.example\"]",
                "",
            ),
        ] {
            let result = Config::from_toml(bad);
            if needle.is_empty() {
                assert!(result.is_ok(), "{bad}: {result:?}");
            } else {
                let e = result.unwrap_err().0;
                assert!(e.contains(needle), "{bad}: {e}");
            }
        }
        assert!(parse_forward("192.0.2.1@853#dns.example").is_err());
        assert_eq!(parse_forward("192.0.2.1@53").unwrap(), addr("192.0.2.1:53"));
    }

    #[test]
    fn flags_override_the_file() {
        let mut c = Config::from_toml("forward = [\"192.0.2.1\"]").unwrap();
        c.apply(&Overrides {
            listen: vec!["127.54.0.2:53".into()],
            forward: vec!["192.0.2.9:5300".into()],
            trust_anchors: vec!["/x".into()],
            no_default_local_zones: true,
            log_level: Some("debug".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(c.forward, vec!["192.0.2.9:5300".parse().unwrap()]);
        assert_eq!(c.listen, vec!["127.54.0.2:53".parse().unwrap()]);
        assert!(!c.default_local_zones);
        assert_eq!(c.log_level, "debug");
        assert!(
            c.apply(&Overrides {
                listen: vec!["x".into()],
                ..Default::default()
            })
            .is_err()
        );
    }
}
