//! The recorder's camera: a tiny H.264 clip baked into the binary, looped as RTP (RFC 6184) so that
//! real clients (ffprobe, ffmpeg) decode real frames from the emulated recorder. Everything a client
//! checks against the stream (SDP parameter sets, profile-level-id, size, frame rate) is read from
//! the clip itself, so the SDP can never disagree with what is sent.
//!
//! The clip, `media/testcard.h264` (320x240, 25 fps, 1 s = 25 frames, one GOP opening with an IDR,
//! Constrained Baseline level 1.3, 9107 bytes), was made once with ffmpeg 5.1 / libx264 (see
//! `media/README.md`; the command reproduces the committed bytes exactly):
//!
//! ```text
//! ffmpeg -nostdin -f lavfi -i testsrc=size=320x240:rate=25:duration=1 -c:v libx264 -threads 1 \
//!   -profile:v baseline -pix_fmt yuv420p -g 25 -bf 0 \
//!   -bsf:v filter_units=remove_types=6 -f h264 testcard.h264
//! ```
//!
//! (`remove_types=6` drops x264's SEI banner: a recorder's encoder does not advertise libx264.)

use std::sync::LazyLock;
use std::time::Duration;

use rand::Rng;

/// The Annex-B elementary stream the recorder "films" (main stream).
const CLIP: &[u8] = include_bytes!("../media/testcard.h264");

/// The same camera at sub-stream size (176x144, 15 fps, 1 s), made the same way:
/// `testsrc=size=176x144:rate=15:duration=1`, `-g 15`, otherwise the command above.
const CLIP_SUB: &[u8] = include_bytes!("../media/testcard-sub.h264");

/// Largest RTP payload sent: a NAL above this goes out as FU-A fragments, so that every packet
/// would also fit an Ethernet frame if the stream were ever carried over UDP.
pub(crate) const MAX_PAYLOAD: usize = 1400;

/// Dynamic payload type announced in the SDP (`a=rtpmap:96 H264/90000`).
pub(crate) const PAYLOAD_TYPE: u8 = 96;

/// RTP clock rate of H.264 video (RFC 6184 §8.2.1).
const CLOCK_HZ: u64 = 90_000;

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_FU_A: u8 = 28;

/// The clip, split and analysed once per process.
pub(crate) static TESTCARD: LazyLock<Clip> = LazyLock::new(|| {
    let clip = Clip::parse(CLIP).expect("the embedded clip is a valid H.264 stream");
    tracing::debug!(
        width = clip.width,
        height = clip.height,
        fps = clip.framerate(),
        frames = clip.frames.len(),
        "camera clip loaded"
    );
    clip
});

/// The sub-stream clip, split and analysed once per process.
pub(crate) static TESTCARD_SUB: LazyLock<Clip> =
    LazyLock::new(|| Clip::parse(CLIP_SUB).expect("the embedded sub-stream clip is a valid H.264 stream"));

/// The clip of a stream: `subtype=1` is the sub-stream, anything else the main stream.
pub(crate) fn clip_of(subtype: u32) -> &'static Clip {
    if subtype == 1 { &TESTCARD_SUB } else { &TESTCARD }
}

/// One decodable picture: the NAL units of one access unit, without SPS/PPS (those are sent again
/// before every IDR, as a recorder's encoder does, so that a client may join at any key frame).
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) nals: Vec<&'static [u8]>,
    pub(crate) idr: bool,
}

/// An H.264 clip and what its SPS says about it.
#[derive(Debug)]
pub(crate) struct Clip {
    pub(crate) sps: &'static [u8],
    pub(crate) pps: &'static [u8],
    pub(crate) frames: Vec<Frame>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Frame duration in 90 kHz ticks.
    pub(crate) frame_ticks: u32,
}

