//! The UDP side of the server: one worker per socket, each reading up to
//! [`BATCH`] datagrams with one `recvmmsg` and sending the answers it could
//! give at once (cache hits, local zones, errors) with one `sendmmsg`
//! (performance.md §4–5: batching pays when the socket queue is deep, which
//! is when it matters). Buffers are allocated once per worker and reused, so
//! a cache hit allocates nothing. A miss is handed to a task of its own that
//! answers with a plain `send_to` when the resolution ends.
//!
//! tokio has no recvmmsg (tokio-rs/mio#1786) and the workspace forbids
//! `unsafe`, so the calls go through nix's safe wrappers (nix is already a
//! dependency of the binary), inside tokio's `try_io` so readiness is kept
//! right.
//!
//! The socket is registered with the runtime for readability only
//! ([`AsyncFd::with_interest`]), as unbound registers its UDP sockets with
//! libevent for `EV_READ` alone. A UDP socket reports EPOLLOUT each time
//! the kernel frees one of its sent datagrams, so with writability
//! registered too (what `tokio::net::UdpSocket` does) a worker went through
//! epoll once more after each batch for nothing (strace, one worker, 20
//! queries one at a time: 41 `epoll_wait`, 21 now), and was woken for
//! nothing where the datagram is freed after it went to sleep (a network
//! card's transmit completion). Sends are tried directly; only a send the
//! kernel refuses for want of buffer space waits for writability
//! ([`wait_writable`]).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use super::front::Front;
use super::{Context, Handled, Policy, PolicySnapshot, Via, handle_with, overloaded, resolve_miss};
use crate::ratelimit::Verdict;
use crate::transport::register;

/// Datagrams read (and answers sent) per system call. unbound reads up to
/// 100 per wake-up; 32 is where `sendmmsg`'s gain levels off.
pub(super) const BATCH: usize = 32;

/// The largest datagram read: a query is small, but one larger than this
/// would be cut and then judged malformed, so take what UDP can carry.
const DATAGRAM: usize = 65_535;

/// How long a send the kernel refused for want of buffer space waits for
/// room before its answers are dropped: unbound's
/// `SEND_BLOCKED_WAIT_TIMEOUT` (200 ms).
const SEND_BLOCKED_WAIT: Duration = Duration::from_millis(200);

/// A worker's socket, registered with its runtime for readability only.
type Socket = AsyncFd<UdpSocket>;

/// A worker's reusable buffers.
struct Buffers {
    input: Box<[Vec<u8>; BATCH]>,
    /// (length, client) of each datagram read.
    received: Vec<(usize, SocketAddr)>,
    output: Box<[Vec<u8>; BATCH]>,
    /// The client of each answer in `output`.
    to: Vec<Option<SockaddrStorage>>,
    recv_headers: MultiHeaders<SockaddrStorage>,
    send_headers: MultiHeaders<SockaddrStorage>,
}

impl Buffers {
    fn new() -> Self {
        Self {
            // Zeroed memory the kernel hands out lazily: a page counts once
            // a datagram has been written into it.
            input: Box::new(std::array::from_fn(|_| vec![0u8; DATAGRAM])),
            received: Vec::with_capacity(BATCH),
            output: Box::new(std::array::from_fn(|_| Vec::with_capacity(1232))),
            to: Vec::with_capacity(BATCH),
            recv_headers: MultiHeaders::preallocate(BATCH, None),
            send_headers: MultiHeaders::preallocate(BATCH, None),
        }
    }
}

/// A UDP worker on a thread of its own, running a single-threaded runtime
/// (thread per core: the socket, its runtime and the misses it spawned
/// stay on one thread; the kernel spreads clients over the workers'
/// SO_REUSEPORT sockets).
pub(super) struct WorkerThread {
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl WorkerThread {
    /// Starts worker `n` serving `socket`.
    pub(super) fn spawn(n: usize, ctx: Arc<Context>, socket: UdpSocket) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("danebound-udp-{n}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let socket = match register(socket, Interest::READABLE) {
                        Ok(socket) => Arc::new(socket),
                        Err(e) => {
                            tracing::error!("UDP socket: {e}");
                            return;
                        }
                    };
                    tracing::info!(addr = ?socket.get_ref().local_addr().ok(), "listening on UDP");
                    tokio::select! {
                        () = worker(ctx, socket) => {}
                        _ = stopped => {}
                    }
                });
                // Misses still being resolved are dropped with the runtime.
                drop(runtime);
                let _ = finished.send(());
            })?;
        Ok(Self { stop, done })
    }

    /// Stops the worker and waits until its thread has let go of it.
    pub(super) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

