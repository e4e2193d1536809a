//! Running a scenario against a resolver under test (§5).
//!
//! The model is synchronous: a QUERY step calls
//! [`ResolverUnderTest::resolve`], during which the resolver sends its
//! outgoing queries to the [`ScenarioNetwork`] and gets the replies at once
//! (or `None`, a timeout). The answer is queued; CHECK_ANSWER compares it.
//!
//! Time: the scenario clock starts at 0 and moves only with TIME_PASSES. The
//! validation time is `val-override-date` when given (fixed in the unbound
//! dialect; advancing with the clock in Deckard and Stelline, whose start
//! time sets the wall clock), else the scenario clock.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};

use danebound_resolver::wire::Message;
use danebound_trust_anchors::text::{self, Context};

use super::compare::{
    MatchContext, Profile, Transport, check_entry, ede_code, servfail_from_validation,
};
use super::entry::Entry;
use super::macros::{MacroEnv, expand};
use super::network::ScenarioNetwork;
use super::packet::Packet;
use super::parse::{Dialect, Elapse, Scenario, ScenarioConfig, StepKind, ValidationTime};

/// Clock values for one resolver call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioTime {
    /// The scenario (engine) clock, seconds since the epoch: 0 at the start.
    pub now: u64,
    /// The time RRSIG validity is checked against; `None` means ignore
    /// signature dates (`val-override-date: "-1"`).
    pub validation: Option<u64>,
}

/// A key of an RFC 5011 trust point as the resolver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutotrustKey {
    /// The DNSKEY RDATA in wire form.
    pub dnskey_rdata: Vec<u8>,
    /// unbound's state number: 0 START, 1 ADDPEND, 2 VALID, 3 MISSING,
    /// 4 REVOKED, 5 REMOVED.
    pub state: u8,
}

/// The resolver the harness drives.
///
/// Implementations are built per file from the scenario config (see
/// [`run_scenario`]'s `make` argument). A synchronous interface: an async
/// engine blocks on a current-thread runtime inside `resolve`.
pub trait ResolverUnderTest {
    /// Resolves one client query (ID 0, flags and EDNS as the QUERY entry
    /// says). Outgoing queries go to `net` (`answer_wire` at the network's
    /// current step). Returns the answer sent to the client; `Err` means no
    /// answer was produced (reported at the next CHECK_ANSWER).
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Message, String>;

    /// Hands the raw bytes of a RAW/HEX client query (Deckard's `RAW`, sent
    /// over UDP unmodified) to the resolver's own request parser, as the
    /// network would. `Ok(None)`: the resolver sent nothing back (a request
    /// it drops); `Ok(Some)`: its reply. `Err`: it cannot take raw bytes
    /// (the default); the scenario is then skipped.
    fn resolve_raw(
        &mut self,
        _wire: &[u8],
        _net: &ScenarioNetwork,
        _time: ScenarioTime,
    ) -> Result<Option<Message>, String> {
        Err(RAW_UNSUPPORTED.into())
    }

    /// The Extended DNS Error of the last resolution's validation outcome,
    /// also when the client could not be sent one (no EDNS in its query):
    /// the semantic profile accepts an expected SERVFAIL in a validator
    /// scenario only with a DNSSEC EDE. `None`: none, or not supported.
    fn validation_ede(&self) -> Option<u16> {
        None
    }

    /// Advances the resolver's timers to `time` (TIME_PASSES). RFC 5011
    /// probes, prefetch and cache expiry happen here; they may use `net`.
    fn time_passes(&mut self, _net: &ScenarioNetwork, _time: ScenarioTime) {}

    /// The keys and states of the RFC 5011 trust point `id`
    /// (CHECK_AUTOTRUST). `None`: not supported.
    fn autotrust_state(&self, _id: &str) -> Option<Vec<AutotrustKey>> {
        None
    }

    /// Seconds until the next RFC 5011 probe (`${timeout}`). `None`: not
    /// supported.
    fn next_probe_in(&self) -> Option<f64> {
        None
    }
}

