//! dig's presentation format and the JSON form of the same content.

use std::fmt::Write as _;
use std::net::SocketAddr;

use danebound_resolver::answer::ede_of;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::timefmt;
use danebound_resolver::validator::Outcome;
use danebound_resolver::validator::trace::TraceEvent;
use danebound_resolver::wire::{Message, Record, RecordType, ResponseCode};
use serde_json::{Value, json};

/// The verdict line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Secure: `; fully validated`.
    Validated,
    /// Insecure or outside any anchor: `; unsigned answer`.
    Unsigned {
        /// Why, when the validator gave a reason (e.g. an unsupported
        /// algorithm).
        reason: Option<String>,
    },
    /// dig mode: the server set AD; we did not validate.
    ServerAuthenticated,
    /// No answer to judge (upstream SERVFAIL, timeout).
    NoAnswer,
    /// Bogus: `; validation failed: REASON (EDE n)`.
    Failed {
        /// The EDE code.
        code: Option<u16>,
        /// The reason.
        reason: String,
    },
}

impl Verdict {
    pub(crate) fn of(resolution: &Resolution) -> Self {
        let outcome = &resolution.outcome;
        match outcome {
            Outcome::Indeterminate
                if !matches!(
                    resolution.rcode,
                    ResponseCode::NoError | ResponseCode::NXDomain
                ) =>
            {
                Self::NoAnswer
            }
            Outcome::Secure => Self::Validated,
            Outcome::Bogus(reason) => Self::Failed {
                code: outcome.ede().map(|e| e.code),
                reason: reason.to_string(),
            },
            Outcome::Insecure(reason) => Self::Unsigned {
                reason: Some(reason.to_string()),
            },
            _ => Self::Unsigned { reason: None },
        }
    }

    fn line(&self) -> String {
        match self {
            Self::Validated => "; fully validated".into(),
            Self::ServerAuthenticated => {
                "; the server says authenticated (AD=1): not validated here (ask without @SERVER)"
                    .into()
            }
            Self::NoAnswer => "; resolution failed: no answer from the upstream nameservers".into(),
            Self::Unsigned { reason: None } => "; unsigned answer".into(),
            Self::Unsigned { reason: Some(r) } => format!("; unsigned answer ({r})"),
            Self::Failed { code, reason } => match code {
                Some(code) => format!("; validation failed: {reason} (EDE {code})"),
                None => format!("; validation failed: {reason}"),
            },
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Validated => json!({"status": "secure"}),
            Self::NoAnswer => json!({"status": "no-answer"}),
            Self::ServerAuthenticated => json!({"status": "server-ad"}),
            Self::Unsigned { reason } => json!({"status": "insecure", "reason": reason}),
            Self::Failed { code, reason } => {
                json!({"status": "bogus", "reason": reason, "ede": code})
            }
        }
    }
}

/// Everything one query prints.
pub(crate) struct Output<'a> {
    pub(crate) message: &'a Message,
    /// The server asked (dig mode), or `None` for in-process validation.
    pub(crate) server: Option<SocketAddr>,
    pub(crate) verdict: Option<&'a Verdict>,
    pub(crate) trace: Option<&'a [TraceEvent]>,
    /// Show RRSIG, NSEC and NSEC3 (dig hides them without +dnssec).
    pub(crate) dnssec: bool,
}

