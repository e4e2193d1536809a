//! The state machine against small in-memory authorities: glueless
//! delegations, lame servers, CNAME loops, unreachable and unresolvable
//! servers, forged additional data. Every run must end (no hang) within the
//! budgets.

use std::net::{IpAddr, SocketAddr};

use super::hints::RootHints;
use super::machine::{Action, Failure, IterConfig, Iteration, Now, Response, Shared};
use crate::wire::rdata::{A, CNAME, NS, SOA};
use crate::wire::{Message, MessageType, Name, OpCode, RData, Record, RecordType, ResponseCode};

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn a(name: &str, addr: &str) -> Record {
    let IpAddr::V4(v4) = ip(addr) else { panic!() };
    Record::from_rdata(n(name), 300, RData::A(A::from(v4)))
}

fn ns(zone: &str, host: &str) -> Record {
    Record::from_rdata(n(zone), 300, RData::NS(NS(n(host))))
}

fn cname(name: &str, target: &str) -> Record {
    Record::from_rdata(n(name), 300, RData::CNAME(CNAME(n(target))))
}

fn soa(zone: &str) -> Record {
    Record::from_rdata(
        n(zone),
        300,
        RData::SOA(SOA::new(n("ns.invalid."), n("h.invalid."), 1, 2, 3, 4, 60)),
    )
}

/// A reply: `aa`, answer, authority, additional.
fn reply(
    aa: bool,
    answers: Vec<Record>,
    authority: Vec<Record>,
    additional: Vec<Record>,
) -> Message {
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.metadata.authoritative = aa;
    m.answers = answers;
    m.authorities = authority;
    m.additionals = additional;
    m
}

type Authority = dyn Fn(IpAddr, &Name, RecordType) -> Option<Message>;

/// Runs one iteration against `net`; returns the result and the sends.
fn run(
    cfg: &IterConfig,
    shared: &mut Shared,
    qname: &str,
    qtype: RecordType,
    net: &Authority,
) -> (Result<Message, Failure>, u32) {
    let it = Iteration::new(&n(qname), qtype);
    let (result, asked) = run_at(cfg, shared, it, 1000, net);
    (result, u32::try_from(asked.len()).unwrap())
}

/// What `net` answers `server` for `q`: its reply, or a timeout.
fn respond(net: &Authority, server: IpAddr, q: &crate::wire::Query) -> Response {
    match net(server, q.name(), q.query_type()) {
        Some(mut m) => {
            m.add_query(q.clone());
            Response::Reply {
                message: m,
                rtt_ms: 10,
            }
        }
        None => Response::Timeout,
    }
}

/// Runs `it` to its end at `unix`; returns the result and the questions
/// sent.
fn run_at(
    cfg: &IterConfig,
    shared: &mut Shared,
    mut it: Iteration,
    unix: u64,
    net: &Authority,
) -> (Result<Message, Failure>, Vec<(Name, RecordType)>) {
    let now = Now {
        unix,
        elapsed_ms: 0,
    };
    let mut asked = Vec::new();
    for _ in 0..10_000 {
        match it.step(cfg, shared, now, 0) {
            Action::Done(result) => return (result, asked),
            Action::Send(req) => {
                let q = &req.question;
                asked.push((q.name().clone(), q.query_type()));
                let response = respond(net, req.server.ip(), q);
                it.supply(cfg, shared, now, response);
            }
        }
    }
    panic!("the iteration did not end");
}

#[test]
fn priming_asks_the_hints_and_renews_the_root_ns_set_before_it_expires() {
    let cfg = config();
    let mut shared = Shared::default();
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" => root(q, t),
            "192.0.2.2" => Some(reply(
                true,
                vec![a("www.other.", "198.51.100.2")],
                vec![],
                vec![],
            )),
            _ => None,
        }
    };
    // At start: one query, `. NS` to the hints; the NS set (TTL 300) and
    // the root server's address are cached.
    let (result, asked) = run_at(&cfg, &mut shared, Iteration::priming(), 1000, &net);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(asked, vec![(Name::root(), RecordType::NS)]);
    assert!(
        shared
            .cache
            .get(&Name::root(), RecordType::NS, 1299)
            .is_some()
    );
    assert_eq!(
        shared.cache.addresses(&n("k.root."), 1299),
        vec![ip("192.0.2.1")]
    );
    // A question after priming starts from the primed root: no priming
    // query of its own.
    let (result, asked) = run_at(
        &cfg,
        &mut shared,
        Iteration::new(&n("www.other."), RecordType::A),
        1010,
        &net,
    );
    assert!(result.is_ok(), "{result:?}");
    assert!(
        !asked.contains(&(Name::root(), RecordType::NS)),
        "{asked:?}"
    );
    // Before expiry (nine tenths of the TTL): asked again although cached,
    // and the set lives a full TTL from then.
    let again = super::driver::prime_again_after(300).as_secs();
    assert_eq!(again, 270);
    let (result, asked) = run_at(&cfg, &mut shared, Iteration::priming(), 1000 + again, &net);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(asked, vec![(Name::root(), RecordType::NS)]);
    assert!(
        shared
            .cache
            .get(&Name::root(), RecordType::NS, 1300)
            .is_some()
    );
    assert!(
        shared
            .cache
            .get(&Name::root(), RecordType::NS, 1000 + again + 299)
            .is_some()
    );
    assert!(
        shared
            .cache
            .get(&Name::root(), RecordType::NS, 1000 + again + 300)
            .is_none()
    );
    // Without an answer, priming fails (the driver retries with backoff).
    let (result, _) = run_at(
        &cfg,
        &mut Shared::default(),
        Iteration::priming(),
        1000,
        &|_, _, _| None,
    );
    assert!(result.is_err());
}

