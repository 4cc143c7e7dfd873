//! Running the suite: one Cucumber run over the features against a lab, producing the run record,
//! JUnit XML and Cucumber JSON. The CLI's `certify` and the `compliance` test target both call
//! [`run_suite`], so CI and users run exactly the same thing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use cucumber::World as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::writer::{self, Ext as _};

use crate::lab::{Lab, Need};
use crate::record::{Progress, RecordWriter, RunRecord, ScenarioRecord, Verdict, now};
use crate::recovery::Custody;
use crate::report::evidence::{EvidenceStore, attach_evidence};
use crate::requirements::Catalogue;
use crate::world::LabWorld;

/// What every scenario of one run shares: the lab and where evidence goes.
#[derive(Debug)]
pub struct RunContext {
    pub lab: Lab,
    /// The run's report directory (`--out`): app screens of failed steps are written there.
    pub out: PathBuf,
    pub custody: Custody,
    pub evidence: EvidenceStore,
    /// Measurements, rig timeline and console of each scenario.
    pub extras: crate::report::evidence::ExtrasStore,
    /// The device's identity as it reported it (read at the first lease).
    pub device: Mutex<Option<crate::record::DeviceIdentity>>,
    /// Devices teardown could not restore (each also stays unfinished in the journal).
    pub teardown_errors: Mutex<Vec<String>>,
    /// Checks that failed without stopping their scenario, by scenario (see [`crate::record::key`]).
    pub findings:
        Mutex<std::collections::HashMap<crate::record::Key, Vec<(std::time::SystemTime, crate::blame::Failure)>>>,
    /// What crossed the network, summed over the scenarios.
    pub network: Mutex<crate::record::NetworkFigures>,
    /// Requirements a scenario could not establish, with why, by scenario.
    pub unestablished: Mutex<std::collections::HashMap<crate::record::Key, Vec<(String, String)>>>,
}

/// The requirements scenario `key` said it could not establish, with why.
pub fn take_unestablished(key: &crate::record::Key) -> Vec<(String, String)> {
    CONTEXT
        .get()
        .and_then(|ctx| ctx.unestablished.lock().unwrap_or_else(|e| e.into_inner()).remove(key))
        .unwrap_or_default()
}

/// The failed checks of the scenario `key` that did not stop it, in the order they were seen.
pub fn take_findings(key: &crate::record::Key) -> Vec<(std::time::SystemTime, crate::blame::Failure)> {
    CONTEXT.get().and_then(|ctx| ctx.findings.lock().unwrap_or_else(|e| e.into_inner()).remove(key)).unwrap_or_default()
}

static CONTEXT: OnceLock<Arc<RunContext>> = OnceLock::new();

/// Set by the first Ctrl-C: no new scenario starts; running ones finish and restore their devices.
pub static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// First Ctrl-C: stop starting scenarios, let teardown restore the devices, then exit. Second
/// Ctrl-C: abort at once, leaving the journal for `resetlab recover`.
pub fn handle_interrupts() {
    use std::sync::atomic::Ordering;
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!(
                "\ninterrupted: finishing running scenarios and restoring their devices (Ctrl-C again aborts; then run `resetlab recover`)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("aborted: unfinished changes are in the journal; run `resetlab recover`");
                std::process::exit(130);
            }
        }
    });
}

impl RunContext {
    /// The context of the run in progress (one run per process).
    pub fn current() -> Arc<RunContext> {
        CONTEXT.get().cloned().expect("[harness] a scenario started outside run_suite")
    }
}

/// The record of a scenario this rig cannot run: not applicable, with the reason — never passed.
fn not_applicable(
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
    tags: &[&String],
    missing: &[Need],
) -> ScenarioRecord {
    let tags: Vec<String> = tags.iter().map(|t| (*t).clone()).collect();
    ScenarioRecord {
        feature: feature.name.clone(),
        name: scenario.name.clone(),
        line: scenario.position.line,
        requirements: Catalogue::requirement_tags(&tags),
        tags,
        verdict: Verdict::NotApplicable,
        violated: Default::default(),
        blame: None,
        reason: Some(format!(
            "not applicable on this rig: needs {}",
            missing.iter().map(|m| m.text()).collect::<Vec<_>>().join(" and ")
        )),
        duration_ms: 0,
        steps: Vec::new(),
        evidence: Vec::new(),
        stopped_at: None,
        unestablished: Default::default(),
        first_attempt: None,
    }
}

