//! `KvBody`: the text/plain `key=value` bodies of the CGI interface, parsed the way real firmware
//! writes them — CRLF or LF, blank lines, extra keys, values that contain `=`.

/// A parsed CGI body: its `key=value` pairs in order, plus its lines as sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvBody {
    pairs: Vec<(String, String)>,
    lines: Vec<String>,
}

impl KvBody {
    /// Parse a body. Lines without `=` are kept in [`KvBody::lines`] only; keys and values are
    /// trimmed; a value keeps any further `=`.
    pub fn parse(body: &str) -> Self {
        let mut out = KvBody::default();
        for line in body.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line).trim();
            if line.is_empty() {
                continue;
            }
            out.lines.push(line.to_owned());
            if let Some((k, v)) = line.split_once('=') {
                out.pairs.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        out
    }

    /// First value for `key` (exact, case-sensitive as the firmware writes it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every `key=value` pair in the order the device sent them.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Every non-blank line, trimmed, including lines that are not `key=value`.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// True when the body is exactly the success word `OK`.
    pub fn is_ok(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].eq_ignore_ascii_case("OK")
    }

    /// `Some(reason)` when the body is a refusal: `Error` on the first line, the reason on the next.
    pub fn error_reason(&self) -> Option<String> {
        let first = self.lines.first()?;
        if !first.eq_ignore_ascii_case("Error") {
            return None;
        }
        Some(match self.lines.get(1) {
            Some(reason) => reason.clone(),
            None => "(no reason given)".to_owned(),
        })
    }

    /// True when nothing but blank lines came back.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lf_bodies_parse_the_same() {
        let crlf = KvBody::parse("sn=ABC123\r\ntype=DNR216\r\n");
        let lf = KvBody::parse("sn=ABC123\ntype=DNR216\n");
        assert_eq!(crlf, lf);
        assert_eq!(crlf.get("sn"), Some("ABC123"));
        assert_eq!(crlf.get("type"), Some("DNR216"));
    }

    #[test]
    fn extra_keys_blank_lines_and_equals_in_values_are_tolerated() {
        let b =
            KvBody::parse("\r\nname=NVR = front\r\nextra.Key=1\r\n\r\nversion=2.800.0000000.25.R,build:2020-08-18\r\n");
        assert_eq!(b.get("name"), Some("NVR = front"));
        assert_eq!(b.get("extra.Key"), Some("1"));
        assert_eq!(b.get("version"), Some("2.800.0000000.25.R,build:2020-08-18"));
        assert_eq!(b.get("missing"), None);
        assert_eq!(b.pairs().len(), 3);
    }

    #[test]
    fn ok_and_error_bodies_are_recognised() {
        assert!(KvBody::parse("OK\r\n").is_ok());
        assert!(KvBody::parse("OK").is_ok());
        assert!(!KvBody::parse("OK\r\nname=x\r\n").is_ok());
        assert_eq!(KvBody::parse("Error\r\nBad Request!\r\n").error_reason().as_deref(), Some("Bad Request!"));
        assert_eq!(KvBody::parse("Error\n").error_reason().as_deref(), Some("(no reason given)"));
        assert_eq!(KvBody::parse("sn=1\r\n").error_reason(), None);
    }
}
