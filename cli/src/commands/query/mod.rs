//! `danebound query`: dig-like queries, validated in-process like delv, or
//! sent to a server like dig.

mod dot;
mod present;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use danebound_resolver::answer::ede_of;
use danebound_resolver::edns::EDNS_BUFFER;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::transport::net::NetTransport;
use danebound_resolver::transport::{Protocol, Transport};
use danebound_resolver::wire::{
    Edns, Message, MessageType, Name, OpCode, Query, RecordType, ResponseCode,
};

use super::resolution::{self, Dns};
pub(crate) use present::Verdict;

pub(crate) fn command() -> Command {
    let command = Command::new("query")
        .about("Resolve and validate a name, like dig and delv")
        .long_about(
            "Resolve NAME and validate the answer in-process with danebound's own validator \
             (like BIND's delv), forwarding to --forward or the nameservers of /etc/resolv.conf. \
             With @SERVER, ask that server instead and show its answer as is (like dig).\n\n\
             Output is dig's presentation format followed by the verdict: `; fully validated`, \
             `; unsigned answer` or `; validation failed: REASON (EDE n)`.\n\
             Exit status: 0 for an answer (also NXDOMAIN or NODATA), 1 for a validation \
             failure, SERVFAIL or no answer, 2 for a usage error.\n\n\
             Examples:\n  danebound query www.example.com\n  danebound query \
             _25._tcp.mail.example.com TLSA +dnssec\n  danebound query example.com MX --json\n  \
             danebound query dnssec-failed.org A --trace-chain --dot chain.dot\n  \
             danebound query example.com SOA @127.0.0.1 +tcp",
        )
        .arg(
            Arg::new("args")
                .value_name("NAME [TYPE] [@SERVER] [+dnssec] [+cd] [+tcp]")
                .num_args(1..)
                .required(true)
                .help(
                    "The name, then optionally: the type [default: A], @SERVER (ADDR, ADDR#PORT \
                     or ADDR:PORT), +dnssec (show RRSIG/NSEC/NSEC3), +cd (show data even when \
                     validation fails), +tcp",
                ),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print one JSON document instead of dig's format"),
        )
        .arg(
            Arg::new("trace-chain")
                .long("trace-chain")
                .action(ArgAction::SetTrue)
                .help("Print the chain of trust zone by zone (DS, DNSKEY, RRSIG)"),
        )
        .arg(
            Arg::new("dot")
                .long("dot")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Write the chain of trust as a Graphviz digraph to FILE"),
        );
    resolution::args(command)
}

/// The parsed dig-style arguments.
#[derive(Debug)]
struct Args {
    name: Name,
    rtype: RecordType,
    server: Option<SocketAddr>,
    dnssec: bool,
    cd: bool,
    tcp: bool,
}

fn parse_args<'a>(raw: impl Iterator<Item = &'a String>) -> Result<Args, String> {
    let mut name = None;
    let mut rtype = None;
    let mut server = None;
    let (mut dnssec, mut cd, mut tcp) = (false, false, false);
    for arg in raw {
        if let Some(option) = arg.strip_prefix('+') {
            match option.to_ascii_lowercase().as_str() {
                "dnssec" => dnssec = true,
                "nodnssec" => dnssec = false,
                "cd" | "cdflag" => cd = true,
                "nocd" | "nocdflag" => cd = false,
                "tcp" | "vc" => tcp = true,
                "notcp" | "novc" => tcp = false,
                _ => return Err(format!("unknown option `{arg}` (+dnssec, +cd, +tcp)")),
            }
        } else if let Some(s) = arg.strip_prefix('@') {
            if server.is_some() {
                return Err(format!("more than one server: `{arg}`"));
            }
            server = Some(parse_server(s)?);
        } else if name.is_none() {
            name = Some(parse_name(arg)?);
        } else if rtype.is_none() {
            rtype = Some(
                RecordType::from_str(&arg.to_ascii_uppercase())
                    .map_err(|_| format!("unknown record type `{arg}`"))?,
            );
        } else {
            return Err(format!("unexpected argument `{arg}`"));
        }
    }
    Ok(Args {
        name: name.ok_or("a name to query is required")?,
        rtype: rtype.unwrap_or(RecordType::A),
        server,
        dnssec,
        cd,
        tcp,
    })
}

