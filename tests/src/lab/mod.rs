//! The signed test lab: a real, private, DNSSEC-signed DNS hierarchy on
//! loopback, started by a test and stopped when the [`Lab`] is dropped (also
//! when the test panics).
//!
//! ```text
//!   .              NSD  127.53.S.1   ldns-signzone, RSASHA256 KSK+ZSK
//!   test.          NSD  127.53.S.2   dnssec-signzone, ECDSA KSK+ZSK
//!   example.test.  NSD  127.53.S.3   ldns-signzone, ECDSA CSK, NSEC
//!   case zones     NSD  127.53.S.4   one zone per case (see `cases`)
//!   unsigned       NSD  127.53.S.5   zones below insecure delegations
//!   upstream       unbound 127.53.S.10  recursive, validation OFF
//!                  (optional) also DNS over TLS on port 853, see [`DotUpstream`]
//!   oracle         unbound 127.53.S.11  recursive, validating, lab anchor
//!   stripping      proxy   127.53.S.12  (optional) upstream minus RRSIGs
//! ```
//!
//! `S` is a slot claimed per lab (a lock file in `/tmp/danebound-lab-slots`),
//! so tests may start labs in parallel. Each level is its own NSD instance,
//! so resolvers follow real referrals from the root down. Zones are built by
//! `tests/lab/build-zones.sh` from the templates in `tests/lab/zones/`, with
//! keys generated and signatures made at start-up, valid from an hour ago to
//! 30 days ahead of the real clock (the resolver under test reads the real
//! clock). The committed fixtures in `tests/data/zones/` come from the same
//! builder with fixed dates.
//!
//! With [`LabOptions::netns`] the whole lab runs inside a network namespace
//! it creates, so that a test can add danebound, Postfix and a resolv.conf
//! of its own there (issue 6's end-to-end tests).
//!
//! What it does not do: it never sends a packet off loopback (or off its
//! namespace), and it never touches the host's resolver configuration.
//!
//! ```no_run
//! use danebound_tests::lab::{Lab, CASES};
//! let Some(lab) = Lab::start_or_skip("my_test") else { return };
//! for case in CASES {
//!     let reply = lab.query(lab.oracle().unwrap(), case.qname, case.qtype).unwrap();
//!     assert_eq!(reply.rcode(), case.rcode, "{}", case.name);
//! }
//! ```
//!
//! Needs root (port 53 on 127.53.x.y) and the Debian packages nsd, unbound,
//! ldnsutils and bind9-utils; [`Lab::start_or_skip`] skips with a message when
//! they are missing, unless `DANEBOUND_REQUIRE_LAB` or `CI` is set, in which
//! case it fails.

pub mod attack;
mod cases;
mod danebound;
mod dig;
mod netns;
mod proxy;
pub mod rollover;
mod servers;
mod tls;

use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::rr::RecordType;

pub use cases::{CASE_ZONES, CASES, Case, Verdict, case};
pub use danebound::Danebound;
pub use dig::{Ede, QueryOptions, Reply, query};
pub use proxy::{ForgingProxy, LossyProxy, StrippingProxy};
pub use tls::DotUpstream;

use netns::Netns;
use servers::{Server, Slot};

use crate::skip::{Need, skip};

/// Where the lab's scripts and templates live.
const LAB_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab");
/// The committed fixture keys (see `tests/data/zones/README.md`).
const FIXTURE_KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/zones/keys");
/// How long servers get to start answering. NSD hashes every NSEC3 name
/// at load: the attack zone with 2,500 iterations took 13 s on the loaded
/// test machine.
const START_TIMEOUT: Duration = Duration::from_secs(40);
/// Programs the lab runs.
const REQUIRED: &[&str] = &[
    "nsd",
    "unbound",
    "ldns-keygen",
    "ldns-signzone",
    "ldns-key2ds",
    "dnssec-keygen",
    "dnssec-signzone",
    "bash",
];
/// Extra directories searched for programs (`cargo test` may run without
/// the sbin directories in PATH).
const EXTRA_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Why a lab did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum LabError {
    /// Not root, or a program is missing: tests should skip (see
    /// [`Lab::start_or_skip`]).
    Unavailable(String),
    /// Building zones or starting a server failed.
    Setup(String),
    /// A file or process operation failed.
    Io {
        /// What the lab was doing.
        what: String,
        /// The error.
        source: io::Error,
    },
}

