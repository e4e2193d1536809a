//! The session's view of denial of existence: collects the verified NSEC and
//! NSEC3 records of a response and asks the predicates of [`super::denial`]
//! the question that the response kind poses.

use super::budget::Budget;
use super::denial::nsec::{self, NsecRecord};
use super::denial::nsec3::{self, Nsec3Data, Nsec3Record};
use super::denial::proof::DenialResult;
use super::outcome::{BogusReason, InsecureReason};
use crate::wire::{DNSSECRData, NSEC, Name, RData, RecordType};

/// The verified NSEC and NSEC3 records of one zone in one response.
#[derive(Clone, Debug, Default)]
pub(crate) struct Proof {
    nsecs: Vec<(Name, NSEC)>,
    /// NSEC3 RDATA, parsed or (unknown hash algorithm or flags, which hickory
    /// refuses) raw: RFC 5155 §8.1 has the proofs ignore the latter.
    nsec3s: Vec<(Name, RData)>,
}

impl Proof {
    pub(crate) fn add(&mut self, owner: &Name, rdata: &RData) {
        match rdata {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => self.nsecs.push((owner.clone(), n.clone())),
            RData::DNSSEC(DNSSECRData::NSEC3(_)) => {
                self.nsec3s.push((owner.clone(), rdata.clone()))
            }
            RData::Unknown { code, .. } if *code == RecordType::NSEC3 => {
                self.nsec3s.push((owner.clone(), rdata.clone()));
            }
            _ => {}
        }
    }

    fn nsecs(&self) -> Vec<NsecRecord<'_>> {
        self.nsecs
            .iter()
            .map(|(owner, nsec)| NsecRecord::new(owner, nsec))
            .collect()
    }

    fn nsec3s(&self) -> Vec<Nsec3Record<'_>> {
        self.nsec3s
            .iter()
            .filter_map(|(owner, rdata)| match rdata {
                RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some(Nsec3Record::new(owner, n)),
                RData::Unknown { rdata, .. } => Nsec3Data::unsupported_from_rdata(&rdata.anything)
                    .map(|data| Nsec3Record { owner, data }),
                _ => None,
            })
            .collect()
    }

    /// Which kind of proof to check: NSEC when there is any, else NSEC3.
    fn kind(&self) -> Option<Kind> {
        if !self.nsecs.is_empty() {
            Some(Kind::Nsec)
        } else if !self.nsec3s.is_empty() {
            Some(Kind::Nsec3)
        } else {
            None
        }
    }
}

enum Kind {
    Nsec,
    Nsec3,
}

fn nothing(name: &Name, qtype: RecordType, zone: &Name, what: &str) -> DenialResult {
    DenialResult::Bogus(BogusReason::DenialMissing {
        qname: name.clone(),
        qtype,
        zone: zone.clone(),
        detail: format!("no verified NSEC or NSEC3 for the {what}"),
    })
}

/// A NXDOMAIN for `name` (RFC 4035 §5.4, RFC 5155 §8.4).
pub(crate) fn prove_name_error(
    proof: &Proof,
    name: &Name,
    qtype: RecordType,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    match proof.kind() {
        Some(Kind::Nsec) => nsec::nsec_proves_name_error(&proof.nsecs(), name, qtype, zone).into(),
        Some(Kind::Nsec3) => {
            nsec3::nsec3_proves_name_error(&proof.nsec3s(), name, qtype, zone, budget)
        }
        None => nothing(name, qtype, zone, "name error"),
    }
}

/// A NODATA for `name`/`qtype`, including empty non-terminals and wildcard
/// NODATA (RFC 4035 §5.4, RFC 5155 §8.5–8.7).
pub(crate) fn prove_nodata(
    proof: &Proof,
    name: &Name,
    qtype: RecordType,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    match proof.kind() {
        Some(Kind::Nsec) => {
            nsec::nsec_proves_nodata_response(&proof.nsecs(), name, qtype, zone).into()
        }
        Some(Kind::Nsec3) => nsec3::nsec3_proves_nodata(&proof.nsec3s(), name, qtype, zone, budget),
        None => nothing(name, qtype, zone, "no-data answer"),
    }
}

/// A positive answer expanded from the wildcard at `closest_encloser`: no
/// closer match for `owner` may exist (RFC 4035 §5.3.4, RFC 5155 §8.8).
pub(crate) fn prove_wildcard_expansion(
    proof: &Proof,
    owner: &Name,
    qtype: RecordType,
    closest_encloser: &Name,
    zone: &Name,
    budget: &mut Budget,
) -> DenialResult {
    match proof.kind() {
        Some(Kind::Nsec) => nsec::nsec_proves_no_exact_match_for_wildcard(
            &proof.nsecs(),
            owner,
            qtype,
            closest_encloser,
            zone,
        )
        .into(),
        Some(Kind::Nsec3) => nsec3::nsec3_proves_wildcard_positive(
            &proof.nsec3s(),
            owner,
            qtype,
            closest_encloser,
            zone,
            budget,
        ),
        None => nothing(owner, qtype, zone, "wildcard expansion"),
    }
}

/// What a NODATA answer to a DS query at `name` shows while walking down
/// the chain of trust.
#[derive(Clone, Debug)]
pub(crate) enum DsAbsence {
    /// `name` is no zone cut (no NS there, or an empty non-terminal): the
    /// walk continues with the same keys.
    NoCut,
    /// `name` is a delegation without DS, or lies in an Opt-Out span: all
    /// below is insecure (RFC 4035 §5.2, RFC 5155 §8.9).
    Unsigned(InsecureReason),
    /// The absence is not proven.
    Bogus(BogusReason),
}

/// Judge a DS NODATA for `name` answered by `zone`.
pub(crate) fn classify_ds_absence(
    proof: &Proof,
    name: &Name,
    zone: &Name,
    budget: &mut Budget,
) -> DsAbsence {
    let unsigned = || InsecureReason::UnsignedDelegation { zone: name.clone() };
    let delegation = match proof.kind() {
        Some(Kind::Nsec) => {
            nsec::nsec_proves_unsigned_delegation(&proof.nsecs(), name, zone).into()
        }
        Some(Kind::Nsec3) => {
            nsec3::nsec3_proves_insecure_delegation(&proof.nsec3s(), name, zone, budget)
        }
        None => {
            return match nothing(name, RecordType::DS, zone, "DS absence") {
                DenialResult::Bogus(r) => DsAbsence::Bogus(r),
                _ => DsAbsence::Unsigned(unsigned()),
            };
        }
    };
    match delegation {
        DenialResult::Proven | DenialResult::OptOut { .. } => {
            return DsAbsence::Unsigned(unsigned());
        }
        DenialResult::Insecure(r) => return DsAbsence::Unsigned(r),
        DenialResult::Bogus(_) => {}
    }
    // Not a delegation: then it must be proven that there is no DS here,
    // as a plain NODATA or an empty non-terminal.
    match prove_nodata(proof, name, RecordType::DS, zone, budget) {
        DenialResult::Proven => DsAbsence::NoCut,
        DenialResult::OptOut { .. } => DsAbsence::Unsigned(unsigned()),
        DenialResult::Insecure(r) => DsAbsence::Unsigned(r),
        DenialResult::Bogus(r) => DsAbsence::Bogus(r),
    }
}
