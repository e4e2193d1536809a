//! NSEC3 proofs (RFC 5155 §8, RFC 9276).
//!
//! One proof per function, in the manner of unbound's `val_nsec3.c`:
//! [`nsec3_find_closest_encloser`] (§8.3), [`nsec3_proves_name_error`]
//! (§8.4), [`nsec3_proves_nodata`] (§8.5, §8.6, falling back to §8.7),
//! [`nsec3_proves_wildcard_nodata`] (§8.7), [`nsec3_proves_wildcard_positive`]
//! (§8.8) and [`nsec3_proves_insecure_delegation`] (§8.9 and Opt-Out).
//!
//! # Inputs
//! Every NSEC3 handed to these functions has had its RRSIG verified by the
//! caller; `zone` is the signer name of those RRSIGs. Records of other zones,
//! records that are not exactly one label below the zone, and records with an
//! unknown hash algorithm or unknown flags are ignored (RFC 5155 §8.1, §8.2).
//!
//! # Cost
//! Every hash computation is charged to the session's [`Budget`]
//! (CVE-2023-50868); within one proof each (name, salt, iterations) is hashed
//! once. Chains above `Limits::max_nsec3_iterations` are not hashed at all:
//! the proof is Insecure with EDE 27 (RFC 9276 §3.2).

use ring::digest;

use super::proof::{
    DenialResult, ancestor_with_labels, canonical_wire, contradicts, is_strict_subdomain,
    is_subdomain, label_count, missing, next_closer, wildcard_at,
};
use crate::validator::budget::Budget;
use crate::validator::outcome::{BogusReason, InsecureReason};
use crate::validator::rrset::Rrset;
use crate::wire::{DNSSECRData, NSEC3, Name, RData, RecordType};

/// The length of a SHA-1 NSEC3 hash, in octets (RFC 5155 §11).
const SHA1_HASH_LEN: usize = 20;

/// The NSEC3 hash algorithm number of SHA-1 (RFC 5155 §11).
const SHA1: u8 = 1;

/// The Opt-Out flag (RFC 5155 §3.1.2.1); no other flag is defined.
const OPT_OUT: u8 = 0x01;

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// One verified NSEC3 record: its owner name and its RDATA.
#[derive(Clone, Copy, Debug)]
pub struct Nsec3Record<'a> {
    /// The owner name: the base32hex hash, one label below the zone.
    pub owner: &'a Name,
    /// The RDATA.
    pub data: Nsec3Data<'a>,
}

impl<'a> Nsec3Record<'a> {
    /// A view of an NSEC3 record that hickory parsed.
    pub fn new(owner: &'a Name, nsec3: &'a NSEC3) -> Self {
        Self {
            owner,
            data: Nsec3Data::Parsed(nsec3),
        }
    }

    /// The NSEC3 records of an RRset (none if it is not an NSEC3 RRset).
    /// RDATA kept as unknown data of type NSEC3 is read with
    /// [`Nsec3Data::unsupported_from_rdata`].
    pub fn from_rrset(rrset: &'a Rrset) -> impl Iterator<Item = Self> + 'a {
        let owner = &rrset.name;
        rrset.rdatas.iter().filter_map(move |rdata| match rdata {
            RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => Some(Self::new(owner, nsec3)),
            RData::Unknown { code, rdata } if *code == RecordType::NSEC3 => {
                Nsec3Data::unsupported_from_rdata(&rdata.anything).map(|data| Self { owner, data })
            }
            _ => None,
        })
    }
}

/// The RDATA of an NSEC3 record.
#[derive(Clone, Copy, Debug)]
pub enum Nsec3Data<'a> {
    /// RDATA that hickory parsed: SHA-1 with flags 0 or 1.
    Parsed(&'a NSEC3),
    /// RDATA that hickory refuses to parse because of an unknown hash
    /// algorithm or unknown flags. Such a record is ignored (RFC 5155 §8.1,
    /// §8.2), but a chain made only of unknown algorithms is insecure, not
    /// bogus.
    Unsupported {
        /// The Hash Algorithm field.
        hash_algorithm: u8,
        /// The Flags field.
        flags: u8,
        /// The Iterations field.
        iterations: u16,
    },
}

impl Nsec3Data<'static> {
    /// Read the fixed header of NSEC3 RDATA that hickory refused to parse.
    ///
    /// `None` when the RDATA is shorter than the header, or when algorithm
    /// and flags are ones we know (then the RDATA is malformed, not
    /// unsupported, and proves nothing).
    pub fn unsupported_from_rdata(rdata: &[u8]) -> Option<Self> {
        let [hash_algorithm, flags, hi, lo, ..] = *rdata else {
            return None;
        };
        if hash_algorithm == SHA1 && flags & !OPT_OUT == 0 {
            return None;
        }
        Some(Self::Unsupported {
            hash_algorithm,
            flags,
            iterations: u16::from_be_bytes([hi, lo]),
        })
    }
}

