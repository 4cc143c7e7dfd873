//! The app on a real phone held by a person: each of the article's steps is printed, the person does
//! it and says what the screen showed; the harness then verifies the device-side effect itself on
//! every interface. With no terminal, answers come from a file given on the command line, so a run
//! can be scripted.
//!
//! Answers file: one answer per line, in the order the prompts come; blank lines and `#` comments are
//! skipped; a line may name its prompt (`modify_password: success`) and is then checked against it.
//! Answers to "what did the screen show": `success`, `error: <text>`, `offline`, `not offered`,
//! `unknown: <text>`.
//!
//! The person is the bench's one [`Operator`] (rig crate), the prompter the power and link switches
//! ask too: one terminal or one answers file, read in the order the run asks.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use resetlab_rig::Operator;
use resetlab_wire::Secret;

use crate::app::{App, AppSession};
use crate::entry::{DeviceCredentials, DeviceEntry};
use crate::error::AppError;
use crate::flow::{LoginOutcome, MenuItem, ModifyOutcome, SettingsItem};
use crate::platform::FormFactor;

/// The app on a real phone, driven by a person.
#[derive(Debug)]
pub struct OperatorApp {
    session: AppSession,
    operator: Arc<Operator>,
    entries: BTreeMap<String, DeviceEntry>,
    selected: Option<String>,
}

impl OperatorApp {
    /// The app on the person's phone, as `session` describes it; `operator` is the bench's person,
    /// shared with its power and link switches.
    pub fn new(session: AppSession, operator: Arc<Operator>) -> Self {
        OperatorApp { session, operator, entries: BTreeMap::new(), selected: None }
    }

    /// Tell the person one step.
    fn say(&self, text: &str) {
        self.operator.tell(text);
    }

    async fn ask(&self, key: &str, question: &str) -> Result<String, AppError> {
        self.operator.ask(key, question).await.map_err(|e| AppError::Operator(e.to_string()))
    }

    async fn yes(&self, key: &str, question: &str) -> Result<bool, AppError> {
        self.operator.ask_yes(key, question).await.map_err(|e| AppError::Operator(e.to_string()))
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
        let a = self.ask(key, &format!("{question} [yes / no: <text> / offline]")).await?;
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
        self.say(&format!("Step 1. Open the FLIR Cloud app on your {device}."));
        self.say("Step 2. Tap the menu icon in the upper-left corner to open the app menu.");
        let shown = self.yes("menu", "Does the menu show Device Manager?").await?;
        Ok(if shown { vec![MenuItem::DeviceManager] } else { Vec::new() })
    }

    async fn device_manager(&mut self) -> Result<Vec<DeviceEntry>, AppError> {
        self.say("Step 2. Tap Device Manager.");
        let serials: Vec<String> = self.entries.keys().cloned().collect();
        for s in serials {
            let online = self.yes("device_manager", &format!("Is the recorder {s} listed as online?")).await?;
            if let Some(e) = self.entries.get_mut(&s) {
                e.online = online;
            }
        }
        Ok(self.entries.values().cloned().collect())
    }

