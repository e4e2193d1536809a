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
                // Still full of live entries: drop those closest to expiry,
                // a tenth of the store, so that the next few misses do not
                // each pay for a sweep.
                let mut by_expiry: Vec<(u64, Name)> =
                    map.iter().map(|(z, (_, e))| (*e, z.clone())).collect();
                by_expiry.sort_unstable_by_key(|(e, _)| *e);
                let drop = (self.max_entries / 10).max(learned.len());
                for (_, zone) in by_expiry.into_iter().take(drop) {
                    map.remove(&zone);
                }
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

    /// Forgets the zones at or below `zone` (`danebound control flush_zone`);
    /// returns how many.
    pub fn remove_at_or_below(&self, zone: &Name) -> usize {
        let Ok(mut map) = self.map.write() else {
            return 0;
        };
        let before = map.len();
        map.retain(|z, _| !zone.zone_of(z));
        before - map.len()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::InsecureReason;
    use std::str::FromStr;

    fn insecure(zone: &str) -> (Name, KeyLookup) {
        let zone = Name::from_str(zone).unwrap();
        (
            zone.clone(),
            KeyLookup::Insecure(InsecureReason::UnsignedDelegation { zone }),
        )
    }

    #[test]
    fn lookups_expire_and_bogus_is_never_stored() {
        let store = KeyStore::new(100);
        let (zone, lookup) = insecure("a.example.");
        let bogus = (
            Name::from_str("b.example.").unwrap(),
            KeyLookup::Bogus(crate::validator::BogusReason::Malformed { detail: "x".into() }),
        );
        store.learn(&[(zone.clone(), lookup), bogus.clone()], 1000);
        assert!(store.view(1000).get(&zone).is_some());
        assert!(store.view(1000).get(&bogus.0).is_none());
        assert!(store.view(1000 + INSECURE_TTL).get(&zone).is_none());
    }

    #[test]
    fn a_full_store_evicts_the_entries_closest_to_expiry() {
        let store = KeyStore::new(10);
        for i in 0..10u64 {
            store.learn(&[insecure(&format!("z{i}.example."))], 1000 + i);
        }
        assert_eq!(store.len(), 10);
        store.learn(&[insecure("new.example.")], 1100);
        assert!(store.len() <= 10);
        let view = store.view(1100);
        assert!(view.get(&Name::from_str("new.example.").unwrap()).is_some());
        assert!(view.get(&Name::from_str("z0.example.").unwrap()).is_none());
        assert!(view.get(&Name::from_str("z9.example.").unwrap()).is_some());
    }
}
