//! The SOAP request as the firmware reads it: a small element tree built with quick-xml, bounded in
//! size and depth, namespace prefixes dropped (local names only, as embedded SOAP stacks match).
//! A DOCTYPE is refused outright (no DTD, so no entity can be declared: no billion laughs, no
//! external entities); only the five predefined entities and character references are expanded.
//! Anything malformed is an error the caller turns into a SOAP fault, never a panic.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Deepest nesting read (a SOAP envelope with a SetUser body is 6 deep).
const MAX_DEPTH: usize = 32;
/// Most elements read from one request.
const MAX_ELEMENTS: usize = 4096;

/// One element: local name, attributes (local names), text, children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub(crate) fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at `path` of child names below this one.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The trimmed text of the child at `path`.
    pub(crate) fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|e| e.text.trim())
    }

    /// The value of attribute `name` (local name).
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request is not XML the firmware reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum XmlError {
    #[error("DTDs are not accepted")]
    Dtd,
    #[error("entity `&{0};` is not one of the predefined ones")]
    Entity(String),
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("more than {MAX_ELEMENTS} elements")]
    TooMany,
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    #[error("no root element")]
    Empty,
}

fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

fn open(e: &BytesStart<'_>) -> Result<Element, XmlError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| XmlError::Malformed(err.to_string()))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| XmlError::Malformed(err.to_string()))?;
        attrs.push((local(a.key.local_name().as_ref()), value.into_owned()));
    }
    Ok(Element { name: local(e.local_name().as_ref()), attrs, ..Element::default() })
}

/// Parse `text` into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let malformed = |e: quick_xml::Error| XmlError::Malformed(e.to_string());
    loop {
        let event = reader.read_event().map_err(malformed)?;
        match event {
            Event::DocType(_) => return Err(XmlError::Dtd),
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(XmlError::Malformed("content after the root element".into()));
            }
            Event::Start(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooMany);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooMany);
                }
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| XmlError::Malformed("end tag without a start".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(XmlError::Malformed("text outside the root element".into()));
                    }
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c,
                    None => {
                        let name = r.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                        match name.as_ref() {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => {
                                return Err(XmlError::Entity(other.chars().take(40).collect()));
                            }
                        }
                    }
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push(ch);
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("document ends inside an element".into()));
    }
    root.ok_or(XmlError::Empty)
}

/// `s` with `& < > " '` escaped, for text and attribute values in answers.
pub(crate) fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_envelope_reads_by_local_names() {
        let e = parse(
            r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:SetUser xmlns:tds="x"><tds:User><tt:Username>op&amp;1</tt:Username><tt:Password><![CDATA[a<b]]></tt:Password></tds:User></tds:SetUser></s:Body></s:Envelope>"#,
        )
        .unwrap();
        assert_eq!(e.name, "Envelope");
        assert_eq!(e.text_at(&["Body", "SetUser", "User", "Username"]), Some("op&1"));
        assert_eq!(e.text_at(&["Body", "SetUser", "User", "Password"]), Some("a<b"));
        assert_eq!(parse("<a x='&#65;&lt;'>&#x42;</a>").unwrap().attr("x"), Some("A<"));
    }

    #[test]
    fn dtds_entities_and_garbage_are_errors() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert_eq!(parse(bomb), Err(XmlError::Dtd));
        assert!(matches!(parse("<a>&xxe;</a>"), Err(XmlError::Entity(_))));
        assert_eq!(parse(&"<a>".repeat(100)), Err(XmlError::TooDeep));
        assert_eq!(parse(&format!("<r>{}</r>", "<a/>".repeat(5000))), Err(XmlError::TooMany));
        for junk in ["", "   ", "<a>", "<a></b>", "</a>", "<a/><b/>", "text", "<a x='1' x='2'/>", "\u{0}"] {
            assert!(parse(junk).is_err(), "{junk:?}");
        }
    }
}
