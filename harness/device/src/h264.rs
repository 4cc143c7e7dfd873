//! RTP to H.264 (RFC 6184, packetization mode 1): the few lines that turn the packets a recorder
//! streams into one access unit a decoder takes — single NAL unit packets, STAP-A aggregates and
//! FU-A fragments — and say when that unit is a key frame a viewer can start from (SPS, PPS and an
//! IDR slice, nothing lost on the way).
//!
//! Hand-written rather than taken from `retina` (the one well-kept Rust RTSP client with an H.264
//! depacketizer): retina's depacketizer takes packets only as its own `ReceivedPacket`, which code
//! outside retina can build only through a `#[doc(hidden)]` testing API, and its RTSP client owns
//! authentication (a `String` password, every request answered, its own nonce handling), which a
//! login check that must control what each step sends cannot use. What is left to write is this
//! file; the picture itself is decoded by OpenH264 (`picture.rs`).

/// `nal_unit_type` of a coded slice of an IDR picture.
pub(crate) const NAL_IDR: u8 = 5;
/// `nal_unit_type` of a sequence parameter set.
pub(crate) const NAL_SPS: u8 = 7;
/// `nal_unit_type` of a picture parameter set.
pub(crate) const NAL_PPS: u8 = 8;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// The fields of one RTP packet (RFC 3550 §5.1) the depacketizer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpPacket<'a> {
    pub(crate) payload_type: u8,
    pub(crate) marker: bool,
    pub(crate) seq: u16,
    pub(crate) timestamp: u32,
    pub(crate) ssrc: u32,
    pub(crate) payload: &'a [u8],
}

/// Parse an RTP packet: version 2, CSRCs, header extension and padding skipped.
pub(crate) fn parse_rtp(data: &[u8]) -> Result<RtpPacket<'_>, String> {
    if data.len() < 12 {
        return Err(format!("RTP packet of {} bytes (the header alone is 12)", data.len()));
    }
    if data[0] >> 6 != 2 {
        return Err(format!("RTP version {} (expected 2)", data[0] >> 6));
    }
    let csrcs = usize::from(data[0] & 0x0f);
    let mut start = 12 + 4 * csrcs;
    if data[0] & 0x10 != 0 {
        let ext = data.get(start + 2..start + 4).ok_or("RTP header extension cut short")?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = data.len();
    if data[0] & 0x20 != 0 {
        let pad = usize::from(*data.last().unwrap_or(&0));
        end = end.checked_sub(pad).ok_or("RTP padding longer than the packet")?;
    }
    if start > end {
        return Err("RTP header longer than the packet".into());
    }
    Ok(RtpPacket {
        payload_type: data[1] & 0x7f,
        marker: data[1] & 0x80 != 0,
        seq: u16::from_be_bytes([data[2], data[3]]),
        timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        payload: &data[start..end],
    })
}

/// A key frame a decoder can start from: SPS, PPS and the access unit's NAL units, as an Annex-B
/// byte stream (start codes before each NAL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// `00 00 00 01` + NAL, for SPS, PPS and every NAL unit of the picture.
    pub annex_b: Vec<u8>,
    /// The `nal_unit_type` of each NAL unit in `annex_b`, in order.
    pub nal_types: Vec<u8>,
}

/// Reassembles NAL units from RTP payloads and hands out the first complete key frame.
#[derive(Debug, Default)]
pub(crate) struct Depacketizer {
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// NAL units of the access unit being received.
    unit: Vec<Vec<u8>>,
    /// Its RTP timestamp (every packet of one access unit carries the same).
    unit_ts: Option<u32>,
    /// Something of it was lost or arrived without its start: it is not handed out.
    unit_broken: bool,
    /// The FU-A fragments of one NAL so far.
    fragments: Option<Vec<u8>>,
    last_seq: Option<u16>,
    /// RTP packets pushed.
    pub(crate) packets: u32,
    /// Packets missing by sequence number.
    pub(crate) lost: u32,
}

impl Depacketizer {
    /// A depacketizer that already knows the parameter sets (the SDP's `sprop-parameter-sets`).
    pub(crate) fn with_parameter_sets(sps: Option<Vec<u8>>, pps: Option<Vec<u8>>) -> Self {
        Depacketizer { sps, pps, ..Default::default() }
    }

