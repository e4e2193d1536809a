//! Digest algorithm agility (RFC 7671 §9).
//!
//! RFC 7671 §9: among the records with the same certificate usage and
//! selector, the client uses only those whose digest algorithm is the most
//! preferred one it supports, so that a server operator can retire a weak
//! digest by publishing a stronger one next to it. Full(0) records are not
//! digests and are never ignored (OpenSSL `dane_match_cert()`).

use crate::record::MatchingType;
use crate::verify::Active;

/// Splits usable records into the ones to match and the ones agility
/// ignores (with the matching type preferred over each).
///
/// `preference` lists digest matching types, most preferred first; a
/// digest type missing from it ranks below all listed ones.
pub(crate) fn select<'r>(
    usable: Vec<Active<'r>>,
    preference: &[MatchingType],
) -> (Vec<Active<'r>>, Vec<(Active<'r>, MatchingType)>) {
    let rank = |m: MatchingType| {
        preference
            .iter()
            .position(|p| *p == m)
            .unwrap_or(preference.len())
    };
    let best_for = |a: &Active<'r>| -> Option<MatchingType> {
        usable
            .iter()
            .filter(|b| {
                b.usage == a.usage && b.selector == a.selector && b.mtype != MatchingType::Full
            })
            .map(|b| b.mtype)
            .min_by_key(|m| rank(*m))
    };
    let mut active = Vec::new();
    let mut ignored = Vec::new();
    for a in &usable {
        match best_for(a) {
            Some(best) if a.mtype != MatchingType::Full && rank(a.mtype) > rank(best) => {
                ignored.push((*a, best));
            }
            _ => active.push(*a),
        }
    }
    (active, ignored)
}
