//! `danebound serve`'s listener: [`Server`].
//!
//! Shaped like mini-redis's `server.rs`: [`Server::bind`] opens the sockets,
//! [`Server::run`] serves until a shutdown future completes. Per listen
//! address there is one UDP socket per worker (SO_REUSEPORT, so the kernel
//! spreads clients over the workers) and one TCP listener. Each UDP socket
//! is served by a thread of its own with a single-threaded runtime, in
//! batches (`recvmmsg`/`sendmmsg`, see `udp.rs`); TCP runs on the caller's
//! runtime.
//!
//! Every message goes through `handle`: parse (drop or FORMERR/NOTIMP on
//! bad input, never a panic), access control (REFUSED), local zones, then
//! the cache. A cache hit is answered inline on the task that read the
//! datagram, from a pre-encoded response; only a miss spawns a task that asks
//! the [`Resolve`] implementation, caches the result and answers.
//!
//! TCP follows RFC 7766 and is bounded against clients that never read:
//! see [`tcp`].

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::acl::Acl;
use crate::answer;
use crate::cache::stale::{self, StaleConfig};
use crate::cache::{Cache, CacheKey, Entry};
use crate::clock::Clock;
use crate::config::Config;
use crate::local_zones::LocalZones;
use crate::prefetch::Prefetcher;
use crate::ratelimit::ShardedRateLimiter;
use crate::resolve::{Resolution, Resolve};
use crate::stats;
use crate::validator::outcome::Outcome;
use crate::wire::{DNSClass, ResponseCode};

mod front;
mod inflight;
pub mod tcp;
mod udp;

pub use tcp::{Connections, TcpStats};

use crate::request::{Parsed, Request, error_response, rcode};

/// The longest a cache miss may take before the client gets SERVFAIL.
pub const RESOLUTION_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server shares between its tasks.
struct Context {
    resolver: Arc<dyn Resolve>,
    cache: Arc<Cache>,
    /// Replaced whole by `reload` ([`Settings::apply`]), which then bumps
    /// `policy_generation`.
    policy: RwLock<Arc<Policy>>,
    /// Changes when `policy` is replaced: UDP workers keep a copy of the
    /// policy ([`PolicySnapshot`]) and read only this on each batch.
    policy_generation: AtomicU64,
    inflight: Arc<inflight::Inflight>,
    tcp: Arc<Connections>,
    pending: Pending,
    /// Background refresh of hits near their end; `None` when off.
    prefetch: Option<Arc<Prefetcher>>,
    /// Serve-stale (RFC 8767).
    stale: StaleConfig,
}

impl Context {
    fn policy(&self) -> RwLockReadGuard<'_, Arc<Policy>> {
        self.policy.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// A UDP worker's copy of the policy, taken again when `reload` replaced
/// it. Reading the shared one took its lock on every message, and with two
/// workers the lock's counter moved between cores on every answer (issue
/// 12); the generation it checks instead is only ever read between reloads.
struct PolicySnapshot {
    generation: u64,
    policy: Arc<Policy>,
}

impl PolicySnapshot {
    fn new(ctx: &Context) -> Self {
        // Read before the policy: a reload in between is seen next time.
        let generation = ctx.policy_generation.load(Ordering::Acquire);
        Self {
            generation,
            policy: Arc::clone(&ctx.policy()),
        }
    }

    /// The policy in force.
    fn get(&mut self, ctx: &Context) -> &Policy {
        if ctx.policy_generation.load(Ordering::Acquire) != self.generation {
            *self = Self::new(ctx);
        }
        &self.policy
    }
}

/// Who may ask, what is answered locally, how fast: the settings `reload`
/// applies to the running server.
struct Policy {
    acl: Acl,
    local: LocalZones,
    /// UDP response rate limiting; `None` when off. Shared by the UDP
    /// workers, sharded by client network (no lock for exempt clients).
    ratelimit: Option<ShardedRateLimiter>,
}

impl Policy {
    fn new(config: &Config) -> Self {
        Self {
            acl: config.acl.clone(),
            local: if config.default_local_zones {
                LocalZones::defaults()
            } else {
                LocalZones::none()
            },
            ratelimit: config
                .ratelimit
                .enabled()
                .then(|| ShardedRateLimiter::new(config.ratelimit.clone())),
        }
    }
}

/// The running server's live settings, for `reload`.
#[derive(Clone)]
pub struct Settings(Arc<Context>);

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").finish_non_exhaustive()
    }
}

