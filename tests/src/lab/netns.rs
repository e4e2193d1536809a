//! A network namespace owned by a lab: created at start, deleted (with its
//! `/etc/netns/NAME` folder) on drop.
//!
//! Inside it, `lo` is up, so every 127.x address is local; the lab's servers
//! run there through `ip netns exec`, and so can the programs a test adds
//! (danebound, Postfix, posttls-finger). The host cannot reach those
//! addresses: queries from the test process go through `ip netns exec` too
//! (see `dig::query_in_netns`).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::LabError;

/// An `ip netns` namespace, deleted on drop.
#[derive(Debug)]
pub(crate) struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` (deleting a stale one of the same name
    /// first) and brings its loopback interface up.
    /// Failing to create it (no `ip`, no CAP_SYS_ADMIN in a container) makes
    /// the lab unavailable rather than broken.
    pub(crate) fn create(name: &str) -> Result<Self, LabError> {
        delete(name);
        run(&["netns", "add", name]).map_err(|e| {
            LabError::Unavailable(format!("cannot create a network namespace: {e}"))
        })?;
        let netns = Self { name: name.into() };
        run(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// `/etc/netns/NAME`: `ip netns exec` bind-mounts files found there over
    /// their `/etc` namesakes (resolv.conf in particular).
    pub(crate) fn etc_dir(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete(&self.name);
    }
}

/// Deletes namespace `name` and its `/etc/netns` folder, if they exist.
pub(crate) fn delete(name: &str) {
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = fs::remove_dir_all(PathBuf::from("/etc/netns").join(name));
}

fn run(args: &[&str]) -> Result<(), LabError> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| LabError::io("running ip", e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(LabError::Setup(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
