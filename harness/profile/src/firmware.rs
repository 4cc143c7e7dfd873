//! The firmware profile: identity, factory accounts, password rule, rights, lockout, boot and flash
//! behaviour, and which interfaces the firmware has.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::yaml::{FixtureError, parse_yaml};
use resetlab_wire::Secret;

/// What a firmware claims about itself. Field names are the YAML keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareProfile {
    /// Short name shown in reports, e.g. `flir-2017`.
    pub name: String,
    pub identity: Identity,
    /// Accounts at factory state.
    pub accounts: Vec<Account>,
    pub password_rule: PasswordRule,
    pub rights: Rights,
    pub lockout: Lockout,
    pub boot: Boot,
    pub flash: Flash,
    /// Local interfaces the firmware serves.
    pub interfaces: Vec<Interface>,
    /// The live video a user opens over RTSP: which channels, and which of their streams.
    #[serde(default)]
    pub video: Video,
    pub sessions: Sessions,
    /// What the firmware does about its factory default password (ETSI EN 303 645 5.1).
    pub default_password: DefaultPasswordPolicy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub model: String,
    pub device_type: String,
    /// Serial number; emulated recorders append a per-instance suffix so each is distinct.
    pub serial: String,
    pub machine_name: String,
    pub software_version: String,
    pub build_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: String,
    pub group: Group,
    pub password: Secret,
}

/// Account groups as the firmware names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Admin,
    User,
}

impl Group {
    /// The firmware's own spelling (`admin`, `user`).
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Admin => "admin",
            Group::User => "user",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRule {
    pub min_len: usize,
    pub max_len: usize,
    pub charset: Charset,
}

/// Characters a password may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Charset {
    Digits,
    Alphanumeric,
    /// Printable ASCII without space.
    PrintableAscii,
}

impl Charset {
    pub fn allows(self, c: char) -> bool {
        match self {
            Charset::Digits => c.is_ascii_digit(),
            Charset::Alphanumeric => c.is_ascii_alphanumeric(),
            Charset::PrintableAscii => c.is_ascii_graphic(),
        }
    }

    /// All allowed characters, for generating test passwords.
    pub fn alphabet(self) -> Vec<char> {
        (0x21u8..0x7f).map(char::from).filter(|&c| self.allows(c)).collect()
    }
}

