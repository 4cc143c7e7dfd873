//! The `app:` section of a bench file (DESIGN.md §4): parsed here and nowhere else. The rig crate
//! parses the rest of the file ([`resetlab_rig::Bench`]) and allows this section without reading
//! it; the one question that needs both halves — does a person take part in the run — is answered
//! by [`needs_operator`].
//!
//! ```yaml
//! app: { driver: direct, platform: ios, form: phone, remote: 203.0.113.7:8080,
//!        profile: fixtures/apps/flir-cloud-2017.yaml }
//! app: { driver: webdriver, url: http://appium-host:4723, platform: ios, form: phone,
//!        account: owner@example.com, account_password_env: RESETLAB_APP_PASSWORD,
//!        capabilities: { appium:udid: 00008030-…, appium:bundleId: com.flir.cloud },
//!        remote_capabilities: { tablet: { appium:udid: … }, computer: { … } } }
//! ```
//!
//! `relay:` is an `http://` or `https://` URL. resetlab's HTTP client speaks TLS (rustls, the
//! system's CA store); a relay whose certificate cannot be verified (self-signed) is reached only
//! when the bench file says so at its top level, `tls: { accept_self_signed: true }`
//! ([`resetlab_rig::bench::TlsSpec`]), and the report records that it did.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::platform::{FormFactor, Platform};

/// Which app driver a bench uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppDriver {
    /// resetlab's relay at `relay:` (no driven app: scenarios needing the app are not applicable).
    Relay,
    /// [`crate::DirectApp`] to the bench recorder, remote logins to `remote:`.
    Direct,
    /// [`crate::OperatorApp`]: a person with a real phone.
    Operator,
    /// [`crate::WebDriverApp`]: the app driven through Appium (or the emulated phone) at `url:`.
    WebDriver,
    /// The embedded lab's app: the emulated phone behind the lab's own relay, driven through
    /// [`crate::WebDriverApp`].
    Emulated,
    /// No app on this bench.
    None,
}

/// `app:` of a bench file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The driver.
    pub driver: AppDriver,
    /// Relay base URL (driver relay).
    #[serde(default)]
    pub relay: Option<String>,
    /// Platform of the app.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Form factor of the app.
    #[serde(default)]
    pub form: Option<FormFactor>,
    /// Address for remote access (e.g. a port forward on the bench router), driver direct.
    #[serde(default)]
    pub remote: Option<SocketAddr>,
    /// App profile file (default: the 2017 app).
    #[serde(default)]
    pub profile: Option<PathBuf>,
    /// App account name (driver relay).
    #[serde(default)]
    pub account: Option<String>,
    /// Environment variable with the app account password (driver relay).
    #[serde(default)]
    pub account_password_env: Option<String>,
    /// Answers file for the operator driver when there is no terminal.
    #[serde(default)]
    pub answers: Option<PathBuf>,
    /// The WebDriver server (driver webdriver): `http://appium-host:4723`.
    #[serde(default)]
    pub url: Option<String>,
    /// Extra capabilities of the app's WebDriver session (driver webdriver).
    #[serde(default)]
    pub capabilities: Option<serde_json::Map<String, serde_json::Value>>,
    /// Extra capabilities of the remote clients' sessions, per form factor (driver webdriver).
    #[serde(default)]
    pub remote_capabilities: Option<HashMap<FormFactor, serde_json::Map<String, serde_json::Value>>>,
}

impl AppSpec {
    /// The app session this bench asks for: its platform and form (default an iPhone) and its app
    /// profile (default the 2017 app), signed in as `account`.
    pub fn session(&self, account: &str) -> Result<crate::AppSession, resetlab_profile::FixtureError> {
        let profile = match &self.profile {
            Some(p) => crate::AppProfile::load(p)?,
            None => crate::flir_cloud_2017(),
        };
        Ok(crate::AppSession::new(
            self.platform.unwrap_or(Platform::Ios),
            self.form.unwrap_or(FormFactor::Phone),
            profile,
            account,
        ))
    }
}

