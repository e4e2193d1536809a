//! The iterator's state machine: one resolution from the root (or the
//! closest cached delegation) down to the answer, as pure transitions.
//!
//! [`Iteration::step`] returns [`Action::Send`] (ask this server this
//! question) or [`Action::Done`]; [`Iteration::supply`] feeds the reply or
//! the timeout back. No sockets, no clock: time comes in as [`Now`], chance
//! as a number. Sub-resolutions (an NS name's address for a glueless
//! delegation, root priming) are frames on a stack inside the same
//! iteration, sharing its [`Budget`], so a CNAME restart or a validator
//! retry never resets what was spent (CVE-2026-50045 was that reset).

use std::net::{IpAddr, SocketAddr};

use super::cache::{IterCache, Rank};
use super::hints::RootHints;
use super::infra::Infra;
use super::scrub::{Kind, Scrubbed, scrub};
use crate::upstream::QueryFlags;
use crate::validator::Crypto as _;
use crate::validator::outcome::ede_code;
use crate::wire::{DNSClass, Message, MessageType, Name, OpCode, Query, RData, Record, RecordType};

/// Budgets of one client question, sub-resolutions included. Defaults are
/// unbound's (`iterator.h`, `util/config_file.c`) unless said otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IterLimits {
    /// unbound `max-global-quota`: queries sent per client question.
    pub max_sends: u32,
    /// unbound `MAX_TARGET_COUNT`: NS names resolved (NXNS,
    /// CVE-2020-12662).
    pub max_targets: u32,
    /// unbound `MAX_DP_TARGET_COUNT`: NS names resolved for one delegation
    /// point (reset by a referral).
    pub max_dp_targets: u32,
    /// unbound `MAX_TARGET_NX`: NS name lookups that brought no address.
    pub max_target_nx: u32,
    /// unbound `MAX_REFERRAL_COUNT`: referrals followed.
    pub max_referrals: u32,
    /// unbound `max-query-restarts`: CNAME/DNAME restarts.
    pub max_restarts: u32,
    /// unbound `max-sent-count`: queries to one delegation point.
    pub max_dp_sends: u32,
    /// Nested sub-resolutions (NS address of an NS address ...); unbound
    /// bounds the dependency depth at 4 (`target-fetch-policy` length − 1)
    /// plus priming.
    pub max_depth: usize,
    /// Total time for one question, ms (Knot's 10 s per query; unbound has
    /// no single figure). 8 s: below `serve`'s 10 s for a whole resolution
    /// (`server::RESOLUTION_TIMEOUT`), so that the iterator's reason (which
    /// zone's servers failed, and how) reaches the client.
    pub max_time_ms: u64,
}

impl Default for IterLimits {
    fn default() -> Self {
        Self {
            max_sends: 200,
            max_targets: 64,
            max_dp_targets: 16,
            max_target_nx: 5,
            max_referrals: 130,
            max_restarts: 11,
            max_dp_sends: 32,
            max_depth: 6,
            max_time_ms: 8_000,
        }
    }
}

/// Servers configured for a zone (stub or forward zone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneServers {
    /// The zone.
    pub zone: Name,
    /// Its servers.
    pub servers: Vec<SocketAddr>,
}

/// How the iterator works.
#[derive(Clone, Debug)]
pub struct IterConfig {
    /// Where the root is.
    pub hints: RootHints,
    /// Zones whose servers are asked directly, RD=0 (unbound stub-zone).
    pub stub_zones: Vec<ZoneServers>,
    /// Zones forwarded to recursive servers, RD=1 (unbound forward-zone).
    pub forward_zones: Vec<ZoneServers>,
    /// Relaxed QNAME minimisation (RFC 9156).
    pub qname_minimisation: bool,
    /// Ask servers on loopback addresses learned from referrals (unbound
    /// `do-not-query-localhost: no`). Configured addresses are always asked.
    pub query_localhost: bool,
    /// Use IPv4 / IPv6 server addresses.
    pub ipv4: bool,
    /// Use IPv6 server addresses.
    pub ipv6: bool,
    /// Budgets.
    pub limits: IterLimits,
    /// The longest anything is cached, s (`[cache] max_ttl`, unbound
    /// `cache-max-ttl`).
    pub max_ttl: u32,
    /// Zones known to be signed (the trust anchors' zones): their servers
    /// must answer with RRSIGs, as must those of a zone whose referral
    /// carried DS (unbound `iter_indicates_dnssec`).
    pub signed_zones: Vec<Name>,
}

impl Default for IterConfig {
    fn default() -> Self {
        Self {
            hints: RootHints::iana(),
            stub_zones: Vec::new(),
            forward_zones: Vec::new(),
            qname_minimisation: true,
            query_localhost: false,
            ipv4: true,
            ipv6: true,
            limits: IterLimits::default(),
            max_ttl: super::cache::MAX_TTL,
            signed_zones: Vec::new(),
        }
    }
}

/// The caches shared by all iterations.
#[derive(Debug, Default)]
pub struct Shared {
    /// RRsets, delegations, answers.
    pub cache: IterCache,
    /// Server RTTs and lameness.
    pub infra: Infra,
}

/// The time, as values.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Unix seconds (cache expiry).
    pub unix: u64,
    /// Milliseconds since this iteration started (the time budget).
    pub elapsed_ms: u64,
}

/// One query to send.
#[derive(Clone, Debug)]
pub struct SendRequest {
    /// The server.
    pub server: SocketAddr,
    /// The zone we ask it about (the delegation point).
    pub zone: Name,
    /// The question.
    pub question: Query,
    /// RD/CD.
    pub flags: QueryFlags,
    /// How long to wait, ms (the server's RTO).
    pub timeout_ms: u32,
}

/// Why an iteration gave up; the engine answers SERVFAIL with `ede` and
/// `why` as its EXTRA-TEXT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// RFC 8914 INFO-CODE: 22 (No Reachable Authority: servers that time
    /// out, refuse, are lame or have no address), 23 (Network Error: the
    /// exchanges themselves failed), 0 (Other: a budget ran out or the
    /// aliases loop; the text names which).
    pub ede: u16,
    /// What happened: the zone, the servers' fate, the limit.
    pub why: String,
}

/// What the driver must do next.
#[derive(Clone, Debug)]
pub enum Action {
    /// Send this query and [`Iteration::supply`] what comes back.
    Send(SendRequest),
    /// Finished: the answer (unvalidated) or why not.
    Done(Result<Message, Failure>),
}

/// What came back from a [`SendRequest`].
#[derive(Clone, Debug)]
pub enum Response {
    /// A reply that passed the query layer's checks.
    Reply {
        /// The reply.
        message: Message,
        /// Round-trip time, ms.
        rtt_ms: u32,
    },
    /// No reply in time.
    Timeout,
    /// Network error or garbage.
    Failed,
}

