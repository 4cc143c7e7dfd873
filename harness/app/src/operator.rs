//! The app on a real phone held by a person: each of the article's steps is printed, the person does
//! it and says what the screen showed; the harness then verifies the device-side effect itself on
//! every interface. With no terminal, answers come from a file given on the command line, so a run
//! can be scripted.
//!
//! Answers file: one answer per line, in the order the prompts come; blank lines and `#` comments are
//! skipped; a line may name its prompt (`modify_password: success`) and is then checked against it.
//! Answers to "what did the screen show": `success`, `error: <text>`, `offline`, `not offered`,
//! `unknown: <text>`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use resetlab_rig::Operator;
use resetlab_wire::{Secret, secret::MASK};

use crate::app::{App, AppSession};
use crate::entry::{DeviceCredentials, DeviceEntry};
use crate::error::AppError;
use crate::flow::{LoginOutcome, MenuItem, ModifyOutcome, SettingsItem};
use crate::platform::FormFactor;

/// Where prompts go and answers come from: the bench's one operator, shared with the power and
/// link switches, so a field run reads one answers file (or one terminal) in the order it asks.
#[derive(Debug, Clone)]
pub struct Prompter {
    operator: Arc<Operator>,
}

/// A shared writer as the operator's prompt stream (tests keep the transcript).
struct SharedWriter(Arc<Mutex<dyn Write + Send>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl Prompter {
    /// The bench's operator, shared with its power and link switches.
    pub fn shared(operator: Arc<Operator>) -> Prompter {
        Prompter { operator }
    }

    /// Prompts on stderr, answers typed on stdin.
    pub fn terminal() -> Prompter {
        Prompter::shared(Arc::new(Operator::terminal(resetlab_rig::operator::DEFAULT_ANSWER_TIMEOUT)))
    }

    /// Answers read from `text` (`source` names it in messages); prompts to `out`.
    pub fn from_text(source: &str, text: &str, out: Arc<Mutex<dyn Write + Send>>) -> Prompter {
        let reader = tokio::io::BufReader::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        Prompter::shared(Arc::new(Operator::from_io(
            source,
            reader,
            Box::new(SharedWriter(out)),
            resetlab_rig::operator::DEFAULT_ANSWER_TIMEOUT,
        )))
    }

    /// Answers read from a file (or a pipe) one line at a time, as the prompts come.
    pub async fn from_file(path: &Path) -> Result<Prompter, AppError> {
        let op = Operator::answers_file(path, resetlab_rig::operator::DEFAULT_ANSWER_TIMEOUT)
            .await
            .map_err(|e| AppError::Operator(e.to_string()))?;
        Ok(Prompter::shared(Arc::new(op)))
    }

    /// The answers file when one is given, else the terminal; without either there is nobody to ask.
    pub async fn choose(answers: Option<&Path>) -> Result<Prompter, AppError> {
        match answers {
            Some(p) => Prompter::from_file(p).await,
            None if std::io::stdin().is_terminal() => Ok(Prompter::terminal()),
            None => Err(AppError::Operator(
                "the operator app needs a person: stdin is not a terminal, so give an answers file (app: { answers: FILE } in the bench file, or the command-line option)".into(),
            )),
        }
    }

    fn is_terminal(&self) -> bool {
        self.operator.is_terminal()
    }

    fn say(&self, text: &str) {
        self.operator.tell(text);
    }

    /// A password as the person must see it: in clear on a terminal (they type it on the phone),
    /// masked when answers come from a file (nobody reads it).
    fn show(&self, s: &Secret) -> String {
        if self.is_terminal() { s.expose().to_owned() } else { MASK.to_owned() }
    }

    async fn ask(&mut self, key: &str, question: &str) -> Result<String, AppError> {
        self.operator.ask(key, question).await.map_err(|e| AppError::Operator(e.to_string()))
    }

    async fn yes(&mut self, key: &str, question: &str) -> Result<bool, AppError> {
        let a = self.ask(key, &format!("{question} [yes/no]")).await?;
        match a.to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(true),
            "n" | "no" => Ok(false),
            other => Err(AppError::Operator(format!("`{key}`: expected yes or no, got {other:?}"))),
        }
    }
}

/// The app on a real phone, driven by a person.
#[derive(Debug)]
pub struct OperatorApp {
    session: AppSession,
    prompter: Prompter,
    entries: BTreeMap<String, DeviceEntry>,
    selected: Option<String>,
}

impl OperatorApp {
    /// The app on the person's phone, as `session` describes it.
    pub fn new(session: AppSession, prompter: Prompter) -> Self {
        OperatorApp { session, prompter, entries: BTreeMap::new(), selected: None }
    }