    /// Take one packet; `Some` once a whole key frame has arrived. `Err` names a payload that
    /// packetization mode 1 does not allow.
    pub(crate) fn push(&mut self, pkt: &RtpPacket<'_>) -> Result<Option<AccessUnit>, String> {
        self.packets += 1;
        let mut done = None;
        if let Some(last) = self.last_seq {
            let gap = pkt.seq.wrapping_sub(last).wrapping_sub(1);
            if gap != 0 && gap < 0x8000 {
                self.lost += u32::from(gap);
                self.fragments = None;
                self.unit_broken = true;
            }
        }
        self.last_seq = Some(pkt.seq);
        if self.unit_ts.is_some_and(|ts| ts != pkt.timestamp) {
            // A new picture began without a marker on the last one: the old one is complete.
            done = self.finish();
        }
        self.unit_ts = Some(pkt.timestamp);
        self.payload(pkt.payload)?;
        if pkt.marker {
            done = done.or(self.finish());
        }
        Ok(done)
    }

    fn payload(&mut self, p: &[u8]) -> Result<(), String> {
        let Some(&first) = p.first() else {
            return Ok(());
        };
        match first & 0x1f {
            1..=23 => self.nal(p.to_vec()),
            NAL_STAP_A => {
                let mut rest = &p[1..];
                while rest.len() >= 2 {
                    let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    let Some(nal) = rest.get(2..2 + n) else {
                        return Err(format!("STAP-A unit of {n} bytes with {} left", rest.len() - 2));
                    };
                    self.nal(nal.to_vec());
                    rest = &rest[2 + n..];
                }
            }
            NAL_FU_A => {
                let Some(&header) = p.get(1) else {
                    return Err("FU-A packet without its FU header".into());
                };
                let (start, end) = (header & 0x80 != 0, header & 0x40 != 0);
                if start {
                    self.fragments = Some(vec![(first & 0xe0) | (header & 0x1f)]);
                }
                match self.fragments.as_mut() {
                    Some(f) => f.extend_from_slice(&p[2..]),
                    // Joined mid-NAL, or its start was lost.
                    None => self.unit_broken = true,
                }
                if end && let Some(nal) = self.fragments.take() {
                    self.nal(nal);
                }
            }
            t @ (25..=27 | 29) => {
                return Err(format!(
                    "RTP payload of NAL type {t} (STAP-B/MTAP/FU-B), not allowed in packetization mode 1"
                ));
            }
            // 0, 30, 31: unspecified; a receiver ignores them (RFC 6184 §5.4).
            _ => {}
        }
        Ok(())
    }

    fn nal(&mut self, nal: Vec<u8>) {
        match nal[0] & 0x1f {
            NAL_SPS => self.sps = Some(nal.clone()),
            NAL_PPS => self.pps = Some(nal.clone()),
            _ => {}
        }
        self.unit.push(nal);
    }

    /// Close the access unit being received; it is handed out if it is a whole key frame.
    fn finish(&mut self) -> Option<AccessUnit> {
        let unit = std::mem::take(&mut self.unit);
        let broken = std::mem::take(&mut self.unit_broken) || self.fragments.take().is_some();
        self.unit_ts = None;
        let idr = unit.iter().any(|n| n[0] & 0x1f == NAL_IDR);
        if broken || !idr {
            return None;
        }
        let (sps, pps) = (self.sps.as_ref()?, self.pps.as_ref()?);
        let mut out = AccessUnit { annex_b: Vec::new(), nal_types: Vec::new() };
        let mut put = |nal: &[u8]| {
            out.annex_b.extend_from_slice(&[0, 0, 0, 1]);
            out.annex_b.extend_from_slice(nal);
            out.nal_types.push(nal[0] & 0x1f);
        };
        put(sps);
        put(pps);
        for nal in unit.iter().filter(|n| !matches!(n[0] & 0x1f, NAL_SPS | NAL_PPS)) {
            put(nal);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, if marker { 0x80 | 96 } else { 96 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn push_all(d: &mut Depacketizer, packets: &[Vec<u8>]) -> Option<AccessUnit> {
        let mut out = None;
        for p in packets {
            let pkt = parse_rtp(p).unwrap();
            if let Some(au) = d.push(&pkt).unwrap() {
                out.get_or_insert(au);
            }
        }
        out
    }

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x0d];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

    fn idr(len: usize) -> Vec<u8> {
        std::iter::once(0x65).chain((1..len).map(|i| (i * 7 + 1) as u8)).collect()
    }

    fn fu_a(nal: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let chunks: Vec<&[u8]> = nal[1..].chunks(chunk).collect();
        let last = chunks.len() - 1;
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut h = nal[0] & 0x1f;
                if i == 0 {
                    h |= 0x80;
                }
                if i == last {
                    h |= 0x40;
                }
                let mut p = vec![(nal[0] & 0xe0) | 28, h];
                p.extend_from_slice(c);
                p
            })
            .collect()
    }

    fn stap_a(nals: &[&[u8]]) -> Vec<u8> {
        let mut p = vec![0x78];
        for n in nals {
            p.extend_from_slice(&(n.len() as u16).to_be_bytes());
            p.extend_from_slice(n);
        }
        p
    }