/// What was spent, shared by every frame of one iteration.
#[derive(Clone, Debug, Default)]
struct Budget {
    sends: u32,
    targets: u32,
    target_nx: u32,
    referrals: u32,
    restarts: u32,
    primed: bool,
    prime_failed: bool,
    /// Servers to avoid where others exist, and no cached answers: a retry
    /// after a validation failure (unbound's blacklist).
    avoid: Vec<IpAddr>,
    /// The validator's own DS/DNSKEY question: a referral's NSEC proof of
    /// no DS will do.
    for_validation: bool,
    /// Ask the servers even when the answer is cached (priming again
    /// before the root's NS set expires).
    fresh: bool,
    /// The answer will not be validated (CD=1, a negative trust anchor):
    /// no zone's DNSKEY set is fetched ahead for it.
    unvalidated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DpKind {
    /// From the cache or a referral.
    Iterate,
    /// The root hints (before or without priming).
    Hints,
    /// A stub zone: authorities, RD=0.
    Stub,
    /// A forward zone: recursive servers, RD=1.
    Forward,
}

#[derive(Clone, Debug)]
struct Ns {
    host: Option<Name>,
    addrs: Vec<SocketAddr>,
    asked_a: bool,
    asked_aaaa: bool,
}

#[derive(Clone, Debug)]
struct Dp {
    zone: Name,
    kind: DpKind,
    servers: Vec<Ns>,
}

impl Dp {
    fn from_hosts(zone: Name, kind: DpKind, hosts: Vec<(Name, Vec<IpAddr>)>) -> Self {
        let servers = hosts
            .into_iter()
            .map(|(host, ips)| Ns {
                host: Some(host),
                addrs: ips.into_iter().map(|ip| SocketAddr::new(ip, 53)).collect(),
                asked_a: false,
                asked_aaaa: false,
            })
            .collect();
        Self {
            zone,
            kind,
            servers,
        }
    }