impl<R: ResolverUnderTest + ?Sized> ResolverUnderTest for Box<R> {
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Message, String> {
        (**self).resolve(query, net, time)
    }
    fn resolve_raw(
        &mut self,
        wire: &[u8],
        net: &ScenarioNetwork,
        time: ScenarioTime,
    ) -> Result<Option<Message>, String> {
        (**self).resolve_raw(wire, net, time)
    }
    fn validation_ede(&self) -> Option<u16> {
        (**self).validation_ede()
    }
    fn time_passes(&mut self, net: &ScenarioNetwork, time: ScenarioTime) {
        (**self).time_passes(net, time);
    }
    fn autotrust_state(&self, id: &str) -> Option<Vec<AutotrustKey>> {
        (**self).autotrust_state(id)
    }
    fn next_probe_in(&self) -> Option<f64> {
        (**self).next_probe_in()
    }
}

/// The verdict for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The first difference: step number and reason.
    Fail {
        step: i64,
        reason: String,
    },
    /// Not runnable here: `unsupported: …` or a parse error.
    Skip(String),
}

impl Verdict {
    /// One-word label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail { .. } => "FAIL",
            Self::Skip(_) => "SKIP",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pass => f.write_str("PASS"),
            Self::Fail { step, reason } => write!(f, "FAIL step {step}: {reason}"),
            Self::Skip(r) => write!(f, "SKIP {r}"),
        }
    }
}

/// Result of running one scenario.
#[derive(Debug, Clone)]
pub struct Report {
    pub dialect: Dialect,
    /// The verdict under the chosen profile.
    pub verdict: Verdict,
    /// The first mismatch under the other profile, if any (reported beside).
    pub other_profile: Option<String>,
    /// Config options the harness ignored.
    pub ignored_options: Vec<String>,
    /// Upstream queries of the resolver that no range entry answered (the
    /// resolver saw a timeout): what the scenario cannot answer.
    pub unanswered_queries: usize,
}

