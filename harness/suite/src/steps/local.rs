//! The recorder's own user manager: the administrator (or a secondary user) changes the password on
//! the device directly, and every local interface is checked afterwards.

use cucumber::{given, then, when};
use resetlab_device::{Credentials, Interface, LoginOutcome};
use resetlab_profile::Group;
use resetlab_wire::Secret;

use super::generate_password;
use crate::blame::{Blame, Failure, fail, fail_check};
use crate::world::{ChangeAttempt, LabWorld, NotChanged};

#[given("the recorder is powered on and connected to the network")]
async fn recorder_is_up(w: &mut LabWorld) {
    let dut = w.dut();
    match dut.machine_name().await {
        Ok(name) => dut.note(Some(Interface::Http), "the recorder's machine name", format!("name={name}")),
        Err(e) => dut.fail_on(e),
    }
}

#[given("the administrator has added a secondary user")]
async fn admin_adds_secondary_user(w: &mut LabWorld) {
    let dut = w.dut();
    let rule = dut.profile.password_rule.clone();
    let name = format!("qa{}", rand::random_range(1000..9999));
    let password = generate_password(&rule, rule.max_len);
    if let Err(e) = dut.add_account(&name, &password, Group::User).await {
        dut.fail_on(e);
    }
    dut.note(Some(Interface::Http), format!("add secondary user {name} in group user"), "OK");
    // Positive control: the account must log in and do what a user may do, or a refusal of its
    // change (a 401) could not be told from an account that cannot log in at all.
    let creds = Credentials { user: name.clone(), password };
    let outcome = dut.login(Interface::Http, &creds, "its own password").await;
    if outcome != LoginOutcome::Accepted {
        fail_check(
            &["ART-SECONDARY", "ART-ADMIN"],
            format!(
                "the recorder answered OK to adding the secondary user {name}, but the account does not log in with its own password ({outcome:?}): \
                 a refusal of its requests would prove nothing about what a secondary user may do"
            ),
        );
    }
    w.secondary = Some(creds);
}

#[when(expr = "the administrator changes the password to a new {int}-character password on the recorder")]
async fn admin_changes_password(w: &mut LabWorld, len: usize) {
    let admin = w.dut().admin();
    change_admin_password(w, admin, len).await;
}

#[when(expr = "the administrator changes the password to a new {int}-character password over ONVIF")]
async fn admin_changes_password_over_onvif(w: &mut LabWorld, len: usize) {
    let by = w.dut().admin();
    let dut = w.dut();
    let account = dut.admin_name();
    let old = dut.credentials(&account).password;
    let new = generate_password(&dut.profile.password_rule, len);
    let result = dut.change_password_over_onvif(&by, &account, &new).await.map_err(NotChanged::Device);
    let outcome = result.as_ref().map_or_else(|e| e.to_string(), |()| "OK".to_owned());
    dut.note(
        Some(Interface::Onvif),
        format!("{} changes the password of {account} to a new {len}-character password with SetUser", by.user),
        outcome,
    );
    w.change = Some(ChangeAttempt { by: by.user, account, old, new, result });
}

#[when(
    expr = "the administrator changes the password to a new {int}-character password with a character outside the allowed set on the recorder"
)]
async fn admin_changes_to_disallowed_characters(w: &mut LabWorld, len: usize) {
    let by = w.dut().admin();
    let rule = w.dut().profile.password_rule.clone();
    // The first printable character the profile's set refuses (a space if it allows every one).
    let outside = (0x21u8..0x7f).map(char::from).find(|&c| !rule.charset.allows(c)).unwrap_or(' ');
    let mut chars: Vec<char> = generate_password(&rule, len.saturating_sub(1)).expose().chars().collect();
    chars.insert(chars.len() / 2, outside);
    let new = Secret::new(chars.into_iter().collect::<String>());
    attempt_admin_change(w, by, new, format!("{len} characters with one outside {:?}", rule.charset)).await;
}

