//! DNSKEY authentication from DS records or trust anchors (RFC 4035 §5.2).
