//! NSEC proofs (RFC 4035 §5.4, §3.1.3; RFC 6840 §4.1, §4.3; RFC 4592).
//!
//! One predicate per proof, named as a sentence, in the manner of unbound's
//! `val_nsec.c`. The record-level predicates (`nsec_covers`,
//! `nsec_proves_nodata`, …) look at one NSEC and answer yes or no; the
//! response-level proofs (`nsec_proves_name_error`, …) look at every NSEC of
//! a response and say what is missing or contradicted.
//!
//! # Inputs
//! Every NSEC handed to these functions has had its RRSIG verified by the
//! caller, with the zone (`signer`) it was signed by. The functions read only
//! owner names, Next Domain Names and type bitmaps; they do no I/O and never
//! panic.
//!
//! # The ancestor rules
//! An NSEC at a delegation point (NS without SOA) was signed by the parent,
//! which is not authoritative for anything below the cut; an NSEC at a DNAME
//! owner is not authoritative for anything below the DNAME either (RFC 6840
//! §4.1, RFC 4035 §5.4). Such an NSEC never proves that a name below its
//! owner does not exist, and proves no type other than DS absent at its owner.

use std::cmp::Ordering;

use super::proof::{
    canonical_cmp, contradicts, is_strict_subdomain, is_subdomain, label_count, missing, same_name,
    shared_ancestor, wildcard_at,
};
use crate::validator::outcome::BogusReason;
use crate::validator::rrset::Rrset;
use crate::wire::{DNSSECRData, NSEC, Name, RData, RecordType};

/// One verified NSEC record: its owner name and its RDATA.
#[derive(Clone, Copy, Debug)]
pub struct NsecRecord<'a> {
    /// The owner name.
    pub owner: &'a Name,
    /// The RDATA.
    pub nsec: &'a NSEC,
}

impl<'a> NsecRecord<'a> {
    /// An NSEC record view.
    pub fn new(owner: &'a Name, nsec: &'a NSEC) -> Self {
        Self { owner, nsec }
    }

