//! The article's own path: the cloud app. Sign in on an iPhone, iPad or Android device, Device
//! Manager → the recorder → Settings → Modify password → enter and confirm, then check what the app
//! showed and what the recorder really did, locally and remotely from a smartphone, tablet and
//! computer.

use std::time::Instant;

use cucumber::{given, then, when};
use resetlab_app::digest::{Route, send_authenticated};
use resetlab_app::{
    AppSession, DeviceCredentials, FormFactor, LoginOutcome as AppLogin, ModifyOutcome, Platform, RawRequest,
};
use resetlab_device::{Credentials, Interface, LoginOutcome};
use resetlab_ledger::Outcome;
use resetlab_wire::Secret;

use super::generate_password;
use crate::blame::{Blame, Failure, fail, fail_check, fail_network, fail_violating};
use crate::lab::{BenchApp, Remote};
use crate::world::{ChangeAttempt, LabWorld, NotChanged};

fn dc(user: &str, password: Secret) -> DeviceCredentials {
    DeviceCredentials { user: user.to_owned(), password }
}

fn remote(w: &mut LabWorld) -> &Remote {
    w.lease()
        .remote
        .as_ref()
        .unwrap_or_else(|| fail(Blame::Harness, "this rig has no cloud relay (the scenario should be not applicable)"))
}

/// The recorder's serial as the app knows it.
fn serial(w: &mut LabWorld) -> String {
    match &w.lease().remote {
        Some(r) => r.serial.clone(),
        None => w.dut().identity.clone(),
    }
}

/// Where the `webdriver` driver reaches the app on this rig: the embedded lab's emulated phone,
/// or the bench's Appium server. `None`: the app is not driven through WebDriver here.
fn webdriver_config(w: &mut LabWorld) -> Option<resetlab_app::WebDriverConfig> {
    if let Some(r) = &w.lease().remote {
        return Some(r.webdriver_config());
    }
    match &w.lease().bench_app {
        Some(BenchApp::WebDriver { config }) => Some(config.clone()),
        _ => None,
    }
}

/// Open the app on `session`'s device: driven through WebDriver (the emulated phone, Appium),
/// straight to a bench recorder, or in a person's hand.
async fn open_app(w: &mut LabWorld, session: AppSession) -> Box<dyn resetlab_app::App> {
    if let Some(config) = webdriver_config(w) {
        return Box::new(resetlab_app::WebDriverApp::open(session, config).await.unwrap_or_else(|e| app_failed(e)));
    }
    match w.lease().bench_app.clone() {
        Some(BenchApp::Direct { device, remote }) => Box::new(resetlab_app::DirectApp::direct(session, device, remote)),
        Some(BenchApp::Operator { operator }) => Box::new(resetlab_app::OperatorApp::new(session, operator)),
        Some(BenchApp::WebDriver { .. }) | None => {
            fail(Blame::Harness, "this rig has no app (the scenario should be not applicable)")
        }
    }
}

/// The requirements only a driven app can establish: on the second route nothing judges them.
const APP_SIDE: &[&str] =
    &["ART-FLOW", "ART-IOS", "ART-ANDROID", "ART-CONFIRM", "ART-KEEP-DEVICE", "ART-PRE-POWER", "ART-PRE-NET"];

/// The second route: the app flow cannot run, so the scenario goes on with only the requests the
/// app would send, straight to the recorder. What the recorder does is still judged; what the app
/// would have shown is not (its requirements are partly established, never passed).
fn take_second_route(w: &mut LabWorld, session: AppSession, why: String) -> Box<dyn resetlab_app::App> {
    w.dut().note(None, "second route: the requests the app would send, straight to the recorder", why.clone());
    w.second_route = Some(why);
    let device = w.lease().drivers.service;
    Box::new(resetlab_app::DirectApp::direct(session, device, None))
}

/// On the second route, an app-side check establishes nothing: say so and skip it.
fn app_side_not_established(w: &mut LabWorld) -> bool {
    let Some(why) = w.second_route.clone() else { return false };
    w.not_established(APP_SIDE, format!("second route: {why}"));
    true
}