/// Runs `scenario`. `make` builds the resolver from the config; its `Err`
/// is a skip reason (`unsupported: …`).
pub fn run_scenario<R: ResolverUnderTest>(
    scenario: &Scenario,
    profile: Profile,
    make: impl FnOnce(&ScenarioConfig) -> Result<R, String>,
) -> Report {
    let cfg = &scenario.config;
    let mut report = Report {
        dialect: cfg.dialect,
        verdict: Verdict::Pass,
        other_profile: None,
        ignored_options: cfg.ignored.clone(),
        unanswered_queries: 0,
    };
    let mut resolver = match make(cfg) {
        Ok(r) => r,
        Err(e) => {
            report.verdict = Verdict::Skip(e);
            return report;
        }
    };
    let net = ScenarioNetwork::new(scenario);
    // A validator scenario: the resolver validates from configured anchors.
    let validator = !cfg.trust_anchors.is_empty() || !cfg.autotrust_files.is_empty();
    let mut state = RunState {
        validator,
        clock_us: 0,
        vars: HashMap::new(),
        answers: VecDeque::new(),
        last_error: None,
        checked_queries: 0,
    };
    let other = profile.other();
    for (i, step) in scenario.steps.iter().enumerate() {
        let next_number = scenario.steps.get(i + 1).map_or(step.number, |s| s.number);
        let fail = |reason: String| Verdict::Fail {
            step: step.number,
            reason,
        };
        let time = state.time(cfg);
        match &step.kind {
            StepKind::Nothing
            | StepKind::Traffic
            | StepKind::Reply(_)
            | StepKind::Timeout
            | StepKind::Error => {}
            StepKind::Query(entry) => {
                // testbound advances to the next step first (§5.2); Deckard
                // and Stelline use the step being executed.
                net.set_step(if cfg.dialect == Dialect::Unbound {
                    next_number
                } else {
                    step.number
                });
                let sent_before = net.sent_queries().len();
                let answer = if let Some(raw) = &entry.first().raw {
                    match resolver.resolve_raw(raw, &net, time) {
                        Err(e) if e == RAW_UNSUPPORTED => {
                            report.verdict = Verdict::Skip(e);
                            return report;
                        }
                        Err(e) => Err(e),
                        Ok(None) => Err("no reply to the raw query (dropped)".into()),
                        Ok(Some(a)) => Packet::from_message(&a),
                    }
                } else {
                    let query = match client_query(entry, cfg.dialect) {
                        Ok(q) => q,
                        Err(e) => {
                            report.verdict = Verdict::Skip(e);
                            return report;
                        }
                    };
                    resolver
                        .resolve(&query, &net, time)
                        .and_then(|a| Packet::from_message(&a))
                };
                let unanswered = net.sent_queries()[sent_before..]
                    .iter()
                    .filter(|q| !q.answered)
                    .count();
                report.unanswered_queries += unanswered;
                match answer {
                    Ok(p) => {
                        let ede = ede_code(&p).or_else(|| resolver.validation_ede());
                        state.answers.push_back(Answer {
                            packet: p,
                            ede,
                            unanswered,
                        });
                        state.last_error = None;
                    }
                    Err(e) => {
                        // Deckard and Stelline check the latest answer: do
                        // not let an older one stand in for this query's.
                        if cfg.dialect != Dialect::Unbound {
                            state.answers.clear();
                        }
                        state.last_error = Some(e);
                    }
                }
            }
            StepKind::CheckAnswer(entry) => {
                let cx = |profile| MatchContext {
                    dialect: cfg.dialect,
                    profile,
                    transport: if entry.matches.tcp {
                        Transport::Tcp
                    } else {
                        Transport::Udp
                    },
                };
                if report.other_profile.is_none()
                    && let Some(Err(e)) = state
                        .peek(cfg.dialect)
                        .map(|a| state.check_one(entry, a, cx(other)))
                {
                    report.other_profile =
                        Some(format!("{} FAIL step {}: {e}", other.name(), step.number));
                }
                if let Err(e) = state.check_answer(entry, cx(profile), cfg.dialect) {
                    report.verdict = fail(e);
                    return report;
                }
            }
            // Deckard ignores CHECK_OUT_QUERY (rpl-format.md §3.1).
            StepKind::CheckOutQuery(_) if cfg.dialect == Dialect::Deckard => {}
            StepKind::CheckOutQuery(entry) => {
                if let Err(e) = state.check_out_query(entry, &net, step.address, cfg.dialect) {
                    report.verdict = fail(e);
                    return report;
                }
            }
            StepKind::TimePasses(elapse) => {
                let secs = match elapse {
                    Elapse::Seconds(s) => Ok(*s),
                    Elapse::Eval(expr) => {
                        let env = Env {
                            clock_us: state.clock_us,
                            resolver: &resolver,
                        };
                        expand(expr, &state.vars, &env).and_then(|v| {
                            v.trim()
                                .parse::<f64>()
                                .map_err(|_| format!("EVAL gave {v:?}"))
                        })
                    }
                };
                match secs {
                    Ok(s) if s >= 0.0 && s.is_finite() => {
                        state.clock_us += (s * 1e6).round() as u64
                    }
                    Ok(s) => {
                        report.verdict = fail(format!("bad TIME_PASSES {s}"));
                        return report;
                    }
                    Err(e) => {
                        report.verdict = skip_or_fail(step.number, e);
                        return report;
                    }
                }
                net.set_step(next_number);
                let t = state.time(cfg);
                resolver.time_passes(&net, t);
            }
            StepKind::Assign { var, expr } => {
                let env = Env {
                    clock_us: state.clock_us,
                    resolver: &resolver,
                };
                match expand(expr, &state.vars, &env) {
                    Ok(v) => {
                        state.vars.insert(var.clone(), v);
                    }
                    Err(e) => {
                        report.verdict = skip_or_fail(step.number, e);
                        return report;
                    }
                }
            }
            StepKind::CheckAutotrust { id, body } => {
                let Some(keys) = resolver.autotrust_state(id) else {
                    report.verdict = Verdict::Skip(
                        "unsupported: CHECK_AUTOTRUST (the resolver under test exports no RFC 5011 state)".into(),
                    );
                    return report;
                };
                if let Err(e) = compare_autotrust(body, &keys) {
                    report.verdict = fail(e);
                    return report;
                }
            }
            StepKind::CheckTempfile { .. } => {
                report.verdict = Verdict::Skip("unsupported: CHECK_TEMPFILE".into());
                return report;
            }
            StepKind::Internal { name, .. } => {
                report.verdict =
                    Verdict::Skip(format!("unsupported: {name} (unbound-internal step)"));
                return report;
            }
        }
    }
    // testbound: no unchecked answers at the end (§5.6).
    if cfg.dialect == Dialect::Unbound && !state.answers.is_empty() {
        report.verdict = Verdict::Fail {
            step: scenario.steps.last().map_or(0, |s| s.number),
            reason: format!(
                "{} answer(s) left unchecked at the end",
                state.answers.len()
            ),
        };
    }
    report
}

