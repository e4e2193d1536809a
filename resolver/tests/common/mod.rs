//! Test-only readers for the external vectors in `../shared/vectors`: logical
//! lines, one RR through the project's zone-file reader
//! (`danebound_trust_anchors::text`, which builds wire RDATA and decodes it
//! with hickory's `RData::read`, the path network data takes), and the
//! testpkts ENTRY format of unbound's unit-test files.

#![allow(dead_code, unreachable_pub)]

/// The skip rules of `danebound-tests` (one file, shared by path: this
/// crate cannot depend on that one).
#[path = "../../../tests/src/skip.rs"]
pub mod skip;

use std::path::PathBuf;
use std::str::FromStr;

use danebound_resolver::wire::{Name, Record};

/// The shared vectors folder: `$DANEBOUND_SHARED/vectors` or
/// `<workspace>/../shared/vectors`. `None` after a skip when absent.
pub fn vectors_dir() -> Option<PathBuf> {
    skip::shared_path(&test_name(), "vectors")
}

/// The running test's name, for skip messages.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a resolver test")
        .to_string()
}

/// Read a vector file; `None` after a skip when absent (see [`skip`]).
pub fn read_vector(rel: &str) -> Option<String> {
    let path = skip::shared_path(&test_name(), &format!("vectors/{rel}"))?;
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => panic!("{}: {e}", path.display()),
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

// ---------------------------------------------------------------------------
// Resource records
// ---------------------------------------------------------------------------

/// Parse one presentation-format RR (`owner [ttl] [class] type rdata`)
/// with the project's zone-file reader. Names must be absolute. A missing
/// TTL is 3600.
pub fn parse_rr(line: &str) -> Result<Record, String> {
    let records = danebound_trust_anchors::text::parse_records(line, None, 3600)
        .map_err(|e| format!("{line}: {e}"))?;
    match <[Record; 1]>::try_from(records) {
        Ok([record]) => Ok(record),
        Err(records) => Err(format!("{line}: {} records, expected one", records.len())),
    }
}

/// Seconds since the epoch of a `YYYYMMDDHHmmSS` UTC date.
pub fn timestamp(s: &str) -> Result<u64, String> {
    danebound_trust_anchors::text::parse_date(s)
        .and_then(|t| u64::try_from(t).ok())
        .ok_or_else(|| format!("bad date {s}"))
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
