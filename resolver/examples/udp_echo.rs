//! The benchmarks' harness ceiling (performance.md §4): a UDP server that
//! does no DNS work. Each of its THREADS threads (default 1) has its own
//! SO_REUSEPORT socket, reads up to 32 datagrams with one `recvmmsg`, sets
//! QR in each, and sends them back with one `sendmmsg`: the batching of
//! danebound's UDP workers. `dnsperf` against it measures what the client
//! and the kernel allow on this machine; a resolver's cached q/s is then
//! read as a fraction of that ceiling.
//!
//! `cargo run --release -p danebound-resolver --example udp_echo -- ADDR:PORT [THREADS]`
//! (used by `scripts/bench-vs-unbound.sh`). Not part of the server.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
use socket2::{Domain, Protocol, Socket, Type};

const BATCH: usize = 32;
const DATAGRAM: usize = 4096;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr: Option<SocketAddr> = args.next().and_then(|a| a.parse().ok());
    let threads: Option<usize> = match args.next() {
        None => Some(1),
        Some(n) => n.parse().ok().filter(|&n| n > 0),
    };
    let (Some(addr), Some(threads)) = (addr, threads) else {
        eprintln!("usage: udp_echo ADDR:PORT [THREADS]");
        return ExitCode::from(2);
    };
    let mut sockets = Vec::new();
    for _ in 0..threads {
        match bind(addr) {
            Ok(socket) => sockets.push(socket),
            Err(e) => {
                eprintln!("udp_echo: cannot bind {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let handles: Vec<_> = sockets
        .into_iter()
        .map(|socket| std::thread::spawn(move || echo(&socket)))
        .collect();
    for handle in handles {
        let _ = handle.join();
    }
    ExitCode::SUCCESS
}

fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    // The receive queue danebound's workers ask for (and unbound's
    // `so-rcvbuf: 4m` in the benchmarks): a ceiling that drops queries a
    // resolver would have queued is no ceiling.
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Echoes what `socket` receives, for ever.
fn echo(socket: &UdpSocket) {
    let fd = socket.as_raw_fd();
    let mut input: Vec<Vec<u8>> = (0..BATCH).map(|_| vec![0u8; DATAGRAM]).collect();
    let mut recv_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut send_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut lengths = Vec::with_capacity(BATCH);
    let mut to = Vec::with_capacity(BATCH);
    loop {
        lengths.clear();
        to.clear();
        {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> =
                input.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
            // Blocks for the first datagram, then takes what is queued.
            let results = match recvmmsg(
                fd,
                &mut recv_headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(results) => results,
                Err(e) => {
                    eprintln!("udp_echo: recvmmsg: {e}");
                    continue;
                }
            };
            for msg in results {
                lengths.push(msg.bytes.min(DATAGRAM));
                to.push(msg.address);
            }
        }
        for (buf, &n) in input.iter_mut().zip(&lengths) {
            if n > 2 {
                buf[2] |= 0x80; // QR: a response
            }
        }
        let slices: Vec<[IoSlice<'_>; 1]> = input
            .iter()
            .zip(&lengths)
            .map(|(b, &n)| [IoSlice::new(&b[..n])])
            .collect();
        let mut sent = 0;
        while sent < slices.len() {
            match sendmmsg(
                fd,
                &mut send_headers,
                slices[sent..].iter(),
                &to[sent..],
                [],
                MsgFlags::empty(),
            ) {
                Ok(results) => sent += results.count().max(1),
                Err(e) => {
                    eprintln!("udp_echo: sendmmsg: {e}");
                    sent += 1;
                }
            }
        }
    }
}
