//! The relay board itself: a coil table, the wiring from coils to recorders, fault knobs, and the
//! Modbus service that the TCP and RTU servers share. A write answers only after the recorders have
//! been switched, as a relay's contact has closed by the time a real board answers.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use resetlab_emulator::Recorder;
use tokio_modbus::prelude::{ExceptionCode, Request, Response, SlaveRequest};

use crate::bridge::RecorderFaults;

/// Coils on the board (an 8-channel board has 8; we offer 32).
const COILS: usize = 32;

pub(crate) struct Wired {
    pub(crate) rec: Recorder,
    pub(crate) power: u16,
    pub(crate) link: u16,
    pub(crate) faults: Arc<RecorderFaults>,
}

#[derive(Default)]
pub(crate) struct BoardFaults {
    ignore_writes: AtomicBool,
    mute: AtomicBool,
    only_multiple: AtomicBool,
}

impl BoardFaults {
    pub(crate) fn set_ignore_writes(&self, on: bool) {
        self.ignore_writes.store(on, Ordering::SeqCst);
    }
    pub(crate) fn set_mute(&self, on: bool) {
        self.mute.store(on, Ordering::SeqCst);
    }
    pub(crate) fn set_only_multiple(&self, on: bool) {
        self.only_multiple.store(on, Ordering::SeqCst);
    }
}

pub(crate) struct Board {
    pub(crate) unit: u8,
    pub(crate) wired: Vec<Wired>,
    pub(crate) faults: BoardFaults,
    coils: Mutex<Vec<bool>>,
    normally_closed: Mutex<HashSet<u16>>,
    /// Applying coil states to recorders one at a time keeps them in coil order.
    switching: tokio::sync::Mutex<()>,
}

impl Board {
    pub(crate) fn new(unit: u8, wired: Vec<Wired>) -> Arc<Board> {
        let mut coils = vec![false; COILS];
        for w in &wired {
            coils[w.power as usize] = w.rec.is_powered();
            coils[w.link as usize] = w.rec.is_linked();
        }
        Arc::new(Board {
            unit,
            wired,
            faults: BoardFaults::default(),
            coils: Mutex::new(coils),
            normally_closed: Mutex::new(HashSet::new()),
            switching: tokio::sync::Mutex::new(()),
        })
    }

    pub(crate) fn coil(&self, coil: u16) -> Option<bool> {
        self.coils.lock().unwrap_or_else(|e| e.into_inner()).get(coil as usize).copied()
    }

    pub(crate) async fn set_normally_closed(&self, coil: u16, on: bool) {
        let changed = {
            let mut nc = self.normally_closed.lock().unwrap_or_else(|e| e.into_inner());
            if on { nc.insert(coil) } else { nc.remove(&coil) }
        };
        if changed && let Some(c) = self.coils.lock().unwrap_or_else(|e| e.into_inner()).get_mut(coil as usize) {
            *c = !*c;
        }
        self.apply().await;
    }

    /// Make every recorder's power and link follow the coils (through the wiring and faults).
    pub(crate) async fn apply(&self) {
        let _one_at_a_time = self.switching.lock().await;
        let (coils, nc) = {
            let c = self.coils.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let n = self.normally_closed.lock().unwrap_or_else(|e| e.into_inner()).clone();
            (c, n)
        };
        let level = |coil: u16| coils[coil as usize] != nc.contains(&coil);
        for w in &self.wired {
            // A recorder that hangs or panics at boot never opens its services: hold its link down.
            let link = level(w.link) && !w.faults.broken_boot();
            let power = level(w.power);
            w.rec.set_link(link).await;
            w.rec.set_power(power).await;
        }
    }

    async fn handle(self: Arc<Self>, req: SlaveRequest<'static>) -> Result<Option<Response>, ExceptionCode> {
        if self.faults.mute.load(Ordering::SeqCst) || req.slave != self.unit {
            return Ok(None);
        }
        let range = |addr: u16, n: usize| {
            let end = addr as usize + n;
            if n == 0 || end > COILS { Err(ExceptionCode::IllegalDataAddress) } else { Ok(addr as usize..end) }
        };
        let ignore = self.faults.ignore_writes.load(Ordering::SeqCst);
        match req.request {
            Request::ReadCoils(addr, n) => {
                let r = range(addr, n as usize)?;
                Ok(Some(Response::ReadCoils(self.coils.lock().unwrap_or_else(|e| e.into_inner())[r].to_vec())))
            }
            Request::ReadDiscreteInputs(addr, n) => {
                let r = range(addr, n as usize)?;
                Ok(Some(Response::ReadDiscreteInputs(self.coils.lock().unwrap_or_else(|e| e.into_inner())[r].to_vec())))
            }
            Request::WriteSingleCoil(addr, v) => {
                if self.faults.only_multiple.load(Ordering::SeqCst) {
                    return Err(ExceptionCode::IllegalFunction);
                }
                let r = range(addr, 1)?;
                if !ignore {
                    self.coils.lock().unwrap_or_else(|e| e.into_inner())[r].fill(v);
                    self.apply().await;
                }
                Ok(Some(Response::WriteSingleCoil(addr, v)))
            }
            Request::WriteMultipleCoils(addr, vs) => {
                let r = range(addr, vs.len())?;
                if !ignore {
                    self.coils.lock().unwrap_or_else(|e| e.into_inner())[r].copy_from_slice(&vs);
                    self.apply().await;
                }
                Ok(Some(Response::WriteMultipleCoils(addr, vs.len() as u16)))
            }
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

#[derive(Clone)]
struct Service(Arc<Board>);

impl tokio_modbus::server::Service for Service {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        Box::pin(Arc::clone(&self.0).handle(req))
    }
}

pub(crate) async fn serve_tcp(listener: tokio::net::TcpListener, board: Arc<Board>) {
    let server = tokio_modbus::server::tcp::Server::new(listener);
    let svc = Service(board);
    let on_connected = move |stream: tokio::net::TcpStream, _peer: std::net::SocketAddr| {
        let svc = svc.clone();
        async move { std::io::Result::Ok(Some((svc, stream))) }
    };
    if let Err(e) = server
        .serve(&on_connected, |e: std::io::Error| tracing::debug!(error = %e, "Modbus TCP connection ended"))
        .await
    {
        tracing::error!(error = %e, "emulated Modbus TCP server stopped");
    }
}

pub(crate) async fn serve_rtu(master: tokio_serial::SerialStream, board: Arc<Board>) {
    let server = tokio_modbus::server::rtu::Server::new(master);
    if let Err(e) = server.serve_forever(Service(board)).await {
        tracing::error!(error = %e, "emulated Modbus RTU server stopped");
    }
}
