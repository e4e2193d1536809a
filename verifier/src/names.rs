//! Reference identifier checks (RFC 7671 §10.2, RFC 6125 §6).
//!
//! Own code rather than webpki's `verify_is_valid_for_subject_name`, which
//! never looks at the subject CN: RFC 6125 §6.4.4 allows the CN when the
//! certificate has no DNS-ID, and OpenSSL and Postfix (the interoperability
//! references for DANE) do so.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// Returns the first reference name the leaf is valid for.
pub(crate) fn matching_name<'n>(
    leaf: &X509Certificate<'_>,
    names: &'n [String],
) -> Option<&'n str> {
    let ids = presented_ids(leaf);
    names
        .iter()
        .find(|name| ids.iter().any(|id| id_matches(id, name)))
        .map(String::as_str)
}

/// The presented identifiers: the SAN dNSNames, or the subject CNs when
/// there is no dNSName (RFC 6125 §6.4.4: a CN-ID is consulted only when
/// the presented identifiers include no DNS-ID).
fn presented_ids(leaf: &X509Certificate<'_>) -> Vec<String> {
    let mut dns: Vec<String> = Vec::new();
    if let Ok(Some(san)) = leaf.subject_alternative_name() {
        for gn in &san.value.general_names {
            if let GeneralName::DNSName(n) = gn {
                dns.push((*n).to_owned());
            }
        }
    }
    if !dns.is_empty() {
        return dns;
    }
    leaf.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect()
}

/// RFC 6125 §6.4.3 with OpenSSL's `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`
/// (Postfix and OpenSSL DANE defaults): `*` only as the complete left-most
/// label, matching exactly one non-empty label, and not directly under a
/// single-label suffix.
pub(crate) fn id_matches(presented: &str, reference: &str) -> bool {
    let presented = normalise(presented);
    let reference = normalise(reference);
    if presented.is_empty() || reference.is_empty() {
        return false;
    }
    if let Some(rest) = presented.strip_prefix("*.") {
        if !rest.contains('.') || rest.contains('*') {
            return false;
        }
        return match reference.split_once('.') {
            Some((label, ref_rest)) => !label.is_empty() && ref_rest == rest,
            None => false,
        };
    }
    !presented.contains('*') && presented == reference
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::id_matches;

    #[test]
    fn rfc6125_section_6_4_3_wildcards() {
        assert!(id_matches("example.com", "EXAMPLE.com."));
        assert!(id_matches("*.example.com", "mx.example.com"));
        assert!(!id_matches("*.example.com", "example.com"));
        assert!(!id_matches("*.example.com", "a.mx.example.com"));
        assert!(
            !id_matches("m*.example.com", "mx.example.com"),
            "partial wildcard"
        );
        assert!(!id_matches("*.com", "example.com"), "wildcard over a TLD");
        assert!(!id_matches("mx.*.com", "mx.example.com"));
        assert!(!id_matches("", ""));
    }
}
