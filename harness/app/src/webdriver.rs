//! The `webdriver` app driver: the real app (or the emulated phone) driven through a W3C WebDriver
//! server — Appium with XCUITest / UiAutomator2 / Mac2 in a lab, `resetlab-emulated-phone` in CI.
//! It taps and reads the screen through the app profile's screen map ([`ScreenMap`]): what the
//! menu shows, what Settings shows, and which message appears after the check mark. Every outcome
//! comes from what the screen showed, nothing from the profile's expectations.
//!
//! The WebDriver client is fantoccini (no TLS: Appium and the phone speak plain HTTP), with
//! Appium's locator strategies sent as custom find commands. When a step does not go as asked, the
//! driver keeps a screenshot and the page source ([`App::last_failure_artifacts`]).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fantoccini::elements::{Element, ElementRef};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use resetlab_wire::Secret;
use serde_json::{Map, Value, json};

use crate::app::{App, AppSession, ScreenEvidence};
use crate::entry::{DeviceCredentials, DeviceEntry};
use crate::error::AppError;
use crate::flow::{LoginOutcome, MenuItem, ModifyOutcome, SettingsItem};
use crate::platform::{FormFactor, Platform};
use crate::screens::{Locator, ScreenKey, ScreenMap};

/// How long a step waits for the screen it needs (a real phone answers a tap in well under this;
/// the recorder behind the relay has its own, shorter deadline).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Every screen-map key this driver uses (the shipped profiles must map them all).
pub const USED_KEYS: &[ScreenKey] = &[
    ScreenKey::SignInAccount,
    ScreenKey::SignInPassword,
    ScreenKey::SignInSubmit,
    ScreenKey::SignInError,
    ScreenKey::MenuButton,
    ScreenKey::Back,
    ScreenKey::DeviceManager,
    ScreenKey::AddDevice,
    ScreenKey::AddSerial,
    ScreenKey::AddUser,
    ScreenKey::AddPassword,
    ScreenKey::AddSave,
    ScreenKey::AddError,
    ScreenKey::DeviceCell,
    ScreenKey::DeviceState,
    ScreenKey::LiveView,
    ScreenKey::DeviceInfo,
    ScreenKey::DeleteDevice,
    ScreenKey::Settings,
    ScreenKey::SettingsDeviceInfo,
    ScreenKey::ModifyPassword,
    ScreenKey::NewPassword,
    ScreenKey::ConfirmPassword,
    ScreenKey::CheckMark,
    ScreenKey::SuccessMessage,
    ScreenKey::LocalError,
    ScreenKey::DeviceError,
    ScreenKey::OfflineMessage,
    ScreenKey::UnknownMessage,
    ScreenKey::DismissMessage,
    ScreenKey::LiveViewOpen,
    ScreenKey::DeviceInfoOpen,
    ScreenKey::LoginError,
    ScreenKey::NoAnswer,
];

/// Where the WebDriver server is and what to ask it for.
#[derive(Debug, Clone)]
pub struct WebDriverConfig {
    /// The WebDriver server (`http://appium-host:4723`, the emulated phone's URL).
    pub url: String,
    /// Extra capabilities for the app's session (the bench's `capabilities:`: `appium:udid`,
    /// `appium:bundleId`, `appium:app`, …); they override the driver's own.
    pub capabilities: Map<String, Value>,
    /// Extra capabilities per remote client (the smartphone, tablet and computer of "remotely").
    pub remote_capabilities: HashMap<FormFactor, Map<String, Value>>,
    /// The app account to sign in with.
    pub account: String,
    /// Its password.
    pub account_password: Secret,
    /// How long a step waits for its screen.
    pub step_timeout: Duration,
}

impl WebDriverConfig {
    /// A server at `url`, signing in as `account`.
    pub fn new(url: impl Into<String>, account: impl Into<String>, account_password: Secret) -> WebDriverConfig {
        WebDriverConfig {
            url: url.into(),
            capabilities: Map::new(),
            remote_capabilities: HashMap::new(),
            account: account.into(),
            account_password,
            step_timeout: STEP_TIMEOUT,
        }
    }
}

/// Appium's find elements with any strategy (fantoccini's `Locator` knows only the W3C ones).
#[derive(Debug)]
struct FindElements {
    using: String,
    value: String,
}

impl WebDriverCompatibleCommand for FindElements {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/elements", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"using": self.using, "value": self.value}).to_string()))
    }
}