impl Settings {
    /// Applies `new`'s access control, rate limits and local zones where
    /// they differ from `old`, updating `old` to match; returns the names of
    /// what changed. Rate limiter counters start afresh when its settings
    /// change.
    pub fn apply(&self, old: &mut Config, new: &Config) -> Vec<&'static str> {
        let mut applied = Vec::new();
        if old.acl != new.acl {
            applied.push("access");
        }
        if old.ratelimit != new.ratelimit {
            applied.push("ratelimit");
        }
        if old.default_local_zones != new.default_local_zones {
            applied.push("default_local_zones");
        }
        if applied.is_empty() {
            return applied;
        }
        if new.acl.reaches_beyond_loopback() && !new.ratelimit.enabled() {
            tracing::warn!(
                "access.allow reaches beyond loopback and response rate limiting is off"
            );
        }
        {
            let mut policy = self.0.policy.write().unwrap_or_else(|e| e.into_inner());
            *policy = Arc::new(Policy::new(new));
            self.0.policy_generation.fetch_add(1, Ordering::Release);
        }
        old.acl = new.acl.clone();
        old.ratelimit = new.ratelimit.clone();
        old.default_local_zones = new.default_local_zones;
        applied
    }
}

fn context(config: &Config, resolver: Arc<dyn Resolve>, clock: Arc<dyn Clock>) -> Arc<Context> {
    let cache = Arc::new(
        Cache::new(config.cache.clone(), clock).with_stale_window(config.serve_stale.window()),
    );
    let prefetch = config
        .prefetch
        .then(|| Prefetcher::new(Arc::clone(&resolver), Arc::clone(&cache)));
    Arc::new(Context {
        resolver,
        cache,
        policy: RwLock::new(Arc::new(Policy::new(config))),
        policy_generation: AtomicU64::new(0),
        inflight: inflight::Inflight::new(config.max_inflight, config.max_inflight_per_client),
        tcp: Connections::new(tcp::TcpLimits {
            max_connections: config.max_tcp_connections,
            max_per_client: config.max_tcp_connections_per_client,
            max_outstanding: config.max_tcp_outstanding,
            idle_timeout: config.tcp_idle_timeout,
            write_timeout: config.tcp_write_timeout,
        }),
        pending: Pending::default(),
        prefetch,
        stale: config.serve_stale.clone(),
    })
}

/// The server's request pipeline without sockets: access control, the answer
/// cache, local zones, resolution and the answer rules, exactly as `serve`
/// runs them. The replay harness and tests drive it directly.
pub struct Responder {
    context: Arc<Context>,
}

impl Responder {
    /// A pipeline for `config` resolving through `resolver`.
    pub fn new(config: &Config, resolver: Arc<dyn Resolve>, clock: Arc<dyn Clock>) -> Self {
        Self {
            context: context(config, resolver, clock),
        }
    }

    /// The response to the DNS message `wire` from `client`, as it would be
    /// sent over TCP (`tcp`) or UDP; `None` when the request is dropped.
    pub async fn respond(&self, wire: &[u8], client: IpAddr, tcp: bool) -> Option<Vec<u8>> {
        let via = if tcp { Via::Tcp } else { Via::Udp };
        let mut out = Vec::new();
        match handle(&self.context, wire, client, via, &mut out) {
            Handled::Drop => None,
            Handled::Reply => Some(out),
            Handled::Miss(request) => Some(resolve_miss(&self.context, &request, via).await),
        }
    }

    /// The answer cache.
    pub fn cache(&self) -> Arc<Cache> {
        Arc::clone(&self.context.cache)
    }

    /// The live settings, for `reload`.
    pub fn settings(&self) -> Settings {
        Settings(Arc::clone(&self.context))
    }
}

