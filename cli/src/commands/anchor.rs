//! `danebound anchor`: the RFC 5011 state files.
//!
//! - `anchor show [FILE…]`: every trust point, key, state and timer in plain
//!   words with dates (`--json` for machines).
//! - `anchor bootstrap FILE [--xml root-anchors.xml]`: create or repair a
//!   state file from the built-in root keys or IANA's root-anchors.xml
//!   (entries valid now), checking the live root DNSKEY RRset against them
//!   first when an upstream answers. Exit status as unbound-anchor's: 0
//!   nothing changed, 1 file written, 2 an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use danebound_resolver::autotrust::{add_trust_point, builtin_root};
use danebound_resolver::clock::{Clock, SystemClock};
use danebound_resolver::config::{DEFAULT_ROOT_ANCHOR_FILE, parse_forward};
use danebound_resolver::engine::Resolver;
use danebound_resolver::forward::{Upstreams, default_upstreams};
use danebound_resolver::transport::net::NetTransport;
use danebound_resolver::validator::{Anchors, Outcome, RingCrypto};
use danebound_resolver::wire::{Name, Query, RecordType};
use danebound_trust_anchors::rfc5011::{KeyState, Policy, TrustPoint};
use danebound_trust_anchors::time_text::{duration, utc};
use danebound_trust_anchors::{autotrust_file, root_anchors_xml, store};
use serde_json::json;

use crate::{Failure, out, repeatable};

pub(crate) fn command() -> Command {
    Command::new("anchor")
        .about("Show or bootstrap RFC 5011 trust anchor state files")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("show")
                .about("Show trust points, keys, states and timers")
                .long_about(
                    "Show each trust point of the given state files (unbound's \
                     auto-trust-anchor-file format): its keys with their RFC 5011 states, \
                     when each changed, the probe timers and the next probe, with dates in \
                     UTC.\n\nExamples:\n  danebound anchor show\n  danebound anchor show \
                     /var/lib/unbound/root.key --json",
                )
                .arg(
                    Arg::new("file")
                        .value_name("FILE")
                        .num_args(0..)
                        .value_parser(value_parser!(PathBuf))
                        .help(format!("State files [default: {DEFAULT_ROOT_ANCHOR_FILE}]")),
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("One JSON document on stdout"),
                ),
        )
        .subcommand(
            Command::new("bootstrap")
                .about("Create or repair a root trust anchor state file")
                .long_about(
                    "Create FILE, or repair it when it is missing, empty, damaged or revoked, \
                     from the built-in root keys (KSK-2017, KSK-2024) or from IANA's \
                     root-anchors.xml (only the entries valid now). Before writing, the root \
                     DNSKEY RRset is fetched and must validate with those anchors; when no \
                     upstream answers the file is written with a warning (--no-fetch skips \
                     the check). Exit status: 0 nothing changed, 1 file written, 2 error.\n\n\
                     Examples:\n  danebound anchor bootstrap /var/lib/danebound/root.key\n  \
                     danebound anchor bootstrap root.key --xml root-anchors.xml --forward 192.0.2.1",
                )
                .arg(
                    Arg::new("file")
                        .value_name("FILE")
                        .required(true)
                        .value_parser(value_parser!(PathBuf)),
                )
                .arg(
                    Arg::new("xml")
                        .long("xml")
                        .value_name("PATH")
                        .value_parser(value_parser!(PathBuf))
                        .help("IANA root-anchors.xml (RFC 7958 / RFC 9718) instead of the built-in keys"),
                )
                .arg(repeatable(
                    "forward",
                    "ADDR[:PORT]",
                    "Where to fetch the root DNSKEY RRset; repeatable [default: /etc/resolv.conf]",
                ))
                .arg(
                    Arg::new("no-fetch")
                        .long("no-fetch")
                        .action(ArgAction::SetTrue)
                        .help("Do not fetch and check the root DNSKEY RRset"),
                ),
        )
}

