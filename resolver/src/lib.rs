//! danebound's resolver: the DNSSEC validator, the engine that drives it, the
//! cache and the local server.
//!
//! # What this crate does
//! - [`validator`]: an I/O-free DNSSEC validator (RFC 4033–4035, 5155, 6840,
//!   8624, 9276). It never reads a clock, a socket or a file: time is a
//!   parameter and missing DNSKEY/DS sets are requested from the caller.
//! - [`wire`]: the one import seam for hickory-proto's wire types.
//! - [`resolve`]: the contract between the service and the engine
//!   ([`resolve::Resolve`], [`resolve::Resolution`]).
//! - [`server`], [`answer`], [`cache`], [`acl`], [`local_zones`], [`config`],
//!   [`request`], [`edns`], [`checkconf`], [`ratelimit`]: `danebound serve`:
//!   listener, response rules, answer cache, access control, special-use
//!   names, configuration and its check, client request parsing, EDNS
//!   constants, response rate limiting.
//! - [`upstream`], [`transport`]: the query layer (query building, reply
//!   checks, TCP and EDNS fallback) and the sockets under it; [`forward`]
//!   (forwarding mode) and [`iterator`] (recursive mode) ask through them.
//! - [`prefetch`]: background refresh of cache entries hit near their end.
//! - [`autotrust`]: RFC 5011 trust points as the engine runs them (state
//!   files, probes' proofs, RFC 8145 signalling and RFC 8509 sentinel).
//!
//! # What this crate does not do
//! - It does not decide DANE matches (that is `danebound-verifier`).
//! - It does not decide RFC 5011 transitions or file formats (that is
//!   `danebound-trust-anchors`); it feeds that state machine proofs.

pub mod acl;
pub mod answer;
pub mod autotrust;
pub mod cache;
pub mod checkconf;
pub mod clock;
pub mod config;
pub mod control;
pub mod edns;
pub mod engine;
pub mod forward;
pub mod hashing;
pub mod iterator;
pub mod local_zones;
pub mod metrics;
pub mod prefetch;
pub mod ratelimit;
pub mod request;
pub mod resolve;
pub mod server;
pub mod stats;
pub mod timefmt;
pub mod transport;
pub mod upstream;
pub mod validator;
pub mod wire;
