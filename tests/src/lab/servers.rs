//! The lab's processes: address slots, NSD and unbound configurations, start,
//! readiness and stop.
//!
//! Every server runs in its own process group so that stopping it also stops
//! the children NSD forks. Stopping sends SIGTERM to the group (through
//! bash's `kill`: the workspace forbids `unsafe`, so no `libc::kill`), waits,
//! then SIGKILLs the leader as a last resort.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use super::LabError;
use super::dig::{self, QueryOptions};
use super::netns::{self, Netns};

// ---------------------------------------------------------------------------
// Slots: each running lab owns 127.53.SLOT.0/24
// ---------------------------------------------------------------------------

/// Where slot lock files live. A lock file holds the owner's pid, then one
/// line per started server: its process group id.
const LOCK_DIR: &str = "/tmp/danebound-lab-slots";

/// Marker in every lab directory name; used to recognise stale lab processes
/// before killing them.
pub(crate) const DIR_MARKER: &str = "danebound-lab-";

/// A claimed slot: the lab's addresses are 127.53.`number`.x. Released (lock
/// file removed) on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) number: u8,
    lock: PathBuf,
}

impl Slot {
    /// Claims the first free slot in 1..=254, reclaiming slots whose owner
    /// process is gone (and killing that owner's leftover servers).
    pub(crate) fn claim() -> Result<Self, LabError> {
        fs::create_dir_all(LOCK_DIR).map_err(|e| LabError::io("creating slot lock dir", e))?;
        for number in 1..=254u8 {
            let lock = Path::new(LOCK_DIR).join(format!("slot-{number}"));
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => {
                    fs::write(&lock, format!("{}\n", std::process::id()))
                        .map_err(|e| LabError::io("writing slot lock", e))?;
                    return Ok(Self { number, lock });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if reclaim_stale(&lock) {
                        // Someone else may grab it first; try it again next
                        // round rather than racing here.
                        continue;
                    }
                }
                Err(e) => return Err(LabError::io("creating slot lock", e)),
            }
        }
        Err(LabError::Setup(
            "no free lab slot in 127.53.1-254.0/24".into(),
        ))
    }

    /// The name of the network namespace a lab in this slot may create.
    pub(crate) fn netns_name(&self) -> String {
        netns_name(&self.number.to_string())
    }

    /// The address of host `host` in this slot.
    pub(crate) fn addr(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 53, self.number, host)
    }

    /// Records a started server's process group, so that a later lab can
    /// clean up if this process dies without running destructors.
    pub(crate) fn record_pgid(&self, pgid: u32) {
        if let Ok(mut text) = fs::read_to_string(&self.lock) {
            let _ = writeln!(text, "{pgid}");
            let _ = fs::write(&self.lock, text);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
    }
}

/// If the lock's owner is dead, kills its recorded servers (only processes
/// whose command line names a lab directory) and removes the lock. Returns
/// whether the lock was removed.
fn reclaim_stale(lock: &Path) -> bool {
    let Ok(text) = fs::read_to_string(lock) else {
        return false;
    };
    let mut lines = text.lines();
    let owner = lines.next().unwrap_or("").trim();
    if owner.is_empty() {
        // Being written right now, or garbage: leave it.
        return false;
    }
    if Path::new("/proc").join(owner).exists() {
        return false;
    }
    for pgid in lines.map(str::trim).filter(|l| !l.is_empty()) {
        let cmdline = fs::read(format!("/proc/{pgid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(DIR_MARKER) {
            signal_group("TERM", pgid);
        }
    }
    if let Some(number) = lock
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("slot-"))
    {
        netns::delete(&netns_name(number));
    }
    fs::remove_file(lock).is_ok()
}

/// Sends `signal` to process group `pgid` with bash's built-in `kill` (no
/// procps needed).
fn netns_name(slot: &str) -> String {
    format!("{DIR_MARKER}{slot}")
}

