//! The engine's cache of key lookups: authenticated DNSKEY sets and proven
//! insecure delegations, per zone, shared by all validations.
//!
//! Only what a session proved enters: a `KeyLookup::Keys` exists only as the
//! result of `authenticate_dnskeys`. Bogus results are never kept here (the
//! answer cache holds bogus answers briefly instead).

use std::collections::HashMap;
use std::sync::RwLock;

use crate::validator::{KeyCache, KeyLookup};
use crate::wire::Name;

/// How long a proven insecure delegation is trusted without re-proving it.
/// The DS denial's own TTL would be better; one hour bounds staleness.
const INSECURE_TTL: u64 = 3600;

/// Zone → key lookup, with expiry.
#[derive(Debug)]
pub struct KeyStore {
    map: RwLock<HashMap<Name, (KeyLookup, u64)>>,
    max_entries: usize,
}

impl KeyStore {
    /// A store holding at most `max_entries` zones.
    pub fn new(max_entries: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            max_entries,
        }
    }

    /// A view at time `now` for a validation session.
    pub fn view(&self, now: u64) -> KeyStoreView<'_> {
        KeyStoreView { store: self, now }
    }

    /// Remember what a session learned.
    pub fn learn(&self, learned: &[(Name, KeyLookup)], now: u64) {
        if learned.is_empty() {
            return;
        }
        let Ok(mut map) = self.map.write() else {
            return;
        };
        if map.len() + learned.len() > self.max_entries {
            map.retain(|_, (_, expires)| *expires > now);
            if map.len() + learned.len() > self.max_entries {
                map.clear();
            }
        }
        for (zone, lookup) in learned {
            let ttl = match lookup {
                KeyLookup::Keys(keys) => u64::from(keys.ttl()),
                KeyLookup::Insecure(_) => INSECURE_TTL,
                KeyLookup::Bogus(_) | KeyLookup::NoAnchor => continue,
            };
            map.insert(zone.to_lowercase(), (lookup.clone(), now + ttl));
        }
    }

    /// Number of zones held.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`KeyStore`] at one instant.
pub struct KeyStoreView<'a> {
    store: &'a KeyStore,
    now: u64,
}

impl KeyCache for KeyStoreView<'_> {
    fn get(&self, zone: &Name) -> Option<KeyLookup> {
        let map = self.store.map.read().ok()?;
        match map.get(zone) {
            Some((lookup, expires)) if *expires > self.now => Some(lookup.clone()),
            _ => None,
        }
    }
}
