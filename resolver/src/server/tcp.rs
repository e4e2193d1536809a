//! DNS over TCP (RFC 7766) and what keeps it available under abuse.
//!
//! Several queries per connection, pipelined and answered in completion
//! order (§6.2.1.1), and an idle timeout (§6.2.3). Against a client that
//! opens connections, pipelines queries and never reads its answers (issue
//! 11, item 1), four bounds hold together:
//!
//! * every response write has a deadline (`tcp.write_timeout_secs`): a
//!   connection whose peer stops reading is closed, not held;
//! * at most `tcp.max_outstanding` queries of one connection are resolving or
//!   waiting to be written; the connection reads no more until one is
//!   written, so a stalled peer costs a bounded amount of memory (and the
//!   socket's send buffer is capped at [`SEND_BUFFER`]);
//! * one client address holds at most `tcp.max_connections_per_client`
//!   connections; more are closed at once;
//! * when all `tcp.max_connections` are open, a new connection is admitted by
//!   closing the open one that made progress (read a query or wrote an
//!   answer) least recently — a stalled or idle one — rather than being
//!   refused. RFC 7766 §6.2.3 lets a server close idle connections under load.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Context, Handled, Via, handle, overloaded, resolve_miss};

/// The kernel send buffer of an accepted connection (the kernel doubles
/// it): a 64 KB answer still fits, and a peer that never reads ties up a
/// bounded amount of kernel memory.
pub const SEND_BUFFER: usize = 64 * 1024;

/// TCP limits from the configuration.
#[derive(Clone, Copy, Debug)]
pub(super) struct TcpLimits {
    pub(super) max_connections: usize,
    pub(super) max_per_client: usize,
    pub(super) max_outstanding: usize,
    pub(super) idle_timeout: Duration,
    pub(super) write_timeout: Duration,
}

/// Counters of the TCP side, for tests and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Connections open now.
    pub open: usize,
    /// Connections closed at once because their address had
    /// `max_connections_per_client` open.
    pub refused: u64,
    /// Connections closed to make room for a new one.
    pub shed: u64,
    /// Connections closed because a response could not be written in time.
    pub write_timeouts: u64,
}

/// One open connection as the registry sees it.
struct Open {
    client: IpAddr,
    state: Arc<ConnState>,
}

/// What a connection shares with the registry.
struct ConnState {
    /// Milliseconds since the registry's epoch of the last query read or
    /// answer written.
    progress: AtomicU64,
    /// Notified when the registry sheds this connection.
    close: Notify,
}

/// The open connections: who holds them, and how to close one.
pub struct Connections {
    limits: TcpLimits,
    epoch: Instant,
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Open>,
    per_client: HashMap<IpAddr, usize>,
    stats: TcpStats,
}

impl Registry {
    fn remove(&mut self, id: u64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        if let Some(n) = self.per_client.get_mut(&open.client) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&open.client);
            }
        }
        self.stats.open = self.open.len();
        Some(open)
    }
}

/// A registered connection; leaves the registry when dropped.
struct Slot {
    id: u64,
    connections: Arc<Connections>,
    state: Arc<ConnState>,
}

impl Slot {
    fn progress(&self) {
        self.state
            .progress
            .store(self.connections.millis(), Ordering::Relaxed);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.lock().remove(self.id);
    }
}

impl Connections {
    pub(super) fn new(limits: TcpLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            epoch: Instant::now(),
            inner: Mutex::new(Registry::default()),
        })
    }

    /// The counters now.
    pub fn stats(&self) -> TcpStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Admits a connection from `client`: `None` when that address is at its
    /// limit; otherwise a slot, after shedding the connection with the
    /// oldest progress if the server is full.
    fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let now = self.millis();
        let mut registry = self.lock();
        let held = registry.per_client.get(&client).copied().unwrap_or(0);
        if held >= self.limits.max_per_client {
            registry.stats.refused += 1;
            return None;
        }
        while registry.open.len() >= self.limits.max_connections {
            let victim = registry
                .open
                .iter()
                .min_by_key(|(id, o)| (o.state.progress.load(Ordering::Relaxed), **id))
                .map(|(id, _)| *id);
            let Some(shed) = victim.and_then(|id| registry.remove(id)) else {
                break;
            };
            shed.state.close.notify_one();
            registry.stats.shed += 1;
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let state = Arc::new(ConnState {
            progress: AtomicU64::new(now),
            close: Notify::new(),
        });
        registry.open.insert(
            id,
            Open {
                client,
                state: Arc::clone(&state),
            },
        );
        *registry.per_client.entry(client).or_default() += 1;
        registry.stats.open = registry.open.len();
        drop(registry);
        Some(Slot {
            id,
            connections: Arc::clone(self),
            state,
        })
    }

    fn count_write_timeout(&self) {
        self.lock().stats.write_timeouts += 1;
    }
}

