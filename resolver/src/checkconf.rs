//! `danebound serve --check-config`: every problem of a configuration file,
//! one per line with its line number, like `unbound-checkconf`.
//!
//! [`Config::from_toml`] stops at the first problem, which is right for
//! `serve`. Here the file is first parsed for syntax (toml reports every
//! syntax error it can recover from, with a position); then each setting is
//! checked on its own through the same [`Config::from_toml`], so the rules
//! live in one place, and its line comes from the parsed document's spans;
//! finally the whole file is checked for rules that span settings
//! (`cache.min_ttl` above `cache.max_ttl`).

use std::fmt;

use toml::de::{DeTable, DeValue};

use crate::config::{Config, line_of};

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, one line.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Checks a configuration text. Returns the configuration when there is no
/// problem, else every problem found, in file order.
pub fn check(text: &str) -> Result<Config, Vec<Problem>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| Problem {
                line: e.span().map(|s| line_of(text, s.start)),
                message: first_line(e.message()),
            })
            .collect());
    }
    let mut problems = Vec::new();
    for (key, value) in doc.get_ref() {
        let top = key.get_ref().as_ref();
        match value.get_ref() {
            DeValue::Table(table) if !table.is_empty() => {
                for (inner, v) in table {
                    let path = format!("{top}.{}", inner.get_ref());
                    let line = line_of(text, inner.span().start);
                    if let Some(p) = check_one(
                        &path,
                        line,
                        |t| {
                            let mut section = toml::Table::new();
                            section.insert(inner.get_ref().to_string(), t);
                            let mut doc = toml::Table::new();
                            doc.insert(top.to_string(), toml::Value::Table(section));
                            doc
                        },
                        v.get_ref(),
                    ) {
                        problems.push(p);
                    }
                }
            }
            other => {
                let line = line_of(text, key.span().start);
                if let Some(p) = check_one(
                    top,
                    line,
                    |t| {
                        let mut doc = toml::Table::new();
                        doc.insert(top.to_string(), t);
                        doc
                    },
                    other,
                ) {
                    problems.push(p);
                }
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(problems);
    }
    // Rules across settings.
    Config::from_toml(text).map_err(|e| {
        vec![Problem {
            line: None,
            message: e.0,
        }]
    })
}

/// Checks one setting alone, as a document holding only it.
fn check_one(
    path: &str,
    line: usize,
    wrap: impl FnOnce(toml::Value) -> toml::Table,
    value: &DeValue<'_>,
) -> Option<Problem> {
    let value = to_value(value)?;
    let doc = toml::to_string(&wrap(value)).ok()?;
    let e = Config::from_toml(&doc).err()?;
    // The position is that of the one-setting document: drop it, the line
    // of the setting in the file replaces it.
    let message = match e.0.rfind(" (line ") {
        Some(i) => e.0[..i].to_string(),
        None => e.0,
    };
    let message = if message.starts_with(path) {
        message
    } else {
        format!("{path}: {message}")
    };
    Some(Problem {
        line: Some(line),
        message,
    })
}

/// A parsed value as a plain toml value (to serialise it alone).
fn to_value(v: &DeValue<'_>) -> Option<toml::Value> {
    Some(match v {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            toml::Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).ok()?)
        }
        DeValue::Float(f) => toml::Value::Float(f.as_str().parse().ok()?),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(a) => toml::Value::Array(
            a.iter()
                .map(|x| to_value(x.get_ref()))
                .collect::<Option<_>>()?,
        ),
        DeValue::Table(t) => toml::Value::Table(
            t.iter()
                .map(|(k, v)| Some((k.get_ref().to_string(), to_value(v.get_ref())?)))
                .collect::<Option<_>>()?,
        ),
    })
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("invalid TOML")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        check(text)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_good_file_passes() {
        let c = check("listen = [\"127.0.0.1:5353\"]\n[cache]\nmax_ttl = 600\n").unwrap();
        assert_eq!(c.cache.max_ttl, 600);
        assert!(check("").is_ok());
    }

    #[test]
    fn every_bad_setting_is_reported_with_its_line() {
        let text = "# comment\n\
                    workers = 0\n\
                    colour = \"blue\"\n\
                    [cache]\n\
                    max_entries = 10\n\
                    max_ttl = 0\n\
                    [tcp]\n\
                    max_connections = \"many\"\n";
        let p = problems(text);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(
            p[0].starts_with("line 2: ") && p[0].contains("workers"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("line 3: ") && p[1].contains("colour"),
            "{p:?}"
        );
        assert!(
            p[2].starts_with("line 6: ") && p[2].contains("cache.max_ttl"),
            "{p:?}"
        );
        assert!(
            p[3].starts_with("line 8: ") && p[3].contains("tcp.max_connections"),
            "{p:?}"
        );
        assert!(p.iter().all(|l| !l.contains('\n') && !l.contains("(line ")));
    }

    #[test]
    fn syntax_errors_carry_their_line() {
        let p = problems("workers = 2\n[cache\nmax_ttl = 1\n");
        assert!(p[0].starts_with("line 2: "), "{p:?}");
        let p = problems("a = \"unterminated\nb = 1\n");
        assert!(p[0].starts_with("line 1: "), "{p:?}");
    }

    #[test]
    fn unknown_sections_and_rules_across_settings() {
        let p = problems("[bogus]\nx = 1\n");
        assert!(
            p[0].starts_with("line 2: ") && p[0].contains("bogus"),
            "{p:?}"
        );
        let p = problems("[cache]\nmin_ttl = 100\nmax_ttl = 50\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("min_ttl"), "{p:?}");
    }
}