    fn from_addrs(zone: &ZoneServers, kind: DpKind) -> Self {
        Self {
            zone: zone.zone.clone(),
            kind,
            servers: zone
                .servers
                .iter()
                .map(|a| Ns {
                    host: None,
                    addrs: vec![*a],
                    asked_a: true,
                    asked_aaaa: true,
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    /// The question asked of the iterator.
    Main,
    /// The address of an NS host of the parent frame's delegation.
    Target(Name),
    /// `. NS` from the hints (RFC 9609).
    Prime,
}

/// What the servers of the current delegation point did (each server
/// counted once per kind), for the reason a failure gives (RFC 8914).
#[derive(Clone, Debug, Default)]
struct Tally {
    /// The zone whose servers these are.
    zone: Option<Name>,
    /// No reply in time.
    timeouts: Vec<IpAddr>,
    /// The exchange failed (refused connection, garbage, ...).
    errors: Vec<IpAddr>,
    /// Lame or recursion-lame replies (not authoritative for the zone).
    lame: Vec<IpAddr>,
    /// Answers for the signed zone without RRSIGs (DNSSEC-lame).
    dnssec_lame: Vec<IpAddr>,
    /// Replies with an error rcode (SERVFAIL, REFUSED, ...) or unusable.
    broken: Vec<IpAddr>,
    /// NS names whose lookup brought no address, with what came of it.
    unresolved: Vec<(Name, &'static str)>,
}

fn note(list: &mut Vec<IpAddr>, ip: IpAddr) {
    if !list.contains(&ip) {
        list.push(ip);
    }
}

impl Tally {
    /// Starts counting for `zone`'s servers, unless it is that zone's
    /// count already (asked of the parent again, the same servers).
    fn for_zone(&mut self, zone: &Name) {
        if self.zone.as_ref() != Some(zone) {
            *self = Self {
                zone: Some(zone.clone()),
                ..Self::default()
            };
        }
    }

    /// The failure of a delegation point whose servers are all spent.
    /// `skipped_lame`: its servers known lame from before (not asked);
    /// `skipped_local`: its loopback servers (do-not-query-localhost).
    fn failure(&self, dp: &Dp, skipped_lame: &[IpAddr], skipped_local: &[IpAddr]) -> Failure {
        let zone = &dp.zone;
        if dp.servers.iter().all(|ns| ns.addrs.is_empty()) {
            // RFC 8914 §4.23: no authority could be reached, here because
            // none has an address.
            return Failure {
                ede: ede_code::NO_REACHABLE_AUTHORITY,
                why: format!(
                    "no reachable authority for {zone}: no NS name resolves to an address{}",
                    self.unresolved_text(dp)
                ),
            };
        }
        let mut lame = self.lame.clone();
        for ip in skipped_lame {
            note(&mut lame, *ip);
        }
        let counts = [
            (self.timeouts.len(), "timed out"),
            (self.errors.len(), "network errors"),
            (lame.len(), "lame (not authoritative for the zone)"),
            (
                self.dnssec_lame.len(),
                "DNSSEC-lame (answers of the signed zone without RRSIGs)",
            ),
            (
                self.broken.len(),
                "error replies (SERVFAIL, REFUSED or unusable)",
            ),
            (
                skipped_local.len(),
                "on loopback, not asked (do-not-query-localhost)",
            ),
        ];
        let mut parts: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        let only = |i: usize| counts[i].0 > 0 && counts.iter().filter(|(n, _)| *n > 0).count() == 1;
        let (ede, what) = if only(1) {
            // RFC 8914 §4.24: the exchanges themselves failed.
            (NETWORK_ERROR, "network error reaching the servers of")
        } else if only(2) || only(3) {
            (ede_code::NO_REACHABLE_AUTHORITY, "lame delegation:")
        } else {
            (
                ede_code::NO_REACHABLE_AUTHORITY,
                "no reachable authority for",
            )
        };
        if parts.is_empty() {
            parts.push("no usable server".into());
        }
        Failure {
            ede,
            why: format!(
                "{what} {zone}: {}{}",
                parts.join(", "),
                self.unresolved_text(dp)
            ),
        }
    }

    fn unresolved_text(&self, dp: &Dp) -> String {
        // Only names still without an address (an A lookup may fail where
        // the AAAA one succeeded).
        let unresolved: Vec<&(Name, &str)> = self
            .unresolved
            .iter()
            .filter(|(host, _)| {
                dp.servers
                    .iter()
                    .any(|ns| ns.host.as_ref() == Some(host) && ns.addrs.is_empty())
            })
            .collect();
        if unresolved.is_empty() {
            return String::new();
        }
        let names: Vec<String> = unresolved
            .iter()
            .take(4)
            .map(|(host, why)| format!("{host} {why}"))
            .collect();
        let more = unresolved.len().saturating_sub(4);
        format!(
            "; NS names without address: {}{}",
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    }
}

#[derive(Clone, Debug)]
struct Frame {
    purpose: Purpose,
    qname: Name,
    qtype: RecordType,
    current: Name,
    chain: Vec<Record>,
    /// The NSEC/NSEC3 records (with their RRSIGs) that came beside a
    /// wildcard-expanded alias of `chain`: the proof that its owner does
    /// not exist (RFC 4035 §5.3.4), handed over in the final authority.
    chain_proofs: Vec<Record>,
    visited: Vec<Name>,
    dp: Option<Dp>,
    failed: Vec<SocketAddr>,
    dp_sends: u32,
    dp_targets: u32,
    /// QNAME minimisation: the longest name known to exist below the
    /// delegation point; `None` when not minimising.
    qmin_known: Option<Name>,
    qmin_off: bool,
    empty_replies: u32,
    /// The parent side's glue was added to the delegation point.
    last_resort: bool,
    /// The delegation was asked of the parent again.
    parent_retry: bool,
    tally: Tally,
    result: Option<Result<Message, Failure>>,
}

impl Frame {
    fn new(purpose: Purpose, qname: Name, qtype: RecordType) -> Self {
        Self {
            purpose,
            current: qname.clone(),
            visited: vec![qname.clone()],
            qname,
            qtype,
            chain: Vec::new(),
            chain_proofs: Vec::new(),
            dp: None,
            failed: Vec::new(),
            dp_sends: 0,
            dp_targets: 0,
            qmin_known: None,
            qmin_off: false,
            empty_replies: 0,
            last_resort: false,
            parent_retry: false,
            tally: Tally::default(),
            result: None,
        }
    }
}

struct Pending {
    server: SocketAddr,
    zone: Name,
    question: Query,
    rto: u32,
    minimised: bool,
    kind: DpKind,
    rd: bool,
}

enum Advance {
    Send(SendRequest, bool),
    Push(Box<Frame>),
    Done(Result<Message, Failure>),
}

/// One resolution, as a state machine.
pub struct Iteration {
    frames: Vec<Frame>,
    budget: Budget,
    pending: Option<Pending>,
    /// Signed zones met on the way down whose DNSKEY set the validator will
    /// ask for next; the driver may fetch them beside the question
    /// ([`Iteration::take_key_prefetches`]).
    key_prefetches: Vec<Name>,
}

/// A budget ran out: RFC 8914 has no code for it, so 0 (Other, §4.1:
/// "SHOULD include an EXTRA-TEXT") with the limit named.
fn out_of_budget(why: String) -> Failure {
    Failure {
        ede: ede_code::OTHER,
        why: format!("resolution budget exhausted: {why}"),
    }
}

/// The time limit ran out. The servers of the delegation point being
/// asked when it did are named with what they did (RFC 8914 §4.23, No
/// Reachable Authority, when they timed out or failed), rather than a bare
/// "time limit" that does not say where the time went.
fn time_limit_failure(frames: &[Frame], limit_ms: u64) -> Failure {
    let spent = format!("{limit_ms} ms spent (the time limit)");
    let Some((frame, dp)) = frames
        .iter()
        .rev()
        .find_map(|f| f.dp.as_ref().map(|dp| (f, dp)))
    else {
        return out_of_budget(spent);
    };
    let t = &frame.tally;
    if t.timeouts.is_empty() && t.errors.is_empty() && t.lame.is_empty() && t.broken.is_empty() {
        return out_of_budget(format!("{spent} asking the servers of {}", dp.zone));
    }
    let f = t.failure(dp, &[], &[]);
    Failure {
        ede: f.ede,
        why: format!("{}; {spent}", f.why),
    }
}

/// The aliases loop (RFC 1034 §3.6.2: "CNAME chains should be followed"
/// and loops detected); RFC 8914 has no code for it: 0 (Other).
fn alias_loop(target: &Name, qname: &Name, qtype: RecordType) -> Failure {
    Failure {
        ede: ede_code::OTHER,
        why: format!("CNAME/DNAME loop at {target} for {qname} {qtype}"),
    }
}

fn internal(why: &str) -> Failure {
    Failure {
        ede: ede_code::OTHER,
        why: why.into(),
    }
}

/// RFC 8914 §4.24, "Network Error": what timed out or broke was the
/// network, not an authority's statement.
const NETWORK_ERROR: u16 = 23;

fn addresses_in(records: &[Record]) -> Vec<IpAddr> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::from(a.0)),
            RData::AAAA(a) => Some(IpAddr::from(a.0)),
            _ => None,
        })
        .collect()
}

/// Groups records into RRsets by (owner, type), RRSIGs with what they
/// cover.
pub(super) fn rrsets(records: &[Record]) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    for r in records {
        if r.record_type() == RecordType::RRSIG {
            continue;
        }
        match sets
            .iter_mut()
            .find(|s| s[0].name == r.name && s[0].record_type() == r.record_type())
        {
            Some(s) => s.push(r.clone()),
            None => sets.push(vec![r.clone()]),
        }
    }
    // Each set keeps the RRSIGs that cover it, so that what comes back from
    // the cache can still be validated.
    for set in &mut sets {
        let (name, rtype) = (set[0].name.clone(), set[0].record_type());
        set.extend(
            records
                .iter()
                .filter(|r| r.name == name && covered_type(r) == Some(rtype))
                .cloned(),
        );
    }
    sets
}

/// Whether an RRSIG of `set` shows that the set was expanded from a
/// wildcard: its Labels field is smaller than the owner's label count
/// (RFC 4035 §5.3.2).
fn wildcard_expanded(set: &[Record]) -> bool {
    set.iter().any(|r| match &r.data {
        RData::DNSSEC(crate::wire::DNSSECRData::RRSIG(sig)) => {
            sig.input().num_labels < r.name.num_labels()
        }
        _ => false,
    })
}

/// An NSEC or NSEC3 record, or an RRSIG over one.
fn is_denial(r: &Record) -> bool {
    let t = covered_type(r).unwrap_or(r.record_type());
    matches!(t, RecordType::NSEC | RecordType::NSEC3)
}

/// Adds the proofs of the chain's wildcard expansions to `m`'s authority,
/// each record once.
fn with_chain_proofs(m: &mut Message, proofs: Vec<Record>) {
    for r in proofs {
        if !m.authorities.contains(&r) {
            m.authorities.push(r);
        }
    }
}

fn covered_type(r: &Record) -> Option<RecordType> {
    match &r.data {
        RData::DNSSEC(crate::wire::DNSSECRData::RRSIG(sig)) => Some(sig.input().type_covered),
        _ => None,
    }
}

impl Iteration {
    /// A resolution of `qname`/`qtype` (class IN).
    pub fn new(qname: &Name, qtype: RecordType) -> Self {
        Self {
            frames: vec![Frame::new(Purpose::Main, qname.clone(), qtype)],
            budget: Budget::default(),
            pending: None,
            key_prefetches: Vec::new(),
        }
    }

    /// Priming (RFC 9609 §3): `. NS` asked of the root hints, never
    /// answered from the cache; the answer replaces the root's NS set and
    /// its servers' addresses in the cache, with their TTLs, so that a
    /// priming before the set expires keeps it live.
    pub fn priming() -> Self {
        let mut it = Self::new(&Name::root(), RecordType::NS);
        it.frames[0].purpose = Purpose::Prime;
        it.budget.primed = true;
        it.budget.fresh = true;
        it
    }

    /// Asks other servers than `avoid` where a zone has others, and
    /// nothing from the answer cache (a retry after bogus data).
    pub fn avoiding(mut self, avoid: Vec<IpAddr>) -> Self {
        self.budget.avoid = avoid;
        self
    }

    /// Marks the validator's own DS/DNSKEY questions.
    pub fn for_validation(mut self, yes: bool) -> Self {
        self.budget.for_validation = yes;
        self
    }

