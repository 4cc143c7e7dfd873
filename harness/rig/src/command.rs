//! `driver: command`: power, network link and console through a command line tool the lab already
//! has — pdudaemon's `pduclient`, `labgrid-client power/io/console`, a PDU vendor's CLI, a script.
//!
//! A switch is three templates: `on`, `off`, and optionally `get`, whose output is read back after
//! every switch (the last word it prints: on/off, 1/0, true/false, up/down). A console is one
//! long-running command whose output is the console stream. Templates run under `sh -c` so a lab can
//! write `$PDU_PASSWORD` and keep the secret in the environment: it never appears in the bench file,
//! and the values of such variables are registered as secrets so that the tool's own output, when
//! it ends up in an error, loses them. Errors name the template as the bench file wrote it.
//!
//! Every command has a deadline; a late one is killed with its whole process group (a shell script
//! that started `mbpoll` must not leave `mbpoll` running).

use std::pin::Pin;
use std::process::Stdio;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::process::{Child, ChildStdout};

use crate::console::{Console, CrashPatterns};
use crate::error::{Blame, RigError};
use crate::power::{Switch, Switched};

/// Default deadline for one switch command (a PDU answers in well under a second; ssh to a PDU
/// daemon can take a few).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variable names whose values are secrets when a template expands them.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "PASS", "PW"].iter().any(|s| n.ends_with(s))
}

/// The environment variables a template expands (`$NAME` or `${NAME}`).
pub fn referenced_variables(template: &str) -> Vec<String> {
    let b = template.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let (start, braced) = if b.get(i + 1) == Some(&b'{') { (i + 2, true) } else { (i + 1, false) };
            let mut end = start;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                end += 1;
            }
            if end > start && (!braced || b.get(end) == Some(&b'}')) {
                out.push(template[start..end].to_owned());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Register the values of the secret-looking variables `template` expands, so that [`redact`]
/// removes them from whatever the command prints.
///
/// [`redact`]: resetlab_wire::secret::redact
fn remember_secrets(template: &str) {
    for name in referenced_variables(template) {
        if secret_name(&name)
            && let Ok(v) = std::env::var(&name)
            && !v.is_empty()
        {
            resetlab_wire::secret::remember(&v);
        }
    }
}

fn shell(template: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c")
        .arg(template)
        .stdin(Stdio::null())
        // Its own process group, so a deadline kills the tool the script started, not only the shell.
        .process_group(0)
        .kill_on_drop(true);
    c
}

fn kill_group(child: &Child) {
    if let Some(pid) = child.id().and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// The last non-empty line of `bytes`, redacted and shortened, for an error message.
fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let line = resetlab_wire::secret::redact(line);
    if line.chars().count() > 200 { format!("{}…", line.chars().take(200).collect::<String>()) } else { line }
}

/// What one finished command printed.
#[derive(Debug)]
pub struct Ran {
    /// Its standard output.
    pub stdout: String,
    /// How long it took.
    pub took: Duration,
}

/// Run `template` under `sh -c` with a deadline. `what` says what it is for ("power on"); errors
/// name it, the template (never an expanded secret) and the tool's last line of output, redacted.
pub async fn run(template: &str, what: &str, timeout: Duration, blame: Blame) -> Result<Ran, RigError> {
    remember_secrets(template);
    let started = Instant::now();
    let fail =
        |message: String| RigError::Command { what: what.to_owned(), command: template.to_owned(), message, blame };
    let mut child = shell(template)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("could not start sh: {e}")))?;
    let pid_holder = child.id();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let work = async {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_end(&mut err).await;
            }
        };
        let ((), (), status) = tokio::join!(read_out, read_err, child.wait());
        (status, out, err)
    };
    let (status, out, err) = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => {
            if let Some(pid) = pid_holder.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            return Err(RigError::Timeout {
                what: format!("command for {what} `{template}` to finish (killed)"),
                after: timeout,
                blame,
            });
        }
    };
    let status = status.map_err(|e| fail(format!("could not be waited for: {e}")))?;
    if !status.success() {
        let said = last_line(&err);
        let said = if said.is_empty() { last_line(&out) } else { said };
        let code =
            status.code().map_or_else(|| "was killed by a signal".to_owned(), |c| format!("exited with status {c}"));
        return Err(fail(if said.is_empty() { code } else { format!("{code}: {said}") }));
    }
    Ok(Ran { stdout: String::from_utf8_lossy(&out).into_owned(), took: started.elapsed() })
}

