//! Optional requirement profiles: OWASP ASVS (current password required, sessions end) and the CVE
//! regressions of this device family (client-type login bypass, hash accepted as password).

use cucumber::{given, then, when};

use resetlab_device::{Credentials, ErrorKind, LoginOutcome, Rpc2Session};
use resetlab_wire::Secret;

use super::generate_password;
use crate::blame::{Blame, Failure, fail};
use crate::world::{ChangeAttempt, LabWorld};

#[when("the administrator changes the password to a new 6-character password giving a wrong current password")]
async fn change_with_wrong_current_password(w: &mut LabWorld) {
    let dut = w.dut();
    let admin = dut.admin();
    let rule = dut.profile.password_rule.clone();
    let new = generate_password(&rule, rule.max_len);
    let mut wrong = generate_password(&rule, rule.max_len);
    while wrong == admin.password {
        wrong = generate_password(&rule, rule.max_len);
    }
    let result = dut.change_password_giving(&admin, &admin.user, &new, &wrong).await;
    let outcome = result.as_ref().map_or_else(|e| e.to_string(), |()| "OK".to_owned());
    dut.note(None, "the administrator changes the password giving a wrong current password", outcome);
    w.change = Some(ChangeAttempt { by: admin.user.clone(), account: admin.user, old: admin.password, new, result });
}

#[given("the administrator has a session open on the recorder")]
async fn admin_has_session(w: &mut LabWorld) {
    let dut = w.dut();
    let admin = dut.admin();
    match Rpc2Session::login(&dut.target, &admin).await {
        Ok(s) => {
            dut.note(Some(resetlab_device::Interface::Rpc2), "open a session as the administrator", "session granted");
            w.session = Some(s);
        }
        Err(e) => dut.fail_on(e),
    }
}

#[then("the session opened before the change is no longer accepted")]
async fn earlier_session_ended(w: &mut LabWorld) {
    let Some(session) = w.session.take() else { fail(Blame::Harness, "no session was opened earlier") };
    let result = session.keep_alive().await;
    let dut = w.dut();
    let outcome = result.as_ref().map_or_else(|e| e.to_string(), |()| "keep-alive accepted".to_owned());
    dut.note(Some(resetlab_device::Interface::Rpc2), "keep the earlier session alive", outcome);
    match result {
        Ok(()) => w.check_failed(Failure::new(
            Blame::Device,
            None,
            "the session opened before the password change is still accepted",
        )),
        Err(e) if matches!(e.kind, ErrorKind::Refused { .. } | ErrorKind::Unauthorized) => {}
        Err(e) => fail(Blame::of_error(&e), format!("no clear answer about the earlier session: {e}")),
    }
}

#[when(expr = "someone logs in as the administrator from a {string} client of type {string} with a wrong password")]
async fn login_with_client_type(w: &mut LabWorld, client: String, login: String) {
    let dut = w.dut();
    let admin = dut.admin();
    let mut wrong = generate_password(&dut.profile.password_rule, 6);
    while wrong == admin.password {
        wrong = generate_password(&dut.profile.password_rule, 6);
    }
    let creds = Credentials::new(admin.user, wrong);
    let outcome = dut.login_rpc2_as(&creds, &client, &login, "a wrong password").await;
    w.last_login = Some(outcome);
}

#[then("that login is refused")]
async fn that_login_is_refused(w: &mut LabWorld) {
    match w.last_login.take() {
        Some(LoginOutcome::Refused) => {}
        Some(LoginOutcome::Accepted) => w.check_failed(Failure::new(
            Blame::Device,
            None,
            "the recorder let the login in without the right password",
        )),
        Some(other) => fail(
            Blame::Harness,
            format!("the login was not refused but {other:?}; the lockout budget should prevent locks"),
        ),
        None => fail(Blame::Harness, "no login was attempted"),
    }
}

