//! Resolution slots: at most `max_inflight` cache misses resolving at once,
//! and at most `max_inflight_per_client` of them for one client address, so
//! one client cannot take every slot and have everyone else answered
//! SERVFAIL (issue 11, item 2). A miss that gets no slot is answered
//! SERVFAIL at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slots.
pub(super) struct Inflight {
    global: Arc<Semaphore>,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    max_per_client: usize,
}

/// One resolution's slot; released when dropped.
pub(super) struct Slot {
    _global: OwnedSemaphorePermit,
    client: IpAddr,
    owner: Arc<Inflight>,
}

impl Inflight {
    pub(super) fn new(max: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            global: Arc::new(Semaphore::new(max)),
            per_client: Mutex::new(HashMap::new()),
            max_per_client,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_client.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a miss of `client`, or `None` when the server or that
    /// client is at its limit.
    pub(super) fn try_admit(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let mut per_client = self.lock();
        if per_client.get(&client).copied().unwrap_or(0) >= self.max_per_client {
            return None;
        }
        let global = Arc::clone(&self.global).try_acquire_owned().ok()?;
        *per_client.entry(client).or_default() += 1;
        Some(Slot {
            _global: global,
            client,
            owner: Arc::clone(self),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_client = self.owner.lock();
        if let Some(n) = per_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                per_client.remove(&self.client);
            }
        }
    }
}
