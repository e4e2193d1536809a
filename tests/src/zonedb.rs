//! An in-memory authoritative view over signed zone files, answering like a
//! recursive upstream in forwarding mode with DO=1: the validator's tests
//! and benchmarks use it for the response to validate and for every DS and
//! DNSKEY set the session asks for.
//!
//! What it answers (RFC 1034 §4.3.2 with the DNSSEC additions of RFC 4035
//! §3.1 and RFC 5155 §7.2):
//! - the zone: the deepest loaded zone whose apex is an ancestor of the
//!   query name; for DS at a zone apex, the parent zone (RFC 4035 §3.1.4.1);
//! - an exact RRset with its RRSIGs;
//! - CNAME and DNAME (with the synthesised, unsigned CNAME of RFC 6672 §3.1),
//!   chased across zones as a recursive resolver does; the rcode is the
//!   last link's (RFC 6604);
//! - NODATA: SOA and its RRSIG, with the NSEC at the name, or the NSEC3
//!   matching it (or, where there is none, as at an Opt-Out delegation, the
//!   closest encloser proof);
//! - NXDOMAIN: SOA, the NSEC covering the name and the NSEC covering the
//!   wildcard; with NSEC3 the closest encloser proof: the NSEC3 matching the
//!   closest encloser, the one covering the next closer name and the one
//!   covering the wildcard (RFC 5155 §7.2.2);
//! - wildcard expansion (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6) and wildcard
//!   NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5);
//! - a referral at a delegation whose child is not loaded: NS, and the DS
//!   with its RRSIG or the proof that there is none.
//!
//! What it does not do: glue, additional-section processing, truncation,
//! ANY queries, or minimal-response choices beyond the above. It is test
//! code: a failure to find what a proof needs leaves the proof out rather
//! than panicking, so a broken fixture shows up as a validation verdict.
//!
//! It builds only on `danebound-resolver`, `danebound-trust-anchors` and
//! `hickory-proto`, so the resolver's own tests and benchmarks include this
//! file with `#[path]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use danebound_resolver::validator::denial::nsec3::nsec3_hash;
use danebound_resolver::validator::{Anchors, FetchRequest, Fetched};
use danebound_resolver::wire::rdata::CNAME;
use danebound_resolver::wire::{
    BinDecodable, BinDecoder, DNSSECRData, Message, MessageType, NSEC, NSEC3, Name, OpCode, Query,
    RData, Record, RecordType, ResponseCode,
};
use danebound_trust_anchors::text::parse_records;

/// The time the fixtures are validated at: 2030-01-01T00:00:00Z, inside the
/// validity window of every good zone (tests/data/zones/README.md).
pub const FIXTURE_NOW: u64 = 1_893_456_000;

/// The committed fixture zones (`tests/data/zones`), found from either the
/// `tests` or the `resolver` crate.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/zones")
}

/// How many CNAME/DNAME links an answer follows before giving up.
const MAX_CHASE: usize = 20;

// ---------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------

/// Every loaded zone, answering queries as a recursive upstream would.
#[derive(Clone, Debug, Default)]
pub struct ZoneDb {
    zones: BTreeMap<Name, Zone>,
}