impl LabError {
    fn io(what: &str, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "lab unavailable: {why}"),
            Self::Setup(why) => write!(f, "lab setup failed: {why}"),
            Self::Io { what, source } => write!(f, "lab: {what}: {source}"),
        }
    }
}

impl std::error::Error for LabError {}

/// Where the lab's keys come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Keys {
    /// Generated at start-up by ldns-keygen and dnssec-keygen (a few
    /// seconds of RSA key generation).
    #[default]
    Fresh,
    /// Copied from the committed fixture keys (`tests/data/zones/keys`):
    /// faster, and the trust anchor is the fixtures' one. Zones are still
    /// signed at start-up.
    Fixtures,
}

/// How to start a lab. `LabOptions::default()` starts everything.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// Start the non-validating unbound upstream.
    pub upstream: bool,
    /// Start the validating unbound reference oracle.
    pub oracle: bool,
    /// Where keys come from.
    pub keys: Keys,
    /// Extra records per zone, appended before signing: (zone, zone-file
    /// text with names relative to the zone). For TLSA and MX records of
    /// DANE tests, say. `@NET@` in the text is replaced by the lab's first
    /// three address octets (see [`Lab::address`]).
    pub extra_records: Vec<(String, String)>,
    /// Run every server inside a network namespace the lab creates (named
    /// `danebound-lab-SLOT`, deleted on drop), as issue 6's end-to-end tests
    /// need: programs started with [`Lab::command`] share it, and
    /// [`Lab::set_resolv_conf`] points their resolver somewhere. Queries from
    /// the test process ([`Lab::query`]) then go over TCP through
    /// `ip netns exec` (needs iproute2).
    pub netns: bool,
    /// Also start an upstream that strips RRSIGs: a UDP proxy in front of
    /// the upstream (127.53.S.12, see [`Lab::stripping_upstream`]). Needs
    /// `upstream`; not available with `netns`.
    pub stripping_upstream: bool,
    /// The upstream also serves DNS over TLS (RFC 7858) on port 853, with
    /// a certificate for [`DotUpstream::NAME`] from a lab CA made by
    /// openssl (see [`Lab::dot_upstream`]). Needs `upstream`.
    pub dot_upstream: bool,
    /// Also serve the attack zones of [`attack`] (KeyTrap, DS flood, NSEC3
    /// with 2,500 iterations, a 62 KB DNSKEY set, a deep CNAME chain, an
    /// NXNS delegation) beside the case zones.
    pub attack_zones: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            upstream: true,
            oracle: true,
            keys: Keys::Fresh,
            extra_records: Vec::new(),
            netns: false,
            stripping_upstream: false,
            dot_upstream: false,
            attack_zones: false,
        }
    }
}

/// The lab's authoritative servers, one per level of the hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `.`
    Root,
    /// `test.`
    Tld,
    /// `example.test.`
    Example,
    /// The case zones (children of example.test.).
    Cases,
    /// Unsigned zones below insecure delegations of case zones.
    Unsigned,
}

impl Level {
    const ALL: [Self; 5] = [
        Self::Root,
        Self::Tld,
        Self::Example,
        Self::Cases,
        Self::Unsigned,
    ];

    fn number(self) -> u8 {
        match self {
            Self::Root => 0,
            Self::Tld => 1,
            Self::Example => 2,
            Self::Cases => 3,
            Self::Unsigned => 4,
        }
    }

    fn host(self) -> u8 {
        self.number() + 1
    }
}

/// One zone the lab serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabZone {
    /// Absolute zone name (`.` for the root).
    pub name: String,
    /// Which server serves it.
    pub level: Level,
    /// The signed zone file.
    pub file: PathBuf,
}

/// A running lab. Dropping it stops every server and removes its files.
#[derive(Debug)]
pub struct Lab {
    // Field order matters for the drop order after `Drop::drop`: the slot
    // lock goes last.
    servers: Vec<Server>,
    dir: PathBuf,
    zones: Vec<LabZone>,
    trust_anchor: String,
    upstream: Option<SocketAddr>,
    oracle: Option<SocketAddr>,
    timings: Vec<(&'static str, Duration)>,
    stripping: Option<(SocketAddr, StrippingProxy)>,
    dot: Option<DotUpstream>,
    netns: Option<Netns>,
    slot: Slot,
}

// ---------------------------------------------------------------------------
// Start and stop
// ---------------------------------------------------------------------------

impl Lab {
    /// Starts a lab with every server.
    pub fn start() -> Result<Self, LabError> {
        Self::start_with(LabOptions::default())
    }

