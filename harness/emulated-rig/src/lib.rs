//! The embedded lab's relay board: a Modbus TCP server on 127.0.0.1 and a Modbus RTU server on a
//! pseudo-terminal, whose coils are wired to emulated recorders (coil N = power, N+1 = network link
//! by default), plus each recorder's serial console bridged to a pseudo-terminal. Real Modbus tools
//! (mbpoll, pymodbus) and resetlab's own rig drivers reach it exactly as they reach a bench.
//!
//! Fault knobs make it misbehave the way benches do: a relay that does not switch, a board that
//! never answers, a board that takes only "write multiple coils", normally-closed wiring, a silent
//! console, a recorder that never finishes booting or panics at boot.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use resetlab_emulator::{Recorder, RecorderConfig};
//! use resetlab_emulated_rig::{EmulatedBench, Layout};
//! let rec = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await?;
//! let bench = EmulatedBench::start(vec![rec], Layout::default()).await?;
//! println!("mbpoll -m tcp -p {} -t 0 -r 1 127.0.0.1 0", bench.modbus_tcp_addr().port());
//! # Ok(()) }
//! ```

mod board;
mod bridge;
mod lab;
mod pty;

pub use lab::{EmulatedFault, rig_check_emulated, start_for_bench};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use resetlab_emulator::Recorder;
use resetlab_rig::EmulatedAddresses;
use resetlab_rig::bench::{Bench, BoardSpec, SwitchSpec};
use tokio::task::JoinHandle;

use crate::board::{Board, Wired};
use crate::bridge::{Bridge, RecorderFaults};

/// How a bench resolved to this board reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardLink {
    /// Modbus TCP on 127.0.0.1.
    #[default]
    Tcp,
    /// Modbus RTU on the board's pseudo-terminal (9600 baud).
    Rtu,
}

/// Where each recorder's switches are on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Modbus unit (slave) id of the board.
    pub unit: u8,
    /// Power coil of the first recorder.
    pub power_coil: u16,
    /// Link coil of the first recorder.
    pub link_coil: u16,
    /// Coils between one recorder and the next.
    pub stride: u16,
}

impl Default for Layout {
    /// Unit 1, power on coil 0, link on coil 1, next recorder on coils 2 and 3.
    fn default() -> Self {
        Layout { unit: 1, power_coil: 0, link_coil: 1, stride: 2 }
    }
}

impl Layout {
    /// The layout a bench file asks for (its `driver: emulated` coils), else the default.
    pub fn from_bench(bench: &Bench) -> Layout {
        let mut l = Layout::default();
        let emulated = |s: &SwitchSpec| match s {
            SwitchSpec::Coil(c) if c.board == BoardSpec::Emulated => Some((c.unit, c.coil)),
            _ => None,
        };
        if let Some((unit, coil)) = emulated(&bench.power) {
            l.unit = unit;
            l.power_coil = coil;
        }
        if let Some((_, coil)) = emulated(&bench.network) {
            l.link_coil = coil;
        }
        l.stride = l.power_coil.abs_diff(l.link_coil).max(1) + 1;
        l
    }

    /// Power and link coils of recorder `i`.
    pub fn coils(&self, i: usize) -> (u16, u16) {
        let off = self.stride * i as u16;
        (self.power_coil + off, self.link_coil + off)
    }
}

/// The emulated bench could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum EmulatedRigError {
    /// A socket or pseudo-terminal could not be created.
    #[error("emulated relay board: {what}: {message}")]
    Setup { what: String, message: String },
}

