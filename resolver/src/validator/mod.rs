//! The DNSSEC validator.