/// A backend for raw requests (what a modified app could send), where the rig allows it.
async fn raw_backend(w: &mut LabWorld) -> Box<dyn resetlab_app::Backend> {
    if let Some(r) = &w.lease().remote {
        return Box::new(r.raw_backend().await.unwrap_or_else(|e| app_failed(e)));
    }
    match w.lease().bench_app.clone() {
        Some(BenchApp::Direct { device, remote }) => Box::new(resetlab_app::DirectBackend::new(device, remote)),
        // A driven app cannot be made to send a request it would not send: the request goes
        // straight to the recorder, as the vendor's tunnel would deliver it.
        Some(BenchApp::WebDriver { .. }) => Box::new(resetlab_app::DirectBackend::new(w.lease().drivers.service, None)),
        _ => fail(Blame::Harness, "raw app requests need the relay or a direct app driver on this rig"),
    }
}

fn app(w: &mut LabWorld) -> &mut Box<dyn resetlab_app::App> {
    w.app.as_mut().unwrap_or_else(|| fail(Blame::Harness, "no one is signed into the app yet"))
}

/// What the app's success screen proves where the scenario is about it.
const APP_FLOW: &[&str] = &["ART-FLOW", "ART-IOS", "ART-ANDROID", "ART-ADMIN"];

/// An app error is never the device's doing: the app model or the relay went wrong.
fn app_failed(e: impl std::fmt::Display) -> ! {
    fail(Blame::Rig, format!("the app could not do the step: {e}"))
}

/// An app step's result, or (keeping the app's screen first) the rig failure it is.
fn app_ok<T>(w: &mut LabWorld, result: Result<T, resetlab_app::AppError>) -> T {
    result.unwrap_or_else(|e| {
        keep_app_screen(w);
        app_failed(e)
    })
}

/// Keep the screen the signed-in app showed at its latest step that did not go as asked (a driven
/// app only), in the report directory, with a line of evidence pointing at it.
fn keep_app_screen(w: &mut LabWorld) {
    if let Some(screen) = w.app.as_ref().and_then(|a| a.last_failure_artifacts()) {
        keep_screen(w, screen);
    }
}

/// Keep the screen the signed-in app shows now: a check failed on what it showed.
async fn keep_current_screen(w: &mut LabWorld, why: &str) {
    let Some(app) = w.app.as_mut() else { return };
    if let Some(screen) = app.capture_screen(why).await {
        keep_screen(w, screen);
    }
}

fn keep_screen(w: &mut LabWorld, screen: resetlab_app::ScreenEvidence) {
    let out = w.ctx.out.clone();
    let identity = w.dut().identity.clone();
    let shown = match crate::app_screens::keep(&out, &identity, &screen) {
        Ok(Some(k)) => format!("screenshot {}, page source {}", k.screenshot, k.page_source),
        Ok(None) => return,
        Err(e) => format!("[harness] the screen could not be written into {}: {e}", out.display()),
    };
    w.dut().note(None, format!("the app's screen: {}", screen.step), shown);
}

#[given("the recorder is online in the cloud app")]
async fn recorder_online_in_app(w: &mut LabWorld) {
    // With the relay, online is observable; a direct or operator app reaches the recorder that
    // answered at lease time.
    if let Some(r) = &w.lease().remote
        && let Err(e) = r.wait_online(true).await
    {
        fail(Blame::Device, format!("the recorder never came online at the relay: {e}"));
    }
}

#[given("the app is the 2017 release")]
async fn app_2017(w: &mut LabWorld) {
    w.app_profile = resetlab_app::flir_cloud_2017();
}

#[given("the app is a release that ships the Android fix")]
async fn app_fixed(w: &mut LabWorld) {
    w.app_profile = resetlab_app::flir_cloud_fixed();
}

fn device_named(name: &str) -> (Platform, FormFactor) {
    match name {
        "iPhone" => (Platform::Ios, FormFactor::Phone),
        "iPad" => (Platform::Ios, FormFactor::Tablet),
        "Android phone" => (Platform::Android, FormFactor::Phone),
        "Android tablet" => (Platform::Android, FormFactor::Tablet),
        other => {
            fail(Blame::Harness, format!("unknown device \"{other}\" (iPhone, iPad, Android phone, Android tablet)"))
        }
    }
}

