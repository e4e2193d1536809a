//! Negative trust anchors (RFC 7646): names the operator declared insecure
//! for a while, because their DNSSEC is broken and they must resolve anyway.
//!
//! Only the engine holds them, and only the control interface
//! (`crate::control`, same crate) changes them, through `pub(crate)`
//! methods of [`crate::engine::Resolver`]: no public API lets a caller
//! declare a zone insecure. The set is a pure state machine: times come in
//! as values, persistence is text in and out (the control driver writes the
//! file).

use std::sync::RwLock;

use crate::wire::Name;

/// RFC 7646 §4: "the lifetime SHOULD NOT exceed a week".
pub const MAX_LIFETIME: u64 = 7 * 86_400;

/// BIND's default lifetime (`rndc nta`): one hour.
pub const DEFAULT_LIFETIME: u64 = 3600;

/// One negative trust anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nta {
    /// Applies at and below this name (RFC 7646 §2).
    pub zone: Name,
    /// When it was added, seconds since the epoch.
    pub added: u64,
    /// When it ends (RFC 7646 §4: "MUST expire automatically").
    pub expires: u64,
}

/// The set of negative trust anchors.
#[derive(Debug, Default)]
pub struct NegativeAnchors {
    list: RwLock<Vec<Nta>>,
}

impl NegativeAnchors {
    /// The anchor covering `name` at `now`, if any: the NTA's zone.
    pub fn covering(&self, name: &Name, now: u64) -> Option<Name> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        if list.is_empty() {
            return None;
        }
        list.iter()
            .find(|n| n.expires > now && n.zone.zone_of(name))
            .map(|n| n.zone.clone())
    }

    /// Adds (or renews) an anchor at `zone` until `expires`. Returns the
    /// anchor it replaced, if any.
    pub(crate) fn add(&self, zone: &Name, now: u64, expires: u64) -> Option<Nta> {
        let zone = zone.to_lowercase();
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        let old = list
            .iter()
            .position(|n| n.zone == zone)
            .map(|i| list.remove(i));
        list.push(Nta {
            zone,
            added: now,
            expires,
        });
        list.sort_by(|a, b| a.zone.cmp(&b.zone));
        old
    }

    /// Removes the anchor at `zone`; returns it.
    pub(crate) fn remove(&self, zone: &Name) -> Option<Nta> {
        let zone = zone.to_lowercase();
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        let i = list.iter().position(|n| n.zone == zone)?;
        Some(list.remove(i))
    }

    /// Removes and returns the anchors that have expired by `now`.
    pub(crate) fn expire(&self, now: u64) -> Vec<Nta> {
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        let (gone, kept): (Vec<Nta>, Vec<Nta>) = list.drain(..).partition(|n| n.expires <= now);
        *list = kept;
        gone
    }

    /// The active anchors, by name.
    pub fn list(&self) -> Vec<Nta> {
        self.list.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Number held.
    pub fn len(&self) -> usize {
        self.list.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The persisted form: one `NAME ADDED EXPIRES` line per anchor.
    pub fn to_text(&self) -> String {
        let mut out =
            String::from("# danebound negative trust anchors (RFC 7646): name added expires\n");
        for n in self.list() {
            out.push_str(&format!("{} {} {}\n", n.zone, n.added, n.expires));
        }
        out
    }

    /// Reads the persisted form, keeping anchors still live at `now` (at most
    /// [`MAX_LIFETIME`] past `now`). Returns the number loaded, or the first
    /// bad line.
    pub(crate) fn load_text(&self, text: &str, now: u64) -> Result<usize, String> {
        let mut loaded = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || format!("line {}: expected `NAME ADDED EXPIRES`: {line}", i + 1);
            let mut fields = line.split_whitespace();
            let (Some(name), Some(added), Some(expires), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad());
            };
            let zone = parse_name(name).map_err(|e| format!("line {}: {e}", i + 1))?;
            let added: u64 = added.parse().map_err(|_| bad())?;
            let expires: u64 = expires.parse().map_err(|_| bad())?;
            if expires > now {
                self.add(&zone, added, expires.min(now + MAX_LIFETIME));
                loaded += 1;
            }
        }
        Ok(loaded)
    }
}

/// A domain name for an NTA: absolute, not the root (an NTA at the root
/// would switch validation off).
pub fn parse_name(s: &str) -> Result<Name, String> {
    let mut name = Name::from_ascii(s).map_err(|e| format!("bad name `{s}`: {e}"))?;
    name.set_fqdn(true);
    if name.is_root() {
        return Err("a negative trust anchor at the root would disable validation".into());
    }
    Ok(name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        parse_name(s).unwrap()
    }

    #[test]
    fn covers_at_and_below_until_expiry() {
        let set = NegativeAnchors::default();
        set.add(&n("Broken.Example"), 100, 200);
        assert_eq!(
            set.covering(&n("broken.example."), 150),
            Some(n("broken.example."))
        );
        assert_eq!(
            set.covering(&n("www.BROKEN.example."), 150),
            Some(n("broken.example."))
        );
        assert_eq!(set.covering(&n("notbroken.example."), 150), None);
        assert_eq!(set.covering(&n("example."), 150), None);
        assert_eq!(set.covering(&n("www.broken.example."), 200), None);
        assert_eq!(set.expire(199), vec![]);
        assert_eq!(set.expire(200).len(), 1);
        assert!(set.is_empty());
    }

    #[test]
    fn add_renews_and_remove_removes() {
        let set = NegativeAnchors::default();
        assert!(set.add(&n("a.example"), 0, 10).is_none());
        assert_eq!(set.add(&n("A.example."), 5, 20).unwrap().expires, 10);
        assert_eq!(set.len(), 1);
        assert_eq!(set.remove(&n("a.example")).unwrap().expires, 20);
        assert!(set.remove(&n("a.example")).is_none());
    }

    #[test]
    fn text_round_trip_drops_expired_and_caps_lifetime() {
        let set = NegativeAnchors::default();
        set.add(&n("a.example"), 100, 1000);
        set.add(&n("b.example"), 100, 150);
        let text = set.to_text();
        let again = NegativeAnchors::default();
        assert_eq!(again.load_text(&text, 200), Ok(1));
        assert_eq!(again.list()[0].zone, n("a.example"));
        let far = NegativeAnchors::default();
        assert_eq!(far.load_text("c.example. 0 99999999999\n", 10), Ok(1));
        assert_eq!(far.list()[0].expires, 10 + MAX_LIFETIME);
        assert!(
            far.load_text("c.example. zero 1\n", 10)
                .unwrap_err()
                .contains("line 1")
        );
        assert!(parse_name(".").is_err());
        assert!(parse_name("bad..name").is_err());
    }
}
