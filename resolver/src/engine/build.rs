//! Building the engine from `serve`'s configuration.

use std::path::Path;
use std::sync::Arc;

use danebound_trust_anchors::{root, text};

use super::Resolver;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::forward::{Upstreams, default_upstreams};
use crate::resolve::Resolve;
use crate::transport::net::NetTransport;
use crate::validator::{Anchors, RingCrypto};

/// The validating resolver `serve` uses for `config`: forwarding mode to the
/// configured upstreams (or those of /etc/resolv.conf), validating from the
/// configured trust anchors (or the built-in root keys).
pub fn build(config: &Config) -> Result<Arc<dyn Resolve>, String> {
    Ok(Arc::new(build_resolver(config)?))
}

/// The same resolver as [`build`], as the concrete type, for callers that
/// need more than [`Resolve`] (`danebound query --trace-chain` calls
/// [`Resolver::resolve_traced`]).
pub fn build_resolver(config: &Config) -> Result<Resolver, String> {
    let anchors = load_anchors(&config.trust_anchors)?;
    let servers = if config.forward.is_empty() {
        default_upstreams(&config.listen)
    } else {
        config.forward.clone()
    };
    if servers.is_empty() {
        tracing::warn!("no upstream nameserver: /etc/resolv.conf names none but ourselves");
    }
    tracing::info!(?servers, zones = ?anchors.zones().collect::<Vec<_>>(), "validating stub");
    let upstreams = Upstreams::new(servers, Arc::new(NetTransport))
        .with_timeout(config.upstream_timeout)
        .with_rounds(config.upstream_rounds);
    Ok(Resolver::new(
        Arc::new(upstreams),
        anchors,
        Arc::new(RingCrypto::default()),
        Arc::new(SystemClock),
    )
    .with_bogus_ttl(config.cache.bogus_ttl))
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
        for record in &records {
            if anchors.add(record) {
                found += 1;
            }
        }
        if found == 0 {
            return Err(format!(
                "trust anchor file {}: no DS or DNSKEY record",
                path.display()
            ));
        }
    }
    Ok(anchors)
}