#[given(
    regex = r"^I am signed into the app as the (administrator|secondary user) on an? (iPhone|iPad|Android phone|Android tablet)$"
)]
async fn signed_in(w: &mut LabWorld, who: String, device: String) {
    let (platform, form) = device_named(&device);
    let creds = match who.as_str() {
        "administrator" => w.dut().admin(),
        _ => w.secondary.clone().unwrap_or_else(|| fail(Blame::Harness, "no secondary user was added")),
    };
    let account = w.lease().remote.as_ref().map_or_else(|| "bench".to_owned(), |r| r.account.clone());
    let serial = serial(w);
    let session = AppSession::new(platform, form, w.app_profile.clone(), account);
    let mut app = open_app(w, session.clone()).await;
    let entry = match app.add_device(&serial, dc(&creds.user, creds.password.clone())).await {
        Ok(entry) => entry,
        Err(e @ resetlab_app::AppError::AddRefused { .. }) => {
            // Turned away with the password the harness holds: if the recorder takes it locally,
            // its remote path does not follow its own password (a device fault), else the
            // harness lost track of the password.
            if w.dut().login(Interface::Http, &creds, "the app's credentials, locally").await != LoginOutcome::Accepted
            {
                app_failed(e)
            }
            w.check_failed(Failure::violating(
                &["ART-REMOTE"],
                format!("the recorder refuses remotely the password it accepts locally: {e}"),
            ));
            // The app flow cannot run through the cloud; the recorder-side half still can: the
            // requests the app would send, straight to the recorder.
            app = take_second_route(w, session, format!("the app could not add the recorder through the cloud ({e})"));
            app.add_device(&serial, dc(&creds.user, creds.password.clone())).await.unwrap_or_else(|e| app_failed(e))
        }
        Err(e) => app_failed(e),
    };
    w.dut().note(
        None,
        format!("sign into the app on an {device} and add the recorder as {}", creds.user),
        format!("saved entry, group {:?}", entry.group),
    );
    w.app = Some(app);
}

#[when(
    regex = r"^I (?:try to )?modify the password to a new (\d+)-character password and confirm it( with a different one)?$"
)]
async fn modify_in_app(w: &mut LabWorld, len: usize, different: String) {
    let rule = w.dut().profile.password_rule.clone();
    // A password the rule allows is one whose logins ART-LOCAL and ART-REMOTE judge: every class.
    let new = if (rule.min_len..=rule.max_len).contains(&len) {
        crate::password::generate_every_class(&rule, len)
    } else {
        generate_password(&rule, len)
    };
    let confirm = if different.is_empty() {
        new.clone()
    } else {
        let mut other = generate_password(&rule, len.max(1));
        while other == new {
            other = generate_password(&rule, len.max(1));
        }
        other
    };
    let entry_user = app(w).saved_entry().map(|e| e.credentials.user).unwrap_or_default();
    let admin = w.dut().admin_name();
    let old = w.dut().credentials(&entry_user).password;
    let serial = serial(w);
    w.forwarded_before = w.lease().remote.as_ref().map(|r| r.relay.forwarded(&r.serial));
    let unanswered_before = w.lease().remote.as_ref().map(|r| r.relay.unanswered(&r.serial));
    // The change is journaled before the app sends anything, as for a change made on the device.
    let journaled = (entry_user == admin).then(|| w.dut().intend_change(&admin, &new));
    let outcome = app(w).reset_password(&serial, &new, &confirm).await;
    let outcome = app_ok(w, outcome);
    w.lost_on_relay = None;
    let took = match &outcome {
        ModifyOutcome::Changed => true,
        ModifyOutcome::Unknown(shown) => {
            // The relay (a rig part) saw the recorder's answer go missing: the network's fault,
            // counted as a lost answer, and the app's screen judges nothing this time.
            let lost =
                w.lease().remote.as_ref().is_some_and(|r| Some(r.relay.unanswered(&r.serial)) > unanswered_before);
            if lost {
                w.lost_on_relay = Some(shown.clone());
                w.dut().answers_lost += 1;
                w.dut().reconciles += 1;
            }
            // The app could not tell; ask the recorder itself which password it holds now.
            let probe = Credentials::new(&entry_user, new.clone());
            let took = w.dut().login(Interface::Http, &probe, "the new password (after an unknown outcome)").await
                == LoginOutcome::Accepted;
            if lost {
                w.dut().note(
                    None,
                    "Modify password in the app: no answer (the relay got none from the recorder: the network's fault, not the recorder's answer)",
                    format!("the recorder holds the {} password", if took { "new" } else { "old" }),
                );
            }
            took
        }
        _ => false,
    };
    if let Some(id) = journaled {
        w.dut().settle_change(id, &admin, &new, if took { Outcome::Committed } else { Outcome::Reverted });
    } else if took {
        w.dut().believe(&entry_user, new.clone());
    }
    w.dut().note(
        None,
        format!("Modify password in the app: a new {len}-character password{different}"),
        format!("the app shows {outcome:?}"),
    );
    let result = if took { Ok(()) } else { Err(NotChanged::App(outcome.clone())) };
    w.change = Some(ChangeAttempt { by: entry_user.clone(), account: entry_user, old, new: new.clone(), result });
    if let ModifyOutcome::PathNotAsWritten(what) = &outcome {
        // The article's own path is broken; the recorder-side half still runs on the second
        // route: the change the app would have sent (an app refuses a mismatch before sending).
        w.check_failed(Failure::violating(&["ART-FLOW"], format!("the article's path is not in the app: {what}")));
        let session = app(w).session().clone();
        w.app = Some(take_second_route(w, session, format!("the article's path is not in the app ({what})")));
        if new == confirm {
            let admin = w.dut().admin();
            let result = w.dut().change_password(&admin, &admin.user, &new).await.map_err(NotChanged::Device);
            let shown = result.as_ref().map_or_else(|e| e.to_string(), |()| "OK".to_owned());
            w.dut().note(Some(Interface::Http), "second route: the change the app would have sent", shown);
            if let Some(c) = w.change.as_mut() {
                c.result = result;
            }
        }
    }
    w.app_outcome = Some(outcome);
}

