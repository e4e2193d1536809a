//! IANA's `root-anchors.xml` (RFC 7958, with RFC 9718's optional
//! `PublicKey` and `Flags`): the out-of-band source of root trust anchors
//! for `danebound anchor bootstrap`. Only the `KeyDigest` entries valid at
//! the given time are returned; unknown elements are ignored. (The detached
//! `.p7s` signature is not checked here: see DIVERGENCES in the README.)

use crate::rfc5011::{DsAnchor, Key, TrustPoint};

/// One `KeyDigest` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDigest {
    /// `id` attribute.
    pub id: String,
    /// `validFrom`, Unix seconds.
    pub valid_from: u64,
    /// `validUntil`, Unix seconds (absent: open-ended).
    pub valid_until: Option<u64>,
    /// The DS.
    pub ds: DsAnchor,
    /// RFC 9718: the DNSKEY public key and flags, when given.
    pub dnskey: Option<Key>,
}

/// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2017-02-02T00:00:00+00:00` (or `Z`, or a `±HH:MM` offset) → Unix seconds.
pub fn parse_datetime(s: &str) -> Result<u64, String> {
    let bad = || format!("bad date {s:?}");
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num =
        |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<i64>().ok()).ok_or_else(bad);
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let hh: i64 = o[1..3].parse().map_err(|_| bad())?;
            let mm: i64 = o[4..6].parse().map_err(|_| bad())?;
            let v = hh * 3600 + mm * 60;
            if o.starts_with('-') { -v } else { v }
        }
        _ => return Err(bad()),
    };
    let t = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(t).map_err(|_| bad())
}

/// The text of the first `<tag>…</tag>` in `s`.
fn element<'a>(s: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find(&close)? + start;
    Some(s[start..end].trim())
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// Every `KeyDigest` of the file, for zone `.` only.
pub fn parse(xml: &str) -> Result<Vec<KeyDigest>, String> {
    let zone = element(xml, "Zone").ok_or("no <Zone> element")?;
    if zone != "." {
        return Err(format!(
            "zone {zone:?} (only the root, \".\", is supported)"
        ));
    }
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(pos) = rest.find("<KeyDigest") {
        let after = &rest[pos..];
        let tag_end = after.find('>').ok_or("unterminated <KeyDigest")?;
        let tag = &after[..tag_end];
        let end = after
            .find("</KeyDigest>")
            .ok_or("<KeyDigest> without </KeyDigest>")?;
        let body = &after[tag_end + 1..end];
        let id = attribute(tag, "id").unwrap_or("").to_string();
        let field =
            |name: &str| element(body, name).ok_or_else(|| format!("KeyDigest {id}: no <{name}>"));
        let number = |name: &str| -> Result<u64, String> {
            field(name)?
                .parse::<u64>()
                .map_err(|_| format!("KeyDigest {id}: <{name}> is not a number"))
        };
        let valid_from = parse_datetime(
            attribute(tag, "validFrom").ok_or_else(|| format!("KeyDigest {id}: no validFrom"))?,
        )?;
        let valid_until = attribute(tag, "validUntil")
            .map(parse_datetime)
            .transpose()?;
        let key_tag =
            u16::try_from(number("KeyTag")?).map_err(|_| format!("KeyDigest {id}: bad KeyTag"))?;
        let algorithm = u8::try_from(number("Algorithm")?)
            .map_err(|_| format!("KeyDigest {id}: bad Algorithm"))?;
        let digest_type = u8::try_from(number("DigestType")?)
            .map_err(|_| format!("KeyDigest {id}: bad DigestType"))?;
        let digest = data_encoding::HEXUPPER_PERMISSIVE
            .decode(field("Digest")?.as_bytes())
            .map_err(|_| format!("KeyDigest {id}: <Digest> is not hex"))?;
        let ds = DsAnchor {
            key_tag,
            algorithm,
            digest_type,
            digest,
        };
        let dnskey = match (element(body, "PublicKey"), element(body, "Flags")) {
            (Some(pk), Some(flags)) => {
                let pk: String = pk.split_whitespace().collect();
                let public_key = data_encoding::BASE64
                    .decode(pk.as_bytes())
                    .map_err(|_| format!("KeyDigest {id}: <PublicKey> is not base64"))?;
                let flags: u16 = flags
                    .parse()
                    .map_err(|_| format!("KeyDigest {id}: <Flags> is not a number"))?;
                let key = Key::new(flags, 3, algorithm, public_key);
                // RFC 9718 §2: the key must be the one the digest names.
                if ds.matches(&[0], &key) == Some(false) {
                    return Err(format!(
                        "KeyDigest {id}: <PublicKey> does not match <Digest>"
                    ));
                }
                Some(key)
            }
            _ => None,
        };
        out.push(KeyDigest {
            id,
            valid_from,
            valid_until,
            ds,
            dnskey,
        });
        rest = &after[end..];
    }
    if out.is_empty() {
        return Err("no <KeyDigest> element".into());
    }
    Ok(out)
}

