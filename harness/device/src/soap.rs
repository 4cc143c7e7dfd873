//! Reading a SOAP 1.2 reply from an ONVIF device: a small element tree (local names only — devices
//! use every prefix under the sun), bounded in depth and size, no DTD (an answer with a DOCTYPE is
//! refused, so no entity can expand), and the fault a reply may carry. Lenient about everything a
//! real device varies in (prefixes, whitespace, SOAP 1.1 `faultstring`), strict about what is not XML.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Deepest nesting read.
const MAX_DEPTH: usize = 64;
/// Most elements read from one reply (a user list of a 64-account NVR is a few hundred).
const MAX_ELEMENTS: usize = 20_000;

/// One element of a reply: local name, attributes, text, children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (prefix dropped).
    pub name: String,
    /// Attributes by local name.
    pub attrs: Vec<(String, String)>,
    /// Text directly inside.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element at `path` below this one.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The trimmed text at `path`.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|e| e.text.trim())
    }

    /// Every element named `name` anywhere below (depth first).
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.find_all(name, out);
        }
    }
}

/// A SOAP fault: its code, subcodes (innermost last) and reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `env:Sender`, `env:Receiver` (SOAP 1.1: `faultcode`), prefix dropped.
    pub code: String,
    /// ONVIF subcodes such as `NotAuthorized`, prefix dropped.
    pub subcodes: Vec<String>,
    /// The reason text.
    pub reason: String,
}

impl Fault {
    /// True for ONVIF's refused-login fault (`ter:NotAuthorized`).
    pub fn not_authorized(&self) -> bool {
        self.subcodes.iter().any(|s| s == "NotAuthorized") || self.code == "NotAuthorized"
    }
}

fn strip_prefix(v: &str) -> String {
    v.trim().rsplit(':').next().unwrap_or("").to_owned()
}

/// The SOAP `Body`'s first element, or the fault it carries; `Err` says why the text is not a
/// SOAP envelope.
pub fn read_reply(text: &str) -> Result<Result<Element, Fault>, String> {
    let env = parse(text)?;
    if env.name != "Envelope" {
        return Err(format!("root element is `{}`, not a SOAP Envelope", short(&env.name)));
    }
    let body = env.child("Body").ok_or("SOAP Envelope without a Body")?;
    let first = body.children.first().ok_or("SOAP Body is empty")?;
    if first.name != "Fault" {
        return Ok(Ok(first.clone()));
    }
    let mut subcodes = Vec::new();
    let mut sub = first.at(&["Code", "Subcode"]);
    while let Some(s) = sub {
        if let Some(v) = s.text_at(&["Value"]) {
            subcodes.push(strip_prefix(v));
        }
        sub = s.child("Subcode");
    }
    let code = first
        .text_at(&["Code", "Value"])
        .or_else(|| first.text_at(&["faultcode"]))
        .map(strip_prefix)
        .unwrap_or_default();
    let reason = first
        .at(&["Reason"])
        .map(|r| r.children.iter().map(|t| t.text.trim()).collect::<Vec<_>>().join(" "))
        .or_else(|| first.text_at(&["faultstring"]).map(str::to_owned))
        .unwrap_or_default();
    Ok(Err(Fault { code, subcodes, reason }))
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

fn open(e: &BytesStart<'_>) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value: {err}"))?;
        attrs.push((String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(), v.into_owned()));
    }
    Ok(Element { name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(), attrs, ..Element::default() })
}

/// Parse a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut count = 0usize;
    loop {
        let ev = reader.read_event().map_err(|e| format!("not well-formed XML: {e}"))?;
        let (element, closes) = match ev {
            Event::DocType(_) => return Err("reply carries a DTD (refused)".into()),
            Event::Start(e) => (Some(open(&e)?), false),
            Event::Empty(e) => (Some(open(&e)?), true),
            Event::End(_) => (None, true),
            Event::Text(t) => {
                let s = t.decode().map_err(|e| format!("text: {e}"))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
                continue;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| format!("CDATA: {e}"))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
                continue;
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| format!("reference: {e}"))? {
                    Some(c) => c,
                    None => match r.decode().map_err(|e| format!("reference: {e}"))?.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(format!("undeclared entity `&{};`", short(other))),
                    },
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push(c);
                }
                continue;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
            Event::Eof => break,
        };
        if let Some(el) = element {
            if root.is_some() {
                return Err("content after the root element".into());
            }
            count += 1;
            if count > MAX_ELEMENTS {
                return Err(format!("more than {MAX_ELEMENTS} elements"));
            }
            if stack.len() >= MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH}"));
            }
            stack.push(el);
        }
        if closes {
            let el = stack.pop().ok_or("end tag without a start")?;
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None => root = Some(el),
            }
        }
    }
    if !stack.is_empty() {
        return Err("reply ends inside an element (truncated?)".into());
    }
    root.ok_or_else(|| "no XML element in the reply".to_owned())
}

/// `s` escaped for XML text.
pub(crate) fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap12_and_soap11_faults_are_read() {
        let f = read_reply(r#"<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error"><SOAP-ENV:Body><SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value><SOAP-ENV:Subcode><SOAP-ENV:Value>ter:NotAuthorized</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">Sender not Authorized</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"#).unwrap().unwrap_err();
        assert!(f.not_authorized());
        assert_eq!((f.code.as_str(), f.reason.as_str()), ("Sender", "Sender not Authorized"));
        let f = read_reply("<s:Envelope xmlns:s='x'><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>").unwrap().unwrap_err();
        assert_eq!((f.code.as_str(), f.reason.as_str(), f.not_authorized()), ("Client", "bad", false));
        let ok = read_reply("<e:Envelope xmlns:e='x'><e:Body><d:GetUsersResponse xmlns:d='y'><d:User><t:Username>admin</t:Username></d:User></d:GetUsersResponse></e:Body></e:Envelope>").unwrap().unwrap();
        assert_eq!(ok.text_at(&["User", "Username"]), Some("admin"));
    }

    #[test]
    fn garbage_dtds_and_truncation_are_errors() {
        for bad in [
            "",
            "<!DOCTYPE x [<!ENTITY a 'b'>]><Envelope/>",
            "<Envelope><Body>",
            "<Envelope>&nope;</Envelope>",
            "HTTP/1.1 200 OK",
            "<a/><b/>",
        ] {
            assert!(read_reply(bad).is_err(), "{bad:?}");
        }
        assert!(read_reply("<Envelope><Header/></Envelope>").unwrap_err().contains("without a Body"));
    }
}
