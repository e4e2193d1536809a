//! Root hints: the built-in list of the IANA root servers, or a named.root
//! file (`--root-hints`, unbound's `root-hints:`).

use std::net::IpAddr;

use crate::wire::{Name, RData, RecordType};

/// The root servers and their addresses, as IANA publishes them in
/// named.root (last changed 2023-11-27, b.root-servers.net renumbered).
const IANA_ROOT: &[(&str, &str, &str)] = &[
    ("a", "198.41.0.4", "2001:503:ba3e::2:30"),
    ("b", "170.247.170.2", "2801:1b8:10::b"),
    ("c", "192.33.4.12", "2001:500:2::c"),
    ("d", "199.7.91.13", "2001:500:2d::d"),
    ("e", "192.203.230.10", "2001:500:a8::e"),
    ("f", "192.5.5.241", "2001:500:2f::f"),
    ("g", "192.112.36.4", "2001:500:12::d0d"),
    ("h", "198.97.190.53", "2001:500:1::53"),
    ("i", "192.36.148.17", "2001:7fe::53"),
    ("j", "192.58.128.30", "2001:503:c27::2:30"),
    ("k", "193.0.14.129", "2001:7fd::1"),
    ("l", "199.7.83.42", "2001:500:9f::42"),
    ("m", "202.12.27.33", "2001:dc3::35"),
];

/// The servers of the root zone to prime from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootHints {
    /// Each root server's name and addresses.
    pub servers: Vec<(Name, Vec<IpAddr>)>,
}

impl RootHints {
    /// The 13 IANA root servers, IPv4 and IPv6.
    pub fn iana() -> Self {
        let servers = IANA_ROOT
            .iter()
            .map(|(letter, v4, v6)| {
                let name =
                    Name::from_ascii(format!("{letter}.root-servers.net.")).expect("constant name");
                let addrs = [v4, v6]
                    .iter()
                    .map(|a| a.parse().expect("constant address"))
                    .collect();
                (name, addrs)
            })
            .collect();
        Self { servers }
    }

    /// Hints from explicit servers (the replay harness's `stub-addr`).
    pub fn new(servers: Vec<(Name, Vec<IpAddr>)>) -> Self {
        Self { servers }
    }

    /// Parses a named.root file: `. NS name` records and the names' A and
    /// AAAA records, in zone-file format. Errors name the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let records = danebound_trust_anchors::text::parse_records(text, None, 3_600_000)
            .map_err(|e| e.to_string())?;
        let mut servers: Vec<(Name, Vec<IpAddr>)> = Vec::new();
        for r in &records {
            if r.record_type() == RecordType::NS
                && r.name.is_root()
                && let RData::NS(ns) = &r.data
                && !servers.iter().any(|(n, _)| *n == ns.0)
            {
                servers.push((ns.0.clone(), Vec::new()));
            }
        }
        for r in &records {
            let ip: IpAddr = match &r.data {
                RData::A(a) => a.0.into(),
                RData::AAAA(a) => a.0.into(),
                _ => continue,
            };
            if let Some((_, addrs)) = servers.iter_mut().find(|(n, _)| *n == r.name) {
                addrs.push(ip);
            }
        }
        servers.retain(|(_, addrs)| !addrs.is_empty());
        if servers.is_empty() {
            return Err("no root server with an address (want `. NS name` and its A/AAAA)".into());
        }
        Ok(Self { servers })
    }

    /// Reads and parses a named.root file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("root hints {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("root hints {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_hints_have_thirteen_dual_stack_servers() {
        let h = RootHints::iana();
        assert_eq!(h.servers.len(), 13);
        assert!(h.servers.iter().all(|(_, a)| a.len() == 2));
    }

    #[test]
    fn named_root_parses() {
        let text = ".                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
; a comment
.                        3600000      NS    B.ROOT-SERVERS.NET.
";
        let h = RootHints::parse(text).unwrap();
        assert_eq!(h.servers.len(), 1, "B has no address");
        assert_eq!(h.servers[0].1.len(), 2);
        assert!(RootHints::parse("example. 1 IN A 192.0.2.1\n").is_err());
    }
}
