//! `resetlab fleet`: certify many benches at once, one report each plus a fleet summary.
//!
//! Each bench is a child `resetlab certify --rig FILE` in its own process group, its own `--out`
//! and its own credential journal, so one bench that fails, hangs or goes missing cannot stop or
//! corrupt another (a suite run is one per process, and a journal's lock covers one directory). A
//! Ctrl-C is forwarded once to every running bench — each then restores its device and gives the
//! bench back, as `certify` does on its first Ctrl-C — and no new bench starts; a second Ctrl-C is
//! forwarded too (the benches abort and say to run `resetlab recover`).
//!
//! The summary is `fleet.html`, `fleet.md`, `fleet.json` and `junit.xml` with one test suite per
//! bench (its scenarios as test cases), so a CI test tab shows the fleet bench by bench.
//!
//! `--emulated N` is the fleet benchmark: N `resetlab emulate` processes, each certified through a
//! generated Modbus TCP bench file, with the wall time and each recorder's peak memory measured.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::record::RunRecord;
use crate::report::escape_xml as x;

/// How long one bench's certify may take before the fleet calls it hung and kills it.
pub const DEFAULT_BENCH_DEADLINE: Duration = Duration::from_secs(900);

/// What to certify and how.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The `resetlab` executable (`std::env::current_exe()` from the CLI).
    pub exe: PathBuf,
    /// Bench files (a directory stands for its `*.yaml` files).
    pub benches: Vec<PathBuf>,
    /// Where each bench's report (`<out>/<bench>/`) and the summary go.
    pub out: PathBuf,
    /// Benches certified at once (0: all).
    pub jobs: usize,
    /// Passed to every certify.
    pub tags: Option<String>,
    pub profiles: Vec<String>,
    /// Journals go to `<state_dir>/<bench>/` (default: the user's data directory's `fleet/`).
    pub state_dir: Option<PathBuf>,
    /// Per-bench deadline.
    pub deadline: Duration,
    /// Environment given to every certify (the emulated fleet's password).
    pub env: Vec<(String, String)>,
}

/// How one bench ended.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum BenchOutcome {
    /// Certify ran to its end and wrote a record.
    Certified,
    /// The bench file could not be read, the bench could not be reached, certify hung or died:
    /// no record. The text says why (the end of certify's output, redacted by certify).
    Broken(String),
    /// Not started: the fleet was interrupted first.
    NotStarted,
}

/// One bench of the fleet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchRun {
    /// The bench's name (`rig:` in its file, made unique within the fleet).
    pub name: String,
    pub file: PathBuf,
    /// Its report directory.
    pub dir: PathBuf,
    pub outcome: BenchOutcome,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The record, when certify wrote one (not repeated in fleet.json: it is in `dir`).
    #[serde(skip)]
    pub record: Option<RunRecord>,
}

impl BenchRun {
    /// Green: certified, every applicable requirement passed.
    pub fn is_green(&self) -> bool {
        self.record.as_ref().is_some_and(RunRecord::is_green) && self.exit_code == Some(0)
    }

    /// One word for tables.
    pub fn verdict(&self) -> String {
        match (&self.outcome, &self.record) {
            (BenchOutcome::Certified, Some(r)) => crate::report::headline(r),
            (BenchOutcome::Certified, None) => "NO RECORD".into(),
            (BenchOutcome::Broken(_), _) => "BROKEN".into(),
            (BenchOutcome::NotStarted, _) => "NOT STARTED (interrupted)".into(),
        }
    }
}

/// The fleet's result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FleetReport {
    pub resetlab_version: String,
    pub git_commit: Option<String>,
    pub started: chrono::DateTime<chrono::Utc>,
    pub duration_ms: u64,
    pub interrupted: bool,
    pub benches: Vec<BenchRun>,
    /// The emulated fleet's measurements (`--emulated N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulated: Option<EmulatedFleetNumbers>,
}

impl FleetReport {
    pub fn is_green(&self) -> bool {
        !self.interrupted && !self.benches.is_empty() && self.benches.iter().all(BenchRun::is_green)
    }
}

