//! `resetlab-emulated-bench`: one emulated recorder with its relay board and console, and nothing
//! else — the process `resetlab fleet --emulated N` starts N of.
//!
//! `resetlab emulate` also starts a cloud relay and an emulated phone, and lives in the whole
//! resetlab binary (the suite, Cucumber, the clients, clap, YAML …). A fleet's benches drive
//! neither relay nor phone (`app: direct`), and every emulated recorder paid for the big binary in
//! memory: a recorder's resident set is mostly the binary's code pages the kernel maps around
//! the code it runs (64 KiB at a time), so code it never runs but that lies beside code it does
//! counts too. This binary holds only the emulator and the emulated rig, runs them on one thread
//! (a recorder on two cores shared with 199 others gains nothing from a thread pool of its own),
//! and prints the same JSON line as `resetlab emulate` without the relay's and phone's fields.
//! The recorder is the same code speaking the same protocols; the bench file and `certify` that
//! test it are unchanged.
//!
//! Arguments: `[emulate] [--profile FILE] [--defect NAME]… [--boot-ms MS] [--latency-ms MS]
//! [--http-port P] [--rtsp-port P]` (the leading `emulate` is accepted so callers can treat it as
//! `resetlab emulate`).

use std::process::ExitCode;
use std::time::Duration;

use resetlab_emulator::{Defect, Recorder, RecorderConfig};

/// What `resetlab-emulated-bench` was asked for.
struct Args {
    profile: Option<std::path::PathBuf>,
    defects: Vec<Defect>,
    boot_ms: u64,
    latency_ms: u64,
    http_port: u16,
    rtsp_port: u16,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args { profile: None, defects: vec![], boot_ms: 300, latency_ms: 0, http_port: 0, rtsp_port: 0 };
    let mut first = true;
    while let Some(arg) = it.next() {
        if std::mem::take(&mut first) && arg == "emulate" {
            continue;
        }
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|_| format!("{arg} expects a number, got {v:?}"));
        match arg.as_str() {
            "--profile" => a.profile = Some(value()?.into()),
            "--defect" => {
                let v = value()?;
                a.defects.push(v.parse().map_err(|e| format!("--defect {v}: {e}"))?);
            }
            "--boot-ms" => a.boot_ms = number(value()?)?,
            "--latency-ms" => a.latency_ms = number(value()?)?,
            "--http-port" => {
                a.http_port = u16::try_from(number(value()?)?).map_err(|_| "--http-port is a TCP port".to_owned())?
            }
            "--rtsp-port" => {
                a.rtsp_port = u16::try_from(number(value()?)?).map_err(|_| "--rtsp-port is a TCP port".to_owned())?
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (this is the fleet's recorder; `resetlab emulate --help` has every option)"
                ));
            }
        }
    }
    Ok(a)
}

async fn run(args: Args) -> Result<(), String> {
    let profile = resetlab_profile::resolve(args.profile.as_deref(), None).map_err(|e| e.to_string())?;
    let mut cfg = RecorderConfig::new(profile);
    cfg.defects = args.defects;
    cfg.http_port = args.http_port;
    cfg.rtsp_port = args.rtsp_port;
    cfg.latency = Duration::from_millis(args.latency_ms);
    cfg.boot_time = Duration::from_millis(args.boot_ms);
    let boot = cfg.boot_time;
    let recorder = Recorder::start(cfg).await.map_err(|e| format!("starting the emulated recorder: {e}"))?;
    recorder
        .wait_ready(boot * 2 + Duration::from_secs(30))
        .await
        .map_err(|e| format!("waiting for the emulated recorder: {e}"))?;
    let board =
        resetlab_emulated_rig::EmulatedBench::start(vec![recorder.clone()], resetlab_emulated_rig::Layout::default())
            .await
            .map_err(|e| format!("starting the emulated relay board: {e}"))?;
    let mut line = serde_json::json!({
        "latency_ms": args.latency_ms,
        "jitter_ms": 0,
        "boot_ms": args.boot_ms,
    });
    if let Some(map) = line.as_object_mut() {
        map.extend(board.json_fields());
    }
    println!("{line}");
    tokio::signal::ctrl_c().await.map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    board.shutdown().await;
    recorder.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", resetlab_wire::secret::redact(&e));
            ExitCode::from(2)
        }
    }
}
