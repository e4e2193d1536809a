//! ENTRY blocks (`testpkts.c` `read_entry`): MATCH, ADJUST, REPLY, SECTION,
//! HEX_ANSWER, HEX_EDNSDATA, EXTRA_PACKET and Deckard's RAW.

use danebound_trust_anchors::text::{self, Context};

use super::packet::{Edns, Packet, Question, Section, opcode_from_text, rcode_from_text};
use super::parse::{Dialect, ParseError};

/// What a MATCH line asks for. Keywords accumulate over lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    pub opcode: bool,
    pub qtype: bool,
    pub qname: bool,
    /// Deckard `qcase`: qname compared case-sensitively.
    pub qcase: bool,
    pub subdomain: bool,
    pub rcode: bool,
    pub question: bool,
    pub answer: bool,
    pub authority: bool,
    pub additional: bool,
    /// Deckard/Stelline `flags`: QR AA TC RD RA AD CD equal.
    pub flags: bool,
    pub all: bool,
    pub all_noedns: bool,
    pub ttl: bool,
    /// Received must have DO / CO.
    pub do_bit: bool,
    pub co_bit: bool,
    /// Stelline `AD`, `CD`, `RD`: that bit must be set.
    pub ad_bit: bool,
    pub cd_bit: bool,
    pub rd_bit: bool,
    pub noedns: bool,
    pub ednsdata: bool,
    /// Deckard `edns`: EDNS presence and version equal.
    pub edns: bool,
    /// Deckard `answertypes`: the ANSWER types equal as a multiset.
    pub answertypes: bool,
    pub udp: bool,
    pub tcp: bool,
    pub client_cookie: bool,
    pub server_cookie: bool,
    /// `ede=<n>` (Some(Some(n))) or `ede=any` (Some(None)).
    pub ede: Option<Option<u16>>,
    pub serial: Option<u32>,
}

impl Match {
    fn set(&mut self, kw: &str) -> Result<(), String> {
        if let Some(v) = kw.strip_prefix("ede=") {
            self.ede = Some(if v == "any" {
                None
            } else {
                Some(v.parse().map_err(|_| format!("bad ede={v}"))?)
            });
            return Ok(());
        }
        if let Some(v) = kw.strip_prefix("serial=") {
            self.serial = Some(v.parse().map_err(|_| format!("bad serial={v}"))?);
            return Ok(());
        }
        let f = match kw {
            "opcode" => &mut self.opcode,
            "qtype" => &mut self.qtype,
            "qname" => &mut self.qname,
            "qcase" => &mut self.qcase,
            "subdomain" => &mut self.subdomain,
            "rcode" => &mut self.rcode,
            "question" => &mut self.question,
            "answer" => &mut self.answer,
            "authority" => &mut self.authority,
            "additional" => &mut self.additional,
            "flags" => &mut self.flags,
            "all" => &mut self.all,
            "all_noedns" => &mut self.all_noedns,
            "ttl" => &mut self.ttl,
            "DO" => &mut self.do_bit,
            "CO" => &mut self.co_bit,
            "AD" => &mut self.ad_bit,
            "CD" => &mut self.cd_bit,
            "RD" => &mut self.rd_bit,
            "noedns" => &mut self.noedns,
            "ednsdata" => &mut self.ednsdata,
            "edns" => &mut self.edns,
            "answertypes" => &mut self.answertypes,
            "UDP" => &mut self.udp,
            "TCP" => &mut self.tcp,
            "client_cookie" => &mut self.client_cookie,
            "server_cookie" => &mut self.server_cookie,
            other => return Err(format!("unsupported MATCH keyword {other:?}")),
        };
        *f = true;
        Ok(())
    }
}

/// ADJUST keywords.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjust {
    pub copy_id: bool,
    pub copy_query: bool,
    /// Deckard: patch the ID of a RAW answer.
    pub raw_id: bool,
    /// Deckard: send nothing.
    pub do_not_answer: bool,
}

