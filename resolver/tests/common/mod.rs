//! Test-only readers for the external vectors in `../shared/vectors`: a
//! small presentation-format RR parser (the types the vectors use) and the
//! testpkts ENTRY format of unbound's unit-test files.
//!
//! DNSKEY, RRSIG, DS and NSEC are built as wire RDATA and decoded with
//! hickory's `RData::read` (the path network data takes); the other types go
//! through hickory's own text parser. This is deliberately small: the full
//! zone-file reader lives in `danebound-trust-anchors`.

#![allow(dead_code, unreachable_pub)]

pub mod legacy;

use std::path::PathBuf;
use std::str::FromStr;

use danebound_resolver::wire::{BinDecoder, DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::Restrict;

/// The shared vectors folder: `$DANEBOUND_SHARED/vectors` or
/// `<workspace>/../shared/vectors`. `None` (and a message) when absent.
pub fn vectors_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("DANEBOUND_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("vectors");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: shared vectors not found at {} (set DANEBOUND_SHARED)",
            dir.display()
        );
        None
    }
}

/// Read a vector file; `None` (and a message) when absent.
pub fn read_vector(rel: &str) -> Option<String> {
    let path = vectors_dir()?.join(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            eprintln!("SKIP: {}: {e}", path.display());
            None
        }
    }
}

// ---------------------------------------------------------------------------
// Lines and tokens
// ---------------------------------------------------------------------------

/// Strip a `;` comment (outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Join lines into logical records: comments removed, parenthesised
/// continuations joined, parentheses dropped, blank lines skipped.
pub fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut depth = 0i32;
    for raw in text.lines() {
        let line = strip_comment(raw);
        for c in line.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
        }
        pending.push(' ');
        pending.push_str(&line.replace(['(', ')'], " "));
        if depth <= 0 {
            depth = 0;
            if !pending.trim().is_empty() {
                out.push(pending.trim().to_string());
            }
            pending.clear();
        }
    }
    if !pending.trim().is_empty() {
        out.push(pending.trim().to_string());
    }
    out
}

/// Split on whitespace, keeping `"quoted strings"` as one token (quotes
/// kept).
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

// ---------------------------------------------------------------------------
// Resource records
// ---------------------------------------------------------------------------

/// Parse one presentation-format RR (`owner [ttl] [class] type rdata`).
/// Names must be absolute. A missing TTL is 3600.
pub fn parse_rr(line: &str) -> Result<Record, String> {
    let toks = tokens(&strip_comment(line).replace(['(', ')'], " "));
    let mut it = toks.iter().map(String::as_str);
    let owner = it.next().ok_or("empty line")?;
    let name = Name::from_str(owner).map_err(|e| format!("owner {owner}: {e}"))?;
    let mut ttl = 3600u32;
    let mut class = DNSClass::IN;
    let rtype = loop {
        let t = it.next().ok_or_else(|| format!("no type in {line}"))?;
        if t.bytes().all(|b| b.is_ascii_digit()) {
            ttl = t.parse().map_err(|e| format!("ttl {t}: {e}"))?;
        } else if t.eq_ignore_ascii_case("IN") {
            class = DNSClass::IN;
        } else if t.eq_ignore_ascii_case("CH") {
            class = DNSClass::CH;
        } else {
            break RecordType::from_str(&t.to_ascii_uppercase())
                .map_err(|e| format!("type {t}: {e}"))?;
        }
    };
    let rest: Vec<&str> = it.collect();
    let rdata = parse_rdata(rtype, &rest).map_err(|e| format!("{e} in: {line}"))?;
    let mut record = Record::from_rdata(name, ttl, rdata);
    record.dns_class = class;
    Ok(record)
}

