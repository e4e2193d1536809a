//! End-to-end support (issue 6): danebound, a Postfix MX and the programs
//! that talk to them, all inside the signed lab's network namespace.
//!
//! ```text
//!   namespace danebound-lab-S (LabOptions::netns)
//!     lab: NSD per level, unbound upstream 127.53.S.10 (no validation)
//!     danebound serve 127.0.0.1:53 --forward upstream --trust-anchor lab
//!     /etc/resolv.conf (bind-mounted): nameserver 127.0.0.1, options trust-ad
//!     Postfix master + smtpd on the MX addresses 127.53.S.20, .21 (STARTTLS)
//!     posttls-finger, danebound dane check: run with Lab::command
//! ```
//!
//! * [`Daemon`]: a process in its own process group, stopped on drop (also
//!   on panic).
//! * [`Danebound`]: `danebound serve` in the namespace; [`danebound_binary`]
//!   finds (and if need be builds) the binary.
//! * [`certs`]: certificates and TLSA digests made by `openssl` at test time.
//! * [`postfix`]: a private Postfix instance and `posttls-finger`.
//! * [`TempDir`]: a scratch directory removed on drop.
//!
//! Used by `tests/tests/e2e_postfix.rs`.

pub mod certs;
pub mod postfix;

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::rr::RecordType;

use crate::lab::{Lab, QueryOptions};

/// Directories searched for programs besides `PATH` (`cargo test` may run
/// without the sbin directories in PATH).
const EXTRA_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Removes the variables cargo sets for tests from `command`'s environment,
/// so that a cargo it runs does not rebuild everything (build scripts such
/// as ring's watch `CARGO_MANIFEST_DIR`).
pub fn without_test_cargo_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_for_tests = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_CFG_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref());
        if set_for_tests {
            command.env_remove(key.as_ref());
        }
    }
}

/// Where `name` is, searching `PATH` and the sbin directories.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = match std::env::var("PATH") {
        Ok(path) if !path.is_empty() => format!("{path}:{EXTRA_PATH}"),
        _ => EXTRA_PATH.into(),
    };
    path.split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

// ---------------------------------------------------------------------------
// Scratch directory
// ---------------------------------------------------------------------------

/// A directory under the system temp dir, removed on drop unless
/// `DANEBOUND_KEEP_LAB` is set (then its path is printed).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `/tmp/danebound-e2e-PREFIX-PID-NANOS`.
    pub fn new(prefix: &str) -> io::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "danebound-e2e-{prefix}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("DANEBOUND_KEEP_LAB").is_some() {
            eprintln!("e2e files kept in {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// A long-running process in its own process group, with stdout and stderr
/// in a log file. Dropping it sends SIGTERM to the group, waits up to 5 s,
/// then SIGKILLs the group.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command` (stdin from /dev/null, output into `log`) as the
    /// leader of a new process group.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> io::Result<Self> {
        command.process_group(0);
        Self::spawn_session_leader(name, command, log)
    }

    /// Starts `command`, a program that makes itself a session (and so
    /// process group) leader with `setsid()`, like Postfix's master: it
    /// must not be a group leader already, or `setsid()` fails.
    pub fn spawn_session_leader(name: &str, mut command: Command, log: &Path) -> io::Result<Self> {
        let out = fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        Ok(Self {
            name: name.into(),
            child,
            log: log.to_path_buf(),
        })
    }

    /// The process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with the end of the log if the process has exited.
    pub fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}):\n{}",
                self.name,
                self.log_tail(30)
            )),
            _ => Ok(()),
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pgid = self.child.id().to_string();
        signal_group("TERM", &pgid);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        // Whatever the leader left behind (Postfix children exit on their
        // own when the master goes, but do not wait for that).
        signal_group("KILL", &pgid);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to process group `pgid` with bash's built-in `kill` (the
