//! NSEC3 proofs (RFC 5155 §8, RFC 9276).
