//! Build-time provenance: the git commit resetlab is built from, so that every report.json and
//! junit.xml names the exact code that certified (issue 19). `RESETLAB_GIT_COMMIT` in the build
//! environment wins (a build from a source tarball or a CI that checks out without .git); outside a
//! git checkout, with no git, the commit is simply unknown — never a build failure.

use std::path::Path;
use std::process::Command;

/// The package directory, as cargo gives it to this run of the script. Read at run time, not with
/// `env!` at compile time: a build script compiled once (a target directory copied or shared
/// between checkouts) would otherwise ask git about the checkout it was first compiled in.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| ".".into(), Into::into)
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(manifest_dir()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=RESETLAB_GIT_COMMIT");
    let commit =
        std::env::var("RESETLAB_GIT_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| git(&["rev-parse", "HEAD"]));
    if let Some(c) = &commit {
        println!("cargo:rustc-env=RESETLAB_GIT_COMMIT={c}");
    }
    // Rebuild when HEAD moves: the worktree's HEAD, the branch it points at, and packed refs.
    if let (Some(dir), Some(common)) =
        (git(&["rev-parse", "--absolute-git-dir"]), git(&["rev-parse", "--git-common-dir"]))
    {
        let common =
            if Path::new(&common).is_absolute() { Path::new(&common).to_owned() } else { manifest_dir().join(common) };
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={}", common.join("packed-refs").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", common.join(branch).display());
        }
    }
}
