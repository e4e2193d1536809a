//! The fake network: answers the resolver's outgoing queries from the
//! scenario's RANGEs (§5.3), by step and destination, as the file's dialect
//! says.
//!
//! Synchronous and deterministic. The runner sets the current step; a
//! resolver engine wraps [`ScenarioNetwork::answer_wire`] in its transport.
//! Every query is logged for CHECK_OUT_QUERY and for reports.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use danebound_resolver::wire::Message;

use super::compare::{MatchContext, Profile, Transport, check_entry};
use super::entry::Entry;
use super::packet::Packet;
use super::parse::{Dialect, Range, Scenario, StepKind};

/// One query the resolver sent.
#[derive(Debug, Clone)]
pub struct SentQuery {
    /// The step current when it was sent.
    pub step: i64,
    pub server: SocketAddr,
    pub transport: Transport,
    pub wire: Vec<u8>,
    /// Whether a reply was given (else: timeout).
    pub answered: bool,
    /// Where the reply came from, for reports (`range at line N, entry at line M`).
    pub answered_by: Option<String>,
}

#[derive(Debug)]
struct Inner {
    dialect: Dialect,
    ranges: Vec<Range>,
    /// REPLY steps, as one-shot fallbacks: (step, entry, used).
    fallbacks: Mutex<Vec<(i64, Entry, bool)>>,
    step: AtomicI64,
    log: Mutex<Vec<SentQuery>>,
}

/// The scenario's mock servers. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct ScenarioNetwork {
    inner: Arc<Inner>,
}

