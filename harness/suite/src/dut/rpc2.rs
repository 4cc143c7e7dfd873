//! RPC2 as the optional profiles use it beyond a login: a session held open across a password
//! change (ASVS: other sessions end after it) and logins that claim a special client type (the
//! CVE-2021-33044 class). The protocol is the device crate's (`Rpc2Session`); here each attempt
//! is kept within the lockout budget and put into the evidence, like every other login.

use std::time::Instant;

use resetlab_device::{Credentials, DeviceError, ErrorKind, Interface, LoginOutcome, Rpc2Session};

use super::Dut;
use crate::blame::{Blame, fail};

/// What a refused RPC2 login means for the lockout budget; `None`: no answer about the password.
fn refusal(e: &DeviceError) -> Option<LoginOutcome> {
    match e.kind {
        ErrorKind::Unauthorized => Some(LoginOutcome::Refused),
        ErrorKind::Locked { remaining_s } => Some(LoginOutcome::Locked { remaining_s }),
        _ => None,
    }
}

impl Dut {
    /// Open an RPC2 session as `creds` (the password the harness believes) and keep it, within
    /// the lockout budget; a session not granted stops the step.
    pub async fn open_session(&mut self, creds: &Credentials) -> Rpc2Session {
        self.before_attempt(Interface::Rpc2, creds).await;
        let t = Instant::now();
        let result = Rpc2Session::login(&self.target, creds).await;
        let action = format!("open a session as {}", creds.user);
        match result {
            Ok(session) => {
                self.after_attempt(Some(Interface::Rpc2), creds, &action, &LoginOutcome::Accepted, t.elapsed());
                session
            }
            Err(e) => {
                if let Some(outcome) = refusal(&e) {
                    self.after_attempt(Some(Interface::Rpc2), creds, &action, &outcome, t.elapsed());
                }
                self.fail_on(e)
            }
        }
    }

    /// Whether `session`, opened earlier, is still accepted (one keep-alive). An answer that is
    /// neither accepted nor a refusal stops the step: it says nothing about the session.
    pub async fn session_still_accepted(&mut self, session: &Rpc2Session) -> bool {
        let result = session.keep_alive().await;
        let outcome = result.as_ref().map_or_else(|e| e.to_string(), |()| "keep-alive accepted".to_owned());
        self.note(Some(Interface::Rpc2), "keep the earlier session alive", outcome);
        match result {
            Ok(()) => true,
            Err(e) if matches!(e.kind, ErrorKind::Refused { .. } | ErrorKind::Unauthorized) => false,
            Err(e) => fail(Blame::of_error(&e), format!("no clear answer about the earlier session: {e}")),
        }
    }

    /// An RPC2 login that claims a special client and login type (the CVE-2021-33044 class), within
    /// the lockout budget.
    pub async fn login_rpc2_as(
        &mut self,
        creds: &Credentials,
        client_type: &str,
        login_type: &str,
        label: &str,
    ) -> LoginOutcome {
        self.before_attempt(Interface::Rpc2, creds).await;
        let t = Instant::now();
        let outcome =
            self.rpc2_outcome(Rpc2Session::login_as(&self.target, creds, client_type, login_type).await).await;
        let action = format!("log in as {} from a {client_type} client of type {login_type} with {label}", creds.user);
        self.after_attempt(Some(Interface::Rpc2), creds, &action, &outcome, t.elapsed());
        outcome
    }

    /// What an RPC2 login of a special shape showed: accepted (the session is logged out again),
    /// refused or locked; any other error stops the step.
    pub(super) async fn rpc2_outcome(&self, session: Result<Rpc2Session, DeviceError>) -> LoginOutcome {
        match session {
            Ok(session) => {
                let _ = session.logout().await;
                LoginOutcome::Accepted
            }
            Err(e) => refusal(&e).unwrap_or_else(|| self.fail_on(e)),
        }
    }
}
