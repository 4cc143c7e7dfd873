//! `Interface`: the ways into a recorder that the article's "every interface" means, as a type so
//! that errors, reports and loops over interfaces never spell them as strings.

use std::fmt;

/// One of the recorder's login interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Interface {
    /// `/cgi-bin/*.cgi` with HTTP Digest.
    Http,
    /// JSON `global.login` on `/RPC2_Login`, then `/RPC2` with a session.
    Rpc2,
    /// RTSP DESCRIBE with Digest on the live stream.
    Rtsp,
    /// ONVIF Device service (SOAP 1.2) with a WS-Security UsernameToken.
    Onvif,
}

impl Interface {
    /// Every interface, in the order reports list them.
    pub const ALL: [Interface; 4] = [Interface::Http, Interface::Rpc2, Interface::Rtsp, Interface::Onvif];
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Interface::Http => "HTTP CGI",
            Interface::Rpc2 => "RPC2",
            Interface::Rtsp => "RTSP",
            Interface::Onvif => "ONVIF",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_match_the_report_wording() {
        let names: Vec<String> = Interface::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(names, ["HTTP CGI", "RPC2", "RTSP", "ONVIF"]);
    }
}