pub(crate) fn run(m: &ArgMatches) -> Result<u8, Failure> {
    match m.subcommand() {
        Some(("show", m)) => show(m).map_err(Failure::Error),
        Some(("bootstrap", m)) => Ok(match bootstrap(m) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("danebound: {e}");
                2
            }
        }),
        _ => Err(Failure::Usage(
            "no such command; see `danebound anchor --help`".into(),
        )),
    }
}

fn algorithm_name(alg: u8) -> &'static str {
    match alg {
        5 => "RSASHA1",
        7 => "RSASHA1-NSEC3-SHA1",
        8 => "RSASHA256",
        10 => "RSASHA512",
        13 => "ECDSAP256SHA256",
        14 => "ECDSAP384SHA384",
        15 => "ED25519",
        16 => "ED448",
        _ => "unknown algorithm",
    }
}

fn digest_name(d: u8) -> &'static str {
    match d {
        1 => "SHA-1",
        2 => "SHA-256",
        4 => "SHA-384",
        _ => "unknown digest",
    }
}

fn read(path: &Path) -> Result<TrustPoint, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    autotrust_file::parse(&text, &name, &Policy::default()).map_err(|e| e.to_string())
}

fn date(t: u64) -> String {
    if t == 0 { "never".into() } else { utc(t) }
}