    /// Starts a lab with every server, or prints why it cannot and returns
    /// `None` so the test can return early. When `DANEBOUND_REQUIRE_LAB` or
    /// `CI` is set, an unavailable lab is a failure instead. Setup errors
    /// always fail.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        Self::start_with_or_skip(test, LabOptions::default())
    }

    /// [`Lab::start_or_skip`] with options.
    pub fn start_with_or_skip(test: &str, options: LabOptions) -> Option<Self> {
        match Self::start_with(options) {
            Ok(lab) => Some(lab),
            Err(LabError::Unavailable(why)) => {
                skip(Need::Lab, test, &why);
                None
            }
            Err(e) => panic!("{test}: {e}"),
        }
    }

    /// Starts a lab.
    pub fn start_with(options: LabOptions) -> Result<Self, LabError> {
        let started = Instant::now();
        check_available()?;
        let slot = Slot::claim()?;
        let dir = lab_dir(slot.number)?;
        let mut lab = Self {
            servers: Vec::new(),
            dir,
            zones: Vec::new(),
            trust_anchor: String::new(),
            upstream: None,
            oracle: None,
            timings: Vec::new(),
            stripping: None,
            dot: None,
            netns: None,
            slot,
        };
        if options.netns {
            lab.netns = Some(Netns::create(&lab.slot.netns_name())?);
        }
        let mut phase = Instant::now();
        lab.build_zones(&options)?;
        lab.timings.push(("keys and signing", phase.elapsed()));
        phase = Instant::now();
        lab.start_authoritatives()?;
        lab.timings.push(("authoritative servers", phase.elapsed()));
        phase = Instant::now();
        lab.start_resolvers(&options)?;
        if options.stripping_upstream {
            lab.start_stripping_upstream()?;
        }
        lab.timings.push(("resolvers", phase.elapsed()));
        lab.timings.push(("total", started.elapsed()));
        Ok(lab)
    }