/// The bound sockets, ready to serve.
pub struct Server {
    udp: Vec<std::net::UdpSocket>,
    tcp: Vec<std::net::TcpListener>,
    context: Arc<Context>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds every listen address of `config`. With the default listen list,
    /// an address that cannot be bound (e.g. no IPv6) is logged and skipped
    /// as long as one remains; an explicit address that fails is an error.
    pub fn bind(
        config: &Config,
        resolver: Arc<dyn Resolve>,
        clock: Arc<dyn Clock>,
    ) -> io::Result<Self> {
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for &addr in &config.listen {
            match bind_address(addr, config.workers.max(1)) {
                Ok((u, t)) => {
                    udp.extend(u);
                    tcp.push(t);
                }
                Err(e) if config.listen_is_default && addr.is_ipv6() => {
                    tracing::warn!(%addr, "not listening on {addr}: {e}");
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot listen on {addr}: {e}"),
                    ));
                }
            }
        }
        if tcp.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no address to listen on",
            ));
        }
        if config.acl.reaches_beyond_loopback() && !config.ratelimit.enabled() {
            tracing::warn!(
                "access.allow reaches beyond loopback and response rate limiting is off: \
                 set [ratelimit] responses_per_second so danebound cannot be used as a reflector"
            );
        }
        let context = context(config, resolver, clock);
        Ok(Self { udp, tcp, context })
    }

    /// The addresses served (UDP and TCP alike), one per listen address.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.tcp
            .iter()
            .filter_map(|t| t.local_addr().ok())
            .collect()
    }

    /// The answer cache.
    pub fn cache(&self) -> Arc<Cache> {
        Arc::clone(&self.context.cache)
    }

    /// The live settings, for `reload`.
    pub fn settings(&self) -> Settings {
        Settings(Arc::clone(&self.context))
    }

    /// The TCP connection registry (its [`Connections::stats`]), for tests
    /// and monitoring; take it before [`Server::run`].
    pub fn tcp_connections(&self) -> Arc<Connections> {
        Arc::clone(&self.context.tcp)
    }

    /// Serves until `shutdown` completes. Must run inside a tokio runtime.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        stats::global().start();
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        let mut workers = Vec::new();
        for (n, socket) in self.udp.into_iter().enumerate() {
            workers.push(udp::WorkerThread::spawn(
                n,
                Arc::clone(&self.context),
                socket,
            )?);
        }
        for listener in self.tcp {
            let listener = TcpListener::from_std(listener)?;
            tracing::info!(addr = ?listener.local_addr().ok(), "listening on TCP");
            tasks.push(tokio::spawn(tcp::acceptor(
                Arc::clone(&self.context),
                listener,
            )));
        }
        shutdown.await;
        tracing::info!("shutting down");
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        for worker in workers {
            worker.stop().await;
        }
        Ok(())
    }
}

// -- Sockets ------------------------------------------------------------------

/// `workers` UDP sockets sharing `addr` with SO_REUSEPORT, and a TCP listener.
/// Port 0 is resolved by the first socket and reused by the others.
fn bind_address(
    mut addr: SocketAddr,
    workers: usize,
) -> io::Result<(Vec<std::net::UdpSocket>, std::net::TcpListener)> {
    let mut udp = Vec::with_capacity(workers);
    for _ in 0..workers {
        let socket = udp_socket(addr)?;
        if addr.port() == 0 {
            addr = socket.local_addr()?;
        }
        udp.push(socket);
    }
    let tcp = tcp_listener(addr)?;
    Ok((udp, tcp))
}