/// Runs a resolution of `qname` A with empty caches that must fail.
fn run_to_failure(cfg: &IterConfig, qname: &str, net: &Authority) -> (Failure, u32) {
    let (result, sends) = run(cfg, &mut Shared::default(), qname, RecordType::A, net);
    match result {
        Err(failure) => (failure, sends),
        Ok(m) => panic!("{qname}: an answer where a failure was due: {m}"),
    }
}

fn config() -> IterConfig {
    IterConfig {
        hints: RootHints::new(vec![(n("k.root."), vec![ip("192.0.2.1")])]),
        qname_minimisation: false,
        ..IterConfig::default()
    }
}

/// The root: `. NS k.root.`, and referrals for `example.` and `other.`.
fn root(q: &Name, t: RecordType) -> Option<Message> {
    if q.is_root() && t == RecordType::NS {
        return Some(reply(
            true,
            vec![ns(".", "k.root.")],
            vec![],
            vec![a("k.root.", "192.0.2.1")],
        ));
    }
    if n("example.").zone_of(q) {
        // Glueless: the server's name is in another zone.
        return Some(reply(
            false,
            vec![],
            vec![ns("example.", "ns.other.")],
            vec![],
        ));
    }
    if n("other.").zone_of(q) {
        return Some(reply(
            false,
            vec![],
            vec![ns("other.", "ns.other.")],
            // In-bailiwick glue, and a forged record for another zone.
            vec![
                a("ns.other.", "192.0.2.2"),
                a("www.victim.", "203.0.113.66"),
            ],
        ));
    }
    Some(reply(true, vec![], vec![soa(".")], vec![]))
}

#[test]
fn glueless_delegation_is_resolved_and_forged_additional_data_never_cached() {
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" => root(q, t),
            "192.0.2.2" if *q == n("ns.other.") && t == RecordType::A => Some(reply(
                true,
                vec![a("ns.other.", "192.0.2.3")],
                vec![],
                vec![],
            )),
            "192.0.2.3" if *q == n("www.example.") => Some(reply(
                true,
                vec![a("www.example.", "198.51.100.1")],
                vec![],
                vec![],
            )),
            _ => None,
        }
    };
    let cfg = config();
    let mut shared = Shared::default();
    let (result, sends) = run(&cfg, &mut shared, "www.example.", RecordType::A, &net);
    let m = result.unwrap();
    assert_eq!(m.answers, vec![a("www.example.", "198.51.100.1")]);
    assert!(sends <= 6, "{sends} sends");
    // RFC 2181 §5.4.1 / bailiwick: the root's additional A for another name
    // was never cached, so it can neither be used nor served.
    assert!(shared.cache.addresses(&n("www.victim."), 1000).is_empty());
    assert!(
        shared
            .cache
            .answer(&n("www.victim."), RecordType::A, 1000)
            .is_none()
    );
}

#[test]
fn a_lame_server_is_avoided() {
    // example. has two servers; 192.0.2.5 answers with an upward referral.
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" if n("example.").zone_of(q) && !(q.is_root()) => Some(reply(
                false,
                vec![],
                vec![ns("example.", "a.example."), ns("example.", "b.example.")],
                vec![a("a.example.", "192.0.2.5"), a("b.example.", "192.0.2.6")],
            )),
            "192.0.2.1" => root(q, t),
            "192.0.2.5" => Some(reply(false, vec![], vec![ns(".", "k.root.")], vec![])),
            "192.0.2.6" => Some(reply(
                true,
                vec![a("www.example.", "198.51.100.7")],
                vec![],
                vec![],
            )),
            _ => None,
        }
    };
    let cfg = config();
    let mut shared = Shared::default();
    for _ in 0..3 {
        let (result, _) = run(&cfg, &mut shared, "www.example.", RecordType::A, &net);
        assert_eq!(
            result.unwrap().answers,
            vec![a("www.example.", "198.51.100.7")]
        );
    }
    assert!(shared.infra.is_lame(ip("192.0.2.5"), &n("example."), 1000));
}

