//! Live video from the emulated recorder: RTSP SETUP/PLAY/TEARDOWN and RTP over the interleaved
//! TCP channel, checked by a hand-written client (always runs) and by ffprobe/ffmpeg (which must
//! decode real frames), and that the stream dies with the recorder's power or link.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;

use common::*;
use resetlab_emulator::Recorder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The clip the emulator streams; the client compares what it reassembles against it.
const CLIP: &[u8] = include_bytes!("../media/testcard.h264");

fn url(addr: SocketAddr) -> String {
    format!("rtsp://{addr}/cam/realmonitor?channel=1&subtype=0")
}

/// One RTSP reply.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What arrives on an RTSP connection once media flows.
#[derive(Debug)]
enum Item {
    Reply(Reply),
    Frame { channel: u8, data: Vec<u8> },
}

/// A raw RTSP client that does Digest (no qop) and keeps the interleaved frames it reads past.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    user: &'static str,
    password: &'static str,
    challenge: Option<(String, String)>,
    frames: Vec<(u8, Vec<u8>)>,
}

impl Client {
    async fn connect(addr: SocketAddr, user: &'static str, password: &'static str) -> Client {
        let s = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("RTSP connect in time")
            .expect("RTSP connect");
        Client { s, buf: Vec::new(), cseq: 0, user, password, challenge: None, frames: Vec::new() }
    }

    /// The next reply or interleaved frame; `None` when the server closed the connection.
    async fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.parse() {
                return Some(item);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = tokio::time::timeout(STEP, self.s.read(&mut chunk))
                .await
                .expect("the server sent something within the step deadline")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn parse(&mut self) -> Option<Item> {
        if self.buf.first() == Some(&b'$') {
            let len = usize::from(u16::from_be_bytes([*self.buf.get(2)?, *self.buf.get(3)?]));
            if self.buf.len() < 4 + len {
                return None;
            }
            let channel = self.buf[1];
            let data = self.buf[4..4 + len].to_vec();
            self.buf.drain(..4 + len);
            return Some(Item::Frame { channel, data });
        }
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        if self.buf.len() < end + len {
            return None;
        }
        let body = String::from_utf8_lossy(&self.buf[end..end + len]).into_owned();
        self.buf.drain(..end + len);
        assert!(head.starts_with("RTSP/1.0 "), "a reply: {head}");
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        Some(Item::Reply(Reply { status, head, body }))
    }

    /// Send one request and wait for its reply, keeping frames that arrive first; answers a
    /// Digest challenge once, as ffmpeg does.
    async fn request(&mut self, method: &str, uri: &str, headers: &[(&str, String)]) -> Reply {
        for _ in 0..2 {
            self.cseq += 1;
            let mut req = format!("{method} {uri} RTSP/1.0\r\nCSeq: {}\r\n", self.cseq);
            if let Some((realm, nonce)) = &self.challenge {
                let auth = digest_header(self.user, self.password, realm, nonce, method, uri, false, None);
                req.push_str(&format!("Authorization: {auth}\r\n"));
            }
            for (k, v) in headers {
                req.push_str(&format!("{k}: {v}\r\n"));
            }
            req.push_str("\r\n");
            self.s.write_all(req.as_bytes()).await.unwrap();
            let reply = loop {
                match self.next().await.expect("server closed before replying") {
                    Item::Reply(r) => break r,
                    Item::Frame { channel, data } => self.frames.push((channel, data)),
                }
            };
            assert!(reply.head.contains(&format!("CSeq: {}\r\n", self.cseq)), "CSeq echoed: {}", reply.head);
            if reply.status == 401 && self.challenge.is_none() {
                let ch = reply.header("WWW-Authenticate").expect("401 has a challenge");
                self.challenge = Some((param(ch, "realm").unwrap(), param(ch, "nonce").unwrap()));
                continue;
            }
            return reply;
        }
        unreachable!("a second 401 is returned above")
    }

    /// DESCRIBE, then SETUP over interleaved TCP; returns (track URL, session id).
    async fn setup(&mut self, addr: SocketAddr) -> (String, String) {
        let d = self.request("DESCRIBE", &url(addr), &[("Accept", "application/sdp".into())]).await;
        assert_eq!(d.status, 200, "{d:?}");
        let track = format!("{}trackID=0", d.header("Content-Base").unwrap());
        let s = self.request("SETUP", &track, &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1".into())]).await;
        assert_eq!(s.status, 200, "{s:?}");
        let session = s.header("Session").expect("SETUP gives a session");
        let (id, timeout) = session.split_once(';').expect("Session carries a timeout");
        assert_eq!(timeout, "timeout=60");
        let transport = s.header("Transport").unwrap();
        assert!(transport.starts_with("RTP/AVP/TCP;unicast;interleaved=0-1"), "{transport}");
        (track, id.to_owned())
    }

    /// The next interleaved frame, from those kept or off the wire.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        if !self.frames.is_empty() {
            return Some(self.frames.remove(0));
        }
        match self.next().await? {
            Item::Frame { channel, data } => Some((channel, data)),
            Item::Reply(r) => panic!("unsolicited reply {r:?}"),
        }
    }
}

