//! The resolver's counters: one process-wide [`Stats`], incremented at a
//! few points of the server and the engine, read by `danebound control
//! stats` and the Prometheus endpoint.
//!
//! Each thread writes a shard of its own (registered on first use, folded
//! into a retired shard when the thread ends), so a counter is a relaxed
//! load and store on a cache line no other core writes: no read-modify-write,
//! no lock, no line bouncing between workers. A snapshot sums the shards.
//! A cache hit costs four such increments (query, hit, rcode, validation
//! result); one hit in [`HIT_SAMPLE`] also reads the clock twice for the
//! latency histogram. Counters only grow (like unbound's
//! `statistics-cumulative: yes`); rates are the reader's business.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::validator::outcome::{InsecureReason, Outcome};
use crate::wire::ResponseCode;

/// Upper bounds of the latency buckets, in microseconds: 10 µs to 10 s (the
/// 1.8 s bound is RFC 8767's client response timer).
pub const BUCKETS_US: [u64; 20] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000, 1_800_000, 2_500_000, 5_000_000, 10_000_000,
];

/// The response codes counted by name; the rest count as `other`.
pub const RCODES: [&str; 7] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "other",
];

/// Validation results counted.
pub const VALIDATION: [&str; 5] = ["secure", "insecure", "bogus", "indeterminate", "nta"];

/// One hit in this many is timed for the hit latency histogram (reading the
/// clock twice costs about as much as the rest of a hit's bookkeeping).
pub const HIT_SAMPLE: u32 = 8;

/// A counter written only by the thread that owns its shard and read by
/// any: a relaxed load and store, no read-modify-write.
#[derive(Debug)]
struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A latency histogram: one counter per bucket (not cumulative; the last
/// one is +Inf) and the sum.
#[derive(Debug)]
struct Histogram {
    buckets: [Counter; BUCKETS_US.len() + 1],
    sum_us: Counter,
}

impl Histogram {
    const fn new() -> Self {
        Self {
            buckets: [const { Counter::new() }; BUCKETS_US.len() + 1],
            sum_us: Counter::new(),
        }
    }

    fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(BUCKETS_US.len());
        self.buckets[i].add(1);
        self.sum_us.add(us);
    }

    fn add_to(&self, total: &mut HistogramSnapshot) {
        for (t, b) in total.buckets.iter_mut().zip(&self.buckets) {
            *t += b.get();
        }
        total.sum_us += self.sum_us.get();
    }
}

/// One thread's counters, on cache lines of their own.
#[derive(Debug)]
#[repr(align(128))]
struct Shard {
    queries_udp: Counter,
    queries_tcp: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
    rcodes: [Counter; RCODES.len()],
    validation: [Counter; VALIDATION.len()],
    upstream_queries: Counter,
    upstream_failures: Counter,
    upstream_rtt_us: Counter,
    prefetch: Counter,
    stale: Counter,
    aggressive_nxdomain: Counter,
    aggressive_nodata: Counter,
    work: [Counter; 4],
    hit_latency: Histogram,
    miss_latency: Histogram,
}

impl Shard {
    const fn new() -> Self {
        Self {
            queries_udp: Counter::new(),
            queries_tcp: Counter::new(),
            cache_hits: Counter::new(),
            cache_misses: Counter::new(),
            rcodes: [const { Counter::new() }; RCODES.len()],
            validation: [const { Counter::new() }; VALIDATION.len()],
            upstream_queries: Counter::new(),
            upstream_failures: Counter::new(),
            upstream_rtt_us: Counter::new(),
            prefetch: Counter::new(),
            stale: Counter::new(),
            aggressive_nxdomain: Counter::new(),
            aggressive_nodata: Counter::new(),
            work: [const { Counter::new() }; 4],
            hit_latency: Histogram::new(),
            miss_latency: Histogram::new(),
        }
    }

