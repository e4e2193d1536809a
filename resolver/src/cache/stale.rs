//! Serve-stale (RFC 8767): [`StaleConfig`] and [`stale_response`].
//!
//! Off by default, as in unbound. When it is on, the cache keeps expired
//! entries for up to `max_stale` seconds (see [`super::Cache::with_stale_window`])
//! and the server, when resolving a miss failed (every upstream timed out,
//! was unreachable or answered SERVFAIL/REFUSED), answers from such an
//! entry instead of SERVFAIL:
//!
//! - RFC 8767 §4: the records go out with TTL `reply_ttl` (30 s, the
//!   RECOMMENDED value), never more than they were stored with;
//! - RFC 8767 §5: at most `max_stale` after expiry (1 day by default; the
//!   RFC recommends 1 to 3 days);
//! - RFC 8914 §4.4: EDE 3 (Stale Answer), or EDE 19 (Stale NXDOMAIN
//!   Answer) for a name error;
//! - only data that was Secure, Insecure or Indeterminate (CD=1, no
//!   anchors) when it was cached; never a bogus entry (that stays
//!   SERVFAIL, RFC 4035 §5.5). A Secure entry keeps AD only while every
//!   RRSIG in it is still within its validity period; after that it goes
//!   out without AD, as data we can no longer vouch for;
//! - never TLSA: Postfix and other DANE clients would fall back from an
//!   unvalidated TLSA to opportunistic TLS, so a SERVFAIL (the mail is
//!   deferred) is the safer answer for them.

use crate::answer;
use crate::cache::{Cache, Entry};
use crate::request::Request;
use crate::validator::outcome::{Ede, Outcome};
use crate::wire::{DNSSECRData, RData, RecordType, ResponseCode};

/// RFC 8914 §4.4: "Stale Answer".
pub const EDE_STALE_ANSWER: u16 = 3;
/// RFC 8914 §4.20: "Stale NXDOMAIN Answer".
pub const EDE_STALE_NXDOMAIN: u16 = 19;

/// Serve-stale settings (`serve_stale`, `serve_stale_max`,
/// `serve_stale_reply_ttl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleConfig {
    /// Off by default (unbound's `serve-expired: no`).
    pub enabled: bool,
    /// How long after expiry an entry may still be served, in seconds.
    pub max_stale: u64,
    /// The TTL of the records of a stale answer (RFC 8767 §4: 30 s).
    pub reply_ttl: u32,
}

impl Default for StaleConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_stale: 86_400,
            reply_ttl: 30,
        }
    }
}

impl StaleConfig {
    /// Seconds the cache keeps expired entries: 0 when off.
    pub fn window(&self) -> u64 {
        if self.enabled { self.max_stale } else { 0 }
    }
}

/// The expired entry that may answer `request` now, if any (see the module
/// rules). A CD=1 question may take a CD=0 entry, never the reverse.
pub fn stale_entry(
    cache: &Cache,
    request: &Request,
    config: &StaleConfig,
) -> Option<std::sync::Arc<Entry>> {
    if !config.enabled || RecordType::from(request.qtype) == RecordType::TLSA {
        return None;
    }
    let entry = cache
        .get_stale(&request.cache_key(request.cd), config.max_stale)
        .or_else(|| {
            request
                .cd
                .then(|| cache.get_stale(&request.cache_key(false), config.max_stale))
                .flatten()
        })?;
    if entry.outcome().is_bogus()
        || !matches!(
            entry.rcode(),
            ResponseCode::NoError | ResponseCode::NXDomain
        )
    {
        return None;
    }
    Some(entry)
}

/// The stale response to `request` from `entry` at `now`: TTLs set to the
/// reply TTL, EDE 3 or 19, AD only while the signatures are valid.
/// `udp`: cut to the client's buffer (TC=1) when too large.
pub fn stale_response(
    entry: &Entry,
    request: &Request,
    now: u64,
    config: &StaleConfig,
    udp: bool,
) -> Vec<u8> {
    let mut resolution = entry.resolution();
    let records = resolution
        .answers
        .iter_mut()
        .chain(resolution.authority.iter_mut())
        .chain(resolution.additional.iter_mut());
    let mut signatures_expired = false;
    for r in records {
        // RFC 8767 §4: the TTL of a stale record is set to the reply TTL
        // (and never raised above what it was stored with).
        r.ttl = r.ttl.min(config.reply_ttl);
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data
            && u64::from(sig.input().sig_expiration.get()) < now
        {
            signatures_expired = true;
        }
    }
    if signatures_expired && resolution.outcome.is_secure() {
        resolution.outcome = Outcome::Indeterminate;
    }
    resolution.ttl = config.reply_ttl;
    let mut message = answer::build(request, &resolution);
    let ede = if resolution.rcode == ResponseCode::NXDomain {
        Ede {
            code: EDE_STALE_NXDOMAIN,
            text: "stale NXDOMAIN answer: the upstreams failed (RFC 8767)".into(),
        }
    } else {
        Ede {
            code: EDE_STALE_ANSWER,
            text: "stale answer: the upstreams failed (RFC 8767)".into(),
        }
    };
    answer::set_ede(&mut message, request, &ede);
    if udp {
        answer::encode_udp(request, &message)
    } else {
        answer::encode(&message)
    }
}