impl Clip {
    pub(crate) fn parse(data: &'static [u8]) -> Result<Clip, String> {
        let mut sps = None;
        let mut pps = None;
        let mut frames: Vec<Frame> = Vec::new();
        // Non-VCL units (AUD, SEI) seen since the last picture: they open the next access unit.
        let mut pending: Vec<&'static [u8]> = Vec::new();
        let mut open = false;
        for nal in split_annex_b(data) {
            match nal[0] & 0x1f {
                NAL_SPS => {
                    sps.get_or_insert(nal);
                    open = false;
                }
                NAL_PPS => {
                    pps.get_or_insert(nal);
                    open = false;
                }
                t @ 1..=5 => {
                    // first_mb_in_slice is ue(v): a leading 1 bit means 0, i.e. a new picture.
                    let first_slice = nal.get(1).is_some_and(|b| b & 0x80 != 0);
                    if open
                        && !first_slice
                        && let Some(f) = frames.last_mut()
                    {
                        f.nals.push(nal);
                        f.idr |= t == NAL_IDR;
                    } else {
                        let mut nals = std::mem::take(&mut pending);
                        nals.push(nal);
                        frames.push(Frame { nals, idr: t == NAL_IDR });
                        open = true;
                    }
                }
                _ => {
                    pending.push(nal);
                    open = false;
                }
            }
        }
        let sps = sps.ok_or("no SPS")?;
        let pps = pps.ok_or("no PPS")?;
        if !frames.first().is_some_and(|f| f.idr) {
            return Err("the clip must start with an IDR picture to loop".into());
        }
        let info = SpsInfo::parse(sps).ok_or("SPS could not be parsed")?;
        let (units, scale) = info.timing.ok_or("SPS carries no frame rate (VUI timing)")?;
        // Progressive frames: one frame lasts two ticks of the SPS clock (H.264 E.2.1).
        let frame_ticks = (CLOCK_HZ * 2 * u64::from(units) / u64::from(scale)) as u32;
        if frame_ticks == 0 {
            return Err("frame rate out of range".into());
        }
        Ok(Clip { sps, pps, frames, width: info.width, height: info.height, frame_ticks })
    }

    pub(crate) fn frame_period(&self) -> Duration {
        Duration::from_micros(u64::from(self.frame_ticks) * 1_000_000 / CLOCK_HZ)
    }

    pub(crate) fn framerate(&self) -> f64 {
        CLOCK_HZ as f64 / f64::from(self.frame_ticks)
    }

    /// `profile-level-id` (RFC 6184 §8.1): profile_idc, constraint flags, level_idc of the SPS.
    pub(crate) fn profile_level_id(&self) -> String {
        self.sps[1..4].iter().map(|b| format!("{b:02X}")).collect()
    }

    /// `sprop-parameter-sets`: base64 of SPS and PPS, comma-separated.
    pub(crate) fn sprop_parameter_sets(&self) -> String {
        format!("{},{}", base64(self.sps), base64(self.pps))
    }

    /// The SDP media section describing this clip as track 0.
    pub(crate) fn sdp_media(&self) -> String {
        format!(
            "m=video 0 RTP/AVP {PAYLOAD_TYPE}\r\n\
             a=control:trackID=0\r\n\
             a=framerate:{:.6}\r\n\
             a=rtpmap:{PAYLOAD_TYPE} H264/{CLOCK_HZ}\r\n\
             a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id={};sprop-parameter-sets={}\r\n\
             a=recvonly\r\n",
            self.framerate(),
            self.profile_level_id(),
            self.sprop_parameter_sets()
        )
    }
}

/// The NAL units of an Annex-B byte stream, without start codes. Trailing zero bytes belong to the
/// next (4-byte) start code or are trailing_zero_8bits; a NAL never ends in 0x00.
pub(crate) fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
        let mut nal = &data[s..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

/// What the emulator needs from an SPS (H.264 §7.3.2.1.1, E.1.1).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SpsInfo {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// VUI `(num_units_in_tick, time_scale)`.
    pub(crate) timing: Option<(u32, u32)>,
}

