//! The command line: argument parsing and dispatch. Each subcommand is a few lines that call into
//! the library; nothing here knows a protocol.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use resetlab_emulator::{Defect, Recorder, RecorderConfig};

use resetlab_profile::FirmwareProfile;

use resetlab_rig::bench::Bench;

use crate::lab::{EmulatedModbus, Lab, LabOptions};
use crate::record::Progress;
use crate::run::{RunOptions, run_suite, summary};

/// resetlab — certify that a DVR/NVR's password reset works, and that nothing else gets in.
///
/// Runs the Cucumber scenarios written from the vendor's support article against an emulated lab
/// (default), a lab bench, or a field unit, and writes a certification record.
#[derive(Debug, Parser)]
#[command(name = "resetlab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the compliance suite; exit 0 only when every applicable requirement passes.
    Certify(CertifyArgs),
    /// Start an emulated recorder on loopback, with its relay board, console, cloud relay and an
    /// emulated phone (a W3C WebDriver endpoint), and print their addresses as one JSON line.
    Emulate(EmulateArgs),
    /// Certify many benches at once: one report per bench plus a fleet summary (HTML, Markdown,
    /// JUnit with one test suite per bench); one bench failing or missing does not stop the others.
    Fleet(FleetArgs),
    /// Put back what an interrupted run left (from the journal): restore baseline passwords, delete accounts it added.
    Recover(RecoverArgs),
    /// Work with run records: `resetlab report diff A B` shows what changed between two runs.
    #[command(subcommand)]
    Report(crate::report::command::ReportCommand),
    /// Commands about the bench itself.
    #[command(subcommand)]
    Rig(RigCommand),
    /// Prove the suite's verdicts: the conforming emulated firmware must pass everything and every
    /// catalogued defect must be caught by a requirement it violates. Prints the matrix.
    Selftest(SelftestArgs),
}

