//! The sans-I/O validation driver.
//!
//! A [`Session`] validates one response. It is driven by a short loop:
//!
//! ```text
//! let mut session = Session::new(&qname, qtype, &response, &anchors, now, limits, &crypto);
//! loop {
//!     match session.step() {
//!         Step::Fetch(request) => session.supply(&request, fetch(&request).await),
//!         Step::Done(validated) => break validated,
//!     }
//! }
//! ```
//!
//! # How it works
//! Each call to [`Session::step`] evaluates the response from the start,
//! against what has been fetched so far. Where the evaluation needs a DS or
//! DNSKEY set it has not got, it stops and asks for it. Every costly result —
//! an authenticated key set, a DS step of the walk down from an anchor, a
//! verified RRset — is memoised, so a re-evaluation repeats no cryptography
//! and the whole session costs what a hand-written state machine would.
//!
//! The chain of trust is walked label by label from the closest trust anchor
//! towards the zone that signed the data (RFC 4035 §5): at each label a DS
//! query shows a secure delegation (then the child's DNSKEY set is fetched
//! and authenticated), an insecure one (NSEC/NSEC3 proof of no DS), or no
//! zone cut at all.

// foldhash: short-lived maps of one message or session (see the workspace).
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

use super::anchors::Anchors;
use super::budget::{Budget, Limits};
use super::crypto::Crypto;
use super::denial::proof::DenialResult;
use super::keys::{self, KeyVerdict, SecureEntryPoints, ZoneKeys};
use super::negative::{self, DsAbsence};
use super::outcome::{BogusReason, InsecureReason, Outcome, RrsetId};
use super::rrset::{self, Rrset};
use super::signature;
use super::trace::{DsInfo, KeyInfo, TraceEvent};
use crate::wire::{Message, Name, RData, Record, RecordType, ResponseCode};

/// A DS or DNSKEY set the session needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FetchRequest {
    /// The owner name to query.
    pub name: Name,
    /// DS or DNSKEY.
    pub rtype: RecordType,
}

/// What the engine got for a [`FetchRequest`].
#[derive(Clone, Debug)]
pub enum Fetched {
    /// The response (any rcode).
    Response(Message),
    /// No usable response: timeout, SERVFAIL, malformed.
    Failed(String),
}

/// What the session wants next.
#[derive(Debug)]
pub enum Step {
    /// Fetch this and [`Session::supply`] the result.
    Fetch(FetchRequest),
    /// Validation is finished.
    Done(Validated),
}

/// The result of validating a response.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The verdict.
    pub outcome: Outcome,
    /// The longest time the validated data may be cached: the smallest TTL
    /// of the verified RRsets, capped by signature expiry (RFC 4035 §5.3.3).
    /// `None` when nothing was verified.
    pub ttl: Option<u32>,
    /// The answer section to give the client: the records that belong to the
    /// answer (the CNAME/DNAME chain and the data), with their RRSIGs.
    pub answers: Vec<Record>,
    /// The authority section to give the client.
    pub authorities: Vec<Record>,
    /// The additional section to give the client. For secure answers only
    /// records that validated secure are kept.
    pub additionals: Vec<Record>,
}

/// The keys of a zone, or why there are none. Only the validator builds
/// these (a caller that could would declare a zone insecure or its keys
/// trusted): sessions hand them to the engine's key store and get them back
/// through [`KeyCache`], both inside this crate.
#[derive(Clone, Debug)]
pub(crate) enum KeyLookup {
    /// The zone's DNSKEY set, authenticated.
    Keys(Arc<ZoneKeys>),
    /// The zone is provably insecure.
    Insecure(InsecureReason),
    /// The chain of trust to the zone is broken.
    Bogus(BogusReason),
    /// No trust anchor covers the zone.
    NoAnchor,
}

impl KeyLookup {
    /// Bytes this lookup holds, for the key store's byte bound. A reason
    /// holds a few names and texts, all of which its text spells out; four
    /// times that length and 256 bytes of allocator slack bound them.
    pub(crate) fn bytes(&self) -> usize {
        size_of::<Self>()
            + match self {
                Self::Keys(keys) => 2 * size_of::<usize>() + keys.bytes(),
                Self::Insecure(r) => 4 * r.text_len_bound() + 256,
                Self::Bogus(r) => 4 * r.to_string().len() + 256,
                Self::NoAnchor => 0,
            }
    }
}

/// The engine's cache of key lookups, consulted before walking the chain.
pub(crate) trait KeyCache: Sync {
    /// A cached lookup for exactly `zone` (lower case), if still fresh.
    fn get(&self, zone: &Name) -> Option<KeyLookup>;
}

/// Key lookups a session learned, opaque: only a session makes them, so
/// seeding another session with them declares nothing that was not proven.
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct LearnedKeys(Vec<(Name, KeyLookup)>);

#[cfg(any(test, feature = "test-util"))]
impl LearnedKeys {
    /// Nothing learned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where validation must stop to wait for data.
struct Need(FetchRequest);

/// The status of one piece of the response.
#[derive(Clone, Debug)]
enum Status {
    Secure { ttl: u32 },
    Insecure(InsecureReason),
    Indeterminate,
    Bogus(BogusReason),
}

impl Status {
    fn from_lookup_failure(lookup: &KeyLookup) -> Option<Self> {
        match lookup {
            KeyLookup::Keys(_) => None,
            KeyLookup::Insecure(r) => Some(Self::Insecure(r.clone())),
            KeyLookup::Bogus(r) => Some(Self::Bogus(r.clone())),
            KeyLookup::NoAnchor => Some(Self::Indeterminate),
        }
    }

    fn from_denial(denial: DenialResult) -> Self {
        match denial {
            DenialResult::Proven => Self::Secure { ttl: u32::MAX },
            // RFC 5155 §9.2: no AD when the next closer name is covered by
            // an Opt-Out NSEC3.
            DenialResult::OptOut { next_closer, .. } => {
                Self::Insecure(InsecureReason::UnsignedDelegation { zone: next_closer })
            }
            DenialResult::Insecure(r) => Self::Insecure(r),
            DenialResult::Bogus(r) => Self::Bogus(r),
        }
    }

