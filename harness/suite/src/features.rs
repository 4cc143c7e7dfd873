//! The feature files, embedded in the binary so that `resetlab certify` runs from any directory, and
//! written next to the report so the record shows exactly which scenarios were run.

use std::path::{Path, PathBuf};

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        /// (file name, Gherkin text) of every feature in `features/`.
        pub const EMBEDDED: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../features/", $name)))),*
        ];
    };
}

embed!(
    "six_characters.feature",
    "secondary_user.feature",
    "standards_asvs.feature",
    "standards_cve.feature",
    "durable.feature",
    "standards_lockout.feature",
    "standards_console.feature",
    "app_modify_password.feature",
    "app_refusals.feature",
    "app_platforms.feature",
    "preconditions.feature",
    "standards_etsi_default.feature",
    "vendor_charset.feature",
);

/// The repository's `features/` directory (for tests and `--features` defaults during development).
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../features")
}

/// Write the embedded features into `dir` and return it.
pub fn materialize(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in EMBEDDED {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feature added to `features/` but not to `embed!` would silently never run from the binary.
    #[test]
    fn every_feature_file_is_embedded() {
        let mut on_disk: Vec<String> = std::fs::read_dir(repo_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".feature"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
