//! The engine: asks upstreams, drives the validator, keeps validated keys.
//!
//! [`Resolver`] implements [`Resolve`] for the server. For each question it
//! gets an answer from its [`Upstream`] — the iterator in recursive mode
//! (from the root, [`crate::iterator`]), the forwarder in forwarding mode (a
//! validating stub: every query carries DO=1 and CD=1, so the upstream hands
//! over even data it thinks bogus, and we judge it ourselves) — then runs a
//! validation [`Session`] whose DS and DNSKEY requests go to the same
//! upstream (so in recursive mode DS goes to the parent's servers and
//! DNSKEY to the child's). The whole I/O side of validation is the loop in
//! [`Resolver::validate`].

mod autotrust;
mod build;
mod counted;
mod inflight;
mod keystore;
pub mod nta;
mod reload;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};

use tracing::{debug, warn};

pub use build::{build, build_resolver, build_upstream, iter_config, load_anchors, transport};
pub use inflight::DEFAULT_MAX_INFLIGHT_BYTES;
use keystore::KeyStore;
pub use nta::{NegativeAnchors, Nta};
pub use reload::EngineReload;

use crate::autotrust::TrustPoints;
use crate::cache::aggressive::{Proven, SpanStore};
use crate::clock::Clock;
use crate::forward::Upstreams;
use crate::resolve::{Resolution, Resolve};
pub use crate::upstream::{UpstreamError, UpstreamReply};
use crate::validator::crypto::Crypto;
use crate::validator::outcome::Ede;
use crate::validator::trace::TraceEvent;
use crate::validator::{
    Anchors, BogusReason, Fetched, InsecureReason, Limits, Outcome, Session, Step, Validated,
};
use crate::wire::{
    DNSClass, Message, MessageType, Name, OpCode, Query, Record, RecordType, ResponseCode,
};

/// A boxed future of an upstream query.
pub type UpstreamFuture<'a> =
    Pin<Box<dyn Future<Output = Result<UpstreamReply, UpstreamError>> + Send + 'a>>;

/// Where the engine sends its questions: the forwarder in stub mode, the
/// iterator in recursive mode, a fake in tests.
pub trait Upstream: Send + Sync + 'static {
    /// Ask `name`/`rtype`/`class` and return the data unvalidated (DO=1,
    /// and CD=1 to a recursive upstream): the engine validates it.
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a>;

    /// Ask a question whose answer the engine will not validate (the
    /// client set CD, RFC 4035 §3.2.2; the name is under a negative trust
    /// anchor, RFC 7646 §2): an upstream that fetches validation data
    /// ahead (the iterator's DNSKEY prefetch) skips that. The default is
    /// [`Upstream::query`].
    fn query_unvalidated<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        self.query(name, rtype, class)
    }

    /// Whether it counts each query it sends in [`crate::stats`]
    /// (`upstream.queries`) itself, as the iterator does; otherwise
    /// `serve` counts one per question it asks (the forwarder's meaning:
    /// one query to the upstream resolvers).
    fn counts_own_queries(&self) -> bool {
        false
    }

    /// The engine validated the answer to `name`/`rtype` (`records`, its
    /// answer section) Secure (`secure`) or proved it bogus: an upstream
    /// with caches of its own (the iterator) ranks what was proved above
    /// any unvalidated copy and drops what is bogus. The engine validates
    /// every answer whatever the upstream keeps; this only steers which
    /// servers are asked. The default does nothing.
    fn judged(&self, _name: &Name, _rtype: RecordType, _records: &[Record], _secure: bool) {}

    /// Whether [`Upstream::query_avoiding`] can ask other servers (the
    /// engine retries bogus answers only then).
    fn can_avoid(&self) -> bool {
        false
    }

    /// Ask again after a validation failure: fresh from the servers rather
    /// than from a cache, and from others than `avoid` where the zone has
    /// others (unbound's blacklist). `None`: this upstream cannot (the
    /// default).
    fn query_avoiding<'a>(
        &'a self,
        _name: &'a Name,
        _rtype: RecordType,
        _class: DNSClass,
        _avoid: &'a [IpAddr],
    ) -> Option<UpstreamFuture<'a>> {
        None
    }

    /// The validator's DS or DNSKEY question (an upstream may answer it
    /// from what only the validator can use). The default asks as
    /// [`Upstream::query_avoiding`], else [`Upstream::query`].
    fn fetch<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        avoid: &'a [IpAddr],
    ) -> UpstreamFuture<'a> {
        match avoid.is_empty() {
            true => self.query(name, rtype, DNSClass::IN),
            false => self
                .query_avoiding(name, rtype, DNSClass::IN, avoid)
                .unwrap_or_else(|| self.query(name, rtype, DNSClass::IN)),
        }
    }
}

