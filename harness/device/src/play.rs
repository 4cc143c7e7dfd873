//! The RTSP login check that plays: `DESCRIBE` → `SETUP` (RTP interleaved on the RTSP connection)
//! → `PLAY`, then the RTP packets until one whole H.264 key frame (SPS, PPS, IDR slice) has arrived
//! and decoded, then `TEARDOWN`. For an owner, "the password works locally" means the video plays;
//! a `200` to `DESCRIBE` alone does not show that, since firmware of this family has checked
//! credentials on `DESCRIBE` and not on `SETUP`/`PLAY`, or the other way round.
//!
//! Refused means a `401` (after answering the challenge) or `403` at whichever step the device
//! asks. After a refusal the check goes on **without credentials** to the end: a device that then
//! streams anyway protects nothing ([`PlayOutcome::Refused::unprotected`]), which is a finding even
//! though `DESCRIBE` asked. A request without credentials is a plain challenge on these devices,
//! so the refused password is sent once and counts once against the lockout.
//!
//! Digest answers come from the target's shared challenge (one nonce answered for all three
//! methods, as ffmpeg and VLC do, see `rtsp.rs`); every read has the call's deadline, and the wait
//! for the key frame has a deadline of its own that names what had arrived when it expired.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};
use tokio::time::Instant;

use crate::call::Call;
use crate::error::{DeviceError, ErrorKind, excerpt, seconds_after_lock};
use crate::h264::{AccessUnit, Depacketizer, parse_rtp};
use crate::interface::Interface;
use crate::login::LoginOutcome;
use crate::picture::Picture;
use crate::rtsp::{Conn, Rtsp, RtspResponse, closes, read_response};
use crate::shared::DigestRound;
use crate::stream::Stream;
use crate::target::{Credentials, Target};

/// A step of opening a stream at which a device may ask for credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlayStep {
    /// `DESCRIBE` (the SDP).
    Describe,
    /// `SETUP` (the transport and session).
    Setup,
    /// `PLAY` (the media starts).
    Play,
}

impl fmt::Display for PlayStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PlayStep::Describe => "DESCRIBE",
            PlayStep::Setup => "SETUP",
            PlayStep::Play => "PLAY",
        })
    }
}

/// Video that arrived: the first whole key frame, decoded.
#[derive(Debug, Clone)]
pub struct Played {
    /// The stream that played.
    pub stream: Stream,
    /// The key frame as decoded.
    pub picture: Picture,
    /// The key frame as it arrived (SPS, PPS, IDR as Annex-B).
    pub key_frame: AccessUnit,
    /// RTP packets received up to the key frame.
    pub packets: u32,
    /// From the `200` to `PLAY` until the key frame was whole.
    pub first_key_frame: Duration,
    /// Steps the device answered with a challenge (`401`) before taking or refusing credentials.
    pub challenged_at: Vec<PlayStep>,
}

/// What one play check showed.
#[derive(Debug, Clone)]
pub enum PlayOutcome {
    /// The credentials opened the stream and a key frame arrived and decoded.
    Played(Box<Played>),
    /// The device refused the credentials at `at`.
    Refused {
        /// Where the device refused them.
        at: PlayStep,
        /// The steps after the refusal, sent without credentials, streamed this anyway: the
        /// device shows its video to anyone who skips the step that asked.
        unprotected: Option<Box<Played>>,
        /// What the steps without credentials got (`SETUP without credentials: 401`…).
        probe: String,
    },
    /// The account is locked (`403`) at `at`.
    Locked {
        /// Where the device said so.
        at: PlayStep,
        /// Seconds until the lock ends, when the device says.
        remaining_s: Option<u64>,
    },
}

impl PlayOutcome {
    /// The login this amounts to for the credentials tried: accepted only when video played with them.
    pub fn login(&self) -> LoginOutcome {
        match self {
            PlayOutcome::Played(_) => LoginOutcome::Accepted,
            PlayOutcome::Refused { .. } => LoginOutcome::Refused,
            PlayOutcome::Locked { remaining_s, .. } => LoginOutcome::Locked { remaining_s: *remaining_s },
        }
    }
}