/// Aborts a task when dropped (the writer half of a connection).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) async fn acceptor(ctx: Arc<Context>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("TCP accept error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = ctx.tcp.admit(peer.ip()) else {
            tracing::debug!(%peer, "TCP connections per client reached, closing");
            continue;
        };
        let ctx = Arc::clone(&ctx);
        tokio::spawn(connection(ctx, stream, peer, slot));
    }
}

async fn connection(ctx: Arc<Context>, stream: TcpStream, peer: SocketAddr, slot: Slot) {
    let _ = stream.set_nodelay(true);
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
    let limits = ctx.tcp.limits;
    let (mut reader, mut writer) = stream.into_split();
    // Capacity = the queries of this connection that may be outstanding:
    // the reader reserves a place before reading each query.
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(limits.max_outstanding.max(1));
    let state = Arc::clone(&slot.state);
    let writer_slot = Arc::new(slot);
    let progress = Arc::clone(&writer_slot);
    let tcp = Arc::clone(&ctx.tcp);
    let mut writer_task = AbortOnDrop(tokio::spawn(async move {
        while let Some(response) = rx.recv().await {
            let Ok(len) = u16::try_from(response.len()) else {
                continue;
            };
            let mut frame = Vec::with_capacity(response.len() + 2);
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(&response);
            match tokio::time::timeout(limits.write_timeout, writer.write_all(&frame)).await {
                Ok(Ok(())) => progress.progress(),
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::debug!(%peer, "TCP write timeout, closing");
                    tcp.count_write_timeout();
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(limits.write_timeout, writer.shutdown()).await;
    }));
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut shed = false;
    loop {
        // A place for this query's answer first: when the writer is behind,
        // stop reading (the peer's queries wait in the kernel).
        let permit = tokio::select! {
            permit = tx.clone().reserve_owned() => match permit {
                Ok(p) => p,
                Err(_) => break, // the writer gave up (write timeout)
            },
            () = state.close.notified() => {
                shed = true;
                break;
            }
        };
        let frame = tokio::select! {
            frame = read_frame(&mut reader, &mut buf, limits.idle_timeout) => frame,
            () = state.close.notified() => {
                shed = true;
                break;
            }
        };
        match frame {
            Ok(()) => {}
            Err(why) => {
                tracing::trace!(%peer, "TCP connection ends: {why}");
                break;
            }
        }
        writer_slot.progress();
        match handle(&ctx, &buf, peer.ip(), Via::Tcp, &mut out) {
            Handled::Reply => {
                permit.send(std::mem::take(&mut out));
            }
            Handled::Drop => {}
            Handled::Miss(request) => {
                let Some(inflight) = ctx.inflight.try_admit(peer.ip()) else {
                    permit.send(overloaded(&request));
                    continue;
                };
                let ctx = Arc::clone(&ctx);
                tokio::spawn(async move {
                    let response = resolve_miss(&ctx, &request, Via::Tcp).await;
                    drop(inflight);
                    permit.send(response);
                });
            }
        }
    }
    // A peer that closed its side or went idle still gets the answers in
    // flight (each write has its deadline); a shed connection goes at once:
    // dropping `writer_task` aborts the writer.
    drop(tx);
    if !shed {
        tokio::select! {
            _ = &mut writer_task.0 => {}
            () = state.close.notified() => {}
        }
    }
}

/// Reads one length-prefixed message into `buf`; the idle timeout (RFC 7766
/// §6.2.3) bounds the wait for its first byte and for the rest alike.
async fn read_frame(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut Vec<u8>,
    idle: Duration,
) -> Result<(), &'static str> {
    let mut len = [0u8; 2];
    match tokio::time::timeout(idle, reader.read_exact(&mut len)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return Err("closed by the peer"),
        Err(_) => return Err("idle timeout"),
    }
    buf.resize(usize::from(u16::from_be_bytes(len)), 0);
    match tokio::time::timeout(idle, reader.read_exact(buf)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(_)) => Err("closed by the peer"),
        Err(_) => Err("idle timeout"),
    }
}