#[derive(Debug, Subcommand)]
pub enum RigCommand {
    /// Prove the bench works without touching credentials: power off/on with read-back and boot
    /// marker, link down/up, console alive. Prints each check with its timing; exits non-zero
    /// naming the faulty part (2 rig, 3 device, 4 harness).
    Check(RigCheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct RigCheckArgs {
    /// Bench file (rigs/*.yaml).
    #[arg(long, value_name = "FILE")]
    pub rig: PathBuf,
    /// Answers for operator prompts when there is no terminal.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Make the emulated bench misbehave (ignore-writes, dead-board, only-write-multiple,
    /// silent-console, boot-hangs, boot-panics) to see the check blame the right part.
    #[arg(long = "rig-fault", value_name = "NAME", hide = true)]
    pub faults: Vec<resetlab_emulated_rig::EmulatedFault>,
}

#[derive(Debug, clap::Args)]
pub struct SelftestArgs {
    /// Only these defects (repeatable). Default: the whole catalogue.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<crate::lab_defects::Injected>,
    /// Certify runs at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Directory for each run's record. Default: reports/selftest-<timestamp>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The bench path: run each recorder defect in a separate `resetlab emulate --defect X`
    /// process and certify it through a generated bench file (Modbus TCP power and link, console,
    /// direct app), as a lab bench would be. App defects are left out (no app is driven).
    #[arg(long)]
    pub bench: bool,
}

#[derive(Debug, clap::Args)]
pub struct FleetArgs {
    /// Bench files, or directories of them (every *.yaml inside).
    #[arg(value_name = "BENCH", required_unless_present = "emulated")]
    pub benches: Vec<PathBuf>,
    /// The fleet benchmark: start N `resetlab emulate` recorders and certify each through a
    /// generated Modbus TCP bench file; prints wall time and each recorder's peak memory.
    #[arg(long, value_name = "N", conflicts_with = "benches")]
    pub emulated: Option<usize>,
    /// Benches certified at once (0: all of them).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Only run scenarios matching this tag expression (on every bench).
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,
    /// Optional requirement profiles besides the article: etsi, asvs, cve (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub profile: Vec<String>,
    /// Directory for each bench's report (<DIR>/<bench>/) and the fleet summary. Default:
    /// reports/fleet-<timestamp>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Each bench's credential journal goes to <DIR>/<bench>/. Default: the user's data directory's fleet/<bench>/.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Seconds one bench may take before it is called hung and killed.
    #[arg(long, value_name = "SECS", default_value_t = crate::fleet::DEFAULT_BENCH_DEADLINE.as_secs())]
    pub bench_deadline: u64,
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// The credential journal's directory. Default: the user's data directory (~/.local/share/resetlab).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Firmware profile of the devices (for the lockout threshold). Default: the embedded flir-2017.
    #[arg(long, value_name = "FILE")]
    pub firmware: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CertifyArgs {
    /// Bench file (rigs/*.yaml). Default: the embedded emulated lab (rigs/emulator.yaml).
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// Firmware profile for the emulated lab. Default: the embedded fixtures/firmware/flir-2017.yaml.
    #[arg(long, value_name = "FILE")]
    pub firmware: Option<PathBuf>,
    /// Inject a defect of the emulated recorder or app (repeatable; see fixtures/defects/).
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<crate::lab_defects::Injected>,
    /// Only run scenarios matching this tag expression, e.g. "@ART-LEN6 and not @power".
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,
    /// Optional requirement profiles besides the article: etsi, asvs, cve (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub profile: Vec<String>,
    /// Directory for the record, JUnit XML and Cucumber JSON. Default: reports/<timestamp>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run these feature files instead of the embedded ones (a directory).
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// How the embedded lab's relay board is reached (the same scenarios run over either).
    #[arg(long, value_enum, default_value_t = EmulatedModbus::Tcp)]
    pub emulated_modbus: EmulatedModbus,
    /// Answers for `driver: operator` prompts when there is no terminal (one per line: done, yes, no).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Rehearse a flaky network on the embedded lab's relay path: a lossy link between each
    /// recorder's P2P client and its HTTP service spoils every EVERY-th password change the app
    /// sends (drop-answer: applied, answer lost; reset-before: never arrives; stall: no answer
    /// within the relay's 10 s; truncate: half an answer). Such a run must end with no device
    /// blame; the record counts what was spoiled.
    #[arg(long, value_name = "KIND[:EVERY]")]
    pub relay_fault: Option<crate::lossy_link::RelayFault>,
    /// Where the credential journal lives. Default: a private directory inside --out for the
    /// emulated lab; the user's data directory (e.g. ~/.local/share/resetlab) for real devices.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Scenarios run at once on the emulated lab.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Print only the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// One line per scenario even on a terminal (instead of the live progress bar).
    #[arg(long, short, conflicts_with = "quiet")]
    pub verbose: bool,
}

#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Firmware profile. Default: the embedded flir-2017 profile.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Inject a firmware defect (repeatable).
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// HTTP CGI + RPC2 port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub http_port: u16,
    /// RTSP port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub rtsp_port: u16,
    /// Round trip added to every answer (HTTP CGI and its 401s, RPC2, each RTSP request), as a
    /// real recorder takes 50-300 ms.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
    /// Up to this much more per answer, uniformly drawn.
    #[arg(long, value_name = "J", default_value_t = 0)]
    pub jitter_ms: u64,
    /// Seed of the jitter (reproducible delays).
    #[arg(long, value_name = "SEED")]
    pub jitter_seed: Option<u64>,
    /// Power-on-to-ready time; flash commits scale with it (the profile's boot.time_ms, e.g. 40000,
    /// is hardware time). Default 300.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub boot_ms: u64,
    /// The environment variable holding the password of the app account that owns the recorder
    /// at the emulated relay; the emulated phone (printed as `phone`) signs in with it. Unset: a
    /// random password nobody knows (the phone still serves, but cannot sign in).
    #[arg(long, value_name = "VAR", default_value = "RESETLAB_APP_PASSWORD")]
    pub app_password_env: String,
    /// Inject a defect of the emulated phone's app (repeatable; app-* names of the catalogue).
    #[arg(long = "app-defect", value_name = "NAME")]
    pub app_defects: Vec<resetlab_emulated_phone::PhoneDefect>,
}

/// Before touching a real device, finish what an interrupted run left in its journal.
async fn recover_unfinished(dir: &std::path::Path, profile: &FirmwareProfile) -> anyhow::Result<()> {
    let journal = resetlab_ledger::Journal::open(dir)?;
    if journal.is_clean() {
        return Ok(());
    }
    let (passwords, accounts) = (journal.unfinished().len(), journal.added_accounts().len());
    println!(
        "an earlier run left {passwords} device password(s) to restore and {accounts} added account(s) to remove in {}; recovering first",
        journal.path().display()
    );
    let recovery = crate::recovery::recover_all(&journal, profile.lockout.threshold).await?;
    for line in recovery.lines() {
        println!("  {line}");
    }
    anyhow::ensure!(
        recovery.is_finished(),
        "could not leave the device as the earlier run found it; fix it by hand or run `resetlab recover` again"
    );
    Ok(())
}

fn load_profile(file: &Option<PathBuf>) -> anyhow::Result<FirmwareProfile> {
    Ok(resetlab_profile::resolve(file.as_deref(), None)?)
}

pub async fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Certify(args) => certify(args).await,
        Command::Emulate(args) => emulate(args).await,
        Command::Fleet(args) => fleet(args).await,
        Command::Recover(args) => recover(args).await,
        Command::Selftest(args) => selftest(args).await,
        Command::Rig(RigCommand::Check(args)) => rig_check(args).await,
        Command::Report(cmd) => Ok(crate::report::command::run(cmd)?),
    }
}

