//! The upstream client against fake upstreams on 127.54.1.x: RFC 5452
//! acceptance rules, TC→TCP, failover, malformed replies.

mod server_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use danebound_resolver::forward::{UpstreamError, Upstreams};
use danebound_resolver::transport::net::NetTransport;
use danebound_resolver::wire::{Message, RecordType, ResponseCode};
use hickory_proto::op::MessageType;
use server_common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// What a fake upstream sends back for one query.
enum Out {
    /// From the socket the query reached.
    Same(Vec<u8>),
    /// From another socket (another port) on the same address.
    Other(Vec<u8>),
    /// Wait before the next output.
    Pause(u64),
}

/// A correct reply: same ID and question, QR=1, A `ip`.
fn reply(q: &Message, ip: [u8; 4]) -> Message {
    let mut m = Message::response(q.metadata.id, q.metadata.op_code);
    m.metadata.recursion_available = true;
    m.add_query(q.queries[0].clone());
    let owner = q.queries[0].name().to_ascii();
    m.add_answer(a(&owner, 300, ip));
    m
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}

/// A fake UDP upstream on `ip`; `behave(n, query)` decides what the n-th
/// query (from 0) gets. Returns its address and a query counter.
async fn fake_udp<F>(ip: &str, behave: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(usize, &Message) -> Vec<Out> + Send + Sync + 'static,
{
    let socket = UdpSocket::bind(format!("{ip}:0")).await.unwrap();
    let other = UdpSocket::bind(format!("{ip}:0")).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let i = counter.fetch_add(1, Ordering::SeqCst);
            for out in behave(i, &q) {
                match out {
                    Out::Same(b) => drop(socket.send_to(&b, from).await),
                    Out::Other(b) => drop(other.send_to(&b, from).await),
                    Out::Pause(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                }
            }
        }
    });
    (addr, count)
}

fn upstreams(servers: Vec<SocketAddr>) -> Upstreams {
    Upstreams::new(servers, Arc::new(NetTransport)).with_timeout(Duration::from_millis(300))
}

fn first_a(m: &Message) -> String {
    m.answers[0].data.to_string()
}

async fn ask(u: &Upstreams) -> Result<Message, UpstreamError> {
    u.query(&name("www.example."), RecordType::A, dns_class_in())
        .await
}

#[tokio::test]
async fn queries_carry_rd_cd_do_and_a_1232_buffer() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    let (addr, _) = fake_udp("127.54.1.1", move |_, q| {
        *s.lock().unwrap() = Some(q.clone());
        vec![Out::Same(bytes(&reply(q, [192, 0, 2, 1])))]
    })
    .await;
    ask(&upstreams(vec![addr])).await.unwrap();
    let q = seen.lock().unwrap().clone().unwrap();
    assert!(q.metadata.recursion_desired);
    assert!(q.metadata.checking_disabled);
    let edns = q.edns.as_ref().expect("EDNS0");
    assert!(edns.flags().dnssec_ok);
    assert_eq!(edns.max_payload(), 1232);
    assert_eq!(q.queries.len(), 1);
}

#[tokio::test]
async fn replies_with_another_id_are_dropped() {
    let (addr, count) = fake_udp("127.54.1.2", |_, q| {
        let mut forged = reply(q, [192, 0, 2, 66]);
        forged.metadata.id = q.metadata.id.wrapping_add(1);
        vec![
            Out::Same(bytes(&forged)),
            Out::Pause(20),
            Out::Same(bytes(&reply(q, [192, 0, 2, 1]))),
        ]
    })
    .await;
    let m = ask(&upstreams(vec![addr])).await.unwrap();
    assert_eq!(first_a(&m), "192.0.2.1");
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "kept waiting, no retry needed"
    );
}

