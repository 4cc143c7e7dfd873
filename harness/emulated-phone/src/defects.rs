//! Defects of the emulated FLIR Cloud app: app releases that break the article the way a real app
//! release could. They change what the emulated app *does* (its menu, its Settings, its own checks,
//! what it shows when the recorder is offline, what it saves), so a driver that taps and reads the
//! screen sees them exactly as it would see them on a real phone. `resetlab selftest` holds each to
//! the requirements it names.

use std::fmt;
use std::str::FromStr;

/// One defect of the emulated app (the names are the `--defect` names of the defect catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneDefect {
    /// The app sends the first entry without comparing it with the confirmation.
    ConfirmNotChecked,
    /// The 2017 Android app offers Modify password although the article says it does not work there.
    AndroidOffered2017,
    /// The app shows success when the recorder is offline.
    SuccessWhileOffline,
    /// The app does not check the 6-character rule itself and sends any length to the recorder.
    LengthNotChecked,
    /// After the recorder's OK the saved device entry keeps the old password.
    EntryKeepsOldPassword,
    /// Settings on an iPad shows no Modify password (only the iPhone layout has it).
    IpadNotOffered,
    /// The app menu shows no Device Manager: the article's path is gone.
    MenuWithoutDeviceManager,
}

impl PhoneDefect {
    /// Every defect, in catalogue order.
    pub const ALL: [PhoneDefect; 7] = [
        PhoneDefect::ConfirmNotChecked,
        PhoneDefect::AndroidOffered2017,
        PhoneDefect::SuccessWhileOffline,
        PhoneDefect::LengthNotChecked,
        PhoneDefect::EntryKeepsOldPassword,
        PhoneDefect::IpadNotOffered,
        PhoneDefect::MenuWithoutDeviceManager,
    ];

    /// The catalogue name (`app-confirm-not-checked`).
    pub fn name(self) -> &'static str {
        match self {
            PhoneDefect::ConfirmNotChecked => "app-confirm-not-checked",
            PhoneDefect::AndroidOffered2017 => "app-android-offered-2017",
            PhoneDefect::SuccessWhileOffline => "app-success-while-offline",
            PhoneDefect::LengthNotChecked => "app-length-not-checked",
            PhoneDefect::EntryKeepsOldPassword => "app-entry-keeps-old-password",
            PhoneDefect::IpadNotOffered => "app-ipad-not-offered",
            PhoneDefect::MenuWithoutDeviceManager => "app-menu-without-device-manager",
        }
    }

    /// The requirement IDs this defect violates.
    pub fn violates(self) -> &'static [&'static str] {
        match self {
            PhoneDefect::ConfirmNotChecked => &["ART-CONFIRM"],
            PhoneDefect::AndroidOffered2017 => &["ART-ANDROID"],
            PhoneDefect::SuccessWhileOffline => &["ART-PRE-POWER", "ART-PRE-NET"],
            PhoneDefect::LengthNotChecked => &["ART-LEN6"],
            PhoneDefect::EntryKeepsOldPassword => &["ART-KEEP-DEVICE"],
            PhoneDefect::IpadNotOffered => &["ART-IOS"],
            PhoneDefect::MenuWithoutDeviceManager => &["ART-FLOW"],
        }
    }
}

impl fmt::Display for PhoneDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no app defect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown app defect `{0}`; known app defects: {known}", known = PhoneDefect::ALL.map(PhoneDefect::name).join(", "))]
pub struct UnknownDefect(pub String);

impl FromStr for PhoneDefect {
    type Err = UnknownDefect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        PhoneDefect::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownDefect(wanted.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defect_parses_back_from_its_name_and_violates_something() {
        for d in PhoneDefect::ALL {
            assert_eq!(d.name().parse::<PhoneDefect>(), Ok(d));
            assert!(!d.violates().is_empty(), "{d}");
        }
        let err = "app-nope".parse::<PhoneDefect>().unwrap_err().to_string();
        assert!(err.contains("app-nope") && err.contains("app-ipad-not-offered"), "{err}");
    }
}
