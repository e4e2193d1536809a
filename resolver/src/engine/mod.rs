//! The engine: asks upstreams, drives the validator, keeps validated keys.
//!
//! [`Resolver`] implements [`Resolve`] for the server. For each question it
//! gets an answer from its [`Upstream`] (in forwarding mode a validating
//! stub: every query carries DO=1 and CD=1, so the upstream hands over even
//! data it thinks bogus, and we judge it ourselves), then runs a validation
//! [`Session`] whose DS and DNSKEY requests go to the same upstream. The whole
//! I/O side of validation is the loop in [`Resolver::validate`].

mod build;
mod counted;
mod keystore;
pub mod nta;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tracing::{debug, warn};

pub use build::{build, build_resolver, load_anchors};
pub use keystore::KeyStore;
pub use nta::{NegativeAnchors, Nta};

use crate::clock::Clock;
use crate::forward::{UpstreamReply, Upstreams};
use crate::resolve::{Resolution, Resolve};
use crate::validator::crypto::Crypto;
use crate::validator::trace::TraceEvent;
use crate::validator::{
    Anchors, BogusReason, Fetched, InsecureReason, Limits, Outcome, Session, Step, Validated,
};
use crate::wire::{DNSClass, Message, Name, Query, RecordType, ResponseCode};

/// A boxed future of an upstream query.
pub type UpstreamFuture<'a> =
    Pin<Box<dyn Future<Output = Result<UpstreamReply, String>> + Send + 'a>>;

/// Where the engine sends its questions: the forwarder in stub mode, the
/// iterator in recursive mode, a fake in tests.
pub trait Upstream: Send + Sync + 'static {
    /// Ask `name`/`rtype`/`class` with DO=1 and CD=1.
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a>;
}

