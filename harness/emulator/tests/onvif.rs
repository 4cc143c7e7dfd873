//! ONVIF Device and Media services of the emulated recorder over real sockets, with a hand-written
//! SOAP client (independent of resetlab-device): WS-Security UsernameToken and HTTP Digest logins
//! against the one account store and lockout, nonce replay and clock-window refusals, SetUser under
//! the 6-character rule, and faults (never a panic) for garbage and XML bombs.

mod common;

use std::time::Duration;

use common::*;
use resetlab_emulator::{Defect, Recorder};
use resetlab_profile::Interface;

const DEVICE: &str = "/onvif/device_service";

async fn onvif_recorder(defects: &[Defect]) -> Recorder {
    start_with(defects, |c| c.profile.interfaces.push(Interface::Onvif)).await
}

fn envelope(header: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

/// A UsernameToken with PasswordDigest for `password`, `nonce` raw bytes, `created` as given.
fn token(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    let digest = resetlab_wire::wsse::password_digest(nonce, created, password);
    format!(
        r#"<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"#,
        resetlab_wire::wsse::encode_nonce(nonce)
    )
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn fresh_nonce() -> Vec<u8> {
    use rand::Rng;
    rand::rng().random::<[u8; 16]>().to_vec()
}

async fn soap(rec: &Recorder, path: &str, xml: &str, headers: &[(&str, String)]) -> HttpReply {
    let mut h = vec![("Content-Type", "application/soap+xml; charset=utf-8".to_owned())];
    h.extend(headers.iter().cloned());
    // common::http sends `application/json` too when it sets a length; a SOAP server reads the body.
    http(rec.http_addr(), "POST", path, &h, xml).await.expect("SOAP exchange")
}

async fn call(rec: &Recorder, user: &str, password: &str, body: &str) -> HttpReply {
    soap(rec, DEVICE, &envelope(&token(user, password, &fresh_nonce(), &now()), body), &[]).await
}

fn is_not_authorized(r: &HttpReply) -> bool {
    r.status == 400 && r.body.contains("ter:NotAuthorized") && r.body.contains("env:Sender")
}

#[tokio::test]
async fn the_clock_answers_anyone_and_everything_else_needs_a_login() {
    let rec = onvif_recorder(&[]).await;
    let r = soap(&rec, DEVICE, &envelope("", "<tds:GetSystemDateAndTime/>"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<tt:UTCDateTime>") && r.header("Content-Type").unwrap().contains("soap+xml"));
    let r = soap(&rec, DEVICE, &envelope("", "<tds:GetDeviceInformation/>"), &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Digest "));
    assert!(r.body.contains("ter:NotAuthorized"), "{}", r.body);
    let r = call(&rec, "admin", "000000", "<tds:GetDeviceInformation/>").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&format!("<tds:SerialNumber>{}</tds:SerialNumber>", rec.serial())), "{}", r.body);
    for op in ["<tds:GetCapabilities/>", "<tds:GetServices/>", "<tds:GetUsers/>"] {
        let r = call(&rec, "admin", "000000", op).await;
        assert_eq!(r.status, 200, "{op}: {}", r.body);
    }
    let users = call(&rec, "admin", "000000", "<tds:GetUsers/>").await.body;
    assert!(users.contains("<tt:Username>admin</tt:Username><tt:UserLevel>Administrator</tt:UserLevel>"), "{users}");
    assert!(!users.contains("000000"), "no password in GetUsers");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_not_authorized_and_counts_toward_the_shared_lockout() {
    let rec = onvif_recorder(&[]).await;
    for i in 0..5 {
        let r = call(&rec, "admin", "bad000", "<tds:GetDeviceInformation/>").await;
        assert!(is_not_authorized(&r), "attempt {i}: {} {}", r.status, r.body);
    }
    assert_eq!((rec.stats().login_failures, rec.stats().lockouts_engaged), (5, 1));
    let r = call(&rec, "admin", "000000", "<tds:GetDeviceInformation/>").await;
    assert!(is_not_authorized(&r) && r.body.contains("locked"), "{}", r.body);
    let r = cgi(rec.http_addr(), "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "000000").await;
    assert_eq!(r.status, 401, "ONVIF failures lock HTTP CGI too");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_replayed_token_or_one_outside_the_clock_window_is_refused_without_counting() {
    let rec = onvif_recorder(&[]).await;
    let nonce = fresh_nonce();
    let created = now();
    let xml = envelope(&token("admin", "000000", &nonce, &created), "<tds:GetDeviceInformation/>");
    assert_eq!(soap(&rec, DEVICE, &xml, &[]).await.status, 200);
    let replay = soap(&rec, DEVICE, &xml, &[]).await;
    assert!(is_not_authorized(&replay), "a replayed token must not get in: {}", replay.body);
    let old = (chrono::Utc::now() - chrono::Duration::seconds(3600)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let stale =
        soap(&rec, DEVICE, &envelope(&token("admin", "000000", &fresh_nonce(), &old), "<tds:GetUsers/>"), &[]).await;
    assert!(is_not_authorized(&stale), "Created an hour ago: {}", stale.body);
    assert_eq!(rec.stats().login_failures, 0, "neither is a wrong password");
    rec.shutdown().await;
}

#[tokio::test]
async fn http_digest_works_on_the_soap_endpoint_too() {
    let rec = onvif_recorder(&[]).await;
    let xml = envelope("", "<tds:GetDeviceInformation/>");
    let first = soap(&rec, DEVICE, &xml, &[]).await;
    let ch = first.header("WWW-Authenticate").unwrap().to_owned();
    let auth = digest_header(
        "admin",
        "000000",
        &param(&ch, "realm").unwrap(),
        &param(&ch, "nonce").unwrap(),
        "POST",
        DEVICE,
        true,
        None,
    );
    let r = soap(&rec, DEVICE, &xml, &[("Authorization", auth)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bad = digest_header("admin", "bad000", &rec.realm(), &param(&ch, "nonce").unwrap(), "POST", DEVICE, true, None);
    let r = soap(&rec, DEVICE, &xml, &[("Authorization", bad)]).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("ter:NotAuthorized"));
    rec.shutdown().await;
}

fn set_user(name: &str, password: &str) -> String {
    format!(
        "<tds:SetUser><tds:User><tt:Username>{name}</tt:Username><tt:Password>{password}</tt:Password><tt:UserLevel>Administrator</tt:UserLevel></tds:User></tds:SetUser>"
    )
}

#[tokio::test]
async fn set_user_changes_the_one_account_store_under_the_6_character_rule() {
    let rec = onvif_recorder(&[]).await;
    for (pw, fault) in [("abc12", "ter:PasswordTooWeak"), ("abc1234", "ter:PasswordTooLong")] {
        let r = call(&rec, "admin", "000000", &set_user("admin", pw)).await;
        assert_eq!(r.status, 400, "{pw}: {}", r.body);
        assert!(r.body.contains(fault), "{pw}: {}", r.body);
    }
    let r = call(&rec, "admin", "000000", &set_user("admin", "onv123")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("SetUserResponse"));
    let machine = "/cgi-bin/magicBox.cgi?action=getMachineName";
    assert_eq!(cgi(rec.http_addr(), machine, "admin", "000000").await.status, 401, "old refused on HTTP CGI");
    assert_eq!(cgi(rec.http_addr(), machine, "admin", "onv123").await.status, 200, "new accepted on HTTP CGI");
    assert!(is_not_authorized(&call(&rec, "admin", "000000", "<tds:GetUsers/>").await));
    assert_eq!(call(&rec, "admin", "onv123", "<tds:GetUsers/>").await.status, 200);
    rec.shutdown().await;
}

#[tokio::test]
async fn a_secondary_user_cannot_set_the_administrators_password() {
    let rec = onvif_recorder(&[]).await;
    let add = "/cgi-bin/userManager.cgi?action=addUser&user.Name=op1&user.Password=oper01&user.Group=user&user.Sharable=true&user.Reserved=false";
    assert_eq!(cgi(rec.http_addr(), add, "admin", "000000").await.status, 200);
    let r = call(&rec, "op1", "oper01", &set_user("admin", "evil12")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("ter:OperationProhibited") && !r.body.contains("NotAuthorized"), "{}", r.body);
    assert_eq!(call(&rec, "admin", "000000", "<tds:GetUsers/>").await.status, 200, "unchanged");
    rec.shutdown().await;
}

#[tokio::test]
async fn media_profiles_point_at_the_rtsp_stream() {
    let rec = onvif_recorder(&[]).await;
    let r = soap(
        &rec,
        "/onvif/media_service",
        &envelope(&token("admin", "000000", &fresh_nonce(), &now()), "<trt:GetProfiles/>"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#"token="MainStream""#));
    let body = "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup><trt:ProfileToken>MainStream</trt:ProfileToken></trt:GetStreamUri>";
    let r = soap(&rec, "/onvif/media_service", &envelope(&token("admin", "000000", &fresh_nonce(), &now()), body), &[])
        .await;
    let uri = format!("rtsp://127.0.0.1:{}/cam/realmonitor?channel=1&amp;subtype=0", rec.rtsp_addr().port());
    assert!(r.body.contains(&uri), "{}", r.body);
    rec.shutdown().await;
}

#[tokio::test]
async fn garbage_dtds_and_entity_bombs_get_a_fault_and_the_service_stays_up() {
    let rec = onvif_recorder(&[]).await;
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><lolz>&lol2;</lolz></s:Body></s:Envelope>"#;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="e"><s:Body><tds:GetUsers>&xxe;</tds:GetUsers></s:Body></s:Envelope>"#;
    let deep = format!("<s:Envelope xmlns:s=\"e\"><s:Body>{}</s:Body></s:Envelope>", "<a>".repeat(10_000));
    for (what, xml) in [
        ("bomb", bomb.to_owned()),
        ("xxe", xxe.to_owned()),
        ("deep", deep),
        ("junk", "\u{1}<<>>&&".into()),
        ("empty", String::new()),
    ] {
        let r = soap(&rec, DEVICE, &xml, &[]).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert!(r.body.contains("env:Fault"), "{what}: {}", r.body);
        assert!(!r.body.contains("root:"), "{what}: no file content");
    }
    let r = call(&rec, "admin", "000000", "<tds:NoSuchOperation/>").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("ter:ActionNotSupported"));
    let r = soap(&rec, DEVICE, &envelope("", "<tds:GetSystemDateAndTime/>"), &[]).await;
    assert_eq!(r.status, 200, "still serving");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_firmware_without_onvif_has_no_soap_endpoint() {
    let rec = start_with(&[], |c| c.profile.interfaces.retain(|i| *i != Interface::Onvif)).await;
    let r = soap(&rec, DEVICE, &envelope("", "<tds:GetSystemDateAndTime/>"), &[]).await;
    assert_eq!(r.status, 404);
    rec.shutdown().await;
}

#[tokio::test]
async fn defect_onvif_keeps_old_password_after_a_change_elsewhere() {
    let rec = onvif_recorder(&[Defect::OnvifKeepsOldPassword]).await;
    let change = "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=new123&pwdOld=000000";
    assert_eq!(cgi(rec.http_addr(), change, "admin", "000000").await.status, 200);
    assert_eq!(
        call(&rec, "admin", "000000", "<tds:GetUsers/>").await.status,
        200,
        "the old password still gets in over ONVIF"
    );
    assert!(is_not_authorized(&call(&rec, "admin", "new123", "<tds:GetUsers/>").await));
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(Duration::from_secs(20)).await.unwrap();
    assert_eq!(
        call(&rec, "admin", "000000", "<tds:GetUsers/>").await.status,
        200,
        "its list is its own, across reboots"
    );
    rec.shutdown().await;
}

#[tokio::test]
async fn defect_onvif_setuser_bypasses_the_rule() {
    let rec = onvif_recorder(&[Defect::OnvifSetuserBypassesRule]).await;
    let r = call(&rec, "admin", "000000", &set_user("admin", "abc12")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let machine = "/cgi-bin/magicBox.cgi?action=getMachineName";
    assert_eq!(cgi(rec.http_addr(), machine, "admin", "abc12").await.status, 200, "a 5-character password was stored");
    let cgi_change = "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=abc1234&pwdOld=abc12";
    assert_eq!(cgi(rec.http_addr(), cgi_change, "admin", "abc12").await.status, 400, "the CGI still applies the rule");
    rec.shutdown().await;
}
