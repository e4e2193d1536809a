//! Presentation-format (zone-file) record reader.
//!
//! Reads RFC 1035 §5 master-file text: parentheses spanning lines, `;`
//! comments, quoted strings with `\DDD` and `\X` escapes, `$ORIGIN`, `$TTL`,
//! `@`, relative names, omitted owner, TTL and class, TTLs with units
//! (`1h30m`), and RFC 3597 generic syntax (`TYPEnnn`, `CLASSnnn`,
//! `\# len hex`).
//!
//! Every RDATA is first turned into wire bytes by this module and then decoded
//! by hickory's `RData::read`, so all supported types come out as hickory
//! types through one code path. Names keep their case.
//!
//! Records whose content hickory refuses (test data deliberately carries, for
//! example, DNSKEYs with protocol 2) are still available as a [`RawRecord`]:
//! use [`parse_raw_records`] or [`parse_rr_line`], and convert with
//! [`RawRecord::to_record`] where possible.
//!
//! Types read from presentation form: A, AAAA, NS, CNAME, DNAME, PTR, MX,
//! SOA, TXT, SPF, HINFO, SRV, NAPTR, DS, CDS, DNSKEY, CDNSKEY, KEY, RRSIG,
//! SIG, NSEC, NSEC3, NSEC3PARAM, TLSA, SSHFP, CAA; any other type in `\#`
//! form. Algorithm mnemonics (`RSASHA1`, …) are accepted where numbers are.
//!
//! What this module does not do: `$INCLUDE` and `$GENERATE` (reported as
//! errors), and other types in their own presentation form.

mod lexer;
mod rdata;
#[cfg(test)]
mod tests;

use std::fmt;

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, Restrict};

use lexer::Token;

pub use rdata::{algorithm_from_mnemonic, parse_date, type_from_text};

// ---------------------------------------------------------------------------
// Errors

/// A parse error, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    /// 1-based line number in the input (0 when unknown).
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