    /// Adds this shard's counts to `s`.
    fn add_to(&self, s: &mut Snapshot) {
        s.queries_udp += self.queries_udp.get();
        s.queries_tcp += self.queries_tcp.get();
        s.cache_hits += self.cache_hits.get();
        s.cache_misses += self.cache_misses.get();
        for (t, c) in s.rcodes.iter_mut().zip(&self.rcodes) {
            *t += c.get();
        }
        for (t, c) in s.validation.iter_mut().zip(&self.validation) {
            *t += c.get();
        }
        s.upstream_queries += self.upstream_queries.get();
        s.upstream_failures += self.upstream_failures.get();
        s.upstream_rtt_us += self.upstream_rtt_us.get();
        s.prefetch += self.prefetch.get();
        s.stale += self.stale.get();
        s.aggressive_nxdomain += self.aggressive_nxdomain.get();
        s.aggressive_nodata += self.aggressive_nodata.get();
        s.work.sessions += self.work[0].get();
        s.work.verifications += self.work[1].get();
        s.work.digests += self.work[2].get();
        s.work.nsec3_hashes += self.work[3].get();
        self.hit_latency.add_to(&mut s.hit_latency);
        self.miss_latency.add_to(&mut s.miss_latency);
    }
}

/// The process's counters.
#[derive(Debug)]
pub struct Stats {
    started: OnceLock<Instant>,
    /// The live threads' shards.
    shards: Mutex<Vec<Arc<Shard>>>,
    /// What ended threads counted (written under the `shards` lock).
    retired: Mutex<Snapshot>,
}

static STATS: Stats = Stats {
    started: OnceLock::new(),
    shards: Mutex::new(Vec::new()),
    retired: Mutex::new(Snapshot::EMPTY),
};

/// A thread's registration: its shard, retired when the thread ends.
struct Local {
    shard: Arc<Shard>,
    hit_tick: Cell<u32>,
}

impl Drop for Local {
    fn drop(&mut self) {
        let mut shards = STATS.shards.lock().unwrap_or_else(|e| e.into_inner());
        shards.retain(|s| !Arc::ptr_eq(s, &self.shard));
        let mut retired = STATS.retired.lock().unwrap_or_else(|e| e.into_inner());
        self.shard.add_to(&mut retired);
    }
}

thread_local! {
    static LOCAL: Local = {
        let shard = Arc::new(Shard::new());
        STATS
            .shards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&shard));
        Local { shard, hit_tick: Cell::new(0) }
    };
}

/// The process-wide counters.
pub fn global() -> &'static Stats {
    &STATS
}

impl Stats {
    /// Runs `f` on this thread's shard (none while the thread is exiting).
    fn with(&self, f: impl FnOnce(&Shard)) {
        let _ = LOCAL.try_with(|local| f(&local.shard));
    }

    /// Marks the start of service (uptime counts from the first call).
    pub fn start(&self) {
        let _ = self.started.get_or_init(Instant::now);
    }

    /// Whether to time this query for the hit latency histogram: one in
    /// [`HIT_SAMPLE`] per thread. Misses are always timed.
    pub fn sample(&self) -> bool {
        LOCAL
            .try_with(|local| {
                let tick = local.hit_tick.get().wrapping_add(1);
                local.hit_tick.set(tick);
                tick % HIT_SAMPLE == 0
            })
            .unwrap_or(false)
    }

    /// A query was received (parsed and allowed).
    pub fn query(&self, tcp: bool) {
        self.with(|s| {
            if tcp {
                s.queries_tcp.add(1);
            } else {
                s.queries_udp.add(1);
            }
        });
    }

    /// A query was answered from the cache; `elapsed` since it was read,
    /// when this one was sampled.
    pub fn cache_hit(&self, elapsed: Option<Duration>) {
        self.with(|s| {
            s.cache_hits.add(1);
            if let Some(d) = elapsed {
                s.hit_latency.observe(d);
            }
        });
    }

    /// A cache hit near its end started a background refresh (prefetch).
    pub fn prefetch(&self) {
        self.with(|s| s.prefetch.add(1));
    }

    /// An expired answer was served because the upstreams failed
    /// (RFC 8767).
    pub fn stale(&self) {
        self.with(|s| s.stale.add(1));
    }