/// The W3C web element key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One WebDriver session with the app on one device.
struct Driven {
    client: Client,
    url: String,
    platform: Platform,
    form: FormFactor,
    screens: ScreenMap,
    timeout: Duration,
    evidence: Option<ScreenEvidence>,
}

/// The capabilities the driver asks for on `platform`/`form` with the app release `release`.
fn capabilities(
    platform: Platform,
    form: FormFactor,
    release: &str,
    device: &str,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let (name, automation) = match (platform, form) {
        (_, FormFactor::Computer) => ("mac", "Mac2"),
        (Platform::Ios, _) => ("iOS", "XCUITest"),
        (Platform::Android, _) => ("Android", "UiAutomator2"),
    };
    let mut caps = Map::new();
    caps.insert("platformName".into(), Value::from(name));
    caps.insert("appium:automationName".into(), Value::from(automation));
    caps.insert("appium:deviceName".into(), Value::from(device));
    caps.insert("resetlab:release".into(), Value::from(release));
    caps.insert("resetlab:formFactor".into(), Value::from(form.to_string()));
    for (k, v) in extra {
        caps.insert(k.clone(), v.clone());
    }
    caps
}

impl Driven {
    async fn open(
        config: &WebDriverConfig,
        session: &AppSession,
        form: FormFactor,
        extra: &Map<String, Value>,
    ) -> Result<Driven, AppError> {
        let screens = session.profile.screens.clone().ok_or_else(|| {
            AppError::NotConfigured(format!(
                "the app profile {} has no screen map (screens:) for the webdriver driver",
                session.profile.name
            ))
        })?;
        let mut url = config.url.clone();
        if !url.ends_with('/') {
            url.push('/');
        }
        let device = session.platform.device_name(form);
        let caps = capabilities(session.platform, form, &session.profile.name, device, extra);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            tokio::time::timeout(config.step_timeout, ClientBuilder::new(connector).capabilities(caps).connect(&url))
                .await
                .map_err(|_| AppError::WebDriver {
                    url: config.url.clone(),
                    step: "new session".into(),
                    reason: format!("no answer within {:?}", config.step_timeout),
                })?
                .map_err(|e| AppError::WebDriver {
                    url: config.url.clone(),
                    step: format!("new session on an {device}"),
                    reason: e.to_string(),
                })?;
        let mut d = Driven {
            client,
            url: config.url.clone(),
            platform: session.platform,
            form,
            screens,
            timeout: config.step_timeout,
            evidence: None,
        };
        d.sign_in(&config.account, &config.account_password).await?;
        Ok(d)
    }

    fn err(&self, step: &str, reason: impl Into<String>) -> AppError {
        AppError::WebDriver { url: self.url.clone(), step: step.to_owned(), reason: reason.into() }
    }

    fn locator(&self, key: ScreenKey, serial: Option<&str>) -> Result<Locator, AppError> {
        let l = self.screens.locator(self.platform, self.form, key).ok_or_else(|| {
            AppError::NotConfigured(format!(
                "the app profile's screen map has no `{key}` for {} {}",
                self.platform, self.form
            ))
        })?;
        Ok(serial.map_or_else(|| l.clone(), |s| l.for_serial(s)))
    }

    /// The elements `key` finds on the screen now (none is not an error).
    async fn find(&self, step: &str, key: ScreenKey, serial: Option<&str>) -> Result<Vec<Element>, AppError> {
        let l = self.locator(key, serial)?;
        let found = self
            .client
            .issue_cmd(FindElements { using: l.using.clone(), value: l.value.clone() })
            .await
            .map_err(|e| self.err(step, format!("find `{key}` ({l}): {e}")))?;
        let Value::Array(list) = found else {
            return Err(self.err(step, format!("find `{key}` ({l}) answered {found}, not a list")));
        };
        Ok(list
            .iter()
            .filter_map(|v| v.get(ELEMENT_KEY).or_else(|| v.get("ELEMENT")).and_then(Value::as_str))
            .map(|id| Element::from_element_id(self.client.clone(), ElementRef::from(id.to_owned())))
            .collect())
    }

    async fn present(&self, step: &str, key: ScreenKey, serial: Option<&str>) -> Result<Option<Element>, AppError> {
        Ok(self.find(step, key, serial).await?.into_iter().next())
    }

