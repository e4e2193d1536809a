//! The control socket's driver: a Unix stream socket, mode 0660, group
//! `danebound` when that group exists; one request per connection.
//!
//! Who may talk to it: the file mode lets root, the socket's owner (the
//! service user) and the `danebound` group connect; the peer's credentials
//! (SO_PEERCRED) are checked again, so a socket left in a looser place
//! still refuses others with a clear message.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use super::{Controller, MAX_LINE, parse_request};

/// The group whose members may use the socket.
pub const GROUP: &str = "danebound";

/// At most this many clients at once (unbound: 10).
const MAX_SESSIONS: usize = 10;

/// A client must send its line within this time.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How often negative trust anchors are checked for expiry.
const EXPIRY_CHECK: Duration = Duration::from_secs(5);

/// Binds the socket at `path`: a stale socket file is replaced (a live one,
/// another danebound, is an error), the mode is 0660 and the group
/// `danebound` when it exists.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{} is in use by a running danebound", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Some(gid) = group_id(GROUP) {
        // Only root can give the file away; a service already running as
        // the danebound user owns it with its own group.
        if let Err(e) = std::os::unix::fs::chown(path, None, Some(gid)) {
            tracing::debug!("cannot give {} to group {GROUP}: {e}", path.display());
        }
    }
    Ok(listener)
}

/// Serves `listener` until dropped; also ends expired negative trust
/// anchors.
pub async fn serve(listener: UnixListener, controller: Arc<Controller>) {
    let expiry = async {
        let mut tick = tokio::time::interval(EXPIRY_CHECK);
        loop {
            tick.tick().await;
            controller.expire_negative_anchors();
        }
    };
    let sessions = Arc::new(Semaphore::new(MAX_SESSIONS));
    let accept = async {
        loop {
            let mut stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("control socket accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
                let _ = stream
                    .write_all(b"error: too many control sessions, try again\n")
                    .await;
                continue;
            };
            let controller = Arc::clone(&controller);
            tokio::spawn(async move {
                session(stream, &controller).await;
                drop(permit);
            });
        }
    };
    tokio::join!(expiry, accept);
}

async fn session(stream: UnixStream, controller: &Controller) {
    let cred = stream.peer_cred();
    let (reader, mut writer) = stream.into_split();
    // The request is read first (bounded in size and time) even from a
    // client that is refused, so that the refusal reaches it instead of a
    // connection reset.
    let mut line = Vec::new();
    let mut reader = BufReader::new(reader).take(MAX_LINE as u64 + 1);
    let read = tokio::time::timeout(READ_TIMEOUT, reader.read_until(b'\n', &mut line)).await;
    let who = match cred.map_err(|e| format!("no peer credentials: {e}")) {
        Ok(cred) => authorise(cred.uid(), cred.gid(), cred.pid()),
        Err(e) => Err(e),
    };
    let reply = match (who, read) {
        (Err(refusal), _) => {
            tracing::warn!("control: {refusal}");
            format!("error: {refusal}")
        }
        (Ok(_), Err(_)) => "error: no request within 5 seconds".to_string(),
        (Ok(_), Ok(Err(e))) => format!("error: {e}"),
        (Ok(_), Ok(Ok(_))) if line.len() > MAX_LINE || !line.ends_with(b"\n") => {
            format!("error: a request is one line of at most {MAX_LINE} bytes")
        }
        (Ok(who), Ok(Ok(_))) => match std::str::from_utf8(&line) {
            Err(_) => "error: the request is not UTF-8".to_string(),
            Ok(text) => match parse_request(text.trim_end()) {
                Err(e) => format!("error: {e}"),
                Ok(command) => {
                    tracing::debug!(client = %who, ?command, "control");
                    controller.execute(&command, &who).text
                }
            },
        },
    };
    let _ = writer.write_all(reply.as_bytes()).await;
    let _ = writer.write_all(b"\n").await;
    let _ = writer.shutdown().await;
}

/// Root, our own user and members of [`GROUP`] may use the socket.
fn authorise(uid: u32, gid: u32, pid: Option<i32>) -> Result<String, String> {
    let who = format!("uid {uid}");
    let own = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if uid == 0 || Some(uid) == own {
        return Ok(who);
    }
    if let Some(group) = group_id(GROUP)
        && (gid == group || pid.is_some_and(|p| supplementary_groups(p).contains(&group)))
    {
        return Ok(who);
    }
    Err(format!(
        "permission denied: {who} is not root, the service user or in group {GROUP}"
    ))
}

/// The id of group `name` from /etc/group.
pub fn group_id(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

/// The supplementary groups of process `pid` (its `Groups:` line).
fn supplementary_groups(pid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Groups:")).map(|g| {
                g.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_self_are_allowed_others_refused() {
        assert!(authorise(0, 0, None).is_ok());
        let own = std::fs::metadata("/proc/self").unwrap().uid();
        assert!(authorise(own, 12345, None).is_ok());
        if own == 0 && group_id(GROUP).is_none() {
            let e = authorise(65534, 65534, None).unwrap_err();
            assert!(
                e.contains("permission denied") && e.contains("65534"),
                "{e}"
            );
        }
    }

    #[test]
    fn groups_come_from_etc_group() {
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-danebound-test"), None);
    }
}