    fn current(&self) -> Result<String, AppError> {
        self.selected
            .clone()
            .or_else(|| (self.entries.len() == 1).then(|| self.entries.keys().next().cloned()).flatten())
            .ok_or_else(|| AppError::WrongScreen {
                step: "operator",
                needs: "a tapped device",
                on: "no device chosen".into(),
            })
    }

    async fn login_answer(&mut self, key: &str, question: &str) -> Result<LoginOutcome, AppError> {
        let a = self.prompter.ask(key, &format!("{question} [yes / no: <text> / offline]")).await?;
        let lower = a.to_ascii_lowercase();
        Ok(if lower == "yes" || lower == "y" {
            LoginOutcome::Accepted
        } else if lower == "offline" {
            LoginOutcome::Offline
        } else if let Some(t) = lower.strip_prefix("no") {
            LoginOutcome::Refused(t.trim_start_matches(':').trim().to_owned())
        } else {
            return Err(AppError::Operator(format!("`{key}`: expected yes, no: <text> or offline, got {a:?}")));
        })
    }
}

#[async_trait]
impl App for OperatorApp {
    fn session(&self) -> &AppSession {
        &self.session
    }

    async fn open_menu(&mut self) -> Result<Vec<MenuItem>, AppError> {
        let device = self.session.device_name();
        self.prompter.say(&format!("Step 1. Open the FLIR Cloud app on your {device}."));
        self.prompter.say("Step 2. Tap the menu icon in the upper-left corner to open the app menu.");
        let shown = self.prompter.yes("menu", "Does the menu show Device Manager?").await?;
        Ok(if shown { vec![MenuItem::DeviceManager] } else { Vec::new() })
    }

    async fn device_manager(&mut self) -> Result<Vec<DeviceEntry>, AppError> {
        self.prompter.say("Step 2. Tap Device Manager.");
        let serials: Vec<String> = self.entries.keys().cloned().collect();
        for s in serials {
            let online = self.prompter.yes("device_manager", &format!("Is the recorder {s} listed as online?")).await?;
            if let Some(e) = self.entries.get_mut(&s) {
                e.online = online;
            }
        }
        Ok(self.entries.values().cloned().collect())
    }

