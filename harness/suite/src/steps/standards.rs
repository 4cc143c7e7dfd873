//! Optional requirement profiles: OWASP ASVS (current password required, sessions end) and the CVE
//! regressions of this device family (client-type login bypass, pass-the-hash with a leaked hash),
//! and how long a lock lasts (ETSI brute force).

use std::time::Instant;

use cucumber::{given, then, when};

use resetlab_device::{Credentials, Interface, LoginOutcome};

use super::generate_password;
use crate::blame::{Blame, Failure, fail};
use crate::world::{ChangeAttempt, LabWorld, NotChanged};

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
    let result = dut.change_password_giving(&admin, &admin.user, &new, &wrong).await.map_err(NotChanged::Device);
    let outcome = result.as_ref().map_or_else(|e| e.to_string(), |()| "OK".to_owned());
    dut.note(None, "the administrator changes the password giving a wrong current password", outcome);
    w.change = Some(ChangeAttempt { by: admin.user.clone(), account: admin.user, old: admin.password, new, result });
}

#[given("the administrator has a session open on the recorder")]
async fn admin_has_session(w: &mut LabWorld) {
    let dut = w.dut();
    let admin = dut.admin();
    let session = dut.open_session(&admin).await;
    w.session = Some(session);
}

#[then("the session opened before the change is no longer accepted")]
async fn earlier_session_ended(w: &mut LabWorld) {
    let Some(session) = w.session.take() else { fail(Blame::Harness, "no session was opened earlier") };
    if w.dut().session_still_accepted(&session).await {
        w.check_failed(Failure::new(
            Blame::Device,
            None,
            "the session opened before the password change is still accepted",
        ));
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

#[given("the stored hash of the administrator's password has leaked")]
async fn stored_hash_leaked(w: &mut LabWorld) {
    let dut = w.dut();
    let admin = dut.admin();
    // What this family's published account-database download reveals (the device crate computes
    // it from the password the harness knows, as the recorder stores it).
    let hash = dut.stored_hash(&admin).await;
    w.leaked_hash = Some((admin.user, hash));
}

#[then("a login computed from the leaked hash is refused")]
async fn leaked_hash_refused(w: &mut LabWorld) {
    let Some((user, leaked)) = w.leaked_hash.clone() else { fail(Blame::Harness, "no hash leaked earlier") };
    let dut = w.dut();
    // Control: the same login shape from the hash the recorder holds now must get in (a recorder
    // cannot tell it from a login with the password), or a refusal of the leaked one proves nothing.
    let current = dut.admin();
    let current_hash = dut.stored_hash(&current).await;
    let control = dut.login_rpc2_with_stored_hash(&user, &current_hash, "the current stored hash (control)").await;
    let leaked_outcome = dut.login_rpc2_with_stored_hash(&user, &leaked, "the hash leaked before the change").await;
    match leaked_outcome {
        LoginOutcome::Accepted => w.check_failed(Failure::violating(
            &["CVE-HASH-AS-PASSWORD"],
            "a login computed from the stored hash leaked before the password change still logs in over RPC2 after it (pass-the-hash)",
        )),
        LoginOutcome::Refused if control != LoginOutcome::Accepted => w.not_established(
            &["CVE-HASH-AS-PASSWORD"],
            format!(
                "a login computed from the current stored hash was not accepted either ({control:?}): \
                 the refusal of the leaked one cannot be told from a login this client cannot make"
            ),
        ),
        LoginOutcome::Refused => {}
        LoginOutcome::Locked { .. } => {
            fail(Blame::Harness, "the account was locked during the pass-the-hash check; the lockout budget should prevent this")
        }
    }
}

fn interface_named(name: &str) -> Interface {
    Interface::ALL.into_iter().find(|i| i.to_string() == name).unwrap_or_else(|| {
        fail(Blame::Harness, format!("unknown interface \"{name}\" (expected HTTP CGI, RPC2, RTSP or ONVIF)"))
    })
}

#[when(regex = r"^someone tries as many wrong passwords as the lockout threshold on (.+)$")]
async fn brute_force(w: &mut LabWorld, interface: String) {
    let interface = interface_named(&interface);
    let dut = w.dut();
    let admin = dut.admin();
    let threshold = dut.profile.lockout.threshold;
    let mut last = None;
    for n in 1..=threshold {
        let mut wrong = generate_password(&dut.profile.password_rule, 6);
        while wrong == admin.password {
            wrong = generate_password(&dut.profile.password_rule, 6);
        }
        let sent = Instant::now();
        let outcome = dut
            .login_deliberately_wrong(
                interface,
                &Credentials::new(&admin.user, wrong),
                &format!("wrong password {n} of {threshold}"),
            )
            .await;
        last = Some((sent, Instant::now()));
        if outcome == LoginOutcome::Accepted {
            fail(Blame::Device, format!("a wrong password logged in on {interface}"));
        }
    }
    w.lock_engaged = last;
}

#[then("the administrator is locked out of every local interface, even with the right password")]
async fn locked_everywhere(w: &mut LabWorld) {
    let sent = w.lock_engaged.map(|(sent, _)| sent);
    let lease = w.lease();
    let lock_ends = sent.map(|t| t + lease.lockout_duration());
    let dut = &mut lease.dut;
    let admin = dut.admin();
    let mut failures = Vec::new();
    let mut too_late = Vec::new();
    for interface in dut.local_interfaces() {
        let outcome = dut.login_while_locked(interface, &admin).await;
        // An answer that came after the lock's stated end says nothing about the lock (a loaded
        // bench can be that slow): not established, never a pass or a fail.
        if outcome == LoginOutcome::Accepted && lock_ends.is_some_and(|end| Instant::now() >= end) {
            too_late.push(interface.to_string());
            continue;
        }
        match outcome {
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
    if !too_late.is_empty() {
        w.not_established(
            &["ETSI-BRUTE-FORCE", "CVE-LOCKOUT-ALL-INTERFACES"],
            format!(
                "the right password was tried on {} only after the lock's stated duration had passed",
                too_late.join(", ")
            ),
        );
    }
}

#[then("once the lock is cleared as the firmware says, the right password logs in again")]
async fn lock_cleared(w: &mut LabWorld) {
    w.clear_lock().await;
    let admin = w.dut().admin();
    super::local::logs_in_everywhere(w, &admin, "the right password after the lock", &[]).await;
}

#[then("shortly before the lock's stated duration has passed, the right password is still refused")]
async fn lock_holds_until_shortly_before_its_end(w: &mut LabWorld) {
    let (sent, _) = w.lock_engaged.unwrap_or_else(|| fail(Blame::Harness, "no lock was caused earlier"));
    let lease = w.lease();
    let (duration, margin) = (lease.lockout_duration(), lease.lockout_margin());
    let stated_s = lease.dut.profile.lockout.duration_s;
    // The lock began no earlier than the last wrong password was sent, so it must hold until
    // `sent + duration`: an answer that comes before then and lets the right password in shows
    // the lock ended early.
    let (at, end) = (sent + duration.saturating_sub(margin), sent + duration);
    tokio::time::sleep_until(at.into()).await;
    let admin = lease.dut.admin();
    let outcome = lease.dut.login_while_locked(Interface::Http, &admin).await;
    let answered = Instant::now();
    let after_ms = (answered - sent).as_millis();
    lease.dut.note(
        Some(Interface::Http),
        "the right password shortly before the lock must end",
        format!(
            "{outcome:?}, answered {after_ms} ms after the last wrong password was sent (lock {} ms, checked {} ms before its end)",
            duration.as_millis(),
            margin.as_millis()
        ),
    );
    match outcome {
        LoginOutcome::Accepted if answered < end => w.check_failed(Failure::violating(
            &["ETSI-BRUTE-FORCE"],
            format!(
                "the lock had ended {after_ms} ms after the last wrong password at the latest; the firmware states {stated_s} s \
                 ({} ms here)",
                duration.as_millis()
            ),
        )),
        LoginOutcome::Accepted => w.not_established(
            &["ETSI-BRUTE-FORCE"],
            format!(
                "the check before the end of the lock was answered only after {after_ms} ms, when the {} ms lock may have ended",
                duration.as_millis()
            ),
        ),
        LoginOutcome::Refused | LoginOutcome::Locked { .. } => {}
    }
}

#[then("once the stated duration has passed, the right password logs in again without a power cycle")]
async fn lock_ends_by_itself(w: &mut LabWorld) {
    let (_, answered) = w.lock_engaged.unwrap_or_else(|| fail(Blame::Harness, "no lock was caused earlier"));
    let lease = w.lease();
    let (duration, margin) = (lease.lockout_duration(), lease.lockout_margin());
    let stated_s = lease.dut.profile.lockout.duration_s;
    // The lock began by the time the last wrong password's answer came: it must be over by
    // `answered + duration`. The end is a time the firmware promises; polling for it would send
    // more logins to a locked account.
    tokio::time::sleep_until((answered + duration + margin).into()).await;
    let admin = lease.dut.admin();
    let outcome = lease.dut.login_while_locked(Interface::Http, &admin).await;
    if outcome != LoginOutcome::Accepted {
        let after_ms = answered.elapsed().as_millis();
        w.check_failed(Failure::violating(
            &["ETSI-BRUTE-FORCE"],
            format!(
                "the lock still holds {after_ms} ms after it began ({outcome:?}); the firmware states {stated_s} s ({} ms here)",
                duration.as_millis()
            ),
        ));
        return;
    }
    w.dut().lock_cleared();
    let admin = w.dut().admin();
    super::local::logs_in_everywhere(w, &admin, "the right password after the lock ended", &[]).await;
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
