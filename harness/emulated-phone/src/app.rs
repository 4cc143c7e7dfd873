//! The emulated FLIR Cloud app: its screens and what it does when tapped. Everything the article's
//! requirements judge lives here — the menu's layout, where Settings offers Modify password (per
//! platform, form factor and release), the app's own 6-character and confirmation checks, what it
//! shows when the recorder is offline, and the saved device entry it updates after a change — and
//! [`PhoneDefect`]s change exactly this behaviour. A driver only sees the element tree
//! ([`EmulatedApp::render`]) and taps and types into it.
//!
//! Accessibility ids (iOS `name`, Android `content-desc`), per screen:
//!
//! | screen | elements |
//! | --- | --- |
//! | sign-in | `account`, `password`, `sign-in`, `sign-in-error` |
//! | home (live view) | `menu` (upper-left), `home-add-device` (upper-right) |
//! | menu | `menu-device-manager` ("Device Manager"), `menu-live-view`, `menu-playback`, `menu-about`, `menu-sign-out` |
//! | Device Manager | `add-device`, `device-list`, cells `device-<serial>` (value `online`/`offline`) |
//! | add device | `add-serial`, `add-user`, `add-password`, `add-save`, `add-error` |
//! | device | `live-view`, `device-info`, `settings`, `delete-device` |
//! | live view / device info | `live-video` / `device-info-text` when open, `login-error`, `device-offline`, `no-answer` |
//! | Settings | `settings-device-info`, `modify-password` (only where offered), `settings-network` |
//! | Modify password | `new-password`, `confirm-password`, `check-mark` (upper-right), `password-hint` (the app's own refusal), alert `alert` with `modify-success`, `modify-error`, `device-offline` or `modify-unknown`, and `alert-ok` |
//!
//! Every screen below the top has `back` in the upper-left corner.

use std::collections::BTreeMap;

use resetlab_wire::Secret;

use crate::defects::PhoneDefect;
use crate::device::{Device, Form, Platform, Release};
use crate::relay::{NoAnswer, RelayClient, Sent};
use crate::ui::{Kind, Node, Rect};
use crate::w3c::W3cError;

/// The exact length the app accepts ("a new 6-character password").
const PASSWORD_LENGTH: usize = 6;

/// One saved device entry: serial, device user and password, as typed when the device was added.
#[derive(Debug, Clone)]
struct Entry {
    user: String,
    password: Secret,
    online: bool,
}

/// What a live view or device-info screen shows.
#[derive(Debug, Clone)]
enum Shown {
    Opened(String),
    LoginError(String),
    Offline,
    NoAnswer(String),
}

/// The alert after the check mark.
#[derive(Debug, Clone)]
enum Alert {
    Success,
    DeviceError(String),
    Offline,
    Unknown(String),
}

#[derive(Debug, Clone)]
enum Screen {
    SignIn { account: String, password: Secret, error: Option<String> },
    Home,
    Menu,
    DeviceManager,
    AddDevice { serial: String, user: String, password: Secret, error: Option<String> },
    Device(String),
    View { serial: String, live: bool, shown: Shown },
    Settings(String),
    ModifyPassword { serial: String, new: Secret, confirm: Secret, hint: Option<String>, alert: Option<Alert> },
}

/// The app on one phone (one WebDriver session).
#[derive(Debug)]
pub struct EmulatedApp {
    device: Device,
    defects: Vec<PhoneDefect>,
    relay: RelayClient,
    token: Option<Secret>,
    entries: BTreeMap<String, Entry>,
    stack: Vec<Screen>,
    /// Bumped on every navigation: element references from an earlier screen are stale.
    seq: u64,
}

impl EmulatedApp {
    /// The app freshly opened on `device`: the sign-in screen.
    pub fn new(device: Device, defects: Vec<PhoneDefect>, relay: RelayClient) -> EmulatedApp {
        let first = Screen::SignIn { account: String::new(), password: Secret::new(""), error: None };
        EmulatedApp { device, defects, relay, token: None, entries: BTreeMap::new(), stack: vec![first], seq: 1 }
    }

