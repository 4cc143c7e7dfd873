//! The one prompter: everything resetlab asks a person goes through here. [`Operator`] is the bench's
//! person — the power and link switches ([`OperatorSwitch`]) and the app on a real phone
//! (`resetlab_app::OperatorApp`) ask the same one, so a field run reads one terminal or one answers
//! file in the order it asks; [`read_password`] asks for the administrator password a bench file
//! leaves out.
//!
//! A power or link step is printed as an instruction to a person, who confirms it. The answer is
//! only the person's word; the caller still verifies the effect (the device stops answering, then
//! boots). Without a terminal, answers come from a file the caller names, one line per prompt, so
//! field procedures are scriptable and testable.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

use resetlab_wire::Secret;
use resetlab_wire::secret::MASK;

use crate::error::{Blame, RigError};
use crate::power::{Switch, Switched};

/// Default time a person has to answer one prompt.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// A person at the bench, reached through prompts and answers.
pub struct Operator {
    answers: Mutex<Box<dyn AsyncBufRead + Unpin + Send>>,
    prompts: std::sync::Mutex<Box<dyn Write + Send>>,
    source: String,
    timeout: Duration,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").field("source", &self.source).field("timeout", &self.timeout).finish()
    }
}

impl Operator {
    /// Prompts on stderr, answers typed on stdin.
    pub fn terminal(timeout: Duration) -> Self {
        Operator::from_io("terminal", BufReader::new(tokio::io::stdin()), Box::new(std::io::stderr()), timeout)
    }

    /// Prompts on stderr, answers read from `path`, one line per prompt.
    pub async fn answers_file(path: &Path, timeout: Duration) -> Result<Self, RigError> {
        let f = tokio::fs::File::open(path)
            .await
            .map_err(|e| RigError::File { path: path.to_owned(), message: format!("operator answers: {e}") })?;
        Ok(Operator::from_io(&path.display().to_string(), BufReader::new(f), Box::new(std::io::stderr()), timeout))
    }

    /// The terminal when stdin is one, else the answers file; an error when there is neither.
    pub async fn auto(answers: Option<&Path>, timeout: Duration) -> Result<Self, RigError> {
        use std::io::IsTerminal;
        match answers {
            Some(p) => Operator::answers_file(p, timeout).await,
            None if std::io::stdin().is_terminal() => Ok(Operator::terminal(timeout)),
            None => Err(RigError::Harness(
                "an operator step needs a person: stdin is not a terminal, so give an answers file (--answers FILE, or app: { answers: FILE } in the bench file)".into(),
            )),
        }
    }

    /// Any reader and writer (tests, a GUI).
    pub fn from_io(
        source: &str,
        answers: impl AsyncBufRead + Unpin + Send + 'static,
        prompts: Box<dyn Write + Send>,
        timeout: Duration,
    ) -> Self {
        Operator {
            answers: Mutex::new(Box::new(answers)),
            prompts: std::sync::Mutex::new(prompts),
            source: source.to_owned(),
            timeout,
        }
    }

    /// Print `instruction`, wait for a yes (`done`, `yes`, `y`, `ok`) or a no (anything else).
    pub async fn confirm(&self, instruction: &str) -> Result<(), RigError> {
        self.say(&format!("\n>>> {instruction}\n    Type 'done' when done, or describe what went wrong: "));
        let answer = self.read_answer(instruction).await?;
        match answer.to_ascii_lowercase().as_str() {
            "done" | "yes" | "y" | "ok" => Ok(()),
            _ => Err(RigError::Operator(format!("could not do \"{instruction}\": answered {answer:?}"))),
        }
    }

