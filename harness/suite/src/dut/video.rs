//! ART-LOCAL's RTSP part: for an owner "the password works locally" means the video plays, so an
//! RTSP login is the device client's play check (`Rtsp::play`: a decoded key frame, not a `200`
//! to DESCRIBE) on every stream the firmware profile lists — each channel's main stream and
//! sub-stream — and the streams must agree.
//!
//! Each stream is one login attempt on the recorder's lockout counter, so every stream after the
//! first is budgeted like a login of its own. Two findings stop the scenario, each breaking
//! ART-LOCAL wherever it is seen: a stream that plays to SETUP/PLAY sent without credentials after
//! the device refused them (it protects nothing), and streams that disagree about one password
//! (one plays it, another refuses it). The main stream's key frame, when a password other than the
//! lease's plays it, is kept as a thumbnail for the report.

use resetlab_device::{Credentials, Interface, LoginOutcome, PlayOutcome, Played, Rtsp, Stream};

use super::Dut;
use crate::blame::fail_violating;
use crate::record::Thumbnail;

/// Width of a report thumbnail (the 320x240 main stream becomes 160x120).
const THUMBNAIL_WIDTH: u32 = 160;

impl Dut {
    /// Every stream a user opens on this recorder, as its profile lists them.
    pub fn streams(&self) -> Vec<Stream> {
        self.profile
            .video
            .all()
            .into_iter()
            .map(|(channel, subtype)| Stream { channel, subtype })
            .collect()
    }

    /// One RTSP login: play every stream with `creds` (see the module doc).
    pub(super) async fn play_every_stream(&mut self, creds: &Credentials) -> LoginOutcome {
        let streams = self.streams();
        let mut seen: Vec<(Stream, PlayOutcome)> = Vec::with_capacity(streams.len());
        for (n, &stream) in streams.iter().enumerate() {
            if n > 0 && !self.lock_pending {
                Box::pin(self.keep_within_budget(Interface::Http, &creds.user)).await;
            }
            let outcome = match Rtsp::play(&self.target, creds, stream).await {
                Ok(o) => o,
                Err(e) => self.fail_on(e),
            };
            self.note(
                Some(Interface::Rtsp),
                format!("play the {stream} as {}", creds.user),
                outcome.to_string(),
            );
            if n + 1 < streams.len() {
                // The last stream is counted by the caller, with the login's outcome.
                match outcome.login() {
                    LoginOutcome::Accepted => {
                        self.wrong_in_a_row.insert(creds.user.clone(), 0);
                    }
                    _ => *self.wrong_in_a_row.entry(creds.user.clone()).or_default() += 1,
                }
            }
            match &outcome {
                PlayOutcome::Refused {
                    at,
                    unprotected: Some(p),
                    ..
                } => {
                    self.keep_thumbnail(p, "streamed without credentials");
                    fail_violating(
                        &["ART-LOCAL"],
                        format!(
                            "RTSP {stream}: the recorder refused the credentials of {} at {at}, then streamed video ({}x{}) to SETUP and PLAY \
                             sent without any credentials",
                            creds.user, p.picture.width, p.picture.height
                        ),
                    );
                }
                PlayOutcome::Played(p)
                    if stream.subtype == 0 && creds.password != self.baseline =>
                {
                    self.keep_thumbnail(p, &format!("played as {}", creds.user));
                }
                _ => {}
            }
            seen.push((stream, outcome));
        }
        let played = seen
            .iter()
            .filter(|(_, o)| matches!(o, PlayOutcome::Played(_)))
            .count();
        if played > 0 && played < seen.len() {
            let each: Vec<String> = seen.iter().map(|(s, o)| format!("{s}: {o}")).collect();
            fail_violating(
                &["ART-LOCAL"],
                format!(
                    "RTSP streams disagree about one password of {}: {}",
                    creds.user,
                    each.join("; ")
                ),
            );
        }
        let locked = seen
            .iter()
            .map(|(_, o)| o.login())
            .find(|l| matches!(l, LoginOutcome::Locked { .. }));
        locked
            .or_else(|| seen.last().map(|(_, o)| o.login()))
            .unwrap_or(LoginOutcome::Refused)
    }

    /// Keep `p`'s key frame, scaled down, as the scenario's evidence.
    fn keep_thumbnail(&mut self, p: &Played, caption: &str) {
        let small = p.picture.scaled_to(THUMBNAIL_WIDTH);
        self.extras.thumbnails.push(Thumbnail {
            scenario: None,
            at_ms: self.now_ms(),
            interface: Interface::Rtsp.to_string(),
            stream: p.stream.to_string(),
            caption: format!(
                "{}, {}x{} key frame, {caption}",
                p.stream, p.picture.width, p.picture.height
            ),
            width: small.width,
            height: small.height,
            file: String::new(),
            png: small.png(),
        });
    }
}
