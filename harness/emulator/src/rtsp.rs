//! The RTSP server (port 554 on hardware), hand-written over TCP: OPTIONS without credentials;
//! DESCRIBE, SETUP, PLAY and GET_PARAMETER of `/cam/realmonitor?channel=C&subtype=S` with Digest
//! (RFC 2069, no qop), as Dahua firmware authenticates every method after OPTIONS. The channels
//! and streams are the profile's `video:` (main stream `subtype=0` 320x240, sub-stream `subtype=1`
//! 176x144, each its own H.264 clip). DESCRIBE answers an SDP for one H.264 track; SETUP accepts RTP over the RTSP connection (interleaved TCP) and
//! refuses UDP with 461, which makes ffmpeg fall back to TCP by itself; PLAY loops the camera clip
//! (`media.rs`) as RTP on the same connection. It authenticates against the same accounts and
//! lockout as HTTP and RPC2.
//!
//! A session lives and dies with its TCP connection, and the media is written by the connection's
//! own task: a power cut or a link cut (which abort the service task and its connections) stops the
//! stream with everything else.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Interval, MissedTickBehavior};

use crate::accounts::Via;
use crate::defects::Defect;
use crate::digest::{DigestAuth, NonceState};
use crate::firmware::{Auth, Firmware};
use crate::media::{RtpStream, clip_of};

/// Largest request head the daemon reads.
const MAX_HEAD: usize = 16 * 1024;

/// A client that does not take a reply or a frame within this is dropped, so that one that stops
/// reading costs a socket buffer and no more.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Session timeout announced in SETUP/PLAY replies (seconds), Dahua's value.
const SESSION_TIMEOUT_S: u32 = 60;

