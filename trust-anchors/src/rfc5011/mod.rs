//! RFC 5011 automated updates of DNSSEC trust anchors, as a pure state
//! machine: observations and the time come in as values; states, the
//! effective anchors and the next probe time go out.
//!
//! - [`Key`]: a DNSKEY, matched ignoring the REVOKE bit.
//! - [`KeyState`], [`Event`], [`transition`]: the §4 table.
//! - [`TrustPoint`]: a zone's keys and probe timers; [`TrustPoint::on_observation`]
//!   takes an authenticated DNSKEY RRset ([`Observation`]),
//!   [`TrustPoint::on_failure`] a probe that did not validate.
//!
//! Reading and writing unbound's auto-trust-anchor-file is in
//! [`crate::autotrust_file`]; safe writes in [`crate::store`].

mod key;
mod point;
mod state;
#[cfg(test)]
mod tests;

pub use key::{FLAG_REVOKE, FLAG_SEP, FLAG_ZONE, Key};
pub use point::{
    Change, DAY, DsAnchor, HOUR, Observation, OnAllRevoked, Outcome, Policy, Timers, TrackedKey,
    TrustPoint, jittered, probe_intervals,
};
pub use state::{Event, KeyState, transition};
