//! The I/O side of RFC 5011: probes per trust point at the times the state
//! machine asks for, on the engine's clock seam, straight to the upstream
//! (no cache, no local data); the anchor set swapped atomically when the
//! trusted keys change; RFC 8145 signalling and the RFC 8509 sentinel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::debug;

use super::Resolver;
use crate::autotrust::sentinel::{root_tags, sentinel_rcode};
use crate::autotrust::{AuthenticatedDnskeys, TrustPoints};
use crate::resolve::Resolution;
use crate::validator::{Anchors, Outcome};
use crate::wire::{DNSClass, Name, RecordType};

#[cfg(test)]
mod tests;

/// The longest the driver sleeps between looks at the clock (the clock seam
/// may jump; a changed system time is noticed within this).
const MAX_NAP: u64 = 300;

impl Resolver {
    /// Manage `trust_points` (RFC 5011): their anchors replace the ones
    /// given to [`Resolver::new`].
    pub fn with_trust_points(mut self, trust_points: TrustPoints) -> Self {
        self.anchors = std::sync::RwLock::new(Arc::new(trust_points.anchors()));
        self.trust_points = Some(Mutex::new(trust_points));
        self
    }

    pub(super) fn with_points<T>(&self, f: impl FnOnce(&mut TrustPoints) -> T) -> Option<T> {
        let lock = self.trust_points.as_ref()?;
        let mut guard = match lock.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        Some(f(&mut guard))
    }

    /// Does this resolver manage trust points?
    pub fn manages_trust_points(&self) -> bool {
        self.trust_points.is_some()
    }

    /// The managed trust points' state files as they would be written now
    /// (unbound's format), for status output and tests.
    pub fn trust_point_files(&self) -> Vec<(std::path::PathBuf, String)> {
        self.with_points(|tps| {
            tps.trust_points()
                .map(|(p, tp)| {
                    (
                        p.to_path_buf(),
                        danebound_trust_anchors::autotrust_file::write(tp),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// When the next RFC 5011 probe (or write retry) is due.
    pub fn next_trust_point_wake(&self) -> Option<u64> {
        self.with_points(|tps| tps.next_wake()).flatten()
    }

    /// Write the state files that are behind (first start, failed writes).
    /// `serve` calls this at startup and refuses to start when it fails.
    /// Files that exist but could not be rewritten are logged loudly: the
    /// server runs, but cannot follow a key roll across restarts.
    pub fn persist_trust_points(&self) -> Result<(), String> {
        let errors = self.with_points(TrustPoints::flush).unwrap_or_default();
        for e in self.with_points(|t| t.check_writable()).unwrap_or_default() {
            tracing::error!(
                "trust anchor state cannot be written: {e}; RFC 5011 updates will not survive a restart"
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Probe every trust point that is due, feed the results, swap the
    /// anchors if the trusted keys changed and write the files. Returns
    /// when the next probe or write retry is due.
    pub async fn probe_trust_points(&self) -> Option<u64> {
        let now = self.clock.unix_now();
        let due = self.with_points(|tps| tps.due(now))?;
        let signaling = self
            .with_points(|tps| tps.config().signaling)
            .unwrap_or(false);
        let validation_now = self.validation_time.unwrap_or(now);
        for (i, zone, tp) in due {
            let probe = match self
                .upstream()
                .query(&zone, RecordType::DNSKEY, DNSClass::IN)
                .await
            {
                Ok(reply) => AuthenticatedDnskeys::from_response(
                    &zone,
                    &reply.message,
                    &tp,
                    validation_now,
                    self.crypto.as_ref(),
                ),
                Err(e) => Err(format!("no answer: {e}")),
            };
            let random = rand::random::<u32>();
            let applied = self.with_points(|tps| tps.apply(i, now, probe, random));
            if applied.as_ref().is_some_and(|a| a.anchors_changed) {
                self.refresh_anchors();
            }
            if signaling && applied.is_some_and(|a| a.validated) {
                self.signal_key_tags(&zone).await;
            }
        }
        self.with_points(|tps| {
            tps.flush();
            tps.next_wake()
        })
        .flatten()
    }

    /// Rebuild the anchor set from the trust points and swap it in; key
    /// sets authenticated through anchors that may no longer be trusted
    /// leave the key store, and the answer cache's owner is told (answers
    /// validated through them leave too).
    fn refresh_anchors(&self) {
        let Some(anchors) = self.with_points(|tps| tps.anchors()) else {
            return;
        };
        match self.anchors.write() {
            Ok(mut a) => *a = Arc::new(anchors),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(anchors),
        }
        self.keys.clear();
        if let Some(spans) = &self.aggressive {
            spans.clear();
        }
        if let Some(hook) = self.on_anchor_change.get() {
            hook();
        }
    }

    /// RFC 8145 §5: tell the upstream which keys we trust for `zone`.
    async fn signal_key_tags(&self, zone: &Name) {
        let names = self
            .with_points(|tps| tps.signal_names())
            .unwrap_or_default();
        for name in names.iter().filter(|n| zone.zone_of(n)) {
            if let Err(e) = self
                .upstream()
                .query(name, RecordType::NULL, DNSClass::IN)
                .await
            {
                debug!(%name, "key tag signal not answered: {e}");
            }
        }
    }

    /// Run RFC 5011 maintenance until the process ends: probe when due,
    /// sleep in between (at most [`MAX_NAP`] seconds at a time).
    pub async fn maintain_trust_points(self: Arc<Self>) {
        loop {
            let next = self.probe_trust_points().await;
            let now = self.clock.unix_now();
            let wait = match next {
                Some(t) => t.saturating_sub(now).clamp(1, MAX_NAP),
                None if self.trust_points.is_none() => return,
                None => MAX_NAP,
            };
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// RFC 8509 §3: the answer to a root-key-sentinel question, when the
    /// sentinel says SERVFAIL.
    pub(super) fn sentinel(
        &self,
        qname: &Name,
        qtype: RecordType,
        outcome: &Outcome,
        anchors: &Anchors,
    ) -> Option<Resolution> {
        if !self.sentinel_enabled {
            return None;
        }
        sentinel_rcode(qname, qtype, outcome, || root_tags(anchors))?;
        // RFC 8509 §3.2 names no EDE; the text says what the SERVFAIL
        // means, as the client cannot tell it from a failure otherwise.
        let label = qname
            .iter()
            .next()
            .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
            .unwrap_or_default();
        let why = if label.starts_with("root-key-sentinel-is-ta-") {
            "is not"
        } else {
            "is"
        };
        Some(Resolution::failed(crate::validator::outcome::Ede {
            code: crate::validator::outcome::ede_code::OTHER,
            text: format!(
                "RFC 8509 root-key-sentinel: key {} {why} a trust anchor of the root",
                label.rsplit('-').next().unwrap_or_default()
            ),
        }))
    }
}
