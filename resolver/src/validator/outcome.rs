//! What validation concludes: [`Outcome`], and the reasons behind a bogus or
//! insecure verdict, each carrying its RFC 8914 Extended DNS Error.
//!
//! Bogus is a value, not an `Err`: the engine turns it into SERVFAIL with an
//! EDE option, the cache holds it briefly, and the CLI prints it.

use std::fmt;

use crate::timefmt;
use crate::wire::{Name, RecordType};

/// An RFC 8914 Extended DNS Error: an INFO-CODE and an EXTRA-TEXT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ede {
    /// The INFO-CODE (RFC 8914 §4).
    pub code: u16,
    /// The EXTRA-TEXT: names the zone, the key tag and the record.
    pub text: String,
}

/// RFC 8914 §4 INFO-CODEs that the validator produces.
pub mod ede_code {
    /// 0: Other.
    pub const OTHER: u16 = 0;
    /// 1: Unsupported DNSKEY Algorithm.
    pub const UNSUPPORTED_DNSKEY_ALGORITHM: u16 = 1;
    /// 2: Unsupported DS Digest Type.
    pub const UNSUPPORTED_DS_DIGEST: u16 = 2;
    /// 6: DNSSEC Bogus.
    pub const DNSSEC_BOGUS: u16 = 6;
    /// 7: Signature Expired.
    pub const SIGNATURE_EXPIRED: u16 = 7;
    /// 8: Signature Not Yet Valid.
    pub const SIGNATURE_NOT_YET_VALID: u16 = 8;
    /// 9: DNSKEY Missing.
    pub const DNSKEY_MISSING: u16 = 9;
    /// 10: RRSIGs Missing.
    pub const RRSIGS_MISSING: u16 = 10;
    /// 11: No Zone Key Bit Set.
    pub const NO_ZONE_KEY_BIT: u16 = 11;
    /// 12: NSEC Missing.
    pub const NSEC_MISSING: u16 = 12;
    /// 22: No Reachable Authority.
    pub const NO_REACHABLE_AUTHORITY: u16 = 22;
    /// 27: Unsupported NSEC3 Iterations Value (RFC 9276 §3.2).
    pub const UNSUPPORTED_NSEC3_ITERATIONS: u16 = 27;
}

/// The verdict on a response (RFC 4033 §5, RFC 4035 §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every RRset and every denial in the response was proven from a trust
    /// anchor.
    Secure,
    /// Proven to be outside any signed zone, or in a zone whose signatures we
    /// may not or cannot check (RFC 4035 §5.2, RFC 8624, RFC 9276).
    Insecure(InsecureReason),
    /// A signed zone's data failed to validate.
    Bogus(BogusReason),
    /// No trust anchor covers the name (RFC 4033 §5).
    Indeterminate,
}

impl Outcome {
    /// The Extended DNS Error to attach to an answer with this outcome, if any.
    pub fn ede(&self) -> Option<Ede> {
        match self {
            Self::Secure | Self::Indeterminate => None,
            Self::Insecure(reason) => reason.ede(),
            Self::Bogus(reason) => Some(reason.ede()),
        }
    }

    /// True for [`Outcome::Secure`].
    pub fn is_secure(&self) -> bool {
        matches!(self, Self::Secure)
    }

    /// True for [`Outcome::Bogus`].
    pub fn is_bogus(&self) -> bool {
        matches!(self, Self::Bogus(_))
    }
}

/// Names an RRset in a reason: owner and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetId {
    /// The owner name.
    pub name: Name,
    /// The type.
    pub rtype: RecordType,
}

impl RrsetId {
    /// An RRset identifier.
    pub fn new(name: &Name, rtype: RecordType) -> Self {
        Self {
            name: name.clone(),
            rtype,
        }
    }
}

impl fmt::Display for RrsetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.rtype)
    }
}