/// How to run the suite.
#[derive(Debug)]
pub struct RunOptions {
    pub lab: Lab,
    /// A Cucumber tag expression (`@ART-LEN6 and not @power`).
    pub tags: Option<String>,
    /// Optional requirement profiles besides `article`.
    pub profiles: Vec<String>,
    /// Feature files to run; `None` runs the embedded ones.
    pub features: Option<PathBuf>,
    /// Where the run's files go.
    pub out: PathBuf,
    /// Where the credential journal lives (`None`: a private directory inside `out`, for the
    /// emulated lab whose devices do not outlive the run).
    pub state_dir: Option<PathBuf>,
    pub progress: Progress,
    pub max_concurrent: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("[harness] only one suite run per process (the lab context is process-wide)")]
    AlreadyRan,
    #[error("[harness] cannot write to {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("[harness] credential journal: {0}")]
    Journal(String),
    #[error(transparent)]
    Lab(#[from] crate::lab::LabError),
    #[error("bad tag expression `{0}`: {1}")]
    Tags(String, String),
    #[error("feature {file} carries requirement tags that are not in fixtures/requirements.yaml: {tags}")]
    UnknownRequirement { file: String, tags: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.to_owned(), source }
}

/// Refuse to run features whose requirement tags are not in the catalogue (a typo would otherwise
/// leave a requirement silently uncovered).
fn check_tags(dir: &Path, catalogue: &Catalogue) -> Result<(), RunError> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io_err(dir))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "feature")) {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let tags: Vec<String> = text
            .lines()
            .filter(|l| l.trim_start().starts_with('@'))
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let unknown = catalogue.unknown(&tags);
        if !unknown.is_empty() {
            return Err(RunError::UnknownRequirement { file: path.display().to_string(), tags: unknown.join(", ") });
        }
    }
    Ok(())
}

