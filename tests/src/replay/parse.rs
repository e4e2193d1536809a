//! The scenario file: config section (three dialects, §2) and scenario
//! grammar (§3): RANGE, ADDRESS, ENTRY, STEP.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use danebound_resolver::wire::Name;
use danebound_trust_anchors::text::{self, Context, RawRecord};

use super::entry::{Entry, keywords, read_entry};

// ---------------------------------------------------------------------------
// Errors

/// A parse failure: the file cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, reason: String) -> Self {
        Self { line, reason }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------
// Config

/// Which program's reading of the format a file was written for (§2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// unbound's testbound: unbound.conf clauses.
    Unbound,
    /// CZ-NIC Deckard: flat keys.
    Deckard,
    /// NLnet Labs domain (Stelline): a `server:` block plus Deckard keys.
    Stelline,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unbound => "unbound",
            Self::Deckard => "deckard",
            Self::Stelline => "stelline",
        })
    }
}

/// The time the validator checks RRSIG validity against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationTime {
    /// No override: use the scenario clock.
    Clock,
    /// `val-override-date`/`-timestamp`: POSIX seconds.
    At(u64),
    /// `val-override-date: "-1"`: ignore signature dates.
    IgnoreDates,
}

/// Servers for a zone (a stub-zone or forward-zone clause, or Deckard's
/// `stub-addr`/`forward-addr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneServers {
    pub name: Name,
    pub addrs: Vec<SocketAddr>,
    /// Host names given instead of addresses (`stub-host`, `forward-host`).
    pub hosts: Vec<String>,
}

/// How the resolver reaches the scenario's servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Iterate from root hints (a stub zone for `.`).
    Iterate { root: ZoneServers },
    /// Forward everything under `zone` to its servers (RD=1).
    Forward { zone: ZoneServers },
    /// Only non-root stub zones (the resolver needs its own root hints).
    StubOnly,
}

/// One config option as written, with the clause it was in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOption {
    pub line: usize,
    /// `server`, `stub-zone`, `forward-zone`, … or empty for Deckard keys.
    pub clause: String,
    pub key: String,
    pub value: String,
}

/// The typed config of a scenario.
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    pub dialect: Dialect,
    /// Static anchors (DS or DNSKEY), raw so that odd test keys survive.
    pub trust_anchors: Vec<RawRecord>,
    /// `AUTOTRUST_FILE <id>` bodies: RFC 5011-managed anchors, by id.
    pub autotrust_files: Vec<(String, Vec<String>)>,
    /// `TEMPFILE_CONTENTS` bodies, by id.
    pub temp_files: Vec<(String, Vec<String>)>,
    pub validation_time: ValidationTime,
    pub stub_zones: Vec<ZoneServers>,
    pub forward_zones: Vec<ZoneServers>,
    /// Negative trust anchors (`domain-insecure`).
    pub domain_insecure: Vec<Name>,
    /// `qname-minimisation` / `query-minimization`; None = not given.
    pub qname_minimisation: Option<bool>,
    /// Every option line, mapped or not, in file order.
    pub options: Vec<ConfigOption>,
    /// Options the harness does not map, as `key: value`, for reports.
    pub ignored: Vec<String>,
}

impl ScenarioConfig {
    /// The resolver's mode: forwarding for Stelline files (they are adapted
    /// for a forwarding validator, §9) and for `forward-zone: .`, iteration
    /// from a root stub otherwise.
    pub fn mode(&self) -> Mode {
        let root = Name::root();
        if let Some(z) = self.forward_zones.iter().find(|z| z.name == root) {
            return Mode::Forward { zone: z.clone() };
        }
        if let Some(z) = self.stub_zones.iter().find(|z| z.name == root) {
            if self.dialect == Dialect::Stelline {
                return Mode::Forward { zone: z.clone() };
            }
            return Mode::Iterate { root: z.clone() };
        }
        if self.dialect == Dialect::Stelline {
            return Mode::Forward {
                zone: ZoneServers {
                    name: root,
                    addrs: Vec::new(),
                    hosts: Vec::new(),
                },
            };
        }
        Mode::StubOnly
    }