/// The DS and DNSKEY data one attempt at a question fetched for its
/// validation, per (zone, type): each reply's answer and authority records
/// as they came. Kept only where a bogus answer can be retried elsewhere
/// (`on`: the iterator), and compared only when a retry meets a zone
/// proved bogus ([`Fetches::repeats`]): noting is a copy, not a
/// canonical form of every key set fetched.
#[derive(Debug, Default)]
struct Fetches {
    on: bool,
    seen: Vec<(Name, RecordType, Vec<Record>)>,
}

impl Fetches {
    fn note(&mut self, zone: &Name, rtype: RecordType, message: &Message) {
        if !self.on || !matches!(rtype, RecordType::DS | RecordType::DNSKEY) {
            return;
        }
        let records = message
            .answers
            .iter()
            .chain(message.authorities.iter())
            .cloned()
            .collect();
        self.seen.retain(|(z, t, _)| !(z == zone && *t == rtype));
        self.seen.push((zone.clone(), rtype, records));
    }

    /// Whether the DS and DNSKEY data fetched here for `zone` is what
    /// `prior` fetched for it: the same types, the same records (RFC 2136
    /// §1.1.1 equality: names without regard to case, TTLs aside), in any
    /// order.
    fn repeats(&self, prior: &Self, zone: &Name) -> bool {
        let of = |f: &Self| -> Vec<(RecordType, Vec<Record>)> {
            let mut v: Vec<(RecordType, Vec<Record>)> = f
                .seen
                .iter()
                .filter(|(z, _, _)| z == zone)
                .map(|(_, t, r)| {
                    let mut r = r.clone();
                    r.sort_unstable();
                    (*t, r)
                })
                .collect();
            v.sort_by_key(|(t, _)| u16::from(*t));
            v
        };
        let mine = of(self);
        !mine.is_empty() && mine == of(prior)
    }
}

/// One attempt at a question: what the attempt before it fetched (a
/// retry's), what this one fetched, and whether it was given up because it
/// met the same data again.
#[derive(Debug, Default)]
struct Attempt<'a> {
    prior: Option<&'a Fetches>,
    fetched: Fetches,
    abandoned: bool,
}

/// How many times a bogus answer is asked again elsewhere (unbound's
/// `val-max-restart` is 5; 2 bound what one bogus name costs).
const MAX_BOGUS_RETRIES: usize = 2;

impl Upstream for Upstreams {
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        Box::pin(self.query_with_source(name, rtype, class))
    }
}

impl Upstream for crate::iterator::Iterator {
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        Box::pin(self.resolve(name, rtype, class, &[]))
    }

    fn query_unvalidated<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        Box::pin(self.resolve_unvalidated(name, rtype, class))
    }

    fn can_avoid(&self) -> bool {
        true
    }

    fn counts_own_queries(&self) -> bool {
        true
    }

    fn judged(&self, name: &Name, rtype: RecordType, records: &[Record], secure: bool) {
        match secure {
            true => self.learn_validated(records),
            false => self.forget_bogus(name, rtype, records),
        }
    }

    fn query_avoiding<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
        avoid: &'a [IpAddr],
    ) -> Option<UpstreamFuture<'a>> {
        Some(Box::pin(self.resolve(name, rtype, class, avoid)))
    }

    fn fetch<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        avoid: &'a [IpAddr],
    ) -> UpstreamFuture<'a> {
        Box::pin(self.resolve_for_validation(name, rtype, DNSClass::IN, avoid))
    }
}

/// The validating resolver.
pub struct Resolver {
    /// Replaced whole by `reload` when the forwarders or zones change; each
    /// question works on the one it started with.
    upstream: RwLock<Arc<dyn Upstream>>,
    /// Swapped whole when RFC 5011 changes the trusted keys; each
    /// validation works on the snapshot it started with.
    anchors: RwLock<Arc<Anchors>>,
    trust_points: Option<Mutex<TrustPoints>>,
    crypto: Arc<dyn Crypto>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    keys: KeyStore,
    validation_time: Option<u64>,
    sentinel_enabled: bool,
    ntas: NegativeAnchors,
    /// Replaced whole by `reload`.
    domain_insecure: RwLock<Arc<Vec<Name>>>,
    /// Validated NSEC/NSEC3 spans (RFC 8198); `None` when
    /// `aggressive_nsec = false`.
    aggressive: Option<SpanStore>,
    /// Told when RFC 5011 changes the trusted keys (`serve` drops its
    /// answer cache then: answers validated through a key that is no longer
    /// trusted must not outlive it).
    on_anchor_change: std::sync::OnceLock<AnchorChangeHook>,
    /// The bytes every resolution in flight holds, and their bound.
    inflight: Arc<inflight::InflightBytes>,
}

