//! What a WebDriver session runs on, read from its capabilities: the platform (`iOS` through
//! XCUITest, `Android` through UiAutomator2, `mac` — the desktop client — through Mac2), the form
//! factor (iPhone / iPad / Android phone or tablet / computer) and the app release (2017 or the one
//! that ships the Android fix).
//!
//! The release is chosen by the capability `resetlab:release` (`2017`, `fixed`, or the app profile
//! names `flir-cloud-2017`, `flir-cloud-fixed`); without it, by the file name in `appium:app` (a name
//! containing `fixed` is the fixed release); without either, the 2017 release.
//! The form factor comes from `resetlab:formFactor` (`phone`, `tablet`, `computer`) or else from
//! `appium:deviceName` (`iPad…` or `…Tablet…` is a tablet).

use serde_json::{Map, Value};

use crate::w3c::W3cError;

/// The phone's operating system (what XML the page source is shaped like).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// iPhone / iPad: XCUITest element types.
    Ios,
    /// Android: UiAutomator2 classes.
    Android,
    /// The desktop client on a computer (macOS, driven through Appium's Mac2 driver).
    Desktop,
}

/// Phone, tablet or computer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A smartphone.
    Phone,
    /// A tablet.
    Tablet,
    /// A computer (the desktop client).
    Computer,
}

/// Which FLIR Cloud app release is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The release the 2017 article describes: Modify password on iOS only.
    R2017,
    /// A release that ships the Android fix.
    Fixed,
}

impl Release {
    /// The app profile name of this release.
    pub fn name(self) -> &'static str {
        match self {
            Release::R2017 => "flir-cloud-2017",
            Release::Fixed => "flir-cloud-fixed",
        }
    }
}

/// Platform, form factor and release of one session, and the capabilities as matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Operating system.
    pub platform: Platform,
    /// Form factor.
    pub form: Form,
    /// App release.
    pub release: Release,
    /// `appium:deviceName` (or a default).
    pub device_name: String,
    /// The capabilities the session was created with, plus what the phone resolved.
    pub capabilities: Map<String, Value>,
}

impl Device {
    /// Screen size in points (what page source rectangles and screenshots use).
    pub fn screen_size(&self) -> (u32, u32) {
        match (self.platform, self.form) {
            (Platform::Desktop, _) | (_, Form::Computer) => (800, 600),
            (_, Form::Tablet) => (768, 1024),
            (Platform::Android, _) => (360, 640),
            (Platform::Ios, Form::Phone) => (375, 667),
        }
    }

    /// The User-Agent the app sends to the recorder, so the recorder's log tells the clients apart.
    pub fn user_agent(&self) -> String {
        match self.form {
            Form::Computer => "FLIR Cloud Client/2.0 (computer; resetlab-emulated-phone)".into(),
            _ => format!("FLIR Cloud/2.0 ({}; {}; resetlab-emulated-phone)", self.device_name, self.platform_word()),
        }
    }

