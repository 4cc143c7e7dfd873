//! The rig's side of the emulated recorder: power, network link, serial console and flash, and what
//! survives which. Every wait has a deadline and names what it waited for.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use resetlab_emulator::Recorder;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

const MACHINE_NAME: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

async fn refused(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(STEP, TcpStream::connect(addr)).await.expect("connect answered in time"),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

async fn change(rec: &Recorder, new: &str, old: &str) {
    let r = cgi(
        rec.http_addr(),
        &format!("/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={new}&pwdOld={old}"),
        "admin",
        old,
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK\r\n"));
}

/// Console text until `marker` has been seen (panics at the deadline).
async fn read_console_until(rx: &mut broadcast::Receiver<Bytes>, marker: &str, deadline: Duration) -> String {
    let mut text = String::new();
    tokio::time::timeout(deadline, async {
        while !text.contains(marker) {
            match rx.recv().await {
                Ok(b) => text.push_str(&String::from_utf8_lossy(&b)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("console closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no `{marker}` on the console within {deadline:?}; got:\n{text}"));
    text
}

#[tokio::test]
async fn power_off_refuses_connections_and_power_on_brings_back_the_committed_password() {
    let rec = start().await;
    let (http, rtsp) = (rec.http_addr(), rec.rtsp_addr());
    change(&rec, "abc123", "000000").await;
    wait_until("the change to reach flash", STEP, || async { rec.stats().flash_commits == 1 }).await;

    rec.set_power(false).await;
    assert!(!rec.is_powered());
    assert!(refused(http).await, "HTTP refused while off");
    assert!(refused(rtsp).await, "RTSP refused while off");
    assert!(rec.wait_ready(Duration::from_millis(50)).await.is_err());

    let mut console = rec.console();
    rec.set_power(true).await;
    let log = read_console_until(&mut console, "System init done\r\n", STEP).await;
    assert!(log.starts_with("U-Boot"), "{log}");
    assert!(log.contains("Linux version") && log.contains(&rec.serial()), "{log}");
    rec.wait_ready(STEP).await.expect("services answer after the ready marker");
    assert_eq!((rec.http_addr(), rec.rtsp_addr()), (http, rtsp), "same ports across power cycles");
    assert_eq!(cgi(http, MACHINE_NAME, "admin", "abc123").await.status, 200);
    assert_eq!(cgi(http, MACHINE_NAME, "admin", "000000").await.status, 401);
    assert_eq!(rtsp_describe(rtsp, "admin", "abc123").await.0, 200);
    rec.shutdown().await;
}

#[tokio::test]
async fn power_cut_inside_the_flash_window_loses_the_change() {
    // 4 s emulated boot: the 2 s commit delay of a 40 s boot becomes 200 ms.
    let rec = start_with(&[], |c| c.boot_time = Duration::from_secs(4)).await;
    assert_eq!(rec.flash_commit_delay(), Duration::from_millis(200));
    change(&rec, "abc123", "000000").await;
    rec.set_power(false).await;
    assert_eq!(rec.stats().flash_commits, 0, "the cut landed inside the commit window");
    rec.set_power(true).await;
    rec.wait_ready(Duration::from_secs(30)).await.unwrap();
    assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "000000").await.status, 200, "old password is back");
    assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "abc123").await.status, 401);
    assert_eq!(rec.stats().flash_commits, 0, "the lost change is never written later");
    rec.shutdown().await;
}

#[tokio::test]
async fn durable_on_ok_firmware_commits_before_answering() {
    let rec = start_with(&[], |c| c.profile.flash.durable_on_ok = true).await;
    change(&rec, "abc123", "000000").await;
    assert_eq!(rec.stats().flash_commits, 1);
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(STEP).await.unwrap();
    assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "abc123").await.status, 200);
    rec.shutdown().await;
}

