//! The account database: one store that HTTP CGI, RPC2, RTSP and ONVIF all authenticate against, so a
//! change takes effect on every interface at the same moment. The RAM copy is what the firmware
//! uses; flash (see `flash.rs`) holds what survives a power cycle.

use std::collections::HashMap;

use resetlab_profile::firmware::DefaultPasswordPolicy;
use resetlab_profile::{FirmwareProfile, Group};
use resetlab_wire::Secret;

use crate::defects::{Defect, Defects};

/// One account as the firmware stores it.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) group: Group,
    pub(crate) password: Secret,
    pub(crate) sharable: bool,
    pub(crate) reserved: bool,
}

/// Which interface a login arrives on: the lockout and some defects depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Http,
    Rpc2,
    Rtsp,
    /// RTSP for a sub-stream (`subtype=1`): the same accounts, its own encoder task.
    RtspSub,
    Onvif,
}

impl Via {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Via::Http => "http",
            Via::Rpc2 => "rpc2",
            Via::Rtsp => "rtsp",
            Via::RtspSub => "rtsp-sub",
            Via::Onvif => "onvif",
        }
    }
}

/// The accounts in RAM, plus what RAM remembers about recent changes.
#[derive(Debug, Clone)]
pub(crate) struct Accounts {
    list: Vec<Account>,
    /// Password before the last change, per account (only the `rtsp-stale-credentials`,
    /// `substream-stale-credentials` and `hash-accepted` defects look at it: that firmware's RTSP
    /// daemon, its sub-stream task or its RPC2 login module kept its own cached copy).
    previous: HashMap<String, Secret>,
    /// What the RTSP daemon was told a password is, where that differs from the account store
    /// (only the `rtsp-password-undecoded` defect writes it; the daemon reads flash at boot).
    rtsp_copy: HashMap<String, Secret>,
}

/// A per-unit factory password: MD5 of serial and account name, mapped onto the profile's
/// character set, as long as the rule allows up to 8 characters.
fn unit_password(profile: &FirmwareProfile, serial: &str, name: &str) -> Secret {
    let rule = &profile.password_rule;
    let alphabet = rule.charset.alphabet();
    let len = 8.clamp(rule.min_len, rule.max_len);
    let mut out = String::new();
    let mut round = 0u32;
    while out.chars().count() < len {
        let h = resetlab_wire::digest::md5_hex(&format!("{serial}:{name}:{round}"));
        for pair in h.as_bytes().chunks(2) {
            if out.chars().count() == len {
                break;
            }
            let byte = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0);
            out.push(alphabet[usize::from(byte) % alphabet.len()]);
        }
        round += 1;
    }
    Secret::new(out)
}

impl Accounts {
    /// The factory accounts of a profile, as flash holds them on a new unit with this `serial`.
    /// Firmware claiming `unique-per-device` ships each unit with its own password (printed on
    /// the label), derived here from the serial; otherwise the profile's literal password.
    pub(crate) fn factory(profile: &FirmwareProfile, serial: &str) -> Vec<Account> {
        profile
            .accounts
            .iter()
            .map(|a| Account {
                name: a.name.clone(),
                group: a.group,
                password: match profile.default_password {
                    DefaultPasswordPolicy::UniquePerDevice => unit_password(profile, serial, &a.name),
                    _ => a.password.clone(),
                },
                sharable: true,
                reserved: a.group == Group::Admin,
            })
            .collect()
    }

    pub(crate) fn from_flash(list: Vec<Account>) -> Self {
        Accounts { list, previous: HashMap::new(), rtsp_copy: HashMap::new() }
    }

    pub(crate) fn list(&self) -> &[Account] {
        &self.list
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Account> {
        self.list.iter().find(|a| a.name == name)
    }

    /// Every password text that authenticates `name` on `via`: the password itself, and what
    /// defective firmware also let in.
    pub(crate) fn accepted_passwords(&self, name: &str, via: Via, defects: &Defects) -> Option<Vec<String>> {
        let acct = self.get(name)?;
        let mut out = vec![acct.password.expose().to_owned()];
        if matches!(via, Via::Rtsp | Via::RtspSub)
            && let Some(copy) = self.rtsp_copy.get(name)
        {
            out[0] = copy.expose().to_owned();
        }
        let stale = match via {
            Via::Rtsp => defects.has(Defect::RtspStaleCredentials),
            // The sub-stream's encoder task kept the credential it had as well as the new one.
            Via::RtspSub => defects.has(Defect::RtspStaleCredentials) || defects.has(Defect::SubstreamStaleCredentials),
            // The RPC2 login module adds the new stored hash to its table and keeps the one from
            // before the change: a login computed from a hash leaked before a reset still gets in.
            Via::Rpc2 => defects.has(Defect::HashAccepted),
            _ => false,
        };
        if stale && let Some(old) = self.previous.get(name) {
            out.push(old.expose().to_owned());
        }
        Some(out)
    }

    /// The RTSP daemon's idea of `name`'s password, until the next change or boot.
    pub(crate) fn set_rtsp_copy(&mut self, name: &str, password: Secret) {
        self.rtsp_copy.insert(name.to_owned(), password);
    }

    pub(crate) fn set_password(&mut self, name: &str, new: Secret) {
        self.rtsp_copy.remove(name);
        if let Some(a) = self.list.iter_mut().find(|a| a.name == name) {
            let old = std::mem::replace(&mut a.password, new);
            self.previous.insert(name.to_owned(), old);
        }
    }

    pub(crate) fn add(&mut self, account: Account) -> bool {
        if self.get(&account.name).is_some() {
            return false;
        }
        self.list.push(account);
        true
    }

    pub(crate) fn delete(&mut self, name: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|a| a.name != name);
        self.previous.remove(name);
        self.list.len() != before
    }
}