/// Why data is bogus. One variant per cause, each with the data an operator
/// needs to act: the zone, the key tag and the record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BogusReason {
    /// A DNSKEY set could not be fetched or was empty while a DS (or anchor)
    /// says the zone is signed.
    DnskeyMissing {
        /// The zone.
        zone: Name,
        /// What went wrong.
        detail: String,
    },
    /// None of the DS (or anchor) records matches a usable key that signs the
    /// DNSKEY RRset (RFC 4035 §5.2).
    DsMismatch {
        /// The zone.
        zone: Name,
        /// The key tags the DS set names.
        ds_tags: Vec<u16>,
    },
    /// The zone's trust anchor is DNSKEY records (no DS), and none of them
    /// is an unrevoked key of the DNSKEY RRset that signs it (RFC 4035
    /// §5.2, RFC 5011 §2.1).
    AnchorKeyMismatch {
        /// The zone.
        zone: Name,
        /// The key tags of the anchor's DNSKEY records.
        anchor_tags: Vec<u16>,
    },
    /// A DS-matched key lacks the Zone Key bit (RFC 4034 §2.1.1).
    NoZoneKeyBit {
        /// The zone.
        zone: Name,
        /// The key's tag.
        key_tag: u16,
    },
    /// An RRset from a signed zone has no RRSIG at all (RFC 4035 §5.3).
    RrsigsMissing {
        /// The RRset.
        rrset: RrsetId,
        /// The zone it should have been signed by.
        zone: Name,
    },
    /// The RRset's RRSIGs name keys that are not in the zone's DNSKEY set.
    NoMatchingKey {
        /// The RRset.
        rrset: RrsetId,
        /// The signer named by the RRSIG.
        signer: Name,
        /// The key tag named by the RRSIG.
        key_tag: u16,
    },
    /// The best RRSIG had expired (RFC 4035 §5.3.1).
    SignatureExpired {
        /// The RRset.
        rrset: RrsetId,
        /// Signer name.
        signer: Name,
        /// Key tag.
        key_tag: u16,
        /// The RRSIG expiration, seconds since the epoch (RFC 1982 resolved).
        expiration: u64,
        /// The validation time it was compared with.
        now: u64,
    },
    /// The best RRSIG was not yet valid (RFC 4035 §5.3.1).
    SignatureNotYetValid {
        /// The RRset.
        rrset: RrsetId,
        /// Signer name.
        signer: Name,
        /// Key tag.
        key_tag: u16,
        /// The RRSIG inception, seconds since the epoch (RFC 1982 resolved).
        inception: u64,
        /// The validation time it was compared with.
        now: u64,
    },
    /// The cryptographic check failed.
    SignatureInvalid {
        /// The RRset.
        rrset: RrsetId,
        /// Signer name.
        signer: Name,
        /// Key tag.
        key_tag: u16,
    },
    /// An RRSIG field breaks an RFC 4035 §5.3.1 rule (signer name, labels,
    /// type covered, class).
    RrsigMalformed {
        /// The RRset.
        rrset: RrsetId,
        /// Which rule.
        detail: String,
    },
    /// A negative answer or wildcard expansion lacks the NSEC/NSEC3 proof it
    /// needs (RFC 4035 §5.4, RFC 5155 §8).
    DenialMissing {
        /// The name asked about.
        qname: Name,
        /// The type asked about.
        qtype: RecordType,
        /// The zone that should have proven it.
        zone: Name,
        /// What is missing.
        detail: String,
    },
    /// The response claims data exists (or not) in a way the proofs contradict,
    /// e.g. a NODATA whose NSEC shows the type present.
    DenialContradicts {
        /// The name asked about.
        qname: Name,
        /// The type asked about.
        qtype: RecordType,
        /// What contradicts.
        detail: String,
    },
    /// A validation budget was exhausted (KeyTrap CVE-2023-50387, NSEC3
    /// CVE-2023-50868, CNAME chain length).
    BudgetExceeded {
        /// Which limit.
        limit: &'static str,
        /// Where.
        detail: String,
    },
    /// The response is structurally unusable for validation.
    Malformed {
        /// What is wrong.
        detail: String,
    },
}

impl BogusReason {
    /// The RFC 8914 code and text for this reason.
    pub fn ede(&self) -> Ede {
        let code = match self {
            // RFC 8914 §4.10: 9 is for a DS (or anchor) without a matching
            // DNSKEY. An RRSIG naming a key its signer does not have is a
            // plain bogus signature (6).
            Self::DnskeyMissing { .. } | Self::DsMismatch { .. } => ede_code::DNSKEY_MISSING,
            Self::NoZoneKeyBit { .. } => ede_code::NO_ZONE_KEY_BIT,
            Self::RrsigsMissing { .. } => ede_code::RRSIGS_MISSING,
            Self::SignatureExpired { .. } => ede_code::SIGNATURE_EXPIRED,
            Self::SignatureNotYetValid { .. } => ede_code::SIGNATURE_NOT_YET_VALID,
            Self::DenialMissing { .. } => ede_code::NSEC_MISSING,
            Self::SignatureInvalid { .. }
            | Self::NoMatchingKey { .. }
            | Self::RrsigMalformed { .. }
            | Self::DenialContradicts { .. }
            // RFC 8914 §4.10 defines 9 for "a DS record existed at a parent,
            // but no supported matching DNSKEY record could be found"; a
            // DNSKEY trust anchor is no DS, so its mismatch is plain bogus
            // (6), as unbound reports it.
            | Self::AnchorKeyMismatch { .. }
            | Self::BudgetExceeded { .. }
            | Self::Malformed { .. } => ede_code::DNSSEC_BOGUS,
        };
        Ede {
            code,
            text: self.to_string(),
        }
    }
}

