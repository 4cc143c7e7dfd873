//! The app's screens and the article's flow over any [`Backend`]: one implementation shared by the
//! relay and the direct driver, so both perform exactly the same steps and the same local checks.

use std::collections::BTreeMap;

use async_trait::async_trait;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use resetlab_wire::Secret;

use crate::app::{App, AppSession};
use crate::digest::{DigestError, Route, send_authenticated};
use crate::entry::{DeviceCredentials, DeviceEntry, UserGroup};
use crate::error::AppError;
use crate::platform::FormFactor;
use crate::transport::{Backend, RawRequest, TransportError};

/// What the app shows after Modify password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModifyOutcome {
    /// "Password modified": the recorder answered OK; the saved entry now holds the new password.
    Changed,
    /// The app refused before sending anything (length, confirmation).
    RefusedByApp(String),
    /// The recorder refused (secondary user, wrong old password, rule, lockout); its reason.
    RefusedByDevice(String),
    /// The recorder is offline; nothing was sent that could change it.
    Offline,
    /// Settings shows no Modify password on this platform/profile.
    NotOffered,
    /// The article's path is not in the app (what is missing): nothing was sent.
    PathNotAsWritten(String),
    /// The request was sent but no answer came back: the recorder may or may not have changed.
    Unknown(String),
}

impl ModifyOutcome {
    /// Whether the app shows success.
    pub fn shows_success(&self) -> bool {
        matches!(self, ModifyOutcome::Changed)
    }

    /// Whether the app states that the password was not changed (Unknown states neither).
    pub fn shows_not_changed(&self) -> bool {
        matches!(
            self,
            ModifyOutcome::RefusedByApp(_)
                | ModifyOutcome::RefusedByDevice(_)
                | ModifyOutcome::Offline
                | ModifyOutcome::NotOffered
        )
    }
}

/// What a login attempt (saved entry or remote client) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The recorder accepted the credentials.
    Accepted,
    /// The recorder refused them; its reason.
    Refused(String),
    /// The recorder is offline.
    Offline,
    /// No answer came back.
    Unknown(String),
}

/// Items of the app menu (upper-left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuItem {
    /// Device Manager.
    DeviceManager,
}

/// Items of a device's Settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsItem {
    /// Device information.
    DeviceInfo,
    /// Modify password.
    ModifyPassword,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Live,
    Menu,
    DeviceManager,
    Device(String),
    Settings(String),
}

/// The app flow over a [`Backend`]; see [`crate::DirectApp`] (the requests an app would send,
/// straight to a bench recorder). No app requirement is judged from it: on a bench with it the
/// app-only scenarios are not applicable.
pub struct FlowApp<B: Backend> {
    session: AppSession,
    backend: B,
    entries: BTreeMap<String, DeviceEntry>,
    screen: Screen,
    selected: Option<String>,
}

impl<B: Backend> std::fmt::Debug for FlowApp<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowApp")
            .field("session", &self.session)
            .field("backend", &self.backend.describe())
            .field("screen", &self.screen)
            .field("entries", &self.entries)
            .finish()
    }
}

