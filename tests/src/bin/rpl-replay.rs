//! `rpl-replay`: runs `.rpl` replay scenarios and prints one line per file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use danebound_tests::replay::engine::EngineUnderTest;
use danebound_tests::replay::parse::Mode;
use danebound_tests::replay::run::{PassThroughResolver, ServfailResolver};
use danebound_tests::replay::{
    Dialect, Profile, Verdict, collect_files, dialect_for_path, run_file,
};
use danebound_tests::replay::{ResolverUnderTest, ScenarioConfig};

const HELP: &str = "\
Usage: rpl-replay [--profile semantic|strict] [--dialect D] [--verbose] FILE_OR_DIR...

Runs .rpl/.crpl replay scenarios (format: shared/docs/rpl-format.md) and
prints one line per file: PASS, FAIL with the first difference, or SKIP with
its reason; then the number skipped, and last `N passed, N failed`.

  --profile semantic   pass criterion: rcode, header flags including AD, the
                       answer section as a set with TTLs ignored, negative
                       proofs in the authority section (default)
  --profile strict     compare as unbound's testbound does
  --dialect D          read every file as unbound, deckard or stelline
                       (default: detect from the config; files under a
                       domain-fwd folder are read as stelline, forwarding)
  --resolver R         engine (default): danebound's validating engine,
                       behind the full serve pipeline, recursive from the
                       scenario's root stub or forwarding as it says;
                       servfail: answer SERVFAIL to everything;
                       passthrough: forward each client query unchanged to
                       the scenario's first root stub or forwarder and return
                       the reply unvalidated (to debug the harness itself)
  --verbose            also print the config options the harness ignored and
                       the result under the other profile

RPL_TRACE=1 prints each query the engine sent to the fake network, which
entry answered it, and the answer's rcode and EDE.
";

fn main() -> ExitCode {
    // RUST_LOG=warn (or debug) shows the engine's reasons, e.g. why an
    // answer was bogus.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let mut profile = Profile::Semantic;
    let mut verbose = false;
    let mut dialect = None;
    let mut which = Which::Engine;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--profile" => match args.next().as_deref() {
                Some("semantic") => profile = Profile::Semantic,
                Some("strict") => profile = Profile::Strict,
                other => {
                    eprintln!("rpl-replay: --profile takes semantic or strict, not {other:?}");
                    return ExitCode::from(2);
                }
            },
            "--dialect" => match args.next().as_deref() {
                Some("unbound") => dialect = Some(Dialect::Unbound),
                Some("deckard") => dialect = Some(Dialect::Deckard),
                Some("stelline") => dialect = Some(Dialect::Stelline),
                other => {
                    eprintln!(
                        "rpl-replay: --dialect takes unbound, deckard or stelline, not {other:?}"
                    );
                    return ExitCode::from(2);
                }
            },
            "--resolver" => match args.next().as_deref() {
                Some("engine") => which = Which::Engine,
                Some("servfail") => which = Which::Servfail,
                Some("passthrough") => which = Which::Passthrough,
                other => {
                    eprintln!(
                        "rpl-replay: --resolver takes engine, servfail or passthrough, not {other:?}"
                    );
                    return ExitCode::from(2);
                }
            },
            "-v" | "--verbose" => verbose = true,
            s if s.starts_with('-') => {
                eprintln!("rpl-replay: unknown option {s}\n\n{HELP}");
                return ExitCode::from(2);
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        eprint!("{HELP}");
        return ExitCode::from(2);
    }
    let files = collect_files(&paths);
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let (mut unanswered, mut files_unanswered) = (0, 0);
    let mut out = std::io::stdout().lock();
    for f in &files {
        let report = run_file(f, dialect.or_else(|| dialect_for_path(f)), profile, |cfg| {
            stand_in(cfg, which)
        });
        if report.unanswered_queries > 0 {
            unanswered += report.unanswered_queries;
            files_unanswered += 1;
        }
        match &report.verdict {
            Verdict::Pass => passed += 1,
            Verdict::Fail { .. } => failed += 1,
            Verdict::Skip(_) => skipped += 1,
        }
        let detail = match &report.verdict {
            Verdict::Pass => String::new(),
            Verdict::Fail { step, reason } => format!(": step {step}: {reason}"),
            Verdict::Skip(reason) => format!(": {reason}"),
        };
        // The other profile, beside the verdict: its first mismatch, or
        // PASS when the whole run matched under it too.
        let other = match (&report.other_profile, &report.verdict) {
            (Some(o), Verdict::Pass | Verdict::Fail { .. }) => format!("  [{o}]"),
            (None, Verdict::Pass) => format!("  [{} PASS]", profile.other().name()),
            _ => String::new(),
        };
        let unanswered_note = match report.unanswered_queries {
            0 => String::new(),
            n => format!("  ({n} upstream queries unanswered by the scenario)"),
        };
        line(
            &mut out,
            format_args!(
                "{} {}{detail}{other}{unanswered_note}",
                report.verdict.label(),
                f.display()
            ),
        );
        if verbose {
            line(&mut out, format_args!("    dialect: {}", report.dialect));
            for i in &report.ignored_options {
                line(&mut out, format_args!("    ignored option: {i}"));
            }
        }
    }
    line(&mut out, format_args!("{skipped} skipped"));
    line(
        &mut out,
        format_args!(
            "{unanswered} upstream queries unanswered by the scenario, in {files_unanswered} files"
        ),
    );
    line(&mut out, format_args!("{passed} passed, {failed} failed"));
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The stand-in resolver chosen with `--resolver`.
#[derive(Clone, Copy)]
enum Which {
    Engine,
    Servfail,
    Passthrough,
}

fn stand_in(cfg: &ScenarioConfig, which: Which) -> Result<Box<dyn ResolverUnderTest>, String> {
    match which {
        Which::Engine => return Ok(Box::new(EngineUnderTest::new(cfg)?)),
        Which::Servfail => return Ok(Box::new(ServfailResolver)),
        Which::Passthrough => {}
    }
    let zone = match cfg.mode() {
        Mode::Iterate { root } => root,
        Mode::Forward { zone } => zone,
        Mode::StubOnly => {
            return Err("unsupported: passthrough needs a root stub or forwarder".into());
        }
    };
    let server = zone
        .addrs
        .first()
        .copied()
        .unwrap_or_else(|| "127.0.0.1:53".parse().expect("literal address"));
    Ok(Box::new(PassThroughResolver { server }))
}

/// Prints a line; exits quietly when stdout is closed (e.g. piped to `head`).
fn line(out: &mut impl Write, args: std::fmt::Arguments<'_>) {
    if writeln!(out, "{args}").is_err() {
        std::process::exit(0);
    }
}
