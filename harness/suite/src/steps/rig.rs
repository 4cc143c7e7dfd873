//! "From now on": power cycles, link loss and power cuts around the change (ART-DURABLE), and the
//! rig states the article's preconditions talk about (powered off, link down).

use std::time::Instant;

use cucumber::{given, then, when};
use resetlab_device::{Credentials, LoginOutcome};

use crate::blame::{Blame, Failure, fail};
use crate::password::generate_every_class;
use crate::world::{ChangeAttempt, LabWorld, NotChanged};

#[given("the administrator has changed the password to a new 6-character password")]
async fn admin_has_changed_password(w: &mut LabWorld) {
    let (account, by, old, new, result) = {
        let dut = w.dut();
        let by = dut.admin();
        let new = generate_every_class(&dut.profile.password_rule, dut.profile.password_rule.max_len);
        let result = dut.change_password(&by, &by.user, &new).await.map_err(NotChanged::Device);
        (by.user.clone(), by.user.clone(), by.password.clone(), new, result)
    };
    if let Err(e) = &result {
        fail(e.blame(), format!("the recorder refused a valid change: {e}"));
    }
    w.changed_at = Some(Instant::now());
    w.change = Some(ChangeAttempt { by, account, old, new, result });
}

#[given("the recorder has had time to save it")]
async fn recorder_saved_it(w: &mut LabWorld) {
    wait_out_flash_commit(w).await;
}

async fn wait_out_flash_commit(w: &mut LabWorld) {
    let since = w.changed_at.unwrap_or_else(|| fail(Blame::Harness, "no change was made before waiting for flash"));
    w.lease().wait_until_saved(since).await;
}

#[when("the recorder's power is cut and restored")]
async fn power_cycle(w: &mut LabWorld) {
    w.lease().power_off().await;
    w.power_on().await;
}

#[when("the recorder's network link drops and comes back")]
async fn link_cycle(w: &mut LabWorld) {
    w.lease().link_down().await;
    w.lease().link_up().await;
}

#[given("the recorder is powered off")]
async fn recorder_powered_off(w: &mut LabWorld) {
    w.lease().power_off().await;
}

#[when("the recorder is powered on again")]
async fn recorder_powered_on(w: &mut LabWorld) {
    w.power_on().await;
}

#[given("the recorder's network link is down")]
async fn link_is_down(w: &mut LabWorld) {
    w.lease().link_down().await;
}

#[when("the network link comes back")]
async fn link_comes_back(w: &mut LabWorld) {
    w.lease().link_up().await;
}

/// Where, around a change, the power is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CutPoint {
    BeforeSending,
    /// The request is on the wire, its answer not yet read: the recorder may be working on it.
    WhileProcessing,
    RightAfterOk,
    AfterCommitDelay,
}

#[when(regex = r"^the administrator changes the password and the power is cut (.+)$")]
async fn change_with_power_cut(w: &mut LabWorld, when: String) {
    let cut = match when.as_str() {
        "just before the change is sent" => CutPoint::BeforeSending,
        "while the recorder is processing the change" => CutPoint::WhileProcessing,
        "right after the recorder answers OK" => CutPoint::RightAfterOk,
        "after the flash commit delay" => CutPoint::AfterCommitDelay,
        other => fail(Blame::Harness, format!("unknown power-cut point \"{other}\"")),
    };
    let (by, new) = {
        let dut = w.dut();
        (dut.admin(), generate_every_class(&dut.profile.password_rule, dut.profile.password_rule.max_len))
    };
    if cut == CutPoint::BeforeSending {
        w.lease().power_off().await;
    }
    let result = if cut == CutPoint::WhileProcessing {
        // Cut as soon as the request is written; then read whatever answer got out before the
        // power went (an OK that got out is a promise like any other). A change from before the
        // lease reaches flash first, so the cut follows the request at once.
        w.lease().wait_for_inherited_commit().await;
        let sent = w.dut().send_change_unread(&by, &by.user, &new).await;
        let written = Instant::now();
        w.lease().power_off().await;
        let cut_after = written.elapsed();
        let result = match sent {
            Ok(unread) => unread.answer().await,
            Err(e) => Err(e),
        };
        let read = match &result {
            Ok(()) => "the recorder's OK had got out".to_owned(),
            Err(e) => format!("no OK: {}", e.kind),
        };
        w.dut().note(
            None,
            "power cut while the recorder processes the change",
            format!(
                "power off and the recorder silent {} ms after the request was written; {read}",
                cut_after.as_millis()
            ),
        );
        result
    } else {
        w.dut().change_password(&by, &by.user, &new).await
    };
    let result = result.map_err(NotChanged::Device);
    w.changed_at = Some(Instant::now());
    match cut {
        CutPoint::BeforeSending | CutPoint::WhileProcessing => {}
        CutPoint::RightAfterOk => w.lease().power_off().await,
        CutPoint::AfterCommitDelay => {
            wait_out_flash_commit(w).await;
            w.lease().power_off().await;
        }
    }
    if !matches!(cut, CutPoint::BeforeSending | CutPoint::WhileProcessing)
        && let Err(e) = &result
    {
        fail(e.blame(), format!("the recorder refused a valid change: {e}"));
    }
    w.cut_after_commit = cut == CutPoint::AfterCommitDelay;
    w.change = Some(ChangeAttempt { by: by.user.clone(), account: by.user, old: by.password, new, result });
}