    /// Marks a question whose answer the engine will not validate (the
    /// client set CD, RFC 4035 §3.2.2; the name is under a negative trust
    /// anchor, RFC 7646 §2): the keys of the zones on its way down are not
    /// fetched ahead ([`Iteration::take_key_prefetches`] stays empty), as
    /// no validation will ask for them.
    pub fn unvalidated(mut self, yes: bool) -> Self {
        self.budget.unvalidated = yes;
        self
    }

    /// The signed zones whose DNSKEY sets may be fetched now, beside the
    /// question (fetch scheduling, issue 12): each was reached by a
    /// referral of the question's own chain (not an NS host's) that brought
    /// a DS set the validator can use, so validating the answer will ask
    /// for its keys. Asking them while the zone's servers answer the
    /// question saves the round trip the validator would wait for after
    /// the answer; unbound runs its validator's fetches after the answer,
    /// one after the other. Never on a retry (`avoiding`), a fresh or an
    /// [`unvalidated`](Iteration::unvalidated) question, and never for the
    /// question itself.
    pub fn take_key_prefetches(&mut self) -> Vec<Name> {
        std::mem::take(&mut self.key_prefetches)
    }

    /// Queries sent so far, sub-resolutions included.
    pub fn sends(&self) -> u32 {
        self.budget.sends
    }

    /// The next action. `random` is the only source of chance (server
    /// choice within the RTT band).
    pub fn step(&mut self, cfg: &IterConfig, shared: &mut Shared, now: Now, random: u64) -> Action {
        loop {
            if now.elapsed_ms >= cfg.limits.max_time_ms {
                let failure = time_limit_failure(&self.frames, cfg.limits.max_time_ms);
                self.frames.clear();
                return Action::Done(Err(failure));
            }
            let busy: Vec<(Name, RecordType)> = self
                .frames
                .iter()
                .map(|f| (f.current.clone(), f.qtype))
                .collect();
            let can_push = self.frames.len() < cfg.limits.max_depth;
            let Some(top) = self.frames.last_mut() else {
                return Action::Done(Err(internal("nothing to resolve")));
            };
            match advance(
                top,
                cfg,
                shared,
                &mut self.budget,
                now,
                random,
                &busy,
                can_push,
            ) {
                Advance::Send(req, minimised) => {
                    self.budget.sends += 1;
                    top.dp_sends += 1;
                    let dp = top.dp.as_ref().map_or(DpKind::Iterate, |d| d.kind);
                    self.pending = Some(Pending {
                        server: req.server,
                        zone: req.zone.clone(),
                        question: req.question.clone(),
                        rto: req.timeout_ms,
                        minimised,
                        kind: dp,
                        rd: req.flags.rd,
                    });
                    return Action::Send(req);
                }
                Advance::Push(frame) => self.frames.push(*frame),
                Advance::Done(result) => {
                    let Some(done) = self.frames.pop() else {
                        return Action::Done(result);
                    };
                    let Some(parent) = self.frames.last_mut() else {
                        return Action::Done(result);
                    };
                    sub_done(parent, done, result, cfg, &mut self.budget, shared, now);
                }
            }
        }
    }

    /// Feeds back what came of the last [`Action::Send`].
    pub fn supply(&mut self, cfg: &IterConfig, shared: &mut Shared, now: Now, response: Response) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        let ip = p.server.ip();
        let (message, rtt) = match response {
            Response::Reply { message, rtt_ms } => (message, rtt_ms),
            Response::Timeout | Response::Failed => {
                if matches!(response, Response::Timeout) {
                    shared.infra.timeout(ip, p.rto, now.unix);
                    note(&mut frame.tally.timeouts, ip);
                } else {
                    note(&mut frame.tally.errors, ip);
                }
                if p.minimised {
                    // Relaxed mode (RFC 9156 §2.3): a server that ignores
                    // a minimised query is asked the full question once
                    // before it counts as failed.
                    frame.qmin_off = true;
                    frame.qmin_known = None;
                } else {
                    frame.failed.push(p.server);
                }
                return;
            }
        };
        shared.infra.reply(ip, rtt, now.unix);
        let qname = p.question.name().clone();
        let qtype = p.question.query_type();
        let s = scrub(
            &message,
            &qname,
            qtype,
            &p.zone,
            p.kind == DpKind::Forward,
            p.rd,
        );
        if p.minimised {
            match &s.kind {
                Kind::Referral { .. } => {}
                Kind::Answer | Kind::Cname { .. }
                    if s.rcode == crate::wire::ResponseCode::NoError =>
                {
                    // The name exists (data, NODATA or an alias): one
                    // label further down next time (RFC 9156 §3).
                    frame.qmin_known = Some(qname);
                    return;
                }
                _ => {
                    // Relaxed mode: NXDOMAIN for an intermediate name (an
                    // empty non-terminal a broken server denies), lameness
                    // or errors: ask the full question (RFC 9156 §2.3). What
                    // a server says to a probe does not judge it for the
                    // real question, so it stays a candidate.
                    frame.qmin_off = true;
                    frame.qmin_known = None;
                    return;
                }
            }
        }
        if p.kind != DpKind::Forward
            && matches!(
                s.kind,
                Kind::Answer | Kind::Cname { .. } | Kind::Referral { .. }
            )
            && dnssec_expected(&p.zone, cfg, shared, now)
            && unsigned_from_zone(&s, &p.zone, &qname)
        {
            // DNSSEC-lame (unbound `DNSSEC_LAME_DETECT`): a server of a
            // signed zone answered from the zone without any RRSIG.
            // Remembered, and another server of the zone asked; when none
            // is left the reply goes on and the validator judges it.
            shared.infra.set_dnssec_lame(ip, &p.zone, now.unix);
            if has_clean_alternative(frame, cfg, shared, now, p.server) {
                tracing::debug!(server = %ip, zone = %p.zone, "DNSSEC-lame: no RRSIGs; asking another server");
                note(&mut frame.tally.dnssec_lame, ip);
                frame.failed.push(p.server);
                return;
            }
        }
        match s.kind.clone() {
            Kind::Throwaway => {
                // unbound EMPTY_NODATA_RETRY_COUNT: an empty NOERROR is
                // accepted as NODATA the second time.
                // (Empty after scrubbing: data of another type, unasked
                // for, counts as nothing.) The first time the server is
                // asked again rather than dropped.
                if s.rcode == crate::wire::ResponseCode::NoError
                    && !message.metadata.truncation
                    && s.answers.is_empty()
                    && s.authority.is_empty()
                {
                    frame.empty_replies += 1;
                    if frame.empty_replies >= 2 {
                        finish(frame, s, shared, now);
                    }
                    return;
                }
                note(&mut frame.tally.broken, ip);
                frame.failed.push(p.server);
            }
            Kind::Lame | Kind::RecLame => {
                shared.infra.set_lame(ip, &p.zone, now.unix);
                note(&mut frame.tally.lame, ip);
                frame.failed.push(p.server);
            }
            Kind::Answer => finish(frame, s, shared, now),
            Kind::Cname { target } => {
                cache_answer_sets(&s, shared, now);
                if rrsets(&s.answers).iter().any(|set| wildcard_expanded(set)) {
                    frame
                        .chain_proofs
                        .extend(s.authority.iter().filter(|r| is_denial(r)).cloned());
                }
                frame.chain.extend(s.answers);
                self.budget.restarts += 1;
                if frame.visited.contains(&target) {
                    frame.result = Some(Err(alias_loop(&target, &frame.qname, frame.qtype)));
                    return;
                }
                frame.visited.push(target.clone());
                frame.current = target;
                frame.dp = None;
                frame.tally = Tally::default();
                frame.failed.clear();
                frame.dp_sends = 0;
                frame.dp_targets = 0;
                frame.qmin_known = None;
                frame.qmin_off = false;
            }
            Kind::Referral { zone } => {
                self.budget.referrals += 1;
                let ns: Vec<Record> = s
                    .authority
                    .iter()
                    .filter(|r| r.record_type() == RecordType::NS)
                    .cloned()
                    .collect();
                shared
                    .cache
                    .store(ns.clone(), Rank::AuthorityNoAa, now.unix);
                for set in rrsets(&s.additional) {
                    shared.cache.store_parent_side(set.clone(), now.unix);
                    shared.cache.store(set, Rank::Glue, now.unix);
                }
                remember_referral_ds(&s, &zone, shared, now);
                if matches!(frame.purpose, Purpose::Main)
                    && self.budget.avoid.is_empty()
                    && !self.budget.fresh
                    && !self.budget.unvalidated
                    && !(frame.qtype == RecordType::DNSKEY && frame.current == zone)
                    && has_usable_ds(&s, &zone)
                {
                    self.key_prefetches.push(zone.clone());
                }
                let hosts: Vec<(Name, Vec<IpAddr>)> = ns
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NS(ns) => Some(ns.0.clone()),
                        _ => None,
                    })
                    .map(|host| {
                        let mut ips = shared.cache.addresses(&host, now.unix);
                        for ip in addresses_in(
                            &s.additional
                                .iter()
                                .filter(|g| g.name == host)
                                .cloned()
                                .collect::<Vec<_>>(),
                        ) {
                            if !ips.contains(&ip) {
                                ips.push(ip);
                            }
                        }
                        (host, ips)
                    })
                    .collect();
                frame.tally.for_zone(&zone);
                frame.dp = Some(Dp::from_hosts(zone.clone(), DpKind::Iterate, hosts));
                frame.last_resort = false;
                frame.failed.clear();
                frame.dp_sends = 0;
                frame.dp_targets = 0;
                frame.qmin_known = (cfg.qname_minimisation && !frame.qmin_off).then_some(zone);
            }
        }
    }
}

