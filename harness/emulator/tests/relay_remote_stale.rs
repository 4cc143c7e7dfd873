//! The `remote-keeps-old-password` defect through a real relay: the recorder's P2P module judges
//! remote Digest logins by the copy of the passwords it read at boot, so after a change the old
//! password still gets in remotely and the new one does not, while every local interface has the
//! new one. A reboot refreshes the copy. Conforming firmware has the new password remotely at once.

mod relay_lab;

use relay_lab::*;
use resetlab_app::digest::{Route, send_authenticated};
use resetlab_app::{DeviceCredentials, FormFactor, Platform, RawRequest, flir_cloud_2017};
use resetlab_emulator::Defect;

const MACHINE_NAME: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

/// The status of a remote Digest login (a tablet's) through the relay.
async fn remote_status(lab: &Lab, password: &str) -> u16 {
    let app = lab.signed_in_app(Platform::Ios, FormFactor::Tablet, flir_cloud_2017()).await;
    let req = RawRequest::get(MACHINE_NAME).with_header("User-Agent", FormFactor::Tablet.user_agent());
    send_authenticated(app.backend(), Route::Remote, &lab.serial, &DeviceCredentials::new("admin", password), req)
        .await
        .expect("the recorder answered through the relay")
        .status
}

/// A lab whose recorder booted with [`SETUP`] as admin's password (the P2P module's copy).
async fn booted_with_setup(defects: &[Defect]) -> Lab {
    let mut lab = Lab::factory(defects).await;
    lab.set_admin_password_locally(SETUP).await;
    let saved = async {
        while lab.recorder.stats().flash_commits < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(STEP, saved).await.expect("the set-up password reaches flash");
    lab.recorder.set_power(false).await;
    lab.recorder.set_power(true).await;
    lab.recorder.wait_ready(STEP).await.expect("recorder back");
    lab.relay.wait_online(&lab.serial, STEP).await.expect("tunnel back");
    lab
}

#[tokio::test]
async fn conforming_firmware_has_the_new_password_remotely_at_once() {
    let mut lab = booted_with_setup(&[]).await;
    lab.set_admin_password_locally("new123").await;
    assert_eq!(remote_status(&lab, "new123").await, 200);
    assert_eq!(remote_status(&lab, SETUP).await, 401);
    lab.shutdown().await;
}

#[tokio::test]
async fn the_defect_keeps_the_old_password_remotely_until_a_reboot() {
    let mut lab = booted_with_setup(&[Defect::RemoteKeepsOldPassword]).await;
    // Before any change the module's copy is right: the current password works remotely.
    assert_eq!(remote_status(&lab, SETUP).await, 200);
    lab.set_admin_password_locally("new123").await;
    // Locally the change took; remotely the old password still gets in and the new one does not.
    assert!(lab.device_accepts("admin", "new123").await);
    assert!(!lab.device_accepts("admin", SETUP).await);
    assert_eq!(remote_status(&lab, SETUP).await, 200, "old password remotely");
    assert_eq!(remote_status(&lab, "new123").await, 401, "new password remotely");

    // After a reboot the module reads the passwords again.
    let saved = async {
        while lab.recorder.stats().flash_commits < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(STEP, saved).await.expect("the change reaches flash");
    lab.recorder.set_power(false).await;
    lab.recorder.set_power(true).await;
    lab.recorder.wait_ready(STEP).await.expect("recorder back");
    lab.relay.wait_online(&lab.serial, STEP).await.expect("tunnel back");
    assert_eq!(remote_status(&lab, "new123").await, 200);
    assert_eq!(remote_status(&lab, SETUP).await, 401);
    lab.shutdown().await;
}