#[test]
fn cname_loops_across_zones_end_in_failure() {
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" if *q == n("a.loop.") || *q == n("b.loop.") => Some(reply(
                false,
                vec![],
                vec![ns("loop.", "ns.loop.")],
                vec![a("ns.loop.", "192.0.2.9")],
            )),
            "192.0.2.1" => root(q, t),
            // a.loop. -> b.loop. -> a.loop., one answer at a time.
            "192.0.2.9" if *q == n("a.loop.") => Some(reply(
                true,
                vec![cname("a.loop.", "b.loop.")],
                vec![],
                vec![],
            )),
            "192.0.2.9" if *q == n("b.loop.") => Some(reply(
                true,
                vec![cname("b.loop.", "a.loop.")],
                vec![],
                vec![],
            )),
            _ => None,
        }
    };
    let (failure, sends) = run_to_failure(&config(), "a.loop.", &net);
    assert!(failure.why.contains("loop at"), "{failure:?}");
    // RFC 8914 has no code for a loop: Other, with the text naming it.
    assert_eq!(failure.ede, 0, "{failure:?}");
    assert!(sends < 10, "{sends}");
}

#[test]
fn unreachable_and_unresolvable_servers_end_in_servfail_within_budget() {
    // The root delegates example. to ten names under nx., which the root
    // says do not exist (NXNS-style), and to one address that never answers.
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" if n("example.").zone_of(q) => Some(reply(
                false,
                vec![],
                (0..10)
                    .map(|i| ns("example.", &format!("ns{i}.nx.")))
                    .chain([ns("example.", "dead.example.")])
                    .collect(),
                vec![a("dead.example.", "192.0.2.99")],
            )),
            "192.0.2.1" if n("nx.").zone_of(q) => {
                let mut m = reply(true, vec![], vec![soa(".")], vec![]);
                m.metadata.response_code = ResponseCode::NXDomain;
                Some(m)
            }
            "192.0.2.1" => root(q, t),
            _ => None,
        }
    };
    let cfg = config();
    let (failure, sends) = run_to_failure(&cfg, "www.example.", &net);
    // RFC 8914 §4.23: no authority reachable; the text says why.
    assert_eq!(failure.ede, 22, "{failure:?}");
    assert!(
        failure.why.contains("example.") && failure.why.contains("timed out"),
        "{failure:?}"
    );
    assert!(failure.why.contains("ns0.nx. (NXDOMAIN)"), "{failure:?}");
    // One timeout, a few NS lookups until the NX budget (5) is spent.
    assert!(sends < 20, "{sends} sends");
    assert!(sends <= cfg.limits.max_sends);
}

#[test]
fn the_time_budget_ends_an_iteration() {
    let cfg = config();
    let mut shared = Shared::default();
    let mut it = Iteration::new(&n("www.example."), RecordType::A);
    let late = Now {
        unix: 1000,
        elapsed_ms: cfg.limits.max_time_ms + 1,
    };
    let Action::Done(Err(failure)) = it.step(&cfg, &mut shared, late, 0) else {
        panic!("the time budget did not end the iteration");
    };
    assert_eq!(failure.ede, 0, "{failure:?}");
    assert!(failure.why.contains("time limit"), "{failure:?}");
}

#[test]
fn a_time_limit_spent_on_timeouts_names_the_zone_and_its_servers() {
    let cfg = config();
    let mut shared = Shared::default();
    let mut it = Iteration::new(&n("www.example."), RecordType::A);
    let mut now = Now {
        unix: 1000,
        elapsed_ms: 0,
    };
    let failure = loop {
        match it.step(&cfg, &mut shared, now, 0) {
            Action::Done(result) => break result.unwrap_err(),
            Action::Send(req) => {
                // Never wait past the time limit.
                assert!(now.elapsed_ms + u64::from(req.timeout_ms) <= cfg.limits.max_time_ms);
                let response = if req.server.ip() == ip("192.0.2.1") {
                    let mut m =
                        delegating_root(req.question.name(), req.question.query_type()).unwrap();
                    m.add_query(req.question.clone());
                    Response::Reply {
                        message: m,
                        rtt_ms: 10,
                    }
                } else {
                    // example.'s first server times out, and takes the
                    // rest of the time with it.
                    now.elapsed_ms = cfg.limits.max_time_ms;
                    Response::Timeout
                };
                it.supply(&cfg, &mut shared, now, response);
            }
        }
    };
    assert_eq!(failure.ede, 22, "{failure:?}");
    assert!(
        failure
            .why
            .starts_with("no reachable authority for example.: 1 timed out"),
        "{failure:?}"
    );
    assert!(failure.why.contains("time limit"), "{failure:?}");
}