fn q(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn login_outcome(r: Result<crate::transport::RawResponse, DigestError>) -> LoginOutcome {
    match r {
        Ok(resp) if resp.status == 200 => LoginOutcome::Accepted,
        Ok(resp) => LoginOutcome::Refused(resp.reason()),
        Err(DigestError::Probe(TransportError::Offline(_)) | DigestError::Request(TransportError::Offline(_))) => {
            LoginOutcome::Offline
        }
        Err(DigestError::Probe(e) | DigestError::Request(e)) => LoginOutcome::Unknown(e.to_string()),
        Err(DigestError::NoChallenge(resp)) => {
            LoginOutcome::Unknown(format!("recorder sent no Digest challenge: HTTP {} {}", resp.status, resp.reason()))
        }
    }
}

impl<B: Backend> FlowApp<B> {
    /// The app with no saved devices, on its live view.
    pub fn new(session: AppSession, backend: B) -> Self {
        FlowApp { session, backend, entries: BTreeMap::new(), screen: Screen::Live, selected: None }
    }

    /// How requests travel.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn current_serial(&self, step: &'static str) -> Result<String, AppError> {
        if let Some(s) = &self.selected {
            return Ok(s.clone());
        }
        match self.entries.keys().collect::<Vec<_>>().as_slice() {
            [only] => Ok((*only).clone()),
            _ => Err(AppError::WrongScreen { step, needs: "a tapped device", on: format!("{:?}", self.screen) }),
        }
    }

    fn entry(&self, serial: &str) -> Result<&DeviceEntry, AppError> {
        self.entries.get(serial).ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))
    }

    /// Whether the device's Settings show Modify password: the profile offers it on this platform
    /// and form factor, and does not hide it from the secondary user the entry logs in as.
    /// Settings lists it and Modify password refuses without it, so both ask here.
    fn shows_modify_password(&self, entry: &DeviceEntry) -> bool {
        let profile = &self.session.profile;
        let hidden = profile.modify_password.hidden_for_secondary && entry.group == Some(UserGroup::Secondary);
        profile.offers_modify_password(self.session.platform, self.session.form) && !hidden
    }

    async fn login_with(&self, route: Route, serial: &str, creds: &DeviceCredentials, ua: &str) -> LoginOutcome {
        let req = RawRequest::get("/cgi-bin/magicBox.cgi?action=getMachineName").with_header("User-Agent", ua);
        login_outcome(send_authenticated(&self.backend, route, serial, creds, req).await)
    }

    fn app_agent(&self) -> String {
        format!("FLIR Cloud/2.0 ({}; {}; resetlab)", self.session.device_name(), self.session.platform)
    }

    async fn group_of(&self, serial: &str, creds: &DeviceCredentials) -> Result<Option<UserGroup>, AppError> {
        let req = RawRequest::get(format!("/cgi-bin/userManager.cgi?action=getUserInfo&name={}", q(&creds.user)))
            .with_header("User-Agent", self.app_agent());
        match send_authenticated(&self.backend, Route::App, serial, creds, req).await {
            Ok(resp) if resp.status == 200 => {
                let group = resp.body.lines().find_map(|l| l.trim().strip_prefix("user.Group=").map(str::to_owned));
                Ok(match group.as_deref() {
                    Some("admin") => Some(UserGroup::Administrator),
                    Some(_) => Some(UserGroup::Secondary),
                    None => None,
                })
            }
            Ok(resp) if resp.status == 401 => {
                Err(AppError::AddRefused { serial: serial.to_owned(), user: creds.user.clone(), reason: resp.reason() })
            }
            // Offline or a firmware without getUserInfo: the app saves the entry all the same.
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl<B: Backend> App for FlowApp<B> {
    fn session(&self) -> &AppSession {
        &self.session
    }

    async fn open_menu(&mut self) -> Result<Vec<MenuItem>, AppError> {
        self.screen = Screen::Menu;
        Ok(if self.session.profile.device_manager_in_menu { vec![MenuItem::DeviceManager] } else { Vec::new() })
    }

    async fn device_manager(&mut self) -> Result<Vec<DeviceEntry>, AppError> {
        if self.screen != Screen::Menu {
            return Err(AppError::WrongScreen {
                step: "device_manager",
                needs: "app menu",
                on: format!("{:?}", self.screen),
            });
        }
        let serials: Vec<String> = self.entries.keys().cloned().collect();
        for s in serials {
            let online = self.backend.online(&s).await?;
            if let Some(e) = self.entries.get_mut(&s) {
                e.online = online;
            }
        }
        self.screen = Screen::DeviceManager;
        Ok(self.entries.values().cloned().collect())
    }

    async fn tap_device(&mut self, serial: &str) -> Result<DeviceEntry, AppError> {
        if self.screen != Screen::DeviceManager {
            return Err(AppError::WrongScreen {
                step: "tap_device",
                needs: "Device Manager",
                on: format!("{:?}", self.screen),
            });
        }
        let entry = self.entry(serial)?.clone();
        self.selected = Some(serial.to_owned());
        self.screen = Screen::Device(serial.to_owned());
        Ok(entry)
    }

    async fn settings(&mut self) -> Result<Vec<SettingsItem>, AppError> {
        let Screen::Device(serial) = &self.screen else {
            return Err(AppError::WrongScreen { step: "settings", needs: "device", on: format!("{:?}", self.screen) });
        };
        let serial = serial.clone();
        let entry = self.entry(&serial)?;
        let mut items = vec![SettingsItem::DeviceInfo];
        if self.shows_modify_password(entry) {
            items.push(SettingsItem::ModifyPassword);
        }
        self.screen = Screen::Settings(serial);
        Ok(items)
    }

    async fn modify_password(&mut self, new: &Secret, confirm: &Secret) -> Result<ModifyOutcome, AppError> {
        let Screen::Settings(serial) = &self.screen else {
            return Err(AppError::WrongScreen {
                step: "modify_password",
                needs: "Settings",
                on: format!("{:?}", self.screen),
            });
        };
        let serial = serial.clone();
        let entry = self.entry(&serial)?.clone();
        let rule = self.session.profile.modify_password.clone();
        if !self.shows_modify_password(&entry) {
            return Ok(ModifyOutcome::NotOffered);
        }
        // The app's own checks: nothing leaves the phone when they fail.
        if rule.checks_length && new.char_len() != rule.length {
            return Ok(ModifyOutcome::RefusedByApp(format!(
                "The password must be {} characters (got {})",
                rule.length,
                new.char_len()
            )));
        }
        if rule.confirm_required && new != confirm {
            return Ok(ModifyOutcome::RefusedByApp("The passwords do not match".into()));
        }
        let creds = entry.credentials.clone();
        let uri = format!(
            "/cgi-bin/userManager.cgi?action=modifyPassword&name={}&pwd={}&pwdOld={}",
            q(&creds.user),
            q(new.expose()),
            q(creds.password.expose())
        );
        let req = RawRequest::get(uri).with_header("User-Agent", self.app_agent());
        let outcome = match send_authenticated(&self.backend, Route::App, &serial, &creds, req).await {
            Ok(resp) if resp.status == 200 && resp.is_ok_body() => ModifyOutcome::Changed,
            Ok(resp) if resp.status == 401 => {
                ModifyOutcome::RefusedByDevice(format!("the recorder refused the saved credentials: {}", resp.reason()))
            }
            Ok(resp) => ModifyOutcome::RefusedByDevice(resp.reason()),
            // Only the read-only probe was at risk: the recorder cannot have changed.
            Err(DigestError::Probe(TransportError::Harness(e))) => {
                return Err(AppError::NotConfigured(e));
            }
            Err(DigestError::Probe(_)) => ModifyOutcome::Offline,
            Err(DigestError::NoChallenge(resp)) => {
                ModifyOutcome::RefusedByDevice(format!("no Digest challenge: HTTP {} {}", resp.status, resp.reason()))
            }
            Err(DigestError::Request(TransportError::Offline(_))) => ModifyOutcome::Offline,
            Err(DigestError::Request(TransportError::Harness(e))) => {
                return Err(AppError::NotConfigured(e));
            }
            Err(DigestError::Request(TransportError::Lost(why))) => ModifyOutcome::Unknown(why),
        };
        let outcome = match outcome {
            ModifyOutcome::Offline if rule.reports_success_when_offline => ModifyOutcome::Changed,
            other => other,
        };
        let e = self.entries.get_mut(&serial).expect("entry checked above");
        match &outcome {
            ModifyOutcome::Changed if rule.updates_saved_entry => {
                e.credentials.password = new.clone();
                e.unconfirmed = None;
            }
            ModifyOutcome::Unknown(_) => e.unconfirmed = Some(new.clone()),
            _ => {}
        }
        tracing::info!(serial = %serial, outcome = ?outcome, via = %self.backend.describe(), "modify password");
        Ok(outcome)
    }

    async fn connect_saved_entry(&mut self) -> Result<LoginOutcome, AppError> {
        let serial = self.current_serial("connect_saved_entry")?;
        let creds = self.entry(&serial)?.credentials.clone();
        Ok(self.login_with(Route::App, &serial, &creds, &self.app_agent()).await)
    }

    async fn remote_login(&mut self, form: FormFactor, creds: &DeviceCredentials) -> Result<LoginOutcome, AppError> {
        let serial = self.current_serial("remote_login")?;
        let req =
            RawRequest::get("/cgi-bin/magicBox.cgi?action=getMachineName").with_header("User-Agent", form.user_agent());
        match send_authenticated(&self.backend, Route::Remote, &serial, creds, req).await {
            Err(DigestError::Probe(TransportError::Harness(e)) | DigestError::Request(TransportError::Harness(e))) => {
                Err(AppError::NotConfigured(e))
            }
            r => Ok(login_outcome(r)),
        }
    }

    async fn reconcile(&mut self) -> Result<LoginOutcome, AppError> {
        let serial = self.current_serial("reconcile")?;
        let entry = self.entry(&serial)?.clone();
        let ua = self.app_agent();
        let saved = self.login_with(Route::App, &serial, &entry.credentials, &ua).await;
        let (LoginOutcome::Refused(_), Some(sent)) = (&saved, &entry.unconfirmed) else {
            if saved == LoginOutcome::Accepted {
                self.entries.get_mut(&serial).expect("entry").unconfirmed = None;
            }
            return Ok(saved);
        };
        let candidate = DeviceCredentials { user: entry.credentials.user.clone(), password: sent.clone() };
        let r = self.login_with(Route::App, &serial, &candidate, &ua).await;
        if r == LoginOutcome::Accepted {
            let e = self.entries.get_mut(&serial).expect("entry");
            e.credentials = candidate;
            e.unconfirmed = None;
        }
        Ok(r)
    }

    fn saved_entry(&self) -> Option<DeviceEntry> {
        let serial = self.current_serial("saved_entry").ok()?;
        self.entries.get(&serial).cloned()
    }

    fn saved_entries(&self) -> Vec<DeviceEntry> {
        self.entries.values().cloned().collect()
    }

    async fn add_device(&mut self, serial: &str, creds: DeviceCredentials) -> Result<DeviceEntry, AppError> {
        let group = self.group_of(serial, &creds).await?;
        let online = self.backend.online(serial).await?;
        let entry = DeviceEntry { serial: serial.to_owned(), credentials: creds, group, online, unconfirmed: None };
        self.entries.insert(serial.to_owned(), entry.clone());
        Ok(entry)
    }

    async fn remove_device(&mut self, serial: &str) -> Result<(), AppError> {
        self.entries.remove(serial).ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))?;
        if self.selected.as_deref() == Some(serial) {
            self.selected = None;
            self.screen = Screen::Live;
        }
        Ok(())
    }
}