fn signal_group(signal: &str, pgid: &str) {
    let _ = Command::new("bash")
        .args(["-c", &format!("kill -{signal} -- -{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// One running server. Stopped on drop.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `program args…` (inside `netns` if given) in its own process
    /// group with stdout and stderr into `log`.
    pub(crate) fn spawn(
        name: &str,
        addr: SocketAddr,
        program: &str,
        args: &[&str],
        log: PathBuf,
        slot: &Slot,
        netns: Option<&Netns>,
    ) -> Result<Self, LabError> {
        let out = fs::File::create(&log).map_err(|e| LabError::io("creating server log", e))?;
        let err = out
            .try_clone()
            .map_err(|e| LabError::io("cloning log handle", e))?;
        let mut command = match netns {
            Some(netns) => netns.command(program),
            None => Command::new(program),
        };
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| LabError::io(&format!("starting {program}"), e))?;
        slot.record_pgid(child.id());
        Ok(Self {
            name: name.into(),
            addr,
            child,
            log,
        })
    }

    /// Waits until the server answers a query for `probe` (any rcode will
    /// do: it is listening), or fails with its log when it exits or the
    /// deadline passes.
    pub(crate) fn wait_ready(
        &mut self,
        probe: &str,
        deadline: Instant,
        netns: Option<&Netns>,
    ) -> Result<(), LabError> {
        let options = QueryOptions {
            recursion_desired: false,
            timeout: Duration::from_millis(200),
            ..QueryOptions::default()
        };
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LabError::Setup(format!(
                    "{} exited during start-up ({status}):\n{}",
                    self.name,
                    self.log_tail()
                )));
            }
            let answered = match netns {
                Some(netns) => {
                    dig::query_in_netns(netns.name(), self.addr, probe, RecordType::SOA, &options)
                }
                None => dig::query(self.addr, probe, RecordType::SOA, &options),
            };
            if answered.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LabError::Setup(format!(
                    "{} did not answer on {} in time:\n{}",
                    self.name,
                    self.addr,
                    self.log_tail()
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL the whole process group at once (a crash, `kill -9`).
    pub(crate) fn kill_hard(mut self) {
        signal_group("KILL", &self.child.id().to_string());
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pgid = self.child.id().to_string();
        signal_group("TERM", &pgid);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure no forked child lingers.
                signal_group("KILL", &pgid);
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        signal_group("KILL", &pgid);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------

/// An NSD configuration serving `zones` (name, file) from `zones_dir` on
/// `addr`:53, with its state files in `state_dir`, and `nsd-control` on a
/// local socket there (`scripts/bench-cold.sh` reads its query counters).
/// Response rate limiting is off: every query in the lab comes from one
/// address (the upstream's), and `scripts/bench-vs-unbound.sh` fills caches
/// with 100,000 wildcard answers, which NSD's default 200 q/s per wildcard
/// would turn into timeouts.
pub(crate) fn nsd_conf(
    addr: Ipv4Addr,
    zones_dir: &Path,
    state_dir: &Path,
    zones: &[(&str, &str)],
) -> String {
    let state = state_dir.display();
    let mut conf = format!(
        "server:\n  ip-address: {addr}\n  port: 53\n  server-count: 1\n  \
         username: \"\"\n  chroot: \"\"\n  zonesdir: \"{zones}\"\n  \
         database: \"\"\n  zonelistfile: \"{state}/zone.list\"\n  \
         xfrdfile: \"{state}/xfrd.state\"\n  xfrdir: \"{state}\"\n  \
         pidfile: \"{state}/nsd.pid\"\n  \
         verbosity: 1\n  hide-version: yes\n  refuse-any: no\n  \
         reuseport: no\n  tcp-count: 64\n  rrl-ratelimit: 0\n\
         remote-control:\n  control-enable: yes\n  \
         control-interface: \"{state}/nsd.ctl\"\n",
        zones = zones_dir.display(),
    );
    for (name, file) in zones {
        let _ = write!(conf, "zone:\n  name: \"{name}\"\n  zonefile: \"{file}\"\n");
    }
    conf
}

/// An unbound configuration: a recursive resolver on `addr`:53 that starts
/// from the lab's root hints. With `trust_anchor`, it validates (the
/// reference oracle); without, it only iterates (the upstream).
pub(crate) fn unbound_conf(
    addr: Ipv4Addr,
    dir: &Path,
    root_hints: &Path,
    trust_anchor: Option<&Path>,
) -> String {
    let modules = if trust_anchor.is_some() {
        "validator iterator"
    } else {
        "iterator"
    };
    let anchor = trust_anchor
        .map(|p| format!("  trust-anchor-file: \"{}\"\n", p.display()))
        .unwrap_or_default();
    format!(
        "server:\n  interface: {addr}\n  port: 53\n  num-threads: 1\n  \
         username: \"\"\n  chroot: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  \
         use-syslog: no\n  verbosity: 1\n  val-log-level: 2\n  ede: yes\n  \
         access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  \
         root-hints: \"{hints}\"\n  local-zone: \"test.\" nodefault\n  \
         module-config: \"{modules}\"\n{anchor}  so-reuseport: no\n  \
         qname-minimisation: no\n  target-fetch-policy: \"0 0 0 0 0\"\n  \
         outgoing-range: 64\n  incoming-num-tcp: 16\n  outgoing-num-tcp: 16\n  \
         msg-cache-size: 4m\n  rrset-cache-size: 4m\n  key-cache-size: 1m\n  \
         neg-cache-size: 1m\n  infra-cache-numhosts: 1000\n\
         remote-control:\n  control-enable: no\n",
        dir = dir.display(),
        hints = root_hints.display(),
    )
}
