//! The iterator's thin async side: runs an [`Iteration`], sending what it
//! asks through the query layer and feeding the replies back. The caches
//! are shared by every resolution (and so by the validator's DS and DNSKEY
//! fetches, which come through here too).

use crate::hashing::NameMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::OnceCell;

use super::machine::{Action, IterConfig, Iteration, Now, Response, SendRequest, Shared};
use crate::clock::Clock;
use crate::transport::Transport;
use crate::upstream::{CaseRandomisation, Exchange, UpstreamError, UpstreamReply, ask};
use crate::wire::{DNSClass, Name, RecordType};

/// The recursive resolver's upstream: iterates from the root.
pub struct Iterator {
    cfg: Arc<IterConfig>,
    shared: Arc<Mutex<Shared>>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    inflight: Mutex<NameMap<InflightKey, Arc<OnceCell<Response>>>>,
    /// 0x20 and the servers that do not preserve case.
    caps: CaseRandomisation,
    /// This iterator, for the key fetches it starts in the background;
    /// unset (no prefetching) until [`Iterator::enable_key_prefetch`].
    me: OnceLock<Weak<Self>>,
    /// DNSKEY sets being fetched ahead of the validator, by zone (lower
    /// case): the validator's own question for one waits for it instead
    /// of asking again.
    key_fetches: Mutex<NameMap<Name, KeyFetch>>,
}

/// One DNSKEY fetch started ahead of the validator, shared with it.
type KeyFetch = Arc<OnceCell<Result<UpstreamReply, UpstreamError>>>;

/// At most this many DNSKEY fetches ahead of the validator at once; more
/// referrals than that in flight are left to the validator's own fetches.
const MAX_KEY_PREFETCHES: usize = 64;

/// The longest wait between two failed primings.
pub const PRIME_RETRY_MAX: Duration = Duration::from_secs(300);

/// When to prime again after a priming whose NS set lives `ttl` s: at nine
/// tenths of it (the set is still live then), and not more often than every
/// 10 s whatever the TTL.
pub fn prime_again_after(ttl: u32) -> Duration {
    Duration::from_secs((u64::from(ttl) * 9 / 10).max(10))
}

/// An exchange in flight: server, question name (lower case), type, RD.
type InflightKey = (SocketAddr, Name, RecordType, bool);

