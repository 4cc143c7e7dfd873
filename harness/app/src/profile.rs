//! App profiles (fixtures/apps/*.yaml): which platforms offer Modify password and the app's own
//! checks before anything is sent (length, confirmation).

use std::path::Path;

use serde::Deserialize;

use crate::platform::Platform;

/// What one app release does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppProfile {
    /// Profile name (`flir-cloud-2017`).
    pub name: String,
    /// The Modify password screen.
    pub modify_password: ModifyPasswordRule,
}

/// Where Modify password is offered and what the app checks locally.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyPasswordRule {
    /// Platforms whose Settings show Modify password.
    pub platforms: Vec<Platform>,
    /// Exact length the app accepts ("a new 6-character password").
    pub length: usize,
    /// Whether the password must be entered twice and match.
    pub confirm_required: bool,
    /// Whether the app itself refuses a password that is not `length` characters. A faulty
    /// release leaves it to the recorder; resetlab's defect catalogue injects that.
    #[serde(default = "checks_length_by_default")]
    pub checks_length: bool,
    /// Whether the app hides the item from secondary users (the device must refuse them anyway).
    #[serde(default)]
    pub hidden_for_secondary: bool,
    /// A faulty release: it shows success when the recorder could not be reached. No shipped
    /// profile sets it; resetlab's defect catalogue does, to prove ART-PRE-POWER/NET catch it.
    #[serde(default)]
    pub reports_success_when_offline: bool,
}

fn checks_length_by_default() -> bool {
    true
}

impl AppProfile {
    /// Load a profile file (errors name file, line and key).
    pub fn load(file: impl AsRef<Path>) -> Result<AppProfile, resetlab_profile::FixtureError> {
        resetlab_profile::load_yaml(file)
    }

    /// Parse profile text; `file` is used in messages.
    pub fn parse(
        file: impl AsRef<Path>,
        text: &str,
    ) -> Result<AppProfile, resetlab_profile::FixtureError> {
        resetlab_profile::parse_yaml(file, text)
    }

    /// Whether Settings shows Modify password on `platform`.
    pub fn offers_modify_password(&self, platform: Platform) -> bool {
        self.modify_password.platforms.contains(&platform)
    }
}

/// fixtures/apps/flir-cloud-2017.yaml, embedded.
pub const FLIR_CLOUD_2017_YAML: &str = include_str!("../../../fixtures/apps/flir-cloud-2017.yaml");
/// fixtures/apps/flir-cloud-fixed.yaml, embedded.
pub const FLIR_CLOUD_FIXED_YAML: &str =
    include_str!("../../../fixtures/apps/flir-cloud-fixed.yaml");

/// The 2017 app: Modify password on iOS only.
pub fn flir_cloud_2017() -> AppProfile {
    AppProfile::parse(
        "fixtures/apps/flir-cloud-2017.yaml (embedded)",
        FLIR_CLOUD_2017_YAML,
    )
    .expect("embedded app profile is valid (unit test)")
}

/// The fixed app: Modify password on iOS and Android.
pub fn flir_cloud_fixed() -> AppProfile {
    AppProfile::parse(
        "fixtures/apps/flir-cloud-fixed.yaml (embedded)",
        FLIR_CLOUD_FIXED_YAML,
    )
    .expect("embedded app profile is valid (unit test)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ios_offers_modify_password_in_2017_and_both_after_the_fix() {
        let old = flir_cloud_2017();
        assert!(old.offers_modify_password(Platform::Ios));
        assert!(!old.offers_modify_password(Platform::Android));
        let fixed = flir_cloud_fixed();
        assert!(fixed.offers_modify_password(Platform::Android));
        assert_eq!(fixed.modify_password.length, 6);
        assert!(fixed.modify_password.confirm_required);
    }
}
