//! The STARTTLS dialogue against hostile servers on loopback: an endless
//! line, an endless multiline reply, a slow drip that never trips the
//! per-read timeout, and an endless XMPP stream. Each must end with a clear
//! error, within the conversation's deadline.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// Serves one connection with `serve` on a thread; returns the address.
fn hostile(serve: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            serve(stream);
        }
    });
    addr
}

/// Writes `chunk` again and again until the client goes.
fn endless(mut s: TcpStream, first: &[u8], chunk: &[u8], pause: Duration) {
    // Read whatever the client sends, so its writes never block.
    let mut drain = s.try_clone().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while drain.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
    if s.write_all(first).is_err() {
        return;
    }
    loop {
        if s.write_all(chunk).is_err() {
            return;
        }
        if !pause.is_zero() {
            thread::sleep(pause);
        }
    }
}

/// Runs the dialogue against `addr` with a 1 s step; returns the error and
/// how long it took.
fn check(addr: SocketAddr, protocol: Starttls) -> (String, Duration) {
    let dial = Dial {
        addr,
        sni: Some("mx.example.test"),
        protocol,
        helo: "client.example.test",
        xmpp_domain: "example.test",
        timeout: Duration::from_secs(1),
    };
    let started = Instant::now();
    let err = match connect(&dial) {
        Ok(_) => panic!("a hostile server gave a TLS session"),
        Err(e) => e.to_string(),
    };
    (err, started.elapsed())
}

/// Far above the 4 s deadline of a 1 s step, far below "forever": a
/// liveness bound, not a timing.
const LIVENESS: Duration = Duration::from_secs(30);

#[test]
fn an_endless_greeting_line_is_refused() {
    let addr = hostile(|s| endless(s, b"220 ", b"xxxxxxxxxxxxxxxx", Duration::ZERO));
    let (err, took) = check(addr, Starttls::Smtp);
    assert!(err.contains("longer than 4096"), "{err}");
    assert!(took < LIVENESS);
}

#[test]
fn an_endless_multiline_smtp_reply_is_refused() {
    let addr = hostile(|s| endless(s, b"", b"220-still greeting\r\n", Duration::ZERO));
    let (err, took) = check(addr, Starttls::Smtp);
    assert!(
        err.contains("too long") || err.contains("byte limit"),
        "{err}"
    );
    assert!(took < LIVENESS);
}

#[test]
fn an_endless_imap_capability_list_is_refused() {
    let addr = hostile(|s| {
        endless(
            s,
            b"* OK ready\r\n",
            b"* CAPABILITY IMAP4rev1 X\r\n",
            Duration::ZERO,
        )
    });
    let (err, took) = check(addr, Starttls::Imap);
    assert!(err.contains("byte limit"), "{err}");
    assert!(took < LIVENESS);
}

#[test]
fn an_endless_pop3_capability_list_is_refused() {
    let addr = hostile(|s| endless(s, b"+OK ready\r\n+OK\r\n", b"X-CAPA\r\n", Duration::ZERO));
    let (err, took) = check(addr, Starttls::Pop3);
    assert!(err.contains("byte limit"), "{err}");
    assert!(took < LIVENESS);
}

#[test]
fn an_endless_xmpp_stream_is_refused() {
    let addr = hostile(|s| {
        endless(
            s,
            b"<?xml version='1.0'?><stream:stream><stream:features>",
            b"<x/>",
            Duration::ZERO,
        )
    });
    let (err, took) = check(addr, Starttls::Xmpp);
    assert!(err.contains("byte limit"), "{err}");
    assert!(took < LIVENESS);
}

#[test]
fn a_slow_drip_ends_at_the_conversation_deadline() {
    // One byte every 100 ms: never idle for a whole 1 s step, never done.
    let addr = hostile(|s| endless(s, b"220-", b"x", Duration::from_millis(100)));
    let (err, took) = check(addr, Starttls::Smtp);
    assert!(err.contains("deadline"), "{err}");
    assert!(took < LIVENESS);
}

#[test]
fn a_silent_server_times_out_per_step() {
    let addr = hostile(|s| {
        thread::sleep(Duration::from_secs(10));
        drop(s);
    });
    let (err, took) = check(addr, Starttls::Smtp);
    assert!(err.contains("no data within"), "{err}");
    assert!(took < LIVENESS);
}