fn parse_rdata(rtype: RecordType, f: &[&str]) -> Result<RData, String> {
    let wire = match rtype {
        RecordType::DNSKEY => {
            need(f, 4)?;
            let mut w = num::<u16>(f[0])?.to_be_bytes().to_vec();
            w.push(num::<u8>(f[1])?);
            w.push(algorithm(f[2])?);
            w.extend(base64(&f[3..])?);
            w
        }
        RecordType::RRSIG => {
            need(f, 9)?;
            let covered = RecordType::from_str(&f[0].to_ascii_uppercase())
                .map_err(|e| format!("type covered {}: {e}", f[0]))?;
            let mut w = u16::from(covered).to_be_bytes().to_vec();
            w.push(algorithm(f[1])?);
            w.push(num::<u8>(f[2])?);
            w.extend(num::<u32>(f[3])?.to_be_bytes());
            w.extend(rrsig_time(f[4])?.to_be_bytes());
            w.extend(rrsig_time(f[5])?.to_be_bytes());
            w.extend(num::<u16>(f[6])?.to_be_bytes());
            name_wire(&mut w, f[7])?;
            w.extend(base64(&f[8..])?);
            w
        }
        RecordType::DS => {
            need(f, 4)?;
            let mut w = num::<u16>(f[0])?.to_be_bytes().to_vec();
            w.push(algorithm(f[1])?);
            w.push(num::<u8>(f[2])?);
            let hex = f[3..].concat();
            w.extend(
                data_encoding::HEXLOWER_PERMISSIVE
                    .decode(hex.as_bytes())
                    .map_err(|e| format!("DS hex: {e}"))?,
            );
            w
        }
        RecordType::NSEC => {
            need(f, 1)?;
            let mut w = Vec::new();
            name_wire(&mut w, f[0])?;
            type_bitmaps(&mut w, &f[1..])?;
            w
        }
        RecordType::NSEC3 => {
            // RFC 5155 §3.3: alg flags iterations salt next-hashed types...
            need(f, 5)?;
            let mut w = vec![num::<u8>(f[0])?, num::<u8>(f[1])?];
            w.extend(num::<u16>(f[2])?.to_be_bytes());
            let salt = if f[3] == "-" {
                Vec::new()
            } else {
                data_encoding::HEXLOWER_PERMISSIVE
                    .decode(f[3].as_bytes())
                    .map_err(|e| format!("NSEC3 salt: {e}"))?
            };
            w.push(salt.len() as u8);
            w.extend(salt);
            let next = data_encoding::BASE32HEX_NOPAD
                .decode(f[4].to_ascii_uppercase().as_bytes())
                .map_err(|e| format!("NSEC3 next: {e}"))?;
            w.push(next.len() as u8);
            w.extend(next);
            type_bitmaps(&mut w, &f[5..])?;
            w
        }
        other => {
            return RData::try_from_str(other, &f.join(" ")).map_err(|e| e.to_string());
        }
    };
    let len = u16::try_from(wire.len()).map_err(|_| "RDATA too long")?;
    let mut decoder = BinDecoder::new(&wire);
    RData::read(&mut decoder, rtype, Restrict::new(len)).map_err(|e| e.to_string())
}

/// RFC 4034 §4.1.2 type bit maps from type mnemonics.
fn type_bitmaps(w: &mut Vec<u8>, names: &[&str]) -> Result<(), String> {
    let mut types: Vec<u16> = names
        .iter()
        .map(|t| {
            RecordType::from_str(&t.to_ascii_uppercase())
                .map(u16::from)
                .map_err(|e| format!("NSEC type {t}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    types.sort_unstable();
    types.dedup();
    // RFC 4034 §4.1.2 type bit maps.
    let mut window_start = 0;
    while window_start < types.len() {
        let window = types[window_start] >> 8;
        let in_window: Vec<u16> = types[window_start..]
            .iter()
            .copied()
            .take_while(|t| t >> 8 == window)
            .collect();
        let max = in_window
            .iter()
            .map(|t| (t & 0xff) as usize)
            .max()
            .unwrap_or(0);
        let mut bitmap = vec![0u8; max / 8 + 1];
        for t in &in_window {
            let low = (t & 0xff) as usize;
            bitmap[low / 8] |= 0x80 >> (low % 8);
        }
        w.push(window as u8);
        w.push(bitmap.len() as u8);
        w.extend(bitmap);
        window_start += in_window.len();
    }
    Ok(())
}

fn need(f: &[&str], n: usize) -> Result<(), String> {
    if f.len() < n {
        Err(format!("expected at least {n} fields, got {}", f.len()))
    } else {
        Ok(())
    }
}

fn num<T: FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("bad number {s}"))
}

fn base64(parts: &[&str]) -> Result<Vec<u8>, String> {
    let joined = parts.concat();
    data_encoding::BASE64
        .decode(joined.as_bytes())
        .map_err(|e| format!("base64: {e}"))
}

fn name_wire(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let name = Name::from_str(s).map_err(|e| format!("name {s}: {e}"))?;
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    Ok(())
}

/// DNSSEC algorithm by number or mnemonic.
pub fn algorithm(s: &str) -> Result<u8, String> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    Ok(match s.to_ascii_uppercase().as_str() {
        "RSAMD5" => 1,
        "DH" => 2,
        "DSA" => 3,
        "RSASHA1" => 5,
        "DSA-NSEC3-SHA1" => 6,
        "RSASHA1-NSEC3-SHA1" => 7,
        "RSASHA256" => 8,
        "RSASHA512" => 10,
        "ECC-GOST" => 12,
        "ECDSAP256SHA256" => 13,
        "ECDSAP384SHA384" => 14,
        "ED25519" => 15,
        "ED448" => 16,
        "PRIVATEDNS" => 253,
        "PRIVATEOID" => 254,
        _ => return Err(format!("unknown algorithm {s}")),
    })
}

/// An RRSIG time: `YYYYMMDDHHmmSS` (RFC 4034 §3.2) or seconds.
pub fn rrsig_time(s: &str) -> Result<u32, String> {
    if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs = timestamp(s)?;
        return Ok(secs as u32);
    }
    num(s)
}

