//! `danebound serve`'s configuration: a TOML file and flags that override it.
//!
//! ```toml
//! listen = ["127.0.0.1:53", "[::1]:53"]
//! forward = ["192.0.2.1", "192.0.2.2:5353"]   # default: /etc/resolv.conf
//! trust_anchors = ["/etc/danebound/root.key"] # default: built-in root KSKs
//! default_local_zones = true
//! log_level = "info"
//! workers = 2                                  # default: number of cores
//! user = "danebound"                           # drop root to this user after binding
//! max_inflight = 4096                          # cache misses resolving at once
//! max_inflight_per_client = 1024               # ... for one client address
//!
//! [cache]
//! max_entries = 100000
//! max_bytes = 67108864
//! min_ttl = 0
//! max_ttl = 86400
//! max_negative_ttl = 3600
//! bogus_ttl = 60
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
//! ```
//!
//! Unknown keys and bad values are errors that name the key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::acl::{Acl, Network};
use crate::cache::CacheConfig;
use crate::ratelimit::RateLimitConfig;

/// Where `serve` looks for its file when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/danebound/danebound.toml";

/// A configuration problem, as one line naming the culprit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The complete, checked configuration of `serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on, UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// True when `listen` is the built-in default: then an address that
    /// cannot be bound (no IPv6) is logged and skipped.
    pub listen_is_default: bool,
    /// Upstreams (forwarding mode). Empty: those of /etc/resolv.conf.
    pub forward: Vec<SocketAddr>,
    /// Trust anchor files (DS or DNSKEY, zone-file format). Empty: the
    /// built-in root anchors.
    pub trust_anchors: Vec<PathBuf>,
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
    /// At most this many cache misses being resolved at once; more are
    /// answered SERVFAIL.
    pub max_inflight: usize,
    /// At most this many of them for one client (address, or IPv6 /64).
    pub max_inflight_per_client: usize,
    /// UDP response rate limiting (off by default).
    pub ratelimit: RateLimitConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            listen_is_default: true,
            forward: Vec::new(),
            trust_anchors: Vec::new(),
            default_local_zones: true,
            log_level: "info".into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            user: None,
            cache: CacheConfig::default(),
            acl: Acl::default(),
            tcp_idle_timeout: Duration::from_secs(10),
            max_tcp_connections: 256,
            max_tcp_connections_per_client: 32,
            max_tcp_outstanding: 32,
            tcp_write_timeout: Duration::from_secs(5),
            upstream_timeout: crate::forward::DEFAULT_TIMEOUT,
            upstream_rounds: crate::forward::DEFAULT_ROUNDS,
            max_inflight: 4096,
            max_inflight_per_client: 1024,
            ratelimit: RateLimitConfig::default(),
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
    /// `--forward ADDR[:PORT]` (repeatable); replaces the file's list.
    pub forward: Vec<String>,
    /// `--trust-anchor PATH` (repeatable); replaces the file's list.
    pub trust_anchors: Vec<PathBuf>,
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
    trust_anchors: Option<Vec<PathBuf>>,
    default_local_zones: Option<bool>,
    log_level: Option<String>,
    workers: Option<usize>,
    user: Option<String>,
    max_inflight: Option<usize>,
    max_inflight_per_client: Option<usize>,
    ratelimit: Option<RawRateLimit>,
    cache: Option<RawCache>,
    access: Option<RawAccess>,
    tcp: Option<RawTcp>,
    upstream: Option<RawUpstream>,
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
struct RawUpstream {
    timeout_ms: Option<u64>,
    rounds: Option<usize>,
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
                    + &e.span()
                        .map_or(String::new(), |s| format!(" (at byte {})", s.start)),
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
        if let Some(forward) = raw.forward {
            c.forward = forward
                .iter()
                .map(|s| parse_forward(s).map_err(|e| ConfigError(format!("forward: {e}"))))
                .collect::<Result<_, _>>()?;
        }
        if let Some(t) = raw.trust_anchors {
            c.trust_anchors = t;
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
            self.forward = o
                .forward
                .iter()
                .map(|s| parse_forward(s).map_err(|e| ConfigError(format!("--forward: {e}"))))
                .collect::<Result<_, _>>()?;
        }
        if !o.trust_anchors.is_empty() {
            self.trust_anchors.clone_from(&o.trust_anchors);
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
pub fn parse_forward(s: &str) -> Result<SocketAddr, String> {
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
        .map_err(|_| format!("`{s}` is not ADDR[:PORT]"))
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
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, needle) in [
            ("workers = 0", "workers"),
            ("listen = [\"nope\"]", "listen"),
            ("forward = [\"1.2.3\"]", "forward"),
            ("[cache]\nmax_ttl = 0", "cache.max_ttl"),
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
            "max_inflight_per_client = 9\n[ratelimit]\nresponses_per_second = 50\nslip = 0\nexempt = [\"10.0.0.0/8\"]",
        )
        .unwrap();
        assert_eq!(c.max_inflight_per_client, 9);
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
    fn explicit_missing_file_is_an_error() {
        let e = Config::load(Some(Path::new("/nonexistent/danebound.toml"))).unwrap_err();
        assert!(e.0.contains("/nonexistent/danebound.toml"));
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