/// Whether a referral to `zone` brought a DS record that the validator
/// supports (algorithm and digest type; `validator::crypto`'s policy), so
/// that validating below it will need `zone`'s DNSKEY set. A DS set of
/// unsupported records only makes the zone insecure without its keys
/// (RFC 4035 §5.2).
fn has_usable_ds(s: &Scrubbed, zone: &Name) -> bool {
    let crypto = crate::validator::RingCrypto::new();
    s.authority.iter().any(|r| match &r.data {
        RData::DNSSEC(crate::wire::DNSSECRData::DS(ds)) => {
            r.name == *zone
                && crypto.supports_algorithm(u8::from(ds.algorithm()), &[])
                && crypto.supports_digest(u8::from(ds.digest_type()))
        }
        _ => false,
    })
}

/// Whether `zone`'s answers must carry RRSIGs: it is a trust anchor's
/// zone, or its referral (or a DS answer) brought a DS set.
fn dnssec_expected(zone: &Name, cfg: &IterConfig, shared: &Shared, now: Now) -> bool {
    cfg.signed_zones.iter().any(|z| z == zone) || shared.cache.has_ds(zone, now.unix)
}

/// Whether a reply is `zone`'s own data without a single RRSIG: a referral
/// from it (which has DS or an NSEC/NSEC3 proof, signed, from a signed
/// zone), data in the zone (the server would have referred us for a name
/// below a cut), or a negative answer with the zone's SOA (unbound
/// `iter_msg_from_zone`). A server that also hosts an unsigned child
/// answers for it without RRSIGs too; it is then marked, and still asked
/// when no other server is left.
fn unsigned_from_zone(s: &Scrubbed, zone: &Name, qname: &Name) -> bool {
    let signed = s
        .answers
        .iter()
        .chain(s.authority.iter())
        .any(|r| r.record_type() == RecordType::RRSIG);
    if signed {
        return false;
    }
    matches!(s.kind, Kind::Referral { .. })
        || qname == zone
        || s.answers.first().is_some_and(|r| zone.zone_of(&r.name))
        || s.authority
            .iter()
            .any(|r| r.name == *zone && matches!(r.record_type(), RecordType::SOA | RecordType::NS))
}

/// Whether the frame's delegation point has another server to ask than
/// `except`: not failed, allowed, neither lame nor DNSSEC-lame.
fn has_clean_alternative(
    frame: &Frame,
    cfg: &IterConfig,
    shared: &Shared,
    now: Now,
    except: SocketAddr,
) -> bool {
    let Some(dp) = frame.dp.as_ref() else {
        return false;
    };
    dp.servers
        .iter()
        .flat_map(|ns| ns.addrs.iter())
        .filter(|a| **a != except && !frame.failed.contains(a))
        .filter(|a| allowed(a, dp.kind, cfg))
        .any(|a| {
            !shared.infra.is_lame(a.ip(), &dp.zone, now.unix)
                && !shared.infra.is_dnssec_lame(a.ip(), &dp.zone, now.unix)
        })
}

/// A signed referral says whether the child has DS: keep its DS set with
/// the RRSIGs, or its NSEC/NSEC3 proof of no DS, as the answer to the
/// child's DS question, which the validator asks next (unbound caches the
/// referral's DS the same way).
fn remember_referral_ds(s: &Scrubbed, zone: &Name, shared: &mut Shared, now: Now) {
    let is_sig_of = |r: &Record, t: RecordType| covered_type(r) == Some(t);
    let ds: Vec<Record> = s
        .authority
        .iter()
        .filter(|r| {
            r.name == *zone && (r.record_type() == RecordType::DS || is_sig_of(r, RecordType::DS))
        })
        .cloned()
        .collect();
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(zone.clone(), RecordType::DS));
    if ds.iter().any(|r| r.record_type() == RecordType::DS) {
        m.answers = ds;
    } else {
        m.authorities = s
            .authority
            .iter()
            .filter(|r| {
                matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)
                    || is_sig_of(r, RecordType::NSEC)
                    || is_sig_of(r, RecordType::NSEC3)
            })
            .cloned()
            .collect();
        if m.authorities.is_empty() {
            return;
        }
        // Without the parent's SOA this is no answer for a client; only the
        // validator's own DS question may take it.
        let ttl = m.authorities.iter().map(|r| r.ttl).min().unwrap_or(0);
        shared.cache.store_referral_proof(zone, m, ttl, now.unix);
        return;
    }
    let ttl = m
        .answers
        .iter()
        .chain(m.authorities.iter())
        .map(|r| r.ttl)
        .min()
        .unwrap_or(0);
    shared
        .cache
        .store_answer(zone, RecordType::DS, m, ttl, now.unix);
}