/// A name, made absolute.
pub(crate) fn parse_name(s: &str) -> Result<Name, String> {
    let mut name = Name::from_str(s).map_err(|e| format!("invalid name `{s}`: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// `ADDR`, `ADDR#PORT`, `ADDR:PORT`, `[V6]:PORT`.
fn parse_server(s: &str) -> Result<SocketAddr, String> {
    let bad = || format!("`@{s}` is not ADDR, ADDR#PORT or ADDR:PORT");
    if let Some((addr, port)) = s.split_once('#') {
        let ip = addr
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .map_err(|_| bad())?;
        return Ok(SocketAddr::new(ip, port.parse().map_err(|_| bad())?));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| bad())
}

/// What `run` returns: the exit status.
pub(crate) fn run(m: &ArgMatches) -> Result<u8, crate::Failure> {
    let args = parse_args(m.get_many::<String>("args").into_iter().flatten())
        .map_err(crate::Failure::Usage)?;
    let json = m.get_flag("json");
    let want_trace = m.get_flag("trace-chain");
    let dot = m.get_one::<PathBuf>("dot");
    if let Some(server) = args.server {
        if want_trace || dot.is_some() {
            return Err(crate::Failure::Usage(
                "--trace-chain and --dot need in-process validation (no @SERVER)".into(),
            ));
        }
        return ask_server(&args, server, json).map_err(crate::Failure::Error);
    }
    let dns = Dns::from_matches(m).map_err(crate::Failure::Error)?;
    let (resolution, trace) =
        dns.resolve_traced(&args.name, args.rtype, want_trace || dot.is_some());
    if let Some(path) = dot {
        std::fs::write(path, dot::digraph(&args.name, args.rtype, &trace))
            .map_err(|e| crate::Failure::Error(format!("--dot {}: {e}", path.display())))?;
    }
    let message = if args.cd && resolution.outcome.is_bogus() {
        // +cd: show the data that failed validation, and still say so.
        let mut unchecked = dns.resolve_unchecked(&args.name, args.rtype);
        unchecked.outcome = resolution.outcome.clone();
        display_message(&args, &unchecked)
    } else {
        display_message(&args, &resolution)
    };
    let verdict = Verdict::of(&resolution);
    let shown_trace = if want_trace {
        Some(trace.as_slice())
    } else {
        None
    };
    let out = present::Output {
        message: &message,
        server: None,
        verdict: Some(&verdict),
        trace: shown_trace,
        dnssec: args.dnssec,
    };
    if json {
        crate::out(&format!("{}\n", out.json()));
    } else {
        crate::out(&out.text());
    }
    let failed = resolution.outcome.is_bogus() || resolution.rcode == ResponseCode::ServFail;
    Ok(u8::from(failed))
}

/// The response a client of `danebound serve` would have got, for display:
/// QR RD RA, AD for a secure answer, SERVFAIL and no data for a bogus one
/// unless +cd.
fn display_message(args: &Args, resolution: &Resolution) -> Message {
    let mut message = Message::new(pseudo_id(), MessageType::Response, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.recursion_available = true;
    message.metadata.checking_disabled = args.cd;
    message.add_query(Query::query(args.name.clone(), args.rtype));
    let bogus = resolution.outcome.is_bogus();
    if bogus && !args.cd {
        message.metadata.response_code = ResponseCode::ServFail;
    } else {
        message.metadata.response_code = resolution.rcode;
        message.answers = resolution.answers.clone();
        message.authorities = resolution.authority.clone();
        message.additionals = resolution.additional.clone();
        message.metadata.authentic_data = resolution.outcome.is_secure() && !args.cd;
    }
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_BUFFER);
    edns.set_dnssec_ok(args.dnssec);
    if let Some(ede) = resolution
        .outcome
        .ede()
        .or_else(|| resolution.failure.clone())
    {
        edns.options_mut()
            .insert(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(
                danebound_resolver::answer::EDE_OPTION,
                danebound_resolver::answer::ede_option_data(&ede),
            ));
    }
    message.set_edns(edns);
    message
}

/// A message ID for display (no packet is sent).
fn pseudo_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ (nanos >> 16)) as u16
}

/// dig mode: ask `server` and print its answer.
fn ask_server(args: &Args, server: SocketAddr, json: bool) -> Result<u8, String> {
    let id = pseudo_id();
    let mut request = Message::new(id, MessageType::Query, OpCode::Query);
    request.metadata.recursion_desired = true;
    request.metadata.checking_disabled = args.cd;
    // dig sets AD=1 in queries (RFC 6840 §5.7): the server then says AD.
    request.metadata.authentic_data = true;
    request.add_query(Query::query(args.name.clone(), args.rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_BUFFER);
    edns.set_dnssec_ok(args.dnssec);
    request.set_edns(edns);
    let bytes = request
        .to_vec()
        .map_err(|e| format!("cannot encode the query: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let timeout = Duration::from_secs(5);
    let exchange = |protocol| {
        runtime
            .block_on(NetTransport.exchange(server, &bytes, protocol, timeout))
            .map_err(|e| format!("no answer from {server}: {e}"))
            .and_then(|reply| {
                Message::from_vec(&reply).map_err(|e| format!("malformed reply from {server}: {e}"))
            })
    };
    let mut reply = exchange(if args.tcp {
        Protocol::Tcp
    } else {
        Protocol::Udp
    })?;
    if reply.metadata.truncation && !args.tcp {
        reply = exchange(Protocol::Tcp)?;
    }
    let verdict = if reply.metadata.response_code == ResponseCode::ServFail {
        ede_of(&reply).map(|(code, text)| Verdict::Failed {
            code: Some(code),
            reason: text,
        })
    } else if reply.metadata.authentic_data {
        Some(Verdict::ServerAuthenticated)
    } else {
        None
    };
    let out = present::Output {
        message: &reply,
        server: Some(server),
        verdict: verdict.as_ref(),
        trace: None,
        dnssec: args.dnssec,
    };
    if json {
        crate::out(&format!("{}\n", out.json()));
    } else {
        crate::out(&out.text());
    }
    Ok(u8::from(
        reply.metadata.response_code == ResponseCode::ServFail,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse_args(owned.iter())
    }

    #[test]
    fn dig_style_arguments_parse_in_any_order() {
        let a = parse(&["+dnssec", "example.com", "@127.0.0.1#5353", "mx", "+cd"]).unwrap();
        assert_eq!(a.name.to_string(), "example.com.");
        assert_eq!(a.rtype, RecordType::MX);
        assert_eq!(a.server, Some("127.0.0.1:5353".parse().unwrap()));
        assert!(a.dnssec && a.cd && !a.tcp);
        let a = parse(&["example.com"]).unwrap();
        assert_eq!(a.rtype, RecordType::A);
        assert_eq!(
            parse_server("[::1]:53").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(parse_server("::1").unwrap(), "[::1]:53".parse().unwrap());
    }

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        assert!(parse(&["example.com", "NOTATYPE"]).is_err());
        assert!(parse(&["example.com", "A", "extra"]).is_err());
        assert!(parse(&["example.com", "+bogus"]).is_err());
        assert!(parse(&["example.com", "@not-an-ip"]).is_err());
        assert!(parse(&["+dnssec"]).is_err());
        assert!(parse(&[&"a".repeat(300)]).is_err());
        assert!(parse(&["a..b"]).is_err());
    }
}