    /// Keep the screen as evidence of `step`.
    async fn capture(&mut self, step: String) {
        let screenshot_png = self.client.screenshot().await.unwrap_or_default();
        let page_source = self.client.source().await.unwrap_or_else(|e| format!("(page source unavailable: {e})"));
        self.evidence = Some(ScreenEvidence { step, screenshot_png, page_source });
    }

    /// Wait until one of `keys` is on the screen; which one, and the element.
    async fn wait_any(
        &mut self,
        step: &str,
        keys: &[(ScreenKey, Option<&str>)],
    ) -> Result<(ScreenKey, Element), AppError> {
        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            for (key, serial) in keys {
                if let Some(e) = self.present(step, *key, *serial).await? {
                    return Ok((*key, e));
                }
            }
            if Instant::now() >= deadline {
                let names = keys.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                let reason = format!("none of {names} appeared within {:?}", self.timeout);
                self.capture(format!("{step}: {reason}")).await;
                return Err(self.err(step, reason));
            }
            // The screen changes on its own after a tap on a real phone: look again shortly.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    async fn need(&mut self, step: &str, key: ScreenKey, serial: Option<&str>) -> Result<Element, AppError> {
        Ok(self.wait_any(step, &[(key, serial)]).await?.1)
    }

    async fn tap(&mut self, step: &str, key: ScreenKey, serial: Option<&str>) -> Result<(), AppError> {
        let e = self.need(step, key, serial).await?;
        e.click().await.map_err(|err| self.err(step, format!("tap `{key}`: {err}")))
    }

    /// Clear the field `key` and type `text` (never shown in an error: it may be a password).
    async fn type_into(&mut self, step: &str, key: ScreenKey, text: &str) -> Result<(), AppError> {
        let e = self.need(step, key, None).await?;
        e.clear().await.map_err(|err| self.err(step, format!("clear `{key}`: {err}")))?;
        e.send_keys(text).await.map_err(|err| self.err(step, format!("type into `{key}`: {err}")))
    }

    async fn text(&self, step: &str, e: &Element) -> Result<String, AppError> {
        e.text().await.map_err(|err| self.err(step, format!("read text: {err}")))
    }

    async fn sign_in(&mut self, account: &str, password: &Secret) -> Result<(), AppError> {
        let step = "sign into the app account";
        self.type_into(step, ScreenKey::SignInAccount, account).await?;
        self.type_into(step, ScreenKey::SignInPassword, password.expose()).await?;
        self.tap(step, ScreenKey::SignInSubmit, None).await?;
        match self.wait_any(step, &[(ScreenKey::MenuButton, None), (ScreenKey::SignInError, None)]).await? {
            (ScreenKey::MenuButton, _) => Ok(()),
            (_, e) => {
                let reason = self.text(step, &e).await?;
                self.capture(format!("{step}: {reason}")).await;
                Err(AppError::SignIn { relay: self.url.clone(), reason })
            }
        }
    }

    /// Back to the home screen (its menu button in the upper-left corner): dismiss a message, tap
    /// back, or the platform's Back, as many times as it takes.
    async fn go_home(&mut self, step: &str) -> Result<(), AppError> {
        for _ in 0..12 {
            if self.present(step, ScreenKey::MenuButton, None).await?.is_some() {
                return Ok(());
            }
            let next = match self.present(step, ScreenKey::DismissMessage, None).await? {
                Some(e) => Some(e),
                None => self.present(step, ScreenKey::Back, None).await?,
            };
            match next {
                Some(e) => e.click().await.map_err(|err| self.err(step, format!("going back: {err}")))?,
                None => self.client.back().await.map_err(|err| self.err(step, format!("Back: {err}")))?,
            }
        }
        self.capture(format!("{step}: the home screen did not come back")).await;
        Err(self.err(step, "the home screen (menu button) did not come back after 12 steps back"))
    }

    /// Home → menu → Device Manager; `false` when the menu has no Device Manager.
    async fn open_device_manager(&mut self, step: &str) -> Result<bool, AppError> {
        self.go_home(step).await?;
        self.tap(step, ScreenKey::MenuButton, None).await?;
        let Some(dm) = self.present(step, ScreenKey::DeviceManager, None).await? else {
            self.capture(format!("{step}: the app menu shows no Device Manager")).await;
            return Ok(false);
        };
        dm.click().await.map_err(|err| self.err(step, format!("tap `device_manager`: {err}")))?;
        Ok(true)
    }