impl Output<'_> {
    fn shown<'r>(&self, records: &'r [Record]) -> impl Iterator<Item = &'r Record> + use<'r> {
        let dnssec = self.dnssec;
        let qtype = self.message.queries.first().map(|q| q.query_type());
        records.iter().filter(move |r| {
            let t = r.record_type();
            t != RecordType::OPT
                && (dnssec
                    || Some(t) == qtype
                    || !matches!(t, RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3))
        })
    }

    fn flags(&self) -> Vec<&'static str> {
        let m = &self.message.metadata;
        let mut flags = Vec::new();
        for (on, name) in [
            (
                m.message_type == danebound_resolver::wire::MessageType::Response,
                "qr",
            ),
            (m.authoritative, "aa"),
            (m.truncation, "tc"),
            (m.recursion_desired, "rd"),
            (m.recursion_available, "ra"),
            (m.authentic_data, "ad"),
            (m.checking_disabled, "cd"),
        ] {
            if on {
                flags.push(name);
            }
        }
        flags
    }

    /// dig's format.
    pub(crate) fn text(&self) -> String {
        let m = self.message;
        let mut out = String::new();
        let question = m
            .queries
            .first()
            .map(|q| format!("{} {}", q.name(), q.query_type()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "; <<>> danebound {} <<>> {question}",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(out, ";; Got answer:");
        let _ = writeln!(
            out,
            ";; ->>HEADER<<- opcode: {}, status: {}, id: {}",
            opcode(m),
            rcode(m),
            m.metadata.id
        );
        let answers: Vec<_> = self.shown(&m.answers).collect();
        let authority: Vec<_> = self.shown(&m.authorities).collect();
        let additional: Vec<_> = self.shown(&m.additionals).collect();
        let _ = writeln!(
            out,
            ";; flags: {}; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
            self.flags().join(" "),
            m.queries.len(),
            answers.len(),
            authority.len(),
            additional.len() + usize::from(m.edns.is_some())
        );
        if let Some(edns) = &m.edns {
            let _ = writeln!(out, "\n;; OPT PSEUDOSECTION:");
            let _ = writeln!(
                out,
                "; EDNS: version: {}, flags:{}; udp: {}",
                edns.version(),
                if edns.flags().dnssec_ok { " do" } else { "" },
                edns.max_payload()
            );
            if let Some((code, text)) = ede_of(m) {
                let _ = writeln!(out, "; EDE: {code} ({}): ({text})", ede_name(code));
            }
        }
        let _ = writeln!(out, "\n;; QUESTION SECTION:");
        for q in &m.queries {
            let _ = writeln!(
                out,
                ";{}\t\t{}\t{}",
                q.name(),
                q.query_class(),
                q.query_type()
            );
        }
        for (title, records) in [
            ("ANSWER", &answers),
            ("AUTHORITY", &authority),
            ("ADDITIONAL", &additional),
        ] {
            if records.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n;; {title} SECTION:");
            for r in records {
                let _ = writeln!(out, "{}", record_line(r));
            }
        }
        if let Some(server) = self.server {
            let _ = writeln!(out, "\n;; SERVER: {}#{}", server.ip(), server.port());
        }
        if let Some(trace) = self.trace {
            let _ = writeln!(out, "\n;; CHAIN OF TRUST:");
            if trace.is_empty() {
                let _ = writeln!(
                    out,
                    ";   (nothing validated: no trust anchor covers the name, or no answer)"
                );
            }
            for line in trace_lines(trace) {
                let _ = writeln!(out, ";   {line}");
            }
        }
        if let Some(verdict) = self.verdict {
            let _ = writeln!(out, "\n{}", verdict.line());
        }
        out
    }

    /// The same content as one JSON document.
    pub(crate) fn json(&self) -> String {
        let m = self.message;
        let records = |rs: &[Record]| -> Vec<Value> { self.shown(rs).map(record_json).collect() };
        let doc = json!({
            "server": self.server.map(|s| s.to_string()),
            "header": {
                "opcode": opcode(m),
                "status": rcode(m),
                "id": m.metadata.id,
                "flags": self.flags(),
            },
            "edns": m.edns.as_ref().map(|e| json!({
                "version": e.version(),
                "do": e.flags().dnssec_ok,
                "udp": e.max_payload(),
            })),
            "ede": ede_of(m).map(|(code, text)| json!({"code": code, "name": ede_name(code), "text": text})),
            "question": m.queries.iter().map(|q| json!({
                "name": q.name().to_string(),
                "class": q.query_class().to_string(),
                "type": q.query_type().to_string(),
            })).collect::<Vec<_>>(),
            "answer": records(&m.answers),
            "authority": records(&m.authorities),
            "additional": records(&m.additionals),
            "verdict": self.verdict.map(Verdict::json),
            "trace": self.trace.map(trace_lines),
        });
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
    }
}

/// The chain of trust, one line per event, in the order the validator
/// walked it: from the anchor down, zone by zone (DS, then DNSKEY), then
/// the RRsets and their RRSIGs.
/// An RRset's line ends with how long its signature has left, relative to
/// now: `(expires in 28 days)`.
pub(crate) fn trace_lines(trace: &[TraceEvent]) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    trace.iter().map(|e| trace_line(e, now)).collect()
}

