//! The operator's control interface, like unbound-control: `danebound
//! control COMMAND` over a local Unix socket.
//!
//! Protocol: the client sends one line, `DANEBOUND1 COMMAND [ARGS]\n` (at
//! most [`MAX_LINE`] bytes), the server answers text and closes. An answer
//! whose first line starts with `error:` is a failure. `UBCT1
//! stats_noreset\n` (unbound-control's own protocol) is answered with
//! unbound's statistics keys, so unbound's tooling can read ours.
//!
//! [`Command`] parsing is pure; [`Controller`] executes commands against the
//! running resolver and cache; `socket` is the thin async driver (bind with
//! mode 0660, peer credentials, limits).
//!
//! Negative trust anchors (RFC 7646) are changed only here, through the
//! engine's crate-private [`Resolver::negative_anchors_mut`]: the
//! authorisation is the socket's (root, the service user or the
//! `danebound` group), and no public API of this crate declares a name
//! insecure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;
use crate::clock::Clock;
pub use crate::config::{ControlConfig, DEFAULT_NTA_FILE, DEFAULT_NTA_RECHECK, DEFAULT_SOCKET};
use crate::engine::Resolver;
use crate::engine::nta::{self, DEFAULT_LIFETIME, MAX_LIFETIME};
use crate::stats::{self, Sizes, Snapshot};
use crate::timefmt;
use crate::validator::{InsecureReason, Outcome};
use crate::wire::Name;

pub mod socket;

/// The request line's first word.
pub const MAGIC: &str = "DANEBOUND1";

/// unbound-control's request magic.
pub const UNBOUND_MAGIC: &str = "UBCT1";

/// Longest request line.
pub const MAX_LINE: usize = 1024;

/// A control command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Version, uptime, what is served.
    Status,
    /// Counters as `name=value` lines.
    Stats,
    /// Counters under unbound's names (`UBCT1 stats_noreset`).
    UnboundStats,
    /// Drop the cached answers for one name.
    Flush(Name),
    /// Drop cached answers and keys at and below a name.
    FlushZone(Name),
    /// Drop every cached bogus answer.
    FlushBogus,
    /// Re-read the configuration.
    Reload,
    /// Add a negative trust anchor for this many seconds; `true`: keep it
    /// even when the name validates again.
    InsecureAdd(Name, u64, bool),
    /// Remove a negative trust anchor.
    InsecureRemove(Name),
    /// List the negative trust anchors.
    InsecureList,
    /// RFC 5011 state of the trust anchors.
    ListAutoTrustAnchors,
}

/// The commands, for help texts.
pub const COMMANDS: &[(&str, &str)] = &[
    ("status", "version, uptime, listening addresses"),
    (
        "stats",
        "counters as name=value lines (--json: one JSON document)",
    ),
    ("flush NAME", "drop the cached answers for NAME"),
    (
        "flush_zone NAME",
        "drop cached answers and keys at and below NAME",
    ),
    ("flush_bogus", "drop every cached bogus answer"),
    (
        "reload",
        "re-read the configuration file, keeping the cache",
    ),
    (
        "insecure_add NAME [--for DURATION]",
        "negative trust anchor (RFC 7646) for DURATION (default 1h, at most 7d)",
    ),
    ("insecure_remove NAME", "remove a negative trust anchor"),
    (
        "insecure_list",
        "list negative trust anchors and their expiry",
    ),
    (
        "list_auto_trust_anchors",
        "the RFC 5011-managed trust anchors and their key states",
    ),
];

/// Parses a request line (without the newline).
pub fn parse_request(line: &str) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    match words.next() {
        Some(MAGIC) => {}
        Some(UNBOUND_MAGIC) => {
            return match words.next() {
                Some("stats_noreset" | "stats") => Ok(Command::UnboundStats),
                Some("status") => Ok(Command::Status),
                Some(other) => Err(format!("unsupported unbound-control command `{other}`")),
                None => Err("empty command".into()),
            };
        }
        _ => return Err("not a danebound control request".into()),
    }
    let words: Vec<&str> = words.collect();
    parse_command(&words)
}