impl SpsInfo {
    pub(crate) fn parse(nal: &[u8]) -> Option<SpsInfo> {
        let rbsp = unescape(nal.get(1..)?);
        let mut b = Bits::new(&rbsp);
        let profile = b.bits(8)?;
        b.bits(16)?; // constraint flags, level_idc
        b.ue()?; // seq_parameter_set_id
        let mut chroma_format = 1;
        if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
            chroma_format = b.ue()?;
            let separate_planes = chroma_format == 3 && b.bit()? == 1;
            if separate_planes {
                chroma_format = 0;
            }
            b.ue()?; // bit_depth_luma_minus8
            b.ue()?; // bit_depth_chroma_minus8
            b.bit()?; // qpprime_y_zero_transform_bypass_flag
            if b.bit()? == 1 {
                let lists = if chroma_format == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if b.bit()? == 1 {
                        b.skip_scaling_list(if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        b.ue()?; // log2_max_frame_num_minus4
        match b.ue()? {
            0 => {
                b.ue()?;
            }
            1 => {
                b.bit()?;
                b.se()?;
                b.se()?;
                for _ in 0..b.ue()? {
                    b.se()?;
                }
            }
            _ => {}
        }
        b.ue()?; // max_num_ref_frames
        b.bit()?; // gaps_in_frame_num_value_allowed_flag
        let width_mbs = b.ue()? + 1;
        let height_units = b.ue()? + 1;
        let frame_mbs_only = b.bit()?;
        if frame_mbs_only == 0 {
            b.bit()?; // mb_adaptive_frame_field_flag
        }
        b.bit()?; // direct_8x8_inference_flag
        let (mut crop_x, mut crop_y) = (0, 0);
        if b.bit()? == 1 {
            let (l, r, t, bo) = (b.ue()?, b.ue()?, b.ue()?, b.ue()?);
            let (unit_x, unit_y) = match chroma_format {
                0 => (1, 2 - frame_mbs_only),
                1 => (2, 2 * (2 - frame_mbs_only)),
                2 => (2, 2 - frame_mbs_only),
                _ => (1, 2 - frame_mbs_only),
            };
            crop_x = unit_x * (l + r);
            crop_y = unit_y * (t + bo);
        }
        let width = (width_mbs * 16).checked_sub(crop_x)?;
        let height = ((2 - frame_mbs_only) * height_units * 16).checked_sub(crop_y)?;
        let mut timing = None;
        if b.bit()? == 1 {
            if b.bit()? == 1 && b.bits(8)? == 255 {
                b.bits(32)?; // sar_width, sar_height
            }
            if b.bit()? == 1 {
                b.bit()?; // overscan_appropriate_flag
            }
            if b.bit()? == 1 {
                b.bits(4)?; // video_format, video_full_range_flag
                if b.bit()? == 1 {
                    b.bits(24)?; // colour primaries, transfer, matrix
                }
            }
            if b.bit()? == 1 {
                b.ue()?;
                b.ue()?;
            }
            if b.bit()? == 1 {
                let units = b.bits(32)?;
                let scale = b.bits(32)?;
                if units > 0 && scale > 0 {
                    timing = Some((units, scale));
                }
            }
        }
        Some(SpsInfo { width, height, timing })
    }
}

/// RBSP from a NAL payload: drop each emulation-prevention 0x03 after two zero bytes.
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = self.data.get(self.pos / 8)?;
        let v = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(v))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.bits(zeros)?)
    }

    fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        Some(if k % 2 == 1 { k.div_ceil(2) as i32 } else { -((k / 2) as i32) })
    }

    fn skip_scaling_list(&mut self, size: usize) -> Option<()> {
        let (mut last, mut next) = (8i32, 8i32);
        for _ in 0..size {
            if next != 0 {
                next = (last + self.se()? + 256) % 256;
            }
            if next != 0 {
                last = next;
            }
        }
        Some(())
    }
}

/// Standard base64 with padding (RFC 4648 §4), all the SDP needs.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// RTP payloads for one NAL (RFC 6184 §5.6, §5.8): the NAL itself when it fits, else FU-A
/// fragments of at most `max` bytes each.
pub(crate) fn payloads(nal: &[u8], max: usize) -> Vec<Vec<u8>> {
    if nal.len() <= max {
        return vec![nal.to_vec()];
    }
    let indicator = (nal[0] & 0xe0) | NAL_FU_A;
    let kind = nal[0] & 0x1f;
    let body = &nal[1..];
    let chunks: Vec<&[u8]> = body.chunks(max - 2).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut header = kind;
            if i == 0 {
                header |= 0x80;
            }
            if i == last {
                header |= 0x40;
            }
            let mut p = Vec::with_capacity(c.len() + 2);
            p.extend_from_slice(&[indicator, header]);
            p.extend_from_slice(c);
            p
        })
        .collect()
}

/// One RTP sender looping a clip: random SSRC, sequence start and timestamp origin (RFC 3550 §5.1),
/// timestamps advancing by the clip's frame duration, loop after loop.
#[derive(Debug)]
pub(crate) struct RtpStream {
    clip: &'static Clip,
    pub(crate) ssrc: u32,
    seq: u16,
    ts0: u32,
    sent: u64,
}

impl RtpStream {
    pub(crate) fn new(clip: &'static Clip) -> Self {
        let mut rng = rand::rng();
        RtpStream { clip, ssrc: rng.random(), seq: rng.random(), ts0: rng.random(), sent: 0 }
    }

