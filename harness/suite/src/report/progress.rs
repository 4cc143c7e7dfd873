//! The live progress display on a terminal (indicatif): scenarios done/total, the step running now,
//! elapsed time; finished scenarios that did not pass are printed above the bar so they stay on screen.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::record::{ScenarioRecord, Verdict};

/// A progress bar on stdout, driven by the [`crate::record::RecordWriter`].
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
