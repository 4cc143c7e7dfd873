//! The published pass-the-hash attack on this family (CVE-HASH-AS-PASSWORD): a stored hash leaked
//! from the recorder (`UPPER(MD5(user:realm:password))`) answers the RPC2 login challenge in place
//! of the password. On the wire it is an ordinary login, so the recorder cannot refuse the hash it
//! holds now; what a reset must do is make a hash leaked before it worthless. The protocol is the
//! device crate's (`Rpc2Session::login_with_stored_hash`); here it is kept within the lockout budget
//! and put into the evidence like every other login.

use std::time::Instant;

use resetlab_device::{Credentials, Interface, LoginOutcome, Rpc2Session};
use resetlab_wire::Secret;

use super::Dut;

impl Dut {
    /// What a leak of the recorder's account database would reveal for `creds` now: the stored
    /// hash, with the realm the recorder announces. Asks for an RPC2 challenge only (no login).
    pub async fn stored_hash(&mut self, creds: &Credentials) -> Secret {
        match Rpc2Session::stored_hash(&self.target, creds).await {
            Ok(hash) => {
                self.note(Some(Interface::Rpc2), "read the realm from a login challenge", "stored hash computed");
                hash
            }
            Err(e) => self.fail_on(e),
        }
    }

    /// One RPC2 login of `user` computed from `stored` (pass-the-hash), within the lockout budget;
    /// `label` names the hash in the evidence ("the hash leaked before the change").
    pub async fn login_rpc2_with_stored_hash(&mut self, user: &str, stored: &Secret, label: &str) -> LoginOutcome {
        // For the budget this is one more attempt that may be wrong: it is never the believed password.
        let as_creds = Credentials::new(user, stored.clone());
        self.before_attempt(Interface::Rpc2, &as_creds).await;
        let t = Instant::now();
        let outcome = self.rpc2_outcome(Rpc2Session::login_with_stored_hash(&self.target, user, stored).await).await;
        let action = format!("log in as {user} over RPC2 computed from {label} (pass-the-hash)");
        self.after_attempt(Some(Interface::Rpc2), &as_creds, &action, &outcome, t.elapsed());
        outcome
    }
}