fn show(m: &ArgMatches) -> Result<u8, String> {
    let files: Vec<PathBuf> = m
        .get_many::<PathBuf>("file")
        .map(|v| v.cloned().collect())
        .unwrap_or_else(|| vec![PathBuf::from(DEFAULT_ROOT_ANCHOR_FILE)]);
    let mut text = String::new();
    let mut docs = Vec::new();
    for path in &files {
        let tp = read(path)?;
        let t = &tp.timers;
        let keys: Vec<_> = tp
            .keys()
            .iter()
            .map(|k| {
                let trusted_from =
                    (k.state == KeyState::AddPend).then(|| k.last_change + k.holddown);
                (k, trusted_from)
            })
            .collect();
        if m.get_flag("json") {
            docs.push(json!({
                "file": path.display().to_string(),
                "trust_point": tp.owner(),
                "revoked": tp.is_revoked(),
                "last_queried": t.last_queried,
                "last_success": t.last_success,
                "next_probe": t.next_probe_time,
                "query_failed": t.query_failed,
                "query_interval": t.query_interval,
                "retry_time": t.retry_time,
                "keys": keys.iter().map(|(k, from)| json!({
                    "key_tag": k.key.key_tag(),
                    "algorithm": k.key.algorithm,
                    "flags": k.key.flags,
                    "state": k.state.word(),
                    "trust_anchor": k.state.is_anchor() && !tp.is_revoked(),
                    "since": k.last_change,
                    "sightings": k.count,
                    "trusted_from_at_the_earliest": from,
                })).collect::<Vec<_>>(),
                "ds": tp.pending_ds().iter().map(|d| json!({
                    "key_tag": d.key_tag,
                    "algorithm": d.algorithm,
                    "digest_type": d.digest_type,
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        text.push_str(&format!("{}: trust point {}\n", path.display(), tp.owner()));
        if tp.is_revoked() {
            text.push_str("  every key is revoked: the zone has no trust anchor (RFC 5011 §5); `danebound anchor bootstrap` starts over\n");
        }
        text.push_str(&format!("  last probe:     {}\n", date(t.last_queried)));
        text.push_str(&format!("  last success:   {}\n", date(t.last_success)));
        text.push_str(&format!(
            "  next probe:     {}\n",
            if t.next_probe_time == 0 {
                "at start".into()
            } else {
                utc(t.next_probe_time)
            }
        ));
        text.push_str(&format!("  failed probes:  {} in a row\n", t.query_failed));
        if t.query_interval > 0 {
            text.push_str(&format!(
                "  probe interval: {}, after a failure {}\n",
                duration(t.query_interval),
                duration(t.retry_time)
            ));
        }
        for (k, from) in &keys {
            text.push_str(&format!(
                "  key {:5} {} ({}), {}{} {}",
                k.key.key_tag(),
                algorithm_name(k.key.algorithm),
                k.key.algorithm,
                k.state.word(),
                if k.state.is_anchor() && !tp.is_revoked() {
                    ", trusted"
                } else {
                    ""
                },
                date(k.last_change)
            ));
            if let Some(from) = from {
                text.push_str(&format!(
                    ", seen {} time{}, trusted from {} at the earliest",
                    k.count,
                    if k.count == 1 { "" } else { "s" },
                    utc(*from)
                ));
            }
            text.push('\n');
        }
        for d in tp.pending_ds() {
            text.push_str(&format!(
                "  DS  {:5} {} ({}), {} digest: initial anchor, not yet matched by a probe\n",
                d.key_tag,
                algorithm_name(d.algorithm),
                d.algorithm,
                digest_name(d.digest_type)
            ));
        }
    }
    if m.get_flag("json") {
        let doc = if docs.len() == 1 {
            docs.remove(0)
        } else {
            json!(docs)
        };
        text = format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    }
    out(&text);
    Ok(0)
}

fn bootstrap(m: &ArgMatches) -> Result<u8, String> {
    let path = m.get_one::<PathBuf>("file").ok_or("FILE is required")?;
    let name = path.display();
    if path.exists() {
        match read(path) {
            Ok(tp) if tp.has_anchors() => {
                out(&format!(
                    "{name}: trust point {} is in order; nothing changed\n",
                    tp.owner()
                ));
                return Ok(0);
            }
            Ok(_) => eprintln!("danebound: {name}: every anchor is revoked; starting over"),
            Err(e) => eprintln!("danebound: {e}; repairing it"),
        }
    }
    let now = SystemClock.unix_now();
    let (tp, source) = match m.get_one::<PathBuf>("xml") {
        Some(xml) => {
            let text =
                std::fs::read_to_string(xml).map_err(|e| format!("{}: {e}", xml.display()))?;
            let tp = root_anchors_xml::trust_point(&text, now)
                .map_err(|e| format!("{}: {e}", xml.display()))?;
            (tp, xml.display().to_string())
        }
        None => (builtin_root(), "the built-in root keys".to_string()),
    };
    if !m.get_flag("no-fetch") {
        let forward: Vec<String> = m
            .get_many::<String>("forward")
            .map(|v| v.cloned().collect())
            .unwrap_or_default();
        check_live_root(&tp, &forward)?;
    }
    store::write_atomic(path, autotrust_file::write(&tp).as_bytes()).map_err(|e| e.to_string())?;
    out(&format!("{name}: written from {source}\n"));
    Ok(1)
}

/// Fetch the root DNSKEY RRset and validate it with `tp`'s anchors. Bogus
/// is an error (nothing is written); no answer is a warning.
fn check_live_root(tp: &TrustPoint, forward: &[String]) -> Result<(), String> {
    let servers = if forward.is_empty() {
        default_upstreams(&[])
    } else {
        forward
            .iter()
            .map(|s| parse_forward(s).map_err(|e| format!("--forward: {e}")))
            .collect::<Result<_, _>>()?
    };
    let mut anchors = Anchors::new();
    add_trust_point(&mut anchors, &Name::root(), tp);
    let upstreams = Upstreams::new(servers, Arc::new(NetTransport));
    let resolver = Resolver::new(
        Arc::new(upstreams),
        anchors,
        Arc::new(RingCrypto::default()),
        Arc::new(SystemClock),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let query = Query::query(Name::root(), RecordType::DNSKEY);
    let res = runtime.block_on(resolver.resolve_query(&query, false));
    match res.outcome {
        Outcome::Secure => Ok(()),
        Outcome::Bogus(reason) => Err(format!(
            "the root DNSKEY RRset does not validate with these anchors ({reason}); nothing written"
        )),
        _ => {
            eprintln!(
                "danebound: warning: could not fetch the root DNSKEY RRset ({}); writing without that check",
                res.rcode
            );
            Ok(())
        }
    }
}