/// The trust point made of the entries valid at `now` (RFC 7958 §2.2:
/// validFrom ≤ now < validUntil): their DNSKEYs when given, else their DS.
pub fn trust_point(xml: &str, now: u64) -> Result<TrustPoint, String> {
    let mut tp = TrustPoint::new(".")?;
    let mut n = 0;
    for kd in parse(xml)? {
        if kd.valid_from > now || kd.valid_until.is_some_and(|u| u <= now) {
            continue;
        }
        n += 1;
        match kd.dnskey {
            Some(key) => tp.add_configured_key(key, 172_800, now),
            None => tp.add_configured_ds(kd.ds),
        }
    }
    if n == 0 {
        return Err("no KeyDigest is valid now".into());
    }
    Ok(tp)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::shared_file as shared;

    #[test]
    fn dates() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00+00:00").unwrap(), 0);
        assert_eq!(
            parse_datetime("2019-01-11T00:00:00+00:00").unwrap(),
            1_547_164_800
        );
        assert_eq!(
            parse_datetime("2019-01-11T02:00:00+02:00").unwrap(),
            1_547_164_800
        );
        assert_eq!(
            parse_datetime("2019-01-11T00:00:00Z").unwrap(),
            1_547_164_800
        );
        assert!(parse_datetime("2019-13-11T00:00:00Z").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }

    #[test]
    fn rfc9718_file_gives_the_keys_valid_now() {
        let test = "rfc9718_file_gives_the_keys_valid_now";
        let Some(xml) = shared(test, "root-anchors/root-anchors.xml") else {
            return;
        };
        let all = parse(&xml).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all[0].dnskey.is_none());
        assert_eq!(all[1].dnskey.as_ref().unwrap().key_tag(), 20326);
        // 2026-12-01: KSK-2010 has expired; both current keys as DNSKEYs.
        let tp = trust_point(&xml, 1_796_083_200).unwrap();
        let tags: Vec<u16> = tp.anchor_keys().map(Key::key_tag).collect();
        assert_eq!(tags, vec![20326, 38696]);
        assert!(tp.pending_ds().is_empty());
        // 2012: only KSK-2010, as a DS.
        let tp = trust_point(&xml, 1_330_000_000).unwrap();
        assert_eq!(tp.pending_ds()[0].key_tag, 19036);
        // Before 2010: nothing valid.
        assert!(trust_point(&xml, 1_000_000_000).is_err());
        // RFC 7958 files without PublicKey parse too.
        for f in [
            "root-anchors/historical/root-anchors.2010.miekg-dns-copy.xml",
            "root-anchors/historical/root-anchors.2017.nsmithuk-copy.xml",
            "root-anchors/historical/root-anchors.2024-07.rfc7958.zmap-copy.xml",
        ] {
            let x = shared(test, f).unwrap();
            assert!(!parse(&x).unwrap().is_empty(), "{f}");
        }
        // A public key that does not match its digest is refused.
        let forged = xml.replacen("AwEAAaz/", "AwEAAaZ/", 1);
        assert!(parse(&forged).unwrap_err().contains("does not match"));
    }
}