    /// The records of the `AUTOTRUST_FILE` `id`: its DNSKEY/DS lines, with
    /// unbound's `;;state=…` annotations dropped (they are comments).
    pub fn autotrust_records(&self, id: &str) -> Result<Vec<RawRecord>, ParseError> {
        let Some((_, body)) = self.autotrust_files.iter().find(|(i, _)| i == id) else {
            return Err(ParseError::new(0, format!("no AUTOTRUST_FILE {id}")));
        };
        let mut ctx = Context::new(None, 3600);
        let mut out = Vec::new();
        for line in body {
            if let Some(rr) = text::parse_rr_line(line, &mut ctx)
                .map_err(|e| ParseError::new(0, format!("AUTOTRUST_FILE {id}: {e}")))?
            {
                out.push(rr);
            }
        }
        Ok(out)
    }

    /// The value of the first option `key` (any clause).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.value.as_str())
    }

    /// A yes/no option (`yes`, `true`, `on`, `1` are true).
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.option(key).map(parse_bool)
    }
}

fn parse_bool(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(v)
}

/// Cuts a `#` comment that is not inside quotes.
fn cut_hash(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `YYYYMMDDhhmmss` (UTC) to POSIX seconds.
pub fn parse_date(s: &str) -> Option<u64> {
    u64::try_from(text::parse_date(s)?).ok()
}

/// Reads `ip[@port]`, default port 53.
pub fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = match s.split_once('@') {
        Some((ip, port)) => (ip, port.parse().ok()?),
        None => (s, 53),
    };
    Some(SocketAddr::new(ip.parse::<IpAddr>().ok()?, port))
}

const DECKARD_KEYS: &[&str] = &[
    "stub-addr",
    "stub-name",
    "forward-addr",
    "trust-anchor",
    "domain-insecure",
    "val-override-date",
    "val-override-timestamp",
    "query-minimization",
    "harden-glue",
    "do-not-query-localhost",
    "do-ip4",
    "do-ip6",
    "force-ipv6",
    "features",
    "feature-list",
];

/// Detects the dialect of a config section (§2.5).
fn detect_dialect(lines: &[(usize, &str)]) -> Dialect {
    let clause = |l: &str| {
        let t = l.trim_start();
        [
            "server:",
            "stub-zone:",
            "forward-zone:",
            "auth-zone:",
            "remote-control:",
        ]
        .iter()
        .any(|c| t.starts_with(c))
            || t.starts_with("AUTOTRUST_FILE")
            || t.starts_with("TEMPFILE_")
    };
    if !lines.iter().any(|(_, l)| clause(l)) {
        return Dialect::Deckard;
    }
    // Deckard keys at column 0, or Deckard-only keys inside `server:` (the
    // domain files keep them there; unbound has no such server options).
    let deckard_only = ["query-minimization", "do-ip4", "do-ip6", "features"];
    let mut clause = "";
    for (_, l) in lines {
        let t = l.trim_start();
        if let Some(c) = [
            "server:",
            "stub-zone:",
            "forward-zone:",
            "auth-zone:",
            "remote-control:",
        ]
        .iter()
        .find(|c| t.starts_with(**c))
        {
            clause = c;
            continue;
        }
        let column0 = !l.starts_with([' ', '\t']);
        if column0 && deckard_only.iter().any(|k| t.starts_with(k)) {
            return Dialect::Stelline;
        }
        if clause == "server:"
            && ["query-minimization", "features", "stub-addr"]
                .iter()
                .any(|k| t.starts_with(k))
        {
            return Dialect::Stelline;
        }
    }
    Dialect::Unbound
}