impl fmt::Display for PlayOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayOutcome::Played(p) => write!(
                f,
                "played: {}x{} key frame decoded after {} RTP packets, {} ms after PLAY",
                p.picture.width,
                p.picture.height,
                p.packets,
                p.first_key_frame.as_millis()
            ),
            PlayOutcome::Refused { at, unprotected: Some(p), .. } => write!(
                f,
                "refused at {at}, yet SETUP/PLAY without credentials streamed a {}x{} key frame",
                p.picture.width, p.picture.height
            ),
            PlayOutcome::Refused { at, probe, .. } => write!(f, "refused at {at} ({probe})"),
            PlayOutcome::Locked { at, remaining_s } => match remaining_s {
                Some(s) => write!(f, "locked at {at}, {s} s remaining"),
                None => write!(f, "locked at {at}"),
            },
        }
    }
}

/// The interleaved channel asked for in SETUP (RTP on 0, RTCP on 1).
const TRANSPORT: &str = "RTP/AVP/TCP;unicast;interleaved=0-1";

impl Rtsp {
    /// Open `stream` with `creds` and watch it until one key frame arrives and decodes (module
    /// doc). `Err` is anything that is neither video nor a clear refusal: no answer, garbage, a
    /// `200` to `PLAY` with no decodable key frame before the deadline.
    pub async fn play(target: &Target, creds: &Credentials, stream: Stream) -> Result<PlayOutcome, DeviceError> {
        let url = stream.url(target);
        let call = Call::start(Interface::Rtsp, format!("PLAY {url}"), target);
        let mut conn = Conn::take_or_open(&call, target).await?;
        let mut challenged_at = Vec::new();
        let mut refused_at = None;
        let mut using = Some(creds);

        // DESCRIBE: the SDP says where SETUP goes and may carry the parameter sets.
        let mut setup_url = target.shared().rtsp_control(&url).unwrap_or_else(|| format!("{url}/trackID=0"));
        let mut depacketizer = Depacketizer::default();
        let mut payload_type = None;
        let describe = call.next(format!("DESCRIBE {url}"));
        let accept = [("Accept", "application/sdp".to_owned())];
        let (answer, asked) = ask(&describe, &mut conn, target, "DESCRIBE", &url, &accept, using).await?;
        if asked {
            challenged_at.push(PlayStep::Describe);
        }
        match answer {
            Answer::Ok(resp) => {
                let sdp = Sdp::parse(&resp.body).map_err(|detail| {
                    describe
                        .fail(ErrorKind::Protocol { detail, excerpt: excerpt(&resp.body) })
                        .with_reply(resp.summary())
                })?;
                setup_url = sdp.control_url(resp.header("Content-Base").unwrap_or(&url));
                target.shared().set_rtsp_control(&url, setup_url.clone());
                payload_type = Some(sdp.payload_type);
                depacketizer = Depacketizer::with_parameter_sets(sdp.sps, sdp.pps);
            }
            Answer::Refused(_) => {
                refused_at = Some(PlayStep::Describe);
                using = None;
            }
            Answer::Locked(resp) => {
                return Ok(PlayOutcome::Locked { at: PlayStep::Describe, remaining_s: seconds_after_lock(&resp.body) });
            }
        }

        // SETUP and PLAY; after a refusal, each is sent (again) without credentials.
        let mut session = None;
        let mut channel = 0;
        let mut probe = Vec::new();
        for step in [PlayStep::Setup, PlayStep::Play] {
            loop {
                let (method, step_url, extra) = match step {
                    PlayStep::Setup => ("SETUP", &setup_url, vec![("Transport", TRANSPORT.to_owned())]),
                    _ => {
                        let mut h = vec![("Range", "npt=0.000-".to_owned())];
                        h.extend(session.clone().map(|s| ("Session", s)));
                        ("PLAY", &url, h)
                    }
                };
                let this = call.next(format!("{method} {step_url}"));
                let result = ask(&this, &mut conn, target, method, step_url, &extra, using).await;
                let (answer, asked) = match result {
                    Ok(a) => a,
                    // Without credentials nothing but a refusal or video is expected; anything
                    // else is the device not streaming to us, which is all the probe asks.
                    Err(e) if using.is_none() => {
                        probe.push(format!("{method} without credentials: {}", e.kind));
                        return Ok(refused(refused_at, None, probe));
                    }
                    Err(e) => return Err(e),
                };
                if asked && using.is_some() {
                    challenged_at.push(step);
                }
                match answer {
                    Answer::Ok(resp) => {
                        if using.is_none() {
                            probe.push(format!("{method} without credentials: {} {}", resp.status, resp.reason));
                        }
                        if step == PlayStep::Setup {
                            session = resp.header("Session").map(session_id);
                            channel = resp.header("Transport").and_then(interleaved).unwrap_or(0);
                        }
                        break;
                    }
                    Answer::Refused(resp) if using.is_some() => {
                        refused_at = Some(step);
                        using = None;
                        if closes(&resp) {
                            return Ok(refused(refused_at, None, vec!["the device closed the connection".into()]));
                        }
                    }
                    Answer::Refused(resp) | Answer::Locked(resp) if using.is_none() => {
                        probe.push(format!("{method} without credentials: {} {}", resp.status, resp.reason));
                        return Ok(refused(refused_at, None, probe));
                    }
                    Answer::Locked(resp) | Answer::Refused(resp) => {
                        return Ok(PlayOutcome::Locked { at: step, remaining_s: seconds_after_lock(&resp.body) });
                    }
                }
            }
        }

        // The media, with a deadline of its own: a key frame may be a GOP away.
        let media = Call::start(Interface::Rtsp, format!("first key frame of {url}"), target);
        let started = Instant::now();
        let got = key_frame(&media, &mut conn, channel, payload_type, &mut depacketizer).await;
        teardown(target, &mut conn, &url, session.as_deref()).await;
        let played = got.and_then(|unit| {
            let picture = Picture::decode(&unit).map_err(|e| {
                media.fail(ErrorKind::Protocol {
                    detail: e.to_string(),
                    excerpt: format!("NAL types {:?}", unit.nal_types),
                })
            })?;
            Ok(Box::new(Played {
                stream,
                picture,
                key_frame: unit,
                packets: depacketizer.packets,
                first_key_frame: started.elapsed(),
                challenged_at,
            }))
        });
        match (played, using) {
            (Ok(p), Some(_)) => Ok(PlayOutcome::Played(p)),
            (Ok(p), None) => {
                probe.push("the stream played".into());
                Ok(refused(refused_at, Some(p), probe))
            }
            (Err(e), Some(_)) => Err(e),
            (Err(e), None) => {
                probe.push(format!("no video: {}", e.kind));
                Ok(refused(refused_at, None, probe))
            }
        }
    }
}