/// NAL units of an Annex-B stream (as the emulator splits its clip; an independent copy).
fn nals(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    let mut start = None;
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            if let Some(s) = start {
                out.push(data[s..i].to_vec());
            }
            start = Some(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        out.push(data[s..].to_vec());
    }
    for n in &mut out {
        while n.last() == Some(&0) {
            n.pop();
        }
    }
    out
}

/// Reassembles H.264 NAL units from RTP payloads (single NAL and FU-A, RFC 6184).
#[derive(Default)]
struct Depacketizer {
    partial: Option<Vec<u8>>,
}

impl Depacketizer {
    fn push(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        match payload[0] & 0x1f {
            1..=23 => Some(payload.to_vec()),
            28 => {
                let (start, end) = (payload[1] & 0x80 != 0, payload[1] & 0x40 != 0);
                if start {
                    self.partial = Some(vec![(payload[0] & 0xe0) | (payload[1] & 0x1f)]);
                }
                self.partial.as_mut().expect("FU-A continues a started fragment").extend_from_slice(&payload[2..]);
                if end { self.partial.take() } else { None }
            }
            t => panic!("unexpected RTP payload type {t}"),
        }
    }
}

#[tokio::test]
async fn hand_written_client_sets_up_plays_and_tears_down_over_tcp() {
    let rec = start().await;
    let addr = rec.rtsp_addr();
    let mut c = Client::connect(addr, "admin", "000000").await;

    let d = c.request("DESCRIBE", &url(addr), &[("Accept", "application/sdp".into())]).await;
    assert_eq!(d.status, 200);
    assert!(d.body.contains("a=control:trackID=0") && d.body.contains("sprop-parameter-sets="), "{}", d.body);
    let track = format!("{}trackID=0", d.header("Content-Base").unwrap());
    let udp = c.request("SETUP", &track, &[("Transport", "RTP/AVP;unicast;client_port=5000-5001".into())]).await;
    assert_eq!(udp.status, 461, "UDP is refused: {udp:?}");
    let early = c.request("PLAY", &url(addr), &[("Session", "12345".into())]).await;
    assert_eq!(early.status, 454, "PLAY before SETUP: {early:?}");

    let (_, session) = c.setup(addr).await;
    let wrong = c.request("PLAY", &url(addr), &[("Session", format!("{session}9"))]).await;
    assert_eq!(wrong.status, 454, "PLAY with a wrong session: {wrong:?}");
    let none = c.request("PLAY", &url(addr), &[]).await;
    assert_eq!(none.status, 454, "PLAY without a session: {none:?}");

    let play = c.request("PLAY", &url(addr), &[("Session", session.clone()), ("Range", "npt=0.000-".into())]).await;
    assert_eq!(play.status, 200, "{play:?}");
    assert!(play.header("Session").unwrap().starts_with(&session));
    assert_eq!(play.header("Range"), Some("npt=0.000-"));
    let info = play.header("RTP-Info").expect("PLAY gives RTP-Info").to_owned();
    assert!(info.starts_with(&format!("url={track};")), "{info}");
    let field = |key: &str| {
        info.split(';')
            .find_map(|p| p.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("RTP-Info has {key}: {info}"))
            .to_owned()
    };
    let seq0: u16 = field("seq").parse().unwrap();
    let rtptime0: u32 = field("rtptime").parse().unwrap();

    let clip = nals(CLIP);
    let idr = clip.iter().find(|n| n[0] & 0x1f == 5).unwrap().clone();
    assert!(idr.len() > 1400, "the clip's IDR needs FU-A");
    let mut depack = Depacketizer::default();
    let (mut seen_types, mut markers, mut packets) = (HashSet::new(), 0, 0u32);
    let (mut last_seq, mut last_ts): (Option<u16>, Option<u32>) = (None, None);
    let mut got_idr = None;
    // A full loop and then some: 25 frames at 25 fps, so about a second and a half.
    while markers < 40 {
        if packets == 5 {
            // An RTCP receiver report the server must skip, then a keep-alive mid-stream.
            c.s.write_all(&[b'$', 1, 0, 8, 0x81, 201, 0, 1, 0, 0, 0, 1]).await.unwrap();
            let ka = c.request("GET_PARAMETER", &url(addr), &[("Session", session.clone())]).await;
            assert_eq!(ka.status, 200, "keep-alive while streaming: {ka:?}");
        }
        assert!(packets < 1000, "a marker bit ends each frame ({markers} in {packets} packets)");
        let (channel, p) = c.frame().await.expect("media keeps flowing");
        assert_eq!(channel, 0, "RTP on the interleaved channel SETUP agreed");
        assert_eq!(p[0] >> 6, 2, "RTP version 2");
        assert_eq!(p[1] & 0x7f, 96, "payload type 96");
        let seq = u16::from_be_bytes([p[2], p[3]]);
        let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        match last_seq {
            None => {
                assert_eq!(seq, seq0, "first packet has RTP-Info's seq");
                assert_eq!(ts, rtptime0, "first packet has RTP-Info's rtptime");
            }
            Some(l) => assert_eq!(seq, l.wrapping_add(1), "sequence numbers +1 each"),
        }
        if let Some(l) = last_ts {
            assert!(ts.wrapping_sub(l) < 1 << 31, "timestamps never go back");
        }
        (last_seq, last_ts) = (Some(seq), Some(ts));
        if p[1] & 0x80 != 0 {
            markers += 1;
        }
        packets += 1;
        if let Some(nal) = depack.push(&p[12..]) {
            seen_types.insert(nal[0] & 0x1f);
            if nal[0] & 0x1f == 5 {
                got_idr.get_or_insert(nal);
            }
        }
    }
    for (t, name) in [(7, "SPS"), (8, "PPS"), (5, "IDR"), (1, "non-IDR slice")] {
        assert!(seen_types.contains(&t), "{name} seen: {seen_types:?}");
    }
    assert_eq!(got_idr.as_ref(), Some(&idr), "FU-A reassembles the clip's IDR");

    let down = c.request("TEARDOWN", &url(addr), &[("Session", session.clone())]).await;
    assert_eq!(down.status, 200, "TEARDOWN while media flows");
    // From the TEARDOWN reply on, the connection carries replies only.
    c.frames.clear();
    c.s.write_all(b"OPTIONS * RTSP/1.0\r\nCSeq: 99\r\n\r\n").await.unwrap();
    match c.next().await {
        Some(Item::Reply(r)) => assert_eq!(r.status, 200),
        other => panic!("no media after TEARDOWN, got {other:?}"),
    }
    rec.shutdown().await;
}

