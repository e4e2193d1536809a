//! Bad input from an upstream, through the whole of danebound (server,
//! engine, forwarder) as `serve` runs it: every kind of malformed reply is
//! dropped, never cached, never a crash. resolver/tests/server_forward.rs
//! covers wrong IDs, questions and ports and one bad-count reply at the
//! forwarder alone; resolver/tests/server_listener.rs covers bad client
//! input. Needs no lab and no root: a fake upstream on 127.55.3.1.
//!
//! Each malformed reply carries the right ID and source, so only parsing
//! can reject it. The forwarder ends the attempt on it (it does not keep
//! listening for a genuine reply to the same query) and asks again in its
//! next round, which the fake answers properly. Clients ask with CD=1 so that the engine passes the
//! fake's unsigned data on without fetching keys.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use danebound_resolver::config::Config;
use danebound_tests::lab::{Danebound, QueryOptions, query};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// Kinds of malformed reply, by the first label of the question.
const KINDS: &[&str] = &[
    "truncated",
    "ancount",
    "arcount",
    "loop",
    "loop2",
    "pointer-past-end",
    "long-name",
    "long-label",
    "rdlength",
    "short-a",
    "header-only",
    "no-question",
    "empty",
];

/// The question section of `query` (from offset 12).
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

fn header(id: &[u8], qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut h = vec![id[0], id[1], 0x81, 0x80];
    for count in [qd, an, ns, ar] {
        h.extend_from_slice(&count.to_be_bytes());
    }
    h
}

/// TYPE A, CLASS IN, TTL 3600.
const A_IN_TTL: [u8; 8] = [0, 1, 0, 1, 0, 0, 0x0e, 0x10];

/// A good answer: `qname A 192.0.2.1`.
fn good(id: &[u8], q: &[u8]) -> Vec<u8> {
    answer(id, q, 1)
}

/// `qname A 192.0.2.LAST`; malformed replies are built on LAST = 66, so
/// that one taken by mistake shows.
fn answer(id: &[u8], q: &[u8], last: u8) -> Vec<u8> {
    let mut m = header(id, 1, 1, 0, 0);
    m.extend_from_slice(q);
    m.extend_from_slice(&[0xC0, 0x0C]);
    m.extend_from_slice(&A_IN_TTL);
    m.extend_from_slice(&[0, 4, 192, 0, 2, last]);
    m
}