/// The root delegates `example.` to the servers `net` gives for
/// 192.0.2.5 and 192.0.2.6 (glue in the referral).
fn delegating_root(q: &Name, t: RecordType) -> Option<Message> {
    if n("example.").zone_of(q) {
        return Some(reply(
            false,
            vec![],
            vec![ns("example.", "a.example."), ns("example.", "b.example.")],
            vec![a("a.example.", "192.0.2.5"), a("b.example.", "192.0.2.6")],
        ));
    }
    root(q, t)
}

#[test]
fn a_lame_delegation_says_so() {
    // Both servers of example. answer without authority (upward referral,
    // and a recursion-lame NXDOMAIN without AA).
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" => delegating_root(q, t),
            "192.0.2.5" => Some(reply(false, vec![], vec![ns(".", "k.root.")], vec![])),
            "192.0.2.6" => {
                let mut m = reply(false, vec![], vec![soa("example.")], vec![]);
                m.metadata.recursion_available = true;
                m.metadata.response_code = ResponseCode::NXDomain;
                Some(m)
            }
            _ => None,
        }
    };
    let (failure, _) = run_to_failure(&config(), "www.example.", &net);
    assert_eq!(failure.ede, 22, "{failure:?}");
    assert!(
        failure.why.starts_with("lame delegation: example.: 2 lame"),
        "{failure:?}"
    );
}

#[test]
fn servers_that_time_out_are_no_reachable_authority_and_broken_exchanges_a_network_error() {
    for (broken, ede, text) in [
        (
            false,
            22,
            "no reachable authority for example.: 2 timed out",
        ),
        (
            true,
            23,
            "network error reaching the servers of example.: 2 network errors",
        ),
    ] {
        let cfg = config();
        let mut shared = Shared::default();
        let mut it = Iteration::new(&n("www.example."), RecordType::A);
        let now = Now {
            unix: 1000,
            elapsed_ms: 0,
        };
        let failure = loop {
            match it.step(&cfg, &mut shared, now, 0) {
                Action::Done(result) => break result.unwrap_err(),
                Action::Send(req) => {
                    let response = match req.server.ip().to_string().as_str() {
                        "192.0.2.1" => {
                            let mut m =
                                delegating_root(req.question.name(), req.question.query_type())
                                    .unwrap();
                            m.add_query(req.question.clone());
                            Response::Reply {
                                message: m,
                                rtt_ms: 10,
                            }
                        }
                        _ if broken => Response::Failed,
                        _ => Response::Timeout,
                    };
                    it.supply(&cfg, &mut shared, now, response);
                }
            }
        };
        assert_eq!(failure.ede, ede, "{failure:?}");
        assert!(failure.why.starts_with(text), "{failure:?}");
    }
}

#[test]
fn a_spent_budget_is_named() {
    // Every server times out; with room for three queries the global
    // quota ends the resolution first.
    let cfg = IterConfig {
        limits: super::machine::IterLimits {
            max_sends: 3,
            ..Default::default()
        },
        ..config()
    };
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" => delegating_root(q, t),
            _ => None,
        }
    };
    let (failure, sends) = run_to_failure(&cfg, "www.example.", &net);
    assert_eq!(sends, 3);
    assert_eq!(failure.ede, 0, "{failure:?}");
    assert!(
        failure
            .why
            .starts_with("resolution budget exhausted: 3 queries sent (max-global-quota)"),
        "{failure:?}"
    );
}