impl Adjust {
    fn set(&mut self, kw: &str) -> Result<(), String> {
        match kw {
            "copy_id" => self.copy_id = true,
            "copy_query" => self.copy_query = true,
            "raw_id" => self.raw_id = true,
            "do_not_answer" => self.do_not_answer = true,
            k if k.starts_with("sleep=") || k.starts_with("packet_sleep=") => {}
            other => return Err(format!("unsupported ADJUST keyword {other:?}")),
        }
        Ok(())
    }
}

/// One packet of an entry (entries have more than one after EXTRA_PACKET).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPacket {
    /// The packet built from REPLY and SECTION lines.
    pub packet: Packet,
    /// HEX_ANSWER (or Deckard RAW) bytes, sent instead of `packet`.
    pub raw: Option<Vec<u8>>,
    /// HEX_EDNSDATA bytes.
    pub ednsdata: Option<Vec<u8>>,
    /// REPLY had DO / CO (decides the OPT record at the end).
    pub reply_do: bool,
    pub reply_co: bool,
}

/// One ENTRY_BEGIN … ENTRY_END block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Line of ENTRY_BEGIN.
    pub line: usize,
    pub matches: Match,
    pub adjust: Adjust,
    pub packets: Vec<EntryPacket>,
}

impl Entry {
    /// The first packet (the one MATCH compares against).
    pub fn first(&self) -> &EntryPacket {
        &self.packets[0]
    }
}

enum Mode {
    Section(Option<Section>), // None = QUESTION
    Hex,
    EdnsData,
    Raw,
}

/// Reads an entry; `lines` yields (line number, text) after ENTRY_BEGIN and
/// is consumed up to and including ENTRY_END.
pub(crate) fn read_entry<'a>(
    start: usize,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
    ctx: &mut Context,
    dialect: Dialect,
) -> Result<Entry, ParseError> {
    let mut entry = Entry {
        line: start,
        ..Entry::default()
    };
    let mut cur = EntryPacket::default();
    let mut mode = Mode::Section(None);
    let mut hex = String::new();
    for (n, line) in lines.by_ref() {
        let err = |r: String| ParseError::new(n, r);
        let t = line.trim();
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        let words = keywords(t);
        match words.first().copied().unwrap_or("") {
            "ENTRY_END" => {
                finish_packet(&mut cur, &mut mode, &mut hex, dialect).map_err(err)?;
                entry.packets.push(cur);
                return Ok(entry);
            }
            // Deckard: the entry must be used at least once; not enforced.
            "MANDATORY" => {}
            "MATCH" => {
                for w in &words[1..] {
                    entry.matches.set(w).map_err(err)?;
                }
            }
            "ADJUST" => {
                for w in &words[1..] {
                    entry.adjust.set(w).map_err(err)?;
                }
            }
            "REPLY" => {
                for w in &words[1..] {
                    reply_keyword(&mut cur, w).map_err(err)?;
                }
            }
            "SECTION" => {
                finish_hex(&mut cur, &mut mode, &mut hex).map_err(err)?;
                mode = Mode::Section(match words.get(1).copied() {
                    Some("QUESTION") => None,
                    Some("ANSWER") => Some(Section::Answer),
                    Some("AUTHORITY") => Some(Section::Authority),
                    Some("ADDITIONAL") => Some(Section::Additional),
                    other => return Err(err(format!("bad SECTION {other:?}"))),
                });
            }
            "RAW" => {
                finish_hex(&mut cur, &mut mode, &mut hex).map_err(err)?;
                mode = Mode::Raw;
            }
            "HEX_ANSWER_BEGIN" => mode = Mode::Hex,
            "HEX_EDNSDATA_BEGIN" => mode = Mode::EdnsData,
            "HEX_ANSWER_END" | "HEX_EDNSDATA_END" => {
                finish_hex(&mut cur, &mut mode, &mut hex).map_err(err)?
            }
            "EXTRA_PACKET" => {
                finish_packet(&mut cur, &mut mode, &mut hex, dialect).map_err(err)?;
                entry.packets.push(std::mem::take(&mut cur));
                mode = Mode::Section(None);
            }
            "ENTRY_BEGIN" | "RANGE_END" | "STEP" | "SCENARIO_END" => {
                return Err(err(format!(
                    "{} inside an entry (missing ENTRY_END)",
                    words[0]
                )));
            }
            _ => match mode {
                Mode::Hex | Mode::EdnsData | Mode::Raw => {
                    let data = t.split(';').next().unwrap_or("");
                    hex.extend(data.chars().filter(|c| !c.is_whitespace()));
                }
                Mode::Section(section) => {
                    ctx.line = n;
                    if t.starts_with('$') {
                        text::parse_rr_line(t, ctx).map_err(|e| err(e.reason))?;
                        continue;
                    }
                    match section {
                        None => {
                            let (name, qtype, qclass) =
                                text::parse_question_line(t, ctx).map_err(|e| err(e.reason))?;
                            cur.packet.question.push(Question {
                                name,
                                qtype,
                                qclass,
                            });
                        }
                        Some(s) => {
                            if let Some(rr) =
                                text::parse_rr_line(t, ctx).map_err(|e| err(e.reason))?
                            {
                                cur.packet.section_mut(s).push(rr);
                            }
                        }
                    }
                }
            },
        }
    }
    Err(ParseError::new(
        start,
        "ENTRY_BEGIN without ENTRY_END".into(),
    ))
}

