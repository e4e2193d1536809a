//! The DNSSEC validator: RFC 4033–4035, 5155, 6840, 8624 and 9276.
//!
//! # Design
//! The validator does no I/O and reads no clock. A [`session`] is given the
//! question, the response and the time, and is driven by a short loop: it
//! asks for the DS and DNSKEY sets it still needs (`Step::Fetch`), takes them
//! as they arrive, and ends in an [`Outcome`]: Secure, Insecure, Bogus with
//! a reason that carries its RFC 8914 Extended DNS Error, or Indeterminate.
//!
//! Checks are types: an RRset is only usable as proven once
//! [`signature::verify_rrset`] returned a [`signature::Verified`] for it, and
//! a zone's keys only once [`keys::authenticate_dnskeys`] returned
//! [`keys::ZoneKeys`].
//!
//! No caller decides trust: only the validator builds a zone's key lookup
//! (authenticated keys, a proven insecure delegation, a bogus chain), the
//! engine's key cache of them, or the entry points that vouch for a DNSKEY
//! set. Outside this crate none of these can be made:
//!
//! ```compile_fail
//! use danebound_resolver::validator::KeyLookup; // crate-private
//! ```
//! ```compile_fail
//! use danebound_resolver::validator::KeyCache; // crate-private
//! ```
//! ```compile_fail
//! use danebound_resolver::{validator::SecureEntryPoints, wire::DS};
//! let _ = SecureEntryPoints::from_ds(Vec::<DS>::new()); // crate-private
//! ```
//!
//! # What it does not do
//! - No sockets, files, tokio or wall clock: the engine (`crate::engine`)
//!   fetches and the caller passes `now`.
//! - No trust anchor management (RFC 5011): anchors come in as DS or DNSKEY
//!   records from `danebound-trust-anchors`.
//! - No caching beyond what a session is handed: the engine caches validated
//!   key sets and answers.
//!
//! # Where each RFC lives
//! - RFC 4034 §5–§6 (DS digests, canonical form): [`keys`], [`signature`].
//! - RFC 4035 §5.3 (RRSIG checks), §5.4 (NSEC denial): [`signature`],
//!   [`denial::nsec`].
//! - RFC 5155 §8 (NSEC3 denial), RFC 9276 (iterations): [`denial::nsec3`].
//! - RFC 8624 (algorithm policy), RFC 6840 (clarifications): [`crypto`],
//!   [`keys`].
//! - KeyTrap limits (CVE-2023-50387/50868): [`budget`].

pub mod anchors;
pub mod budget;
pub mod crypto;
pub mod denial;
pub mod keys;
mod negative;
pub mod outcome;
pub mod rrset;
pub mod session;
pub mod signature;
pub mod trace;

pub use self::{
    crypto::{Crypto, CryptoError, RingCrypto},
    keys::{KeyVerdict, SecureEntryPoints, ZoneKeys, authenticate_dnskeys, key_tag},
    signature::{Verified, verify_rrset},
};
pub use anchors::Anchors;
pub use budget::{Budget, Limits};
pub use outcome::{BogusReason, Ede, InsecureReason, Outcome, RrsetId};
pub use rrset::Rrset;
#[cfg(any(test, feature = "test-util"))]
pub use session::LearnedKeys;
pub use session::{FetchRequest, Fetched, Session, Step, Validated};
pub(crate) use session::{KeyCache, KeyLookup};
