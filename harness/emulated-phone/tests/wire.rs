//! The phone's W3C WebDriver wire, spoken raw over real HTTP on loopback: capabilities, every
//! locator strategy, click / send keys / clear / text / attribute / displayed, page source shaped
//! like XCUITest's and UiAutomator2's, a PNG screenshot, the spec's errors with their HTTP status —
//! and the article's whole flow, checked on the recorder itself.

mod common;

use std::time::Instant;

use base64::Engine;
use common::*;
use serde_json::{Value, json};

struct Wd {
    http: reqwest::Client,
    base: String,
    sid: String,
}

const KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the phone answers");
    let status = resp.status().as_u16();
    let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(ctype.starts_with("application/json"), "every answer is JSON, got {ctype:?}");
    (status, resp.json().await.expect("JSON body"))
}

impl Wd {
    async fn open(base: &str, caps: Value) -> Wd {
        let http = reqwest::Client::new();
        let (status, v) = call(
            &http,
            reqwest::Method::POST,
            format!("{base}/session"),
            Some(json!({"capabilities": {"alwaysMatch": caps, "firstMatch": [{}]}})),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let sid = v["value"]["sessionId"].as_str().unwrap().to_owned();
        Wd { http, base: base.to_owned(), sid }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        call(&self.http, method, format!("{}/session/{}{path}", self.base, self.sid), body).await
    }

    async fn find(&self, using: &str, value: &str) -> Result<String, (u16, Value)> {
        let (s, v) = self.cmd(reqwest::Method::POST, "/element", Some(json!({"using": using, "value": value}))).await;
        if s == 200 { Ok(v["value"][KEY].as_str().unwrap().to_owned()) } else { Err((s, v)) }
    }

    async fn el(&self, id: &str) -> String {
        self.find("accessibility id", id).await.unwrap_or_else(|e| panic!("{id} on screen: {e:?}"))
    }

    async fn tap(&self, id: &str) {
        let e = self.el(id).await;
        let (s, v) = self.cmd(reqwest::Method::POST, &format!("/element/{e}/click"), Some(json!({}))).await;
        assert_eq!(s, 200, "tap {id}: {v}");
    }

    async fn type_into(&self, id: &str, text: &str) {
        let e = self.el(id).await;
        let (s, v) = self.cmd(reqwest::Method::POST, &format!("/element/{e}/value"), Some(json!({"text": text}))).await;
        assert_eq!(s, 200, "type into {id}: {v}");
    }

    async fn text(&self, id: &str) -> String {
        let e = self.el(id).await;
        let (_, v) = self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None).await;
        v["value"].as_str().unwrap().to_owned()
    }

    async fn source(&self) -> String {
        let (_, v) = self.cmd(reqwest::Method::GET, "/source", None).await;
        v["value"].as_str().unwrap().to_owned()
    }

    async fn sign_in_and_add(&self, serial: &str, password: &str) {
        self.type_into("account", ACCOUNT).await;
        self.type_into("password", ACCOUNT_PASSWORD).await;
        self.tap("sign-in").await;
        self.tap("menu").await;
        self.tap("menu-device-manager").await;
        self.tap("add-device").await;
        self.type_into("add-serial", serial).await;
        self.type_into("add-user", "admin").await;
        self.type_into("add-password", password).await;
        self.tap("add-save").await;
        // The new device opens on its own screen; back to the Device Manager.
        assert_eq!(self.text("title").await, serial);
        self.tap("back").await;
    }
}

