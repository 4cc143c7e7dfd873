//! Power and network link, the two things a rig's relay board switches. Power off cuts everything
//! at once (listeners, connections, console mid-line, RAM); power on replays the boot log over the
//! emulated boot time, ends it with the profile's ready marker, then opens the services on the same
//! ports as before. Link down closes the services but the box (and its console) keeps running.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpSocket;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use resetlab_profile::Interface;

use crate::error::EmulatorError;
use crate::firmware::Firmware;

/// A bound port that is not listening: connections to it are refused, and nobody else gets it.
fn reserve(service: &'static str, addr: SocketAddr) -> Result<TcpSocket, EmulatorError> {
    let bind_err = |source| EmulatorError::Bind { service, addr, source };
    let s = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(bind_err)?;
    s.set_reuseaddr(true).map_err(bind_err)?;
    s.bind(addr).map_err(bind_err)?;
    Ok(s)
}

struct Reserved {
    http: Option<TcpSocket>,
    rtsp: Option<TcpSocket>,
}

#[derive(Default)]
struct Control {
    boot: Option<JoinHandle<()>>,
    services: Option<Vec<JoinHandle<()>>>,
    reserved: Option<Reserved>,
}

/// The recorder as a powered, cabled box.
pub(crate) struct Plant {
    pub(crate) fw: Arc<Firmware>,
    pub(crate) http_addr: SocketAddr,
    pub(crate) rtsp_addr: SocketAddr,
    pub(crate) boot_time: Duration,
    powered: AtomicBool,
    linked: AtomicBool,
    booted: AtomicBool,
    shut: AtomicBool,
    serving: watch::Sender<bool>,
    ctl: Mutex<Control>,
}

impl Plant {
    pub(crate) fn new(
        fw: Arc<Firmware>,
        bind: IpAddr,
        http_port: u16,
        rtsp_port: u16,
        boot_time: Duration,
    ) -> Result<Self, EmulatorError> {
        let http = reserve("http", SocketAddr::new(bind, http_port))?;
        let rtsp = reserve("rtsp", SocketAddr::new(bind, rtsp_port))?;
        let local = |s: &TcpSocket, service, addr| {
            s.local_addr().map_err(|source| EmulatorError::Bind { service, addr, source })
        };
        let http_addr = local(&http, "http", SocketAddr::new(bind, http_port))?;
        let rtsp_addr = local(&rtsp, "rtsp", SocketAddr::new(bind, rtsp_port))?;
        Ok(Plant {
            fw,
            http_addr,
            rtsp_addr,
            boot_time,
            powered: AtomicBool::new(false),
            linked: AtomicBool::new(true),
            booted: AtomicBool::new(false),
            shut: AtomicBool::new(false),
            serving: watch::channel(false).0,
            ctl: Mutex::new(Control {
                reserved: Some(Reserved { http: Some(http), rtsp: Some(rtsp) }),
                ..Default::default()
            }),
        })
    }

    pub(crate) fn is_powered(&self) -> bool {
        self.powered.load(Ordering::SeqCst)
    }

    pub(crate) fn is_linked(&self) -> bool {
        self.linked.load(Ordering::SeqCst)
    }

    pub(crate) fn is_booted(&self) -> bool {
        self.booted.load(Ordering::SeqCst)
    }

    pub(crate) fn serving(&self) -> watch::Receiver<bool> {
        self.serving.subscribe()
    }

    pub(crate) async fn set_power(self: &Arc<Self>, on: bool) {
        let mut c = self.ctl.lock().await;
        if on == self.is_powered() || (on && self.shut.load(Ordering::SeqCst)) {
            return;
        }
        if on {
            self.powered.store(true, Ordering::SeqCst);
            let epoch = self.fw.power_on();
            tracing::info!(serial = %self.fw.serial, "power on");
            let plant = Arc::clone(self);
            c.boot = Some(tokio::spawn(async move { plant.boot(epoch).await }));
        } else {
            self.powered.store(false, Ordering::SeqCst);
            self.booted.store(false, Ordering::SeqCst);
            // From here no byte of this power-on reaches the console and no flash write lands.
            self.fw.power_off();
            if let Some(b) = c.boot.take() {
                b.abort();
            }
            self.close_services(&mut c).await;
            tracing::info!(serial = %self.fw.serial, "power off");
        }
    }

    pub(crate) async fn set_link(&self, up: bool) {
        let mut c = self.ctl.lock().await;
        if up == self.is_linked() {
            return;
        }
        self.linked.store(up, Ordering::SeqCst);
        tracing::info!(serial = %self.fw.serial, up, "network link");
        if up {
            self.fw.console.log("eth0: link up, 100Mbps, full-duplex");
            if self.is_booted() {
                self.open_services(&mut c);
            }
        } else {
            self.fw.console.log("eth0: link down");
            self.close_services(&mut c).await;
        }
    }

    /// Power off for good and give the ports back.
    pub(crate) async fn shutdown(self: &Arc<Self>) {
        self.shut.store(true, Ordering::SeqCst);
        self.set_power(false).await;
        self.ctl.lock().await.reserved = None;
    }

