//! Prefetch (unbound's `prefetch`): [`Prefetcher`].
//!
//! A cache hit in the last 10 % of its entry's TTL is answered from the
//! cache as usual, and the question is resolved again in the background, so
//! that a popular name is refreshed before it expires and its clients never
//! wait for a miss. Each entry is refreshed at most once: a refresh in
//! flight, or one that failed, is remembered until the entry it was
//! started for expires, so concurrent hits start one refresh and a failing
//! upstream is not asked on every hit. Refreshes are bounded in number
//! ([`MAX_PENDING`]); over it, no refresh starts.
//!
//! The decision ([`Prefetcher::due`]) is pure; [`Prefetcher::consider`]
//! spawns the refresh on the current tokio runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cache::{Cache, Entry};
use crate::request::Request;
use crate::resolve::Resolve;
use crate::stats;
use crate::wire::ResponseCode;

/// At most this many refreshes remembered (in flight, or failed for an
/// entry that has not expired yet).
pub const MAX_PENDING: usize = 1024;

/// Starts background refreshes of entries hit near their end.
pub struct Prefetcher {
    resolver: Arc<dyn Resolve>,
    cache: Arc<Cache>,
    /// Cache key → the end of the entry a refresh was started for.
    pending: Mutex<HashMap<Box<[u8]>, u64>>,
}

impl std::fmt::Debug for Prefetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetcher").finish_non_exhaustive()
    }
}

impl Prefetcher {
    /// A prefetcher refreshing `cache` through `resolver`.
    pub fn new(resolver: Arc<dyn Resolve>, cache: Arc<Cache>) -> Arc<Self> {
        Arc::new(Self {
            resolver,
            cache,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Whether a hit on `entry` at `now` is in the last 10 % of its TTL
    /// (unbound's `PREFETCH_TTL_CALC`: the original TTL over 10). Bogus
    /// entries (held `bogus_ttl`) and errors are not refreshed.
    pub fn due(entry: &Entry, now: u64) -> bool {
        let remaining = u64::from(entry.remaining(now));
        remaining > 0
            && remaining * 10 <= u64::from(entry.ttl())
            && !entry.outcome().is_bogus()
            && matches!(
                entry.rcode(),
                ResponseCode::NoError | ResponseCode::NXDomain
            )
    }

    /// After a hit on `entry` for `request` at `now`: starts the refresh
    /// when due and none was started for this entry. CD=1 questions are
    /// not refreshed (their entry may be a CD=0 one).
    pub fn consider(self: &Arc<Self>, request: &Request, entry: &Entry, now: u64) {
        if request.cd || !Self::due(entry, now) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let key = request.cache_key(false);
        let end = now + u64::from(entry.remaining(now));
        {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending
                .get(key.as_bytes())
                .is_some_and(|&until| until >= now)
            {
                return;
            }
            if pending.len() >= MAX_PENDING {
                pending.retain(|_, until| *until >= now);
                if pending.len() >= MAX_PENDING {
                    return;
                }
            }
            pending.insert(key.as_bytes().into(), end);
        }
        stats::global().prefetch();
        let this = Arc::clone(self);
        let query = request.query();
        runtime.spawn(async move {
            let resolution = this.resolver.resolve(&query, false).await;
            let refreshed = this.cache.ttl_for(&resolution) > 0
                && this.cache.insert(&key, resolution).is_some();
            tracing::debug!(name = %query.name(), qtype = %query.query_type(), refreshed, "prefetch");
            if refreshed {
                // The new entry will be refreshed in its own last 10 %.
                let mut pending = this.pending.lock().unwrap_or_else(|e| e.into_inner());
                if pending.get(key.as_bytes()) == Some(&end) {
                    pending.remove(key.as_bytes());
                }
            }
        });
    }
}