    /// A NXDOMAIN (`nxdomain`) or NODATA was answered from validated
    /// NSEC/NSEC3 spans without an upstream query (RFC 8198).
    pub fn aggressive(&self, nxdomain: bool) {
        self.with(|s| {
            if nxdomain {
                s.aggressive_nxdomain.add(1);
            } else {
                s.aggressive_nodata.add(1);
            }
        });
    }

    /// A cache miss was resolved in `elapsed`.
    pub fn cache_miss(&self, elapsed: Duration) {
        self.with(|s| {
            s.cache_misses.add(1);
            s.miss_latency.observe(elapsed);
        });
    }

    /// An answer went out with `rcode` and, when it came from the resolver
    /// or the cache, its validation `outcome`.
    pub fn answer(&self, rcode: ResponseCode, outcome: Option<&Outcome>) {
        let i = match rcode {
            ResponseCode::NoError => 0,
            ResponseCode::FormErr => 1,
            ResponseCode::ServFail => 2,
            ResponseCode::NXDomain => 3,
            ResponseCode::NotImp => 4,
            ResponseCode::Refused => 5,
            _ => 6,
        };
        let v = outcome.map(|outcome| match outcome {
            Outcome::Secure => 0,
            Outcome::Insecure(InsecureReason::NegativeTrustAnchor { .. }) => 4,
            Outcome::Insecure(_) => 1,
            Outcome::Bogus(_) => 2,
            Outcome::Indeterminate => 3,
        });
        self.with(|s| {
            s.rcodes[i].add(1);
            if let Some(v) = v {
                s.validation[v].add(1);
            }
        });
    }

    /// An answer with `rcode` and `outcome` went to a client that set `cd`:
    /// a bogus one went out as SERVFAIL unless CD=1 (RFC 4035 §5.5, as
    /// `answer::build` does).
    pub fn resolved(&self, cd: bool, rcode: ResponseCode, outcome: &Outcome) {
        let rcode = if outcome.is_bogus() && !cd {
            ResponseCode::ServFail
        } else {
            rcode
        };
        self.answer(rcode, Some(outcome));
    }

    /// An answer with a raw rcode number (error responses built from bytes).
    pub fn answer_rcode(&self, rcode: u16) {
        self.answer(
            ResponseCode::from((rcode >> 4) as u8, (rcode & 0xf) as u8),
            None,
        );
    }

    /// A validation session ended having spent `budget`: the counted work
    /// (signature verifications, DS digests, NSEC3 hashes) its budget
    /// charged, summed over sessions (issue 11's attack tests read it).
    pub fn validation_work(&self, budget: &crate::validator::Budget) {
        self.with(|s| {
            s.work[0].add(1);
            s.work[1].add(u64::from(budget.verifications()));
            s.work[2].add(u64::from(budget.digests()));
            s.work[3].add(u64::from(budget.nsec3_hashes()));
        });
    }

    /// One upstream query: its round trip, or `None` when it failed.
    pub fn upstream(&self, rtt: Option<Duration>) {
        self.upstream_exchange(1, rtt);
    }

    /// One exchange of `sent` queries with a server (2 when a truncated
    /// UDP reply was asked again over TCP): its whole round trip (so the
    /// mean per query is its share), or `None` when it failed (one failure).
    pub fn upstream_exchange(&self, sent: u64, rtt: Option<Duration>) {
        self.with(|s| {
            s.upstream_queries.add(sent);
            match rtt {
                Some(rtt) => s
                    .upstream_rtt_us
                    .add(u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX)),
                None => s.upstream_failures.add(1),
            }
        });
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = self
            .retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for shard in shards.iter() {
            shard.add_to(&mut s);
        }
        s.uptime = self.started.get().map_or(Duration::ZERO, Instant::elapsed);
        s.forgeries = crate::transport::FORGERIES.snapshot();
        (s.upstream_tls_handshakes, s.upstream_tls_failures) =
            crate::transport::tls::handshake_counts();
        s
    }

    /// This thread's counters alone (tests).
    #[cfg(test)]
    fn this_thread(&self) -> Snapshot {
        let mut s = Snapshot::EMPTY;
        LOCAL.with(|local| local.shard.add_to(&mut s));
        s
    }
}