/// Parses the config section (`lines` up to, not including, CONFIG_END).
/// `dialect` overrides detection (the domain-fwd suite has two files whose
/// config is pure Deckard but which are adapted for forwarding).
pub fn parse_config(
    lines: &[(usize, &str)],
    dialect: Option<Dialect>,
) -> Result<ScenarioConfig, ParseError> {
    let dialect = dialect.unwrap_or_else(|| detect_dialect(lines));
    let mut cfg = ScenarioConfig {
        dialect,
        trust_anchors: Vec::new(),
        autotrust_files: Vec::new(),
        temp_files: Vec::new(),
        validation_time: ValidationTime::Clock,
        stub_zones: Vec::new(),
        forward_zones: Vec::new(),
        domain_insecure: Vec::new(),
        qname_minimisation: None,
        options: Vec::new(),
        ignored: Vec::new(),
    };
    let mut clause = String::new();
    let mut i = 0;
    while i < lines.len() {
        let (n, raw) = lines[i];
        i += 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        // Multi-line blocks of the unbound dialect.
        for (begin, end, autotrust) in [
            ("AUTOTRUST_FILE", "AUTOTRUST_END", true),
            ("TEMPFILE_CONTENTS", "TEMPFILE_END", false),
        ] {
            if let Some(id) = t.strip_prefix(begin) {
                let mut body = Vec::new();
                loop {
                    let Some(&(_, l)) = lines.get(i) else {
                        return Err(ParseError::new(n, format!("{begin} without {end}")));
                    };
                    i += 1;
                    if l.trim_start().starts_with(end) {
                        break;
                    }
                    body.push(l.to_string());
                }
                let entry = (id.trim().to_string(), body);
                if autotrust {
                    cfg.autotrust_files.push(entry);
                } else {
                    cfg.temp_files.push(entry);
                }
            }
        }
        if t.starts_with("AUTOTRUST_FILE") || t.starts_with("TEMPFILE_CONTENTS") {
            continue;
        }
        if t.starts_with("COMMANDLINE") || t.starts_with("TEMPFILE_NAME") {
            cfg.ignored.push(t.to_string());
            continue;
        }
        let body = cut_hash(t).trim();
        if body.is_empty() {
            continue;
        }
        let Some((key, value)) = body.split_once(':') else {
            if dialect == Dialect::Deckard {
                continue; // Deckard ignores lines without ':'
            }
            cfg.ignored.push(body.to_string());
            continue;
        };
        let key = key.trim();
        let value = unquote(value).to_string();
        let indented = raw.starts_with([' ', '\t']);
        if dialect != Dialect::Deckard
            && value.is_empty()
            && [
                "server",
                "stub-zone",
                "forward-zone",
                "auth-zone",
                "remote-control",
            ]
            .contains(&key)
        {
            clause = key.to_string();
            continue;
        }
        let this_clause =
            if dialect == Dialect::Deckard || (dialect == Dialect::Stelline && !indented) {
                String::new()
            } else {
                clause.clone()
            };
        cfg.options.push(ConfigOption {
            line: n,
            clause: this_clause.clone(),
            key: key.to_string(),
            value: value.clone(),
        });
        if dialect == Dialect::Deckard && !DECKARD_KEYS.contains(&key) {
            return Err(ParseError::new(
                n,
                format!("unknown Deckard config key {key:?}"),
            ));
        }
        apply_option(&mut cfg, &this_clause, key, &value, n)?;
    }
    Ok(cfg)
}