/// Bench files named by `paths`: files as given, directories as their `*.yaml`/`*.yml` (sorted).
/// A path that does not exist stays in the list: it is reported as a missing bench.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Unique, file-system-safe names: the bench's `rig:` name, else the file stem.
fn names(files: &[PathBuf]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    files
        .iter()
        .map(|f| {
            let base = resetlab_rig::Bench::load(f)
                .map(|b| b.rig)
                .unwrap_or_else(|_| f.file_stem().map_or("bench".into(), |s| s.to_string_lossy().into_owned()));
            let safe: String = base
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
                .collect();
            let safe = if safe.is_empty() || safe.starts_with('.') { format!("bench{safe}") } else { safe };
            let n = seen.entry(safe.clone()).or_default();
            *n += 1;
            if *n == 1 { safe } else { format!("{safe}-{n}") }
        })
        .collect()
}

/// The running benches' process groups, for forwarding a Ctrl-C.
#[derive(Default)]
struct Running {
    groups: Mutex<BTreeMap<String, u32>>,
    interrupted: AtomicBool,
}

impl Running {
    fn signal_all(&self, signal: rustix::process::Signal) {
        for pid in self.groups.lock().unwrap_or_else(|e| e.into_inner()).values() {
            if let Some(pid) = rustix::process::Pid::from_raw(*pid as i32) {
                let _ = rustix::process::kill_process_group(pid, signal);
            }
        }
    }
}

/// The last lines of certify's output, for a broken bench (certify already redacts what it prints;
/// redacted again in case a secret reached it another way).
fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    resetlab_wire::secret::redact(&all[all.len().saturating_sub(lines)..].join(" | "))
}

async fn certify_bench(opts: &FleetOptions, running: &Running, name: String, file: PathBuf) -> BenchRun {
    let dir = opts.out.join(&name);
    let mut run = BenchRun {
        name: name.clone(),
        file: file.clone(),
        dir: dir.clone(),
        outcome: BenchOutcome::NotStarted,
        exit_code: None,
        duration_ms: 0,
        record: None,
    };
    if running.interrupted.load(Ordering::SeqCst) {
        return run;
    }
    let started = Instant::now();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        run.outcome = BenchOutcome::Broken(format!("cannot create {}: {e}", dir.display()));
        return run;
    }
    if !file.is_file() {
        run.outcome = BenchOutcome::Broken(format!("bench file {} is missing", file.display()));
        return run;
    }
    let log_path = dir.join("certify.log");
    let log = match std::fs::File::create(&log_path).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok(l) => l,
        Err(e) => {
            run.outcome = BenchOutcome::Broken(format!("cannot write {}: {e}", log_path.display()));
            return run;
        }
    };
    let state = match &opts.state_dir {
        Some(d) => d.join(&name),
        None => match resetlab_ledger::default_dir() {
            Ok(d) => d.join("fleet").join(&name),
            Err(e) => {
                run.outcome = BenchOutcome::Broken(format!("no state directory for the journal: {e}"));
                return run;
            }
        },
    };
    let mut cmd = tokio::process::Command::new(&opts.exe);
    cmd.args(["certify", "--quiet", "--rig"])
        .arg(&file)
        .arg("--out")
        .arg(&dir)
        .arg("--state-dir")
        .arg(&state)
        .stdin(std::process::Stdio::null())
        .stdout(log.0)
        .stderr(log.1)
        // Its own process group: a terminal's Ctrl-C reaches the fleet only, which forwards it
        // exactly once (two would make certify abort instead of restoring).
        .process_group(0)
        .kill_on_drop(true);
    if let Some(t) = &opts.tags {
        cmd.arg("--tags").arg(t);
    }
    if !opts.profiles.is_empty() {
        cmd.arg("--profile").arg(opts.profiles.join(","));
    }
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            run.outcome = BenchOutcome::Broken(format!("cannot start {}: {e}", opts.exe.display()));
            return run;
        }
    };
    if let Some(pid) = child.id() {
        running.groups.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), pid);
    }
    let status = tokio::time::timeout(opts.deadline, child.wait()).await;
    running.groups.lock().unwrap_or_else(|e| e.into_inner()).remove(&name);
    run.duration_ms = started.elapsed().as_millis() as u64;
    match status {
        Err(_) => {
            if let Some(pid) = child.id().and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            run.outcome = BenchOutcome::Broken(format!(
                "certify did not finish within {} s and was killed; run `resetlab recover --state-dir {}`",
                opts.deadline.as_secs(),
                state.display()
            ));
        }
        Ok(Err(e)) => run.outcome = BenchOutcome::Broken(format!("certify could not be waited for: {e}")),
        Ok(Ok(status)) => {
            run.exit_code = status.code();
            match std::fs::read_to_string(dir.join("report.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<RunRecord>(&t).ok())
            {
                Some(r) => {
                    run.record = Some(r);
                    run.outcome = BenchOutcome::Certified;
                }
                None => {
                    run.outcome = BenchOutcome::Broken(format!(
                        "certify exited with {status} and wrote no record: {}",
                        tail(&log_path, 3)
                    ))
                }
            }
        }
    }
    run
}

/// Certify every bench of `opts`, `jobs` at a time; never stops at one bench's failure.
pub async fn fleet(opts: FleetOptions) -> FleetReport {
    use futures::stream::{self, StreamExt};
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let files = expand(&opts.benches);
    let names = names(&files);
    let running = Arc::new(Running::default());
    let watcher = {
        let running = running.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                running.interrupted.store(true, Ordering::SeqCst);
                eprintln!(
                    "\ninterrupted: every running bench restores its device and is given back; no new bench starts (Ctrl-C again aborts them)"
                );
                running.signal_all(rustix::process::Signal::INT);
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("aborting: run `resetlab recover --state-dir` on each bench's state directory");
                    running.signal_all(rustix::process::Signal::INT);
                }
            }
        })
    };
    let jobs = if opts.jobs == 0 { files.len().max(1) } else { opts.jobs };
    let opts_ref = &opts;
    let running_ref = &running;
    let work = stream::iter(names.into_iter().zip(files))
        .map(|(name, file)| async move {
            let run = certify_bench(opts_ref, running_ref, name, file).await;
            eprintln!("  {:<28} {} ({:.1} s)", run.name, run.verdict(), run.duration_ms as f64 / 1000.0);
            run
        })
        .buffer_unordered(jobs)
        .collect::<Vec<_>>();
    let mut benches = work.await;
    watcher.abort();
    benches.sort_by(|a, b| a.name.cmp(&b.name));
    FleetReport {
        resetlab_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_commit: crate::provenance::GIT_COMMIT.map(str::to_owned),
        started: started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        interrupted: running.interrupted.load(Ordering::SeqCst),
        benches,
        emulated: None,
    }
}

