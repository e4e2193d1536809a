//! A private Postfix instance (Debian's postfix package: `master` and
//! `smtpd`) acting as the MX inside the lab's namespace, and Postfix's own
//! `posttls-finger` as the DANE client.
//!
//! The instance has its own `config_directory` (rendered from the templates
//! in `tests/lab/postfix/`), `queue_directory` and `data_directory` under a
//! scratch directory; it never reads or writes /etc/postfix. `master` runs in
//! the foreground in its own process group and is stopped on drop.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Daemon, find_program, run_with_timeout, tail, wait_for_banner};
use crate::lab::Lab;

/// The configuration templates.
const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/postfix");
/// Programs the end-to-end test needs from the postfix package.
pub const PROGRAMS: &[&str] = &["postfix", "posttls-finger", "postconf"];

/// Postfix's `daemon_directory` (where `master` and `smtpd` live).
pub fn daemon_directory() -> Option<PathBuf> {
    let output = Command::new(find_program("postconf")?)
        .args(["-d", "-h", "daemon_directory"])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    dir.join("master").is_file().then_some(dir)
}

/// What is missing to run Postfix here, if anything.
pub fn missing() -> Option<String> {
    let mut missing: Vec<String> = PROGRAMS
        .iter()
        .filter(|p| find_program(p).is_none())
        .map(|p| (*p).to_string())
        .collect();
    if missing.is_empty() && daemon_directory().is_none() {
        missing.push("master (postconf -d daemon_directory)".into());
    }
    if find_program("openssl").is_none() {
        missing.push("openssl".into());
    }
    (!missing.is_empty()).then(|| {
        format!(
            "missing programs: {} (Debian packages postfix openssl; see scripts/test.sh)",
            missing.join(" ")
        )
    })
}

/// One smtpd listener: an address (port 25) and its `smtpd_tls_chain_files`
/// file (key, leaf, issuers).
#[derive(Debug, Clone)]
pub struct Listener {
    /// The MX address.
    pub addr: Ipv4Addr,
    /// Key and certificate chain, PEM.
    pub chain: PathBuf,
}

/// A running private Postfix instance. Stopped on drop.
#[derive(Debug)]
pub struct Postfix {
    daemon: Daemon,
    dir: PathBuf,
}

impl Postfix {
    /// Renders the configuration into `dir`, creates the queue with
    /// `postfix check`, starts `master` in the lab's namespace and waits for
    /// every listener's 220 greeting.
    pub fn start(lab: &Lab, dir: &Path, listeners: &[Listener]) -> Result<Self, String> {
        let etc = dir.join("etc");
        let data = dir.join("data");
        for d in [&etc, &dir.join("queue"), &data] {
            fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        }
        // master.lock and the TLS caches live in data_directory, written as
        // mail_owner.
        let chown = Command::new("chown")
            .arg("postfix")
            .arg(&data)
            .status()
            .map_err(|e| format!("running chown: {e}"))?;
        if !chown.success() {
            return Err(format!("chown postfix {} failed", data.display()));
        }
        let interfaces: Vec<String> = listeners.iter().map(|l| l.addr.to_string()).collect();
        let mut services = String::new();
        for l in listeners {
            let _ = writeln!(
                services,
                "{}:25 inet n - n - - smtpd\n  -o smtpd_tls_chain_files={}",
                l.addr,
                l.chain.display()
            );
        }
        let dir_text = dir.to_string_lossy();
        render(
            "main.cf",
            &etc.join("main.cf"),
            &[
                ("@DIR@", &dir_text),
                ("@INTERFACES@", &interfaces.join(", ")),
            ],
        )?;
        render(
            "master.cf",
            &etc.join("master.cf"),
            &[("@LISTENERS@", services.trim_end())],
        )?;

        // Postfix accepts in inet_interfaces only addresses an interface
        // has (127.0.0.1/8 on lo does not count for 127.53.S.20).
        if let Some(netns) = lab.netns() {
            for l in listeners {
                let status = Command::new("ip")
                    .args(["-n", netns, "addr", "replace", &format!("{}/32", l.addr)])
                    .args(["dev", "lo"])
                    .status()
                    .map_err(|e| format!("running ip: {e}"))?;
                if !status.success() {
                    return Err(format!(
                        "ip -n {netns} addr replace {}/32 dev lo failed",
                        l.addr
                    ));
                }
            }
        }

        // `postfix check` creates the queue's subdirectories with the right
        // owners (post-install create-missing). The postfix command prints
        // its errors only to a terminal; the script's go to the maillog.
        let postfix = find_program("postfix").ok_or("postfix not found")?;
        let mut check = lab.command(&postfix.to_string_lossy());
        check.arg("-c").arg(&etc).arg("check");
        let (code, out, err) = run_with_timeout(check, Duration::from_secs(60))
            .map_err(|e| format!("running postfix check: {e}"))?;
        if code != Some(0) {
            return Err(format!(
                "postfix -c {} check failed ({code:?}) (run it on a terminal to see why):\n{out}{err}{}",
                etc.display(),
                tail(&dir.join("maillog"), 20)
            ));
        }

        let master = daemon_directory()
            .ok_or("Postfix's master not found")?
            .join("master");
        let mut command = lab.command(&master.to_string_lossy());
        // In the foreground; -s keeps stdout (our log) open. master calls
        // setsid() itself: its process group is its pid.
        command.arg("-c").arg(&etc).arg("-s");
        let mut daemon =
            Daemon::spawn_session_leader("postfix master", command, &dir.join("master.out"))
                .map_err(|e| format!("starting {}: {e}", master.display()))?;
        for l in listeners {
            let addr = SocketAddr::new(IpAddr::V4(l.addr), 25);
            let timeout = Duration::from_secs(20);
            if let Err(e) = wait_for_banner(lab, addr, "220 ", timeout, &mut daemon) {
                return Err(format!(
                    "{e}\nmaillog (master prints fatal start-up errors only to a terminal):\n{}",
                    tail(&dir.join("maillog"), 30)
                ));
            }
        }
        Ok(Self {
            daemon,
            dir: dir.to_path_buf(),
        })
    }

