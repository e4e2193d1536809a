//! The infrastructure cache: what we know of each authoritative server,
//! after unbound's `util/rtt.c` and `services/cache/infra.c`.
//!
//! A smoothed RTT and its variance per server address give a retransmit
//! timeout (RTO); a timeout doubles the RTO (back-off). Servers found lame
//! for a zone are remembered per (address, zone). Selection picks at random
//! among the servers within [`RTT_BAND_MS`] of the best, so an unknown
//! server (RTO [`UNKNOWN_RTO_MS`]) gets explored beside a fast one.
//! Pure: time is a value (seconds) passed in.

use crate::hashing::NameMap;
use std::collections::HashMap;
use std::net::IpAddr;

use crate::wire::Name;

/// unbound `RTT_MIN_TIMEOUT`: the smallest RTO, ms.
pub const MIN_RTO_MS: u32 = 50;
/// unbound `RTT_MAX_TIMEOUT`: an RTO at this value means "unusable", ms.
pub const MAX_RTO_MS: u32 = 120_000;
/// unbound `UNKNOWN_SERVER_NICENESS`: the RTO of a server never asked.
pub const UNKNOWN_RTO_MS: u32 = 376;
/// unbound `RTT_BAND`: servers within this of the best are equal choices.
pub const RTT_BAND_MS: u32 = 400;
/// unbound `infra-host-ttl`: how long an entry (RTT, lameness) is kept, s.
pub const HOST_TTL_SECS: u64 = 900;
/// How many hosts are remembered (unbound `infra-cache-numhosts`).
pub const MAX_HOSTS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Host {
    srtt: i64,
    rttvar: i64,
    rto: u32,
    expires: u64,
}

impl Host {
    fn new(now: u64) -> Self {
        // unbound rtt_init: srtt 0, rttvar 94 gives RTO 376.
        Self {
            srtt: 0,
            rttvar: 94,
            rto: UNKNOWN_RTO_MS,
            expires: now + HOST_TTL_SECS,
        }
    }
}

/// Per-server RTT and lameness.
#[derive(Debug, Default)]
pub struct Infra {
    hosts: HashMap<IpAddr, Host>,
    lame: NameMap<(IpAddr, Name), u64>,
    /// Servers that answered for a signed zone without RRSIGs (unbound's
    /// "lame for DNSSEC"), per (address, zone).
    dnssec_lame: NameMap<(IpAddr, Name), u64>,
}

impl Infra {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn host(&mut self, ip: IpAddr, now: u64) -> &mut Host {
        if self.hosts.len() >= MAX_HOSTS && !self.hosts.contains_key(&ip) {
            self.hosts.retain(|_, h| h.expires > now);
            if self.hosts.len() >= MAX_HOSTS {
                self.hosts.clear();
            }
        }
        let h = self.hosts.entry(ip).or_insert_with(|| Host::new(now));
        if h.expires <= now {
            *h = Host::new(now);
        }
        h
    }

    /// The RTO of `ip` in ms: what we wait for it, and how it ranks.
    pub fn rto(&self, ip: IpAddr, now: u64) -> u32 {
        self.hosts
            .get(&ip)
            .filter(|h| h.expires > now)
            .map_or(UNKNOWN_RTO_MS, |h| h.rto)
    }

    /// A reply came after `rtt_ms` (unbound `rtt_update`, RFC 6298 §2).
    pub fn reply(&mut self, ip: IpAddr, rtt_ms: u32, now: u64) {
        // Samples of a minute or more are ignored (unbound).
        if rtt_ms >= 60_000 {
            return;
        }
        let h = self.host(ip, now);
        let m = i64::from(rtt_ms);
        let delta = m - h.srtt;
        h.srtt += delta / 8;
        h.rttvar += (delta.abs() - h.rttvar) / 4;
        let rto = h.srtt + 4 * h.rttvar;
        h.rto = rto.clamp(i64::from(MIN_RTO_MS), i64::from(MAX_RTO_MS)) as u32;
        h.expires = now + HOST_TTL_SECS;
    }

    /// No reply within `rto_at_send` ms: double it (unbound `rtt_lost`).
    pub fn timeout(&mut self, ip: IpAddr, rto_at_send: u32, now: u64) {
        let h = self.host(ip, now);
        if h.rto >= rto_at_send {
            h.rto = rto_at_send.saturating_mul(2).min(MAX_RTO_MS);
        }
        h.expires = now + HOST_TTL_SECS;
    }

