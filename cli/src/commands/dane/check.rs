//! `danebound dane check`: what Postfix's posttls-finger does, with
//! danebound's own validator and verifier.
//!
//! For SMTP and a DOMAIN, RFC 7672's rules:
//! * §2.2.1 MX resolution: a bogus or failed MX lookup stops here (no
//!   fallback to opportunistic TLS, §2.1.2). A secure NODATA means the
//!   implicit MX, the domain itself (RFC 5321 §5.1). An insecure MX RRset
//!   gives no downgrade protection: the MX host names are not
//!   authenticated. Like Postfix's default `smtp_tls_dane_insecure_mx_policy
//!   = dane`, the secure TLSA records of such hosts are still used, but the
//!   result is at most "Trusted", never "Verified".
//! * §2.2.2 address records: TLSA is looked up only for hosts whose
//!   address records are secure; a bogus or failed address lookup fails
//!   the host.
//! * §2.2.3 TLSA records at `_25._tcp.<host>` (at the CNAME-expanded name
//!   first; the original name only after a secure denial there): a bogus
//!   or failed lookup fails the host ("TLSA lookup error"); a secure denial
//!   or an insecure answer means no DANE for the host (opportunistic TLS);
//!   secure records that are all unusable mean TLS without authentication
//!   (§2.2); one usable record makes STARTTLS and DANE authentication
//!   mandatory (§2.2, §3).
//!
//! For other protocols (`--starttls imap|pop3|xmpp|none`) the TLSA records
//! of `_PORT._tcp.HOST` apply under RFC 7671 with PKIX usages allowed;
//! without usable records, PKIX against `--ca-file` (RFC 7673 §3).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::Outcome;
use danebound_resolver::wire::{RData, RecordType, ResponseCode};
use danebound_verifier::{
    Profile, SecureTlsa, TlsaRecord, VerifyParams, danger, verify, verify_pkix,
};
use rustls::pki_types::{CertificateDer, UnixTime};
use serde_json::{Value, json};

use super::split_host_port;
use super::starttls::{self, ConnectError, Dial, Session, Starttls};
use crate::Failure;
use crate::commands::query::parse_name;
use crate::commands::resolution::{self, Dns};

pub(crate) fn command() -> Command {
    let command = Command::new("check")
        .about("Check a mail domain or a server against its TLSA records, like posttls-finger")
        .long_about(
            "Check DOMAIN's MX hosts (or the server HOST:PORT) the way a DANE-enforcing client \
             would (RFC 7672 for SMTP, RFC 7671 otherwise): validated MX, address and TLSA \
             lookups with danebound's own validator, a connection to each address, STARTTLS, a \
             TLS handshake and the match against the TLSA records. One line per connection in \
             Postfix's words: `Verified TLS connection established` (DANE authenticated), \
             `Trusted` (authenticated, but not downgrade-proof: insecure MX, or PKIX via \
             --ca-file), `Untrusted` (encrypted, not authenticated), then a summary.\n\
             Exit status: 0 only when every host verified, 1 otherwise, 2 for a usage error.\n\n\
             Examples:\n  danebound dane check example.com\n  danebound dane check \
             '[mx1.example.com]:25'\n  danebound dane check --starttls imap imap.example.com:143\n  \
             danebound dane check --starttls none www.example.com:443 --ca-file \
             /etc/ssl/certs/ca-certificates.crt\n  danebound dane check mx.example.com:25 --tlsa \
             '3 1 1 <hex>'   # records not yet published",
        )
        .arg(
            Arg::new("target")
                .value_name("DOMAIN | [HOST]:PORT")
                .required(true)
                .help("A mail domain (MX lookup), or a host with a port (brackets: no MX lookup)"),
        )
        .arg(
            Arg::new("starttls")
                .long("starttls")
                .value_name("PROTOCOL")
                .default_value("smtp")
                .help("smtp, imap, pop3, xmpp or none (TLS from the start)"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print one JSON document"),
        )
        .arg(
            Arg::new("helo")
                .long("helo")
                .value_name("NAME")
                .default_value("localhost")
                .help("EHLO name (SMTP)"),
        )
        .arg(
            Arg::new("ca-file")
                .long("ca-file")
                .value_name("PATH")
                .value_parser(value_parser!(PathBuf))
                .help("PEM trust store for PKIX (\"Trusted\" without DANE; PKIX usages outside SMTP) [default: none, like posttls-finger]"),
        )
        .arg(
            Arg::new("tlsa")
                .long("tlsa")
                .value_name("\"U S M HEX\"")
                .action(ArgAction::Append)
                .help("Match these TLSA records instead of looking them up; repeatable. They are not DNSSEC-validated: a match is reported, never Verified, and exit status 0 means they matched"),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .value_name("SECONDS")
                .default_value("30")
                .value_parser(value_parser!(u64).range(1..=600))
                .help("Per-step network timeout"),
        );
    resolution::args(command)
}

/// What a connection (or a host) came to, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Failed,
    Untrusted,
    Trusted,
    Verified,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Untrusted => "untrusted",
            Self::Trusted => "trusted",
            Self::Verified => "verified",
        }
    }
}

