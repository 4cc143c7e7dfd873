//! Provenance of a run, so that a certification can be reproduced: which resetlab (version and the
//! git commit it was built from, see build.rs), which scenarios (a SHA-256 of every feature file that
//! ran) and which bench (a SHA-256 of the bench file). It goes into report.json and the JUnit
//! properties.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The git commit resetlab was built from, when the build knew it.
pub const GIT_COMMIT: Option<&str> = option_env!("RESETLAB_GIT_COMMIT");

/// How the embedded lab names its bench file (lab/mod.rs): built into resetlab, not on disk.
const EMBEDDED_BENCH: &str = "rigs/emulator.yaml (embedded)";

/// One file and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file as the run named it.
    pub path: String,
    /// Lower-case hex SHA-256 of its bytes.
    pub sha256: String,
    /// For a feature file: its `Feature:` name (how reports and JUnit name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// For the bench file: it says `tls: { accept_self_signed: true }`, so TLS peers it names (an
    /// `https://` relay) were accepted without a verifiable certificate. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_accept_self_signed: bool,
}

/// What a run was made of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// resetlab's version (Cargo package version).
    pub resetlab_version: String,
    /// The git commit resetlab was built from; `None` when built outside git.
    pub git_commit: Option<String>,
    /// Every feature file that ran, by file name.
    pub features: Vec<FileDigest>,
    /// The bench file (for the embedded lab, the bench file built into resetlab).
    pub bench: Option<FileDigest>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn feature_name(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim_start().strip_prefix("Feature:")).map(|n| n.trim().to_owned())
}

impl Provenance {
    /// Hash the `.feature` files in `features` and the bench file (`None`: the embedded lab's).
    pub fn collect(features: &Path, bench: Option<&Path>) -> Provenance {
        let mut digests: Vec<FileDigest> = std::fs::read_dir(features)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "feature"))
            .filter_map(|p| {
                let bytes = std::fs::read(&p).ok()?;
                Some(FileDigest {
                    path: p.file_name()?.to_string_lossy().into_owned(),
                    sha256: sha256_hex(&bytes),
                    feature: feature_name(&String::from_utf8_lossy(&bytes)),
                    tls_accept_self_signed: false,
                })
            })
            .collect();
        digests.sort_by(|a, b| a.path.cmp(&b.path));
        let embedded = || FileDigest {
            path: EMBEDDED_BENCH.into(),
            sha256: sha256_hex(crate::lab::emulated::EMULATOR_BENCH.as_bytes()),
            feature: None,
            tls_accept_self_signed: false,
        };
        let bench = match bench {
            Some(p) if p == Path::new(EMBEDDED_BENCH) => Some(embedded()),
            Some(p) => std::fs::read(p).ok().map(|bytes| FileDigest {
                path: p.display().to_string(),
                sha256: sha256_hex(&bytes),
                feature: None,
                // As the rig crate read it for the run (a bench that does not parse never ran).
                tls_accept_self_signed: std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| resetlab_rig::Bench::parse(p, text).ok())
                    .is_some_and(|b| b.tls.accept_self_signed),
            }),
            None => Some(embedded()),
        };
        Provenance {
            resetlab_version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: GIT_COMMIT.map(str::to_owned),
            features: digests,
            bench,
        }
    }

    /// The digest of the feature named `name`, if it ran.
    pub fn feature(&self, name: &str) -> Option<&FileDigest> {
        self.features.iter().find(|f| f.feature.as_deref() == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_published_vector() {
        // FIPS 180-2 example: SHA-256("abc").
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn a_bench_that_accepts_self_signed_tls_says_so_in_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let bench = dir.path().join("bench.yaml");
        let base = "rig: x\ndevice: { model: X, address: 127.0.0.1 }\n";
        std::fs::write(&bench, base).unwrap();
        let plain = Provenance::collect(dir.path(), Some(&bench)).bench.unwrap();
        assert!(!plain.tls_accept_self_signed);
        assert!(!serde_json::to_string(&plain).unwrap().contains("tls_accept_self_signed"));
        std::fs::write(&bench, format!("{base}tls: {{ accept_self_signed: true }}\n")).unwrap();
        let accepting = Provenance::collect(dir.path(), Some(&bench)).bench.unwrap();
        assert!(accepting.tls_accept_self_signed);
        assert!(serde_json::to_string(&accepting).unwrap().contains("\"tls_accept_self_signed\":true"));
    }

    #[test]
    fn every_feature_and_the_bench_file_are_hashed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.feature"), "@ART-LEN6\nFeature: Six characters\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a feature").unwrap();
        let bench = dir.path().join("bench.yaml");
        std::fs::write(&bench, "rig: x\n").unwrap();
        let p = Provenance::collect(dir.path(), Some(&bench));
        assert_eq!(p.features.len(), 1);
        assert_eq!(p.feature("Six characters").unwrap().sha256, sha256_hex(b"@ART-LEN6\nFeature: Six characters\n"));
        assert_eq!(p.bench.unwrap().sha256, sha256_hex(b"rig: x\n"));
        assert_eq!(p.resetlab_version, env!("CARGO_PKG_VERSION"));
        let embedded = Provenance::collect(dir.path(), None).bench.unwrap();
        assert!(embedded.path.contains("emulator.yaml"));
    }
}
