//! Modbus TCP and RTU relay drivers against the emulated board: read-back, wiring options, faults.

mod common;

use std::time::{Duration, Instant};

use common::*;
use resetlab_rig::{Blame, RigError, Switch};

#[tokio::test]
async fn power_coil_over_tcp_switches_the_recorder_and_reads_back() {
    let lab = lab().await;
    let power = tcp(&lab, opts(0, "power"));
    let s = power.set(false).await.unwrap();
    assert!(!s.on);
    assert!(!lab.recorder(0).is_powered());
    assert!(!power.get().await.unwrap());
    power.set(true).await.unwrap();
    assert!(lab.recorder(0).is_powered());
    lab.recorder(0).wait_ready(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn link_coil_over_rtu_pty_switches_the_link_and_reads_back() {
    let lab = lab().await;
    let link = rtu(&lab, opts(1, "network link"));
    link.set(false).await.unwrap();
    assert!(!lab.recorder(0).is_linked());
    link.set(true).await.unwrap();
    assert!(lab.recorder(0).is_linked());
    // The port is ours while we hold it; a second opener is refused, as on a real line.
    let other = rtu(&lab, opts(0, "power"));
    let e = other.get().await.unwrap_err();
    assert!(e.to_string().contains("connect"), "{e}");
    drop(link);
    // Power and link on the same line share one open port.
    let power = resetlab_rig::modbus_rtu::board(lab.modbus_rtu_path(), 9600, Duration::from_millis(500));
    let p = power.coil(opts(0, "power"));
    let l = power.coil(opts(1, "network link"));
    assert!(p.get().await.unwrap() && l.get().await.unwrap());
}

#[tokio::test]
async fn inverted_coil_drives_a_normally_closed_contact() {
    let lab = lab().await;
    lab.normally_closed(0, true).await;
    assert_eq!(lab.coil(0), Some(false), "normally closed: powered while the coil is 0");
    let mut o = opts(0, "power");
    o.invert = true;
    let power = tcp(&lab, o);
    assert!(power.get().await.unwrap());
    power.set(false).await.unwrap();
    assert_eq!(lab.coil(0), Some(true));
    assert!(!lab.recorder(0).is_powered());
    power.set(true).await.unwrap();
    assert!(lab.recorder(0).is_powered());
}

#[tokio::test]
async fn write_multiple_board_needs_write_multiple_option() {
    let lab = lab().await;
    lab.only_write_multiple(true);
    let single = tcp(&lab, opts(1, "network link"));
    let e = single.set(false).await.unwrap_err();
    assert!(matches!(e, RigError::Modbus { .. }), "{e}");
    assert_eq!(e.blame(), Blame::Relay);
    assert!(e.to_string().contains("function 5"), "{e}");
    let mut o = opts(1, "network link");
    o.write_multiple = true;
    for link in [tcp(&lab, o.clone()), rtu(&lab, o)] {
        link.set(false).await.unwrap();
        assert!(!lab.recorder(0).is_linked());
        link.set(true).await.unwrap();
        assert!(lab.recorder(0).is_linked());
    }
}

#[tokio::test]
async fn relay_that_ignores_writes_is_a_read_back_rig_fault_over_tcp_and_rtu() {
    let lab = lab().await;
    lab.ignore_writes(true);
    for power in [tcp(&lab, opts(0, "power")), rtu(&lab, opts(0, "power"))] {
        let t = Instant::now();
        let e = power.set(false).await.unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        match &e {
            RigError::ReadBack { unit: 1, coil: 0, wrote: false, read: true, board, what } => {
                assert!(board.starts_with("modbus-"));
                assert_eq!(what, "power off");
            }
            other => panic!("expected a read-back fault, got {other}"),
        }
        assert_eq!(e.blame(), Blame::Relay);
        assert!(e.blame().is_rig());
        assert!(lab.recorder(0).is_powered(), "a stuck relay leaves the recorder as it was");
    }
}

#[tokio::test]
async fn board_that_never_answers_times_out_naming_what_was_awaited() {
    let lab = lab().await;
    lab.mute(true);
    for (power, kind) in [(tcp(&lab, opts(0, "power")), "modbus-tcp"), (rtu(&lab, opts(0, "power")), "modbus-rtu")] {
        let t = Instant::now();
        let e = power.set(false).await.unwrap_err();
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(450) && took < Duration::from_millis(1500), "{took:?}");
        let msg = e.to_string();
        assert!(matches!(e, RigError::Timeout { blame: Blame::Relay, .. }), "{msg}");
        assert!(msg.contains(kind) && msg.contains("write of coil 0") && msg.contains("power"), "{msg}");
    }
}

#[tokio::test]
async fn tcp_peer_that_accepts_but_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut keep = vec![];
        while let Ok((s, _)) = listener.accept().await {
            keep.push(s);
        }
    });
    let power = resetlab_rig::modbus_tcp::board("127.0.0.1", port, Duration::from_millis(300)).coil(opts(0, "power"));
    let e = power.get().await.unwrap_err();
    assert!(
        e.to_string().contains(&format!("relay board modbus-tcp 127.0.0.1:{port} to answer read of coil 0")),
        "{e}"
    );
    assert_eq!(e.blame(), Blame::Relay);
}

#[tokio::test]
async fn nothing_listening_is_a_relay_fault_naming_the_board() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let power = resetlab_rig::modbus_tcp::board("127.0.0.1", port, Duration::from_millis(300)).coil(opts(0, "power"));
    let e = power.set(true).await.unwrap_err();
    assert_eq!(e.blame(), Blame::Relay);
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[tokio::test]
async fn power_on_waits_out_the_minimum_off_time() {
    let lab = lab().await;
    let mut o = opts(0, "power");
    o.off = Duration::from_millis(250);
    let power = tcp(&lab, o);
    power.set(false).await.unwrap();
    let t = Instant::now();
    let s = power.set(true).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(240), "{:?}", t.elapsed());
    assert!(s.held_off >= Duration::from_millis(200), "{s:?}");
    assert!(lab.recorder(0).is_powered());
}
