//! Flash: the account database as it survives a power cut. Accepted changes reach it only after
//! the profile's commit delay (scaled like the boot time); a power cut inside that window loses the
//! change, exactly as on hardware whose config writer runs on a timer.

use std::sync::Mutex;
use std::time::Duration;

use resetlab_profile::FirmwareProfile;
use resetlab_wire::Secret;

use crate::accounts::Account;

/// One change waiting for (or written to) flash.
#[derive(Debug, Clone)]
pub(crate) enum FlashOp {
    SetPassword { name: String, password: Secret },
    Add(Account),
    Delete(String),
}

/// The persistent copy of the accounts.
#[derive(Debug)]
pub(crate) struct Flash {
    accounts: Mutex<Vec<Account>>,
}

impl Flash {
    pub(crate) fn new(factory: Vec<Account>) -> Self {
        Flash { accounts: Mutex::new(factory) }
    }

    /// What the firmware reads at boot.
    pub(crate) fn load(&self) -> Vec<Account> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Write one change, if `still_powered` holds while the flash is held.
    pub(crate) fn write(&self, op: &FlashOp, still_powered: impl FnOnce() -> bool) -> bool {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if !still_powered() {
            return false;
        }
        match op {
            FlashOp::SetPassword { name, password } => {
                if let Some(a) = accounts.iter_mut().find(|a| &a.name == name) {
                    a.password = password.clone();
                }
            }
            FlashOp::Add(a) => {
                if !accounts.iter().any(|x| x.name == a.name) {
                    accounts.push(a.clone());
                }
            }
            FlashOp::Delete(name) => accounts.retain(|a| &a.name != name),
        }
        true
    }
}

/// The profile's commit delay scaled by the same factor as the boot time (emulated boot /
/// real boot), never below 1 ms so the window stays observable.
pub(crate) fn commit_delay(profile: &FirmwareProfile, boot_time: Duration) -> Duration {
    crate::clock::scaled(profile, boot_time, Duration::from_millis(profile.flash.commit_delay_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_delay_scales_with_boot_time() {
        let p = resetlab_profile::flir_2017();
        assert_eq!(commit_delay(&p, Duration::from_millis(300)), Duration::from_millis(15));
        assert_eq!(commit_delay(&p, Duration::from_millis(40_000)), Duration::from_millis(2000));
    }
}