    /// Open the device `serial` from the Device Manager and its live view (or device information),
    /// and read what it shows.
    async fn open_view(&mut self, step: &str, serial: &str, live: bool) -> Result<LoginOutcome, AppError> {
        if !self.open_device_manager(step).await? {
            return Err(self.err(step, "the app menu shows no Device Manager"));
        }
        self.tap(step, ScreenKey::DeviceCell, Some(serial)).await?;
        self.read_view(step, live).await
    }

    /// On a device's screen: open its live view (or device information) and read what it shows.
    async fn read_view(&mut self, step: &str, live: bool) -> Result<LoginOutcome, AppError> {
        self.tap(step, if live { ScreenKey::LiveView } else { ScreenKey::DeviceInfo }, None).await?;
        let open = if live { ScreenKey::LiveViewOpen } else { ScreenKey::DeviceInfoOpen };
        let (key, e) = self
            .wait_any(
                step,
                &[
                    (open, None),
                    (ScreenKey::LoginError, None),
                    (ScreenKey::OfflineMessage, None),
                    (ScreenKey::NoAnswer, None),
                ],
            )
            .await?;
        let text = self.text(step, &e).await?;
        let outcome = match key {
            k if k == open => LoginOutcome::Accepted,
            ScreenKey::LoginError => LoginOutcome::Refused(text.clone()),
            ScreenKey::OfflineMessage => LoginOutcome::Offline,
            _ => LoginOutcome::Unknown(text.clone()),
        };
        if outcome != LoginOutcome::Accepted {
            self.capture(format!("{step}: {text}")).await;
        }
        Ok(outcome)
    }

    /// Home → add device → serial, user, password → save; the recorder's refusal if shown, else
    /// the app is on the new device's screen.
    async fn add_device(
        &mut self,
        step: &str,
        serial: &str,
        creds: &DeviceCredentials,
    ) -> Result<Result<(), String>, AppError> {
        self.go_home(step).await?;
        self.tap(step, ScreenKey::AddDevice, None).await?;
        self.type_into(step, ScreenKey::AddSerial, serial).await?;
        self.type_into(step, ScreenKey::AddUser, &creds.user).await?;
        self.type_into(step, ScreenKey::AddPassword, creds.password.expose()).await?;
        self.tap(step, ScreenKey::AddSave, None).await?;
        match self.wait_any(step, &[(ScreenKey::AddError, None), (ScreenKey::LiveView, None)]).await? {
            (ScreenKey::AddError, e) => {
                let reason = self.text(step, &e).await?;
                self.capture(format!("{step}: {reason}")).await;
                Ok(Err(reason))
            }
            _ => Ok(Ok(())),
        }
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The app driven through WebDriver.
pub struct WebDriverApp {
    session: AppSession,
    config: WebDriverConfig,
    screen: Driven,
    entries: BTreeMap<String, DeviceEntry>,
    selected: Option<String>,
}

impl std::fmt::Debug for WebDriverApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDriverApp")
            .field("session", &self.session)
            .field("url", &self.config.url)
            .field("entries", &self.entries)
            .finish()
    }
}

impl WebDriverApp {
    /// Open the app on `session`'s device at the WebDriver server and sign into the app account.
    pub async fn open(session: AppSession, config: WebDriverConfig) -> Result<WebDriverApp, AppError> {
        let screen = Driven::open(&config, &session, session.form, &config.capabilities).await?;
        Ok(WebDriverApp { session, config, screen, entries: BTreeMap::new(), selected: None })
    }

    /// End the WebDriver session (dropping the app ends it too, in the background).
    pub async fn close(self) {
        self.screen.close().await;
    }