/// The state a `get` command printed: the last word of its output.
pub fn parse_state(stdout: &str) -> Option<bool> {
    let word =
        stdout.split_whitespace().next_back()?.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_ascii_lowercase();
    match word.as_str() {
        "on" | "1" | "true" | "up" | "enabled" | "high" => Some(true),
        "off" | "0" | "false" | "down" | "disabled" | "low" => Some(false),
        _ => None,
    }
}

/// The templates of one command-driven switch.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandTemplates {
    /// Switches the part on.
    pub on: String,
    /// Switches it off.
    pub off: String,
    /// Prints its state; without it, a switch is verified only by the exit status.
    pub get: Option<String>,
    /// Deadline for each command.
    pub timeout: Duration,
    /// Minimum off time before switching back on.
    pub off_time: Duration,
}

/// A power or link switch driven by command templates.
#[derive(Debug)]
pub struct CommandSwitch {
    t: CommandTemplates,
    what: String,
    last_off: Mutex<Option<Instant>>,
}

impl CommandSwitch {
    /// A switch for `what` ("power", "network link").
    pub fn new(t: CommandTemplates, what: &str) -> Self {
        CommandSwitch { t, what: what.to_owned(), last_off: Mutex::new(None) }
    }

    /// Whether a switch is read back through `get`.
    pub fn reads_back(&self) -> bool {
        self.t.get.is_some()
    }

    async fn read(&self, get: &str) -> Result<bool, RigError> {
        let what = format!("{} get", self.what);
        let ran = run(get, &what, self.t.timeout, Blame::Relay).await?;
        parse_state(&ran.stdout).ok_or_else(|| RigError::Command {
            what,
            command: get.to_owned(),
            message: format!(
                "printed {:?}; expected its last word to be on/off, 1/0, true/false or up/down",
                last_line(ran.stdout.as_bytes())
            ),
            blame: Blame::Relay,
        })
    }
}

impl Switch for CommandSwitch {
    fn describe(&self) -> String {
        format!("{} by command `{}` / `{}`", self.what, self.t.on, self.t.off)
    }

    async fn set(&self, on: bool) -> Result<Switched, RigError> {
        let started = Instant::now();
        let mut held_off = Duration::ZERO;
        if on {
            let since = *self.last_off.lock().unwrap_or_else(|e| e.into_inner());
            let since = match (since, &self.t.get) {
                (Some(t), _) => Some(t),
                // Off since an unknown moment: count from now, the only safe assumption.
                (None, Some(get)) if !self.read(get).await? => Some(Instant::now()),
                _ => None,
            };
            if let Some(t) = since {
                let until = t + self.t.off_time;
                let now = Instant::now();
                if until > now {
                    held_off = until - now;
                    tokio::time::sleep_until(until.into()).await;
                }
            }
        }
        let (template, word) = if on { (&self.t.on, "on") } else { (&self.t.off, "off") };
        run(template, &format!("{} {word}", self.what), self.t.timeout, Blame::Relay).await?;
        if let Some(get) = &self.t.get {
            let read = self.read(get).await?;
            if read != on {
                return Err(RigError::Command {
                    what: format!("{} {word}", self.what),
                    command: template.clone(),
                    message: format!(
                        "succeeded but `{get}` then reads {} — the switch did not switch",
                        if read { "on" } else { "off" }
                    ),
                    blame: Blame::Relay,
                });
            }
        }
        *self.last_off.lock().unwrap_or_else(|e| e.into_inner()) = if on { None } else { Some(Instant::now()) };
        Ok(Switched { on, took: started.elapsed(), held_off })
    }

    async fn get(&self) -> Result<bool, RigError> {
        match &self.t.get {
            Some(get) => self.read(get).await,
            None => {
                Err(RigError::Harness(format!("{} has no `get` command: its state cannot be read back", self.what)))
            }
        }
    }
}

