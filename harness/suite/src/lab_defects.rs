//! What `--defect` can inject into the embedded lab: a firmware defect of the emulated recorder, or
//! a defect of the emulated cloud app on the emulated phone (an app release that breaks the article
//! the way a real app release could). Each names the requirements it violates, for `resetlab
//! selftest`.

use std::fmt;
use std::str::FromStr;

use resetlab_emulator::Defect;

/// A defect of the emulated app. It lives in the emulated phone's app (what it shows and sends),
/// not in anything the harness reads: the suite sees it only by driving the phone over WebDriver.
pub use resetlab_emulated_phone::PhoneDefect as AppDefect;

/// One injectable defect: the recorder's or the app's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Injected {
    Recorder(Defect),
    App(AppDefect),
}

impl Injected {
    /// Every defect of the catalogue, recorder first.
    pub fn all() -> Vec<Injected> {
        Defect::ALL
            .iter()
            .copied()
            .map(Injected::Recorder)
            .chain(AppDefect::ALL.iter().copied().map(Injected::App))
            .collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            Injected::Recorder(d) => d.name(),
            Injected::App(d) => d.name(),
        }
    }

    pub fn violates(self) -> &'static [&'static str] {
        match self {
            Injected::Recorder(d) => d.violates(),
            Injected::App(d) => d.violates(),
        }
    }
}

impl fmt::Display for Injected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Injected {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Injected::all().into_iter().find(|d| d.name().eq_ignore_ascii_case(wanted)).ok_or_else(|| {
            format!(
                "unknown defect `{wanted}`; known defects: {}",
                Injected::all().iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}