/// The security level of a host, in Postfix's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    /// Usable TLSA records, secure MX: DANE required.
    Dane,
    /// Usable TLSA records, insecure MX.
    HalfDane,
    /// Secure TLSA records, none usable: TLS required, no authentication.
    Encrypt,
    /// No DANE: opportunistic TLS.
    May,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Dane => "dane",
            Self::HalfDane => "half-dane",
            Self::Encrypt => "encrypt",
            Self::May => "may",
        }
    }
}

/// The TLSA lookup's result.
enum Tlsa {
    /// Not looked up, and why.
    NotLooked(&'static str),
    /// Secure records.
    Secure(SecureTlsa),
    /// Given with --tlsa.
    CommandLine(SecureTlsa),
    /// Secure NODATA/NXDOMAIN.
    None,
    /// Insecure answer: as good as none (RFC 6698 §4.1).
    Insecure,
    /// Bogus or failed lookup.
    Error(String),
}

impl Tlsa {
    fn status(&self) -> &'static str {
        match self {
            Self::NotLooked(_) => "not-looked-up",
            Self::Secure(_) => "secure",
            Self::CommandLine(_) => "command-line",
            Self::None => "none",
            Self::Insecure => "insecure",
            Self::Error(_) => "error",
        }
    }
}

/// One MX host (or the one given host).
struct Host {
    name: String,
    preference: Option<u16>,
    mx_secure: bool,
}

/// Everything printed, as lines and as JSON.
struct Report {
    json: bool,
    lines: Vec<String>,
}

impl Report {
    fn say(&mut self, line: String) {
        if !self.json {
            crate::out(&format!("{line}\n"));
        }
        self.lines.push(line);
    }
}

struct Settings {
    protocol: Starttls,
    port: u16,
    helo: String,
    timeout: Duration,
    roots: Vec<CertificateDer<'static>>,
    tlsa: Option<Vec<TlsaRecord>>,
    /// The next-hop domain (MX form), a DANE-TA reference identifier.
    domain: Option<String>,
}