/// A histogram read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Per bucket of [`BUCKETS_US`], then +Inf; not cumulative.
    pub buckets: [u64; BUCKETS_US.len() + 1],
    /// Sum of the observations, microseconds.
    pub sum_us: u64,
}

impl HistogramSnapshot {
    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// Sizes of the caches, filled in by whoever holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    /// Answer cache entries.
    pub cache_entries: u64,
    /// Answer cache bytes (estimate).
    pub cache_bytes: u64,
    /// Zones in the key store.
    pub key_zones: u64,
    /// Bytes the key store holds.
    pub key_bytes: u64,
    /// Active negative trust anchors.
    pub negative_trust_anchors: u64,
}

/// Validation work counted by the sessions' budgets, summed over sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValidationWork {
    /// Validation sessions that ended.
    pub sessions: u64,
    /// Signature verifications.
    pub verifications: u64,
    /// DS digests (RFC 4034 §5.1.4).
    pub digests: u64,
    /// NSEC3 hashes.
    pub nsec3_hashes: u64,
}

/// The counters read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Since [`Stats::start`].
    pub uptime: Duration,
    /// Queries over UDP.
    pub queries_udp: u64,
    /// Queries over TCP.
    pub queries_tcp: u64,
    /// Answered from the cache.
    pub cache_hits: u64,
    /// Sent to the resolver.
    pub cache_misses: u64,
    /// Answers per [`RCODES`].
    pub rcodes: [u64; RCODES.len()],
    /// Answers per [`VALIDATION`].
    pub validation: [u64; VALIDATION.len()],
    /// Queries sent upstream: in recursive mode each query the iterator
    /// sends to an authority (priming, NS address lookups, the validator's
    /// DS and DNSKEY included); forwarding, each question forwarded (its
    /// tries at the configured resolvers count once).
    pub upstream_queries: u64,
    /// Of which failed (timeout, network error, unusable reply).
    pub upstream_failures: u64,
    /// Sum of the successful round trips, microseconds.
    pub upstream_rtt_us: u64,
    /// Background refreshes of entries hit near their end.
    pub prefetch: u64,
    /// Expired answers served because the upstreams failed (RFC 8767).
    pub stale: u64,
    /// NXDOMAIN answers from validated NSEC/NSEC3 spans (RFC 8198).
    pub aggressive_nxdomain: u64,
    /// NODATA answers from validated NSEC/NSEC3 spans (RFC 8198).
    pub aggressive_nodata: u64,
    /// TLS handshakes begun with DNS-over-TLS upstreams (one per
    /// connection: queries reuse it).
    pub upstream_tls_handshakes: u64,
    /// Of which failed (refused, wrong name or pin, timeout).
    pub upstream_tls_failures: u64,
    /// Counted validation work.
    pub work: ValidationWork,
    /// Latency of cache hits.
    pub hit_latency: HistogramSnapshot,
    /// Latency of cache misses.
    pub miss_latency: HistogramSnapshot,
    /// Cache sizes.
    pub sizes: Sizes,
    /// Upstream replies dropped as forged or mismatched, 0x20 fallbacks.
    pub forgeries: crate::transport::ForgeriesSnapshot,
}

impl Snapshot {
    /// All zero.
    pub const EMPTY: Self = Self {
        uptime: Duration::ZERO,
        queries_udp: 0,
        queries_tcp: 0,
        cache_hits: 0,
        cache_misses: 0,
        rcodes: [0; RCODES.len()],
        validation: [0; VALIDATION.len()],
        upstream_queries: 0,
        upstream_failures: 0,
        upstream_rtt_us: 0,
        prefetch: 0,
        stale: 0,
        aggressive_nxdomain: 0,
        aggressive_nodata: 0,
        work: ValidationWork {
            sessions: 0,
            verifications: 0,
            digests: 0,
            nsec3_hashes: 0,
        },
        upstream_tls_handshakes: 0,
        upstream_tls_failures: 0,
        hit_latency: HistogramSnapshot {
            buckets: [0; BUCKETS_US.len() + 1],
            sum_us: 0,
        },
        miss_latency: HistogramSnapshot {
            buckets: [0; BUCKETS_US.len() + 1],
            sum_us: 0,
        },
        sizes: Sizes {
            cache_entries: 0,
            cache_bytes: 0,
            key_zones: 0,
            key_bytes: 0,
            negative_trust_anchors: 0,
        },
        forgeries: crate::transport::ForgeriesSnapshot {
            foreign: 0,
            wrong_case: 0,
            caps_fallbacks: 0,
        },
    };