/// Accept and serve until aborted; dropping this future drops every connection.
pub(crate) async fn serve(listener: TcpListener, fw: Arc<Firmware>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => {
                        let fw = Arc::clone(&fw);
                        conns.spawn(async move {
                            if let Err(e) = connection(stream, &fw).await {
                                tracing::debug!(serial = %fw.serial, error = %e, "RTSP connection ended with an error");
                            }
                        });
                    }
                    Err(e) => tracing::warn!(serial = %fw.serial, error = %e, "RTSP accept failed"),
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// A parsed request head.
struct Request {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The next request, skipping interleaved binary frames (`$`, channel, 16-bit length: the client's
/// RTCP receiver reports) and blank lines between requests. `None` at end of stream.
async fn read_request(r: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    let mut seen = 0;
    let first = loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(None);
        }
        if buf[0] == b'$' {
            let mut hdr = [0u8; 4];
            r.read_exact(&mut hdr).await?;
            let len = u64::from(u16::from_be_bytes([hdr[2], hdr[3]]));
            let skipped = tokio::io::copy(&mut (&mut *r).take(len), &mut tokio::io::sink()).await?;
            if skipped < len {
                return Ok(None);
            }
            continue;
        }
        if read_head_line(r, &mut line, &mut seen).await? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break line.trim().to_owned();
        }
    };
    let mut parts = first.split_whitespace();
    let (method, uri) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        if read_head_line(r, &mut line, &mut seen).await? == 0 {
            return Ok(None);
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let req = Request { method, uri, headers };
    let len: usize = req.header("Content-Length").and_then(|v| v.parse().ok()).unwrap_or(0);
    if len > MAX_HEAD {
        return Err(std::io::Error::other("request body too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(req))
}

/// One line of a request head into `line`, reading no further than what is left of [`MAX_HEAD`]
/// (`seen` so far): a client sending a line that never ends is refused once the head is too large,
/// not buffered without bound.
async fn read_head_line(
    r: &mut BufReader<OwnedReadHalf>,
    line: &mut String,
    seen: &mut usize,
) -> std::io::Result<usize> {
    line.clear();
    let room = MAX_HEAD.saturating_sub(*seen) as u64;
    let n = (&mut *r).take(room + 1).read_line(line).await?;
    *seen += n;
    if *seen > MAX_HEAD {
        return Err(std::io::Error::other("request head too large"));
    }
    Ok(n)
}

/// Reads requests while the other half writes replies and media: a streaming client still sends
/// GET_PARAMETER keep-alives and TEARDOWN, and RTCP. The small channel keeps a client that
/// pipelines requests faster than it reads replies from queuing more than a few.
async fn read_requests(rd: OwnedReadHalf, tx: mpsc::Sender<std::io::Result<Request>>) {
    let mut rd = BufReader::new(rd);
    loop {
        let next = read_request(&mut rd).await;
        let done = !matches!(next, Ok(Some(_)));
        let item = match next {
            Ok(Some(req)) => Ok(req),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        if tx.send(item).await.is_err() || done {
            return;
        }
    }
}

async fn connection(stream: TcpStream, fw: &Firmware) -> std::io::Result<()> {
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel(4);
    // Both halves run inside this task, so aborting it (power, link) stops the stream too. The
    // reader ending closes the channel; the writer then finishes what it was given and returns.
    let reader = async {
        read_requests(rd, tx).await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = reader => Ok(()),
        r = Conn::default().run(fw, wr, rx) => r,
    }
}

/// Bounded write: a client that stopped reading is dropped rather than buffered for.
async fn send(wr: &mut OwnedWriteHalf, bytes: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(bytes))
        .await
        .map_err(|_| std::io::Error::other("client stopped reading"))?
}

/// What SETUP agreed on.
struct Session {
    id: String,
    /// The track URL, echoed in RTP-Info.
    url: String,
    channel: u8,
    rtp: RtpStream,
}

/// Per-connection state: at most one session, with its one track.
#[derive(Default)]
struct Conn {
    session: Option<Session>,
    /// The media clock while playing.
    playing: Option<Interval>,
}

impl Conn {
    async fn run(
        mut self,
        fw: &Firmware,
        mut wr: OwnedWriteHalf,
        mut rx: mpsc::Receiver<std::io::Result<Request>>,
    ) -> std::io::Result<()> {
        loop {
            tokio::select! {
                req = rx.recv() => {
                    let req = match req {
                        None => return Ok(()),
                        Some(r) => r?,
                    };
                    let cseq = req.header("CSeq").unwrap_or("0").to_owned();
                    // Method and path only: a URL may carry user:password.
                    tracing::debug!(serial = %fw.serial, method = %req.method, "RTSP request");
                    let reply = fw.latency.around(async { self.respond(fw, &req) }).await;
                    send(&mut wr, reply.render(&cseq).as_bytes()).await?;
                }
                _ = tick(&mut self.playing), if self.playing.is_some() => {
                    let Some(s) = self.session.as_mut() else { continue };
                    let mut out = Vec::new();
                    for pkt in s.rtp.next_frame() {
                        // RFC 2326 §10.12 interleaving: `$`, channel, 16-bit length, packet.
                        out.push(b'$');
                        out.push(s.channel);
                        out.extend_from_slice(&(pkt.len() as u16).to_be_bytes());
                        out.extend_from_slice(&pkt);
                    }
                    send(&mut wr, &out).await?;
                }
            }
        }
    }

    fn respond(&mut self, fw: &Firmware, req: &Request) -> Reply {
        match req.method.as_str() {
            "OPTIONS" => {
                let mut r = Reply::status("200 OK");
                r.headers.push((
                    "Public",
                    "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, GET_PARAMETER, SET_PARAMETER, PLAY, PAUSE, TEARDOWN".into(),
                ));
                r
            }
            "DESCRIBE" | "SETUP" | "PLAY" | "GET_PARAMETER" => {
                // RtspPlayUnauthenticated: only the DESCRIBE handler was given the auth check.
                let checked = req.method == "DESCRIBE" || !fw.has(Defect::RtspPlayUnauthenticated);
                if checked && let Err(r) = authenticate(fw, req) {
                    return r;
                }
                match req.method.as_str() {
                    "DESCRIBE" => describe(fw, req),
                    "SETUP" => self.setup(fw, req),
                    "PLAY" => self.play(req),
                    _ => self.with_session(Reply::status("200 OK")),
                }
            }
            // Only this connection's own session can be torn down, and it authenticated to get
            // one; as before, TEARDOWN itself needs no credentials.
            "TEARDOWN" => {
                self.playing = None;
                self.session = None;
                Reply::status("200 OK")
            }
            _ => Reply::status("501 Not Implemented"),
        }
    }

    fn with_session(&self, mut r: Reply) -> Reply {
        if let Some(s) = &self.session {
            r.headers.push(("Session", format!("{};timeout={SESSION_TIMEOUT_S}", s.id)));
        }
        r
    }

    /// Whether the request names this connection's session.
    fn session_matches(&self, req: &Request) -> bool {
        let given = req.header("Session").map(|v| v.split(';').next().unwrap_or("").trim());
        matches!((&self.session, given), (Some(s), Some(g)) if s.id == g)
    }

    fn setup(&mut self, fw: &Firmware, req: &Request) -> Reply {
        let Some((_, subtype)) = stream_of(fw, &req.uri) else {
            return Reply::status("404 Stream Not Found");
        };
        if req.header("Session").is_some() && !self.session_matches(req) {
            return Reply::status("454 Session Not Found");
        }
        let Some(channel) = req.header("Transport").and_then(interleaved_channel) else {
            // UDP (or anything but RTP over this connection) is not offered.
            return Reply::status("461 Unsupported Transport");
        };
        let rtp = RtpStream::new(clip_of(subtype));
        let transport =
            format!("RTP/AVP/TCP;unicast;interleaved={channel}-{};ssrc={:08X}", channel.wrapping_add(1), rtp.ssrc);
        let id = self.session.as_ref().map_or_else(
            || format!("{}", rand::rng().random_range(100_000_000u64..10_000_000_000u64)),
            |s| s.id.clone(),
        );
        self.playing = None;
        self.session = Some(Session { id, url: req.uri.clone(), channel, rtp });
        let mut r = self.with_session(Reply::status("200 OK"));
        r.headers.push(("Transport", transport));
        r
    }

    fn play(&mut self, req: &Request) -> Reply {
        if !self.session_matches(req) {
            return Reply::status("454 Session Not Found");
        }
        let Some(s) = &self.session else {
            return Reply::status("454 Session Not Found");
        };
        let info = format!("url={};seq={};rtptime={}", s.url, s.rtp.next_seq(), s.rtp.next_rtptime());
        if self.playing.is_none() {
            // The device's media clock; a client that falls behind is paced, not burst at.
            let mut clock = tokio::time::interval(s.rtp.frame_period());
            clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
            self.playing = Some(clock);
        }
        let mut r = self.with_session(Reply::status("200 OK"));
        r.headers.push(("Range", "npt=0.000-".into()));
        r.headers.push(("RTP-Info", info));
        r
    }
}

async fn tick(clock: &mut Option<Interval>) {
    match clock {
        Some(c) => {
            c.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The interleaved RTP channel of the first `RTP/AVP/TCP` alternative in a Transport header.
fn interleaved_channel(transport: &str) -> Option<u8> {
    transport.split(',').find_map(|spec| {
        let mut parts = spec.split(';').map(str::trim);
        if !parts.next()?.eq_ignore_ascii_case("RTP/AVP/TCP") {
            return None;
        }
        let interleaved = parts.find_map(|p| p.strip_prefix("interleaved="));
        match interleaved {
            None => Some(0),
            Some(v) => v.split('-').next()?.trim().parse().ok(),
        }
    })
}

struct Reply {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn status(status: &'static str) -> Self {
        Reply { status, headers: Vec::new(), body: String::new() }
    }

    fn render(&self, cseq: &str) -> String {
        let mut out = format!("RTSP/1.0 {}\r\nCSeq: {cseq}\r\nServer: Rtsp Server/3.0\r\n", self.status);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.body.is_empty() {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }
}

fn challenge(fw: &Firmware, stale: bool) -> Reply {
    let nonce = fw.ram().nonces.issue();
    let stale = if stale { ", stale=\"TRUE\"" } else { "" };
    let mut r = Reply::status("401 Unauthorized");
    r.headers.push(("WWW-Authenticate", format!(r#"Digest realm="{}", nonce="{nonce}"{stale}"#, fw.realm)));
    r
}

fn authenticate(fw: &Firmware, req: &Request) -> Result<(), Reply> {
    let Some(d) = req.header("Authorization").and_then(DigestAuth::parse) else {
        return Err(challenge(fw, false));
    };
    if d.realm != fw.realm {
        return Err(challenge(fw, false));
    }
    // RFC 2069 Digest has no nonce count: a nonce is reusable until it expires, as clients
    // (ffmpeg, VLC) reuse it for SETUP and PLAY.
    let fresh = fw.ram().nonces.use_nonce(&d.nonce, d.counted_nc()) == NonceState::Fresh;
    // The sub-stream is served by its own encoder task, with its own credential check.
    let via = match stream_of(fw, &req.uri) {
        Some((_, 1)) => Via::RtspSub,
        _ => Via::Rtsp,
    };
    match fw.authenticate(via, &d.username, fresh, |pw| d.matches(pw, &req.method)) {
        Auth::Stale => Err(challenge(fw, true)),
        Auth::Granted { .. } => Ok(()),
        Auth::Refused { .. } => Err(challenge(fw, false)),
        Auth::Locked { .. } => Err(Reply::status("403 Forbidden")),
    }
}

/// The `(channel, subtype)` that `uri` names, when the profile has that stream; the URI may be the
/// stream's or its track's (`…/trackID=0`, the SDP's control URL appended to Content-Base).
/// Missing `channel`/`subtype` mean 1 and 0, as on Dahua firmware.
fn stream_of(fw: &Firmware, uri: &str) -> Option<(u32, u32)> {
    let uri = uri.trim_end_matches('/');
    let uri = uri.strip_suffix("trackID=0").unwrap_or(uri);
    let path = uri.split("://").nth(1).map(|rest| rest.find('/').map_or("/", |i| &rest[i..])).unwrap_or(uri);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    if path.trim_end_matches('/') != "/cam/realmonitor" {
        return None;
    }
    let pairs = crate::cgi::query_pairs(query.trim_end_matches('/'));
    let number = |key: &str, default: u32| -> Option<u32> {
        match pairs.iter().find(|(k, _)| k == key) {
            None => Some(default),
            Some((_, v)) => v.trim_end_matches('/').parse().ok(),
        }
    };
    let stream = (number("channel", 1)?, number("subtype", 0)?);
    fw.profile.video.has(stream.0, stream.1).then_some(stream)
}

fn describe(fw: &Firmware, req: &Request) -> Reply {
    let Some((_, subtype)) = stream_of(fw, &req.uri) else {
        return Reply::status("404 Stream Not Found");
    };
    let base = if req.uri.ends_with('/') { req.uri.clone() } else { format!("{}/", req.uri) };
    let sdp = format!(
        "v=0\r\no=- 2251938202 2251938202 IN IP4 0.0.0.0\r\ns=Media Server\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\na=range:npt=now-\r\n{}",
        clip_of(subtype).sdp_media()
    );
    let mut r = Reply::status("200 OK");
    r.headers.push(("Content-Type", "application/sdp".into()));
    r.headers.push(("Content-Base", base));
    r.body = sdp;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_interleaved_tcp_is_accepted() {
        assert_eq!(interleaved_channel("RTP/AVP/TCP;unicast;interleaved=0-1"), Some(0));
        assert_eq!(interleaved_channel("RTP/AVP/TCP;unicast;interleaved=2-3"), Some(2));
        assert_eq!(interleaved_channel("RTP/AVP;unicast;client_port=5000-5001, RTP/AVP/TCP;interleaved=4-5"), Some(4));
        assert_eq!(interleaved_channel("RTP/AVP;unicast;client_port=5000-5001"), None);
        assert_eq!(interleaved_channel("RTP/AVP/UDP;unicast;client_port=5000-5001"), None);
    }

    #[test]
    fn stream_paths() {
        let fw = Firmware::new(
            resetlab_profile::flir_2017(),
            &[],
            "T1".into(),
            Duration::ZERO,
            crate::latency::Latency::new(Duration::ZERO, Duration::ZERO, None),
        );
        let base = "rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0";
        assert_eq!(stream_of(&fw, base), Some((1, 0)));
        assert_eq!(stream_of(&fw, &format!("{base}/")), Some((1, 0)));
        assert_eq!(stream_of(&fw, &format!("{base}/trackID=0")), Some((1, 0)));
        let sub = "rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=1";
        assert_eq!(stream_of(&fw, &format!("{sub}/trackID=0")), Some((1, 1)));
        assert_eq!(stream_of(&fw, "rtsp://127.0.0.1/cam/realmonitor"), Some((1, 0)));
        assert_eq!(stream_of(&fw, "rtsp://127.0.0.1/cam/realmonitor?channel=2&subtype=0"), None);
        assert_eq!(stream_of(&fw, "rtsp://127.0.0.1/cam/realmonitor?channel=1&subtype=2"), None);
        assert_eq!(stream_of(&fw, "rtsp://127.0.0.1/other"), None);
    }
}