pub(crate) fn run(m: &ArgMatches) -> Result<u8, Failure> {
    let target = m.get_one::<String>("target").map_or("", String::as_str);
    let protocol = Starttls::parse(
        m.get_one::<String>("starttls")
            .map_or("smtp", String::as_str),
    )
    .map_err(Failure::Usage)?;
    let (host, port) = split_host_port(target).map_err(Failure::Usage)?;
    let bracketed = target.starts_with('[');
    let mx_form = protocol == Starttls::Smtp && port.is_none() && !bracketed;
    let Some(port) = port.or_else(|| protocol.default_port()) else {
        return Err(Failure::Usage(format!(
            "{target}: a port is needed with --starttls none"
        )));
    };
    let tlsa = m
        .get_many::<String>("tlsa")
        .map(|v| {
            v.map(|s| {
                s.parse::<TlsaRecord>()
                    .map_err(|e| Failure::Usage(format!("--tlsa `{s}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let roots = match m.get_one::<PathBuf>("ca-file") {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::Error(format!("--ca-file {}: {e}", path.display())))?;
            super::tlsa::read_certificates(&bytes)
                .map_err(|e| Failure::Error(format!("--ca-file {}: {e}", path.display())))?
        }
        None => Vec::new(),
    };
    let json = m.get_flag("json");
    let ip_literal = host.parse::<IpAddr>().is_ok();
    if !ip_literal {
        parse_name(&host).map_err(Failure::Usage)?;
    }
    let dns = Dns::from_matches(m).map_err(Failure::Error)?;
    let settings = Settings {
        protocol,
        port,
        helo: m.get_one::<String>("helo").cloned().unwrap_or_default(),
        timeout: Duration::from_secs(m.get_one::<u64>("timeout").copied().unwrap_or(30)),
        roots,
        tlsa,
        domain: mx_form.then(|| host.trim_end_matches('.').to_string()),
    };
    let mut report = Report {
        json,
        lines: Vec::new(),
    };
    let mut doc = json!({
        "target": target,
        "protocol": format!("{protocol:?}").to_ascii_lowercase(),
        "port": port,
    });
    let hosts = if mx_form {
        match mx_hosts(&dns, &host, &mut report) {
            Ok((hosts, secure)) => {
                doc["mx"] = json!({
                    "secure": secure,
                    "hosts": hosts.iter().map(|h| json!({"host": h.name, "preference": h.preference})).collect::<Vec<_>>(),
                });
                hosts
            }
            Err(e) => {
                report.say(e.clone());
                doc["error"] = json!(e);
                doc["hosts"] = json!([]);
                doc["summary"] = json!({"hosts": 0, "verified": 0});
                doc["lines"] = json!(report.lines);
                if json {
                    crate::out(&format!("{}\n", pretty(&doc)));
                }
                return Ok(1);
            }
        }
    } else {
        vec![Host {
            name: host.trim_end_matches('.').to_string(),
            preference: None,
            // No MX: the host name is what the user asked for, as with
            // Postfix's `[host]` next hop.
            mx_secure: true,
        }]
    };
    let mut results = Vec::new();
    let mut statuses = Vec::new();
    for h in &hosts {
        let (status, value) = check_host(&dns, h, &settings, &mut report);
        statuses.push((h.name.clone(), status));
        results.push(value);
    }
    let verified = statuses
        .iter()
        .filter(|(_, s)| *s == Status::Verified)
        .count();
    let matched_cli = settings.tlsa.is_some()
        && results.iter().all(|r| {
            r["connections"].as_array().is_some_and(|c| {
                !c.is_empty() && c.iter().all(|c| c["matched"].as_bool() == Some(true))
            })
        });
    let what = if mx_form { "MX hosts" } else { "hosts" };
    report.say(format!(
        "Summary for {}: {verified} of {} {what} verified",
        host.trim_end_matches('.'),
        statuses.len()
    ));
    for (name, status) in &statuses {
        report.say(format!("  {name}: {}", status.word()));
    }
    let ok = if settings.tlsa.is_some() {
        matched_cli
    } else {
        !statuses.is_empty() && verified == statuses.len()
    };
    doc["hosts"] = json!(results);
    doc["summary"] = json!({"hosts": statuses.len(), "verified": verified, "ok": ok});
    doc["lines"] = json!(report.lines);
    if json {
        crate::out(&format!("{}\n", pretty(&doc)));
    }
    Ok(u8::from(!ok))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
}

/// Why a lookup failed, or `None` when it produced an answer (secure or
/// not) or a clean denial.
fn lookup_error(r: &Resolution) -> Option<String> {
    match &r.outcome {
        Outcome::Bogus(reason) => Some(match r.outcome.ede() {
            Some(ede) => format!("{reason} (EDE {})", ede.code),
            None => reason.to_string(),
        }),
        _ if !matches!(r.rcode, ResponseCode::NoError | ResponseCode::NXDomain) => {
            Some(match &r.failure {
                Some(ede) => format!(
                    "{} from the resolver: {} (EDE {})",
                    r.rcode, ede.text, ede.code
                ),
                None => format!("{} from the resolver", r.rcode),
            })
        }
        _ => None,
    }
}

/// RFC 7672 §2.2.1: the MX hosts in preference order, and whether the MX
/// RRset is secure.
fn mx_hosts(dns: &Dns, domain: &str, report: &mut Report) -> Result<(Vec<Host>, bool), String> {
    let name = parse_name(domain)?;
    let shown = domain.trim_end_matches('.');
    let r = dns.resolve(&name, RecordType::MX);
    if let Some(e) = lookup_error(&r) {
        return Err(format!("MX lookup error for {shown}: {e}"));
    }
    let secure = r.outcome.is_secure();
    if r.rcode == ResponseCode::NXDomain {
        return Err(format!("{shown}: no such domain (NXDOMAIN)"));
    }
    let mut mx: Vec<(u16, String)> = r
        .answers
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.to_string())),
            _ => None,
        })
        .collect();
    mx.sort();
    mx.dedup();
    if mx.iter().any(|(_, h)| h == ".") {
        return Err(format!(
            "{shown}: null MX: the domain accepts no mail (RFC 7505)"
        ));
    }
    let security = if secure { "secure" } else { "insecure" };
    if mx.is_empty() {
        report.say(format!(
            "{shown}: no MX records ({security} denial): the domain itself is the MX host (RFC 5321 section 5.1)"
        ));
        return Ok((
            vec![Host {
                name: shown.to_string(),
                preference: None,
                mx_secure: secure,
            }],
            secure,
        ));
    }
    let list: Vec<String> = mx
        .iter()
        .map(|(p, h)| format!("{p} {}", h.trim_end_matches('.')))
        .collect();
    report.say(format!(
        "MX RRset for {shown} is {security}: {}",
        list.join(", ")
    ));
    if !secure {
        report.say(format!(
            "{shown}: insecure MX RRset: no downgrade protection (RFC 7672 section 2.2.1); \
             secure TLSA records of the MX hosts are still checked, at most \"Trusted\""
        ));
    }
    Ok((
        mx.into_iter()
            .map(|(p, h)| Host {
                name: h.trim_end_matches('.').to_string(),
                preference: Some(p),
                mx_secure: secure,
            })
            .collect(),
        secure,
    ))
}

/// Address records of `host`: the addresses, whether every address RRset
/// was secure, and the CNAME-expanded name.
fn addresses(dns: &Dns, host: &str) -> Result<(Vec<IpAddr>, bool, String), String> {
    let name = parse_name(host)?;
    let mut addrs = Vec::new();
    let mut secure = true;
    let mut expanded = host.to_string();
    for rtype in [RecordType::A, RecordType::AAAA] {
        let r = dns.resolve(&name, rtype);
        if let Some(e) = lookup_error(&r) {
            return Err(format!("address lookup error for {host} {rtype}: {e}"));
        }
        let mut found = false;
        for rec in &r.answers {
            match &rec.data {
                RData::A(a) => {
                    addrs.push(IpAddr::V4(a.0));
                    found = true;
                }
                RData::AAAA(a) => {
                    addrs.push(IpAddr::V6(a.0));
                    found = true;
                }
                RData::CNAME(c) => expanded = c.0.to_string().trim_end_matches('.').to_string(),
                _ => {}
            }
        }
        if found && !r.outcome.is_secure() {
            secure = false;
        }
    }
    if addrs.is_empty() {
        return Err(format!("{host}: no address records"));
    }
    Ok((addrs, secure, expanded))
}

/// RFC 7672 §2.2.3: the TLSA RRset of `_PORT._tcp.NAME`.
fn lookup_tlsa(dns: &Dns, base: &str, original: &str, port: u16) -> (Tlsa, String) {
    let mut owner = format!("_{port}._tcp.{base}");
    let mut result = tlsa_at(dns, &owner);
    if matches!(result, Tlsa::None) && base != original {
        owner = format!("_{port}._tcp.{original}");
        result = tlsa_at(dns, &owner);
    }
    (result, owner)
}

fn tlsa_at(dns: &Dns, owner: &str) -> Tlsa {
    let name = match parse_name(owner) {
        Ok(n) => n,
        Err(e) => return Tlsa::Error(e),
    };
    let r = dns.resolve(&name, RecordType::TLSA);
    if let Some(e) = lookup_error(&r) {
        return Tlsa::Error(e);
    }
    let records: Vec<TlsaRecord> = r
        .answers
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::TLSA(t) => Some(TlsaRecord::new(
                t.cert_usage.into(),
                t.selector.into(),
                t.matching.into(),
                t.cert_data.clone(),
            )),
            _ => None,
        })
        .collect();
    match (&r.outcome, records.is_empty()) {
        (Outcome::Secure, true) => Tlsa::None,
        // The production path: records of a Secure outcome, nothing else.
        (Outcome::Secure, false) => match SecureTlsa::from_validated(
            records.into_iter().map(Ok::<_, std::convert::Infallible>),
        ) {
            Ok(t) => Tlsa::Secure(t),
            Err(never) => match never {},
        },
        _ => Tlsa::Insecure,
    }
}