/// Seconds since the epoch of a `YYYYMMDDHHmmSS` UTC date.
pub fn timestamp(s: &str) -> Result<u64, String> {
    let p = |r: std::ops::Range<usize>| -> Result<i64, String> { num(&s[r]) };
    let (y, m, d) = (p(0..4)?, p(4..6)?, p(6..8)?);
    let (hh, mm, ss) = (p(8..10)?, p(10..12)?, p(12..14)?);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86400 + hh * 3600 + mm * 60 + ss) as u64)
}

// ---------------------------------------------------------------------------
// testpkts entries
// ---------------------------------------------------------------------------

/// One ENTRY of a testpkts file.
#[derive(Debug, Default)]
pub struct Entry {
    /// The question name.
    pub qname: Option<Name>,
    /// ANSWER records.
    pub answer: Vec<Record>,
    /// AUTHORITY records.
    pub authority: Vec<Record>,
    /// ADDITIONAL records.
    pub additional: Vec<Record>,
}

impl Entry {
    /// All records of all sections.
    pub fn records(&self) -> Vec<Record> {
        self.answer
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
            .cloned()
            .collect()
    }
}

/// Parse the ENTRY_BEGIN … ENTRY_END blocks of a testpkts file.
pub fn parse_entries(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut section = "";
    for line in logical_lines(text) {
        let first = line.split_whitespace().next().unwrap_or("");
        match first {
            "ENTRY_BEGIN" => {
                current = Some(Entry::default());
                section = "";
            }
            "ENTRY_END" => entries.extend(current.take()),
            "SECTION" => {
                section = match line.split_whitespace().nth(1) {
                    Some("QUESTION") => "QUESTION",
                    Some("ANSWER") => "ANSWER",
                    Some("AUTHORITY") => "AUTHORITY",
                    Some("ADDITIONAL") => "ADDITIONAL",
                    _ => "",
                };
            }
            "MATCH" | "ADJUST" | "REPLY" | "RANGE_BEGIN" | "RANGE_END" => {}
            _ => {
                let Some(entry) = current.as_mut() else {
                    continue;
                };
                match section {
                    "QUESTION" => {
                        let owner = first;
                        entry.qname =
                            Some(Name::from_str(owner).map_err(|e| format!("qname {owner}: {e}"))?);
                    }
                    "ANSWER" => entry.answer.push(parse_rr(&line)?),
                    "AUTHORITY" => entry.authority.push(parse_rr(&line)?),
                    "ADDITIONAL" => entry.additional.push(parse_rr(&line)?),
                    _ => {}
                }
            }
        }
    }
    Ok(entries)
}

/// The verification date unbound's unitverify.c uses for `file`, from the
/// vectors MANIFEST (`YYYYMMDDHHmmSS`), in seconds.
pub fn unbound_date(file: &str) -> Option<u64> {
    let manifest = read_vector("unbound-unit/MANIFEST")?;
    manifest
        .lines()
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?, cols.nth(1)?))
        })
        .find(|(f, _)| *f == file)
        .and_then(|(_, date)| timestamp(date.split_whitespace().next()?).ok())
}

#[test]
fn timestamp_of_known_dates() {
    assert_eq!(timestamp("19700101000000").unwrap(), 0);
    assert_eq!(timestamp("20150729220000").unwrap(), 1_438_207_200);
    assert_eq!(timestamp("21060207062816").unwrap(), 1 << 32);
}
