//! MATCH evaluation (§4.3, §4.5) and the two comparison profiles.
//!
//! The same code selects range entries for outgoing queries, checks
//! CHECK_OUT_QUERY patterns and compares CHECK_ANSWER answers. Each check
//! returns the first difference as text.

use std::collections::BTreeMap;

use danebound_resolver::wire::{Name, RecordType};
use danebound_trust_anchors::text::{RawRecord, decode_rdata};

use super::entry::{Entry, Match};
use super::packet::{Packet, Section, rcode_name};
use super::parse::Dialect;

/// How CHECK_ANSWER compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// danebound's pass criterion: rcode; QR TC AD CD; question;
    /// ANSWER as a multiset of records with TTLs ignored (a duplicate the
    /// resolver should have removed is a difference); an expected SERVFAIL
    /// in a validator scenario only from validation (a DNSSEC EDE, see
    /// [`servfail_from_validation`]); for `MATCH all`, the
    /// SOA/NSEC/NSEC3 (and their RRSIGs) of the expected AUTHORITY must be
    /// present; `authority`/`additional` keywords compare those sections as
    /// multisets. The ID, glue, authority NS records, RR order and the EDNS
    /// payload size are ignored.
    Semantic,
    /// As testbound compares (§4.5): ID normalised, every section in order,
    /// TTLs zeroed unless `ttl`, names lower-cased, EDNS presence, payload
    /// and options compared.
    Strict,
}

impl Profile {
    /// The profile reported beside this one.
    pub fn other(self) -> Self {
        match self {
            Self::Semantic => Self::Strict,
            Self::Strict => Self::Semantic,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Semantic => "semantic",
            Self::Strict => "strict",
        }
    }
}

/// Transport of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Context for one match.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext {
    pub dialect: Dialect,
    pub profile: Profile,
    pub transport: Transport,
}

const EDE: u16 = 15;
const COOKIE: u16 = 10;

/// Checks `got` against the entry's MATCH rules and first packet.
pub fn check_entry(entry: &Entry, got: &Packet, cx: MatchContext) -> Result<(), String> {
    check(
        &entry.matches,
        &entry.first().packet,
        entry.first().ednsdata.as_deref(),
        got,
        cx,
    )
}

