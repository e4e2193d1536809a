//! Spoofing (issue 11, item 8): while danebound waits for a slow upstream,
//! a spoofer floods its upstream socket with forged answers — random IDs,
//! random ports, and replies with the right ID and port but not the 0x20
//! case of the query — and nothing forged is ever served or cached, in
//! forwarding and in recursive mode (a forward zone, so the iterator's
//! path). A control run with `use_caps_for_id = false` shows that the same
//! flood does poison a resolver without 0x20, so the test can fail. A
//! server that does not preserve case is still answered (the fallback).
//!
//! The spoofer sits where an attacker's forged datagrams appear to come
//! from: the upstream's own address and port (a second socket, bound to
//! the same address with SO_REUSEPORT would do as well; sending from the
//! upstream's socket is simpler). It is told the query's ID and source port
//! (an on-path attacker's knowledge, far more than an off-path one has);
//! only the case is unknown to it. Needs no lab and no root: the fake
//! upstreams live on 127.55.11.0/24, danebound on loopback too.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use danebound_resolver::config::{Config, ZoneConfig};
use danebound_resolver::transport::FORGERIES;
use danebound_resolver::wire::Name;
use danebound_tests::lab::{Danebound, QueryOptions, query};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// Forged datagrams per query with a random wrong ID, to the right port.
const WRONG_ID: usize = 300;
/// Forged datagrams per query with the right ID and port, wrong case.
const WRONG_CASE: usize = 50;
/// Forged datagrams per query to random ports of danebound's address.
const BLIND: usize = 300;
/// How long the genuine answer takes: slow beside the flood, but within
/// the iterator's first timeout (376 ms, unbound's RTO for an unknown
/// server). A genuine answer later than the timeout would leave only the
/// held wrong-case forgery, and the query layer would then take the server
/// for one that does not preserve case and ask it plainly (see
/// `upstream.rs`): a spoofer that knows the ID and port, as this one does,
/// wins that second query as it would without 0x20.
const SLOW: Duration = Duration::from_millis(150);

/// The genuine address and the forged one.
const GENUINE: [u8; 4] = [192, 0, 2, 1];
const FORGED: [u8; 4] = [192, 0, 2, 66];

/// A small xorshift, seeded from the clock: random enough for IDs and ports.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn u16(&mut self) -> u16 {
        (self.next() >> 32) as u16
    }
}

/// The question section of `query` (from offset 12: name, type, class).
fn question(query: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        if len == 0 {
            return query.get(12..at + 5);
        }
        at += len + 1;
    }
}

/// A reply to `q` (question bytes as given) with ID `id`: `A addr`, AA.
fn reply(id: u16, q: &[u8], addr: [u8; 4]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    m.extend_from_slice(q);
    m.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
    m.extend_from_slice(&addr);
    m
}

