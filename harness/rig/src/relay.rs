//! A relay board and one coil on it — the driver half shared by Modbus TCP and RTU: write, read
//! back, honour normally-closed wiring and write-multiple-only boards, keep the minimum off time.
//! Every request has a deadline (tokio-modbus clients have none) and a failed or late request drops
//! the connection, so a late answer can never be taken for the next one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::slave::{Slave, SlaveContext};

use crate::error::{Blame, RigError};
use crate::power::{Switch, Switched};

/// How to reach a board.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    Tcp { host: String, port: u16 },
    Rtu { path: std::path::PathBuf, baud: u32 },
}

/// One relay board (one TCP endpoint or one serial line); coils on it share its connection.
pub struct RelayBoard {
    name: String,
    transport: Transport,
    timeout: Duration,
    ctx: Mutex<Option<Context>>,
}

/// Wiring options of one coil.
#[derive(Debug, Clone)]
pub struct CoilOptions {
    /// Modbus unit (slave) id.
    pub unit: u8,
    /// Coil address (0-based).
    pub coil: u16,
    /// Normally-closed wiring: write 0 for on.
    pub invert: bool,
    /// Use function 15 (write multiple coils) even for one coil.
    pub write_multiple: bool,
    /// Minimum off time before switching back on.
    pub off: Duration,
    /// What it switches, for messages ("power", "network link").
    pub what: String,
}

impl std::fmt::Debug for RelayBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayBoard").field("name", &self.name).field("timeout", &self.timeout).finish()
    }
}

impl RelayBoard {
    pub(crate) fn new(name: String, transport: Transport, timeout: Duration) -> Arc<Self> {
        Arc::new(RelayBoard { name, transport, timeout, ctx: Mutex::new(None) })
    }

    /// The board's name in messages (`modbus-tcp 10.0.0.5:502`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A coil on this board.
    pub fn coil(self: &Arc<Self>, opts: CoilOptions) -> RelayCoil {
        RelayCoil { board: Arc::clone(self), opts, last_off: std::sync::Mutex::new(None) }
    }

    async fn connect(&self, unit: u8) -> Result<Context, RigError> {
        let what = || format!("connection to relay board {}", self.name);
        let fail = |e: String| RigError::Modbus { board: self.name.clone(), op: "connect".into(), message: e };
        let fut = async {
            match &self.transport {
                Transport::Tcp { host, port } => {
                    let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                        .await
                        .map_err(|e| fail(e.to_string()))?;
                    let _ = stream.set_nodelay(true);
                    Ok(tokio_modbus::client::tcp::attach_slave(stream, Slave(unit)))
                }
                Transport::Rtu { path, baud } => {
                    // Stale bytes from before we opened would desynchronise the first frame.
                    let port = crate::serial::Port::open(path, *baud).map_err(|e| fail(e.to_string()))?;
                    Ok(tokio_modbus::client::rtu::attach_slave(port, Slave(unit)))
                }
            }
        };
        crate::error::within(what, self.timeout, Blame::Relay, fut).await
    }

    /// Run one request with the board's deadline; any failure drops the connection.
    async fn request(&self, unit: u8, op: String, call: Op) -> Result<Vec<bool>, RigError> {
        let mut guard = self.ctx.lock().await;
        if guard.is_none() {
            *guard = Some(self.connect(unit).await?);
        }
        let ctx = guard.as_mut().expect("connected above");
        ctx.set_slave(Slave(unit));
        let fut = async {
            match call {
                Op::Read(coil) => ctx.read_coils(coil, 1).await,
                Op::WriteSingle(coil, v) => ctx.write_single_coil(coil, v).await.map(|r| r.map(|()| vec![])),
                Op::WriteMultiple(coil, v) => ctx.write_multiple_coils(coil, &[v]).await.map(|r| r.map(|()| vec![])),
            }
        };
        let result = tokio::time::timeout(self.timeout, fut).await;
        let out = match result {
            Err(_) => Err(RigError::Timeout {
                what: format!("relay board {} to answer {op}", self.name),
                after: self.timeout,
                blame: Blame::Relay,
            }),
            Ok(Err(e)) => Err(RigError::Modbus { board: self.name.clone(), op, message: e.to_string() }),
            Ok(Ok(Err(exc))) => {
                Err(RigError::Modbus { board: self.name.clone(), op, message: format!("exception {exc}") })
            }
            Ok(Ok(Ok(v))) => Ok(v),
        };
        if out.is_err() {
            *guard = None;
        }
        out
    }
}