/// The malformed reply of `kind`.
fn malformed(kind: &str, id: &[u8], q: &[u8]) -> Vec<u8> {
    let answer_at = 12 + q.len();
    let with = |an: u16, ar: u16, rest: &[u8]| {
        let mut m = header(id, 1, an, 0, ar);
        m.extend_from_slice(q);
        m.extend_from_slice(rest);
        m
    };
    let a_rdata = [0, 4, 192, 0, 2, 66];
    match kind {
        // Cut in the middle of the answer's RDATA.
        "truncated" => {
            let g = answer(id, q, 66);
            g[..g.len() - 3].to_vec()
        }
        // Counts that promise records that are not there.
        "ancount" => {
            let mut g = answer(id, q, 66);
            g[7] = 3;
            g
        }
        "arcount" => {
            let mut g = answer(id, q, 66);
            g[11] = 2;
            g
        }
        // The answer's owner is a pointer to itself.
        "loop" => {
            let p = u16::try_from(answer_at).expect("small") | 0xC000;
            [&p.to_be_bytes()[..], &A_IN_TTL, &a_rdata]
                .concat()
                .pipe(|r| with(1, 0, &r))
        }
        // Two pointers pointing at each other.
        "loop2" => {
            let here = u16::try_from(answer_at).expect("small");
            let first = (here + 2) | 0xC000;
            let second = here | 0xC000;
            [
                &first.to_be_bytes()[..],
                &second.to_be_bytes()[..],
                &A_IN_TTL,
                &a_rdata,
            ]
            .concat()
            .pipe(|r| with(1, 0, &r))
        }
        "pointer-past-end" => [&[0xC3, 0xFF][..], &A_IN_TTL, &a_rdata]
            .concat()
            .pipe(|r| with(1, 0, &r)),
        // An owner name of 5 × 64 octets: over the 255-octet limit.
        "long-name" => {
            let mut r = Vec::new();
            for _ in 0..5 {
                r.push(63);
                r.extend_from_slice(&[b'a'; 63]);
            }
            r.push(0);
            r.extend_from_slice(&A_IN_TTL);
            r.extend_from_slice(&a_rdata);
            with(1, 0, &r)
        }
        // A label length of 64 (0x40: the reserved extended label type).
        "long-label" => {
            let mut r = vec![64];
            r.extend_from_slice(&[b'a'; 64]);
            r.push(0);
            r.extend_from_slice(&A_IN_TTL);
            r.extend_from_slice(&a_rdata);
            with(1, 0, &r)
        }
        // RDLENGTH says 40, 4 octets follow.
        "rdlength" => [&[0xC0, 0x0C][..], &A_IN_TTL, &[0, 40, 192, 0, 2, 66]]
            .concat()
            .pipe(|r| with(1, 0, &r)),
        // An A record with 3 octets of RDATA.
        "short-a" => [&[0xC0, 0x0C][..], &A_IN_TTL, &[0, 3, 192, 0, 2]]
            .concat()
            .pipe(|r| with(1, 0, &r)),
        // QDCOUNT 1 and nothing after the header.
        "header-only" => header(id, 1, 0, 0, 0),
        // No question at all (QDCOUNT 0), an answer record.
        "no-question" => {
            let mut m = header(id, 0, 1, 0, 0);
            m.extend_from_slice(q);
            m.truncate(m.len() - 4);
            m.extend_from_slice(&A_IN_TTL);
            m.extend_from_slice(&a_rdata);
            m
        }
        // Just the ID.
        "empty" => id.to_vec(),
        other => panic!("unknown kind {other}"),
    }
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

/// A fake upstream: for a question whose first label is a kind, the first
/// query (every query while `only_garbage`) gets the malformed reply, later
/// ones the good one.
struct FakeUpstream {
    addr: SocketAddr,
    only_garbage: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeUpstream {
    fn start(ip: &str, only_garbage: bool) -> Self {
        let socket = UdpSocket::bind((ip, 0)).expect("bind fake upstream");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let only_garbage = Arc::new(AtomicBool::new(only_garbage));
        let garbage = Arc::clone(&only_garbage);
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut seen = HashSet::new();
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let wire = &buf[..n];
                let Some(q) = question(wire) else { continue };
                // The name comes in 0x20 mixed case.
                let label = String::from_utf8_lossy(&q[1..=usize::from(q[0])]).to_ascii_lowercase();
                let id = &wire[..2];
                let first = seen.insert(q.to_ascii_lowercase());
                if KINDS.contains(&label.as_str()) && (first || garbage.load(Ordering::Relaxed)) {
                    let _ = socket.send_to(&malformed(&label, id, q), from);
                    continue;
                }
                let _ = socket.send_to(&good(id, q), from);
            }
        });
        Self {
            addr,
            only_garbage,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn danebound_for(listen: &str, upstream: SocketAddr) -> Danebound {
    let config = Config {
        listen: vec![format!("{listen}:0").parse().expect("addr")],
        listen_is_default: false,
        forward: vec![upstream],
        default_local_zones: false,
        workers: 1,
        upstream_timeout: Duration::from_millis(300),
        upstream_rounds: 2,
        ..Config::default()
    };
    Danebound::start(config).expect("danebound starts")
}

fn cd() -> QueryOptions {
    QueryOptions {
        checking_disabled: true,
        timeout: Duration::from_secs(3),
        ..QueryOptions::default()
    }
}

#[test]
fn malformed_upstream_replies_are_dropped_and_the_retry_answered() {
    let upstream = FakeUpstream::start("127.55.3.1", false);
    let danebound = danebound_for("127.55.3.2", upstream.addr);
    let mut failures = Vec::new();
    for kind in KINDS {
        let name = format!("{kind}.bad.example.");
        match query(danebound.addr(), &name, RecordType::A, &cd()) {
            Ok(reply) => {
                let a = reply.answer_rdata(RecordType::A);
                if reply.rcode() != ResponseCode::NoError || a != ["192.0.2.1"] {
                    failures.push(format!(
                        "{kind}: rcode {} A {a:?}: the malformed reply was not dropped",
                        reply.rcode()
                    ));
                }
            }
            Err(e) => failures.push(format!("{kind}: no answer: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_upstream_that_only_sends_garbage_gives_servfail_and_nothing_is_cached() {
    let upstream = FakeUpstream::start("127.55.3.3", true);
    let danebound = danebound_for("127.55.3.4", upstream.addr);
    for kind in KINDS {
        let name = format!("{kind}.bad.example.");
        let reply = query(danebound.addr(), &name, RecordType::A, &cd())
            .unwrap_or_else(|e| panic!("{kind}: no answer: {e}"));
        assert_eq!(reply.rcode(), ResponseCode::ServFail, "{kind}");
        assert!(reply.message.answers.is_empty(), "{kind}: {reply:?}");
    }
    // Still serving, and neither the garbage nor the SERVFAIL was cached:
    // once the upstream behaves, the same names get its answer.
    upstream.only_garbage.store(false, Ordering::Relaxed);
    for kind in KINDS {
        let name = format!("{kind}.bad.example.");
        let reply = query(danebound.addr(), &name, RecordType::A, &cd())
            .unwrap_or_else(|e| panic!("{kind}: no answer: {e}"));
        assert_eq!(reply.answer_rdata(RecordType::A), ["192.0.2.1"], "{kind}");
    }
}