#[tokio::test]
async fn power_off_drops_open_connections_at_once() {
    let rec = start().await;
    let mut rtsp = TcpStream::connect(rec.rtsp_addr()).await.unwrap();
    rtsp.write_all(b"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    assert!(rtsp.read(&mut buf).await.unwrap() > 0);
    let mut http = TcpStream::connect(rec.http_addr()).await.unwrap();
    http.write_all(b"GET /cgi-bin/magicBox.cgi?action=getMachineName HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(http.read(&mut buf).await.unwrap() > 0, "keep-alive connection answered");

    rec.set_power(false).await;
    for (name, s) in [("RTSP", &mut rtsp), ("HTTP", &mut http)] {
        let n = tokio::time::timeout(STEP, s.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{name} connection still open after power off"));
        assert!(matches!(n, Ok(0) | Err(_)), "{name} connection closed");
    }
    rec.shutdown().await;
}

#[tokio::test]
async fn console_stops_mid_line_when_power_is_cut_during_boot() {
    let rec = start_with(&[], |c| c.boot_time = Duration::from_secs(2)).await;
    // A loaded machine may finish the line before the cut lands; then try again (bounded).
    let mut attempts = 0;
    let seen = loop {
        attempts += 1;
        rec.set_power(false).await;
        let mut console = rec.console();
        rec.set_power(true).await;
        // Wait for the first half of a line to be on the wire, then pull the plug.
        let mut seen = String::new();
        tokio::time::timeout(STEP, async {
            loop {
                let b = console.recv().await.unwrap();
                seen.push_str(&String::from_utf8_lossy(&b));
                if seen.contains("Linux") && !seen.ends_with('\n') {
                    break;
                }
            }
        })
        .await
        .expect("a half-written boot line within the deadline");
        rec.set_power(false).await;
        while let Ok(b) = console.try_recv() {
            seen.push_str(&String::from_utf8_lossy(&b));
        }
        if !seen.ends_with('\n') || attempts == 5 {
            // Power on again: the cut line is never finished, the log starts over.
            rec.set_power(true).await;
            let next = tokio::time::timeout(STEP, console.recv()).await.expect("boot log after power on").unwrap();
            assert!(String::from_utf8_lossy(&next).starts_with("U-Boot"), "{next:?}");
            break seen;
        }
    };
    assert!(!seen.ends_with('\n'), "console stopped mid-line: {seen:?}");
    assert!(!seen.contains("System init done"));
    rec.wait_ready(STEP).await.unwrap();
    rec.shutdown().await;
}

#[tokio::test]
async fn a_firmware_without_rtsp_or_console_offers_neither() {
    let rec = start_with(&[], |c| {
        c.profile
            .interfaces
            .retain(|i| !matches!(i, resetlab_profile::Interface::Rtsp | resetlab_profile::Interface::Console))
    })
    .await;
    assert!(refused(rec.rtsp_addr()).await, "no RTSP service");
    assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "000000").await.status, 200);
    let mut console = rec.console();
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(STEP).await.unwrap();
    assert!(console.try_recv().is_err(), "a console-less firmware prints nothing");
    rec.shutdown().await;
}

#[tokio::test]
async fn lockout_is_cleared_by_a_power_cycle_when_the_profile_says_so() {
    let rec = start().await;
    for _ in 0..5 {
        rpc2_login(rec.http_addr(), "admin", "bad000").await.unwrap_err();
    }
    assert_eq!(rpc2_login(rec.http_addr(), "admin", "000000").await.unwrap_err()["error"]["code"], json!(268632081));
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(STEP).await.unwrap();
    rpc2_login(rec.http_addr(), "admin", "000000").await.expect("lock cleared by the power cycle");
    rec.shutdown().await;
}

#[tokio::test]
async fn lockout_survives_a_power_cycle_when_the_profile_keeps_it() {
    let rec = start_with(&[], |c| c.profile.lockout.cleared_by_power_cycle = false).await;
    for _ in 0..5 {
        assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "bad000").await.status, 401);
    }
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(STEP).await.unwrap();
    assert_eq!(rpc2_login(rec.http_addr(), "admin", "000000").await.unwrap_err()["error"]["code"], json!(268632081));
    rec.shutdown().await;
}