fn check_host(dns: &Dns, host: &Host, s: &Settings, report: &mut Report) -> (Status, Value) {
    let mut value = json!({
        "host": host.name,
        "preference": host.preference,
        "port": s.port,
        "mx_secure": host.mx_secure,
    });
    let ip_literal = host.name.parse::<IpAddr>().ok();
    let (addrs, addr_secure, base) = match ip_literal {
        Some(ip) => (vec![ip], false, host.name.clone()),
        None => match addresses(dns, &host.name) {
            Ok(a) => a,
            Err(e) => {
                report.say(e.clone());
                value["status"] = json!("failed");
                value["error"] = json!(e);
                value["connections"] = json!([]);
                return (Status::Failed, value);
            }
        },
    };
    value["addresses_secure"] = json!(addr_secure);
    let smtp = s.protocol == Starttls::Smtp;
    let (tlsa, owner) = if let Some(records) = &s.tlsa {
        (
            Tlsa::CommandLine(danger::tlsa_without_dnssec(records.clone())),
            "(command line)".to_string(),
        )
    } else if ip_literal.is_some() {
        (
            Tlsa::NotLooked("an IP address has no TLSA records"),
            String::new(),
        )
    } else if !addr_secure {
        // RFC 7672 §2.2.2: no TLSA lookup for hosts with insecure addresses.
        (
            Tlsa::NotLooked("insecure address records (RFC 7672 section 2.2.2)"),
            String::new(),
        )
    } else {
        lookup_tlsa(dns, &base, &host.name, s.port)
    };
    value["tlsa"] = json!({"status": tlsa.status(), "name": owner});
    let profile = if smtp {
        Profile::Smtp
    } else {
        Profile::Generic
    };
    let level = match &tlsa {
        Tlsa::Error(e) => {
            let line = format!("TLSA lookup error for {}:{}: {e}", host.name, s.port);
            report.say(line.clone());
            value["tlsa"]["reason"] = json!(e);
            value["status"] = json!("failed");
            value["error"] = json!(line);
            value["connections"] = json!([]);
            return (Status::Failed, value);
        }
        Tlsa::Secure(t) | Tlsa::CommandLine(t) => {
            value["tlsa"]["records"] = json!(
                t.records()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            );
            if !t.any_usable(profile) {
                Level::Encrypt
            } else if host.mx_secure || matches!(tlsa, Tlsa::CommandLine(_)) {
                Level::Dane
            } else {
                Level::HalfDane
            }
        }
        Tlsa::NotLooked(why) => {
            value["tlsa"]["reason"] = json!(why);
            Level::May
        }
        Tlsa::None | Tlsa::Insecure => Level::May,
    };
    let level = if !smtp && level == Level::Encrypt {
        Level::May
    } else {
        level
    };
    value["level"] = json!(level.name());
    if let Tlsa::NotLooked(why) = &tlsa {
        report.say(format!("{}: no DANE: {why}", host.name));
    } else if matches!(tlsa, Tlsa::None | Tlsa::Insecure) {
        report.say(format!(
            "{}: no DANE: {} TLSA RRset at {owner}",
            host.name,
            if matches!(tlsa, Tlsa::None) {
                "no (secure denial)"
            } else {
                "insecure"
            }
        ));
    }
    let mut connections = Vec::new();
    let mut worst = Status::Verified;
    for addr in addrs {
        let (status, conn) = check_address(host, &base, addr, &tlsa, level, s, report);
        worst = worst.min(status);
        connections.push(conn);
    }
    value["connections"] = json!(connections);
    value["status"] = json!(worst.word());
    (worst, value)
}