impl Upstream for Upstreams {
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        Box::pin(async move {
            self.query_with_source(name, rtype, class)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The validating resolver.
pub struct Resolver {
    upstream: Arc<dyn Upstream>,
    anchors: Arc<Anchors>,
    crypto: Arc<dyn Crypto>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    keys: KeyStore,
    validation_time: Option<u64>,
    ntas: NegativeAnchors,
}

impl Resolver {
    /// A resolver asking `upstream`, validating from `anchors`.
    pub fn new(
        upstream: Arc<dyn Upstream>,
        anchors: Anchors,
        crypto: Arc<dyn Crypto>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            upstream,
            anchors: Arc::new(anchors),
            crypto,
            clock,
            limits: Limits::default(),
            keys: KeyStore::new(10_000),
            validation_time: None,
            ntas: NegativeAnchors::default(),
        }
    }

    /// Replace the validation limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Validate signatures as if it were `unix_time` (unbound's
    /// `val-override-date`); the clock still drives cache expiry.
    pub fn with_validation_time(mut self, unix_time: Option<u64>) -> Self {
        self.validation_time = unix_time;
        self
    }

    /// The trust anchors in use.
    pub fn anchors(&self) -> &Anchors {
        &self.anchors
    }

    /// The key store (authenticated DNSKEY sets, proven insecure cuts).
    pub fn key_store(&self) -> &KeyStore {
        &self.keys
    }

    /// The negative trust anchors (RFC 7646). Read-only here: only the
    /// operator's control interface in this crate changes them, through
    /// [`Resolver::negative_anchors_mut`].
    pub fn negative_anchors(&self) -> Vec<Nta> {
        self.ntas.list()
    }

    /// The set the control interface changes (`insecure_add` and friends).
    /// Crate-private: no caller outside the resolver can declare a name
    /// insecure.
    pub(crate) fn negative_anchors_mut(&self) -> &NegativeAnchors {
        &self.ntas
    }

    /// Resolve and validate one question.
    pub async fn resolve_query(&self, query: &Query, cd: bool) -> Resolution {
        self.run(query, cd, false, true).await.0
    }

    /// Resolve and validate one question, recording the chain of trust as
    /// the validator walked it (for `danebound query --trace-chain`).
    pub async fn resolve_traced(&self, query: &Query, cd: bool) -> (Resolution, Vec<TraceEvent>) {
        self.run(query, cd, true, true).await
    }

    /// RFC 7646 §4: whether the name under a negative trust anchor
    /// validates again: its SOA resolved and validated as if the NTA were
    /// not there. Only the control interface asks.
    pub(crate) async fn outcome_without_nta(&self, zone: &Name) -> Outcome {
        let query = Query::query(zone.clone(), RecordType::SOA);
        self.run(&query, false, false, false).await.0.outcome
    }

    async fn run(
        &self,
        query: &Query,
        cd: bool,
        trace: bool,
        apply_ntas: bool,
    ) -> (Resolution, Vec<TraceEvent>) {
        let name = query.name();
        let rtype = query.query_type();
        let class = query.query_class();
        let reply = match self.upstream.query(name, rtype, class).await {
            Ok(reply) => reply,
            Err(e) => {
                debug!(%name, %rtype, "no upstream answer: {e}");
                return (
                    Resolution {
                        rcode: ResponseCode::ServFail,
                        answers: Vec::new(),
                        authority: Vec::new(),
                        additional: Vec::new(),
                        outcome: Outcome::Indeterminate,
                        ttl: 0,
                    },
                    Vec::new(),
                );
            }
        };
        let rcode = reply.message.metadata.response_code;
        if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
            // Nothing to validate in a SERVFAIL or REFUSED.
            return (
                Resolution {
                    rcode,
                    answers: Vec::new(),
                    authority: Vec::new(),
                    additional: Vec::new(),
                    outcome: Outcome::Indeterminate,
                    ttl: 0,
                },
                Vec::new(),
            );
        }
        let mut events = Vec::new();
        // RFC 7646 §2: at and below a negative trust anchor the data is not
        // validated and is treated as insecure (no AD, no SERVFAIL). Data a
        // CNAME chain brings in from outside the NTA is not validated in
        // this answer either; the whole answer is Insecure.
        let nta = if cd || !apply_ntas {
            None
        } else {
            self.ntas.covering(name, self.clock.unix_now())
        };
        let validated = if cd || nta.is_some() || self.anchors.is_empty() {
            // RFC 4035 §3.2.2: with CD=1 the client validates; we pass the
            // data on unchecked and never claim it secure.
            Validated {
                outcome: match nta {
                    Some(zone) => Outcome::Insecure(InsecureReason::NegativeTrustAnchor { zone }),
                    None => Outcome::Indeterminate,
                },
                ttl: None,
                answers: reply.message.answers.clone(),
                authorities: reply.message.authorities.clone(),
                additionals: reply
                    .message
                    .additionals
                    .iter()
                    .filter(|r| r.record_type() != RecordType::OPT)
                    .cloned()
                    .collect(),
            }
        } else {
            let (validated, trace) = self
                .validate_inner(name, rtype, &reply.message, trace)
                .await;
            events = trace;
            validated
        };
        // The server logs each validation failure once; what only the
        // engine knows is which upstream handed over unsigned data.
        if let Outcome::Bogus(reason @ BogusReason::RrsigsMissing { .. }) = &validated.outcome {
            warn!(
                %name, %rtype, upstream = %reply.server,
                "{reason}: upstream {} may strip DNSSEC records (EDE 10)",
                reply.server
            );
        }
        (to_resolution(rcode, validated), events)
    }

    /// The I/O side of validation: run the session, fetching what it asks.
    pub async fn validate(&self, qname: &Name, qtype: RecordType, response: &Message) -> Validated {
        self.validate_inner(qname, qtype, response, false).await.0
    }

    async fn validate_inner(
        &self,
        qname: &Name,
        qtype: RecordType,
        response: &Message,
        trace: bool,
    ) -> (Validated, Vec<TraceEvent>) {
        let now = self.clock.unix_now();
        let view = self.keys.view(now);
        let mut session = Session::new(
            qname,
            qtype,
            response,
            &self.anchors,
            self.validation_time.unwrap_or(now),
            self.limits.clone(),
            self.crypto.as_ref(),
        )
        .with_key_cache(&view);
        if trace {
            session = session.with_trace();
        }
        let validated = loop {
            match session.step() {
                Step::Fetch(request) => {
                    let fetched = match self
                        .upstream
                        .query(&request.name, request.rtype, DNSClass::IN)
                        .await
                    {
                        Ok(reply) => Fetched::Response(reply.message),
                        Err(e) => Fetched::Failed(e),
                    };
                    session.supply(&request, fetched);
                }
                Step::Done(validated) => break validated,
            }
        };
        self.keys.learn(session.learned(), now);
        (validated, session.trace().to_vec())
    }
}

impl Resolve for Resolver {
    fn resolve<'a>(
        &'a self,
        query: &'a Query,
        cd: bool,
    ) -> Pin<Box<dyn Future<Output = Resolution> + Send + 'a>> {
        Box::pin(self.resolve_query(query, cd))
    }
}

/// Turn a validation result into what the server and cache need: the TTL
/// is the cacheable TTL of the data (RFC 2308 §5 for negative answers),
/// capped by the validator (RFC 4035 §5.3.3); the records' TTLs are lowered
/// to that cap.
fn to_resolution(rcode: ResponseCode, validated: Validated) -> Resolution {
    let Validated {
        outcome,
        ttl: cap,
        mut answers,
        mut authorities,
        mut additionals,
    } = validated;
    let mut ttl = crate::resolve::cacheable_ttl(rcode, &answers, &authorities);
    if let Some(cap) = cap {
        ttl = ttl.min(cap);
        for r in answers
            .iter_mut()
            .chain(authorities.iter_mut())
            .chain(additionals.iter_mut())
        {
            r.ttl = r.ttl.min(cap);
        }
    }
    Resolution {
        rcode,
        answers,
        authority: authorities,
        additional: additionals,
        outcome,
        ttl,
    }
}