fn outcome(w: &LabWorld) -> &ModifyOutcome {
    w.app_outcome.as_ref().unwrap_or_else(|| fail(Blame::Harness, "Modify password was not used in this scenario"))
}

/// When the network lost the recorder's answer to the app's change, the app could not know the
/// outcome: its screen is not judged, and the scenario is inconclusive with the rig to blame (the
/// recorder-side steps still ran on what the recorder was found to hold).
fn screen_judges_nothing_after_a_lost_answer(w: &LabWorld) {
    if let Some(shown) = &w.lost_on_relay {
        fail_network(format!(
            "the app could not know the outcome (it showed {shown:?}): the network lost the recorder's answer on the relay path"
        ));
    }
}

#[then("the app shows that the password was changed")]
async fn app_shows_changed(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    screen_judges_nothing_after_a_lost_answer(w);
    if !matches!(outcome(w), ModifyOutcome::Changed) {
        keep_current_screen(w, "the app did not show that the password was changed").await;
    }
    match outcome(w) {
        ModifyOutcome::Changed => {}
        ModifyOutcome::NotOffered => {
            // The article promises it on iPhone and iPad, and on Android once the fix ships.
            let session = app(w).session();
            let promised_by = if session.platform == Platform::Ios { "ART-IOS" } else { "ART-ANDROID" };
            fail_violating(&[promised_by], format!("Settings on {} shows no Modify password", session.device_name()));
        }
        ModifyOutcome::RefusedByDevice(why) => {
            fail_check(APP_FLOW, format!("the recorder refused a valid change from the app: {why}"))
        }
        other => fail_check(APP_FLOW, format!("the app did not show success: {other:?}")),
    }
}

#[then("the app shows that the password was not changed")]
async fn app_shows_not_changed(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    screen_judges_nothing_after_a_lost_answer(w);
    let o = outcome(w);
    if !o.shows_not_changed() {
        let failure =
            Failure::new(Blame::Device, None, format!("the app did not show that the password was not changed: {o:?}"));
        keep_current_screen(w, "the app did not show that the password was not changed").await;
        w.check_failed(failure);
    }
}