    fn build_zones(&mut self, options: &LabOptions) -> Result<(), LabError> {
        let keys = self.dir.join("keys");
        if options.keys == Keys::Fixtures {
            copy_dir(Path::new(FIXTURE_KEYS), &keys)?;
        }
        let out = self.dir.join("zones");
        let mut command = Command::new("bash");
        command
            .arg(format!("{LAB_SOURCE}/build-zones.sh"))
            .arg("--out")
            .arg(&out)
            .arg("--keys")
            .arg(&keys)
            .arg("--net")
            .arg(format!("127.53.{}", self.slot.number))
            // RSA-1024 case-zone keys generate several times faster than
            // RSA-2048; the root keeps 2048 bits.
            .arg("--rsa-bits")
            .arg("1024")
            .env("PATH", search_path());
        let mut extra_records = options.extra_records.clone();
        let attack = if options.attack_zones {
            let built = attack::build(&self.dir.join("attack"), &out)?;
            extra_records.push(("example.test.".into(), built.parent_records.clone()));
            built.zones
        } else {
            Vec::new()
        };
        if !extra_records.is_empty() {
            let extra = self.dir.join("extra");
            fs::create_dir_all(&extra).map_err(|e| LabError::io("creating extra dir", e))?;
            for (zone, text) in &extra_records {
                let stem = match zone.trim_end_matches('.') {
                    "" => "root",
                    name => name,
                };
                let path = extra.join(format!("{stem}.extra"));
                let mut all = fs::read_to_string(&path).unwrap_or_default();
                all.push_str(&text.replace("@NET@", &format!("127.53.{}", self.slot.number)));
                all.push('\n');
                fs::write(&path, all).map_err(|e| LabError::io("writing extra records", e))?;
            }
            command.arg("--extra").arg(&extra);
        }
        let output = command
            .output()
            .map_err(|e| LabError::io("running build-zones.sh", e))?;
        if !output.status.success() {
            return Err(LabError::Setup(format!(
                "build-zones.sh failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let list = fs::read_to_string(out.join("zones.list"))
            .map_err(|e| LabError::io("reading zones.list", e))?;
        for line in list.lines() {
            let mut fields = line.split_whitespace();
            let (Some(level), Some(name), Some(file)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let level = Level::ALL
                .into_iter()
                .find(|l| l.number().to_string() == level)
                .ok_or_else(|| LabError::Setup(format!("zones.list: bad level in {line:?}")))?;
            self.zones.push(LabZone {
                name: name.into(),
                level,
                file: out.join(file),
            });
        }
        for (name, file) in attack {
            self.zones.push(LabZone {
                name,
                level: Level::Cases,
                file: out.join(file),
            });
        }
        self.trust_anchor = fs::read_to_string(out.join("trust-anchor.ds"))
            .map_err(|e| LabError::io("reading trust-anchor.ds", e))?;
        let hints = format!(
            ".           3600000 IN NS ns0.test.\nns0.test.   3600000 IN A  {}\n",
            self.slot.addr(Level::Root.host())
        );
        fs::write(self.root_hints_file(), hints).map_err(|e| LabError::io("writing hints", e))
    }

    fn start_authoritatives(&mut self) -> Result<(), LabError> {
        let zones_dir = self.dir.join("zones");
        let first = self.servers.len();
        for level in Level::ALL {
            let zones: Vec<(&str, &str)> = self
                .zones
                .iter()
                .filter(|z| z.level == level)
                .map(|z| {
                    let file = z.file.file_name().and_then(|f| f.to_str()).unwrap_or("");
                    (z.name.as_str(), file)
                })
                .collect();
            let state = self.dir.join(format!("nsd{}", level.number()));
            fs::create_dir_all(&state).map_err(|e| LabError::io("creating NSD dir", e))?;
            let addr = self.slot.addr(level.host());
            let conf = state.join("nsd.conf");
            fs::write(&conf, servers::nsd_conf(addr, &zones_dir, &state, &zones))
                .map_err(|e| LabError::io("writing nsd.conf", e))?;
            let conf = conf.to_string_lossy().into_owned();
            self.servers.push(Server::spawn(
                &format!("nsd ({level:?})"),
                SocketAddr::new(IpAddr::V4(addr), 53),
                &self.server_program("nsd")?,
                &["-d", "-c", &conf],
                state.join("nsd.log"),
                &self.slot,
                self.netns.as_ref(),
            )?);
        }
        let deadline = Instant::now() + START_TIMEOUT;
        for (server, level) in self.servers[first..].iter_mut().zip(Level::ALL) {
            let probe = self
                .zones
                .iter()
                .find(|z| z.level == level)
                .map_or(".", |z| z.name.as_str());
            server.wait_ready(probe, deadline, self.netns.as_ref())?;
        }
        Ok(())
    }

    fn start_resolvers(&mut self, options: &LabOptions) -> Result<(), LabError> {
        let anchor = self.trust_anchor_file();
        let mut wanted = Vec::new();
        if options.dot_upstream {
            if !options.upstream {
                return Err(LabError::Setup(
                    "the DNS-over-TLS upstream needs the upstream".into(),
                ));
            }
            let dir = self.dir.join("upstream");
            fs::create_dir_all(&dir).map_err(|e| LabError::io("creating unbound dir", e))?;
            self.dot = Some(tls::make(&dir, self.slot.addr(10))?);
        }
        if options.upstream {
            wanted.push(("upstream", 10, None));
        }
        if options.oracle {
            wanted.push(("oracle", 11, Some(anchor.as_path())));
        }
        let first = self.servers.len();
        for (name, host, anchor) in &wanted {
            let dir = self.dir.join(name);
            fs::create_dir_all(&dir).map_err(|e| LabError::io("creating unbound dir", e))?;
            let addr = self.slot.addr(*host);
            let conf = dir.join("unbound.conf");
            let mut text = servers::unbound_conf(addr, &dir, &self.root_hints_file(), *anchor);
            if anchor.is_none()
                && let Some(dot) = &self.dot
            {
                text = tls::unbound_conf(text, dot);
            }
            fs::write(&conf, text).map_err(|e| LabError::io("writing unbound.conf", e))?;
            let conf = conf.to_string_lossy().into_owned();
            let socket = SocketAddr::new(IpAddr::V4(addr), 53);
            self.servers.push(Server::spawn(
                &format!("unbound ({name})"),
                socket,
                &self.server_program("unbound")?,
                &["-d", "-c", &conf],
                dir.join("unbound.log"),
                &self.slot,
                self.netns.as_ref(),
            )?);
            if anchor.is_some() {
                self.oracle = Some(socket);
            } else {
                self.upstream = Some(socket);
            }
        }
        let deadline = Instant::now() + START_TIMEOUT;
        for server in &mut self.servers[first..] {
            server.wait_ready(".", deadline, self.netns.as_ref())?;
        }
        Ok(())
    }
}

impl Lab {
    fn start_stripping_upstream(&mut self) -> Result<(), LabError> {
        if self.netns.is_some() {
            return Err(LabError::Setup(
                "the stripping upstream runs in the test process: not with netns".into(),
            ));
        }
        let upstream = self
            .upstream
            .ok_or_else(|| LabError::Setup("the stripping upstream needs the upstream".into()))?;
        let listen = SocketAddr::new(IpAddr::V4(self.slot.addr(12)), 53);
        let proxy = StrippingProxy::start(listen, upstream)
            .map_err(|e| LabError::io("starting the stripping upstream", e))?;
        self.stripping = Some((listen, proxy));
        Ok(())
    }

    /// The path to run server `name` from. Debian ships an AppArmor profile
    /// for /usr/sbin/unbound that forbids reading the lab's files; where such
    /// a profile is enforced, the lab runs a copy of the binary from its own
    /// directory, to which the profile does not attach.
    fn server_program(&self, name: &str) -> Result<String, LabError> {
        let path = find_program(name)?;
        let profiles =
            fs::read_to_string("/sys/kernel/security/apparmor/profiles").unwrap_or_default();
        let confined = profiles.lines().any(|line| {
            line.ends_with("(enforce)")
                && (line.starts_with(&format!("{name} ")) || line.starts_with(&format!("{path} ")))
        });
        if !confined {
            return Ok(path);
        }
        let copy = self.dir.join("bin").join(name);
        if !copy.exists() {
            fs::create_dir_all(self.dir.join("bin"))
                .map_err(|e| LabError::io("creating bin dir", e))?;
            fs::copy(&path, &copy).map_err(|e| LabError::io("copying a server binary", e))?;
        }
        Ok(copy.to_string_lossy().into_owned())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Stop the processes before removing their files; the slot lock is
        // released afterwards, when the field drops.
        self.stripping = None;
        self.servers.clear();
        if std::env::var_os("DANEBOUND_KEEP_LAB").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("lab files kept in {}", self.dir.display());
        }
    }
}

// ---------------------------------------------------------------------------
// What a running lab exposes
// ---------------------------------------------------------------------------

impl Lab {
    /// The non-validating recursive unbound: the forwarding-mode upstream.
    /// `None` when started without it.
    pub fn upstream(&self) -> Option<SocketAddr> {
        self.upstream
    }

    /// The upstream's DNS-over-TLS side: address, name, CA and pin. `None`
    /// unless started with [`LabOptions::dot_upstream`].
    pub fn dot_upstream(&self) -> Option<&DotUpstream> {
        self.dot.as_ref()
    }

    /// An upstream that relays to [`Lab::upstream`] and removes every RRSIG
    /// from the answers (UDP only). `None` unless started with
    /// [`LabOptions::stripping_upstream`].
    pub fn stripping_upstream(&self) -> Option<SocketAddr> {
        self.stripping.as_ref().map(|(addr, _)| *addr)
    }

    /// The validating unbound with the lab's trust anchor: the reference
    /// oracle. `None` when started without it.
    pub fn oracle(&self) -> Option<SocketAddr> {
        self.oracle
    }

    /// The authoritative server of one level (port 53).
    pub fn server(&self, level: Level) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.slot.addr(level.host())), 53)
    }

    /// The DS record of the lab root's KSK, in presentation format: the only
    /// trust anchor a validator needs.
    pub fn trust_anchor(&self) -> &str {
        &self.trust_anchor
    }

    /// The trust anchor as a file (for `--trust-anchor PATH`).
    pub fn trust_anchor_file(&self) -> PathBuf {
        self.dir.join("zones").join("trust-anchor.ds")
    }

    /// A root hints file naming the lab root (for a recursive resolver).
    pub fn root_hints_file(&self) -> PathBuf {
        self.dir.join("root.hints")
    }

    /// Every zone served, root first.
    pub fn zones(&self) -> &[LabZone] {
        &self.zones
    }

    /// The lab's working directory (zones, keys, configs, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lab's address slot: servers live on 127.53.`slot`.x.
    pub fn slot(&self) -> u8 {
        self.slot.number
    }

    /// How long [`Lab::start_with`] took, in total.
    pub fn started_in(&self) -> Duration {
        self.timings
            .iter()
            .find(|(what, _)| *what == "total")
            .map_or(Duration::ZERO, |(_, d)| *d)
    }

    /// How long each start-up phase took ("keys and signing",
    /// "authoritative servers", "resolvers", "total").
    pub fn timings(&self) -> &[(&'static str, Duration)] {
        &self.timings
    }

    /// Asks `server` with [`QueryOptions::default()`] (RD, DO), from inside
    /// the lab's namespace if it has one.
    pub fn query(&self, server: SocketAddr, name: &str, rtype: RecordType) -> io::Result<Reply> {
        self.query_with(server, name, rtype, &QueryOptions::default())
    }

    /// Asks `server` with `options`, from inside the lab's namespace if it
    /// has one.
    pub fn query_with(
        &self,
        server: SocketAddr,
        name: &str,
        rtype: RecordType,
        options: &QueryOptions,
    ) -> io::Result<Reply> {
        match &self.netns {
            Some(netns) => dig::query_in_netns(netns.name(), server, name, rtype, options),
            None => query(server, name, rtype, options),
        }
    }

    /// Address `host` of the lab's /24 (127.53.SLOT.host). Taken: 1-5
    /// (authoritative servers), 10 (upstream), 11 (oracle), 12 (stripping
    /// upstream). Tests may use
    /// 20-250 for their own servers (an MX, danebound itself).
    pub fn address(&self, host: u8) -> Ipv4Addr {
        self.slot.addr(host)
    }

    /// The lab's network namespace, if started with [`LabOptions::netns`].
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(Netns::name)
    }

    /// A command for `program`, run inside the lab's namespace if it has
    /// one (through `ip netns exec`), else a plain [`Command`].
    pub fn command(&self, program: &str) -> Command {
        match &self.netns {
            Some(netns) => netns.command(program),
            None => Command::new(program),
        }
    }

    /// Writes the namespace's `/etc/resolv.conf` (as seen by programs run
    /// with [`Lab::command`]): `nameservers` and `options trust-ad`, without
    /// which glibc strips the AD bit. Removed with the namespace. Fails
    /// without a namespace: the host's resolv.conf is never touched.
    pub fn set_resolv_conf(&self, nameservers: &[IpAddr]) -> Result<(), LabError> {
        let netns = self
            .netns
            .as_ref()
            .ok_or_else(|| LabError::Setup("set_resolv_conf needs LabOptions::netns".into()))?;
        let dir = netns.etc_dir();
        fs::create_dir_all(&dir).map_err(|e| LabError::io("creating /etc/netns dir", e))?;
        let mut text = String::new();
        for ns in nameservers {
            text.push_str(&format!("nameserver {ns}\n"));
        }
        text.push_str("options trust-ad\n");
        fs::write(dir.join("resolv.conf"), text).map_err(|e| LabError::io("writing resolv.conf", e))
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn check_available() -> Result<(), LabError> {
    if !is_root() {
        return Err(LabError::Unavailable(
            "needs root (servers listen on port 53 of 127.53.x.y)".into(),
        ));
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|p| find_program(p).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(LabError::Unavailable(format!(
            "missing programs: {} (Debian packages nsd unbound ldnsutils bind9-utils; see scripts/test.sh)",
            missing.join(" ")
        )));
    }
    Ok(())
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

fn search_path() -> String {
    match std::env::var("PATH") {
        Ok(path) if !path.is_empty() => format!("{path}:{EXTRA_PATH}"),
        _ => EXTRA_PATH.into(),
    }
}

fn find_program(name: &str) -> Result<String, LabError> {
    search_path()
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| LabError::Unavailable(format!("{name} not found")))
}

fn lab_dir(slot: u8) -> Result<PathBuf, LabError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "{}{}-{slot}-{nanos}",
        servers::DIR_MARKER,
        std::process::id()
    ));
    fs::create_dir_all(&dir).map_err(|e| LabError::io("creating lab dir", e))?;
    Ok(dir)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), LabError> {
    fs::create_dir_all(to).map_err(|e| LabError::io("creating key dir", e))?;
    for entry in fs::read_dir(from).map_err(|e| LabError::io("reading fixture keys", e))? {
        let entry = entry.map_err(|e| LabError::io("reading fixture keys", e))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).map_err(|e| LabError::io("copying a key", e))?;
        }
    }
    Ok(())
}