/// Caches the RRsets of an answer (rank by AA) and the whole answer.
fn cache_answer_sets(s: &Scrubbed, shared: &mut Shared, now: Now) {
    let rank = if s.aa {
        Rank::AnswerAa
    } else {
        Rank::AnswerNoAa
    };
    let dnames: Vec<Name> = s
        .answers
        .iter()
        .filter(|r| r.record_type() == RecordType::DNAME)
        .map(|r| r.name.clone())
        .collect();
    for set in rrsets(&s.answers) {
        // A CNAME synthesised from a DNAME (RFC 6672 §3.1) is unsigned: it
        // is only good beside its DNAME, so it is not cached alone.
        let synthesised = set[0].record_type() == RecordType::CNAME
            && dnames
                .iter()
                .any(|d| *d != set[0].name && d.zone_of(&set[0].name));
        if !synthesised {
            shared.cache.store(set, rank, now.unix);
        }
    }
}

/// The RRset `name`/`rtype` an earlier authoritative answer brought (the
/// target of a CNAME chain, an NS host's address), with its RRSIGs: it
/// answers the question as it is, as unbound's rrset cache does, and the
/// engine validates it like any answer (RFC 4035 §5.3), so a set that does
/// not validate is asked again, fresh. Only answer-section data of an
/// authoritative reply or validated data (RFC 2181 §5.4.1: not glue, not
/// a referral's), and never a set expanded from a wildcard: its proof that
/// the name does not exist (RFC 4035 §5.3.4) is not kept with it.
fn authoritative_rrset(
    shared: &Shared,
    name: &Name,
    rtype: RecordType,
    now: Now,
) -> Option<Vec<Record>> {
    if matches!(rtype, RecordType::ANY | RecordType::RRSIG) {
        return None;
    }
    if shared.cache.rank(name, rtype, now.unix)? < Rank::AnswerAa {
        return None;
    }
    let set = shared.cache.get(name, rtype, now.unix)?;
    (!wildcard_expanded(&set)).then_some(set)
}

/// The start of the frame's answer: the question, RA, and the CNAME chain
/// followed so far (taken from the frame) in the answer section.
fn answer_to(frame: &mut Frame) -> Message {
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.metadata.recursion_available = true;
    m.add_query(
        Query::query(frame.qname.clone(), frame.qtype)
            .set_query_class(DNSClass::IN)
            .clone(),
    );
    m.answers = std::mem::take(&mut frame.chain);
    m
}

/// The frame's answer is in: remember it and end the frame.
fn finish(frame: &mut Frame, s: Scrubbed, shared: &mut Shared, now: Now) {
    cache_answer_sets(&s, shared, now);
    if frame.purpose == Purpose::Prime {
        // RFC 9609 §3: the priming answer is the root's NS set and its
        // servers' addresses, from the servers the hints name; it renews
        // what the cache holds (a lower-ranked rewrite of an NS set cannot
        // extend its TTL, but this is the root's own answer).
        let rank = if s.aa {
            Rank::AnswerAa
        } else {
            Rank::AnswerNoAa
        };
        for set in rrsets(&s.answers) {
            if set[0].record_type() == RecordType::NS && set[0].name.is_root() {
                shared.cache.renew(set, rank, now.unix);
            }
        }
        for set in rrsets(&s.additional) {
            shared.cache.renew(set, Rank::Glue, now.unix);
        }
    }
    let mut m = answer_to(frame);
    m.metadata.response_code = s.rcode;
    m.answers.extend(s.answers);
    m.authorities = s.authority;
    with_chain_proofs(&mut m, std::mem::take(&mut frame.chain_proofs));
    m.additionals = s.additional;
    let ttl = crate::resolve::cacheable_ttl(s.rcode, &m.answers, &m.authorities);
    shared
        .cache
        .store_answer(&frame.qname, frame.qtype, m.clone(), ttl, now.unix);
    frame.result = Some(Ok(m));
}

/// The delegation point to start from for `name`/`qtype`: a configured
/// forward or stub zone, the closest cached delegation, or the hints. DS is
/// looked up one label up: it lives in the parent (RFC 4035 §3.1.4.1).
fn find_dp(name: &Name, qtype: RecordType, cfg: &IterConfig, shared: &Shared, now: Now) -> Dp {
    let lookup = if qtype == RecordType::DS && !name.is_root() {
        name.base_name()
    } else {
        name.clone()
    };
    let configured = cfg
        .forward_zones
        .iter()
        .map(|z| (z, DpKind::Forward))
        .chain(cfg.stub_zones.iter().map(|z| (z, DpKind::Stub)))
        .filter(|(z, _)| z.zone.zone_of(&lookup) && !z.servers.is_empty())
        .max_by_key(|(z, _)| z.zone.num_labels());
    // A cached delegation whose servers all lie inside it and have no
    // address left is useless: ask its parent again for the glue (unbound
    // `iter_dp_is_useless`).
    let mut cached = shared.cache.closest_delegation(&lookup, now.unix);
    while let Some(c) = cached.as_ref().filter(|c| !c.zone.is_root()).filter(|c| {
        c.servers
            .iter()
            .all(|(host, a)| a.is_empty() && c.zone.zone_of(host))
    }) {
        cached = shared
            .cache
            .closest_delegation(&c.zone.base_name(), now.unix);
    }
    if let Some((z, kind)) = configured {
        // Below a stub zone the referrals it gave are followed; a forward
        // zone's servers answer everything under it.
        let deeper = cached
            .as_ref()
            .is_some_and(|c| c.zone.num_labels() > z.zone.num_labels());
        if kind == DpKind::Forward || !deeper {
            return Dp::from_addrs(z, kind);
        }
    }
    match cached {
        // A root NS set without any address is no better than the hints.
        Some(c) if !(c.zone.is_root() && c.servers.iter().all(|(_, a)| a.is_empty())) => {
            Dp::from_hosts(c.zone, DpKind::Iterate, c.servers)
        }
        _ => Dp::from_hosts(Name::root(), DpKind::Hints, cfg.hints.servers.clone()),
    }
}