    /// Ask a yes/no question.
    pub async fn ask_yes_no(&self, question: &str) -> Result<bool, RigError> {
        self.say(&format!("\n>>> {question} [y/n]: "));
        let answer = self.read_answer(question).await?;
        match answer.to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "up" => Ok(true),
            "n" | "no" | "off" | "down" => Ok(false),
            _ => Err(RigError::Operator(format!("answer {answer:?} to \"{question}\" is neither yes nor no"))),
        }
    }

    /// Ask a yes/no question whose answer line may name it (`key: yes`, see [`Operator::ask`]).
    pub async fn ask_yes(&self, key: &str, question: &str) -> Result<bool, RigError> {
        let a = self.ask(key, &format!("{question} [yes/no]")).await?;
        match a.to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(true),
            "n" | "no" => Ok(false),
            other => Err(RigError::Operator(format!("`{key}`: expected yes or no, got {other:?}"))),
        }
    }

    /// A password as the person must see it: in clear on a terminal (they type it on the phone),
    /// masked when answers come from a file (nobody reads it).
    pub fn show(&self, s: &Secret) -> String {
        if self.is_terminal() { s.expose().to_owned() } else { MASK.to_owned() }
    }

    /// Tell the person something that needs no answer (what the harness waits for, and why).
    pub fn inform(&self, text: &str) {
        self.say(&format!("    {text}\n"));
    }

    /// One line to the person, as it is.
    pub fn tell(&self, text: &str) {
        self.say(&format!("{text}\n"));
    }

    /// Whether a person types the answers (passwords the person must type are then shown in clear;
    /// for a file nobody reads them).
    pub fn is_terminal(&self) -> bool {
        self.source == "terminal"
    }

    /// Ask `question`; the answer is the next line, or the part after `key:` of a line written as
    /// `key: answer` (a scripted run names what each line answers, and a line for another
    /// question is an error that names both).
    pub async fn ask(&self, key: &str, question: &str) -> Result<String, RigError> {
        self.say(&format!("  ? {question}\n"));
        if self.is_terminal() {
            self.say("  > ");
        }
        let line = self.read_answer(question).await?;
        let answer = match line.split_once(':') {
            Some((k, a)) if is_key(k) => {
                if k.trim() != key {
                    return Err(RigError::Operator(format!(
                        "{}: answers `{}` but the harness asked `{key}` ({question})",
                        self.source,
                        k.trim()
                    )));
                }
                a.trim().to_owned()
            }
            _ => line,
        };
        if !self.is_terminal() {
            self.say(&format!("  > {answer}\n"));
        }
        Ok(answer)
    }

    fn say(&self, text: &str) {
        let mut w = self.prompts.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.write_all(text.as_bytes());
        let _ = w.flush();
    }

    /// The next answer: a line without its ` # comment`, blank and comment lines skipped.
    async fn read_answer(&self, prompt: &str) -> Result<String, RigError> {
        loop {
            let line = self.read_line(prompt).await?;
            let text = line.split(" #").next().unwrap_or("").trim();
            if !text.is_empty() && !text.starts_with('#') {
                return Ok(text.to_owned());
            }
        }
    }

    async fn read_line(&self, prompt: &str) -> Result<String, RigError> {
        let mut r = self.answers.lock().await;
        let mut line = String::new();
        match tokio::time::timeout(self.timeout, r.read_line(&mut line)).await {
            Err(_) => Err(RigError::Timeout {
                what: format!("the operator's answer to \"{prompt}\" ({})", self.source),
                after: self.timeout,
                blame: Blame::Operator,
            }),
            Ok(Err(e)) => Err(RigError::Operator(format!("cannot read answers from {}: {e}", self.source))),
            Ok(Ok(0)) => {
                Err(RigError::Operator(format!("no answer to \"{prompt}\": {} has no more lines", self.source)))
            }
            Ok(Ok(_)) => Ok(line.trim().to_owned()),
        }
    }
}

/// The password `what` (e.g. `admin on lab-bench-3`), typed on the terminal without echo: a
/// password on the screen ends up in terminal scrollback and screen recordings of a field session.
/// `None` when stdin is not a terminal or nothing was typed; `why` says why it is asked.
pub fn read_password(what: &str, why: &str) -> Option<Secret> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let typed = rpassword::prompt_password(format!("Password for {what} ({why}): ")).ok()?;
    let typed = typed.trim_end_matches(['\r', '\n']);
    (!typed.is_empty()).then(|| Secret::new(typed))
}

/// Whether `k` reads as the key of a `key: answer` line (not an answer such as `error: …`).
fn is_key(k: &str) -> bool {
    let k = k.trim();
    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !matches!(k, "error" | "unknown" | "no")
}

/// A power or link step done by a person.
#[derive(Debug)]
pub struct OperatorSwitch {
    operator: Arc<Operator>,
    what: String,
    off: Duration,
    state: std::sync::Mutex<(Option<bool>, Option<Instant>)>,
}