fn trace_line(event: &TraceEvent, now: u64) -> String {
    match event {
        TraceEvent::RrsetSecure { expiration, .. } => {
            // RFC 4034 §3.1.5: a serial number (RFC 1982), nearest to now.
            let delta = i64::from(expiration.wrapping_sub(now as u32) as i32);
            let at = (now as i64).saturating_add(delta).max(0) as u64;
            let when = timefmt::relative(at, now);
            if at < now {
                format!("{event} (expired {when})")
            } else {
                format!("{event} (expires {when})")
            }
        }
        _ => event.to_string(),
    }
}

fn record_line(r: &Record) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        r.name,
        r.ttl,
        r.dns_class,
        r.record_type(),
        r.data
    )
}

fn record_json(r: &Record) -> Value {
    json!({
        "name": r.name.to_string(),
        "ttl": r.ttl,
        "class": r.dns_class.to_string(),
        "type": r.record_type().to_string(),
        "data": r.data.to_string(),
    })
}

fn opcode(m: &Message) -> String {
    format!("{:?}", m.metadata.op_code).to_ascii_uppercase()
}

/// dig's names for response codes.
fn rcode(m: &Message) -> String {
    let code = u16::from(m.metadata.response_code);
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        16 => "BADVERS".into(),
        n => format!("RESERVED{n}"),
    }
}

/// RFC 8914 §5.2 names.
fn ede_name(code: u16) -> &'static str {
    match code {
        0 => "Other",
        1 => "Unsupported DNSKEY Algorithm",
        2 => "Unsupported DS Digest Type",
        3 => "Stale Answer",
        4 => "Forged Answer",
        5 => "DNSSEC Indeterminate",
        6 => "DNSSEC Bogus",
        7 => "Signature Expired",
        8 => "Signature Not Yet Valid",
        9 => "DNSKEY Missing",
        10 => "RRSIGs Missing",
        11 => "No Zone Key Bit Set",
        12 => "NSEC Missing",
        13 => "Cached Error",
        14 => "Not Ready",
        15 => "Blocked",
        16 => "Censored",
        17 => "Filtered",
        18 => "Prohibited",
        19 => "Stale NXDOMAIN Answer",
        20 => "Not Authoritative",
        21 => "Not Supported",
        22 => "No Reachable Authority",
        23 => "Network Error",
        24 => "Invalid Data",
        27 => "Unsupported NSEC3 Iterations Value",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use danebound_resolver::validator::RrsetId;
    use danebound_resolver::wire::Name;

    #[test]
    fn trace_lines_say_when_signatures_expire() {
        let now = 1_793_361_612; // 2026-10-30 12:00:12 UTC
        let event = |expiration: u32| TraceEvent::RrsetSecure {
            rrset: RrsetId::new(&Name::from_ascii("www.example.").unwrap(), RecordType::A),
            signer: Name::from_ascii("example.").unwrap(),
            key_tag: 4711,
            algorithm: 13,
            inception: now as u32 - 86_400,
            expiration,
        };
        let line = trace_line(&event(now as u32 + 28 * 86_400), now);
        assert!(
            line.ends_with("to 20261127120012 (expires in 28 days)"),
            "{line}"
        );
        let line = trace_line(&event(now as u32 - 3 * 3600), now);
        assert!(line.ends_with("(expired 3 hours ago)"), "{line}");
    }
}