/// Run the suite and return its record (also written to `out/`).
pub async fn run_suite(opts: RunOptions) -> Result<RunRecord, RunError> {
    let catalogue = Catalogue::embedded();
    std::fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    let features = match &opts.features {
        Some(dir) => dir.clone(),
        None => crate::features::materialize(&opts.out.join("features")).map_err(io_err(&opts.out))?,
    };
    check_tags(&features, &catalogue)?;
    let tags_filter: Option<TagOperation> = match &opts.tags {
        Some(t) => Some(t.parse().map_err(|e| RunError::Tags(t.clone(), format!("{e}")))?),
        None => None,
    };

    opts.lab.verify().await?;
    let lab_description = opts.lab.describe();
    let state_dir = match &opts.state_dir {
        Some(dir) => dir.clone(),
        None => {
            // The emulated lab's journal: its recorders die with the run, so what an earlier run
            // into the same --out left there can never be recovered and must not be reported.
            let dir = opts.out.join("state");
            let _ = std::fs::remove_dir_all(&dir);
            dir
        }
    };
    let journal = resetlab_ledger::Journal::open(&state_dir).map_err(|e| RunError::Journal(e.to_string()))?;
    let custody = Custody { journal: Arc::new(journal) };
    let ctx = Arc::new(RunContext {
        lab: opts.lab,
        out: opts.out.clone(),
        custody: custody.clone(),
        evidence: Default::default(),
        extras: Default::default(),
        device: Default::default(),
        teardown_errors: Default::default(),
        findings: Default::default(),
        unestablished: Default::default(),
        network: Default::default(),
    });
    CONTEXT.set(ctx.clone()).map_err(|_| RunError::AlreadyRan)?;

    let record = Arc::new(Mutex::new(RunRecord {
        resetlab_version: env!("CARGO_PKG_VERSION").to_owned(),
        lab: lab_description,
        started: Some(now()),
        ..Default::default()
    }));
    // junit.xml is report::write_all's (requirement properties, stable testcase names); cucumber
    // writes only its JSON.
    let json_path = opts.out.join("cucumber.json");
    let json = std::fs::File::create(&json_path).map_err(io_err(&json_path))?;

    let skipped: Arc<Mutex<Vec<ScenarioRecord>>> = Arc::default();
    let started = Instant::now();
    let every =
        Pass { tags: tags_filter.clone(), only: None, progress: opts.progress, max_concurrent: opts.max_concurrent };
    every.clone().run(&ctx, &features, &record, json, &skipped).await;
    // A scenario a network fault left inconclusive gets one more attempt, from its set-up; if the
    // fault comes again it stays inconclusive, the rig to blame.
    let faulted = network_faulted(&record.lock().unwrap_or_else(|e| e.into_inner()));
    if !faulted.is_empty() && !INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        if opts.progress != Progress::Quiet {
            println!("re-running {} scenario(s) once: a network fault left them inconclusive", faulted.len());
        }
        let json_path = opts.out.join("cucumber-rerun.json");
        let json = std::fs::File::create(&json_path).map_err(io_err(&json_path))?;
        let again = Pass { tags: tags_filter, only: Some(faulted), ..every };
        again.run(&ctx, &features, &record, json, &skipped).await;
        keep_last_attempts(&mut record.lock().unwrap_or_else(|e| e.into_inner()));
    }

    let mut record = Arc::try_unwrap(record)
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_else(|arc| arc.lock().unwrap_or_else(|e| e.into_inner()).clone());
    record.finished = Some(now());
    record.duration_ms = started.elapsed().as_millis() as u64;
    record.scenarios.extend(skipped.lock().unwrap_or_else(|e| e.into_inner()).drain(..));
    record.scenarios.sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    attach_evidence(&mut record, &ctx.evidence);
    crate::report::evidence::attach_extras(&mut record, &ctx.extras);
    record.device = ctx.device.lock().unwrap_or_else(|e| e.into_inner()).clone();
    record.rig = Some(ctx.lab.rig_description());
    let mut network = ctx.network.lock().unwrap_or_else(|e| e.into_inner()).clone();
    network.spoiled_on_purpose = ctx.lab.spoiled_on_purpose();
    record.network = Some(network);
    record.provenance = Some(crate::provenance::Provenance::collect(
        &features,
        record.rig.as_ref().and_then(|r| r.file.as_deref()).map(std::path::Path::new),
    ));
    record.errors.extend(
        ctx.teardown_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .map(|m| resetlab_wire::secret::redact(&m)),
    );
    // The end of the run gives every bench back as it was found (a factory password the run
    // replaced at its start included).
    match ctx.lab.finish(&custody).await {
        Ok(_) => {}
        Err(why) => record.errors.push(resetlab_wire::secret::redact(&format!(
            "[harness] the bench was not given back as found ({why}); run `resetlab recover`"
        ))),
    }
    let _ = custody.journal.compact();
    let unfinished = custody.journal.unfinished();
    if !unfinished.is_empty() {
        record.errors.push(format!(
            "[harness] {} device account(s) not restored; run `resetlab recover --state-dir {}`",
            unfinished.len(),
            state_dir.display()
        ));
    }
    let added = custody.journal.added_accounts();
    if !added.is_empty() {
        record.errors.push(format!(
            "[harness] {} account(s) the run added are still on the device; run `resetlab recover --state-dir {}`",
            added.len(),
            state_dir.display()
        ));
    }
    record.judge(&catalogue, &opts.profiles);
    record.requirement_profiles = opts.profiles.clone();
    record.firmware_profile = Some(ctx.lab.profile().name.clone());
    crate::report::write_all(&record, &opts.out)?;
    Ok(record)
}

/// One Cucumber pass over the features: every scenario the tags select (those the bench cannot
/// run go to `skipped`, not applicable), or only the scenarios in `only`.
#[derive(Clone)]
struct Pass {
    tags: Option<TagOperation>,
    only: Option<BTreeSet<crate::record::Key>>,
    progress: Progress,
    max_concurrent: usize,
}

