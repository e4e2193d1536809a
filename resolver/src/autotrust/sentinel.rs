//! RFC 8145 key-tag signalling names and RFC 8509 root-key-sentinel.

use crate::validator::key_tag;
use crate::validator::{Anchors, Outcome};
use crate::wire::{Name, RecordType, ResponseCode};

/// RFC 8145 §5.1: `_ta-xxxx[-yyyy…]` under `zone`, tags ascending in
/// 4-digit lowercase hex. `None` without tags.
pub fn key_tag_query(zone: &Name, tags: &[u16]) -> Option<Name> {
    if tags.is_empty() {
        return None;
    }
    let mut sorted = tags.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let label: Vec<String> = sorted.iter().map(|t| format!("{t:04x}")).collect();
    Name::from_ascii(format!("_ta-{}", label.join("-")))
        .ok()?
        .append_domain(zone)
        .ok()
}

/// The key tags of the root's trust anchors in `anchors` (DNSKEY anchors
/// and DS anchors), for the sentinel.
pub fn root_tags(anchors: &Anchors) -> Vec<u16> {
    let Some((zone, sep)) = anchors.closest(&Name::root()) else {
        return Vec::new();
    };
    if !zone.is_root() {
        return Vec::new();
    }
    let mut tags: Vec<u16> = sep.ds().iter().map(|d| d.key_tag()).collect();
    tags.extend(sep.dnskeys().iter().map(key_tag));
    tags.sort_unstable();
    tags.dedup();
    tags
}

/// RFC 8509 §3: for an A or AAAA question whose first label is
/// `root-key-sentinel-is-ta-DDDDD` or `root-key-sentinel-not-ta-DDDDD` and
/// whose answer validated Secure: SERVFAIL when the key is not (is-ta) or
/// is (not-ta) one of the root's trust anchors; otherwise the answer as it
/// is (`None`).
pub fn sentinel_rcode(
    qname: &Name,
    qtype: RecordType,
    outcome: &Outcome,
    root_tags: impl FnOnce() -> Vec<u16>,
) -> Option<ResponseCode> {
    if !matches!(qtype, RecordType::A | RecordType::AAAA) || !matches!(outcome, Outcome::Secure) {
        return None;
    }
    let first = qname.iter().next()?;
    let label = std::str::from_utf8(first).ok()?.to_ascii_lowercase();
    let (is_ta, digits) = if let Some(d) = label.strip_prefix("root-key-sentinel-is-ta-") {
        (true, d)
    } else if let Some(d) = label.strip_prefix("root-key-sentinel-not-ta-") {
        (false, d)
    } else {
        return None;
    };
    // §2: exactly five decimal digits.
    if digits.len() != 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tag: u32 = digits.parse().ok()?;
    let trusted = u16::try_from(tag).is_ok_and(|t| root_tags().contains(&t));
    (is_ta != trusted).then_some(ResponseCode::ServFail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn rfc8145_section5_1_key_tag_names() {
        let n = key_tag_query(&Name::root(), &[38696, 20326]).unwrap();
        assert_eq!(n.to_ascii(), "_ta-4f66-9728.");
        let n = key_tag_query(&Name::from_str("example.com.").unwrap(), &[5]).unwrap();
        assert_eq!(n.to_ascii(), "_ta-0005.example.com.");
        assert!(key_tag_query(&Name::root(), &[]).is_none());
    }

    #[test]
    fn rfc8509_section3_sentinel_table() {
        let q = |s: &str| Name::from_str(s).unwrap();
        let tags = || vec![20326, 38696];
        let secure = Outcome::Secure;
        let a = RecordType::A;
        assert_eq!(
            sentinel_rcode(
                &q("root-key-sentinel-is-ta-20326.example."),
                a,
                &secure,
                tags
            ),
            None
        );
        assert_eq!(
            sentinel_rcode(
                &q("root-key-sentinel-is-ta-19036.example."),
                a,
                &secure,
                tags
            ),
            Some(ResponseCode::ServFail)
        );
        assert_eq!(
            sentinel_rcode(
                &q("Root-Key-Sentinel-NOT-ta-38696.example."),
                RecordType::AAAA,
                &secure,
                tags
            ),
            Some(ResponseCode::ServFail)
        );
        assert_eq!(
            sentinel_rcode(
                &q("root-key-sentinel-not-ta-19036.example."),
                a,
                &secure,
                tags
            ),
            None
        );
        // Not secure, not A/AAAA, not five digits, not the first label: untouched.
        let insecure = Outcome::Indeterminate;
        assert_eq!(
            sentinel_rcode(
                &q("root-key-sentinel-is-ta-19036.example."),
                a,
                &insecure,
                tags
            ),
            None
        );
        assert_eq!(
            sentinel_rcode(
                &q("root-key-sentinel-is-ta-19036.example."),
                RecordType::TXT,
                &secure,
                tags
            ),
            None
        );
        assert_eq!(
            sentinel_rcode(
                &q("root-key-sentinel-is-ta-1903.example."),
                a,
                &secure,
                tags
            ),
            None
        );
        assert_eq!(
            sentinel_rcode(
                &q("x.root-key-sentinel-is-ta-19036.example."),
                a,
                &secure,
                tags
            ),
            None
        );
    }
}
