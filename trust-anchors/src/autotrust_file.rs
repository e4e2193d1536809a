//! unbound's `auto-trust-anchor-file` format, read and written exactly
//! (rfc5011.md §5), so that an unbound user's `root.key` carries on and the
//! file we write is one unbound accepts.
//!
//! (fields separated by tabs)
//!
//! ```text
//! ; autotrust trust anchor file
//! ;;id: . 1
//! ;;last_queried: 1795852800 ;;Sat Nov 28 08:00:00 2026
//! ;;last_success: 1795852800 ;;Sat Nov 28 08:00:00 2026
//! ;;next_probe_time: 1795934880 ;;Sun Nov 29 06:48:00 2026
//! ;;query_failed: 0
//! ;;query_interval: 86400
//! ;;retry_time: 17280
//! .  172800  IN  DNSKEY  257 3 8 AwEA… ;{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=1502896424 ;;Wed Aug 16 15:13:44 2017
//! ```
//!
//! The reader is strict: a damaged or truncated file is one error naming
//! the file and the line, never a file that trusts more. In particular a
//! key without `;;state=` after an `;;id:` header is an error (unbound
//! once defaulted such a key to Valid, bypassing the hold-down). A file
//! without the header is a plain RR list (written by an operator or
//! unbound-anchor): its DNSKEYs are Valid and its DS records are initial
//! anchors.

use std::fmt;

use hickory_proto::rr::{DNSClass, RecordType};

use crate::rfc5011::{DsAnchor, Key, KeyState, Policy, Timers, TrackedKey, TrustPoint};
use crate::text::{self, Context};
use crate::time_text::ctime;

/// Longest line accepted (an RSA-4096 key with its comments fits many times).
pub const MAX_LINE: usize = 128 * 1024;
/// Most keys and DS records in one file.
pub const MAX_ENTRIES: usize = 64;

/// A file that cannot be read as a trust point: the file, the line, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The file, as given.
    pub file: String,
    /// 1-based line; 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
    /// The file holds no key, DS or header at all (a new or emptied file).
    pub empty: bool,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

impl std::error::Error for FileError {}

struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn err(&self, line: usize, reason: impl Into<String>) -> FileError {
        FileError {
            file: self.file.to_string(),
            line,
            reason: reason.into(),
            empty: false,
        }
    }
}

/// Split a line into its code and its comment (from the first `;` outside
/// quotes).
fn split_comment(line: &str) -> (&str, &str) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return (&line[..i], &line[i..]),
            _ => {}
        }
    }
    (line, "")
}

/// Lines with `( … )` joined: (first line number, code, comments).
fn logical_lines<'a>(
    content: &str,
    r: &Reader<'a>,
) -> Result<Vec<(usize, String, String)>, FileError> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String, i32)> = None;
    for (i, raw) in content.lines().enumerate() {
        let n = i + 1;
        if raw.len() > MAX_LINE {
            return Err(r.err(n, format!("line longer than {MAX_LINE} bytes")));
        }
        let (code, comment) = split_comment(raw);
        let depth: i32 = code
            .chars()
            .map(|c| match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            })
            .sum();
        match open.take() {
            Some((start, mut c, mut cm, d)) => {
                c.push(' ');
                c.push_str(code);
                cm.push(' ');
                cm.push_str(comment);
                let d = d + depth;
                if d <= 0 {
                    out.push((start, c, cm));
                } else {
                    open = Some((start, c, cm, d));
                }
            }
            None if depth > 0 => open = Some((n, code.to_string(), comment.to_string(), depth)),
            None => out.push((n, code.to_string(), comment.to_string())),
        }
    }
    if let Some((start, ..)) = open {
        return Err(r.err(start, "unclosed parenthesis: the file is truncated"));
    }
    Ok(out)
}