fn refused(at: Option<PlayStep>, unprotected: Option<Box<Played>>, probe: Vec<String>) -> PlayOutcome {
    PlayOutcome::Refused { at: at.unwrap_or(PlayStep::Describe), unprotected, probe: probe.join("; ") }
}

/// How the device answered one step.
enum Answer {
    Ok(RtspResponse),
    Refused(RtspResponse),
    Locked(RtspResponse),
}

/// Send `method` with `creds` (answering a challenge once, and once more on `stale=true`), or
/// without any credentials when `creds` is `None`. Also says whether the device challenged.
async fn ask(
    call: &Call,
    conn: &mut Conn,
    target: &Target,
    method: &str,
    url: &str,
    extra: &[(&str, String)],
    creds: Option<&Credentials>,
) -> Result<(Answer, bool), DeviceError> {
    let mut round = DigestRound::new(target.shared(), Interface::Rtsp, target.reuses_challenges());
    let mut auth = match creds {
        Some(c) => round.first(method, url, &c.user, &c.password).map_err(|k| call.fail(k))?,
        None => None,
    };
    let mut asked = false;
    loop {
        let mut headers = extra.to_vec();
        if let Some(a) = auth.take() {
            headers.push(("Authorization", a));
        }
        let resp = conn.send(call, target, method, url, &headers).await?;
        match resp.status {
            200 => return Ok((Answer::Ok(resp), asked)),
            403 => return Ok((Answer::Locked(resp), asked)),
            401 => {
                asked = true;
                let Some(c) = creds else {
                    return Ok((Answer::Refused(resp), asked));
                };
                auth = round
                    .on_401(resp.headers_named("WWW-Authenticate"), method, url, &c.user, &c.password)
                    .map_err(|k| call.fail(k).with_reply(resp.summary()))?;
                if auth.is_none() {
                    return Ok((Answer::Refused(resp), asked));
                }
                if closes(&resp) {
                    *conn = Conn::open(call, target).await?;
                }
            }
            other => {
                return Err(call
                    .fail(ErrorKind::Protocol {
                        detail: format!("expected RTSP 200, 401 or 403 to {method}, got {other}"),
                        excerpt: excerpt(&resp.body),
                    })
                    .with_reply(resp.summary()));
            }
        }
    }
}

