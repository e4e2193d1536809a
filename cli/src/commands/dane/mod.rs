//! `danebound dane`: `check` (a posttls-finger-like DANE check of live
//! servers) and `tlsa` (TLSA records to publish).

mod check;
mod starttls;
mod tlsa;

use clap::{ArgMatches, Command};

pub(crate) fn command() -> Command {
    Command::new("dane")
        .about("Check servers against their TLSA records, or make TLSA records")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(check::command())
        .subcommand(tlsa::command())
}

pub(crate) fn run(m: &ArgMatches) -> Result<u8, crate::Failure> {
    match m.subcommand() {
        Some(("check", m)) => check::run(m),
        Some(("tlsa", m)) => tlsa::run(m),
        _ => Err(crate::Failure::Usage(
            "no such command; see `danebound dane --help`".into(),
        )),
    }
}

/// `HOST:PORT`, `[HOST]:PORT`, `[V6]:PORT`: the host (brackets removed)
/// and the port.
pub(crate) fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let bad = || format!("`{s}` is not HOST, HOST:PORT or [HOST]:PORT");
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        if host.is_empty() {
            return Err(bad());
        }
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            if host.is_empty() {
                return Err(bad());
            }
            Ok((host.to_string(), Some(port.parse().map_err(|_| bad())?)))
        }
        _ if s.is_empty() => Err(bad()),
        _ => Ok((s.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_and_port_forms() {
        assert_eq!(
            split_host_port("mx.example:25").unwrap(),
            ("mx.example".into(), Some(25))
        );
        assert_eq!(
            split_host_port("[mx.example]:2525").unwrap(),
            ("mx.example".into(), Some(2525))
        );
        assert_eq!(
            split_host_port("[::1]:25").unwrap(),
            ("::1".into(), Some(25))
        );
        assert_eq!(
            split_host_port("example.com").unwrap(),
            ("example.com".into(), None)
        );
        assert_eq!(
            split_host_port("[mx.example]").unwrap(),
            ("mx.example".into(), None)
        );
        assert!(split_host_port("mx:notaport").is_err());
        assert!(split_host_port(":25").is_err());
        assert!(split_host_port("[]:25").is_err());
        assert!(split_host_port("[mx").is_err());
        assert!(split_host_port("").is_err());
    }
}
