//! Injected firmware defects. Each one breaks exactly one behaviour the way real firmware in this
//! family did, so `resetlab selftest` can prove the suite catches it under the requirement it names.
//! The code for a defect sits at the one spot it breaks (grep for its variant name).

use std::fmt;
use std::str::FromStr;

/// A firmware bug the emulated recorder can be built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Defect {
    /// A user-group account may change the administrator's password.
    SecondaryChangesAdmin,
    /// A 5-character password is accepted.
    Accepts5Chars,
    /// A longer password is accepted and silently cut to the rule's maximum length.
    TruncatesLong,
    /// RTSP keeps accepting the previous password after a change.
    RtspStaleCredentials,
    /// Password changes never reach flash: a power cycle brings the old password back.
    ChangeLostOnPowerCycle,
    /// `OK` is sent long before the change reaches flash, later than the profile promises.
    AckBeforeFlash,
    /// RPC2 sessions opened before a password change stay valid after it.
    SessionsSurviveChange,
    /// Wrong passwords never lock the account.
    NoLockout,
    /// Wrong passwords are counted and the lock enforced on HTTP CGI only.
    LockoutHttpOnly,
    /// The firmware prints the new password on the serial console.
    PasswordOnConsole,
    /// The RPC2 login module keeps the stored hash from before a password change beside the new
    /// one (until the next boot): a login computed from a hash leaked before the reset still gets
    /// in (pass-the-hash), and so does the old password over RPC2.
    HashAccepted,
    /// RPC2 `global.login` with a loopback/local client type is granted without a password.
    Rpc2LoopbackBypass,
    /// Remote use (through the P2P tunnel) is allowed with the universal factory default password.
    DefaultPasswordRemote,
    /// The P2P module checks remote logins against the passwords it read at boot: after a change
    /// the old password keeps working remotely (and the new one does not) until the next reboot.
    RemoteKeepsOldPassword,
    /// A password the rule refuses is answered `OK` and not stored: the user believes it changed.
    OkWithoutChange,
    /// `modifyPassword` never compares the current password it is given with the stored one.
    OldPasswordNotChecked,
    /// The ONVIF service keeps its own user list, filled from the factory accounts and changed only
    /// by ONVIF `SetUser`: a change made through the web UI, RPC2 or the app never reaches it, so
    /// the old password still logs in over ONVIF and the new one does not.
    OnvifKeepsOldPassword,
    /// ONVIF `SetUser` stores whatever password it is given: the 6-character rule is checked by the
    /// web UI's handler only.
    OnvifSetuserBypassesRule,
    /// `addUser` answers OK but stores the account without the login right, and the user manager
    /// checks only that the caller is logged in, not its group: the permission bug hides behind
    /// an account that cannot log in.
    AddedUserDisabled,
    /// The password rule's character set is not checked: any character but a control character is
    /// stored (a space, a letter outside ASCII).
    CharsetNotChecked,
    /// A debug dump of the account database (passwords included) is printed on the console at
    /// every boot, once the change is in flash.
    PasswordAtBoot,
    /// RTSP `DESCRIBE` asks for credentials; `SETUP` and `PLAY` never check them.
    RtspPlayUnauthenticated,
    /// The sub-stream (`subtype=1`) still takes the password from before the last change.
    SubstreamStaleCredentials,
    /// The web UI's `modifyPassword` hands the RTSP daemon the new password as it arrived in the
    /// query string, still percent-encoded: RTSP refuses a new password with a symbol a client
    /// must escape (and takes its escaped text) until the next boot.
    RtspPasswordUndecoded,
    /// The lock ends after 80 % of the profile's `lockout.duration_s` (its timer runs fast).
    ShortLockout,
    /// While it works on a password change, the firmware writes the RTSP daemon's credential
    /// file to flash at once, and the account database only when done: a power cut inside that
    /// window (or after the answer, before the commit) leaves RTSP with the new password and
    /// everything else with the old one.
    SplitOnCut,
}

/// A defect name that is not one of [`Defect::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown defect `{given}`; known defects: {known}")]
pub struct UnknownDefect {
    given: String,
    known: String,
}

impl Defect {
    /// Every defect, in the order reports list them.
    pub const ALL: [Defect; 26] = [
        Defect::SecondaryChangesAdmin,
        Defect::Accepts5Chars,
        Defect::TruncatesLong,
        Defect::RtspStaleCredentials,
        Defect::ChangeLostOnPowerCycle,
        Defect::AckBeforeFlash,
        Defect::SessionsSurviveChange,
        Defect::NoLockout,
        Defect::LockoutHttpOnly,
        Defect::PasswordOnConsole,
        Defect::HashAccepted,
        Defect::Rpc2LoopbackBypass,
        Defect::DefaultPasswordRemote,
        Defect::RemoteKeepsOldPassword,
        Defect::OkWithoutChange,
        Defect::OldPasswordNotChecked,
        Defect::OnvifKeepsOldPassword,
        Defect::OnvifSetuserBypassesRule,
        Defect::AddedUserDisabled,
        Defect::CharsetNotChecked,
        Defect::PasswordAtBoot,
        Defect::RtspPlayUnauthenticated,
        Defect::SubstreamStaleCredentials,
        Defect::ShortLockout,
        Defect::RtspPasswordUndecoded,
        Defect::SplitOnCut,
    ];