/// `q` with the case of every letter of its name flipped.
fn flipped(q: &[u8]) -> Vec<u8> {
    let name_end = q.len() - 4;
    let mut out = q.to_vec();
    for b in &mut out[..name_end] {
        if b.is_ascii_alphabetic() {
            *b ^= 0x20;
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Slow and genuine, with a spoofer flooding beside it.
    SlowUnderAttack,
    /// Answers at once, with the question's name in lower case.
    LowersCase,
}

/// A fake upstream on a loopback address, and the spoofer sharing its
/// socket.
struct Upstream {
    addr: SocketAddr,
    /// Every query's question, as received.
    questions: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Forged datagrams sent.
    forged: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    fn start(ip: &str, behaviour: Behaviour) -> Self {
        let socket = UdpSocket::bind((ip, 0)).expect("bind fake upstream");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let questions = Arc::new(Mutex::new(Vec::new()));
        let forged = Arc::new(AtomicU64::new(0));
        let (flag, seen, sent) = (stop.clone(), questions.clone(), forged.clone());
        let thread = thread::spawn(move || {
            let mut rng = Rng::new();
            let mut buf = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let wire = &buf[..n];
                let Some(q) = question(wire) else { continue };
                let id = u16::from_be_bytes([wire[0], wire[1]]);
                seen.lock().unwrap().push(q.to_vec());
                match behaviour {
                    Behaviour::LowersCase => {
                        let _ = socket.send_to(&reply(id, &q.to_ascii_lowercase(), GENUINE), from);
                    }
                    Behaviour::SlowUnderAttack => {
                        let mut count = 0;
                        // Known ID and port, the case guessed wrong (first,
                        // before the rest fills the receive buffer).
                        let wrong = flipped(q);
                        for _ in 0..WRONG_CASE {
                            count +=
                                u64::from(socket.send_to(&reply(id, &wrong, FORGED), from).is_ok());
                        }
                        // Guessed port and case, wrong ID.
                        for i in 0..WRONG_ID {
                            if i % 50 == 49 {
                                // Paced, so the kernel's receive buffer
                                // does not drop most of them.
                                thread::sleep(Duration::from_millis(2));
                            }
                            let mut other = rng.u16();
                            if other == id {
                                other ^= 1;
                            }
                            count +=
                                u64::from(socket.send_to(&reply(other, q, FORGED), from).is_ok());
                        }
                        // Blind: random ports, random IDs.
                        for _ in 0..BLIND {
                            let port = 1024 + rng.u16() % (u16::MAX - 1024);
                            let to = SocketAddr::new(from.ip(), port);
                            count +=
                                u64::from(socket.send_to(&reply(rng.u16(), q, FORGED), to).is_ok());
                        }
                        sent.fetch_add(count, Ordering::Relaxed);
                        thread::sleep(SLOW);
                        let _ = socket.send_to(&reply(id, q, GENUINE), from);
                    }
                }
            }
        });
        Self {
            addr,
            questions,
            forged,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Forwarding,
    /// Recursive, with `example.` a forward zone: the iterator's path.
    Recursive,
}

fn danebound_for(listen: &str, upstream: SocketAddr, mode: Mode, caps: bool) -> Danebound {
    let mut config = Config {
        listen: vec![format!("{listen}:0").parse().expect("addr")],
        listen_is_default: false,
        default_local_zones: false,
        do_not_query_localhost: false,
        workers: 1,
        upstream_timeout: Duration::from_millis(1500),
        upstream_rounds: 1,
        use_caps_for_id: caps,
        ..Config::default()
    };
    match mode {
        Mode::Forwarding => config.forward = vec![upstream],
        Mode::Recursive => {
            // Nothing may leave loopback: the root is a loopback address
            // where nothing listens.
            let hints = std::env::temp_dir().join(format!("danebound-spoof-hints-{listen}"));
            std::fs::write(
                &hints,
                ".\t3600000\tNS\ta.root.lab.\na.root.lab.\t3600000\tA\t127.55.11.254\n",
            )
            .expect("hints file");
            config.root_hints = Some(hints);
            config.forward_zones = vec![ZoneConfig {
                name: Name::from_ascii("example.").expect("name"),
                addresses: vec![upstream],
            }];
        }
    }
    Danebound::start(config).expect("danebound starts")
}

fn cd() -> QueryOptions {
    QueryOptions {
        checking_disabled: true,
        timeout: Duration::from_secs(5),
        ..QueryOptions::default()
    }
}

/// The A records danebound answers for `name` (after a NOERROR).
fn addresses(danebound: &Danebound, name: &str) -> Vec<String> {
    let reply = query(danebound.addr(), name, RecordType::A, &cd())
        .unwrap_or_else(|e| panic!("{name}: no answer: {e}"));
    assert_eq!(reply.rcode(), ResponseCode::NoError, "{name}: {reply:?}");
    reply.answer_rdata(RecordType::A)
}

fn nothing_forged_is_served_or_cached(mode: Mode, upstream_ip: &str, listen: &str) {
    let upstream = Upstream::start(upstream_ip, Behaviour::SlowUnderAttack);
    let danebound = danebound_for(listen, upstream.addr, mode, true);
    let before = FORGERIES.snapshot();
    let names = [
        "www.spoof.example.",
        "mail.spoof.example.",
        "abcdefgh.spoof.example.",
    ];
    for name in names {
        assert_eq!(
            addresses(&danebound, name),
            ["192.0.2.1"],
            "{mode:?} {name}"
        );
    }
    let after = FORGERIES.snapshot();
    let received = (after.foreign - before.foreign) + (after.wrong_case - before.wrong_case);
    let sent = upstream.forged.load(Ordering::Relaxed);
    eprintln!(
        "{mode:?}: forged sent {sent}, received and dropped {received} \
         ({} foreign ID, {} wrong case), accepted 0",
        after.foreign - before.foreign,
        after.wrong_case - before.wrong_case
    );
    assert!(
        after.wrong_case - before.wrong_case >= 1,
        "no right-ID wrong-case forgery reached the query layer: the test tests nothing"
    );
    assert!(
        after.foreign > before.foreign,
        "no wrong-ID forgery arrived"
    );
    // From the cache now (the upstream is not asked again): still genuine.
    let asked = upstream.questions.lock().unwrap().len();
    for name in names {
        assert_eq!(
            addresses(&danebound, name),
            ["192.0.2.1"],
            "{mode:?} {name} cached"
        );
    }
    assert_eq!(
        upstream.questions.lock().unwrap().len(),
        asked,
        "the second round came from the cache"
    );
    // Every query went out in mixed case: the letters of the three names
    // are not all lower case in all of them.
    let questions = upstream.questions.lock().unwrap().clone();
    assert!(
        questions
            .iter()
            .any(|q| q.iter().any(u8::is_ascii_uppercase)),
        "0x20 never put an upper-case letter in a query: {questions:?}"
    );
}

#[test]
fn forwarding_a_spoofer_flood_is_never_served_or_cached() {
    nothing_forged_is_served_or_cached(Mode::Forwarding, "127.55.11.1", "127.55.11.2");
}

#[test]
fn recursing_a_spoofer_flood_is_never_served_or_cached() {
    nothing_forged_is_served_or_cached(Mode::Recursive, "127.55.11.3", "127.55.11.4");
}

#[test]
fn without_0x20_the_same_flood_poisons_the_answer() {
    // The control: what the two tests above defend against is real.
    let upstream = Upstream::start("127.55.11.5", Behaviour::SlowUnderAttack);
    let danebound = danebound_for("127.55.11.6", upstream.addr, Mode::Forwarding, false);
    assert_eq!(
        addresses(&danebound, "www.spoof.example."),
        ["192.0.2.66"],
        "with use_caps_for_id = false a right-ID forgery is accepted"
    );
}

#[test]
fn a_server_that_does_not_preserve_case_is_asked_without_0x20() {
    for (mode, up, listen) in [
        (Mode::Forwarding, "127.55.11.7", "127.55.11.8"),
        (Mode::Recursive, "127.55.11.9", "127.55.11.10"),
    ] {
        let upstream = Upstream::start(up, Behaviour::LowersCase);
        let danebound = danebound_for(listen, upstream.addr, mode, true);
        let before = FORGERIES.snapshot().caps_fallbacks;
        assert_eq!(addresses(&danebound, "one.lower.example."), ["192.0.2.1"]);
        assert!(FORGERIES.snapshot().caps_fallbacks > before, "{mode:?}");
        let asked_first = upstream.questions.lock().unwrap().len();
        assert_eq!(addresses(&danebound, "two.lower.example."), ["192.0.2.1"]);
        let questions = upstream.questions.lock().unwrap().clone();
        // The second name went out once, plainly: the server is remembered.
        let second: Vec<&Vec<u8>> = questions[asked_first..].iter().collect();
        let plain: HashSet<&[u8]> = second.iter().map(|q| q.as_slice()).collect();
        assert!(
            second
                .iter()
                .all(|q| q.iter().all(|b| !b.is_ascii_uppercase())),
            "{mode:?}: asked again with 0x20: {plain:?}"
        );
    }
}
