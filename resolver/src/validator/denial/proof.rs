//! What a denial proof concludes ([`DenialResult`]), and the name arithmetic
//! that NSEC and NSEC3 proofs share: canonical order (RFC 4034 §6.1),
//! ancestry, closest enclosers and wildcards.
//!
//! Every helper here works on labels and ignores the FQDN flag of hickory's
//! [`Name`]: names that came off the wire are always fully qualified, and a
//! proof must not fail or succeed because a caller built a name without the
//! trailing dot.

use std::cmp::Ordering;

use crate::validator::outcome::{BogusReason, InsecureReason, Outcome};
use crate::wire::{Name, RecordType};

// ---------------------------------------------------------------------------
// The result of a proof
// ---------------------------------------------------------------------------

/// The verdict of one authenticated-denial proof.
///
/// The records handed to a proof have already had their signatures verified;
/// the proof only decides whether they say what the response claims.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum DenialResult {
    /// The denial is proven: the response may be Secure.
    Proven,
    /// The denial is proven only up to an NSEC3 Opt-Out span (RFC 5155 §6,
    /// §9.2): an unsigned delegation may exist at `next_closer`, so the answer
    /// is Insecure, never Secure.
    OptOut {
        /// The zone whose NSEC3 chain has the Opt-Out span.
        zone: Name,
        /// The next closer name that the Opt-Out NSEC3 covers.
        next_closer: Name,
    },
    /// The proof cannot be checked, and the zone is to be treated as insecure:
    /// NSEC3 iterations above the limit (RFC 9276 §3.2, EDE 27) or only
    /// unknown hash algorithms (RFC 5155 §8.1).
    Insecure(InsecureReason),
    /// The proof is missing, contradicted by the records, or ran out of
    /// budget.
    Bogus(BogusReason),
}

impl DenialResult {
    /// True for [`DenialResult::Bogus`].
    pub fn is_bogus(&self) -> bool {
        matches!(self, Self::Bogus(_))
    }

    /// The outcome this proof gives the answer it guards: Proven is Secure, an
    /// Opt-Out span makes the answer insecure as an unsigned delegation at the
    /// next closer name (RFC 5155 §9.2).
    pub fn into_outcome(self) -> Outcome {
        match self {
            Self::Proven => Outcome::Secure,
            Self::OptOut { next_closer, .. } => {
                Outcome::Insecure(InsecureReason::UnsignedDelegation { zone: next_closer })
            }
            Self::Insecure(reason) => Outcome::Insecure(reason),
            Self::Bogus(reason) => Outcome::Bogus(reason),
        }
    }
}

impl From<Result<(), BogusReason>> for DenialResult {
    fn from(result: Result<(), BogusReason>) -> Self {
        match result {
            Ok(()) => Self::Proven,
            Err(reason) => Self::Bogus(reason),
        }
    }
}

/// A [`BogusReason::DenialMissing`] for `qname`/`qtype` in `zone`.
pub(crate) fn missing(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    detail: impl Into<String>,
) -> BogusReason {
    BogusReason::DenialMissing {
        qname: qname.clone(),
        qtype,
        zone: zone.clone(),
        detail: detail.into(),
    }
}

/// A [`BogusReason::DenialContradicts`] for `qname`/`qtype`.
pub(crate) fn contradicts(
    qname: &Name,
    qtype: RecordType,
    detail: impl Into<String>,
) -> BogusReason {
    BogusReason::DenialContradicts {
        qname: qname.clone(),
        qtype,
        detail: detail.into(),
    }
}

// ---------------------------------------------------------------------------
// Name arithmetic
// ---------------------------------------------------------------------------

/// The number of labels of `name`, the root label not counted, a leading
/// `*` counted (unlike hickory's `num_labels`, which is the RRSIG Labels
/// value).
pub fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// RFC 4034 §6.1 canonical order: labels compared right to left as
/// case-insensitive octet strings, a shorter label first on a common prefix,
/// an ancestor before its descendants.
pub(crate) fn canonical_cmp(a: &Name, b: &Name) -> Ordering {
    for (l, r) in a.iter().rev().zip(b.iter().rev()) {
        let l = l.iter().map(u8::to_ascii_lowercase);
        let r = r.iter().map(u8::to_ascii_lowercase);
        match l.cmp(r) {
            Ordering::Equal => {}
            ord => return ord,
        }
    }
    label_count(a).cmp(&label_count(b))
}

/// `a` and `b` are the same name (case-insensitive).
pub(crate) fn same_name(a: &Name, b: &Name) -> bool {
    canonical_cmp(a, b) == Ordering::Equal
}