    /// The kebab-case name used on the command line and in fixtures/defects.
    pub fn name(&self) -> &'static str {
        match self {
            Defect::SecondaryChangesAdmin => "secondary-changes-admin",
            Defect::Accepts5Chars => "accepts-5-chars",
            Defect::TruncatesLong => "truncates-long",
            Defect::RtspStaleCredentials => "rtsp-stale-credentials",
            Defect::ChangeLostOnPowerCycle => "change-lost-on-power-cycle",
            Defect::AckBeforeFlash => "ack-before-flash",
            Defect::SessionsSurviveChange => "sessions-survive-change",
            Defect::NoLockout => "no-lockout",
            Defect::LockoutHttpOnly => "lockout-http-only",
            Defect::PasswordOnConsole => "password-on-console",
            Defect::HashAccepted => "hash-accepted",
            Defect::Rpc2LoopbackBypass => "rpc2-loopback-bypass",
            Defect::DefaultPasswordRemote => "default-password-remote",
            Defect::RemoteKeepsOldPassword => "remote-keeps-old-password",
            Defect::OkWithoutChange => "ok-without-change",
            Defect::OldPasswordNotChecked => "old-password-not-checked",
            Defect::OnvifKeepsOldPassword => "onvif-keeps-old-password",
            Defect::OnvifSetuserBypassesRule => "onvif-setuser-bypasses-rule",
            Defect::AddedUserDisabled => "added-user-disabled",
            Defect::CharsetNotChecked => "charset-not-checked",
            Defect::PasswordAtBoot => "password-at-boot",
            Defect::RtspPlayUnauthenticated => "rtsp-play-unauthenticated",
            Defect::SubstreamStaleCredentials => "substream-stale-credentials",
            Defect::ShortLockout => "short-lockout",
            Defect::RtspPasswordUndecoded => "rtsp-password-undecoded",
            Defect::SplitOnCut => "split-on-cut",
        }
    }

    /// Requirement IDs (DESIGN.md §1) this defect violates; the suite must fail at least one of them.
    pub fn violates(&self) -> &'static [&'static str] {
        match self {
            Defect::SecondaryChangesAdmin => &["ART-SECONDARY", "ART-ADMIN"],
            Defect::Accepts5Chars => &["ART-LEN6"],
            Defect::TruncatesLong => &["ART-LEN6"],
            Defect::RtspStaleCredentials => &["ART-LOCAL", "ETSI-OLD-CREDENTIAL"],
            Defect::ChangeLostOnPowerCycle => &["ART-DURABLE"],
            Defect::AckBeforeFlash => &["ART-DURABLE"],
            Defect::SessionsSurviveChange => &["ASVS-SESSIONS-END"],
            Defect::NoLockout => &["ETSI-BRUTE-FORCE", "CVE-LOCKOUT-ALL-INTERFACES"],
            Defect::LockoutHttpOnly => &["CVE-LOCKOUT-ALL-INTERFACES", "ETSI-BRUTE-FORCE"],
            Defect::PasswordOnConsole => &["ASVS-NO-SECRETS-LOGGED"],
            Defect::HashAccepted => &["CVE-HASH-AS-PASSWORD", "ART-LOCAL", "ETSI-OLD-CREDENTIAL"],
            Defect::Rpc2LoopbackBypass => &["CVE-LOOPBACK-BYPASS"],
            Defect::DefaultPasswordRemote => &["ETSI-DEFAULT-PW"],
            Defect::RemoteKeepsOldPassword => &["ART-REMOTE"],
            Defect::OkWithoutChange => &["ART-LEN6", "VENDOR-CHARSET"],
            Defect::OldPasswordNotChecked => &["ASVS-CURRENT-PW"],
            Defect::OnvifKeepsOldPassword => &["ART-LOCAL"],
            Defect::OnvifSetuserBypassesRule => &["ART-LEN6"],
            Defect::AddedUserDisabled => &["ART-SECONDARY", "ART-ADMIN"],
            Defect::CharsetNotChecked => &["VENDOR-CHARSET"],
            Defect::PasswordAtBoot => &["ASVS-NO-SECRETS-LOGGED"],
            Defect::RtspPlayUnauthenticated => &["ART-LOCAL"],
            Defect::SubstreamStaleCredentials => &["ART-LOCAL"],
            Defect::ShortLockout => &["ETSI-BRUTE-FORCE"],
            Defect::RtspPasswordUndecoded => &["ART-LOCAL"],
            Defect::SplitOnCut => &["ART-LOCAL"],
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Defect {
    type Err = UnknownDefect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Defect::ALL.iter().copied().find(|d| d.name().eq_ignore_ascii_case(wanted)).ok_or_else(|| UnknownDefect {
            given: wanted.to_owned(),
            known: Defect::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// Serialized by its kebab-case name, as fixtures and reports spell it.
impl serde::Serialize for Defect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Defect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The set of defects one recorder was built with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defects(Vec<Defect>);

impl Defects {
    pub(crate) fn new(list: &[Defect]) -> Self {
        Defects(list.to_vec())
    }

    pub(crate) fn has(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIREMENTS: &str = include_str!("../../../fixtures/requirements.yaml");

    #[test]
    fn names_round_trip_and_each_names_requirements() {
        for d in Defect::ALL {
            assert_eq!(d.to_string().parse::<Defect>().unwrap(), d);
            assert!(!d.violates().is_empty(), "{d}");
            for id in d.violates() {
                assert!(REQUIREMENTS.contains(&format!("id: {id}\n")), "{d} names unknown requirement {id}");
            }
        }
        let json = serde_json::to_string(&Defect::HashAccepted).unwrap();
        assert_eq!(json, "\"hash-accepted\"");
        assert_eq!(serde_json::from_str::<Defect>(&json).unwrap(), Defect::HashAccepted);
        let err = "no-such".parse::<Defect>().unwrap_err().to_string();
        assert!(err.contains("no-such") && err.contains("hash-accepted"), "{err}");
    }
}