#[then("the app shows that Modify password is not offered")]
async fn app_shows_not_offered(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    let failure = match outcome(w) {
        ModifyOutcome::NotOffered => return,
        ModifyOutcome::Changed => Failure::checking(
            &["ART-ANDROID", "ART-IOS"],
            "Modify password was offered and reported success on a platform the app profile says lacks it",
        ),
        other => Failure::checking(
            &["ART-ANDROID", "ART-IOS"],
            format!("Modify password was offered on a platform the app profile says lacks it ({other:?})"),
        ),
    };
    keep_current_screen(w, "Modify password was offered").await;
    w.check_failed(failure);
}

#[then("the app shows that the recorder is offline")]
async fn app_shows_offline(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    let failure = match outcome(w) {
        ModifyOutcome::Offline => return,
        ModifyOutcome::Changed => Failure::checking(
            &["ART-PRE-POWER", "ART-PRE-NET"],
            "the app reported success while the recorder was offline",
        ),
        other => Failure::checking(
            &["ART-PRE-POWER", "ART-PRE-NET"],
            format!("the app did not say the recorder is offline: {other:?}"),
        ),
    };
    // The app's word is not the recorder's: once the recorder answers again, the next login finds
    // out which password it holds (Dut::login reconciles).
    keep_current_screen(w, "the app did not say the recorder is offline").await;
    w.check_failed(failure);
}

#[then("no password change reached the recorder")]
async fn nothing_reached_recorder(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    let Some(before) = w.forwarded_before else {
        // Only the relay can count what reached the recorder; the next step checks the recorder
        // still has its password.
        w.dut().note(None, "count requests that reached the recorder", "not countable without the relay on this rig");
        return;
    };
    let r = remote(w);
    let after = r.relay.forwarded(&r.serial);
    if after != before {
        w.check_failed(Failure::new(
            Blame::Device,
            None,
            format!(
                "the app sent {} request(s) to the recorder for a change it should have refused itself",
                after - before
            ),
        ));
        return;
    }
    w.dut().note(None, "count requests the relay forwarded to the recorder", "none since Modify password");
}

/// One remote client's login through the relay (a smartphone, tablet or computer: its User-Agent
/// says which), Digest-authenticated end to end; the relay only carries it.
/// Also returns the screen the client kept, if its login did not go as asked.
async fn remote_login(
    w: &mut LabWorld,
    form: FormFactor,
    creds: &DeviceCredentials,
) -> (AppLogin, Option<resetlab_app::ScreenEvidence>) {
    let config = webdriver_config(w);
    let signed_in = w.app.as_ref().and_then(|a| a.saved_entry()).is_some();
    // On the second route the signed-in "app" is only the requests it would send: a driven
    // app's own client goes on through the cloud.
    if signed_in && (w.second_route.is_none() || config.is_none()) {
        // The signed-in app opens a client of that form factor (another WebDriver session on a
        // driven app, the bench's port forward on a direct one, a person's other device).
        let result = app(w).remote_login(form, creds).await;
        let result = app_ok(w, result);
        return (result, w.app.as_ref().and_then(|a| a.last_failure_artifacts()));
    }
    let Some(config) = config else {
        fail(Blame::Harness, "remote logins on this rig go through the app: sign in and add the recorder first");
    };
    // No app signed in (a factory-state recorder has no saved entry): a client of that form
    // factor signs into the app account and adds the recorder itself.
    let serial = serial(w);
    let session = AppSession::new(Platform::Ios, FormFactor::Phone, w.app_profile.clone(), config.account.clone());
    let mut client = resetlab_app::WebDriverApp::open(session, config).await.unwrap_or_else(|e| app_failed(e));
    let result = client.remote_login_to(&serial, form, creds).await;
    let screen = resetlab_app::App::last_failure_artifacts(&client);
    client.close().await;
    match result {
        Ok(result) => (result, screen),
        Err(e) => {
            if let Some(screen) = screen {
                keep_screen(w, screen);
            }
            app_failed(e)
        }
    }
}