/// What the owner of an answer cache runs when the trust anchors change.
pub type AnchorChangeHook = Box<dyn Fn() + Send + Sync>;

impl Resolver {
    /// A resolver asking `upstream`, validating from `anchors`.
    pub fn new(
        upstream: Arc<dyn Upstream>,
        anchors: Anchors,
        crypto: Arc<dyn Crypto>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            upstream: RwLock::new(upstream),
            anchors: RwLock::new(Arc::new(anchors)),
            trust_points: None,
            crypto,
            clock,
            limits: Limits::default(),
            keys: KeyStore::new(10_000, keystore::DEFAULT_MAX_BYTES),
            validation_time: None,
            sentinel_enabled: true,
            ntas: NegativeAnchors::default(),
            domain_insecure: RwLock::new(Arc::new(Vec::new())),
            aggressive: Some(SpanStore::default()),
            on_anchor_change: std::sync::OnceLock::new(),
            inflight: inflight::InflightBytes::new(DEFAULT_MAX_INFLIGHT_BYTES),
        }
    }

    /// Bounds the decoded messages all resolutions in flight hold together
    /// (`max_inflight_bytes`); at or over it, new resolutions are answered
    /// SERVFAIL at once (see `engine/inflight.rs`).
    pub fn with_max_inflight_bytes(mut self, bytes: usize) -> Self {
        self.inflight = inflight::InflightBytes::new(bytes);
        self
    }

    /// Bytes the resolutions in flight hold now, and how many resolutions
    /// were refused for the bound so far.
    pub fn inflight_bytes(&self) -> (usize, u64) {
        (self.inflight.used(), self.inflight.refused())
    }

    /// Run `hook` whenever RFC 5011 changes the trusted keys (set once;
    /// `serve` flushes its answer cache with it). The hook learns only that
    /// the set changed; it cannot change what is trusted.
    pub fn on_anchor_change(&self, hook: AnchorChangeHook) {
        let _ = self.on_anchor_change.set(hook);
    }

    /// How long a zone whose keys or DS records were judged bogus stays
    /// bogus without being looked at again (default 60 s; 0: not at all).
    pub fn with_bogus_ttl(mut self, secs: u32) -> Self {
        self.keys = self.keys.with_bogus_ttl(u64::from(secs));
        self
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

    /// Answer RFC 8509 root-key-sentinel questions (on by default).
    pub fn with_sentinel(mut self, enabled: bool) -> Self {
        self.sentinel_enabled = enabled;
        self
    }

    /// Answer NXDOMAIN and NODATA from validated NSEC/NSEC3 spans already
    /// held, without asking upstream (RFC 8198; on by default, unbound's
    /// `aggressive-nsec`).
    pub fn with_aggressive_nsec(mut self, enabled: bool) -> Self {
        self.aggressive = enabled.then(SpanStore::default);
        self
    }

    /// The validated NSEC/NSEC3 spans (RFC 8198), when enabled.
    pub fn aggressive_nsec(&self) -> Option<&SpanStore> {
        self.aggressive.as_ref()
    }

    /// The trust anchors in use now.
    pub fn anchors(&self) -> Arc<Anchors> {
        match self.anchors.read() {
            Ok(a) => Arc::clone(&a),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The key store (authenticated DNSKEY sets, proven insecure cuts).
    pub(crate) fn key_store(&self) -> &KeyStore {
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

    /// Negative trust anchors from the configuration (unbound's
    /// domain-insecure, RFC 7646): names at or below one of `zones` are not
    /// validated, unless a trust anchor lies deeper than the negative one.
    pub fn with_domain_insecure(self, zones: Vec<Name>) -> Self {
        *write(&self.domain_insecure) = Arc::new(zones);
        self
    }

    /// The upstream in use now.
    fn upstream(&self) -> Arc<dyn Upstream> {
        Arc::clone(&read(&self.upstream))
    }

    /// The negative trust anchor covering `name`, if any: one the operator
    /// added (`danebound control insecure_add`, not expired) or a configured
    /// `domain_insecure` zone, unless a trust anchor lies deeper than it
    /// (RFC 7646 §2: an NTA below a trust anchor disables validation there;
    /// a trust anchor below the NTA re-enables it, as unbound does).
    fn negative_anchor_for(&self, name: &Name, anchors: &Anchors) -> Option<Name> {
        let deeper_anchor = |nta: &Name| {
            anchors
                .closest(name)
                .is_some_and(|(anchor, _)| anchor.num_labels() > nta.num_labels())
        };
        self.ntas
            .covering(name, self.clock.unix_now())
            .into_iter()
            .chain(
                read(&self.domain_insecure)
                    .iter()
                    .filter(|z| z.zone_of(name))
                    .cloned(),
            )
            .find(|nta| !deeper_anchor(nta))
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
        if !self.inflight.admit() {
            // Issue 11: memory bounded in bytes across sessions. Not
            // cached; the client may ask again once others have finished.
            debug!(name = %query.name(), "SERVFAIL: the resolutions in flight hold their byte budget");
            // RFC 8914 has no code for an overloaded resolver: 0 (Other),
            // with the reason.
            let failure = Ede {
                code: 0,
                text:
                    "resolutions in flight hold their memory budget (max_inflight_bytes); try again"
                        .into(),
            };
            return (Resolution::failed(failure), Vec::new());
        }
        let mut avoid = Vec::new();
        let mut retries = 0;
        let mut first_events: Option<Vec<TraceEvent>> = None;
        let mut previous: Option<(Resolution, Fetches)> = None;
        loop {
            let mut used = Vec::new();
            let mut attempt = Attempt {
                prior: previous.as_ref().map(|(_, fetched)| fetched),
                fetched: Fetches {
                    on: !cd && self.upstream().can_avoid(),
                    seen: Vec::new(),
                },
                abandoned: false,
            };
            let (resolution, mut events, remembered) = self
                .run_with(
                    query,
                    cd,
                    trace,
                    apply_ntas,
                    &avoid,
                    &mut used,
                    &mut attempt,
                )
                .await;
            let fetched = attempt.fetched;
            if attempt.abandoned
                && let Some((verdict, _)) = previous.take()
            {
                // The retry met the very DS and DNSKEY data the last attempt
                // proved bogus: that verdict stands, unrepeated.
                return (verdict, first_events.take().unwrap_or_default());
            }
            // A retry starts from the keys the first attempt learned: when
            // it fails too, the first attempt's chain is the one to show.
            if resolution.outcome.is_bogus()
                && let Some(first) = first_events.take()
            {
                events = first;
            }
            // RFC 4035 §4.3 leaves the recovery from bogus data to the
            // resolver; unbound asks other servers, the ones that served the
            // bad data blacklisted. A bogus answer from every server stays
            // bogus.
            let fresh: Vec<IpAddr> = used.into_iter().filter(|ip| !avoid.contains(ip)).collect();
            if !resolution.outcome.is_bogus()
                || cd
                || remembered
                || !self.upstream().can_avoid()
                || retries >= MAX_BOGUS_RETRIES
                || fresh.is_empty()
            {
                return (resolution, events);
            }
            retries += 1;
            first_events = Some(events);
            previous = Some((resolution, fetched));
            debug!(name = %query.name(), ?fresh, "bogus: asking again, avoiding those servers");
            avoid.extend(fresh);
        }
    }

    async fn ask(
        &self,
        name: &Name,
        rtype: RecordType,
        class: Option<DNSClass>,
        avoid: &[IpAddr],
        used: &mut Vec<IpAddr>,
    ) -> Result<UpstreamReply, UpstreamError> {
        self.ask_for(name, rtype, class, avoid, used, true).await
    }

    /// [`Resolver::ask`]; `validates` false: the answer will not be
    /// validated (CD=1, a negative trust anchor), so the upstream fetches
    /// no validation data ahead for it.
    async fn ask_for(
        &self,
        name: &Name,
        rtype: RecordType,
        class: Option<DNSClass>,
        avoid: &[IpAddr],
        used: &mut Vec<IpAddr>,
        validates: bool,
    ) -> Result<UpstreamReply, UpstreamError> {
        let upstream = self.upstream();
        let reply = match class {
            // The validator's fetch.
            None => upstream.fetch(name, rtype, avoid).await,
            Some(class) if avoid.is_empty() && !validates => {
                upstream.query_unvalidated(name, rtype, class).await
            }
            Some(class) if avoid.is_empty() => upstream.query(name, rtype, class).await,
            Some(class) => match upstream.query_avoiding(name, rtype, class, avoid) {
                Some(future) => future.await,
                None => upstream.query(name, rtype, class).await,
            },
        }?;
        if !reply.server.ip().is_unspecified() && !used.contains(&reply.server.ip()) {
            used.push(reply.server.ip());
        }
        Ok(reply)
    }

    /// One resolution and validation, noting in `used` the servers whose
    /// data it took. `avoid` non-empty: a retry, never from caches.
    #[allow(clippy::too_many_arguments)]
    async fn run_with(
        &self,
        query: &Query,
        cd: bool,
        trace: bool,
        apply_ntas: bool,
        avoid: &[IpAddr],
        used: &mut Vec<IpAddr>,
        attempt: &mut Attempt<'_>,
    ) -> (Resolution, Vec<TraceEvent>, bool) {
        let name = query.name();
        let rtype = query.query_type();
        let class = query.query_class();
        // RFC 7646 §2: at and below a negative trust anchor the data is not
        // validated and is treated as insecure (no AD, no SERVFAIL). Data a
        // CNAME chain brings in from outside the NTA is not validated in
        // this answer either; the whole answer is Insecure.
        let anchors = self.anchors();
        let nta = if cd || !apply_ntas {
            None
        } else {
            self.negative_anchor_for(name, &anchors)
        };
        // RFC 4035 §3.2.2: with CD=1 the client validates.
        let validates = !cd && nta.is_none() && !anchors.is_empty();
        let spans = self.usable_spans(query, cd, trace, apply_ntas, avoid);
        if let Some((store, anchors)) = &spans
            && let Some(resolution) = self.answer_from_validated_spans(query, store, anchors)
        {
            return (resolution, Vec::new(), false);
        }
        let synthesised = match spans {
            Some((store, _)) => self.reply_from_cached_wildcard(query, store, used).await,
            None => None,
        };
        let (asked, prevalidated) = match synthesised {
            Some((reply, validated)) => (Ok(reply), Some(validated)),
            None => (
                self.ask_for(name, rtype, Some(class), avoid, used, validates)
                    .await,
                None,
            ),
        };
        let reply = match asked {
            Ok(reply) => reply,
            Err(e) => {
                debug!(%name, %rtype, "no upstream answer: {e}");
                // RFC 8914: the client learns why (no reachable authority,
                // a network error, a budget spent, an alias loop).
                let failure = Ede {
                    code: e.ede_code(),
                    text: e.ede_text(),
                };
                return (Resolution::failed(failure), Vec::new(), false);
            }
        };
        // Held (and counted) until this resolution ends.
        let _held = self.inflight.hold(&reply.message);
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
                    failure: None,
                },
                Vec::new(),
                false,
            );
        }
        let mut events = Vec::new();
        let mut remembered = false;
        let validated = if !validates {
            // RFC 4035 §3.2.2: with CD=1 the client validates; we pass the
            // data on unchecked and never claim it secure. RFC 7646 §2: under
            // a negative trust anchor validation is off.
            Validated {
                outcome: match nta {
                    Some(zone) => Outcome::Insecure(InsecureReason::NegativeTrustAnchor { zone }),
                    None => Outcome::Indeterminate,
                },
                ttl: None,
                answers: distinct(reply.message.answers.iter()),
                authorities: distinct(reply.message.authorities.iter()),
                additionals: distinct(
                    reply
                        .message
                        .additionals
                        .iter()
                        .filter(|r| r.record_type() != RecordType::OPT),
                ),
            }
        } else if let Some(validated) = prevalidated {
            validated
        } else {
            let (validated, trace, from_memory) = self
                .validate_inner(name, rtype, &reply.message, trace, avoid, used, attempt)
                .await;
            events = trace;
            remembered = from_memory;
            // The iterator's caches learn what was proved: Secure NS sets
            // and addresses outrank referral glue for choosing servers,
            // bogus data is dropped (RFC 4035 §4.3, RFC 2181 §5.4.1).
            if attempt.abandoned {
                // Judged by the previous attempt.
            } else if validated.outcome.is_secure() {
                self.upstream()
                    .judged(name, rtype, &validated.answers, true);
            } else if validated.outcome.is_bogus() {
                self.upstream()
                    .judged(name, rtype, &reply.message.answers, false);
            }
            validated
        };
        if let Some(refused) = self.sentinel(name, rtype, &validated.outcome, &anchors) {
            return (refused, events, remembered);
        }
        // The server logs each validation failure once; what only the
        // engine knows is which upstream handed over unsigned data.
        if let Outcome::Bogus(reason @ BogusReason::RrsigsMissing { .. }) = &validated.outcome {
            warn!(
                %name, %rtype, upstream = %reply.server,
                "{reason}: upstream {} may strip DNSSEC records (EDE 10)",
                reply.server
            );
        }
        let resolution = to_resolution(rcode, validated);
        // Only Secure negative answers are learned (see `SpanStore::learn`):
        // under a negative trust anchor the outcome is Insecure.
        if let Some(store) = &self.aggressive
            && !cd
        {
            store.learn(&resolution, self.clock.unix_now());
        }
        (resolution, events, remembered)
    }

    /// The span store and the anchors, when `query` may be answered from
    /// the store: not for CD=1 (the client validates; it gets what the
    /// servers say), a traced or retried resolution, a name under a
    /// negative trust anchor (RFC 7646 §2), or without trust anchors: the
    /// spans come only from Secure answers, and are used only where the
    /// name would be validated.
    fn usable_spans(
        &self,
        query: &Query,
        cd: bool,
        trace: bool,
        apply_ntas: bool,
        avoid: &[IpAddr],
    ) -> Option<(&SpanStore, Arc<Anchors>)> {
        let store = self.aggressive.as_ref()?;
        if cd || trace || !apply_ntas || !avoid.is_empty() || store.is_empty() {
            return None;
        }
        let anchors = self.anchors();
        if anchors.is_empty() || self.negative_anchor_for(query.name(), &anchors).is_some() {
            return None;
        }
        Some((store, anchors))
    }

    /// RFC 8198: the NXDOMAIN or NODATA that validated NSEC/NSEC3 spans
    /// already prove for `query`, answered without an upstream query.
    fn answer_from_validated_spans(
        &self,
        query: &Query,
        store: &SpanStore,
        anchors: &Anchors,
    ) -> Option<Resolution> {
        let (proven, resolution) = store.lookup(
            query.name(),
            query.query_type(),
            query.query_class(),
            self.clock.unix_now(),
        )?;
        // RFC 8509 §3: a sentinel name's answer depends on the trusted keys,
        // not only on the data; it gets the same treatment as a resolved one.
        if let Some(refused) = self.sentinel(
            query.name(),
            query.query_type(),
            &resolution.outcome,
            anchors,
        ) {
            return Some(refused);
        }
        debug!(name = %query.name(), qtype = %query.query_type(), ?proven, "answered from validated NSEC/NSEC3 spans (RFC 8198)");
        crate::stats::global().aggressive(proven == Proven::NxDomain);
        Some(resolution)
    }

    /// RFC 8198 §5.3: the reply a held wildcard RRset and the spans proving
    /// the name absent give for `query`, built as an authoritative server
    /// would send it (the expanded RRset with its RRSIGs, the NSEC/NSEC3
    /// proof). A CNAME at the wildcard is followed: its target is resolved
    /// as usual (caches first) and its reply joins this one. The result is
    /// validated like any reply, so AD comes only when every piece
    /// validates, and the TTL is the smallest of the pieces. Only a Secure
    /// result is used: anything else (a signature expired since, a CNAME
    /// target that is insecure) goes upstream as if nothing were cached.
    async fn reply_from_cached_wildcard(
        &self,
        query: &Query,
        store: &SpanStore,
        used: &mut Vec<IpAddr>,
    ) -> Option<(UpstreamReply, Validated)> {
        let synthesised = store.synthesise(
            query.name(),
            query.query_type(),
            query.query_class(),
            self.clock.unix_now(),
        )?;
        let mut message = Message::new(0, MessageType::Response, OpCode::Query);
        message.metadata.authoritative = true;
        message.add_query(query.clone());
        message.answers = synthesised.answers;
        message.authorities = synthesised.authority;
        if let Some(target) = synthesised.target {
            let rest = self
                .ask(
                    &target,
                    query.query_type(),
                    Some(query.query_class()),
                    &[],
                    used,
                )
                .await
                .ok()?;
            let rcode = rest.message.metadata.response_code;
            if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
                return None;
            }
            message.metadata.response_code = rcode;
            message.answers.extend(rest.message.answers);
            for r in rest.message.authorities {
                if !message.authorities.contains(&r) {
                    message.authorities.push(r);
                }
            }
        }
        let (validated, _, _) = self
            .validate_inner(
                query.name(),
                query.query_type(),
                &message,
                false,
                &[],
                used,
                &mut Attempt::default(),
            )
            .await;
        if !validated.outcome.is_secure() {
            debug!(name = %query.name(), qtype = %query.query_type(), outcome = ?validated.outcome, "wildcard synthesis not Secure: asking upstream");
            return None;
        }
        debug!(name = %query.name(), qtype = %query.query_type(), "synthesised from a validated wildcard (RFC 8198 §5.3)");
        let reply = UpstreamReply {
            message,
            server: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
            tcp: false,
        };
        Some((reply, validated))
    }

    /// The I/O side of validation: run the session, fetching what it asks.
    pub async fn validate(&self, qname: &Name, qtype: RecordType, response: &Message) -> Validated {
        self.validate_inner(
            qname,
            qtype,
            response,
            false,
            &[],
            &mut Vec::new(),
            &mut Attempt::default(),
        )
        .await
        .0
    }

    #[allow(clippy::too_many_arguments)]
    async fn validate_inner(
        &self,
        qname: &Name,
        qtype: RecordType,
        response: &Message,
        trace: bool,
        avoid: &[IpAddr],
        used: &mut Vec<IpAddr>,
        attempt: &mut Attempt<'_>,
    ) -> (Validated, Vec<TraceEvent>, bool) {
        let now = self.clock.unix_now();
        // A retry (avoiding the servers of a bogus answer) judges zones
        // remembered as bogus afresh when it brings new data (another
        // server's DS or DNSKEY set); the same data again ends the retry
        // below instead.
        let view = if avoid.is_empty() {
            self.keys.view(now)
        } else {
            self.keys.view_for_retry(now)
        };
        let anchors = self.anchors();
        let mut session = Session::new(
            qname,
            qtype,
            response,
            &anchors,
            self.validation_time.unwrap_or(now),
            self.limits.clone(),
            self.crypto.as_ref(),
        )
        .with_key_cache(&view);
        if trace {
            session = session.with_trace();
        }
        // The fetched message the session is judging (it holds one at most).
        let mut _fetched_held = None;
        let validated = loop {
            match off_the_async_workers(|| session.step()) {
                Step::Fetch(request) => {
                    let fetched = match self
                        .ask(&request.name, request.rtype, None, avoid, used)
                        .await
                    {
                        Ok(reply) => {
                            attempt
                                .fetched
                                .note(&request.name, request.rtype, &reply.message);
                            if let Some(prior) = attempt.prior
                                && self.keys.is_bogus(&request.name, now)
                                && attempt.fetched.repeats(prior, &request.name)
                            {
                                // A retry that got the DS and DNSKEY data the
                                // last attempt proved bogus, again (the zone
                                // has no other server to give anything
                                // else): judging it afresh would repeat all
                                // that work for the same verdict, as issue
                                // 11's DS flood did (3 sessions, 903
                                // digests). unbound's bad key entry ends the
                                // same way. The session ends on a failed
                                // fetch, unjudged and unlearned.
                                debug!(zone = %request.name, "retry: the same DS and DNSKEY data as the bogus verdict");
                                attempt.abandoned = true;
                                Fetched::Failed("the data proved bogus, again".into())
                            } else {
                                _fetched_held = Some(self.inflight.hold(&reply.message));
                                Fetched::Response(reply.message)
                            }
                        }
                        Err(e) => Fetched::Failed(e.to_string()),
                    };
                    session.supply(&request, fetched);
                    if attempt.abandoned {
                        break Validated {
                            outcome: Outcome::Indeterminate,
                            ttl: None,
                            answers: Vec::new(),
                            authorities: Vec::new(),
                            additionals: Vec::new(),
                        };
                    }
                }
                Step::Done(validated) => break validated,
            }
        };
        crate::stats::global().validation_work(session.budget());
        if !attempt.abandoned {
            self.keys
                .learn_with_ttls(session.learned(), |z| session.insecure_ttl(z), now);
        }
        (validated, session.trace().to_vec(), view.served_bogus())
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

/// Run one CPU-bound validation step so that cache hits keep being answered
/// meanwhile. A step does at most what the session's budget allows (every
/// signature, DS digest and NSEC3 hash is charged), but that can be
/// milliseconds; on `serve`'s multi-threaded runtime `block_in_place` hands
/// this worker's other tasks to another thread for that time. On a
/// current-thread runtime (`danebound query`, tests) the step runs inline.
fn off_the_async_workers<T>(step: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(step)
        }
        _ => step(),
    }
}