/// Checks `got` against `m` and the expected packet.
pub fn check(
    m: &Match,
    exp: &Packet,
    ednsdata: Option<&[u8]>,
    got: &Packet,
    cx: MatchContext,
) -> Result<(), String> {
    let mut got = got.clone();
    if let Some(want) = m.ede {
        let code = ede_code(&got);
        let e = got.edns.as_mut().ok_or("no EDNS, so no EDE option")?;
        match (want, code) {
            (_, None) => return Err("no EDE option".into()),
            (Some(w), Some(c)) if w != c => return Err(format!("EDE {c}, expected {w}")),
            _ => {}
        }
        e.remove_option(EDE);
    }
    if m.client_cookie || m.server_cookie {
        let want = if m.client_cookie { 8 } else { 24 };
        let e = got.edns.as_mut().ok_or("no EDNS, so no COOKIE option")?;
        match e.option(COOKIE) {
            Some(c) if c.len() == want => e.remove_option(COOKIE),
            _ => return Err(format!("no {want}-byte COOKIE option")),
        }
    }
    if m.opcode && got.opcode != exp.opcode {
        return Err(format!("opcode {} != expected {}", got.opcode, exp.opcode));
    }
    let gq = got.first_question();
    let eq = exp.first_question();
    if m.qtype
        && let Some(e) = eq
        && gq.map(|q| q.qtype) != Some(e.qtype)
    {
        return Err(format!(
            "qtype {:?} != expected {}",
            gq.map(|q| q.qtype),
            e.qtype
        ));
    }
    if (m.qname || m.qcase)
        && let Some(e) = eq
    {
        let ok = gq.is_some_and(|q| {
            if m.qcase {
                q.name.eq_case(&e.name)
            } else {
                q.name == e.name
            }
        });
        if !ok {
            return Err(format!(
                "qname {:?} != expected {}",
                gq.map(|q| q.name.to_string()),
                e.name
            ));
        }
    }
    if m.rcode && got.rcode != exp.rcode {
        return Err(format!(
            "rcode {} != expected {}",
            rcode_name(got.rcode),
            rcode_name(exp.rcode)
        ));
    }
    if m.question {
        compare_question(exp, &got)?;
    }
    if m.subdomain
        && let Some(e) = eq
        && !gq.is_some_and(|q| e.name.zone_of(&q.name))
    {
        return Err(format!(
            "qname {:?} not at or below {}",
            gq.map(|q| q.name.to_string()),
            e.name
        ));
    }
    if let Some(serial) = m.serial {
        let s = got
            .authority
            .iter()
            .find(|r| r.rtype == RecordType::SOA)
            .and_then(soa_serial);
        if s != Some(serial) {
            return Err(format!("SOA serial {s:?} != expected {serial}"));
        }
    }
    let got_edns = got.edns.as_ref();
    if m.do_bit && !got_edns.is_some_and(|e| e.dnssec_ok) {
        return Err("DO bit not set".into());
    }
    if m.co_bit && !got_edns.is_some_and(|e| e.compact_ok) {
        return Err("CO bit not set".into());
    }
    if m.noedns && got_edns.is_some() {
        return Err("has EDNS, expected none".into());
    }
    if m.ednsdata {
        let have = got_edns.map(|e| e.options.as_slice()).unwrap_or_default();
        let want = ednsdata.unwrap_or_default();
        if have != want {
            return Err(format!(
                "EDNS data {} != expected {}",
                data_encoding::HEXLOWER.encode(have),
                data_encoding::HEXLOWER.encode(want)
            ));
        }
    }
    if m.edns {
        match (got_edns, exp.edns.as_ref()) {
            (None, None) => {}
            (Some(g), Some(e)) if g.version == e.version => {}
            (g, e) => return Err(format!("EDNS {g:?} != expected {e:?}")),
        }
    }
    if m.udp && cx.transport != Transport::Udp {
        return Err("not UDP".into());
    }
    if m.tcp && cx.transport != Transport::Tcp {
        return Err("not TCP".into());
    }
    for (want, bit, name) in [
        (m.ad_bit, got.flags.ad, "AD"),
        (m.cd_bit, got.flags.cd, "CD"),
        (m.rd_bit, got.flags.rd, "RD"),
    ] {
        if want && !bit {
            return Err(format!("{name} bit not set"));
        }
    }
    if m.flags {
        compare_flags(exp, &got, cx.profile == Profile::Strict)?;
    }
    if m.answertypes {
        let types = |p: &Packet| {
            let mut v: Vec<u16> = p.answer.iter().map(|r| u16::from(r.rtype)).collect();
            v.sort_unstable();
            v
        };
        if types(exp) != types(&got) {
            return Err("ANSWER types differ".into());
        }
    }
    let ordered = cx.profile == Profile::Strict && cx.dialect == Dialect::Unbound;
    if m.all || m.all_noedns {
        match cx.profile {
            Profile::Strict => strict_all(exp, &got, m, cx.dialect)?,
            Profile::Semantic => semantic_all(exp, &got)?,
        }
    }
    for (want, section) in [
        (m.answer, Section::Answer),
        (m.authority, Section::Authority),
        (m.additional, Section::Additional),
    ] {
        if want {
            compare_section(exp, &got, section, m.ttl, ordered)?;
        }
    }
    Ok(())
}