fn apply_option(
    cfg: &mut ScenarioConfig,
    clause: &str,
    key: &str,
    value: &str,
    n: usize,
) -> Result<(), ParseError> {
    let err = |r: String| ParseError::new(n, r);
    let name = |v: &str| -> Result<Name, ParseError> {
        Context::default()
            .parse_name(v)
            .map_err(|e| err(format!("bad name {v:?}: {}", e.reason)))
    };
    match (clause, key) {
        (_, "trust-anchor") => {
            let mut ctx = Context::new(None, 3600);
            ctx.line = n;
            let rr = text::parse_rr_line(value, &mut ctx)
                .map_err(|e| err(format!("bad trust-anchor: {}", e.reason)))?
                .ok_or_else(|| err("empty trust-anchor".into()))?;
            cfg.trust_anchors.push(rr);
        }
        (_, "val-override-date") => {
            cfg.validation_time = if value == "-1" {
                ValidationTime::IgnoreDates
            } else {
                ValidationTime::At(
                    parse_date(value)
                        .ok_or_else(|| err(format!("bad val-override-date {value:?}")))?,
                )
            };
        }
        (_, "val-override-timestamp") => {
            cfg.validation_time = ValidationTime::At(
                value
                    .parse()
                    .map_err(|_| err(format!("bad val-override-timestamp {value:?}")))?,
            );
        }
        (_, "domain-insecure") => cfg.domain_insecure.push(name(value)?),
        (_, "qname-minimisation" | "query-minimization" | "qname-minimization") => {
            cfg.qname_minimisation = Some(parse_bool(value));
        }
        ("stub-zone" | "forward-zone", "name") => {
            let z = ZoneServers {
                name: name(value)?,
                addrs: Vec::new(),
                hosts: Vec::new(),
            };
            if clause == "stub-zone" {
                cfg.stub_zones.push(z);
            } else {
                cfg.forward_zones.push(z);
            }
        }
        ("stub-zone", "stub-addr" | "stub-host")
        | ("forward-zone", "forward-addr" | "forward-host") => {
            let list = if clause == "stub-zone" {
                &mut cfg.stub_zones
            } else {
                &mut cfg.forward_zones
            };
            let z = list
                .last_mut()
                .ok_or_else(|| err(format!("{key} before name in {clause}")))?;
            if key.ends_with("-addr") {
                let a = parse_addr(value).ok_or_else(|| err(format!("bad address {value:?}")))?;
                z.addrs.push(a);
            } else {
                z.hosts.push(value.to_string());
            }
        }
        // Deckard flat keys, and the Stelline files which keep them.
        ("", "stub-addr") | ("server", "stub-addr") => {
            let a = parse_addr(value).ok_or_else(|| err(format!("bad address {value:?}")))?;
            match cfg.stub_zones.iter_mut().find(|z| z.name.is_root()) {
                Some(z) => z.addrs.push(a),
                None => cfg.stub_zones.push(ZoneServers {
                    name: Name::root(),
                    addrs: vec![a],
                    hosts: Vec::new(),
                }),
            }
        }
        ("", "forward-addr") => {
            let a = parse_addr(value).ok_or_else(|| err(format!("bad address {value:?}")))?;
            cfg.forward_zones.push(ZoneServers {
                name: Name::root(),
                addrs: vec![a],
                hosts: Vec::new(),
            });
        }
        _ => cfg.ignored.push(format!("{key}: {value}")),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Scenario

/// A mock-server block.
#[derive(Debug, Clone)]
pub struct Range {
    pub line: usize,
    pub first: i64,
    pub last: i64,
    /// ADDRESS lines, in file order (unbound uses the last one).
    pub addresses: Vec<SocketAddr>,
    pub entries: Vec<Entry>,
}

/// TIME_PASSES argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Elapse {
    Seconds(f64),
    /// `EVAL <macro expression>`.
    Eval(String),
}

/// What a step does (§3.1).
#[derive(Debug, Clone)]
pub enum StepKind {
    Nothing,
    Query(Entry),
    CheckAnswer(Entry),
    CheckOutQuery(Entry),
    Reply(Entry),
    Timeout,
    Error,
    TimePasses(Elapse),
    Traffic,
    Assign {
        var: String,
        expr: String,
    },
    CheckAutotrust {
        id: String,
        body: Vec<String>,
    },
    CheckTempfile {
        id: String,
        body: Vec<String>,
    },
    /// unbound-internal steps (INFRA_RTT, FLUSH_MESSAGE, EXPIRE_MESSAGE).
    Internal {
        name: String,
        args: String,
    },
}

impl StepKind {
    /// The step type as written.
    pub fn name(&self) -> &str {
        match self {
            Self::Nothing => "NOTHING",
            Self::Query(_) => "QUERY",
            Self::CheckAnswer(_) => "CHECK_ANSWER",
            Self::CheckOutQuery(_) => "CHECK_OUT_QUERY",
            Self::Reply(_) => "REPLY",
            Self::Timeout => "TIMEOUT",
            Self::Error => "ERROR",
            Self::TimePasses(_) => "TIME_PASSES",
            Self::Traffic => "TRAFFIC",
            Self::Assign { .. } => "ASSIGN",
            Self::CheckAutotrust { .. } => "CHECK_AUTOTRUST",
            Self::CheckTempfile { .. } => "CHECK_TEMPFILE",
            Self::Internal { name, .. } => name,
        }
    }
}

/// One STEP.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub number: i64,
    /// `ADDRESS` argument: the client (QUERY, CHECK_ANSWER) or the
    /// destination (CHECK_OUT_QUERY).
    pub address: Option<SocketAddr>,
    pub kind: StepKind,
}

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub title: String,
    pub config: ScenarioConfig,
    pub ranges: Vec<Range>,
    pub steps: Vec<Step>,
}

/// Parses a whole `.rpl` file, detecting its dialect.
pub fn parse_scenario(input: &str) -> Result<Scenario, ParseError> {
    parse_scenario_as(input, None)
}

