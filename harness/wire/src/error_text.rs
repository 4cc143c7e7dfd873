//! Error text of an HTTP client call, safe to log, return or report: the message and its sources
//! on one line, without the request URL and with every known secret masked.
//!
//! reqwest's errors print the full URL (`error sending request for url
//! (http://…/userManager.cgi?action=modifyPassword&pwd=NEW&pwdOld=OLD)`), and a CGI URL carries
//! passwords in its query. The device clients, the relay's device agent and the app's direct
//! backend all format such errors through [`without_url`], so none of them can forget to strip it.

use std::error::Error;

use crate::secret;

/// `err` and its sources joined with `: `, each level without `url` (nor the ` (url)` reqwest
/// wraps it in), then redacted. Pass the URL the error carries (`e.url().map(|u| u.as_str())`).
pub fn without_url(err: &(dyn Error + 'static), url: Option<&str>) -> String {
    let strip = |text: String| match url {
        Some(url) if !url.is_empty() => text.replace(&format!(" ({url})"), "").replace(url, "<url>"),
        _ => text,
    };
    let mut parts: Vec<String> = Vec::new();
    let mut level: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = level {
        let text = strip(e.to_string());
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        level = e.source();
    }
    secret::redact(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(String, Inner);
    #[derive(Debug)]
    struct Inner(String);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.1)
        }
    }
    impl Error for Inner {}

    #[test]
    fn url_is_removed_from_every_level_and_sources_are_kept() {
        let url = "http://127.0.0.1:8080/cgi-bin/userManager.cgi?action=modifyPassword&pwd=N3w%21x&pwdOld=0ld%40x";
        let e = Outer(format!("error sending request for url ({url})"), Inner(format!("connection refused by {url}")));
        let text = without_url(&e, Some(url));
        assert_eq!(text, "error sending request for url: connection refused by <url>");
        assert!(!text.contains("pwd"), "{text}");
    }
}