/// A bench shared through a labgrid place is acquired before anything touches it and released at
/// the end of the run (after a first Ctrl-C too: the run ends normally then).
async fn certify(args: CertifyArgs) -> anyhow::Result<ExitCode> {
    let place = match &args.rig {
        Some(file) => match Bench::load(file)?.labgrid {
            Some(spec) => {
                let lock = spec.acquire().await?;
                if !args.quiet {
                    println!("acquired labgrid place {} on {}", spec.place, spec.coordinator);
                }
                Some(lock)
            }
            None => None,
        },
        None => None,
    };
    let result = certify_on_bench(args).await;
    if let Some(lock) = place {
        let name = lock.spec().place.clone();
        if let Err(e) = lock.release().await {
            eprintln!("warning: labgrid place {name} was not released: {e}");
        }
    }
    result
}

async fn certify_on_bench(args: CertifyArgs) -> anyhow::Result<ExitCode> {
    for p in &args.profile {
        anyhow::ensure!(
            ["etsi", "asvs", "cve"].contains(&p.as_str()),
            "unknown requirement profile `{p}` (expected etsi, asvs or cve)"
        );
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("reports").join(chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()));
    let opts = LabOptions {
        firmware: args.firmware.clone(),
        defects: args.defects.clone(),
        modbus: args.emulated_modbus,
        answers: args.answers.clone(),
        relay_fault: args.relay_fault,
    };
    let lab = match &args.rig {
        Some(file) => Lab::from_bench_file(file, opts).await?,
        None => Lab::embedded(opts).await?,
    };
    // A live bar redraws over an operator's instructions: print plain lines instead.
    let verbose = args.verbose || lab.needs_operator();
    let state_dir = match &args.state_dir {
        Some(d) => Some(d.clone()),
        // Real devices outlive the run: their journal goes where `resetlab recover` finds it.
        None if lab.is_real() => Some(resetlab_ledger::default_dir()?),
        None => None,
    };
    if let Some(dir) = &state_dir
        && lab.is_real()
    {
        recover_unfinished(dir, lab.profile()).await?;
    }
    if !args.quiet {
        println!("resetlab {} — certifying on the {}", env!("CARGO_PKG_VERSION"), lab.describe());
    }
    crate::run::handle_interrupts();
    let record = run_suite(RunOptions {
        lab,
        tags: args.tags,
        profiles: args.profile,
        features: args.features,
        out: out.clone(),
        state_dir,
        progress: Progress::for_terminal(args.quiet, verbose),
        max_concurrent: args.concurrency.max(1),
    })
    .await?;
    println!("{}", summary(&record));
    println!("report: {}", out.join("report.html").display());
    println!("record: {}  junit: {}", out.join("report.json").display(), out.join("junit.xml").display());
    println!("{}", crate::report::headline(&record));
    Ok(if record.is_green() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn fleet(args: FleetArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("reports").join(chrono::Utc::now().format("fleet-%Y%m%dT%H%M%SZ").to_string())
    });
    let opts = crate::fleet::FleetOptions {
        exe: std::env::current_exe().context("finding the resetlab executable")?,
        benches: args.benches,
        out: out.clone(),
        jobs: args.jobs,
        tags: args.tags,
        profiles: args.profile,
        state_dir: args.state_dir,
        deadline: std::time::Duration::from_secs(args.bench_deadline.max(1)),
        env: Vec::new(),
    };
    let report = match args.emulated {
        Some(n) => crate::fleet::emulated_fleet(opts, n.max(1)).await?,
        None => crate::fleet::fleet(opts).await,
    };
    crate::fleet::write_summary(&report, &out)
        .with_context(|| format!("writing the fleet summary into {}", out.display()))?;
    let green = report.benches.iter().filter(|b| b.is_green()).count();
    println!(
        "fleet: {green} of {} benches certified in {:.1} s{}",
        report.benches.len(),
        report.duration_ms as f64 / 1000.0,
        if report.interrupted { " (interrupted)" } else { "" }
    );
    if let Some(n) = &report.emulated {
        println!("{n}");
    }
    println!("summary: {}  junit: {}", out.join("fleet.html").display(), out.join("junit.xml").display());
    Ok(if report.is_green() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn rig_check(args: RigCheckArgs) -> anyhow::Result<ExitCode> {
    let bench = Bench::load(&args.rig)?;
    let opts = resetlab_rig::CheckOptions { operator_answers: args.answers, ..Default::default() };
    if bench.switched_by_hand() {
        println!(
            "rig check: {} — you will be asked to switch power and network by hand; answer each prompt when done",
            bench.rig
        );
    }
    // A real bench is checked as it is; only a bench with `driver: emulated` parts starts them.
    let report = if bench.uses_emulated() {
        resetlab_emulated_rig::rig_check_emulated(&bench, &args.faults, &opts).await?
    } else if let Some(place) = bench.labgrid.clone().filter(|_| bench.takes_from_place()) {
        // Parts taken from a labgrid place: hold the place while they are read and checked.
        anyhow::ensure!(args.faults.is_empty(), "--rig-fault only applies to emulated parts (this bench has none)");
        let lock = place.acquire().await?;
        let checked = match place.resolve(&bench).await {
            Ok(resolved) => Ok(resetlab_rig::rig_check(&resolved, &opts).await),
            Err(e) => Err(e),
        };
        if let Err(e) = lock.release().await {
            eprintln!("warning: labgrid place {} was not released: {e}", place.place);
        }
        checked?
    } else {
        anyhow::ensure!(args.faults.is_empty(), "--rig-fault only applies to emulated parts (this bench has none)");
        resetlab_rig::rig_check(&bench, &opts).await
    };
    println!("{report}");
    Ok(ExitCode::from(report.exit_code() as u8))
}

async fn selftest(args: SelftestArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("reports").join(chrono::Utc::now().format("selftest-%Y%m%dT%H%M%SZ").to_string())
    });
    let exe = std::env::current_exe().context("finding the resetlab executable")?;
    println!(
        "resetlab selftest: the conforming firmware and {} defect(s), {} at a time",
        if args.defects.is_empty() { crate::lab_defects::Injected::all().len() } else { args.defects.len() },
        args.jobs
    );
    let report = crate::selftest::selftest(crate::selftest::SelftestOptions {
        exe,
        out: out.clone(),
        jobs: args.jobs,
        only: args.defects,
        bench: args.bench,
    })
    .await;
    println!("\n{}", report.matrix(&crate::requirements::Catalogue::embedded()));
    println!("records: {}", out.display());
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn recover(args: RecoverArgs) -> anyhow::Result<ExitCode> {
    let dir = match args.state_dir {
        Some(d) => d,
        None => resetlab_ledger::default_dir()?,
    };
    let journal = resetlab_ledger::Journal::open(&dir)?;
    let profile = load_profile(&args.firmware)?;
    if journal.is_clean() {
        println!("nothing to recover in {}", journal.path().display());
        return Ok(ExitCode::SUCCESS);
    }
    // One login per candidate, never reaching the lockout threshold.
    let recovery = crate::recovery::recover_all(&journal, profile.lockout.threshold).await?;
    for line in recovery.lines() {
        println!("{line}");
    }
    Ok(if recovery.is_finished() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn emulate(args: EmulateArgs) -> anyhow::Result<ExitCode> {
    let profile = load_profile(&args.profile)?;
    let rule = profile.password_rule.clone();
    let mut cfg = RecorderConfig::new(profile);
    cfg.defects = args.defects;
    cfg.http_port = args.http_port;
    cfg.rtsp_port = args.rtsp_port;
    cfg.latency = std::time::Duration::from_millis(args.latency_ms);
    cfg.jitter = std::time::Duration::from_millis(args.jitter_ms);
    cfg.latency_seed = args.jitter_seed;
    cfg.boot_time = std::time::Duration::from_millis(args.boot_ms);
    let boot = cfg.boot_time;
    let recorder = Recorder::start(cfg).await.context("starting the emulated recorder")?;
    recorder
        .wait_ready(boot * 2 + std::time::Duration::from_secs(30))
        .await
        .context("waiting for the emulated recorder")?;
    let board =
        resetlab_emulated_rig::EmulatedBench::start(vec![recorder.clone()], resetlab_emulated_rig::Layout::default())
            .await
            .context("starting the emulated relay board")?;
    let app_password = std::env::var(&args.app_password_env).ok().filter(|p| !p.is_empty());
    if app_password.is_none() {
        eprintln!(
            "note: {} is not set: the emulated phone's app account gets a password nobody knows",
            args.app_password_env
        );
    }
    let known = app_password.is_some();
    let app_password = app_password.map_or_else(|| crate::password::generate(&rule, 16), resetlab_wire::Secret::new);
    let cloud = crate::lab::emulated::EmulatedCloud::start(&recorder, &app_password, args.app_defects.clone())
        .await
        .context("starting the emulated relay and phone")?;
    let mut line = serde_json::json!({
        "latency_ms": args.latency_ms,
        "jitter_ms": args.jitter_ms,
        "boot_ms": args.boot_ms,
    });
    if let Some(map) = line.as_object_mut() {
        map.extend(board.json_fields());
        map.extend(cloud.json_fields());
        if known {
            map.insert("app_password_env".into(), args.app_password_env.clone().into());
        }
    }
    println!("{line}");
    eprintln!("emulated recorder running (power: coil 0, link: coil 1 of unit 1); Ctrl-C to stop");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    cloud.shutdown().await;
    board.shutdown().await;
    recorder.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr through [`RedactingWriter`], filtered by `RESETLAB_LOG` (default `warn`).
///
/// Test builds honour `RESETLAB_LOG_UNREDACTED=1`, which bypasses the writer's masking so that the
/// leak test proves no code path logs a password in the first place (the masking is a second layer).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RESETLAB_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let unredacted = cfg!(debug_assertions) && std::env::var_os("RESETLAB_LOG_UNREDACTED").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if unredacted {
        builder.with_writer(std::io::stderr).try_init()
    } else {
        builder.with_writer(|| RedactingWriter(std::io::stderr())).try_init()
    };
}

/// A log writer that masks every secret the process knows before the bytes leave it.
pub struct RedactingWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(resetlab_wire::secret::redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
