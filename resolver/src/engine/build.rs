//! Building the engine from `serve`'s configuration.

use std::path::Path;
use std::sync::Arc;

use danebound_trust_anchors::{root, text};

use super::{Resolver, Upstream};
use crate::autotrust::TrustPoints;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ZoneConfig};
use crate::forward::Upstreams;
use crate::iterator::{IterConfig, Iterator, RootHints, ZoneServers};
use crate::resolve::Resolve;
use crate::transport::Transport;
use crate::transport::net::NetTransport;
use crate::transport::tls::TlsTransport;
use crate::validator::{Anchors, Crypto, Limits, RingCrypto};

/// The validating resolver `serve` uses for `config`: recursive from the
/// root (or the configured hints), with the configured stub and forward
/// zones; or, when `forward` names upstreams, forwarding everything to
/// them. It validates from the static trust anchors and the RFC
/// 5011-managed ones (with no anchor configured: the root's state file, or
/// the built-in root keys when it does not exist yet). Building reads the
/// files; only the probe driver writes.
pub fn build(config: &Config) -> Result<Arc<dyn Resolve>, String> {
    Ok(Arc::new(build_resolver(config)?))
}

/// The same resolver as [`build`], as the concrete type, for callers that
/// need more than [`Resolve`] (`danebound query --trace-chain` calls
/// [`Resolver::resolve_traced`]).
pub fn build_resolver(config: &Config) -> Result<Resolver, String> {
    let limits = Limits {
        min_rsa_bits: config.min_rsa_bits,
        ..Limits::default()
    };
    let crypto = Arc::new(RingCrypto::with_limits(&limits));
    let managed = config.managed_anchor_files();
    let statics = if config.trust_anchors.is_empty() && !managed.is_empty() {
        Anchors::new()
    } else {
        load_anchors(&config.trust_anchors)?
    };
    let trust_points =
        TrustPoints::load(&managed, statics, config.autotrust.clone(), crypto.as_ref())?;
    let anchors = trust_points.anchors();
    tracing::info!(zones = ?anchors.zones().collect::<Vec<_>>(), "trust anchors");
    let signed: Vec<_> = anchors.zones().cloned().collect();
    let upstream = build_upstream(config, transport(config)?, Arc::new(SystemClock), &signed)?;
    let resolver = Resolver::new(
        Arc::new(super::counted::Counted(upstream)),
        anchors,
        crypto,
        Arc::new(SystemClock),
    )
    .with_limits(limits)
    .with_sentinel(config.autotrust.sentinel)
    .with_domain_insecure(config.domain_insecure.clone())
    .with_bogus_ttl(config.cache.bogus_ttl)
    .with_max_inflight_bytes(config.max_inflight_bytes)
    .with_aggressive_nsec(config.aggressive_nsec);
    Ok(if trust_points.is_empty() {
        resolver
    } else {
        resolver.with_trust_points(trust_points)
    })
}

/// The sockets `config` asks through: plain UDP and TCP, and DNS over TLS
/// (RFC 7858) to the upstreams configured with `#NAME`.
pub fn transport(config: &Config) -> Result<Arc<dyn Transport>, String> {
    let plain: Arc<dyn Transport> = Arc::new(NetTransport);
    if config.tls_upstreams.is_empty() {
        return Ok(plain);
    }
    tracing::info!(
        upstreams = ?config
            .tls_upstreams
            .iter()
            .map(|(addr, auth)| format!("{addr}#{auth}"))
            .collect::<Vec<_>>(),
        "DNS over TLS"
    );
    Ok(Arc::new(TlsTransport::new(
        &config.tls_upstreams,
        &config.tls_ca,
        plain,
    )?))
}