impl Pass {
    async fn run(
        self,
        ctx: &Arc<RunContext>,
        features: &Path,
        record: &Arc<Mutex<RunRecord>>,
        json: std::fs::File,
        skipped: &Arc<Mutex<Vec<ScenarioRecord>>>,
    ) {
        let Pass { tags: tags_filter, only, progress, max_concurrent } = self;
        LabWorld::cucumber::<PathBuf>()
            .with_parser::<_, PathBuf>(SlowestFirst::default())
            .max_concurrent_scenarios(max_concurrent)
            .with_writer(
                RecordWriter::new(record.clone(), progress)
                    .tee::<LabWorld, _>(writer::Json::for_tee(json))
                    .normalized(),
            )
            .fail_on_skipped()
            // Our own command line is parsed by clap in cli.rs; cucumber must not read the process's.
            .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
            .before(|_feature, _rule, scenario, world| {
                Box::pin(async move {
                    // The station replaced a factory default password once for the run; a scenario
                    // about the factory state itself gets it back for itself alone.
                    if scenario.tags.iter().any(|t| t.trim_start_matches('@') == "factory-state") {
                        world.to_factory_state().await;
                    }
                })
            })
            .after(|feature, _rule, scenario, _finished, world| {
                Box::pin(async move {
                    if let Some(w) = world {
                        let mut findings = std::mem::take(&mut w.findings);
                        if w.dut_ref().is_some() {
                            findings.append(&mut w.dut().findings);
                        }
                        if !findings.is_empty() {
                            w.ctx
                                .findings
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(crate::record::key(feature, scenario), findings);
                        }
                        let unestablished = std::mem::take(&mut w.unestablished);
                        if !unestablished.is_empty() {
                            w.ctx
                                .unestablished
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(crate::record::key(feature, scenario), unestablished);
                        }
                        if let Some(dut) = w.dut_ref() {
                            let mut net = w.ctx.network.lock().unwrap_or_else(|e| e.into_inner());
                            let sent = dut.target.requests() - dut.requests_at_start;
                            net.requests += sent.total();
                            net.retries += sent.resent;
                            net.answers_lost += u64::from(dut.answers_lost);
                            net.retries += u64::from(dut.retries);
                            net.reconciles += u64::from(dut.reconciles);
                            drop(net);
                            let key = crate::record::key(feature, scenario);
                            let ev = dut.evidence.clone();
                            w.ctx.evidence.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), ev);
                            let mut extras = dut.extras.clone();
                            extras.console = w.lease().console_for_record();
                            w.ctx.extras.lock().unwrap_or_else(|e| e.into_inner()).insert(key, extras);
                        }
                        if let Err(why) = w.teardown().await {
                            let msg = format!(
                                "[harness] {} › {}: the device was not restored ({why}); run `resetlab recover`",
                                feature.name, scenario.name
                            );
                            eprintln!("{}", resetlab_wire::secret::redact(&msg));
                            w.ctx.teardown_errors.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
                        }
                    }
                })
            })
            .filter_run(features.to_owned(), {
                let ctx = ctx.clone();
                let skipped = skipped.clone();
                move |feature, rule, scenario| {
                    let tags: Vec<&String> = feature
                        .tags
                        .iter()
                        .chain(rule.iter().flat_map(|r| r.tags.iter()))
                        .chain(scenario.tags.iter())
                        .collect();
                    if let Some(expr) = &tags_filter {
                        use cucumber::tag::Ext as _;
                        if !expr.eval(tags.iter().map(|t| t.as_str())) {
                            return false;
                        }
                    }
                    if let Some(only) = &only {
                        return only.contains(&crate::record::key(feature, scenario));
                    }
                    let missing: Vec<Need> = Need::ALL
                        .into_iter()
                        // Gherkin keeps tags without their `@`.
                        .filter(|need| {
                            tags.iter().any(|t| t.trim_start_matches('@') == need.tag()) && !ctx.lab.can(*need)
                        })
                        .collect();
                    if missing.is_empty() {
                        return true;
                    }
                    skipped
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(not_applicable(feature, scenario, &tags, &missing));
                    false
                }
            })
            .await;
    }
}