impl OperatorSwitch {
    /// `what` is "power" or "network link"; `off` the minimum off time to keep.
    pub fn new(operator: Arc<Operator>, what: &str, off: Duration) -> Self {
        OperatorSwitch { operator, what: what.to_owned(), off, state: std::sync::Mutex::new((None, None)) }
    }

    fn instruction(&self, on: bool) -> String {
        match (self.what.as_str(), on) {
            ("power", false) => "Switch the recorder's power OFF (unplug its power supply).".to_owned(),
            ("power", true) => "Switch the recorder's power ON (plug its power supply back in).".to_owned(),
            ("network link", false) => "Unplug the recorder's network cable.".to_owned(),
            ("network link", true) => "Plug the recorder's network cable back in.".to_owned(),
            (w, on) => format!("Switch the recorder's {w} {}.", if on { "ON" } else { "OFF" }),
        }
    }
}

impl Switch for OperatorSwitch {
    fn describe(&self) -> String {
        format!("{} switched by the operator", self.what)
    }

    async fn set(&self, on: bool) -> Result<Switched, RigError> {
        let started = Instant::now();
        let mut held_off = Duration::ZERO;
        let last_off = self.state.lock().unwrap_or_else(|e| e.into_inner()).1;
        if on && let Some(t) = last_off {
            let until = t + self.off;
            if until > Instant::now() {
                held_off = until - Instant::now();
                // Without this the person sees nothing happen and may plug it back in early.
                self.operator.inform(&format!(
                    "Keep the {} off: the next step comes in {:.0} s (the bench's minimum off time).",
                    self.what,
                    held_off.as_secs_f64().ceil()
                ));
                tokio::time::sleep_until(until.into()).await;
            }
        }
        self.operator.confirm(&self.instruction(on)).await?;
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) =
            (Some(on), if on { None } else { Some(Instant::now()) });
        Ok(Switched { on, took: started.elapsed(), held_off })
    }

    async fn get(&self) -> Result<bool, RigError> {
        let known = self.state.lock().unwrap_or_else(|e| e.into_inner()).0;
        match known {
            Some(v) => Ok(v),
            None => self.operator.ask_yes_no(&format!("Is the recorder's {} on?", self.what)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripted(answers: &str) -> Arc<Operator> {
        Arc::new(Operator::from_io(
            "script",
            BufReader::new(std::io::Cursor::new(answers.to_owned().into_bytes())),
            Box::new(std::io::sink()),
            Duration::from_secs(1),
        ))
    }

    #[tokio::test]
    async fn operator_switch_follows_scripted_answers_and_keeps_off_time() {
        let sw = OperatorSwitch::new(scripted("done\ndone\n"), "power", Duration::from_millis(50));
        sw.set(false).await.unwrap();
        let s = sw.set(true).await.unwrap();
        assert!(s.took >= Duration::from_millis(45), "{s:?}");
        assert!(sw.get().await.unwrap());
    }

    /// What the operator was told, shared with the test.
    #[derive(Clone, Default)]
    struct Screen(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn operator_is_told_to_keep_the_power_off_for_the_minimum_off_time() {
        let screen = Screen::default();
        let op = Arc::new(Operator::from_io(
            "script",
            BufReader::new(std::io::Cursor::new(b"done\ndone\n".to_vec())),
            Box::new(screen.clone()),
            Duration::from_secs(1),
        ));
        let sw = OperatorSwitch::new(op, "power", Duration::from_millis(1500));
        sw.set(false).await.unwrap();
        sw.set(true).await.unwrap();
        let told = String::from_utf8(screen.0.lock().unwrap().clone()).unwrap();
        let keep = told.find("Keep the power off: the next step comes in 2 s").unwrap_or_else(|| panic!("{told}"));
        assert!(keep < told.find("power ON").unwrap(), "told before being asked to switch on: {told}");
    }

    #[tokio::test]
    async fn operator_who_cannot_do_a_step_is_an_operator_fault() {
        let sw = OperatorSwitch::new(scripted("the plug is glued in\n"), "power", Duration::ZERO);
        let e = sw.set(false).await.unwrap_err();
        assert_eq!(e.blame(), Blame::Operator);
        assert!(e.to_string().contains("glued"), "{e}");
        let e = sw.set(false).await.unwrap_err();
        assert!(e.to_string().contains("no more lines"), "{e}");
    }
}
