//! `danebound generate-man DIR` (hidden): the man pages the Debian package
//! ships, rendered from the clap definitions (danebound(8) and one page per
//! subcommand) and from the commented default configuration
//! (danebound.toml(5)), so they never drift from `--help` and the file.

use std::path::{Path, PathBuf};

use clap::{Arg, ArgMatches, Command, value_parser};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::Failure;

/// The default configuration file the package installs.
pub(crate) const DEFAULT_CONFIG: &str = include_str!("../../debian/danebound.toml");

pub(crate) fn command() -> Command {
    Command::new("generate-man")
        .hide(true)
        .about("Write the man pages into DIR (for packaging)")
        .arg(
            Arg::new("dir")
                .value_name("DIR")
                .required(true)
                .value_parser(value_parser!(PathBuf)),
        )
}

pub(crate) fn run(m: &ArgMatches, mut root: Command) -> Result<u8, Failure> {
    let dir = m.get_one::<PathBuf>("dir").expect("required");
    std::fs::create_dir_all(dir).map_err(|e| Failure::Error(format!("{}: {e}", dir.display())))?;
    root.build();
    let write = |name: &str, page: Vec<u8>| -> Result<(), Failure> {
        let path = dir.join(name);
        std::fs::write(&path, page).map_err(|e| Failure::Error(format!("{}: {e}", path.display())))
    };
    let render = |cmd: Command| -> Result<Vec<u8>, Failure> {
        let mut page = Vec::new();
        Man::new(cmd)
            .section("8")
            .manual("danebound manual")
            .render(&mut page)
            .map_err(|e| Failure::Error(e.to_string()))?;
        Ok(page)
    };
    write("danebound.8", render(root.clone())?)?;
    for sub in root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        // clap names are &'static str (no `string` feature); this process
        // writes a few pages and exits.
        let name: &'static str = format!("danebound-{}", sub.get_name()).leak();
        write(
            &format!("{name}.8"),
            render(sub.clone().name(name).bin_name(name))?,
        )?;
    }
    write("danebound.toml.5", config_page().into_bytes())?;
    crate::out(&format!(
        "man pages written to {}\n",
        Path::new(dir).display()
    ));
    Ok(0)
}

/// danebound.toml(5): what the file is, then the commented default file,
/// which documents every setting and its default.
fn config_page() -> String {
    let mut page = Roff::new();
    page.control("TH", ["DANEBOUND.TOML", "5", "", "danebound", "danebound manual"])
        .control("SH", ["NAME"])
        .text([roman("danebound.toml - configuration of danebound serve")])
        .control("SH", ["SYNOPSIS"])
        .text([bold("/etc/danebound/danebound.toml")])
        .control("SH", ["DESCRIPTION"])
        .text([
            bold("danebound serve"),
            roman(" reads this TOML file at start-up ("),
            bold("--config"),
            roman(" names another); command-line flags override it. Unknown keys and bad values are errors that name the key; "),
            bold("danebound serve --check-config"),
            roman(" lists every problem with its line number. "),
            bold("danebound control reload"),
            roman(" re-reads it: the log level applies at once, other changes need a restart."),
        ])
        .control("SH", ["SETTINGS"])
        .text([roman(
            "The file installed by the package lists every setting with its default, commented out:",
        )])
        .control("PP", [] as [&str; 0])
        .control("nf", [] as [&str; 0]);
    for line in DEFAULT_CONFIG.lines() {
        // roff escapes what would read as a request (a leading dot).
        page.text([roman(line)]);
    }
    page.control("fi", [] as [&str; 0])
        .control("SH", ["FILES"])
        .text([
            italic("/run/danebound/control.sock"),
            roman(" (control socket), "),
            italic("/var/lib/danebound/"),
            roman(" (negative trust anchors, anchor state)."),
        ])
        .control("SH", ["SEE ALSO"])
        .text([roman(
            "danebound(8), danebound-serve(8), danebound-control(8)",
        )]);
    page.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_configuration_is_valid_and_shows_every_section() {
        let config = danebound_resolver::checkconf::check(DEFAULT_CONFIG).unwrap();
        assert_eq!(config, danebound_resolver::config::Config::default());
        for section in [
            "[cache]",
            "[access]",
            "[tcp]",
            "[upstream]",
            "[control]",
            "[metrics]",
        ] {
            assert!(DEFAULT_CONFIG.contains(section), "{section}");
        }
        let page = config_page();
        assert!(page.contains("\n.TH DANEBOUND.TOML 5"), "{page}");
        assert!(page.contains("#listen = [\"127.0.0.1:53\""), "{page}");
    }
}
