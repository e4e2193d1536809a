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

use std::collections::HashMap;
use std::net::IpAddr;

use crate::acl::Acl;

/// The networks tracked in one second at most; beyond that, new networks
/// are answered without being counted (fail open: the table cannot grow).
pub const MAX_TRACKED: usize = 100_000;

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
    second: u64,
    counts: HashMap<u128, u32>,
}

impl RateLimiter {
    /// A limiter for `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            second: 0,
            counts: HashMap::new(),
        }
    }

    /// The verdict on one more response to `client` at `now` (seconds).
    pub fn check(&mut self, client: IpAddr, now: u64) -> Verdict {
        if !self.config.enabled() || self.config.exempt.allows(client) {
            return Verdict::Send;
        }
        if now != self.second {
            self.second = now;
            self.counts.clear();
        }
        let key = network(client);
        let tracked = self.counts.len();
        let Some(count) = (match self.counts.get_mut(&key) {
            Some(c) => Some(c),
            None if tracked < MAX_TRACKED => Some(self.counts.entry(key).or_default()),
            None => None,
        }) else {
            return Verdict::Send;
        };
        *count = count.saturating_add(1);
        let over = count.saturating_sub(self.config.responses_per_second);
        match (over, self.config.slip) {
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
        assert_eq!(l.counts.len(), MAX_TRACKED);
    }
}