#[when("someone tries the stored hash of the administrator's password as the password")]
async fn try_stored_hash(w: &mut LabWorld) {
    let dut = w.dut();
    let admin = dut.admin();
    // Dahua-family firmware stores UPPER(MD5(user:realm:password)); realm is "Login to <serial>".
    let serial = dut.identity.clone();
    let hash =
        resetlab_wire::digest::ha1(&admin.user, &format!("Login to {serial}"), admin.password.expose()).to_uppercase();
    w.hash_attempt = Some(Credentials::new(admin.user, Secret::new(hash)));
}

#[then("the stored hash logs in on none of the local interfaces")]
async fn stored_hash_refused(w: &mut LabWorld) {
    let Some(creds) = w.hash_attempt.clone() else { fail(Blame::Harness, "no hash was computed") };
    super::local::logs_in_nowhere(w, &creds, "the stored hash of the password", &[]).await;
}

fn interface_named(name: &str) -> resetlab_device::Interface {
    resetlab_device::Interface::ALL.into_iter().find(|i| i.to_string() == name).unwrap_or_else(|| {
        fail(Blame::Harness, format!("unknown interface \"{name}\" (expected HTTP CGI, RPC2, RTSP or ONVIF)"))
    })
}

#[when(regex = r"^someone tries as many wrong passwords as the lockout threshold on (.+)$")]
async fn brute_force(w: &mut LabWorld, interface: String) {
    let interface = interface_named(&interface);
    let dut = w.dut();
    let admin = dut.admin();
    let threshold = dut.profile.lockout.threshold;
    for n in 1..=threshold {
        let mut wrong = generate_password(&dut.profile.password_rule, 6);
        while wrong == admin.password {
            wrong = generate_password(&dut.profile.password_rule, 6);
        }
        let outcome = dut
            .login_deliberately_wrong(
                interface,
                &Credentials::new(&admin.user, wrong),
                &format!("wrong password {n} of {threshold}"),
            )
            .await;
        if outcome == LoginOutcome::Accepted {
            fail(Blame::Device, format!("a wrong password logged in on {interface}"));
        }
    }
}

#[then("the administrator is locked out of every local interface, even with the right password")]
async fn locked_everywhere(w: &mut LabWorld) {
    let dut = w.dut();
    let admin = dut.admin();
    let mut failures = Vec::new();
    for interface in dut.local_interfaces() {
        match dut.login_while_locked(interface, &admin).await {
            LoginOutcome::Accepted => failures.push(Failure::new(
                Blame::Device,
                None,
                format!(
                    "after {} wrong passwords the right password still logs in on {interface}: no lockout there",
                    dut.profile.lockout.threshold
                ),
            )),
            LoginOutcome::Refused | LoginOutcome::Locked { .. } => {}
        }
    }
    for f in failures {
        w.check_failed(f);
    }
}

#[then("once the lock is cleared as the firmware says, the right password logs in again")]
async fn lock_cleared(w: &mut LabWorld) {
    w.clear_lock().await;
    let admin = w.dut().admin();
    super::local::logs_in_everywhere(w, &admin, "the right password after the lock", &[]).await;
}

#[then("the console shows neither the old nor the new password")]
async fn console_shows_no_password(w: &mut LabWorld) {
    let c = w.change();
    let (old, new) = (c.old.clone(), c.new.clone());
    let lease = w.lease();
    let Some(console) = lease.drivers.console() else {
        fail(Blame::Harness, "this rig has no console (the scenario should be not applicable)")
    };
    let lines = console.lines().len();
    let mut failures = Vec::new();
    for (label, secret) in [("old", &old), ("new", &new)] {
        if let Some(n) = console.printed(secret.expose()) {
            failures.push(Failure::new(
                Blame::Device,
                None,
                format!("the console printed the {label} password on line {n} of the capture"),
            ));
        }
    }
    lease.dut.note(
        None,
        "search the console capture for the old and new passwords",
        format!("{} found in {lines} lines", failures.len()),
    );
    for f in failures {
        w.check_failed(f);
    }
}
