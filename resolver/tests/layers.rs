//! The house rule on layers, checked on the source: a module of this crate
//! may use only modules below it in [`LAYERS`] (and itself). A new top-level
//! module must be placed in the list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate's top-level modules, lowest first.
const LAYERS: &[&str] = &[
    "wire",
    "hashing",
    "clock",
    "timefmt",
    "acl",
    "edns",
    "ratelimit",
    "transport",
    "upstream",
    "validator",
    "stats",
    "autotrust",
    "resolve",
    "request",
    "local_zones",
    "answer",
    "cache",
    "prefetch",
    "forward",
    "iterator",
    "config",
    "checkconf",
    "engine",
    "control",
    "metrics",
    "server",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("read src")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            rust_files(&p, out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The top-level modules named as `crate::NAME` in code (not comments).
fn uses(files: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("read source");
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    out.insert(name);
                }
            }
            // `use crate::{a, b}` lists.
            if let Some(at) = code.find("crate::{") {
                let list = &code[at + "crate::{".len()..];
                for part in list.split([',', '}']) {
                    let name = part.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        out.insert(name.to_string());
                    }
                }
            }
        }
    }
    out
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let mut modules: Vec<String> = std::fs::read_dir(src())
        .expect("read src")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .filter(|m| m != "lib")
        .collect();
    modules.sort();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut problems = Vec::new();
    for module in &modules {
        let Some(own) = rank(module) else {
            problems.push(format!("module `{module}` is not placed in LAYERS"));
            continue;
        };
        let mut files = Vec::new();
        rust_files(&src().join(module), &mut files);
        rust_files(&src().join(format!("{module}.rs")), &mut files);
        for used in uses(&files) {
            if used == *module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                Some(_) => problems.push(format!("`{module}` imports the higher layer `{used}`")),
                None => problems.push(format!("`{module}` uses `crate::{used}`, not in LAYERS")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