    #[test]
    fn stap_a_parameter_sets_and_fu_a_idr_make_a_key_frame() {
        let big = idr(3000);
        let mut payloads = vec![stap_a(&[SPS, PPS])];
        payloads.extend(fu_a(&big, 1000));
        let last = payloads.len() - 1;
        let packets: Vec<Vec<u8>> =
            payloads.iter().enumerate().map(|(i, p)| rtp(100 + i as u16, 9000, i == last, p)).collect();
        let mut d = Depacketizer::default();
        let au = push_all(&mut d, &packets).expect("a key frame");
        assert_eq!(au.nal_types, vec![7, 8, 5]);
        let mut expected = vec![0, 0, 0, 1];
        expected.extend_from_slice(SPS);
        expected.extend_from_slice(&[0, 0, 0, 1]);
        expected.extend_from_slice(PPS);
        expected.extend_from_slice(&[0, 0, 0, 1]);
        expected.extend_from_slice(&big);
        assert_eq!(au.annex_b, expected);
        assert_eq!((d.packets, d.lost), (packets.len() as u32, 0));
    }

    #[test]
    fn a_lost_fragment_spoils_that_picture_and_the_next_key_frame_is_taken() {
        let big = idr(3000);
        let mut first: Vec<Vec<u8>> = vec![SPS.to_vec(), PPS.to_vec()];
        first.extend(fu_a(&big, 1000));
        let mut packets = Vec::new();
        let mut seq = 7u16;
        for (i, p) in first.iter().enumerate() {
            packets.push(rtp(seq, 0, i == first.len() - 1, p));
            seq += 1;
        }
        packets.remove(3); // the second FU-A fragment
        let mut d = Depacketizer::default();
        assert_eq!(push_all(&mut d, &packets), None, "a picture with a hole");
        assert_eq!(d.lost, 1);
        let again: Vec<Vec<u8>> =
            fu_a(&big, 1000).iter().enumerate().map(|(i, p)| rtp(seq + i as u16, 3600, i == 2, p)).collect();
        let au = push_all(&mut d, &again).expect("the parameter sets are remembered");
        assert_eq!(au.nal_types, vec![7, 8, 5]);
    }

    #[test]
    fn joining_mid_fragment_or_without_parameter_sets_gives_nothing() {
        let big = idr(3000);
        let frags = fu_a(&big, 1000);
        let packets: Vec<Vec<u8>> = frags[1..].iter().enumerate().map(|(i, p)| rtp(i as u16, 0, i == 1, p)).collect();
        assert_eq!(push_all(&mut Depacketizer::default(), &packets), None);
        // A whole IDR, but no SPS/PPS ever seen.
        let whole = vec![rtp(1, 0, true, &big[..500])];
        assert_eq!(push_all(&mut Depacketizer::default(), &whole), None);
        // The same with the SDP's parameter sets.
        let mut d = Depacketizer::with_parameter_sets(Some(SPS.to_vec()), Some(PPS.to_vec()));
        assert!(push_all(&mut d, &whole).is_some());
    }

    #[test]
    fn a_timestamp_change_closes_a_picture_without_a_marker() {
        let packets = vec![
            rtp(1, 0, false, SPS),
            rtp(2, 0, false, PPS),
            rtp(3, 0, false, &idr(100)),
            rtp(4, 3600, false, &[0x41, 0x9a]),
        ];
        let au = push_all(&mut Depacketizer::default(), &packets).unwrap();
        assert_eq!(au.nal_types, vec![7, 8, 5]);
    }

    #[test]
    fn rtp_headers_with_csrc_extension_and_padding() {
        let mut p = vec![0x80 | 0x20 | 0x10 | 1, 96, 0, 5, 0, 0, 0, 9, 0, 0, 0, 1];
        p.extend_from_slice(&[0xaa; 4]); // one CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension, one word
        p.extend_from_slice(&[0x65, 0x88]); // payload
        p.extend_from_slice(&[0, 0, 3]); // padding, count 3
        let pkt = parse_rtp(&p).unwrap();
        assert_eq!((pkt.seq, pkt.timestamp, pkt.payload), (5, 9, &[0x65, 0x88][..]));
        assert!(parse_rtp(&[0x40; 12]).unwrap_err().contains("version 1"));
        assert!(parse_rtp(&[0x80; 5]).unwrap_err().contains("12"));
        let mut bad = vec![0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        bad.push(200);
        assert!(parse_rtp(&bad).unwrap_err().contains("padding"));
    }

    #[test]
    fn fu_b_is_refused_in_mode_1() {
        let mut d = Depacketizer::default();
        let p = rtp(1, 0, true, &[0x7d, 0x85, 0, 0]);
        assert!(d.push(&parse_rtp(&p).unwrap()).unwrap_err().contains("29"));
    }
}