/// The closest encloser proof of RFC 5155 §8.3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosestEncloser {
    /// The closest (provable) encloser: an NSEC3 matches it.
    pub closest_encloser: Name,
    /// The next closer name: an NSEC3 covers it.
    pub next_closer: Name,
    /// The NSEC3 covering the next closer name has the Opt-Out flag: an
    /// unsigned delegation may exist there (RFC 5155 §6).
    pub opt_out: bool,
}

// ---------------------------------------------------------------------------
// Hashing (RFC 5155 §5)
// ---------------------------------------------------------------------------

/// The NSEC3 hash of `name` (RFC 5155 §5): SHA-1 over the canonical (lower
/// case, uncompressed) wire form and the salt, iterated `iterations` more
/// times over the previous hash and the salt.
///
/// ```text
/// IH(salt, x, 0) = H(x || salt), and
/// IH(salt, x, k) = H(IH(salt, x, k-1) || salt), if k > 0
/// ```
///
/// Pure and uncharged: proofs call it through their per-proof cache, which
/// charges the [`Budget`]. The one place to swap in another SHA-1.
pub fn nsec3_hash(name: &Name, salt: &[u8], iterations: u16) -> [u8; SHA1_HASH_LEN] {
    let wire = canonical_wire(name);
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&wire);
    ctx.update(salt);
    let mut hash = ctx.finish();
    for _ in 0..iterations {
        let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(hash.as_ref());
        ctx.update(salt);
        hash = ctx.finish();
    }
    let mut out = [0; SHA1_HASH_LEN];
    for (o, h) in out.iter_mut().zip(hash.as_ref()) {
        *o = *h;
    }
    out
}

/// The hash of `name`, in the base32hex form of NSEC3 owner names
/// (RFC 5155 §3.3), lower case.
pub fn nsec3_hash_base32(name: &Name, salt: &[u8], iterations: u16) -> String {
    data_encoding::BASE32_DNSSEC.encode(&nsec3_hash(name, salt, iterations))
}

/// A hash computed earlier in this proof.
struct CachedHash {
    name: Vec<u8>,
    salt: Vec<u8>,
    iterations: u16,
    hash: [u8; SHA1_HASH_LEN],
}

/// Hashes names for one proof, charging each new computation to the budget.
#[derive(Default)]
struct Hasher {
    cache: Vec<CachedHash>,
}

impl Hasher {
    fn hash(
        &mut self,
        name: &Name,
        salt: &[u8],
        iterations: u16,
        zone: &Name,
        budget: &mut Budget,
    ) -> Result<[u8; SHA1_HASH_LEN], BogusReason> {
        let wire = canonical_wire(name);
        let hit = self
            .cache
            .iter()
            .find(|c| c.iterations == iterations && c.salt == salt && c.name == wire);
        if let Some(hit) = hit {
            return Ok(hit.hash);
        }
        budget.charge_nsec3_hash(&format_args!("NSEC3 hash of {name} in zone {zone}"))?;
        let hash = nsec3_hash(name, salt, iterations);
        self.cache.push(CachedHash {
            name: wire,
            salt: salt.to_vec(),
            iterations,
            hash,
        });
        Ok(hash)
    }
}

// ---------------------------------------------------------------------------
// The usable NSEC3 records of one zone (RFC 5155 §8.1, §8.2; RFC 9276 §3.2)
// ---------------------------------------------------------------------------

/// An NSEC3 record that passed the filters, with its owner hash decoded.
struct Usable<'a> {
    owner: &'a Name,
    owner_hash: Vec<u8>,
    rdata: &'a NSEC3,
}