#[when(
    expr = "the secondary user changes the administrator's password to a new {int}-character password on the recorder"
)]
async fn secondary_changes_admin_password(w: &mut LabWorld, len: usize) {
    let by = w.secondary.clone().unwrap_or_else(|| fail(Blame::Harness, "no secondary user was added"));
    change_admin_password(w, by, len).await;
}

/// `by` asks the recorder to change the administrator's password to a fresh `len`-character one.
async fn change_admin_password(w: &mut LabWorld, by: Credentials, len: usize) {
    let rule = w.dut().profile.password_rule.clone();
    // A password the rule allows is one whose logins ART-LOCAL judges: every class.
    let new = if (rule.min_len..=rule.max_len).contains(&len) {
        crate::password::generate_every_class(&rule, len)
    } else {
        generate_password(&rule, len)
    };
    attempt_admin_change(w, by, new, format!("a new {len}-character password")).await;
}

/// `by` asks the recorder to change the administrator's password to `new` (described by `what`);
/// the attempt and the answer are kept for the Then steps.
async fn attempt_admin_change(w: &mut LabWorld, by: Credentials, new: Secret, what: String) {
    let dut = w.dut();
    let account = dut.admin_name();
    let old = dut.credentials(&account).password;
    let result = dut.change_password(&by, &account, &new).await.map_err(NotChanged::Device);
    let outcome = match &result {
        Ok(()) => "OK".to_owned(),
        Err(e) => e.to_string(),
    };
    dut.note(Some(Interface::Http), format!("{} changes the password of {account} to {what}", by.user), outcome);
    w.change = Some(ChangeAttempt { by: by.user, account, old, new, result });
}

#[then("the recorder accepts the change")]
async fn recorder_accepts(w: &mut LabWorld) {
    if let Err(e) = &w.change().result {
        fail(e.blame(), format!("the recorder refused a valid change: {e}"));
    }
}

#[then("the recorder refuses the change")]
async fn recorder_refuses(w: &mut LabWorld) {
    let c = w.change();
    match &c.result {
        Ok(()) => {
            let failure = Failure::checking(
                &["ART-LEN6", "ART-SECONDARY", "ART-ADMIN", "ASVS-CURRENT-PW", "VENDOR-CHARSET"],
                format!(
                    "the recorder accepted a {}-character password set by {} (it answered OK)",
                    c.new.char_len(),
                    c.by
                ),
            );
            w.check_failed(failure);
            // It answered OK to what it should have refused: it may hold the new password, a cut
            // form of it, or nothing new at all. Go on from what it holds.
            let account = w.change().account.clone();
            w.dut().reconcile(&account).await;
        }
        Err(e) if e.is_refusal() => {}
        Err(e) => fail(e.blame(), format!("no clear refusal from the recorder: {e}")),
    }
}

#[then("the new password logs in on every local interface")]
async fn new_password_logs_in_everywhere(w: &mut LabWorld) {
    let c = w.change();
    let creds = Credentials { user: c.account.clone(), password: c.new.clone() };
    logs_in_everywhere(w, &creds, "the new password", CHECKS_LOCAL).await;
}

#[then("the current password still logs in on every local interface")]
async fn current_password_still_logs_in(w: &mut LabWorld) {
    let account = w.change().account.clone();
    let creds = w.dut().credentials(&account);
    logs_in_everywhere(w, &creds, "the current password", &[]).await;
}

#[then("the old password logs in on none of them")]
async fn old_password_refused_everywhere(w: &mut LabWorld) {
    let c = w.change();
    let creds = Credentials { user: c.account.clone(), password: c.old.clone() };
    // An old password that still logs in is a stale credential wherever it is seen (after a
    // link outage too), not a failure of what the scenario is about.
    logs_in_nowhere_at_all(w, &creds, "the old password", &["ART-LOCAL", "ETSI-OLD-CREDENTIAL"]).await;
}

#[then("the refused password logs in on none of them")]
async fn refused_password_refused_everywhere(w: &mut LabWorld) {
    let c = w.change();
    let creds = Credentials { user: c.account.clone(), password: c.new.clone() };
    logs_in_nowhere(w, &creds, "the refused password", CHECKS_REFUSAL).await;
}