#[test]
fn stub_zones_are_asked_without_rd_and_forward_zones_with_rd() {
    let cfg = IterConfig {
        stub_zones: vec![super::machine::ZoneServers {
            zone: n("stub.example."),
            servers: vec![SocketAddr::from(([192, 0, 2, 40], 5353))],
        }],
        forward_zones: vec![super::machine::ZoneServers {
            zone: n("fwd.example."),
            servers: vec![SocketAddr::from(([192, 0, 2, 50], 53))],
        }],
        ..config()
    };
    let mut shared = Shared::default();
    for (qname, server, rd) in [
        (
            "www.stub.example.",
            SocketAddr::from(([192, 0, 2, 40], 5353)),
            false,
        ),
        (
            "www.fwd.example.",
            SocketAddr::from(([192, 0, 2, 50], 53)),
            true,
        ),
    ] {
        let mut it = Iteration::new(&n(qname), RecordType::A);
        let now = Now {
            unix: 1000,
            elapsed_ms: 0,
        };
        let Action::Send(req) = it.step(&cfg, &mut shared, now, 0) else {
            panic!("{qname}: nothing sent");
        };
        assert_eq!(req.server, server, "{qname}");
        assert_eq!(req.flags.rd, rd, "{qname}");
        let mut m = reply(rd, vec![a(qname, "198.51.100.9")], vec![], vec![]);
        m.metadata.recursion_available = rd;
        m.add_query(req.question.clone());
        it.supply(
            &cfg,
            &mut shared,
            now,
            Response::Reply {
                message: m,
                rtt_ms: 5,
            },
        );
        let Action::Done(Ok(answer)) = it.step(&cfg, &mut shared, now, 0) else {
            panic!("{qname}: no answer");
        };
        assert_eq!(answer.answers, vec![a(qname, "198.51.100.9")]);
    }
}

fn rrsig(owner: &str, covered: RecordType, signer: &str) -> Record {
    use crate::wire::{Algorithm, DNSSECRData, RRSIG};
    use hickory_proto::dnssec::rdata::SigInput;
    use hickory_proto::rr::SerialNumber;
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ED25519,
        num_labels: 2,
        original_ttl: 300,
        sig_expiration: SerialNumber::new(2),
        sig_inception: SerialNumber::new(1),
        key_tag: 1,
        signer_name: n(signer),
    };
    Record::from_rdata(
        n(owner),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![1; 64]))),
    )
}

fn ds(owner: &str) -> Record {
    use crate::wire::{Algorithm, DNSSECRData, DS, DigestType};
    Record::from_rdata(
        n(owner),
        300,
        RData::DNSSEC(DNSSECRData::DS(DS::new(
            1,
            Algorithm::ED25519,
            DigestType::SHA256,
            vec![0; 32],
        ))),
    )
}

/// The root delegates the signed `example.` (DS in the referral) to
/// 192.0.2.5, which strips RRSIGs, and 192.0.2.6, which does not.
fn signed_net(server: IpAddr, q: &Name, t: RecordType) -> Option<Message> {
    let answer = |signed: bool| {
        let mut answers = vec![a("www.example.", "198.51.100.9")];
        let mut authority = vec![ns("example.", "a.example."), ns("example.", "b.example.")];
        if signed {
            answers.push(rrsig("www.example.", RecordType::A, "example."));
            authority.push(rrsig("example.", RecordType::NS, "example."));
        }
        Some(reply(true, answers, authority, vec![]))
    };
    match server.to_string().as_str() {
        "192.0.2.1" if n("example.").zone_of(q) => Some(reply(
            false,
            vec![],
            vec![
                ns("example.", "a.example."),
                ns("example.", "b.example."),
                ds("example."),
                rrsig("example.", RecordType::DS, "."),
            ],
            vec![a("a.example.", "192.0.2.5"), a("b.example.", "192.0.2.6")],
        )),
        "192.0.2.1" => root(q, t),
        "192.0.2.5" => answer(false),
        "192.0.2.6" => answer(true),
        _ => None,
    }
}

#[test]
fn a_dnssec_lame_server_is_remembered_and_the_signed_answer_taken_elsewhere() {
    let cfg = config();
    let mut shared = Shared::default();
    // Whichever server is asked first, the answer is the signed one, and
    // the stripping server is remembered.
    for (round, unix) in [1000, 1001, 1002].into_iter().enumerate() {
        let (result, asked) = run_at(
            &cfg,
            &mut shared,
            Iteration::new(&n("www.example."), RecordType::A),
            unix,
            &signed_net,
        );
        let m = result.unwrap();
        assert!(
            m.answers
                .iter()
                .any(|r| r.record_type() == RecordType::RRSIG),
            "round {round}: {m}"
        );
        if round > 0 {
            // Known DNSSEC-lame: not asked again; one query for the answer
            // (the answer cache is bypassed by a fresh name below).
            assert!(asked.len() <= 1, "round {round}: {asked:?}");
        }
    }
    // The lame one is known; a new name goes straight to the other server.
    assert!(
        shared
            .infra
            .is_dnssec_lame(ip("192.0.2.5"), &n("example."), 1003)
    );
    assert!(
        !shared
            .infra
            .is_dnssec_lame(ip("192.0.2.6"), &n("example."), 1003)
    );
    let asked_of = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = asked_of.clone();
    let net = move |server: IpAddr, q: &Name, t: RecordType| {
        log.borrow_mut().push(server);
        signed_net(server, &n("www.example."), t).map(|mut m| {
            for r in &mut m.answers {
                if r.name == n("www.example.") {
                    r.name = q.clone();
                }
            }
            m
        })
    };
    for i in 0..8 {
        let name = format!("host{i}.example.");
        let (result, _) = run_at(
            &cfg,
            &mut shared,
            Iteration::new(&n(&name), RecordType::A),
            1003,
            &net,
        );
        assert!(result.is_ok(), "{name}: {result:?}");
    }
    assert!(
        !asked_of.borrow().contains(&ip("192.0.2.5")),
        "{:?}",
        asked_of.borrow()
    );
}

