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
    Account, Charset, FirmwareProfile, Flash, Group, Identity, Interface, Lockout, PasswordRule, Rights, Video,
    VideoStream,
};
pub use yaml::{FixtureError, load_yaml, locate, parse_yaml};

/// Directory of the repository's fixtures, for tests and the embedded lab.
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The conforming 2017 firmware profile shipped in the binary, so `resetlab` runs from any directory.
pub const FLIR_2017_YAML: &str = include_str!("../../../fixtures/firmware/flir-2017.yaml");

/// flir-2017 as a `resetlab emulate` process keeps it at its default 300 ms boot (the lock lasts
/// 2.25 s): what a bench file for such a process names.
pub const FLIR_2017_EMULATE_YAML: &str = include_str!("../../../fixtures/firmware/flir-2017-emulate.yaml");

/// The embedded conforming profile, parsed.
pub fn flir_2017() -> FirmwareProfile {
    FirmwareProfile::parse("fixtures/firmware/flir-2017.yaml (embedded)", FLIR_2017_YAML)
        .expect("the embedded flir-2017 profile is valid (checked by a unit test)")
}

/// The one firmware-profile resolver: `explicit` (a `--firmware`/`--profile` option) wins, then the
/// profile a bench file names (`named`), then the embedded flir-2017. A bench file that names
/// `fixtures/firmware/flir-2017.yaml` by a path that does not exist from the working directory
/// (rigs/emulator.yaml run from elsewhere) gets the embedded copy of that same file; any other
/// missing file is an error that names it.
pub fn resolve(
    explicit: Option<&std::path::Path>,
    named: Option<&std::path::Path>,
) -> Result<FirmwareProfile, FixtureError> {
    if let Some(file) = explicit {
        return FirmwareProfile::load(file);
    }
    match named {
        None => Ok(flir_2017()),
        Some(file) => match FirmwareProfile::load(file) {
            Err(FixtureError::Read { .. }) if file.ends_with("firmware/flir-2017.yaml") => Ok(flir_2017()),
            other => other,
        },
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    #[test]
    fn the_emulate_pace_profile_differs_only_in_its_lock_time() {
        let paced = FirmwareProfile::parse("flir-2017-emulate.yaml", FLIR_2017_EMULATE_YAML).unwrap();
        let real = flir_2017();
        // The emulator's pace at its default boot: 300 ms for the profile's 40 s.
        let factor = 300.0 / real.boot.time_ms as f64;
        let scaled = real.lockout.duration().mul_f64(factor);
        assert!(paced.lockout.duration().abs_diff(scaled) < std::time::Duration::from_millis(1), "{scaled:?}");
        fn body(t: &str) -> Vec<&str> {
            t.lines().skip_while(|l| !l.starts_with("name:")).filter(|l| !l.contains("duration_s")).collect()
        }
        assert_eq!(body(FLIR_2017_EMULATE_YAML), body(FLIR_2017_YAML));
    }

    #[test]
    fn explicit_wins_then_named_then_embedded() {
        let named = fixtures_dir().join("firmware/flir-2017.yaml");
        assert_eq!(resolve(None, None).unwrap().name, "flir-2017");
        assert_eq!(resolve(None, Some(&named)).unwrap().name, "flir-2017");
        let missing = std::path::Path::new("/nonexistent/firmware/flir-2017.yaml");
        assert_eq!(resolve(None, Some(missing)).unwrap().name, "flir-2017", "the embedded copy of the same file");
        let other = std::path::Path::new("/nonexistent/other.yaml");
        assert!(resolve(None, Some(other)).is_err(), "a missing profile that is not embedded is an error");
        assert!(resolve(Some(other), Some(&named)).is_err(), "an explicit profile is never replaced");
    }
}