/// Serves `socket` for ever.
async fn worker(ctx: Arc<Context>, socket: Arc<Socket>) {
    let mut b = Buffers::new();
    let mut policy = PolicySnapshot::new(&ctx);
    let mut front = Front::new();
    loop {
        let mut ready = match socket.readable().await {
            Ok(ready) => ready,
            Err(e) => {
                tracing::debug!("UDP readiness error: {e}");
                continue;
            }
        };
        b.received.clear();
        match ready.try_io(|socket| receive(socket.get_ref(), &mut b)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("UDP receive error: {e}");
                continue;
            }
            // A short batch: the datagrams read are served, and the runtime
            // waits in epoll next (see `receive`).
            Err(_would_block) if !b.received.is_empty() => {}
            Err(_would_block) => continue,
        }
        b.to.clear();
        // One clock reading per batch: TTLs and the rate limiter count in
        // whole seconds, and a batch takes microseconds.
        let now = ctx.cache.now();
        let policy = policy.get(&ctx);
        for i in 0..b.received.len() {
            let (n, client) = b.received[i];
            let slot = b.to.len();
            let out = &mut b.output[slot];
            let input = &b.input[i][..n];
            match handle_with(
                &ctx,
                policy,
                Some(&mut front),
                now,
                input,
                client.ip(),
                Via::Udp,
                out,
            ) {
                Handled::Reply if out.is_empty() => {}
                Handled::Reply => {
                    if rate_limit(policy, now, out, client.ip()) {
                        b.to.push(Some(SockaddrStorage::from(client)));
                    }
                }
                Handled::Drop => {}
                Handled::Miss(request) => {
                    let Some(admitted) = ctx.inflight.try_admit(client.ip()) else {
                        *out = overloaded(&request);
                        if rate_limit(policy, now, out, client.ip()) {
                            b.to.push(Some(SockaddrStorage::from(client)));
                        }
                        continue;
                    };
                    let ctx = Arc::clone(&ctx);
                    let socket = Arc::clone(&socket);
                    tokio::spawn(async move {
                        let mut response = resolve_miss(&ctx, &request, Via::Udp).await;
                        drop(admitted);
                        send_one(&ctx, &socket, &mut response, client).await;
                    });
                }
            }
        }
        send_all(&socket, &mut b).await;
    }
}

/// Reads what is queued (up to [`BATCH`] datagrams) into `b.input`,
/// recording each one's length and sender in `b.received` (cleared by the
/// caller). A short batch emptied the queue: it is reported as `WouldBlock`
/// (with `b.received` not empty), so that `try_io` clears the socket's
/// readiness and the worker sleeps in epoll instead of asking again only to
/// be told EAGAIN — one system call less per wake-up when the server is not
/// saturated (issue 12). No datagram is missed: the registration is
/// edge-triggered, every datagram queued after this read makes a new edge,
/// and tokio clears readiness only if no event came in since it was read.
fn receive(socket: &UdpSocket, b: &mut Buffers) -> io::Result<()> {
    let mut slices = b.input.each_mut().map(|buf| [IoSliceMut::new(buf)]);
    let results = recvmmsg(
        socket.as_raw_fd(),
        &mut b.recv_headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )?;
    let mut read = 0;
    for msg in results {
        let client = msg.address.as_ref().and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| SocketAddr::from(*v4))
                .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6)))
        });
        // A datagram longer than the buffer is cut; it is handled as what
        // arrived (and then judged malformed).
        if let Some(client) = client {
            b.received.push((msg.bytes.min(DATAGRAM), client));
        }
        read += 1;
    }
    if read < BATCH {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(())
}

/// Sends the answers in `b.output[..b.to.len()]`, as many per system call as
/// the socket takes; one that cannot be sent is logged and skipped.
async fn send_all(socket: &Socket, b: &mut Buffers) {
    let count = b.to.len();
    let mut sent = 0;
    while sent < count {
        match send_from(socket.get_ref(), b, sent, count) {
            Ok(0) => break,
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Err(e) = wait_writable(socket).await {
                    tracing::debug!("UDP send: {e}; {} answers dropped", count - sent);
                    break;
                }
            }
            Err(e) => {
                // sendmmsg fails only on the first message it was given.
                tracing::debug!(client = ?b.to[sent], "UDP send error: {e}");
                sent += 1;
            }
        }
    }
}

