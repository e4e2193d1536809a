//! Trust anchors as the validator consumes them: per zone, the DS and DNSKEY
//! records that are trusted without a parent (RFC 4033 §2, RFC 4035 §4.4).
//!
//! Where they come from (built-in root keys, files, RFC 5011 state) is the
//! business of `danebound-trust-anchors`; this is only the lookup.

use std::collections::BTreeMap;

use super::keys::SecureEntryPoints;
use crate::wire::{DNSSECRData, Name, RData, Record, SCAN_HOLDERS, deepest_holder};

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
        // A handful of anchors (usually the root's alone): the deepest one
        // that holds the name, found without building each ancestor name
        // (the walk below allocates a name per label; the validator asks
        // this for every signer it meets).
        if self.zones.len() <= SCAN_HOLDERS {
            return deepest_holder(self.zones.iter(), name);
        }
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::wire::{Algorithm, DS, DigestType};

    fn ds_at(zone: &str) -> Record {
        let ds = DS::new(1, Algorithm::ED25519, DigestType::SHA256, vec![0; 32]);
        Record::from_rdata(
            Name::from_str(zone).unwrap(),
            3600,
            RData::DNSSEC(DNSSECRData::DS(ds)),
        )
    }

    fn closest(anchors: &Anchors, name: &str) -> Option<String> {
        anchors
            .closest(&Name::from_str(name).unwrap())
            .map(|(zone, _)| zone.to_string())
    }

    /// RFC 4035 §4.4: the most specific anchor holding the name wins, with
    /// a few anchors (scanned) and with many (walked up label by label).
    #[test]
    fn rfc4035_section4_4_the_most_specific_anchor_wins() {
        for extra in [0, SCAN_HOLDERS + 3] {
            let mut records = vec![ds_at("."), ds_at("example."), ds_at("b.a.example.")];
            records.extend((0..extra).map(|i| ds_at(&format!("z{i}.other."))));
            let (anchors, ignored) = Anchors::from_records(&records);
            assert_eq!(ignored, 0);
            assert_eq!(
                closest(&anchors, "www.B.A.Example."),
                Some("b.a.example.".into())
            );
            assert_eq!(
                closest(&anchors, "b.a.example."),
                Some("b.a.example.".into())
            );
            assert_eq!(closest(&anchors, "a.example."), Some("example.".into()));
            assert_eq!(closest(&anchors, "xb.a.example."), Some("example.".into()));
            assert_eq!(closest(&anchors, "org."), Some(".".into()));
            assert_eq!(closest(&anchors, "."), Some(".".into()));
            let (unrooted, _) = Anchors::from_records(&records[1..]);
            assert_eq!(closest(&unrooted, "org."), None);
            assert_eq!(closest(&unrooted, "x.example."), Some("example.".into()));
        }
    }
}