fn allowed(addr: &SocketAddr, kind: DpKind, cfg: &IterConfig) -> bool {
    let ip = addr.ip();
    if (ip.is_ipv4() && !cfg.ipv4) || (ip.is_ipv6() && !cfg.ipv6) {
        return false;
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    // unbound do-not-query-localhost: loopback addresses learned from the
    // network are never asked (a forged glue must not aim us at ourselves);
    // configured ones (hints, stub and forward zones) are.
    let configured = || {
        cfg.hints.servers.iter().any(|(_, a)| a.contains(&ip))
            || cfg
                .stub_zones
                .iter()
                .chain(cfg.forward_zones.iter())
                .any(|z| z.servers.contains(addr))
    };
    !ip.is_loopback() || kind != DpKind::Iterate || cfg.query_localhost || configured()
}

/// The name to ask while minimising (RFC 9156 §3): one label below the
/// longest name known to exist; `None` asks the full question. The probes
/// ask QTYPE NS (RFC 9156 §2.1 allows NS or A; NS gets a referral at a cut
/// and NODATA elsewhere, Knot's choice; unbound uses A).
fn minimised(frame: &Frame) -> Option<Name> {
    let known = frame.qmin_known.as_ref()?;
    let have = known.num_labels();
    let want = frame.current.num_labels();
    // The full question once at most one label is left.
    if want <= have + 1 || !known.zone_of(&frame.current) {
        return None;
    }
    let mut n = frame.current.clone();
    while n.num_labels() > have + 1 {
        n = n.base_name();
    }
    Some(n)
}

#[allow(clippy::too_many_arguments)]
fn advance(
    frame: &mut Frame,
    cfg: &IterConfig,
    shared: &mut Shared,
    budget: &mut Budget,
    now: Now,
    random: u64,
    busy: &[(Name, RecordType)],
    can_push: bool,
) -> Advance {
    if let Some(result) = frame.result.take() {
        return Advance::Done(result);
    }
    let limits = &cfg.limits;
    if budget.restarts > limits.max_restarts {
        return Advance::Done(Err(out_of_budget(format!(
            "more than {} CNAME/DNAME restarts (max-query-restarts) for {} {}",
            limits.max_restarts, frame.qname, frame.qtype
        ))));
    }
    if budget.referrals > limits.max_referrals {
        return Advance::Done(Err(out_of_budget(format!(
            "more than {} referrals (MAX_REFERRAL_COUNT) for {} {}",
            limits.max_referrals, frame.qname, frame.qtype
        ))));
    }
    if frame.dp.is_none() {
        // The cache first: an answer to this very question.
        let cached = match budget.avoid.is_empty() && !budget.fresh {
            true => shared.cache.answer(&frame.current, frame.qtype, now.unix),
            false => None,
        };
        let cached = cached.or_else(|| {
            (budget.for_validation && budget.avoid.is_empty() && frame.qtype == RecordType::DS)
                .then(|| shared.cache.referral_proof(&frame.current, now.unix))
                .flatten()
        });
        if let Some(m) = cached {
            let mut out = m;
            if frame.current != frame.qname {
                let mut answers = std::mem::take(&mut frame.chain);
                answers.extend(out.answers);
                out.answers = answers;
                with_chain_proofs(&mut out, std::mem::take(&mut frame.chain_proofs));
                out.queries = vec![Query::query(frame.qname.clone(), frame.qtype)];
            }
            return Advance::Done(Ok(out));
        }
        if budget.avoid.is_empty()
            && !budget.fresh
            && let Some(set) = authoritative_rrset(shared, &frame.current, frame.qtype, now)
        {
            let mut m = answer_to(frame);
            m.answers.extend(set);
            with_chain_proofs(&mut m, std::mem::take(&mut frame.chain_proofs));
            return Advance::Done(Ok(m));
        }
        // A cached alias restarts at its target (unbound: a cached CNAME
        // in INIT_REQUEST); the chain is part of the answer.
        if !matches!(frame.qtype, RecordType::CNAME | RecordType::ANY)
            && budget.avoid.is_empty()
            && let Some(cname) = shared
                .cache
                .get(&frame.current, RecordType::CNAME, now.unix)
            // A CNAME expanded from a wildcard is valid only beside the
            // proof that its owner does not exist (RFC 4035 §5.3.4), which
            // the cached set does not carry: ask the question instead.
            && !wildcard_expanded(&cname)
        {
            let target = cname.iter().find_map(|r| match &r.data {
                RData::CNAME(c) => Some(c.0.clone()),
                _ => None,
            });
            if let Some(target) = target {
                budget.restarts += 1;
                if frame.visited.contains(&target) {
                    return Advance::Done(Err(alias_loop(&target, &frame.qname, frame.qtype)));
                }
                frame.chain.extend(cname);
                frame.visited.push(target.clone());
                frame.current = target;
                return advance(frame, cfg, shared, budget, now, random, busy, can_push);
            }
        }
        let dp = find_dp(&frame.current, frame.qtype, cfg, shared, now);
        if dp.kind == DpKind::Hints
            && frame.purpose != Purpose::Prime
            && !budget.primed
            && !budget.prime_failed
            && can_push
        {
            // Lazy priming (RFC 9609 §3): ask the hints for the root's NS
            // set before anything else.
            budget.primed = true;
            return Advance::Push(Box::new(Frame::new(
                Purpose::Prime,
                Name::root(),
                RecordType::NS,
            )));
        }
        frame.qmin_known = (cfg.qname_minimisation
            && !frame.qmin_off
            && matches!(dp.kind, DpKind::Iterate | DpKind::Hints | DpKind::Stub))
        .then(|| dp.zone.clone());
        frame.failed.clear();
        frame.tally.for_zone(&dp.zone);
        frame.dp_sends = 0;
        frame.dp_targets = 0;
        frame.last_resort = false;
        frame.dp = Some(dp);
    }
    let Some(dp) = frame.dp.as_mut() else {
        return Advance::Done(Err(internal("no delegation")));
    };
    if budget.sends >= limits.max_sends {
        return Advance::Done(Err(out_of_budget(format!(
            "{} queries sent (max-global-quota) for {} {} without an answer",
            budget.sends, frame.qname, frame.qtype
        ))));
    }
    if frame.dp_sends >= limits.max_dp_sends {
        let spent = frame.tally.failure(dp, &[], &[]);
        return Advance::Done(Err(out_of_budget(format!(
            "{} queries to the servers of {} (max-sent-count); {}",
            frame.dp_sends, dp.zone, spent.why
        ))));
    }
    let candidates: Vec<IpAddr> = dp
        .servers
        .iter()
        .flat_map(|ns| ns.addrs.iter())
        .filter(|a| !frame.failed.contains(a))
        .filter(|a| allowed(a, dp.kind, cfg))
        .filter(|a| dp.kind != DpKind::Iterate || !shared.infra.is_lame(a.ip(), &dp.zone, now.unix))
        .map(SocketAddr::ip)
        .collect();
    let preferred: Vec<IpAddr> = candidates
        .iter()
        .copied()
        .filter(|ip| !budget.avoid.contains(ip))
        .collect();
    // DNSSEC-lame servers only when no other is left (unbound adds a
    // penalty of 2 × 120000 ms to their RTT).
    let clean: Vec<IpAddr> = preferred
        .iter()
        .copied()
        .filter(|ip| !shared.infra.is_dnssec_lame(*ip, &dp.zone, now.unix))
        .collect();
    // Only avoided servers have addresses: resolve the others first.
    let lookup_first = preferred.is_empty()
        && !candidates.is_empty()
        && dp.servers.iter().any(|ns| {
            ns.addrs.is_empty()
                && ns.host.is_some()
                && ((!ns.asked_a && cfg.ipv4) || (!ns.asked_aaaa && cfg.ipv6))
        });
    let candidates = if lookup_first {
        Vec::new()
    } else if !clean.is_empty() {
        clean
    } else if preferred.is_empty() {
        candidates
    } else {
        preferred
    };
    let Some(ip) = shared.infra.select(&candidates, now.unix, random) else {
        // No address left to try: find more (glueless delegation).
        if budget.targets < limits.max_targets
            && frame.dp_targets < limits.max_dp_targets
            && budget.target_nx <= limits.max_target_nx
            && can_push
        {
            let next = dp
                .servers
                .iter_mut()
                .filter(|ns| ns.addrs.is_empty())
                .find_map(|ns| {
                    let host = ns.host.clone()?;
                    let free = |t| !busy.contains(&(host.clone(), t));
                    if !ns.asked_a && cfg.ipv4 && free(RecordType::A) {
                        ns.asked_a = true;
                        Some((host, RecordType::A))
                    } else if !ns.asked_aaaa && cfg.ipv6 && free(RecordType::AAAA) {
                        ns.asked_aaaa = true;
                        Some((host, RecordType::AAAA))
                    } else {
                        None
                    }
                });
            if let Some((host, t)) = next {
                budget.targets += 1;
                frame.dp_targets += 1;
                return Advance::Push(Box::new(Frame::new(Purpose::Target(host.clone()), host, t)));
            }
        }
        // Last resort (unbound processLastResort): the parent side's glue
        // for these NS names, where the child's addresses failed.
        if !frame.last_resort {
            frame.last_resort = true;
            let mut added = false;
            for ns in &mut dp.servers {
                let Some(host) = &ns.host else { continue };
                for ip in shared.cache.parent_side_addresses(host, now.unix) {
                    let a = SocketAddr::new(ip, 53);
                    if !ns.addrs.contains(&a) && !frame.failed.contains(&a) {
                        ns.addrs.push(a);
                        added = true;
                    }
                }
            }
            if added {
                return advance(frame, cfg, shared, budget, now, random, busy, can_push);
            }
        }
        // Then the parent once more, for a fresh referral and glue (unbound
        // re-fetches the parent side in processLastResort).
        if !frame.parent_retry && dp.kind == DpKind::Iterate && !dp.zone.is_root() {
            frame.parent_retry = true;
            let parent = dp.zone.base_name();
            let up = match shared.cache.closest_delegation(&parent, now.unix) {
                Some(c) => Dp::from_hosts(c.zone, DpKind::Iterate, c.servers),
                None => Dp::from_hosts(Name::root(), DpKind::Hints, cfg.hints.servers.clone()),
            };
            frame.dp = Some(up);
            frame.failed.clear();
            frame.dp_sends = 0;
            frame.dp_targets = 0;
            frame.last_resort = false;
            frame.qmin_known = None;
            return advance(frame, cfg, shared, budget, now, random, busy, can_push);
        }
        let addrs = || dp.servers.iter().flat_map(|ns| ns.addrs.iter());
        let skipped_local: Vec<IpAddr> = addrs()
            .filter(|a| !allowed(a, dp.kind, cfg))
            .map(SocketAddr::ip)
            .collect();
        let skipped_lame: Vec<IpAddr> = addrs()
            .filter(|a| dp.kind == DpKind::Iterate && allowed(a, dp.kind, cfg))
            .filter(|a| shared.infra.is_lame(a.ip(), &dp.zone, now.unix))
            .map(SocketAddr::ip)
            .collect();
        return Advance::Done(Err(frame.tally.failure(dp, &skipped_lame, &skipped_local)));
    };
    let Some(server) = dp
        .servers
        .iter()
        .flat_map(|ns| ns.addrs.iter())
        .find(|a| a.ip() == ip && !frame.failed.contains(a))
        .copied()
    else {
        return Advance::Done(Err(internal("server vanished")));
    };
    let kind = dp.kind;
    let zone = dp.zone.clone();
    let (name, qtype, is_min) = match (kind, minimised(frame)) {
        (DpKind::Forward, _) | (_, None) => (frame.current.clone(), frame.qtype, false),
        (_, Some(n)) => (n, RecordType::NS, true),
    };
    let flags = if kind == DpKind::Forward {
        QueryFlags::FORWARD
    } else {
        QueryFlags::ITERATE
    };
    let rto = shared.infra.rto(ip, now.unix);
    Advance::Send(
        SendRequest {
            server,
            zone,
            question: Query::query(name, qtype),
            flags,
            // Never wait less than 200 ms nor more than 3 s for one reply
            // (unbound waits the RTO, 50 ms .. 120 s), nor past the time
            // limit: the iteration then ends with its own reason.
            timeout_ms: rto
                .clamp(200, 3_000)
                .min(
                    u32::try_from(limits.max_time_ms.saturating_sub(now.elapsed_ms))
                        .unwrap_or(u32::MAX),
                )
                .max(1),
        },
        is_min,
    )
}

/// A sub-resolution ended: give its result to the frame that wanted it.
fn sub_done(
    parent: &mut Frame,
    done: Frame,
    result: Result<Message, Failure>,
    cfg: &IterConfig,
    budget: &mut Budget,
    shared: &mut Shared,
    now: Now,
) {
    match done.purpose {
        Purpose::Main => {}
        Purpose::Prime => match result {
            Ok(m)
                if m.answers
                    .iter()
                    .any(|r| r.record_type() == RecordType::NS && r.name.is_root()) =>
            {
                // The root's NS set and its addresses; the parent starts
                // over from the cache.
                for set in rrsets(&m.additionals) {
                    shared.cache.store(set, Rank::Glue, now.unix);
                }
                parent.dp = None;
            }
            _ => {
                // RFC 9609 §3.3: without a priming answer the hints are
                // still usable.
                budget.prime_failed = true;
                parent.dp = None;
            }
        },
        Purpose::Target(host) => {
            let mut ips = match &result {
                Ok(m) => addresses_in(&m.answers),
                Err(_) => Vec::new(),
            };
            // The parent-side glue met on the way is the last resort when
            // the child's own addresses fail (unbound processLastResort).
            for ns in done.dp.iter().flat_map(|d| d.servers.iter()) {
                if ns.host.as_ref() == Some(&host) {
                    for a in &ns.addrs {
                        if !ips.contains(&a.ip()) {
                            ips.push(a.ip());
                        }
                    }
                }
            }
            if ips.is_empty() {
                // NXNS (CVE-2020-12662): lookups that bring nothing count.
                budget.target_nx += 1;
                let why = match &result {
                    Ok(m) if m.metadata.response_code == crate::wire::ResponseCode::NXDomain => {
                        "(NXDOMAIN)"
                    }
                    Ok(_) => "(no address record)",
                    Err(_) => "(its lookup failed)",
                };
                if !parent.tally.unresolved.iter().any(|(h, _)| *h == host) {
                    parent.tally.unresolved.push((host.clone(), why));
                }
            }
            if let Some(dp) = parent.dp.as_mut() {
                for ns in dp
                    .servers
                    .iter_mut()
                    .filter(|ns| ns.host.as_ref() == Some(&host))
                {
                    for ip in &ips {
                        let a = SocketAddr::new(*ip, 53);
                        if !ns.addrs.contains(&a) {
                            ns.addrs.push(a);
                        }
                    }
                }
            }
            let _ = cfg;
        }
    }
}
