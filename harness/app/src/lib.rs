//! The cloud-app side of the article: an app account on a platform (`ios`, `android`) and form
//! factor (`phone`, `tablet`, `computer`), the Device Manager with saved device entries, Settings,
//! Modify password (new + confirm) and device-offline handling.
//!
//! One [`App`] trait, three drivers:
//! - [`WebDriverApp`] — the app itself, driven and observed through W3C WebDriver: the real app on
//!   a phone through Appium, or the emulated phone (`resetlab-emulated-phone`) behind resetlab's
//!   cloud relay; every outcome is what its screen showed;
//! - [`DirectApp`] — only the requests the app would send, straight to a bench recorder's address,
//!   remote logins to the bench's `remote:` address (app-only requirements are then not
//!   applicable);
//! - [`OperatorApp`] — a person holding a real phone follows printed steps and says what the screen
//!   showed (answers can come from a file for scripted runs).
//!
//! The app answers the recorder's HTTP Digest challenge itself: the relay never sees a password
//! hash it could replay elsewhere, and stores nothing. Passwords are [`Secret`]s everywhere.

#![warn(missing_docs)]

mod app;
pub mod bench;
pub mod digest;
mod direct;
mod entry;
mod error;
mod flow;
mod operator;
mod platform;
mod profile;
pub mod relay;
mod screens;
mod transport;
pub mod webdriver;

pub use app::{App, AppSession, ScreenEvidence};
pub use direct::{DirectApp, DirectBackend};
pub use entry::{DeviceCredentials, DeviceEntry, UserGroup};
pub use error::AppError;
pub use flow::{FlowApp, LoginOutcome, MenuItem, ModifyOutcome, SettingsItem};
pub use operator::OperatorApp;
pub use platform::{FormFactor, Platform};
pub use profile::{AppProfile, ModifyPasswordRule, flir_cloud_2017, flir_cloud_fixed};
pub use relay::{RelayBackend, RelayClient};
pub use resetlab_wire::Secret;
pub use screens::{Locator, ScreenKey, ScreenMap};
pub use transport::{Backend, RawRequest, RawResponse, TransportError};
pub use webdriver::{WebDriverApp, WebDriverConfig};
