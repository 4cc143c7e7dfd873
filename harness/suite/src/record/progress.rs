//! What the terminal shows while the suite runs: nothing, a line per finished scenario, or the live
//! display (indicatif): scenarios done/total, the step running now, elapsed time; finished
//! scenarios that did not pass are printed above the bar so they stay on screen.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{ScenarioRecord, Verdict};

/// Live output while the suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// One line per finished scenario, failures with their step and message.
    Lines,
    /// A progress bar (scenarios done/total, current step, elapsed) with failures printed above
    /// it; for a terminal. Falls back to [`Progress::Lines`] when stdout is not one.
    Live,
    Quiet,
}

impl Progress {
    /// What a terminal user gets: nothing with `quiet`, lines with `verbose` or when stdout is not
    /// a terminal (CI logs), the live bar otherwise.
    pub fn for_terminal(quiet: bool, verbose: bool) -> Progress {
        use std::io::IsTerminal as _;
        if quiet {
            Progress::Quiet
        } else if verbose || !std::io::stdout().is_terminal() {
            Progress::Lines
        } else {
            Progress::Live
        }
    }
}

/// A progress bar on stdout, driven by the [`super::RecordWriter`].
#[derive(Debug)]
pub struct LiveProgress {
    bar: ProgressBar,
}

impl LiveProgress {
    pub fn start(total: usize) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} scenarios  {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        LiveProgress { bar }
    }

    /// A step began: show it as the current one.
    pub fn step(&self, scenario: &str, step: &str) {
        self.bar.set_message(resetlab_wire::secret::redact(&format!("{scenario} › {step}")));
    }

    /// A scenario finished: count it; print it above the bar unless it passed.
    pub fn finished(&self, done: usize, r: &ScenarioRecord) {
        self.bar.set_position(done as u64);
        if !matches!(r.verdict, Verdict::Pass) {
            let mut line = format!("{:<4} {} › {}", short(r.verdict), r.feature, r.name);
            if let (Some(reason), Some(blame)) = (&r.reason, r.blame) {
                line.push_str(&format!("\n     {blame} fault at {reason}"));
            }
            self.bar.println(resetlab_wire::secret::redact(&line));
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

fn short(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "ok",
        Verdict::Fail => "FAIL",
        Verdict::NotApplicable | Verdict::Partial => "n/a",
        Verdict::Error | Verdict::Blocked => "ERR",
    }
}

#[cfg(test)]
mod tests {
    use crate::record::Progress;

    #[test]
    fn quiet_and_verbose_win_over_the_terminal() {
        assert_eq!(Progress::for_terminal(true, false), Progress::Quiet);
        assert_eq!(Progress::for_terminal(true, true), Progress::Quiet);
        assert_eq!(Progress::for_terminal(false, true), Progress::Lines);
    }
}
