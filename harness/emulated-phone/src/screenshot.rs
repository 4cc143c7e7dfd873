//! Screenshots: the current screen drawn as a real PNG (`png` crate), half the screen's size in
//! points. Each element is a box in its kind's colour and text is a bar as long as the text, so a
//! person looking at the evidence of a failed step sees which screen the app was on and whether an
//! error or success message was up.

use crate::ui::{Kind, Node};

/// One pixel is this many points.
const SCALE: u32 = 2;

type Rgb = [u8; 3];

struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, c: Rgb) {
        let (x0, y0) = (x / SCALE, y / SCALE);
        let (x1, y1) = (((x + w) / SCALE).min(self.w), ((y + h) / SCALE).min(self.h));
        for py in y0..y1 {
            for px in x0..x1 {
                let i = ((py * self.w + px) * 3) as usize;
                self.px[i..i + 3].copy_from_slice(&c);
            }
        }
    }
}

fn colour(n: &Node) -> Option<Rgb> {
    Some(match n.kind {
        Kind::NavigationBar => [230, 230, 235],
        Kind::Button => [0, 122, 255],
        Kind::TextField | Kind::SecureTextField => [242, 242, 247],
        Kind::Cell => [250, 250, 250],
        Kind::Image => [40, 40, 40],
        Kind::Alert => [255, 255, 255],
        Kind::StaticText => match n.name.as_str() {
            "modify-success" => [52, 199, 89],
            "modify-error" | "login-error" | "add-error" | "sign-in-error" | "password-hint" => [255, 59, 48],
            "device-offline" | "modify-unknown" | "no-answer" => [255, 149, 0],
            _ => return None,
        },
        Kind::Application | Kind::Window | Kind::Table => return None,
    })
}

fn draw(c: &mut Canvas, n: &Node) {
    let r = n.rect;
    if let Some(bg) = colour(n) {
        c.fill(r.x, r.y, r.w, r.h, bg);
    }
    // Text: a dark (or white, on a button) bar, 6 points per character.
    let text = if n.kind.is_text_entry() { n.value.clone().unwrap_or_default() } else { n.label.clone() };
    if !text.is_empty()
        && !matches!(n.kind, Kind::Application | Kind::Window | Kind::NavigationBar | Kind::Table | Kind::Alert)
    {
        let ink = if n.kind == Kind::Button { [255, 255, 255] } else { [30, 30, 30] };
        let len = (text.chars().count() as u32 * 6).min(r.w.saturating_sub(8));
        c.fill(r.x + 4, r.y + r.h / 2 - 3, len, 6, ink);
    }
    for child in &n.children {
        draw(c, child);
    }
}

/// The screen `root` (of `size` points) as PNG bytes.
pub fn png(root: &Node, size: (u32, u32)) -> Vec<u8> {
    let (w, h) = (size.0 / SCALE, size.1 / SCALE);
    let mut c = Canvas { w, h, px: vec![255; (w * h * 3) as usize] };
    // The status bar.
    c.fill(0, 0, size.0, 20, [0, 0, 0]);
    draw(&mut c, root);
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("PNG header into memory");
        writer.write_image_data(&c.px).expect("PNG data into memory");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Rect;

    #[test]
    fn a_screen_is_a_png_that_decodes_to_half_its_size_with_the_success_message_green() {
        let root = Node::new(Kind::Application, "app", "")
            .at(Rect { x: 0, y: 0, w: 375, h: 667 })
            .with(vec![Node::new(Kind::StaticText, "modify-success", "ok").at(Rect { x: 8, y: 100, w: 200, h: 28 })]);
        let bytes = png(&root, (375, 667));
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (187, 333));
        let at = |x: u32, y: u32| &buf[((y * info.width + x) * 3) as usize..][..3];
        assert_eq!(at(100, 51), [52, 199, 89], "the success message is drawn green at its place");
        assert_eq!(at(100, 5), [0, 0, 0], "status bar");
    }
}