/// Parses a whole `.rpl` file; `dialect` overrides detection.
pub fn parse_scenario_as(input: &str, dialect: Option<Dialect>) -> Result<Scenario, ParseError> {
    let all: Vec<(usize, &str)> = input.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let end = all
        .iter()
        .position(|(_, l)| l.trim_start().starts_with("CONFIG_END"))
        .ok_or_else(|| ParseError::new(0, "no CONFIG_END".into()))?;
    let config = parse_config(&all[..end], dialect)?;
    let dialect = config.dialect;
    let mut ctx = Context::new(None, 3600);
    let mut title = None;
    let mut ranges = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut range: Option<Range> = None;
    let mut ended = false;
    let mut it = all[end + 1..].iter().copied();
    while let Some((n, line)) = it.next() {
        let err = |r: String| ParseError::new(n, r);
        let t = line.trim();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        if ended {
            break;
        }
        if let Some(rest) = t.strip_prefix("SCENARIO_BEGIN") {
            if title.is_some() {
                return Err(err("second SCENARIO_BEGIN".into()));
            }
            title = Some(rest.trim().to_string());
            continue;
        }
        if title.is_none() {
            // Text between CONFIG_END and SCENARIO_BEGIN is ignored.
            continue;
        }
        let words = keywords(t);
        match words[0] {
            "SCENARIO_END" => ended = true,
            "RANGE_BEGIN" => {
                if range.is_some() {
                    return Err(err("RANGE_BEGIN inside a range".into()));
                }
                let num = |i: usize| words.get(i).and_then(|w| w.parse::<i64>().ok());
                let (Some(first), Some(last)) = (num(1), num(2)) else {
                    return Err(err(format!("bad RANGE_BEGIN {t:?}")));
                };
                // Deckard also accepts the address on this line:
                // `RANGE_BEGIN 1 100 192.0.2.1; comment`.
                let addresses = words
                    .get(3)
                    .map(|w| w.split(';').next().unwrap_or(w))
                    .filter(|w| !w.is_empty())
                    .and_then(parse_addr)
                    .into_iter()
                    .collect();
                range = Some(Range {
                    line: n,
                    first,
                    last,
                    addresses,
                    entries: Vec::new(),
                });
            }
            "ADDRESS" => {
                let r = range
                    .as_mut()
                    .ok_or_else(|| err("ADDRESS outside a range".into()))?;
                let a = words
                    .get(1)
                    .and_then(|w| parse_addr(w))
                    .ok_or_else(|| err(format!("bad ADDRESS {t:?}")))?;
                r.addresses.push(a);
            }
            "RANGE_END" => {
                // A stray RANGE_END (unbound's autotrust_probefail.rpl has
                // one) is tolerated, as testbound does.
                if let Some(r) = range.take() {
                    ranges.push(r);
                }
            }
            "ENTRY_BEGIN" => {
                let r = range
                    .as_mut()
                    .ok_or_else(|| err("ENTRY_BEGIN outside a range or step".into()))?;
                r.entries.push(read_entry(n, &mut it, &mut ctx, dialect)?);
            }
            "STEP" => {
                if range.is_some() {
                    return Err(err("STEP inside a range".into()));
                }
                let step = read_step(n, t, &words, &mut it, &mut ctx, dialect)?;
                if let Some(prev) = steps.last()
                    && step.number <= prev.number
                {
                    return Err(err(format!(
                        "time goes backwards: STEP {} after {}",
                        step.number, prev.number
                    )));
                }
                steps.push(step);
            }
            w if w.starts_with('$') => {
                ctx.line = n;
                text::parse_rr_line(t, &mut ctx).map_err(|e| err(e.reason))?;
            }
            other => return Err(err(format!("unexpected {other:?} at scenario level"))),
        }
    }
    let title = title.ok_or_else(|| ParseError::new(end + 1, "no SCENARIO_BEGIN".into()))?;
    if !ended {
        return Err(ParseError::new(all.len(), "no SCENARIO_END".into()));
    }
    if range.is_some() {
        return Err(ParseError::new(
            all.len(),
            "RANGE_BEGIN without RANGE_END".into(),
        ));
    }
    Ok(Scenario {
        title,
        config,
        ranges,
        steps,
    })
}