#[test]
fn with_only_dnssec_lame_servers_the_unsigned_reply_goes_on_to_the_validator() {
    // Both servers strip: the reply is not thrown away (the validator
    // judges it, and says why), nor is the resolution a lame failure.
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.6" => signed_net(ip("192.0.2.5"), q, t),
            other => signed_net(other.parse().unwrap(), q, t),
        }
    };
    let (result, _) = run_at(
        &config(),
        &mut Shared::default(),
        Iteration::new(&n("www.example."), RecordType::A),
        1000,
        &net,
    );
    let m = result.unwrap();
    assert_eq!(m.answers, vec![a("www.example.", "198.51.100.9")]);
}

/// Issue 10: a child zone whose own NS set and server address differ from
/// the parent's delegation and glue. `child.` is delegated by the root to
/// `ns1.child.` (glue 192.0.2.10); the child itself says `ns2.child.`
/// (192.0.2.20). Both servers serve the zone.
fn pc_net(server: IpAddr, q: &Name, t: RecordType) -> Option<Message> {
    let child = n("child.");
    match server.to_string().as_str() {
        "192.0.2.1" if q.is_root() && t == RecordType::NS => root(q, t),
        "192.0.2.1" if child.zone_of(q) => Some(reply(
            false,
            vec![],
            vec![ns("child.", "ns1.child.")],
            vec![a("ns1.child.", "192.0.2.10")],
        )),
        "192.0.2.10" | "192.0.2.20" if child.zone_of(q) => Some(match t {
            RecordType::NS if *q == child => {
                reply(true, vec![ns("child.", "ns2.child.")], vec![], vec![])
            }
            RecordType::A if *q == n("ns2.child.") => {
                reply(true, vec![a("ns2.child.", "192.0.2.20")], vec![], vec![])
            }
            _ => reply(true, vec![a(&q.to_ascii(), "198.51.100.1")], vec![], vec![]),
        }),
        _ => None,
    }
}

/// Runs one question against [`pc_net`] at `unix`; the servers asked.
fn servers_asked(cfg: &IterConfig, shared: &mut Shared, qname: &str, unix: u64) -> Vec<IpAddr> {
    let servers = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = servers.clone();
    let net = move |server: IpAddr, q: &Name, t: RecordType| {
        seen.borrow_mut().push(server);
        pc_net(server, q, t)
    };
    let (result, _) = run_at(
        cfg,
        shared,
        Iteration::new(&n(qname), RecordType::A),
        unix,
        &net,
    );
    assert!(result.is_ok(), "{qname}: {result:?}");
    servers.borrow().clone()
}

