//! `danebound control`: the operator's client of a running `serve`, like
//! unbound-control, over the local control socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use danebound_resolver::config::{Config, DEFAULT_CONFIG_PATH};
use danebound_resolver::control::{COMMANDS, MAGIC, parse_command};
use serde_json::{Map, Value};

use crate::Failure;

pub(crate) fn command() -> Command {
    let list: String = COMMANDS
        .iter()
        .map(|(c, h)| format!("  {c:<38} {h}\n"))
        .collect();
    Command::new("control")
        .about("Ask a running `danebound serve`: status, stats, flush, reload, negative trust anchors")
        .long_about(format!(
            "Talk to a running `danebound serve` over its control socket ([control] socket, \
             default /run/danebound/control.sock; root, the service user and the danebound \
             group may use it).\n\nCommands:\n{list}\nExamples:\n  danebound control stats --json\n  \
             danebound control flush_zone example.com\n  danebound control insecure_add \
             broken.example --for 2h"
        ))
        .arg(
            Arg::new("socket")
                .long("socket")
                .value_name("PATH")
                .value_parser(value_parser!(PathBuf))
                .help("The control socket [default: [control] socket of the configuration file]"),
        )
        .arg(crate::commands::serve::config_arg(format!(
            "Configuration file naming the socket [default: {DEFAULT_CONFIG_PATH}]"
        )))
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("stats: one JSON document instead of name=value lines"),
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .required(true)
                .num_args(1..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .help("The command and its arguments (see above)"),
        )
}

pub(crate) fn run(m: &ArgMatches) -> Result<u8, Failure> {
    let mut words: Vec<String> = m
        .get_many::<String>("command")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    // `--json` after the command is still ours.
    let mut json = m.get_flag("json");
    words.retain(|w| {
        let is = w == "--json";
        json |= is;
        !is
    });
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    parse_command(&refs).map_err(Failure::Usage)?;
    let socket = match m.get_one::<PathBuf>("socket") {
        Some(s) => s.clone(),
        None => {
            Config::load(m.get_one::<PathBuf>("config").map(PathBuf::as_path))
                .map_err(|e| Failure::Error(e.0))?
                .control
                .socket
        }
    };
    let reply = ask(&socket, &format!("{MAGIC} {}\n", words.join(" "))).map_err(Failure::Error)?;
    if let Some(error) = reply.strip_prefix("error: ") {
        return Err(Failure::Error(error.trim_end().to_string()));
    }
    if json && refs.first().is_some_and(|c| c.starts_with("stats")) {
        crate::out(&format!("{}\n", to_json(&reply)));
    } else {
        crate::out(&reply);
    }
    Ok(0)
}

/// Sends `request`, returns the whole reply.
fn ask(socket: &Path, request: &str) -> Result<String, String> {
    let shown = socket.display();
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => format!(
            "no danebound control socket at {shown}: is `danebound serve` running with \
             [control] enable = true? ({e})"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "permission denied on {shown}: run as root, as the danebound user or as a \
             member of group danebound"
        ),
        _ => format!("cannot connect to {shown}: {e}"),
    })?;
    let timeout = Some(Duration::from_secs(30));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| format!("{shown}: no reply: {e}"))?;
    if reply.is_empty() {
        return Err(format!("{shown}: the server closed without a reply"));
    }
    Ok(reply)
}

/// `a.b=1` lines as `{"a": {"b": 1}}`; numbers stay numbers.
fn to_json(reply: &str) -> String {
    let mut root = Map::new();
    for line in reply.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .parse::<u64>()
            .map(Value::from)
            .or_else(|_| value.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::from(value));
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or(key);
        let mut node = &mut root;
        for part in parts {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                unreachable!("made an object above")
            };
            node = next;
        }
        node.insert(last.to_string(), value);
    }
    serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_nest_as_json() {
        let doc: Value = serde_json::from_str(&to_json(
            "queries.total=3\nanswers.rcode.NOERROR=2\nupstream.rtt_avg_ms=1.500\nuptime_seconds=7\n",
        ))
        .unwrap();
        assert_eq!(doc["queries"]["total"], 3);
        assert_eq!(doc["answers"]["rcode"]["NOERROR"], 2);
        assert_eq!(doc["upstream"]["rtt_avg_ms"], 1.5);
        assert_eq!(doc["uptime_seconds"], 7);
    }
}
