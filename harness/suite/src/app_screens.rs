//! What a driven app's screen showed when a step did not go as asked: the screenshot (PNG) and the
//! page source (XCUITest / UiAutomator2 XML) the `webdriver` driver kept
//! ([`resetlab_app::App::last_failure_artifacts`]), written into the run's report directory so the
//! record's evidence can point at them. A person reading a failed app scenario sees the screen the
//! app was on, not only the harness's account of it.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use resetlab_app::ScreenEvidence;

/// The report directory's folder for app screens (listed in the report's run entries).
pub const DIR: &str = "app-screens";

/// Screens already written in this process (one screen is kept once, however often it is asked).
static KEPT: Mutex<Option<HashSet<u64>>> = Mutex::new(None);

/// Where one kept screen went, relative to the report directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub screenshot: String,
    pub page_source: String,
}

/// Write `screen` of the device `identity` into `out/app-screens/` (0600 files, symlinks refused);
/// `None` when this very screen was already written. The page source goes through the secret
/// redaction like every report file (secure fields already show dots, but a label need not).
pub fn keep(out: &Path, identity: &str, screen: &ScreenEvidence) -> std::io::Result<Option<Kept>> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (identity, &screen.step, &screen.page_source, &screen.screenshot_png).hash(&mut h);
    let id = h.finish();
    {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        if !kept.get_or_insert_with(HashSet::new).insert(id) {
            return Ok(None);
        }
    }
    let dir = out.join(DIR);
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
    }
    let safe: String = identity.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let stem = format!("{safe}-{id:016x}");
    let (png, xml) = (format!("{stem}.png"), format!("{stem}.xml"));
    write_private(&dir.join(&png), &screen.screenshot_png)?;
    write_private(&dir.join(&xml), resetlab_wire::secret::redact(&screen.page_source).as_bytes())?;
    Ok(Some(Kept { screenshot: format!("{DIR}/{png}"), page_source: format!("{DIR}/{xml}") }))
}

/// Create `path` 0600, refusing to follow a symlink planted there.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_is_written_once_as_png_and_xml_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let out = tempfile::tempdir().unwrap();
        let screen = ScreenEvidence {
            step: "tap the check mark".into(),
            screenshot_png: b"\x89PNG\r\n\x1a\n".to_vec(),
            page_source: "<AppiumAUT/>".into(),
        };
        let kept = keep(out.path(), "SN 1", &screen).unwrap().expect("first time: written");
        assert!(kept.screenshot.starts_with("app-screens/SN_1-") && kept.screenshot.ends_with(".png"), "{kept:?}");
        let png = out.path().join(&kept.screenshot);
        assert_eq!(std::fs::read(&png).unwrap(), screen.screenshot_png);
        assert_eq!(std::fs::read_to_string(out.path().join(&kept.page_source)).unwrap(), "<AppiumAUT/>");
        assert_eq!(std::fs::metadata(&png).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(keep(out.path(), "SN 1", &screen).unwrap(), None, "the same screen is not written twice");
    }
}
