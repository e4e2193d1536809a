//! DANE certificate matching (RFC 6698, RFC 7671, RFC 7672).
//!
//! Authenticated TLSA records and a certificate chain in, a verdict out.
//! This crate knows nothing of DNS transport.