/// The feature files as cucumber's own parser reads them, the features whose scenarios switch
/// power or the network link first (they wait out boots, commits and locks): with scenarios run at
/// once, the slowest then overlap the rest instead of starting in the last wave. On a bench, where
/// scenarios run one at a time, the order changes nothing but the order.
#[derive(Default)]
struct SlowestFirst(cucumber::parser::Basic);

impl<I: AsRef<Path>> cucumber::Parser<I> for SlowestFirst {
    type Cli = <cucumber::parser::Basic as cucumber::Parser<I>>::Cli;
    type Output = futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<cucumber::gherkin::Feature>>>;

    fn parse(self, input: I, cli: Self::Cli) -> Self::Output {
        // The basic parser reads every file up front; its stream is a vector already.
        let mut features: Vec<_> = self.0.parse(input, cli).into_inner().collect();
        features.sort_by_key(|f| std::cmp::Reverse(f.as_ref().map_or(0, switched_scenarios)));
        futures::stream::iter(features)
    }
}

/// How many scenarios of `feature` switch power or the network link (feature tags count for all).
fn switched_scenarios(feature: &cucumber::gherkin::Feature) -> usize {
    let switches = |tags: &[String]| tags.iter().any(|t| matches!(t.trim_start_matches('@'), "power" | "network"));
    let all = switches(&feature.tags);
    feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()))
        .filter(|s| all || switches(&s.tags))
        .count()
}

/// The scenarios that ended inconclusive because the network lost an answer (the failure that
/// stopped them says so, as data).
fn network_faulted(record: &RunRecord) -> BTreeSet<crate::record::Key> {
    record
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Error && s.blame == Some(crate::blame::Blame::Rig))
        .filter(|s| s.steps.iter().any(|st| st.failure.as_ref().is_some_and(|f| f.network)))
        .map(|s| (s.feature.clone(), s.line))
        .collect()
}

/// After a re-run a scenario is in the record twice: keep its last attempt, saying what the first
/// one ended with.
fn keep_last_attempts(record: &mut RunRecord) {
    let mut last: std::collections::HashMap<crate::record::Key, ScenarioRecord> = Default::default();
    for s in record.scenarios.drain(..) {
        let key = (s.feature.clone(), s.line);
        match last.remove(&key) {
            Some(first) => {
                let mut again = s;
                again.first_attempt =
                    Some(first.reason.unwrap_or_else(|| format!("{:?}", first.verdict).to_lowercase()));
                last.insert(key, again);
            }
            None => {
                last.insert(key, s);
            }
        }
    }
    record.scenarios = last.into_values().collect();
    record.scenarios.sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
}

/// The per-requirement summary table printed at the end of a run.
pub fn summary(record: &RunRecord) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ =
        writeln!(out, "\n{:<28} {:<18} {:>7} {:>7} {:>7}", "Requirement", "Verdict", "Scenarios", "Passed", "Failed");
    for r in &record.requirements {
        let verdict = r.verdict.map_or("not covered", |v| v.label());
        let _ = writeln!(out, "{:<28} {:<18} {:>7} {:>7} {:>7}", r.id.0, verdict, r.scenarios, r.passed, r.failed);
        for need in &r.missing {
            let _ = writeln!(out, "{:<28}   not established on this rig: needs {need}", "");
        }
    }
    if crate::report::any_blocked(record) {
        let _ = writeln!(out, "({})", crate::report::BLOCKED_MEANS);
    }
    for e in &record.errors {
        let _ = writeln!(out, "error: {e}");
    }
    if let Some(net) = &record.network {
        let _ = writeln!(out, "network: {net}");
    }
    let count = |v| record.scenarios.iter().filter(|s| s.verdict == v).count();
    use crate::record::Verdict::*;
    let _ = writeln!(
        out,
        "\n{} scenarios: {} passed, {} failed, {} errors, {} not applicable — {:.1} s on {}",
        record.scenarios.len(),
        count(Pass),
        count(Fail),
        count(Error),
        count(NotApplicable),
        record.duration_ms as f64 / 1000.0,
        record.lab
    );
    out
}