fn skip_or_fail(step: i64, e: String) -> Verdict {
    if e.starts_with("unsupported") {
        Verdict::Skip(e)
    } else {
        Verdict::Fail { step, reason: e }
    }
}

struct Env<'a, R> {
    clock_us: u64,
    resolver: &'a R,
}

impl<R: ResolverUnderTest> MacroEnv for Env<'_, R> {
    fn time(&self) -> f64 {
        self.clock_us as f64 / 1e6
    }
    fn timeout(&self) -> Option<f64> {
        self.resolver.next_probe_in()
    }
}

/// A client answer waiting for CHECK_ANSWER.
struct Answer {
    packet: Packet,
    /// Its EDE, or the one the resolver reports for it.
    ede: Option<u16>,
    /// Upstream queries of its resolution that the scenario left
    /// unanswered.
    unanswered: usize,
}

struct RunState {
    validator: bool,
    clock_us: u64,
    vars: HashMap<String, String>,
    answers: VecDeque<Answer>,
    last_error: Option<String>,
    checked_queries: usize,
}

impl RunState {
    fn time(&self, cfg: &ScenarioConfig) -> ScenarioTime {
        let now = self.clock_us / 1_000_000;
        let validation = match cfg.validation_time {
            ValidationTime::Clock => Some(now),
            ValidationTime::IgnoreDates => None,
            ValidationTime::At(t) if cfg.dialect == Dialect::Unbound => Some(t),
            ValidationTime::At(t) => Some(t + now),
        };
        ScenarioTime { now, validation }
    }

    /// The answer CHECK_ANSWER looks at first: the oldest (unbound) or the
    /// newest (Deckard, Stelline).
    fn peek(&self, dialect: Dialect) -> Option<&Answer> {
        if dialect == Dialect::Unbound {
            self.answers.front()
        } else {
            self.answers.back()
        }
    }

    /// One CHECK_ANSWER entry against one answer: the MATCH rules, and in
    /// the semantic profile of a validator scenario, an expected SERVFAIL
    /// only from validation.
    fn check_one(&self, entry: &Entry, a: &Answer, cx: MatchContext) -> Result<(), String> {
        check_entry(entry, &a.packet, cx)?;
        if cx.profile == Profile::Semantic && self.validator {
            servfail_from_validation(
                &entry.matches,
                &entry.first().packet,
                &a.packet,
                a.ede,
                a.unanswered,
            )?;
        }
        Ok(())
    }

    fn check_answer(
        &mut self,
        entry: &Entry,
        cx: MatchContext,
        dialect: Dialect,
    ) -> Result<(), String> {
        let no_answer = || match &self.last_error {
            Some(e) => format!("no answer: the resolver failed: {e}"),
            None => "no answer queued".to_string(),
        };
        if dialect == Dialect::Unbound {
            // The first queued answer that matches is removed.
            if let Some(i) = self
                .answers
                .iter()
                .position(|a| self.check_one(entry, a, cx).is_ok())
            {
                self.answers.remove(i);
                return Ok(());
            }
            let first = self.answers.front().ok_or_else(no_answer)?;
            return self
                .check_one(entry, first, cx)
                .map_err(|e| format!("answer not matched: {e}"));
        }
        let last = self.answers.back().ok_or_else(no_answer)?;
        self.check_one(entry, last, cx)
            .map_err(|e| format!("answer not matched: {e}"))?;
        self.answers.clear();
        Ok(())
    }