fn ios() -> Value {
    json!({"platformName": "iOS", "appium:automationName": "XCUITest", "appium:deviceName": "iPhone 7", "appium:platformVersion": "10.3"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_article_flow_over_raw_webdriver_changes_the_recorders_password() {
    let lab = Lab::start(&[]).await;
    let wd = Wd::open(&lab.phone.url(), ios()).await;
    wd.sign_in_and_add(&lab.serial, SETUP).await;
    let cell = format!("device-{}", lab.serial);
    // The cell by xpath, predicate and class chain; its value says online.
    let by_xpath = wd.find("xpath", &format!("//XCUIElementTypeCell[@name='{cell}']")).await.unwrap();
    let (_, v) = wd.cmd(reqwest::Method::GET, &format!("/element/{by_xpath}/attribute/value"), None).await;
    assert_eq!(v["value"], "online");
    assert!(wd.find("-ios predicate string", &format!("name == '{cell}'")).await.is_ok());
    assert!(wd.find("-ios class chain", &format!("**/XCUIElementTypeCell[`name == '{cell}'`]")).await.is_ok());
    wd.tap(&cell).await;
    let settings = wd.find("xpath", "//*[@label='Settings']").await.unwrap();
    wd.cmd(reqwest::Method::POST, &format!("/element/{settings}/click"), Some(json!({}))).await;
    wd.tap("modify-password").await;
    wd.type_into("new-password", "newpw1").await;
    wd.type_into("confirm-password", "newpw1").await;
    let source = wd.source().await;
    assert!(!source.contains("newpw1") && !source.contains(SETUP), "no password in the page source:\n{source}");
    assert!(source.contains("<XCUIElementTypeSecureTextField") && source.contains("value=\"••••••\""), "{source}");
    wd.tap("check-mark").await;
    assert_eq!(wd.text("modify-success").await, "Password modified successfully");
    assert_eq!(lab.changes(), 1);
    assert!(lab.admin_accepts("newpw1").await, "the recorder holds the new password");
    assert!(!lab.admin_accepts(SETUP).await, "and no longer the old one");

    // The screenshot is a real PNG of the screen's size (half resolution).
    let (_, v) = wd.cmd(reqwest::Method::GET, "/screenshot", None).await;
    let png = base64::engine::general_purpose::STANDARD.decode(v["value"].as_str().unwrap()).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (187, 333));

    let (s, _) = wd.cmd(reqwest::Method::DELETE, "", None).await;
    assert_eq!(s, 200);
    assert_eq!(lab.phone.open_sessions(), 0);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w3c_errors_carry_the_specs_status_and_code() {
    let lab = Lab::start(&[]).await;
    let base = lab.phone.url();
    let wd = Wd::open(&base, ios()).await;
    let expect = |got: (u16, Value), status: u16, code: &str| {
        assert_eq!((got.0, got.1["value"]["error"].as_str().unwrap_or("")), (status, code), "{}", got.1);
        assert!(got.1["value"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    expect(wd.find("accessibility id", "nothing-here").await.unwrap_err(), 404, "no such element");
    expect(wd.find("xpath", "//XCUIElementTypeButton[@name=").await.unwrap_err(), 400, "invalid selector");
    expect(wd.find("css selector", "#x").await.unwrap_err(), 400, "invalid argument");
    expect(wd.cmd(reqwest::Method::POST, "/element", Some(json!({"using": "xpath"}))).await, 400, "invalid argument");
    // An element of a screen the app has left is stale.
    let account = wd.el("account").await;
    wd.type_into("account", ACCOUNT).await;
    wd.type_into("password", ACCOUNT_PASSWORD).await;
    wd.tap("sign-in").await;
    expect(
        wd.cmd(reqwest::Method::GET, &format!("/element/{account}/text"), None).await,
        404,
        "stale element reference",
    );
    // Typing into a button is not possible.
    let menu = wd.el("menu").await;
    expect(
        wd.cmd(reqwest::Method::POST, &format!("/element/{menu}/value"), Some(json!({"text": "x"}))).await,
        400,
        "element not interactable",
    );
    expect(wd.cmd(reqwest::Method::GET, "/appium/device/nothing", None).await, 404, "unknown command");
    expect(wd.cmd(reqwest::Method::PUT, "/source", None).await, 405, "unknown method");
    let http = reqwest::Client::new();
    expect(
        call(&http, reqwest::Method::GET, format!("{base}/session/nope/source"), None).await,
        404,
        "invalid session id",
    );
    expect(
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}/session"),
            Some(json!({"capabilities": {"alwaysMatch": {"platformName": "Symbian"}}})),
        )
        .await,
        500,
        "session not created",
    );
    // Older clients' base path.
    let (s, v) = call(&http, reqwest::Method::GET, format!("{base}/wd/hub/status"), None).await;
    assert_eq!((s, v["value"]["ready"].as_bool()), (200, Some(true)));
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn android_page_source_is_uiautomator2_shaped_and_the_2017_app_has_no_modify_password() {
    let lab = Lab::start(&[]).await;
    let wd = Wd::open(
        &lab.phone.url(),
        json!({"platformName": "Android", "appium:automationName": "UiAutomator2", "appium:deviceName": "Pixel"}),
    )
    .await;
    wd.sign_in_and_add(&lab.serial, SETUP).await;
    wd.tap(&format!("device-{}", lab.serial)).await;
    let settings = wd.find("xpath", "//android.widget.Button[@content-desc='settings']").await.unwrap();
    wd.cmd(reqwest::Method::POST, &format!("/element/{settings}/click"), Some(json!({}))).await;
    let source = wd.source().await;
    assert!(source.starts_with("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<hierarchy"), "{source}");
    assert!(source.contains("content-desc=\"settings-device-info\""), "{source}");
    assert!(!source.contains("modify-password"), "the 2017 Android app offers no Modify password:\n{source}");
    assert_eq!(wd.find("accessibility id", "modify-password").await.unwrap_err().0, 404);
    lab.shutdown().await;
}

/// The suite drives the phone tens of times per scenario: one command must stay around a
/// millisecond on loopback (keep-alive connection, no sleeps).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_round_trip_on_loopback_takes_about_a_millisecond() {
    let lab = Lab::start(&[]).await;
    let wd = Wd::open(&lab.phone.url(), ios()).await;
    wd.el("account").await;
    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        wd.el("account").await;
    }
    let per = t.elapsed() / n;
    println!("find element round trip: {per:?} (mean of {n})");
    assert!(per.as_millis() < 5, "a find element took {per:?} on loopback");
    lab.shutdown().await;
}
