//! Reading the `nameserver` lines of resolv.conf(5).

use std::net::IpAddr;

/// The addresses of the `nameserver` lines of a resolv.conf text, in order.
/// Unparsable lines are skipped; a scoped IPv6 address (`fe80::1%eth0`) is
/// skipped as well, since it cannot be used without its interface.
pub fn nameservers_from_resolv_conf(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(addr)) => addr.parse().ok(),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameserver_lines_and_skips_the_rest() {
        let text = "# comment\nsearch example\nnameserver 10.0.0.1\nnameserver ::1 # me\n\
                    nameserver fe80::1%eth0\nnameserver\noptions trust-ad\n";
        let got = nameservers_from_resolv_conf(text);
        assert_eq!(
            got,
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
    }
}
