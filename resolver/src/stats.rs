//! The resolver's counters: relaxed atomics in one process-wide [`Stats`],
//! incremented at a few points of the server and the engine, read by
//! `danebound control stats` and the Prometheus endpoint.
//!
//! A cache hit costs five relaxed increments (query, hit, rcode, validation
//! status, latency bucket) plus a sum; no lock, no allocation. Counters only
//! grow (like unbound's `statistics-cumulative: yes`); rates are the
//! reader's business.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
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

/// A latency histogram: one counter per bucket (not cumulative; the last
/// one is +Inf) and the sum.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    const fn new() -> Self {
        Self {
            buckets: [const { AtomicU64::new(0) }; BUCKETS_US.len() + 1],
            sum_us: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(BUCKETS_US.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }

    fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum_us: self.sum_us.load(Relaxed),
        }
    }
}

/// The process's counters.
#[derive(Debug)]
pub struct Stats {
    started: OnceLock<Instant>,
    queries_udp: AtomicU64,
    queries_tcp: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    rcodes: [AtomicU64; RCODES.len()],
    validation: [AtomicU64; VALIDATION.len()],
    upstream_queries: AtomicU64,
    upstream_failures: AtomicU64,
    upstream_rtt_us: AtomicU64,
    hit_latency: Histogram,
    miss_latency: Histogram,
}

static STATS: Stats = Stats::new();

/// The process-wide counters.
pub fn global() -> &'static Stats {
    &STATS
}

impl Stats {
    const fn new() -> Self {
        Self {
            started: OnceLock::new(),
            queries_udp: AtomicU64::new(0),
            queries_tcp: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            rcodes: [const { AtomicU64::new(0) }; RCODES.len()],
            validation: [const { AtomicU64::new(0) }; VALIDATION.len()],
            upstream_queries: AtomicU64::new(0),
            upstream_failures: AtomicU64::new(0),
            upstream_rtt_us: AtomicU64::new(0),
            hit_latency: Histogram::new(),
            miss_latency: Histogram::new(),
        }
    }

    /// Marks the start of service (uptime counts from the first call).
    pub fn start(&self) {
        let _ = self.started.get_or_init(Instant::now);
    }

    /// A query was received (parsed and allowed).
    pub fn query(&self, tcp: bool) {
        if tcp {
            self.queries_tcp.fetch_add(1, Relaxed);
        } else {
            self.queries_udp.fetch_add(1, Relaxed);
        }
    }

    /// A query was answered from the cache, `elapsed` after it was read.
    pub fn cache_hit(&self, elapsed: Duration) {
        self.cache_hits.fetch_add(1, Relaxed);
        self.hit_latency.observe(elapsed);
    }

    /// A cache miss was resolved in `elapsed`.
    pub fn cache_miss(&self, elapsed: Duration) {
        self.cache_misses.fetch_add(1, Relaxed);
        self.miss_latency.observe(elapsed);
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
        self.rcodes[i].fetch_add(1, Relaxed);
        if let Some(outcome) = outcome {
            let v = match outcome {
                Outcome::Secure => 0,
                Outcome::Insecure(InsecureReason::NegativeTrustAnchor { .. }) => 4,
                Outcome::Insecure(_) => 1,
                Outcome::Bogus(_) => 2,
                Outcome::Indeterminate => 3,
            };
            self.validation[v].fetch_add(1, Relaxed);
        }
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

    /// One upstream query: its round trip, or `None` when it failed.
    pub fn upstream(&self, rtt: Option<Duration>) {
        self.upstream_queries.fetch_add(1, Relaxed);
        match rtt {
            Some(rtt) => {
                let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
                self.upstream_rtt_us.fetch_add(us, Relaxed);
            }
            None => {
                self.upstream_failures.fetch_add(1, Relaxed);
            }
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Relaxed);
        Snapshot {
            uptime: self.started.get().map_or(Duration::ZERO, Instant::elapsed),
            queries_udp: load(&self.queries_udp),
            queries_tcp: load(&self.queries_tcp),
            cache_hits: load(&self.cache_hits),
            cache_misses: load(&self.cache_misses),
            rcodes: self.rcodes.iter().map(load).collect(),
            validation: self.validation.iter().map(load).collect(),
            upstream_queries: load(&self.upstream_queries),
            upstream_failures: load(&self.upstream_failures),
            upstream_rtt_us: load(&self.upstream_rtt_us),
            hit_latency: self.hit_latency.snapshot(),
            miss_latency: self.miss_latency.snapshot(),
            sizes: Sizes::default(),
        }
    }
}

/// A histogram read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Per bucket of [`BUCKETS_US`], then +Inf; not cumulative.
    pub buckets: Vec<u64>,
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
    /// Active negative trust anchors.
    pub negative_trust_anchors: u64,
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
    pub rcodes: Vec<u64>,
    /// Answers per [`VALIDATION`].
    pub validation: Vec<u64>,
    /// Queries sent upstream.
    pub upstream_queries: u64,
    /// Of which failed (timeout, network error, unusable reply).
    pub upstream_failures: u64,
    /// Sum of the successful round trips, microseconds.
    pub upstream_rtt_us: u64,
    /// Latency of cache hits.
    pub hit_latency: HistogramSnapshot,
    /// Latency of cache misses.
    pub miss_latency: HistogramSnapshot,
    /// Cache sizes.
    pub sizes: Sizes,
}

impl Snapshot {
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
            format!("keys.zones={}", self.sizes.key_zones),
        ];
        for (name, n) in RCODES.iter().zip(&self.rcodes) {
            out.push(format!("answers.rcode.{name}={n}"));
        }
        for (name, n) in VALIDATION.iter().zip(&self.validation) {
            out.push(format!("answers.validation.{name}={n}"));
        }
        out.push(format!("upstream.queries={}", self.upstream_queries));
        out.push(format!("upstream.failures={}", self.upstream_failures));
        out.push(format!(
            "upstream.rtt_avg_ms={:.3}",
            self.upstream_rtt_avg_ms()
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
            out.push(format!("{prefix}.num.prefetch=0"));
            out.push(format!("{prefix}.num.expired=0"));
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
        let s = h.snapshot();
        assert_eq!(s.buckets[0], 1);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[BUCKETS_US.len()], 1);
        assert_eq!(s.count(), 3);
        assert_eq!(s.sum_us, 60_000_021);
    }

    #[test]
    fn counters_show_in_both_formats() {
        let s = Stats::new();
        s.start();
        s.query(false);
        s.query(true);
        s.cache_hit(Duration::from_micros(40));
        s.answer(ResponseCode::NoError, Some(&Outcome::Secure));
        s.answer(ResponseCode::ServFail, None);
        s.upstream(Some(Duration::from_millis(3)));
        s.upstream(None);
        let snap = s.snapshot();
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
    }
}