/// Where `config` sends its questions: the forwarder when `forward` names
/// upstreams, else the iterator. `signed_zones`: the trust anchors' zones,
/// whose servers must answer with RRSIGs (DNSSEC-lame detection).
pub fn build_upstream(
    config: &Config,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    signed_zones: &[crate::wire::Name],
) -> Result<Arc<dyn Upstream>, String> {
    if !config.forward.is_empty() {
        tracing::info!(servers = ?config.forward, "forwarding mode (validating stub)");
        let upstreams = Upstreams::new(config.forward.clone(), transport)
            .with_timeout(config.upstream_timeout)
            .with_rounds(config.upstream_rounds)
            .with_caps_for_id(config.use_caps_for_id);
        return Ok(Arc::new(upstreams));
    }
    let hints = match &config.root_hints {
        Some(path) => RootHints::load(path)?,
        None => RootHints::iana(),
    };
    let iter_config = iter_config(config, hints, signed_zones);
    tracing::info!(
        root_servers = iter_config.hints.servers.len(),
        stub_zones = iter_config.stub_zones.len(),
        forward_zones = iter_config.forward_zones.len(),
        "recursive mode"
    );
    let iterator = Arc::new(
        Iterator::new(iter_config, transport, clock).with_caps_for_id(config.use_caps_for_id),
    );
    // Priming at start and before the root NS set expires (RFC 9609 §3),
    // in the background, when built to serve (inside the runtime: `serve`,
    // a reload); a one-shot `query` builds outside it and primes lazily.
    if tokio::runtime::Handle::try_current().is_ok() {
        iterator.spawn_priming();
    }
    // DNSKEY sets fetched beside the question (spawned on the runtime the
    // question runs on; none without one).
    iterator.enable_key_prefetch();
    Ok(iterator)
}

/// The iterator's configuration for `config` (recursive mode), from
/// `hints` (the root hints file it names, loaded, or the built-in ones) and
/// the trust anchors' zones (`signed_zones`: their servers must answer with
/// RRSIGs). The replay harness builds its iterator through here too, so that
/// it runs what `serve` runs.
pub fn iter_config(
    config: &Config,
    hints: RootHints,
    signed_zones: &[crate::wire::Name],
) -> IterConfig {
    let zones = |list: &[ZoneConfig]| {
        list.iter()
            .map(|z| ZoneServers {
                zone: z.name.clone(),
                servers: z.addresses.clone(),
            })
            .collect()
    };
    IterConfig {
        hints,
        stub_zones: zones(&config.stub_zones),
        forward_zones: zones(&config.forward_zones),
        query_localhost: !config.do_not_query_localhost,
        max_ttl: config.cache.max_ttl,
        signed_zones: signed_zones.to_vec(),
        ..IterConfig::default()
    }
}

/// Trust anchors from files of DS or DNSKEY records in zone-file format
/// (unbound's `trust-anchor-file` and `auto-trust-anchor-file` formats are
/// zone files with comments), or the built-in root keys when none is given.
pub fn load_anchors(paths: &[impl AsRef<Path>]) -> Result<Anchors, String> {
    if paths.is_empty() {
        let (anchors, _) = Anchors::from_records(&root::default_root_ds());
        return Ok(anchors);
    }
    let mut anchors = Anchors::new();
    for path in paths {
        let path = path.as_ref();
        let content = std::fs::read_to_string(path)
            .map_err(|e| format!("trust anchor file {}: {e}", path.display()))?;
        let records = text::parse_records(&content, None, 3600)
            .map_err(|e| format!("trust anchor file {}: {e}", path.display()))?;
        let mut found = 0;
        let mut usable = 0;
        let crypto = RingCrypto::default();
        for record in &records {
            if anchors.add(record) {
                found += 1;
                if anchor_usable(record, &crypto) {
                    usable += 1;
                }
            }
        }
        if found == 0 {
            return Err(format!(
                "trust anchor file {}: no DS or DNSKEY record",
                path.display()
            ));
        }
        if usable == 0 {
            // Otherwise the zone would silently be insecure (RFC 4035 §5.2).
            return Err(format!(
                "trust anchor file {}: every DS or DNSKEY uses an unsupported algorithm or digest",
                path.display()
            ));
        }
    }
    Ok(anchors)
}

/// Can `record` (a DS or DNSKEY anchor) validate anything with `crypto`?
fn anchor_usable(record: &crate::wire::Record, crypto: &dyn Crypto) -> bool {
    use crate::wire::{DNSSECRData, PublicKey, RData};
    match &record.data {
        RData::DNSSEC(DNSSECRData::DS(ds)) => {
            crypto.supports_algorithm(u8::from(ds.algorithm()), &[])
                && crypto.supports_digest(u8::from(ds.digest_type()))
        }
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => crypto.supports_algorithm(
            u8::from(k.public_key().algorithm()),
            k.public_key().public_bytes(),
        ),
        _ => false,
    }
}
