//! The engine's cache of key lookups: authenticated DNSKEY sets and proven
//! insecure delegations, per zone, shared by all validations.
//!
//! Only what a session proved enters: a `KeyLookup::Keys` exists only as the
//! result of `authenticate_dnskeys`. A zone whose DNSKEY or DS data a session
//! judged bogus (or whose key work alone ran over the validation budget) is
//! kept as bogus for [`BOGUS_TTL`], as unbound's key cache marks a key set
//! bad: every new name under it is then answered from this memory instead
//! of repeating the work (issue 11, item 3).

use crate::hashing::{NameKey, NameMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::validator::keys::name_heap;
use crate::validator::{KeyCache, KeyLookup};
use crate::wire::Name;

/// The longest a proven insecure delegation is trusted without re-proving
/// it: the DS denial's own TTL, at most one hour (a zone that gets signed
/// is then seen within the hour, whatever TTL its parent's denial had).
const INSECURE_TTL: u64 = 3600;

/// How long a zone judged bogus stays bogus by default: 60 s, unbound's
/// `val-bogus-ttl`; `serve` uses the answer cache's `bogus_ttl`.
pub(crate) const BOGUS_TTL: u64 = 60;

/// The default bound of the key store in bytes: 16 MiB, four times
/// unbound's default `key-cache-size`. A zone built to fill it (a 64 KB
/// DNSKEY set is about 130 KB held) takes at most its share.
pub(crate) const DEFAULT_MAX_BYTES: usize = 16 << 20;

/// One zone's lookup, its expiry and the bytes it is counted for.
#[derive(Debug)]
struct Held {
    lookup: KeyLookup,
    expires: u64,
    bytes: usize,
}

/// The zones and what they hold in all.
#[derive(Debug, Default)]
struct Map {
    zones: NameMap<NameKey, Held>,
    bytes: usize,
}

impl Map {
    fn remove(&mut self, zone: &NameKey) {
        if let Some(held) = self.zones.remove(zone) {
            self.bytes -= held.bytes;
        }
    }
}

/// Zone → key lookup, with expiry, bounded by a zone count and by bytes.
#[derive(Debug)]
pub(crate) struct KeyStore {
    map: RwLock<Map>,
    max_entries: usize,
    max_bytes: usize,
    bogus_ttl: u64,
}

impl KeyStore {
    /// A store holding at most `max_entries` zones and `max_bytes` bytes
    /// (what the lookups hold, their names and the map's slots).
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            map: RwLock::new(Map::default()),
            max_entries,
            max_bytes,
            bogus_ttl: BOGUS_TTL,
        }
    }

    /// Hold zones judged bogus for `secs` seconds (0: not at all).
    pub(crate) fn with_bogus_ttl(mut self, secs: u64) -> Self {
        self.bogus_ttl = secs;
        self
    }

    /// A view at time `now` for a validation session.
    pub(crate) fn view(&self, now: u64) -> KeyStoreView<'_> {
        KeyStoreView {
            store: self,
            now,
            skip_bogus: false,
            served_bogus: AtomicBool::new(false),
        }
    }

    /// A view for a retry after a bogus answer (asked again of other
    /// servers): zones remembered as bogus are judged afresh, as the retry
    /// brings new data; proven key sets and insecure cuts still serve.
    pub(crate) fn view_for_retry(&self, now: u64) -> KeyStoreView<'_> {
        KeyStoreView {
            skip_bogus: true,
            ..self.view(now)
        }
    }

    /// Whether `zone` is remembered as bogus at `now` (its key set or DS
    /// set was judged bogus within the bogus TTL).
    pub(crate) fn is_bogus(&self, zone: &Name, now: u64) -> bool {
        self.map.read().is_ok_and(|m| {
            m.zones
                .get(&NameKey::new(zone))
                .is_some_and(|h| h.expires > now && matches!(h.lookup, KeyLookup::Bogus(_)))
        })
    }

    /// Remember what a session learned; an insecure delegation for the
    /// TTL of the denial that proved it (`insecure_ttl`, capped at
    /// [`INSECURE_TTL`]; unknown: the cap).
    #[cfg(test)]
    pub(crate) fn learn(&self, learned: &[(Name, KeyLookup)], now: u64) {
        self.learn_with_ttls(learned, |_| None, now);
    }

    /// [`KeyStore::learn`] with the insecure delegations' denial TTLs.
    pub(crate) fn learn_with_ttls(
        &self,
        learned: &[(Name, KeyLookup)],
        insecure_ttl: impl Fn(&Name) -> Option<u32>,
        now: u64,
    ) {
        if learned.is_empty() {
            return;
        }
        let Ok(mut map) = self.map.write() else {
            return;
        };
        for (zone, lookup) in learned {
            let ttl = match lookup {
                KeyLookup::Keys(keys) => u64::from(keys.ttl()),
                KeyLookup::Insecure(_) => {
                    insecure_ttl(zone).map_or(INSECURE_TTL, |t| u64::from(t).min(INSECURE_TTL))
                }
                KeyLookup::Bogus(_) if self.bogus_ttl == 0 => continue,
                KeyLookup::Bogus(_) => self.bogus_ttl,
                KeyLookup::NoAnchor => continue,
            };
            let bytes =
                lookup.bytes() + name_heap(zone) + (size_of::<(NameKey, Held)>() + 1) * 8 / 7;
            if bytes > self.max_bytes / 16 {
                // One zone may not take more than a sixteenth of the store.
                continue;
            }
            let zone = NameKey::new(zone);
            map.remove(&zone);
            self.make_room(&mut map, bytes, now);
            map.bytes += bytes;
            map.zones.insert(
                zone,
                Held {
                    lookup: lookup.clone(),
                    expires: now + ttl,
                    bytes,
                },
            );
        }
    }

    /// Evict until one more zone of `bytes` fits: expired zones first, then
    /// those closest to expiry, a tenth of the store at a time so that the
    /// next few misses do not each pay for a sweep.
    fn make_room(&self, map: &mut Map, bytes: usize, now: u64) {
        let fits = |m: &Map| m.zones.len() < self.max_entries && m.bytes + bytes <= self.max_bytes;
        if fits(map) {
            return;
        }
        let expired: Vec<NameKey> = map
            .zones
            .iter()
            .filter(|(_, h)| h.expires <= now)
            .map(|(z, _)| z.clone())
            .collect();
        for zone in &expired {
            map.remove(zone);
        }
        if fits(map) {
            return;
        }
        let mut by_expiry: Vec<(u64, NameKey)> = map
            .zones
            .iter()
            .map(|(z, h)| (h.expires, z.clone()))
            .collect();
        by_expiry.sort_unstable_by_key(|(e, _)| *e);
        let (mut dropped, target) = (0, (map.zones.len() / 10).max(1));
        for (_, zone) in by_expiry {
            if dropped >= target && fits(map) {
                break;
            }
            map.remove(&zone);
            dropped += 1;
        }
    }

    /// Forget everything: the trust anchors changed, and key sets
    /// authenticated through an anchor no longer trusted must not outlive it.
    pub(crate) fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            *map = Map::default();
        }
    }

    /// Forgets the zones at or below `zone` (`danebound control flush_zone`);
    /// returns how many.
    pub(crate) fn remove_at_or_below(&self, zone: &Name) -> usize {
        let Ok(mut map) = self.map.write() else {
            return 0;
        };
        let doomed: Vec<NameKey> = map
            .zones
            .keys()
            .filter(|z| zone.zone_of(z.name()))
            .cloned()
            .collect();
        for z in &doomed {
            map.remove(z);
        }
        doomed.len()
    }

    /// Number of zones held.
    pub(crate) fn len(&self) -> usize {
        self.map.read().map(|m| m.zones.len()).unwrap_or(0)
    }

    /// Bytes held (`danebound control stats`).
    pub(crate) fn bytes(&self) -> usize {
        self.map.read().map(|m| m.bytes).unwrap_or(0)
    }
}