/// `name` is `ancestor` or below it.
pub fn is_subdomain(name: &Name, ancestor: &Name) -> bool {
    ancestor.zone_of(name)
}

/// `name` is strictly below `ancestor`.
pub(crate) fn is_strict_subdomain(name: &Name, ancestor: &Name) -> bool {
    label_count(name) > label_count(ancestor) && is_subdomain(name, ancestor)
}

/// The ancestor of `name` (or `name` itself) that has `labels` labels.
/// `None` only if `labels` exceeds the labels of `name`.
pub(crate) fn ancestor_with_labels(name: &Name, labels: usize) -> Option<Name> {
    let total = label_count(name);
    let skip = total.checked_sub(labels)?;
    let mut out = Name::from_labels(name.iter().skip(skip)).ok()?;
    out.set_fqdn(true);
    Some(out)
}

/// The longest common ancestor of `a` and `b` (the root at least).
pub(crate) fn shared_ancestor(a: &Name, b: &Name) -> Name {
    let common = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(l, r)| l.eq_ignore_ascii_case(r))
        .count();
    ancestor_with_labels(a, common).unwrap_or_else(Name::root)
}

/// The wildcard at `encloser`: `*.encloser`, or `None` if that name would be
/// longer than 255 octets.
pub(crate) fn wildcard_at(encloser: &Name) -> Option<Name> {
    let mut wildcard = encloser.prepend_label("*").ok()?;
    wildcard.set_fqdn(true);
    Some(wildcard)
}

/// The next closer name (RFC 5155 §1.3): the ancestor of `qname` one label
/// longer than `closest_encloser`. `None` if `qname` is not strictly below it.
pub fn next_closer(qname: &Name, closest_encloser: &Name) -> Option<Name> {
    if !is_strict_subdomain(qname, closest_encloser) {
        return None;
    }
    ancestor_with_labels(qname, label_count(closest_encloser) + 1)
}

/// The canonical wire form (RFC 4034 §6.2) of `name`: uncompressed, lower
/// case, root label included. At most 255 octets for any valid name.
pub(crate) fn canonical_wire(name: &Name) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        // A label is at most 63 octets (RFC 1035 §2.3.4); hickory enforces it.
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn rfc4034_section_6_1_canonical_order_example() {
        let labels: [&[&[u8]]; 9] = [
            &[b"example"],
            &[b"a", b"example"],
            &[b"yljkjljk", b"a", b"example"],
            &[b"Z", b"a", b"example"],
            &[b"zABC", b"a", b"EXAMPLE"],
            &[b"z", b"example"],
            &[b"\x01", b"z", b"example"],
            &[b"*", b"z", b"example"],
            &[b"\xc8", b"z", b"example"],
        ];
        let sorted: Vec<Name> = labels
            .iter()
            .map(|l| Name::from_labels(l.iter().copied()).unwrap())
            .collect();
        for pair in sorted.windows(2) {
            assert_eq!(
                canonical_cmp(&pair[0], &pair[1]),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn name_helpers_ignore_the_fqdn_flag_and_case() {
        assert!(same_name(&n("A.Example."), &n("a.example")));
        assert!(is_strict_subdomain(&n("x.a.example."), &n("A.EXAMPLE")));
        assert!(!is_strict_subdomain(&n("a.example."), &n("a.example.")));
        assert_eq!(
            shared_ancestor(&n("x.y.w.example."), &n("a.z.w.example.")),
            n("w.example.")
        );
        assert_eq!(shared_ancestor(&n("com."), &n("net.")), Name::root());
        assert_eq!(
            next_closer(&n("a.b.c.example."), &n("example.")),
            Some(n("c.example."))
        );
        assert_eq!(next_closer(&n("example."), &n("example.")), None);
        assert_eq!(wildcard_at(&n("w.example.")), Some(n("*.w.example.")));
        assert_eq!(label_count(&n("*.w.example.")), 3);
        assert_eq!(canonical_wire(&n("A.b.")), b"\x01a\x01b\x00".to_vec());
    }

    #[test]
    fn wildcard_of_a_name_at_maximum_length_is_none() {
        // 4 labels of 63 octets: 4 * 64 + 1 = 257 > 255 is invalid, so use
        // 3 * 64 + 62 + 1 = 255 octets exactly.
        let l63 = "a".repeat(63);
        let l61 = "b".repeat(61);
        let name = n(&format!("{l61}.{l63}.{l63}.{l63}."));
        assert_eq!(canonical_wire(&name).len(), 255);
        assert_eq!(wildcard_at(&name), None);
    }
}