    async fn boot(&self, epoch: u64) {
        let lines = boot_log(&self.fw, self.http_addr.port(), self.rtsp_addr.port(), self.is_linked());
        let step = self.boot_time / (lines.len() as u32 + 1);
        for line in &lines {
            // Each line goes out in two pieces, so a power cut can land mid-line as on a UART.
            let cut = line.len() / 2;
            let cut = (0..=cut).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
            self.fw.console.write(epoch, line[..cut].to_owned());
            tokio::time::sleep(step / 2).await;
            self.fw.console.write(epoch, format!("{}\r\n", &line[cut..]));
            tokio::time::sleep(step / 2).await;
        }
        tokio::time::sleep(step).await;
        let mut c = self.ctl.lock().await;
        if self.fw.epoch() != epoch {
            return;
        }
        self.booted.store(true, Ordering::SeqCst);
        if self.is_linked() {
            self.open_services(&mut c);
        }
        self.fw.console.write(epoch, format!("{}\r\n", self.fw.profile.boot.ready_marker));
        tracing::info!(serial = %self.fw.serial, "booted");
    }

    fn open_services(&self, c: &mut Control) {
        if c.services.is_some() || self.shut.load(Ordering::SeqCst) {
            return;
        }
        let has = |i| self.fw.profile.has(i);
        let mut reserved = c.reserved.take().unwrap_or(Reserved { http: None, rtsp: None });
        let listen = |sock: Option<TcpSocket>, service, addr| {
            let sock = match sock {
                Some(s) => s,
                None => reserve(service, addr)?,
            };
            sock.listen(1024).map_err(|source| EmulatorError::Bind { service, addr, source })
        };
        let mut tasks = Vec::new();
        let mut failed = false;
        // A firmware without an interface keeps its port reserved but closed.
        if has(Interface::Http) || has(Interface::Rpc2) {
            match listen(reserved.http.take(), "http", self.http_addr) {
                Ok(l) => tasks.push(tokio::spawn(crate::http::serve(l, Arc::clone(&self.fw)))),
                Err(e) => {
                    tracing::error!(serial = %self.fw.serial, error = %e, "HTTP service could not open");
                    failed = true;
                }
            }
        }
        if has(Interface::Rtsp) {
            match listen(reserved.rtsp.take(), "rtsp", self.rtsp_addr) {
                Ok(l) => tasks.push(tokio::spawn(crate::rtsp::serve(l, Arc::clone(&self.fw)))),
                Err(e) => {
                    tracing::error!(serial = %self.fw.serial, error = %e, "RTSP service could not open");
                    failed = true;
                }
            }
        }
        c.reserved = Some(reserved);
        c.services = Some(tasks);
        if !failed {
            self.serving.send_replace(true);
        }
    }

    async fn close_services(&self, c: &mut Control) {
        self.serving.send_replace(false);
        if let Some(tasks) = c.services.take() {
            for t in &tasks {
                t.abort();
            }
            for t in tasks {
                // Returns once the task (listener and connection set) has been dropped.
                let _ = t.await;
            }
        }
        if !self.shut.load(Ordering::SeqCst) {
            let r = c.reserved.get_or_insert(Reserved { http: None, rtsp: None });
            if r.http.is_none() {
                r.http = reserve("http", self.http_addr).ok();
            }
            if r.rtsp.is_none() {
                r.rtsp = reserve("rtsp", self.rtsp_addr).ok();
            }
        }
    }
}

impl Drop for Plant {
    fn drop(&mut self) {
        let c = self.ctl.get_mut();
        if let Some(b) = c.boot.take() {
            b.abort();
        }
        if let Some(tasks) = c.services.take() {
            for t in tasks {
                t.abort();
            }
        }
    }
}

/// The console text of one boot: boot loader, kernel, then the firmware's own lines.
fn boot_log(fw: &Firmware, http_port: u16, rtsp_port: u16, linked: bool) -> Vec<String> {
    let id = &fw.profile.identity;
    let mut lines = vec![
        "U-Boot 2010.06-svn (Nov 18 2016 - 10:21:07)".to_owned(),
        "DRAM:  512 MiB".to_owned(),
        "Hit any key to stop autoboot:  0".to_owned(),
        "## Booting kernel from Legacy Image at 82000000 ...".to_owned(),
        "Starting kernel ...".to_owned(),
        "[    0.000000] Linux version 3.10.0_hi3536 (gcc version 4.8.3) #1 SMP".to_owned(),
        "[    0.000000] CPU: ARMv7 Processor [410fc075] revision 5 (ARMv7), cr=10c5387d".to_owned(),
        "[    0.512000] NET: Registered protocol family 2".to_owned(),
        format!("[    1.204000] eth0: link {}", if linked { "up, 100Mbps, full-duplex" } else { "down" }),
        "[    2.310000] VFS: Mounted root (squashfs filesystem) readonly on device 31:2.".to_owned(),
        "[    2.900000] Freeing unused kernel memory: 188K".to_owned(),
        format!("[SONIA] software version {}, build {}", id.software_version, id.build_date),
        format!("[SONIA] device {} serial {}", id.model, fw.serial),
        "[CONFIG] account database loaded from flash".to_owned(),
        format!("[NET] http service on port {http_port}"),
        format!("[NET] rtsp service on port {rtsp_port}"),
    ];
    if fw.has(crate::Defect::PasswordAtBoot) {
        // A leftover debug dump of the account database, printed while it is loaded.
        let accounts = fw.flash_accounts();
        let at = lines.iter().position(|l| l.starts_with("[CONFIG]")).map_or(lines.len(), |i| i + 1);
        for (n, a) in accounts.iter().enumerate() {
            lines.insert(
                at + n,
                format!("[CONFIG] user {} group {} pwd {}", a.name, a.group.as_str(), a.password.expose()),
            );
        }
    }
    lines
}