#[test]
fn validated_ns_sets_and_addresses_outrank_glue_for_server_selection() {
    use super::cache::Rank;
    let cfg = config();
    let mut shared = Shared::default();
    let child = n("child.");
    // Cold: the parent's referral and glue lead to ns1 (192.0.2.10).
    let asked = servers_asked(&cfg, &mut shared, "www.child.", 1000);
    assert_eq!(asked.last(), Some(&ip("192.0.2.10")), "{asked:?}");
    assert_eq!(
        shared.cache.rank(&child, RecordType::NS, 1000),
        Some(Rank::AuthorityNoAa)
    );
    // The engine validated the child's own NS set and ns2's address.
    shared
        .cache
        .store_validated(vec![ns("child.", "ns2.child.")], 1000);
    shared
        .cache
        .store_validated(vec![a("ns2.child.", "192.0.2.20")], 1000);
    assert_eq!(
        shared.cache.rank(&child, RecordType::NS, 1000),
        Some(Rank::Validated)
    );
    // Later questions go to the child's own server.
    let asked = servers_asked(&cfg, &mut shared, "www2.child.", 1010);
    assert_eq!(asked, vec![ip("192.0.2.20")]);
    // Neither a referral's NS set and glue nor an unvalidated
    // authoritative answer replaces the validated sets.
    shared
        .cache
        .store(vec![ns("child.", "ns1.child.")], Rank::AuthorityNoAa, 1020);
    shared
        .cache
        .store(vec![a("ns2.child.", "203.0.113.66")], Rank::Glue, 1020);
    shared
        .cache
        .store(vec![ns("child.", "ns3.child.")], Rank::AnswerAa, 1020);
    let d = shared.cache.delegation(&child, 1020).unwrap();
    assert_eq!(d.servers, vec![(n("ns2.child."), vec![ip("192.0.2.20")])]);
    // A bogus verdict does not drop a validated set.
    shared.cache.forget_bogus(&child, RecordType::NS, 1020);
    assert!(shared.cache.delegation(&child, 1020).is_some());
    // Expiry: the validated sets live no longer than the referral they
    // replaced (TTL 300 from 1000, never extended: ghost domains); then
    // the parent is asked again and its glue is used.
    assert!(shared.cache.delegation(&child, 1299).is_some());
    assert!(shared.cache.delegation(&child, 1300).is_none());
    let asked = servers_asked(&cfg, &mut shared, "www3.child.", 1300);
    assert_eq!(asked.last(), Some(&ip("192.0.2.10")), "{asked:?}");
}

#[test]
fn what_the_engine_proves_bogus_is_dropped_from_the_iterators_caches() {
    use super::cache::Rank;
    let cfg = config();
    let mut shared = Shared::default();
    let child = n("child.");
    // The child's NS set, asked of it: an authoritative (unvalidated)
    // answer replaces the referral's set and would pick the servers.
    let (result, _) = run_at(
        &cfg,
        &mut shared,
        Iteration::new(&child, RecordType::NS),
        1000,
        &pc_net,
    );
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        shared.cache.rank(&child, RecordType::NS, 1000),
        Some(Rank::AnswerAa)
    );
    assert!(shared.cache.answer(&child, RecordType::NS, 1000).is_some());
    // The engine found it bogus: neither the set nor the answer is kept.
    shared.cache.forget_bogus(&child, RecordType::NS, 1000);
    assert_eq!(shared.cache.rank(&child, RecordType::NS, 1000), None);
    assert!(shared.cache.answer(&child, RecordType::NS, 1000).is_none());
    // The next question starts from the root's referral again.
    let asked = servers_asked(&cfg, &mut shared, "www.child.", 1001);
    assert_eq!(asked, vec![ip("192.0.2.1"), ip("192.0.2.10")]);
}

/// Runs `it` at 1000 like [`run_at`]; returns the zones whose DNSKEY sets
/// it offered to fetch ahead, in order.
fn key_prefetches(
    cfg: &IterConfig,
    shared: &mut Shared,
    mut it: Iteration,
    net: &Authority,
) -> Vec<Name> {
    let now = Now {
        unix: 1000,
        elapsed_ms: 0,
    };
    let mut offered = Vec::new();
    for _ in 0..10_000 {
        match it.step(cfg, shared, now, 0) {
            Action::Done(_) => return offered,
            Action::Send(req) => {
                let q = &req.question;
                let response = respond(net, req.server.ip(), q);
                it.supply(cfg, shared, now, response);
                offered.extend(it.take_key_prefetches());
            }
        }
    }
    panic!("the iteration did not end");
}

#[test]
fn a_referral_with_a_usable_ds_offers_the_zones_dnskey_fetch_ahead() {
    let cfg = config();
    // The question's own referral to the signed `example.`: offered once.
    let offered = key_prefetches(
        &cfg,
        &mut Shared::default(),
        Iteration::new(&n("www.example."), RecordType::A),
        &signed_net,
    );
    assert_eq!(offered, vec![n("example.")]);
    // Not on a retry that avoids servers, nor for the DNSKEY question
    // itself.
    let offered = key_prefetches(
        &cfg,
        &mut Shared::default(),
        Iteration::new(&n("www.example."), RecordType::A).avoiding(vec![ip("192.0.2.5")]),
        &signed_net,
    );
    assert!(offered.is_empty(), "{offered:?}");
    let offered = key_prefetches(
        &cfg,
        &mut Shared::default(),
        Iteration::new(&n("example."), RecordType::DNSKEY).for_validation(true),
        &signed_net,
    );
    assert!(offered.is_empty(), "{offered:?}");
    // Nor for a question whose answer will not be validated (CD=1, a
    // negative trust anchor): no validation will ask for the keys.
    let offered = key_prefetches(
        &cfg,
        &mut Shared::default(),
        Iteration::new(&n("www.example."), RecordType::A).unvalidated(true),
        &signed_net,
    );
    assert!(offered.is_empty(), "{offered:?}");
    // Referrals without DS (the glueless `example.` and `other.` of
    // `root`, also met while resolving the NS host's address): nothing.
    let net = |server: IpAddr, q: &Name, t: RecordType| match server.to_string().as_str() {
        "192.0.2.1" => root(q, t),
        "192.0.2.2" => Some(reply(
            true,
            vec![a("ns.other.", "192.0.2.2")],
            vec![],
            vec![],
        )),
        _ => None,
    };
    let offered = key_prefetches(
        &cfg,
        &mut Shared::default(),
        Iteration::new(&n("www.example."), RecordType::A),
        &net,
    );
    assert!(offered.is_empty(), "{offered:?}");
}

