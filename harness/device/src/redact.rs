//! Redaction of what a client sent before it reaches an error, a log or a report: query parameters
//! and JSON fields that carry passwords (or hashes that replay as one) become `•••`, and any password
//! the process knows (`resetlab_wire::secret`) is masked wherever else it slipped in.

use resetlab_wire::secret::{self, MASK};

/// Keys whose values are secrets, compared case-insensitively: CGI `pwd`, `pwdOld`,
/// `user.Password`, RPC2 `password` / `pwd` / `pwdOld`, and the RPC2 `session` (a bearer token).
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let last = k.rsplit('.').next().unwrap_or(&k);
    if last.ends_with("type") {
        return false; // passwordType names a scheme, not a secret
    }
    last.starts_with("pwd") || last.contains("password") || last == "passwd" || last == "session"
}

/// A request line or path-and-query with secret parameters masked, e.g.
/// `…&pwd=abc&pwdOld=def` → `…&pwd=•••&pwdOld=•••`.
pub fn request(text: &str) -> String {
    let (head, query) = match text.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (text, None),
    };
    let mut out = head.to_owned();
    if let Some(query) = query {
        out.push('?');
        // A request string may carry a suffix after the query (`… HTTP/1.1`); keep it.
        let (query, tail) = match query.find(' ') {
            Some(i) => (&query[..i], &query[i..]),
            None => (query, ""),
        };
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_key(k) => format!("{k}={MASK}"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&masked.join("&"));
        out.push_str(tail);
    }
    text_masking(&out)
}

/// Any text with every password the process knows masked.
pub fn text(text: &str) -> String {
    text_masking(text)
}

fn text_masking(s: &str) -> String {
    mask_json_fields(&secret::redact(s))
}

/// Reply text often quotes an RPC2 JSON body (`"session":"83b6…"`), plain or with escaped quotes
/// inside an error excerpt: mask the string values of secret fields wherever they stand.
fn mask_json_fields(s: &str) -> String {
    let mut out = s.to_owned();
    for key in ["session", "password", "pwd", "pwdOld"] {
        for (open, close) in [(format!("\"{key}\":\""), "\""), (format!("\\\"{key}\\\":\\\""), "\\\"")] {
            let mut from = 0;
            while let Some(at) = out[from..].find(&open) {
                let start = from + at + open.len();
                let Some(len) = out[start..].find(close) else { break };
                if &out[start..start + len] != MASK {
                    out.replace_range(start..start + len, MASK);
                }
                from = start + MASK.len().min(out.len() - start);
            }
        }
    }
    out
}

#[cfg(test)]
mod json_field_tests {
    use super::*;

    #[test]
    fn session_in_a_quoted_rpc2_reply_is_masked() {
        let plain = r#"{"id":3,"result":false,"session":"f5dd251a6c4ff18b46e6d27ba2527d26"}"#;
        assert_eq!(text(plain), format!(r#"{{"id":3,"result":false,"session":"{MASK}"}}"#));
        let escaped = r#"HTTP 200 OK "{\"result\":true,\"session\":\"f5dd251a\"}""#;
        assert!(!text(escaped).contains("f5dd251a"), "{}", text(escaped));
        assert_eq!(text("no json here"), "no json here");
    }
}

/// A JSON value with every secret field (see `is_secret_key`) replaced by `•••`, recursively.
pub fn json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_null() { Value::String(MASK.into()) } else { json(v) };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::String(s) => Value::String(text_masking(s)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cgi_secret_parameters_are_masked() {
        assert_eq!(
            request("GET /cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=n3w&pwdOld=0ld"),
            "GET /cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=•••&pwdOld=•••"
        );
        assert_eq!(
            request("/cgi-bin/userManager.cgi?action=addUser&user.Name=op&user.Password=x%26y&user.Group=user"),
            "/cgi-bin/userManager.cgi?action=addUser&user.Name=op&user.Password=•••&user.Group=user"
        );
        assert_eq!(request("/cgi-bin/magicBox.cgi?action=getSerialNo"), "/cgi-bin/magicBox.cgi?action=getSerialNo");
    }

    #[test]
    fn rpc2_password_fields_are_masked() {
        let v = json(
            &json!({"method":"global.login","params":{"userName":"admin","password":"ABCDEF","passwordType":"Default"}}),
        );
        assert_eq!(v["params"]["password"], MASK);
        assert_eq!(v["params"]["userName"], "admin");
        assert_eq!(v["params"]["passwordType"], "Default");
        let v = json(&json!({"params":{"name":"admin","pwd":"a","pwdOld":"b"}}));
        assert_eq!(v["params"]["pwd"], MASK);
        assert_eq!(v["params"]["pwdOld"], MASK);
        assert_eq!(json(&json!({"session": 12345}))["session"], MASK);
    }

    #[test]
    fn known_secrets_are_masked_anywhere() {
        let s = resetlab_wire::Secret::new("redact-known-77");
        assert_eq!(text(&format!("oops {}", s.expose())), format!("oops {MASK}"));
    }
}