/// At most this many items of a list go into one reason's text (a log
/// line, an EDE EXTRA-TEXT): a DS flood of 600 records must not make a
/// 600-item line.
const MAX_LISTED: usize = 8;

/// A list in a reason's text: its distinct items in order, at most
/// [`MAX_LISTED`] of them, then how many more there are.
struct Capped<'a, T>(&'a [T]);

impl<T: fmt::Display + PartialEq> fmt::Display for Capped<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown: Vec<&T> = Vec::new();
        let mut more = 0usize;
        for item in self.0 {
            if shown.contains(&item) {
                continue;
            }
            if shown.len() == MAX_LISTED {
                more += 1;
                // Counting the rest exactly would cost a comparison per pair.
                continue;
            }
            shown.push(item);
        }
        f.write_str("[")?;
        for (i, item) in shown.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        if more > 0 {
            write!(f, ", and up to {more} more")?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for BogusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DnskeyMissing { zone, detail } => {
                write!(f, "no usable DNSKEY set for {zone}: {detail}")
            }
            Self::DsMismatch { zone, ds_tags } => write!(
                f,
                "no DNSKEY of {zone} matches its DS (tags {}) and signs the DNSKEY set",
                Capped(ds_tags)
            ),
            Self::AnchorKeyMismatch { zone, anchor_tags } => write!(
                f,
                "no DNSKEY of {zone} is an unrevoked trust anchor key (tags {}) that signs \
                 the DNSKEY set",
                Capped(anchor_tags)
            ),
            Self::NoZoneKeyBit { zone, key_tag } => {
                write!(f, "DNSKEY {key_tag} of {zone} lacks the Zone Key bit")
            }
            Self::RrsigsMissing { rrset, zone } => {
                write!(f, "no RRSIG for {rrset} from signed zone {zone}")
            }
            Self::NoMatchingKey {
                rrset,
                signer,
                key_tag,
            } => write!(
                f,
                "RRSIG of {rrset} names key {key_tag} of {signer}, not in its DNSKEY set"
            ),
            Self::SignatureExpired {
                rrset,
                signer,
                key_tag,
                expiration,
                now,
            } => write!(
                f,
                "RRSIG of {rrset} by {signer} key {key_tag} expired {} ({}), {}",
                timefmt::utc(*expiration),
                timefmt::rrsig(*expiration),
                timefmt::relative(*expiration, *now)
            ),
            Self::SignatureNotYetValid {
                rrset,
                signer,
                key_tag,
                inception,
                now,
            } => write!(
                f,
                "RRSIG of {rrset} by {signer} key {key_tag} not valid before {} ({}), {}",
                timefmt::utc(*inception),
                timefmt::rrsig(*inception),
                timefmt::relative(*inception, *now)
            ),
            Self::SignatureInvalid {
                rrset,
                signer,
                key_tag,
            } => write!(
                f,
                "RRSIG of {rrset} by {signer} key {key_tag} does not verify"
            ),
            Self::RrsigMalformed { rrset, detail } => write!(f, "RRSIG of {rrset}: {detail}"),
            Self::DenialMissing {
                qname,
                qtype,
                zone,
                detail,
            } => write!(f, "no proof from {zone} for {qname} {qtype}: {detail}"),
            Self::DenialContradicts {
                qname,
                qtype,
                detail,
            } => write!(f, "denial for {qname} {qtype} contradicted: {detail}"),
            Self::BudgetExceeded { limit, detail } => {
                write!(f, "validation limit {limit} exceeded: {detail}")
            }
            Self::Malformed { detail } => write!(f, "malformed response: {detail}"),
        }
    }
}

