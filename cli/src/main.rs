//! The `danebound` command: a thin binary that parses arguments, sets up
//! logging and calls into the library crates (like mini-redis's
//! `bin/server.rs`).
//!
//! Errors are one line on stderr and a non-zero exit: 2 for a usage error,
//! 1 for anything else.

use std::process::ExitCode;

use clap::{Arg, ArgAction, Command, value_parser};

mod commands;

/// jemalloc instead of glibc's malloc (issue 12): a cache miss makes many
/// short-lived allocations between the few long-lived ones of the cached
/// answer, and glibc's heap keeps the pages those holes pin. Filling 50,000
/// cached wildcard answers grew RSS by 665 B per answer with glibc and by
/// 390 B with jemalloc (cache bytes counted: about 400), and a full 16 MiB
/// cache by 1.68x and 0.99x the bound (README, "Performance";
/// docs/performance-history.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn cli() -> Command {
    Command::new("danebound")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A validating DNS resolver and DANE verifier")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(commands::serve::command())
        .subcommand(commands::query::command())
        .subcommand(commands::dane::command())
        .subcommand(commands::anchor::command())
        .subcommand(commands::control::command())
        .subcommand(commands::man::command())
}

/// Why a command failed: a usage error (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments that clap could not catch.
    Usage(String),
    /// Anything else.
    Error(String),
}

fn main() -> ExitCode {
    let matches = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(&e),
    };
    let result = match matches.subcommand() {
        Some(("serve", m)) => commands::serve::run(m).map(|()| 0).map_err(Failure::Error),
        Some(("query", m)) => commands::query::run(m),
        Some(("dane", m)) => commands::dane::run(m),
        Some(("anchor", m)) => commands::anchor::run(m),
        Some(("control", m)) => commands::control::run(m),
        Some(("generate-man", m)) => commands::man::run(m, cli()),
        _ => Err(Failure::Usage(
            "no such command; see `danebound --help`".to_string(),
        )),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(e)) => {
            eprintln!("danebound: {}", one_line(&e));
            ExitCode::from(2)
        }
        Err(Failure::Error(e)) => {
            eprintln!("danebound: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Errors are one line.
fn one_line(e: &str) -> String {
    e.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `--help` and `--version` print in full; a usage error prints its first
/// line only, e.g. "danebound: unexpected argument '--colour' found".
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        _ => {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("danebound: {}", line.trim_start_matches("error: "));
            ExitCode::from(2)
        }
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error and
/// must not panic.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// A repeatable `--flag VALUE` option.
pub(crate) fn repeatable(name: &'static str, value: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name(value)
        .action(ArgAction::Append)
        .value_parser(value_parser!(String))
        .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        cli().debug_assert();
    }
}