impl Usable<'_> {
    fn has_type(&self, rtype: RecordType) -> bool {
        self.rdata.type_set().contains(rtype)
    }

    /// NS without SOA: the parent side of a zone cut.
    fn is_at_delegation(&self) -> bool {
        self.has_type(RecordType::NS) && !self.has_type(RecordType::SOA)
    }

    /// The hash equals the owner hash (RFC 5155 §1.3 "matches").
    fn matches(&self, hash: &[u8]) -> bool {
        self.owner_hash == hash
    }

    /// The hash falls strictly between the owner hash and the next hashed
    /// owner name, wrapping around at the last NSEC3 of the chain (RFC 5155
    /// §1.3 "covers", §3.1.7). An NSEC3 whose next hash equals its owner hash
    /// is the only one in its chain and covers every other hash.
    fn covers(&self, hash: &[u8]) -> bool {
        let owner = self.owner_hash.as_slice();
        let next = self.rdata.next_hashed_owner_name();
        if owner < next {
            owner < hash && hash < next
        } else {
            hash > owner || hash < next
        }
    }
}

/// The usable NSEC3 records of one zone and the hashes computed so far: the
/// state of one proof.
struct Chain<'a> {
    zone: &'a Name,
    qname: &'a Name,
    qtype: RecordType,
    records: Vec<Usable<'a>>,
    hasher: Hasher,
}