impl AppSpec {
    /// The WebDriver settings of a `driver: webdriver` bench: its `url:`, capabilities and app
    /// account, the account's password read from `account_password_env` (never from the file).
    pub fn webdriver_config(&self) -> Result<crate::WebDriverConfig, String> {
        let url = self
            .url
            .clone()
            .ok_or("app: driver webdriver needs `url:` (the Appium server, e.g. http://appium-host:4723)")?;
        let account =
            self.account.clone().ok_or("app: driver webdriver needs `account:` (the app account to sign in with)")?;
        let var = self.account_password_env.clone().ok_or(
            "app: driver webdriver needs `account_password_env:` (the variable holding the app account password)",
        )?;
        let password =
            std::env::var(&var).map_err(|_| format!("app: the app account password variable {var} is not set"))?;
        let mut config = crate::WebDriverConfig::new(url, account, resetlab_wire::Secret::new(password));
        config.capabilities = self.capabilities.clone().unwrap_or_default();
        config.remote_capabilities = self.remote_capabilities.clone().unwrap_or_default();
        Ok(config)
    }
}

/// Whether a person is asked to do something during a run: switch the power or the network link
/// by hand ([`resetlab_rig::Bench::switched_by_hand`]) or hold the phone (`app: { driver:
/// operator }`). The one place this is decided: the suite starts the bench's operator from it, and
/// prints plain lines instead of a live bar over the operator's instructions.
pub fn needs_operator(bench: &resetlab_rig::Bench, app: Option<&AppSpec>) -> bool {
    bench.switched_by_hand() || app.is_some_and(|a| a.driver == AppDriver::Operator)
}

#[derive(Deserialize)]
struct Top {
    #[serde(default)]
    app: Option<AppSpec>,
}

/// Read the `app:` section of a bench file (None when the bench has none).
pub fn load(file: impl AsRef<Path>) -> Result<Option<AppSpec>, resetlab_profile::FixtureError> {
    let file = file.as_ref();
    let text = std::fs::read_to_string(file)
        .map_err(|source| resetlab_profile::FixtureError::Read { file: file.to_owned(), source })?;
    parse(file, &text)
}

/// Parse the `app:` section from bench text; `file` is used in messages.
pub fn parse(file: impl AsRef<Path>, text: &str) -> Result<Option<AppSpec>, resetlab_profile::FixtureError> {
    let app = resetlab_profile::parse_yaml::<Top>(file.as_ref(), text)?.app;
    if let Some(spec) = &app {
        check_relay_url(file.as_ref(), text, spec)?;
    }
    Ok(app)
}