    /// Combine two statuses: bogus beats indeterminate beats insecure beats
    /// secure.
    fn and(self, other: Self) -> Self {
        use Status::*;
        match (self, other) {
            (Bogus(r), _) | (_, Bogus(r)) => Bogus(r),
            (Indeterminate, _) | (_, Indeterminate) => Indeterminate,
            (Insecure(r), _) | (_, Insecure(r)) => Insecure(r),
            (Secure { ttl: a }, Secure { ttl: b }) => Secure { ttl: a.min(b) },
        }
    }
}

/// What one step of the walk down from an anchor found at a name.
#[derive(Clone, Debug)]
enum DsStep {
    /// A secure delegation: these DS records.
    Delegation(SecureEntryPoints),
    /// The name is not a zone cut; the same keys continue.
    NotACut,
    /// The name does not exist; the zone above is the closest.
    NameError,
    /// Provably unsigned below here.
    Insecure(InsecureReason),
    /// Broken.
    Bogus(BogusReason),
}

/// The memo key of a verified RRset: (section, index).
type RrsetKey = (u8, usize);

const ANSWER: u8 = 0;
const AUTHORITY: u8 = 1;
const ADDITIONAL: u8 = 2;

/// One validation of one response.
pub struct Session<'a> {
    qname: Name,
    qtype: RecordType,
    rcode: ResponseCode,
    /// Shared, so that checking one borrows it while the session changes.
    sections: [Vec<Arc<Rrset>>; 3],
    anchors: &'a Anchors,
    crypto: &'a dyn Crypto,
    cache: Option<&'a dyn KeyCache>,
    now: u64,
    budget: Budget,
    /// Supplied and not yet judged: each fetched message is taken out when
    /// it is judged (the verdict is memoised in `keys` or `ds_steps`), so
    /// a session holds at most the one it is working on, not every
    /// message of its walk.
    fetched: HashMap<FetchRequest, Fetched>,
    /// Every request ever supplied.
    answered: HashSet<FetchRequest>,
    keys: HashMap<Name, KeyLookup>,
    ds_steps: HashMap<Name, DsStep>,
    verified: HashMap<RrsetKey, Status>,
    wildcards: HashMap<RrsetKey, Name>,
    learned: Vec<(Name, KeyLookup)>,
    /// The TTL of the DS denial that proved a zone insecure (the smallest
    /// TTL of its NSEC/NSEC3 records, their RRSIGs and the SOA minimum).
    insecure_ttls: HashMap<Name, u32>,
    trace: Option<Vec<TraceEvent>>,
    fetches: u32,
}

impl<'a> Session<'a> {
    /// A session validating `response` to the question `qname`/`qtype` at
    /// time `now` (seconds since the epoch).
    pub fn new(
        qname: &Name,
        qtype: RecordType,
        response: &Message,
        anchors: &'a Anchors,
        now: u64,
        limits: Limits,
        crypto: &'a dyn Crypto,
    ) -> Self {
        let shared = |sets: Vec<Rrset>| sets.into_iter().map(Arc::new).collect::<Vec<_>>();
        let sections = [
            shared(rrset::group(&response.answers)),
            shared(rrset::group(&response.authorities)),
            shared(rrset::group(
                &response
                    .additionals
                    .iter()
                    .filter(|r| r.record_type() != RecordType::OPT)
                    .cloned()
                    .collect::<Vec<_>>(),
            )),
        ];
        Self {
            qname: qname.clone(),
            qtype,
            rcode: response.metadata.response_code,
            sections,
            anchors,
            crypto,
            cache: None,
            now,
            budget: Budget::new(limits),
            fetched: HashMap::new(),
            answered: HashSet::new(),
            keys: HashMap::new(),
            ds_steps: HashMap::new(),
            verified: HashMap::new(),
            wildcards: HashMap::new(),
            learned: Vec::new(),
            insecure_ttls: HashMap::new(),
            trace: None,
            fetches: 0,
        }
    }

