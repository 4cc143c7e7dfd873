//! The app profile's screen map: where each thing the article names is on the app's screens, as a
//! WebDriver locator (`"accessibility id: menu"`, `"xpath: //XCUIElementTypeCell[@name='device-{serial}']"`,
//! `"-ios class chain: **/XCUIElementTypeButton[`name == 'check-mark'`]"`). The `webdriver` driver
//! taps and reads through it, and the operator driver can name the same things to a person.
//!
//! ```yaml
//! screens:
//!   default: { menu_button: "accessibility id: menu", device_cell: "accessibility id: device-{serial}", … }
//!   android: { device_cell: "xpath: //android.widget.LinearLayout[@content-desc='device-{serial}']" }
//!   computer: { … }     # the desktop client (remote logins from a computer)
//! ```
//!
//! A locator is looked up in `<platform>-<form>` (`ios-tablet`), then `<form>` (`computer`), then
//! `<platform>` (`android`), then `default`. `{serial}` in a locator is the recorder's serial.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::platform::{FormFactor, Platform};

/// Something on the app's screens the driver taps or reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenKey {
    /// Sign-in: the app account field.
    SignInAccount,
    /// Sign-in: the app account password field.
    SignInPassword,
    /// Sign-in: the button.
    SignInSubmit,
    /// Sign-in: the refusal.
    SignInError,
    /// The menu button in the upper-left corner of the home screen (step 2).
    MenuButton,
    /// Back, upper-left below the top screen.
    Back,
    /// Device Manager in the menu (step 2).
    DeviceManager,
    /// Add a device (home screen).
    AddDevice,
    /// Add device: serial number.
    AddSerial,
    /// Add device: device user.
    AddUser,
    /// Add device: device password.
    AddPassword,
    /// Add device: save.
    AddSave,
    /// Add device: the refusal.
    AddError,
    /// A device's cell in the Device Manager (`{serial}`).
    DeviceCell,
    /// A device cell's online/offline text (`{serial}`).
    DeviceState,
    /// Device screen: live view.
    LiveView,
    /// Device screen: device information.
    DeviceInfo,
    /// Device screen: delete the device.
    DeleteDevice,
    /// Device screen: Settings (step 3).
    Settings,
    /// Settings: device information.
    SettingsDeviceInfo,
    /// Settings: Modify password (step 4).
    ModifyPassword,
    /// Modify password: the new password.
    NewPassword,
    /// Modify password: the confirmation.
    ConfirmPassword,
    /// Modify password: the check mark (step 5).
    CheckMark,
    /// The success message.
    SuccessMessage,
    /// The app's own refusal (length, mismatch) before anything is sent.
    LocalError,
    /// The recorder's refusal, with its reason.
    DeviceError,
    /// "The device is offline".
    OfflineMessage,
    /// No answer: the outcome is unknown.
    UnknownMessage,
    /// The button that dismisses a message.
    DismissMessage,
    /// The live view, opened.
    LiveViewOpen,
    /// Device information, opened.
    DeviceInfoOpen,
    /// A live view or device information refused by the recorder (wrong user or password).
    LoginError,
    /// A live view or device information without an answer.
    NoAnswer,
}

impl fmt::Display for ScreenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The YAML key, for messages that point at the profile.
        let s = format!("{self:?}");
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        f.write_str(&out)
    }
}

/// A WebDriver locator: strategy and value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Locator {
    /// `accessibility id`, `id`, `xpath`, `class name`, `-ios predicate string`, `-ios class chain`,
    /// `-android uiautomator`.
    pub using: String,
    /// The selector.
    pub value: String,
}

const STRATEGIES: &[&str] = &[
    "accessibility id",
    "id",
    "name",
    "xpath",
    "class name",
    "-ios predicate string",
    "-ios class chain",
    "-android uiautomator",
];

impl TryFrom<String> for Locator {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let (using, value) =
            s.split_once(": ").ok_or_else(|| format!("locator {s:?}: expected \"<strategy>: <selector>\""))?;
        if !STRATEGIES.contains(&using) {
            return Err(format!(
                "locator {s:?}: unknown strategy {using:?}, expected one of {}",
                STRATEGIES.join(", ")
            ));
        }
        Ok(Locator { using: using.to_owned(), value: value.to_owned() })
    }
}

impl Locator {
    /// The locator with `{serial}` filled in.
    pub fn for_serial(&self, serial: &str) -> Locator {
        Locator { using: self.using.clone(), value: self.value.replace("{serial}", serial) }
    }
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.using, self.value)
    }
}

/// `screens:` of an app profile: locator tables by platform and form factor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct ScreenMap(pub BTreeMap<String, BTreeMap<ScreenKey, Locator>>);

impl ScreenMap {
    /// The locator of `key` on `platform`/`form` (see the module docs for the lookup order).
    pub fn locator(&self, platform: Platform, form: FormFactor, key: ScreenKey) -> Option<&Locator> {
        [format!("{platform}-{form}"), form.to_string(), platform.to_string(), "default".to_owned()]
            .iter()
            .find_map(|table| self.0.get(table).and_then(|t| t.get(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_tables_override_the_default_and_bad_locators_are_named() {
        let map: ScreenMap = yaml_serde::from_str(
            "default: { menu_button: 'accessibility id: menu', device_cell: 'accessibility id: device-{serial}' }\nandroid: { device_cell: \"xpath: //android.widget.LinearLayout[@content-desc='device-{serial}']\" }\n",
        )
        .unwrap();
        let cell = map.locator(Platform::Android, FormFactor::Phone, ScreenKey::DeviceCell).unwrap().for_serial("SN1");
        assert_eq!(cell.to_string(), "xpath: //android.widget.LinearLayout[@content-desc='device-SN1']");
        assert_eq!(
            map.locator(Platform::Ios, FormFactor::Tablet, ScreenKey::DeviceCell).unwrap().value,
            "device-{serial}"
        );
        assert!(map.locator(Platform::Ios, FormFactor::Phone, ScreenKey::CheckMark).is_none());
        assert_eq!(ScreenKey::CheckMark.to_string(), "check_mark");
        let err = yaml_serde::from_str::<ScreenMap>("default: { menu_button: 'css: #menu' }").unwrap_err().to_string();
        assert!(err.contains("unknown strategy"), "{err}");
        let err = yaml_serde::from_str::<ScreenMap>("default: { menu_buton: 'id: x' }").unwrap_err().to_string();
        assert!(err.contains("menu_buton"), "{err}");
    }
}