fn counts(run: &BenchRun) -> (usize, usize, usize, usize) {
    run.record.as_ref().map_or((0, 0, 0, 0), crate::report::counts)
}

/// The fleet's JUnit: one test suite per bench, its scenarios as test cases named and placed as in
/// the bench's own junit.xml (classname the feature, a name stable across edits of the feature
/// file, `file=` its path); a bench without a record is one test case in error saying why.
/// Written with `quick-junit`, as the certify report's is.
pub fn junit(r: &FleetReport) -> String {
    use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
    let ms = Duration::from_millis;
    let mut report = Report::new("resetlab fleet");
    report.set_time(ms(r.duration_ms));
    for b in &r.benches {
        let mut suite = TestSuite::new(b.name.as_str());
        suite.add_property(Property::new("bench.file", b.file.display().to_string()));
        match &b.record {
            Some(rec) => {
                suite.set_time(ms(rec.duration_ms));
                if let Some(t) = rec.started {
                    suite.set_timestamp(t.fixed_offset());
                }
                suite.add_property(Property::new("report", b.dir.join("report.html").display().to_string()));
                if let Some(p) = &rec.provenance {
                    for (name, value) in crate::report::provenance_properties(p, "") {
                        suite.add_property(Property::new(name, value));
                    }
                }
                suite.add_test_cases(crate::report::junit::feature_cases(rec).into_values().flatten());
                suite.add_test_cases(crate::report::junit::run_error_cases(rec));
            }
            None => {
                suite.set_time(ms(b.duration_ms));
                let broken = |why: &str| {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_type("rig").set_message(why);
                    status
                };
                let status = match &b.outcome {
                    BenchOutcome::NotStarted => {
                        let mut status = TestCaseStatus::skipped();
                        status.set_message("not started: the fleet was interrupted");
                        status
                    }
                    BenchOutcome::Broken(why) => broken(why),
                    BenchOutcome::Certified => broken("certify wrote no record"),
                };
                let mut case = TestCase::new("certify", status);
                case.set_classname(b.name.as_str());
                case.set_time(ms(b.duration_ms));
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("a JUnit report of strings serialises")
}

/// The fleet summary as Markdown (also the CI job summary).
pub fn markdown(r: &FleetReport) -> String {
    let green = r.benches.iter().filter(|b| b.is_green()).count();
    let mut m = format!(
        "# resetlab fleet: {green} of {} benches certified{}\n\nresetlab {}{} — {:.1} s\n\n",
        r.benches.len(),
        if r.interrupted { " (INTERRUPTED)" } else { "" },
        r.resetlab_version,
        r.git_commit.as_deref().map(|c| format!(" (commit {c})")).unwrap_or_default(),
        r.duration_ms as f64 / 1000.0
    );
    m.push_str("| bench | verdict | passed | failed | errors | n/a | time | report |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for b in &r.benches {
        let (p, f, e, na) = counts(b);
        let verdict = match &b.outcome {
            BenchOutcome::Broken(why) => format!("BROKEN: {why}"),
            _ => b.verdict(),
        };
        let _ = writeln!(
            m,
            "| {} | {} | {p} | {f} | {e} | {na} | {:.1} s | {}/report.html |",
            b.name,
            verdict.replace('|', "\\|").replace('\n', " "),
            b.duration_ms as f64 / 1000.0,
            b.name
        );
    }
    if let Some(n) = &r.emulated {
        let _ = write!(m, "\n{n}\n");
    }
    m
}

/// The fleet summary as one self-contained HTML page.
pub fn html(r: &FleetReport) -> String {
    let green = r.benches.iter().filter(|b| b.is_green()).count();
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>resetlab fleet</title>\n<style>body{font:14px system-ui,sans-serif;margin:2em;color:#101828}table{border-collapse:collapse}td,th{border:1px solid #d0d5dd;padding:4px 8px;text-align:left}.ok{background:#ecfdf3}.bad{background:#fef3f2}</style></head><body><main>\n",
    );
    let _ = writeln!(
        h,
        "<h1 id=\"verdict\">resetlab fleet: {green} of {} benches certified{}</h1>\n<p>resetlab {}{} — {:.1} s</p>",
        r.benches.len(),
        if r.interrupted { " (INTERRUPTED)" } else { "" },
        x(&r.resetlab_version),
        r.git_commit.as_deref().map(|c| format!(" (commit {})", x(c))).unwrap_or_default(),
        r.duration_ms as f64 / 1000.0
    );
    h.push_str("<table><tr><th>bench</th><th>verdict</th><th>passed</th><th>failed</th><th>errors</th><th>n/a</th><th>time</th></tr>\n");
    for b in &r.benches {
        let (p, f, e, na) = counts(b);
        let verdict = match &b.outcome {
            BenchOutcome::Broken(why) => format!("BROKEN: {why}"),
            _ => b.verdict(),
        };
        let name =
            if b.record.is_some() { format!("<a href=\"{0}/report.html\">{0}</a>", x(&b.name)) } else { x(&b.name) };
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{name}</td><td>{}</td><td>{p}</td><td>{f}</td><td>{e}</td><td>{na}</td><td>{:.1} s</td></tr>",
            if b.is_green() { "ok" } else { "bad" },
            x(&verdict),
            b.duration_ms as f64 / 1000.0
        );
    }
    h.push_str("</table>\n");
    if let Some(n) = &r.emulated {
        let _ = writeln!(h, "<pre>{}</pre>", x(&n.to_string()));
    }
    h.push_str("</main></body></html>\n");
    h
}

/// Write fleet.json, fleet.md, fleet.html and junit.xml into the fleet's `out`, redacted.
pub fn write_summary(r: &FleetReport, out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let redact = |t: String| resetlab_wire::secret::redact(&t);
    std::fs::write(
        out.join("fleet.json"),
        redact(serde_json::to_string_pretty(r).expect("the fleet report serialises")),
    )?;
    std::fs::write(out.join("fleet.md"), redact(markdown(r)))?;
    std::fs::write(out.join("fleet.html"), redact(html(r)))?;
    std::fs::write(out.join("junit.xml"), redact(junit(r)))?;
    Ok(())
}

/// The fleet benchmark's numbers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EmulatedFleetNumbers {
    pub recorders: usize,
    /// The program each recorder ran as (`resetlab-emulated-bench`, or `resetlab` for `resetlab emulate`).
    #[serde(default)]
    pub recorder_process: String,
    /// From the first `resetlab emulate` starting to the last certify ending.
    pub wall_ms: u64,
    /// Of which starting the recorders.
    pub start_ms: u64,
    /// Peak resident memory (VmHWM) of each recorder process: mean and max, in KiB.
    pub peak_rss_kib_mean: u64,
    pub peak_rss_kib_max: u64,
    /// Proportional set size (shared pages split between the processes sharing them) at the end,
    /// mean, in KiB: what each recorder costs the machine.
    pub pss_kib_mean: u64,
}

impl std::fmt::Display for EmulatedFleetNumbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "emulated fleet: {} recorders ({} processes), wall {:.1} s (of which {:.1} s starting them); per recorder: peak RSS {:.1} MiB mean, {:.1} MiB max; PSS {:.1} MiB mean",
            self.recorders,
            self.recorder_process,
            self.wall_ms as f64 / 1000.0,
            self.start_ms as f64 / 1000.0,
            self.peak_rss_kib_mean as f64 / 1024.0,
            self.peak_rss_kib_max as f64 / 1024.0,
            self.pss_kib_mean as f64 / 1024.0
        )
    }
}