    /// A remote login to recorder `serial` from a smartphone, tablet or computer: a second
    /// WebDriver session of that form factor signs into the app account, adds the recorder with
    /// `creds` and opens its live view (device information on a computer); what the screen shows
    /// is the outcome. Needs no saved entry in this app (a factory-state recorder has none).
    pub async fn remote_login_to(
        &mut self,
        serial: &str,
        form: FormFactor,
        creds: &DeviceCredentials,
    ) -> Result<LoginOutcome, AppError> {
        let step = format!("remote login from a {form}");
        let extra = self.config.remote_capabilities.get(&form).cloned().unwrap_or_default();
        let mut client = Driven::open(&self.config, &self.session, form, &extra).await?;
        let outcome = match client.add_device(&step, serial, creds).await {
            Ok(Err(reason)) => Ok(LoginOutcome::Refused(reason)),
            // A remote client goes straight from adding the recorder to its live view (device
            // information on a computer): its menu is not what is being tested.
            Ok(Ok(())) => client.read_view(&step, form != FormFactor::Computer).await,
            Err(e) => Err(e),
        };
        if let Some(ev) = client.evidence.take() {
            self.screen.evidence = Some(ev);
        }
        client.close().await;
        outcome
    }

    fn current(&self, step: &'static str) -> Result<String, AppError> {
        self.selected
            .clone()
            .or_else(|| (self.entries.len() == 1).then(|| self.entries.keys().next().cloned()).flatten())
            .ok_or_else(|| AppError::WrongScreen { step, needs: "a tapped device", on: "no device chosen".into() })
    }
}

#[async_trait]
impl App for WebDriverApp {
    fn session(&self) -> &AppSession {
        &self.session
    }

    async fn open_menu(&mut self) -> Result<Vec<MenuItem>, AppError> {
        let step = "open the app menu";
        self.screen.go_home(step).await?;
        self.screen.tap(step, ScreenKey::MenuButton, None).await?;
        if self.screen.present(step, ScreenKey::DeviceManager, None).await?.is_some() {
            return Ok(vec![MenuItem::DeviceManager]);
        }
        self.screen.capture(format!("{step}: the menu shows no Device Manager")).await;
        Ok(Vec::new())
    }

    async fn device_manager(&mut self) -> Result<Vec<DeviceEntry>, AppError> {
        let step = "tap Device Manager";
        let dm = self.screen.present(step, ScreenKey::DeviceManager, None).await?;
        let Some(dm) = dm else {
            return Err(AppError::WrongScreen {
                step: "device_manager",
                needs: "app menu with Device Manager",
                on: "a screen without it".into(),
            });
        };
        dm.click().await.map_err(|e| self.screen.err(step, e.to_string()))?;
        let serials: Vec<String> = self.entries.keys().cloned().collect();
        for s in serials {
            let state = match self.screen.present(step, ScreenKey::DeviceState, Some(&s)).await? {
                Some(e) => self.screen.text(step, &e).await?,
                None => String::new(),
            };
            if let Some(e) = self.entries.get_mut(&s) {
                e.online = state.trim().eq_ignore_ascii_case("online");
            }
        }
        Ok(self.entries.values().cloned().collect())
    }

