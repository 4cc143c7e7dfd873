//! App profiles (fixtures/apps/*.yaml): which platforms offer Modify password and the app's own
//! checks before anything is sent (length, confirmation).

use std::path::Path;

use serde::Deserialize;

use crate::platform::{FormFactor, Platform};
use crate::screens::ScreenMap;

/// What one app release does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppProfile {
    /// Profile name (`flir-cloud-2017`).
    pub name: String,
    /// The Modify password screen.
    pub modify_password: ModifyPasswordRule,
    /// Whether the menu in the upper-left corner shows Device Manager (the article's step 2). A
    /// faulty release that moved the devices elsewhere breaks the article's path; no shipped
    /// profile clears it, resetlab's defect catalogue does, to prove ART-FLOW catches it.
    #[serde(default = "yes")]
    pub device_manager_in_menu: bool,
    /// Where the article's steps are on this release's screens, for the `webdriver` driver
    /// (locators per platform and form factor; see [`ScreenMap`]).
    #[serde(default)]
    pub screens: Option<ScreenMap>,
}

/// Where Modify password is offered and what the app checks locally.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyPasswordRule {
    /// Platforms whose Settings show Modify password.
    pub platforms: Vec<Platform>,
    /// Form factors whose Settings show it ("iPhone / iPad users"): phone and tablet unless said.
    #[serde(default = "phone_and_tablet")]
    pub form_factors: Vec<FormFactor>,
    /// Exact length the app accepts ("a new 6-character password").
    pub length: usize,
    /// Whether the password must be entered twice and match.
    pub confirm_required: bool,
    /// Whether the app itself refuses a password that is not `length` characters. A faulty
    /// release leaves it to the recorder; resetlab's defect catalogue injects that.
    #[serde(default = "yes")]
    pub checks_length: bool,
    /// Whether the app hides the item from secondary users (the device must refuse them anyway).
    #[serde(default)]
    pub hidden_for_secondary: bool,
    /// A faulty release: it shows success when the recorder could not be reached. No shipped
    /// profile sets it; resetlab's defect catalogue does, to prove ART-PRE-POWER/NET catch it.
    #[serde(default)]
    pub reports_success_when_offline: bool,
    /// Whether the saved device entry takes the new password after the recorder's OK, so it keeps
    /// connecting without deleting and re-adding the recorder. A faulty release keeps the old one;
    /// resetlab's defect catalogue injects that, to prove ART-KEEP-DEVICE catches it.
    #[serde(default = "yes")]
    pub updates_saved_entry: bool,
}

fn yes() -> bool {
    true
}

fn phone_and_tablet() -> Vec<FormFactor> {
    vec![FormFactor::Phone, FormFactor::Tablet]
}

impl AppProfile {
    /// Load a profile file (errors name file, line and key).
    pub fn load(file: impl AsRef<Path>) -> Result<AppProfile, resetlab_profile::FixtureError> {
        resetlab_profile::load_yaml(file)
    }

    /// Parse profile text; `file` is used in messages.
    pub fn parse(file: impl AsRef<Path>, text: &str) -> Result<AppProfile, resetlab_profile::FixtureError> {
        resetlab_profile::parse_yaml(file, text)
    }

    /// Whether Settings shows Modify password on `platform` running on a `form`.
    pub fn offers_modify_password(&self, platform: Platform, form: FormFactor) -> bool {
        self.modify_password.platforms.contains(&platform) && self.modify_password.form_factors.contains(&form)
    }
}

/// fixtures/apps/flir-cloud-2017.yaml, embedded.
pub const FLIR_CLOUD_2017_YAML: &str = include_str!("../../../fixtures/apps/flir-cloud-2017.yaml");
/// fixtures/apps/flir-cloud-fixed.yaml, embedded.
pub const FLIR_CLOUD_FIXED_YAML: &str = include_str!("../../../fixtures/apps/flir-cloud-fixed.yaml");

/// The 2017 app: Modify password on iOS only.
pub fn flir_cloud_2017() -> AppProfile {
    AppProfile::parse("fixtures/apps/flir-cloud-2017.yaml (embedded)", FLIR_CLOUD_2017_YAML)
        .expect("embedded app profile is valid (unit test)")
}

/// The fixed app: Modify password on iOS and Android.
pub fn flir_cloud_fixed() -> AppProfile {
    AppProfile::parse("fixtures/apps/flir-cloud-fixed.yaml (embedded)", FLIR_CLOUD_FIXED_YAML)
        .expect("embedded app profile is valid (unit test)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ios_offers_modify_password_in_2017_and_both_after_the_fix() {
        let old = flir_cloud_2017();
        assert!(old.offers_modify_password(Platform::Ios, FormFactor::Phone));
        assert!(old.offers_modify_password(Platform::Ios, FormFactor::Tablet));
        assert!(!old.offers_modify_password(Platform::Android, FormFactor::Phone));
        let fixed = flir_cloud_fixed();
        assert!(fixed.offers_modify_password(Platform::Android, FormFactor::Phone));
        assert!(fixed.device_manager_in_menu && fixed.modify_password.updates_saved_entry);
        assert_eq!(fixed.modify_password.length, 6);
        assert!(fixed.modify_password.confirm_required);
    }

    #[test]
    fn shipped_profiles_map_every_screen_the_webdriver_driver_uses() {
        use crate::screens::ScreenKey;
        for p in [flir_cloud_2017(), flir_cloud_fixed()] {
            let map = p.screens.as_ref().expect("a screen map");
            for key in crate::webdriver::USED_KEYS {
                for (platform, form) in [
                    (Platform::Ios, FormFactor::Phone),
                    (Platform::Ios, FormFactor::Tablet),
                    (Platform::Android, FormFactor::Phone),
                    (Platform::Ios, FormFactor::Computer),
                ] {
                    assert!(map.locator(platform, form, *key).is_some(), "{}: no {key} on {platform} {form}", p.name);
                }
            }
            assert!(
                map.locator(Platform::Android, FormFactor::Phone, ScreenKey::DeviceCell)
                    .unwrap()
                    .value
                    .contains("android.widget")
            );
        }
    }
}
