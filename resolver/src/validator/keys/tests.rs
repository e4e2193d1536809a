//! Unit tests of DNSKEY authentication (RFC 4035 §5.2, RFC 4509, RFC 6840
//! §5.2, RFC 5011). External vectors live in `resolver/tests/vectors_*.rs`.