    async fn tap_device(&mut self, serial: &str) -> Result<DeviceEntry, AppError> {
        let entry = self.entries.get(serial).cloned().ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))?;
        self.say(&format!("Step 3. Tap your DVR / NVR ({serial}) in the Device Manager."));
        self.selected = Some(serial.to_owned());
        Ok(entry)
    }

    async fn settings(&mut self) -> Result<Vec<SettingsItem>, AppError> {
        self.say("Step 3. Tap Settings.");
        let offered = self.yes("settings", "Does Settings show Modify password?").await?;
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
        self.say("Step 4. Tap Modify password.");
        self.say(&format!(
            "Step 5. Enter the new password {} and confirm it as {}, then tap the check mark.",
            self.operator.show(new),
            self.operator.show(confirm)
        ));
        let a = self
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
        self.say(&format!(
            "Go back to the Device Manager and open the live view of {serial} (do not delete or re-add it)."
        ));
        self.login_answer("saved_entry", "Does the live view open?").await
    }

    async fn remote_login(&mut self, form: FormFactor, creds: &DeviceCredentials) -> Result<LoginOutcome, AppError> {
        let serial = self.current()?;
        self.say(&format!(
            "On a {form} away from the recorder's network, log into {serial} remotely as {} with the password {}.",
            creds.user,
            self.operator.show(&creds.password)
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
            .yes(
                "add_device",
                &format!(
                    "Is the recorder {serial} in the app's Device Manager, saved with the device user {}?",
                    creds.user
                ),
            )
            .await?;
        if !listed {
            self.say(&format!(
                "Add the recorder {serial} in the Device Manager with the device user {} and the password {}.",
                creds.user,
                self.operator.show(&creds.password)
            ));
        }
        let entry =
            DeviceEntry { serial: serial.to_owned(), credentials: creds, group: None, online: true, unconfirmed: None };
        self.entries.insert(serial.to_owned(), entry.clone());
        Ok(entry)
    }

    async fn remove_device(&mut self, serial: &str) -> Result<(), AppError> {
        self.entries.remove(serial).ok_or_else(|| AppError::NoSuchDevice(serial.to_owned()))?;
        self.say(&format!("Delete the recorder {serial} from the Device Manager."));
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

    use std::io::Write;
    use std::sync::Mutex;

    /// What the person was told, shared with the test.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The bench's operator answering from `text` (named `source`), its prompts kept on `screen`.
    fn scripted(source: &str, text: &str, screen: &Screen) -> Arc<Operator> {
        let answers = tokio::io::BufReader::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        Arc::new(Operator::from_io(
            source,
            answers,
            Box::new(screen.clone()),
            resetlab_rig::operator::DEFAULT_ANSWER_TIMEOUT,
        ))
    }

    #[tokio::test]
    async fn scripted_operator_walks_the_article_and_never_prints_the_password() {
        let answers = "# field run\nadd_device: yes\nmenu: yes\ndevice_manager: yes\nsettings: yes\nmodify_password: success\nsaved_entry: yes\n";
        let screen = Screen::default();
        let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "owner");
        let mut app = OperatorApp::new(session, scripted("answers.txt", answers, &screen));
        app.add_device("SN1", DeviceCredentials::new("admin", "opold1")).await.unwrap();
        let new = Secret::new("opnew7");
        let outcome = app.reset_password("SN1", &new, &new).await.unwrap();
        assert_eq!(outcome, ModifyOutcome::Changed);
        assert_eq!(app.saved_entry().unwrap().credentials.password, new);
        assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
        let text = String::from_utf8(screen.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("Tap Modify password"), "{text}");
        assert!(text.contains("Device Manager"), "{text}");
        assert!(!text.contains("opnew7") && !text.contains("opold1"), "{text}");
    }

    #[tokio::test]
    async fn answer_for_the_wrong_prompt_is_named() {
        let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "owner");
        let mut app = OperatorApp::new(session, scripted("a.txt", "settings: yes\n", &Screen::default()));
        let err = app.open_menu().await.unwrap_err().to_string();
        assert!(err.contains("a.txt") && err.contains("`menu`") && err.contains("`settings`"), "{err}");
    }

    #[tokio::test]
    async fn error_answer_on_a_short_password_is_the_apps_refusal() {
        let session = AppSession::new(Platform::Ios, FormFactor::Tablet, flir_cloud_2017(), "owner");
        let text = "add_device: yes\nmodify_password: error: Password must be 6 characters\n";
        let mut app = OperatorApp::new(session, scripted("a.txt", text, &Screen::default()));
        app.add_device("SN1", DeviceCredentials::new("admin", "opold2")).await.unwrap();
        let short = Secret::new("abc12");
        let o = app.modify_password(&short, &short).await.unwrap();
        assert_eq!(o, ModifyOutcome::RefusedByApp("Password must be 6 characters".into()));
        assert_eq!(app.saved_entry().unwrap().credentials.password.expose(), "opold2");
    }
}
