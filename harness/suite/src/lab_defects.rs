//! What `--defect` can inject into the embedded lab: a firmware defect of the emulated recorder, or
//! a defect of the emulated cloud app (an app release that breaks the article the way a real app
//! release could). Each names the requirements it violates, for `resetlab selftest`.

use std::fmt;
use std::str::FromStr;

use resetlab_app::{AppProfile, FormFactor, Platform};
use resetlab_emulator::Defect;

/// A defect of the emulated app, made by the app profile the lab hands to the app model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppDefect {
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

impl AppDefect {
    pub const ALL: [AppDefect; 7] = [
        AppDefect::ConfirmNotChecked,
        AppDefect::AndroidOffered2017,
        AppDefect::SuccessWhileOffline,
        AppDefect::LengthNotChecked,
        AppDefect::EntryKeepsOldPassword,
        AppDefect::IpadNotOffered,
        AppDefect::MenuWithoutDeviceManager,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AppDefect::ConfirmNotChecked => "app-confirm-not-checked",
            AppDefect::AndroidOffered2017 => "app-android-offered-2017",
            AppDefect::SuccessWhileOffline => "app-success-while-offline",
            AppDefect::LengthNotChecked => "app-length-not-checked",
            AppDefect::EntryKeepsOldPassword => "app-entry-keeps-old-password",
            AppDefect::IpadNotOffered => "app-ipad-not-offered",
            AppDefect::MenuWithoutDeviceManager => "app-menu-without-device-manager",
        }
    }

    pub fn violates(self) -> &'static [&'static str] {
        match self {
            AppDefect::ConfirmNotChecked => &["ART-CONFIRM"],
            AppDefect::AndroidOffered2017 => &["ART-ANDROID"],
            AppDefect::SuccessWhileOffline => &["ART-PRE-POWER", "ART-PRE-NET"],
            AppDefect::LengthNotChecked => &["ART-LEN6"],
            AppDefect::EntryKeepsOldPassword => &["ART-KEEP-DEVICE"],
            AppDefect::IpadNotOffered => &["ART-IOS"],
            AppDefect::MenuWithoutDeviceManager => &["ART-FLOW"],
        }
    }

    /// The app profile as this faulty release has it.
    pub fn apply(self, profile: &mut AppProfile) {
        match self {
            AppDefect::ConfirmNotChecked => profile.modify_password.confirm_required = false,
            AppDefect::AndroidOffered2017 => {
                if !profile.modify_password.platforms.contains(&Platform::Android) {
                    profile.modify_password.platforms.push(Platform::Android);
                }
            }
            AppDefect::SuccessWhileOffline => profile.modify_password.reports_success_when_offline = true,
            AppDefect::LengthNotChecked => profile.modify_password.checks_length = false,
            AppDefect::EntryKeepsOldPassword => profile.modify_password.updates_saved_entry = false,
            AppDefect::IpadNotOffered => profile.modify_password.form_factors.retain(|f| *f != FormFactor::Tablet),
            AppDefect::MenuWithoutDeviceManager => profile.device_manager_in_menu = false,
        }
    }
}

/// One injectable defect: the recorder's or the app's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Injected {
    Recorder(Defect),
    App(AppDefect),
}

impl Injected {
    /// Every defect of the catalogue, recorder first.
    pub fn all() -> Vec<Injected> {
        Defect::ALL.iter().copied().map(Injected::Recorder).chain(AppDefect::ALL.iter().copied().map(Injected::App)).collect()
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