    /// How often a frame goes out (the clip's frame rate).
    pub(crate) fn frame_period(&self) -> Duration {
        self.clip.frame_period()
    }

    /// Sequence number of the next packet, for `RTP-Info`.
    pub(crate) fn next_seq(&self) -> u16 {
        self.seq
    }

    /// Timestamp of the next frame, for `RTP-Info`.
    pub(crate) fn next_rtptime(&self) -> u32 {
        self.ts0.wrapping_add((self.sent * u64::from(self.clip.frame_ticks)) as u32)
    }

    /// The RTP packets of the next frame; the last one carries the marker bit (end of the access
    /// unit, RFC 6184 §5.1).
    pub(crate) fn next_frame(&mut self) -> Vec<Vec<u8>> {
        let clip = self.clip;
        let frame = &clip.frames[(self.sent % clip.frames.len() as u64) as usize];
        let ts = self.next_rtptime();
        let mut nals: Vec<&[u8]> = Vec::with_capacity(frame.nals.len() + 2);
        if frame.idr {
            nals.extend([clip.sps, clip.pps]);
        }
        nals.extend(frame.nals.iter().copied());
        let payloads: Vec<Vec<u8>> = nals.iter().flat_map(|n| payloads(n, MAX_PAYLOAD)).collect();
        let last = payloads.len().saturating_sub(1);
        let packets = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let marker = if i == last { 0x80 } else { 0 };
                let mut pkt = Vec::with_capacity(12 + p.len());
                pkt.push(0x80); // V=2, no padding, no extension, no CSRC
                pkt.push(marker | PAYLOAD_TYPE);
                pkt.extend_from_slice(&self.seq.to_be_bytes());
                pkt.extend_from_slice(&ts.to_be_bytes());
                pkt.extend_from_slice(&self.ssrc.to_be_bytes());
                pkt.extend_from_slice(&p);
                self.seq = self.seq.wrapping_add(1);
                pkt
            })
            .collect();
        self.sent += 1;
        packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 0, 0, 3, 0, 5, 0, 0];
        assert_eq!(split_annex_b(&data), vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 0, 0, 3, 0, 5][..]]);
        assert!(split_annex_b(&[0, 0, 1]).is_empty());
        assert!(split_annex_b(&[]).is_empty());
    }

    #[test]
    fn the_clip_splits_into_one_gop_of_frames() {
        let nals = split_annex_b(CLIP);
        let types: Vec<u8> = nals.iter().map(|n| n[0] & 0x1f).collect();
        assert_eq!(&types[..3], &[NAL_SPS, NAL_PPS, NAL_IDR], "{types:?}");
        // Reassembled with start codes, the NALs are the clip again (nothing lost at the seams).
        let total: usize = nals.iter().map(|n| n.len()).sum();
        assert!(total + 3 * nals.len() <= CLIP.len());
        assert!(total + 4 * nals.len() >= CLIP.len());
        let clip = &*TESTCARD;
        assert_eq!(clip.frames.len(), 25, "1 s at 25 fps");
        assert!(clip.frames[0].idr);
        assert!(clip.frames[1..].iter().all(|f| !f.idr));
        assert!(clip.frames[0].nals.iter().any(|n| n.len() > MAX_PAYLOAD), "the IDR is large enough to need FU-A");
    }

    #[test]
    fn sps_gives_size_and_frame_rate() {
        let clip = &*TESTCARD;
        assert_eq!((clip.width, clip.height), (320, 240));
        assert_eq!(clip.frame_ticks, 3600);
        assert_eq!(clip.frame_period(), Duration::from_millis(40));
        assert_eq!(clip.framerate(), 25.0);
    }

    #[test]
    fn sub_stream_clip_is_smaller_and_slower() {
        let clip = &*TESTCARD_SUB;
        assert_eq!((clip.width, clip.height), (176, 144));
        assert_eq!(clip.frames.len(), 15, "1 s at 15 fps");
        assert_eq!(clip.frame_period(), Duration::from_micros(66_666));
        assert!(clip.frames[0].idr && clip.frames[1..].iter().all(|f| !f.idr));
        assert!(std::ptr::eq(clip_of(1), &*TESTCARD_SUB) && std::ptr::eq(clip_of(0), &*TESTCARD));
    }

    #[test]
    fn sdp_parameters_come_from_the_clip() {
        let clip = &*TESTCARD;
        // Constrained Baseline (66, constraint_set0+1), level 1.3 (x264's pick for 320x240@25).
        assert_eq!(clip.profile_level_id(), "42C00D");
        assert_eq!(clip.profile_level_id(), format!("{:02X}{:02X}{:02X}", clip.sps[1], clip.sps[2], clip.sps[3]));
        let sprop = clip.sprop_parameter_sets();
        let (sps, pps) = sprop.split_once(',').unwrap();
        assert_eq!(sps, base64(clip.sps));
        assert_eq!(pps, base64(clip.pps));
        assert!(sps.starts_with("Z0LADd"), "{sps}");
        let media = clip.sdp_media();
        for line in [
            "m=video 0 RTP/AVP 96\r\n",
            "a=control:trackID=0\r\n",
            "a=framerate:25.000000\r\n",
            "a=rtpmap:96 H264/90000\r\n",
            &format!("a=fmtp:96 packetization-mode=1;profile-level-id=42C00D;sprop-parameter-sets={sprop}\r\n"),
        ] {
            assert!(media.contains(line), "{line:?} in {media}");
        }
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn sps_with_cropping_and_emulation_prevention() {
        // x264's 1920x1080 High-profile SPS: 1088 coded lines cropped to 1080.
        let sps = [
            0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04,
            0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
        ];
        let info = SpsInfo::parse(&sps).unwrap();
        assert_eq!((info.width, info.height), (1920, 1080));
        assert_eq!(info.timing, Some((1, 50)));
    }

    fn reassemble(packets: &[Vec<u8>]) -> Vec<u8> {
        if packets.len() == 1 {
            return packets[0].clone();
        }
        let mut nal = vec![(packets[0][0] & 0xe0) | (packets[0][1] & 0x1f)];
        for (i, p) in packets.iter().enumerate() {
            assert_eq!(p[0] & 0x1f, NAL_FU_A);
            assert_eq!(p[1] & 0x80 != 0, i == 0, "start bit only on the first");
            assert_eq!(p[1] & 0x40 != 0, i == packets.len() - 1, "end bit only on the last");
            nal.extend_from_slice(&p[2..]);
        }
        nal
    }

    #[test]
    fn fu_a_fragments_reassemble_to_the_nal() {
        for len in [1, 2, 100, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD, 5000] {
            let nal: Vec<u8> = std::iter::once(0x65).chain((1..len).map(|i| (i * 7) as u8)).collect();
            let ps = payloads(&nal, MAX_PAYLOAD);
            assert!(ps.iter().all(|p| p.len() <= MAX_PAYLOAD), "len {len}");
            assert_eq!(ps.len() == 1, len <= MAX_PAYLOAD, "len {len}");
            assert_eq!(reassemble(&ps), nal, "len {len}");
        }
        for nal in &TESTCARD.frames[0].nals {
            assert_eq!(reassemble(&payloads(nal, MAX_PAYLOAD)), *nal);
        }
    }

    #[test]
    fn rtp_packets_number_mark_and_time_frames() {
        let clip = &*TESTCARD;
        let mut s = RtpStream::new(clip);
        let (seq0, ts0) = (s.next_seq(), s.next_rtptime());
        let mut seq = seq0;
        for f in 0..clip.frames.len() + 3 {
            let packets = s.next_frame();
            let ts = ts0.wrapping_add(f as u32 * clip.frame_ticks);
            for (i, p) in packets.iter().enumerate() {
                assert_eq!(p[0], 0x80);
                assert_eq!(p[1] & 0x7f, PAYLOAD_TYPE);
                assert_eq!(p[1] & 0x80 != 0, i == packets.len() - 1, "marker on the last");
                assert_eq!(u16::from_be_bytes([p[2], p[3]]), seq);
                assert_eq!(u32::from_be_bytes([p[4], p[5], p[6], p[7]]), ts);
                assert_eq!(u32::from_be_bytes([p[8], p[9], p[10], p[11]]), s.ssrc);
                assert!(p.len() <= 12 + MAX_PAYLOAD);
                seq = seq.wrapping_add(1);
            }
            let first = packets[0][12] & 0x1f;
            if f % clip.frames.len() == 0 {
                assert_eq!(first, NAL_SPS, "SPS/PPS before each IDR, loop after loop");
                assert_eq!(packets[1][12] & 0x1f, NAL_PPS);
            } else {
                assert_eq!(first, 1, "frame {f}");
            }
        }
    }
}