#[when("the recorder's power is restored")]
async fn power_restored(w: &mut LabWorld) {
    w.power_on().await;
}

#[then("exactly one of the old and new passwords logs in, the same one on every local interface")]
async fn exactly_one_password_everywhere(w: &mut LabWorld) {
    let c = w.change();
    let (account, old, new) = (c.account.clone(), c.old.clone(), c.new.clone());
    let dut = w.dut();
    // What each interface takes: (interface, old accepted, new accepted). Each password on every
    // interface at once (`Dut::login_everywhere`), in the profile's interface order.
    let with_new = dut.login_everywhere(&Credentials::new(&account, new.clone()), "the new password").await;
    let with_old = dut.login_everywhere(&Credentials::new(&account, old.clone()), "the old password").await;
    let seen: Vec<(resetlab_device::Interface, bool, bool)> = with_new
        .iter()
        .zip(&with_old)
        .map(|((interface, n), (_, o))| (*interface, *o == LoginOutcome::Accepted, *n == LoginOutcome::Accepted))
        .collect();
    // The recorder's answer is its main account store's (HTTP CGI, first); an interface that
    // disagrees with it breaks local access itself, wherever that is seen.
    let Some(&(main, old_main, new_main)) = seen.first() else {
        fail(Blame::Harness, "the profile lists no local interface")
    };
    let holds_new = match (old_main, new_main) {
        (false, true) => true,
        (true, false) => false,
        (true, true) => fail(Blame::Device, format!("both the old and the new password log in on {main}")),
        (false, false) => fail(Blame::Device, format!("neither the old nor the new password logs in on {main}")),
    };
    for &(interface, old_ok, new_ok) in &seen[1..] {
        if (old_ok, new_ok) != (old_main, new_main) {
            let takes = |o: bool, n: bool| match (o, n) {
                (true, true) => "both passwords",
                (true, false) => "the old password",
                (false, true) => "the new password",
                (false, false) => "neither password",
            };
            w.check_failed(Failure::violating(
                &["ART-LOCAL"],
                format!(
                    "interfaces disagree: {interface} takes {}, {main} {}",
                    takes(old_ok, new_ok),
                    takes(old_main, new_main)
                ),
            ));
        }
    }
    w.dut().believe(&account, if holds_new { new } else { old });
    w.holds_new = Some(holds_new);
}

#[then("if the recorder had promised the change, it is the new one")]
async fn promised_change_holds(w: &mut LabWorld) {
    let holds_new = w.holds_new.unwrap_or_else(|| fail(Blame::Harness, "which password holds was not checked"));
    let acknowledged = w.change().result.is_ok();
    let durable_on_ok = w.dut().profile.flash.durable_on_ok;
    let promised = acknowledged && (w.cut_after_commit || durable_on_ok);
    if promised && !holds_new {
        let why = if w.cut_after_commit {
            "the recorder acknowledged the change and the flash commit delay passed, yet after the power cut the old password is back"
        } else {
            "the firmware promises durability on OK, yet after the power cut the old password is back"
        };
        w.check_failed(Failure::new(Blame::Device, None, why));
    }
    // An answer never read (the power went while the recorder worked on the change) promised
    // nothing either way: the change may well have been applied.
    let unread = w.change().result.as_ref().is_err_and(|e| matches!(e, NotChanged::Device(d) if d.outcome_unknown()));
    if !acknowledged && holds_new && !unread {
        w.check_failed(Failure::new(
            Blame::Device,
            None,
            "the change was never acknowledged, yet the new password holds",
        ));
    }
}
