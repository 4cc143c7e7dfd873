//! A third-party Modbus client (mbpoll) drives the emulated board over TCP and RTU: power coil 0
//! to 0 stops the recorder's HTTP port, 1 brings it back after the boot log's ready marker.
//! Without mbpoll: fails when CI is set, else prints a note and returns.

mod common;

use std::time::Duration;

use common::*;
use resetlab_rig::{Blame, Console, CrashPatterns};

fn have_mbpoll() -> bool {
    let found = std::process::Command::new("mbpoll").arg("-h").output().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "mbpoll is required in CI (apt-get install mbpoll)");
        eprintln!("note: mbpoll not installed; skipping (apt-get install mbpoll)");
    }
    found
}

async fn mbpoll(args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new("mbpoll").args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("mbpoll finishes within 10 s")
    .expect("mbpoll runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mbpoll {args:?} failed: {text}");
    text
}

#[tokio::test]
async fn mbpoll_power_coil_stops_and_restarts_the_recorder_over_tcp() {
    if !have_mbpoll() {
        return;
    }
    let lab = lab().await;
    let port = lab.modbus_tcp_addr().port().to_string();
    let http = lab.recorder(0).http_addr();
    let console = Console::open_serial(lab.console_path(0), 115_200, CrashPatterns::default(), None).unwrap();
    // mbpoll numbers coils from 1: reference 1 is coil 0 (power), reference 2 is coil 1 (link).
    let read = mbpoll(&["-m", "tcp", "-p", &port, "-a", "1", "-t", "0", "-r", "1", "-c", "2", "-1", "127.0.0.1"]).await;
    assert!(read.contains("[1]: \t1") || read.contains("[1]: 1"), "{read}");

    console.mark("mbpoll: power coil 0 := 0");
    mbpoll(&["-m", "tcp", "-p", &port, "-a", "1", "-t", "0", "-r", "1", "127.0.0.1", "0"]).await;
    resetlab_rig::wait_down(http, Duration::from_secs(2), Blame::Relay, "after mbpoll wrote the power coil to 0")
        .await
        .unwrap();
    assert!(!lab.recorder(0).is_powered());

    let from = console.mark("mbpoll: power coil 0 := 1");
    mbpoll(&["-m", "tcp", "-p", &port, "-a", "1", "-t", "0", "-r", "1", "127.0.0.1", "1"]).await;
    let ready = resetlab_rig::wait_ready(Some((&console, from, "System init done")), http, Duration::from_secs(5))
        .await
        .unwrap();
    println!("back after mbpoll: marker {:?}, HTTP {:?} ({})", ready.marker_after, ready.service_after, ready.status);
    let boot: Vec<String> =
        console.lines().iter().skip_while(|l| l.text != "mbpoll: power coil 0 := 1").map(|l| l.text.clone()).collect();
    assert!(boot.iter().any(|l| l.starts_with("U-Boot")), "boot log before the marker: {boot:?}");
}

#[tokio::test]
async fn mbpoll_link_coil_over_the_rtu_pty() {
    if !have_mbpoll() {
        return;
    }
    let lab = lab().await;
    let path = lab.modbus_rtu_path().display().to_string();
    let http = lab.recorder(0).http_addr();
    mbpoll(&["-m", "rtu", "-b", "9600", "-P", "none", "-a", "1", "-t", "0", "-r", "2", &path, "0"]).await;
    assert!(!lab.recorder(0).is_linked());
    resetlab_rig::wait_down(http, Duration::from_secs(2), Blame::Relay, "after link down").await.unwrap();
    mbpoll(&["-m", "rtu", "-b", "9600", "-P", "none", "-a", "1", "-t", "0", "-r", "2", &path, "1"]).await;
    resetlab_rig::wait_ready(None, http, Duration::from_secs(2)).await.unwrap();
    let read =
        mbpoll(&["-m", "rtu", "-b", "9600", "-P", "none", "-a", "1", "-t", "0", "-r", "1", "-c", "2", "-1", &path])
            .await;
    assert!(read.contains("[2]: \t1") || read.contains("[2]: 1"), "{read}");
}