/// One `sendmmsg` of the answers `b.output[sent..count]`, without waiting:
/// how many the kernel took.
fn send_from(socket: &UdpSocket, b: &mut Buffers, sent: usize, count: usize) -> io::Result<usize> {
    let slices: [[IoSlice<'_>; 1]; BATCH] =
        std::array::from_fn(|i| [IoSlice::new(b.output.get(sent + i).map_or(&[], |o| o))]);
    let results = sendmmsg(
        socket.as_raw_fd(),
        &mut b.send_headers,
        slices[..count - sent].iter(),
        &b.to[sent..count],
        [],
        MsgFlags::MSG_DONTWAIT,
    )?;
    Ok(results.count())
}

/// Sends one UDP response, subject to response rate limiting.
async fn send_one(ctx: &Context, socket: &Socket, response: &mut Vec<u8>, client: SocketAddr) {
    let send = rate_limit(&ctx.policy(), ctx.cache.now(), response, client.ip());
    if !send {
        return;
    }
    let mut result = socket.get_ref().send_to(response, client);
    if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
        result = match wait_writable(socket).await {
            Ok(()) => socket.get_ref().send_to(response, client),
            Err(e) => Err(e),
        };
    }
    if let Err(e) = result {
        tracing::debug!(%client, "UDP send error: {e}");
    }
}

/// Waits, at most [`SEND_BLOCKED_WAIT`], until `socket` has room for a
/// datagram again: the one wait for writability (see the module's
/// documentation). The worker's registration is for readability only, so a
/// duplicate of the descriptor is registered for writability for as long
/// as the wait lasts (epoll keys registrations by descriptor); if the
/// socket already has room, epoll reports it at once.
async fn wait_writable(socket: &Socket) -> io::Result<()> {
    let writable = register(socket.get_ref().try_clone()?, Interest::WRITABLE)?;
    match tokio::time::timeout(SEND_BLOCKED_WAIT, writable.writable()).await {
        Ok(ready) => ready.map(drop),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no room to send for {} ms", SEND_BLOCKED_WAIT.as_millis()),
        )),
    }
}

/// Applies `policy`'s response rate limiting to `response` for `client` at
/// `now`:
/// false when it must not be sent; a slipped response is cut to its
/// question with TC=1.
fn rate_limit(policy: &Policy, now: u64, response: &mut Vec<u8>, client: IpAddr) -> bool {
    let verdict = {
        let Some(limiter) = &policy.ratelimit else {
            return true;
        };
        limiter.check(client, now)
    };
    match verdict {
        Verdict::Send => true,
        Verdict::Slip => {
            truncate_to_question(response);
            true
        }
        Verdict::Drop => false,
    }
}

/// Cuts a response down to its header and question with TC=1 (RFC 1035
/// §4.1.1: the client retries over TCP).
pub(super) fn truncate_to_question(response: &mut Vec<u8>) {
    if response.len() < 12 {
        return;
    }
    let mut end = 12;
    if u16::from_be_bytes([response[4], response[5]]) >= 1 {
        // The echoed question is uncompressed: labels up to the root, then
        // type and class.
        while let Some(&len) = response.get(end) {
            if len & 0xC0 != 0 {
                end += 2; // a pointer ends the name
                break;
            }
            end += 1 + usize::from(len);
            if len == 0 {
                break;
            }
        }
        end = (end + 4).min(response.len());
        response[4..6].copy_from_slice(&1u16.to_be_bytes());
    }
    response.truncate(end);
    response[2] |= 0x02; // TC
    response[6..12].fill(0); // no answer, authority or additional records
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one wait for writability: a socket with room is reported
    /// writable at once through the duplicate's registration (no 200 ms
    /// timeout), and the socket's own registration still sees a datagram
    /// that arrives afterwards (`server_wakeups` checks it asks for
    /// readability only).
    #[tokio::test]
    async fn wait_writable_returns_at_once_when_there_is_room() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let socket = register(socket, Interest::READABLE).unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(150), wait_writable(&socket)).await;
        assert!(matches!(waited, Ok(Ok(()))), "{waited:?}");
        // Registering and dropping the duplicate left the socket's own
        // registration working.
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"query", addr).unwrap();
        let mut ready = tokio::time::timeout(Duration::from_secs(5), socket.readable())
            .await
            .expect("readable")
            .unwrap();
        let mut buf = [0u8; 16];
        let read = ready.try_io(|s| s.get_ref().recv_from(&mut buf));
        assert!(matches!(read, Ok(Ok((5, _)))), "{read:?}");
    }
}
