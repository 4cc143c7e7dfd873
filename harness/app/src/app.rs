//! The `App` trait: the article's steps as methods, so a scenario step is one call
//! ("I open Device Manager and tap the recorder, then Settings" → `device_manager`, `tap_device`,
//! `settings`), and the session it runs in (platform, form factor, app profile, app account).

use async_trait::async_trait;
use resetlab_wire::Secret;

use crate::entry::{DeviceCredentials, DeviceEntry};
use crate::error::AppError;
use crate::flow::{LoginOutcome, MenuItem, ModifyOutcome, SettingsItem};
use crate::platform::{FormFactor, Platform};
use crate::profile::AppProfile;

/// Where the app runs and which release it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSession {
    /// iOS or Android.
    pub platform: Platform,
    /// Phone, tablet (or computer).
    pub form: FormFactor,
    /// The app release.
    pub profile: AppProfile,
    /// The app account signed in (for messages and reports).
    pub account: String,
}

impl AppSession {
    /// The app release `profile` on `platform`/`form`, signed in as `account`.
    pub fn new(platform: Platform, form: FormFactor, profile: AppProfile, account: impl Into<String>) -> Self {
        AppSession { platform, form, profile, account: account.into() }
    }

    /// "an iPhone", "an iPad", "an Android phone", for messages and prompts.
    pub fn device_name(&self) -> &'static str {
        self.platform.device_name(self.form)
    }
}

/// What a driven app's screen showed when a step did not go as asked: a screenshot and the page
/// source, for the report's evidence.
#[derive(Clone, PartialEq, Eq)]
pub struct ScreenEvidence {
    /// The step, and what it expected.
    pub step: String,
    /// A PNG screenshot.
    pub screenshot_png: Vec<u8>,
    /// The page source (XCUITest / UiAutomator2 XML).
    pub page_source: String,
}

impl std::fmt::Debug for ScreenEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenEvidence")
            .field("step", &self.step)
            .field("screenshot_png", &format_args!("{} bytes", self.screenshot_png.len()))
            .field("page_source", &format_args!("{} chars", self.page_source.len()))
            .finish()
    }
}

/// The cloud app, one method per thing the user does or sees (the article's steps 1–5).
///
/// Outcomes the app shows are values ([`ModifyOutcome`], [`LoginOutcome`]); `Err` means the harness,
/// the rig or the bench went wrong (a step out of order, the relay refusing our app account).
#[async_trait]
pub trait App: Send {
    /// Platform, form factor, profile, account.
    fn session(&self) -> &AppSession;

    /// Step 2: tap the menu in the upper-left corner; what the menu offers.
    async fn open_menu(&mut self) -> Result<Vec<MenuItem>, AppError>;

    /// Step 2: tap Device Manager; the saved device entries with their online state.
    async fn device_manager(&mut self) -> Result<Vec<DeviceEntry>, AppError>;

    /// Step 3: tap the recorder in the Device Manager.
    async fn tap_device(&mut self, serial: &str) -> Result<DeviceEntry, AppError>;

    /// Step 3: tap Settings; the items shown (Modify password only where the profile offers it).
    async fn settings(&mut self) -> Result<Vec<SettingsItem>, AppError>;

    /// Steps 4–5: tap Modify password, enter `new` and `confirm`, tap confirm; what the app shows.
    /// The app refuses locally (length, mismatch) before anything is sent; after `Changed` the saved
    /// entry holds the new password.
    async fn modify_password(&mut self, new: &Secret, confirm: &Secret) -> Result<ModifyOutcome, AppError>;

    /// Whether the saved entry of the tapped (or only) device still connects to the recorder.
    async fn connect_saved_entry(&mut self) -> Result<LoginOutcome, AppError>;

    /// A remote login to the tapped (or only) device from a smartphone, tablet or computer.
    async fn remote_login(&mut self, form: FormFactor, creds: &DeviceCredentials) -> Result<LoginOutcome, AppError>;

    /// After an `Unknown` outcome: find which of the saved and the sent password the recorder now
    /// accepts and keep that one in the saved entry (one wrong attempt at most).
    async fn reconcile(&mut self) -> Result<LoginOutcome, AppError>;

    /// The saved entry of the tapped (or only) device.
    fn saved_entry(&self) -> Option<DeviceEntry>;

    /// Every saved entry.
    fn saved_entries(&self) -> Vec<DeviceEntry>;

    /// Add (or re-add) a device to the Device Manager with device credentials.
    async fn add_device(&mut self, serial: &str, creds: DeviceCredentials) -> Result<DeviceEntry, AppError>;

    /// Delete a device from the Device Manager (what the article says not to do).
    async fn remove_device(&mut self, serial: &str) -> Result<(), AppError>;

    /// The screen of the latest step that did not go as asked (an error, a missing menu item or
    /// Settings entry, a Modify password that did not show success), for the report. Only a driven
    /// app (`webdriver`) has a screen to show.
    fn last_failure_artifacts(&self) -> Option<ScreenEvidence> {
        None
    }

    /// The screen as it is now, kept as the evidence of `step` (a check that failed on what the
    /// app showed: a success screen where a refusal was due is no failed app step). Only a driven
    /// app has a screen to show.
    async fn capture_screen(&mut self, step: &str) -> Option<ScreenEvidence> {
        let _ = step;
        None
    }

    /// The whole article path for `serial`: menu → Device Manager → device → Settings → Modify
    /// password → enter + confirm → confirm.
    async fn reset_password(
        &mut self,
        serial: &str,
        new: &Secret,
        confirm: &Secret,
    ) -> Result<ModifyOutcome, AppError> {
        let menu = self.open_menu().await?;
        if !menu.contains(&MenuItem::DeviceManager) {
            // What the app shows, not a harness error: the article's step 2 is not there.
            return Ok(ModifyOutcome::PathNotAsWritten("the app menu shows no Device Manager".into()));
        }
        self.device_manager().await?;
        self.tap_device(serial).await?;
        self.settings().await?;
        self.modify_password(new, confirm).await
    }
}