#[tokio::test]
async fn replies_for_another_question_are_dropped() {
    let (addr, count) = fake_udp("127.54.1.3", |n, q| {
        if n == 0 {
            let mut forged = reply(q, [192, 0, 2, 66]);
            forged.queries[0].set_name(name("evil.example."));
            vec![Out::Same(bytes(&forged))]
        } else {
            vec![Out::Same(bytes(&reply(q, [192, 0, 2, 1])))]
        }
    })
    .await;
    let m = ask(&upstreams(vec![addr])).await.unwrap();
    assert_eq!(first_a(&m), "192.0.2.1");
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "the forged reply cost one attempt"
    );

    // Other type, or QR=0: dropped as well; nothing good ever comes, so the
    // query fails rather than accepting them.
    let (addr, _) = fake_udp("127.54.1.3", |n, q| {
        let mut forged = reply(q, [192, 0, 2, 66]);
        if n % 2 == 0 {
            forged.queries[0].set_query_type(RecordType::AAAA);
        } else {
            forged.metadata.message_type = MessageType::Query;
        }
        vec![Out::Same(bytes(&forged))]
    })
    .await;
    let err = ask(&upstreams(vec![addr])).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Unreachable { .. }), "{err}");
}

#[tokio::test]
async fn question_match_ignores_case() {
    let (addr, _) = fake_udp("127.54.1.4", |_, q| {
        let mut r = reply(q, [192, 0, 2, 1]);
        r.queries[0].set_name(name("WWW.EXAMPLE."));
        vec![Out::Same(bytes(&r))]
    })
    .await;
    assert!(ask(&upstreams(vec![addr])).await.is_ok());
}

#[tokio::test]
async fn replies_from_another_port_are_dropped() {
    let (addr, count) = fake_udp("127.54.1.5", |_, q| {
        vec![
            Out::Other(bytes(&reply(q, [192, 0, 2, 66]))),
            Out::Pause(30),
            Out::Same(bytes(&reply(q, [192, 0, 2, 1]))),
        ]
    })
    .await;
    let m = ask(&upstreams(vec![addr])).await.unwrap();
    assert_eq!(first_a(&m), "192.0.2.1");
    assert_eq!(count.load(Ordering::SeqCst), 1);

    let (addr, _) = fake_udp("127.54.1.5", |_, q| {
        vec![Out::Other(bytes(&reply(q, [192, 0, 2, 66])))]
    })
    .await;
    let u = upstreams(vec![addr]).with_rounds(1);
    assert!(
        ask(&u).await.is_err(),
        "a reply from the wrong port was accepted"
    );
}

#[tokio::test]
async fn malformed_replies_are_dropped() {
    let (addr, count) = fake_udp("127.54.1.6", |n, q| {
        if n == 0 {
            // The right ID, then garbage: counts promise records that are
            // not there.
            let mut junk = q.metadata.id.to_be_bytes().to_vec();
            junk.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 9, 0, 0, 0, 0, 3, b'w', b'w']);
            vec![Out::Same(junk)]
        } else {
            vec![Out::Same(bytes(&reply(q, [192, 0, 2, 1])))]
        }
    })
    .await;
    let m = ask(&upstreams(vec![addr])).await.unwrap();
    assert_eq!(first_a(&m), "192.0.2.1");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn truncated_udp_replies_are_retried_over_tcp() {
    // UDP and TCP on the same address and port.
    let listener = TcpListener::bind("127.54.1.7:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let udp = UdpSocket::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut r = reply(&q, [192, 0, 2, 1]);
            r.answers.clear();
            r.metadata.truncation = true;
            let _ = udp.send_to(&bytes(&r), from).await;
        }
    });
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut len = [0u8; 2];
            s.read_exact(&mut len).await.unwrap();
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
            s.read_exact(&mut buf).await.unwrap();
            let q = Message::from_vec(&buf).unwrap();
            let mut r = reply(&q, [192, 0, 2, 1]);
            for i in 2..40 {
                r.add_answer(a("www.example.", 300, [192, 0, 2, i]));
            }
            let b = bytes(&r);
            let mut frame = (b.len() as u16).to_be_bytes().to_vec();
            frame.extend_from_slice(&b);
            s.write_all(&frame).await.unwrap();
        }
    });
    let reply = upstreams(vec![addr])
        .query_with_source(&name("www.example."), RecordType::A, dns_class_in())
        .await
        .unwrap();
    assert!(reply.tcp);
    assert_eq!(reply.message.answers.len(), 39);
    assert!(!reply.message.metadata.truncation);
}