/// A console command's output, owning the command: dropping it kills the command's process group.
struct CommandOutput {
    child: Child,
    stdout: ChildStdout,
}

impl Drop for CommandOutput {
    fn drop(&mut self) {
        kill_group(&self.child);
    }
}

impl AsyncRead for CommandOutput {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl Console {
    /// A console that is the output (stdout and stderr) of a long-running command
    /// (`labgrid-client console`, `socat`, `ssh bench-host microcom …`). The command is killed when
    /// the console is dropped; if it ends, waits on the console fail naming that it closed.
    pub fn open_command(
        template: &str,
        crash: CrashPatterns,
        evidence: Option<Box<dyn std::io::Write + Send>>,
    ) -> Result<Console, RigError> {
        remember_secrets(template);
        // Both streams in one: a console tool reports a lost line on stderr.
        let merged = format!("exec 2>&1\n{template}");
        let mut child =
            shell(&merged).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().map_err(|e| RigError::Command {
                what: "console".into(),
                command: template.to_owned(),
                message: format!("could not start sh: {e}"),
                blame: Blame::Console,
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| RigError::Harness("console command started without its stdout".into()))?;
        Ok(Console::from_reader(&format!("command `{template}`"), CommandOutput { child, stdout }, crash, evidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_from_the_last_word() {
        assert_eq!(parse_state("power for place bench-3 is on\n"), Some(true));
        assert_eq!(parse_state("[1]: \t0\n"), Some(false));
        assert_eq!(parse_state("OFF."), Some(false));
        assert_eq!(parse_state("maybe"), None);
        assert_eq!(parse_state(""), None);
    }

    #[test]
    fn referenced_variables_are_found_in_both_spellings() {
        assert_eq!(
            referenced_variables("pdu --pw \"$PDU_PW\" ${HOST}:$ port ${BAD"),
            vec!["PDU_PW".to_owned(), "HOST".to_owned()]
        );
    }

    #[tokio::test]
    async fn a_failing_command_names_the_template_but_not_the_secret_it_expanded() {
        // SAFETY: this test alone uses this variable name.
        unsafe { std::env::set_var("RIG_CMD_TEST_PASSWORD", "Hx7Qz2") };
        let template = "echo \"login with $RIG_CMD_TEST_PASSWORD refused\" >&2; exit 3";
        let e = run(template, "power on", Duration::from_secs(5), Blame::Relay).await.unwrap_err();
        let text = e.to_string();
        assert_eq!(e.blame(), Blame::Relay);
        assert!(text.contains("$RIG_CMD_TEST_PASSWORD"), "{text}");
        assert!(text.contains("exited with status 3"), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert!(!text.contains("Hx7Qz2"), "the secret leaked: {text}");
    }

    #[tokio::test]
    async fn a_late_command_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let template = format!("(sleep 1; touch {}) & wait", marker.display());
        let t = Instant::now();
        let e = run(&template, "power off", Duration::from_millis(200), Blame::Relay).await.unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(matches!(e, RigError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("power off"), "{e}");
        // The grandchild was in the group: it must not get to touch the file.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!marker.exists(), "the command's child outlived the deadline");
    }

    #[tokio::test]
    async fn a_switch_that_does_not_switch_is_caught_by_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::write(&state, "off\n").unwrap();
        let s = state.display();
        let sw = CommandSwitch::new(
            CommandTemplates {
                on: format!("echo on > {s}"),
                off: "true".into(), // broken: never switches off
                get: Some(format!("cat {s}")),
                timeout: Duration::from_secs(5),
                off_time: Duration::ZERO,
            },
            "power",
        );
        assert!(sw.set(true).await.unwrap().on);
        assert!(sw.get().await.unwrap());
        let e = sw.set(false).await.unwrap_err();
        assert!(e.to_string().contains("did not switch"), "{e}");
        assert_eq!(e.blame(), Blame::Relay);
    }

    #[tokio::test]
    async fn a_console_is_the_output_of_a_command() {
        let c =
            Console::open_command("echo U-Boot; echo 'System init done' >&2; sleep 30", CrashPatterns::default(), None)
                .unwrap();
        c.wait_for(c.beginning(), "System init done", Duration::from_secs(5)).await.unwrap();
    }
}