/// Read interleaved packets until the depacketizer hands out a whole key frame.
async fn key_frame(
    call: &Call,
    conn: &mut Conn,
    channel: u8,
    payload_type: Option<u8>,
    depacketizer: &mut Depacketizer,
) -> Result<AccessUnit, DeviceError> {
    let authority = conn.authority().to_owned();
    loop {
        let (packets, lost) = (depacketizer.packets, depacketizer.lost);
        let item = match call.step(String::new, read_interleaved(conn.reader())).await {
            Ok(item) => item,
            Err(_) => {
                // PLAY was answered 200: no video in time is the device's failure, not a
                // silent link (the link carried the answer a moment ago).
                return Err(call.fail(ErrorKind::Protocol {
                    detail: format!(
                        "PLAY was answered 200 but no whole H.264 key frame (SPS, PPS, IDR) came from {authority} within {:?}: \
                         {packets} RTP packets, {lost} lost",
                        call.timeout
                    ),
                    excerpt: String::new(),
                }));
            }
        };
        match item.map_err(|detail| {
            call.fail(ErrorKind::Protocol {
                detail: format!("{detail} after {packets} RTP packets"),
                excerpt: String::new(),
            })
        })? {
            Interleaved::Data(ch, data) if ch == channel => {
                let pkt = parse_rtp(&data)
                    .map_err(|detail| call.fail(ErrorKind::Protocol { detail, excerpt: String::new() }))?;
                if payload_type.is_some_and(|pt| pt != pkt.payload_type) {
                    continue;
                }
                let unit = depacketizer
                    .push(&pkt)
                    .map_err(|detail| call.fail(ErrorKind::Protocol { detail, excerpt: String::new() }))?;
                if let Some(unit) = unit {
                    return Ok(unit);
                }
            }
            // RTCP, or a reply the device volunteered.
            Interleaved::Data(..) | Interleaved::Response(_) => {}
        }
    }
}

/// TEARDOWN, best effort: read past the media still in flight to its reply, within a short
/// deadline; the connection is dropped afterwards either way (never handed to the next call).
async fn teardown(target: &Target, conn: &mut Conn, url: &str, session: Option<&str>) {
    let call = Call::start(Interface::Rtsp, format!("TEARDOWN {url}"), target);
    let headers: Vec<(&str, String)> = session.map(|s| ("Session", s.to_owned())).into_iter().collect();
    let cseq = match conn.write_request(&call, "TEARDOWN", url, &headers).await {
        Ok(c) => c,
        Err((e, _)) => {
            tracing::debug!(error = %e, "TEARDOWN not sent; the connection is closed instead");
            return;
        }
    };
    loop {
        match call.step(|| format!("RTSP response to TEARDOWN (CSeq {cseq})"), read_interleaved(conn.reader())).await {
            Ok(Ok(Interleaved::Response(r))) if r.cseq.is_none_or(|c| c == cseq) => return,
            Ok(Ok(_)) => {}
            Ok(Err(detail)) => {
                tracing::debug!(%detail, "TEARDOWN reply unreadable; the connection is closed instead");
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "no TEARDOWN reply; the connection is closed instead");
                return;
            }
        }
    }
}