/// Parses a command and its arguments.
pub fn parse_command(words: &[&str]) -> Result<Command, String> {
    let name = |i: usize| -> Result<Name, String> {
        let s = words
            .get(i)
            .ok_or_else(|| format!("`{}` needs a NAME", words[0]))?;
        nta::parse_name(s)
    };
    let no_more = |n: usize, cmd: Command| -> Result<Command, String> {
        match words.get(n) {
            Some(extra) => Err(format!("unexpected argument `{extra}`")),
            None => Ok(cmd),
        }
    };
    let Some(&first) = words.first() else {
        return Err("empty command".into());
    };
    match first {
        "status" => no_more(1, Command::Status),
        "stats" | "stats_noreset" => no_more(1, Command::Stats),
        "flush" => no_more(2, Command::Flush(name(1)?)),
        "flush_zone" => no_more(2, Command::FlushZone(name(1)?)),
        "flush_bogus" => no_more(1, Command::FlushBogus),
        "reload" => no_more(1, Command::Reload),
        "insecure_add" => {
            let zone = name(1)?;
            let mut lifetime = DEFAULT_LIFETIME;
            let mut force = false;
            let mut rest = words[2..].iter();
            while let Some(&word) = rest.next() {
                match word {
                    "--for" => {
                        let d = rest.next().ok_or("--for needs a DURATION")?;
                        lifetime = parse_duration(d)?;
                    }
                    "--force" => force = true,
                    other => return Err(format!("unexpected argument `{other}`")),
                }
            }
            // RFC 7646 §4: "the lifetime SHOULD NOT exceed a week".
            if lifetime == 0 || lifetime > MAX_LIFETIME {
                return Err(format!(
                    "--for {}: a negative trust anchor lasts 1s to 7d (RFC 7646 §4)",
                    timefmt::duration(lifetime)
                ));
            }
            Ok(Command::InsecureAdd(zone, lifetime, force))
        }
        "insecure_remove" => no_more(2, Command::InsecureRemove(name(1)?)),
        "insecure_list" | "list_insecure" => no_more(1, Command::InsecureList),
        "list_auto_trust_anchors" => no_more(1, Command::ListAutoTrustAnchors),
        other => Err(format!(
            "unknown command `{other}`; commands: {}",
            COMMANDS
                .iter()
                .map(|(c, _)| c.split(' ').next().unwrap_or(c))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `90`, `90s`, `15m`, `2h`, `1d`, `1w`: seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a duration (like 90s, 15m, 2h, 1d)");
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(unit).ok_or_else(bad)
}

/// Ends expired negative trust anchors (every few seconds) and rechecks
/// the others every `recheck`; runs until dropped. `serve` runs it whether
/// or not the socket is enabled, since anchors also come from the file.
pub async fn maintain(controller: Arc<Controller>, recheck: Option<Duration>) {
    let expiry = async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            controller.expire_negative_anchors();
        }
    };
    let recheck = async {
        let Some(period) = recheck else {
            return std::future::pending().await;
        };
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            controller.recheck_negative_anchors().await;
        }
    };
    tokio::join!(expiry, recheck);
}

/// The answer to a command: text, and whether it succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// True on success.
    pub ok: bool,
    /// The text (without a final newline).
    pub text: String,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
        }
    }

    fn error(text: impl std::fmt::Display) -> Self {
        Self {
            ok: false,
            text: format!("error: {text}"),
        }
    }
}

/// What `reload` does: supplied by the binary, which owns the file and the
/// log filter. Returns the lines to report, or why nothing changed.
pub type ReloadFn = Box<dyn Fn() -> Result<Vec<String>, String> + Send + Sync>;

