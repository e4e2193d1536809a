//! A UDP worker's socket is registered with its runtime for reading only
//! (issue 12). Registered for writability as well (what
//! `tokio::net::UdpSocket` does), it got an EPOLLOUT event each time the
//! kernel freed one of its sent datagrams, so an idle worker went through
//! epoll once more per answer for nothing (seen with strace: 41 `epoll_wait`
//! for 20 queries, 21 since). Checked in the kernel's own record of the
//! registration (`/proc/self/fdinfo` of the epoll descriptor), while the
//! worker answers query after query.
//!
//! A test binary of its own: it looks at every epoll descriptor of the
//! process.

mod server_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use danebound_resolver::clock::SystemClock;
use danebound_resolver::config::Config;
use danebound_resolver::server::Server;
use danebound_resolver::validator::outcome::Outcome;
use danebound_resolver::wire::RecordType;
use server_common::*;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// The descriptors of this process that are a UDP socket bound to `addr`
/// (`/proc/self/fd` links to `socket:[INODE]`, `/proc/self/net/udp` names
/// the inode's local address).
fn udp_socket_fds(addr: SocketAddr) -> Vec<u32> {
    let SocketAddr::V4(v4) = addr else {
        panic!("an IPv4 address")
    };
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_ne_bytes(v4.ip().octets()),
        v4.port()
    );
    let table = std::fs::read_to_string("/proc/self/net/udp").unwrap();
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&local.as_str())).then(|| f[9].to_string())
        })
        .collect();
    assert!(!inodes.is_empty(), "{local} in /proc/self/net/udp");
    fds_linking_to(|link| inodes.iter().any(|i| link == format!("socket:[{i}]")))
}

fn fds_linking_to(matches: impl Fn(&str) -> bool) -> Vec<u32> {
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if matches(&link.to_string_lossy()) {
            fds.push(entry.file_name().to_string_lossy().parse().unwrap());
        }
    }
    fds
}

/// The event masks with which the process's epoll descriptors watch `fd`
/// (`tfd: FD events: MASK` lines of their fdinfo).
fn epoll_masks_of(fd: u32) -> Vec<u32> {
    let mut masks = Vec::new();
    for epoll in fds_linking_to(|link| link == "anon_inode:[eventpoll]") {
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{epoll}")) else {
            continue;
        };
        for line in info.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 4 && f[0] == "tfd:" && f[1] == fd.to_string() && f[2] == "events:" {
                masks.push(u32::from_str_radix(f[3], 16).unwrap());
            }
        }
    }
    masks
}

const EPOLLIN: u32 = 0x1;
const EPOLLOUT: u32 = 0x4;

#[tokio::test]
async fn a_workers_socket_is_watched_for_reading_only() {
    let config = Config {
        listen: vec!["127.54.2.90:0".parse().unwrap()],
        listen_is_default: false,
        workers: 1,
        ..Config::default()
    };
    let resolver = Arc::new(FakeResolver::with(vec![(
        "www.example.",
        positive(Outcome::Secure, 300),
    )]));
    let server = Server::bind(&config, resolver.clone(), Arc::new(SystemClock)).unwrap();
    let addr = server.local_addrs()[0];
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let client = UdpSocket::bind("127.54.2.91:0").await.unwrap();
    let mut buf = vec![0u8; 65_535];
    // A miss, then hits from the shared cache and the worker's front cache:
    // answers keep flowing with writability never asked for.
    for id in 1..=20u16 {
        let query = query_bytes(id, "www.example.", RecordType::A, Flags::dnssec());
        client.send_to(&query, addr).await.unwrap();
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), client.recv_from(&mut buf))
            .await
            .expect("an answer within 3 s")
            .unwrap();
        assert_eq!(buf[..2], id.to_be_bytes(), "the answer to this query");
        assert!(n > 12);
    }
    assert_eq!(resolver.calls(), 1, "the rest were cache hits");

    // The UDP socket (and the TCP listener on the same port is not UDP).
    let fds = udp_socket_fds(addr);
    assert_eq!(fds.len(), 1, "one UDP socket on {addr}: {fds:?}");
    // (An epoll instance shows once per descriptor of it: mio duplicates
    // its own.)
    let masks = epoll_masks_of(fds[0]);
    assert!(!masks.is_empty(), "registered with an epoll");
    for mask in masks {
        assert_ne!(mask & EPOLLIN, 0, "watched for reading: {mask:#x}");
        assert_eq!(mask & EPOLLOUT, 0, "not watched for writing: {mask:#x}");
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
