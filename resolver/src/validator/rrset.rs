//! RRsets as the validator sees them: records of one owner, class and type,
//! together with the RRSIGs that cover them.
//!
//! The RRSIG stays attached to its RRset from parsing to the verdict: wildcard
//! and denial proofs need its labels and signer fields (the shape of
//! hickory-dns#3659 is what this avoids).

use crate::wire::{DNSClass, DNSSECRData, Name, RData, RRSIG, Record, RecordType};

/// One RRset and the RRSIGs that cover it, as they came off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrset {
    /// Owner name, as received (case kept).
    pub name: Name,
    /// Class.
    pub class: DNSClass,
    /// Type.
    pub rtype: RecordType,
    /// The smallest TTL of the records and of the RRSIGs attached by
    /// [`group`] (RFC 4035 §5.3.3 caps a validated RRset's TTL by both).
    pub ttl: u32,
    /// The record data, in the order received.
    pub rdatas: Vec<RData>,
    /// RRSIGs at the same owner and class whose type covered is `rtype`.
    pub rrsigs: Vec<RRSIG>,
}

impl Rrset {
    /// An RRset with one record and no signatures.
    pub fn new(name: Name, class: DNSClass, ttl: u32, rdata: RData) -> Self {
        Self {
            name,
            class,
            rtype: rdata.record_type(),
            ttl,
            rdatas: vec![rdata],
            rrsigs: Vec::new(),
        }
    }

    /// The records as hickory `Record`s (owner, class, TTL and data).
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.rdatas.iter().map(move |rdata| {
            let mut r = Record::from_rdata(self.name.clone(), self.ttl, rdata.clone());
            r.dns_class = self.class;
            r
        })
    }

    /// Is this the RRset for `name` (case-insensitive) and `rtype`?
    pub fn is(&self, name: &Name, rtype: RecordType) -> bool {
        self.rtype == rtype && self.name == *name
    }
}

/// Group records into RRsets, attaching each RRSIG to the RRset it covers.
///
/// Records keep their order of first appearance. RRSIGs whose covered RRset
/// is absent are returned as RRsets of type RRSIG, so that a caller can still
/// see them (and judge an RRSIG-only answer). Duplicate RDATA (RFC 2181 §5)
/// is dropped.
pub fn group(records: &[Record]) -> Vec<Rrset> {
    let mut sets: Vec<Rrset> = Vec::new();
    let mut orphan_sigs: Vec<(Name, DNSClass, u32, RRSIG)> = Vec::new();
    for record in records {
        let rdata = &record.data;
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = rdata {
            orphan_sigs.push((
                record.name.clone(),
                record.dns_class,
                record.ttl,
                sig.clone(),
            ));
            continue;
        }
        let rtype = rdata.record_type();
        match sets
            .iter_mut()
            .find(|s| s.rtype == rtype && s.class == record.dns_class && s.name == record.name)
        {
            Some(set) => {
                set.ttl = set.ttl.min(record.ttl);
                if !set.rdatas.contains(rdata) {
                    set.rdatas.push(rdata.clone());
                }
            }
            None => sets.push(Rrset::new(
                record.name.clone(),
                record.dns_class,
                record.ttl,
                rdata.clone(),
            )),
        }
    }
    for (name, class, ttl, sig) in orphan_sigs {
        let covered = sig.input().type_covered;
        match sets
            .iter_mut()
            .find(|s| s.rtype == covered && s.class == class && s.name == name)
        {
            Some(set) => {
                set.ttl = set.ttl.min(ttl);
                if !set.rrsigs.contains(&sig) {
                    set.rrsigs.push(sig);
                }
            }
            None => {
                let rdata = RData::DNSSEC(DNSSECRData::RRSIG(sig));
                match sets
                    .iter_mut()
                    .find(|s| s.rtype == RecordType::RRSIG && s.class == class && s.name == name)
                {
                    Some(set) => set.rdatas.push(rdata),
                    None => sets.push(Rrset::new(name, class, ttl, rdata)),
                }
            }
        }
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rdata::A;
    use std::str::FromStr;

    #[test]
    fn group_merges_same_owner_and_type_and_drops_duplicates() {
        let name = Name::from_str("www.example.").unwrap();
        let a1 = Record::from_rdata(name.clone(), 300, RData::A(A::new(192, 0, 2, 1)));
        let a2 = Record::from_rdata(name, 200, RData::A(A::new(192, 0, 2, 2)));
        let sets = group(&[a1.clone(), a2, a1]);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].rdatas.len(), 2);
        assert_eq!(sets[0].ttl, 200);
    }
}