/// The records of one section without repeats. RFC 2181 §5: an RRset
/// holds each record once ("Should an authoritative source send such data,
/// the client must treat the duplicates as one"); validated data comes out
/// of the validator's grouping that way, unvalidated data (CD=1, no anchor,
/// a negative trust anchor) goes through here. Linear: a set of what was
/// seen (owner case-insensitively, type, class, RDATA).
fn distinct<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<Record> {
    let mut seen = std::collections::HashSet::new();
    records
        .filter(|r| {
            seen.insert((
                r.name.to_lowercase(),
                r.record_type(),
                r.dns_class,
                r.data.clone(),
            ))
        })
        .cloned()
        .collect()
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
        failure: None,
    }
}

/// A read lock that survives a poisoned writer (the data is replaced whole,
/// never left half-written).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::distinct;
    use crate::wire::rdata::{A, CNAME};
    use crate::wire::{Name, RData, Record};

    #[test]
    fn duplicate_records_of_an_rrset_count_once() {
        let owner = Name::from_str("www.Example.com.").unwrap();
        let lower = Name::from_str("www.example.com.").unwrap();
        let target = Name::from_str("www.next.com.").unwrap();
        let cname = |name: &Name| {
            Record::from_rdata(name.clone(), 300, RData::CNAME(CNAME(target.clone())))
        };
        let a = |last| Record::from_rdata(target.clone(), 300, RData::A(A::new(192, 0, 2, last)));
        let records = [cname(&owner), cname(&lower), a(1), a(2), a(1)];
        let kept = distinct(records.iter());
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert_eq!(kept[0].name, owner, "the first copy is kept");
        assert_eq!(kept[2], a(2));
    }
}

