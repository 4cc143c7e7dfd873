//! Leave the device as found, even after a crash: `resetlab certify` runs against an emulator
//! started separately (a bench with no power control) and is killed with SIGKILL k × 3 ms after it
//! starts, for every k until a run finishes untouched (the journal is emptied whenever all accounts
//! are restored, so its length cannot index kill points; time can). After each kill
//! `resetlab recover` must put the baseline administrator password back without ever locking the
//! account, delete every account the run added (and nothing else), and a second `recover` must
//! find nothing to do.

use std::path::Path;
use std::time::Duration;

use resetlab_device::{Credentials, Interface, LoginOutcome, Target, try_login};
use resetlab_emulator::{Recorder, RecorderConfig};
use resetlab_wire::Secret;

/// The most kill points tried (a whole run on the bench takes well under this × STEP).
const MAX_KILL_POINTS: u32 = 400;
/// Time between two kill points.
const STEP: Duration = Duration::from_millis(3);

fn bench_file(dir: &Path, recorder: &Recorder) -> std::path::PathBuf {
    let profile = resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml");
    let text = format!(
        "rig: crash-test\n\
         device:\n  model: DNR216\n  address: 127.0.0.1\n  ports: {{ http: {}, rtsp: {} }}\n  profile: {}\n  \
         credentials: {{ admin_user: admin, admin_password_env: RESETLAB_CRASH_TEST_PASSWORD }}\n\
         power:   {{ driver: none }}\nnetwork: {{ driver: none }}\nconsole: {{ driver: none }}\n",
        recorder.http_addr().port(),
        recorder.rtsp_addr().port(),
        profile.display()
    );
    let file = dir.join("bench.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_many_points_then_recover_restores_the_baseline_without_lockout() {
    let recorder = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_file(tmp.path(), &recorder);
    let state = tmp.path().join("state");
    let target = Target::new("127.0.0.1", recorder.http_addr().port(), recorder.rtsp_addr().port());
    // An installed unit has been set up: its administrator password is no longer the factory one
    // (otherwise every scenario would first do the set-up and wait out the real flash delay).
    let baseline = Credentials::new("admin", Secret::new("Base12"));
    resetlab_device::Cgi::new(&target)
        .modify_password(
            &Credentials::new("admin", Secret::new("000000")),
            "admin",
            &baseline.password,
            &Secret::new("000000"),
        )
        .await
        .expect("set-up of the unit");
    let committed = std::time::Instant::now() + Duration::from_secs(5);
    while recorder.stats().flash_commits == 0 {
        assert!(std::time::Instant::now() < committed, "the set-up never reached flash");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let names = |users: Vec<resetlab_device::UserInfo>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
    let accounts_found = names(resetlab_device::Cgi::new(&target).users(&baseline).await.unwrap());

    let (mut killed, mut had_work, mut left_accounts) = (0, 0, 0);
    for k in 1..=MAX_KILL_POINTS {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_resetlab"))
            .args(["certify", "--quiet", "--rig"])
            .arg(&bench)
            .arg("--state-dir")
            .arg(&state)
            .arg("--out")
            .arg(tmp.path().join(format!("out-{k}")))
            .env("RESETLAB_CRASH_TEST_PASSWORD", "Base12")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // The kill point: k × STEP after start, unless the run ends first.
        let finished = tokio::time::timeout(STEP * k, child.wait()).await.ok().map(|s| s.unwrap());
        if let Some(status) = finished {
            assert!(status.success(), "an uninterrupted run against the emulator must pass");
            break;
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        killed += 1;

        let recover = tokio::process::Command::new(env!("CARGO_BIN_EXE_resetlab"))
            .args(["recover", "--state-dir"])
            .arg(&state)
            .output()
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&recover.stdout);
        assert!(recover.status.success(), "recover failed after kill point {k}: {said}");
        if !said.contains("nothing to recover") {
            had_work += 1;
        }
        if said.contains("the account the harness added is deleted") {
            left_accounts += 1;
        }
        assert!(!said.contains("Base12"), "recover printed a password: {said}");
        // Idempotent: a second recover has nothing to do.
        let again = tokio::process::Command::new(env!("CARGO_BIN_EXE_resetlab"))
            .args(["recover", "--state-dir"])
            .arg(&state)
            .output()
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("nothing to recover"),
            "second recover after kill point {k}"
        );
        for interface in Interface::ALL {
            assert_eq!(
                try_login(&target, interface, &baseline).await.unwrap(),
                LoginOutcome::Accepted,
                "after kill point {k} the baseline password does not log in on {interface}"
            );
        }
        assert_eq!(recorder.stats().lockouts_engaged, 0, "kill point {k}: the account was locked");
        assert_eq!(
            names(resetlab_device::Cgi::new(&target).users(&baseline).await.unwrap()),
            accounts_found,
            "after kill point {k} the device's accounts are not the ones it was found with"
        );
    }
    println!(
        "killed certify at {killed} points ({} ms apart); {had_work} left work for recover, {left_accounts} of them an added account; \
         baseline back, accounts as found and no lock every time",
        STEP.as_millis()
    );
    assert!(killed >= 20, "only {killed} kill points were reached");
    assert!(had_work >= 5, "only {had_work} kills interrupted a change; the kill points miss the interesting window");
    assert!(
        left_accounts >= 1,
        "no kill left an added account behind; the kill points miss the secondary-user scenario"
    );
    recorder.shutdown().await;
}