/// `password` logs in remotely from every form factor (`expect_accepted`) or from none; a failure
/// breaks `violates`, wherever it is seen.
async fn remote_logins(
    w: &mut LabWorld,
    account: &str,
    password: Secret,
    label: &str,
    expect_accepted: bool,
    violates: &[&str],
) {
    let creds = Credentials::new(account, password.clone());
    for form in FormFactor::ALL {
        w.dut().before_remote_attempt(&creds).await;
        let t = Instant::now();
        let (result, screen) = remote_login(w, form, &dc(account, password.clone())).await;
        let outcome = match &result {
            AppLogin::Accepted => LoginOutcome::Accepted,
            AppLogin::Refused(_) => LoginOutcome::Refused,
            other => {
                if let Some(screen) = screen {
                    keep_screen(w, screen);
                }
                fail(Blame::Rig, format!("no answer to a remote login from a {form:?}: {other:?}"))
            }
        };
        w.dut().after_remote_attempt(
            &creds,
            &format!("remote login from a {form:?} through the relay with {label}: {result:?}"),
            &outcome,
            t,
        );
        let as_expected =
            matches!((expect_accepted, &outcome), (true, LoginOutcome::Accepted) | (false, LoginOutcome::Refused));
        if let (false, Some(screen)) = (as_expected, screen) {
            keep_screen(w, screen);
        }
        match (expect_accepted, &outcome) {
            (true, LoginOutcome::Accepted) | (false, LoginOutcome::Refused) => {}
            (true, _) => w.check_failed(Failure::violating(
                violates,
                format!("{label} did not log in remotely from a {form:?}: {result:?}"),
            )),
            (false, _) => {
                w.check_failed(Failure::violating(violates, format!("{label} still logs in remotely from a {form:?}")))
            }
        }
    }
}

#[then("the new password logs in remotely from a smartphone, a tablet and a computer")]
async fn new_password_remote(w: &mut LabWorld) {
    let (account, new) = (w.change().account.clone(), w.change().new.clone());
    // Wherever it is seen, a remote path that does not follow a change breaks "used … remotely
    // from a smartphone, tablet or computer".
    remote_logins(w, &account, new, "the new password", true, &["ART-REMOTE"]).await;
}

#[then("the old password logs in remotely from none of them")]
async fn old_password_not_remote(w: &mut LabWorld) {
    let (account, old) = (w.change().account.clone(), w.change().old.clone());
    remote_logins(w, &account, old, "the old password", false, &["ART-REMOTE"]).await;
}

#[then("the saved device entry still connects without re-adding the recorder")]
async fn saved_entry_connects(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    let result = app(w).connect_saved_entry().await;
    let result = app_ok(w, result);
    w.dut().note(None, "connect with the app's saved device entry", format!("{result:?}"));
    if !matches!(result, AppLogin::Accepted) {
        keep_app_screen(w);
        keep_current_screen(w, "the saved device entry did not connect").await;
        w.check_failed(Failure::checking(
            &["ART-KEEP-DEVICE"],
            format!("the saved device entry no longer connects: {result:?}"),
        ));
    }
}

#[then("re-adding the recorder works with the new password only")]
async fn re_adding_needs_new_password(w: &mut LabWorld) {
    if app_side_not_established(w) {
        return;
    }
    let c = w.change();
    let (account, old, new) = (c.account.clone(), c.old.clone(), c.new.clone());
    let serial = serial(w);
    for (label, password, should_connect) in [("the old password", old, false), ("the new password", new, true)] {
        let creds = Credentials::new(&account, password.clone());
        match app(w).remove_device(&serial).await {
            // A refused re-add saved no entry: there is nothing to delete.
            Ok(()) | Err(resetlab_app::AppError::NoSuchDevice(_)) => {}
            Err(e) => app_ok(w, Err(e)),
        }
        w.dut().before_remote_attempt(&creds).await;
        let t = Instant::now();
        // The app refuses to save an entry the recorder does not accept: that is the answer too.
        let result = match app(w).add_device(&serial, dc(&account, password)).await {
            Ok(_) => {
                let connected = app(w).connect_saved_entry().await;
                app_ok(w, connected)
            }
            Err(resetlab_app::AppError::AddRefused { reason, .. }) => AppLogin::Refused(reason),
            Err(e) => app_ok(w, Err(e)),
        };
        let outcome = if matches!(result, AppLogin::Accepted) { LoginOutcome::Accepted } else { LoginOutcome::Refused };
        w.dut().after_remote_attempt(
            &creds,
            &format!("delete and re-add the recorder in the app with {label}"),
            &outcome,
            t,
        );
        if (outcome == LoginOutcome::Accepted) != should_connect {
            keep_app_screen(w);
            w.check_failed(Failure::checking(
                &["ART-KEEP-DEVICE"],
                format!("re-adding the recorder with {label}: {result:?}"),
            ));
        }
    }
}

