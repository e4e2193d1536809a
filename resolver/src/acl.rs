//! Who may ask: [`Acl`]. Loopback clients only by default; others get
//! REFUSED (RFC 5358 §4: recursive service for the intended clients only).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// Why a network did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkParseError(String);

impl fmt::Display for NetworkParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NetworkParseError {}

impl FromStr for Network {
    type Err = NetworkParseError;

    /// `ADDR/PREFIX` or a bare address (a host).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| NetworkParseError(format!("`{s}` is not an IP address or network")))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| NetworkParseError(format!("`{s}`: bad prefix length")))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Network {
    /// True when `ip` lies in this network. IPv4-mapped IPv6 addresses count
    /// as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// True when the whole network is loopback (inside 127.0.0.0/8, or ::1).
    pub fn is_loopback(&self) -> bool {
        match canonical(self.addr) {
            IpAddr::V4(a) => a.is_loopback() && self.prefix >= 8,
            IpAddr::V6(a) => a.is_loopback() && self.prefix == 128,
        }
    }
}

/// The unit per-client limits count by: an IPv4 address (IPv4-mapped IPv6
/// included), or an IPv6 /64 — one host usually holds a whole /64, so
/// counting its addresses one by one would give it 2^64 shares.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The list of networks allowed to query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    allowed: Vec<Network>,
}

impl Default for Acl {
    /// Loopback only: 127.0.0.0/8 and ::1.
    fn default() -> Self {
        Self {
            allowed: vec![
                "127.0.0.0/8".parse().expect("constant network"),
                "::1/128".parse().expect("constant network"),
            ],
        }
    }
}

impl Acl {
    /// Allows exactly `allowed`.
    pub fn new(allowed: Vec<Network>) -> Self {
        Self { allowed }
    }

    /// True when `ip` may query.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|n| n.contains(ip))
    }

    /// True when some allowed network reaches beyond loopback.
    pub fn reaches_beyond_loopback(&self) -> bool {
        self.allowed.iter().any(|n| !n.is_loopback())
    }

    /// The allowed networks.
    pub fn networks(&self) -> &[Network] {
        &self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_networks() {
        let net = |s: &str| s.parse::<Network>().unwrap();
        assert!(net("127.0.0.0/8").is_loopback());
        assert!(net("127.0.0.1").is_loopback());
        assert!(net("::1/128").is_loopback());
        assert!(!net("127.0.0.0/7").is_loopback());
        assert!(!net("10.0.0.0/8").is_loopback());
        assert!(!net("::/0").is_loopback());
        assert!(!Acl::default().reaches_beyond_loopback());
        assert!(Acl::new(vec![net("192.0.2.0/24")]).reaches_beyond_loopback());
    }

    #[test]
    fn clients_are_ipv4_addresses_or_ipv6_slash_64s() {
        let c = |s: &str| client_of(s.parse().unwrap());
        assert_eq!(c("192.0.2.1"), c("::ffff:192.0.2.1"));
        assert_ne!(c("192.0.2.1"), c("192.0.2.2"));
        assert_eq!(c("2001:db8::1"), c("2001:db8::ffff:1"));
        assert_ne!(c("2001:db8::1"), c("2001:db8:0:1::1"));
    }

    #[test]
    fn default_allows_loopback_only() {
        let acl = Acl::default();
        for ok in ["127.0.0.1", "127.54.3.2", "::1", "::ffff:127.0.0.1"] {
            assert!(acl.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["10.0.0.1", "192.0.2.1", "::2", "fe80::1"] {
            assert!(!acl.allows(no.parse().unwrap()), "{no}");
        }
    }

    #[test]
    fn networks_parse_and_match() {
        let n: Network = "192.0.2.0/24".parse().unwrap();
        assert!(n.contains("192.0.2.200".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("bogus".parse::<Network>().is_err());
    }
}
