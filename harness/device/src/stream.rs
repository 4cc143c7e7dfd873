//! `Stream`: one live video stream a user opens over RTSP — a channel and its main stream
//! (`subtype=0`) or sub-stream (`subtype=1`) — as a type, so that a check names the stream it
//! watched and a loop over streams never spells URLs by hand.

use std::fmt;

use crate::target::Target;

/// One of a channel's live streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Stream {
    /// Channel number as the URL has it (1 is the first camera).
    pub channel: u32,
    /// `0` main stream, `1` sub-stream (Dahua's `subtype`).
    pub subtype: u32,
}

impl Stream {
    /// The main stream of `channel` (`subtype=0`).
    pub const fn main(channel: u32) -> Self {
        Stream { channel, subtype: 0 }
    }

    /// The sub-stream of `channel` (`subtype=1`), the small one phones open first.
    pub const fn sub(channel: u32) -> Self {
        Stream { channel, subtype: 1 }
    }

    /// `rtsp://host:port/cam/realmonitor?channel=C&subtype=S`.
    pub fn url(&self, target: &Target) -> String {
        format!("rtsp://{}/cam/realmonitor?channel={}&subtype={}", target.rtsp_authority(), self.channel, self.subtype)
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subtype {
            0 => write!(f, "channel {} main stream", self.channel),
            1 => write!(f, "channel {} sub-stream", self.channel),
            n => write!(f, "channel {} stream subtype={n}", self.channel),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_names_follow_the_dahua_scheme() {
        let t = Target::new("127.0.0.1", 80, 554);
        assert_eq!(Stream::sub(2).url(&t), "rtsp://127.0.0.1:554/cam/realmonitor?channel=2&subtype=1");
        assert_eq!(Stream::main(1).to_string(), "channel 1 main stream");
        assert_eq!(Stream::sub(1).to_string(), "channel 1 sub-stream");
    }
}