/// Executes commands against the running resolver.
pub struct Controller {
    resolver: Arc<Resolver>,
    cache: Arc<Cache>,
    clock: Arc<dyn Clock>,
    nta_file: Option<PathBuf>,
    reload: Option<ReloadFn>,
    status: Vec<String>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("nta_file", &self.nta_file)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// A controller of `resolver` and the server's `cache`.
    pub fn new(resolver: Arc<Resolver>, cache: Arc<Cache>, clock: Arc<dyn Clock>) -> Self {
        Self {
            resolver,
            cache,
            clock,
            nta_file: None,
            reload: None,
            status: Vec::new(),
        }
    }

    /// Persist negative trust anchors in `path`.
    pub fn with_nta_file(mut self, path: &Path) -> Self {
        self.nta_file = Some(path.to_path_buf());
        self
    }

    /// What `reload` does.
    pub fn with_reload(mut self, reload: ReloadFn) -> Self {
        self.reload = Some(reload);
        self
    }

    /// Lines `status` prints after version and uptime.
    pub fn with_status(mut self, lines: Vec<String>) -> Self {
        self.status = lines;
        self
    }

    /// Loads the persisted negative trust anchors (those still live). A
    /// missing file is no anchor.
    pub fn load_negative_anchors(&self) -> Result<usize, String> {
        let Some(path) = &self.nta_file else {
            return Ok(0);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let n = self
            .resolver
            .negative_anchors_mut()
            .load_text(&text, self.clock.unix_now())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for a in self.resolver.negative_anchors() {
            tracing::warn!(zone = %a.zone, expires = %timefmt::utc(a.expires), "negative trust anchor loaded: {} is not validated", a.zone);
        }
        Ok(n)
    }

    /// The counters with the current sizes.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = stats::global().snapshot();
        s.sizes = Sizes {
            cache_entries: self.cache.len() as u64,
            cache_bytes: self.cache.bytes() as u64,
            key_zones: self.resolver.key_store().len() as u64,
            key_bytes: self.resolver.key_store().bytes() as u64,
            negative_trust_anchors: self.resolver.negative_anchors().len() as u64,
        };
        s
    }

    /// Ends the negative trust anchors whose time is up: logged, their
    /// names flushed (RFC 7646 §4 "MUST expire automatically"), the file
    /// rewritten. Called periodically by the socket driver.
    pub fn expire_negative_anchors(&self) {
        let gone = self
            .resolver
            .negative_anchors_mut()
            .expire(self.clock.unix_now());
        if gone.is_empty() {
            return;
        }
        for a in &gone {
            tracing::warn!(zone = %a.zone, "negative trust anchor expired: {} is validated again", a.zone);
            self.flush_zone(&a.zone);
        }
        self.save_negative_anchors();
    }

    /// RFC 7646 §4: validates the name of each negative trust anchor (not
    /// forced) as if the anchor were not there, and ends those that
    /// validate again (secure, or provably unsigned), logged and flushed.
    pub async fn recheck_negative_anchors(&self) {
        let mut ended = false;
        for a in self.resolver.negative_anchors() {
            if a.forced {
                continue;
            }
            let outcome = self.resolver.outcome_without_nta(&a.zone).await;
            let fixed = match &outcome {
                Outcome::Secure => true,
                Outcome::Insecure(reason) => {
                    !matches!(reason, InsecureReason::NegativeTrustAnchor { .. })
                }
                Outcome::Bogus(_) | Outcome::Indeterminate => false,
            };
            if fixed
                && self
                    .resolver
                    .negative_anchors_mut()
                    .remove(&a.zone)
                    .is_some()
            {
                tracing::warn!(zone = %a.zone, "negative trust anchor removed: {} validates again ({})", a.zone,
                    if outcome.is_secure() { "secure" } else { "insecure" });
                self.flush_zone(&a.zone);
                ended = true;
            }
        }
        if ended {
            self.save_negative_anchors();
        }
    }

    fn save_negative_anchors(&self) -> Option<String> {
        let path = self.nta_file.as_ref()?;
        let text = self.resolver.negative_anchors_mut().to_text();
        let tmp = path.with_extension("tmp");
        let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
        match result {
            Ok(()) => None,
            Err(e) => {
                let msg = format!(
                    "cannot save negative trust anchors to {}: {e}",
                    path.display()
                );
                tracing::error!("{msg}");
                Some(msg)
            }
        }
    }