    fn platform_word(&self) -> &'static str {
        match self.platform {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Desktop => "mac",
        }
    }

    /// Read a W3C New Session body: `capabilities.alwaysMatch` merged with the first
    /// `firstMatch` entry (a legacy `desiredCapabilities` is read when there is nothing else).
    pub fn from_new_session(body: &Value) -> Result<Device, W3cError> {
        let caps = merged_capabilities(body)?;
        let text = |k: &str| caps.get(k).and_then(Value::as_str).map(str::to_owned);
        let platform_name = text("platformName").ok_or_else(|| {
            W3cError::session_not_created("the capability platformName is required (iOS, Android or mac)")
        })?;
        let platform = match platform_name.to_ascii_lowercase().as_str() {
            "ios" => Platform::Ios,
            "android" => Platform::Android,
            "mac" | "macos" | "windows" | "linux" | "desktop" => Platform::Desktop,
            other => {
                return Err(W3cError::session_not_created(format!(
                    "platformName {other:?} is not a platform of this phone: expected iOS, Android or mac"
                )));
            }
        };
        if let Some(auto) = text("appium:automationName") {
            let expected: &[&str] = match platform {
                Platform::Ios => &["xcuitest"],
                Platform::Android => &["uiautomator2"],
                Platform::Desktop => &["mac2"],
            };
            if !expected.contains(&auto.to_ascii_lowercase().as_str()) {
                return Err(W3cError::session_not_created(format!(
                    "appium:automationName {auto:?} does not drive {platform_name}: expected {}",
                    expected.join(" or ")
                )));
            }
        }
        let device_name = text("appium:deviceName").unwrap_or_else(|| {
            match platform {
                Platform::Ios => "iPhone",
                Platform::Android => "Android phone",
                Platform::Desktop => "Mac",
            }
            .to_owned()
        });
        let form = match text("resetlab:formFactor").map(|f| f.to_ascii_lowercase()) {
            Some(f) if f == "phone" || f == "smartphone" => Form::Phone,
            Some(f) if f == "tablet" => Form::Tablet,
            Some(f) if f == "computer" => Form::Computer,
            Some(other) => {
                return Err(W3cError::session_not_created(format!(
                    "resetlab:formFactor {other:?}: expected phone, tablet or computer"
                )));
            }
            None if platform == Platform::Desktop => Form::Computer,
            None => {
                let lower = device_name.to_ascii_lowercase();
                if lower.contains("ipad") || lower.contains("tablet") { Form::Tablet } else { Form::Phone }
            }
        };
        let release = match text("resetlab:release").map(|r| r.to_ascii_lowercase()) {
            Some(r) if r == "2017" || r == "flir-cloud-2017" => Release::R2017,
            Some(r) if r == "fixed" || r == "flir-cloud-fixed" => Release::Fixed,
            Some(other) => {
                return Err(W3cError::session_not_created(format!(
                    "resetlab:release {other:?}: expected 2017 or fixed (flir-cloud-2017, flir-cloud-fixed)"
                )));
            }
            None => match text("appium:app") {
                Some(app) if app.to_ascii_lowercase().contains("fixed") => Release::Fixed,
                _ => Release::R2017,
            },
        };
        let mut capabilities = caps;
        capabilities.insert("platformName".into(), Value::from(platform_name));
        capabilities.insert("appium:deviceName".into(), Value::from(device_name.clone()));
        capabilities.entry("appium:platformVersion").or_insert_with(|| {
            Value::from(match platform {
                Platform::Ios => "10.3",
                Platform::Android => "7.1",
                Platform::Desktop => "10.12",
            })
        });
        capabilities.insert("resetlab:release".into(), Value::from(release.name()));
        capabilities.insert(
            "resetlab:formFactor".into(),
            Value::from(match form {
                Form::Phone => "phone",
                Form::Tablet => "tablet",
                Form::Computer => "computer",
            }),
        );
        Ok(Device { platform, form, release, device_name, capabilities })
    }
}

fn merged_capabilities(body: &Value) -> Result<Map<String, Value>, W3cError> {
    let object = |v: Option<&Value>, what: &str| -> Result<Map<String, Value>, W3cError> {
        match v {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(other) => Err(W3cError::invalid_argument(format!("{what} must be a JSON object, got {other}"))),
        }
    };
    let Some(body) = body.as_object() else {
        return Err(W3cError::invalid_argument("the New Session body must be a JSON object"));
    };
    let mut caps = Map::new();
    if let Some(w3c) = body.get("capabilities") {
        let w3c = object(Some(w3c), "capabilities")?;
        caps = object(w3c.get("alwaysMatch"), "capabilities.alwaysMatch")?;
        match w3c.get("firstMatch") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                if let Some(first) = list.first() {
                    for (k, v) in object(Some(first), "capabilities.firstMatch[0]")? {
                        if caps.contains_key(&k) {
                            return Err(W3cError::invalid_argument(format!(
                                "capability {k} is in both alwaysMatch and firstMatch"
                            )));
                        }
                        caps.insert(k, v);
                    }
                }
            }
            Some(other) => {
                return Err(W3cError::invalid_argument(format!("capabilities.firstMatch must be a list, got {other}")));
            }
        }
    }
    if caps.is_empty() {
        caps = object(body.get("desiredCapabilities"), "desiredCapabilities")?;
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ipad_with_the_fixed_app_is_an_ios_tablet_on_the_fixed_release() {
        let body = json!({"capabilities": {"alwaysMatch": {"platformName": "iOS", "appium:automationName": "XCUITest"},
                                            "firstMatch": [{"appium:deviceName": "iPad Air", "appium:app": "/apps/FLIRCloud-fixed.ipa"}]}});
        let d = Device::from_new_session(&body).unwrap();
        assert_eq!((d.platform, d.form, d.release), (Platform::Ios, Form::Tablet, Release::Fixed));
        assert_eq!(d.capabilities["resetlab:release"], "flir-cloud-fixed");
    }

    #[test]
    fn android_defaults_to_a_phone_with_the_2017_app_and_a_wrong_automation_is_refused() {
        let d =
            Device::from_new_session(&json!({"capabilities": {"alwaysMatch": {"platformName": "Android"}}})).unwrap();
        assert_eq!((d.platform, d.form, d.release), (Platform::Android, Form::Phone, Release::R2017));
        let err = Device::from_new_session(
            &json!({"capabilities": {"alwaysMatch": {"platformName": "iOS", "appium:automationName": "UiAutomator2"}}}),
        )
        .unwrap_err();
        assert_eq!(err.code, "session not created");
        let err = Device::from_new_session(&json!({"capabilities": {"alwaysMatch": {}}})).unwrap_err();
        assert!(err.message.contains("platformName"), "{}", err.message);
    }
}