impl TextError {
    pub(crate) fn new(line: usize, reason: impl Into<String>) -> Self {
        Self {
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for TextError {}

// ---------------------------------------------------------------------------
// Records

/// A record as read from text: owner, type, class, TTL and RDATA wire bytes.
///
/// Any record the reader accepts can be represented, including ones whose
/// content hickory refuses to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Owner name, case kept.
    pub name: Name,
    /// Record type.
    pub rtype: RecordType,
    /// Record class.
    pub class: DNSClass,
    /// Time to live.
    pub ttl: u32,
    /// RDATA in wire form, uncompressed.
    pub rdata: Vec<u8>,
}

impl RawRecord {
    /// Decodes the RDATA with hickory into a typed [`Record`].
    ///
    /// Fails where hickory refuses the content (for example a DNSKEY whose
    /// protocol field is not 3) or does not consume the whole RDATA.
    pub fn to_record(&self) -> Result<Record, String> {
        let rdata = decode_rdata(self.rtype, &self.rdata)?;
        let mut record = Record::from_rdata(self.name.clone(), self.ttl, rdata);
        record.dns_class = self.class;
        Ok(record)
    }

    /// Appends the record in wire form (owner uncompressed) to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&name_to_wire(&self.name));
        out.extend_from_slice(&u16::from(self.rtype).to_be_bytes());
        out.extend_from_slice(&u16::from(self.class).to_be_bytes());
        out.extend_from_slice(&self.ttl.to_be_bytes());
        let len = u16::try_from(self.rdata.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.rdata[..usize::from(len)]);
    }

    /// Builds a raw record from a hickory record (RDATA emitted uncompressed).
    pub fn from_record(record: &Record) -> Result<Self, String> {
        use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
        let mut rdata = Vec::new();
        {
            let mut encoder = BinEncoder::new(&mut rdata);
            encoder.set_name_encoding(NameEncoding::Uncompressed);
            record
                .data
                .emit(&mut encoder)
                .map_err(|e| format!("cannot encode {}: {e}", record.record_type()))?;
        }
        Ok(Self {
            name: record.name.clone(),
            rtype: record.record_type(),
            class: record.dns_class,
            ttl: record.ttl,
            rdata,
        })
    }
}

/// Decodes RDATA wire bytes of type `rtype` with hickory.
pub fn decode_rdata(rtype: RecordType, wire: &[u8]) -> Result<RData, String> {
    let len = u16::try_from(wire.len()).map_err(|_| "RDATA longer than 65535 bytes".to_string())?;
    let mut decoder = BinDecoder::new(wire);
    let rdata = RData::read(&mut decoder, rtype, Restrict::new(len))
        .map_err(|e| format!("hickory refuses {rtype} RDATA: {e}"))?;
    if decoder.index() != wire.len() {
        return Err(format!(
            "hickory left {} of {} {rtype} RDATA bytes unread",
            wire.len() - decoder.index(),
            wire.len()
        ));
    }
    Ok(rdata)
}

/// The wire form of `name`, uncompressed, case kept.
pub fn name_to_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// Decodes an uncompressed wire name.
pub(crate) fn name_from_wire(wire: &[u8], line: usize) -> Result<Name, TextError> {
    let mut decoder = BinDecoder::new(wire);
    let mut name =
        Name::read(&mut decoder).map_err(|e| TextError::new(line, format!("bad name: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

// ---------------------------------------------------------------------------
// Parser state

/// State carried from one line to the next: `$ORIGIN`, `$TTL`, the previous
/// owner and class.
#[derive(Debug, Clone)]
pub struct Context {
    origin: Option<Vec<u8>>,
    /// TTL used when a record gives none (`$TTL`).
    pub default_ttl: u32,
    last_owner: Option<Vec<u8>>,
    last_class: DNSClass,
    /// Line number of the next line fed to [`parse_rr_line`]; incremented by
    /// it. Callers that feed lines out of order may set it.
    pub line: usize,
}

impl Context {
    /// A fresh context. Without an origin, relative names are taken as
    /// absolute (testbound's rule).
    pub fn new(origin: Option<&Name>, default_ttl: u32) -> Self {
        Self {
            origin: origin.map(name_to_wire),
            default_ttl,
            last_owner: None,
            last_class: DNSClass::IN,
            line: 1,
        }
    }

    /// The current `$ORIGIN`.
    pub fn origin(&self) -> Option<Name> {
        self.origin
            .as_deref()
            .and_then(|w| name_from_wire(w, 0).ok())
    }

    /// Sets the origin (as `$ORIGIN` does).
    pub fn set_origin(&mut self, origin: Option<&Name>) {
        self.origin = origin.map(name_to_wire);
    }

    /// Reads a domain name in presentation form relative to the origin.
    pub fn parse_name(&self, text: &str) -> Result<Name, TextError> {
        let wire = self.name_wire(text, self.line)?;
        name_from_wire(&wire, self.line)
    }

    pub(crate) fn name_wire(&self, text: &str, line: usize) -> Result<Vec<u8>, TextError> {
        name_text_to_wire(text, self.origin.as_deref(), line)
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new(None, 3600)
    }
}

// ---------------------------------------------------------------------------
// Public entry points

/// Parses zone-file text into hickory records.
///
/// Fails on the first record that cannot be read or that hickory refuses;
/// use [`parse_raw_records`] to keep those.
pub fn parse_records(
    input: &str,
    origin: Option<&Name>,
    default_ttl: u32,
) -> Result<Vec<Record>, TextError> {
    parse_raw_records(input, origin, default_ttl)?
        .into_iter()
        .zip(line_numbers(input))
        .map(|(raw, line)| raw.to_record().map_err(|e| TextError::new(line, e)))
        .collect()
}

// Approximate line numbers for the conversion errors of `parse_records`.
fn line_numbers(input: &str) -> impl Iterator<Item = usize> {
    lexer::scan(input, 1)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            !e.tokens
                .first()
                .is_some_and(|t| !t.quoted && t.text.starts_with('$'))
        })
        .map(|e| e.line)
}

/// Parses zone-file text into raw records (no hickory decoding).
pub fn parse_raw_records(
    input: &str,
    origin: Option<&Name>,
    default_ttl: u32,
) -> Result<Vec<RawRecord>, TextError> {
    let mut ctx = Context::new(origin, default_ttl);
    let mut out = Vec::new();
    for entry in lexer::scan(input, 1)? {
        if let Some(rr) = ctx.entry(&entry)? {
            out.push(rr);
        }
    }
    Ok(out)
}

/// Parses one line (parentheses must close on it) in `ctx`.
///
/// Returns `Ok(None)` for blank and comment lines and for `$ORIGIN`/`$TTL`
/// directives, which update `ctx`.
pub fn parse_rr_line(line: &str, ctx: &mut Context) -> Result<Option<RawRecord>, TextError> {
    let number = ctx.line;
    ctx.line += 1;
    let entries = lexer::scan(line, number)?;
    match entries.as_slice() {
        [] => Ok(None),
        [entry] => ctx.entry(entry),
        _ => Err(TextError::new(number, "more than one record on the line")),
    }
}

/// Parses a question line, `name [class] type` (class and type in either
/// order), as found in the QUESTION section of replay files.
pub fn parse_question_line(
    line: &str,
    ctx: &Context,
) -> Result<(Name, RecordType, DNSClass), TextError> {
    let n = ctx.line;
    let entries = lexer::scan(line, n)?;
    let [entry] = entries.as_slice() else {
        return Err(TextError::new(n, "expected one question"));
    };
    let toks = &entry.tokens;
    if toks.is_empty() {
        return Err(TextError::new(n, "empty question"));
    }
    let name = name_from_wire(&ctx.name_wire(&toks[0].text, n)?, n)?;
    let mut class = DNSClass::IN;
    let mut rtype = None;
    for t in &toks[1..] {
        if let Some(c) = class_from_text(&t.text) {
            class = c;
        } else if rtype.is_none() {
            rtype = Some(
                type_from_text(&t.text)
                    .ok_or_else(|| TextError::new(n, format!("unknown type {}", t.text)))?,
            );
        } else {
            return Err(TextError::new(
                n,
                format!("unexpected token {:?} in question", t.text),
            ));
        }
    }
    let rtype = rtype.ok_or_else(|| TextError::new(n, "question has no type"))?;
    Ok((name, rtype, class))
}

// ---------------------------------------------------------------------------
// Entries

impl Context {
    fn entry(&mut self, entry: &lexer::Entry) -> Result<Option<RawRecord>, TextError> {
        let line = entry.line;
        let toks = &entry.tokens;
        let Some(first) = toks.first() else {
            return Ok(None);
        };
        if !entry.leading_blank && !first.quoted && first.text.starts_with('$') {
            return self.directive(line, toks).map(|()| None);
        }
        let mut i = 0;
        let owner = if entry.leading_blank {
            self.last_owner
                .clone()
                .ok_or_else(|| TextError::new(line, "no owner name and no previous owner"))?
        } else {
            i = 1;
            self.name_wire(&first.text, line)?
        };
        let mut ttl = None;
        let mut class = None;
        // [ttl] [class] or [class] [ttl]
        for _ in 0..2 {
            let Some(t) = toks.get(i) else { break };
            if t.quoted {
                break;
            }
            if ttl.is_none() && t.text.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(&t.text).map_err(|e| TextError::new(line, e))?);
                i += 1;
            } else if class.is_none() {
                match class_from_text(&t.text) {
                    Some(c) => {
                        class = Some(c);
                        i += 1;
                    }
                    None => break,
                }
            }
        }
        let type_tok = toks
            .get(i)
            .ok_or_else(|| TextError::new(line, "record has no type"))?;
        let rtype = type_from_text(&type_tok.text)
            .ok_or_else(|| TextError::new(line, format!("unknown type {:?}", type_tok.text)))?;
        i += 1;
        let class = class.unwrap_or(self.last_class);
        let rdata = rdata::to_wire(rtype, &toks[i..], self, line)?;
        if rdata.len() > usize::from(u16::MAX) {
            return Err(TextError::new(line, "RDATA longer than 65535 bytes"));
        }
        let name = name_from_wire(&owner, line)?;
        self.last_owner = Some(owner);
        self.last_class = class;
        Ok(Some(RawRecord {
            name,
            rtype,
            class,
            ttl: ttl.unwrap_or(self.default_ttl),
            rdata,
        }))
    }

    fn directive(&mut self, line: usize, toks: &[Token]) -> Result<(), TextError> {
        let arg = toks
            .get(1)
            .ok_or_else(|| TextError::new(line, format!("{} needs an argument", toks[0].text)))?;
        match toks[0].text.to_ascii_uppercase().as_str() {
            "$ORIGIN" => {
                let wire = name_text_to_wire(&arg.text, self.origin.as_deref(), line)?;
                self.origin = Some(wire);
                Ok(())
            }
            "$TTL" => {
                self.default_ttl = parse_ttl(&arg.text).map_err(|e| TextError::new(line, e))?;
                Ok(())
            }
            other => Err(TextError::new(
                line,
                format!("unsupported directive {other}"),
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// Names, TTLs, classes

/// Converts a presentation name to wire form. A relative name is completed
/// with `origin`, or taken as absolute when there is none.
pub(crate) fn name_text_to_wire(
    text: &str,
    origin: Option<&[u8]>,
    line: usize,
) -> Result<Vec<u8>, TextError> {
    let err = |r: &str| TextError::new(line, format!("bad name {text:?}: {r}"));
    if text == "@" {
        return Ok(origin.map(<[u8]>::to_vec).unwrap_or_else(|| vec![0]));
    }
    if text == "." {
        return Ok(vec![0]);
    }
    if text.is_empty() {
        return Err(err("empty"));
    }
    let mut out = Vec::new();
    let mut label: Vec<u8> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut absolute = false;
    let push_label = |label: &mut Vec<u8>, out: &mut Vec<u8>| -> Result<(), TextError> {
        if label.is_empty() {
            return Err(err("empty label"));
        }
        if label.len() > 63 {
            return Err(err("label longer than 63 bytes"));
        }
        out.push(label.len() as u8);
        out.append(label);
        Ok(())
    };
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                push_label(&mut label, &mut out)?;
                if i + 1 == bytes.len() {
                    absolute = true;
                }
                i += 1;
            }
            b'\\' => {
                let (b, used) = unescape(&bytes[i + 1..]).ok_or_else(|| err("bad escape"))?;
                label.push(b);
                i += 1 + used;
            }
            b => {
                label.push(b);
                i += 1;
            }
        }
    }
    if !absolute {
        push_label(&mut label, &mut out)?;
        match origin {
            Some(o) => out.extend_from_slice(o),
            None => out.push(0),
        }
    } else {
        out.push(0);
    }
    if out.len() > 255 {
        return Err(err("name longer than 255 bytes"));
    }
    Ok(out)
}

/// Decodes the escape after a backslash: `\DDD` or `\X`. Returns the byte and
/// how many input bytes were used.
pub(crate) fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        Some((u8::try_from(v).ok()?, 3))
    } else {
        Some((first, 1))
    }
}

/// Reads a TTL: seconds, or units `w d h m s` (any case), e.g. `1h30m`.
pub fn parse_ttl(text: &str) -> Result<u32, String> {
    if let Ok(v) = text.parse::<u32>() {
        return Ok(v);
    }
    let err = || format!("bad TTL {text:?}");
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = num.unwrap_or(0) * 10 + u64::from(d);
            if n > u64::from(u32::MAX) {
                return Err(err());
            }
            num = Some(n);
        } else {
            let mult = match c.to_ascii_lowercase() {
                'w' => 604_800,
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(err()),
            };
            total += num.take().ok_or_else(err)? * mult;
        }
        if total > u64::from(u32::MAX) {
            return Err(err());
        }
    }
    if num.is_some() && total > 0 {
        return Err(err()); // trailing digits without unit after a unit
    }
    u32::try_from(total + num.unwrap_or(0)).map_err(|_| err())
}

/// Reads a class mnemonic or `CLASSnnn`.
pub fn class_from_text(text: &str) -> Option<DNSClass> {
    let up = text.to_ascii_uppercase();
    match up.as_str() {
        "IN" => Some(DNSClass::IN),
        "CH" => Some(DNSClass::CH),
        "HS" => Some(DNSClass::HS),
        "NONE" => Some(DNSClass::NONE),
        "ANY" => Some(DNSClass::ANY),
        "CS" => Some(DNSClass::Unknown(2)),
        _ => up
            .strip_prefix("CLASS")
            .and_then(|n| n.parse::<u16>().ok())
            .map(DNSClass::from),
    }
}