impl ScenarioNetwork {
    /// Builds the network of a scenario. REPLY steps become one-shot fallback
    /// answers, used only when no range matches (Deckard's rule; testbound
    /// delivers them to the newest pending query, which a synchronous
    /// harness cannot express).
    pub fn new(scenario: &Scenario) -> Self {
        let fallbacks = scenario
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Reply(e) => Some((s.number, e.clone(), false)),
                _ => None,
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                dialect: scenario.config.dialect,
                ranges: scenario.ranges.clone(),
                fallbacks: Mutex::new(fallbacks),
                step: AtomicI64::new(scenario.steps.first().map_or(0, |s| s.number)),
                log: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The step number ranges are selected with.
    pub fn current_step(&self) -> i64 {
        self.inner.step.load(Ordering::SeqCst)
    }

    /// Sets the step number (the runner does this).
    pub fn set_step(&self, step: i64) {
        self.inner.step.store(step, Ordering::SeqCst);
    }

    /// Every query sent so far.
    pub fn sent_queries(&self) -> Vec<SentQuery> {
        self.inner.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Answers `query` sent over UDP to `server` port 53 at `step`.
    /// `None` means no reply (a timeout).
    pub fn answer(&self, step: i64, server: IpAddr, query: &Message) -> Option<Vec<u8>> {
        let wire = query.to_vec().ok()?;
        self.answer_at(step, SocketAddr::new(server, 53), Transport::Udp, &wire)
    }

    /// Answers a wire query sent to `server` at the current step.
    pub fn answer_wire(
        &self,
        server: SocketAddr,
        transport: Transport,
        query: &[u8],
    ) -> Option<Vec<u8>> {
        self.answer_at(self.current_step(), server, transport, query)
    }

    /// Answers a wire query sent to `server` at `step`.
    pub fn answer_at(
        &self,
        step: i64,
        server: SocketAddr,
        transport: Transport,
        query: &[u8],
    ) -> Option<Vec<u8>> {
        let parsed = Packet::from_wire(query).ok();
        let found = parsed
            .as_ref()
            .and_then(|q| self.find(step, server, transport, q));
        let reply = match (&found, &parsed) {
            (Some((entry, _)), Some(q)) => build_reply(entry, q, query, self.inner.dialect),
            _ => None,
        };
        if let Ok(mut log) = self.inner.log.lock() {
            log.push(SentQuery {
                step,
                server,
                transport,
                wire: query.to_vec(),
                answered: reply.is_some(),
                answered_by: found.map(|(_, w)| w),
            });
        }
        reply
    }

    fn find(
        &self,
        step: i64,
        server: SocketAddr,
        transport: Transport,
        q: &Packet,
    ) -> Option<(Entry, String)> {
        let cx = MatchContext {
            dialect: self.inner.dialect,
            profile: Profile::Strict,
            transport,
        };
        let in_window = |r: &&Range| r.first <= step && step <= r.last;
        let hit = |r: &Range, e: &Entry| {
            (
                e.clone(),
                format!("range at line {}, entry at line {}", r.line, e.line),
            )
        };
        let found = match self.inner.dialect {
            Dialect::Unbound => self
                .inner
                .ranges
                .iter()
                .rev()
                .filter(in_window)
                .filter(|r| r.addresses.last().is_none_or(|a| *a == server))
                .find_map(|r| {
                    r.entries
                        .iter()
                        .find(|e| check_entry(e, q, cx).is_ok())
                        .map(|e| hit(r, e))
                }),
            Dialect::Deckard => {
                let named = self
                    .inner
                    .ranges
                    .iter()
                    .any(|r| r.addresses.iter().any(|a| a.ip() == server.ip()));
                self.inner
                    .ranges
                    .iter()
                    .filter(in_window)
                    .filter(|r| !named || r.addresses.iter().any(|a| a.ip() == server.ip()))
                    .find_map(|r| {
                        r.entries
                            .iter()
                            .find(|e| check_entry(e, q, cx).is_ok())
                            .map(|e| hit(r, e))
                    })
            }
            Dialect::Stelline => self
                .inner
                .ranges
                .iter()
                .filter(in_window)
                .flat_map(|r| r.entries.iter().map(move |e| (r, e)))
                .rfind(|(_, e)| check_entry(e, q, cx).is_ok())
                .map(|(r, e)| hit(r, e)),
        };
        if found.is_some() {
            return found;
        }
        // One-shot REPLY step fallback, the earliest at or after `step`.
        let mut fb = self.inner.fallbacks.lock().ok()?;
        let (n, e, used) = fb
            .iter_mut()
            .filter(|(n, _, used)| *n >= step && !used)
            .min_by_key(|(n, _, _)| *n)?;
        *used = true;
        Some((e.clone(), format!("REPLY step {n}")))
    }
}

/// Builds the reply bytes of `entry` for `query` (ADJUST applied, §4.4).
pub fn build_reply(
    entry: &Entry,
    query: &Packet,
    query_wire: &[u8],
    dialect: Dialect,
) -> Option<Vec<u8>> {
    if entry.adjust.do_not_answer {
        return None;
    }
    let first = entry.first();
    if let Some(raw) = &first.raw {
        let mut raw = raw.clone();
        if (entry.adjust.copy_id || entry.adjust.raw_id) && raw.len() >= 2 {
            raw[..2].copy_from_slice(&query.id.to_be_bytes());
        }
        return Some(raw);
    }
    let mut p = first.packet.clone();
    if entry.adjust.copy_id {
        p.id = query.id;
        // Deckard's copy_id also copies the query name, with its case.
        if dialect == Dialect::Deckard
            && let (Some(rq), Some(qq)) = (p.question.first_mut(), query.question.first())
        {
            rq.name = qq.name.clone();
        }
    }
    if entry.adjust.copy_query {
        p.question = query.question.clone();
    }
    let _ = query_wire;
    Some(p.to_wire())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::parse::parse_scenario;
    use danebound_resolver::wire::{Name, RecordType};

    const FILE: &str = "server:
	trust-anchor: \"example. IN DS 1 8 2 00\"
stub-zone:
	name: \".\"
	stub-addr: 192.0.2.1
CONFIG_END
SCENARIO_BEGIN network test
RANGE_BEGIN 0 10
	ADDRESS 192.0.2.1
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR AA NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. IN A 10.0.0.1
ENTRY_END
ENTRY_BEGIN
MATCH opcode subdomain
ADJUST copy_id copy_query
REPLY QR NOERROR
SECTION QUESTION
example. IN NS
SECTION AUTHORITY
example. IN NS ns.example.
ENTRY_END
RANGE_END
RANGE_BEGIN 11 20
	ADDRESS 192.0.2.1
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR AA NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. IN A 10.0.0.2
ENTRY_END
RANGE_END
STEP 1 QUERY
ENTRY_BEGIN
REPLY RD
SECTION QUESTION
www.example. IN A
ENTRY_END
STEP 15 NOTHING
SCENARIO_END
";

    fn query(name: &str, t: RecordType, id: u16) -> Message {
        let mut m = Message::query();
        m.metadata.id = id;
        m.add_query(danebound_resolver::wire::Query::query(
            Name::from_ascii(name).unwrap(),
            t,
        ));
        m
    }

    fn a_of(reply: &[u8]) -> String {
        let p = Packet::from_wire(reply).unwrap();
        let rd = p.answer[0].to_record().unwrap();
        rd.data.to_string()
    }

    #[test]
    fn ranges_by_step_and_address() {
        let s = parse_scenario(FILE).unwrap();
        let net = ScenarioNetwork::new(&s);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let r = net
            .answer(5, ip, &query("www.example.", RecordType::A, 77))
            .unwrap();
        assert_eq!(u16::from_be_bytes([r[0], r[1]]), 77, "copy_id");
        assert_eq!(a_of(&r), "10.0.0.1");
        assert_eq!(
            a_of(
                &net.answer(15, ip, &query("www.example.", RecordType::A, 1))
                    .unwrap()
            ),
            "10.0.0.2"
        );
        // Wrong address: no reply.
        assert!(
            net.answer(
                5,
                "192.0.2.9".parse().unwrap(),
                &query("www.example.", RecordType::A, 1)
            )
            .is_none()
        );
        // Outside every window.
        assert!(
            net.answer(25, ip, &query("www.example.", RecordType::A, 1))
                .is_none()
        );
        // subdomain + copy_query keeps the query's name and case.
        let r = net
            .answer(5, ip, &query("FOO.example.", RecordType::NS, 3))
            .unwrap();
        let p = Packet::from_wire(&r).unwrap();
        assert!(
            p.question[0]
                .name
                .eq_case(&Name::from_ascii("FOO.example.").unwrap())
        );
        assert_eq!(p.authority.len(), 1);
        // Not below example.: no match.
        assert!(
            net.answer(5, ip, &query("other.", RecordType::NS, 3))
                .is_none()
        );
        assert_eq!(net.sent_queries().len(), 6);
    }
}