/// The number after `tag` in `text` (`;;count=3`), if the tag is there.
fn number_after(text: &str, tag: &str, r: &Reader<'_>, n: usize) -> Result<Option<u64>, FileError> {
    let Some(pos) = text.find(tag) else {
        return Ok(None);
    };
    let digits: String = text[pos + tag.len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse::<u64>()
        .map(Some)
        .map_err(|_| r.err(n, format!("{tag} is not followed by a number")))
}

/// Read a trust point from a file's `content`. `file` names it in errors;
/// `policy` gives pending keys their hold-down.
pub fn parse(content: &str, file: &str, policy: &Policy) -> Result<TrustPoint, FileError> {
    let r = Reader { file };
    let mut tp: Option<TrustPoint> = None;
    let mut header = false;
    let mut revoked = false;
    let mut timers = Timers::default();
    let mut entries = 0;
    let mut ctx = Context::new(None, 3600);
    for (n, code, comment) in logical_lines(content, &r)? {
        let code_t = code.trim();
        if code_t.is_empty() {
            let c = comment.trim();
            if let Some(rest) = c.strip_prefix(";;id:") {
                if header {
                    return Err(r.err(n, "a second ;;id: line (one trust point per file)"));
                }
                let mut it = rest.split_whitespace();
                let owner = it
                    .next()
                    .ok_or_else(|| r.err(n, ";;id: without an owner"))?;
                let class = it.next().unwrap_or("1");
                if class != "1" {
                    return Err(r.err(n, format!("class {class} (only IN, 1, is supported)")));
                }
                if let Some(t) = &tp {
                    if !same_owner(t.owner(), owner) {
                        return Err(r.err(n, format!("owner {owner} differs from {}", t.owner())));
                    }
                } else {
                    tp = Some(TrustPoint::new(owner).map_err(|e| r.err(n, e))?);
                }
                header = true;
            } else if c.starts_with(";;REVOKED") {
                if header {
                    return Err(r.err(n, ";;REVOKED must come before ;;id:"));
                }
                revoked = true;
            } else if let Some((field, value)) = header_field(c) {
                if !header {
                    return Err(r.err(n, format!(";;{field}: before the ;;id: header")));
                }
                let v = number_after(value, "", &r, n)?.unwrap_or(0);
                match field {
                    "last_queried" => timers.last_queried = v,
                    "last_success" => timers.last_success = v,
                    "next_probe_time" => timers.next_probe_time = v,
                    "query_failed" => timers.query_failed = u32::try_from(v).unwrap_or(u32::MAX),
                    "query_interval" => timers.query_interval = v,
                    _ => timers.retry_time = v,
                }
            }
            continue;
        }
        ctx.line = n;
        let rr = text::parse_rr_line(&code, &mut ctx).map_err(|e| r.err(n, e.reason))?;
        let Some(rr) = rr else {
            continue; // $ORIGIN, $TTL
        };
        if rr.rtype != RecordType::DNSKEY && rr.rtype != RecordType::DS {
            continue; // RRSIGs pasted from dig, etc. (unbound skips them too)
        }
        if rr.class != DNSClass::IN {
            return Err(r.err(n, format!("class {} (only IN is supported)", rr.class)));
        }
        entries += 1;
        if entries > MAX_ENTRIES {
            return Err(r.err(n, format!("more than {MAX_ENTRIES} keys")));
        }
        let owner = rr.name.to_ascii();
        let tp = match &mut tp {
            Some(t) => {
                if !same_owner(t.owner(), &owner) {
                    return Err(r.err(
                        n,
                        format!(
                            "owner {owner} differs from {} (one trust point per file)",
                            t.owner()
                        ),
                    ));
                }
                t
            }
            None => tp.insert(TrustPoint::new(&owner).map_err(|e| r.err(n, e))?),
        };
        if rr.rtype == RecordType::DS {
            if rr.rdata.len() < 5 {
                return Err(r.err(n, "DS record too short"));
            }
            tp.add_configured_ds(DsAnchor {
                key_tag: u16::from_be_bytes([rr.rdata[0], rr.rdata[1]]),
                algorithm: rr.rdata[2],
                digest_type: rr.rdata[3],
                digest: rr.rdata[4..].to_vec(),
            });
            continue;
        }
        let key = Key::from_rdata(&rr.rdata).map_err(|e| r.err(n, e))?;
        // The zone-file reader forgives bad base64 padding (real zone files
        // have it); a state file is written by sldns or by us, always in
        // canonical base64, so anything else there is damage.
        let canonical = data_encoding::BASE64.encode(&key.public_key);
        let written: String = code.split_whitespace().collect();
        let written = written.trim_end_matches(')');
        if !written.ends_with(&canonical) && !written.ends_with(canonical.trim_end_matches('=')) {
            return Err(r.err(n, "the key's base64 is not canonical (damaged key)"));
        }
        // sldns writes the key tag beside the key: when it is there it must
        // be the tag of the key as read, so that a damaged key is caught.
        if let Some(id) = number_after(&comment, ";{id =", &r, n)?
            && id != u64::from(key.key_tag())
        {
            return Err(r.err(
                n,
                format!(
                    "the key's tag is {}, its comment says {id} (damaged key)",
                    key.key_tag()
                ),
            ));
        }
        // The size beside it too: a zero byte added at the end of the key
        // keeps its tag (RFC 4034 Appendix B sums the octets) but not its size.
        if let Some(size) = number_after(&comment, "size =", &r, n)?
            && usize::try_from(size).ok() != Some(key.size_bits())
        {
            return Err(r.err(
                n,
                format!(
                    "the key's size is {}b, its comment says {size}b (damaged key)",
                    key.size_bits()
                ),
            ));
        }
        let state = number_after(&comment, ";;state=", &r, n)?;
        let Some(state) = state else {
            if header {
                // unbound's 2026 lesson: a stateless key after a header is
                // damage, not an operator's Valid key.
                return Err(r.err(
                    n,
                    "key without ;;state= after the ;;id: header (damaged or truncated file)",
                ));
            }
            tp.add_configured_key(key, rr.ttl, 0);
            continue;
        };
        let state = u8::try_from(state)
            .ok()
            .and_then(KeyState::from_number)
            .ok_or_else(|| r.err(n, format!(";;state={state} is not a state (0–5)")))?;
        // unbound writes the label after the number; when it is there it
        // must agree, so that one damaged digit cannot promote a key.
        if let Some(label) = comment
            .split(";;state=")
            .nth(1)
            .and_then(|r| r.split_once('['))
            .and_then(|(between, rest)| {
                between
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_digit())
                    .then_some(rest)
            })
            .and_then(|rest| rest.split_once(']'))
            .map(|(label, _)| label.trim())
            && !label.eq_ignore_ascii_case(state.unbound_label().trim())
        {
            return Err(r.err(
                n,
                format!(
                    ";;state={} does not match its label [{label}]",
                    state.number()
                ),
            ));
        }
        if !comment.contains(";;lastchange=") {
            return Err(r.err(n, "key without ;;lastchange= (damaged or truncated file)"));
        }
        let last_change = number_after(&comment, ";;lastchange=", &r, n)?.unwrap_or(0);
        let count = number_after(&comment, ";;count=", &r, n)?.unwrap_or(0);
        // Only SEP keys take part in RFC 5011 here, as in unbound: neither
        // writes a state for another key, so one is damage (fourth
        // autotrust_file fuzz finding: such a key was also held as a
        // configured key).
        if !key.is_sep() {
            return Err(r.err(
                n,
                "a key without the SEP flag has no RFC 5011 state (damaged file)",
            ));
        }
        if state == KeyState::Revoked && !key.is_revoked() {
            return Err(r.err(n, "a REVOKED key without the REVOKE flag"));
        }
        if matches!(state, KeyState::Start) {
            continue; // never stored; nothing to remember
        }
        tp.restore_key(TrackedKey {
            key,
            state,
            count: u32::try_from(count).unwrap_or(u32::MAX),
            last_change,
            ttl: rr.ttl,
            holddown: policy.holddown_for(rr.ttl),
            validated_by: Vec::new(),
            absent_since: None,
        });
    }
    let Some(mut tp) = tp else {
        return Err(FileError {
            empty: !revoked,
            ..r.err(0, "no ;;id: header, DNSKEY or DS record")
        });
    };
    // What gives the trust point something to stand on is what `write`
    // writes back: keys in AddPend, Valid, Missing or Revoked, DS lines and
    // configured keys it kept. A file of only Start or Removed keys, or of
    // keys the trust point cannot use, is as empty as one without keys.
    let holds = tp
        .keys()
        .iter()
        .any(|k| !matches!(k.state, KeyState::Start | KeyState::Removed))
        || !tp.pending_ds().is_empty()
        || !tp.initial_keys().is_empty();
    if (entries == 0 || !holds) && !revoked {
        return Err(r.err(
            0,
            "a ;;id: header but no DNSKEY or DS record (damaged or truncated file)",
        ));
    }
    tp.restore_timers(timers, revoked);
    Ok(tp)
}

