//! The iterator: recursive resolution from the root, like unbound's
//! iterator module.
//!
//! - [`machine`]: the pure state machine ([`Iteration`]): delegation
//!   points, priming, referrals, glueless NS resolution, CNAME/DNAME
//!   restarts, QNAME minimisation, budgets.
//! - [`scrub`]: what an authoritative reply is worth (bailiwick, RFC 2181
//!   §5.4.1) and what kind of reply it is.
//! - [`cache`], [`infra`]: the delegation/RRset cache and the server cache.
//! - [`hints`]: root hints.
//! - [`driver`]: the thin async side: sends what the machine asks through
//!   the query layer ([`crate::upstream`]).
//!
//! # What this module does not do
//! It does not validate: the engine validates what it returns, and its DS
//! and DNSKEY fetches come back through the iterator like any question.

pub mod cache;
pub mod driver;
pub mod hints;
pub mod infra;
pub mod machine;
pub mod scrub;
#[cfg(test)]
mod tests;

pub use driver::Iterator;
pub use hints::RootHints;
pub use machine::{
    Action, Failure, IterConfig, IterLimits, Iteration, Now, Response, SendRequest, Shared,
    ZoneServers,
};
