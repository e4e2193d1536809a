//! Response rate limiting for UDP clients: [`RateLimiter`].
//!
//! Off by default. When `[ratelimit] responses_per_second` is set, at most
//! that many UDP responses a second go to one client network (an IPv4 /24 or
//! an IPv6 /56, as BIND's RRL groups clients), except to the exempt networks
//! (loopback by default: a local resolver's own host is never limited).
//! Over the limit, every `slip`-th response is sent truncated (TC=1, no
//! records), so a real client behind a spoofed flood retries over TCP, which
//! cannot be spoofed; the rest are dropped. This is what keeps danebound from
//! being a reflector when `[access] allow` is widened beyond the host.
//!
//! A pure state machine: time comes in as a value (whole seconds), and the
//! number of client networks tracked per second is bounded.
//!
//! The server's UDP workers share one [`ShardedRateLimiter`]: the same
//! counts, split by client network over [`SHARDS`] independently locked
//! tables, so two workers lock the same table only for networks that hash
//! alike (issue 12: one mutex for every answer moved its cache line between
//! the workers' cores on every response). A network's count lives in
//! exactly one table, so the limit, the slip and the /24 and /56 grouping
//! are those of a single [`RateLimiter`]; exempt clients take no lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::acl::Acl;

/// The networks tracked in one second at most; beyond that, new networks
/// are answered without being counted (fail open: the table cannot grow).
pub const MAX_TRACKED: usize = 100_000;

/// Independently locked tables of a [`ShardedRateLimiter`] (a power of 2).
pub const SHARDS: usize = 16;

/// `[ratelimit]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// UDP responses per second to one client network; 0 turns limiting off.
    pub responses_per_second: u32,
    /// Over the limit, one response in `slip` is sent truncated instead of
    /// dropped; 0 drops them all.
    pub slip: u32,
    /// Clients never limited.
    pub exempt: Acl,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            responses_per_second: 0,
            slip: 2,
            exempt: Acl::default(),
        }
    }
}

impl RateLimitConfig {
    /// True when limiting is on.
    pub fn enabled(&self) -> bool {
        self.responses_per_second > 0
    }
}

/// What to do with one UDP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Send it truncated (TC=1, question only).
    Slip,
    /// Say nothing.
    Drop,
}

/// Counts responses per client network per second.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    table: Table,
}

impl RateLimiter {
    /// A limiter for `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            table: Table::new(MAX_TRACKED),
        }
    }

    /// The verdict on one more response to `client` at `now` (seconds).
    pub fn check(&mut self, client: IpAddr, now: u64) -> Verdict {
        if limited(&self.config, client) {
            self.table.check(&self.config, network(client), now)
        } else {
            Verdict::Send
        }
    }
}

/// A [`RateLimiter`] shared by threads: the same verdicts, with the client
/// networks spread over [`SHARDS`] tables of their own lock (see the
/// module's documentation).
#[derive(Debug)]
pub struct ShardedRateLimiter {
    config: RateLimitConfig,
    hasher: RandomState,
    shards: Box<[Padded<Mutex<Table>>]>,
}

/// One shard on cache lines of its own (128 bytes: the line and the one the
/// hardware prefetches beside it), so neighbours do not share them.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

impl ShardedRateLimiter {
    /// A shared limiter for `config`. The networks tracked per second stay
    /// bounded by [`MAX_TRACKED`] in all, [`MAX_TRACKED`] / [`SHARDS`] per
    /// shard (the shard is picked by a hash seeded per process, so a client
    /// cannot aim at one).
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| Padded(Mutex::new(Table::new(MAX_TRACKED / SHARDS))))
                .collect(),
        }
    }

    /// The verdict on one more response to `client` at `now` (seconds).
    pub fn check(&self, client: IpAddr, now: u64) -> Verdict {
        if !limited(&self.config, client) {
            return Verdict::Send;
        }
        let key = network(client);
        let shard = &self.shards[self.hasher.hash_one(key) as usize & (SHARDS - 1)];
        shard
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(&self.config, key, now)
    }

    /// The networks counted in the current second, in all shards.
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.lock().unwrap_or_else(|e| e.into_inner()).counts.len())
            .sum()
    }
}

/// True when responses to `client` are counted at all.
fn limited(config: &RateLimitConfig, client: IpAddr) -> bool {
    config.enabled() && !config.exempt.allows(client)
}

/// Responses per network in the current second, for at most `max`
/// networks.
#[derive(Debug)]
struct Table {
    max: usize,
    second: u64,
    counts: HashMap<u128, u32>,
}

impl Table {
    fn new(max: usize) -> Self {
        Self {
            max,
            second: 0,
            counts: HashMap::new(),
        }
    }

    /// Counts one more response to network `key` at `now`.
    fn check(&mut self, config: &RateLimitConfig, key: u128, now: u64) -> Verdict {
        if now != self.second {
            self.second = now;
            self.counts.clear();
        }
        let tracked = self.counts.len();
        let Some(count) = (match self.counts.get_mut(&key) {
            Some(c) => Some(c),
            None if tracked < self.max => Some(self.counts.entry(key).or_default()),
            None => None,
        }) else {
            return Verdict::Send;
        };
        *count = count.saturating_add(1);
        let over = count.saturating_sub(config.responses_per_second);
        match (over, config.slip) {
            (0, _) => Verdict::Send,
            (_, 0) => Verdict::Drop,
            (n, slip) if n % slip == 0 => Verdict::Slip,
            _ => Verdict::Drop,
        }
    }
}