/// One thing read from a playing connection.
enum Interleaved {
    /// `$`, channel, length, data (RFC 2326 §10.12).
    Data(u8, Vec<u8>),
    Response(RtspResponse),
}

async fn read_interleaved<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Interleaved, String> {
    let buf = r.fill_buf().await.map_err(|e| format!("reading media: {e}"))?;
    match buf.first() {
        None => Err("connection closed while waiting for media".into()),
        Some(b'$') => {
            let mut head = [0u8; 4];
            r.read_exact(&mut head).await.map_err(|e| format!("reading an interleaved frame header: {e}"))?;
            let mut data = vec![0; usize::from(u16::from_be_bytes([head[2], head[3]]))];
            r.read_exact(&mut data)
                .await
                .map_err(|e| format!("reading an interleaved frame of {} bytes: {e}", data.len()))?;
            Ok(Interleaved::Data(head[1], data))
        }
        Some(_) => read_response(r).await.map(Interleaved::Response).map_err(|(detail, _)| detail),
    }
}

/// `12345678` of `Session: 12345678;timeout=60`.
fn session_id(value: &str) -> String {
    value.split(';').next().unwrap_or("").trim().to_owned()
}

/// The RTP channel of `Transport: RTP/AVP/TCP;unicast;interleaved=0-1`.
fn interleaved(transport: &str) -> Option<u8> {
    transport
        .split(';')
        .find_map(|p| p.trim().strip_prefix("interleaved="))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.trim().parse().ok())
}

/// What the check needs from an SDP: the H.264 video track.
#[derive(Debug, PartialEq, Eq)]
struct Sdp {
    payload_type: u8,
    /// The track's `a=control` (absent: the stream URL itself).
    control: Option<String>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

impl Sdp {
    fn parse(body: &str) -> Result<Sdp, String> {
        let mut in_video = false;
        let mut control = None;
        let mut h264 = None;
        let mut fmtp: Vec<(u8, String)> = Vec::new();
        for line in body.lines().map(str::trim) {
            if let Some(m) = line.strip_prefix("m=") {
                if h264.is_some() {
                    break;
                }
                in_video = m.starts_with("video ");
                control = None;
                continue;
            }
            if !in_video {
                continue;
            }
            if let Some(c) = line.strip_prefix("a=control:") {
                control = Some(c.trim().to_owned());
            } else if let Some(map) = line.strip_prefix("a=rtpmap:") {
                let (pt, codec) = map.split_once(' ').unwrap_or((map, ""));
                if codec.to_ascii_uppercase().starts_with("H264/") {
                    h264 = pt.trim().parse::<u8>().ok();
                }
            } else if let Some(f) = line.strip_prefix("a=fmtp:") {
                let (pt, params) = f.split_once(' ').unwrap_or((f, ""));
                if let Ok(pt) = pt.trim().parse() {
                    fmtp.push((pt, params.to_owned()));
                }
            }
        }
        let payload_type = h264.ok_or("the SDP has no H.264 video track (a=rtpmap:… H264/90000)")?;
        let mut sdp = Sdp { payload_type, control, sps: None, pps: None };
        let params = fmtp.iter().filter(|(pt, _)| *pt == payload_type).map(|(_, p)| p);
        for sets in params.flat_map(|p| p.split(';')).filter_map(|kv| kv.trim().strip_prefix("sprop-parameter-sets=")) {
            for set in sets.split(',') {
                let Ok(nal) = base64::engine::general_purpose::STANDARD.decode(set.trim()) else {
                    continue;
                };
                match nal.first().map(|b| b & 0x1f) {
                    Some(crate::h264::NAL_SPS) => sdp.sps = Some(nal),
                    Some(crate::h264::NAL_PPS) => sdp.pps = Some(nal),
                    _ => {}
                }
            }
        }
        Ok(sdp)
    }