    async fn tap_device(&mut self, serial: &str) -> Result<DeviceEntry, AppError> {
        let step = "tap the recorder in the Device Manager";
        let entry = self.entries.get(serial).cloned().ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))?;
        self.screen.tap(step, ScreenKey::DeviceCell, Some(serial)).await?;
        self.selected = Some(serial.to_owned());
        Ok(entry)
    }

    async fn settings(&mut self) -> Result<Vec<SettingsItem>, AppError> {
        let step = "tap Settings";
        self.screen.tap(step, ScreenKey::Settings, None).await?;
        let mut items = Vec::new();
        if self.screen.present(step, ScreenKey::SettingsDeviceInfo, None).await?.is_some() {
            items.push(SettingsItem::DeviceInfo);
        }
        if self.screen.present(step, ScreenKey::ModifyPassword, None).await?.is_some() {
            items.push(SettingsItem::ModifyPassword);
        } else {
            self.screen.capture(format!("{step}: Settings shows no Modify password")).await;
        }
        Ok(items)
    }

    async fn modify_password(&mut self, new: &Secret, confirm: &Secret) -> Result<ModifyOutcome, AppError> {
        let step = "Modify password";
        let serial = self.current("modify_password")?;
        let Some(item) = self.screen.present(step, ScreenKey::ModifyPassword, None).await? else {
            self.screen.capture(format!("{step}: Settings shows no Modify password")).await;
            return Ok(ModifyOutcome::NotOffered);
        };
        item.click().await.map_err(|e| self.screen.err(step, format!("tap `modify_password`: {e}")))?;
        self.screen.type_into(step, ScreenKey::NewPassword, new.expose()).await?;
        self.screen.type_into(step, ScreenKey::ConfirmPassword, confirm.expose()).await?;
        self.screen.tap(step, ScreenKey::CheckMark, None).await?;
        let shown = [
            (ScreenKey::SuccessMessage, None),
            (ScreenKey::LocalError, None),
            (ScreenKey::DeviceError, None),
            (ScreenKey::OfflineMessage, None),
            (ScreenKey::UnknownMessage, None),
        ];
        let (key, e) = self.screen.wait_any(step, &shown).await?;
        let text = self.screen.text(step, &e).await?;
        let outcome = match key {
            ScreenKey::SuccessMessage => ModifyOutcome::Changed,
            ScreenKey::LocalError => ModifyOutcome::RefusedByApp(text.clone()),
            ScreenKey::DeviceError => ModifyOutcome::RefusedByDevice(text.clone()),
            ScreenKey::OfflineMessage => ModifyOutcome::Offline,
            _ => ModifyOutcome::Unknown(text.clone()),
        };
        if outcome != ModifyOutcome::Changed {
            self.screen.capture(format!("{step}: the app showed {text:?}")).await;
        }
        if let Some(ok) = self.screen.present(step, ScreenKey::DismissMessage, None).await? {
            ok.click().await.map_err(|e| self.screen.err(step, format!("dismiss the message: {e}")))?;
        }
        // What the person holding the phone now believes the entry holds; whether the app really
        // kept it is seen only through `connect_saved_entry`.
        if let Some(e) = self.entries.get_mut(&serial) {
            match &outcome {
                ModifyOutcome::Changed => {
                    e.credentials.password = new.clone();
                    e.unconfirmed = None;
                }
                ModifyOutcome::Unknown(_) => e.unconfirmed = Some(new.clone()),
                _ => {}
            }
        }
        tracing::info!(serial = %serial, outcome = ?outcome, via = %self.config.url, "modify password (webdriver)");
        Ok(outcome)
    }

    async fn connect_saved_entry(&mut self) -> Result<LoginOutcome, AppError> {
        let serial = self.current("connect_saved_entry")?;
        self.screen.open_view("open the saved device's live view", &serial, true).await
    }

    async fn remote_login(&mut self, form: FormFactor, creds: &DeviceCredentials) -> Result<LoginOutcome, AppError> {
        let serial = self.current("remote_login")?;
        self.remote_login_to(&serial, form, creds).await
    }

    async fn reconcile(&mut self) -> Result<LoginOutcome, AppError> {
        self.connect_saved_entry().await
    }

    fn saved_entry(&self) -> Option<DeviceEntry> {
        self.current("saved_entry").ok().and_then(|s| self.entries.get(&s).cloned())
    }

    fn saved_entries(&self) -> Vec<DeviceEntry> {
        self.entries.values().cloned().collect()
    }

    async fn add_device(&mut self, serial: &str, creds: DeviceCredentials) -> Result<DeviceEntry, AppError> {
        match self.screen.add_device("add the recorder", serial, &creds).await? {
            Err(reason) => Err(AppError::AddRefused { serial: serial.to_owned(), user: creds.user.clone(), reason }),
            Ok(()) => {
                let entry = DeviceEntry {
                    serial: serial.to_owned(),
                    credentials: creds,
                    group: None,
                    online: true,
                    unconfirmed: None,
                };
                self.entries.insert(serial.to_owned(), entry.clone());
                Ok(entry)
            }
        }
    }

    async fn remove_device(&mut self, serial: &str) -> Result<(), AppError> {
        let step = "delete the recorder from the Device Manager";
        if !self.entries.contains_key(serial) {
            return Err(AppError::NoSuchDevice(serial.to_owned()));
        }
        if !self.screen.open_device_manager(step).await? {
            return Err(self.screen.err(step, "the app menu shows no Device Manager"));
        }
        self.screen.tap(step, ScreenKey::DeviceCell, Some(serial)).await?;
        self.screen.tap(step, ScreenKey::DeleteDevice, None).await?;
        self.entries.remove(serial);
        if self.selected.as_deref() == Some(serial) {
            self.selected = None;
        }
        Ok(())
    }

    fn last_failure_artifacts(&self) -> Option<ScreenEvidence> {
        self.screen.evidence.clone()
    }

    async fn capture_screen(&mut self, step: &str) -> Option<ScreenEvidence> {
        self.screen.capture(step.to_owned()).await;
        self.screen.evidence.clone()
    }
}
