//! `--dot FILE`: the chain of trust as a Graphviz digraph. Zones are nodes
//! (their DNSKEY sets), DS records are edges from parent to child, RRSIGs
//! are edges from a zone's keys to the RRsets they signed; what broke is
//! red, what is provably unsigned is grey and dashed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use danebound_resolver::validator::trace::{TraceEvent, timestamp};
use danebound_resolver::wire::{Name, RecordType};

const RED: &str = "color=red, fontcolor=red";
const GREEN: &str = "color=darkgreen";
const GREY: &str = "color=grey50, fontcolor=grey50, style=dashed";

/// The digraph for the validation of `qname`/`qtype`.
pub(crate) fn digraph(qname: &Name, qtype: RecordType, trace: &[TraceEvent]) -> String {
    // Nodes keep their last word: a zone first seen as a DS target is
    // coloured by what happened to its keys.
    let mut nodes: BTreeMap<String, (String, &'static str, &'static str)> = BTreeMap::new();
    let mut edges: Vec<(String, String, String, &'static str)> = Vec::new();
    let zone = |n: &Name| format!("zone {n}");
    for event in trace {
        match event {
            TraceEvent::KeysTrusted {
                zone: z,
                keys,
                by,
                anchor,
            } => {
                let tags: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{} alg {} flags {}", k.tag, k.algorithm, k.flags))
                    .collect();
                nodes.insert(
                    zone(z),
                    (
                        format!("{z}\\nDNSKEY {}", tags.join("\\n")),
                        "ellipse",
                        GREEN,
                    ),
                );
                if *anchor {
                    nodes.insert("anchor".into(), ("trust anchor".into(), "diamond", GREEN));
                    edges.push((
                        "anchor".into(),
                        zone(z),
                        format!("anchor for key {}", join(by)),
                        GREEN,
                    ));
                }
            }
            TraceEvent::KeysFailed {
                zone: z,
                reason,
                insecure,
            } => {
                let style = if *insecure { GREY } else { RED };
                nodes.insert(
                    zone(z),
                    (
                        format!("{z}\\nDNSKEY: {}", escape(reason)),
                        "ellipse",
                        style,
                    ),
                );
            }
            TraceEvent::Delegation {
                zone: z,
                ds,
                parent,
            } => {
                nodes
                    .entry(zone(z))
                    .or_insert_with(|| (z.to_string(), "ellipse", GREEN));
                let label: Vec<String> = ds
                    .iter()
                    .map(|d| format!("DS {} alg {} digest {}", d.tag, d.algorithm, d.digest_type))
                    .collect();
                edges.push((zone(parent), zone(z), label.join("\\n"), GREEN));
            }
            TraceEvent::NoCut { .. } => {}
            TraceEvent::Unsigned { name, reason } => {
                nodes.insert(
                    zone(name),
                    (
                        format!("{name}\\ninsecure: {}", escape(reason)),
                        "ellipse",
                        GREY,
                    ),
                );
            }
            TraceEvent::Broken { name, reason } => {
                nodes.insert(
                    zone(name),
                    (
                        format!("{name}\\nBROKEN: {}", escape(reason)),
                        "ellipse",
                        RED,
                    ),
                );
            }
            TraceEvent::RrsetSecure {
                rrset,
                signer,
                key_tag,
                algorithm,
                inception,
                expiration,
            } => {
                let id = format!("rrset {rrset}");
                nodes.insert(id.clone(), (rrset.to_string(), "box", GREEN));
                edges.push((
                    zone(signer),
                    id,
                    format!(
                        "RRSIG key {key_tag} alg {algorithm}\\n{} to {}",
                        timestamp(*inception),
                        timestamp(*expiration)
                    ),
                    GREEN,
                ));
            }
            TraceEvent::RrsetNotSecure { rrset, status } => {
                let id = format!("rrset {rrset}");
                let style = if status.starts_with("insecure") || status.starts_with("indeterminate")
                {
                    GREY
                } else {
                    RED
                };
                nodes.insert(id, (format!("{rrset}\\n{}", escape(status)), "box", style));
            }
            _ => {}
        }
    }
    // A DS edge into a zone whose keys failed is a broken link.
    for edge in &mut edges {
        if nodes.get(&edge.1).is_some_and(|n| n.2 == RED) {
            edge.3 = RED;
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph \"{}\" {{",
        escape(&format!("{qname} {qtype}"))
    );
    let _ = writeln!(out, "  rankdir=TB;");
    let _ = writeln!(
        out,
        "  label=\"chain of trust for {} {}\";",
        escape(&qname.to_string()),
        qtype
    );
    let _ = writeln!(out, "  node [fontname=\"monospace\"];");
    for (id, (label, shape, style)) in &nodes {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{label}\", shape={shape}, {style}];",
            escape(id)
        );
    }
    for (from, to, label, style) in &edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{label}\", {style}];",
            escape(from),
            escape(to)
        );
    }
    out.push_str("}\n");
    out
}

fn join(tags: &[u16]) -> String {
    tags.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Escapes a string for a double-quoted DOT ID.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use danebound_resolver::validator::trace::{DsInfo, KeyInfo};

    use super::*;

    #[test]
    fn a_broken_link_is_red_and_a_good_one_green() {
        let root = Name::root();
        let child = Name::from_str("example.").unwrap();
        let trace = vec![
            TraceEvent::KeysTrusted {
                zone: root.clone(),
                keys: vec![KeyInfo {
                    tag: 1,
                    algorithm: 8,
                    flags: 257,
                }],
                by: vec![1],
                anchor: true,
            },
            TraceEvent::Delegation {
                zone: child.clone(),
                ds: vec![DsInfo {
                    tag: 2,
                    algorithm: 13,
                    digest_type: 2,
                }],
                parent: root,
            },
            TraceEvent::KeysFailed {
                zone: child,
                reason: "DS \"2\" matches no key".into(),
                insecure: false,
            },
        ];
        let dot = digraph(
            &Name::from_str("www.example.").unwrap(),
            RecordType::A,
            &trace,
        );
        assert!(dot.starts_with("digraph"), "{dot}");
        assert!(
            dot.contains(
                "\"zone .\" -> \"zone example.\" [label=\"DS 2 alg 13 digest 2\", color=red"
            ),
            "{dot}"
        );
        assert!(dot.contains("\"anchor\" -> \"zone .\""), "{dot}");
        assert!(dot.contains("\\\"2\\\""), "quotes escaped: {dot}");
    }
}