fn check_address(
    host: &Host,
    base: &str,
    addr: IpAddr,
    tlsa: &Tlsa,
    level: Level,
    s: &Settings,
    report: &mut Report,
) -> (Status, Value) {
    let peer = format!("{}[{addr}]:{}", host.name, s.port);
    let mut value = json!({"address": addr.to_string(), "matched": false});
    let ip_literal = host.name.parse::<IpAddr>().is_ok();
    let dial = Dial {
        addr: std::net::SocketAddr::new(addr, s.port),
        sni: (!ip_literal).then_some(base),
        protocol: s.protocol,
        helo: &s.helo,
        xmpp_domain: s.domain.as_deref().unwrap_or(&host.name),
        timeout: s.timeout,
    };
    let session = match starttls::connect(&dial) {
        Ok(session) => session,
        Err(e) => {
            let line = match &e {
                ConnectError::NoStarttls if level != Level::May => {
                    format!("{peer}: STARTTLS not offered, but TLSA records require TLS")
                }
                ConnectError::Connect(e) => format!("connect to {peer}: {e}"),
                _ => format!("{peer}: {e}"),
            };
            report.say(line.clone());
            value["status"] = json!("failed");
            value["error"] = json!(line);
            value["incompatible"] = json!(matches!(e, ConnectError::Incompatible(_)));
            return (Status::Failed, value);
        }
    };
    value["tls"] = json!({
        "version": session.version,
        "cipher": session.cipher,
        "bits": session.bits,
        "key_exchange": session.kx,
        "chain_length": session.chain.len(),
    });
    let now = UnixTime::now();
    let mut params = if s.protocol == Starttls::Smtp {
        VerifyParams::smtp(base, now)
    } else {
        VerifyParams::generic(base, s.roots.clone(), now)
    };
    if base != host.name {
        params = params.with_reference_name(&host.name);
    }
    if let Some(domain) = &s.domain
        && host.mx_secure
        && domain != base
    {
        // RFC 7672 §3.2.2: the next-hop domain, from secure DNS.
        params = params.with_reference_name(domain);
    }
    let status = match (level, tlsa) {
        (Level::Dane | Level::HalfDane, Tlsa::Secure(t) | Tlsa::CommandLine(t)) => {
            dane_match(&peer, t, &session, &params, level, &mut value, report)
        }
        (Level::Encrypt, Tlsa::Secure(t) | Tlsa::CommandLine(t)) => {
            for r in t.records() {
                if let Err(why) = r.usability(Profile::Smtp) {
                    report.say(format!("{peer}: unusable TLSA RR: {r}: {why}"));
                }
            }
            report.say(format!(
                "{peer}: all TLSA records unusable, fallback to unauthenticated TLS (RFC 7672 section 2.2)"
            ));
            pkix_status(&peer, &session, &params, s, &mut value, report)
        }
        _ => pkix_status(&peer, &session, &params, s, &mut value, report),
    };
    report.say(format!(
        "{} TLS connection established to {peer}: {}",
        match status {
            Status::Verified => "Verified",
            Status::Trusted => "Trusted",
            _ => "Untrusted",
        },
        session.describe()
    ));
    if matches!(level, Level::Dane | Level::HalfDane) && status < Status::Trusted {
        report.say(format!("{peer}: Server certificate not verified"));
    }
    value["status"] = json!(status.word());
    (status, value)
}

