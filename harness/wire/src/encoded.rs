//! The encodings a password travels in once it leaves a `Secret`: percent-encoded in a CGI query
//! (`%XX` upper or lower case, `+` for a space in forms), JSON-escaped in an RPC2 body or a report,
//! XML/HTML-escaped in an ONVIF body, JUnit file or HTML page — and layered (JSON inside HTML).
//!
//! Redaction must find a secret in any of them, also mixed (an URL encoder leaves `@` raw but
//! encodes a space). So instead of listing every encoded spelling, text is *decoded* here, each
//! decoded character keeping the byte span of the original text it came from; a secret found in
//! the decoded text masks that span of the original. [`forms`] lists the common spellings for
//! tests that grep outputs.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// One decoded character and the bytes `start..end` of the original text it was spelled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    pub(crate) c: char,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// One decoding step.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// `%XX` (either case) → byte, UTF-8 sequences joined; `+` → space when `plus` is set.
    Percent { plus: bool },
    /// JSON string escapes: `\"`, `\\`, `\/`, `\n`…, `\uXXXX` (with surrogate pairs).
    Json,
    /// XML/HTML character references: `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#NN;` `&#xHH;`.
    Xml,
}

/// The decodings redaction searches besides the raw text: each encoding alone, and the layerings
/// that occur (a JSON body quoted in an HTML report, a query string inside JSON or HTML).
pub(crate) const CHAINS: &[&[Step]] = &[
    &[Step::Percent { plus: true }],
    &[Step::Percent { plus: false }],
    &[Step::Json],
    &[Step::Xml],
    &[Step::Xml, Step::Json],
    &[Step::Json, Step::Percent { plus: true }],
    &[Step::Xml, Step::Percent { plus: true }],
    &[Step::Xml, Step::Json, Step::Percent { plus: true }],
];

/// The characters of `text`, each spanning itself.
pub(crate) fn units(text: &str) -> Vec<Unit> {
    text.char_indices().map(|(i, c)| Unit { c, start: i, end: i + c.len_utf8() }).collect()
}

/// Apply `step`; `None` when it changed nothing (the text has no such escape).
pub(crate) fn decode(units: &[Unit], step: Step) -> Option<Vec<Unit>> {
    let escapes = |c: char| units.iter().any(|u| u.c == c);
    let any = match step {
        Step::Percent { plus } => escapes('%') || (plus && escapes('+')),
        Step::Json => escapes('\\'),
        Step::Xml => escapes('&'),
    };
    if !any {
        return None;
    }
    let out = match step {
        Step::Percent { plus } => percent(units, plus),
        Step::Json => json(units),
        Step::Xml => xml(units),
    };
    (out.len() != units.len() || out.iter().zip(units).any(|(a, b)| a.c != b.c)).then_some(out)
}

fn hex(u: Option<&Unit>) -> Option<u8> {
    u.and_then(|u| u.c.to_digit(16)).map(|d| d as u8)
}

fn percent(units: &[Unit], plus: bool) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        // A run of %XX triplets is one byte string: a multi-byte character spans several.
        let mut bytes = Vec::new();
        let mut spans = Vec::new();
        let mut j = i;
        while units[j].c == '%' {
            let (Some(h), Some(l)) = (hex(units.get(j + 1)), hex(units.get(j + 2))) else {
                break;
            };
            bytes.push(h << 4 | l);
            spans.push((units[j].start, units[j + 2].end));
            j += 3;
            if j >= units.len() {
                break;
            }
        }
        if bytes.is_empty() {
            let u = units[i];
            out.push(if plus && u.c == '+' { Unit { c: ' ', ..u } } else { u });
            i += 1;
            continue;
        }
        let mut k = 0;
        while k < bytes.len() {
            let len = utf8_len(bytes[k]);
            let c = bytes.get(k..k + len).and_then(|b| std::str::from_utf8(b).ok()).and_then(|s| s.chars().next());
            match c {
                Some(c) => {
                    out.push(Unit { c, start: spans[k].0, end: spans[k + len - 1].1 });
                    k += len;
                }
                None => {
                    // Not UTF-8: no password is spelled with it.
                    out.push(Unit { c: char::REPLACEMENT_CHARACTER, start: spans[k].0, end: spans[k].1 });
                    k += 1;
                }
            }
        }
        i = j;
    }
    out
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn json(units: &[Unit]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if u.c == '\\'
            && let Some((c, used)) = json_escape(&units[i + 1..])
        {
            out.push(Unit { c, start: u.start, end: units[i + used].end });
            i += used + 1;
            continue;
        }
        out.push(u);
        i += 1;
    }
    out
}