    fn check_out_query(
        &mut self,
        entry: &Entry,
        net: &ScenarioNetwork,
        dest: Option<std::net::SocketAddr>,
        dialect: Dialect,
    ) -> Result<(), String> {
        let sent = net.sent_queries();
        let fresh = &sent[self.checked_queries.min(sent.len())..];
        let mut first_err = None;
        for q in fresh.iter().rev() {
            if dest.is_some_and(|d| d != q.server) {
                continue;
            }
            let Ok(p) = Packet::from_wire(&q.wire) else {
                continue;
            };
            let cx = MatchContext {
                dialect,
                profile: Profile::Strict,
                transport: q.transport,
            };
            match check_entry(entry, &p, cx) {
                Ok(()) => {
                    self.checked_queries = sent.len();
                    return Ok(());
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(match first_err {
            Some(e) => format!("no outgoing query matched: {e}"),
            None => "no outgoing query was sent".into(),
        })
    }
}

/// Why a resolver under test that takes only parsed messages skips a
/// scenario with a RAW/HEX client query.
pub const RAW_UNSUPPORTED: &str =
    "unsupported: RAW/HEX client query (the resolver takes parsed messages)";

/// Builds the client query of a QUERY step: ID 0, header and EDNS from the
/// entry. A RAW/HEX query is not a message: see
/// [`ResolverUnderTest::resolve_raw`].
pub fn client_query(entry: &Entry, dialect: Dialect) -> Result<Message, String> {
    let first = entry.first();
    if first.raw.is_some() {
        return Err(RAW_UNSUPPORTED.into());
    }
    let mut p = first.packet.clone();
    p.id = 0;
    if dialect == Dialect::Unbound
        && let Some(e) = &mut p.edns
    {
        e.payload = 1232;
    }
    p.to_message()
}

/// Compares a CHECK_AUTOTRUST body with the resolver's keys: the set of
/// (DNSKEY RDATA, state) pairs must be equal. Timers, counts and comments
/// are not compared.
pub fn compare_autotrust(body: &[String], keys: &[AutotrustKey]) -> Result<(), String> {
    let mut want = Vec::new();
    // A body without the `;;id:` header is a plain RR list (the file as the
    // scenario wrote it, untouched): its keys are Valid (unbound's reader).
    let plain = !body.iter().any(|l| l.trim_start().starts_with(";;id:"));
    for line in body {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        let state = line
            .split(";;state=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse::<u8>().ok())
            .or(plain.then_some(2))
            .ok_or_else(|| format!("no ;;state= in expected line {t:?}"))?;
        let rr_text = t.split(";;").next().unwrap_or(t);
        let mut ctx = Context::default();
        let rr = text::parse_rr_line(rr_text, &mut ctx)
            .map_err(|e| format!("bad expected key: {e}"))?
            .ok_or("empty key line")?;
        want.push((rr.rdata, state));
    }
    let mut have: Vec<(Vec<u8>, u8)> = keys
        .iter()
        .map(|k| (k.dnskey_rdata.clone(), k.state))
        .collect();
    want.sort();
    have.sort();
    if want != have {
        return Err(format!(
            "autotrust keys differ: expected states {:?}, have {:?}",
            want.iter().map(|w| w.1).collect::<Vec<_>>(),
            have.iter().map(|h| h.1).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// A resolver under test that answers SERVFAIL to everything, for running
/// the harness before the engine exists.
#[derive(Debug, Default)]
pub struct ServfailResolver;

impl ResolverUnderTest for ServfailResolver {
    fn resolve(
        &mut self,
        query: &Message,
        _net: &ScenarioNetwork,
        _time: ScenarioTime,
    ) -> Result<Message, String> {
        let mut m = Message::error_msg(
            query.metadata.id,
            query.metadata.op_code,
            danebound_resolver::wire::ResponseCode::ServFail,
        );
        m.metadata.recursion_desired = query.metadata.recursion_desired;
        m.metadata.recursion_available = true;
        m.queries = query.queries.clone();
        Ok(m)
    }
}

/// A resolver under test that forwards the client query unchanged to one
/// server and returns its reply: useful to test the harness itself.
#[derive(Debug)]
pub struct PassThroughResolver {
    pub server: std::net::SocketAddr,
}

impl ResolverUnderTest for PassThroughResolver {
    fn resolve(
        &mut self,
        query: &Message,
        net: &ScenarioNetwork,
        _time: ScenarioTime,
    ) -> Result<Message, String> {
        let wire = query.to_vec().map_err(|e| e.to_string())?;
        let reply = net
            .answer_wire(self.server, Transport::Udp, &wire)
            .ok_or("upstream timeout")?;
        Message::from_vec(&reply).map_err(|e| e.to_string())
    }
}

/// The default client address of QUERY steps.
pub const DEFAULT_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
