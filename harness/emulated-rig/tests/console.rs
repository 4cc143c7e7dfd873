//! The serial console driver reading the emulated recorder's console pseudo-terminal: boot marker
//! after a power cycle, marks in the capture, silent cable, hung boot, kernel panic, readiness lag.

mod common;

use std::time::{Duration, Instant};

use common::*;
use resetlab_rig::console::LineKind;
use resetlab_rig::{Blame, Console, CrashPatterns, RigError, Switch};

const MARKER: &str = "System init done";

fn open(lab: &resetlab_emulated_rig::EmulatedBench, evidence: Option<Box<dyn std::io::Write + Send>>) -> Console {
    Console::open_serial(lab.console_path(0), 115_200, CrashPatterns::default(), evidence).expect("console opens")
}

#[tokio::test]
async fn boot_marker_is_seen_after_power_on_and_power_events_are_marked() {
    let lab = lab().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("console.log");
    let console = open(&lab, Some(Box::new(std::fs::File::create(&log).unwrap())));
    let power = tcp(&lab, opts(0, "power"));
    console.mark("power off");
    power.set(false).await.unwrap();
    let from = console.mark("power on");
    power.set(true).await.unwrap();
    let seen = console.wait_for(from, MARKER, Duration::from_secs(5)).await.unwrap();
    assert_eq!(seen.line, MARKER);
    let lines = console.lines();
    let on = lines.iter().position(|l| l.kind == LineKind::Mark && l.text == "power on").unwrap();
    assert!(lines[on + 1..].iter().any(|l| l.text.starts_with("U-Boot")), "{}", console.transcript());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("### power off") && text.contains("### power on") && text.contains(MARKER), "{text}");
    // Each line carries a wall-clock stamp and the time since the capture began.
    assert!(text.lines().all(|l| l.contains("Z +") && l.contains('s')), "{text}");
}

#[tokio::test]
async fn power_off_mid_boot_leaves_a_cut_line_in_the_capture() {
    let lab = lab().await;
    let console = open(&lab, None);
    let power = tcp(&lab, opts(0, "power"));
    power.set(false).await.unwrap();
    let from = console.mark("power on");
    power.set(true).await.unwrap();
    console.wait_for(from, "Starting kernel", Duration::from_secs(5)).await.unwrap();
    power.set(false).await.unwrap();
    console.mark("power off");
    let e = console.wait_for(from, MARKER, Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(e.blame(), Blame::Device, "{e}");
}

#[tokio::test]
async fn silent_console_is_a_rig_fault_naming_the_pattern() {
    let lab = lab().await;
    let console = open(&lab, None);
    lab.console_silent(0, true);
    let power = tcp(&lab, opts(0, "power"));
    power.set(false).await.unwrap();
    let from = console.mark("power on");
    power.set(true).await.unwrap();
    let t = Instant::now();
    let e = console.wait_for(from, MARKER, Duration::from_secs(1)).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(1200));
    assert_eq!(e.blame(), Blame::Console, "{e}");
    assert!(e.to_string().contains("System init done") && e.to_string().contains("silent"), "{e}");
    // The recorder itself booted: only the cable is dead.
    lab.recorder(0).wait_ready(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn boot_that_never_finishes_is_a_device_fault_at_its_deadline() {
    let lab = lab().await;
    let console = open(&lab, None);
    lab.hang_at_boot(0, true).await;
    let power = tcp(&lab, opts(0, "power"));
    power.set(false).await.unwrap();
    let from = console.mark("power on");
    power.set(true).await.unwrap();
    let deadline = Duration::from_secs(2);
    let t = Instant::now();
    let e = resetlab_rig::wait_ready(Some((&console, from, MARKER)), lab.recorder(0).http_addr(), deadline)
        .await
        .unwrap_err();
    let took = t.elapsed();
    assert!(took >= deadline && took < deadline + Duration::from_millis(300), "{took:?}");
    assert_eq!(e.blame(), Blame::Device, "{e}");
    assert!(e.to_string().contains("Freeing unused kernel memory"), "last line is named: {e}");
    assert!(resetlab_rig::ready::probe_http(lab.recorder(0).http_addr(), Duration::from_millis(200)).await.is_err());
}

#[tokio::test]
async fn kernel_panic_at_boot_is_a_device_fault_long_before_the_deadline() {
    let lab = lab().await;
    let console = open(&lab, None);
    lab.panic_at_boot(0, true).await;
    let power = tcp(&lab, opts(0, "power"));
    power.set(false).await.unwrap();
    let from = console.mark("power on");
    power.set(true).await.unwrap();
    let t = Instant::now();
    let e =
        resetlab_rig::wait_ready(Some((&console, from, MARKER)), lab.recorder(0).http_addr(), Duration::from_secs(30))
            .await
            .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(matches!(e, RigError::Crash { .. }), "{e}");
    assert_eq!(e.blame(), Blame::Device);
    assert!(e.to_string().contains("Kernel panic"), "{e}");
}

#[tokio::test]
async fn readiness_lag_from_service_open_to_harness_notice_is_under_50_ms() {
    let lab = lab().await;
    let console = open(&lab, None);
    let power = tcp(&lab, opts(0, "power"));
    let rec = lab.recorder(0).clone();
    let mut lags = vec![];
    for _ in 0..3 {
        power.set(false).await.unwrap();
        let from = console.mark("power on");
        power.set(true).await.unwrap();
        // The emulator's own view of the moment its services opened.
        let r = rec.clone();
        let opened = tokio::spawn(async move {
            r.wait_ready(Duration::from_secs(10)).await.unwrap();
            Instant::now()
        });
        let ready = resetlab_rig::wait_ready(Some((&console, from, MARKER)), rec.http_addr(), Duration::from_secs(10))
            .await
            .unwrap();
        let opened = opened.await.unwrap();
        let lag = ready.noticed_at.saturating_duration_since(opened);
        println!(
            "readiness: marker after {:?}, service answered {:?} after power on; lag service-open→noticed {:.2} ms (marker→answer {:.2} ms)",
            ready.marker_after.unwrap(),
            ready.service_after,
            lag.as_secs_f64() * 1e3,
            ready.marker_to_service.as_secs_f64() * 1e3
        );
        lags.push(lag);
    }
    let worst = lags.iter().max().unwrap();
    assert!(*worst < Duration::from_millis(50), "readiness lag {worst:?}");
}

#[tokio::test]
async fn readiness_lag_without_a_console_is_under_50_ms() {
    let lab = lab().await;
    let power = tcp(&lab, opts(0, "power"));
    let rec = lab.recorder(0).clone();
    power.set(false).await.unwrap();
    power.set(true).await.unwrap();
    let r = rec.clone();
    let opened = tokio::spawn(async move {
        r.wait_ready(Duration::from_secs(10)).await.unwrap();
        Instant::now()
    });
    let ready = resetlab_rig::wait_ready(None, rec.http_addr(), Duration::from_secs(10)).await.unwrap();
    let lag = ready.noticed_at.saturating_duration_since(opened.await.unwrap());
    println!("readiness (port polling only, backoff ≤ 10 ms): lag {:.2} ms", lag.as_secs_f64() * 1e3);
    assert!(lag < Duration::from_millis(50), "{lag:?}");
}
