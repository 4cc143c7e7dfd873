//! Profiles: what a recorder firmware claims (`fixtures/firmware/*.yaml`) and the YAML loader every
//! fixture and bench file goes through, whose errors name the file, the line and the key.
//!
//! A profile describes a firmware; it never changes what "pass" means for the article's requirements.
//! The suite checks that the device behaves as its profile claims.

pub mod firmware;
pub mod yaml;

#[cfg(test)]
mod malformed_tests;

pub use firmware::{
    Account, Charset, FirmwareProfile, Flash, Group, Identity, Interface, Lockout, PasswordRule, Rights,
};
pub use yaml::{load_yaml, parse_yaml, FixtureError};

/// Directory of the repository's fixtures, for tests and the embedded lab.
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The conforming 2017 firmware profile shipped in the binary, so `resetlab` runs from any directory.
pub const FLIR_2017_YAML: &str = include_str!("../../../fixtures/firmware/flir-2017.yaml");

/// The embedded conforming profile, parsed.
pub fn flir_2017() -> FirmwareProfile {
    FirmwareProfile::parse("fixtures/firmware/flir-2017.yaml (embedded)", FLIR_2017_YAML)
        .expect("the embedded flir-2017 profile is valid (checked by a unit test)")
}