impl ZoneDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every zone listed in `zones.list` of `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, String> {
        let list = std::fs::read_to_string(dir.join("zones.list"))
            .map_err(|e| format!("{}: {e}", dir.join("zones.list").display()))?;
        let mut db = Self::new();
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, apex, file] = fields[..] else {
                return Err(format!("zones.list: bad line {line:?}"));
            };
            let apex: Name = apex.parse().map_err(|e| format!("{apex}: {e}"))?;
            let text =
                std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
            let records =
                parse_records(&text, Some(&apex), 3600).map_err(|e| format!("{file}: {e}"))?;
            db.insert(Zone::new(apex, records));
        }
        Ok(db)
    }

    /// The committed fixtures ([`fixtures_dir`]).
    pub fn fixtures() -> Self {
        Self::load_dir(&fixtures_dir()).unwrap_or_else(|e| panic!("loading fixtures: {e}"))
    }

    /// The root trust anchor of the fixtures (`trust-anchor.ds`).
    pub fn fixture_anchors() -> Anchors {
        let path = fixtures_dir().join("trust-anchor.ds");
        let text = std::fs::read_to_string(&path).expect("trust-anchor.ds");
        let records = parse_records(&text, None, 3600).expect("trust-anchor.ds parses");
        let (anchors, ignored) = Anchors::from_records(&records);
        assert_eq!(ignored, 0, "trust-anchor.ds holds only DS records");
        assert!(!anchors.is_empty());
        anchors
    }

    /// Add or replace a zone.
    pub fn insert(&mut self, zone: Zone) {
        self.zones.insert(zone.apex.clone(), zone);
    }

    /// The zone with apex `apex`.
    pub fn zone(&self, apex: &Name) -> Option<&Zone> {
        self.zones.get(apex)
    }

    /// Remove the zone with apex `apex`.
    pub fn remove(&mut self, apex: &Name) -> Option<Zone> {
        self.zones.remove(apex)
    }

    /// The apexes of the loaded zones.
    pub fn apexes(&self) -> impl Iterator<Item = &Name> {
        self.zones.keys()
    }

    /// The zone that answers `qname`/`qtype`: the deepest one whose apex is
    /// an ancestor of `qname`, except that DS at an apex comes from the
    /// parent (RFC 4035 §3.1.4.1).
    pub fn zone_for(&self, qname: &Name, qtype: RecordType) -> Option<&Zone> {
        let mut candidates: Vec<&Zone> = self
            .zones
            .values()
            .filter(|z| z.apex.zone_of(qname))
            .collect();
        candidates.sort_by_key(|z| label_count(&z.apex));
        let deepest = candidates.pop()?;
        if qtype == RecordType::DS && deepest.apex == *qname && !qname.is_root() {
            return candidates.pop().or(Some(deepest));
        }
        Some(deepest)
    }

    /// The full response to `qname`/`qtype`, chasing CNAMEs and DNAMEs.
    pub fn answer(&self, qname: &Name, qtype: RecordType) -> Message {
        let mut msg = Message::new(0, MessageType::Response, OpCode::Query);
        msg.add_query(Query::query(qname.clone(), qtype));
        msg.metadata.recursion_desired = true;
        msg.metadata.recursion_available = true;
        msg.metadata.checking_disabled = true;
        let mut name = qname.clone();
        // Proofs for wildcard-expanded links earlier in the chain.
        let mut kept = Vec::new();
        let mut seen = BTreeSet::new();
        loop {
            let Some(zone) = self.zone_for(&name, qtype) else {
                msg.metadata.response_code = ResponseCode::Refused;
                return msg;
            };
            let part = zone.lookup(&name, qtype);
            push_unique(&mut msg.answers, part.answers);
            msg.metadata.response_code = part.rcode;
            match part.next {
                Some(next)
                    if qtype != RecordType::CNAME
                        && seen.len() < MAX_CHASE
                        && seen.insert(name.clone()) =>
                {
                    push_unique(&mut kept, part.keep_authority);
                    name = next;
                }
                _ => {
                    msg.authorities = kept;
                    push_unique(&mut msg.authorities, part.authorities);
                    return msg;
                }
            }
        }
    }

    /// What an upstream returns for a session's fetch request.
    pub fn fetch(&self, request: &FetchRequest) -> Fetched {
        Fetched::Response(self.answer(&request.name, request.rtype))
    }
}

fn push_unique(into: &mut Vec<Record>, records: Vec<Record>) {
    for r in records {
        if !into.contains(&r) {
            into.push(r);
        }
    }
}

fn label_count(name: &Name) -> usize {
    name.iter().count()
}

// ---------------------------------------------------------------------------
// One zone
// ---------------------------------------------------------------------------

/// The part of an answer one zone gives.
#[derive(Clone, Debug)]
struct Part {
    rcode: ResponseCode,
    answers: Vec<Record>,
    /// The authority section when the answer ends in this zone.
    authorities: Vec<Record>,
    /// Authority records to keep when the chain continues elsewhere: the
    /// proof that a wildcard-expanded CNAME's name does not exist.
    keep_authority: Vec<Record>,
    /// A CNAME or DNAME target to chase.
    next: Option<Name>,
}

impl Part {
    fn new(rcode: ResponseCode) -> Self {
        Self {
            rcode,
            answers: Vec::new(),
            authorities: Vec::new(),
            keep_authority: Vec::new(),
            next: None,
        }
    }
}

/// One zone's records, indexed for answering.
#[derive(Clone, Debug)]
pub struct Zone {
    apex: Name,
    records: Vec<Record>,
    /// (owner, type) → records, RRSIGs and NSEC3 excluded.
    rrsets: BTreeMap<(Name, u16), Vec<Record>>,
    /// (owner, type covered) → RRSIG records.
    sigs: BTreeMap<(Name, u16), Vec<Record>>,
    /// Owners of data (NSEC3 owners excluded).
    names: BTreeSet<Name>,
    /// NSEC records in canonical order of their owners.
    nsecs: Vec<(Name, NSEC)>,
    /// NSEC3 records by hash.
    nsec3s: Vec<(Vec<u8>, Name, NSEC3)>,
}

impl Zone {
    /// Index `records` as the zone at `apex`.
    pub fn new(apex: Name, records: Vec<Record>) -> Self {
        let apex = apex.to_lowercase();
        let mut zone = Self {
            apex,
            records: Vec::new(),
            rrsets: BTreeMap::new(),
            sigs: BTreeMap::new(),
            names: BTreeSet::new(),
            nsecs: Vec::new(),
            nsec3s: Vec::new(),
        };
        for r in records {
            zone.index(&r);
            zone.records.push(r);
        }
        zone.nsecs.sort_by(|a, b| a.0.cmp(&b.0));
        zone.nsec3s.sort_by(|a, b| a.0.cmp(&b.0));
        zone
    }

    fn index(&mut self, r: &Record) {
        let owner = r.name.to_lowercase();
        match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                let covered = sig.input().type_covered;
                self.sigs
                    .entry((owner.clone(), u16::from(covered)))
                    .or_default()
                    .push(r.clone());
                if covered != RecordType::NSEC3 {
                    self.names.insert(owner);
                }
            }
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                let hash = owner
                    .iter()
                    .next()
                    .and_then(|l| {
                        data_encoding::BASE32HEX_NOPAD
                            .decode(&l.to_ascii_uppercase())
                            .ok()
                    })
                    .unwrap_or_default();
                self.nsec3s.push((hash, owner.clone(), n.clone()));
                // Hashed owners are not names of the zone's namespace.
                self.rrsets
                    .entry((owner, u16::from(RecordType::NSEC3)))
                    .or_default()
                    .push(r.clone());
            }
            rdata => {
                if let RData::DNSSEC(DNSSECRData::NSEC(n)) = rdata {
                    self.nsecs.push((owner.clone(), n.clone()));
                }
                self.rrsets
                    .entry((owner.clone(), u16::from(r.record_type())))
                    .or_default()
                    .push(r.clone());
                self.names.insert(owner);
            }
        }
    }

    /// The apex.
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    /// Every record, as loaded.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The RRset at `name`/`rtype` (without RRSIGs), empty when absent.
    pub fn rrset(&self, name: &Name, rtype: RecordType) -> Vec<Record> {
        self.rrsets
            .get(&(name.to_lowercase(), u16::from(rtype)))
            .cloned()
            .unwrap_or_default()
    }

    /// The RRSIGs over `name`/`rtype`.
    pub fn rrsigs(&self, name: &Name, rtype: RecordType) -> Vec<Record> {
        self.sigs
            .get(&(name.to_lowercase(), u16::from(rtype)))
            .cloned()
            .unwrap_or_default()
    }

    /// The RRset at `name`/`rtype` followed by its RRSIGs.
    pub fn signed_rrset(&self, name: &Name, rtype: RecordType) -> Vec<Record> {
        let mut out = self.rrset(name, rtype);
        out.extend(self.rrsigs(name, rtype));
        out
    }

    fn has(&self, name: &Name, rtype: RecordType) -> bool {
        self.rrsets
            .contains_key(&(name.to_lowercase(), u16::from(rtype)))
    }

    /// Does `name` exist: data at it or below it (an empty non-terminal)?
    fn exists(&self, name: &Name) -> bool {
        let name = name.to_lowercase();
        self.names.contains(&name) || self.names.iter().any(|n| *n != name && name.zone_of(n))
    }

    // --- answering -------------------------------------------------------------

    fn lookup(&self, qname: &Name, qtype: RecordType) -> Part {
        let qname = qname.to_lowercase();
        // Delegations and DNAMEs above the name (RFC 1034 §4.3.2 step 3b,
        // RFC 6672 §3.2).
        let depth = label_count(&qname);
        for labels in label_count(&self.apex) + 1..=depth {
            let cut = qname.trim_to(labels);
            let at_name = cut == qname;
            if self.has(&cut, RecordType::NS) && !(at_name && qtype == RecordType::DS) {
                return self.referral(&cut);
            }
            if !at_name && self.has(&cut, RecordType::DNAME) {
                return self.dname(&cut, &qname);
            }
        }

        if self.names.contains(&qname) {
            if self.has(&qname, qtype) {
                let mut part = Part::new(ResponseCode::NoError);
                part.answers = self.signed_rrset(&qname, qtype);
                return part;
            }
            if self.has(&qname, RecordType::CNAME) {
                let mut part = Part::new(ResponseCode::NoError);
                part.answers = self.signed_rrset(&qname, RecordType::CNAME);
                part.next = self.cname_target(&qname);
                return part;
            }
            return self.nodata(&qname);
        }
        if self.exists(&qname) {
            // An empty non-terminal.
            return self.nodata(&qname);
        }
        self.nonexistent(&qname, qtype)
    }

    fn cname_target(&self, owner: &Name) -> Option<Name> {
        self.rrset(owner, RecordType::CNAME)
            .first()
            .and_then(|r| match &r.data {
                RData::CNAME(c) => Some(c.0.clone()),
                _ => None,
            })
    }

    fn soa(&self) -> Vec<Record> {
        self.signed_rrset(&self.apex, RecordType::SOA)
    }

    fn referral(&self, cut: &Name) -> Part {
        let mut part = Part::new(ResponseCode::NoError);
        part.authorities = self.rrset(cut, RecordType::NS);
        if self.has(cut, RecordType::DS) {
            part.authorities
                .extend(self.signed_rrset(cut, RecordType::DS));
        } else {
            part.authorities.extend(self.no_data_proof(cut));
        }
        part
    }

    fn dname(&self, owner: &Name, qname: &Name) -> Part {
        let mut part = Part::new(ResponseCode::NoError);
        part.answers = self.signed_rrset(owner, RecordType::DNAME);
        let dname = self.rrset(owner, RecordType::DNAME);
        let Some(record) = dname.first() else {
            return part;
        };
        let Some(target) = dname_target(&record.data) else {
            return part;
        };
        let keep = label_count(qname) - label_count(owner);
        let prefix: Vec<Vec<u8>> = qname.iter().take(keep).map(<[u8]>::to_vec).collect();
        let Ok(mut relative) = Name::from_labels(prefix) else {
            return part;
        };
        relative.set_fqdn(false);
        let Ok(synthesised) = relative.append_domain(&target) else {
            // RFC 6672 §2.2: YXDOMAIN when the result is too long.
            part.rcode = ResponseCode::YXDomain;
            return part;
        };
        // RFC 6672 §3.1: the CNAME is synthesised with the DNAME's TTL and
        // carries no signature.
        part.answers.push(Record::from_rdata(
            qname.clone(),
            record.ttl,
            RData::CNAME(CNAME(synthesised.clone())),
        ));
        part.next = Some(synthesised);
        part
    }

    fn nodata(&self, qname: &Name) -> Part {
        let mut part = Part::new(ResponseCode::NoError);
        part.authorities = self.soa();
        part.authorities.extend(self.no_data_proof(qname));
        part
    }

    /// The proof that `name` exists but has no RRset of the asked type:
    /// the NSEC at `name` or covering it (an empty non-terminal), or the
    /// NSEC3 matching it, or the closest encloser proof when it has none
    /// (an Opt-Out delegation, RFC 5155 §7.2.4).
    fn no_data_proof(&self, name: &Name) -> Vec<Record> {
        if !self.nsecs.is_empty() {
            return match self.nsec_matching(name) {
                Some(owner) => self.signed_rrset(&owner, RecordType::NSEC),
                None => self.nsec_covering(name),
            };
        }
        let Some((salt, iterations)) = self.nsec3_params() else {
            return Vec::new();
        };
        let hash = nsec3_hash(name, &salt, iterations);
        if let Some(owner) = self.nsec3_matching(&hash) {
            return self.signed_rrset(&owner, RecordType::NSEC3);
        }
        self.closest_encloser_proof(name, &salt, iterations).0
    }

    /// A name that does not exist: wildcard answer, wildcard NODATA or
    /// NXDOMAIN.
    fn nonexistent(&self, qname: &Name, qtype: RecordType) -> Part {
        // The closest encloser: the longest existing ancestor.
        let mut ce = qname.base_name();
        while ce != self.apex && !self.exists(&ce) {
            ce = ce.base_name();
        }
        let wildcard = ce.prepend_label("*").ok();
        let wildcard = wildcard.filter(|w| self.names.contains(w));
        let nsec3 = self.nsecs.is_empty().then(|| self.nsec3_params()).flatten();

        if let Some(w) = wildcard {
            // The proof that qname itself does not exist (RFC 4035 §3.1.3.3,
            // RFC 5155 §7.2.6: only the next closer name is covered).
            let no_exact = match &nsec3 {
                Some((salt, it)) => {
                    let next_closer = qname.trim_to(label_count(&ce) + 1);
                    self.nsec3_covering(&nsec3_hash(&next_closer, salt, *it))
                }
                None => self.nsec_covering(qname),
            };
            let expand = |rtype: RecordType| -> Vec<Record> {
                let mut out: Vec<Record> = self.signed_rrset(&w, rtype);
                for r in &mut out {
                    r.name = qname.clone();
                }
                out
            };
            if self.has(&w, qtype) {
                let mut part = Part::new(ResponseCode::NoError);
                part.answers = expand(qtype);
                part.authorities = no_exact;
                return part;
            }
            if self.has(&w, RecordType::CNAME) {
                let mut part = Part::new(ResponseCode::NoError);
                part.answers = expand(RecordType::CNAME);
                part.keep_authority = no_exact.clone();
                part.authorities = no_exact;
                part.next = self.cname_target(&w);
                return part;
            }
            // Wildcard NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5).
            let mut part = Part::new(ResponseCode::NoError);
            part.authorities = self.soa();
            match &nsec3 {
                Some((salt, it)) => {
                    let (proof, _) = self.closest_encloser_proof(qname, salt, *it);
                    part.authorities.extend(proof);
                    if let Some(owner) = self.nsec3_matching(&nsec3_hash(&w, salt, *it)) {
                        push_unique(
                            &mut part.authorities,
                            self.signed_rrset(&owner, RecordType::NSEC3),
                        );
                    }
                }
                None => {
                    part.authorities.extend(no_exact);
                    if let Some(owner) = self.nsec_matching(&w) {
                        push_unique(
                            &mut part.authorities,
                            self.signed_rrset(&owner, RecordType::NSEC),
                        );
                    }
                }
            }
            return part;
        }

        // NXDOMAIN (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2).
        let mut part = Part::new(ResponseCode::NXDomain);
        part.authorities = self.soa();
        match &nsec3 {
            Some((salt, it)) => {
                let (proof, encloser) = self.closest_encloser_proof(qname, salt, *it);
                part.authorities.extend(proof);
                if let Ok(w) = encloser.prepend_label("*") {
                    push_unique(
                        &mut part.authorities,
                        self.nsec3_covering(&nsec3_hash(&w, salt, *it)),
                    );
                }
            }
            None => {
                part.authorities.extend(self.nsec_covering(qname));
                if let Ok(w) = ce.prepend_label("*") {
                    push_unique(&mut part.authorities, self.nsec_covering(&w));
                }
            }
        }
        part
    }

    // --- NSEC ------------------------------------------------------------------

    fn nsec_matching(&self, name: &Name) -> Option<Name> {
        self.nsecs
            .iter()
            .find(|(owner, _)| owner == name)
            .map(|(owner, _)| owner.clone())
    }

    /// The NSEC whose span holds `name` (the last owner before it in
    /// canonical order), with its RRSIG.
    fn nsec_covering(&self, name: &Name) -> Vec<Record> {
        match self.nsecs.iter().rev().find(|(owner, _)| owner < name) {
            Some((owner, _)) => self.signed_rrset(owner, RecordType::NSEC),
            None => Vec::new(),
        }
    }

    // --- NSEC3 -----------------------------------------------------------------

    /// Salt and iterations of the zone's NSEC3 chain.
    fn nsec3_params(&self) -> Option<(Vec<u8>, u16)> {
        self.nsec3s
            .first()
            .map(|(_, _, n)| (n.salt().to_vec(), n.iterations()))
    }

    fn nsec3_matching(&self, hash: &[u8]) -> Option<Name> {
        self.nsec3s
            .iter()
            .find(|(h, _, _)| h[..] == hash[..])
            .map(|(_, owner, _)| owner.clone())
    }

    /// The NSEC3 whose span holds `hash` (wrapping at the end), with its
    /// RRSIG.
    fn nsec3_covering(&self, hash: &[u8]) -> Vec<Record> {
        let found = self
            .nsec3s
            .iter()
            .rev()
            .find(|(h, _, _)| h[..] < hash[..])
            .or_else(|| self.nsec3s.last());
        match found {
            Some((_, owner, _)) => self.signed_rrset(owner, RecordType::NSEC3),
            None => Vec::new(),
        }
    }

    /// RFC 5155 §7.2.1: the NSEC3 matching the closest provable encloser of
    /// `name` and the one covering the next closer name. Returns the records
    /// and the encloser.
    fn closest_encloser_proof(&self, name: &Name, salt: &[u8], it: u16) -> (Vec<Record>, Name) {
        let mut out = Vec::new();
        let mut candidate = name.base_name();
        loop {
            let hash = nsec3_hash(&candidate, salt, it);
            if let Some(owner) = self.nsec3_matching(&hash) {
                out.extend(self.signed_rrset(&owner, RecordType::NSEC3));
                break;
            }
            if candidate == self.apex || candidate.is_root() {
                break;
            }
            candidate = candidate.base_name();
        }
        let next_closer = name.trim_to(label_count(&candidate) + 1);
        push_unique(
            &mut out,
            self.nsec3_covering(&nsec3_hash(&next_closer, salt, it)),
        );
        (out, candidate)
    }
}

/// The target of a DNAME record: hickory-proto 0.26 keeps DNAME RDATA as
/// bytes, an uncompressed wire-format name (RFC 6672 §2.5).
fn dname_target(rdata: &RData) -> Option<Name> {
    match rdata {
        RData::Unknown { code, rdata } if *code == RecordType::DNAME => {
            let bytes = &rdata.anything[..];
            let mut decoder = BinDecoder::new(bytes);
            Name::read(&mut decoder).ok()
        }
        _ => None,
    }
}