impl std::fmt::Debug for Iterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iterator")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Iterator {
    /// An iterator with empty caches.
    pub fn new(cfg: IterConfig, transport: Arc<dyn Transport>, clock: Arc<dyn Clock>) -> Self {
        let shared = Shared {
            cache: super::cache::IterCache::new().with_max_ttl(cfg.max_ttl),
            ..Shared::default()
        };
        Self {
            cfg: Arc::new(cfg),
            shared: Arc::new(Mutex::new(shared)),
            transport,
            clock,
            inflight: Mutex::new(NameMap::default()),
            caps: CaseRandomisation::default(),
            me: OnceLock::new(),
            key_fetches: Mutex::new(NameMap::default()),
        }
    }

    /// Fetch scheduling (issue 12): from now on, a referral to a signed
    /// zone on a question's way down starts the zone's DNSKEY query at
    /// once, beside the question (see
    /// [`Iteration::take_key_prefetches`](super::machine::Iteration::take_key_prefetches)),
    /// so that the validator finds the set cached or in flight instead of
    /// waiting one more round trip after the answer. Needs a tokio runtime
    /// when referrals come (it spawns the fetches); without one nothing is
    /// fetched ahead.
    pub fn enable_key_prefetch(self: &Arc<Self>) {
        let _ = self.me.set(Arc::downgrade(self));
    }

    /// Starts fetching `zone`'s DNSKEY set in the background, unless it is
    /// cached, already being fetched, or too many are.
    fn prefetch_keys(&self, zone: Name) {
        let Some(me) = self.me.get().and_then(Weak::upgrade) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let key = zone.to_lowercase();
        let cached = {
            let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            shared
                .cache
                .answer(&zone, RecordType::DNSKEY, self.clock.unix_now())
                .is_some()
        };
        if cached {
            return;
        }
        let cell = {
            let mut map = self.key_fetches.lock().unwrap_or_else(|e| e.into_inner());
            if map.contains_key(&key) || map.len() >= MAX_KEY_PREFETCHES {
                return;
            }
            let cell = KeyFetch::default();
            map.insert(key.clone(), cell.clone());
            cell
        };
        tracing::debug!(%zone, "fetching DNSKEY ahead of the validator");
        runtime.spawn(async move {
            cell.get_or_init(|| me.run_keys(&zone)).await;
            me.key_fetch_done(&key, &cell);
        });
    }

    /// A key fetch ended: the iterator's answer cache holds its answer from
    /// now on, so it is shared no longer. Whoever sees it end first (the
    /// task, or a validator whose runtime outlived the task's) removes it,
    /// so that no result is kept past its question.
    fn key_fetch_done(&self, key: &Name, cell: &KeyFetch) {
        let mut map = self.key_fetches.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            map.remove(key);
        }
    }

    /// The validator's DNSKEY question for `zone`, iterated.
    async fn run_keys(&self, zone: &Name) -> Result<UpstreamReply, UpstreamError> {
        let iteration = Iteration::new(zone, RecordType::DNSKEY).for_validation(true);
        self.drive(iteration, zone, RecordType::DNSKEY).await
    }

    /// 0x20 on (the default) or off (`use_caps_for_id`).
    pub fn with_caps_for_id(mut self, on: bool) -> Self {
        self.caps = CaseRandomisation::new(on);
        self
    }

    /// One exchange; identical ones in flight at the same time (the same
    /// server, question and RD), from concurrent resolutions, share one
    /// query and its reply.
    async fn exchange(&self, request: &SendRequest) -> Response {
        let key: InflightKey = (
            request.server,
            request.question.name().to_lowercase(),
            request.question.query_type(),
            request.flags.rd,
        );
        let cell = {
            let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        cell.get_or_init(|| self.send(request)).await;
        {
            let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(&key);
            }
        }
        // The last one holding the reply takes it; the others (identical
        // queries that joined this one) copy it.
        match Arc::try_unwrap(cell) {
            Ok(once) => once.into_inner(),
            Err(shared) => shared.get().cloned(),
        }
        .unwrap_or(Response::Failed)
    }

    /// Sends one query through the query layer.
    async fn send(&self, request: &SendRequest) -> Response {
        let sent = tokio::time::Instant::now();
        // 0x20: the query layer randomises the name's case and checks
        // the echo; `caps` remembers servers that do not preserve it.
        let exchange = ask(
            self.transport.as_ref(),
            request.server,
            &request.question,
            request.flags,
            Duration::from_millis(u64::from(request.timeout_ms)),
            &self.caps,
        )
        .await;
        // `upstream.queries` in recursive mode: each query sent to an
        // authority (a reply over TCP followed a truncated one over UDP:
        // two), with the round trip or as a failure.
        match &exchange {
            Ok(Exchange::Reply(reply)) => crate::stats::global()
                .upstream_exchange(1 + u64::from(reply.tcp), Some(sent.elapsed())),
            _ => crate::stats::global().upstream(None),
        }
        match exchange {
            Ok(Exchange::Reply(reply)) => Response::Reply {
                message: reply.message,
                rtt_ms: u32::try_from(sent.elapsed().as_millis()).unwrap_or(u32::MAX),
            },
            Ok(Exchange::Failed { timeout: true, .. }) => Response::Timeout,
            Ok(Exchange::Failed { why, .. }) => {
                tracing::debug!(server = %request.server, "query failed: {why}");
                Response::Failed
            }
            Err(e) => {
                tracing::debug!(server = %request.server, "query not sent: {e}");
                Response::Failed
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IterConfig {
        &self.cfg
    }

    /// The engine validated an answer Secure: its NS sets and addresses
    /// (`records`, the answer section as validated) outrank every
    /// unvalidated copy for server selection from now on.
    pub fn learn_validated(&self, records: &[crate::wire::Record]) {
        let now = self.clock.unix_now();
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        for set in super::machine::rrsets(records) {
            if matches!(
                set[0].record_type(),
                RecordType::NS | RecordType::A | RecordType::AAAA
            ) {
                shared.cache.store_validated(set, now);
            }
        }
    }

    /// The engine proved the answer to `name`/`rtype` bogus: what it
    /// brought (the RRsets of `records`, the answer section) is dropped
    /// from the caches, so that it picks no server and answers nothing.
    pub fn forget_bogus(&self, name: &Name, rtype: RecordType, records: &[crate::wire::Record]) {
        let now = self.clock.unix_now();
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.cache.forget_bogus(name, rtype, now);
        for set in super::machine::rrsets(records) {
            shared
                .cache
                .forget_bogus(&set[0].name, set[0].record_type(), now);
        }
    }

    /// Resolves `name`/`rtype` from the closest known delegation down and
    /// returns the authoritative answer, unvalidated. `avoid` non-empty: a
    /// retry after a validation failure, asked fresh (no cached answers)
    /// and of other servers than those where a zone has others.
    pub async fn resolve(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        avoid: &[IpAddr],
    ) -> Result<UpstreamReply, UpstreamError> {
        self.run(name, rtype, class, avoid, false, false).await
    }

    /// Like [`Iterator::resolve`] for a question whose answer the engine
    /// will not validate (CD=1, a negative trust anchor): no DNSKEY set is
    /// fetched ahead for it ([`Iteration::unvalidated`]).
    pub async fn resolve_unvalidated(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> Result<UpstreamReply, UpstreamError> {
        self.run(name, rtype, class, &[], false, true).await
    }

    /// Like [`Iterator::resolve`], for the validator's DS and DNSKEY
    /// questions: a referral's proof of no DS answers a DS question.
    pub async fn resolve_for_validation(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        avoid: &[IpAddr],
    ) -> Result<UpstreamReply, UpstreamError> {
        self.run(name, rtype, class, avoid, true, false).await
    }

    async fn run(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        avoid: &[IpAddr],
        for_validation: bool,
        unvalidated: bool,
    ) -> Result<UpstreamReply, UpstreamError> {
        if class != DNSClass::IN {
            return Err(UpstreamError::Resolution {
                ede: crate::validator::outcome::ede_code::OTHER,
                why: format!("class {class} is not iterated"),
            });
        }
        if for_validation && rtype == RecordType::DNSKEY && avoid.is_empty() {
            // Fetched ahead (or being fetched): share it.
            let key = name.to_lowercase();
            let ahead = self
                .key_fetches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned();
            if let Some(cell) = ahead {
                let reply = cell.get_or_init(|| self.run_keys(name)).await.clone();
                self.key_fetch_done(&key, &cell);
                return reply;
            }
        }
        let iteration = Iteration::new(name, rtype)
            .avoiding(avoid.to_vec())
            .for_validation(for_validation)
            .unvalidated(unvalidated);
        self.drive(iteration, name, rtype).await
    }

    /// Primes the root (RFC 9609 §3): asks the hints for `. NS`, fresh,
    /// and renews the cached root NS set and addresses. Returns how long
    /// the new set lives, s.
    pub async fn prime(&self) -> Result<u32, UpstreamError> {
        let root = Name::root();
        let reply = self
            .drive(Iteration::priming(), &root, RecordType::NS)
            .await?;
        let ns: Vec<u32> = reply
            .message
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::NS && r.name.is_root())
            .map(|r| r.ttl)
            .collect();
        match ns.iter().min() {
            Some(ttl) => Ok((*ttl).min(match self.cfg.max_ttl {
                0 => super::cache::MAX_TTL,
                max => max,
            })),
            None => Err(UpstreamError::Resolution {
                ede: crate::validator::outcome::ede_code::OTHER,
                why: format!(
                    "priming: no root NS set in the answer ({})",
                    reply.message.metadata.response_code
                ),
            }),
        }
    }

    /// Primes at once and again before the root's NS set expires (at nine
    /// tenths of its TTL), in the background, for as long as the iterator
    /// lives; a failed priming (no network yet) is retried after 1, 2, 4
    /// ... s, at most [`PRIME_RETRY_MAX`] apart. Questions do not wait for
    /// it: without a primed root they prime lazily (RFC 9609 §3).
    pub fn spawn_priming(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut retry = Duration::from_secs(1);
            loop {
                let Some(iterator) = weak.upgrade() else {
                    return;
                };
                let wait = match iterator.prime().await {
                    Ok(ttl) => {
                        retry = Duration::from_secs(1);
                        let again = prime_again_after(ttl);
                        tracing::info!(ttl, again = again.as_secs(), "root primed");
                        again
                    }
                    Err(e) => {
                        let wait = retry;
                        retry = (retry * 2).min(PRIME_RETRY_MAX);
                        tracing::warn!("root priming failed, again in {} s: {e}", wait.as_secs());
                        wait
                    }
                };
                drop(iterator);
                tokio::time::sleep(wait).await;
            }
        })
    }

    async fn drive(
        &self,
        mut iteration: Iteration,
        name: &Name,
        rtype: RecordType,
    ) -> Result<UpstreamReply, UpstreamError> {
        let start = tokio::time::Instant::now();
        let mut last = None;
        loop {
            let now = Now {
                unix: self.clock.unix_now(),
                elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            };
            let action = {
                let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                iteration.step(&self.cfg, &mut shared, now, rand::random())
            };
            let request = match action {
                Action::Done(Ok(message)) => {
                    tracing::debug!(%name, %rtype, sends = iteration.sends(), "iteration done");
                    tracing::trace!("{message}");
                    return Ok(UpstreamReply {
                        message,
                        server: last.unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
                        tcp: false,
                    });
                }
                Action::Done(Err(failure)) => {
                    tracing::info!(%name, %rtype, sends = iteration.sends(), "resolution failed: {}", failure.why);
                    return Err(UpstreamError::Resolution {
                        ede: failure.ede,
                        why: failure.why,
                    });
                }
                Action::Send(request) => request,
            };
            let response = self.exchange(&request).await;
            if matches!(response, Response::Reply { .. }) {
                last = Some(request.server);
            }
            let now = Now {
                unix: self.clock.unix_now(),
                elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            };
            {
                let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                iteration.supply(&self.cfg, &mut shared, now, response);
            }
            for zone in iteration.take_key_prefetches() {
                self.prefetch_keys(zone);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::FixedClock;
    use crate::transport::{ExchangeFuture, Protocol};
    use crate::upstream::QueryFlags;
    use crate::wire::Query;

    /// Echoes each query back as its reply, after a pause long enough for
    /// a second identical exchange to join the first; counts the queries.
    struct Echo(AtomicUsize);

    impl Transport for Echo {
        fn exchange<'a>(
            &'a self,
            _server: SocketAddr,
            request: &'a [u8],
            _protocol: Protocol,
            _timeout: Duration,
        ) -> ExchangeFuture<'a> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut reply = request.to_vec();
                reply[2] |= 0x80;
                Ok(reply)
            })
        }
    }

    /// Identical exchanges in flight at once share one query, and each
    /// gets the whole reply (the last by taking it, the others by copy);
    /// once it is in, the next identical exchange is a query of its own.
    #[tokio::test(flavor = "current_thread")]
    async fn identical_exchanges_in_flight_share_one_query_and_its_reply() {
        let echo = Arc::new(Echo(AtomicUsize::new(0)));
        let it = Iterator::new(
            IterConfig::default(),
            echo.clone(),
            Arc::new(FixedClock::new(1_000_000)),
        );
        let request = SendRequest {
            server: "192.0.2.1:53".parse().unwrap(),
            zone: Name::from_str("example.").unwrap(),
            question: Query::query(Name::from_str("www.example.").unwrap(), RecordType::A),
            flags: QueryFlags::ITERATE,
            timeout_ms: 1000,
        };
        let replies = tokio::join!(
            it.exchange(&request),
            it.exchange(&request),
            it.exchange(&request)
        );
        assert_eq!(echo.0.load(Ordering::Relaxed), 1, "one query for three");
        for reply in [replies.0, replies.1, replies.2] {
            let Response::Reply { message, .. } = reply else {
                panic!("no reply: {reply:?}");
            };
            assert_eq!(message.queries, vec![request.question.clone()]);
        }
        assert!(it.inflight.lock().unwrap().is_empty());
        assert!(matches!(
            it.exchange(&request).await,
            Response::Reply { .. }
        ));
        assert_eq!(echo.0.load(Ordering::Relaxed), 2);
    }
}