#[tokio::test]
async fn setup_and_play_need_credentials() {
    let rec = start().await;
    let addr = rec.rtsp_addr();
    let mut c = Client::connect(addr, "admin", "bad000").await;
    let track = format!("{}/trackID=0", url(addr));
    let setup = c.request("SETUP", &track, &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1".into())]).await;
    assert_eq!(setup.status, 401, "SETUP with a wrong password: {setup:?}");
    let play = c.request("PLAY", &url(addr), &[("Session", "1".into())]).await;
    assert_eq!(play.status, 401, "PLAY with a wrong password: {play:?}");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_request_line_that_never_ends_is_refused_not_buffered() {
    let rec = start().await;
    let mut s = TcpStream::connect(rec.rtsp_addr()).await.unwrap();
    s.write_all(b"OPTIONS rtsp://127.0.0.1/ RTSP/1.0\r\nX-Junk: ").await.unwrap();
    // Up to 4 MiB without a newline: the server must hang up long before.
    let junk = [b'A'; 64 * 1024];
    let closed = tokio::time::timeout(STEP, async {
        for _ in 0..64 {
            if s.write_all(&junk).await.is_err() {
                return true;
            }
        }
        let mut buf = [0u8; 64];
        matches!(s.read(&mut buf).await, Ok(0) | Err(_))
    })
    .await;
    assert_eq!(closed, Ok(true), "the daemon kept reading an endless header line");
    rec.shutdown().await;
}

/// PLAY, see media, cut `cut`, then the stream connection must close within the deadline.
async fn stream_dies_with(cut: impl AsyncFnOnce(&Recorder)) {
    let rec = start().await;
    let addr = rec.rtsp_addr();
    let mut c = Client::connect(addr, "admin", "000000").await;
    let (_, session) = c.setup(addr).await;
    let play = c.request("PLAY", &url(addr), &[("Session", session)]).await;
    assert_eq!(play.status, 200);
    assert!(c.frame().await.is_some(), "media flows before the cut");
    cut(&rec).await;
    let closed = tokio::time::timeout(STEP, async {
        c.frames.clear();
        while c.frame().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "stream connection closed within {STEP:?}");
    rec.shutdown().await;
}

#[tokio::test]
async fn power_off_during_play_closes_the_stream() {
    stream_dies_with(async |rec| rec.set_power(false).await).await;
}

#[tokio::test]
async fn link_cut_during_play_closes_the_stream() {
    stream_dies_with(async |rec| rec.set_link(false).await).await;
}

/// Run an ffmpeg-family tool with a deadline; returns (exit success, stdout, stderr).
async fn tool(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::time::timeout(
        STEP,
        tokio::process::Command::new(program).args(args).stdin(std::process::Stdio::null()).kill_on_drop(true).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} finished within {STEP:?}"))
    .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn url_as(rec: &Recorder, password: &str) -> String {
    format!("rtsp://admin:{password}@{}/cam/realmonitor?channel=1&subtype=0", rec.rtsp_addr())
}

const PROBE: [&str; 6] = ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "default=nw=1"];

#[tokio::test]
async fn ffprobe_sees_the_clip_falling_back_from_udp_by_itself() {
    if !have("ffprobe") {
        return;
    }
    let clip = concat!(env!("CARGO_MANIFEST_DIR"), "/media/testcard.h264");
    let (ok, expected, err) = tool("ffprobe", &[&PROBE[..], &[clip]].concat()).await;
    assert!(ok && expected.contains("codec_name=h264"), "{expected}{err}");
    let rec = start().await;
    // No -rtsp_transport: ffprobe tries UDP, gets 461 and retries over TCP.
    let url = url_as(&rec, "000000");
    let (ok, got, err) = tool("ffprobe", &[&PROBE[..], &[url.as_str()]].concat()).await;
    assert!(ok, "ffprobe succeeded: {err}");
    assert_eq!(got, expected, "one H.264 stream with the clip's size ({err})");
    rec.shutdown().await;
}

#[tokio::test]
async fn ffprobe_with_a_wrong_password_gets_401() {
    if !have("ffprobe") {
        return;
    }
    let rec = start().await;
    let url = url_as(&rec, "111111");
    let (ok, got, err) = tool("ffprobe", &[&PROBE[..], &[url.as_str()]].concat()).await;
    assert!(!ok, "ffprobe failed: {got}");
    assert!(err.contains("401"), "refused with 401: {err}");
    rec.shutdown().await;
}

#[tokio::test]
async fn ffmpeg_decodes_frames() {
    if !have("ffmpeg") {
        return;
    }
    let rec = start().await;
    let url = url_as(&rec, "000000");
    let (ok, _, err) =
        tool("ffmpeg", &["-nostdin", "-v", "error", "-i", &url, "-frames:v", "5", "-f", "null", "-"]).await;
    assert!(ok, "ffmpeg decoded 5 frames: {err}");
    rec.shutdown().await;
}
