//! The device under test as one scenario sees it: where it is, which passwords the harness believes
//! are current, and a lockout budget that keeps the suite from locking an account by accident.
//!
//! Every login the suite makes goes through [`Dut::login`]. The firmware locks an account after
//! `threshold` wrong passwords in a row (across all interfaces), and a successful login resets that
//! count; so before an attempt that may be wrong, once `threshold - 1` wrong attempts are outstanding,
//! the budget first logs in with the known-good password on the same interface.

use std::collections::HashMap;
use std::time::Instant;

use resetlab_device::{try_login, Credentials, DeviceError, Interface, LoginOutcome, Target};
use resetlab_profile::FirmwareProfile;
use resetlab_wire::Secret;

use crate::verdict::{fail, Blame};

/// One line of evidence: what the harness did and what came back, with no secret in it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evidence {
    pub at_ms: u64,
    pub interface: Option<String>,
    pub action: String,
    pub outcome: String,
}

#[derive(Debug)]
pub struct Dut {
    pub target: Target,
    pub profile: FirmwareProfile,
    /// Identity used in the journal and reports (serial number, or host:port before it is known).
    pub identity: String,
    /// Passwords the harness believes each account has now.
    known: HashMap<String, Secret>,
    /// Wrong-password attempts in a row per account, as the firmware would count them.
    wrong_in_a_row: HashMap<String, u32>,
    /// Lockouts the harness would have caused without the budget (must stay 0).
    pub budget_refills: u32,
    started: Instant,
    pub evidence: Vec<Evidence>,
}

impl Dut {
    pub fn new(target: Target, profile: FirmwareProfile, identity: String, admin_password: Secret) -> Self {
        let admin = profile.admin().name.clone();
        Dut {
            target,
            profile,
            identity,
            known: HashMap::from([(admin, admin_password)]),
            wrong_in_a_row: HashMap::new(),
            budget_refills: 0,
            started: Instant::now(),
            evidence: Vec::new(),
        }
    }

    pub fn admin_name(&self) -> String {
        self.profile.admin().name.clone()
    }

    /// The credentials the harness believes are current for `account`.
    pub fn credentials(&self, account: &str) -> Credentials {
        let password = self
            .known
            .get(account)
            .unwrap_or_else(|| fail(Blame::Harness, format!("no known password for account {account}")))
            .clone();
        Credentials { user: account.to_owned(), password }
    }

    pub fn admin(&self) -> Credentials {
        self.credentials(&self.admin_name())
    }

    /// Record that `account` now has `password` (after the device accepted a change).
    pub fn believe(&mut self, account: &str, password: Secret) {
        self.known.insert(account.to_owned(), password);
    }

    /// The local interfaces this firmware has, in a fixed order.
    pub fn local_interfaces(&self) -> Vec<Interface> {
        use resetlab_profile::Interface as P;
        let mut out = Vec::new();
        for (p, i) in [(P::Http, Interface::Http), (P::Rpc2, Interface::Rpc2), (P::Rtsp, Interface::Rtsp)] {
            if self.profile.has(p) {
                out.push(i);
            }
        }
        out
    }

    pub fn note(&mut self, interface: Option<Interface>, action: impl Into<String>, outcome: impl Into<String>) {
        let e = Evidence {
            at_ms: self.started.elapsed().as_millis() as u64,
            interface: interface.map(|i| i.to_string()),
            action: resetlab_wire::secret::redact(&action.into()),
            outcome: resetlab_wire::secret::redact(&outcome.into()),
        };
        tracing::debug!(interface = ?e.interface, action = %e.action, outcome = %e.outcome, "evidence");
        self.evidence.push(e);
    }

    /// One login attempt on `interface`, within the lockout budget. `label` says which password it is
    /// ("the new password") for the evidence, never the password itself.
    pub async fn login(&mut self, interface: Interface, creds: &Credentials, label: &str) -> LoginOutcome {
        let account = creds.user.clone();
        let maybe_wrong = self.known.get(&account) != Some(&creds.password);
        if maybe_wrong {
            self.keep_within_budget(interface, &account).await;
        }
        let t = Instant::now();
        let outcome = self.attempt(interface, creds).await;
        let ms = t.elapsed().as_millis();
        self.note(Some(interface), format!("log in as {account} with {label}"), format!("{outcome:?} ({ms} ms)"));
        match outcome {
            LoginOutcome::Accepted => {
                self.wrong_in_a_row.insert(account, 0);
            }
            LoginOutcome::Refused | LoginOutcome::Locked { .. } => {
                *self.wrong_in_a_row.entry(account).or_default() += 1;
            }
        }
        outcome
    }

    async fn attempt(&mut self, interface: Interface, creds: &Credentials) -> LoginOutcome {
        match try_login(&self.target, interface, creds).await {
            Ok(o) => o,
            Err(e) => self.fail_on(e),
        }
    }

    /// Before a possibly-wrong attempt: if one more failure would reach the lockout threshold, reset
    /// the firmware's count with a known-good login first.
    async fn keep_within_budget(&mut self, interface: Interface, account: &str) {
        let threshold = self.profile.lockout.threshold;
        let wrong = self.wrong_in_a_row.get(account).copied().unwrap_or(0);
        if wrong + 1 < threshold {
            return;
        }
        let good = self.credentials(account);
        self.budget_refills += 1;
        match self.attempt(interface, &good).await {
            LoginOutcome::Accepted => {
                self.wrong_in_a_row.insert(account.to_owned(), 0);
                self.note(Some(interface), format!("log in as {account} with the current password (lockout budget)"), "Accepted");
            }
            other => fail(
                Blame::Device,
                format!(
                    "the current password of {account} was not accepted on {interface} ({other:?}) while keeping \
                     within the lockout budget; the account may have been changed or locked behind the harness's back"
                ),
            ),
        }
    }

    /// A device call that should have worked failed: stop the step, blaming device or rig.
    pub fn fail_on(&self, err: DeviceError) -> ! {
        fail(Blame::of_error(&err), err)
    }
}