impl<'a> Chain<'a> {
    /// Filter `nsec3s` down to the usable records of `zone`.
    ///
    /// - RFC 5155 §8.1: "A validator MUST ignore NSEC3 RRs with unknown hash
    ///   types. The practical result of this is that responses containing
    ///   only such NSEC3 RRs will generally be considered bogus." We treat a
    ///   response whose only NSEC3 records use unknown hash algorithms as
    ///   Insecure instead, like an unknown DNSKEY algorithm (RFC 6840 §5.2);
    ///   unbound makes it bogus. This is the one place that decides.
    /// - RFC 5155 §8.2: "A validator MUST ignore NSEC3 RRs with a Flag fields
    ///   value other than zero or one."
    /// - RFC 5155 §8.2 (owner names): an NSEC3's owner is the hash of its
    ///   original owner as one label directly below the zone apex.
    /// - RFC 9276 §3.2: above `max_nsec3_iterations` the response is treated
    ///   as insecure, with EDE 27 (RFC 9276 §3.3).
    fn new(
        nsec3s: &[Nsec3Record<'a>],
        zone: &'a Name,
        qname: &'a Name,
        qtype: RecordType,
        budget: &Budget,
    ) -> Result<Self, DenialResult> {
        let mut unknown_algorithms: Vec<u8> = Vec::new();
        let mut records = Vec::new();
        for record in nsec3s {
            if !is_directly_below(record.owner, zone) {
                continue;
            }
            match record.data {
                Nsec3Data::Unsupported { hash_algorithm, .. } => {
                    if hash_algorithm != SHA1 && !unknown_algorithms.contains(&hash_algorithm) {
                        unknown_algorithms.push(hash_algorithm);
                    }
                }
                Nsec3Data::Parsed(rdata) => {
                    if let Some(usable) = usable(record.owner, rdata) {
                        records.push(usable);
                    }
                }
            }
        }
        if records.is_empty() {
            if !unknown_algorithms.is_empty() {
                return Err(DenialResult::Insecure(InsecureReason::Nsec3Unsupported {
                    zone: zone.clone(),
                    detail: format!(
                        "only unknown NSEC3 hash algorithms {unknown_algorithms:?} (RFC 5155 §8.1)"
                    ),
                    iterations: false,
                }));
            }
            return Err(DenialResult::Bogus(missing(
                qname,
                qtype,
                zone,
                "no usable NSEC3 record of the zone",
            )));
        }
        let max = budget.limits().max_nsec3_iterations;
        if let Some(high) = records
            .iter()
            .map(|r| r.rdata.iterations())
            .find(|&i| i > max)
        {
            return Err(DenialResult::Insecure(InsecureReason::Nsec3Unsupported {
                zone: zone.clone(),
                detail: format!(
                    "{high} NSEC3 iterations exceed the limit of {max} (RFC 9276 §3.2)"
                ),
                iterations: true,
            }));
        }
        Ok(Self {
            zone,
            qname,
            qtype,
            records,
            hasher: Hasher::default(),
        })
    }

    /// The index of a record matching `name`, hashing `name` with each
    /// record's parameters.
    fn find_matching(
        &mut self,
        name: &Name,
        budget: &mut Budget,
    ) -> Result<Option<usize>, BogusReason> {
        self.find(name, budget, |record, hash| record.matches(hash))
    }

    /// The index of a record covering `name`.
    fn find_covering(
        &mut self,
        name: &Name,
        budget: &mut Budget,
    ) -> Result<Option<usize>, BogusReason> {
        self.find(name, budget, |record, hash| record.covers(hash))
    }

    /// The first record for which `test(record, hash of name)` holds.
    fn find(
        &mut self,
        name: &Name,
        budget: &mut Budget,
        test: impl Fn(&Usable<'_>, &[u8]) -> bool,
    ) -> Result<Option<usize>, BogusReason> {
        for (i, record) in self.records.iter().enumerate() {
            let rdata = record.rdata;
            let hash =
                self.hasher
                    .hash(name, rdata.salt(), rdata.iterations(), self.zone, budget)?;
            if test(record, &hash) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    fn missing(&self, detail: impl Into<String>) -> DenialResult {
        DenialResult::Bogus(missing(self.qname, self.qtype, self.zone, detail))
    }

    fn contradicts(&self, detail: impl Into<String>) -> DenialResult {
        DenialResult::Bogus(contradicts(self.qname, self.qtype, detail))
    }

    fn opt_out(&self, next_closer: Name) -> DenialResult {
        DenialResult::OptOut {
            zone: self.zone.clone(),
            next_closer,
        }
    }

    /// RFC 5155 §8.3, the closest encloser proof for `name`: the longest
    /// ancestor of `name` (up to the apex) that an NSEC3 matches, and an NSEC3
    /// covering the next closer name.
    fn closest_encloser(
        &mut self,
        name: &Name,
        budget: &mut Budget,
    ) -> Result<ClosestEncloser, DenialResult> {
        if !is_subdomain(name, self.zone) {
            return Err(self.missing(format!("{name} is not in the zone")));
        }
        let mut found = None;
        for labels in (label_count(self.zone)..=label_count(name)).rev() {
            let Some(candidate) = ancestor_with_labels(name, labels) else {
                continue;
            };
            if let Some(i) = self
                .find_matching(&candidate, budget)
                .map_err(DenialResult::Bogus)?
            {
                found = Some((candidate, i));
                break;
            }
        }
        let Some((encloser, i)) = found else {
            return Err(self.missing(format!(
                "no NSEC3 matches {name} or any ancestor in the zone (RFC 5155 §8.3)"
            )));
        };
        let Some(next) = next_closer(name, &encloser) else {
            return Err(self.contradicts(format!("an NSEC3 matches {name}: the name exists")));
        };
        // RFC 5155 §8.3: "The DNAME type bit must not be set and the NS type
        // bit may only be set if the SOA type bit is set."
        let record = &self.records[i];
        if record.has_type(RecordType::DNAME) || record.is_at_delegation() {
            return Err(self.contradicts(format!(
                "the NSEC3 of closest encloser {encloser} is a delegation or DNAME \
                 ({}): it cannot deny names below it (RFC 5155 §8.3)",
                record.owner
            )));
        }
        let Some(c) = self
            .find_covering(&next, budget)
            .map_err(DenialResult::Bogus)?
        else {
            return Err(self.missing(format!(
                "no NSEC3 covers the next closer name {next} (RFC 5155 §8.3)"
            )));
        };
        Ok(ClosestEncloser {
            closest_encloser: encloser,
            next_closer: next,
            opt_out: self.records[c].rdata.opt_out(),
        })
    }

    /// Why the NSEC3 at `qname` does not prove NODATA, if it does not
    /// (RFC 5155 §8.5, §8.6; RFC 6840 §4.1).
    fn nodata_contradiction(&self, i: usize) -> Option<&'static str> {
        let record = &self.records[i];
        if record.has_type(self.qtype) {
            return Some("the NSEC3 matching the name lists the type");
        }
        if record.has_type(RecordType::CNAME) {
            return Some("the NSEC3 matching the name lists CNAME");
        }
        if self.qtype == RecordType::DS {
            if record.has_type(RecordType::SOA) && !self.qname.is_root() {
                return Some(
                    "the NSEC3 is from the child apex (SOA set); only the parent can deny DS",
                );
            }
        } else if record.is_at_delegation() {
            return Some("the NSEC3 is from the parent side of a zone cut (NS without SOA)");
        }
        None
    }

    /// RFC 5155 §8.7: an NSEC3 matches the wildcard at the closest encloser,
    /// without QTYPE or CNAME.
    fn wildcard_nodata(&mut self, ce: &ClosestEncloser, budget: &mut Budget) -> DenialResult {
        let Some(wildcard) = wildcard_at(&ce.closest_encloser) else {
            return self.missing("no wildcard fits at the closest encloser");
        };
        let i = match self.find_matching(&wildcard, budget) {
            Ok(Some(i)) => i,
            Ok(None) => {
                return self.missing(format!(
                    "no NSEC3 matches the name or the wildcard {wildcard} (RFC 5155 §8.5, §8.7)"
                ));
            }
            Err(reason) => return DenialResult::Bogus(reason),
        };
        let record = &self.records[i];
        // RFC 5155 §8.7: "the bits corresponding to both QTYPE and CNAME MUST
        // NOT be set in the wildcard matching NSEC3 RR".
        if record.has_type(self.qtype) || record.has_type(RecordType::CNAME) {
            return self.contradicts(format!(
                "the NSEC3 matching the wildcard {wildcard} lists the type or CNAME"
            ));
        }
        if record.is_at_delegation() {
            return self.contradicts(format!(
                "the NSEC3 matching the wildcard {wildcard} is from the parent side of a cut"
            ));
        }
        if ce.opt_out {
            // The next closer name may be an unsigned delegation that the
            // wildcard answer hides (RFC 5155 §6).
            return self.opt_out(ce.next_closer.clone());
        }
        DenialResult::Proven
    }
}

/// `owner` is exactly one label below `zone` (RFC 5155 §8.2 owner names).
fn is_directly_below(owner: &Name, zone: &Name) -> bool {
    is_strict_subdomain(owner, zone) && label_count(owner) == label_count(zone) + 1
}

/// The record, if its owner label is a SHA-1 hash in base32hex and its next
/// hashed owner name is a SHA-1 hash; malformed records prove nothing.
fn usable<'a>(owner: &'a Name, rdata: &'a NSEC3) -> Option<Usable<'a>> {
    let label = owner.iter().next()?;
    let owner_hash = data_encoding::BASE32_DNSSEC.decode(label).ok()?;
    if owner_hash.len() != SHA1_HASH_LEN || rdata.next_hashed_owner_name().len() != SHA1_HASH_LEN {
        return None;
    }
    Some(Usable {
        owner,
        owner_hash,
        rdata,
    })
}

// ---------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------

/// RFC 5155 §8.3: find the closest (provable) encloser of `qname` and check
/// that an NSEC3 covers the next closer name.
///
/// Bogus when no NSEC3 matches an ancestor, when `qname` itself is matched
/// (it exists), when the matching NSEC3 is a delegation or DNAME, or when the
/// next closer name is not covered.
pub fn nsec3_find_closest_encloser(
    nsec3s: &[Nsec3Record<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    budget: &mut Budget,
) -> Result<ClosestEncloser, DenialResult> {
    let mut chain = Chain::new(nsec3s, zone, qname, qtype, budget)?;
    chain.closest_encloser(qname, budget)
}

/// RFC 5155 §8.4 name error: "The validator MUST verify that there is a
/// closest encloser for QNAME present in the response and that there is an
/// NSEC3 RR present in the response that covers the wildcard at the closest
/// encloser."
///
/// Opt-Out on the NSEC3 covering the next closer name makes the answer
/// insecure ([`DenialResult::OptOut`], RFC 5155 §9.2): an unsigned delegation
/// may exist there.
pub fn nsec3_proves_name_error(
    nsec3s: &[Nsec3Record<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    let mut chain = match Chain::new(nsec3s, zone, qname, qtype, budget) {
        Ok(chain) => chain,
        Err(result) => return result,
    };
    let ce = match chain.closest_encloser(qname, budget) {
        Ok(ce) => ce,
        Err(result) => return result,
    };
    if let Some(wildcard) = wildcard_at(&ce.closest_encloser) {
        match chain.find_matching(&wildcard, budget) {
            Ok(Some(_)) => {
                return chain.contradicts(format!(
                    "NXDOMAIN, but an NSEC3 matches the wildcard {wildcard}"
                ));
            }
            Ok(None) => {}
            Err(reason) => return DenialResult::Bogus(reason),
        }
        match chain.find_covering(&wildcard, budget) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return chain.missing(format!(
                    "no NSEC3 covers the wildcard {wildcard} (RFC 5155 §8.4)"
                ));
            }
            Err(reason) => return DenialResult::Bogus(reason),
        }
    }
    if ce.opt_out {
        return chain.opt_out(ce.next_closer);
    }
    DenialResult::Proven
}

/// RFC 5155 §8.5–§8.7 NODATA.
///
/// - §8.5: "The validator MUST verify that an NSEC3 RR that matches QNAME is
///   present and that both the QTYPE and the CNAME type are not set in its
///   Type Bit Maps field." An NSEC3 with NS but no SOA is the parent side of
///   a cut and proves nothing for types other than DS (RFC 6840 §4.1).
///   Erratum 3441 (verified) adds the case without a matching NSEC3: a
///   closest provable encloser proof whose next closer name is covered by
///   an Opt-Out NSEC3 ([`DenialResult::OptOut`], insecure).
/// - §8.6 (QTYPE DS): a matching NSEC3 without DS and CNAME (and not the
///   child's apex); otherwise "the validator MUST verify that a closest
///   provable encloser proof for QNAME is present in the response, and that
///   the NSEC3 RR that covers the 'next closer' name has the Opt-Out bit
///   set" — which makes the delegation insecure ([`DenialResult::OptOut`]).
/// - §8.7: without a matching NSEC3, a wildcard NODATA
///   ([`nsec3_proves_wildcard_nodata`]).
///
/// For DS, [`DenialResult::Proven`] means no DS exists at `qname`: if the
/// caller knows `qname` to be a zone cut, the child is an unsigned delegation.
pub fn nsec3_proves_nodata(
    nsec3s: &[Nsec3Record<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    let mut chain = match Chain::new(nsec3s, zone, qname, qtype, budget) {
        Ok(chain) => chain,
        Err(result) => return result,
    };
    if !is_subdomain(qname, zone) {
        return chain.missing("the name is not in the zone");
    }
    match chain.find_matching(qname, budget) {
        Ok(Some(i)) => {
            return match chain.nodata_contradiction(i) {
                Some(why) => chain.contradicts(why),
                None => DenialResult::Proven,
            };
        }
        Ok(None) => {}
        Err(reason) => return DenialResult::Bogus(reason),
    }
    let ce = match chain.closest_encloser(qname, budget) {
        Ok(ce) => ce,
        Err(result) => return result,
    };
    match chain.wildcard_nodata(&ce, budget) {
        DenialResult::Bogus(BogusReason::DenialMissing { .. }) => {}
        proven_or_contradicted => return proven_or_contradicted,
    }
    // RFC 5155 §8.6 (QTYPE DS) and §8.5 as corrected by the verified
    // erratum 3441 (any other QTYPE): without an NSEC3 matching QNAME, the
    // validator verifies a closest provable encloser proof for QNAME whose
    // NSEC3 covering the next closer name has the Opt-Out bit set. That is
    // the NODATA of an empty non-terminal that exists only because of an
    // unsigned delegation below it, which has no NSEC3 of its own in an
    // Opt-Out zone (the case the erratum adds as §8.5's third paragraph;
    // Knot Resolver's `kr_nsec3_no_data` and DNSViz cite it the same way).
    // What it proves is that the name is absent or lies in an Opt-Out
    // span, i.e. at most insecure: never AD (§9.2). unbound judges it so
    // (`nsec3_do_prove_nodata`, case 5).
    if ce.opt_out {
        return chain.opt_out(ce.next_closer);
    }
    if qtype == RecordType::DS {
        return chain.missing(format!(
            "no NSEC3 matches the name, and the NSEC3 covering the next closer \
             name {} is not Opt-Out (RFC 5155 §8.6)",
            ce.next_closer
        ));
    }
    chain.missing(format!(
        "no NSEC3 matches the name or the wildcard at {} (RFC 5155 §8.5, §8.7)",
        ce.closest_encloser
    ))
}

/// RFC 5155 §8.7 wildcard NODATA: "The validator MUST verify a closest
/// encloser proof for QNAME and MUST find an NSEC3 RR present in the
/// response that matches the wildcard name generated by prepending the
/// asterisk label to the closest encloser. Furthermore, the bits
/// corresponding to both QTYPE and CNAME MUST NOT be set in the wildcard
/// matching NSEC3 RR."
pub fn nsec3_proves_wildcard_nodata(
    nsec3s: &[Nsec3Record<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    let mut chain = match Chain::new(nsec3s, zone, qname, qtype, budget) {
        Ok(chain) => chain,
        Err(result) => return result,
    };
    match chain.closest_encloser(qname, budget) {
        Ok(ce) => chain.wildcard_nodata(&ce, budget),
        Err(result) => result,
    }
}

/// RFC 5155 §8.8 wildcard answer: the RRSIG Labels field gives the closest
/// encloser; "Validators MUST verify that there is an NSEC3 RR that covers the
/// 'next closer' name to QNAME present in the response."
///
/// An Opt-Out covering NSEC3 makes the answer insecure
/// ([`DenialResult::OptOut`]): an unsigned delegation may exist at the next
/// closer name.
pub fn nsec3_proves_wildcard_positive(
    nsec3s: &[Nsec3Record<'_>],
    qname: &Name,
    qtype: RecordType,
    closest_encloser: &Name,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    let mut chain = match Chain::new(nsec3s, zone, qname, qtype, budget) {
        Ok(chain) => chain,
        Err(result) => return result,
    };
    if !is_subdomain(closest_encloser, zone) {
        return chain.missing(format!("{closest_encloser} is not in the zone"));
    }
    let Some(next) = next_closer(qname, closest_encloser) else {
        return chain.missing(format!(
            "{closest_encloser} cannot be the closest encloser of the name"
        ));
    };
    match chain.find_covering(&next, budget) {
        Ok(Some(i)) if chain.records[i].rdata.opt_out() => chain.opt_out(next),
        Ok(Some(_)) => DenialResult::Proven,
        Ok(None) => chain.missing(format!(
            "no NSEC3 covers the next closer name {next} (RFC 5155 §8.8)"
        )),
        Err(reason) => DenialResult::Bogus(reason),
    }
}

/// RFC 5155 §8.9 referral to an unsigned subzone: "If there is an NSEC3 RR
/// that matches the delegation name, then that NSEC3 RR MUST NOT have the bits
/// corresponding to DS and SOA set in its Type Bit Maps field and MUST have
/// the NS bit set. If there is no such NSEC3 RR, then the validator MUST
/// verify a closest provable encloser proof for the delegation name. The
/// validator MUST verify that the Opt-Out bit is set in the NSEC3 RR that
/// covers the 'next closer' name to the delegation name."
///
/// RFC 6840 §4.4 adds that the validator "MUST check for the presence of the
/// NS bit in the matching NSEC (or NSEC3) RR [...], or alternately make sure
/// that the delegation is covered by an NSEC3 RR with the Opt-Out flag set".
///
/// [`DenialResult::Proven`]: the delegation is proven unsigned.
/// [`DenialResult::OptOut`]: it may be unsigned — insecure, never secure.
pub fn nsec3_proves_insecure_delegation(
    nsec3s: &[Nsec3Record<'_>],
    delegation: &Name,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    let mut chain = match Chain::new(nsec3s, zone, delegation, RecordType::DS, budget) {
        Ok(chain) => chain,
        Err(result) => return result,
    };
    if !is_strict_subdomain(delegation, zone) {
        return chain.missing("the delegation is not below the zone");
    }
    match chain.find_matching(delegation, budget) {
        Ok(Some(i)) => {
            let record = &chain.records[i];
            let why = if record.has_type(RecordType::DS) {
                "the NSEC3 matching the delegation lists DS"
            } else if record.has_type(RecordType::SOA) {
                "the NSEC3 is from the child apex (SOA set), not the parent"
            } else if !record.has_type(RecordType::NS) {
                "the NSEC3 matching the name lists no NS: it is not a delegation"
            } else {
                return DenialResult::Proven;
            };
            return chain.contradicts(why);
        }
        Ok(None) => {}
        Err(reason) => return DenialResult::Bogus(reason),
    }
    match chain.closest_encloser(delegation, budget) {
        Ok(ce) if ce.opt_out => chain.opt_out(ce.next_closer),
        Ok(ce) => chain.missing(format!(
            "no NSEC3 matches the delegation, and the NSEC3 covering the next \
             closer name {} is not Opt-Out (RFC 5155 §8.9)",
            ce.next_closer
        )),
        Err(result) => result,
    }
}