    /// Consult `cache` for key lookups before walking the chain of trust.
    pub(crate) fn with_key_cache(mut self, cache: &'a dyn KeyCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Record the chain of trust as it is walked ([`Session::trace`]).
    pub fn with_trace(mut self) -> Self {
        self.trace = Some(Vec::new());
        self
    }

    /// The recorded chain of trust (empty unless [`Session::with_trace`]).
    pub fn trace(&self) -> &[TraceEvent] {
        self.trace.as_deref().unwrap_or(&[])
    }

    fn note(&mut self, event: impl FnOnce() -> TraceEvent) {
        if let Some(trace) = &mut self.trace {
            trace.push(event());
        }
    }

    /// Seed the session with the key lookups an earlier session learned
    /// (as the engine's key store does), for benchmarks of warm sessions.
    #[cfg(any(test, feature = "test-util"))]
    #[doc(hidden)]
    pub fn seed(&mut self, learned: &LearnedKeys) {
        for (zone, lookup) in &learned.0 {
            self.keys.insert(zone.to_lowercase(), lookup.clone());
        }
    }

    /// Supply what was fetched for `request`.
    pub fn supply(&mut self, request: &FetchRequest, fetched: Fetched) {
        self.answered.insert(request.clone());
        self.fetched.insert(request.clone(), fetched);
    }

    /// Key lookups this session established, for the engine's key cache.
    pub(crate) fn learned(&self) -> &[(Name, KeyLookup)] {
        &self.learned
    }

    /// How long the proof that `zone` is an insecure delegation may be
    /// believed: the TTL of the DS denial that proved it (RFC 4035 §4.5
    /// lets a resolver cache what it validated for the data's TTL).
    pub(crate) fn insecure_ttl(&self, zone: &Name) -> Option<u32> {
        self.insecure_ttls.get(zone).copied()
    }

    /// What this session learned, opaque, to [`Session::seed`] another.
    #[cfg(any(test, feature = "test-util"))]
    #[doc(hidden)]
    pub fn learned_keys(&self) -> LearnedKeys {
        LearnedKeys(self.learned.clone())
    }

    /// The budget spent so far.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Advance: either a fetch is needed or validation is done.
    pub fn step(&mut self) -> Step {
        match self.evaluate() {
            Ok(validated) => Step::Done(validated),
            Err(Need(request)) => {
                // A request already answered but still needed would loop:
                // the memo makes that impossible, but guard anyway.
                if self.answered.contains(&request) {
                    return Step::Done(self.finish_with(
                        Status::Bogus(BogusReason::Malformed {
                            detail: format!(
                                "validation asked twice for {} {}",
                                request.name, request.rtype
                            ),
                        }),
                        Vec::new(),
                    ));
                }
                self.fetches += 1;
                if self.fetches > self.budget.limits().max_fetches {
                    return Step::Done(self.finish_with(
                        Status::Bogus(BogusReason::BudgetExceeded {
                            limit: "max_fetches",
                            detail: format!(
                                "validating {} {} needed more than {} DS/DNSKEY fetches",
                                self.qname,
                                self.qtype,
                                self.budget.limits().max_fetches
                            ),
                        }),
                        Vec::new(),
                    ));
                }
                Step::Fetch(request)
            }
        }
    }

    // --- evaluation ----------------------------------------------------------

    fn evaluate(&mut self) -> Result<Validated, Need> {
        if self.qtype == RecordType::RRSIG {
            // RRSIGs are not signed themselves (RFC 4035 §2.2): an answer to
            // a query for them is passed on unvalidated and never secure.
            let all = (0..self.sections[0].len()).collect();
            return Ok(self.finish_with(Status::Indeterminate, all));
        }
        let chain = self.follow_chain()?;
        let mut status = chain.status;
        let mut keep_answer = chain.rrsets.clone();

        match chain.end {
            ChainEnd::Data => {}
            ChainEnd::Loop => {
                // A CNAME loop or a chain past the limit leads nowhere: the
                // answer is unusable whatever its signatures say.
                status = status.and(Status::Bogus(BogusReason::Malformed {
                    detail: format!("CNAME/DNAME chain from {} loops or is too long", self.qname),
                }));
            }
            ChainEnd::Negative(ref name) => {
                let nxdomain = self.rcode == ResponseCode::NXDomain;
                status = status.and(self.check_negative(name, nxdomain)?);
            }
        }

        // Wildcard expansions in the chain need proof that the name itself
        // does not exist (RFC 4035 §5.3.4, RFC 5155 §8.8).
        for (owner, source) in chain.wildcards.clone() {
            status = status.and(self.check_wildcard(&owner, &source)?);
        }

        if let Status::Bogus(_) = status {
            keep_answer.clear();
        }
        if let Status::Secure { .. } = status {
            // Other signed RRsets of the authority section (the zone's NS)
            // are passed on when they validate; they do not change the
            // verdict, and unvalidated ones are dropped (`finish_with`).
            for i in 0..self.sections[AUTHORITY as usize].len() {
                if !self.sections[AUTHORITY as usize][i].rrsigs.is_empty() {
                    self.check_rrset(AUTHORITY, i)?;
                }
            }
        }
        Ok(self.finish_with(status, keep_answer))
    }

    fn finish_with(&self, status: Status, answer: Vec<usize>) -> Validated {
        let (outcome, ttl) = match status {
            Status::Secure { ttl } => (Outcome::Secure, Some(ttl)),
            Status::Insecure(r) => (Outcome::Insecure(r), None),
            Status::Indeterminate => (Outcome::Indeterminate, None),
            Status::Bogus(r) => (Outcome::Bogus(r), None),
        };
        let secure = outcome.is_secure();
        let records = |section: u8, idx: usize| -> Vec<Record> {
            let set = &self.sections[section as usize][idx];
            let mut out: Vec<Record> = set.records().collect();
            for sig in &set.rrsigs {
                let mut r = Record::from_rdata(
                    set.name.clone(),
                    set.ttl,
                    RData::DNSSEC(crate::wire::DNSSECRData::RRSIG(sig.clone())),
                );
                r.dns_class = set.class;
                out.push(r);
            }
            out
        };
        let answers = answer.iter().flat_map(|&i| records(ANSWER, i)).collect();
        // In a secure answer only secure RRsets of the authority and
        // additional sections are passed on (as unbound's val-clean-additional).
        let keep = |section: u8, idx: usize| -> bool {
            !secure
                || matches!(
                    self.verified.get(&(section, idx)),
                    Some(Status::Secure { .. })
                )
        };
        let authorities = (0..self.sections[1].len())
            .filter(|&i| keep(AUTHORITY, i))
            .flat_map(|i| records(AUTHORITY, i))
            .collect();
        let additionals = (0..self.sections[2].len())
            .filter(|&i| keep(ADDITIONAL, i))
            .flat_map(|i| records(ADDITIONAL, i))
            .collect();
        Validated {
            outcome,
            ttl,
            answers,
            authorities,
            additionals,
        }
    }

    // --- the answer chain ------------------------------------------------------

    /// Follow qname through CNAME and DNAME records to the data (RFC 1034
    /// §3.6.2, RFC 6672 §3), validating each link on its own.
    fn follow_chain(&mut self) -> Result<Chain, Need> {
        let mut name = self.qname.clone();
        let mut status = Status::Secure { ttl: u32::MAX };
        let mut used = Vec::new();
        let mut wildcards = Vec::new();
        let max_links = self.budget.limits().max_chain_links;
        let mut links = 0;
        loop {
            // The data itself.
            let data: Vec<usize> = (0..self.sections[0].len())
                .filter(|&i| {
                    let s = &self.sections[0][i];
                    s.name == name
                        && (s.rtype == self.qtype
                            || self.qtype == RecordType::ANY && s.rtype != RecordType::RRSIG)
                })
                .collect();
            if !data.is_empty() {
                for i in data {
                    let (st, wc) = self.check_rrset(ANSWER, i)?;
                    if let Some(source) = wc {
                        wildcards.push((self.sections[0][i].name.clone(), source));
                    }
                    status = status.and(st);
                    used.push(i);
                }
                return Ok(Chain {
                    status,
                    rrsets: used,
                    wildcards,
                    end: ChainEnd::Data,
                });
            }
            if links >= max_links {
                return Ok(Chain {
                    status: status.and(Status::Bogus(BogusReason::BudgetExceeded {
                        limit: "max_chain_links",
                        detail: format!("CNAME/DNAME chain from {}", self.qname),
                    })),
                    rrsets: used,
                    wildcards,
                    end: ChainEnd::Loop,
                });
            }
            links += 1;

            // A DNAME at an ancestor of `name` (RFC 6672 §2.2).
            let dname = (0..self.sections[0].len()).find(|&i| {
                let s = &self.sections[0][i];
                s.rtype == RecordType::DNAME && s.name != name && s.name.zone_of(&name)
            });
            let cname = (0..self.sections[0].len())
                .find(|&i| self.sections[0][i].is(&name, RecordType::CNAME));

            let next = if let Some(d) = dname {
                let (st, wc) = self.check_rrset(ANSWER, d)?;
                if wc.is_some() {
                    // RFC 6672 §3.3 / RFC 4592 §4.4: DNAME owners must not
                    // be wildcards.
                    status = status.and(Status::Bogus(BogusReason::RrsigMalformed {
                        rrset: RrsetId::new(&self.sections[0][d].name, RecordType::DNAME),
                        detail: "DNAME synthesised from a wildcard".into(),
                    }));
                }
                let dname_secure = st.clone();
                status = status.and(st);
                if !used.contains(&d) {
                    used.push(d);
                }
                let Some(target) = dname_substitute(&self.sections[0][d], &name) else {
                    return Ok(Chain {
                        status: status.and(Status::Bogus(BogusReason::Malformed {
                            detail: format!("DNAME substitution of {name} is too long"),
                        })),
                        rrsets: used,
                        wildcards,
                        end: ChainEnd::Loop,
                    });
                };
                if let Some(c) = cname {
                    // The synthesised CNAME (RFC 6672 §5.3.1, "Signed
                    // DNAME, Unsigned Synthesized CNAME"): accepted unsigned
                    // when its class and target are what the validated DNAME
                    // yields. Its status is the DNAME's, whatever RRSIGs it
                    // carries.
                    let synthesised = &self.sections[0][c];
                    let matches = synthesised.class == self.sections[0][d].class
                        && cname_target(synthesised).is_some_and(|t| t == target);
                    if !matches {
                        status = status.and(Status::Bogus(BogusReason::Malformed {
                            detail: format!(
                                "CNAME at {name} does not match the DNAME substitution"
                            ),
                        }));
                    }
                    self.verified.insert((ANSWER, c), dname_secure);
                    if !used.contains(&c) {
                        used.push(c);
                    }
                }
                target
            } else if let Some(c) = cname {
                let (st, wc) = self.check_rrset(ANSWER, c)?;
                if let Some(source) = wc {
                    wildcards.push((name.clone(), source));
                }
                status = status.and(st);
                if used.contains(&c) {
                    return Ok(Chain {
                        status,
                        rrsets: used,
                        wildcards,
                        end: ChainEnd::Loop,
                    });
                }
                used.push(c);
                match cname_target(&self.sections[0][c]) {
                    Some(t) => t,
                    None => {
                        return Ok(Chain {
                            status,
                            rrsets: used,
                            wildcards,
                            end: ChainEnd::Loop,
                        });
                    }
                }
            } else {
                return Ok(Chain {
                    status,
                    rrsets: used,
                    wildcards,
                    end: ChainEnd::Negative(name),
                });
            };
            if self.qtype == RecordType::CNAME && dname.is_none() {
                // Asked for the CNAME itself: it is the data.
                return Ok(Chain {
                    status,
                    rrsets: used,
                    wildcards,
                    end: ChainEnd::Data,
                });
            }
            name = next;
        }
    }

    /// Validate one RRset: find the keys of its signer and verify. Returns
    /// the status and, for a wildcard expansion, the wildcard's source.
    fn check_rrset(&mut self, section: u8, idx: usize) -> Result<(Status, Option<Name>), Need> {
        if let Some(st) = self.verified.get(&(section, idx)) {
            let wc = self.wildcard_source(section, idx);
            return Ok((st.clone(), wc));
        }
        let set = Arc::clone(&self.sections[section as usize][idx]);
        let (status, wc) = if set.rrsigs.is_empty() {
            (self.check_unsigned(&set.name, &set)?, None)
        } else {
            self.check_signed(&set)?
        };
        self.verified.insert((section, idx), status.clone());
        if !matches!(status, Status::Secure { .. }) {
            // Formatted only when a trace is kept.
            self.note(|| TraceEvent::RrsetNotSecure {
                rrset: RrsetId::new(&set.name, set.rtype),
                status: match &status {
                    Status::Secure { .. } => String::new(),
                    Status::Insecure(r) => format!("insecure: {r}"),
                    Status::Indeterminate => "indeterminate: no trust anchor".into(),
                    Status::Bogus(r) => format!("BOGUS: {r}"),
                },
            });
        }
        if let Some(w) = &wc {
            self.wildcards.insert((section, idx), w.clone());
        }
        Ok((status, wc))
    }

    fn wildcard_source(&self, section: u8, idx: usize) -> Option<Name> {
        self.wildcards.get(&(section, idx)).cloned()
    }

    /// An RRset without RRSIGs is acceptable only below an insecure
    /// delegation or outside every anchor (RFC 4035 §5.2, §4.3).
    fn check_unsigned(&mut self, owner: &Name, set: &Rrset) -> Result<Status, Need> {
        let lookup = self.keys_for(&holder_of(owner, set.rtype))?;
        Ok(match lookup {
            KeyLookup::Keys(keys) => Status::Bogus(BogusReason::RrsigsMissing {
                rrset: RrsetId::new(&set.name, set.rtype),
                zone: keys.zone().clone(),
            }),
            other => Status::from_lookup_failure(&other).unwrap_or(Status::Indeterminate),
        })
    }

    /// Verify a signed RRset with the keys of its signer(s).
    fn check_signed(&mut self, set: &Rrset) -> Result<(Status, Option<Name>), Need> {
        let mut signers: Vec<Name> = Vec::new();
        for sig in &set.rrsigs {
            let signer = sig.input().signer_name.to_lowercase();
            if !signers.contains(&signer) {
                signers.push(signer);
            }
        }
        let mut best: Option<Status> = None;
        for signer in signers {
            // RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name field MUST be
            // the name of the zone that contains the RRset", so it is the
            // owner or an ancestor of it.
            if !signer.zone_of(&set.name) {
                best.get_or_insert(Status::Bogus(BogusReason::RrsigMalformed {
                    rrset: RrsetId::new(&set.name, set.rtype),
                    detail: format!("signer {signer} is not an ancestor of the owner"),
                }));
                continue;
            }
            if let Some(bogus) =
                self.signer_outside_anchor(&holder_of(&set.name, set.rtype), set, &signer)
            {
                best.get_or_insert(bogus);
                continue;
            }
            let lookup = self.keys_for(&signer)?;
            let status = match lookup {
                KeyLookup::Keys(keys) => {
                    let mut only = set.clone();
                    only.rrsigs
                        .retain(|s| s.input().signer_name.to_lowercase() == signer);
                    match signature::verify_rrset(
                        &only,
                        &keys,
                        self.now,
                        &mut self.budget,
                        self.crypto,
                    ) {
                        Ok(v) => {
                            let input = v.rrsig().input();
                            let event = TraceEvent::RrsetSecure {
                                rrset: RrsetId::new(&set.name, set.rtype),
                                signer: v.signer().clone(),
                                key_tag: v.key_tag(),
                                algorithm: u8::from(input.algorithm),
                                inception: input.sig_inception.get(),
                                expiration: input.sig_expiration.get(),
                            };
                            self.note(|| event);
                            let wc = v.closest_encloser();
                            return Ok((Status::Secure { ttl: v.ttl() }, wc));
                        }
                        Err(r) => Status::Bogus(r),
                    }
                }
                // A signature under an insecure delegation proves nothing
                // either way: the data is insecure (RFC 4035 §5.2).
                other => Status::from_lookup_failure(&other).unwrap_or(Status::Indeterminate),
            };
            if !matches!(status, Status::Bogus(_)) || best.is_none() {
                best = Some(status);
            }
        }
        Ok((best.unwrap_or(Status::Indeterminate), None))
    }

    // --- negative answers ------------------------------------------------------

    /// Check a NXDOMAIN or NODATA for `name` from the authority section.
    fn check_negative(&mut self, name: &Name, nxdomain: bool) -> Result<Status, Need> {
        let denial_types = [RecordType::NSEC, RecordType::NSEC3, RecordType::SOA];
        let relevant: Vec<usize> = (0..self.sections[1].len())
            .filter(|&i| denial_types.contains(&self.sections[1][i].rtype))
            .collect();
        let signed = relevant
            .iter()
            .any(|&i| !self.sections[1][i].rrsigs.is_empty());
        // The denial of a DS comes from the parent zone (RFC 4035
        // §3.1.4.1), so the parent's status counts there.
        let zone_of_denial = holder_of(name, self.qtype);
        if !signed {
            // No signed proof: acceptable only if the name is in an
            // insecure zone.
            let lookup = self.keys_for(&zone_of_denial)?;
            return Ok(match lookup {
                KeyLookup::Keys(keys) => Status::Bogus(BogusReason::DenialMissing {
                    qname: name.clone(),
                    qtype: self.qtype,
                    zone: keys.zone().clone(),
                    detail: if nxdomain {
                        "NXDOMAIN without signed NSEC/NSEC3".into()
                    } else {
                        "NODATA without signed NSEC/NSEC3".into()
                    },
                }),
                other => Status::from_lookup_failure(&other).unwrap_or(Status::Indeterminate),
            });
        }
        // Every SOA/NSEC/NSEC3 RRset must verify.
        let (status, zone) = self.verify_authority(&relevant, &zone_of_denial)?;
        if !matches!(status, Status::Secure { .. }) {
            return Ok(status);
        }
        let zone = zone.unwrap_or_else(Name::root);
        let proof = self.denial_records(&zone);
        let verdict = if nxdomain {
            negative::prove_name_error(&proof, name, self.qtype, &zone, &mut self.budget)
        } else {
            negative::prove_nodata(&proof, name, self.qtype, &zone, &mut self.budget)
        };
        Ok(status.and(Status::from_denial(verdict)))
    }

    /// A wildcard expansion of `owner` from `source` (`*.source`) needs proof
    /// that `owner` itself does not exist.
    fn check_wildcard(&mut self, owner: &Name, source: &Name) -> Result<Status, Need> {
        let relevant: Vec<usize> = (0..self.sections[1].len())
            .filter(|&i| {
                matches!(
                    self.sections[1][i].rtype,
                    RecordType::NSEC | RecordType::NSEC3
                )
            })
            .collect();
        let (status, zone) = self.verify_authority(&relevant, owner)?;
        if !matches!(status, Status::Secure { .. }) {
            return Ok(status);
        }
        let Some(zone) = zone else {
            return Ok(Status::Bogus(BogusReason::DenialMissing {
                qname: owner.clone(),
                qtype: self.qtype,
                zone: source.clone(),
                detail: "wildcard expansion without NSEC/NSEC3 proof".into(),
            }));
        };
        let proof = self.denial_records(&zone);
        let verdict = negative::prove_wildcard_expansion(
            &proof,
            owner,
            self.qtype,
            source,
            &zone,
            &mut self.budget,
        );
        Ok(status.and(Status::from_denial(verdict)))
    }

    /// Verify the authority RRsets `indices`, the proof about `holder`: the
    /// combined status, and the signer of the first signed one (the zone
    /// whose proof this is).
    fn verify_authority(
        &mut self,
        indices: &[usize],
        holder: &Name,
    ) -> Result<(Status, Option<Name>), Need> {
        let mut status = Status::Secure { ttl: u32::MAX };
        let mut zone: Option<Name> = None;
        for &i in indices {
            // The proof must come from the zone that holds `holder`: an SOA
            // or NSEC of, or signed by, a zone above `holder`'s trust anchor
            // proves nothing about it (see `signer_outside_anchor`).
            let set = &self.sections[AUTHORITY as usize][i];
            let claimed = set
                .rrsigs
                .iter()
                .map(|s| s.input().signer_name.to_lowercase())
                .chain(std::iter::once(set.name.to_lowercase()))
                .find_map(|zone| self.signer_outside_anchor(holder, set, &zone));
            if let Some(bogus) = claimed {
                status = status.and(bogus);
                continue;
            }
            let (st, _) = self.check_rrset(AUTHORITY, i)?;
            status = status.and(st);
            if let Some(sig) = self.sections[AUTHORITY as usize][i].rrsigs.first() {
                zone.get_or_insert_with(|| sig.input().signer_name.to_lowercase());
            }
        }
        Ok((status, zone))
    }

    /// The verified NSEC and NSEC3 records of the authority section signed
    /// by `zone`.
    fn denial_records(&self, zone: &Name) -> negative::Proof {
        let mut proof = negative::Proof::default();
        for (i, set) in self.sections[1].iter().enumerate() {
            if !matches!(
                self.verified.get(&(AUTHORITY, i)),
                Some(Status::Secure { .. })
            ) {
                continue;
            }
            if !set.rrsigs.iter().any(|s| s.input().signer_name == *zone) {
                continue;
            }
            // An NSEC or NSEC3 whose RRSIG shows a wildcard expansion is a
            // copy of the record at `*.<closest encloser>` under another
            // owner: its span proves nothing about the name it arrived with
            // (RFC 4035 §5.3.4, RFC 4592 §4.1: denial records are never
            // synthesised), so it is left out of the proof.
            if self.wildcards.contains_key(&(AUTHORITY, i)) {
                continue;
            }
            for rdata in &set.rdatas {
                proof.add(&set.name, rdata);
            }
        }
        proof
    }

    // --- the chain of trust ------------------------------------------------------

    /// Islands of trust: `holder` lies at or below its closest trust anchor,
    /// so the chain of trust says the zone holding it is that anchor's zone
    /// or one below. RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name field
    /// MUST be the name of the zone that contains the RRset"; RFC 6840 §4.1:
    /// data must come from the zone the chain of trust names, never from an
    /// ancestor of it. A `zone` (signer, or the owner of an unsigned proof)
    /// above that anchor — the root, or an ancestor that is insecure or has
    /// no anchor — would otherwise let a forged answer come out Insecure or
    /// Indeterminate: it is Bogus.
    fn signer_outside_anchor(&self, holder: &Name, set: &Rrset, zone: &Name) -> Option<Status> {
        let (anchor, _) = self.anchors.closest(holder)?;
        if anchor.zone_of(zone) {
            return None;
        }
        Some(Status::Bogus(BogusReason::RrsigMalformed {
            rrset: RrsetId::new(&set.name, set.rtype),
            detail: format!("{zone} is above the trust anchor {anchor}, which holds {holder}"),
        }))
    }

    /// The keys of the zone at `target`, or of the closest enclosing zone,
    /// walking down from the closest trust anchor (RFC 4035 §5).
    fn keys_for(&mut self, target: &Name) -> Result<KeyLookup, Need> {
        let target = target.to_lowercase();
        let Some((anchor_zone, sep)) = self.anchors.closest(&target) else {
            return Ok(KeyLookup::NoAnchor);
        };
        let anchor_zone = anchor_zone.clone();
        let sep = sep.clone();

        // Start from the deepest known point between target and anchor.
        let mut start: Option<(Name, Arc<ZoneKeys>)> = None;
        let mut probe = target.clone();
        loop {
            if !self.keys.contains_key(&probe)
                && let Some(cached) = self.cache.and_then(|c| c.get(&probe))
            {
                self.keys.insert(probe.clone(), cached);
            }
            if let Some(known) = self.keys.get(&probe) {
                match known {
                    KeyLookup::Keys(k) => {
                        start = Some((probe.clone(), k.clone()));
                        break;
                    }
                    other => return Ok(other.clone()),
                }
            }
            if probe == anchor_zone || probe.is_root() {
                break;
            }
            probe = probe.base_name();
        }
        let (start_zone, mut keys) = match start {
            Some(s) => s,
            None => {
                let lookup = self.authenticate(&anchor_zone, &sep)?;
                match lookup {
                    KeyLookup::Keys(k) => (anchor_zone.clone(), k),
                    other => return Ok(other),
                }
            }
        };
        let target_labels = target.num_labels();
        let mut labels = start_zone.num_labels();
        while labels < target_labels {
            labels += 1;
            let next = target.trim_to(labels as usize);
            match self.ds_step(&keys, &next)? {
                DsStep::Delegation(ds) => match self.authenticate(&next, &ds)? {
                    KeyLookup::Keys(k) => keys = k,
                    other => return Ok(other),
                },
                DsStep::NotACut => {}
                DsStep::NameError => break,
                DsStep::Insecure(r) => {
                    let lookup = KeyLookup::Insecure(r);
                    self.remember(&next, lookup.clone());
                    return Ok(lookup);
                }
                DsStep::Bogus(r) => return Ok(KeyLookup::Bogus(r)),
            }
        }
        Ok(KeyLookup::Keys(keys))
    }

    fn remember(&mut self, zone: &Name, lookup: KeyLookup) {
        self.keys.insert(zone.clone(), lookup.clone());
        self.learned.push((zone.clone(), lookup));
    }

    /// Fetch and authenticate the DNSKEY set of `zone` from its DS records
    /// or anchors.
    fn authenticate(&mut self, zone: &Name, sep: &SecureEntryPoints) -> Result<KeyLookup, Need> {
        if let Some(known) = self.keys.get(zone) {
            return Ok(known.clone());
        }
        if let Some(reason) = keys::insecure_before_keys(zone, sep, self.crypto) {
            // RFC 4035 §5.2: no supported DS, no authentication path: the
            // zone is insecure whatever its keys; no DNSKEY query.
            self.note(|| TraceEvent::KeysFailed {
                zone: zone.clone(),
                reason: reason.to_string(),
                insecure: true,
            });
            let lookup = KeyLookup::Insecure(reason);
            self.remember(zone, lookup.clone());
            return Ok(lookup);
        }
        let response = self.fetch(zone, RecordType::DNSKEY)?;
        let spent_before = self.budget.clone();
        // Judged on data (not a lost or refused query): then a bogus result
        // is the zone's own and may be remembered beyond this session.
        let judged = matches!(&response, Fetched::Response(m) if m.metadata.response_code == ResponseCode::NoError);
        let lookup = match response {
            Fetched::Failed(detail) => KeyLookup::Bogus(BogusReason::DnskeyMissing {
                zone: zone.clone(),
                detail,
            }),
            Fetched::Response(msg) => {
                let sets = rrset::group(&msg.answers);
                match sets.into_iter().find(|s| s.is(zone, RecordType::DNSKEY)) {
                    None => KeyLookup::Bogus(BogusReason::DnskeyMissing {
                        zone: zone.clone(),
                        detail: format!(
                            "DNSKEY query answered {} without keys",
                            msg.metadata.response_code
                        ),
                    }),
                    Some(set) => match keys::authenticate_dnskeys(
                        zone,
                        &set,
                        sep,
                        self.now,
                        &mut self.budget,
                        self.crypto,
                    ) {
                        KeyVerdict::Trusted(k) => {
                            // The session holds the set until it ends: its
                            // bytes are charged (`max_key_bytes`).
                            match self.budget.charge_key_bytes(
                                k.bytes(),
                                &format_args!("the DNSKEY set of {zone}"),
                            ) {
                                Ok(()) => KeyLookup::Keys(Arc::new(k)),
                                Err(r) => KeyLookup::Bogus(r),
                            }
                        }
                        KeyVerdict::Insecure(r) => KeyLookup::Insecure(r),
                        KeyVerdict::Bogus(r) => KeyLookup::Bogus(r),
                    },
                }
            }
        };
        // Built only when a trace is kept.
        let anchors = self.anchors;
        self.note(|| match &lookup {
            KeyLookup::Keys(k) => TraceEvent::KeysTrusted {
                zone: zone.clone(),
                keys: k
                    .zone_keys()
                    .iter()
                    .map(|key| KeyInfo {
                        tag: key.tag(),
                        algorithm: key.algorithm(),
                        flags: key.dnskey().flags(),
                    })
                    .collect(),
                by: k.authenticated_by().to_vec(),
                anchor: anchors.closest(zone).is_some_and(|(z, _)| z == zone),
            },
            KeyLookup::Insecure(r) => TraceEvent::KeysFailed {
                zone: zone.clone(),
                reason: r.to_string(),
                insecure: true,
            },
            KeyLookup::Bogus(r) => TraceEvent::KeysFailed {
                zone: zone.clone(),
                reason: r.to_string(),
                insecure: false,
            },
            KeyLookup::NoAnchor => TraceEvent::KeysFailed {
                zone: zone.clone(),
                reason: "no trust anchor".into(),
                insecure: true,
            },
        });
        match &lookup {
            KeyLookup::Bogus(reason) if !(judged && zone_caused(&spent_before, reason)) => {
                self.keys.insert(zone.clone(), lookup.clone());
            }
            _ => self.remember(zone, lookup.clone()),
        }
        Ok(lookup)
    }

    /// One step of the walk: what does a DS query for `next`, answered from
    /// the zone of `keys`, show?
    fn ds_step(&mut self, keys: &Arc<ZoneKeys>, next: &Name) -> Result<DsStep, Need> {
        if let Some(step) = self.ds_steps.get(next) {
            return Ok(step.clone());
        }
        let response = self.fetch(next, RecordType::DS)?;
        let spent_before = self.budget.clone();
        let judged = matches!(&response, Fetched::Response(m)
            if matches!(m.metadata.response_code, ResponseCode::NoError | ResponseCode::NXDomain));
        let step = match response {
            Fetched::Failed(detail) => DsStep::Bogus(BogusReason::DnskeyMissing {
                zone: next.clone(),
                detail: format!("DS query failed: {detail}"),
            }),
            Fetched::Response(msg) => {
                let step = self.judge_ds_response(keys, next, &msg);
                if matches!(step, DsStep::Insecure(_)) {
                    self.insecure_ttls
                        .insert(next.clone(), denial_ttl(&msg.authorities));
                }
                step
            }
        };
        self.ds_steps.insert(next.clone(), step.clone());
        if let DsStep::Bogus(reason) = &step
            && judged
            && zone_caused(&spent_before, reason)
        {
            // The chain of trust to `next` is broken: every name under it
            // is bogus, and later sessions learn so without the work.
            self.remember(next, KeyLookup::Bogus(reason.clone()));
        }
        // Built only when a trace is kept.
        self.note(|| match &step {
            DsStep::Delegation(sep) => TraceEvent::Delegation {
                zone: next.clone(),
                ds: sep
                    .ds()
                    .iter()
                    .map(|d| DsInfo {
                        tag: d.key_tag(),
                        algorithm: u8::from(d.algorithm()),
                        digest_type: u8::from(d.digest_type()),
                    })
                    .collect(),
                parent: keys.zone().clone(),
            },
            DsStep::NotACut | DsStep::NameError => TraceEvent::NoCut { name: next.clone() },
            DsStep::Insecure(r) => TraceEvent::Unsigned {
                name: next.clone(),
                reason: r.to_string(),
            },
            DsStep::Bogus(r) => TraceEvent::Broken {
                name: next.clone(),
                reason: r.to_string(),
            },
        });
        Ok(step)
    }

    fn judge_ds_response(&mut self, keys: &ZoneKeys, next: &Name, msg: &Message) -> DsStep {
        let answers = rrset::group(&msg.answers);
        let zone = keys.zone().clone();
        if let Some(ds) = answers.iter().find(|s| s.is(next, RecordType::DS)) {
            return match signature::verify_rrset(ds, keys, self.now, &mut self.budget, self.crypto)
            {
                Ok(v) => match SecureEntryPoints::from_verified_ds(&v) {
                    Some(sep) => DsStep::Delegation(sep),
                    None => DsStep::Bogus(BogusReason::Malformed {
                        detail: format!("DS answer for {next} holds no DS"),
                    }),
                },
                Err(r) => DsStep::Bogus(r),
            };
        }
        if let Some(cname) = answers.iter().find(|s| s.is(next, RecordType::CNAME)) {
            // A CNAME owner is no zone cut (RFC 1034 §3.6.2).
            return match signature::verify_rrset(
                cname,
                keys,
                self.now,
                &mut self.budget,
                self.crypto,
            ) {
                Ok(_) => DsStep::NotACut,
                Err(r) => DsStep::Bogus(r),
            };
        }
        let nxdomain = msg.metadata.response_code == ResponseCode::NXDomain;
        if !nxdomain && msg.metadata.response_code != ResponseCode::NoError {
            return DsStep::Bogus(BogusReason::DnskeyMissing {
                zone: next.clone(),
                detail: format!("DS query answered {}", msg.metadata.response_code),
            });
        }
        // NODATA: the proof must come from `zone`.
        let mut proof = negative::Proof::default();
        for set in rrset::group(&msg.authorities) {
            if !matches!(set.rtype, RecordType::NSEC | RecordType::NSEC3) {
                continue;
            }
            // As in `denial_records`: a wildcard-expanded denial record
            // proves nothing.
            if signature::verify_rrset(&set, keys, self.now, &mut self.budget, self.crypto)
                .is_ok_and(|v| v.wildcard().is_none())
            {
                for rdata in &set.rdatas {
                    proof.add(&set.name, rdata);
                }
            }
        }
        match negative::classify_ds_absence(&proof, next, &zone, &mut self.budget) {
            DsAbsence::NoCut => DsStep::NotACut,
            DsAbsence::Unsigned(r) => DsStep::Insecure(r),
            // A name on the way to a signer exists; a NXDOMAIN whose proof
            // shows no delegation or empty non-terminal ends the walk here,
            // and whatever was signed below is then checked against the
            // keys found so far.
            DsAbsence::Bogus(_) if nxdomain => DsStep::NameError,
            DsAbsence::Bogus(r) => DsStep::Bogus(r),
        }
    }

    fn fetch(&mut self, name: &Name, rtype: RecordType) -> Result<Fetched, Need> {
        let request = FetchRequest {
            name: name.clone(),
            rtype,
        };
        match self.fetched.remove(&request) {
            Some(f) => Ok(f),
            None => Err(Need(request)),
        }
    }
}

/// Is a bogus key or DS result the zone's own, to be remembered beyond this
/// session (as unbound's key cache marks a key set bad)? Running out of the
/// budget counts only when the session had spent nothing of the exhausted
/// limit before the zone's work began: otherwise earlier work in the session
/// (say, a long CNAME chain a client chose) could get a good zone marked
/// bogus for everyone.
/// The TTL of a DS denial: the smallest TTL of its NSEC/NSEC3 records and
/// their RRSIGs, and the SOA's negative TTL (RFC 2308 §5: the lesser of
/// the SOA's TTL and MINIMUM) when there is one.
fn denial_ttl(authorities: &[Record]) -> u32 {
    authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
            RData::DNSSEC(
                crate::wire::DNSSECRData::NSEC(_) | crate::wire::DNSSECRData::NSEC3(_),
            ) => Some(r.ttl),
            RData::DNSSEC(crate::wire::DNSSECRData::RRSIG(sig))
                if matches!(
                    sig.input().type_covered,
                    RecordType::NSEC | RecordType::NSEC3
                ) =>
            {
                Some(r.ttl)
            }
            _ => None,
        })
        .min()
        .unwrap_or(0)
}

