//! The seam between the service plumbing and the validating engine: a
//! [`Resolve`] takes a question and returns a [`Resolution`].
//!
//! The server, the cache and the answer builder only ever see this contract.
//! `engine::Resolver` implements it with DNSSEC validation; the server's
//! stand-in ([`crate::forward::ForwardOnly`]) implements it without.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::validator::outcome::{Ede, Outcome, ede_code};
use crate::wire::{Message, Query, RData, Record, RecordType, ResponseCode};

/// What the engine concluded about one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// Upstream rcode (NOERROR, NXDOMAIN, ...) or SERVFAIL.
    pub rcode: ResponseCode,
    /// As received: data, RRSIGs, NSEC/NSEC3 included.
    pub answers: Vec<Record>,
    /// Authority section as received.
    pub authority: Vec<Record>,
    /// Additional section; never includes OPT.
    pub additional: Vec<Record>,
    /// Secure / Insecure / Bogus(reason) / Indeterminate.
    pub outcome: Outcome,
    /// How long this may be cached (already capped by the validator).
    pub ttl: u32,
    /// Why there is no answer, when that is not a validation failure: the
    /// RFC 8914 EDE of a SERVFAIL the resolution itself produced (no
    /// reachable authority, a network error, a budget spent, an alias
    /// loop). `None` otherwise.
    pub failure: Option<Ede>,
}

/// Resolves one question.
pub trait Resolve: Send + Sync + 'static {
    /// `cd`: the client set CD=1 (return data even if bogus, RFC 4035 §3.2.2).
    fn resolve<'a>(
        &'a self,
        query: &'a Query,
        cd: bool,
    ) -> Pin<Box<dyn Future<Output = Resolution> + Send + 'a>>;
}

impl Resolution {
    /// A SERVFAIL with no data: the upstreams could not be reached or answered
    /// garbage. Not cached.
    pub fn servfail(outcome: Outcome) -> Self {
        Self {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            outcome,
            ttl: 0,
            failure: None,
        }
    }

    /// A SERVFAIL with no data that the resolution produced for `failure`
    /// (not a validation failure). Not cached.
    pub fn failed(failure: Ede) -> Self {
        Self {
            failure: Some(failure),
            ..Self::servfail(Outcome::Indeterminate)
        }
    }

    /// The SERVFAIL of a resolution that did not finish within `limit` (the
    /// server's time limit, whether recursing or forwarding): RFC 8914 §4.23
    /// "No Reachable Authority" (22), the text saying that time ran out.
    /// Not cached.
    pub fn timed_out(limit: Duration) -> Self {
        Self::failed(Ede {
            code: ede_code::NO_REACHABLE_AUTHORITY,
            text: format!("resolution timed out after {} s", limit.as_secs()),
        })
    }

    /// Builds a resolution from an upstream reply, with the given verdict.
    /// The TTL is the smallest TTL of the answer section for a positive
    /// answer, and for a negative one (NXDOMAIN, or NOERROR without answers)
    /// the smaller of the SOA's TTL and its MINIMUM field (RFC 2308 §5); a
    /// negative answer without SOA gets 0, i.e. is not cached (RFC 2308 §5:
    /// "Negative responses without SOA records SHOULD NOT be cached").
    pub fn from_message(message: Message, outcome: Outcome) -> Self {
        let rcode = message.metadata.response_code;
        let ttl = cacheable_ttl(rcode, &message.answers, &message.authorities);
        Self {
            rcode,
            answers: message.answers,
            authority: message.authorities,
            additional: message
                .additionals
                .into_iter()
                .filter(|r| r.record_type() != RecordType::OPT)
                .collect(),
            outcome,
            ttl,
            failure: None,
        }
    }

    /// True for a negative answer: NXDOMAIN, or NOERROR/NODATA.
    pub fn is_negative(&self) -> bool {
        self.rcode == ResponseCode::NXDomain
            || (self.rcode == ResponseCode::NoError && self.answers.is_empty())
    }
}

/// The TTL a reply may be cached for, before any bounds: RFC 2308 §5 for
/// negative answers, the smallest answer TTL for positive ones, 0 for errors.
pub fn cacheable_ttl(rcode: ResponseCode, answers: &[Record], authority: &[Record]) -> u32 {
    match rcode {
        ResponseCode::NoError if !answers.is_empty() => {
            answers.iter().map(|r| r.ttl).min().unwrap_or(0)
        }
        ResponseCode::NoError | ResponseCode::NXDomain => negative_ttl(authority).unwrap_or(0),
        _ => 0,
    }
}

/// RFC 2308 §5: "the TTL of this record is set from the minimum of the
/// MINIMUM field of the SOA record and the TTL of the SOA itself". `None`
/// when the authority section has no SOA.
pub fn negative_ttl(authority: &[Record]) -> Option<u32> {
    authority.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
        _ => None,
    })
}
