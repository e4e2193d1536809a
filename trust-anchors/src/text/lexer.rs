//! Tokeniser for RFC 1035 §5 master-file text.
//!
//! Splits input into logical entries: one line, or several lines joined by
//! parentheses. Comments (`;` to end of line) are dropped, quoted strings
//! become single tokens, and backslash escapes are kept verbatim in the token
//! text so that the name and character-string readers can decode them with
//! their own rules.

use super::TextError;

/// One token of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The token text, escapes kept as written, quotes removed.
    pub(crate) text: String,
    /// Whether the token was a quoted string.
    pub(crate) quoted: bool,
}

/// A logical entry: the tokens of one record or directive.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// 1-based line number where the entry starts.
    pub(crate) line: usize,
    /// Whether the entry began with blank space (the owner is omitted).
    pub(crate) leading_blank: bool,
    pub(crate) tokens: Vec<Token>,
}

/// Splits `input` into entries. `first_line` is the number of its first line.
pub(crate) fn scan(input: &str, first_line: usize) -> Result<Vec<Entry>, TextError> {
    let mut entries = Vec::new();
    let mut line = first_line;
    let mut chars = input.chars().peekable();
    let mut depth = 0usize;
    let mut paren_line = 0usize;
    let mut current: Option<Entry> = None;
    let mut at_line_start = true;
    let mut token = String::new();
    let mut in_token = false;

    fn flush(
        token: &mut String,
        in_token: &mut bool,
        entry: &mut Option<Entry>,
        line: usize,
        blank: bool,
    ) {
        if *in_token {
            let e = entry.get_or_insert_with(|| Entry {
                line,
                leading_blank: blank,
                tokens: Vec::new(),
            });
            e.tokens.push(Token {
                text: std::mem::take(token),
                quoted: false,
            });
            *in_token = false;
        }
    }

    let mut line_leading_blank = false;
    while let Some(c) = chars.next() {
        if at_line_start {
            at_line_start = false;
            line_leading_blank = c == ' ' || c == '\t';
        }
        match c {
            '\n' => {
                flush(
                    &mut token,
                    &mut in_token,
                    &mut current,
                    line,
                    line_leading_blank,
                );
                if depth == 0
                    && let Some(e) = current.take()
                {
                    entries.push(e);
                }
                line += 1;
                at_line_start = true;
            }
            ' ' | '\t' | '\r' => {
                flush(
                    &mut token,
                    &mut in_token,
                    &mut current,
                    line,
                    line_leading_blank,
                );
            }
            ';' => {
                flush(
                    &mut token,
                    &mut in_token,
                    &mut current,
                    line,
                    line_leading_blank,
                );
                while let Some(&n) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '(' => {
                flush(
                    &mut token,
                    &mut in_token,
                    &mut current,
                    line,
                    line_leading_blank,
                );
                if depth == 0 {
                    paren_line = line;
                }
                depth += 1;
                current.get_or_insert_with(|| Entry {
                    line,
                    leading_blank: line_leading_blank,
                    tokens: Vec::new(),
                });
            }
            ')' => {
                flush(
                    &mut token,
                    &mut in_token,
                    &mut current,
                    line,
                    line_leading_blank,
                );
                if depth == 0 {
                    return Err(TextError::new(line, "unbalanced ')'"));
                }
                depth -= 1;
            }
            '"' => {
                flush(
                    &mut token,
                    &mut in_token,
                    &mut current,
                    line,
                    line_leading_blank,
                );
                let start = line;
                let mut text = String::new();
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            text.push('\\');
                            match chars.next() {
                                Some(n) => {
                                    if n == '\n' {
                                        line += 1;
                                    }
                                    text.push(n);
                                }
                                None => break,
                            }
                        }
                        '\n' => {
                            line += 1;
                            text.push('\n');
                        }
                        other => text.push(other),
                    }
                }
                if !closed {
                    return Err(TextError::new(start, "unterminated quoted string"));
                }
                current
                    .get_or_insert_with(|| Entry {
                        line: start,
                        leading_blank: line_leading_blank,
                        tokens: Vec::new(),
                    })
                    .tokens
                    .push(Token { text, quoted: true });
            }
            '\\' => {
                in_token = true;
                token.push('\\');
                match chars.next() {
                    Some('\n') | None => {
                        return Err(TextError::new(line, "backslash at end of line"));
                    }
                    Some(n) => token.push(n),
                }
            }
            other => {
                in_token = true;
                token.push(other);
            }
        }
    }
    flush(
        &mut token,
        &mut in_token,
        &mut current,
        line,
        line_leading_blank,
    );
    if depth > 0 {
        return Err(TextError::new(paren_line, "unbalanced '(': no closing ')'"));
    }
    if let Some(e) = current.take() {
        entries.push(e);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(e: &Entry) -> Vec<&str> {
        e.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn joins_parenthesised_lines_and_drops_comments() {
        let entries = scan("a 1 IN SOA ns ( ; c\n 1 2\n 3 4 5 )\n\n  b ; x\n", 1).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            texts(&entries[0]),
            ["a", "1", "IN", "SOA", "ns", "1", "2", "3", "4", "5"]
        );
        assert_eq!(entries[1].line, 5);
        assert!(entries[1].leading_blank);
    }

    #[test]
    fn quoted_strings_and_escapes() {
        let entries = scan(r#"x TXT "a b\"c" d\ e"#, 1).unwrap();
        let t = &entries[0].tokens;
        assert_eq!(t[2].text, r#"a b\"c"#);
        assert!(t[2].quoted);
        assert_eq!(t[3].text, r"d\ e");
    }

    #[test]
    fn unbalanced_parentheses_are_errors() {
        assert!(scan("a ( b", 1).is_err());
        assert!(scan("a ) b", 1).is_err());
        assert!(scan("a \"b", 1).is_err());
    }
}