/// Why data is insecure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsecureReason {
    /// A signed parent proved that the delegation has no DS (RFC 4035 §5.2),
    /// or an NSEC3 opt-out span covers it (RFC 5155 §6).
    UnsignedDelegation {
        /// The unsigned zone (or the closest provable cut).
        zone: Name,
    },
    /// Every DS or anchor of the zone uses an algorithm we must not or cannot
    /// validate (RFC 4035 §5.2, RFC 6840 §5.2, RFC 8624 §3.1).
    UnsupportedAlgorithm {
        /// The zone.
        zone: Name,
        /// The algorithms seen.
        algorithms: Vec<u8>,
    },
    /// Every DS of the zone uses an unsupported digest type (RFC 4035 §5.2).
    UnsupportedDigest {
        /// The zone.
        zone: Name,
        /// The digest types seen.
        digests: Vec<u8>,
    },
    /// The zone's NSEC3 chain uses more iterations than we accept (RFC 9276
    /// §3.2) or an unknown hash algorithm (RFC 5155 §8.1).
    Nsec3Unsupported {
        /// The zone.
        zone: Name,
        /// What: iteration count or algorithm.
        detail: String,
        /// True when the iteration count was the cause (EDE 27).
        iterations: bool,
    },
    /// The name is at or below a negative trust anchor (RFC 7646), which
    /// only the engine's operator interface sets; it was not validated.
    NegativeTrustAnchor {
        /// The NTA's name.
        zone: Name,
    },
}

impl InsecureReason {
    /// The length of this reason's text, bounded without formatting it
    /// (the caches measure every insecure lookup and answer; formatting was
    /// 3 % of a cache miss): its fixed words, its zone's length (the bytes
    /// the reason holds; a label byte that prints as an escape is still one
    /// byte in memory), each number as up to three digits and its
    /// separator, and its detail.
    pub(crate) fn text_len_bound(&self) -> usize {
        const WORDS: usize = 96;
        WORDS
            + match self {
                Self::UnsignedDelegation { zone } | Self::NegativeTrustAnchor { zone } => {
                    zone.len()
                }
                Self::UnsupportedAlgorithm {
                    zone,
                    algorithms: n,
                }
                | Self::UnsupportedDigest { zone, digests: n } => zone.len() + 5 * n.len(),
                Self::Nsec3Unsupported { zone, detail, .. } => zone.len() + detail.len(),
            }
    }

    /// The RFC 8914 code and text for this reason, when one applies.
    pub fn ede(&self) -> Option<Ede> {
        let code = match self {
            Self::UnsignedDelegation { .. } => return None,
            Self::UnsupportedAlgorithm { .. } => ede_code::UNSUPPORTED_DNSKEY_ALGORITHM,
            Self::UnsupportedDigest { .. } => ede_code::UNSUPPORTED_DS_DIGEST,
            Self::Nsec3Unsupported {
                iterations: true, ..
            } => ede_code::UNSUPPORTED_NSEC3_ITERATIONS,
            Self::Nsec3Unsupported { .. } | Self::NegativeTrustAnchor { .. } => return None,
        };
        Some(Ede {
            code,
            text: self.to_string(),
        })
    }
}

impl fmt::Display for InsecureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsignedDelegation { zone } => write!(f, "{zone} is an unsigned delegation"),
            Self::UnsupportedAlgorithm { zone, algorithms } => {
                write!(
                    f,
                    "{zone} uses only unsupported algorithms {}",
                    Capped(algorithms)
                )
            }
            Self::UnsupportedDigest { zone, digests } => {
                write!(
                    f,
                    "DS of {zone} uses only unsupported digest types {}",
                    Capped(digests)
                )
            }
            Self::Nsec3Unsupported { zone, detail, .. } => {
                write!(f, "NSEC3 of {zone} not validated: {detail}")
            }
            Self::NegativeTrustAnchor { zone } => {
                write!(
                    f,
                    "negative trust anchor for {zone} (RFC 7646): not validated"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound that stands in for formatting holds for every insecure
    /// reason, long names and lists included.
    #[test]
    fn text_len_bound_covers_the_text() {
        let zone = Name::from_ascii(format!("{}.test.", ["lab\\.el-1"; 20].join("."))).unwrap();
        let many: Vec<u8> = (0..=255).collect();
        for reason in [
            InsecureReason::UnsignedDelegation { zone: zone.clone() },
            InsecureReason::NegativeTrustAnchor { zone: zone.clone() },
            InsecureReason::UnsupportedAlgorithm {
                zone: zone.clone(),
                algorithms: many.clone(),
            },
            InsecureReason::UnsupportedDigest {
                zone,
                digests: many,
            },
            InsecureReason::Nsec3Unsupported {
                zone: Name::root(),
                detail: "iterations 2500 above the limit of 150".into(),
                iterations: true,
            },
        ] {
            let text = reason.to_string();
            assert!(reason.text_len_bound() >= text.len(), "{text}");
        }
    }
}