fn zone_caused(spent_before: &Budget, reason: &BogusReason) -> bool {
    match reason {
        BogusReason::BudgetExceeded { limit, .. } => spent_before.spent(limit) == 0,
        _ => true,
    }
}

/// The name whose zone holds an RRset of type `rtype` at `owner`: DS RRsets
/// live in the parent zone (RFC 4035 §3.1.4.1), everything else in the
/// owner's.
fn holder_of(owner: &Name, rtype: RecordType) -> Name {
    if rtype == RecordType::DS && !owner.is_root() {
        owner.base_name()
    } else {
        owner.clone()
    }
}

/// How the answer chain ended.
#[derive(Clone, Debug)]
enum ChainEnd {
    /// At data of the asked type.
    Data,
    /// At a name with no data: a NXDOMAIN or NODATA for it.
    Negative(Name),
    /// In a loop or at the chain limit.
    Loop,
}

struct Chain {
    status: Status,
    rrsets: Vec<usize>,
    wildcards: Vec<(Name, Name)>,
    end: ChainEnd,
}

fn cname_target(set: &Rrset) -> Option<Name> {
    match set.rdatas.first() {
        Some(RData::CNAME(c)) => Some(c.0.clone()),
        _ => None,
    }
}

/// RFC 6672 §2.2: replace the DNAME owner suffix of `name` by its target.
fn dname_substitute(dname: &Rrset, name: &Name) -> Option<Name> {
    let target = dname.rdatas.first().and_then(dname_target)?;
    let keep = name.num_labels() - dname.name.num_labels();
    let prefix: Vec<_> = name.iter().take(keep as usize).collect();
    let mut relative = Name::from_labels(prefix).ok()?;
    relative.set_fqdn(false);
    relative.append_domain(&target).ok()
}

/// The target of a DNAME record. hickory-proto 0.26 has no DNAME type and
/// keeps its RDATA as bytes; RFC 6672 §2.5 forbids compressing the target,
/// so the bytes are a complete wire-format name.
pub(crate) fn dname_target(rdata: &RData) -> Option<Name> {
    match rdata {
        RData::Unknown { code, rdata } if *code == RecordType::DNAME => {
            let bytes = &rdata.anything[..];
            let mut decoder = crate::wire::BinDecoder::new(bytes);
            let name = <Name as crate::wire::BinDecodable>::read(&mut decoder).ok()?;
            (decoder.index() == bytes.len()).then_some(name)
        }
        _ => None,
    }
}