impl PasswordRule {
    /// Why `password` breaks the rule, or `None` when it is acceptable.
    pub fn violation(&self, password: &str) -> Option<String> {
        let n = password.chars().count();
        if n < self.min_len || n > self.max_len {
            return Some(format!("length {n}, rule {}..={}", self.min_len, self.max_len));
        }
        password.chars().find(|&c| !self.charset.allows(c)).map(|_| format!("a character outside {:?}", self.charset))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rights {
    /// An admin-group account may change any account's password.
    pub admin_changes_any: bool,
    /// A user-group account may change its own password.
    pub user_changes_own: bool,
    /// The current password must accompany a change.
    pub requires_old_password: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockout {
    /// Wrong passwords in a row that lock the account (on all interfaces together).
    pub threshold: u32,
    /// How long a lock lasts, in seconds (fractions for emulated units that run at a faster pace).
    pub duration_s: f64,
    /// A power cycle clears the lock (RAM-only counter).
    pub cleared_by_power_cycle: bool,
}

impl Lockout {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration_s.max(0.0))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boot {
    /// Power-on to services ready on real hardware.
    pub time_ms: u64,
    /// Console line that means the firmware finished booting.
    pub ready_marker: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flash {
    /// Delay between an accepted change and its write to flash.
    pub commit_delay_ms: u64,
    /// The firmware promises that `OK` means durable (the suite judges the promise).
    pub durable_on_ok: bool,
    /// Text of the console line the firmware prints when a change reached flash, if it prints one:
    /// the report then gives the commit time the device was seen to need.
    #[serde(default)]
    pub commit_marker: Option<String>,
    /// How long the firmware works on a password change before it answers (checks, hashing,
    /// updating its services). ART-DURABLE cuts the power inside this window too. 0: no window.
    #[serde(default)]
    pub change_processing_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sessions {
    pub rpc2_timeout_s: u64,
    pub digest_nonce_lifetime_s: u64,
    /// How far an ONVIF WS-Security UsernameToken's `Created` may be from the recorder's clock
    /// (either way) and how long its nonce is remembered against replay. Default 300 s.
    #[serde(default = "default_onvif_created_window_s")]
    pub onvif_created_window_s: u64,
}

fn default_onvif_created_window_s() -> u64 {
    300
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultPasswordPolicy {
    /// Remote use is refused until the factory default has been changed.
    MustChangeBeforeRemote,
    /// Each unit ships with its own password.
    UniquePerDevice,
    /// Neither (a firmware that claims this fails the ETSI profile).
    None,
}

/// The cameras a recorder serves over RTSP (`/cam/realmonitor?channel=C&subtype=S`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Video {
    /// Channel numbers as the URL has them (1 is the first camera).
    pub channels: Vec<u32>,
    /// The streams each channel offers.
    pub streams: Vec<VideoStream>,
}

/// A profile without `video:` claims what every recorder of the family has: channel 1's main stream.
impl Default for Video {
    fn default() -> Self {
        Video { channels: vec![1], streams: vec![VideoStream::Main] }
    }
}

impl Video {
    /// Every `(channel, subtype)` a user can open, channel by channel, main stream first.
    pub fn all(&self) -> Vec<(u32, u32)> {
        self.channels.iter().flat_map(|&c| self.streams.iter().map(move |s| (c, s.subtype()))).collect()
    }

    /// Whether `channel`'s stream `subtype` exists.
    pub fn has(&self, channel: u32, subtype: u32) -> bool {
        self.channels.contains(&channel) && self.streams.iter().any(|s| s.subtype() == subtype)
    }
}

/// One of a channel's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoStream {
    /// The full-resolution stream, `subtype=0`.
    Main,
    /// The small stream phones open first, `subtype=1`.
    Sub,
}

impl VideoStream {
    /// Dahua's `subtype` number.
    pub fn subtype(self) -> u32 {
        match self {
            VideoStream::Main => 0,
            VideoStream::Sub => 1,
        }
    }
}

/// Interfaces a recorder may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    Http,
    Rpc2,
    Rtsp,
    Console,
    Relay,
    /// ONVIF Device and Media services (SOAP 1.2) on the HTTP port.
    Onvif,
}

impl FirmwareProfile {
    /// Parse and check a profile; `file` names it in errors.
    pub fn parse(file: impl AsRef<Path>, text: &str) -> Result<Self, FixtureError> {
        let file = file.as_ref();
        let p: FirmwareProfile = parse_yaml(file, text)?;
        let bad = |key: &str, msg: &str| Err(FixtureError::semantic(file, text, key, msg));
        if p.password_rule.min_len == 0 || p.password_rule.min_len > p.password_rule.max_len {
            return bad("password_rule.min_len", "must be at least 1 and at most max_len");
        }
        if p.lockout.threshold == 0 {
            return bad("lockout.threshold", "must be at least 1");
        }
        if !(p.lockout.duration_s.is_finite() && p.lockout.duration_s >= 0.0) {
            return bad("lockout.duration_s", "must be a number of seconds, 0 or more");
        }
        if !p.accounts.iter().any(|a| a.group == Group::Admin) {
            return bad("accounts", "needs at least one account in group admin");
        }
        if p.boot.ready_marker.trim().is_empty() {
            return bad("boot.ready_marker", "must not be empty");
        }
        if p.video.channels.is_empty() || p.video.channels.contains(&0) {
            return bad("video.channels", "must list at least one channel, numbered from 1");
        }
        if p.video.streams.is_empty() {
            return bad("video.streams", "must list at least one stream (main, sub)");
        }
        Ok(p)
    }

    /// Read and check a profile file.
    pub fn load(file: impl AsRef<Path>) -> Result<Self, FixtureError> {
        let file = file.as_ref();
        let text =
            std::fs::read_to_string(file).map_err(|source| FixtureError::Read { file: file.to_owned(), source })?;
        Self::parse(file, &text)
    }

    /// The factory administrator account.
    pub fn admin(&self) -> &Account {
        self.accounts.iter().find(|a| a.group == Group::Admin).expect("checked at load")
    }

    pub fn has(&self, interface: Interface) -> bool {
        self.interfaces.contains(&interface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profile_loads() {
        let p = crate::flir_2017();
        assert_eq!(p.admin().name, "admin");
        assert_eq!(p.password_rule.min_len, 6);
        assert_eq!(p.password_rule.max_len, 6);
        assert_eq!(p.lockout.threshold, 5);
    }

    #[test]
    fn unknown_key_is_named_with_file_and_line() {
        let text = crate::FLIR_2017_YAML.replace("threshold: 5", "treshold: 5");
        let err = FirmwareProfile::parse("bad.yaml", &text).unwrap_err().to_string();
        let line = text.lines().position(|l| l.contains("treshold")).unwrap() + 1;
        assert!(err.starts_with(&format!("bad.yaml:{line}:")), "{err}");
        assert!(err.contains("lockout"), "{err}");
        assert!(err.contains("treshold"), "{err}");
    }

    #[test]
    fn wrong_type_is_named_with_key_path() {
        let text = crate::FLIR_2017_YAML.replace("min_len: 6", "min_len: six");
        let err = FirmwareProfile::parse("bad.yaml", &text).unwrap_err().to_string();
        assert!(err.contains("key `password_rule.min_len`"), "{err}");
        let line = text.lines().position(|l| l.contains("min_len: six")).unwrap() + 1;
        assert!(err.starts_with(&format!("bad.yaml:{line}:")), "{err}");
    }

    #[test]
    fn out_of_range_value_is_named() {
        let text = crate::FLIR_2017_YAML.replace("threshold: 5", "threshold: 0");
        let err = FirmwareProfile::parse("bad.yaml", &text).unwrap_err().to_string();
        assert!(err.contains("lockout.threshold"), "{err}");
        assert!(err.contains("at least 1"), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = FirmwareProfile::load("/nonexistent/profile.yaml").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/profile.yaml"), "{err}");
    }

    #[test]
    fn shipped_profile_lists_main_and_sub_stream_and_older_profiles_default_to_main() {
        let p = crate::flir_2017();
        assert_eq!(p.video.all(), vec![(1, 0), (1, 1)]);
        assert!(p.video.has(1, 1) && !p.video.has(2, 0));
        let start = crate::FLIR_2017_YAML.find("video:").unwrap();
        let end = start + crate::FLIR_2017_YAML[start..].find("sessions:").unwrap();
        let older = format!("{}{}", &crate::FLIR_2017_YAML[..start], &crate::FLIR_2017_YAML[end..]);
        assert_eq!(FirmwareProfile::parse("old.yaml", &older).unwrap().video.all(), vec![(1, 0)]);
        let none = crate::FLIR_2017_YAML.replace("streams: [main, sub]", "streams: []");
        let err = FirmwareProfile::parse("bad.yaml", &none).unwrap_err().to_string();
        assert!(err.contains("video.streams"), "{err}");
    }

    #[test]
    fn password_rule_counts_characters_and_checks_charset() {
        let rule = crate::flir_2017().password_rule;
        assert_eq!(rule.violation("abc123"), None);
        assert!(rule.violation("abc12").is_some());
        assert!(rule.violation("abc1234").is_some());
        assert_eq!(rule.violation("abc12!"), None, "symbols are allowed");
        assert!(rule.violation("abc 12").is_some(), "a space is not");
        assert!(rule.violation("abc12é").is_some(), "nor is anything outside ASCII");
    }
}