fn proc_kib(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The fleet benchmark: start `n` `resetlab emulate` processes, write a Modbus TCP bench file for
/// each into `<out>/benches/`, certify them all as a fleet and measure each recorder's memory.
pub async fn emulated_fleet(mut opts: FleetOptions, n: usize) -> anyhow::Result<FleetReport> {
    use crate::shapes::{EmulateProcess, Shape, Via, bench_text, write_emulate_profile};
    use futures::stream::{self, StreamExt};
    let started = Instant::now();
    let benches = opts.out.join("benches");
    std::fs::create_dir_all(&benches)?;
    // Beside the bench directory, not in it: every file in it is taken for a bench.
    let profile = write_emulate_profile(&opts.out)?;
    // Each recorder is a `resetlab-emulated-bench` process when that binary was built beside this
    // one (the recorder, its board and console without the relay and phone the benches do not use,
    // in a binary that holds nothing else), else `resetlab emulate`.
    let lean = opts.exe.with_file_name("resetlab-emulated-bench");
    let exe = if lean.is_file() {
        lean
    } else {
        eprintln!(
            "note: {} is not built; each recorder is a `resetlab emulate` process (more memory each: cargo build --release -p resetlab)",
            lean.display()
        );
        opts.exe.clone()
    };
    let recorder_process = exe.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    // Started 32 at a time: enough to overlap their start-up waits, few enough not to queue hundreds of
    // processes on two cores at once.
    let started_all: Vec<anyhow::Result<EmulateProcess>> = stream::iter(0..n)
        .map(|_| {
            let exe = exe.clone();
            async move { EmulateProcess::start(&exe, &[], Duration::from_secs(120)).await }
        })
        .buffered(32)
        .collect()
        .await;
    let mut recorders = Vec::new();
    for (i, p) in started_all.into_iter().enumerate() {
        let p = p.map_err(|e| anyhow::anyhow!("emulated recorder {i} did not start: {e:#}"))?;
        let text = bench_text(&p.emulated, Shape::ModbusTcp, &profile, "RESETLAB_FLEET_PASSWORD", Via::default())
            .replace("rig: emulate-modbus-tcp", &format!("rig: emulated-{i:03}"));
        let file = benches.join(format!("emulated-{i:03}.yaml"));
        std::fs::write(&file, text)?;
        recorders.push(p);
    }
    let start_ms = started.elapsed().as_millis() as u64;
    opts.benches = vec![benches];
    let factory = resetlab_profile::flir_2017().admin().password.expose().to_owned();
    opts.env.push(("RESETLAB_FLEET_PASSWORD".into(), factory));
    if opts.state_dir.is_none() {
        opts.state_dir = Some(opts.out.join("state"));
    }
    let mut report = fleet(opts).await;
    let wall_ms = started.elapsed().as_millis() as u64;
    let pids: Vec<u32> = recorders.iter().filter_map(|r| r.child.id()).collect();
    let hwm: Vec<u64> = pids.iter().filter_map(|p| proc_kib(*p, "status", "VmHWM:")).collect();
    let pss: Vec<u64> = pids.iter().filter_map(|p| proc_kib(*p, "smaps_rollup", "Pss:")).collect();
    let mean = |v: &[u64]| {
        if v.is_empty() { 0 } else { v.iter().sum::<u64>() / v.len() as u64 }
    };
    report.emulated = Some(EmulatedFleetNumbers {
        recorders: n,
        recorder_process,
        wall_ms,
        start_ms,
        peak_rss_kib_mean: mean(&hwm),
        peak_rss_kib_max: hwm.iter().copied().max().unwrap_or(0),
        pss_kib_mean: mean(&pss),
    });
    drop(recorders);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_stands_for_its_bench_files_and_a_missing_file_is_kept() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("b.yaml"), "rig: same\n").unwrap();
        std::fs::write(d.path().join("a.yml"), "rig: same\n").unwrap();
        std::fs::write(d.path().join("notes.txt"), "").unwrap();
        let missing = d.path().join("gone.yaml");
        let files = expand(&[d.path().to_owned(), missing.clone()]);
        assert_eq!(files, vec![d.path().join("a.yml"), d.path().join("b.yaml"), missing]);
        // Unparseable files fall back to their stem; duplicates are made unique.
        assert_eq!(names(&files), vec!["a", "b", "gone"]);
        let dup = names(&[PathBuf::from("/x/n.yaml"), PathBuf::from("/y/n.yaml")]);
        assert_eq!(dup, vec!["n", "n-2"]);
    }

    #[test]
    fn junit_has_one_suite_per_bench_and_a_broken_bench_is_an_error() {
        let report = FleetReport {
            resetlab_version: "0.1.0".into(),
            git_commit: None,
            started: chrono::Utc::now(),
            duration_ms: 10,
            interrupted: false,
            benches: vec![
                BenchRun {
                    name: "b1".into(),
                    file: "b1.yaml".into(),
                    dir: "out/b1".into(),
                    outcome: BenchOutcome::Broken("bench file b1.yaml is missing".into()),
                    exit_code: None,
                    duration_ms: 0,
                    record: None,
                },
                BenchRun {
                    name: "b2".into(),
                    file: "b2.yaml".into(),
                    dir: "out/b2".into(),
                    outcome: BenchOutcome::Certified,
                    exit_code: Some(0),
                    duration_ms: 5,
                    record: Some(RunRecord { scenarios: vec![scenario(7), scenario(12)], ..RunRecord::default() }),
                },
            ],
            emulated: None,
        };
        let j = junit(&report);
        assert_eq!(j.matches("<testsuite name=").count(), 2, "{j}");
        assert!(j.contains("<testsuite name=\"b1\" tests=\"1\" skipped=\"0\" errors=\"1\" failures=\"0\""), "{j}");
        assert!(j.contains("bench file b1.yaml is missing"), "{j}");
        assert!(j.contains("<testsuite name=\"b2\" tests=\"2\" skipped=\"0\" errors=\"0\" failures=\"0\""), "{j}");
        // The names CI keeps history by do not move when the feature file is edited above them;
        // the two rows of one outline are told apart by their place among them.
        assert!(j.contains("name=\"old password refused [1]\" classname=\"Password change\""), "{j}");
        assert!(j.contains("name=\"old password refused [2]\""), "{j}");
        assert!(!j.contains("(line"), "{j}");
        assert!(!report.is_green());
    }

    fn scenario(line: usize) -> crate::record::ScenarioRecord {
        crate::record::ScenarioRecord {
            feature: "Password change".into(),
            name: "old password refused".into(),
            line,
            requirements: Default::default(),
            tags: Vec::new(),
            verdict: crate::record::Verdict::Pass,
            violated: Default::default(),
            blame: None,
            reason: None,
            duration_ms: 3,
            steps: Vec::new(),
            evidence: Vec::new(),
            stopped_at: None,
            unestablished: Default::default(),
            first_attempt: None,
        }
    }
}
