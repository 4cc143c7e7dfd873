//! ART-LOCAL's RTSP part: for an owner "the password works locally" means the video plays, so an
//! RTSP login is the device client's play check (`Rtsp::play`: a decoded key frame, not a `200`
//! to DESCRIBE) on every stream the firmware profile lists — each channel's main stream and
//! sub-stream — and the streams must agree.
//!
//! Each stream is one login attempt on the recorder's lockout counter: the streams are played at
//! once within the lockout budget (dut/together.rs), and the first channel's main stream's outcome
//! is the login's (the caller judges it as the one RTSP login it always was). Two findings are recorded without stopping the scenario, each breaking ART-LOCAL
//! wherever it is seen, once per scenario: a stream that plays to SETUP/PLAY sent without
//! credentials after the device refused them (it protects nothing), and streams that disagree
//! about one password (one plays it, another refuses it). The main stream's key frame, when a
//! password other than the lease's plays it, is kept as a thumbnail for the report.

use resetlab_device::{Credentials, Interface, LoginOutcome, PlayOutcome, Played, Stream};

use super::Dut;
use super::together::{Answer, Try};
use crate::blame::Failure;
use crate::record::Thumbnail;

/// Width of a report thumbnail (the 320x240 main stream becomes 160x120).
const THUMBNAIL_WIDTH: u32 = 160;

impl Dut {
    /// Every stream a user opens on this recorder, as its profile lists them.
    pub fn streams(&self) -> Vec<Stream> {
        self.profile.video.all().into_iter().map(|(channel, subtype)| Stream { channel, subtype }).collect()
    }

    /// Every stream with the first channel's main stream last: its outcome is the RTSP login's.
    pub(super) fn streams_main_last(&self) -> Vec<Stream> {
        let mut streams = self.streams();
        if !streams.is_empty() {
            let main = streams.remove(0);
            streams.push(main);
        }
        streams
    }

    /// One RTSP login: play every stream with `creds`, the streams at once (see the module doc).
    pub(super) async fn play_every_stream(&mut self, creds: &Credentials) -> LoginOutcome {
        let tries: Vec<Try> = self.streams_main_last().into_iter().map(Try::Play).collect();
        let answers = self.attempt_together(creds, &tries).await;
        let plays = answers.into_iter().filter_map(|a| match a {
            Answer::Play(p, _) => Some(p),
            Answer::Login(..) => None,
        });
        self.judge_streams(creds, plays.collect())
    }

    /// Note and judge what the streams did with `creds` (in the order of
    /// [`Dut::streams_main_last`]); the login this amounts to.
    pub(super) fn judge_streams(&mut self, creds: &Credentials, plays: Vec<PlayOutcome>) -> LoginOutcome {
        let mut seen: Vec<(Stream, PlayOutcome)> = Vec::with_capacity(plays.len());
        for (stream, outcome) in self.streams_main_last().into_iter().zip(plays) {
            self.note(Some(Interface::Rtsp), format!("play the {stream} as {}", creds.user), outcome.to_string());
            match &outcome {
                PlayOutcome::Refused { at, unprotected: Some(p), .. } => {
                    let message = format!(
                        "RTSP {stream}: the recorder refused the credentials of {} at {at}, then streamed video ({}x{}) to SETUP and PLAY \
                         sent without any credentials",
                        creds.user, p.picture.width, p.picture.height
                    );
                    if self.found(Failure::violating(&["ART-LOCAL"], message)) {
                        self.keep_thumbnail(p, "streamed without credentials");
                    }
                }
                PlayOutcome::Played(p) if stream.subtype == 0 && creds.password != self.baseline => {
                    self.keep_thumbnail(p, &format!("played as {}", creds.user));
                }
                _ => {}
            }
            seen.push((stream, outcome));
        }
        let played = seen.iter().filter(|(_, o)| matches!(o, PlayOutcome::Played(_))).count();
        if played > 0 && played < seen.len() {
            let each: Vec<String> = seen.iter().map(|(s, o)| format!("{s} {}", brief(o))).collect();
            let message = format!("RTSP streams disagree about one password of {}: {}", creds.user, each.join(", "));
            self.found(Failure::violating(&["ART-LOCAL"], message));
        }
        seen.last().map_or(LoginOutcome::Refused, |(_, o)| o.login())
    }

    /// Record a finding that does not stop the scenario, unless the same was found already;
    /// returns whether it is new.
    fn found(&mut self, failure: Failure) -> bool {
        if self.findings.iter().any(|(_, f)| *f == failure) {
            return false;
        }
        tracing::debug!(%failure, "check failed; the scenario goes on");
        self.findings.push((std::time::SystemTime::now(), failure));
        true
    }

    /// Keep `p`'s key frame, scaled down, as the scenario's evidence.
    fn keep_thumbnail(&mut self, p: &Played, caption: &str) {
        let small = p.picture.scaled_to(THUMBNAIL_WIDTH);
        self.extras.thumbnails.push(Thumbnail {
            scenario: None,
            at_ms: self.now_ms(),
            interface: Interface::Rtsp.to_string(),
            stream: p.stream.to_string(),
            caption: format!("{}, {}x{} key frame, {caption}", p.stream, p.picture.width, p.picture.height),
            width: small.width,
            height: small.height,
            file: String::new(),
            png: small.png(),
        });
    }
}

/// What a stream did, without timings (findings are compared by their text).
fn brief(o: &PlayOutcome) -> String {
    match o {
        PlayOutcome::Played(_) => "played it".into(),
        PlayOutcome::Refused { at, .. } => format!("refused it at {at}"),
        PlayOutcome::Locked { at, .. } => format!("was locked at {at}"),
    }
}