/// workspace forbids `unsafe`, so no `libc::kill`).
fn signal_group(signal: &str, pgid: &str) {
    let _ = Command::new("bash")
        .args(["-c", &format!("kill -{signal} -- -{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs `command`, killing it after `timeout`; returns its exit code (`None`
/// when killed or signalled) and its stdout and stderr, merged in that order.
pub fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> io::Result<(Option<i32>, String, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pgid = child.id().to_string();
    // Read both pipes on threads so a chatty child cannot block.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = thread::spawn(move || read_all(stdout.as_mut()));
    let err = thread::spawn(move || read_all(stderr.as_mut()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() > deadline {
            signal_group("KILL", &pgid);
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    Ok((status.and_then(|s| s.code()), out, err))
}

fn read_all(pipe: Option<&mut impl io::Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------
// The danebound binary
// ---------------------------------------------------------------------------

/// The `danebound` binary to test.
///
/// `DANEBOUND_BIN` names it explicitly. Otherwise it is the binary of the
/// `danebound` crate in the same target directory and profile as the running
/// test (`…/target/debug/deps/e2e_postfix-HASH` → `…/target/debug/danebound`).
/// `cargo test --workspace` builds it (the CLI's own tests use it), so it is
/// normally there and up to date. If it is missing or older than any source
/// file of the crates it is made of (a lone `cargo test -p danebound-tests`
/// after an edit), it is built first with `cargo build -p danebound`, run
/// without the `CARGO_PKG_*`-style variables cargo sets for tests (build
/// scripts such as ring's watch `CARGO_MANIFEST_DIR`, and would rebuild).
pub fn danebound_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("DANEBOUND_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("DANEBOUND_BIN={} does not exist", path.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // …/target/<profile>/deps/<test> → …/target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected test path {}", exe.display()))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("unexpected test path {}", exe.display()))?;
    let binary = profile_dir.join("danebound");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace directory")?;
    let built = fs::metadata(&binary).and_then(|m| m.modified()).ok();
    let sources = newest_source(workspace);
    match (built, sources) {
        (Some(built), Some(sources)) if built >= sources => return Ok(binary),
        (Some(_), None) => return Ok(binary),
        _ => {}
    }
    eprintln!(
        "{} is missing or older than its sources: cargo build -p danebound",
        binary.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", "danebound", "--bin", "danebound"])
        .env("CARGO_TARGET_DIR", target_dir);
    without_test_cargo_env(&mut command);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(other) => {
            command.args(["--profile", other]);
        }
    }
    match run_with_timeout(command, Duration::from_secs(1200)) {
        Ok((Some(0), _, _)) => {}
        Ok((code, _, err)) => {
            return Err(format!(
                "`cargo build -p danebound` failed ({code:?}):\n{err}"
            ));
        }
        Err(e) => return Err(format!("cannot run cargo to build danebound: {e}")),
    }
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("{} not found after building", binary.display()))
    }
}

/// The newest modification time of the sources the `danebound` binary is
/// built from: the crates' `src/` trees and manifests, the workspace
/// manifest and lock file.
fn newest_source(workspace: &Path) -> Option<SystemTime> {
    fn walk(path: &Path, newest: &mut Option<SystemTime>) {
        let Ok(meta) = fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            if let Ok(entries) = fs::read_dir(path) {
                for entry in entries.flatten() {
                    walk(&entry.path(), newest);
                }
            }
        } else if let Ok(modified) = meta.modified()
            && newest.is_none_or(|n| modified > n)
        {
            *newest = Some(modified);
        }
    }
    let mut newest = None;
    for file in ["Cargo.toml", "Cargo.lock"] {
        walk(&workspace.join(file), &mut newest);
    }
    for krate in ["cli", "resolver", "verifier", "trust-anchors"] {
        walk(&workspace.join(krate).join("src"), &mut newest);
        walk(&workspace.join(krate).join("Cargo.toml"), &mut newest);
    }
    newest
}

/// Whether `binary` has the `dane check` subcommand (`danebound dane check
/// --help` exits 0).
pub fn has_dane_check(binary: &Path) -> bool {
    let mut command = Command::new(binary);
    command.args(["dane", "check", "--help"]);
    matches!(
        run_with_timeout(command, Duration::from_secs(10)),
        Ok((Some(0), _, _))
    )
}

// ---------------------------------------------------------------------------
// danebound serve in the namespace
// ---------------------------------------------------------------------------

/// `danebound serve` on 127.0.0.1:53 inside the lab's namespace, forwarding
/// to the lab's non-validating upstream or recursive from the lab's root
/// hints, with the lab's trust anchor and no default local zones (`test.` is
/// special-use). Stopped on drop.
#[derive(Debug)]
pub struct Danebound {
    daemon: Daemon,
    addr: SocketAddr,
}

impl Danebound {
    /// Where it listens.
    pub const ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

    /// Starts it (forwarding to the lab's upstream) and waits (up to 20 s)
    /// until it answers a query.
    pub fn start(lab: &Lab, binary: &Path, dir: &Path) -> Result<Self, String> {
        Self::start_in_mode(lab, binary, dir, false)
    }

    /// Starts it in recursive mode from the lab's root hints (`--root-hints`,
    /// and `do_not_query_localhost = false`: the lab's authorities are on
    /// 127.53.0.0/16) and waits until it answers a query.
    pub fn start_recursive(lab: &Lab, binary: &Path, dir: &Path) -> Result<Self, String> {
        Self::start_in_mode(lab, binary, dir, true)
    }

    fn start_in_mode(
        lab: &Lab,
        binary: &Path,
        dir: &Path,
        recursive: bool,
    ) -> Result<Self, String> {
        // Its own configuration file, so that a host's
        // /etc/danebound/danebound.toml cannot change the test.
        let config = dir.join("danebound.toml");
        let text = if recursive {
            "do_not_query_localhost = false\n"
        } else {
            ""
        };
        fs::write(&config, text).map_err(|e| format!("writing {}: {e}", config.display()))?;
        let mut command = lab.command(&binary.to_string_lossy());
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--listen", &Self::ADDR.to_string()]);
        if recursive {
            command.arg("--root-hints").arg(lab.root_hints_file());
        } else {
            let upstream = lab.upstream().ok_or("the lab has no upstream")?;
            command.args(["--forward", &upstream.to_string()]);
        }
        command
            .arg("--trust-anchor")
            .arg(lab.trust_anchor_file())
            .arg("--no-default-local-zones")
            .args(["--log-level", "info"]);
        let mut daemon = Daemon::spawn("danebound serve", command, &dir.join("danebound.log"))
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let options = QueryOptions {
            timeout: Duration::from_millis(500),
            ..QueryOptions::default()
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            daemon.check_running()?;
            if lab
                .query_with(Self::ADDR, "example.test.", RecordType::SOA, &options)
                .is_ok()
            {
                return Ok(Self {
                    daemon,
                    addr: Self::ADDR,
                });
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "danebound serve did not answer on {} within 20 s:\n{}",
                    Self::ADDR,
                    daemon.log_tail(30)
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Where it listens (127.0.0.1:53 in the namespace).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The end of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.daemon.log_tail(lines)
    }
}

/// Waits until something inside the lab's namespace accepts TCP connections
/// on `addr` and sends a line starting with `greeting` (e.g. "220"), as
/// long as `server` runs.
pub fn wait_for_banner(
    lab: &Lab,
    addr: SocketAddr,
    greeting: &str,
    timeout: Duration,
    server: &mut Daemon,
) -> Result<String, String> {
    const PROBE: &str = r#"exec 3<>"/dev/tcp/$1/$2" || exit 1
IFS= read -r -t 2 line <&3 || exit 2
printf '%s\n' "$line""#;
    let deadline = Instant::now() + timeout;
    loop {
        server.check_running()?;
        let mut command = lab.command("bash");
        command.args([
            "-c",
            PROBE,
            "probe",
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ]);
        if let Ok((Some(0), out, _)) = run_with_timeout(command, Duration::from_secs(5))
            && out.starts_with(greeting)
        {
            return Ok(out.trim_end().to_string());
        }
        if Instant::now() > deadline {
            return Err(format!("nothing greets with {greeting:?} on {addr}"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}