/// Splits a keyword line into words, stopping at a `;` or `#` comment.
pub(crate) fn keywords(line: &str) -> Vec<&str> {
    let end = line.find([';', '#']).unwrap_or(line.len());
    line[..end].split_whitespace().collect()
}

fn reply_keyword(p: &mut EntryPacket, w: &str) -> Result<(), String> {
    let f = &mut p.packet.flags;
    match w {
        "QR" => f.qr = true,
        "AA" => f.aa = true,
        "TC" => f.tc = true,
        "RD" => f.rd = true,
        "CD" => f.cd = true,
        "RA" => f.ra = true,
        "AD" => f.ad = true,
        "DO" => p.reply_do = true,
        "CO" => p.reply_co = true,
        w => {
            if let Some(op) = opcode_from_text(w) {
                p.packet.opcode = op;
            } else if let Some(rc) = rcode_from_text(w) {
                p.packet.rcode = rc;
            } else {
                return Err(format!("unsupported REPLY keyword {w:?}"));
            }
        }
    }
    Ok(())
}

fn finish_hex(cur: &mut EntryPacket, mode: &mut Mode, hex: &mut String) -> Result<(), String> {
    if hex.len() % 2 == 1 {
        hex.push('0'); // testbound pads an odd digit count
    }
    let take = |hex: &mut String| -> Result<Vec<u8>, String> {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(std::mem::take(hex).as_bytes())
            .map_err(|e| format!("bad hex: {e}"))
    };
    match mode {
        Mode::Hex | Mode::Raw => cur.raw = Some(take(hex)?),
        Mode::EdnsData => cur.ednsdata = Some(take(hex)?),
        Mode::Section(_) => {}
    }
    *mode = Mode::Section(None);
    Ok(())
}

/// Closes a packet: pending hex, then the EDNS rule of the dialect (§4.1).
fn finish_packet(
    cur: &mut EntryPacket,
    mode: &mut Mode,
    hex: &mut String,
    dialect: Dialect,
) -> Result<(), String> {
    if matches!(mode, Mode::Hex | Mode::EdnsData | Mode::Raw) {
        finish_hex(cur, mode, hex)?;
    }
    let want = match dialect {
        Dialect::Unbound => cur.reply_do || cur.reply_co || cur.ednsdata.is_some(),
        Dialect::Deckard => true,
        Dialect::Stelline => cur.reply_do || cur.ednsdata.is_some() || cur.packet.rcode > 15,
    };
    if want {
        cur.packet.edns = Some(Edns {
            payload: if dialect == Dialect::Deckard {
                4096
            } else {
                1232
            },
            ext_rcode: 0,
            version: 0,
            dnssec_ok: cur.reply_do,
            compact_ok: cur.reply_co,
            options: cur.ednsdata.clone().unwrap_or_default(),
        });
    }
    Ok(())
}