/// The client's network: an IPv4 /24 or an IPv6 /56 (IPv4-mapped addresses
/// count as IPv4), tagged so the two families never collide.
fn network(ip: IpAddr) -> u128 {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => (1 << 64) | u128::from(u32::from(v4) & 0xFFFF_FF00),
        IpAddr::V6(v6) => u128::from(v6) & !((1u128 << 72) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, slip: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            responses_per_second: rate,
            slip,
            exempt: Acl::default(),
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn off_by_default_and_never_for_loopback() {
        let mut off = RateLimiter::new(RateLimitConfig::default());
        assert!((0..1000).all(|_| off.check(ip("192.0.2.1"), 1) == Verdict::Send));
        let mut on = limiter(1, 0);
        assert!((0..1000).all(|_| on.check(ip("127.0.0.1"), 1) == Verdict::Send));
        assert!((0..1000).all(|_| on.check(ip("::1"), 1) == Verdict::Send));
    }

    #[test]
    fn over_the_limit_one_in_slip_is_truncated_and_the_rest_dropped() {
        let mut l = limiter(3, 2);
        let got: Vec<Verdict> = (0..7).map(|_| l.check(ip("192.0.2.1"), 10)).collect();
        use Verdict::*;
        assert_eq!(got, [Send, Send, Send, Drop, Slip, Drop, Slip]);
        // A new second starts afresh.
        assert_eq!(l.check(ip("192.0.2.1"), 11), Send);
    }

    #[test]
    fn clients_are_grouped_by_network() {
        let mut l = limiter(1, 0);
        assert_eq!(l.check(ip("192.0.2.1"), 1), Verdict::Send);
        assert_eq!(l.check(ip("192.0.2.200"), 1), Verdict::Drop, "same /24");
        assert_eq!(l.check(ip("::ffff:192.0.2.9"), 1), Verdict::Drop, "mapped");
        assert_eq!(l.check(ip("192.0.3.1"), 1), Verdict::Send, "another /24");
        assert_eq!(l.check(ip("2001:db8:0:100::1"), 1), Verdict::Send);
        assert_eq!(
            l.check(ip("2001:db8:0:1ff::2"), 1),
            Verdict::Drop,
            "same /56"
        );
        assert_eq!(l.check(ip("2001:db8:0:200::1"), 1), Verdict::Send);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut l = limiter(1, 0);
        for i in 0..(MAX_TRACKED as u32 + 10) {
            let a = std::net::Ipv4Addr::from((10 << 24) | (i << 8));
            let _ = l.check(IpAddr::V4(a), 5);
        }
        assert_eq!(l.table.counts.len(), MAX_TRACKED);
    }

    fn sharded(rate: u32, slip: u32) -> ShardedRateLimiter {
        ShardedRateLimiter::new(RateLimitConfig {
            responses_per_second: rate,
            slip,
            exempt: Acl::default(),
        })
    }

    #[test]
    fn the_sharded_limiter_gives_the_single_limiters_verdicts() {
        // The same sequence of clients and seconds through both: a network's
        // count lives in one shard, so every verdict agrees.
        let mut one = limiter(3, 2);
        let shared = sharded(3, 2);
        let clients = [
            "192.0.2.1",
            "192.0.2.77",
            "198.51.100.1",
            "::ffff:192.0.2.9",
            "2001:db8:0:100::1",
            "2001:db8:0:1ff::2",
            "2001:db8:0:200::1",
            "127.0.0.1",
        ];
        let mut verdicts = Vec::new();
        for now in [10, 10, 11] {
            for round in 0..6 {
                for c in clients {
                    let want = one.check(ip(c), now);
                    assert_eq!(
                        shared.check(ip(c), now),
                        want,
                        "{c} at {now}, round {round}"
                    );
                    verdicts.push(want);
                }
            }
        }
        use Verdict::*;
        assert!(verdicts.contains(&Send) && verdicts.contains(&Slip) && verdicts.contains(&Drop));
    }

    #[test]
    fn the_sharded_limiter_is_shared_between_threads() {
        // Two threads answering one network: together they get the limit
        // once, not once each.
        let shared = std::sync::Arc::new(sharded(100, 0));
        let sent: usize = (0..2)
            .map(|t| {
                let shared = std::sync::Arc::clone(&shared);
                std::thread::spawn(move || {
                    let client = ip(if t == 0 { "192.0.2.1" } else { "192.0.2.2" });
                    (0..150)
                        .filter(|_| shared.check(client, 7) == Verdict::Send)
                        .count()
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(sent, 100);
    }

    #[test]
    fn the_sharded_table_is_bounded() {
        let l = sharded(1, 0);
        for i in 0..(2 * MAX_TRACKED as u32) {
            let a = std::net::Ipv4Addr::from((10 << 24) | (i << 8));
            let _ = l.check(IpAddr::V4(a), 5);
        }
        // Twice as many networks as the bound: every shard filled up.
        assert_eq!(l.tracked(), MAX_TRACKED / SHARDS * SHARDS);
        // Exempt clients are not counted.
        assert_eq!(l.check(ip("127.0.0.1"), 5), Verdict::Send);
    }
}