    fn flush_zone(&self, zone: &Name) -> (usize, usize) {
        // RFC 8198 spans at and below go too: a fixed zone's new names must
        // not stay denied by what the old one said.
        if let Some(spans) = self.resolver.aggressive_nsec() {
            spans.remove_at_or_below(zone);
        }
        (
            self.cache.flush_zone(zone),
            self.resolver.key_store().remove_at_or_below(zone),
        )
    }

    /// Runs one command; `who` names the client for the log.
    pub fn execute(&self, command: &Command, who: &str) -> Reply {
        let now = self.clock.unix_now();
        match command {
            Command::Status => {
                let s = self.snapshot();
                let mut lines = vec![
                    format!("version: danebound {}", env!("CARGO_PKG_VERSION")),
                    format!("pid: {}", std::process::id()),
                    format!(
                        "uptime: {} ({} seconds)",
                        timefmt::duration(s.uptime.as_secs()),
                        s.uptime.as_secs()
                    ),
                ];
                lines.extend(self.status.iter().cloned());
                lines.push(format!("cache entries: {}", s.sizes.cache_entries));
                lines.push(format!(
                    "negative trust anchors: {}",
                    s.sizes.negative_trust_anchors
                ));
                lines.push("is running".into());
                Reply::ok(lines.join("\n"))
            }
            Command::Stats => Reply::ok(self.snapshot().lines().join("\n")),
            Command::UnboundStats => Reply::ok(self.snapshot().unbound_lines().join("\n")),
            Command::Flush(name) => {
                let n = self.cache.flush_name(name);
                tracing::info!(%name, removed = n, client = who, "flush");
                Reply::ok(format!("ok, removed {n} cached answers for {name}"))
            }
            Command::FlushZone(zone) => {
                let (answers, keys) = self.flush_zone(zone);
                tracing::info!(%zone, answers, keys, client = who, "flush_zone");
                Reply::ok(format!(
                    "ok, removed {answers} cached answers and {keys} key sets at and below {zone}"
                ))
            }
            Command::FlushBogus => {
                let n = self.cache.flush_bogus();
                tracing::info!(removed = n, client = who, "flush_bogus");
                Reply::ok(format!("ok, removed {n} bogus answers"))
            }
            Command::Reload => match &self.reload {
                None => Reply::error("reload is not available"),
                Some(reload) => match reload() {
                    Ok(lines) => {
                        tracing::info!(client = who, "configuration reloaded");
                        Reply::ok(lines.join("\n"))
                    }
                    Err(e) => {
                        tracing::warn!(client = who, "reload refused: {e}");
                        Reply::error(format!("{e}; the running configuration is unchanged"))
                    }
                },
            },
            Command::InsecureAdd(zone, lifetime, force) => {
                let expires = now + lifetime;
                let old = self
                    .resolver
                    .negative_anchors_mut()
                    .add(zone, now, expires, *force);
                // Cached bogus answers and keys at and below go, so the NTA
                // takes effect at once.
                self.flush_zone(zone);
                tracing::warn!(%zone, expires = %timefmt::utc(expires), client = who,
                    "negative trust anchor {}: {zone} is not validated", if old.is_some() { "renewed" } else { "added" });
                let mut text = format!(
                    "ok, {zone} is not validated until {} ({})",
                    timefmt::utc(expires),
                    timefmt::relative(expires, now)
                );
                if let Some(e) = self.save_negative_anchors() {
                    text.push_str(&format!("\nwarning: {e}; it lasts until a restart"));
                }
                Reply::ok(text)
            }
            Command::InsecureRemove(zone) => {
                match self.resolver.negative_anchors_mut().remove(zone) {
                    None => Reply::error(format!("no negative trust anchor for {zone}")),
                    Some(_) => {
                        // RFC 7646 §4: flush at and below on removal.
                        self.flush_zone(zone);
                        tracing::warn!(%zone, client = who, "negative trust anchor removed: {zone} is validated again");
                        let mut text = format!("ok, {zone} is validated again");
                        if let Some(e) = self.save_negative_anchors() {
                            text.push_str(&format!("\nwarning: {e}"));
                        }
                        Reply::ok(text)
                    }
                }
            }
            Command::InsecureList => {
                let list = self.resolver.negative_anchors();
                if list.is_empty() {
                    return Reply::ok("no negative trust anchors");
                }
                Reply::ok(
                    list.iter()
                        .map(|a| {
                            format!(
                                "{} expires {} ({}), added {}{}",
                                a.zone,
                                timefmt::utc(a.expires),
                                timefmt::relative(a.expires, now),
                                timefmt::utc(a.added),
                                if a.forced { ", forced" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
            Command::ListAutoTrustAnchors => {
                // Each managed trust point's state as its file holds it now
                // (unbound's format: keys, states, timers with dates).
                let files = self.resolver.trust_point_files();
                if files.is_empty() {
                    return Reply::ok(
                        "no RFC 5011-managed trust anchors: only static ones are configured",
                    );
                }
                Reply::ok(
                    files
                        .iter()
                        .map(|(path, text)| format!(";; {}\n{}", path.display(), text.trim_end()))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(parse_request("DANEBOUND1 status"), Ok(Command::Status));
        assert_eq!(
            parse_request("UBCT1 stats_noreset"),
            Ok(Command::UnboundStats)
        );
        assert_eq!(
            parse_request("DANEBOUND1 flush_zone Example.COM"),
            Ok(Command::FlushZone(nta::parse_name("example.com.").unwrap()))
        );
        assert_eq!(
            parse_request("DANEBOUND1 insecure_add broken.example --for 2h"),
            Ok(Command::InsecureAdd(
                nta::parse_name("broken.example").unwrap(),
                7200,
                false
            ))
        );
        assert_eq!(
            parse_request("DANEBOUND1 insecure_add broken.example"),
            Ok(Command::InsecureAdd(
                nta::parse_name("broken.example").unwrap(),
                3600,
                false
            ))
        );
        for bad in [
            "status",
            "DANEBOUND1",
            "DANEBOUND1 frobnicate",
            "DANEBOUND1 flush",
            "DANEBOUND1 flush a b",
            "DANEBOUND1 insecure_add x.example --for 8d",
            "DANEBOUND1 insecure_add x.example --for 0",
            "DANEBOUND1 insecure_add x.example --for",
            "DANEBOUND1 insecure_add x.example --forever",
            "DANEBOUND1 insecure_add .",
            "DANEBOUND1 status extra",
        ] {
            assert!(parse_request(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn control_and_metrics_settings() {
        use crate::config::Config;
        let c = Config::from_toml(
            "[control]\nenable = false\nsocket = \"/run/x/c.sock\"\nnta_file = \"/var/x/nta\"\n\
             [metrics]\nlisten = \"127.0.0.1:9153\"\n",
        )
        .unwrap();
        assert!(!c.control.enable && !c.control.socket_is_default);
        assert_eq!(c.control.socket, PathBuf::from("/run/x/c.sock"));
        assert_eq!(c.control.nta_file, PathBuf::from("/var/x/nta"));
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9153".parse().unwrap()));
        let d = Config::default();
        assert!(d.control.enable && d.metrics_listen.is_none());
        assert_eq!(d.control.socket, PathBuf::from(DEFAULT_SOCKET));
        for (text, key) in [
            ("[control]\nsocket = \"c.sock\"", "control.socket"),
            ("[control]\nnta_file = \"nta\"", "control.nta_file"),
            ("[metrics]\nlisten = \"localhost\"", "metrics.listen"),
        ] {
            assert!(
                Config::from_toml(text).unwrap_err().0.contains(key),
                "{text}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("1w"), Ok(604_800));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }
}
