//! The chain of trust as a session walked it, for people: `danebound query
//! --trace-chain` prints it zone by zone, `--dot` draws it.
//!
//! Events are recorded where results are first computed (each is memoised
//! in the session), so each appears once, in the order the walk made them.

use std::fmt;

use super::outcome::RrsetId;
use crate::wire::Name;

/// A DNSKEY as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key tag.
    pub tag: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Flags (256 ZSK, 257 KSK/SEP, +128 revoked).
    pub flags: u16,
}

/// A DS record as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsInfo {
    /// Key tag.
    pub tag: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Digest type.
    pub digest_type: u8,
}

/// One step of a validation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceEvent {
    /// The DNSKEY set of `zone` was authenticated by the DS or anchor keys
    /// `by`.
    KeysTrusted {
        /// The zone.
        zone: Name,
        /// Every key of the set.
        keys: Vec<KeyInfo>,
        /// Tags of the keys that a DS or anchor vouched for and that signed
        /// the set.
        by: Vec<u16>,
        /// True when the entry point was a configured trust anchor.
        anchor: bool,
    },
    /// The DNSKEY set of `zone` could not be authenticated.
    KeysFailed {
        /// The zone.
        zone: Name,
        /// Why (a bogus or insecure reason).
        reason: String,
        /// True for an insecure (not bogus) result.
        insecure: bool,
    },
    /// A signed DS set delegates to `zone`.
    Delegation {
        /// The child zone.
        zone: Name,
        /// The DS records.
        ds: Vec<DsInfo>,
        /// The parent zone that signed them.
        parent: Name,
    },
    /// `name` is no zone cut.
    NoCut {
        /// The name.
        name: Name,
    },
    /// `name` is proven to be an unsigned delegation (or within an Opt-Out
    /// span).
    Unsigned {
        /// The name.
        name: Name,
        /// The proof.
        reason: String,
    },
    /// The walk broke at `name`.
    Broken {
        /// The name.
        name: Name,
        /// Why.
        reason: String,
    },
    /// An RRset verified.
    RrsetSecure {
        /// The RRset.
        rrset: RrsetId,
        /// Signer.
        signer: Name,
        /// Key tag.
        key_tag: u16,
        /// Algorithm.
        algorithm: u8,
        /// RRSIG inception (seconds since the epoch, 32-bit serial).
        inception: u32,
        /// RRSIG expiration.
        expiration: u32,
    },
    /// An RRset did not verify, or is unsigned.
    RrsetNotSecure {
        /// The RRset.
        rrset: RrsetId,
        /// Insecure, indeterminate or the bogus reason.
        status: String,
    },
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeysTrusted {
                zone,
                keys,
                by,
                anchor,
            } => {
                write!(
                    f,
                    "{zone} DNSKEY: trusted via {} key {}; keys:",
                    if *anchor { "trust anchor" } else { "DS" },
                    join(by.iter().map(u16::to_string))
                )?;
                for k in keys {
                    write!(f, " {}/alg {}/flags {}", k.tag, k.algorithm, k.flags)?;
                }
                Ok(())
            }
            Self::KeysFailed {
                zone,
                reason,
                insecure,
            } => write!(
                f,
                "{zone} DNSKEY: {}: {reason}",
                if *insecure { "insecure" } else { "BROKEN" }
            ),
            Self::Delegation { zone, ds, parent } => {
                write!(f, "{zone} DS (signed by {parent}):")?;
                for d in ds {
                    write!(f, " {} alg {} digest {}", d.tag, d.algorithm, d.digest_type)?;
                }
                Ok(())
            }
            Self::NoCut { name } => write!(f, "{name}: no zone cut"),
            Self::Unsigned { name, reason } => write!(f, "{name}: insecure: {reason}"),
            Self::Broken { name, reason } => write!(f, "{name}: BROKEN: {reason}"),
            Self::RrsetSecure {
                rrset,
                signer,
                key_tag,
                algorithm,
                inception,
                expiration,
            } => write!(
                f,
                "{rrset}: secure, RRSIG by {signer} key {key_tag} alg {algorithm}, valid {} to {}",
                timestamp(*inception),
                timestamp(*expiration)
            ),
            Self::RrsetNotSecure { rrset, status } => write!(f, "{rrset}: {status}"),
        }
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

/// An RRSIG time as YYYYMMDDHHMMSS (UTC), as in zone files and dig.
pub fn timestamp(t: u32) -> String {
    crate::timefmt::rrsig(u64::from(t))
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps_print_as_zone_file_dates() {
        assert_eq!(timestamp(0), "19700101000000");
        assert_eq!(timestamp(1_543_580_323), "20181130121843");
        assert_eq!(timestamp(u32::MAX), "21060207062815");
    }
}
