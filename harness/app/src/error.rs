//! Errors of the app drivers: things that are not an app screen (those are outcomes) — a step done
//! out of order, the relay refusing our account, a bench without a remote address, an operator
//! answer that makes no sense.

/// Something the harness (or the rig) did wrong, not what the app showed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A step needs a screen the app is not on.
    #[error("app: {step} needs the {needs} screen, but the app is on {on}")]
    WrongScreen {
        /// The step attempted.
        step: &'static str,
        /// The screen it needs.
        needs: &'static str,
        /// Where the app is.
        on: String,
    },
    /// No saved entry for this serial.
    #[error("app: no device {0} in the Device Manager")]
    NoSuchDevice(String),
    /// Signing into the app account failed.
    #[error("app: signing into the app account at {relay} failed: {reason}")]
    SignIn {
        /// Relay URL.
        relay: String,
        /// What came back.
        reason: String,
    },
    /// The relay answered something the API does not define.
    #[error("app: relay {relay} answered {status}: {body}")]
    Relay {
        /// Relay URL.
        relay: String,
        /// HTTP status.
        status: u16,
        /// Its body.
        body: String,
    },
    /// The bench gives no address for this.
    #[error("app: {0}")]
    NotConfigured(String),
    /// The operator's answer could not be read.
    #[error("app (operator): {0}")]
    Operator(String),
    /// The recorder refused the saved credentials when the device was added.
    #[error("app: recorder {serial} refused the device user {user:?} when adding it: {reason}")]
    AddRefused {
        /// Serial.
        serial: String,
        /// Device user.
        user: String,
        /// What the recorder said.
        reason: String,
    },
    /// The WebDriver server (Appium or the emulated phone) failed, or the screen did not show what
    /// the step needs (a locator of the screen map found nothing in time).
    #[error("app (webdriver {url}): {step}: {reason}")]
    WebDriver {
        /// The WebDriver server.
        url: String,
        /// The step attempted.
        step: String,
        /// What was expected and what happened.
        reason: String,
    },
}
