//! RRsets as the validator sees them: records of one owner, class and type,
//! together with the RRSIGs that cover them.
//!
//! The RRSIG stays attached to its RRset from parsing to the verdict: wildcard
//! and denial proofs need its labels and signer fields (the shape of
//! hickory-dns#3659 is what this avoids).

// foldhash: short-lived maps of one message or session (see the workspace).
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

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
///
/// Linear in the records of the message (expected, with hashing): a message
/// is attacker-controlled, and 64 KB of distinct owners must not cost a
/// comparison per pair of records (issue 11, item 4).
pub fn group(records: &[Record]) -> Vec<Rrset> {
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    let mut seen_rdata: HashSet<(usize, &RData)> = HashSet::new();
    let mut seen_sigs: HashSet<(usize, &RRSIG)> = HashSet::new();
    let mut sets: Vec<Rrset> = Vec::new();
    let mut sigs: Vec<(&Record, &RRSIG)> = Vec::new();
    for record in records {
        let rdata = &record.data;
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = rdata {
            sigs.push((record, sig));
            continue;
        }
        let rtype = rdata.record_type();
        let key = Key(&record.name, record.dns_class, rtype);
        let at = *index.entry(key).or_insert_with(|| {
            sets.push(Rrset {
                name: record.name.clone(),
                class: record.dns_class,
                rtype,
                ttl: record.ttl,
                rdatas: Vec::new(),
                rrsigs: Vec::new(),
            });
            sets.len() - 1
        });
        let set = &mut sets[at];
        set.ttl = set.ttl.min(record.ttl);
        if seen_rdata.insert((at, rdata)) {
            set.rdatas.push(rdata.clone());
        }
    }
    for (record, sig) in sigs {
        let covered = sig.input().type_covered;
        let key = Key(&record.name, record.dns_class, covered);
        if let Some(&at) = index.get(&key) {
            // An RRSIG covering RRSIG is itself grouped below, never here.
            if covered != RecordType::RRSIG {
                let set = &mut sets[at];
                set.ttl = set.ttl.min(record.ttl);
                if seen_sigs.insert((at, sig)) {
                    set.rrsigs.push(sig.clone());
                }
                continue;
            }
        }
        let rdata = RData::DNSSEC(DNSSECRData::RRSIG(sig.clone()));
        let key = Key(&record.name, record.dns_class, RecordType::RRSIG);
        match index.get(&key) {
            Some(&at) => sets[at].rdatas.push(rdata),
            None => {
                index.insert(key, sets.len());
                sets.push(Rrset::new(
                    record.name.clone(),
                    record.dns_class,
                    record.ttl,
                    rdata,
                ));
            }
        }
    }
    sets
}

/// An RRset's identity in [`group`]'s index. Owner names hash and compare
/// case-insensitively (hickory's `Name`).
#[derive(Clone, Copy, Hash)]
struct Key<'a>(&'a Name, DNSClass, RecordType);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        #[cfg(test)]
        tests::COMPARISONS.with(|c| c.set(c.get() + 1));
        self.1 == other.1 && self.2 == other.2 && self.0 == other.0
    }
}

impl Eq for Key<'_> {}

#[cfg(test)]
mod tests {
    thread_local! {
        /// Owner comparisons made by [`group`] on this thread.
        pub(super) static COMPARISONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

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

    fn sig_over(covered: RecordType, signer: &Name, byte: u8) -> RData {
        use crate::wire::Algorithm;
        use hickory_proto::dnssec::rdata::SigInput;
        use hickory_proto::rr::SerialNumber;
        let input = SigInput {
            type_covered: covered,
            algorithm: Algorithm::ED25519,
            num_labels: 2,
            original_ttl: 300,
            sig_expiration: SerialNumber::new(2),
            sig_inception: SerialNumber::new(1),
            key_tag: 1,
            signer_name: signer.clone(),
        };
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![byte; 64])))
    }

    #[test]
    fn group_keeps_order_case_insensitive_owners_and_orphan_signatures() {
        let zone = Name::from_str("example.").unwrap();
        let lower = Name::from_str("www.example.").unwrap();
        let upper = Name::from_str("WWW.Example.").unwrap();
        let other = Name::from_str("mail.example.").unwrap();
        let a = |n: &Name, ttl, last| {
            Record::from_rdata(n.clone(), ttl, RData::A(A::new(192, 0, 2, last)))
        };
        let sig = |n: &Name, ttl, covered, byte| {
            Record::from_rdata(n.clone(), ttl, sig_over(covered, &zone, byte))
        };
        let records = [
            sig(&upper, 100, RecordType::A, 7), // before the records it covers
            a(&lower, 300, 1),
            a(&other, 300, 9),
            a(&upper, 300, 2),
            sig(&lower, 300, RecordType::A, 7), // a duplicate signature
            sig(&other, 300, RecordType::AAAA, 8), // covers nothing here
            a(&lower, 300, 1),                  // a duplicate record
        ];
        let sets = group(&records);
        assert_eq!(sets.len(), 3);
        assert!(sets[0].is(&lower, RecordType::A));
        assert_eq!(sets[0].rdatas.len(), 2);
        assert_eq!(sets[0].rrsigs.len(), 1);
        assert_eq!(sets[0].ttl, 100);
        assert!(sets[1].is(&other, RecordType::A));
        assert!(sets[1].rrsigs.is_empty());
        assert!(sets[2].is(&other, RecordType::RRSIG));
        assert_eq!(sets[2].rdatas.len(), 1);
    }

    /// Issue 11 item 4: a 64 KB message of distinct owners, each with a
    /// record and its signature. Grouping it used to compare every record
    /// with every RRset before it (millions of comparisons here); now it is
    /// one hash lookup per record, so comparisons grow linearly.
    #[test]
    fn group_handles_a_64k_message_of_distinct_owners() {
        let zone = Name::from_str("example.").unwrap();
        let mut records = Vec::new();
        let mut bytes = 0usize;
        let mut i = 0u32;
        while bytes < 65_535 {
            let owner = Name::from_str(&format!("h{i}.example.")).unwrap();
            records.push(Record::from_rdata(
                owner.clone(),
                60,
                RData::A(A::new(192, 0, 2, 1)),
            ));
            records.push(Record::from_rdata(
                owner,
                60,
                sig_over(RecordType::A, &zone, 3),
            ));
            // Compressed on the wire: the owner is a label and a pointer.
            bytes += 2 * (4 + 2 + 10) + 4 + (18 + 2 + 64);
            i += 1;
        }
        COMPARISONS.with(|c| c.set(0));
        let sets = group(&records);
        let comparisons = COMPARISONS.with(|c| c.get());
        assert!(
            comparisons <= 2 * records.len() as u64,
            "{comparisons} comparisons for {} records",
            records.len()
        );
        assert_eq!(sets.len(), i as usize);
        for (n, set) in sets.iter().enumerate() {
            assert_eq!(set.name, Name::from_str(&format!("h{n}.example.")).unwrap());
            assert_eq!((set.rdatas.len(), set.rrsigs.len()), (1, 1));
        }
    }
}
