//! Authenticated denial of existence: NSEC (RFC 4035 §5.4) and NSEC3 (RFC 5155 §8).

pub mod nsec;
pub mod nsec3;