/// One Modbus request.
enum Op {
    Read(u16),
    WriteSingle(u16, bool),
    WriteMultiple(u16, bool),
}

/// A coil driving one switch (power or link), verified by read-back.
#[derive(Debug)]
pub struct RelayCoil {
    board: Arc<RelayBoard>,
    opts: CoilOptions,
    last_off: std::sync::Mutex<Option<Instant>>,
}

impl RelayCoil {
    /// The board this coil is on.
    pub fn board(&self) -> &Arc<RelayBoard> {
        &self.board
    }

    /// The coil's options.
    pub fn options(&self) -> &CoilOptions {
        &self.opts
    }

    async fn read_raw(&self) -> Result<bool, RigError> {
        let (unit, coil) = (self.opts.unit, self.opts.coil);
        let v = self
            .board
            .request(unit, format!("read of coil {coil} (unit {unit}, {})", self.opts.what), Op::Read(coil))
            .await?;
        v.first().copied().ok_or_else(|| RigError::Modbus {
            board: self.board.name.clone(),
            op: format!("read of coil {coil}"),
            message: "empty answer".into(),
        })
    }

    async fn write_raw(&self, value: bool) -> Result<(), RigError> {
        let (unit, coil, multiple) = (self.opts.unit, self.opts.coil, self.opts.write_multiple);
        let op = format!(
            "write of coil {coil} = {} (unit {unit}, {}, function {})",
            value as u8,
            self.opts.what,
            if multiple { 15 } else { 5 }
        );
        let call = if multiple { Op::WriteMultiple(coil, value) } else { Op::WriteSingle(coil, value) };
        self.board.request(unit, op, call).await.map(|_| ())
    }
}

impl Switch for RelayCoil {
    fn describe(&self) -> String {
        format!("{} coil {} (unit {}) on {}", self.opts.what, self.opts.coil, self.opts.unit, self.board.name)
    }

    async fn set(&self, on: bool) -> Result<Switched, RigError> {
        let started = Instant::now();
        let mut held_off = Duration::ZERO;
        if on {
            let since = *self.last_off.lock().unwrap_or_else(|e| e.into_inner());
            let since = match since {
                Some(t) => Some(t),
                // Off since an unknown moment: count from now, the only safe assumption.
                None if !self.get().await? => Some(Instant::now()),
                None => None,
            };
            if let Some(t) = since {
                let until = t + self.opts.off;
                let now = Instant::now();
                if until > now {
                    held_off = until - now;
                    tokio::time::sleep_until(until.into()).await;
                }
            }
        }
        let raw = on != self.opts.invert;
        self.write_raw(raw).await?;
        let read = self.read_raw().await?;
        if read != raw {
            return Err(RigError::ReadBack {
                board: self.board.name.clone(),
                what: format!("{} {}", self.opts.what, if on { "on" } else { "off" }),
                unit: self.opts.unit,
                coil: self.opts.coil,
                wrote: raw,
                read,
            });
        }
        *self.last_off.lock().unwrap_or_else(|e| e.into_inner()) = if on { None } else { Some(Instant::now()) };
        Ok(Switched { on, took: started.elapsed(), held_off })
    }

    async fn get(&self) -> Result<bool, RigError> {
        Ok(self.read_raw().await? != self.opts.invert)
    }
}