    /// The NSEC records of an RRset (none if it is not an NSEC RRset).
    pub fn from_rrset(rrset: &'a Rrset) -> impl Iterator<Item = Self> + 'a {
        rrset.rdatas.iter().filter_map(move |rdata| match rdata {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some(Self::new(&rrset.name, nsec)),
            _ => None,
        })
    }
}

// ---------------------------------------------------------------------------
// Bitmap facts
// ---------------------------------------------------------------------------

/// The NSEC's bitmap lists `rtype`.
pub(crate) fn nsec_has_type(nsec: &NSEC, rtype: RecordType) -> bool {
    nsec.type_set().contains(rtype)
}

/// The NSEC sits at a delegation point on the parent side of a cut: NS set,
/// SOA clear (RFC 6840 §4.1).
pub(crate) fn nsec_is_at_delegation(nsec: &NSEC) -> bool {
    nsec_has_type(nsec, RecordType::NS) && !nsec_has_type(nsec, RecordType::SOA)
}

/// The NSEC cannot speak for names below its owner: it is at a delegation
/// point or at a DNAME (RFC 6840 §4.1, RFC 6672 §5.3.2).
pub(crate) fn nsec_is_ancestor_only(nsec: &NSEC) -> bool {
    nsec_is_at_delegation(nsec) || nsec_has_type(nsec, RecordType::DNAME)
}

// ---------------------------------------------------------------------------
// Record-level predicates
// ---------------------------------------------------------------------------

/// The NSEC at `owner` is the NSEC of `name`: the owner equals the name
/// (case-insensitive, RFC 4034 §6.1).
pub(crate) fn nsec_matches(owner: &Name, name: &Name) -> bool {
    same_name(owner, name)
}

/// `name` falls strictly between `owner` and the NSEC's Next Domain Name in
/// canonical order (RFC 4034 §6.1), so no RRset exists at `name`.
///
/// The last NSEC of a zone has the apex as its next name (RFC 4034 §4.1.1);
/// it covers the names after its owner that are below the apex. An NSEC whose
/// owner equals its next name is the only NSEC of its zone and covers every
/// other name below it.
pub fn nsec_covers(owner: &Name, nsec: &NSEC, name: &Name) -> bool {
    let next = nsec.next_domain_name();
    match canonical_cmp(owner, next) {
        Ordering::Less => {
            canonical_cmp(owner, name) == Ordering::Less
                && canonical_cmp(name, next) == Ordering::Less
        }
        // Wrap-around: `next` is the apex. The names below it sort right
        // after it, so `owner < name` also rejects an owner outside the apex.
        Ordering::Greater | Ordering::Equal => {
            is_strict_subdomain(name, next) && canonical_cmp(owner, name) == Ordering::Less
        }
    }
}

/// The NSEC proves that `name` does not exist at all: no RRset at it and no
/// name below it.
///
/// RFC 4035 §5.4 and RFC 6840 §4.1: the NSEC must cover `name`, must not be
/// an ancestor-only NSEC (delegation or DNAME) above `name`, and its next name
/// must not be below `name` (that would make `name` an existing empty
/// non-terminal).
pub fn nsec_proves_name_does_not_exist(owner: &Name, nsec: &NSEC, name: &Name) -> bool {
    if nsec_matches(owner, name) {
        return false;
    }
    // RFC 6840 §4.1: "Ancestor delegation NSEC or NSEC3 RRs MUST NOT be used
    // to assume nonexistence of any RRs below that zone cut [...]. An NSEC or
    // NSEC3 RR with the DNAME bit set MUST NOT be used to assume the
    // nonexistence of any subdomain of that NSEC/NSEC3 RR's (original) owner
    // name."
    if is_strict_subdomain(name, owner) && nsec_is_ancestor_only(nsec) {
        return false;
    }
    if is_strict_subdomain(nsec.next_domain_name(), name) {
        return false;
    }
    nsec_covers(owner, nsec, name)
}

/// The closest encloser of `qname` that an NSEC covering it reveals: the
/// longer of the names `qname` shares with the NSEC's owner and with its next
/// name (RFC 4035 §5.4; unbound's `nsec_closest_encloser`).
pub fn nsec_closest_encloser(owner: &Name, nsec: &NSEC, qname: &Name) -> Name {
    let with_owner = shared_ancestor(owner, qname);
    let with_next = shared_ancestor(nsec.next_domain_name(), qname);
    if label_count(&with_owner) > label_count(&with_next) {
        with_owner
    } else {
        with_next
    }
}

/// The NSEC proves that `qname` is an empty non-terminal: it covers `qname`
/// and its next name is below `qname` (RFC 4035 §3.1.3.2, RFC 4592 §2.2.2).
pub fn nsec_proves_empty_non_terminal(owner: &Name, nsec: &NSEC, qname: &Name) -> bool {
    if is_strict_subdomain(qname, owner) && nsec_is_ancestor_only(nsec) {
        return false;
    }
    canonical_cmp(owner, qname) == Ordering::Less
        && is_strict_subdomain(nsec.next_domain_name(), qname)
}

/// The NSEC proves that `qname` exists without an RRset of `qtype`
/// (RFC 4035 §3.1.3.1, §5.4), or that `qname` is an empty non-terminal.
///
/// For an NSEC at `qname`:
/// - `qtype` and CNAME must be absent (RFC 6840 §4.3: validators "MUST check
///   the CNAME bit").
/// - For any `qtype` but DS, an NSEC with NS but no SOA is the parent side of
///   a cut and proves nothing about the child (RFC 6840 §4.1).
/// - For DS, the parent side is the right one; an NSEC with SOA is the
///   child's apex and cannot deny the parent's DS (RFC 4035 §5.2), except at
///   the root, which has no parent.
pub fn nsec_proves_nodata(owner: &Name, nsec: &NSEC, qname: &Name, qtype: RecordType) -> bool {
    if !nsec_matches(owner, qname) {
        return nsec_proves_empty_non_terminal(owner, nsec, qname);
    }
    nodata_contradiction(nsec, qname, qtype).is_none()
}

/// Why an NSEC at `qname` does not prove NODATA for `qtype`, if it does not.
fn nodata_contradiction(nsec: &NSEC, qname: &Name, qtype: RecordType) -> Option<&'static str> {
    if nsec_has_type(nsec, qtype) {
        return Some("the NSEC at the name lists the type");
    }
    if nsec_has_type(nsec, RecordType::CNAME) {
        return Some("the NSEC at the name lists CNAME (RFC 6840 §4.3)");
    }
    if qtype == RecordType::DS {
        if nsec_has_type(nsec, RecordType::SOA) && !qname.is_root() {
            return Some("the NSEC is from the child apex (SOA set); only the parent can deny DS");
        }
    } else if nsec_is_at_delegation(nsec) {
        return Some("the NSEC is from the parent side of a zone cut (NS without SOA)");
    }
    None
}

