//! `danebound dane tlsa`: TLSA records ready to publish, from a certificate
//! file or from what a server presents, with renewal warnings (RFC 7671
//! §8.1).

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgMatches, Command, value_parser};
use danebound_verifier::{MatchingType, RenewalStability, Selector, TlsaRecord, Usage, generate};
use rustls::pki_types::CertificateDer;

use super::split_host_port;
use super::starttls::{self, Dial, Starttls};
use crate::Failure;

pub(crate) fn command() -> Command {
    Command::new("tlsa")
        .about("Print TLSA records to publish for a certificate or a server")
        .long_about(
            "Print TLSA records ready to publish, for the certificate in FILE (PEM, leaf first; \
             or DER) or for the chain a server presents, and warn when a record will break at \
             the next certificate renewal.\n\nUsage 3 and 1 records are made for the leaf; \
             usage 2 and 0 records for each certificate above it (or for the one certificate \
             of a file that holds only one: the CA).\n\n\
             Examples:\n  danebound dane tlsa --cert /etc/ssl/mail.pem --name _25._tcp.mx.example.com\n  \
             danebound dane tlsa --from-server mx.example.com:25 --starttls smtp\n  \
             danebound dane tlsa --cert ca.pem --usage 2 --selector 0 --mtype 1 \
             --name _25._tcp.mx.example.com",
        )
        .arg(
            Arg::new("cert")
                .long("cert")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .conflicts_with("from-server")
                .required_unless_present("from-server")
                .help("Certificate file: PEM (leaf first, then the chain) or DER"),
        )
        .arg(
            Arg::new("from-server")
                .long("from-server")
                .value_name("HOST:PORT")
                .help("Connect and use the chain the server presents"),
        )
        .arg(
            Arg::new("starttls")
                .long("starttls")
                .value_name("PROTOCOL")
                .help("smtp, imap, pop3, xmpp or none [default: by port: 25/587 smtp, 143 imap, 110 pop3, 5222 xmpp]"),
        )
        .arg(number("usage", "3", "Certificate usage: 3 DANE-EE, 2 DANE-TA, 1 PKIX-EE, 0 PKIX-TA"))
        .arg(number("selector", "1", "Selector: 1 SubjectPublicKeyInfo, 0 full certificate"))
        .arg(number("mtype", "1", "Matching type: 1 SHA2-256, 2 SHA2-512, 0 full"))
        .arg(
            Arg::new("name")
                .long("name")
                .value_name("OWNER")
                .help("Owner name, e.g. _25._tcp.mx.example.com [default: _PORT._tcp.HOST with --from-server]"),
        )
}

fn number(name: &'static str, default: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("N")
        .default_value(default)
        .value_parser(value_parser!(u8))
        .help(help)
}

pub(crate) fn run(m: &ArgMatches) -> Result<u8, Failure> {
    let code = |id: &str| m.get_one::<u8>(id).copied().unwrap_or_default();
    let usage = match code("usage") {
        0 => Usage::PkixTa,
        1 => Usage::PkixEe,
        2 => Usage::DaneTa,
        3 => Usage::DaneEe,
        n => return Err(Failure::Usage(format!("--usage {n}: one of 0, 1, 2, 3"))),
    };
    let selector = match code("selector") {
        0 => Selector::Cert,
        1 => Selector::Spki,
        n => return Err(Failure::Usage(format!("--selector {n}: 0 or 1"))),
    };
    let mtype = match code("mtype") {
        0 => MatchingType::Full,
        1 => MatchingType::Sha256,
        2 => MatchingType::Sha512,
        n => return Err(Failure::Usage(format!("--mtype {n}: 0, 1 or 2"))),
    };
    let (chain, default_owner) = if let Some(path) = m.get_one::<PathBuf>("cert") {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::Error(format!("--cert {}: {e}", path.display())))?;
        let chain = read_certificates(&bytes)
            .map_err(|e| Failure::Error(format!("--cert {}: {e}", path.display())))?;
        (chain, None)
    } else {
        let target = m
            .get_one::<String>("from-server")
            .map_or("", String::as_str);
        from_server(target, m.get_one::<String>("starttls").map(String::as_str))?
    };
    let owner = m
        .get_one::<String>("name")
        .map(|n| absolute(n))
        .or(default_owner);
    let targets: Vec<&CertificateDer<'_>> = match usage {
        Usage::DaneEe | Usage::PkixEe => chain.iter().take(1).collect(),
        Usage::DaneTa | Usage::PkixTa if chain.len() == 1 => chain.iter().collect(),
        Usage::DaneTa | Usage::PkixTa => chain.iter().skip(1).collect(),
    };
    let mut records = Vec::new();
    for cert in targets {
        let record = generate(cert, usage, selector, mtype)
            .map_err(|e| Failure::Error(format!("certificate: {e}")))?;
        records.push(record);
    }
    crate::out(&render(owner.as_deref(), &records));
    Ok(0)
}

/// The records, one a line, then the renewal warnings as zone-file comments.
pub(crate) fn render(owner: Option<&str>, records: &[TlsaRecord]) -> String {
    let mut out = String::new();
    if owner.is_none() {
        out.push_str("; no owner name: give --name _PORT._tcp.HOST\n");
    }
    for record in records {
        match owner {
            Some(owner) => out.push_str(&format!("{owner} IN TLSA {record}\n")),
            None => out.push_str(&format!("IN TLSA {record}\n")),
        }
    }
    let mut warned = Vec::new();
    for record in records {
        if let Some(warning) = RenewalStability::of(record).warning()
            && !warned.contains(&warning)
        {
            warned.push(warning);
            out.push_str(&format!(
                "; warning: {} {} {}: {warning}\n",
                record.usage, record.selector, record.matching_type
            ));
        }
    }
    out
}

fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// PEM certificates (any number, in order) or one DER certificate.
pub(crate) fn read_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    let certs = rustls_pemfile::certs(&mut &bytes[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE in the file".into());
    }
    Ok(certs)
}

fn from_server(
    target: &str,
    protocol: Option<&str>,
) -> Result<(Vec<CertificateDer<'static>>, Option<String>), Failure> {
    let (host, port) = split_host_port(target).map_err(Failure::Usage)?;
    let protocol = protocol
        .map(Starttls::parse)
        .transpose()
        .map_err(Failure::Usage)?;
    let port = port
        .or_else(|| protocol.and_then(Starttls::default_port))
        .ok_or_else(|| Failure::Usage(format!("--from-server {target}: a port is needed")))?;
    let protocol = protocol.unwrap_or_else(|| Starttls::for_port(port));
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| Failure::Error(format!("{host}: {e}")))?
        .next()
        .ok_or_else(|| Failure::Error(format!("{host}: no address")))?;
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let dial = Dial {
        addr,
        sni: (!is_ip).then_some(host.as_str()),
        protocol,
        helo: "localhost",
        xmpp_domain: &host,
        timeout: Duration::from_secs(30),
    };
    let session = starttls::connect(&dial)
        .map_err(|e| Failure::Error(format!("{host}[{}]:{port}: {e}", addr.ip())))?;
    if session.chain.is_empty() {
        return Err(Failure::Error(format!(
            "{host}:{port}: no certificate presented"
        )));
    }
    let owner = (!is_ip).then(|| format!("_{port}._tcp.{}", absolute(&host)));
    Ok((session.chain, owner))
}