#[then(expr = "its first {int} characters log in on none of them")]
async fn truncated_password_refused_everywhere(w: &mut LabWorld, n: usize) {
    let c = w.change();
    let prefix: String = c.new.expose().chars().take(n).collect();
    let creds = Credentials { user: c.account.clone(), password: Secret::new(prefix) };
    logs_in_nowhere(w, &creds, &format!("the first {n} characters of the refused password"), &["ART-LEN6"]).await;
}

/// What a local login check proves where the scenario is about it (elsewhere — after a power
/// cycle, say — it proves what that scenario is about): see [`crate::blame::Named::Checks`].
const CHECKS_LOCAL: &[&str] = &["ART-LOCAL"];

/// What a refused change that took effect anyway breaks.
const CHECKS_REFUSAL: &[&str] = &["ART-LEN6", "ART-SECONDARY", "ART-ADMIN", "VENDOR-CHARSET"];

/// `creds` log in on every local interface; each interface that refuses is a failed check of
/// `checks` (none: every requirement of the scenario). The scenario goes on: the other interfaces,
/// and the steps after this one, still get their verdicts.
pub(crate) async fn logs_in_everywhere(w: &mut LabWorld, creds: &Credentials, label: &str, checks: &[&str]) {
    not_every_way_in(w);
    let mut refused = Vec::new();
    let mut accepted = 0;
    for (interface, outcome) in w.dut().login_everywhere(creds, label).await {
        match outcome {
            LoginOutcome::Accepted => accepted += 1,
            other => refused.push((interface, other)),
        }
    }
    for (interface, other) in refused {
        let message = format!("{label} of {} did not log in on {interface}: {other:?}", creds.user);
        // Interfaces that disagree about one password break local access itself, wherever that
        // is seen; a password refused everywhere is what the scenario is about (a change it made
        // or did not make).
        let failure =
            if accepted > 0 { Failure::violating(&["ART-LOCAL"], message) } else { Failure::checking(checks, message) };
        w.check_failed(failure);
    }
}

/// `creds` log in on no local interface; each that accepts them is a failed check of `checks`.
pub(crate) async fn logs_in_nowhere(w: &mut LabWorld, creds: &Credentials, label: &str, checks: &[&str]) {
    for interface in accepting(w, creds, label).await {
        w.check_failed(Failure::checking(checks, format!("{label} of {} still logs in on {interface}", creds.user)));
    }
}

/// `creds` log in on no local interface; each that accepts them breaks `violates` wherever it is seen.
async fn logs_in_nowhere_at_all(w: &mut LabWorld, creds: &Credentials, label: &str, violates: &[&str]) {
    for interface in accepting(w, creds, label).await {
        w.check_failed(Failure::violating(violates, format!("{label} of {} still logs in on {interface}", creds.user)));
    }
}

/// Every local interface `creds` log in on.
async fn accepting(w: &mut LabWorld, creds: &Credentials, label: &str) -> Vec<Interface> {
    not_every_way_in(w);
    let mut out = Vec::new();
    for (interface, outcome) in w.dut().login_everywhere(creds, label).await {
        match outcome {
            LoginOutcome::Refused => {}
            LoginOutcome::Locked { .. } => fail(
                Blame::Harness,
                format!(
                    "{} was locked while checking {label} on {interface}; the lockout budget should prevent this",
                    creds.user
                ),
            ),
            LoginOutcome::Accepted => out.push(interface),
        }
    }
    out
}

/// "Every local interface" is the profile's list: a service the device answers on that the profile
/// omits is one more way in nobody checked, so ART-LOCAL is not established (the probe at the first
/// lease found it; the report names it).
fn not_every_way_in(w: &mut LabWorld) {
    let unlisted = w.dut().unlisted_services.clone();
    if !unlisted.is_empty() {
        let names: Vec<String> = unlisted.iter().map(|i| i.to_string()).collect();
        w.not_established(
            &["ART-LOCAL"],
            format!(
                "the device also answers on {}, which its firmware profile does not list: that way in was not checked",
                names.join(", ")
            ),
        );
    }
}
