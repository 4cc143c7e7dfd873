//! The direct driver (benches whose recorders cannot reach our relay): the same app flow sent
//! straight to the recorder's address, remote logins to the bench's `remote:` address — here a
//! port forward on "the bench router", a loopback TCP proxy.

mod relay_lab;

use std::net::SocketAddr;

use relay_lab::*;
use resetlab_app::{
    App, AppSession, DeviceCredentials, DirectApp, FormFactor, LoginOutcome, ModifyOutcome, Platform, Secret,
    flir_cloud_2017,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A port forward to `to`; returns its address and a counter of connections it carried.
async fn port_forward(to: SocketAddr) -> (SocketAddr, watch::Receiver<u32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = watch::channel(0u32);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tx.send_modify(|n| *n += 1);
            tokio::spawn(async move {
                if let Ok(mut out) = TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn direct_app_changes_password_and_remote_logins_go_through_the_bench_port_forward() {
    let lab = Lab::start().await;
    let (remote, carried) = port_forward(lab.recorder.http_addr()).await;
    let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "bench");
    let mut app = DirectApp::direct(session, lab.recorder.http_addr(), Some(remote));
    app.add_device(&lab.serial, DeviceCredentials::new("admin", SETUP)).await.unwrap();
    let relay_before = lab.relay.forwarded(&lab.serial);

    let new = Secret::new("dir001");
    assert_eq!(app.reset_password(&lab.serial, &new, &new).await.unwrap(), ModifyOutcome::Changed);
    assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
    assert_eq!(*carried.borrow(), 0, "app requests go straight to the recorder, not the port forward");

    let new_creds = DeviceCredentials { user: "admin".into(), password: new.clone() };
    let old_creds = DeviceCredentials::new("admin", SETUP);
    for f in FormFactor::ALL {
        assert_eq!(app.remote_login(f, &new_creds).await.unwrap(), LoginOutcome::Accepted, "{f}");
        assert!(matches!(app.remote_login(f, &old_creds).await.unwrap(), LoginOutcome::Refused(_)), "{f}");
    }
    assert!(*carried.borrow() > 0, "remote logins went through the port forward");
    assert_eq!(lab.relay.forwarded(&lab.serial), relay_before, "the relay was not used");
    lab.shutdown().await;
}

#[tokio::test]
async fn direct_app_on_a_powered_off_recorder_shows_offline() {
    let lab = Lab::start().await;
    let session = AppSession::new(Platform::Ios, FormFactor::Tablet, flir_cloud_2017(), "bench");
    let mut app = DirectApp::direct(session, lab.recorder.http_addr(), None);
    app.add_device(&lab.serial, DeviceCredentials::new("admin", SETUP)).await.unwrap();
    lab.recorder.set_power(false).await;
    let new = Secret::new("dir002");
    assert_eq!(app.reset_password(&lab.serial, &new, &new).await.unwrap(), ModifyOutcome::Offline);
    // No `remote:` on this bench: remote logins say so instead of pretending.
    let err = app.remote_login(FormFactor::Computer, &DeviceCredentials::new("admin", SETUP)).await.unwrap_err();
    assert!(err.to_string().contains("remote:"), "{err}");
    assert_eq!(lab.changes(), 0);
    lab.shutdown().await;
}