#[cfg(test)]
mod retry_tests {
    use std::str::FromStr;

    use super::Fetches;
    use crate::wire::rdata::TXT;
    use crate::wire::{Message, MessageType, Name, OpCode, RData, Record, RecordType};

    /// A reply whose answer holds `data` at `owner` with `ttl` (TXT stands
    /// in for DS or DNSKEY data: only the records are compared).
    fn reply(owner: &str, ttl: u32, data: &[&str]) -> Message {
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.answers = data
            .iter()
            .map(|d| {
                Record::from_rdata(
                    Name::from_str(owner).unwrap(),
                    ttl,
                    RData::TXT(TXT::new(vec![(*d).to_string()])),
                )
            })
            .collect();
        m
    }

    fn fetches() -> Fetches {
        Fetches {
            on: true,
            seen: Vec::new(),
        }
    }

    #[test]
    fn a_retry_repeats_only_the_same_ds_and_dnskey_data() {
        let zone = Name::from_str("flood.example.").unwrap();
        let mut first = fetches();
        first.note(
            &zone,
            RecordType::DS,
            &reply("flood.example.", 300, &["a", "b"]),
        );
        first.note(
            &zone,
            RecordType::DNSKEY,
            &reply("flood.example.", 300, &["k"]),
        );
        // The same data, other TTLs, case and order: a repeat, once both
        // types are in.
        let mut again = fetches();
        again.note(
            &zone,
            RecordType::DS,
            &reply("FLOOD.example.", 99, &["b", "a"]),
        );
        assert!(
            !again.repeats(&first, &zone),
            "the DNSKEY set is not in yet"
        );
        again.note(
            &zone,
            RecordType::DNSKEY,
            &reply("flood.example.", 5, &["k"]),
        );
        assert!(again.repeats(&first, &zone));
        // Another server's DNSKEY set: judged afresh.
        let mut other = fetches();
        other.note(
            &zone,
            RecordType::DS,
            &reply("flood.example.", 300, &["a", "b"]),
        );
        other.note(
            &zone,
            RecordType::DNSKEY,
            &reply("flood.example.", 300, &["k2"]),
        );
        assert!(!other.repeats(&first, &zone));
        // Another zone's data says nothing of this one; off notes nothing.
        let mut elsewhere = fetches();
        let sibling = Name::from_str("other.example.").unwrap();
        elsewhere.note(
            &sibling,
            RecordType::DNSKEY,
            &reply("other.example.", 300, &["k"]),
        );
        assert!(!elsewhere.repeats(&first, &zone));
        let mut off = Fetches::default();
        off.note(
            &zone,
            RecordType::DS,
            &reply("flood.example.", 300, &["a", "b"]),
        );
        off.note(
            &zone,
            RecordType::DNSKEY,
            &reply("flood.example.", 300, &["k"]),
        );
        assert!(!off.repeats(&first, &zone));
    }
}