fn soa_serial(r: &RawRecord) -> Option<u32> {
    // Skip two names, then the serial.
    let mut i = 0;
    for _ in 0..2 {
        loop {
            let len = usize::from(*r.rdata.get(i)?);
            i += 1 + len;
            if len == 0 {
                break;
            }
        }
    }
    let b = r.rdata.get(i..i + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn compare_question(exp: &Packet, got: &Packet) -> Result<(), String> {
    let norm = |p: &Packet| {
        p.question
            .iter()
            .map(|q| (q.name.to_lowercase().to_string(), q.qtype, q.qclass))
            .collect::<Vec<_>>()
    };
    if norm(exp) != norm(got) {
        return Err(format!(
            "question {:?} != expected {:?}",
            norm(got),
            norm(exp)
        ));
    }
    Ok(())
}

/// Header flags. `strict`: QR AA TC RD RA AD CD. Semantic: QR TC AD CD;
/// AA, RD and RA describe the answering program's role and differ between
/// the source suites (domain's forwarding client copies the upstream's AA
/// and sets no RA), so they are not part of the pass criterion.
fn compare_flags(exp: &Packet, got: &Packet, strict: bool) -> Result<(), String> {
    let mask = |p: &Packet| {
        let mut f = p.flags;
        f.z = false;
        if !strict {
            f.aa = false;
            f.rd = false;
            f.ra = false;
        }
        f
    };
    if mask(exp) != mask(got) {
        return Err(format!(
            "flags [{}] != expected [{}]",
            mask(got).describe(),
            mask(exp).describe()
        ));
    }
    Ok(())
}

/// A record in comparable form: owner lower-cased, RDATA with embedded
/// names lower-cased (through hickory's canonical encoder where it decodes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordKey {
    pub owner: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

impl RecordKey {
    pub fn new(r: &RawRecord, keep_ttl: bool) -> Self {
        Self {
            owner: r.name.to_lowercase().to_string(),
            rtype: u16::from(r.rtype),
            class: u16::from(r.class),
            ttl: if keep_ttl { r.ttl } else { 0 },
            rdata: canonical_rdata(r),
        }
    }
}

impl std::fmt::Display for RecordKey {
    /// Presentation form, cut after 100 characters of RDATA (signatures and
    /// keys make very long lines otherwise).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rtype = RecordType::from(self.rtype);
        let mut rdata = match decode_rdata(rtype, &self.rdata) {
            Ok(rd) => rd.to_string(),
            Err(_) => format!(
                "\\# {} {}",
                self.rdata.len(),
                data_encoding::HEXLOWER.encode(&self.rdata)
            ),
        };
        if let Some((cut, _)) = rdata.char_indices().nth(100) {
            rdata.truncate(cut);
            rdata.push('…');
        }
        write!(f, "{} {} {rtype} {rdata}", self.owner, self.ttl)
    }
}

/// RDATA with the embedded domain names of the RFC 4034 §6.2 types
/// lower-cased (including the NSEC next name, which RFC 6840 §5.1 keeps
/// as is for signing; for comparison case never matters).
fn canonical_rdata(r: &RawRecord) -> Vec<u8> {
    enum F {
        Skip(usize),
        Str,
        Name,
    }
    use F::{Name as N, Skip, Str};
    let layout: &[F] = match r.rtype {
        RecordType::NS
        | RecordType::CNAME
        | RecordType::PTR
        | RecordType::DNAME
        | RecordType::NSEC => &[N],
        RecordType::MX => &[Skip(2), N],
        RecordType::SOA => &[N, N],
        RecordType::SRV => &[Skip(6), N],
        RecordType::RRSIG => &[Skip(18), N],
        RecordType::NAPTR => &[Skip(4), Str, Str, Str, N],
        _ => &[],
    };
    let mut out = r.rdata.clone();
    let mut i = 0;
    for f in layout {
        match f {
            Skip(n) => i += n,
            Str => i += 1 + usize::from(out.get(i).copied().unwrap_or(0)),
            N => loop {
                let Some(&len) = out.get(i) else { return out };
                if len == 0 || len >= 64 {
                    i += 1;
                    break;
                }
                let end = (i + 1 + usize::from(len)).min(out.len());
                out[i + 1..end].make_ascii_lowercase();
                i = end;
            },
        }
    }
    out
}

fn keys(v: &[RawRecord], keep_ttl: bool) -> Vec<RecordKey> {
    v.iter().map(|r| RecordKey::new(r, keep_ttl)).collect()
}

fn compare_section(
    exp: &Packet,
    got: &Packet,
    s: Section,
    ttl: bool,
    ordered: bool,
) -> Result<(), String> {
    let e = keys(exp.section(s), ttl);
    let g = keys(got.section(s), ttl);
    if ordered {
        if e != g {
            return Err(first_list_difference(s, &e, &g));
        }
        return Ok(());
    }
    multiset_difference(s, &e, &g)
}

fn first_list_difference(s: Section, e: &[RecordKey], g: &[RecordKey]) -> String {
    for i in 0..e.len().max(g.len()) {
        match (e.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                return format!("{} record {}: got `{b}`, expected `{a}`", s.name(), i + 1);
            }
            (Some(a), None) => return format!("{}: missing `{a}`", s.name()),
            (None, Some(b)) => return format!("{}: unexpected `{b}`", s.name()),
            (None, None) => {}
        }
    }
    format!("{} differs", s.name())
}