#[tokio::test]
async fn a_silent_upstream_fails_over_to_the_next() {
    let (silent, silent_count) = fake_udp("127.54.1.8", |_, _| vec![]).await;
    let (good, _) = fake_udp("127.54.1.9", |_, q| {
        vec![Out::Same(bytes(&reply(q, [192, 0, 2, 1])))]
    })
    .await;
    let u = upstreams(vec![silent, good]).with_timeout(Duration::from_millis(150));
    let started = std::time::Instant::now();
    let reply = u
        .query_with_source(&name("www.example."), RecordType::A, dns_class_in())
        .await
        .unwrap();
    assert_eq!(reply.server, good, "names the upstream that answered");
    assert_eq!(silent_count.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // The next query goes to the upstream that answered.
    let reply = u
        .query_with_source(&name("www.example."), RecordType::A, dns_class_in())
        .await
        .unwrap();
    assert_eq!(reply.server, good);
    assert_eq!(
        silent_count.load(Ordering::SeqCst),
        1,
        "the dead upstream was asked again"
    );
}

#[tokio::test]
async fn servfail_moves_on_but_is_returned_if_nothing_better_comes() {
    let servfail = |_: usize, q: &Message| {
        let mut r = reply(q, [0, 0, 0, 0]);
        r.answers.clear();
        r.metadata.response_code = ResponseCode::ServFail;
        vec![Out::Same(bytes(&r))]
    };
    let (bad, _) = fake_udp("127.54.1.10", servfail).await;
    let (good, _) = fake_udp("127.54.1.11", |_, q| {
        vec![Out::Same(bytes(&reply(q, [192, 0, 2, 1])))]
    })
    .await;
    let reply = upstreams(vec![bad, good])
        .query_with_source(&name("www.example."), RecordType::A, dns_class_in())
        .await
        .unwrap();
    assert_eq!(reply.server, good);
    let u = upstreams(vec![bad]).with_rounds(1);
    let m = ask(&u).await.unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

#[tokio::test]
async fn nothing_reachable_is_an_error() {
    let (silent, _) = fake_udp("127.54.1.12", |_, _| vec![]).await;
    let u = upstreams(vec![silent]).with_timeout(Duration::from_millis(50));
    assert!(matches!(
        ask(&u).await,
        Err(UpstreamError::Unreachable { .. })
    ));
    assert!(matches!(
        ask(&upstreams(vec![])).await,
        Err(UpstreamError::NoUpstreams)
    ));
}

#[tokio::test]
async fn serve_forwards_through_the_stand_in_and_never_passes_upstream_ad() {
    use danebound_resolver::clock::SystemClock;
    use danebound_resolver::config::Config;
    use danebound_resolver::forward::ForwardOnly;
    use danebound_resolver::server::Server;

    let (up, count) = fake_udp("127.54.1.13", |_, q| {
        let mut r = reply(q, [192, 0, 2, 1]);
        r.metadata.authentic_data = true; // an upstream's AD is not ours to pass on
        vec![Out::Same(bytes(&r))]
    })
    .await;
    let config = Config {
        listen: vec!["127.54.1.14:0".parse().unwrap()],
        listen_is_default: false,
        forward: vec![up],
        workers: 1,
        ..Config::default()
    };
    // The non-validating stand-in, built here: `serve` itself only ever
    // uses the validating engine (`engine::build`).
    let resolver = Arc::new(ForwardOnly::new(Upstreams::new(
        config.forward.clone(),
        Arc::new(NetTransport),
    )));
    let server = Server::bind(&config, resolver, Arc::new(SystemClock)).unwrap();
    let addr = server.local_addrs()[0];
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    let client = UdpSocket::bind("127.54.1.15:0").await.unwrap();
    let mut buf = vec![0u8; 4096];
    for id in [1u16, 2] {
        let q = query_bytes(
            id,
            "www.example.",
            RecordType::A,
            Flags {
                ad: true,
                ..Flags::dnssec()
            },
        );
        client.send_to(&q, addr).await.unwrap();
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let m = Message::from_vec(&buf[..n]).unwrap();
        assert_eq!(m.metadata.id, id);
        assert_eq!(first_a(&m), "192.0.2.1");
        assert!(!m.metadata.authentic_data, "unvalidated data got AD");
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "second answer from the cache"
    );
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}