    /// The end of the instance's log (postlogd's maillog).
    pub fn maillog_tail(&self, lines: usize) -> String {
        let log = tail(&self.dir.join("maillog"), lines);
        if log.is_empty() {
            self.daemon.log_tail(lines)
        } else {
            log
        }
    }
}

/// A configuration directory for `posttls-finger` (MAIL_CONFIG): DNSSEC
/// lookups on, so that the AD bit from the namespace's resolver counts.
pub fn client_config(dir: &Path) -> Result<PathBuf, String> {
    let etc = dir.join("client");
    fs::create_dir_all(&etc).map_err(|e| format!("creating {}: {e}", etc.display()))?;
    render("client.cf", &etc.join("main.cf"), &[])?;
    Ok(etc)
}

/// What one `posttls-finger` run printed.
#[derive(Debug, Clone)]
pub struct Finger {
    /// The command line, for messages.
    pub command: String,
    /// Exit status (`None`: killed by the timeout).
    pub code: Option<i32>,
    /// stdout and stderr together.
    pub output: String,
}

impl Finger {
    /// The first word of every "… TLS connection established to …" line:
    /// "Verified", "Trusted", "Untrusted", "Anonymous".
    pub fn summaries(&self) -> Vec<String> {
        summaries(&self.output)
    }

    /// Whether every summary line says "Verified" (and there is one).
    pub fn verified(&self) -> bool {
        let s = self.summaries();
        !s.is_empty() && s.iter().all(|w| w == "Verified")
    }

    /// Whether the output contains `needle` (case-sensitive).
    pub fn says(&self, needle: &str) -> bool {
        self.output.contains(needle)
    }
}

/// The first word of every "… TLS connection established to …" line in
/// `output` (posttls-finger and `danebound dane check` share the wording).
pub fn summaries(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.contains(" TLS connection established to "))
        .filter_map(|l| {
            let before = l.split(" TLS connection established to ").next()?;
            before.split_whitespace().last().map(str::to_string)
        })
        .collect()
}

/// Runs `posttls-finger -c -l dane -t5 -T10 DESTINATION` inside the lab's
/// namespace, so that it resolves through the namespace's resolv.conf.
pub fn posttls_finger(
    lab: &Lab,
    client_config: &Path,
    destination: &str,
) -> Result<Finger, String> {
    let program = find_program("posttls-finger").ok_or("posttls-finger not found")?;
    let args = ["-c", "-l", "dane", "-t5", "-T10", destination];
    let mut command = lab.command(&program.to_string_lossy());
    command.args(args).env("MAIL_CONFIG", client_config);
    let (code, out, err) = run_with_timeout(command, Duration::from_secs(30))
        .map_err(|e| format!("running posttls-finger: {e}"))?;
    Ok(Finger {
        command: format!("posttls-finger {}", args.join(" ")),
        code,
        output: format!("{out}{err}"),
    })
}

fn render(template: &str, to: &Path, substitutions: &[(&str, &str)]) -> Result<(), String> {
    let from = Path::new(TEMPLATES).join(template);
    let mut text =
        fs::read_to_string(&from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for (key, value) in substitutions {
        text = text.replace(key, value);
    }
    fs::write(to, text).map_err(|e| format!("writing {}: {e}", to.display()))
}