/// A [`KeyStore`] at one instant.
pub(crate) struct KeyStoreView<'a> {
    store: &'a KeyStore,
    now: u64,
    /// A retry's view: remembered bogus zones are not served.
    skip_bogus: bool,
    /// Whether a remembered bogus zone was served to the session.
    served_bogus: AtomicBool,
}

impl KeyStoreView<'_> {
    /// Whether the session was handed a zone remembered as bogus: its
    /// verdict then comes from that memory, and asking other servers again
    /// would only repeat the work the memory exists to save.
    pub(crate) fn served_bogus(&self) -> bool {
        self.served_bogus.load(Ordering::Relaxed)
    }
}

impl KeyCache for KeyStoreView<'_> {
    fn get(&self, zone: &Name) -> Option<KeyLookup> {
        let map = self.store.map.read().ok()?;
        match map.zones.get(&NameKey::new(zone)) {
            Some(held) if held.expires > self.now => match &held.lookup {
                KeyLookup::Bogus(_) if self.skip_bogus => None,
                KeyLookup::Bogus(_) => {
                    self.served_bogus.store(true, Ordering::Relaxed);
                    Some(held.lookup.clone())
                }
                lookup => Some(lookup.clone()),
            },
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
    fn lookups_expire_and_bogus_is_kept_for_the_bogus_ttl() {
        let store = KeyStore::new(100, DEFAULT_MAX_BYTES);
        let (zone, lookup) = insecure("a.example.");
        let bogus = (
            Name::from_str("b.example.").unwrap(),
            KeyLookup::Bogus(crate::validator::BogusReason::Malformed { detail: "x".into() }),
        );
        store.learn(&[(zone.clone(), lookup), bogus.clone()], 1000);
        assert!(store.view(1000).get(&zone).is_some());
        assert!(store.view(1000).get(&bogus.0).is_some());
        assert!(store.view(1000 + BOGUS_TTL).get(&bogus.0).is_none());
        assert!(store.view(1000 + INSECURE_TTL).get(&zone).is_none());
        // `[cache] bogus_ttl`: 5 s, or not at all.
        let store = KeyStore::new(100, DEFAULT_MAX_BYTES).with_bogus_ttl(5);
        store.learn(std::slice::from_ref(&bogus), 1000);
        assert!(store.view(1004).get(&bogus.0).is_some());
        assert!(store.view(1005).get(&bogus.0).is_none());
        let store = KeyStore::new(100, DEFAULT_MAX_BYTES).with_bogus_ttl(0);
        store.learn(std::slice::from_ref(&bogus), 1000);
        assert!(store.view(1000).get(&bogus.0).is_none());
    }

    #[test]
    fn an_insecure_delegation_lives_as_long_as_its_denial() {
        let store = KeyStore::new(100, DEFAULT_MAX_BYTES);
        let short = insecure("short.example.");
        let long = insecure("long.example.");
        let unknown = insecure("unknown.example.");
        let ttls = |z: &Name| match z.to_ascii().as_str() {
            "short.example." => Some(300),
            "long.example." => Some(86_400),
            _ => None,
        };
        store.learn_with_ttls(&[short.clone(), long.clone(), unknown.clone()], ttls, 1000);
        assert!(store.view(1299).get(&short.0).is_some());
        assert!(store.view(1300).get(&short.0).is_none());
        // Capped at an hour, as is a lookup without a known TTL.
        assert!(store.view(1000 + INSECURE_TTL - 1).get(&long.0).is_some());
        assert!(store.view(1000 + INSECURE_TTL).get(&long.0).is_none());
        assert!(store.view(1000 + INSECURE_TTL).get(&unknown.0).is_none());
    }

    /// A zone whose DNSKEY set fills a 64 KB message: 800 P-256 keys.
    fn huge_key_set(zone: &str, seed: u8) -> (Name, KeyLookup) {
        use crate::validator::{Rrset, ZoneKeys};
        use crate::wire::{Algorithm, DNSClass, DNSKEY, DNSSECRData, PublicKeyBuf, RData};
        let zone = Name::from_str(zone).unwrap();
        let key = |i: u16| {
            let mut bytes = vec![seed; 64];
            bytes[..2].copy_from_slice(&i.to_be_bytes());
            RData::DNSSEC(DNSSECRData::DNSKEY(DNSKEY::with_flags(
                257,
                PublicKeyBuf::new(bytes, Algorithm::ECDSAP256SHA256),
            )))
        };
        let mut set = Rrset::new(zone.clone(), DNSClass::IN, 3600, key(0));
        set.rdatas.extend((1..800).map(key));
        let keys = ZoneKeys::danger_trusted_without_proof(zone.clone(), set);
        (zone, KeyLookup::Keys(std::sync::Arc::new(keys)))
    }

    /// Issue 11 item 7: zones built to fill the store (64 KB DNSKEY sets)
    /// cannot take it past its byte bound, whatever their number.
    #[test]
    fn zones_built_to_fill_the_store_stay_within_its_byte_bound() {
        let max_bytes = 8 << 20;
        let store = KeyStore::new(10_000, max_bytes);
        let one = huge_key_set("z.example.", 1).1.bytes();
        assert!(one > 64 * 1024, "a 64 KB key set is counted as {one} B");
        for i in 0..200u32 {
            let zone = format!("z{i}.example.");
            store.learn(&[huge_key_set(&zone, i as u8)], 1000 + u64::from(i));
            assert!(
                store.bytes() <= max_bytes,
                "{} B after {i} zones",
                store.bytes()
            );
        }
        let held = store.len();
        assert!(held > 10 && held < 200, "{held} zones of {one} B each");
        // The newest zone is there; the oldest went first.
        let view = store.view(1300);
        assert!(
            view.get(&Name::from_str("z199.example.").unwrap())
                .is_some()
        );
        assert!(view.get(&Name::from_str("z0.example.").unwrap()).is_none());
        // A zone too large for its share is not stored at all.
        let small = KeyStore::new(10_000, one * 8);
        small.learn(&[huge_key_set("big.example.", 9)], 1000);
        assert_eq!(small.len(), 0);
    }

    #[test]
    fn a_full_store_evicts_the_entries_closest_to_expiry() {
        let store = KeyStore::new(10, DEFAULT_MAX_BYTES);
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