#[when("the app sends a password change for the administrator anyway")]
async fn raw_change_through_relay(w: &mut LabWorld) {
    let by = w.secondary.clone().unwrap_or_else(|| fail(Blame::Harness, "no secondary user was added"));
    let admin = w.dut().admin();
    let new = generate_password(&w.dut().profile.password_rule, 6);
    let serial = serial(w);
    let backend = raw_backend(w).await;
    let uri = resetlab_device::cgi::modify_password_path(&admin.user, &new, &admin.password);
    let id = w.dut().intend_change(&admin.user, &new);
    let reply = send_authenticated(
        backend.as_ref(),
        Route::App,
        &serial,
        &dc(&by.user, by.password.clone()),
        RawRequest::get(uri),
    )
    .await;
    let result = match reply {
        Ok(r) if r.status == 200 && r.is_ok_body() => Ok(()),
        Ok(r) => Err(NotChanged::Relayed { status: r.status, body: r.body.trim().to_owned() }),
        Err(resetlab_app::digest::DigestError::Request(resetlab_app::TransportError::Lost(why))) => {
            // Sent, no answer: the recorder may have acted. Find out which password the
            // administrator has now (the journal settled from that), then leave the step to the
            // network's blame: there is no answer of the recorder's to judge.
            w.dut().answers_lost += 1;
            w.dut().reconciles += 1;
            let held = w.dut().reconcile(&admin.user).await;
            let (outcome, holds) = match &held {
                Some(p) if *p == new => (Outcome::Committed, "the administrator's password is the new one"),
                Some(_) => (Outcome::Reverted, "the administrator's password is unchanged"),
                None => (Outcome::Unknown, "none of the candidates logs in within the lockout budget"),
            };
            w.dut().settle_change(id, &admin.user, &new, outcome);
            w.dut().note(
                None,
                format!(
                    "{} sends modifyPassword for {} the way the app does: no answer through the relay (the network's fault, not the recorder's answer)",
                    by.user, admin.user
                ),
                holds,
            );
            fail_network(format!("the network lost the recorder's answer on the relay path ({why}): nothing to judge"))
        }
        Err(e) => fail(Blame::Rig, format!("the request did not get through the relay: {e:?}")),
    };
    w.dut().settle_change(id, &admin.user, &new, if result.is_ok() { Outcome::Committed } else { Outcome::Reverted });
    let shown = result.as_ref().map_or_else(|e| e.to_string(), |()| "OK".to_owned());
    w.dut().note(None, format!("{} sends modifyPassword for {} the way the app does", by.user, admin.user), shown);
    w.change = Some(ChangeAttempt { by: by.user, account: admin.user, old: admin.password, new, result });
}

#[given("the recorder still has its factory default password")]
async fn still_factory_default(w: &mut LabWorld) {
    let dut = w.dut();
    let factory = dut.profile.admin().password.clone();
    if dut.admin().password != factory {
        fail(
            Blame::Harness,
            "the recorder's administrator password is no longer the factory default (a @factory-state scenario must skip set-up)",
        );
    }
}

#[then("the factory default password logs in locally")]
async fn factory_default_logs_in_locally(w: &mut LabWorld) {
    let admin = w.dut().admin();
    super::local::logs_in_everywhere(w, &admin, "the factory default password", &[]).await;
}

#[then("it does not log in remotely from a smartphone, a tablet or a computer")]
async fn factory_default_not_remote(w: &mut LabWorld) {
    let admin = w.dut().admin();
    remote_logins(w, &admin.user, admin.password.clone(), "the factory default password", false, &["ETSI-DEFAULT-PW"])
        .await;
}