fn udp_socket(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    // A larger receive queue absorbs bursts; the kernel may cap it.
    let _ = socket.set_recv_buffer_size(4 << 20);
    if addr.is_ipv4() {
        omit_path_mtu(&socket)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Answers over IPv4 ignore path MTU discovery (`IP_PMTUDISC_OMIT`): the
/// kernel sends them without DF and fragments only at the interface's MTU,
/// whatever ICMP "fragmentation needed" messages claim. A forged ICMP
/// message can then not shrink the path MTU to make the kernel fragment
/// answers, which is how fragment-injection poisoning of a downstream cache
/// starts (Herzberg and Shulman, 2013). unbound (`create_udp_sock`), BIND
/// and Knot set the same option on their UDP sockets. IPv6 answers stay
/// within 1,232 bytes (the advertised EDNS size), below the IPv6 minimum
/// MTU, so no ICMPv6 message can make the kernel fragment them.
fn omit_path_mtu(socket: &Socket) -> io::Result<()> {
    rustix::net::sockopt::set_ip_mtu_discover(
        socket,
        rustix::net::sockopt::Ipv4PathMtuDiscovery::OMIT,
    )
    .map_err(io::Error::from)
}

fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

// -- Handling one message -------------------------------------------------------

/// Which transport a message came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Udp,
    Tcp,
}

/// What [`handle`] decided.
enum Handled {
    /// `out` holds the response.
    Reply,
    /// Say nothing.
    Drop,
    /// Resolve this (cache miss).
    Miss(Box<Request>),
}

/// Answers what can be answered at once into `out` (TCP, `Responder`).
fn handle(ctx: &Context, buf: &[u8], client: IpAddr, via: Via, out: &mut Vec<u8>) -> Handled {
    handle_with(
        ctx,
        &ctx.policy(),
        None,
        ctx.cache.now(),
        buf,
        client,
        via,
        out,
    )
}

/// [`handle`] under `policy` at `now` (the cache's clock, read by the
/// caller), with a UDP worker's front cache when given.
#[expect(clippy::too_many_arguments)]
fn handle_with(
    ctx: &Context,
    policy: &Policy,
    mut front: Option<&mut front::Front>,
    now: u64,
    buf: &[u8],
    client: IpAddr,
    via: Via,
    out: &mut Vec<u8>,
) -> Handled {
    let stats = stats::global();
    let start = stats.sample().then(Instant::now);
    let parsed = Request::parse(buf);
    if !policy.acl.allows(client) {
        return match parsed {
            Parsed::Drop(_) => Handled::Drop,
            Parsed::Query(request) => {
                tracing::debug!(%client, "refused: not in access.allow");
                *out = answer::encode(&answer::error(&request, ResponseCode::Refused));
                stats.answer(ResponseCode::Refused, None);
                Handled::Reply
            }
            Parsed::Reject { .. } => {
                error_response(buf, rcode::REFUSED, out);
                stats.answer(ResponseCode::Refused, None);
                Handled::Reply
            }
        };
    }
    let request = match parsed {
        Parsed::Drop(why) => {
            tracing::trace!(%client, "dropped: {why}");
            return Handled::Drop;
        }
        Parsed::Reject { rcode, why } => {
            tracing::debug!(%client, rcode, "rejected: {why}");
            error_response(buf, rcode, out);
            stats.answer_rcode(rcode);
            return Handled::Reply;
        }
        Parsed::Query(request) => request,
    };
    stats.query(via == Via::Tcp);
    // The cache first: local-zone names are never cached (they never reach
    // the resolver), so this order cannot hide a local answer, and hits skip
    // the local-zone check. A worker's front cache before the shared one;
    // the epoch is read before the shared lookup (see `front`).
    let epoch = ctx.cache.epoch();
    if let Some(front) = front.as_deref_mut()
        && let Some(entry) = front.answer(&request, now, epoch, out)
    {
        stats.cache_hit(start.map(|s| s.elapsed()));
        stats.resolved(request.cd, entry.rcode(), entry.outcome());
        return Handled::Reply;
    }
    if let Some(entry) = ctx.cache.lookup(&request) {
        match via {
            Via::Udp => entry.write_udp(&request, now, out),
            Via::Tcp => entry.write_response(&request, now, out),
        }
        if let Some(front) = front {
            front.fill(&request, &entry, now, epoch, out);
        }
        stats.cache_hit(start.map(|s| s.elapsed()));
        stats.resolved(request.cd, entry.rcode(), entry.outcome());
        if let Some(prefetch) = &ctx.prefetch {
            prefetch.consider(&request, &entry, now);
        }
        return Handled::Reply;
    }
    if !policy.local.is_empty()
        && let Some(resolution) = policy.local.answer(&request.query())
    {
        stats.answer(resolution.rcode, None);
        let mut message = answer::build(&request, &resolution);
        // Local data is ours to vouch for, as unbound does (AA=1).
        message.metadata.authoritative = true;
        *out = match via {
            Via::Udp => answer::encode_udp(&request, &message),
            Via::Tcp => answer::encode(&message),
        };
        return Handled::Reply;
    }
    Handled::Miss(Box::new(request))
}

/// Encodes the response to `request` carrying `resolution` (uncached path).
fn respond(request: &Request, resolution: &Resolution, via: Via, out: &mut Vec<u8>) {
    let message = answer::build(request, resolution);
    *out = match via {
        Via::Udp => answer::encode_udp(request, &message),
        Via::Tcp => answer::encode(&message),
    };
}

/// A miss being resolved, shared by every client asking the same question
/// meanwhile (identical in-flight queries are coalesced: one upstream
/// resolution, one validation, one log line).
#[derive(Default)]
struct Pending {
    map: Mutex<HashMap<Box<[u8]>, Shared>>,
}

/// One miss's result, awaited by every client that asked for it.
type Shared = Arc<OnceCell<Resolved>>;

/// The result of a miss: the cache entry, or the resolution when it is not
/// cacheable.
struct Resolved {
    entry: Option<Arc<Entry>>,
    resolution: Option<Resolution>,
}

impl Pending {
    fn join(&self, key: &CacheKey) -> Shared {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(key.as_bytes().into()).or_default())
    }

    fn leave(&self, key: &CacheKey, cell: &Shared) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map
            .get(key.as_bytes())
            .is_some_and(|c| Arc::ptr_eq(c, cell))
        {
            map.remove(key.as_bytes());
        }
    }
}