#[tokio::test]
async fn rpc2_sessions_are_lost_with_ram() {
    let rec = start().await;
    let s = rpc2_login(rec.http_addr(), "admin", "000000").await.unwrap();
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(STEP).await.unwrap();
    assert_eq!(rpc2_call(rec.http_addr(), &s, "global.keepAlive", json!({})).await["error"]["code"], json!(287637505));
    rec.shutdown().await;
}

#[tokio::test]
async fn link_down_refuses_connections_while_the_console_keeps_running() {
    let rec = start().await;
    let mut console = rec.console();
    let mut held = TcpStream::connect(rec.http_addr()).await.unwrap();
    rec.set_link(false).await;
    assert!(!rec.is_linked() && rec.is_powered());
    assert!(refused(rec.http_addr()).await);
    assert!(refused(rec.rtsp_addr()).await);
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(STEP, held.read(&mut buf)).await.expect("held connection dropped");
    assert!(matches!(n, Ok(0) | Err(_)));
    read_console_until(&mut console, "link down", STEP).await;

    // A power cycle with the cable out still boots to the marker, but nothing answers.
    rec.set_power(false).await;
    let mut console = rec.console();
    rec.set_power(true).await;
    read_console_until(&mut console, "System init done", STEP).await;
    assert!(refused(rec.http_addr()).await);

    rec.set_link(true).await;
    rec.wait_ready(STEP).await.unwrap();
    assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "000000").await.status, 200);
    rec.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_the_ports() {
    let rec = start().await;
    let http = rec.http_addr();
    rec.shutdown().await;
    assert!(refused(http).await);
    rec.set_power(true).await;
    assert!(!rec.is_powered(), "a shut-down recorder stays off");
    let again = tokio::net::TcpListener::bind(http).await;
    assert!(again.is_ok(), "port released: {again:?}");
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_password_reaches_tracing_logs_or_the_console() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runs on a current-thread runtime: every emulator task logs through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let rec = start().await;
    let mut console = rec.console();
    change(&rec, "Sx9k2q", "000000").await;
    let s = rpc2_login(rec.http_addr(), "admin", "Sx9k2q").await.unwrap();
    let r = rpc2_call(
        rec.http_addr(),
        &s,
        "userManager.modifyPassword",
        json!({"name": "admin", "pwd": "Qz7m4w", "pwdOld": "Sx9k2q"}),
    )
    .await;
    assert_eq!(r["result"], json!(true));
    rpc2_login(rec.http_addr(), "admin", "Wr0ng9").await.unwrap_err();
    assert_eq!(rtsp_describe(rec.rtsp_addr(), "admin", "Wr0ng8").await.0, 401);
    assert_eq!(
        cgi(rec.http_addr(), "/cgi-bin/magicBox.cgi?action=getMachineName&x=Wr0ng7", "admin", "Wr0ng7").await.status,
        401
    );
    wait_until("both changes to reach flash", STEP, || async { rec.stats().flash_commits == 2 }).await;
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(STEP).await.unwrap();

    let mut console_text = String::new();
    while let Ok(b) = console.try_recv() {
        console_text.push_str(&String::from_utf8_lossy(&b));
    }
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(logs.contains("password changed"), "the capture works: {logs}");
    assert!(console_text.contains("modified by admin"), "{console_text}");
    for pw in ["000000", "Sx9k2q", "Qz7m4w", "Wr0ng9", "Wr0ng8", "Wr0ng7"] {
        assert!(!logs.contains(pw), "{pw} in the tracing log");
        // The factory default `000000` also appears in kernel timestamps (`[    0.000000]`).
        if pw != "000000" {
            assert!(!console_text.contains(pw), "{pw} on the console");
        }
    }
    rec.shutdown().await;
}