fn header_field(comment: &str) -> Option<(&'static str, &str)> {
    for field in [
        "last_queried",
        "last_success",
        "next_probe_time",
        "query_failed",
        "query_interval",
        "retry_time",
    ] {
        if let Some(rest) = comment
            .strip_prefix(";;")
            .and_then(|c| c.strip_prefix(field))
            .and_then(|c| c.strip_prefix(':'))
        {
            return Some((field, rest));
        }
    }
    None
}

fn same_owner(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let mut s = s.to_ascii_lowercase();
        if !s.ends_with('.') {
            s.push('.');
        }
        s
    };
    norm(a) == norm(b)
}

/// The file unbound would write for `tp` (`autr_write_contents`), dates in UTC.
///
/// A trust point that still waits on initial DS (or non-SEP) anchors is written as a
/// plain RR list instead (unbound drops DS lines after the first success
/// and writes no state for them).
pub fn write(tp: &TrustPoint) -> String {
    use fmt::Write as _;
    if (!tp.pending_ds().is_empty() || !tp.initial_keys().is_empty()) && !tp.is_revoked() {
        return seed(tp);
    }
    let mut s = String::from("; autotrust trust anchor file\n");
    if tp.is_revoked() {
        s.push_str(
            ";;REVOKED\n\
             ; The zone has all keys revoked, and is\n\
             ; considered as if it has no trust anchors.\n\
             ; the remainder of the file is the last probe.\n\
             ; to restart the trust anchor, overwrite this file.\n\
             ; with one containing valid DNSKEYs or DSes.\n",
        );
    }
    let t = &tp.timers;
    let _ = writeln!(s, ";;id: {} {}", tp.owner(), tp.class());
    let _ = writeln!(
        s,
        ";;last_queried: {} ;;{}",
        t.last_queried,
        ctime(t.last_queried)
    );
    let _ = writeln!(
        s,
        ";;last_success: {} ;;{}",
        t.last_success,
        ctime(t.last_success)
    );
    let _ = writeln!(
        s,
        ";;next_probe_time: {} ;;{}",
        t.next_probe_time,
        ctime(t.next_probe_time)
    );
    let _ = writeln!(s, ";;query_failed: {}", t.query_failed);
    let _ = writeln!(s, ";;query_interval: {}", t.query_interval);
    let _ = writeln!(s, ";;retry_time: {}", t.retry_time);
    for k in tp.keys() {
        if matches!(k.state, KeyState::Start | KeyState::Removed) {
            continue;
        }
        let _ = writeln!(
            s,
            "{} ;;state={} [{}] ;;count={} ;;lastchange={} ;;{}",
            dnskey_line(tp.owner(), k.ttl, &k.key),
            k.state.number(),
            k.state.unbound_label(),
            k.count,
            k.last_change,
            ctime(k.last_change)
        );
    }
    s
}