/// `relay:` must be an `http://` or `https://` URL.
fn check_relay_url(file: &Path, text: &str, spec: &AppSpec) -> Result<(), resetlab_profile::FixtureError> {
    let Some(url) = &spec.relay else {
        return Ok(());
    };
    // The URL itself is not repeated: it could carry credentials (`http://user:pw@host`).
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
    if matches!(scheme.as_str(), "http" | "https") {
        return Ok(());
    }
    let message = "expected an http:// or https:// URL of the relay (e.g. https://relay.lab:8443)";
    Err(resetlab_profile::FixtureError::semantic(file, text, "app.relay", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_bench_gives_the_remote_address() {
        let text = "rig: b\ndevice: { model: X, address: 10.0.0.2 }\napp: { driver: direct, platform: ios, form: tablet, remote: 127.0.0.1:8080 }\n";
        let spec = parse("bench.yaml", text).unwrap().unwrap();
        assert_eq!(spec.driver, AppDriver::Direct);
        assert_eq!(spec.form, Some(FormFactor::Tablet));
        assert_eq!(spec.remote, Some("127.0.0.1:8080".parse().unwrap()));
    }

    #[test]
    fn webdriver_bench_gives_url_capabilities_and_the_password_from_the_environment() {
        let text = "rig: b\napp: { driver: webdriver, url: 'http://127.0.0.1:4723', platform: android, form: phone, account: me, account_password_env: RESETLAB_TEST_APP_PW_1, capabilities: { 'appium:udid': emulator-5554 }, remote_capabilities: { tablet: { 'appium:udid': R52 } } }\n";
        let spec = parse("bench.yaml", text).unwrap().unwrap();
        assert_eq!(spec.driver, AppDriver::WebDriver);
        let err = spec.webdriver_config().unwrap_err();
        assert!(err.contains("RESETLAB_TEST_APP_PW_1"), "{err}");
        // SAFETY: this variable is read by this test only.
        unsafe { std::env::set_var("RESETLAB_TEST_APP_PW_1", "pw") };
        let c = spec.webdriver_config().unwrap();
        assert_eq!(
            (c.url.as_str(), c.account.as_str(), c.account_password.expose()),
            ("http://127.0.0.1:4723", "me", "pw")
        );
        assert_eq!(c.capabilities["appium:udid"], "emulator-5554");
        assert_eq!(c.remote_capabilities[&FormFactor::Tablet]["appium:udid"], "R52");
    }

    #[test]
    fn unknown_app_key_names_the_key() {
        let text = "rig: b\napp: { driver: direct, remot: 1.2.3.4:80 }\n";
        let err = parse("bench.yaml", text).unwrap_err().to_string();
        assert!(err.contains("remot"), "{err}");
    }

    #[test]
    fn appium_bench_parses() {
        let path = resetlab_profile::fixtures_dir().join("../rigs/lab-appium.yaml");
        let spec = load(path).unwrap().unwrap();
        assert_eq!(spec.driver, AppDriver::WebDriver);
        assert_eq!(spec.url.as_deref(), Some("http://appium-host:4723"));
        assert_eq!(spec.capabilities.unwrap()["appium:bundleId"], "com.flir.cloud");
        assert!(spec.remote_capabilities.unwrap().contains_key(&FormFactor::Computer));
    }

    #[test]
    fn an_https_relay_is_accepted_and_other_schemes_are_refused_naming_the_line() {
        let text = "rig: b\napp:\n  driver: relay\n  relay: https://relay.example:8443\n";
        assert!(parse("bench.yaml", text).unwrap().is_some());
        let text = "rig: b\napp: { driver: relay, relay: 'HTTPS://relay.example' }\n";
        assert!(parse("bench.yaml", text).unwrap().is_some());
        let text = "rig: b\napp:\n  driver: relay\n  relay: wss://relay.example:8443\n";
        let err = parse("bench.yaml", text).unwrap_err().to_string();
        assert!(err.contains("bench.yaml:4") && err.contains("app.relay"), "{err}");
        let text = "rig: b\napp: { driver: relay, relay: 'relay.example:8080' }\n";
        let err = parse("bench.yaml", text).unwrap_err().to_string();
        assert!(err.contains("expected an http:// or https:// URL"), "{err}");
        let text = "rig: b\napp: { driver: relay, relay: 'http://127.0.0.1:8080' }\n";
        assert!(parse("bench.yaml", text).unwrap().is_some());
    }

    #[test]
    fn a_person_takes_part_when_a_switch_or_the_app_is_operated_by_hand() {
        let rigs = resetlab_profile::fixtures_dir().join("../rigs");
        for (file, person) in [("field.yaml", true), ("lab-modbus-tcp.yaml", false), ("emulator.yaml", false)] {
            let bench = resetlab_rig::Bench::load(rigs.join(file)).unwrap();
            let app = load(rigs.join(file)).unwrap();
            assert_eq!(needs_operator(&bench, app.as_ref()), person, "{file}");
        }
        let text = "rig: b\ndevice: { model: X, address: 10.0.0.2 }\napp: { driver: operator }\n";
        let (bench, app) = (resetlab_rig::Bench::parse("b.yaml", text).unwrap(), parse("b.yaml", text).unwrap());
        assert!(!bench.switched_by_hand() && needs_operator(&bench, app.as_ref()), "the app alone needs a person");
    }

    #[test]
    fn emulator_bench_parses() {
        let path = resetlab_profile::fixtures_dir().join("../rigs/emulator.yaml");
        let spec = load(path).unwrap().unwrap();
        assert_eq!(spec.driver, AppDriver::Emulated);
        assert_eq!(spec.platform, Some(Platform::Ios));
    }
}