/// A running emulated relay board with its recorders and console bridges.
pub struct EmulatedBench {
    board: Arc<Board>,
    layout: Layout,
    tcp: SocketAddr,
    rtu: pty::Pty,
    consoles: Vec<Bridge>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for EmulatedBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatedBench")
            .field("modbus_tcp", &self.tcp)
            .field("modbus_rtu", &self.rtu.path)
            .field("consoles", &self.consoles.iter().map(|c| &c.path).collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for EmulatedBench {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl EmulatedBench {
    /// Wire `recorders` to a new board (recorder i on [`Layout::coils`]`(i)`), start its Modbus TCP
    /// server on 127.0.0.1 (free port), its Modbus RTU server on a pseudo-terminal, and one console
    /// pseudo-terminal per recorder. Coils start as the recorders are (powered, linked).
    pub async fn start(recorders: Vec<Recorder>, layout: Layout) -> Result<EmulatedBench, EmulatedRigError> {
        let mut wired = Vec::new();
        let mut consoles = Vec::new();
        for (i, rec) in recorders.into_iter().enumerate() {
            let faults = Arc::new(RecorderFaults::default());
            let (power, link) = layout.coils(i);
            consoles.push(Bridge::start(&rec, Arc::clone(&faults))?);
            wired.push(Wired { rec, power, link, faults });
        }
        let board = Board::new(layout.unit, wired);
        let setup = |what: &str| {
            let what = what.to_owned();
            move |e: std::io::Error| EmulatedRigError::Setup { what, message: e.to_string() }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(setup("Modbus TCP listener"))?;
        let tcp = listener.local_addr().map_err(setup("Modbus TCP listener"))?;
        let mut tasks = vec![tokio::spawn(board::serve_tcp(listener, Arc::clone(&board)))];
        let (rtu, master) = pty::Pty::open("Modbus RTU line")?;
        tasks.push(tokio::spawn(board::serve_rtu(master, Arc::clone(&board))));
        tracing::info!(%tcp, rtu = %rtu.path.display(), "emulated relay board up");
        Ok(EmulatedBench { board, layout, tcp, rtu, consoles, tasks })
    }

    /// The board's Modbus TCP address (127.0.0.1:port).
    pub fn modbus_tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The board's Modbus RTU line: a pseudo-terminal such as /dev/pts/7.
    pub fn modbus_rtu_path(&self) -> &Path {
        &self.rtu.path
    }

    /// Recorder `i`'s console pseudo-terminal (115200 8N1 as far as a reader can tell).
    pub fn console_path(&self, i: usize) -> &Path {
        &self.consoles[i].path
    }

    /// Recorder `i`.
    pub fn recorder(&self, i: usize) -> &Recorder {
        &self.board.wired[i].rec
    }

    /// The coil layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The board's unit id.
    pub fn unit(&self) -> u8 {
        self.board.unit
    }

    /// The state of `coil` as the board holds it.
    pub fn coil(&self, coil: u16) -> Option<bool> {
        self.board.coil(coil)
    }

    /// Fault: accept writes (and answer them normally) but never switch — the relay that is stuck.
    pub fn ignore_writes(&self, on: bool) {
        self.board.faults.set_ignore_writes(on);
    }

    /// Fault: never answer any request (a dead board or wrong unit id).
    pub fn mute(&self, on: bool) {
        self.board.faults.set_mute(on);
    }

    /// Board model that accepts only "write multiple coils" (function 15): single writes get an
    /// illegal-function exception.
    pub fn only_write_multiple(&self, on: bool) {
        self.board.faults.set_only_multiple(on);
    }

    /// Wire `coil` through the normally-closed contact: the part is on while the coil is 0.
    /// The coil is flipped so the recorder keeps its state.
    pub async fn normally_closed(&self, coil: u16, on: bool) {
        self.board.set_normally_closed(coil, on).await;
    }

    /// Fault: recorder `i`'s console cable prints nothing.
    pub fn console_silent(&self, i: usize, on: bool) {
        self.board.wired[i].faults.set_silent(on);
    }

    /// Fault: recorder `i` hangs at boot after the kernel (no ready marker, services never open).
    /// Takes effect now: its services close until the fault is cleared.
    pub async fn hang_at_boot(&self, i: usize, on: bool) {
        self.board.wired[i].faults.set_hang(on);
        self.board.apply().await;
    }

    /// Fault: recorder `i`'s kernel panics at boot (console prints "Kernel panic", services never
    /// open). Takes effect now like [`EmulatedBench::hang_at_boot`].
    pub async fn panic_at_boot(&self, i: usize, on: bool) {
        self.board.wired[i].faults.set_panic(on);
        self.board.apply().await;
    }

    /// Where recorder `i`'s parts are, its relay board reached over `link`, for
    /// [`Bench::with_emulated_addresses`].
    pub fn addresses(&self, i: usize, link: BoardLink) -> EmulatedAddresses {
        let (power_coil, link_coil) = self.layout.coils(i);
        let rec = self.recorder(i);
        let board = match link {
            BoardLink::Tcp => BoardSpec::Tcp { host: self.tcp.ip().to_string(), port: self.tcp.port() },
            BoardLink::Rtu => BoardSpec::Rtu { path: self.rtu.path.clone(), baud: 9600 },
        };
        EmulatedAddresses {
            board,
            unit: self.board.unit,
            power_coil,
            link_coil,
            console: self.consoles[i].path.clone(),
            http: rec.http_addr(),
            rtsp: rec.rtsp_addr(),
        }
    }

    /// The fields of the JSON line `resetlab emulate` (and `resetlab-emulated-bench`) prints, for
    /// recorder 0: its `http`, `rpc2` and `rtsp` addresses, `serial` and `realm`, then
    /// `modbus_tcp` (host:port), `modbus_rtu` (pty path), `console` (pty path), `modbus_unit`,
    /// `power_coil`, `link_coil`.
    pub fn json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let (p, l) = self.layout.coils(0);
        let mut m = serde_json::Map::new();
        let rec = self.recorder(0);
        m.insert("http".into(), rec.http_addr().to_string().into());
        m.insert("rpc2".into(), format!("http://{}/RPC2_Login", rec.http_addr()).into());
        m.insert("rtsp".into(), rec.rtsp_addr().to_string().into());
        m.insert("serial".into(), rec.serial().into());
        m.insert("realm".into(), rec.realm().into());
        m.insert("modbus_tcp".into(), self.tcp.to_string().into());
        m.insert("modbus_rtu".into(), self.rtu.path.display().to_string().into());
        if let Some(c) = self.consoles.first() {
            m.insert("console".into(), c.path.display().to_string().into());
        }
        m.insert("modbus_unit".into(), self.board.unit.into());
        m.insert("power_coil".into(), p.into());
        m.insert("link_coil".into(), l.into());
        m
    }

    /// Stop the servers and shut every recorder down.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        for w in &self.board.wired {
            w.rec.shutdown().await;
        }
    }
}

/// The bench with its `driver: emulated` parts pointed at recorder `i` of `lab`, the relay board
/// reached over `link`: how every caller (the CLI's rig check, the embedded lab, tests) resolves an
/// emulated bench; [`Bench::with_emulated_addresses`] does the rewriting.
pub fn resolve(bench: &Bench, lab: &EmulatedBench, i: usize, link: BoardLink) -> Bench {
    bench.with_emulated_addresses(&lab.addresses(i, link))
}
