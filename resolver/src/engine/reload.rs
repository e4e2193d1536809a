//! `reload` on the engine's side: what a re-read configuration changes in
//! the [`Resolver`] while it runs, and whether the answer cache must go.
//!
//! Everything is prepared before anything is swapped (a new upstream built,
//! anchor files read), so a reload that fails leaves the resolver as it
//! was. What the engine applies: the forwarders and the forward and stub
//! zones (with their DNS-over-TLS settings, root hints, timeouts), the
//! `domain_insecure` zones, and the static trust anchor files when the
//! RFC 5011-managed set is unchanged. Answers produced by what changed are
//! not kept: the caller drops the answer cache when [`EngineReload::flush`]
//! says so, and a change of anchors also empties the key store.

use std::sync::Arc;

use super::{Resolver, build, write};
use crate::config::Config;
use crate::validator::Anchors;

/// What [`Resolver::reconfigure`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EngineReload {
    /// The settings applied, by name.
    pub applied: Vec<&'static str>,
    /// Why the answer cache must be dropped (empty: it still applies).
    pub flush: Vec<&'static str>,
}

/// Do `a` and `b` send questions to different places, or differently?
fn upstream_differs(a: &Config, b: &Config) -> bool {
    a.forward != b.forward
        || a.forward_zones != b.forward_zones
        || a.stub_zones != b.stub_zones
        || a.root_hints != b.root_hints
        || a.do_not_query_localhost != b.do_not_query_localhost
        || a.tls_upstreams != b.tls_upstreams
        || a.tls_ca != b.tls_ca
        || a.upstream_timeout != b.upstream_timeout
        || a.upstream_rounds != b.upstream_rounds
}

impl Resolver {
    /// Applies what differs between `old` (the running configuration) and
    /// `new` and can change live; returns what it applied. `old` is updated
    /// to match `new` for those settings, so that what still differs is
    /// what needs a restart. Nothing changes when it fails.
    pub fn reconfigure(&self, old: &mut Config, new: &Config) -> Result<EngineReload, String> {
        let mut report = EngineReload::default();
        // Prepare.
        let upstream = if upstream_differs(old, new) {
            let transport = build::transport(new)?;
            let signed: Vec<_> = self.anchors().zones().cloned().collect();
            let upstream = build::build_upstream(new, transport, Arc::clone(&self.clock), &signed)?;
            Some(Arc::new(super::counted::Counted(upstream)) as Arc<dyn super::Upstream>)
        } else {
            None
        };
        // Static anchors: only while the managed set stays (it holds RFC
        // 5011 state that a restart loads).
        let statics = if old.trust_anchors != new.trust_anchors
            && old.managed_anchor_files() == new.managed_anchor_files()
        {
            let managed = new.managed_anchor_files();
            Some(if new.trust_anchors.is_empty() && !managed.is_empty() {
                Anchors::new()
            } else {
                build::load_anchors(&new.trust_anchors)?
            })
        } else {
            None
        };
        // Apply.
        if let Some(upstream) = upstream {
            *write(&self.upstream) = upstream;
            copy_upstream(old, new);
            report.applied.push("upstreams");
            report.flush.push("upstreams");
        }
        if old.domain_insecure != new.domain_insecure {
            *write(&self.domain_insecure) = Arc::new(new.domain_insecure.clone());
            old.domain_insecure.clone_from(&new.domain_insecure);
            report.applied.push("domain_insecure");
            report.flush.push("domain_insecure");
        }
        if let Some(statics) = statics {
            let anchors = self
                .with_points(|tps| {
                    tps.set_statics(statics.clone());
                    tps.anchors()
                })
                .unwrap_or(statics);
            tracing::info!(zones = ?anchors.zones().collect::<Vec<_>>(), "trust anchors reloaded");
            *write(&self.anchors) = Arc::new(anchors);
            // Keys authenticated through an anchor that is gone must go
            // with it (nothing bogus, nothing unproven is kept).
            self.keys.clear();
            old.trust_anchors.clone_from(&new.trust_anchors);
            report.applied.push("trust_anchors");
            report.flush.push("trust_anchors");
        }
        Ok(report)
    }
}

fn copy_upstream(old: &mut Config, new: &Config) {
    old.forward.clone_from(&new.forward);
    old.forward_zones.clone_from(&new.forward_zones);
    old.stub_zones.clone_from(&new.stub_zones);
    old.root_hints.clone_from(&new.root_hints);
    old.do_not_query_localhost = new.do_not_query_localhost;
    old.tls_upstreams.clone_from(&new.tls_upstreams);
    old.tls_ca.clone_from(&new.tls_ca);
    old.upstream_timeout = new.upstream_timeout;
    old.upstream_rounds = new.upstream_rounds;
}
