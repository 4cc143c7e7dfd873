//! The article's devices: iOS or Android, and phone, tablet or computer ("iPhone / iPad users",
//! "remotely using a smartphone, tablet or computer").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The app's operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// iPhone / iPad.
    Ios,
    /// Android phones and tablets.
    Android,
}

/// The kind of device the app (or a remote client) runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormFactor {
    /// A smartphone (iPhone on iOS).
    Phone,
    /// A tablet (iPad on iOS).
    Tablet,
    /// A computer (the remote client software or a browser).
    Computer,
}

impl FormFactor {
    /// Every form factor, for "works from a smartphone, tablet and computer".
    pub const ALL: [FormFactor; 3] = [FormFactor::Phone, FormFactor::Tablet, FormFactor::Computer];

    /// The User-Agent the remote client sends, so the recorder's logs tell the clients apart.
    pub fn user_agent(self) -> &'static str {
        match self {
            FormFactor::Phone => "FLIR Cloud/2.0 (smartphone; resetlab)",
            FormFactor::Tablet => "FLIR Cloud/2.0 (tablet; resetlab)",
            FormFactor::Computer => "FLIR Cloud Client/2.0 (computer; resetlab)",
        }
    }
}

impl Platform {
    /// The article's name for the device: "iPhone", "iPad", "Android phone"...
    pub fn device_name(self, form: FormFactor) -> &'static str {
        match (self, form) {
            (Platform::Ios, FormFactor::Phone) => "iPhone",
            (Platform::Ios, FormFactor::Tablet) => "iPad",
            (Platform::Ios, FormFactor::Computer) => "Mac",
            (Platform::Android, FormFactor::Phone) => "Android phone",
            (Platform::Android, FormFactor::Tablet) => "Android tablet",
            (Platform::Android, FormFactor::Computer) => "Android computer",
        }
    }
}

/// A word that names no platform or form factor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?}: expected one of {expected}")]
pub struct UnknownName {
    what: &'static str,
    got: String,
    expected: &'static str,
}

impl FromStr for Platform {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ios" | "iphone" | "ipad" => Ok(Platform::Ios),
            "android" => Ok(Platform::Android),
            _ => Err(UnknownName { what: "platform", got: s.into(), expected: "ios, android" }),
        }
    }
}

impl FromStr for FormFactor {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "phone" | "smartphone" => Ok(FormFactor::Phone),
            "tablet" => Ok(FormFactor::Tablet),
            "computer" | "pc" => Ok(FormFactor::Computer),
            _ => Err(UnknownName { what: "form factor", got: s.into(), expected: "phone, tablet, computer" }),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
        })
    }
}

impl fmt::Display for FormFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormFactor::Phone => "phone",
            FormFactor::Tablet => "tablet",
            FormFactor::Computer => "computer",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iphone_and_ipad_are_ios_phone_and_tablet() {
        assert_eq!(Platform::Ios.device_name(FormFactor::Phone), "iPhone");
        assert_eq!(Platform::Ios.device_name(FormFactor::Tablet), "iPad");
        assert_eq!("android".parse::<Platform>(), Ok(Platform::Android));
        assert!("windows".parse::<Platform>().is_err());
    }
}