    /// What the session runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The screen sequence number (element references carry it).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn has(&self, d: PhoneDefect) -> bool {
        self.defects.contains(&d)
    }

    fn top(&self) -> &Screen {
        self.stack.last().expect("the app always has a screen")
    }

    fn top_mut(&mut self) -> &mut Screen {
        self.stack.last_mut().expect("the app always has a screen")
    }

    fn push(&mut self, s: Screen) {
        self.stack.push(s);
        self.seq += 1;
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
            self.seq += 1;
        }
    }

    /// The platform's Back (W3C `back`): the previous screen.
    pub fn back(&mut self) {
        self.pop();
    }

    /// Whether this release on this device offers Modify password in Settings.
    fn offers_modify_password(&self) -> bool {
        let Device { platform, form, release, .. } = self.device;
        if form == Form::Computer {
            return false;
        }
        let mut offered = match release {
            Release::R2017 => platform == Platform::Ios,
            Release::Fixed => matches!(platform, Platform::Ios | Platform::Android),
        };
        if self.has(PhoneDefect::AndroidOffered2017) && release == Release::R2017 && platform == Platform::Android {
            offered = true;
        }
        if self.has(PhoneDefect::IpadNotOffered) && platform == Platform::Ios && form == Form::Tablet {
            offered = false;
        }
        offered
    }

    /// Type `text` into the field `name` (appended, as keystrokes are).
    pub fn type_into(&mut self, name: &str, text: &str) -> Result<(), W3cError> {
        let field = self.field(name)?;
        match field {
            Field::Plain(s) => s.push_str(text),
            Field::Secret(s) => *s = Secret::new(format!("{}{text}", s.expose())),
        }
        Ok(())
    }

    /// Clear the field `name`.
    pub fn clear(&mut self, name: &str) -> Result<(), W3cError> {
        match self.field(name)? {
            Field::Plain(s) => s.clear(),
            Field::Secret(s) => *s = Secret::new(""),
        }
        Ok(())
    }

    fn field(&mut self, name: &str) -> Result<Field<'_>, W3cError> {
        let field = match (self.top_mut(), name) {
            (Screen::SignIn { account, .. }, "account") => Field::Plain(account),
            (Screen::SignIn { password, .. }, "password") => Field::Secret(password),
            (Screen::AddDevice { serial, .. }, "add-serial") => Field::Plain(serial),
            (Screen::AddDevice { user, .. }, "add-user") => Field::Plain(user),
            (Screen::AddDevice { password, .. }, "add-password") => Field::Secret(password),
            (Screen::ModifyPassword { new, .. }, "new-password") => Field::Secret(new),
            (Screen::ModifyPassword { confirm, .. }, "confirm-password") => Field::Secret(confirm),
            _ => {
                return Err(W3cError::not_interactable(format!("element {name:?} does not take text")));
            }
        };
        Ok(field)
    }

    /// Tap the element `name` (it is on the current screen: the server checked).
    pub async fn tap(&mut self, name: &str) -> Result<(), W3cError> {
        if name == "back" {
            self.pop();
            return Ok(());
        }
        match (self.top().clone(), name) {
            (Screen::SignIn { account, password, .. }, "sign-in") => self.sign_in(&account, &password).await,
            (Screen::Home, "menu") => self.push(Screen::Menu),
            (Screen::Menu, "menu-device-manager") => self.open_device_manager().await,
            (Screen::Menu, "menu-live-view") => self.pop(),
            (Screen::Menu, "menu-sign-out") => {
                self.token = None;
                self.stack = vec![Screen::SignIn { account: String::new(), password: Secret::new(""), error: None }];
                self.seq += 1;
            }
            (Screen::Home, "home-add-device") | (Screen::DeviceManager, "add-device") => self.push(Screen::AddDevice {
                serial: String::new(),
                user: String::new(),
                password: Secret::new(""),
                error: None,
            }),
            (Screen::DeviceManager, cell) if cell.starts_with("device-") => {
                // A tap on the cell's labels is a tap on the cell.
                let serial = self
                    .entries
                    .keys()
                    .find(|s| cell == format!("device-{s}") || cell.starts_with(&format!("device-{s}-")))
                    .cloned();
                if let Some(serial) = serial {
                    self.push(Screen::Device(serial));
                }
            }
            (Screen::AddDevice { serial, user, password, .. }, "add-save") => {
                self.save_device(serial, user, password).await
            }
            (Screen::Device(serial), "live-view") => self.open_view(&serial, true).await,
            (Screen::Device(serial), "device-info") => self.open_view(&serial, false).await,
            (Screen::Device(serial), "settings") => self.push(Screen::Settings(serial)),
            (Screen::Device(serial), "delete-device") => {
                self.entries.remove(&serial);
                self.pop();
            }
            (Screen::Settings(serial), "settings-device-info") => self.open_view(&serial, false).await,
            (Screen::Settings(serial), "modify-password") if self.offers_modify_password() => {
                self.push(Screen::ModifyPassword {
                    serial,
                    new: Secret::new(""),
                    confirm: Secret::new(""),
                    hint: None,
                    alert: None,
                })
            }
            (Screen::ModifyPassword { serial, new, confirm, alert: None, .. }, "check-mark") => {
                self.check_mark(&serial, &new, &confirm).await
            }
            (Screen::ModifyPassword { alert: Some(alert), .. }, "alert-ok") => {
                if matches!(alert, Alert::Success) {
                    self.pop();
                } else if let Screen::ModifyPassword { alert, .. } = self.top_mut() {
                    *alert = None;
                }
            }
            // Labels, fields and the rest: tapping them changes nothing, as on a phone.
            _ => {}
        }
        Ok(())
    }

    async fn sign_in(&mut self, account: &str, password: &Secret) {
        match self.relay.login(account, password).await {
            Ok(token) => {
                self.token = Some(token);
                self.stack = vec![Screen::Home];
                self.seq += 1;
            }
            Err(why) => {
                if let Screen::SignIn { error, .. } = self.top_mut() {
                    *error = Some(format!("Sign in failed: {why}"));
                }
            }
        }
    }

    fn token(&self) -> Secret {
        self.token.clone().unwrap_or_else(|| Secret::new(""))
    }

    async fn refresh_online(&mut self) {
        let listed = self.relay.devices(&self.token()).await.unwrap_or_default();
        for (serial, e) in self.entries.iter_mut() {
            e.online = listed.iter().any(|(s, online)| s == serial && *online);
        }
    }

    async fn open_device_manager(&mut self) {
        self.refresh_online().await;
        self.push(Screen::DeviceManager);
    }

    async fn save_device(&mut self, serial: String, user: String, password: Secret) {
        let set_error = |app: &mut EmulatedApp, text: String| {
            if let Screen::AddDevice { error, .. } = app.top_mut() {
                *error = Some(text);
            }
        };
        if serial.trim().is_empty() || user.trim().is_empty() {
            return set_error(self, "Enter the serial number and the user name".into());
        }
        let uri = format!("/cgi-bin/userManager.cgi?action=getUserInfo&name={}", q(&user));
        let agent = self.device.user_agent();
        match self.relay.send_digest(&self.token(), &serial, &user, &password, &uri, &agent).await {
            Sent::Answered(a) if a.status == 401 => {
                return set_error(self, format!("Login failed: {}", a.reason()));
            }
            Sent::ProbeFailed(NoAnswer::Refused(why)) | Sent::RequestFailed(NoAnswer::Refused(why)) => {
                return set_error(self, format!("The device cannot be added: {why}"));
            }
            // Verified, or not verifiable now (offline, a firmware without getUserInfo): saved.
            _ => {}
        }
        self.entries.insert(serial.clone(), Entry { user, password, online: false });
        // A device just added opens on its own screen, as the real app does.
        self.pop();
        self.push(Screen::Device(serial.clone()));
        self.refresh_online().await;
        self.seq += 1;
    }

    async fn open_view(&mut self, serial: &str, live: bool) {
        let Some(entry) = self.entries.get(serial).cloned() else {
            return;
        };
        let agent = self.device.user_agent();
        let uri = "/cgi-bin/magicBox.cgi?action=getMachineName";
        let shown = match self.relay.send_digest(&self.token(), serial, &entry.user, &entry.password, uri, &agent).await
        {
            Sent::Answered(a) if a.status == 200 => {
                let name = a.body.lines().find_map(|l| l.trim().strip_prefix("name=")).unwrap_or(serial).to_owned();
                Shown::Opened(name)
            }
            Sent::Answered(a) => Shown::LoginError(a.reason()),
            Sent::ProbeFailed(NoAnswer::Offline(_)) | Sent::RequestFailed(NoAnswer::Offline(_)) => Shown::Offline,
            Sent::ProbeFailed(e) | Sent::RequestFailed(e) => Shown::NoAnswer(format!("{e:?}")),
            Sent::NoChallenge(why) => Shown::NoAnswer(why),
        };
        self.push(Screen::View { serial: serial.to_owned(), live, shown });
    }

    /// The check mark: the app's own checks, then the request through the relay, then the alert.
    async fn check_mark(&mut self, serial: &str, new: &Secret, confirm: &Secret) {
        let set = |app: &mut EmulatedApp, h: Option<String>, a: Option<Alert>| {
            if let Screen::ModifyPassword { hint, alert, .. } = app.top_mut() {
                *hint = h;
                *alert = a;
            }
        };
        if !self.has(PhoneDefect::LengthNotChecked) && new.char_len() != PASSWORD_LENGTH {
            return set(self, Some(format!("The password must be {PASSWORD_LENGTH} characters")), None);
        }
        if !self.has(PhoneDefect::ConfirmNotChecked) && new != confirm {
            return set(self, Some("The passwords do not match".into()), None);
        }
        let Some(entry) = self.entries.get(serial).cloned() else {
            return;
        };
        let uri = format!(
            "/cgi-bin/userManager.cgi?action=modifyPassword&name={}&pwd={}&pwdOld={}",
            q(&entry.user),
            q(new.expose()),
            q(entry.password.expose())
        );
        let agent = self.device.user_agent();
        let alert =
            match self.relay.send_digest(&self.token(), serial, &entry.user, &entry.password, &uri, &agent).await {
                Sent::Answered(a) if a.is_ok() => Alert::Success,
                Sent::Answered(a) if a.status == 401 => {
                    Alert::DeviceError(format!("the device refused the saved user name or password: {}", a.reason()))
                }
                Sent::Answered(a) => Alert::DeviceError(a.reason()),
                // Only the harmless probe was at risk: the recorder cannot have changed.
                Sent::ProbeFailed(NoAnswer::Offline(_) | NoAnswer::Lost(_))
                | Sent::RequestFailed(NoAnswer::Offline(_)) => Alert::Offline,
                Sent::ProbeFailed(NoAnswer::Refused(why)) | Sent::RequestFailed(NoAnswer::Refused(why)) => {
                    Alert::DeviceError(why)
                }
                Sent::RequestFailed(NoAnswer::Lost(why)) => Alert::Unknown(why),
                Sent::NoChallenge(why) => Alert::DeviceError(why),
            };
        let alert = match alert {
            Alert::Offline if self.has(PhoneDefect::SuccessWhileOffline) => Alert::Success,
            other => other,
        };
        if matches!(alert, Alert::Success)
            && !self.has(PhoneDefect::EntryKeepsOldPassword)
            && let Some(e) = self.entries.get_mut(serial)
        {
            e.password = new.clone();
        }
        set(self, None, Some(alert));
    }

    /// The current screen as an element tree, laid out for the device's screen.
    pub fn render(&self) -> Node {
        let (w, h) = self.device.screen_size();
        let back = self.stack.len() > 1;
        let (title, content, right): (String, Vec<Node>, Option<Node>) = match self.top() {
            Screen::SignIn { account, password, error } => {
                let mut c = vec![
                    Node::new(Kind::TextField, "account", "Account").value(account.clone()),
                    Node::new(Kind::SecureTextField, "password", "Password").value(dots(password)),
                    Node::new(Kind::Button, "sign-in", "Sign In"),
                ];
                c.extend(error.iter().map(|e| Node::new(Kind::StaticText, "sign-in-error", e.clone())));
                ("FLIR Cloud".into(), c, None)
            }
            Screen::Home => (
                "Live View".into(),
                vec![Node::new(Kind::Image, "home-live-grid", "No device playing")],
                Some(Node::new(Kind::Button, "home-add-device", "+")),
            ),
            Screen::Menu => {
                let mut cells = Vec::new();
                if !self.has(PhoneDefect::MenuWithoutDeviceManager) {
                    cells.push(Node::new(Kind::Cell, "menu-device-manager", "Device Manager"));
                }
                cells.push(Node::new(Kind::Cell, "menu-live-view", "Live View"));
                cells.push(Node::new(Kind::Cell, "menu-playback", "Playback"));
                cells.push(Node::new(Kind::Cell, "menu-about", "About"));
                cells.push(Node::new(Kind::Cell, "menu-sign-out", "Sign Out"));
                ("Menu".into(), vec![Node::new(Kind::Table, "menu-list", "").with(cells)], None)
            }
            Screen::DeviceManager => {
                let cells = self
                    .entries
                    .iter()
                    .map(|(serial, e)| {
                        let state = if e.online { "online" } else { "offline" };
                        Node::new(Kind::Cell, format!("device-{serial}"), serial.clone()).value(state).with(vec![
                            Node::new(Kind::StaticText, format!("device-{serial}-name"), serial.clone()),
                            Node::new(
                                Kind::StaticText,
                                format!("device-{serial}-state"),
                                if e.online { "Online" } else { "Offline" },
                            ),
                        ])
                    })
                    .collect();
                let add = Node::new(Kind::Button, "add-device", "Add");
                ("Device Manager".into(), vec![Node::new(Kind::Table, "device-list", "").with(cells)], Some(add))
            }
            Screen::AddDevice { serial, user, password, error } => {
                let mut c = vec![
                    Node::new(Kind::TextField, "add-serial", "Serial number").value(serial.clone()),
                    Node::new(Kind::TextField, "add-user", "User name").value(user.clone()),
                    Node::new(Kind::SecureTextField, "add-password", "Password").value(dots(password)),
                    Node::new(Kind::Button, "add-save", "Save"),
                ];
                c.extend(error.iter().map(|e| Node::new(Kind::StaticText, "add-error", e.clone())));
                ("Add Device".into(), c, None)
            }
            Screen::Device(serial) => (
                serial.clone(),
                vec![
                    Node::new(Kind::Button, "live-view", "Live View"),
                    Node::new(Kind::Button, "device-info", "Device Info"),
                    Node::new(Kind::Button, "settings", "Settings"),
                    Node::new(Kind::Button, "delete-device", "Delete Device"),
                ],
                None,
            ),
            Screen::View { serial, live, shown } => {
                let node = match shown {
                    Shown::Opened(name) if *live => {
                        Node::new(Kind::Image, "live-video", format!("Live: {name} ({serial})"))
                    }
                    Shown::Opened(name) => Node::new(
                        Kind::StaticText,
                        "device-info-text",
                        format!("Device name: {name}, serial number: {serial}"),
                    ),
                    Shown::LoginError(why) => {
                        Node::new(Kind::StaticText, "login-error", format!("Login failed: {why}"))
                    }
                    Shown::Offline => Node::new(Kind::StaticText, "device-offline", "The device is offline"),
                    Shown::NoAnswer(why) => {
                        Node::new(Kind::StaticText, "no-answer", format!("No answer from the device: {why}"))
                    }
                };
                ((if *live { "Live View" } else { "Device Info" }).into(), vec![node], None)
            }
            Screen::Settings(_) => {
                let mut cells = vec![Node::new(Kind::Cell, "settings-device-info", "Device Information")];
                if self.offers_modify_password() {
                    cells.push(Node::new(Kind::Cell, "modify-password", "Modify password"));
                }
                cells.push(Node::new(Kind::Cell, "settings-network", "Network"));
                ("Settings".into(), vec![Node::new(Kind::Table, "settings-list", "").with(cells)], None)
            }
            Screen::ModifyPassword { new, confirm, hint, alert, .. } => {
                let mut c = vec![
                    Node::new(Kind::SecureTextField, "new-password", "New password").value(dots(new)),
                    Node::new(Kind::SecureTextField, "confirm-password", "Confirm password").value(dots(confirm)),
                ];
                c.extend(hint.iter().map(|t| Node::new(Kind::StaticText, "password-hint", t.clone())));
                if let Some(a) = alert {
                    let message = match a {
                        Alert::Success => {
                            Node::new(Kind::StaticText, "modify-success", "Password modified successfully")
                        }
                        Alert::DeviceError(why) => {
                            Node::new(Kind::StaticText, "modify-error", format!("Modify password failed: {why}"))
                        }
                        Alert::Offline => Node::new(Kind::StaticText, "device-offline", "The device is offline"),
                        Alert::Unknown(why) => Node::new(
                            Kind::StaticText,
                            "modify-unknown",
                            format!("No answer from the device; the password may or may not have changed ({why})"),
                        ),
                    };
                    c.push(
                        Node::new(Kind::Alert, "alert", "")
                            .with(vec![message, Node::new(Kind::Button, "alert-ok", "OK")]),
                    );
                }
                ("Modify password".into(), c, Some(Node::new(Kind::Button, "check-mark", "\u{2713}")))
            }
        };
        layout(w, h, &title, back, matches!(self.top(), Screen::Home), right, content)
    }
}