fn dane_match(
    peer: &str,
    tlsa: &SecureTlsa,
    session: &Session,
    params: &VerifyParams,
    level: Level,
    value: &mut Value,
    report: &mut Report,
) -> Status {
    let verdict = verify(tlsa, &session.chain, params);
    for (r, why) in verdict.unusable() {
        report.say(format!("{peer}: unusable TLSA RR: {r}: {why}"));
    }
    match verdict.outcome() {
        Ok(m) => {
            report.say(format!("{peer}: {}", m.certmatch_line()));
            value["matched"] = json!(true);
            value["match"] = json!({
                "record": m.record.to_string(),
                "depth": m.depth,
                "kind": format!("{:?}", m.kind),
                "subject": m.subject,
            });
            if !verdict.is_authenticated() {
                report.say(format!(
                    "{peer}: the matching TLSA records were given on the command line, not \
                     DNSSEC-validated: this authenticates nothing"
                ));
                Status::Untrusted
            } else if level == Level::HalfDane {
                report.say(format!(
                    "{peer}: the MX RRset is insecure: authenticated, but not downgrade-proof"
                ));
                Status::Trusted
            } else {
                Status::Verified
            }
        }
        Err(e) => {
            let line = format!(
                "server certificate verification failed for {peer}: num={}:{e}",
                e.openssl_code()
            );
            report.say(line);
            value["reason"] = json!(e.to_string());
            Status::Untrusted
        }
    }
}

/// Without DANE: "Trusted" when the chain is PKIX-valid for the name
/// against --ca-file, else "Untrusted".
fn pkix_status(
    peer: &str,
    session: &Session,
    params: &VerifyParams,
    s: &Settings,
    value: &mut Value,
    report: &mut Report,
) -> Status {
    if s.roots.is_empty() {
        return Status::Untrusted;
    }
    let params = VerifyParams::generic(&params.reference_names()[0], s.roots.clone(), params.now());
    match verify_pkix(&session.chain, &params) {
        Ok(name) => {
            value["pkix"] = json!({"valid": true, "name": name});
            Status::Trusted
        }
        Err(e) => {
            report.say(format!("{peer}: PKIX verification failed: {e}"));
            value["pkix"] = json!({"valid": false, "reason": e.to_string()});
            Status::Untrusted
        }
    }
}
