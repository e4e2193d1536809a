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
//! - [`server`], [`answer`], [`cache`], [`acl`], [`local_zones`], [`config`]:
//!   `danebound serve`: listener, response rules, answer cache, access
//!   control, special-use names, configuration.
//! - [`upstream`], [`transport`]: the query layer (query building, reply
//!   checks, TCP and EDNS fallback) and the sockets under it; [`forward`]
//!   (forwarding mode) and [`iterator`] (recursive mode) ask through them.
//!
//! # What this crate does not do
//! - It does not decide DANE matches (that is `danebound-verifier`).
//! - It does not persist trust anchors (that is `danebound-trust-anchors`).

pub mod acl;
pub mod answer;
pub mod cache;
pub mod clock;
pub mod config;
pub mod engine;
pub mod forward;
pub mod iterator;
pub mod local_zones;
pub mod resolve;
pub mod server;
pub mod transport;
pub mod upstream;
pub mod validator;
pub mod wire;