/// The NSEC at `delegation` proves that the delegation is unsigned: NS set,
/// DS and SOA absent (RFC 4035 §5.2, §3.1.4.1). RFC 6840 §4.4: "The validator
/// also MUST check for the presence of the NS bit in the matching NSEC (or
/// NSEC3) RR (proving that there is, indeed, a delegation)".
pub fn nsec_proves_insecure_delegation(owner: &Name, nsec: &NSEC, delegation: &Name) -> bool {
    nsec_matches(owner, delegation)
        && nsec_has_type(nsec, RecordType::NS)
        && !nsec_has_type(nsec, RecordType::DS)
        && !nsec_has_type(nsec, RecordType::SOA)
}

// ---------------------------------------------------------------------------
// Response-level proofs
// ---------------------------------------------------------------------------

/// The NSECs of `zone`; records from elsewhere prove nothing about it.
fn in_zone<'a, 'b>(
    nsecs: &'b [NsecRecord<'a>],
    zone: &'b Name,
) -> impl Iterator<Item = NsecRecord<'a>> + 'b {
    nsecs
        .iter()
        .copied()
        .filter(move |r| is_subdomain(r.owner, zone))
}

/// The closest encloser of `qname` revealed by an NSEC of `zone` that proves
/// `qname` does not exist.
fn covering_closest_encloser(nsecs: &[NsecRecord<'_>], qname: &Name, zone: &Name) -> Option<Name> {
    in_zone(nsecs, zone)
        .filter(|r| nsec_proves_name_does_not_exist(r.owner, r.nsec, qname))
        .map(|r| nsec_closest_encloser(r.owner, r.nsec, qname))
        .find(|ce| is_subdomain(ce, zone))
}

/// An NSEC of `zone` proves that `name` does not exist.
fn some_nsec_denies(nsecs: &[NsecRecord<'_>], name: &Name, zone: &Name) -> bool {
    in_zone(nsecs, zone).any(|r| nsec_proves_name_does_not_exist(r.owner, r.nsec, name))
}

/// The NSECs prove a name error (NXDOMAIN) for `qname` in `zone`.
///
/// RFC 4035 §5.4 (with §3.1.3.2): the response must hold an NSEC proving
/// that the name does not exist and an NSEC proving that no wildcard could
/// have matched it.
/// The wildcard is the one at the closest encloser that the covering NSEC
/// reveals (RFC 4592 §4.7, RFC 4035 §3.1.3.2).
pub fn nsec_proves_name_error(
    nsecs: &[NsecRecord<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
) -> Result<(), BogusReason> {
    if !is_subdomain(qname, zone) {
        return Err(missing(qname, qtype, zone, "the name is not in the zone"));
    }
    if let Some(r) = in_zone(nsecs, zone).find(|r| nsec_matches(r.owner, qname)) {
        return Err(contradicts(
            qname,
            qtype,
            format!(
                "NXDOMAIN, but the NSEC at {} shows the name exists",
                r.owner
            ),
        ));
    }
    let Some(encloser) = covering_closest_encloser(nsecs, qname, zone) else {
        return Err(missing(
            qname,
            qtype,
            zone,
            "no NSEC proves the name does not exist (RFC 4035 §5.4)",
        ));
    };
    // A closest encloser at the 255-octet limit has no wildcard to deny.
    let Some(wildcard) = wildcard_at(&encloser) else {
        return Ok(());
    };
    if some_nsec_denies(nsecs, &wildcard, zone) {
        Ok(())
    } else {
        Err(missing(
            qname,
            qtype,
            zone,
            format!("no NSEC proves that the wildcard {wildcard} does not exist (RFC 4035 §5.4)"),
        ))
    }
}

/// The NSECs prove a NODATA answer for `qname`/`qtype` in `zone`: an NSEC at
/// `qname` without the type (RFC 4035 §3.1.3.1), an empty non-terminal
/// (§3.1.3.2), or a wildcard without the type (§3.1.3.4, via
/// [`nsec_proves_wildcard_nodata`]).
///
/// For DS, `Ok` means no DS exists at `qname`: if the caller knows `qname` to
/// be a zone cut, the child is an unsigned delegation (see also
/// [`nsec_proves_unsigned_delegation`] for referrals).
pub fn nsec_proves_nodata_response(
    nsecs: &[NsecRecord<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
) -> Result<(), BogusReason> {
    if !is_subdomain(qname, zone) {
        return Err(missing(qname, qtype, zone, "the name is not in the zone"));
    }
    let mut matched = false;
    for r in in_zone(nsecs, zone).filter(|r| nsec_matches(r.owner, qname)) {
        if let Some(why) = nodata_contradiction(r.nsec, qname, qtype) {
            return Err(contradicts(qname, qtype, why));
        }
        matched = true;
    }
    if matched {
        return Ok(());
    }
    if in_zone(nsecs, zone).any(|r| nsec_proves_empty_non_terminal(r.owner, r.nsec, qname)) {
        return Ok(());
    }
    nsec_proves_wildcard_nodata(nsecs, qname, qtype, zone)
}

/// The NSECs prove that `qname` does not exist and that the wildcard at its
/// closest encloser exists without `qtype` or CNAME (RFC 4035 §3.1.3.4,
/// §5.4).
pub fn nsec_proves_wildcard_nodata(
    nsecs: &[NsecRecord<'_>],
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
) -> Result<(), BogusReason> {
    let Some(encloser) = covering_closest_encloser(nsecs, qname, zone) else {
        return Err(missing(
            qname,
            qtype,
            zone,
            "no NSEC at the name and none proves it does not exist",
        ));
    };
    let Some(wildcard) = wildcard_at(&encloser) else {
        return Err(missing(
            qname,
            qtype,
            zone,
            "no wildcard fits at the closest encloser",
        ));
    };
    let mut matched = false;
    for r in in_zone(nsecs, zone).filter(|r| nsec_matches(r.owner, &wildcard)) {
        if nsec_has_type(r.nsec, qtype) {
            return Err(contradicts(
                qname,
                qtype,
                format!("the NSEC at {wildcard} lists the type"),
            ));
        }
        // RFC 6840 §4.3: the CNAME bit MUST be checked as well.
        if nsec_has_type(r.nsec, RecordType::CNAME) {
            return Err(contradicts(
                qname,
                qtype,
                format!("the NSEC at {wildcard} lists CNAME"),
            ));
        }
        if nsec_is_at_delegation(r.nsec) {
            return Err(contradicts(
                qname,
                qtype,
                format!("the NSEC at {wildcard} is from the parent side of a cut"),
            ));
        }
        matched = true;
    }
    if matched {
        Ok(())
    } else {
        Err(missing(
            qname,
            qtype,
            zone,
            format!("no NSEC at the name, and none at the wildcard {wildcard}"),
        ))
    }
}

/// For a positive answer synthesised from the wildcard at
/// `closest_encloser` (known from the RRSIG Labels field), the NSECs prove
/// that `qname` does not exist and that no name closer to it does
/// (RFC 4035 §5.3.4).
pub fn nsec_proves_no_exact_match_for_wildcard(
    nsecs: &[NsecRecord<'_>],
    qname: &Name,
    qtype: RecordType,
    closest_encloser: &Name,
    zone: &Name,
) -> Result<(), BogusReason> {
    if !is_strict_subdomain(qname, closest_encloser) || !is_subdomain(closest_encloser, zone) {
        return Err(missing(
            qname,
            qtype,
            zone,
            format!("{closest_encloser} cannot be the closest encloser of the name"),
        ));
    }
    let proven = in_zone(nsecs, zone).any(|r| {
        nsec_proves_name_does_not_exist(r.owner, r.nsec, qname)
            && same_name(
                &nsec_closest_encloser(r.owner, r.nsec, qname),
                closest_encloser,
            )
    });
    if proven {
        Ok(())
    } else {
        Err(missing(
            qname,
            qtype,
            zone,
            format!(
                "no NSEC proves the name does not exist below the wildcard's \
                 closest encloser {closest_encloser} (RFC 4035 §5.3.4)"
            ),
        ))
    }
}

/// The NSECs prove that the delegation to `delegation` is unsigned: the NSEC
/// at the delegation has NS but neither DS nor SOA (RFC 4035 §5.2, RFC 6840
/// §4.4).
pub fn nsec_proves_unsigned_delegation(
    nsecs: &[NsecRecord<'_>],
    delegation: &Name,
    zone: &Name,
) -> Result<(), BogusReason> {
    let qtype = RecordType::DS;
    let mut matched = false;
    for r in in_zone(nsecs, zone).filter(|r| nsec_matches(r.owner, delegation)) {
        if nsec_proves_insecure_delegation(r.owner, r.nsec, delegation) {
            matched = true;
            continue;
        }
        let why = if nsec_has_type(r.nsec, RecordType::DS) {
            "the NSEC at the delegation lists DS"
        } else if nsec_has_type(r.nsec, RecordType::SOA) {
            "the NSEC is from the child apex (SOA set), not the parent"
        } else {
            "the NSEC at the name lists no NS: it is not a delegation"
        };
        return Err(contradicts(delegation, qtype, why));
    }
    if matched {
        Ok(())
    } else {
        Err(missing(
            delegation,
            qtype,
            zone,
            "no NSEC at the delegation proves DS absent (RFC 4035 §5.2)",
        ))
    }
}
