//! Removing entries on the operator's request (`danebound control flush`,
//! `flush_zone`, `flush_bogus`, and on negative trust anchor changes).

use super::Cache;
use crate::wire::{BinEncodable, BinEncoder, Name};

impl Cache {
    /// Removes every entry for exactly `name` (all types, classes, CD);
    /// returns how many.
    pub fn flush_name(&self, name: &Name) -> usize {
        let wire = key_name(name);
        self.remove_where(|qname| qname == wire.as_slice())
    }

    /// Removes every entry at or below `zone`; returns how many.
    pub fn flush_zone(&self, zone: &Name) -> usize {
        let wire = key_name(zone);
        self.remove_where(|qname| is_at_or_below(qname, &wire))
    }

    /// Removes every bogus entry; returns how many.
    pub fn flush_bogus(&self) -> usize {
        let n = self
            .shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove_where(|_, entry| entry.outcome().is_bogus())
            })
            .sum();
        self.bump_epoch();
        n
    }

    /// Removes the matching entries, and the matching RRsets from the
    /// store, so that nothing fetched later is shared with them.
    fn remove_where(&self, matches: impl Fn(&[u8]) -> bool) -> usize {
        let removed = self
            .shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove_where(|qname, _| matches(qname))
            })
            .sum();
        self.store.remove_where(&matches);
        self.bump_epoch();
        removed
    }
}

/// A name as the cache key holds it: wire form, lower case.
fn key_name(name: &Name) -> Vec<u8> {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    let mut wire = Vec::with_capacity(name.len() + 2);
    let mut encoder = BinEncoder::new(&mut wire);
    encoder.set_canonical_form(true);
    let _ = name.emit(&mut encoder);
    wire
}

/// True when the wire-form `name` ends, at a label boundary, with `zone`.
fn is_at_or_below(name: &[u8], zone: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        if name[i..] == *zone {
            return true;
        }
        let len = usize::from(name[i]);
        if len == 0 {
            break;
        }
        i += len + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        key_name(&Name::from_ascii(s).unwrap())
    }

    #[test]
    fn zone_suffix_matches_on_label_boundaries() {
        assert!(is_at_or_below(&wire("www.example."), &wire("example.")));
        assert!(is_at_or_below(&wire("example."), &wire("Example.")));
        assert!(is_at_or_below(&wire("a.b."), &wire(".")));
        assert!(!is_at_or_below(&wire("www.notexample."), &wire("example.")));
        assert!(!is_at_or_below(&wire("example."), &wire("www.example.")));
    }
}