enum Field<'a> {
    Plain(&'a mut String),
    Secret(&'a mut Secret),
}

fn dots(s: &Secret) -> String {
    "\u{2022}".repeat(s.char_len())
}

fn q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Application → window → navigation bar (back or menu upper-left, title, an optional button
/// upper-right) and the content stacked below it.
fn layout(w: u32, h: u32, title: &str, back: bool, menu: bool, right: Option<Node>, content: Vec<Node>) -> Node {
    let mut bar = Vec::new();
    if menu {
        bar.push(Node::new(Kind::Button, "menu", "Menu").at(Rect { x: 8, y: 26, w: 32, h: 32 }));
    } else if back {
        bar.push(Node::new(Kind::Button, "back", "Back").at(Rect { x: 8, y: 26, w: 60, h: 32 }));
    }
    bar.push(Node::new(Kind::StaticText, "title", title).at(Rect { x: w / 4, y: 30, w: w / 2, h: 24 }));
    if let Some(r) = right {
        bar.push(r.at(Rect { x: w - 68, y: 26, w: 60, h: 32 }));
    }
    let nav = Node::new(Kind::NavigationBar, "nav", title).at(Rect { x: 0, y: 20, w, h: 44 }).with(bar);
    let mut y = 72;
    let mut children = vec![nav];
    for mut n in content {
        place(&mut n, 8, &mut y, w - 16);
        children.push(n);
    }
    let window = Node::new(Kind::Window, "window", "").at(Rect { x: 0, y: 0, w, h }).with(children);
    Node::new(Kind::Application, "FLIR Cloud", "FLIR Cloud").at(Rect { x: 0, y: 0, w, h }).with(vec![window])
}

fn place(n: &mut Node, x: u32, y: &mut u32, w: u32) {
    let start = *y;
    match n.kind {
        Kind::Table | Kind::Alert => {
            let mut inner = start + 4;
            for c in &mut n.children {
                place(c, x + 4, &mut inner, w - 8);
            }
            *y = inner + 4;
        }
        Kind::Cell => {
            let mut inner = start + 2;
            for c in &mut n.children {
                c.rect = Rect { x: x + 8, y: inner, w: w / 2, h: 18 };
                inner += 20;
            }
            *y = (start + 44).max(inner + 2);
        }
        Kind::Image => *y = start + 180,
        Kind::StaticText => *y = start + 28,
        _ => *y = start + 44,
    }
    n.rect = Rect { x, y: start, w, h: *y - start };
    *y += 6;
}