/// Resolves a cache miss, caches the result and returns the response.
async fn resolve_miss(ctx: &Context, request: &Request, via: Via) -> Vec<u8> {
    let start = Instant::now();
    let key = request.cache_key(request.cd);
    let cell = ctx.pending.join(&key);
    let resolved = cell
        .get_or_init(|| async {
            let query = request.query();
            let resolution = match tokio::time::timeout(
                RESOLUTION_TIMEOUT,
                ctx.resolver.resolve(&query, request.cd),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(name = %query.name(), qtype = %query.query_type(), "resolution timed out");
                    Resolution::timed_out(RESOLUTION_TIMEOUT)
                }
            };
            if let Outcome::Bogus(reason) = &resolution.outcome {
                // Logged once per validation: the bogus result is then held
                // in the cache, and hits are not logged.
                tracing::warn!(name = %query.name(), qtype = %query.query_type(), "validation failed: {reason}");
            }
            // The last RRset of a Secure alias chain also answers its own
            // owner asked directly: cached under that question too, unless
            // an answer to it is held already.
            if query.query_class() == DNSClass::IN
                && let Some((target, tail)) = resolution.alias_tail(query.name(), query.query_type())
            {
                let tail_key = CacheKey::new(&target, query.query_type(), DNSClass::IN, false);
                if ctx.cache.get(&tail_key).is_none() {
                    ctx.cache.insert(&tail_key, tail);
                }
            }
            if ctx.cache.ttl_for(&resolution) > 0 {
                Resolved {
                    entry: ctx.cache.insert(&key, resolution),
                    resolution: None,
                }
            } else {
                Resolved {
                    entry: None,
                    resolution: Some(resolution),
                }
            }
        })
        .await;
    ctx.pending.leave(&key, &cell);
    if let Some(out) = serve_stale(ctx, request, via, resolved) {
        stats::global().cache_miss(start.elapsed());
        return out;
    }
    let summary = match (&resolved.entry, &resolved.resolution) {
        (Some(e), _) => Some((e.rcode(), e.outcome())),
        (None, Some(r)) => Some((r.rcode, &r.outcome)),
        (None, None) => None,
    };
    if let Some((rcode, outcome)) = summary {
        stats::global().cache_miss(start.elapsed());
        stats::global().resolved(request.cd, rcode, outcome);
    }
    let mut out = Vec::new();
    match (&resolved.entry, &resolved.resolution) {
        (Some(entry), _) => {
            let now = ctx.cache.now();
            match via {
                Via::Udp => entry.write_udp(request, now, &mut out),
                Via::Tcp => entry.write_response(request, now, &mut out),
            }
        }
        (None, Some(resolution)) => respond(request, resolution, via, &mut out),
        (None, None) => respond(
            request,
            &Resolution::servfail(Outcome::Indeterminate),
            via,
            &mut out,
        ),
    }
    out
}

/// RFC 8767: when resolving failed (no answer, SERVFAIL or REFUSED from
/// every upstream; never a bogus verdict), an expired entry still in its
/// stale window answers instead (see `cache::stale`).
fn serve_stale(ctx: &Context, request: &Request, via: Via, resolved: &Resolved) -> Option<Vec<u8>> {
    if !ctx.stale.enabled {
        return None;
    }
    let failed = resolved.entry.is_none()
        && resolved.resolution.as_ref().is_none_or(|r| {
            matches!(r.rcode, ResponseCode::ServFail | ResponseCode::Refused)
                && matches!(r.outcome, Outcome::Indeterminate)
        });
    if !failed {
        return None;
    }
    let entry = stale::stale_entry(&ctx.cache, request, &ctx.stale)?;
    let out = stale::stale_response(
        &entry,
        request,
        ctx.cache.now(),
        &ctx.stale,
        via == Via::Udp,
    );
    tracing::debug!(name = %request.query().name(), "upstreams failed: serving a stale answer (RFC 8767)");
    let stats = stats::global();
    stats.stale();
    stats.resolved(request.cd, entry.rcode(), entry.outcome());
    Some(out)
}

/// The answer to a miss that cannot be resolved now (too many in flight).
fn overloaded(request: &Request) -> Vec<u8> {
    stats::global().answer(ResponseCode::ServFail, None);
    answer::encode(&answer::error(request, ResponseCode::ServFail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::sockopt::{Ipv4PathMtuDiscovery, ip_mtu_discover};

    /// Every IPv4 worker socket ignores path MTU discovery
    /// ([`omit_path_mtu`]); the kernel's default is `IP_PMTUDISC_WANT` or
    /// `DONT`, so this fails without it.
    #[test]
    fn ipv4_listeners_omit_path_mtu_discovery() {
        let (udp, _tcp) = bind_address("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        assert_eq!(udp.len(), 2);
        for socket in &udp {
            assert_eq!(ip_mtu_discover(socket).unwrap(), Ipv4PathMtuDiscovery::OMIT);
        }
    }
}