    async fn tap_device(&mut self, serial: &str) -> Result<DeviceEntry, AppError> {
        let entry = self.entries.get(serial).cloned().ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))?;
        self.prompter.say(&format!("Step 3. Tap your DVR / NVR ({serial}) in the Device Manager."));
        self.selected = Some(serial.to_owned());
        Ok(entry)
    }

    async fn settings(&mut self) -> Result<Vec<SettingsItem>, AppError> {
        self.prompter.say("Step 3. Tap Settings.");
        let offered = self.prompter.yes("settings", "Does Settings show Modify password?").await?;
        let mut items = vec![SettingsItem::DeviceInfo];
        if offered {
            items.push(SettingsItem::ModifyPassword);
        }
        Ok(items)
    }

    async fn modify_password(&mut self, new: &Secret, confirm: &Secret) -> Result<ModifyOutcome, AppError> {
        let serial = self.current()?;
        let rule = self.session.profile.modify_password.clone();
        let app_should_refuse = new.char_len() != rule.length || (rule.confirm_required && new != confirm);
        self.prompter.say("Step 4. Tap Modify password.");
        self.prompter.say(&format!(
            "Step 5. Enter the new password {} and confirm it as {}, then tap the check mark.",
            self.prompter.show(new),
            self.prompter.show(confirm)
        ));
        let a = self
            .prompter
            .ask(
                "modify_password",
                "What did the screen show? [success / error: <text> / offline / not offered / unknown: <text>]",
            )
            .await?;
        let lower = a.to_ascii_lowercase();
        let text = a.split_once(':').map(|(_, t)| t.trim().to_owned()).unwrap_or_default();
        let outcome = if lower == "success" {
            ModifyOutcome::Changed
        } else if lower == "offline" {
            ModifyOutcome::Offline
        } else if lower == "not offered" {
            ModifyOutcome::NotOffered
        } else if lower.starts_with("error") {
            if app_should_refuse { ModifyOutcome::RefusedByApp(text) } else { ModifyOutcome::RefusedByDevice(text) }
        } else if lower.starts_with("unknown") {
            ModifyOutcome::Unknown(text)
        } else {
            return Err(AppError::Operator(format!("`modify_password`: cannot read the answer {a:?}")));
        };
        if let Some(e) = self.entries.get_mut(&serial) {
            match outcome {
                ModifyOutcome::Changed => e.credentials.password = new.clone(),
                ModifyOutcome::Unknown(_) => e.unconfirmed = Some(new.clone()),
                _ => {}
            }
        }
        Ok(outcome)
    }

    async fn connect_saved_entry(&mut self) -> Result<LoginOutcome, AppError> {
        let serial = self.current()?;
        self.prompter.say(&format!(
            "Go back to the Device Manager and open the live view of {serial} (do not delete or re-add it)."
        ));
        self.login_answer("saved_entry", "Does the live view open?").await
    }

    async fn remote_login(&mut self, form: FormFactor, creds: &DeviceCredentials) -> Result<LoginOutcome, AppError> {
        let serial = self.current()?;
        self.prompter.say(&format!(
            "On a {form} away from the recorder's network, log into {serial} remotely as {} with the password {}.",
            creds.user,
            self.prompter.show(&creds.password)
        ));
        self.login_answer("remote_login", "Did the login work?").await
    }

    async fn reconcile(&mut self) -> Result<LoginOutcome, AppError> {
        self.connect_saved_entry().await
    }

    fn saved_entry(&self) -> Option<DeviceEntry> {
        self.current().ok().and_then(|s| self.entries.get(&s).cloned())
    }

    fn saved_entries(&self) -> Vec<DeviceEntry> {
        self.entries.values().cloned().collect()
    }

    async fn add_device(&mut self, serial: &str, creds: DeviceCredentials) -> Result<DeviceEntry, AppError> {
        let listed = self
            .prompter
            .yes(
                "add_device",
                &format!(
                    "Is the recorder {serial} in the app's Device Manager, saved with the device user {}?",
                    creds.user
                ),
            )
            .await?;
        if !listed {
            self.prompter.say(&format!(
                "Add the recorder {serial} in the Device Manager with the device user {} and the password {}.",
                creds.user,
                self.prompter.show(&creds.password)
            ));
        }
        let entry =
            DeviceEntry { serial: serial.to_owned(), credentials: creds, group: None, online: true, unconfirmed: None };
        self.entries.insert(serial.to_owned(), entry.clone());
        Ok(entry)
    }

    async fn remove_device(&mut self, serial: &str) -> Result<(), AppError> {
        self.entries.remove(serial).ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))?;
        self.prompter.say(&format!("Delete the recorder {serial} from the Device Manager."));
        if self.selected.as_deref() == Some(serial) {
            self.selected = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;
    use crate::profile::flir_cloud_2017;

    type Transcript = (Arc<Mutex<Vec<u8>>>, Arc<Mutex<dyn Write + Send>>);

    fn transcript() -> Transcript {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out: Arc<Mutex<dyn Write + Send>> = buf.clone();
        (buf, out)
    }

    #[tokio::test]
    async fn scripted_operator_walks_the_article_and_never_prints_the_password() {
        let answers = "# field run\nadd_device: yes\nmenu: yes\ndevice_manager: yes\nsettings: yes\nmodify_password: success\nsaved_entry: yes\n";
        let (buf, out) = transcript();
        let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "owner");
        let mut app = OperatorApp::new(session, Prompter::from_text("answers.txt", answers, out));
        app.add_device("SN1", DeviceCredentials::new("admin", "opold1")).await.unwrap();
        let new = Secret::new("opnew7");
        let outcome = app.reset_password("SN1", &new, &new).await.unwrap();
        assert_eq!(outcome, ModifyOutcome::Changed);
        assert_eq!(app.saved_entry().unwrap().credentials.password, new);
        assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert!(text.contains("Tap Modify password"), "{text}");
        assert!(text.contains("Device Manager"), "{text}");
        assert!(!text.contains("opnew7") && !text.contains("opold1"), "{text}");
    }

    #[tokio::test]
    async fn answer_for_the_wrong_prompt_is_named() {
        let (_buf, out) = transcript();
        let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "owner");
        let mut app = OperatorApp::new(session, Prompter::from_text("a.txt", "settings: yes\n", out));
        let err = app.open_menu().await.unwrap_err().to_string();
        assert!(err.contains("a.txt") && err.contains("`menu`") && err.contains("`settings`"), "{err}");
    }

    #[tokio::test]
    async fn error_answer_on_a_short_password_is_the_apps_refusal() {
        let (_buf, out) = transcript();
        let session = AppSession::new(Platform::Ios, FormFactor::Tablet, flir_cloud_2017(), "owner");
        let text = "add_device: yes\nmodify_password: error: Password must be 6 characters\n";
        let mut app = OperatorApp::new(session, Prompter::from_text("a.txt", text, out));
        app.add_device("SN1", DeviceCredentials::new("admin", "opold2")).await.unwrap();
        let short = Secret::new("abc12");
        let o = app.modify_password(&short, &short).await.unwrap();
        assert_eq!(o, ModifyOutcome::RefusedByApp("Password must be 6 characters".into()));
        assert_eq!(app.saved_entry().unwrap().credentials.password.expose(), "opold2");
    }
}