fn read_step<'a>(
    n: usize,
    t: &str,
    words: &[&str],
    it: &mut impl Iterator<Item = (usize, &'a str)>,
    ctx: &mut Context,
    dialect: Dialect,
) -> Result<Step, ParseError> {
    let err = |r: String| ParseError::new(n, r);
    let number = words
        .get(1)
        .and_then(|w| w.parse::<i64>().ok())
        .ok_or_else(|| err(format!("bad STEP {t:?}")))?;
    let kind_word = *words
        .get(2)
        .ok_or_else(|| err("STEP without a type".into()))?;
    let mut address = None;
    let mut elapse = None;
    let mut k = 3;
    while k < words.len() {
        match words[k] {
            "ADDRESS" => {
                address = Some(
                    words
                        .get(k + 1)
                        .and_then(|w| parse_addr(w))
                        .ok_or_else(|| err(format!("bad ADDRESS in {t:?}")))?,
                );
                k += 2;
            }
            "ELAPSE" => {
                let v = words
                    .get(k + 1)
                    .ok_or_else(|| err("ELAPSE without value".into()))?;
                elapse = Some(Elapse::Seconds(
                    v.parse().map_err(|_| err(format!("bad ELAPSE {v:?}")))?,
                ));
                k += 2;
            }
            "EVAL" => {
                // The expression is the rest of the line (it may contain blanks).
                let at = t.find("EVAL").unwrap_or(0) + 4;
                elapse = Some(Elapse::Eval(
                    t[at..].split(';').next().unwrap_or("").trim().to_string(),
                ));
                k = words.len();
            }
            "KEY" => k += 2, // Stelline TSIG key name: ignored
            _ => k += 1,
        }
    }
    let rest = |from: usize| words.get(from..).map(|w| w.join(" ")).unwrap_or_default();
    let kind = match kind_word {
        "NOTHING" => StepKind::Nothing,
        "QUERY" => StepKind::Query(step_entry(n, number, it, ctx, dialect)?),
        "CHECK_ANSWER" => StepKind::CheckAnswer(step_entry(n, number, it, ctx, dialect)?),
        "CHECK_OUT_QUERY" => StepKind::CheckOutQuery(step_entry(n, number, it, ctx, dialect)?),
        "REPLY" => StepKind::Reply(step_entry(n, number, it, ctx, dialect)?),
        "TIMEOUT" => StepKind::Timeout,
        "ERROR" => StepKind::Error,
        "TRAFFIC" => StepKind::Traffic,
        "TIME_PASSES" => StepKind::TimePasses(
            elapse.ok_or_else(|| err("TIME_PASSES without ELAPSE or EVAL".into()))?,
        ),
        "ASSIGN" => {
            let at = t.find("ASSIGN").unwrap_or(0) + 6;
            let (var, expr) = t[at..]
                .split_once('=')
                .ok_or_else(|| err(format!("bad ASSIGN {t:?}")))?;
            StepKind::Assign {
                var: var.trim().to_string(),
                expr: expr.trim().to_string(),
            }
        }
        "CHECK_AUTOTRUST" => StepKind::CheckAutotrust {
            id: rest(3),
            body: file_block(n, it)?,
        },
        "CHECK_TEMPFILE" => StepKind::CheckTempfile {
            id: rest(3),
            body: file_block(n, it)?,
        },
        "INFRA_RTT" | "FLUSH_MESSAGE" | "EXPIRE_MESSAGE" => StepKind::Internal {
            name: kind_word.to_string(),
            args: rest(3),
        },
        other => return Err(err(format!("unknown STEP type {other:?}"))),
    };
    Ok(Step {
        line: n,
        number,
        address,
        kind,
    })
}

/// Reads the ENTRY that follows a STEP line.
fn step_entry<'a>(
    n: usize,
    number: i64,
    it: &mut impl Iterator<Item = (usize, &'a str)>,
    ctx: &mut Context,
    dialect: Dialect,
) -> Result<Entry, ParseError> {
    while let Some((m, line)) = it.next() {
        let l = line.trim();
        if l.is_empty() || l.starts_with(';') {
            continue;
        }
        if l.starts_with("ENTRY_BEGIN") {
            return read_entry(m, it, ctx, dialect);
        }
        return Err(ParseError::new(
            m,
            format!("expected ENTRY_BEGIN after STEP {number}, got {l:?}"),
        ));
    }
    Err(ParseError::new(
        n,
        "file ends before the step's entry".into(),
    ))
}

/// Reads a FILE_BEGIN … FILE_END block (lines kept verbatim).
fn file_block<'a>(
    n: usize,
    it: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<Vec<String>, ParseError> {
    let mut begun = false;
    let mut body = Vec::new();
    for (_, line) in it.by_ref() {
        let l = line.trim_start();
        if !begun {
            if l.starts_with("FILE_BEGIN") {
                begun = true;
            }
            continue;
        }
        if l.starts_with("FILE_END") {
            return Ok(body);
        }
        body.push(line.to_string());
    }
    Err(ParseError::new(n, "FILE_BEGIN without FILE_END".into()))
}