    /// The URL SETUP goes to: the track's control URL resolved against `base` (Content-Base).
    fn control_url(&self, base: &str) -> String {
        match self.control.as_deref() {
            None | Some("*") | Some("") => base.trim_end_matches('/').to_owned(),
            Some(c) if c.contains("://") => c.to_owned(),
            Some(c) if base.ends_with('/') => format!("{base}{c}"),
            Some(c) => format!("{base}/{c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAHUA_SDP: &str = "v=0\r\no=- 2251938202 2251938202 IN IP4 0.0.0.0\r\ns=Media Server\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n\
        m=video 0 RTP/AVP 96\r\na=control:trackID=0\r\na=rtpmap:96 H264/90000\r\n\
        a=fmtp:96 packetization-mode=1;profile-level-id=42C00D;sprop-parameter-sets=Z0LADdkBQfsBEAAAAwAQAAADAyDxQqSA,aMuMsg==\r\n\
        m=audio 0 RTP/AVP 8\r\na=control:trackID=1\r\na=rtpmap:8 PCMA/8000\r\n";

    #[test]
    fn dahua_sdp_gives_track_payload_type_and_parameter_sets() {
        let sdp = Sdp::parse(DAHUA_SDP).unwrap();
        assert_eq!(sdp.payload_type, 96);
        assert_eq!(sdp.control.as_deref(), Some("trackID=0"));
        assert_eq!(sdp.sps.as_ref().map(|s| s[0] & 0x1f), Some(7));
        assert_eq!(sdp.pps.as_ref().map(|s| s[0] & 0x1f), Some(8));
        let base = "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0/";
        assert_eq!(sdp.control_url(base), format!("{base}trackID=0"));
        assert_eq!(sdp.control_url("rtsp://h/s"), "rtsp://h/s/trackID=0", "a base without a slash gets one");
    }

    #[test]
    fn sdp_without_h264_is_refused_and_absolute_controls_are_kept() {
        let audio_only = "v=0\r\nm=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
        assert!(Sdp::parse(audio_only).unwrap_err().contains("H.264"));
        let abs = "v=0\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 h264/90000\r\na=control:rtsp://h/t/v\r\n";
        let sdp = Sdp::parse(abs).unwrap();
        assert_eq!((sdp.payload_type, sdp.control_url("rtsp://h/t/")), (97, "rtsp://h/t/v".to_owned()));
        assert_eq!(sdp.sps, None);
    }

    #[test]
    fn session_and_transport_headers() {
        assert_eq!(session_id("4873629187;timeout=60"), "4873629187");
        assert_eq!(interleaved("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1A2B"), Some(2));
        assert_eq!(interleaved("RTP/AVP;unicast;client_port=5000-5001"), None);
    }

    #[tokio::test]
    async fn interleaved_frames_and_replies_are_told_apart() {
        let mut raw: Vec<u8> = vec![b'$', 0, 0, 3, 1, 2, 3];
        raw.extend_from_slice(b"RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n");
        raw.extend_from_slice(&[b'$', 1, 0, 1, 9]);
        let mut r = &raw[..];
        assert!(matches!(read_interleaved(&mut r).await, Ok(Interleaved::Data(0, d)) if d == [1, 2, 3]));
        assert!(matches!(read_interleaved(&mut r).await, Ok(Interleaved::Response(resp)) if resp.cseq == Some(5)));
        assert!(matches!(read_interleaved(&mut r).await, Ok(Interleaved::Data(1, d)) if d == [9]));
        assert!(read_interleaved(&mut r).await.is_err());
    }
}