fn counts(v: &[RecordKey]) -> BTreeMap<&RecordKey, usize> {
    let mut m = BTreeMap::new();
    for k in v {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

fn multiset_difference(s: Section, e: &[RecordKey], g: &[RecordKey]) -> Result<(), String> {
    let (ce, cg) = (counts(e), counts(g));
    for (k, n) in &ce {
        if cg.get(k).copied().unwrap_or(0) < *n {
            return Err(format!("{}: missing `{k}`", s.name()));
        }
    }
    for (k, n) in &cg {
        if ce.get(k).copied().unwrap_or(0) < *n {
            return Err(format!("{}: unexpected `{k}`", s.name()));
        }
    }
    Ok(())
}

/// `MATCH all` under the semantic profile.
fn semantic_all(exp: &Packet, got: &Packet) -> Result<(), String> {
    if got.rcode != exp.rcode {
        return Err(format!(
            "rcode {} != expected {}",
            rcode_name(got.rcode),
            rcode_name(exp.rcode)
        ));
    }
    compare_flags(exp, got, false)?;
    compare_question(exp, got)?;
    // ANSWER as a multiset (order ignored, duplicates counted), TTLs
    // ignored: a resolver that passes on a duplicate record the scenario
    // expects removed (RFC 2181 §5) differs.
    multiset_difference(
        Section::Answer,
        &keys(&exp.answer, false),
        &keys(&got.answer, false),
    )?;
    // Negative-answer proof: SOA, NSEC, NSEC3 and their RRSIGs.
    let proof = |r: &RawRecord| {
        matches!(
            r.rtype,
            RecordType::SOA | RecordType::NSEC | RecordType::NSEC3
        ) || (r.rtype == RecordType::RRSIG
            && r.rdata.len() >= 2
            && matches!(
                RecordType::from(u16::from_be_bytes([r.rdata[0], r.rdata[1]])),
                RecordType::SOA | RecordType::NSEC | RecordType::NSEC3
            ))
    };
    let have = keys(&got.authority, false);
    for r in exp.authority.iter().filter(|r| proof(r)) {
        let k = RecordKey::new(r, false);
        if !have.contains(&k) {
            return Err(format!("AUTHORITY: missing `{k}`"));
        }
    }
    Ok(())
}

/// `MATCH all` as testbound compares (§4.5); Deckard/Stelline `all` is
/// `opcode qtype qname flags rcode answer authority additional` with
/// multisets.
fn strict_all(exp: &Packet, got: &Packet, m: &Match, dialect: Dialect) -> Result<(), String> {
    if got.opcode != exp.opcode {
        return Err(format!("opcode {} != expected {}", got.opcode, exp.opcode));
    }
    if got.rcode != exp.rcode {
        return Err(format!(
            "rcode {} != expected {}",
            rcode_name(got.rcode),
            rcode_name(exp.rcode)
        ));
    }
    compare_flags(exp, got, true)?;
    compare_question(exp, got)?;
    let ordered = dialect == Dialect::Unbound;
    for s in Section::ALL {
        compare_section(exp, got, s, m.ttl, ordered)?;
    }
    if dialect == Dialect::Unbound && !m.all_noedns {
        match (&exp.edns, &got.edns) {
            (None, None) => {}
            (Some(e), Some(g)) => {
                if e.payload != g.payload {
                    return Err(format!(
                        "EDNS payload {} != expected {}",
                        g.payload, e.payload
                    ));
                }
                if e.options != g.options {
                    return Err("EDNS options differ".into());
                }
                if m.ttl && (e.dnssec_ok != g.dnssec_ok || e.version != g.version) {
                    return Err("EDNS flags/version differ".into());
                }
            }
            (e, g) => {
                return Err(format!(
                    "EDNS {} but expected {}",
                    if g.is_some() { "present" } else { "absent" },
                    if e.is_some() { "present" } else { "absent" }
                ));
            }
        }
    }
    Ok(())
}

/// The DNSSEC Extended DNS Errors (RFC 8914 §4.7–4.13): 6 DNSSEC Bogus,
/// 7 Signature Expired, 8 Signature Not Yet Valid, 9 DNSKEY Missing,
/// 10 RRSIGs Missing, 11 No Zone Key Bit Set, 12 NSEC Missing.
pub const DNSSEC_EDE: std::ops::RangeInclusive<u16> = 6..=12;

/// The Extended DNS Errors that say the resolver got no usable answer
/// (RFC 8914 §4.23 No Reachable Authority, §4.24 Network Error).
pub const UNREACHABLE_EDE: [u16; 2] = [22, 23];

/// The EDE INFO-CODE of `p`, if it carries one.
pub fn ede_code(p: &Packet) -> Option<u16> {
    p.edns
        .as_ref()?
        .option(EDE)
        .and_then(|d| d.get(..2))
        .map(|d| u16::from_be_bytes([d[0], d[1]]))
}

/// Semantic profile, validator scenarios: an expected SERVFAIL passes only
/// when the resolver's SERVFAIL came from validation, i.e. carries a DNSSEC
/// EDE, or from another cause the resolver names while every one of the
/// resolution's queries got its reply (a CNAME loop, an RFC 8509 sentinel:
/// EDE 0 with its text). A SERVFAIL for want of an answer — a query the
/// scenario never answered, so that the resolver gave up (no EDE, or 22/23,
/// or any EDE once a query went unanswered) — proves nothing. `ede` is the
/// answer's EDE, or the one the resolver reports for a client that sent no
/// EDNS; `unanswered` is how many of the resolution's queries got no reply
/// from the scenario.
pub fn servfail_from_validation(
    m: &Match,
    exp: &Packet,
    got: &Packet,
    ede: Option<u16>,
    unanswered: usize,
) -> Result<(), String> {
    let checks_rcode = m.rcode || m.all || m.all_noedns;
    if !checks_rcode || exp.rcode != 2 || got.rcode != 2 {
        return Ok(());
    }
    match ede {
        Some(code) if DNSSEC_EDE.contains(&code) => Ok(()),
        Some(code) if unanswered == 0 && !UNREACHABLE_EDE.contains(&code) => Ok(()),
        code => Err(format!(
            "SERVFAIL not from validation nor a named cause (EDE {}, not a DNSSEC EDE 6-12){}",
            code.map_or("none".to_string(), |c| c.to_string()),
            if unanswered > 0 {
                format!("; {unanswered} of its upstream queries got no reply from the scenario")
            } else {
                String::new()
            }
        )),
    }
}

/// Whether `name` is `zone` or below it (case-insensitive).
pub fn is_subdomain(name: &Name, zone: &Name) -> bool {
    zone.zone_of(name)
}
