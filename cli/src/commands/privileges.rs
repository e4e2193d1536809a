//! Dropping root after the sockets are bound (issue 11, item 10).
//!
//! `serve` binds port 53 as root, then becomes an unprivileged user: the
//! supplementary groups are set to the user's group alone, then the group,
//! then the user (in that order: after `setuid` the others are no longer
//! allowed), and a final check that root cannot be regained. glibc applies
//! each change to every thread of the process.
//!
//! Which user, from the `user` key of the configuration:
//! * `user = "NAME"`: that user; if it does not exist, `serve` fails (as
//!   unbound does with its `username:`).
//! * absent: `danebound` if that user exists; if not, `serve` keeps running
//!   as root and logs a warning. Unlike unbound (whose built-in `unbound`
//!   user must exist), so that a build run by hand on a machine without the
//!   package's user still serves.
//! * `user = ""`: stay root (unbound's `username: ""`).
//!
//! Started as another user, nothing changes. Paths the process must still
//! write (the RFC 5011 anchor state) are given to the user (`chown`) before
//! the drop; root is not kept for them.

use std::path::Path;

use nix::unistd::{Uid, User, chown, geteuid, setgid, setgroups, setuid};

/// The user dropped to when the configuration names none.
pub(crate) const DEFAULT_USER: &str = "danebound";

/// What happened.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not started as root.
    NotRoot,
    /// Root, and staying root (`user = ""`, or no default user).
    StayedRoot,
    /// Now running as this user.
    Dropped(String),
}

/// Drops root to the user `configured` names (see the module docs), after
/// giving it `writable`.
pub(crate) fn drop_root(configured: Option<&str>, writable: &[&Path]) -> Result<Outcome, String> {
    if !geteuid().is_root() {
        return Ok(Outcome::NotRoot);
    }
    let (name, explicit) = match configured {
        Some("") => {
            tracing::warn!("running as root: the configuration says user = \"\"");
            return Ok(Outcome::StayedRoot);
        }
        Some(name) => (name, true),
        None => (DEFAULT_USER, false),
    };
    let user = User::from_name(name).map_err(|e| format!("user `{name}`: {e}"))?;
    let Some(user) = user else {
        if explicit {
            return Err(format!("user = \"{name}\": no such user"));
        }
        tracing::warn!(
            "running as root: there is no user `{DEFAULT_USER}` to drop privileges to \
             (create it, or set `user` in the configuration)"
        );
        return Ok(Outcome::StayedRoot);
    };
    for path in writable {
        chown(*path, Some(user.uid), Some(user.gid))
            .map_err(|e| format!("cannot give {} to user `{name}`: {e}", path.display()))?;
    }
    setgroups(&[user.gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(user.gid).map_err(|e| format!("setgid {}: {e}", user.gid))?;
    setuid(user.uid).map_err(|e| format!("setuid {}: {e}", user.uid))?;
    if user.uid != Uid::from_raw(0) && setuid(Uid::from_raw(0)).is_ok() {
        return Err(format!("could regain root after becoming `{name}`"));
    }
    tracing::info!(user = name, uid = %user.uid, gid = %user.gid, "dropped root privileges");
    Ok(Outcome::Dropped(name.to_string()))
}
