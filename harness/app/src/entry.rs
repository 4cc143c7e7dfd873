//! Saved device entries: what the app's Device Manager remembers about a recorder (serial, device
//! user and password) — the thing the article says must keep working without re-adding it.

use resetlab_wire::Secret;

/// A device user and password, as typed into the app's "add device" screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCredentials {
    /// Device user name (`admin`).
    pub user: String,
    /// Its password.
    pub password: Secret,
}

impl DeviceCredentials {
    /// Credentials from a user name and a password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        DeviceCredentials { user: user.into(), password: Secret::new(password) }
    }
}

/// The device user's group on the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserGroup {
    /// The administrator (group `admin`).
    Administrator,
    /// A secondary user (group `user`).
    Secondary,
}

/// One saved device entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    /// Recorder serial number.
    pub serial: String,
    /// Saved device user and password.
    pub credentials: DeviceCredentials,
    /// The user's group, as the recorder reported it when the entry was added (None: not yet known).
    pub group: Option<UserGroup>,
    /// Whether the recorder was online when the Device Manager last listed it.
    pub online: bool,
    /// A password sent in a change whose outcome the app never learned; see `App::reconcile`.
    pub unconfirmed: Option<Secret>,
}
