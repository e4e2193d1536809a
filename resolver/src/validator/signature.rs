//! RRSIG verification (RFC 4035 §5.3) and canonical form (RFC 4034 §6).