    /// `ip` answered lamely for `zone` (LAME or REC_LAME).
    pub fn set_lame(&mut self, ip: IpAddr, zone: &Name, now: u64) {
        if self.lame.len() >= MAX_HOSTS {
            self.lame.retain(|_, t| *t > now);
        }
        self.lame.insert((ip, zone.clone()), now + HOST_TTL_SECS);
    }

    /// Whether `ip` is known lame for `zone`.
    pub fn is_lame(&self, ip: IpAddr, zone: &Name, now: u64) -> bool {
        self.lame.get(&(ip, zone.clone())).is_some_and(|t| *t > now)
    }

    /// `ip` answered for `zone`, which is signed, without RRSIGs
    /// (DNSSEC-lame): asked only when no other server of the zone is left.
    pub fn set_dnssec_lame(&mut self, ip: IpAddr, zone: &Name, now: u64) {
        if self.dnssec_lame.len() >= MAX_HOSTS {
            self.dnssec_lame.retain(|_, t| *t > now);
        }
        self.dnssec_lame
            .insert((ip, zone.to_lowercase()), now + HOST_TTL_SECS);
    }

    /// Whether `ip` is known DNSSEC-lame for `zone`.
    pub fn is_dnssec_lame(&self, ip: IpAddr, zone: &Name, now: u64) -> bool {
        self.dnssec_lame
            .get(&(ip, zone.clone()))
            .is_some_and(|t| *t > now)
    }

    /// Picks one of `candidates`: uniformly among those within
    /// [`RTT_BAND_MS`] of the best RTO (unbound `iter_filter_order`), with
    /// `random` as the only source of chance. Servers at [`MAX_RTO_MS`]
    /// come last.
    pub fn select(&self, candidates: &[IpAddr], now: u64, random: u64) -> Option<IpAddr> {
        let best = candidates.iter().map(|ip| self.rto(*ip, now)).min()?;
        let band: Vec<IpAddr> = candidates
            .iter()
            .copied()
            .filter(|ip| self.rto(*ip, now) <= best.saturating_add(RTT_BAND_MS))
            .collect();
        let i = usize::try_from(random % band.len() as u64).unwrap_or(0);
        band.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_smoothing_backoff_and_band() {
        let mut infra = Infra::new();
        let fast: IpAddr = "192.0.2.1".parse().unwrap();
        let slow: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(infra.rto(fast, 0), UNKNOWN_RTO_MS);
        for _ in 0..20 {
            infra.reply(fast, 10, 0);
        }
        assert!(infra.rto(fast, 0) < 100, "{}", infra.rto(fast, 0));
        infra.timeout(slow, UNKNOWN_RTO_MS, 0);
        assert_eq!(infra.rto(slow, 0), 2 * UNKNOWN_RTO_MS);
        // 752 is outside the band of a ~50 ms server: never chosen.
        for r in 0..10 {
            assert_eq!(infra.select(&[fast, slow], 0, r), Some(fast));
        }
        // An unknown server (376) is within the band: explored.
        let new: IpAddr = "192.0.2.3".parse().unwrap();
        let picks: Vec<_> = (0..4).map(|r| infra.select(&[fast, new], 0, r)).collect();
        assert!(picks.contains(&Some(new)) && picks.contains(&Some(fast)));
        // Entries expire.
        assert_eq!(infra.rto(slow, HOST_TTL_SECS + 1), UNKNOWN_RTO_MS);
    }

    #[test]
    fn lameness_is_per_zone() {
        let mut infra = Infra::new();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let zone = Name::from_ascii("example.").unwrap();
        infra.set_lame(ip, &zone, 0);
        assert!(infra.is_lame(ip, &zone, 1));
        assert!(!infra.is_lame(ip, &Name::root(), 1));
        assert!(!infra.is_lame(ip, &zone, HOST_TTL_SECS + 1));
        // DNSSEC-lameness is kept apart, per zone, and expires.
        assert!(!infra.is_dnssec_lame(ip, &zone, 1));
        infra.set_dnssec_lame(ip, &zone, 0);
        assert!(infra.is_dnssec_lame(ip, &Name::from_ascii("EXAMPLE.").unwrap(), 1));
        assert!(!infra.is_dnssec_lame(ip, &Name::root(), 1));
        assert!(!infra.is_dnssec_lame(ip, &zone, HOST_TTL_SECS + 1));
    }
}