/// A DNSKEY as sldns prints it: tabs, base64, `;{id = N (ksk), size = Nb}`.
pub fn dnskey_line(owner: &str, ttl: u32, key: &Key) -> String {
    format!(
        "{owner}\t{ttl}\tIN\tDNSKEY\t{} {} {} {} ;{{id = {} ({}), size = {}b}}",
        key.flags,
        key.protocol,
        key.algorithm,
        data_encoding::BASE64.encode(&key.public_key),
        key.key_tag(),
        if key.is_sep() { "ksk" } else { "zsk" },
        key.size_bits()
    )
}

/// A plain RR list (no header, no state), as unbound-anchor writes one:
/// for a trust point that has only DS anchors so far. Its keys are Valid
/// and its DS records initial anchors when read back.
fn seed(tp: &TrustPoint) -> String {
    use fmt::Write as _;
    let mut s =
        String::from("; autotrust trust anchor file: initial anchors, no RFC 5011 state yet\n");
    for k in tp.anchor_keys() {
        let _ = writeln!(s, "{}", dnskey_line(tp.owner(), 172_800, k));
    }
    for ds in tp.pending_ds() {
        let _ = writeln!(
            s,
            "{}\t172800\tIN\tDS\t{} {} {} {}",
            tp.owner(),
            ds.key_tag,
            ds.algorithm,
            ds.digest_type,
            data_encoding::HEXUPPER.encode(&ds.digest)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfc5011::{DAY, Observation};
    use crate::root::ROOT_KEYS;

    fn root_key(i: usize) -> Key {
        let k = ROOT_KEYS[i];
        Key::new(k.flags, 3, k.algorithm, k.public_key())
    }

    use crate::shared_file as shared;

    /// A root trust point after some history: 20326 Valid, 38696 pending,
    /// an old key revoked.
    pub(super) fn sample() -> TrustPoint {
        let mut tp = TrustPoint::new(".").unwrap();
        tp.add_configured_key(root_key(0), 172_800, 1_502_896_424);
        let obs = Observation {
            rrset: vec![root_key(0), root_key(1)],
            unsupported: vec![],
            verified_by: vec![root_key(0)],
            revoked_self_signed: vec![],
            orig_ttl: 172_800,
            sig_expiration: 1_797_000_000,
        };
        tp.on_observation(1_795_852_800, &obs, &Policy::default(), 0);
        tp
    }

    #[test]
    fn writes_unbounds_format() {
        let text = write(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "; autotrust trust anchor file");
        assert_eq!(lines[1], ";;id: . 1");
        assert_eq!(
            lines[2],
            ";;last_queried: 1795852800 ;;Sat Nov 28 08:00:00 2026"
        );
        assert_eq!(lines[5], ";;query_failed: 0");
        assert_eq!(lines[6], ";;query_interval: 86400");
        assert_eq!(lines[7], ";;retry_time: 17280");
        assert!(lines[8].starts_with(".\t172800\tIN\tDNSKEY\t257 3 8 AwEAAaz/"));
        assert!(lines[8].ends_with(
            "74bU= ;{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=1502896424 ;;Wed Aug 16 15:13:44 2017"
        ));
        assert!(lines[9].contains(";{id = 38696 (ksk), size = 2048b} ;;state=1 [ ADDPEND ] ;;count=1 ;;lastchange=1795852800"));
        assert_eq!(lines.len(), 10);
    }

    /// Found by `damaged_files_never_trust_more`: an `A` inserted before
    /// the key's `=` padding decoded (without padding) to the key plus a zero
    /// byte, whose tag is the same, and the damaged key became a Valid anchor.
    #[test]
    fn a_key_grown_by_damage_is_refused() {
        let text = write(&sample());
        let at = text.find("74bU=").unwrap() + 4;
        let mut damaged = text;
        damaged.insert(at, 'A');
        let e = parse(&damaged, "f", &Policy::default()).unwrap_err();
        assert_eq!(e.line, 9, "{e:?}");
    }

    #[test]
    fn round_trip_is_the_identity() {
        let tp = sample();
        let text = write(&tp);
        let back = parse(&text, "root.key", &Policy::default()).unwrap();
        assert_eq!(write(&back), text);
        assert_eq!(back.timers, tp.timers);
        let states: Vec<_> = back
            .keys()
            .iter()
            .map(|k| (k.key.clone(), k.state, k.count))
            .collect();
        let want: Vec<_> = tp
            .keys()
            .iter()
            .map(|k| (k.key.clone(), k.state, k.count))
            .collect();
        assert_eq!(states, want);
    }

    #[test]
    fn header_but_no_state_is_an_error_naming_the_line() {
        let text = write(&sample());
        let cut: String = text
            .lines()
            .map(|l| l.split(" ;;state=").next().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        let e = parse(&cut, "/var/lib/danebound/root.key", &Policy::default()).unwrap_err();
        assert_eq!(e.line, 9);
        assert!(
            e.to_string()
                .starts_with("/var/lib/danebound/root.key:9: key without ;;state="),
            "{e}"
        );
    }

    #[test]
    fn no_truncation_or_corruption_ever_trusts_more() {
        let tp = sample();
        let text = write(&tp);
        let trusted: Vec<Key> = tp.anchor_keys().cloned().collect();
        let check = |damaged: &str| {
            if let Ok(t) = parse(damaged, "f", &Policy::default()) {
                for k in t.anchor_keys() {
                    assert!(trusted.contains(k), "damage made {k:?} trusted:\n{damaged}");
                }
            }
        };
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                check(&text[..cut]);
            }
        }
        // Flipping the pending key's state digit to every other value.
        for d in '0'..='9' {
            check(&text.replace(";;state=1 [ ADDPEND ]", &format!(";;state={d} [ ADDPEND ]")));
        }
    }

    #[test]
    fn the_pending_state_digit_cannot_be_faked_by_a_bad_comment() {
        // A damaged comment for the pending key (state unreadable) is an error.
        let text = write(&sample()).replace(";;state=1 [ ADDPEND ]", ";;state=x");
        assert!(parse(&text, "f", &Policy::default()).is_err());
    }

    #[test]
    fn a_header_file_of_only_start_keys_is_damaged() {
        // Found by the autotrust_file fuzz target: such a file was read as a
        // trust point without anchors, which `write` turned into a header
        // without keys that the reader then refused. Both sides now agree
        // that it holds nothing to trust (never less security than before).
        let text = format!(
            "; autotrust trust anchor file\n;;id: . 1\n{} ;;state=0 [  START  ] ;;count=0 ;;lastchange=0\n",
            dnskey_line(".", 172_800, &root_key(1))
        );
        let e = parse(&text, "root.key", &Policy::default()).unwrap_err();
        assert!(e.reason.contains("no DNSKEY or DS record"), "{e:?}");
    }

    #[test]
    fn plain_lists_mixed_owners_revoked_and_empty() {
        // unbound-anchor's initial file: two DS records, no header.
        let Some(ds) = shared(
            "plain_lists_mixed_owners_revoked_and_empty",
            "root-anchors/unbound.root.key.initial-ds",
        ) else {
            return;
        };
        let tp = parse(&ds, "root.key", &Policy::default()).unwrap();
        assert!(!tp.pending_ds().is_empty());
        assert!(tp.has_anchors());
        assert!(write(&tp).contains("\tDS\t20326 8 2 E06D44B8"));
        // A plain DNSKEY list (dig output): Valid, lastchange 0.
        let line = dnskey_line(".", 172_800, &root_key(1));
        let tp = parse(&line, "root.key", &Policy::default()).unwrap();
        assert_eq!(tp.keys()[0].state, KeyState::Valid);
        assert_eq!(tp.keys()[0].last_change, 0);
        // Two owners.
        let two = format!("{line}\n{}", dnskey_line("example.", 3600, &root_key(0)));
        let e = parse(&two, "f", &Policy::default()).unwrap_err();
        assert_eq!(e.line, 2);
        // Empty or comment-only: the distinct "empty" error.
        assert!(parse("", "f", &Policy::default()).unwrap_err().empty);
        assert!(
            parse("; nothing\n", "f", &Policy::default())
                .unwrap_err()
                .empty
        );
        // Header without keys.
        let e = parse(
            "; autotrust trust anchor file\n;;id: . 1\n;;query_failed: 0\n",
            "f",
            &Policy::default(),
        )
        .unwrap_err();
        assert!(!e.empty);
        // Unclosed parenthesis.
        let e = parse(". IN DNSKEY ( 257 3 8\n AwEAAa", "f", &Policy::default()).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn a_revoked_trust_point_round_trips_as_unbound_writes_it() {
        let mut tp = TrustPoint::new(".").unwrap();
        tp.add_configured_key(root_key(0), 172_800, 0);
        let obs = Observation {
            rrset: vec![root_key(0).revoked()],
            unsupported: vec![],
            verified_by: vec![],
            revoked_self_signed: vec![root_key(0).revoked()],
            orig_ttl: 172_800,
            sig_expiration: 0,
        };
        tp.on_observation(40 * DAY, &obs, &Policy::default(), 0);
        assert!(tp.is_revoked());
        let text = write(&tp);
        assert!(text.starts_with(
            "; autotrust trust anchor file\n;;REVOKED\n; The zone has all keys revoked"
        ));
        assert!(text.contains(";{id = 20454 (ksk), size = 2048b} ;;state=4 [ REVOKED ]"));
        let back = parse(&text, "f", &Policy::default()).unwrap();
        assert!(back.is_revoked());
        assert!(!back.has_anchors());
    }

    #[test]
    fn reads_the_unbound_autotrust_corpus_initial_files() {
        let Some(base) = crate::skip::shared_path(
            "reads_the_unbound_autotrust_corpus_initial_files",
            "conformance/unbound-autotrust",
        ) else {
            return;
        };
        let mut files = 0;
        for entry in std::fs::read_dir(base).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rpl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut body = None::<String>;
            for line in text.lines() {
                if line.starts_with("AUTOTRUST_FILE") {
                    body = Some(String::new());
                } else if line.starts_with("AUTOTRUST_END") {
                    let b = body.take().unwrap();
                    let tp = parse(&b, &path.display().to_string(), &Policy::default());
                    let tp = tp.unwrap_or_else(|e| panic!("{e}"));
                    assert!(tp.has_anchors() || tp.is_revoked(), "{}", path.display());
                    // What we write reads back the same.
                    let again = parse(&write(&tp), "w", &Policy::default()).unwrap();
                    assert_eq!(write(&again), write(&tp), "{}", path.display());
                    files += 1;
                } else if let Some(b) = &mut body {
                    // The harness's macros (`${0}`) stand for numbers.
                    if line.contains("${") && !line.contains("${0}") {
                        continue;
                    }
                    b.push_str(&line.replace("${0}", "0"));
                    b.push('\n');
                }
            }
        }
        assert!(files >= 20, "{files} AUTOTRUST_FILE bodies");
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn written() -> (String, Vec<Key>) {
        let tp = tests::sample();
        let trusted = tp.anchor_keys().cloned().collect();
        (write(&tp), trusted)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any byte changed, removed or inserted anywhere: the reader never
        /// panics, and what it accepts trusts no key the original did not.
        #[test]
        fn damaged_files_never_trust_more(pos in 0usize..4096, byte in any::<u8>(), op in 0u8..3) {
            let (text, trusted) = written();
            let mut bytes = text.into_bytes();
            let pos = pos % bytes.len();
            match op {
                0 => bytes[pos] = byte,
                1 => { bytes.remove(pos); }
                _ => bytes.insert(pos, byte),
            }
            let Ok(damaged) = String::from_utf8(bytes) else { return Ok(()) };
            if let Ok(tp) = parse(&damaged, "f", &Policy::default()) {
                for k in tp.anchor_keys() {
                    prop_assert!(trusted.contains(k), "damage made {:?} trusted", k);
                }
            }
        }
    }
}
