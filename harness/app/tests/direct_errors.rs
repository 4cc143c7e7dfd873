//! The direct app's transport errors (issue 24): a recorder that is not listening, or hangs up,
//! is named by its address — never by the request URL, whose query carries the new and the old
//! password (`pwd=…&pwdOld=…`), in any spelling.

use std::time::Duration;

use resetlab_app::{Backend, DirectBackend, RawRequest, Secret, TransportError};
use tokio::net::TcpListener;

fn modify_password(new: &Secret, old: &Secret) -> RawRequest {
    let enc =
        |s: &Secret| percent_encoding::utf8_percent_encode(s.expose(), percent_encoding::NON_ALPHANUMERIC).to_string();
    RawRequest::get(format!(
        "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={}&pwdOld={}",
        enc(new),
        enc(old)
    ))
}

fn assert_clean(err: &TransportError, secrets: &[&Secret]) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains("modifyPassword"), "URL leaked: {text}");
    for s in secrets {
        for form in resetlab_wire::secret::forms(s.expose()) {
            assert!(!text.contains(&form), "a password leaked as {form}: {text}");
        }
    }
}

#[tokio::test]
async fn errors_of_the_direct_app_name_the_recorder_not_the_url_with_passwords() {
    let (new, old) = (Secret::new("N3w p@ss&\"<"), Secret::new("0ld+p%ss#'>"));
    let within = Duration::from_secs(15);

    // Nobody listening: offline, certainly not delivered.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let err = tokio::time::timeout(within, DirectBackend::new(addr, None).send("SN1", modify_password(&new, &old)))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, TransportError::Offline(_)), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert_clean(&err, &[&new, &old]);

    // A recorder that reads the request and hangs up: lost, maybe applied.
    let hangs_up = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = hangs_up.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = hangs_up.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await;
            drop(sock);
        }
    });
    let err = tokio::time::timeout(within, DirectBackend::new(addr, None).send("SN1", modify_password(&new, &old)))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, TransportError::Lost(_)), "{err:?}");
    assert_clean(&err, &[&new, &old]);
}
