//! The emulated phone: an Appium-compatible W3C WebDriver server in front of an emulated FLIR Cloud
//! app, so the harness's `webdriver` app driver (and any standard WebDriver client: Selenium,
//! Appium's clients) drives the same app in CI that a QA lab drives on a real iPhone, iPad or
//! Android phone through Appium.
//!
//! One phone serves many sessions: each New Session opens the app on the device its capabilities
//! name (see [`device`]: `platformName` iOS / Android / mac, `appium:deviceName`, `resetlab:release`
//! or `appium:app` for the 2017 or the fixed release). The app reaches recorders through resetlab's
//! cloud relay over its HTTP API, exactly as the real app reaches them through the vendor's
//! service, answering the recorder's Digest challenge itself. App defects ([`PhoneDefect`]) live in
//! the app's behaviour ([`app`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), resetlab_emulated_phone::PhoneError> {
//! use resetlab_emulated_phone::{Phone, PhoneConfig, PhoneDefect};
//! let phone = Phone::start(PhoneConfig::new("http://127.0.0.1:4000").with_defects([PhoneDefect::IpadNotOffered])).await?;
//! println!("Appium-compatible endpoint at {}", phone.url());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod app;
pub mod defects;
pub mod device;
pub mod locate;
mod relay;
pub mod screenshot;
mod server;
pub mod ui;
pub mod w3c;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub use defects::{PhoneDefect, UnknownDefect};

/// How to start a phone.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The cloud relay's base URL (`http://127.0.0.1:PORT`).
    pub relay_url: String,
    /// Defects of the app installed on this phone (every session gets them).
    pub defects: Vec<PhoneDefect>,
    /// A fixed port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
}

impl PhoneConfig {
    /// A conforming app reaching recorders through the relay at `relay_url`, on a free port.
    pub fn new(relay_url: impl Into<String>) -> PhoneConfig {
        PhoneConfig { relay_url: relay_url.into(), defects: Vec::new(), port: None }
    }

    /// The same with these app defects.
    pub fn with_defects(mut self, defects: impl IntoIterator<Item = PhoneDefect>) -> PhoneConfig {
        self.defects = defects.into_iter().collect();
        self
    }
}

/// Why the phone did not start.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    /// The listening socket could not be bound.
    #[error("emulated phone: cannot listen on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running phone; dropping it does not stop it, [`Phone::shutdown`] does.
#[derive(Clone)]
pub struct Phone {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone").field("addr", &self.addr).field("defects", &self.shared.defects).finish()
    }
}

impl Phone {
    /// Bind 127.0.0.1 (a free port unless `config.port`) and serve in the background.
    pub async fn start(config: PhoneConfig) -> Result<Phone, PhoneError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port.unwrap_or(0)));
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| PhoneError::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(|source| PhoneError::Bind { addr, source })?;
        let shared = Arc::new(server::Shared {
            relay: relay::RelayClient::new(&config.relay_url),
            defects: config.defects,
            sessions: Mutex::new(Default::default()),
        });
        let (stop, mut stopped) = watch::channel(false);
        let router = server::router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await;
        });
        tracing::info!(%addr, relay = %shared.relay.base(), defects = ?shared.defects, "emulated phone listening");
        Ok(Phone { addr, shared, stop })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebDriver base URL, `http://127.0.0.1:PORT` (what an Appium client is pointed at).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The app defects of this phone.
    pub fn defects(&self) -> &[PhoneDefect] {
        &self.shared.defects
    }

    /// How many WebDriver sessions are open (a driver that forgets to close them leaks apps).
    pub fn open_sessions(&self) -> usize {
        self.shared.sessions.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Stop serving.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}