#[test]
fn a_referral_whose_ds_the_validator_cannot_use_offers_nothing() {
    use crate::wire::{Algorithm, DNSSECRData, DS, DigestType};
    // RFC 4035 §5.2: only unsupported DS records make the zone insecure
    // without its keys, so they are not fetched ahead.
    let unusable = Record::from_rdata(
        n("example."),
        300,
        RData::DNSSEC(DNSSECRData::DS(DS::new(
            1,
            Algorithm::ED25519,
            DigestType::Unknown(100),
            vec![0; 32],
        ))),
    );
    let net = move |server: IpAddr, q: &Name, t: RecordType| match server.to_string().as_str() {
        "192.0.2.1" if n("example.").zone_of(q) => Some(reply(
            false,
            vec![],
            vec![
                ns("example.", "a.example."),
                unusable.clone(),
                rrsig("example.", RecordType::DS, "."),
            ],
            vec![a("a.example.", "192.0.2.6")],
        )),
        _ => signed_net(server, q, t),
    };
    let offered = key_prefetches(
        &config(),
        &mut Shared::default(),
        Iteration::new(&n("www.example."), RecordType::A),
        &net,
    );
    assert!(offered.is_empty(), "{offered:?}");
}

/// unbound's rrset cache: an RRset an authoritative answer brought (here
/// the target of a CNAME, in the same answer) answers a later question for
/// it without a query; glue (RFC 2181 §5.4.1, the lowest rank) never does,
/// nor does the cache for a retry that avoids servers.
#[test]
fn an_authoritative_answers_rrsets_answer_later_questions_glue_does_not() {
    let cfg = config();
    let mut shared = Shared::default();
    let net = |server: IpAddr, q: &Name, t: RecordType| -> Option<Message> {
        match server.to_string().as_str() {
            "192.0.2.1" => root(q, t),
            "192.0.2.2" if *q == n("alias.other.") => Some(reply(
                true,
                vec![
                    cname("alias.other.", "www.other."),
                    a("www.other.", "198.51.100.2"),
                ],
                vec![],
                vec![],
            )),
            "192.0.2.2" => Some(reply(
                true,
                vec![a(&q.to_ascii(), "198.51.100.9")],
                vec![],
                vec![],
            )),
            _ => None,
        }
    };
    let it = |name: &str| Iteration::new(&n(name), RecordType::A);
    let (result, asked) = run_at(&cfg, &mut shared, it("alias.other."), 1000, &net);
    assert!(result.is_ok(), "{result:?}");
    assert!(
        asked.contains(&(n("alias.other."), RecordType::A)),
        "{asked:?}"
    );
    // The target, asked directly: from the answer above, no query.
    let (result, asked) = run_at(&cfg, &mut shared, it("www.other."), 1001, &net);
    assert!(asked.is_empty(), "{asked:?}");
    let m = result.unwrap();
    assert_eq!(
        m.answers,
        vec![a("www.other.", "198.51.100.2")]
            .into_iter()
            .map(|mut r| {
                r.ttl = 299;
                r
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(m.queries[0].name(), &n("www.other."));
    // The server's address came as glue only: asked of the server.
    let (result, asked) = run_at(&cfg, &mut shared, it("ns.other."), 1001, &net);
    assert_eq!(asked, vec![(n("ns.other."), RecordType::A)]);
    assert_eq!(
        result.unwrap().answers,
        vec![a("ns.other.", "198.51.100.9")]
    );
    // Not for a retry that avoids servers.
    let (_, asked) = run_at(
        &cfg,
        &mut shared,
        it("www.other.").avoiding(vec![ip("192.0.2.9")]),
        1001,
        &net,
    );
    assert_eq!(
        asked.last(),
        Some(&(n("www.other."), RecordType::A)),
        "{asked:?}"
    );
}
