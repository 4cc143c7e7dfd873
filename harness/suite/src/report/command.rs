//! `resetlab report …`: subcommands that read finished runs. The CLI embeds [`ReportCommand`] and
//! calls [`run`]; everything else is here.

use std::path::PathBuf;
use std::process::ExitCode;

/// Work with finished runs' records.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// What changed between two runs (e.g. two firmware builds on one bench): requirements whose
    /// verdict flipped and timings slower beyond a threshold. Exits 1 when B regressed against A.
    Diff(DiffArgs),
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier run: its report.json, or the --out directory that holds it.
    pub a: PathBuf,
    /// The later run: its report.json, or the --out directory that holds it.
    pub b: PathBuf,
    /// A timing counts as a regression when slower by more than this many percent.
    #[arg(long, default_value_t = 20.0, value_name = "PERCENT")]
    pub threshold: f64,
}

/// Run a `resetlab report` subcommand, printing to stdout.
pub fn run(cmd: ReportCommand) -> Result<ExitCode, super::ReportError> {
    match cmd {
        ReportCommand::Diff(args) => {
            let d = diff_files(&args.a, &args.b, args.threshold)?;
            print!("{d}");
            Ok(if d.has_regressions() { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

/// [`super::diff`] of two report.json files (or --out directories).
pub fn diff_files(
    a: &std::path::Path,
    b: &std::path::Path,
    threshold_pct: f64,
) -> Result<super::DiffReport, super::ReportError> {
    let record = |p: &std::path::Path| if p.is_dir() { super::load(&p.join("report.json")) } else { super::load(p) };
    Ok(super::diff(&record(a)?, &record(b)?, threshold_pct))
}
