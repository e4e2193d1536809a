//! Serve-stale (RFC 8767) in the signed lab: `danebound serve` forwarding
//! to the lab's unbound through a relay the test can switch off. A name is
//! resolved, the relay stops answering (every upstream fails), the answer
//! cache's clock moves past the record's TTL, and the name is asked again:
//! with `serve_stale = true` the expired answer comes back with EDE 3
//! (Stale Answer), AD (its signatures are still valid) and a 30 s TTL; with
//! serve-stale off (the default), SERVFAIL.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use danebound_resolver::clock::{Clock, SystemClock};
use danebound_tests::lab::{Danebound, Lab, LabOptions, QueryOptions};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// The system clock moved forward by a settable offset.
#[derive(Default)]
struct Shifted(AtomicU64);

impl Clock for Shifted {
    fn unix_now(&self) -> u64 {
        SystemClock.unix_now() + self.0.load(Ordering::Relaxed)
    }
}

/// A UDP relay to `upstream` that stops answering when `off` is set.
fn relay(listen: SocketAddr, upstream: SocketAddr, off: Arc<AtomicBool>, stop: Arc<AtomicBool>) {
    let socket = UdpSocket::bind(listen).expect("relay binds");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    thread::spawn(move || {
        let mut buf = vec![0u8; 65535];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, client)) = socket.recv_from(&mut buf) else {
                continue;
            };
            if off.load(Ordering::Relaxed) {
                continue; // the upstream is gone
            }
            let out = UdpSocket::bind("127.0.0.1:0").unwrap();
            out.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            if out.send_to(&buf[..n], upstream).is_err() {
                continue;
            }
            let mut reply = vec![0u8; 65535];
            if let Ok((m, _)) = out.recv_from(&mut reply) {
                let _ = socket.send_to(&reply[..m], client);
            }
        }
    });
}

#[test]
fn expired_answers_are_served_with_ede_3_when_the_upstream_is_gone() {
    let options = LabOptions {
        oracle: false,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_serve_stale", options) else {
        return;
    };
    let upstream = lab.upstream().expect("the lab's upstream");
    let relay_addr = SocketAddr::new(lab.address(30).into(), 53);
    let off = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    relay(relay_addr, upstream, off.clone(), stop.clone());

    let clock = Arc::new(Shifted::default());
    let mut stale = Danebound::lab_config(&lab, lab.address(24), relay_addr);
    stale.serve_stale.enabled = true;
    stale.upstream_timeout = Duration::from_millis(300);
    stale.upstream_rounds = 1;
    stale.prefetch = false;
    let mut plain = stale.clone();
    plain.listen = vec![SocketAddr::new(lab.address(25).into(), 53)];
    plain.serve_stale = Default::default();
    assert!(!plain.serve_stale.enabled, "off by default");
    let stale = Danebound::start_with_clock(stale, clock.clone()).expect("starts");
    let plain = Danebound::start_with_clock(plain, clock.clone()).expect("starts");
    let options = QueryOptions::default();
    let ask = |server: &Danebound| {
        lab.query_with(server.addr(), "www.example.test.", RecordType::A, &options)
            .expect("an answer")
    };

    let fresh = ask(&stale);
    assert_eq!(fresh.rcode(), ResponseCode::NoError);
    assert!(fresh.ad());
    assert_eq!(fresh.ede_code(), None);
    assert_eq!(ask(&plain).rcode(), ResponseCode::NoError);
    let ttl = fresh.message.answers.iter().map(|r| r.ttl).max().unwrap();

    // The upstream goes away and the entries expire.
    off.store(true, Ordering::Relaxed);
    clock.0.store(u64::from(ttl) + 5, Ordering::Relaxed);

    let served = ask(&stale);
    assert_eq!(
        served.rcode(),
        ResponseCode::NoError,
        "{:?}",
        served.message
    );
    assert_eq!(served.ede_code(), Some(3), "Stale Answer");
    assert!(served.ad(), "secure, signatures still valid");
    assert_eq!(
        served.answer_rdata(RecordType::A),
        fresh.answer_rdata(RecordType::A)
    );
    assert!(served.message.answers.iter().all(|r| r.ttl <= 30));

    let refused = ask(&plain);
    assert_eq!(refused.rcode(), ResponseCode::ServFail, "serve-stale off");
    assert_ne!(refused.ede_code(), Some(3));

    // Back online: fresh data again, no EDE.
    off.store(false, Ordering::Relaxed);
    let again = ask(&stale);
    assert_eq!(again.rcode(), ResponseCode::NoError);
    assert_eq!(again.ede_code(), None);
    stop.store(true, Ordering::Relaxed);
}
