//! The decoded picture: proof that what a recorder streamed is video a viewer would see, and the
//! small PNG thumbnail a report shows as evidence.
//!
//! Decoding is OpenH264's (the `openh264` crate, which builds Cisco's decoder from the source it
//! bundles: no system library and no ffmpeg at run time); the PNG is the `png` crate's (image-rs).
//! Only the scaling down to a thumbnail is ours: a box filter, a few lines.

use crate::h264::AccessUnit;

/// One decoded picture, 8-bit RGB, rows top to bottom.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture({}x{})", self.width, self.height)
    }
}

/// Why an access unit did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("H.264 key frame did not decode: {0}")]
pub struct DecodeError(String);

impl Picture {
    /// Decode a key frame (SPS, PPS, IDR as Annex-B) with OpenH264.
    pub fn decode(unit: &AccessUnit) -> Result<Picture, DecodeError> {
        use openh264::formats::YUVSource;
        let mut decoder =
            openh264::decoder::Decoder::new().map_err(|e| DecodeError(format!("OpenH264 would not start: {e}")))?;
        let picture = |yuv: &openh264::decoder::DecodedYUV<'_>| {
            let (w, h) = yuv.dimensions();
            let mut rgb = vec![0; w * h * 3];
            yuv.write_rgb8(&mut rgb);
            Picture { width: w as u32, height: h as u32, rgb }
        };
        if let Some(yuv) = decoder.decode(&unit.annex_b).map_err(|e| DecodeError(format!("OpenH264: {e}")))? {
            return Ok(picture(&yuv));
        }
        let flushed = decoder.flush_remaining().map_err(|e| DecodeError(format!("OpenH264 flush: {e}")))?;
        flushed.first().map(picture).ok_or_else(|| DecodeError("OpenH264 gave no picture for the key frame".into()))
    }

    /// Mean brightness (0–255): a picture of one flat grey says the decoder concealed, not decoded.
    pub fn mean_luma(&self) -> f64 {
        if self.rgb.is_empty() {
            return 0.0;
        }
        let sum: u64 = self
            .rgb
            .chunks_exact(3)
            .map(|p| (299 * u64::from(p[0]) + 587 * u64::from(p[1]) + 114 * u64::from(p[2])) / 1000)
            .sum();
        sum as f64 / (self.rgb.len() / 3) as f64
    }

    /// The picture scaled down (box filter, aspect kept) to at most `max_width` pixels wide.
    pub fn scaled_to(&self, max_width: u32) -> Picture {
        if self.width <= max_width || self.width == 0 || max_width == 0 {
            return self.clone();
        }
        let w = max_width;
        let h = ((u64::from(self.height) * u64::from(w)) / u64::from(self.width)).max(1) as u32;
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            let (y0, y1) = span(y, h, self.height);
            for x in 0..w {
                let (x0, x1) = span(x, w, self.width);
                let mut acc = [0u64; 3];
                for sy in y0..y1 {
                    for sx in x0..x1 {
                        let i = ((sy * self.width + sx) * 3) as usize;
                        for (a, &v) in acc.iter_mut().zip(&self.rgb[i..i + 3]) {
                            *a += u64::from(v);
                        }
                    }
                }
                let n = u64::from((y1 - y0) * (x1 - x0)).max(1);
                rgb.extend(acc.iter().map(|v| (v / n) as u8));
            }
        }
        Picture { width: w, height: h, rgb }
    }

    /// The picture as a PNG file.
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Writing to a Vec fails only on a size mismatch, which `decode`/`scaled_to` rule out.
        let written = encoder.write_header().and_then(|mut w| w.write_image_data(&self.rgb).and_then(|()| w.finish()));
        if let Err(e) = written {
            tracing::warn!(error = %e, "PNG encoding of a {}x{} picture failed", self.width, self.height);
        }
        out
    }
}

/// Source pixels `[from, to)` that destination pixel `i` of `dst` covers in `src`.
fn span(i: u32, dst: u32, src: u32) -> (u32, u32) {
    let from = (u64::from(i) * u64::from(src) / u64::from(dst)) as u32;
    let to = ((u64::from(i + 1) * u64::from(src)).div_ceil(u64::from(dst)) as u32).min(src);
    (from, to.max(from + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_averages_blocks_and_keeps_the_aspect() {
        let p = Picture {
            width: 4,
            height: 2,
            rgb: [[0, 0, 0], [200, 100, 50], [10, 10, 10], [30, 30, 30]]
                .iter()
                .cycle()
                .take(8)
                .flatten()
                .copied()
                .collect(),
        };
        let s = p.scaled_to(2);
        assert_eq!((s.width, s.height), (2, 1));
        assert_eq!(s.rgb, vec![100, 50, 25, 20, 20, 20]);
    }

    #[test]
    fn png_has_the_signature_and_size() {
        let p = Picture { width: 3, height: 2, rgb: vec![255; 18] };
        let png = p.png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, right after the chunk header.
        assert_eq!(&png[16..24], &[0, 0, 0, 3, 0, 0, 0, 2]);
    }

    #[test]
    fn garbage_does_not_decode() {
        let unit = AccessUnit { annex_b: vec![0, 0, 0, 1, 0x65, 1, 2, 3], nal_types: vec![5] };
        assert!(Picture::decode(&unit).is_err());
    }
}
