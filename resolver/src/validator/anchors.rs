//! Trust anchors as the validator consumes them: per zone, the DS and DNSKEY
//! records that are trusted without a parent (RFC 4033 §2, RFC 4035 §4.4).
//!
//! Where they come from (built-in root keys, files, RFC 5011 state) is the
//! business of `danebound-trust-anchors`; this is only the lookup.

use std::collections::BTreeMap;

use super::keys::SecureEntryPoints;
use crate::wire::{DNSSECRData, Name, RData, Record};

/// The configured trust anchors, keyed by zone.
#[derive(Clone, Debug, Default)]
pub struct Anchors {
    zones: BTreeMap<Name, SecureEntryPoints>,
}

impl Anchors {
    /// No anchors: every name is Indeterminate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Build anchors from DS and DNSKEY records (other types are ignored and
    /// returned as the count of ignored records).
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> (Self, usize) {
        let mut anchors = Self::new();
        let mut ignored = 0;
        for record in records {
            if !anchors.add(record) {
                ignored += 1;
            }
        }
        (anchors, ignored)
    }

    /// Add one DS or DNSKEY record as an anchor for its owner zone. Returns
    /// false (and adds nothing) for any other type.
    pub fn add(&mut self, record: &Record) -> bool {
        let zone = record.name.to_lowercase();
        match &record.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => {
                let sep = self.zones.remove(&zone).unwrap_or_default();
                self.zones.insert(zone, sep.with_ds([ds.clone()]));
                true
            }
            RData::DNSSEC(DNSSECRData::DNSKEY(key)) => {
                let sep = self.zones.remove(&zone).unwrap_or_default();
                self.zones.insert(zone, sep.with_dnskeys([key.clone()]));
                true
            }
            _ => false,
        }
    }

    /// The closest anchor at or above `name` (RFC 4035 §4.4: the most
    /// specific trust anchor wins).
    pub fn closest(&self, name: &Name) -> Option<(&Name, &SecureEntryPoints)> {
        let mut candidate = name.clone();
        loop {
            if let Some((zone, sep)) = self.zones.get_key_value(&candidate) {
                return Some((zone, sep));
            }
            if candidate.is_root() {
                return None;
            }
            candidate = candidate.base_name();
        }
    }

    /// Is there no anchor at all?
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The anchored zones.
    pub fn zones(&self) -> impl Iterator<Item = &Name> {
        self.zones.keys()
    }
}