/// The character of the escape after a backslash and how many units it used.
fn json_escape(rest: &[Unit]) -> Option<(char, usize)> {
    let c = match rest.first()?.c {
        '"' => '"',
        '\\' => '\\',
        '/' => '/',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'u' => {
            let hi = json_u16(rest.get(1..5)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                // A surrogate pair: `\uD83D\uDE00`.
                if rest.get(5).map(|u| u.c) == Some('\\') && rest.get(6).map(|u| u.c) == Some('u') {
                    let lo = json_u16(rest.get(7..11)?)?;
                    let c = char::decode_utf16([hi, lo]).next()?.ok()?;
                    return Some((c, 11));
                }
                return None;
            }
            return char::from_u32(u32::from(hi)).map(|c| (c, 5));
        }
        _ => return None,
    };
    Some((c, 1))
}

fn json_u16(units: &[Unit]) -> Option<u16> {
    units.iter().try_fold(0u16, |acc, u| Some(acc << 4 | u.c.to_digit(16)? as u16))
}

fn xml(units: &[Unit]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if u.c == '&'
            && let Some(end) = units[i + 1..].iter().take(12).position(|u| u.c == ';')
        {
            let name: String = units[i + 1..i + 1 + end].iter().map(|u| u.c).collect();
            if let Some(c) = xml_reference(&name) {
                out.push(Unit { c, start: u.start, end: units[i + 1 + end].end });
                i += end + 2;
                continue;
            }
        }
        out.push(u);
        i += 1;
    }
    out
}

fn xml_reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// `application/x-www-form-urlencoded` keeps only these unencoded.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

/// The common spellings of `value` in text: raw, percent-encoded with upper- and lower-case hex,
/// form-encoded (`+` for a space), JSON-escaped and XML-escaped. For tests that grep outputs; the
/// redaction itself decodes instead, so it also finds mixed and layered spellings.
pub fn forms(value: &str) -> Vec<String> {
    let upper = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
    let lower = lower_hex(&upper);
    let form = utf8_percent_encode(value, FORM).to_string().replace("%20", "+");
    let json = serde_json::to_string(value).expect("a string serialises");
    let json = json[1..json.len() - 1].to_owned();
    let xml = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    let mut all = vec![value.to_owned(), upper, lower, form, json, xml];
    all.sort();
    all.dedup();
    all
}

fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str, chain: &[Step]) -> String {
        let mut u = units(text);
        for s in chain {
            if let Some(d) = decode(&u, *s) {
                u = d;
            }
        }
        u.iter().map(|u| u.c).collect()
    }

    #[test]
    fn percent_decoding_joins_utf8_and_keeps_spans() {
        let u = decode(&units("a%C3%a9+b"), Step::Percent { plus: true }).unwrap();
        let text: String = u.iter().map(|u| u.c).collect();
        assert_eq!(text, "aé b");
        assert_eq!((u[1].start, u[1].end), (1, 7));
        assert_eq!(decoded("a+b%2", &[Step::Percent { plus: false }]), "a+b%2");
        assert!(decode(&units("plain"), Step::Percent { plus: true }).is_none());
    }

    #[test]
    fn json_and_xml_escapes_decode_also_layered() {
        assert_eq!(decoded(r#"p\"w\\\u0026\ud83d\ude00"#, &[Step::Json]), "p\"w\\&😀");
        assert_eq!(decoded("a&amp;b&#60;&#x3E;&quot;", &[Step::Xml]), "a&b<>\"");
        assert_eq!(decoded(r"\&quot;x&amp;y", &[Step::Xml, Step::Json]), "\"x&y");
    }

    #[test]
    fn forms_cover_percent_form_json_and_xml() {
        let f = forms("p@ss w\"<&");
        for want in [
            "p@ss w\"<&",
            "p%40ss%20w%22%3C%26",
            "p%40ss%20w%22%3c%26",
            "p%40ss+w%22%3C%26",
            "p@ss w\\\"<&",
            "p@ss w&quot;&lt;&amp;",
        ] {
            assert!(f.contains(&want.to_owned()), "{want} missing from {f:?}");
        }
    }
}