    /// `name=value` lines, one per counter, for `danebound control stats`
    /// (dotted names; `--json` nests them).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("queries.total={}", self.queries_udp + self.queries_tcp),
            format!("queries.udp={}", self.queries_udp),
            format!("queries.tcp={}", self.queries_tcp),
            format!("cache.hits={}", self.cache_hits),
            format!("cache.misses={}", self.cache_misses),
            format!("cache.entries={}", self.sizes.cache_entries),
            format!("cache.bytes={}", self.sizes.cache_bytes),
            format!("cache.prefetch={}", self.prefetch),
            format!("cache.stale={}", self.stale),
            format!("cache.aggressive.nxdomain={}", self.aggressive_nxdomain),
            format!("cache.aggressive.nodata={}", self.aggressive_nodata),
            format!("keys.zones={}", self.sizes.key_zones),
            format!("keys.bytes={}", self.sizes.key_bytes),
        ];
        for (name, n) in RCODES.iter().zip(&self.rcodes) {
            out.push(format!("answers.rcode.{name}={n}"));
        }
        for (name, n) in VALIDATION.iter().zip(&self.validation) {
            out.push(format!("answers.validation.{name}={n}"));
        }
        out.push(format!("validation.sessions={}", self.work.sessions));
        out.push(format!(
            "validation.verifications={}",
            self.work.verifications
        ));
        out.push(format!("validation.digests={}", self.work.digests));
        out.push(format!(
            "validation.nsec3_hashes={}",
            self.work.nsec3_hashes
        ));
        out.push(format!("upstream.queries={}", self.upstream_queries));
        out.push(format!("upstream.failures={}", self.upstream_failures));
        out.push(format!(
            "upstream.rtt_avg_ms={:.3}",
            self.upstream_rtt_avg_ms()
        ));
        out.push(format!(
            "upstream.dropped_foreign={}",
            self.forgeries.foreign
        ));
        out.push(format!(
            "upstream.dropped_wrong_case={}",
            self.forgeries.wrong_case
        ));
        out.push(format!(
            "upstream.caps_fallbacks={}",
            self.forgeries.caps_fallbacks
        ));
        out.push(format!(
            "upstream.tls.handshakes={}",
            self.upstream_tls_handshakes
        ));
        out.push(format!(
            "upstream.tls.failures={}",
            self.upstream_tls_failures
        ));
        for (name, h) in [("hits", &self.hit_latency), ("misses", &self.miss_latency)] {
            let avg = if h.count() == 0 {
                0.0
            } else {
                h.sum_us as f64 / h.count() as f64 / 1000.0
            };
            out.push(format!("latency.{name}.avg_ms={avg:.3}"));
        }
        out.push(format!(
            "negative_trust_anchors={}",
            self.sizes.negative_trust_anchors
        ));
        out.push(format!("uptime_seconds={}", self.uptime.as_secs()));
        out
    }

    /// Mean round trip of the successful upstream queries, milliseconds.
    pub fn upstream_rtt_avg_ms(&self) -> f64 {
        let ok = self.upstream_queries - self.upstream_failures;
        if ok == 0 {
            0.0
        } else {
            self.upstream_rtt_us as f64 / ok as f64 / 1000.0
        }
    }

    /// unbound-control's `stats_noreset` keys that have a meaning here, so
    /// that unbound's tooling (unbound_exporter, munin plugins) reads them:
    /// one thread, `thread0.*` and `total.*`.
    pub fn unbound_lines(&self) -> Vec<String> {
        let queries = self.queries_udp + self.queries_tcp;
        let avg_s = if self.miss_latency.count() == 0 {
            0.0
        } else {
            self.miss_latency.sum_us as f64 / self.miss_latency.count() as f64 / 1e6
        };
        let mut out = Vec::new();
        for prefix in ["thread0", "total"] {
            out.push(format!("{prefix}.num.queries={queries}"));
            out.push(format!("{prefix}.num.cachehits={}", self.cache_hits));
            out.push(format!("{prefix}.num.cachemiss={}", self.cache_misses));
            out.push(format!("{prefix}.num.prefetch={}", self.prefetch));
            out.push(format!("{prefix}.num.expired={}", self.stale));
            out.push(format!(
                "{prefix}.num.recursivereplies={}",
                self.cache_misses
            ));
            out.push(format!("{prefix}.recursion.time.avg={avg_s:.6}"));
        }
        let up = self.uptime.as_secs_f64();
        out.push(format!("time.up={up:.6}"));
        out.push(format!("time.elapsed={up:.6}"));
        out.push(format!("num.query.tcp={}", self.queries_tcp));
        for (name, n) in RCODES.iter().zip(&self.rcodes).take(6) {
            out.push(format!("num.answer.rcode.{name}={n}"));
        }
        out.push(format!("num.answer.secure={}", self.validation[0]));
        out.push(format!("num.answer.bogus={}", self.validation[2]));
        out.push(format!(
            "num.query.aggressive.NOERROR={}",
            self.aggressive_nodata
        ));
        out.push(format!(
            "num.query.aggressive.NXDOMAIN={}",
            self.aggressive_nxdomain
        ));
        out.push(format!("msg.cache.count={}", self.sizes.cache_entries));
        out.push(format!("key.cache.count={}", self.sizes.key_zones));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_by_upper_bound() {
        let h = Histogram::new();
        h.observe(Duration::from_micros(10));
        h.observe(Duration::from_micros(11));
        h.observe(Duration::from_secs(60));
        let mut s = HistogramSnapshot::default();
        h.add_to(&mut s);
        assert_eq!(s.buckets[0], 1);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[BUCKETS_US.len()], 1);
        assert_eq!(s.count(), 3);
        assert_eq!(s.sum_us, 60_000_021);
    }

    #[test]
    fn counters_show_in_both_formats() {
        // A thread of its own: its shard holds only what it counts here.
        std::thread::spawn(|| {
            let s = global();
            s.query(false);
            s.query(true);
            s.cache_hit(Some(Duration::from_micros(40)));
            s.answer(ResponseCode::NoError, Some(&Outcome::Secure));
            s.answer(ResponseCode::ServFail, None);
            s.upstream(Some(Duration::from_millis(3)));
            s.upstream(None);
            let snap = s.this_thread();
            let lines = snap.lines();
            for want in [
                "queries.total=2",
                "queries.tcp=1",
                "cache.hits=1",
                "answers.rcode.NOERROR=1",
                "answers.rcode.SERVFAIL=1",
                "answers.validation.secure=1",
                "upstream.queries=2",
                "upstream.failures=1",
                "upstream.rtt_avg_ms=3.000",
            ] {
                assert!(lines.iter().any(|l| l == want), "{want}: {lines:?}");
            }
            assert!(lines.iter().all(|l| l.split_once('=').is_some()));
            let ub = snap.unbound_lines();
            assert!(ub.iter().any(|l| l == "thread0.num.queries=2"), "{ub:?}");
            assert!(ub.iter().any(|l| l == "total.num.cachehits=1"), "{ub:?}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn ended_threads_still_count_and_sampling_is_one_in_n() {
        let before = global().snapshot().upstream_failures;
        std::thread::spawn(|| global().upstream(None))
            .join()
            .unwrap();
        assert!(global().snapshot().upstream_failures > before);
        let sampled =
            std::thread::spawn(|| (0..HIT_SAMPLE * 10).filter(|_| global().sample()).count())
                .join()
                .unwrap();
        assert_eq!(sampled, 10);
    }
}
