//! One call for the CLI: start the embedded lab a bench file describes (one recorder from the bench's
//! firmware profile, the relay board, the console), inject named faults, run `rig check` through the
//! real drivers, shut it down.

use std::str::FromStr;

use resetlab_emulator::{Recorder, RecorderConfig};
use resetlab_rig::{Bench, CheckOptions, CheckReport};

use crate::{EmulatedBench, EmulatedRigError, Layout};

/// A fault the emulated bench can be told to have (names as on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatedFault {
    /// `ignore-writes`: the relay answers but never switches.
    IgnoreWrites,
    /// `dead-board`: the board never answers.
    DeadBoard,
    /// `only-write-multiple`: the board refuses function 5.
    OnlyWriteMultiple,
    /// `silent-console`: the console cable prints nothing.
    SilentConsole,
    /// `boot-hangs`: the recorder never finishes booting.
    BootHangs,
    /// `boot-panics`: the recorder's kernel panics at boot.
    BootPanics,
}

impl EmulatedFault {
    /// Every fault.
    pub const ALL: [EmulatedFault; 6] = [
        EmulatedFault::IgnoreWrites,
        EmulatedFault::DeadBoard,
        EmulatedFault::OnlyWriteMultiple,
        EmulatedFault::SilentConsole,
        EmulatedFault::BootHangs,
        EmulatedFault::BootPanics,
    ];

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            EmulatedFault::IgnoreWrites => "ignore-writes",
            EmulatedFault::DeadBoard => "dead-board",
            EmulatedFault::OnlyWriteMultiple => "only-write-multiple",
            EmulatedFault::SilentConsole => "silent-console",
            EmulatedFault::BootHangs => "boot-hangs",
            EmulatedFault::BootPanics => "boot-panics",
        }
    }
}

impl FromStr for EmulatedFault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EmulatedFault::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = EmulatedFault::ALL.iter().map(|f| f.name()).collect();
            format!("unknown rig fault {s:?}; known: {}", names.join(", "))
        })
    }
}

impl EmulatedBench {
    /// Make recorder 0's bench have `fault`.
    pub async fn inject(&self, fault: EmulatedFault) {
        match fault {
            EmulatedFault::IgnoreWrites => self.ignore_writes(true),
            EmulatedFault::DeadBoard => self.mute(true),
            EmulatedFault::OnlyWriteMultiple => self.only_write_multiple(true),
            EmulatedFault::SilentConsole => self.console_silent(0, true),
            EmulatedFault::BootHangs => self.hang_at_boot(0, true).await,
            EmulatedFault::BootPanics => self.panic_at_boot(0, true).await,
        }
    }
}

/// Start one recorder for `bench` and the emulated bench around it (layout from the bench file).
pub async fn start_for_bench(bench: &Bench) -> Result<EmulatedBench, EmulatedRigError> {
    let setup =
        |what: &str, e: &dyn std::fmt::Display| EmulatedRigError::Setup { what: what.into(), message: e.to_string() };
    let profile = bench.firmware_profile(None).map_err(|e| setup("firmware profile", &e))?;
    let mut cfg = RecorderConfig::new(profile);
    cfg.http_port = bench.device.http_port;
    cfg.rtsp_port = bench.device.rtsp_port;
    let rec = Recorder::start(cfg).await.map_err(|e| setup("recorder", &e))?;
    EmulatedBench::start(vec![rec], Layout::from_bench(bench)).await
}

/// `resetlab rig check` on a bench with `driver: emulated` parts: start the lab, inject `faults`,
/// check it through the real Modbus TCP and serial drivers, shut it down. Benches without emulated
/// parts are checked as they are.
pub async fn rig_check_emulated(
    bench: &Bench,
    faults: &[EmulatedFault],
    opts: &CheckOptions,
) -> Result<CheckReport, EmulatedRigError> {
    if !bench.uses_emulated() {
        return Ok(resetlab_rig::rig_check(bench, opts).await);
    }
    let lab = start_for_bench(bench).await?;
    for f in faults {
        lab.inject(*f).await;
    }
    let resolved = crate::resolve(bench, &lab, 0, crate::BoardLink::Tcp);
    let mut opts = opts.clone();
    if opts.boot_deadline.is_none() {
        // The one deadline policy, from the boot this recorder really has (the profile's is a
        // real recorder's, far longer than the emulated boot).
        opts.boot_deadline = Some(resetlab_rig::Deadlines::for_boot_time(Some(lab.recorder(0).boot_time())).up);
    }
    let report = resetlab_rig::rig_check(&resolved, &opts).await;
    lab.shutdown().await;
    Ok(report)
}
